//! Named durable steps, and the test-only pause that lets a crash test kill the EPS right after
//! one of them.
//!
//! Every operation calls [`reached`] after each step's database commit. Normally that is one
//! branch on a [`OnceLock`] and nothing else. When the environment variable
//! [`PAUSE_AT_VARIABLE`] (`EPS_TEST_PAUSE_AT`) names a step at the first call, the task that
//! reaches that step logs [`PAUSE_MARKER`] (with the step and its subject) and parks forever: the
//! test waits for that line and sends SIGKILL itself, so the crash point is a named step, never a
//! timing guess. The variable is meant for the `eps` binary under test only.

use std::sync::OnceLock;

/// The environment variable naming the step to park at.
pub const PAUSE_AT_VARIABLE: &str = "EPS_TEST_PAUSE_AT";

/// The message logged (at `warn`) by a task parked at a step.
pub const PAUSE_MARKER: &str = "EPS_TEST_PAUSE_AT reached: parked";

/// A step whose effect is committed to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurableStep {
    /// A new transaction is stored `pending` (with its idempotency key).
    TransactionCreated,
    /// The request is on the wire and the transaction saved `inProgress`.
    RequestSent,
    /// A payment's or reservation's outcome from the terminal is saved.
    OutcomeSaved,
    /// A completion's, reversal's or refund's outcome is saved, with its original's settlement.
    FollowUpOutcomeSaved,
    /// Recovery found the transaction's outcome lost and saved it `unknown`.
    OutcomeLost,
    /// An operator's resolution of an `unknown` transaction is saved.
    TransactionResolved,
    /// An answer to an input prompt is saved (before the terminal gets it).
    PromptAnswered,
    /// A reconciliation is stored `pending`.
    ReconciliationCreated,
    /// A reconciliation request is on the wire.
    ReconciliationSent,
    /// A reconciliation's outcome is saved.
    ReconciliationConcluded,
}

impl DurableStep {
    /// Every step.
    pub const ALL: [Self; 10] = [
        Self::TransactionCreated,
        Self::RequestSent,
        Self::OutcomeSaved,
        Self::FollowUpOutcomeSaved,
        Self::OutcomeLost,
        Self::TransactionResolved,
        Self::PromptAnswered,
        Self::ReconciliationCreated,
        Self::ReconciliationSent,
        Self::ReconciliationConcluded,
    ];

    /// The name `EPS_TEST_PAUSE_AT` takes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TransactionCreated => "transactionCreated",
            Self::RequestSent => "requestSent",
            Self::OutcomeSaved => "outcomeSaved",
            Self::FollowUpOutcomeSaved => "followUpOutcomeSaved",
            Self::OutcomeLost => "outcomeLost",
            Self::TransactionResolved => "transactionResolved",
            Self::PromptAnswered => "promptAnswered",
            Self::ReconciliationCreated => "reconciliationCreated",
            Self::ReconciliationSent => "reconciliationSent",
            Self::ReconciliationConcluded => "reconciliationConcluded",
        }
    }

    /// Parses a step name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for DurableStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step named by [`PAUSE_AT_VARIABLE`], read once.
static PAUSE_AT: OnceLock<Option<DurableStep>> = OnceLock::new();

/// The step to park at, from the environment (read at the first call only).
fn pause_at() -> Option<DurableStep> {
    *PAUSE_AT.get_or_init(|| {
        let name = std::env::var(PAUSE_AT_VARIABLE).ok()?;
        let step = DurableStep::parse(&name);
        if step.is_none() {
            tracing::error!(
                variable = PAUSE_AT_VARIABLE,
                value = %name,
                "unknown durable step; nothing will be paused"
            );
        }
        step
    })
}

/// Reads [`PAUSE_AT_VARIABLE`] now and logs when a step is armed (call once at start-up).
pub fn arm_from_env() {
    if let Some(step) = pause_at() {
        tracing::warn!(
            step = step.as_str(),
            "test hook armed: a task reaching this step parks"
        );
    }
}

/// Marks `step` as committed for `subject`; parks the calling task forever when the test hook
/// names this step (see the module doc). Otherwise returns at once.
pub async fn reached(step: DurableStep, subject: impl std::fmt::Display) {
    #[cfg(test)]
    gates::wait(step, &subject.to_string()).await;
    if pause_at() == Some(step) {
        tracing::warn!(step = step.as_str(), subject = %subject, "{PAUSE_MARKER}");
        std::future::pending::<()>().await;
    }
}

/// Unit tests hold a task at a step for one subject, then let it go (or abandon its caller).
#[cfg(test)]
pub(crate) mod gates {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use tokio::sync::Notify;

    use super::DurableStep;

    type Key = (DurableStep, String);

    /// A held step: [`Gate::reached`] resolves when a task arrives, [`Gate::open`] lets it on.
    #[derive(Default)]
    pub(crate) struct Gate {
        arrived: Notify,
        opened: Notify,
    }

    fn gates() -> &'static Mutex<HashMap<Key, Arc<Gate>>> {
        static GATES: std::sync::OnceLock<Mutex<HashMap<Key, Arc<Gate>>>> =
            std::sync::OnceLock::new();
        GATES.get_or_init(Mutex::default)
    }

    /// Holds the next task that reaches `step` for `subject`.
    pub(crate) fn hold(step: DurableStep, subject: impl ToString) -> Arc<Gate> {
        let gate = Arc::new(Gate::default());
        gates()
            .lock()
            .unwrap()
            .insert((step, subject.to_string()), gate.clone());
        gate
    }

    impl Gate {
        /// Waits (up to ten seconds, then fails saying so) until a task is held here.
        pub(crate) async fn reached(&self, what: &str) {
            tokio::time::timeout(std::time::Duration::from_secs(10), self.arrived.notified())
                .await
                .unwrap_or_else(|_| panic!("no task reached the held step {what} within 10 s"));
        }

        /// Lets the held task on.
        pub(crate) fn open(&self) {
            self.opened.notify_one();
        }
    }

    pub(super) async fn wait(step: DurableStep, subject: &str) {
        let gate = gates().lock().unwrap().remove(&(step, subject.to_owned()));
        if let Some(gate) = gate {
            gate.arrived.notify_one();
            gate.opened.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_round_trip() {
        for step in DurableStep::ALL {
            assert_eq!(DurableStep::parse(step.as_str()), Some(step));
        }
        assert_eq!(DurableStep::parse("nonsense"), None);
    }

    #[tokio::test]
    async fn an_unheld_step_returns_at_once() {
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            reached(DurableStep::OutcomeSaved, "t-1"),
        )
        .await
        .expect("no hook armed: reached returns at once");
    }
}
