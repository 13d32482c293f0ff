//! Identifiers: newtypes parsed once at the edge, so a wrong kind of id cannot be passed around.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The maximum length in characters.
        max: usize,
    },
    /// The value is not a UUID.
    #[error("must be a UUID")]
    NotUuid,
    /// The value is out of its numeric range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// The value contains characters that are not allowed.
    #[error("contains characters that are not allowed")]
    BadCharacters,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered identifier (UUID v7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Parses the canonical hyphenated or simple UUID text form.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                Uuid::try_parse(value).map(Self).map_err(|_| IdError::NotUuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A site system's connection, returned by `connect` and sent back in `openretailing-connection-id`.
    ConnectionId
);
uuid_id!(
    /// A POI (payment terminal position) as the Open Retailing API names it; stable across restarts.
    PoiId
);
uuid_id!(
    /// A card transaction (payment, pre-authorisation, completion, reversal or refund).
    TransactionId
);
uuid_id!(
    /// A stored receipt copy.
    ReceiptId
);
uuid_id!(
    /// A display or input prompt raised by a terminal.
    PromptId
);
uuid_id!(
    /// A reconciliation (end-of-day totals) run.
    ReconciliationId
);

impl ConnectionId {
    /// Parses the `openretailing-connection-id` header value; anything we did not issue is unknown.
    pub fn from_header(value: &str) -> Result<Self, IdError> {
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.chars().count() > 1024 {
            return Err(IdError::TooLong { max: 1024 });
        }
        Self::parse(value)
    }
}

impl PoiId {
    /// The stable id of a configured POI, derived from its site, workstation type and logical id.
    pub fn derive(merchant: &MerchantId, workstation_type: &str, logical_id: &str) -> Self {
        const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a4e_9b1d_4c57_8e0a_3d2b_5f7a_9c01);
        let name = format!(
            "{}\u{1f}{workstation_type}\u{1f}{logical_id}",
            merchant.as_str()
        );
        Self(Uuid::new_v5(&NAMESPACE, name.as_bytes()))
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in characters.
            pub const MAX_LEN: usize = $max;

            /// Accepts 1..=MAX_LEN characters without control characters.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                if value.is_empty() {
                    return Err(IdError::Empty);
                }
                if value.chars().count() > Self::MAX_LEN {
                    return Err(IdError::TooLong { max: Self::MAX_LEN });
                }
                if value.chars().any(char::is_control) {
                    return Err(IdError::BadCharacters);
                }
                Ok(Self(value.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An OAuth2 client (`client_id`, the token's `sub`).
    ClientId,
    100
);
string_id!(
    /// A site, identified by the merchant id a site system presents in `siteSystemIDs`.
    MerchantId,
    100
);
string_id!(
    /// A terminal as named in the configuration (`[[terminals]] id = "…"`).
    TerminalId,
    64
);
string_id!(
    /// A client-chosen `Idempotency-Key` header value.
    IdempotencyKey,
    255
);
string_id!(
    /// An OPI `RequestID`: one the EPS used for a terminal request, or one a terminal reports
    /// (RepeatLastMessage); compared during recovery. OPI allows up to 64 characters.
    TerminalRequestId,
    64
);

impl TerminalRequestId {
    /// A fresh numeric request id: `millis % 10^9` then four random-ish digits from `salt`.
    ///
    /// OPI RequestIDs are free strings, but terminals are known to expect digits; twelve to thirteen
    /// digits keep collisions between consecutive requests of one terminal practically impossible.
    pub fn generate(unix_millis: i128, salt: u128) -> Self {
        let millis = unix_millis.rem_euclid(1_000_000_000);
        Self(format!("{millis}{:04}", salt % 10_000))
    }
}

/// The Open Retailing `transmissionID`: an 8-digit unsigned number, 0..=99999999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct TransmissionId(u32);

impl TransmissionId {
    /// The largest value the schema allows.
    pub const MAX: u32 = 99_999_999;

    /// Accepts 0..=99999999.
    pub fn new(value: u64) -> Result<Self, IdError> {
        u32::try_from(value)
            .ok()
            .filter(|v| *v <= Self::MAX)
            .map(Self)
            .ok_or(IdError::OutOfRange {
                min: 0,
                max: u64::from(Self::MAX),
            })
    }

    /// The number.
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl TryFrom<u64> for TransmissionId {
    type Error = IdError;
    fn try_from(value: u64) -> Result<Self, IdError> {
        Self::new(value)
    }
}

impl From<TransmissionId> for u64 {
    fn from(value: TransmissionId) -> u64 {
        u64::from(value.0)
    }
}

/// A position in the durable event log; strictly increasing in commit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(i64);

impl EventId {
    /// The position before the first event.
    pub const ZERO: Self = Self(0);

    /// Wraps a stored event position.
    pub const fn new(value: i64) -> Self {
        Self(value)
    }

    /// Parses a `Last-Event-ID` value (a non-negative decimal integer).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .map(Self)
            .ok_or(IdError::OutOfRange {
                min: 0,
                max: i64::MAX as u64,
            })
    }

    /// The position as a number.
    pub const fn value(self) -> i64 {
        self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmission_id_limits() {
        assert!(TransmissionId::new(0).is_ok());
        assert!(TransmissionId::new(99_999_999).is_ok());
        assert!(TransmissionId::new(100_000_000).is_err());
        assert!(TransmissionId::new(u64::MAX).is_err());
    }

    #[test]
    fn poi_ids_are_stable_and_distinct() {
        let site = MerchantId::parse("1234567890").unwrap();
        let a = PoiId::derive(&site, "pointOfService", "001");
        assert_eq!(a, PoiId::derive(&site, "pointOfService", "001"));
        assert_ne!(a, PoiId::derive(&site, "fuelingPoint", "001"));
    }

    #[test]
    fn string_ids_reject_empty_long_and_control() {
        assert_eq!(ClientId::parse(""), Err(IdError::Empty));
        assert_eq!(
            ClientId::parse(&"x".repeat(101)),
            Err(IdError::TooLong { max: 100 })
        );
        assert_eq!(ClientId::parse("a\nb"), Err(IdError::BadCharacters));
        assert_eq!(ClientId::parse("pos-1").unwrap().as_str(), "pos-1");
    }

    #[test]
    fn connection_header_rules() {
        assert_eq!(ConnectionId::from_header(""), Err(IdError::Empty));
        assert_eq!(
            ConnectionId::from_header(&"a".repeat(1025)),
            Err(IdError::TooLong { max: 1024 })
        );
        assert_eq!(
            ConnectionId::from_header("not-a-uuid"),
            Err(IdError::NotUuid)
        );
        let id = ConnectionId::generate();
        assert_eq!(ConnectionId::from_header(&id.to_string()), Ok(id));
    }

    #[test]
    fn event_id_parse() {
        assert_eq!(EventId::parse("42").unwrap().value(), 42);
        assert!(EventId::parse("-1").is_err());
        assert!(EventId::parse("x").is_err());
    }

    #[test]
    fn terminal_request_ids_take_what_opi_allows() {
        assert!(TerminalRequestId::parse(&"7".repeat(50)).is_ok());
        assert!(TerminalRequestId::parse(&"7".repeat(64)).is_ok());
        assert!(TerminalRequestId::parse(&"7".repeat(65)).is_err());
    }

    #[test]
    fn terminal_request_ids_are_digits() {
        let id = TerminalRequestId::generate(1_764_000_000_123, 98_765);
        assert!(id.as_str().chars().all(|c| c.is_ascii_digit()));
        assert_eq!(id.as_str(), "1238765");
    }
}
