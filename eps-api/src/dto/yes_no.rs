//! `YesNo`, the Open Retailing boolean: the strings `"yes"` and `"no"` (as `current` in
//! `siteSystemIDs`). Every yes/no field of this API, ours included, is one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The Open Retailing boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum YesNo {
    /// True.
    Yes,
    /// False.
    No,
}

impl<'de> Deserialize<'de> for YesNo {
    /// Accepts exactly `"yes"` or `"no"`; anything else (`true`, `"Yes"`) is refused by name.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) if s == "yes" => Ok(Self::Yes),
            serde_json::Value::String(s) if s == "no" => Ok(Self::No),
            other => Err(serde::de::Error::custom(format!(
                "must be \"yes\" or \"no\" (got {other})"
            ))),
        }
    }
}

impl YesNo {
    /// `true` for `yes`.
    pub fn is_yes(self) -> bool {
        self == Self::Yes
    }
}

impl From<bool> for YesNo {
    fn from(value: bool) -> Self {
        if value { Self::Yes } else { Self::No }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_lowercase_words_are_read() {
        assert_eq!(
            serde_json::from_str::<YesNo>("\"yes\"").unwrap(),
            YesNo::Yes
        );
        assert_eq!(serde_json::from_str::<YesNo>("\"no\"").unwrap(), YesNo::No);
        for bad in ["true", "false", "\"Yes\"", "1", "null"] {
            let err = serde_json::from_str::<YesNo>(bad).unwrap_err();
            assert!(
                err.to_string().contains("must be \"yes\" or \"no\""),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            serde_json::to_string(&YesNo::from(true)).unwrap(),
            "\"yes\""
        );
        assert_eq!(
            serde_json::to_string(&YesNo::from(false)).unwrap(),
            "\"no\""
        );
    }
}
