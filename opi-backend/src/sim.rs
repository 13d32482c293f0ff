//! `opi-sim`, an OPI terminal simulator: it listens on channel 0, calls the POS back on channel 1,
//! approves, declines, aborts, asks for confirmation, prints receipts, keeps a ledger for
//! RepeatLastMessage, TicketReprint and reconciliation, and injects faults on demand.
//!
//! [`SimCore`] is the sans-IO terminal; [`SimServer`] runs it on sockets; [`agreement`]
//! reconciles an EPS's transaction records with the ledgers exactly (what tests end with).

pub mod agreement;
mod card;
mod config;
mod core;
mod job;
mod ledger;
mod scenario;
mod server;
mod wire;

pub use self::card::FULL_PANS;
pub use self::config::{CallbackIds, CallbackMode, ReceiptStyle, SimConfig};
pub use self::core::SimCore;
pub use self::ledger::{
    CallbackAnswer, Ledger, LedgerEntry, Movement, Received, RequestKind, Totals,
};
pub use self::scenario::{Scenario, ScriptMatch};
pub use self::server::SimServer;
pub use self::wire::{Payload, WireStyle};

/// A connection of the simulated terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimLink {
    /// A channel-0 connection the POS opened.
    Channel0(u64),
    /// A channel-1 connection the terminal opened to the POS.
    Channel1(u64),
}

/// A frame to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTransmit {
    /// Where.
    pub link: SimLink,
    /// What.
    pub payload: Payload,
}

/// Connection work for the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimEvent {
    /// Open a channel-1 connection to the POS's callback address.
    Connect(SimLink),
    /// Close a connection.
    Close(SimLink),
}

/// Something the simulator could not accept (it is reported, never dropped silently).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A message that fits nothing the terminal waits for.
    #[error("unexpected {got} on {link:?}")]
    Unexpected {
        /// Where.
        link: SimLink,
        /// What.
        got: String,
    },
    /// A well-formed request that could not be decoded; answered `FormatError`.
    #[error("undecodable request on {link:?}, answered FormatError: {reason}")]
    Undecodable {
        /// Where.
        link: SimLink,
        /// Why.
        reason: String,
    },
    /// An unreadable frame.
    #[error("unreadable frame on {link:?}: {reason}")]
    Malformed {
        /// Where.
        link: SimLink,
        /// Why.
        reason: String,
    },
}
