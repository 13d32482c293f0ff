//! Money on the wire: `{"value": "12.34", "currency": "EUR"}`, decimal text in an ISO 4217
//! currency, parsed straight into minor units (never a float).

use eps_core::money::{Amount, Currency, MoneyError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

/// An amount of money.
///
/// `value` is decimal text with at most the currency's minor-unit digits (`"12.34"` EUR,
/// `"1500"` JPY, `"1.250"` KWD), never a JSON number; `currency` an active ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"value": "12.34", "currency": "EUR"}))]
pub struct AmountBody {
    /// Decimal text: digits, optionally `.` and at most the currency's number of decimals; no
    /// sign, exponent or separators; at most 12 digits of minor units.
    #[schema(value_type = String, example = "12.34", pattern = "^[0-9]+(\\.[0-9]+)?$")]
    pub value: Value,
    /// The ISO 4217 alphabetic code, upper case.
    #[schema(value_type = String, example = "EUR", min_length = 3, max_length = 3)]
    pub currency: Value,
}

impl AmountBody {
    /// The amount of the request field `amount`, refused (naming the field) when it is not a
    /// well-formed amount greater than zero.
    pub fn positive(&self) -> ApiResult<Amount> {
        let amount = self.parse()?;
        amount.positive().map_err(|source| {
            eps_core::Error::InvalidAmount {
                field: "amount.value",
                source,
            }
            .into()
        })
    }

    /// The amount of the request field `amount` (zero allowed).
    pub fn parse(&self) -> ApiResult<Amount> {
        let Value::String(code) = &self.currency else {
            return Err(ApiError::field(
                "amount.currency",
                "must be a string such as \"EUR\"",
            ));
        };
        let currency =
            Currency::parse(code).map_err(|source| invalid("amount.currency", source))?;
        let Value::String(value) = &self.value else {
            return Err(ApiError::field(
                "amount.value",
                "must be a string such as \"12.34\" (money is never a JSON number)",
            ));
        };
        Amount::parse(value, currency).map_err(|source| invalid("amount.value", source))
    }
}

fn invalid(field: &'static str, source: MoneyError) -> ApiError {
    eps_core::Error::InvalidAmount { field, source }.into()
}

impl From<Amount> for AmountBody {
    fn from(amount: Amount) -> Self {
        Self {
            value: Value::String(amount.value_text()),
            currency: Value::String(amount.currency().code().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value, currency: Value) -> AmountBody {
        AmountBody { value, currency }
    }

    fn message(result: ApiResult<Amount>) -> String {
        let err = result.unwrap_err();
        format!("{} {err}", err.code().as_str())
    }

    #[test]
    fn parses_minor_units_of_the_currency() {
        let a = body(json!("12.34"), json!("EUR")).positive().unwrap();
        assert_eq!(a.minor(), 1234);
        let jpy = body(json!("1500"), json!("JPY")).positive().unwrap();
        assert_eq!(jpy.minor(), 1500);
        let kwd = body(json!("1.5"), json!("KWD")).positive().unwrap();
        assert_eq!(AmountBody::from(kwd).value, json!("1.500"));
    }

    #[test]
    fn refusals_name_the_field() {
        for (value, currency, needle) in [
            (
                json!("-1.00"),
                json!("EUR"),
                "ERRCD_INVALID_AMOUNT amount.value: amount value must not be negative",
            ),
            (
                json!("0.00"),
                json!("EUR"),
                "ERRCD_INVALID_AMOUNT amount.value: amount value must be greater than zero",
            ),
            (
                json!("1.234"),
                json!("EUR"),
                "ERRCD_INVALID_AMOUNT amount.value: EUR allows at most 2 decimals",
            ),
            (
                json!("1.5"),
                json!("JPY"),
                "ERRCD_INVALID_AMOUNT amount.value: JPY allows at most 0 decimals",
            ),
            (
                json!("1.00"),
                json!("XYZ"),
                "ERRCD_INVALID_AMOUNT amount.currency: unknown currency code",
            ),
            (
                json!("1.00"),
                json!("eur"),
                "ERRCD_INVALID_AMOUNT amount.currency",
            ),
            (
                json!("99999999999999999999"),
                json!("EUR"),
                "ERRCD_INVALID_AMOUNT amount.value: amount value is too large",
            ),
            (
                json!(12.34),
                json!("EUR"),
                "ERRCD_BADREQUEST amount.value: must be a string",
            ),
            (
                json!("1.00"),
                json!(978),
                "ERRCD_BADREQUEST amount.currency: must be a string",
            ),
        ] {
            let text = message(body(value, currency).positive());
            assert!(
                text.starts_with(needle),
                "{text} does not start with {needle}"
            );
        }
    }
}
