use eps_core::ids::{ClientId, MerchantId, PoiId, TerminalRequestId};
use eps_core::money::Currency;
use eps_core::transaction::Authorisation;
use time::macros::datetime;

use super::*;
use crate::message::{CardServiceRequest, Header, Message, PosData, RequestId, ServiceRequest};
use crate::sim::SimLink;

fn lane() -> TerminalId {
    TerminalId::parse("lane-1").unwrap()
}

fn eur(cents: i64) -> Amount {
    Amount::from_minor(cents, Currency::EUR).unwrap()
}

fn id(n: u128) -> TransactionId {
    TransactionId::parse(&format!("00000000-0000-0000-0000-{n:012}")).unwrap()
}

/// An EPS transaction on the lane with RequestID `n`.
fn record(
    n: u128,
    kind: TransactionKind,
    state: TransactionState,
    cents: i64,
) -> TransactionRecord {
    let merchant = MerchantId::parse("1234567890").unwrap();
    let approved = matches!(
        state,
        TransactionState::Approved
            | TransactionState::Completed
            | TransactionState::Reversed
            | TransactionState::Refunded
    );
    TransactionRecord {
        id: id(n),
        kind,
        state,
        poi_id: PoiId::derive(&merchant, "pointOfService", "001"),
        merchant_id: merchant,
        terminal_id: lane(),
        client_id: ClientId::parse("pos-1").unwrap(),
        connection_id: None,
        amount: eur(cents),
        approved_amount: None,
        original_id: None,
        terminal_request_id: TerminalRequestId::parse(&n.to_string()).unwrap(),
        reference: None,
        authorisation: approved.then(|| Authorisation {
            stan: Some(format!("{n:06}")),
            ..Authorisation::default()
        }),
        result_code: None,
        reason: None,
        refunded_amount: None,
        unknown_since: None,
        created_at: datetime!(2026-01-05 09:00 UTC),
        updated_at: datetime!(2026-01-05 09:00 UTC),
        version: 1,
    }
}

fn follow_up(
    n: u128,
    kind: TransactionKind,
    state: TransactionState,
    cents: i64,
    original: u128,
) -> TransactionRecord {
    TransactionRecord {
        original_id: Some(id(original)),
        ..record(n, kind, state, cents)
    }
}

/// The lane's ledger entry for RequestID `n` (its STAN is `n` too).
fn entry(n: u128, request_type: &str, result: OverallResult, cents: i64) -> LedgerEntry {
    LedgerEntry {
        request_id: n.to_string(),
        request_type: request_type.to_owned(),
        amount: Some(eur(cents)),
        stan: Some(format!("{n:06}")),
        result,
        approval_code: None,
        card_circuit: None,
        masked_pan: None,
        original_stan: None,
        reversed: false,
        refunded: false,
        completed: false,
        batch: None,
        receipts_delivered: true,
        receipts: Vec::new(),
        response: None,
    }
}

fn ledger(entries: Vec<LedgerEntry>) -> Ledger {
    let mut ledger = Ledger::default();
    for entry in entries {
        ledger.push(entry);
    }
    ledger
}

fn check(records: &[TransactionRecord], ledger: &Ledger) -> Agreement {
    let terminal = lane();
    compare(records, [(&terminal, ledger)])
}

/// The only disagreement, failing the test when there is not exactly one.
fn only(agreement: &Agreement) -> &Disagreement {
    assert_eq!(agreement.disagreements.len(), 1, "{agreement}");
    &agreement.disagreements[0]
}

/// Whether one of the disagreements is `what`.
fn has(agreement: &Agreement, what: impl Fn(&Disagreement) -> bool) -> bool {
    agreement.disagreements.iter().any(what)
}

use OverallResult::{Aborted, Failure, Success};
use TransactionKind::{Completion, Payment, PreAuthorisation, Refund, Reversal};
use TransactionState as S;

