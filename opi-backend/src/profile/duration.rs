//! Serde for timer settings: `"500ms"`, `"5s"`, `"2m"`, or a bare integer of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer, de};

/// Parses `"<n>ms"`, `"<n>s"`, `"<n>m"` or `"<n>"` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as \"500ms\", \"5s\" or \"2m\""))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        "m" | "min" => Ok(Duration::from_secs(value.saturating_mul(60))),
        other => Err(format!(
            "unknown duration unit {other:?} in {text:?}: use ms, s or m"
        )),
    }
}

/// Writes a duration the way [`parse`] reads it.
pub(crate) fn format(value: Duration) -> String {
    if value.subsec_millis() == 0 && value.as_secs() > 0 {
        format!("{}s", value.as_secs())
    } else {
        format!("{}ms", value.as_millis())
    }
}

pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*value))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(secs) => Ok(Duration::from_secs(secs)),
        Raw::Text(text) => parse(&text).map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_round_trip() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("7"), Ok(Duration::from_secs(7)));
        assert!(parse("5h").is_err());
        assert!(parse("ms").is_err());
        for d in [Duration::from_millis(1500), Duration::from_secs(300)] {
            assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
