//! The one wall clock of the domain: services take `now` from a [`Clock`] passed in at the edge.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// Source of the current wall-clock time; the server holds one, tests hold a [`ManualClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the single edge where the domain reads the system clock
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; shared by a test and the server it drives.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A clock shared between services.
pub type SharedClock = Arc<dyn Clock>;

/// Truncates a time to whole milliseconds, the precision every store keeps.
pub fn to_millis_precision(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000_000)
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:01:30 UTC));
    }

    #[test]
    fn millisecond_truncation() {
        let at = datetime!(2026-01-01 00:00:00.123456789 UTC);
        assert_eq!(
            to_millis_precision(at),
            datetime!(2026-01-01 00:00:00.123 UTC)
        );
    }
}
