//! OPI (IFSF POS-EPS XML over TCP) for the EPS: the EPS is the POS/ECR side toward real terminals,
//! and `opi-sim` is a terminal simulator speaking the other side with the same codec.
//!
//! This crate knows no HTTP and no Open Retailing API. Protocol code is sans-IO: the codec turns
//! bytes into typed messages and back without sockets or clocks, and the conversation cores are
//! handed `now` and return frames to send and their next deadline. One driver alone owns sockets,
//! timers and tasks.
//!
//! # Layout
//! - [`message`]: the typed messages (CardService, Service and Device requests and responses).
//! - [`codec`]: frames and XML, sans-IO. The entry points:
//!   - [`codec::encode`]`(&Message, &WriteOptions) -> Result<Vec<u8>, EncodeError>`: a whole frame;
//!   - [`codec::FrameDecoder::new`]`(max_frame)`, `.push(&[u8])`,
//!     `.next_frame() -> Result<Option<Frame>, FrameError>` and `.finish()` at end of stream;
//!   - [`codec::decode`]`(&[u8]) -> Result<Message, DecodeError>`: a frame body to a message;
//!   - [`codec::envelope`]`(&[u8])`: just the root's ids, to answer a request `decode` refused
//!     (the session answers a DeviceRequest `FormatError`; [`codec::refusal`] writes the answer
//!     when not even a `RequestID` is usable).
//!
//!   Writing is strict (UTF-8 or ISO-8859-1 per [`codec::WriteOptions`], IXRetail namespace and
//!   `Currency` unless a profile leaves them out, `POSdata`, currency decimals); reading is
//!   lenient (no namespace, Latin-1, mislabelled UTF-8, spelling variants, character-count length
//!   prefixes, with the rules on [`codec::FrameDecoder`]).
//! - [`profile`]: terminal profiles (dialect, timers, receipt mapping), built-in and inline.
//! - [`config`]: one terminal's configuration, embedded in the EPS configuration.
//! - [`session`]: the sans-IO conversation core (one request with its callbacks).
//! - [`driver`]: the tokio driver (channel-0 client, channel-1 listener, timers) and
//!   [`OpiBackend::start`], the entry point the EPS calls.
//! - [`terminal`]: [`OpiTerminal`], the `eps_core::terminal::Terminal` implementation.
//! - [`sim`]: the terminal simulator: scenarios, ledger, its sans-IO core and its server, and
//!   [`sim::agreement`], the exact reconciliation of an EPS's records with its ledgers.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod codec;
pub mod config;
pub mod driver;
pub mod message;
pub mod profile;
pub mod session;
pub mod sim;
pub mod terminal;

pub use config::OpiTerminalConfig;
pub use driver::{OpiBackend, StartError};
pub use terminal::OpiTerminal;
