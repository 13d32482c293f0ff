//! The Open Retailing `dateTimeType`: 10..30 characters, an ISO 8601 date-time with or without a
//! UTC offset and fractional seconds (`2021-04-08T05:20:00`, `2019-08-24T14:15:22.5Z`).

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Shortest accepted `dateTimeType`.
pub const MIN_LEN: usize = 10;
/// Longest accepted `dateTimeType`.
pub const MAX_LEN: usize = 30;

const LOCAL: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");

/// Parses a `dateTimeType` value; one without an offset is taken as UTC.
pub fn parse(value: &str) -> Result<OffsetDateTime, String> {
    check(value)?;
    OffsetDateTime::parse(value, &Rfc3339)
        .or_else(|_| PrimitiveDateTime::parse(value, LOCAL).map(PrimitiveDateTime::assume_utc))
        .map_err(|e| format!("{value:?}: {e}"))
}

/// Checks a `dateTimeType` value; the error says what is wrong.
pub fn check(value: &str) -> Result<(), String> {
    let len = value.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(format!(
            "must be {MIN_LEN}..{MAX_LEN} characters (got {len})"
        ));
    }
    if OffsetDateTime::parse(value, &Rfc3339).is_ok()
        || PrimitiveDateTime::parse(value, LOCAL).is_ok()
    {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a date-time like 2021-04-08T05:20:00 or 2021-04-08T05:20:00.5+02:00"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_forms() {
        for ok in [
            "2021-04-08T05:20:00",
            "2009-11-20T17:30:50",
            "2019-08-24T14:15:22Z",
            "2019-08-24T14:15:22.123Z",
            "2021-04-08T05:20:00+02:00",
            "2021-04-08T05:20:00.1234-05:30",
            "2021-04-08T05:20:00.1234567",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn parses_with_and_without_offset() {
        let utc = parse("2021-04-08T05:20:00").unwrap();
        assert_eq!(utc.unix_timestamp(), 1_617_859_200);
        let offset = parse("2021-04-08T07:20:00+02:00").unwrap();
        assert_eq!(offset, utc);
        assert!(parse("yesterday").is_err());
    }

    #[test]
    fn refuses_bad_lengths_and_non_dates() {
        assert!(check("2021-04-0").unwrap_err().contains("10..30"));
        assert!(
            check("2025-03-21T21:33:23.4991943+00:00")
                .unwrap_err()
                .contains("10..30")
        );
        for bad in [
            "2021-04-08",
            "2021-13-08T05:20:00",
            "2021-04-08 05:20:00",
            "yesterday at noon",
            "2021-02-30T00:00:00",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
