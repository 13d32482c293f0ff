//! OPI (IFSF POS-EPS XML over TCP) for the EPS: the POS/ECR side toward payment terminals, and
//! `opi-sim`, a terminal simulator.
//!
//! The protocol is sans-IO inside: typed messages, a pure codec, and state machines that are
//! handed `now` and return frames to send and their next deadline. One driver alone owns sockets,
//! timers and tasks.
//!
//! # Layout
//! - [`profile`]: terminal profiles (dialect, timers, receipt mapping), built-in and inline.
//! - [`config`]: one terminal's configuration, embedded in the EPS configuration.
//! - [`session`]: the sans-IO conversation core (one request with its callbacks).
//! - [`sim`]: the terminal simulator: scenarios, ledger, its sans-IO core and its server.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod config;
pub mod profile;
pub mod session;
pub mod sim;