/// A day of everything that agrees: an approval, a decline, an abort, one never processed, a
/// partial refund, a reversal, a pre-authorisation completed, a standalone refund, and the
/// requests that move no money.
fn a_good_day() -> (Vec<TransactionRecord>, Ledger) {
    let records = vec![
        record(1, Payment, S::Approved, 1000),
        record(2, Payment, S::Declined, 500),
        record(3, Payment, S::Aborted, 700),
        record(4, Payment, S::Failed, 800),
        record(5, Payment, S::Approved, 3000),
        follow_up(6, Refund, S::Approved, 1000, 5),
        record(7, Payment, S::Reversed, 2000),
        follow_up(8, Reversal, S::Approved, 2000, 7),
        record(9, PreAuthorisation, S::Completed, 10_000),
        follow_up(10, Completion, S::Approved, 4320, 9),
        record(11, Refund, S::Approved, 350),
        record(12, Payment, S::Refunded, 900),
        follow_up(13, Refund, S::Approved, 900, 12),
    ];
    let mut reversed = entry(7, "CardPayment", Success, 2000);
    reversed.reversed = true;
    let mut completed = entry(9, "CardPreAuthorisation", Success, 10_000);
    completed.completed = true;
    let mut ledger = ledger(vec![
        entry(1, "CardPayment", Success, 1000),
        entry(2, "CardPayment", Failure, 500),
        LedgerEntry {
            stan: None,
            ..entry(3, "CardPayment", Aborted, 700)
        },
        entry(5, "CardPayment", Success, 3000),
        entry(6, "PaymentRefund", Success, 1000),
        reversed,
        entry(8, "PaymentReversal", Success, 2000),
        completed,
        entry(10, "CardFinancialAdvice", Success, 4320),
        entry(11, "PaymentRefund", Success, 350),
        entry(12, "CardPayment", Success, 900),
        entry(13, "PaymentRefund", Success, 900),
    ]);
    let header = Header::new(RequestId::parse("99").unwrap(), "POS001".to_owned());
    let login = ServiceRequest::new(header.clone(), "Login".into(), PosData::default());
    ledger.note_received(SimLink::Channel0(1), &Message::ServiceRequest(login));
    let repeat = CardServiceRequest::new(header, "RepeatLastMessage".into(), PosData::default());
    ledger.note_received(SimLink::Channel0(2), &Message::CardServiceRequest(repeat));
    (records, ledger)
}

#[test]
fn a_day_that_agrees_agrees_and_ignores_what_moves_no_money() {
    let (records, ledger) = a_good_day();
    let agreement = check(&records, &ledger);
    assert!(agreement.is_exact(), "{agreement}");
    assert_eq!(agreement.matched, 12);
    assert_eq!(agreement.ignored, 2);
}

#[test]
fn a_second_send_of_one_payment_is_caught() {
    let (records, mut ledger) = a_good_day();
    ledger.push(entry(1, "CardPayment", Success, 1000));
    let agreement = check(&records, &ledger);
    assert_eq!(agreement.disagreements.len(), 2, "{agreement}");
    assert!(has(&agreement, |d| matches!(
        d,
        Disagreement::ProcessedTwice { count: 2, .. }
    )));
    // The second processing moved money too.
    assert!(has(&agreement, |d| matches!(d, Disagreement::Money { .. })));
}

#[test]
fn a_charge_the_eps_never_recorded_is_caught() {
    let (mut records, ledger) = a_good_day();
    records.retain(|r| r.id != id(1));
    let agreement = check(&records, &ledger);
    assert!(
        matches!(only(&agreement), Disagreement::Unrecorded { request_id, .. } if request_id == "1"),
        "{agreement}"
    );
}

#[test]
fn amount_currency_and_type_must_agree() {
    let (mut records, ledger) = a_good_day();
    records[0].amount = eur(1001);
    let agreement = check(&records, &ledger);
    assert!(has(&agreement, |d| matches!(
        d,
        Disagreement::Amount { .. }
    )));
    let (mut records, ledger) = a_good_day();
    records[0].amount = Amount::from_minor(1000, Currency::parse("CHF").unwrap()).unwrap();
    let agreement = check(&records, &ledger);
    assert!(has(&agreement, |d| matches!(
        d,
        Disagreement::Amount { .. }
    )));
    let (mut records, ledger) = a_good_day();
    records[10].kind = Payment;
    let agreement = check(&records, &ledger);
    assert!(
        agreement
            .disagreements
            .iter()
            .any(|d| matches!(d, Disagreement::Kind { .. })),
        "{agreement}"
    );
}

#[test]
fn states_must_fit_the_terminals_result() {
    for (index, wrong) in [
        (0, S::Failed),
        (0, S::Declined),
        (1, S::Approved),
        (1, S::Failed),
        (2, S::Failed),
    ] {
        let (mut records, ledger) = a_good_day();
        records[index].state = wrong;
        let agreement = check(&records, &ledger);
        assert!(
            agreement
                .disagreements
                .iter()
                .any(|d| matches!(d, Disagreement::State { .. })),
            "{wrong}: {agreement}"
        );
    }
    // Unknown fits any result: recovery or an operator still has to settle it.
    let (mut records, ledger) = a_good_day();
    records[0].state = S::Unknown;
    assert!(check(&records, &ledger).is_exact());
}

