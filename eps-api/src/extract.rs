//! Extractors shared by the routes: JSON bodies and the connection header / session.

pub mod connection;
pub mod json;

pub use connection::{CONNECTION_HEADER, ConnectionHeader, Session};
pub use json::{ApiJson, BODY_LIMIT};
