//! The rules a completion, reversal or refund must meet against its original and **every** other
//! follow-up of that original. Pure: no I/O, no clock.
//!
//! The store calls [`judge`] inside the database transaction that holds the original's row lock
//! and inserts the new follow-up, so the follow-ups it sees are all there are.
//!
//! | new follow-up | refused while | amount |
//! |---|---|---|
//! | completion | a completion that is not declined, aborted or failed (at most once); a reversal that is open or approved | at most the authorised amount |
//! | reversal | any follow-up that is open or has moved money (not declined, aborted, failed or itself reversed) | the whole original amount |
//! | refund | a reversal that is open or approved | with the open, unknown and approved refunds, at most the original amount |
//!
//! A completion or reversal also needs the original's terminal trace number (STAN): it is how the
//! terminal is told which transaction to settle or cancel.
//!
//! "Open" is `pending`, `inProgress` or `unknown`: an `unknown` follow-up may have moved money,
//! so it counts as if it had until recovery or an operator settles it.

use crate::error::{Error, Result};
use crate::money::{Amount, MoneyError};
use crate::transaction::{FollowUpRef, TransactionKind, TransactionRecord, TransactionState};

/// Checks a new follow-up of `kind` (asking for `asked`, if given) against `original` and all its
/// existing `follow_ups`; returns the amount it moves.
pub fn judge(
    kind: TransactionKind,
    asked: Option<Amount>,
    original: &TransactionRecord,
    follow_ups: &[TransactionRecord],
) -> Result<Amount> {
    match kind {
        TransactionKind::Completion => completion(asked, original, follow_ups),
        TransactionKind::Reversal => reversal(asked, original, follow_ups),
        TransactionKind::Refund => refund(asked, original, follow_ups),
        TransactionKind::Payment | TransactionKind::PreAuthorisation => Err(Error::InvalidState(
            format!("a {} refers to no original transaction", kind.as_str()),
        )),
    }
}

fn completion(
    asked: Option<Amount>,
    original: &TransactionRecord,
    follow_ups: &[TransactionRecord],
) -> Result<Amount> {
    need_kind(original, &[TransactionKind::PreAuthorisation])?;
    refuse_if_reversed(original, follow_ups)?;
    let completions = of_kind(follow_ups, TransactionKind::Completion)
        .filter(|t| !moved_nothing(t.state))
        .collect::<Vec<_>>();
    if !completions.is_empty() {
        return Err(conflict(
            original,
            &completions,
            format!(
                "authorization {} is completed at most once, and a completion of it exists",
                original.id
            ),
        ));
    }
    need_approved(original)?;
    need_identifiable(original)?;
    let amount = positive(asked)?;
    let authorised = settled_amount(original);
    same_currency(amount, authorised)?;
    if amount.minor() > authorised.minor() {
        return Err(Error::InvalidState(format!(
            "amount: the completion amount {} exceeds the authorised amount {}",
            amount.value_text(),
            authorised.value_text()
        )));
    }
    Ok(amount)
}

fn reversal(
    asked: Option<Amount>,
    original: &TransactionRecord,
    follow_ups: &[TransactionRecord],
) -> Result<Amount> {
    need_kind(
        original,
        &[
            TransactionKind::Payment,
            TransactionKind::PreAuthorisation,
            TransactionKind::Completion,
            TransactionKind::Refund,
        ],
    )?;
    let standing = follow_ups
        .iter()
        .filter(|t| !moved_nothing(t.state) && t.state != TransactionState::Reversed)
        .collect::<Vec<_>>();
    if !standing.is_empty() {
        return Err(conflict(
            original,
            &standing,
            format!(
                "a reversal reverses the whole of transaction {}, so it needs one with no open or \
                 approved follow-up",
                original.id
            ),
        ));
    }
    need_approved(original)?;
    need_identifiable(original)?;
    let reversed = settled_amount(original);
    if let Some(asked) = asked
        && asked != reversed
    {
        return Err(Error::InvalidState(format!(
            "amount: a reversal reverses the whole original amount {}",
            reversed.value_text()
        )));
    }
    Ok(reversed)
}