#[test]
fn what_the_terminal_never_processed_is_failed_or_unknown_and_nothing_is_left_open() {
    let (mut records, ledger) = a_good_day();
    records[3].state = S::Declined;
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::Unprocessed { .. }
    ));
    records[3].state = S::Unknown;
    assert!(check(&records, &ledger).is_exact());
    records[3].state = S::InProgress;
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::NotFinal { .. }
    ));
}

#[test]
fn an_approval_keeps_the_terminals_stan() {
    let (mut records, ledger) = a_good_day();
    records[0].authorisation = None;
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::Stan { .. }
    ));
    let (mut records, ledger) = a_good_day();
    records[0].authorisation = Some(Authorisation {
        stan: Some("000002".to_owned()),
        ..Authorisation::default()
    });
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::Stan { .. }
    ));
}

#[test]
fn an_original_left_approved_after_its_reversal_is_caught() {
    // The crash between the reversal's approval and the original's settlement.
    let (mut records, ledger) = a_good_day();
    records[6].state = S::Approved;
    let agreement = check(&records, &ledger);
    assert_eq!(agreement.disagreements.len(), 2, "{agreement}");
    assert!(
        agreement
            .disagreements
            .iter()
            .any(|d| matches!(d, Disagreement::OriginalState { .. }))
            && agreement
                .disagreements
                .iter()
                .any(|d| matches!(d, Disagreement::Money { .. })),
        "{agreement}"
    );
}

#[test]
fn originals_must_show_their_completions_and_refunds() {
    let (mut records, ledger) = a_good_day();
    records[8].state = S::Approved;
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::OriginalState { .. }
    ));
    let (mut records, ledger) = a_good_day();
    records[11].state = S::Approved;
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::OriginalState { .. }
    ));
    let (mut records, ledger) = a_good_day();
    records[4].state = S::Refunded;
    assert!(matches!(
        only(&check(&records, &ledger)),
        Disagreement::OriginalState { .. }
    ));
    let (mut records, ledger) = a_good_day();
    records[4].state = S::Reversed;
    let agreement = check(&records, &ledger);
    assert!(
        agreement
            .disagreements
            .iter()
            .any(|d| matches!(d, Disagreement::OriginalState { .. })),
        "{agreement}"
    );
}

#[test]
fn a_reversal_after_a_partial_refund_overdraws_the_original() {
    // Pay 100, refund 40, reverse 100: the card got 140 back for 100.
    let records = vec![
        record(1, Payment, S::Reversed, 10_000),
        follow_up(2, Refund, S::Approved, 4000, 1),
        follow_up(3, Reversal, S::Approved, 10_000, 1),
    ];
    let mut paid = entry(1, "CardPayment", Success, 10_000);
    paid.reversed = true;
    let ledger = ledger(vec![
        paid,
        entry(2, "PaymentRefund", Success, 4000),
        entry(3, "PaymentReversal", Success, 10_000),
    ]);
    let agreement = check(&records, &ledger);
    assert!(
        agreement
            .disagreements
            .iter()
            .any(|d| matches!(d, Disagreement::Overdrawn { .. })),
        "{agreement}"
    );
}

#[test]
fn a_reversal_the_terminal_applied_to_another_transaction_is_caught() {
    // The EPS reversed 7, the terminal cancelled 1 (e.g. "the last transaction", no STAN).
    let (records, day) = a_good_day();
    let entries: Vec<LedgerEntry> = day
        .entries()
        .iter()
        .cloned()
        .map(|mut e| {
            if e.request_id == "7" {
                e.reversed = false;
            }
            if e.request_id == "1" {
                e.reversed = true;
            }
            e
        })
        .collect();
    let ledger = ledger(entries);
    let agreement = check(&records, &ledger);
    let money = agreement
        .disagreements
        .iter()
        .filter(|d| matches!(d, Disagreement::Money { .. }))
        .count();
    assert_eq!(money, 2, "{agreement}");
}

#[test]
fn money_of_an_unknown_family_waits_for_its_settlement() {
    let records = vec![
        record(1, Payment, S::Approved, 10_000),
        follow_up(2, Reversal, S::Unknown, 10_000, 1),
    ];
    let mut paid = entry(1, "CardPayment", Success, 10_000);
    paid.reversed = true;
    let ledger = ledger(vec![paid, entry(2, "PaymentReversal", Success, 10_000)]);
    assert!(check(&records, &ledger).is_exact());
}

#[test]
fn a_terminal_without_a_ledger_processed_nothing() {
    let records = vec![record(1, Payment, S::Approved, 100)];
    let agreement = compare(&records, []);
    assert!(has(&agreement, |d| matches!(
        d,
        Disagreement::Unprocessed { .. }
    )));
}
