//! Amounts: typed money when the currency is known, the decimal text as sent when it is not.

use std::fmt;

use eps_core::money::{Amount, Currency};

use super::common::ValueError;

/// A decimal number as written on the wire: an optional `-`, digits, optionally `.` and digits.
///
/// Never a float; kept verbatim (`39.5` stays `39.5`) so nothing is lost when no currency says how
/// many decimals it should have.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Accepts `-?[0-9]+(\.[0-9]+)?`, at most 32 characters.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let unsigned = value.strip_prefix('-').unwrap_or(value);
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let well_formed = match unsigned.split_once('.') {
            Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
            None => all_digits(unsigned),
        };
        if value.len() > 32 || !well_formed {
            return Err(ValueError::NotDecimal(value.to_owned()));
        }
        Ok(Self(value.to_owned()))
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an amount of `currency`, when it fits that currency.
    pub fn to_amount(&self, currency: Currency) -> Option<Amount> {
        Amount::parse(&self.0, currency).ok()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Amount> for Decimal {
    fn from(value: Amount) -> Self {
        Self(value.value_text())
    }
}

/// An amount on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MonetaryAmount {
    /// An ISO 4217 currency was given and the value fits it: written with its decimals.
    Known(Amount),
    /// No usable currency (terminals often omit `Currency`): the text and code as sent.
    Raw {
        /// The value as sent.
        value: Decimal,
        /// The `Currency` attribute as sent, when present but not usable for [`Amount`].
        currency: Option<String>,
    },
}

impl MonetaryAmount {
    /// Reads a value with an optional currency code: [`Self::Known`] whenever the code is an
    /// ISO 4217 currency in any letter case (`eur` is `EUR`) and the value fits it, otherwise
    /// [`Self::Raw`].
    pub fn parse(value: &str, currency: Option<&str>) -> Result<Self, ValueError> {
        let decimal = Decimal::parse(value)?;
        if let Some(amount) = currency
            .and_then(|code| Currency::parse(&code.trim().to_ascii_uppercase()).ok())
            .and_then(|currency| decimal.to_amount(currency))
        {
            return Ok(Self::Known(amount));
        }
        Ok(Self::Raw {
            value: decimal,
            currency: currency.map(str::to_owned),
        })
    }

    /// The typed amount, when the currency is known.
    pub fn amount(&self) -> Option<Amount> {
        match self {
            Self::Known(amount) => Some(*amount),
            Self::Raw { .. } => None,
        }
    }

    /// The amount in `fallback` when no currency was sent (a terminal configured for one currency).
    pub fn amount_or_in(&self, fallback: Currency) -> Option<Amount> {
        match self {
            Self::Known(amount) => Some(*amount),
            Self::Raw {
                value,
                currency: None,
            } => value.to_amount(fallback),
            Self::Raw { .. } => None,
        }
    }

    /// The decimal text as it is written.
    pub fn value_text(&self) -> String {
        match self {
            Self::Known(amount) => amount.value_text(),
            Self::Raw { value, .. } => value.as_str().to_owned(),
        }
    }

    /// The `Currency` attribute as it is written, if any.
    pub fn currency_code(&self) -> Option<String> {
        match self {
            Self::Known(amount) => Some(amount.currency().code().to_owned()),
            Self::Raw { currency, .. } => currency.clone(),
        }
    }
}

impl From<Amount> for MonetaryAmount {
    fn from(value: Amount) -> Self {
        Self::Known(value)
    }
}

/// `TotalAmount`: the amount of a request or tender, with its optional split.
///
/// The element carries one `Currency` attribute: the main amount's. The split amounts are read in
/// that currency and must be in it when written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalAmount {
    /// The element's text and `Currency`.
    pub amount: MonetaryAmount,
    /// `@PaymentAmount`: the part paid by card.
    pub payment_amount: Option<MonetaryAmount>,
    /// `@CashBackAmount`.
    pub cash_back_amount: Option<MonetaryAmount>,
    /// `@GratuityAmount`.
    pub gratuity_amount: Option<MonetaryAmount>,
    /// `@OriginalAmount`.
    pub original_amount: Option<MonetaryAmount>,
}

impl TotalAmount {
    /// A total of `amount` and nothing else.
    pub fn new(amount: impl Into<MonetaryAmount>) -> Self {
        Self {
            amount: amount.into(),
            payment_amount: None,
            cash_back_amount: None,
            gratuity_amount: None,
            original_amount: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_plain_numbers() {
        for good in ["0", "39.5", "39.50", "-12.00", "007"] {
            assert_eq!(Decimal::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "", "-", ".5", "5.", "1,00", "1e3", "+1", " 1", "1.2.3", "NaN",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_currencies_give_typed_amounts() {
        let eur = MonetaryAmount::parse("39.5", Some("EUR")).unwrap();
        assert_eq!(
            eur.amount(),
            Some(Amount::from_minor(3950, Currency::EUR).unwrap())
        );
        assert_eq!(eur.value_text(), "39.50");
        assert_eq!(eur.currency_code().as_deref(), Some("EUR"));
        let raw = MonetaryAmount::parse("39.5", None).unwrap();
        assert_eq!(raw.amount(), None);
        assert_eq!(raw.value_text(), "39.5");
        let odd = MonetaryAmount::parse("1.234", Some("EUR")).unwrap();
        assert_eq!(
            odd.amount(),
            None,
            "too many decimals for EUR: kept as text"
        );
        assert_eq!(odd.currency_code().as_deref(), Some("EUR"));
        assert_eq!(
            MonetaryAmount::parse("5", Some("978")).unwrap().amount(),
            None
        );
        let lower = MonetaryAmount::parse("39.50", Some("eur")).unwrap();
        assert_eq!(lower, eur, "a lowercase code names the same currency");
        assert_eq!(lower.currency_code().as_deref(), Some("EUR"));
    }
}
