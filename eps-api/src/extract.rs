//! Extractors shared by the routes: JSON bodies and the connection header / session; bodies
//! with their `Idempotency-Key` (`Keyed`) and `Prefer: wait`.

pub mod connection;
pub mod json;
pub mod keyed;
pub mod prefer;

pub use connection::{CONNECTION_HEADER, ConnectionHeader, Session};
pub use json::{ApiJson, BODY_LIMIT};
pub use keyed::{IDEMPOTENCY_KEY_HEADER, Keyed, POS_TRANSACTION_ID_FIELD, PosReference};
pub use prefer::Prefer;
