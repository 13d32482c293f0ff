//! Deadlines of a conversation, on the caller's clock.

use std::time::{Duration, Instant};

/// Which timer fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The channel-0 connection did not open in time.
    Connect,
    /// No callback and no answer for the idle period.
    Idle,
    /// The request's overall limit.
    HardCap,
    /// The AbortRequest's own exchange.
    Abort,
}

impl TimerKind {
    /// A short name for logs and outcome reasons.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Idle => "idle",
            Self::HardCap => "hard cap",
            Self::Abort => "abort",
        }
    }
}

/// A set of armed deadlines; the earliest one is what the driver sleeps until.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    armed: Vec<(TimerKind, Instant)>,
}

impl Timers {
    /// Arms (or re-arms) `kind` to fire `after` from `now`.
    pub(crate) fn arm(&mut self, kind: TimerKind, now: Instant, after: Duration) {
        self.disarm(kind);
        self.armed.push((kind, now + after));
    }

    /// Disarms `kind`.
    pub(crate) fn disarm(&mut self, kind: TimerKind) {
        self.armed.retain(|(k, _)| *k != kind);
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.armed.iter().map(|(_, at)| *at).min()
    }

    /// Removes and returns the earliest timer that has expired at `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let (index, _) = self
            .armed
            .iter()
            .enumerate()
            .filter(|(_, (_, at))| *at <= now)
            .min_by_key(|(_, (_, at))| *at)?;
        Some(self.armed.swap_remove(index).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // a fixed epoch for a virtual clock; never read again
    fn earliest_fires_first_and_rearm_moves_it() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.arm(TimerKind::HardCap, t0, Duration::from_secs(300));
        timers.arm(TimerKind::Idle, t0, Duration::from_secs(90));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(90)));
        timers.arm(
            TimerKind::Idle,
            t0 + Duration::from_secs(60),
            Duration::from_secs(90),
        );
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(150)));
        assert_eq!(timers.pop_expired(t0 + Duration::from_secs(149)), None);
        let late = t0 + Duration::from_secs(400);
        assert_eq!(timers.pop_expired(late), Some(TimerKind::Idle));
        assert_eq!(timers.pop_expired(late), Some(TimerKind::HardCap));
        assert_eq!(timers.pop_expired(late), None);
    }
}
