//! Field readers stricter than serde's defaults where the document promises more: serde reads a
//! struct from a JSON array and refuses `640.0` for an integer; JSON Schema says the opposite.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An optional object field: a JSON object or `null` (absent), never an array.
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value @ Value::Object(_) => serde_json::from_value(value)
            .map(Some)
            .map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("must be an object (got {other})"))),
    }
}

/// An optional text field that, when present, is a string: `null` is refused (where leaving a
/// field out and naming it decide different things, as in the POI selector).
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// An integer, also when written with a zero fraction (`640.0` is the integer 640 in JSON
/// Schema).
pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let value = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(D::Error::custom(format!(
            "must be an integer (got {value})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[serde(default)]
        _name: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[serde(default, deserialize_with = "super::object")]
        inner: Option<Inner>,
        #[serde(deserialize_with = "super::integer")]
        n: i64,
    }

    #[test]
    fn objects_only_and_integers_with_a_zero_fraction() {
        let read = |text: &str| serde_json::from_str::<Outer>(text);
        assert!(read(r#"{"inner": {}, "n": 1}"#).unwrap().inner.is_some());
        assert!(read(r#"{"inner": null, "n": 1}"#).unwrap().inner.is_none());
        assert!(read(r#"{"n": 1}"#).unwrap().inner.is_none());
        assert!(read(r#"{"inner": [null], "n": 1}"#).is_err());
        assert_eq!(read(r#"{"n": 640.0}"#).unwrap().n, 640);
        assert!(read(r#"{"n": 640.5}"#).is_err());
        assert!(read(r#"{"n": "640"}"#).is_err());
    }
}
