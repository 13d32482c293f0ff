//! `[payments]` and `[events]`: tunables of the payment service and the event log.

use eps_core::payments::PaymentPolicy;
use serde::Deserialize;

/// `[payments]`: idempotency, prompts and recovery.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// Hours an `Idempotency-Key` is remembered (at least 24 recommended).
    pub idempotency_ttl_hours: u64,
    /// The longest an input prompt waits for an answer, in seconds, whatever the terminal allows.
    pub input_timeout_cap_secs: u64,
    /// RepeatLastMessage attempts before a lost outcome is left `unknown` for a later retry.
    pub recovery_attempts: u32,
    /// Milliseconds between recovery attempts.
    pub recovery_backoff_ms: u64,
    /// Seconds between looks for unresolved transactions due for a background retry.
    pub recovery_interval_secs: u64,
    /// Seconds from an unresolved transaction's first sighting to its first background retry;
    /// each later retry waits twice as long as the one before …
    pub retry_initial_secs: u64,
    /// … but at most this many seconds.
    pub retry_max_secs: u64,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            idempotency_ttl_hours: 24,
            input_timeout_cap_secs: 120,
            recovery_attempts: 5,
            recovery_backoff_ms: 2_000,
            recovery_interval_secs: 5,
            retry_initial_secs: 10,
            retry_max_secs: 600,
        }
    }
}

impl PaymentsConfig {
    /// The policy, or the problems found.
    pub(crate) fn policy(&self, problems: &mut Vec<String>) -> PaymentPolicy {
        if self.idempotency_ttl_hours == 0 {
            problems.push("payments.idempotency_ttl_hours must be at least 1".to_owned());
        }
        if self.recovery_attempts == 0 || self.recovery_attempts > 100 {
            problems.push("payments.recovery_attempts must be 1..=100".to_owned());
        }
        if self.recovery_interval_secs == 0 {
            problems.push("payments.recovery_interval_secs must be at least 1".to_owned());
        }
        if self.retry_initial_secs == 0 {
            problems.push("payments.retry_initial_secs must be at least 1".to_owned());
        }
        if self.retry_max_secs < self.retry_initial_secs {
            problems.push(
                "payments.retry_max_secs must be at least payments.retry_initial_secs".to_owned(),
            );
        }
        PaymentPolicy {
            idempotency_ttl: time::Duration::hours(
                i64::try_from(self.idempotency_ttl_hours).unwrap_or(i64::MAX),
            ),
            input_timeout_cap: time::Duration::seconds(
                i64::try_from(self.input_timeout_cap_secs).unwrap_or(i64::MAX),
            ),
            recovery_attempts: self.recovery_attempts,
            recovery_backoff: std::time::Duration::from_millis(self.recovery_backoff_ms),
            recovery_interval: std::time::Duration::from_secs(self.recovery_interval_secs),
            retry_initial: std::time::Duration::from_secs(self.retry_initial_secs),
            retry_max: std::time::Duration::from_secs(self.retry_max_secs),
        }
    }
}

/// `[events]`: the durable event log, its retention and the SSE / WebSocket channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Events kept in memory per live subscriber before it is cut as too slow.
    pub subscriber_buffer: usize,
    /// Milliseconds between polls of the log for events written elsewhere (a floor; commits
    /// on this node wake the tailer at once).
    pub tail_poll_ms: u64,
    /// Hours an event stays in the log for `Last-Event-ID` replay.
    pub retention_hours: u64,
    /// Seconds between retention sweeps.
    pub purge_interval_secs: u64,
    /// Seconds between `heartBeatEvent` frames on every open stream (fractions allowed).
    pub heartbeat_interval_secs: f64,
    /// Seconds a write to a client may stay blocked (a reader that keeps its TCP window full)
    /// before the server drops that connection (fractions allowed).
    pub send_timeout_secs: f64,
    /// Milliseconds an SSE client waits before reconnecting (`retry:`).
    pub retry_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            subscriber_buffer: 1_024,
            tail_poll_ms: 500,
            retention_hours: 72,
            purge_interval_secs: 600,
            heartbeat_interval_secs: 15.0,
            send_timeout_secs: 10.0,
            retry_ms: 3_000,
        }
    }
}

/// The validated `[events]` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSettings {
    /// Events kept in memory per live subscriber.
    pub subscriber_buffer: usize,
    /// Poll floor of the log tailer.
    pub tail_poll: std::time::Duration,
    /// How long events are kept for replay.
    pub retention: time::Duration,
    /// Time between retention sweeps.
    pub purge_interval: std::time::Duration,
    /// Time between `heartBeatEvent` frames.
    pub heartbeat_interval: std::time::Duration,
    /// How long a write may stay blocked before the connection is dropped.
    pub send_timeout: std::time::Duration,
    /// The SSE `retry:` value.
    pub retry: std::time::Duration,
}

impl EventsConfig {
    /// The settings, or the problems found.
    pub(crate) fn settings(&self, problems: &mut Vec<String>) -> EventSettings {
        if self.subscriber_buffer == 0 || self.subscriber_buffer > 1_000_000 {
            problems.push("events.subscriber_buffer must be 1..=1000000".to_owned());
        }
        if self.tail_poll_ms == 0 {
            problems.push("events.tail_poll_ms must be at least 1".to_owned());
        }
        if self.retention_hours == 0 || self.retention_hours > 87_600 {
            problems.push("events.retention_hours must be 1..=87600".to_owned());
        }
        if self.purge_interval_secs == 0 {
            problems.push("events.purge_interval_secs must be at least 1".to_owned());
        }
        if self.retry_ms > 3_600_000 {
            problems.push("events.retry_ms must be at most 3600000".to_owned());
        }
        EventSettings {
            subscriber_buffer: self.subscriber_buffer,
            tail_poll: std::time::Duration::from_millis(self.tail_poll_ms),
            retention: time::Duration::hours(
                i64::try_from(self.retention_hours).unwrap_or(i64::MAX / 3_600),
            ),
            purge_interval: std::time::Duration::from_secs(self.purge_interval_secs),
            heartbeat_interval: seconds(
                "events.heartbeat_interval_secs",
                self.heartbeat_interval_secs,
                3_600.0,
                problems,
            ),
            send_timeout: seconds(
                "events.send_timeout_secs",
                self.send_timeout_secs,
                600.0,
                problems,
            ),
            retry: std::time::Duration::from_millis(self.retry_ms),
        }
    }
}

/// A duration of 0.01..=`max` seconds, or a problem (and one second in its place).
fn seconds(name: &str, value: f64, max: f64, problems: &mut Vec<String>) -> std::time::Duration {
    if value.is_finite() && (0.01..=max).contains(&value) {
        std::time::Duration::from_secs_f64(value)
    } else {
        problems.push(format!("{name} must be between 0.01 and {max} seconds"));
        std::time::Duration::from_secs(1)
    }
}
