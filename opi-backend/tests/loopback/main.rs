//! Socket tests: the real driver against `opi-sim` over loopback TCP.

mod rig;

mod closing_pos;
mod edges;
mod flows;
mod link_loss;
mod session;
mod trace;
