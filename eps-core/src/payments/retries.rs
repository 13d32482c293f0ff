//! Background retries of transactions left unresolved: each is retried at growing intervals
//! (doubling from the policy's `retry_initial` up to `retry_max`), one task per terminal, the
//! terminals in parallel. A retry asks the terminal once ([`Patience::Once`]) and writes only
//! when it learns something new.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ids::{TerminalId, TransactionId};
use crate::transaction::TransactionRecord;

use super::recovery::{Patience, recover};
use super::shared::{PaymentPolicy, Shared};
use super::workers::Occupant;

/// When each unresolved transaction is due for its next retry. Pure: it is handed `now`.
#[derive(Debug)]
pub(crate) struct RetrySchedule {
    initial: Duration,
    max: Duration,
    entries: HashMap<TransactionId, Due>,
}

#[derive(Debug, Clone, Copy)]
struct Due {
    at: Instant,
    interval: Duration,
}

impl RetrySchedule {
    /// A schedule whose first retry comes `initial` after a transaction is first seen, each
    /// later one twice as long after the previous, at most `max`.
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            entries: HashMap::new(),
        }
    }

    /// Starts tracking `id` at `now`, unless it is tracked already.
    pub(crate) fn track(&mut self, id: TransactionId, now: Instant) {
        let initial = self.initial;
        self.entries.entry(id).or_insert(Due {
            at: now + initial,
            interval: initial,
        });
    }

    /// Forgets every transaction not in `unresolved`.
    pub(crate) fn retain(&mut self, unresolved: &HashSet<TransactionId>) {
        self.entries.retain(|id, _| unresolved.contains(id));
    }

    /// Whether `id` is tracked and due at `now`.
    pub(crate) fn is_due(&self, id: &TransactionId, now: Instant) -> bool {
        self.entries.get(id).is_some_and(|due| due.at <= now)
    }

    /// `id` was retried at `now` and is still unresolved: the next retry waits twice as long
    /// as the last interval, at most the maximum.
    pub(crate) fn retried(&mut self, id: &TransactionId, now: Instant) {
        if let Some(due) = self.entries.get_mut(id) {
            due.interval = (due.interval * 2).min(self.max);
            due.at = now + due.interval;
        }
    }

    /// The interval before `id`'s next retry.
    #[cfg(test)]
    pub(crate) fn interval(&self, id: &TransactionId) -> Option<Duration> {
        self.entries.get(id).map(|due| due.interval)
    }
}

/// A retry task that ended: what it retried, or how it failed.
pub(crate) struct Finished(Result<(tokio::task::Id, Vec<TransactionId>), tokio::task::JoinError>);

/// The background retrier's state: the schedule and the terminals being retried now.
pub(crate) struct Retries {
    schedule: RetrySchedule,
    running: JoinSet<Vec<TransactionId>>,
    /// The terminal each running task retries.
    tasks: HashMap<tokio::task::Id, TerminalId>,
}

impl Retries {
    /// Retries paced by `policy`.
    pub(crate) fn new(policy: &PaymentPolicy) -> Self {
        Self {
            schedule: RetrySchedule::new(policy.retry_initial, policy.retry_max),
            running: JoinSet::new(),
            tasks: HashMap::new(),
        }
    }

