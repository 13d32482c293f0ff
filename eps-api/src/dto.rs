//! Request and response bodies: JSON field names of the Open Retailing API live here and only
//! here; each type converts to or from `eps-core` types at the edge.

pub mod admin;
pub mod admin_node;
pub mod admin_search;
pub mod admin_terminal;
pub mod admin_transaction;
pub mod amount;
pub mod audit;
pub mod connection;
pub mod country;
pub mod event;
pub mod poi;
pub mod prompt;
pub mod receipt;
pub mod reconciliation;
pub mod status;
pub mod strict;
pub mod timestamp;
pub mod transaction;
pub mod transaction_request;
pub mod yes_no;
