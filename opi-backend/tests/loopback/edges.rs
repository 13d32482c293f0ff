//! The OPI edges real terminals and POS systems hit, over real sockets.

use eps_core::money::{Amount, Currency};
use eps_core::terminal::{CardOperation, TerminalOutcome, TerminalResult};
use opi_backend::sim::SimConfig;

use crate::rig::{Recorder, Rig, answered, quiet_profile};

#[tokio::test]
async fn a_terminal_that_rejects_namespace_and_currency_gets_neither_and_only_its_currency() {
    let mut profile = quiet_profile();
    profile.write_namespace = false;
    profile.write_currency = false;
    let mut rig = Rig::with(SimConfig::default(), profile).await;
    let (id, outcome, _) = rig.pay("12.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    let entry = rig.sim.entry(id.as_str()).unwrap();
    assert_eq!(
        entry.amount,
        Some(Amount::from_minor(1200, Currency::EUR).unwrap())
    );

    // The terminal would read a Swiss franc amount as euros: it is never sent.
    let (recorder, _) = Recorder::new();
    let chf = Amount::from_minor(1200, Currency::parse("CHF").unwrap()).unwrap();
    let (id, outcome) = rig
        .run(CardOperation::Payment { amount: chf }, recorder.clone())
        .await;
    assert!(
        matches!(&outcome, TerminalOutcome::NotSent { reason } if reason.contains("EUR")),
        "{outcome:?}"
    );
    assert!(rig.sim.entry(id.as_str()).is_none());
    assert!(
        recorder.heard().is_empty(),
        "not even asked to make it durable"
    );
}