    /// Starts a retry task for every terminal of this node that has a due transaction and is
    /// not busy; returns how many started.
    pub(crate) async fn start_due(&mut self, shared: &Arc<Shared>, now: Instant) -> usize {
        let unresolved = match shared.store.unresolved_transactions().await {
            Ok(unresolved) => unresolved,
            Err(err) => {
                tracing::warn!(%err, "unresolved transactions could not be listed");
                return 0;
            }
        };
        let retrying = self.tasks.values().cloned().collect::<HashSet<_>>();
        let ids = unresolved.iter().map(|t| t.id).collect::<HashSet<_>>();
        self.schedule.retain(&ids);
        let mut due: BTreeMap<TerminalId, Vec<TransactionRecord>> = BTreeMap::new();
        for record in unresolved {
            if shared.workers.terminal(&record.terminal_id).is_none() {
                continue; // another node drives it
            }
            self.schedule.track(record.id, now);
            if self.schedule.is_due(&record.id, now) && !retrying.contains(&record.terminal_id) {
                due.entry(record.terminal_id.clone())
                    .or_default()
                    .push(record);
            }
        }
        let mut started = 0;
        for (terminal, records) in due {
            let Some(first) = records.first() else {
                continue;
            };
            // Busy with an operation (or an operator's check): try again at the next pass.
            let Ok(claim) = shared
                .workers
                .try_claim(&terminal, Occupant::Transaction(first.id))
            else {
                continue;
            };
            let shared = shared.clone();
            let task = self.running.spawn(async move {
                let mut retried = Vec::new();
                for listed in records {
                    // As it stands now that the terminal is claimed (an operator may have
                    // resolved it since it was listed).
                    let mut record = match shared.load(&listed.id).await {
                        Ok(record) if record.state.is_unresolved() => record,
                        Ok(_) => continue,
                        Err(err) => {
                            tracing::warn!(%err, transaction = %listed.id, "background recovery could not read it");
                            retried.push(listed.id);
                            continue;
                        }
                    };
                    if let Err(err) =
                        recover(&shared, claim.terminal(), &mut record, Patience::Once).await
                    {
                        tracing::warn!(%err, transaction = %record.id, "background recovery failed");
                    }
                    // Recovery published its states to waiters; the operation is over.
                    shared.watch.forget(&record.id);
                    retried.push(record.id);
                }
                drop(claim);
                retried
            });
            self.tasks.insert(task.id(), terminal);
            started += 1;
        }
        started
    }

    /// Waits for the next retry task to end; pending forever while none runs.
    pub(crate) async fn next_finished(&mut self) -> Finished {
        match self.running.join_next_with_id().await {
            Some(finished) => Finished(finished),
            None => std::future::pending().await,
        }
    }

    /// Schedules the next retries of what a finished task retried, as of `now`.
    pub(crate) fn record(&mut self, finished: Finished, now: Instant) {
        match finished.0 {
            Ok((task, retried)) => {
                self.tasks.remove(&task);
                for id in &retried {
                    self.schedule.retried(id, now);
                }
            }
            Err(err) => {
                // Its claim was released as it unwound; its transactions stay due.
                tracing::error!(%err, "a background recovery task failed");
                self.tasks.remove(&err.id());
            }
        }
    }

    /// Stops every retry task.
    pub(crate) fn abort_all(&mut self) {
        self.running.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_double_up_to_the_maximum() {
        let mut schedule = RetrySchedule::new(Duration::from_secs(5), Duration::from_secs(60));
        let id = TransactionId::generate();
        let start = Instant::now();
        schedule.track(id, start);
        assert!(!schedule.is_due(&id, start));
        assert!(schedule.is_due(&id, start + Duration::from_secs(5)));
        let mut now = start + Duration::from_secs(5);
        let mut intervals = Vec::new();
        for _ in 0..6 {
            schedule.retried(&id, now);
            let interval = schedule.interval(&id).unwrap();
            intervals.push(interval.as_secs());
            assert!(!schedule.is_due(&id, now + interval - Duration::from_millis(1)));
            now += interval;
            assert!(schedule.is_due(&id, now));
        }
        assert_eq!(intervals, vec![10, 20, 40, 60, 60, 60]);
        schedule.track(id, now + Duration::from_secs(1000));
        assert_eq!(
            schedule.interval(&id),
            Some(Duration::from_secs(60)),
            "kept"
        );
        schedule.retain(&HashSet::new());
        assert!(!schedule.is_due(&id, now + Duration::from_secs(1000)));
    }
}