fn refund(
    asked: Option<Amount>,
    original: &TransactionRecord,
    follow_ups: &[TransactionRecord],
) -> Result<Amount> {
    need_kind(
        original,
        &[TransactionKind::Payment, TransactionKind::Completion],
    )?;
    refuse_if_reversed(original, follow_ups)?;
    need_approved(original)?;
    let amount = positive(asked)?;
    let paid = settled_amount(original);
    same_currency(amount, paid)?;
    if amount.minor() > paid.minor() {
        return Err(Error::InvalidState(format!(
            "amount: the refund {} exceeds the original amount {}",
            amount.value_text(),
            paid.value_text()
        )));
    }
    let counted = of_kind(follow_ups, TransactionKind::Refund)
        .filter(|t| is_open(t.state) || t.state == TransactionState::Approved)
        .collect::<Vec<_>>();
    let already: i64 = counted.iter().map(|t| settled_amount(t).minor()).sum();
    if amount.minor() + already > paid.minor() {
        let already = Amount::from_minor(already, paid.currency())
            .map_or_else(|_| format!("{already} minor units"), |a| a.value_text());
        return Err(conflict(
            original,
            &counted,
            format!(
                "refunds would exceed the original amount {} ({} already refunded or running)",
                paid.value_text(),
                already
            ),
        ));
    }
    Ok(amount)
}

/// Nothing may follow an original whose reversal is open or approved.
fn refuse_if_reversed(
    original: &TransactionRecord,
    follow_ups: &[TransactionRecord],
) -> Result<()> {
    let reversals = of_kind(follow_ups, TransactionKind::Reversal)
        .filter(|t| is_open(t.state) || t.state == TransactionState::Approved)
        .collect::<Vec<_>>();
    if reversals.is_empty() {
        return Ok(());
    }
    Err(conflict(
        original,
        &reversals,
        format!(
            "transaction {} has a reversal that is open or approved",
            original.id
        ),
    ))
}

fn of_kind(
    follow_ups: &[TransactionRecord],
    kind: TransactionKind,
) -> impl Iterator<Item = &TransactionRecord> {
    follow_ups.iter().filter(move |t| t.kind == kind)
}

/// Pending, in progress or unknown: it may still move (or have moved) money.
fn is_open(state: TransactionState) -> bool {
    state.is_unresolved()
}

/// Declined, aborted or failed: it moved no money and never will.
fn moved_nothing(state: TransactionState) -> bool {
    matches!(
        state,
        TransactionState::Declined | TransactionState::Aborted | TransactionState::Failed
    )
}

/// The amount a transaction moved: the approved amount when the terminal reported one.
fn settled_amount(record: &TransactionRecord) -> Amount {
    record.approved_amount.unwrap_or(record.amount)
}

fn conflict(
    original: &TransactionRecord,
    blocking: &[&TransactionRecord],
    reason: String,
) -> Error {
    Error::FollowUpConflict {
        original: original.id,
        blocking: blocking.iter().map(|t| FollowUpRef::of(t)).collect(),
        reason,
    }
}

fn need_kind(original: &TransactionRecord, kinds: &[TransactionKind]) -> Result<()> {
    if kinds.contains(&original.kind) {
        return Ok(());
    }
    Err(Error::InvalidState(format!(
        "transaction {} is a {}, which this operation cannot refer to",
        original.id,
        original.kind.as_str()
    )))
}

fn need_approved(original: &TransactionRecord) -> Result<()> {
    if original.state == TransactionState::Approved {
        return Ok(());
    }
    Err(Error::InvalidState(format!(
        "transaction {} is {}; this operation needs it approved",
        original.id, original.state
    )))
}

/// A completion or reversal names its original to the terminal by the terminal's own trace
/// number; without it the terminal could act on another transaction (OPI terminals complete or
/// cancel their *last* one when no reference is given).
fn need_identifiable(original: &TransactionRecord) -> Result<()> {
    let stan = original
        .authorisation
        .as_ref()
        .and_then(|a| a.stan.as_deref());
    if stan.is_some_and(|s| !s.is_empty()) {
        return Ok(());
    }
    Err(Error::InvalidState(format!(
        "transaction {} carries no terminal trace number (STAN), so its terminal could not tell \
         it from another; an operator who resolves it must give the STAN from the terminal's \
         records",
        original.id
    )))
}

