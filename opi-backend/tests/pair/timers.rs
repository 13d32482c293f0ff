//! Each timer of the conversation, on the virtual clock.

use std::time::Duration;

use eps_core::terminal::TerminalError;
use opi_backend::profile::TerminalProfile;
use opi_backend::session::Finished;
use opi_backend::sim::SimConfig;

use crate::harness::{InputPolicy, Pair, Reachability, Seen, payment};

#[test]
fn connect_timer_means_not_sent() {
    let mut pair = Pair::new(SimConfig::default());
    pair.reach = Reachability::Blackhole;
    pair.start(payment("1.00"));
    assert!(matches!(pair.run(), Finished::NotSent { reason } if reason.contains("no connection")));
    assert_eq!(pair.elapsed(), pair.profile.timers.connect);
}

#[test]
fn refused_connection_means_not_sent_at_once() {
    let mut pair = Pair::new(SimConfig::default());
    pair.reach = Reachability::Refused;
    pair.start(payment("1.00"));
    assert!(matches!(pair.run(), Finished::NotSent { .. }));
    assert!(pair.elapsed().is_zero());
    assert!(!pair.seen.contains(&Seen::BeforeSend));
}

#[test]
fn idle_timer_means_lost() {
    // The terminal thinks for 200 s before its first callback; the EPS gives up after 90 s idle.
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.sim.set_config(SimConfig {
        latency: Duration::from_secs(200),
        ..SimConfig::default()
    });
    pair.start(payment("1.00"));
    assert!(matches!(pair.run(), Finished::Lost { reason } if reason.contains("no callback")));
    assert_eq!(pair.elapsed(), pair.profile.timers.idle);
}

#[test]
fn slow_service_answer_hits_the_service_timer() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.sim.set_config(SimConfig {
        latency: Duration::from_secs(45),
        ..SimConfig::default()
    });
    pair.start(opi_backend::session::Operation::Diagnosis);
    assert!(matches!(pair.run(), Finished::Lost { .. }));
    assert_eq!(pair.elapsed(), pair.profile.timers.service);
}

#[test]
fn callbacks_restart_the_idle_timer() {
    // 80 s of thinking, then callbacks, then nothing for 80 s (self-abort after 80 s):
    // each gap is under the 90 s idle timer, the whole is over it.
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.sim.set_config(SimConfig {
        latency: Duration::from_secs(80),
        self_abort_after: Duration::from_secs(80),
        ..SimConfig::default()
    });
    pair.start(payment("2.21"));
    assert!(matches!(pair.run(), Finished::Answered(_)));
    assert_eq!(pair.elapsed().as_secs(), 160);
}

#[test]
fn hard_cap_ends_even_a_conversation_waiting_for_input() {
    let mut profile = TerminalProfile::default();
    profile.timers.idle = Duration::from_secs(60);
    profile.timers.hard_cap = Duration::from_secs(100);
    // The terminal's Input allows 200 s, longer than the EPS's hard cap.
    let mut pair = Pair::with_profile(
        SimConfig {
            input_timeout: Duration::from_secs(200),
            ..SimConfig::default()
        },
        profile,
    );
    pair.login();
    pair.input = InputPolicy::Silent;
    pair.start(payment("4.13"));
    assert!(matches!(pair.run(), Finished::Lost { reason } if reason.contains("no answer within")));
    assert_eq!(pair.elapsed().as_secs(), 100);
    assert!(pair.seen.contains(&Seen::InputWithdrawn));
}

#[test]
fn abort_timer_when_the_abort_goes_unanswered() {
    let mut pair = Pair::new(SimConfig {
        self_abort_after: Duration::from_secs(60),
        ..SimConfig::default()
    });
    pair.login();
    pair.swallow_abort = true;
    pair.start(payment("3.21"));
    pair.run_until(|s| matches!(s, Seen::Output(_)));
    pair.abort();
    pair.run_until(|s| matches!(s, Seen::Abort(_)));
    assert!(matches!(
        pair.seen.last(),
        Some(Seen::Abort(Err(TerminalError::Lost(_))))
    ));
    assert_eq!(pair.elapsed(), pair.profile.timers.abort);
    assert!(
        pair.outcome.is_none(),
        "the abort's failure is not the outcome"
    );
    // The payment itself still ends with the terminal's own answer.
    assert!(matches!(pair.run(), Finished::Answered(_)));
    assert_eq!(pair.elapsed().as_secs(), 60);
}

#[test]
fn service_requests_use_the_service_timer() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.sim.set_config(SimConfig {
        latency: Duration::from_secs(500),
        ..SimConfig::default()
    });
    pair.start(opi_backend::session::Operation::Reconciliation { closure: false });
    assert!(matches!(pair.run(), Finished::Lost { .. }));
    let t = pair.profile.timers;
    assert_eq!(pair.elapsed(), t.idle.min(t.reconciliation));
}
