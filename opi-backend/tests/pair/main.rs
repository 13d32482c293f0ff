//! Two-sided tests: the EPS's sans-IO conversation core against the simulator's core, on a
//! virtual clock, through the real codec, with no sockets.

mod harness;

mod edges;
mod faults;
mod flows;
mod held;
mod recovery;
mod timers;