fn positive(asked: Option<Amount>) -> Result<Amount> {
    asked
        .ok_or(Error::InvalidAmount {
            field: "amount",
            source: MoneyError::Empty,
        })
        .and_then(|a| {
            a.positive().map_err(|source| Error::InvalidAmount {
                field: "amount",
                source,
            })
        })
}

/// What an original is once its follow-ups stand as they do: its state and the sum of its
/// approved refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settled {
    /// `reversed` once a reversal is approved, `completed` once a completion is, `refunded` once
    /// the approved refunds reach the amount; else as it was.
    pub(crate) state: TransactionState,
    /// The sum of the approved refunds, when there are any.
    pub(crate) refunded_amount: Option<Amount>,
}

/// What `original` becomes given all its `follow_ups`; `None` when that is what it already is.
pub(crate) fn settlement(
    original: &TransactionRecord,
    follow_ups: &[TransactionRecord],
) -> Option<Settled> {
    let approved = |kind| {
        of_kind(follow_ups, kind).any(|t| {
            matches!(
                t.state,
                TransactionState::Approved
                    | TransactionState::Completed
                    | TransactionState::Refunded
                    | TransactionState::Reversed
            )
        })
    };
    let refunded: i64 = of_kind(follow_ups, TransactionKind::Refund)
        .filter(|t| t.state == TransactionState::Approved)
        .map(|t| settled_amount(t).minor())
        .sum();
    let paid = settled_amount(original);
    let refunded_amount = if refunded > 0 {
        Amount::from_minor(refunded, paid.currency()).ok()
    } else {
        original.refunded_amount
    };
    let state = if approved(TransactionKind::Reversal) {
        TransactionState::Reversed
    } else if original.kind == TransactionKind::PreAuthorisation
        && approved(TransactionKind::Completion)
    {
        TransactionState::Completed
    } else if refunded > 0 && refunded >= paid.minor() {
        TransactionState::Refunded
    } else {
        original.state
    };
    let settled = Settled {
        state,
        refunded_amount,
    };
    (state != original.state || refunded_amount != original.refunded_amount).then_some(settled)
}

