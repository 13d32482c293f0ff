//! Request and response bodies: JSON field names of the Open Retailing API live here and only
//! here; each type converts to or from `eps-core` types at the edge.

pub mod admin;
pub mod connection;
pub mod event;
pub mod poi;
pub mod status;
pub mod timestamp;
