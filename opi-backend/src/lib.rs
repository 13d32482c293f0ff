//! OPI (IFSF POS-EPS XML over TCP) for the EPS: the EPS is the POS/ECR side toward real terminals,
//! and `opi-sim` is a terminal simulator speaking the other side with the same codec.
//!
//! This crate knows no HTTP and no Open Retailing API. Protocol code is sans-IO: the codec turns
//! bytes into typed messages and back without sockets or clocks.
//!
//! # Layout
//! - [`message`]: the typed messages (CardService, Service and Device requests and responses).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod message;
