//! Money: ISO 4217 currencies with their minor units, and amounts held as integer minor units.
//!
//! Money is never a float. Text such as `"12.34"` is parsed straight into minor units, checked
//! against the currency's exponent, and printed back with exactly that many decimals.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency code is not an active ISO 4217 code.
    #[error("unknown currency code {0:?}: expected an ISO 4217 alphabetic code such as \"EUR\"")]
    UnknownCurrency(String),
    /// The value is empty.
    #[error("amount value must not be empty")]
    Empty,
    /// The value is not a plain decimal number.
    #[error("amount value {0:?} is not a decimal number like \"12.34\"")]
    Malformed(String),
    /// The value is negative.
    #[error("amount value must not be negative")]
    Negative,
    /// The value has more decimals than the currency allows.
    #[error("{currency} allows at most {max} decimals")]
    TooManyDecimals {
        /// The currency whose exponent was exceeded.
        currency: Currency,
        /// Its number of minor-unit digits.
        max: u8,
    },
    /// The value is too large to be handled.
    #[error("amount value is too large (at most {max})")]
    Overflow {
        /// The largest amount accepted, printed in major units.
        max: String,
    },
    /// The value is zero where a positive amount is required.
    #[error("amount value must be greater than zero")]
    Zero,
    /// Two amounts of different currencies were combined.
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
}

/// An active ISO 4217 currency: alphabetic code and number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Active ISO 4217 codes with their minor units (ISO 4217 list one, funds codes included).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

impl Currency {
    /// Euro.
    pub const EUR: Self = Self {
        code: *b"EUR",
        exponent: 2,
    };

    /// Every code [`Currency::parse`] accepts, in alphabetical order.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|(code, _)| *code)
    }

    /// Looks up an alphabetic code (upper case, as ISO 4217 writes it).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .and_then(|(c, exponent)| {
                let bytes: [u8; 3] = c.as_bytes().try_into().ok()?;
                Some(Self {
                    code: bytes,
                    exponent: *exponent,
                })
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// The number of minor-unit digits (2 for EUR, 0 for JPY, 3 for KWD).
    pub const fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, MoneyError> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.code().to_owned()
    }
}

/// A non-negative amount of money in minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    minor: i64,
    currency: Currency,
}

impl Amount {
    /// The largest amount accepted, in minor units: 12 digits, far above any card transaction.
    pub const MAX_MINOR: i64 = 999_999_999_999;

    /// An amount from minor units; negative or oversized values are refused.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        if minor > Self::MAX_MINOR {
            return Err(MoneyError::Overflow {
                max: format_minor(Self::MAX_MINOR, currency.exponent),
            });
        }
        Ok(Self { minor, currency })
    }

    /// Parses a decimal text such as `"12.34"` in `currency`.
    ///
    /// Accepts digits with an optional `.` and at most the currency's exponent of decimals; refuses
    /// signs, exponents, spaces, thousands separators and a bare `.`.
    pub fn parse(value: &str, currency: Currency) -> Result<Self, MoneyError> {
        if value.is_empty() {
            return Err(MoneyError::Empty);
        }
        if value.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (whole, fraction) = match value.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (value, ""),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
            return Err(MoneyError::Malformed(value.to_owned()));
        }
        if value.contains('.') && fraction.is_empty() {
            return Err(MoneyError::Malformed(value.to_owned()));
        }
        let exponent = usize::from(currency.exponent);
        if fraction.len() > exponent {
            return Err(MoneyError::TooManyDecimals {
                currency,
                max: currency.exponent,
            });
        }
        let overflow = || MoneyError::Overflow {
            max: format_minor(Self::MAX_MINOR, currency.exponent),
        };
        let whole = whole.trim_start_matches('0');
        if whole.len() > 18 {
            return Err(overflow());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| overflow())?
        };
        let mut minor = whole
            .checked_mul(10_i64.pow(u32::from(currency.exponent)))
            .ok_or_else(overflow)?;
        if !fraction.is_empty() {
            let scaled = format!("{fraction:0<exponent$}");
            let fraction: i64 = scaled
                .parse()
                .map_err(|_| MoneyError::Malformed(value.to_owned()))?;
            minor = minor.checked_add(fraction).ok_or_else(overflow)?;
        }
        Self::from_minor(minor, currency)
    }

    /// The same amount, refused if zero.
    pub fn positive(self) -> Result<Self, MoneyError> {
        if self.minor == 0 {
            Err(MoneyError::Zero)
        } else {
            Ok(self)
        }
    }

    /// The value in minor units (cents for EUR).
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// The value as decimal text with exactly the currency's number of decimals (`"12.30"`).
    pub fn value_text(&self) -> String {
        format_minor(self.minor, self.currency.exponent)
    }

    /// The sum of two amounts of one currency.
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let sum = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow {
                max: format_minor(Self::MAX_MINOR, self.currency.exponent),
            })?;
        Self::from_minor(sum, self.currency)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value_text(), self.currency)
    }
}

fn format_minor(minor: i64, exponent: u8) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(u32::from(exponent));
    let width = usize::from(exponent);
    format!("{}.{:0width$}", minor / scale, minor % scale)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn eur(value: &str) -> Result<Amount, MoneyError> {
        Amount::parse(value, Currency::EUR)
    }

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(eur("12.34").unwrap().minor(), 1234);
        assert_eq!(eur("12.3").unwrap().minor(), 1230);
        assert_eq!(eur("12").unwrap().minor(), 1200);
        assert_eq!(eur("0.01").unwrap().minor(), 1);
        assert_eq!(eur("007.50").unwrap().minor(), 750);
    }

    #[test]
    fn refuses_what_is_not_money() {
        assert_eq!(eur(""), Err(MoneyError::Empty));
        assert_eq!(eur("-1.00"), Err(MoneyError::Negative));
        assert!(matches!(
            eur("1.234"),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        for bad in [
            "+1", "1e3", " 1", "1 ", "1,00", ".5", "5.", "1.2.3", "NaN", "１",
        ] {
            assert!(matches!(eur(bad), Err(MoneyError::Malformed(_))), "{bad}");
        }
        assert!(matches!(
            eur("99999999999999999999999"),
            Err(MoneyError::Overflow { .. })
        ));
        assert!(matches!(
            eur("10000000000.00"),
            Err(MoneyError::Overflow { .. })
        ));
        assert_eq!(eur("0.00").unwrap().positive(), Err(MoneyError::Zero));
    }

    #[test]
    fn currencies_know_their_exponent() {
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("XYZ").is_err());
        let jpy = Currency::parse("JPY").unwrap();
        assert!(matches!(
            Amount::parse("1.5", jpy),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
        assert_eq!(Amount::parse("1500", jpy).unwrap().value_text(), "1500");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Amount::parse("1.5", kwd).unwrap().value_text(), "1.500");
    }

    proptest! {
        #[test]
        fn text_round_trips(minor in 0..=Amount::MAX_MINOR) {
            let amount = Amount::from_minor(minor, Currency::EUR).unwrap();
            prop_assert_eq!(eur(&amount.value_text()).unwrap(), amount);
        }
    }
}