/// Checks that `a` is in `b`'s currency.
pub(crate) fn same_currency(a: Amount, b: Amount) -> Result<()> {
    if a.currency() == b.currency() {
        Ok(())
    } else {
        Err(Error::InvalidAmount {
            field: "amount.currency",
            source: MoneyError::CurrencyMismatch(a.currency(), b.currency()),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ids::{ClientId, MerchantId, PoiId, TerminalId, TerminalRequestId, TransactionId};
    use crate::money::Currency;
    use crate::transaction::TransactionState::*;

    fn eur(value: &str) -> Amount {
        Amount::parse(value, Currency::EUR).unwrap()
    }

    fn record(kind: TransactionKind, state: TransactionState, value: &str) -> TransactionRecord {
        let merchant = MerchantId::parse("m").unwrap();
        let at = datetime!(2026-01-01 00:00 UTC);
        TransactionRecord {
            id: TransactionId::generate(),
            kind,
            state,
            poi_id: PoiId::derive(&merchant, "pointOfService", "001"),
            merchant_id: merchant,
            terminal_id: TerminalId::parse("t").unwrap(),
            client_id: ClientId::parse("c").unwrap(),
            connection_id: None,
            amount: eur(value),
            approved_amount: None,
            refunded_amount: None,
            original_id: None,
            terminal_request_id: TerminalRequestId::parse("1").unwrap(),
            reference: None,
            authorisation: Some(crate::transaction::Authorisation {
                stan: Some("000001".into()),
                ..Default::default()
            }),
            result_code: None,
            reason: None,
            unknown_since: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn follow_up(
        original: &TransactionRecord,
        kind: TransactionKind,
        state: TransactionState,
        value: &str,
    ) -> TransactionRecord {
        TransactionRecord {
            original_id: Some(original.id),
            ..record(kind, state, value)
        }
    }

    #[test]
    fn completions_and_reversals_need_the_terminal_trace_number_of_their_original() {
        let mut paid = record(TransactionKind::Payment, Approved, "100.00");
        paid.authorisation = None;
        let mut reserved = record(TransactionKind::PreAuthorisation, Approved, "50.00");
        reserved.authorisation = Some(crate::transaction::Authorisation::default());
        for (kind, original) in [
            (TransactionKind::Reversal, &paid),
            (TransactionKind::Completion, &reserved),
        ] {
            let judged = judge(kind, Some(eur("10.00")), original, &[]);
            assert!(
                matches!(&judged, Err(Error::InvalidState(m)) if m.contains("STAN")),
                "{judged:?}"
            );
        }
        // A refund is a new card transaction of its own: it needs no reference on the terminal.
        assert_eq!(
            judge(TransactionKind::Refund, Some(eur("10.00")), &paid, &[]).unwrap(),
            eur("10.00")
        );
    }

    fn blockers(result: Result<Amount>) -> Vec<(TransactionId, TransactionState)> {
        match result {
            Err(Error::FollowUpConflict { blocking, .. }) => {
                blocking.iter().map(|b| (b.id, b.state)).collect()
            }
            other => panic!("expected a follow-up conflict, got {other:?}"),
        }
    }

    #[test]
    fn a_second_completion_is_refused_while_the_first_is_open_or_done() {
        let pre = record(TransactionKind::PreAuthorisation, Approved, "50.00");
        for state in [Pending, InProgress, Unknown, Approved] {
            let first = follow_up(&pre, TransactionKind::Completion, state, "10.00");
            let judged = judge(
                TransactionKind::Completion,
                Some(eur("5.00")),
                &pre,
                std::slice::from_ref(&first),
            );
            assert_eq!(blockers(judged), vec![(first.id, state)], "{state}");
        }
        for state in [Declined, Aborted, Failed] {
            let first = follow_up(&pre, TransactionKind::Completion, state, "10.00");
            let judged = judge(
                TransactionKind::Completion,
                Some(eur("50.00")),
                &pre,
                &[first],
            );
            assert_eq!(judged.unwrap(), eur("50.00"), "{state}");
        }
        assert!(matches!(
            judge(TransactionKind::Completion, Some(eur("50.01")), &pre, &[]),
            Err(Error::InvalidState(_))
        ));
    }

    #[test]
    fn a_reversal_after_a_partial_refund_names_the_refund() {
        let paid = record(TransactionKind::Payment, Approved, "100.00");
        let refund = follow_up(&paid, TransactionKind::Refund, Approved, "40.00");
        let judged = judge(
            TransactionKind::Reversal,
            None,
            &paid,
            std::slice::from_ref(&refund),
        );
        let err = judged.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&refund.id.to_string()) && text.contains("refund"),
            "{text}"
        );
        assert_eq!(
            blockers(judge(
                TransactionKind::Reversal,
                None,
                &paid,
                std::slice::from_ref(&refund)
            )),
            vec![(refund.id, Approved)]
        );
        for state in [Pending, InProgress, Unknown] {
            let open = follow_up(&paid, TransactionKind::Refund, state, "1.00");
            assert_eq!(
                blockers(judge(
                    TransactionKind::Reversal,
                    None,
                    &paid,
                    std::slice::from_ref(&open)
                )),
                vec![(open.id, state)]
            );
        }
        let declined = follow_up(&paid, TransactionKind::Refund, Declined, "40.00");
        let reversed = follow_up(&paid, TransactionKind::Refund, Reversed, "40.00");
        assert_eq!(
            judge(
                TransactionKind::Reversal,
                None,
                &paid,
                &[declined, reversed]
            )
            .unwrap(),
            eur("100.00")
        );
    }

    #[test]
    fn nothing_follows_while_a_reversal_is_open_or_approved() {
        let paid = record(TransactionKind::Payment, Approved, "100.00");
        for state in [Pending, InProgress, Unknown, Approved] {
            let reversal = follow_up(&paid, TransactionKind::Reversal, state, "100.00");
            let others = std::slice::from_ref(&reversal);
            assert_eq!(
                blockers(judge(
                    TransactionKind::Refund,
                    Some(eur("1.00")),
                    &paid,
                    others
                )),
                vec![(reversal.id, state)],
                "refund while the reversal is {state}"
            );
            assert_eq!(
                blockers(judge(TransactionKind::Reversal, None, &paid, others)),
                vec![(reversal.id, state)],
                "second reversal while the first is {state}"
            );
        }
        let pre = record(TransactionKind::PreAuthorisation, Approved, "50.00");
        let reversal = follow_up(&pre, TransactionKind::Reversal, Unknown, "50.00");
        assert_eq!(
            blockers(judge(
                TransactionKind::Completion,
                Some(eur("5.00")),
                &pre,
                std::slice::from_ref(&reversal)
            )),
            vec![(reversal.id, Unknown)]
        );
        let failed = follow_up(&paid, TransactionKind::Reversal, Failed, "100.00");
        assert!(judge(TransactionKind::Refund, Some(eur("1.00")), &paid, &[failed]).is_ok());
    }

    #[test]
    fn refunds_count_the_open_and_unknown_ones() {
        let paid = record(TransactionKind::Payment, Approved, "100.00");
        let approved = follow_up(&paid, TransactionKind::Refund, Approved, "40.00");
        let unknown = follow_up(&paid, TransactionKind::Refund, Unknown, "30.00");
        let declined = follow_up(&paid, TransactionKind::Refund, Declined, "90.00");
        let all = [approved.clone(), unknown.clone(), declined];
        assert_eq!(
            judge(TransactionKind::Refund, Some(eur("30.00")), &paid, &all).unwrap(),
            eur("30.00")
        );
        let over = judge(TransactionKind::Refund, Some(eur("30.01")), &paid, &all);
        assert_eq!(
            blockers(over),
            vec![(approved.id, Approved), (unknown.id, Unknown)]
        );
        assert!(matches!(
            judge(TransactionKind::Refund, Some(eur("100.01")), &paid, &[]),
            Err(Error::InvalidState(_))
        ));
        assert!(matches!(
            judge(
                TransactionKind::Refund,
                Some(Amount::parse("1.00", Currency::parse("USD").unwrap()).unwrap()),
                &paid,
                &[]
            ),
            Err(Error::InvalidAmount { .. })
        ));
    }

    #[test]
    fn settlement_follows_every_follow_up() {
        let paid = record(TransactionKind::Payment, Approved, "100.00");
        let refund = follow_up(&paid, TransactionKind::Refund, Approved, "40.00");
        let open = follow_up(&paid, TransactionKind::Refund, Unknown, "60.00");
        let partial = settlement(&paid, &[refund.clone(), open]).unwrap();
        assert_eq!(partial.state, Approved);
        assert_eq!(partial.refunded_amount, Some(eur("40.00")));
        let rest = follow_up(&paid, TransactionKind::Refund, Approved, "60.00");
        let full = settlement(&paid, &[refund.clone(), rest]).unwrap();
        assert_eq!(full.state, Refunded);
        assert_eq!(full.refunded_amount, Some(eur("100.00")));
        let settled = TransactionRecord {
            refunded_amount: Some(eur("40.00")),
            ..paid.clone()
        };
        assert_eq!(settlement(&settled, &[refund]), None, "nothing changes");

        let reversal = follow_up(&paid, TransactionKind::Reversal, Approved, "100.00");
        assert_eq!(settlement(&paid, &[reversal]).unwrap().state, Reversed);
        let unknown = follow_up(&paid, TransactionKind::Reversal, Unknown, "100.00");
        assert_eq!(settlement(&paid, &[unknown]), None);

        let pre = record(TransactionKind::PreAuthorisation, Approved, "50.00");
        let completion = follow_up(&pre, TransactionKind::Completion, Approved, "42.10");
        assert_eq!(settlement(&pre, &[completion]).unwrap().state, Completed);
    }

    #[test]
    fn originals_must_be_approved_and_of_the_right_kind() {
        let refunded = record(TransactionKind::Payment, Refunded, "10.00");
        assert!(matches!(
            judge(TransactionKind::Refund, Some(eur("1.00")), &refunded, &[]),
            Err(Error::InvalidState(_))
        ));
        let payment = record(TransactionKind::Payment, Approved, "10.00");
        assert!(matches!(
            judge(
                TransactionKind::Completion,
                Some(eur("1.00")),
                &payment,
                &[]
            ),
            Err(Error::InvalidState(_))
        ));
        assert!(matches!(
            judge(TransactionKind::Reversal, Some(eur("9.00")), &payment, &[]),
            Err(Error::InvalidState(_))
        ));
    }
}
