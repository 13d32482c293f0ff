//! Background retries of `unknown` transactions: growing intervals, terminals in parallel, and
//! nothing written (no event) when a retry learns nothing new.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::payments::retries::Retries;

/// Recovery that asks once per retry; the background loop checks every 10 ms.
fn retry_policy(initial: Duration, max: Duration) -> PaymentPolicy {
    PaymentPolicy {
        recovery_attempts: 1,
        recovery_backoff: Duration::from_millis(1),
        recovery_interval: Duration::from_millis(10),
        retry_initial: initial,
        retry_max: max,
        ..Default::default()
    }
}

impl Harness {
    /// A payment on `poi` whose answer is lost while its terminal answers every
    /// RepeatLastMessage with `Busy`: it ends `unknown`.
    async fn lost_while_busy(&self, poi: PoiId, terminal: &ScriptedTerminal) -> TransactionRecord {
        {
            let mut script = terminal.script.lock().unwrap();
            script.last = Some(Err(TerminalError::Busy));
            script.steps.push_back(Step::Lost);
        }
        let mut payment = self.payment("5.00");
        payment.poi_id = Some(poi);
        let lost = self.run(payment).await;
        assert_eq!(lost.state, TransactionState::Unknown);
        lost
    }
}

/// One pass of the retrier at `at` after `start`, waiting for the retries it started; returns
/// how many terminals it retried.
async fn pass(h: &Harness, retries: &mut Retries, start: Instant, at: Duration) -> usize {
    let now = start + at;
    let started = retries.start_due(&h.service.shared, now).await;
    for _ in 0..started {
        let finished = tokio::time::timeout(Duration::from_secs(10), retries.next_finished())
            .await
            .expect("a retry ends within 10 s");
        retries.record(finished, now);
    }
    started
}

#[tokio::test]
async fn unknown_transactions_are_retried_at_growing_intervals_up_to_the_cap() {
    let h = harness_with(retry_policy(
        Duration::from_secs(10),
        Duration::from_secs(40),
    ))
    .await;
    let lost = h.lost_while_busy(h.poi, &h.terminal).await;
    let asked = || h.terminal.script.lock().unwrap().last_asked.len();
    let before = asked();
    let head = h.store.latest_event_id().await.unwrap();
    let mut retries = Retries::new(&h.service.shared.policy);
    let start = Instant::now();
    // Seen at 0 s; retried at 10 s, then 20, 40 and 40 s (the cap) after each retry.
    let mut retried_at = Vec::new();
    for at in [0, 9, 10, 29, 30, 69, 70, 109, 110, 149, 150] {
        if pass(&h, &mut retries, start, Duration::from_secs(at)).await > 0 {
            retried_at.push(at);
        }
    }
    assert_eq!(retried_at, vec![10, 30, 70, 110, 150]);
    assert_eq!(asked() - before, 5, "one RepeatLastMessage per retry");
    assert_eq!(
        h.store.latest_event_id().await.unwrap(),
        head,
        "retries that learn nothing new emit no event"
    );
    let after = h.store.transaction(&lost.id).await.unwrap().unwrap();
    assert_eq!(after.version, lost.version, "and write nothing");
}

#[tokio::test]
async fn background_retries_run_in_parallel_across_terminals_and_write_only_changes() {
    let h = harness_with(retry_policy(
        Duration::from_millis(10),
        Duration::from_millis(20),
    ))
    .await;
    let lane = h.lost_while_busy(h.poi, &h.terminal).await;
    let pump = h.lost_while_busy(h.pump, &h.pump_terminal).await;
    let hold = |terminal: &ScriptedTerminal| {
        let pair = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        terminal.script.lock().unwrap().last_hold = Some(pair.clone());
        pair
    };
    let (lane_asked, lane_release) = hold(&h.terminal);
    let (pump_asked, pump_release) = hold(&h.pump_terminal);
    let head = h.store.latest_event_id().await.unwrap();
    let stop = Arc::new(Notify::new());
    let background = {
        let (service, stop) = (h.service.clone(), stop.clone());
        tokio::spawn(async move { service.run_background(stop.notified_owned()).await })
    };
    for round in 1..=3 {
        // Both terminals are asked while neither has answered: they are retried in parallel.
        for (asked, terminal) in [(&lane_asked, "lane"), (&pump_asked, "pump")] {
            tokio::time::timeout(Duration::from_secs(10), asked.notified())
                .await
                .unwrap_or_else(|_| {
                    panic!("round {round}: the {terminal} terminal was not asked within 10 s")
                });
        }
        lane_release.notify_one();
        pump_release.notify_one();
    }
    stop.notify_one();
    tokio::time::timeout(Duration::from_secs(10), background)
        .await
        .expect("the background loop stops within 10 s")
        .unwrap();
    assert_eq!(
        h.store.latest_event_id().await.unwrap(),
        head,
        "retries that learn nothing new emit no event"
    );
    for lost in [lane, pump] {
        let after = h.store.transaction(&lost.id).await.unwrap().unwrap();
        assert_eq!(after.version, lost.version, "and write nothing");
        assert_eq!(after.state, TransactionState::Unknown);
    }
}
