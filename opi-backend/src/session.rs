//! The sans-IO conversation core: one channel-0 request, its callbacks and its timers.

mod timer;

pub use timer::TimerKind;
