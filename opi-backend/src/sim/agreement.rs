//! Agreement between an EPS's transaction records and its simulated terminals' ledgers: the
//! exact reconciliation end-to-end tests finish with ([`compare`]).
//!
//! Both ways, exactly:
//! - every ledger entry (a financial request the terminal processed, duplicates included) matches
//!   exactly one EPS transaction of its terminal with its RequestID, and agrees with it in request
//!   type, amount and currency, result (the EPS state may be `unknown`), and STAN (the EPS keeps
//!   the terminal's STAN of what it approved);
//! - every EPS transaction matches at most one ledger entry; one without any is `failed` (never
//!   sent, or refused unprocessed) or `unknown`; none is left `pending` or `inProgress`;
//! - per original (a payment or pre-authorisation with its completions, reversals and refunds;
//!   a refund without an original stands alone), what moved is the same in both views:
//!   the ledger's captures that were not reversed minus its refunds that were not reversed equals
//!   what the EPS's states say; the original's state agrees with its approved follow-ups
//!   (`reversed` with an approved reversal, `completed` with an approved completion, `refunded`
//!   with approved refunds summing to its amount, `approved` with none of these); and no original
//!   gave back more than it took.
//!
//! Not money, ignored on purpose: service requests (Login, Diagnosis, reconciliations, …),
//! RepeatLastMessage, TicketReprint and AbortRequest never become ledger entries (they are only in
//! [`Ledger::received`]). Families with an `unknown` member are matched entry by entry, but their
//! money is only compared once an operator or recovery has settled it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use eps_core::ids::{TerminalId, TransactionId};
use eps_core::money::{Amount, Currency};
use eps_core::transaction::{TransactionKind, TransactionRecord, TransactionState};

use super::ledger::{Ledger, LedgerEntry, Movement};
use crate::message::{CardRequestType, OverallResult};

/// The result of [`compare`].
#[derive(Debug, Clone, Default)]
pub struct Agreement {
    /// Everything that does not agree; empty when the views agree exactly.
    pub disagreements: Vec<Disagreement>,
    /// EPS transactions matched with their ledger entry.
    pub matched: usize,
    /// Channel-0 requests that move no money, ignored.
    pub ignored: usize,
}

impl Agreement {
    /// Whether the EPS and the ledgers agree exactly.
    pub fn is_exact(&self) -> bool {
        self.disagreements.is_empty()
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            return write!(
                f,
                "the EPS and the ledgers agree ({} transactions matched, {} requests that move no \
                 money ignored)",
                self.matched, self.ignored
            );
        }
        writeln!(
            f,
            "the EPS and the terminals' ledgers disagree ({} matched):",
            self.matched
        )?;
        for disagreement in &self.disagreements {
            writeln!(f, "- {disagreement}")?;
        }
        Ok(())
    }
}

/// One way the EPS's records and a ledger differ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Disagreement {
    /// The terminal processed a financial request the EPS has no transaction for.
    #[error(
        "terminal {terminal} processed {request_type} {amount} (RequestID {request_id}, result \
         {result}) that no EPS transaction records"
    )]
    Unrecorded {
        /// The terminal.
        terminal: TerminalId,
        /// The RequestID.
        request_id: String,
        /// The request type.
        request_type: String,
        /// The amount, as text.
        amount: String,
        /// The terminal's result.
        result: String,
    },
    /// The terminal processed one EPS transaction more than once.
    #[error("transaction {transaction} (RequestID {request_id}) was processed {count} times")]
    ProcessedTwice {
        /// The transaction.
        transaction: TransactionId,
        /// Its RequestID.
        request_id: String,
        /// How many ledger entries it has.
        count: usize,
    },
    /// A ledger entry whose request type is no financial type known here.
    #[error("terminal {terminal} has a ledger entry of unknown type {request_type}")]
    Unclassified {
        /// The terminal.
        terminal: TerminalId,
        /// The request type.
        request_type: String,
    },
    /// The request type does not fit the transaction's kind.
    #[error("transaction {transaction} is a {kind} but the terminal processed a {request_type}")]
    Kind {
        /// The transaction.
        transaction: TransactionId,
        /// Its kind.
        kind: &'static str,
        /// The request type the terminal saw.
        request_type: String,
    },
    /// The amounts (or currencies) differ.
    #[error("transaction {transaction} is for {eps} but the terminal processed {ledger}")]
    Amount {
        /// The transaction.
        transaction: TransactionId,
        /// The EPS's amount.
        eps: String,
        /// The ledger's amount.
        ledger: String,
    },
    /// The EPS state contradicts the terminal's result.
    #[error(
        "transaction {transaction} ({kind}) is {state} ({reason}) but the terminal's result is \
         {result}"
    )]
    State {
        /// The transaction.
        transaction: TransactionId,
        /// Its kind.
        kind: &'static str,
        /// Its state.
        state: TransactionState,
        /// Its reason, if any.
        reason: String,
        /// The terminal's result.
        result: String,
    },
    /// An approved transaction without the terminal's STAN, or with another one.
    #[error(
        "transaction {transaction} is {state} with STAN {eps} but the terminal's STAN is {ledger}"
    )]
    Stan {
        /// The transaction.
        transaction: TransactionId,
        /// Its state.
        state: TransactionState,
        /// The EPS's STAN.
        eps: String,
        /// The ledger's STAN.
        ledger: String,
    },
    /// A transaction the terminal never processed, in a state that claims it did.
    #[error(
        "transaction {transaction} ({kind}, RequestID {request_id}) is {state} but its terminal \
         never processed it (only failed or unknown fit)"
    )]
    Unprocessed {
        /// The transaction.
        transaction: TransactionId,
        /// Its kind.
        kind: &'static str,
        /// Its RequestID.
        request_id: String,
        /// Its state.
        state: TransactionState,
    },
    /// A transaction still pending or in progress.
    #[error("transaction {transaction} is still {state}")]
    NotFinal {
        /// The transaction.
        transaction: TransactionId,
        /// Its state.
        state: TransactionState,
    },
    /// The original's state contradicts its approved follow-ups.
    #[error("original {original} is {state} but {why}")]
    OriginalState {
        /// The original.
        original: TransactionId,
        /// Its state.
        state: TransactionState,
        /// What its follow-ups say.
        why: String,
    },
    /// What moved for one original differs between the views.
    #[error("for original {original} the terminals moved {ledger} but the EPS's records say {eps}")]
    Money {
        /// The original.
        original: TransactionId,
        /// What the ledgers say moved.
        ledger: String,
        /// What the EPS's records say moved.
        eps: String,
    },
    /// Follow-ups gave back more than the original took.
    #[error("original {original} gave back more than it took: the terminals moved {ledger} net")]
    Overdrawn {
        /// The original.
        original: TransactionId,
        /// What the ledgers say moved, net.
        ledger: String,
    },
}

/// Net money per currency code, in minor units (positive: taken from cards).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Net(BTreeMap<String, i64>);

impl Net {
    fn add(&mut self, amount: Amount, sign: i64) {
        *self
            .0
            .entry(amount.currency().code().to_owned())
            .or_default() += sign * amount.minor();
        self.0.retain(|_, v| *v != 0);
    }

    fn negative(&self) -> bool {
        self.0.values().any(|v| *v < 0)
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("nothing");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(code, minor)| {
                let sign = if *minor < 0 { "-" } else { "" };
                let amount = Currency::parse(code)
                    .ok()
                    .and_then(|c| Amount::from_minor(minor.abs(), c).ok());
                amount.map_or_else(
                    || format!("{minor} minor units of {code}"),
                    |a| format!("{sign}{a}"),
                )
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Compares the EPS's `records` (all of them, of every terminal) with the ledgers of the
/// simulated terminals; a terminal without a ledger processed nothing.
pub fn compare<'a>(
    records: &[TransactionRecord],
    ledgers: impl IntoIterator<Item = (&'a TerminalId, &'a Ledger)>,
) -> Agreement {
    let mut agreement = Agreement::default();
    let mut entries: HashMap<(&TerminalId, &str), Vec<&LedgerEntry>> = HashMap::new();
    let mut order: Vec<(&TerminalId, &LedgerEntry)> = Vec::new();
    for (terminal, ledger) in ledgers {
        agreement.ignored += ledger
            .received()
            .iter()
            .filter(|r| !r.moves_money())
            .count();
        for entry in ledger.entries() {
            if entry.movement().is_none() {
                agreement.disagreements.push(Disagreement::Unclassified {
                    terminal: terminal.clone(),
                    request_type: entry.request_type.clone(),
                });
                continue;
            }
            entries
                .entry((terminal, entry.request_id.as_str()))
                .or_default()
                .push(entry);
            order.push((terminal, entry));
        }
    }
    let mut matched: HashMap<TransactionId, &[&LedgerEntry]> = HashMap::new();
    let mut claimed: Vec<(&TerminalId, &str)> = Vec::new();
    for record in records {
        let key = (&record.terminal_id, record.terminal_request_id.as_str());
        let found = entries.get(&key).map(Vec::as_slice).unwrap_or_default();
        claimed.push(key);
        matched.insert(record.id, found);
        if matches!(
            record.state,
            TransactionState::Pending | TransactionState::InProgress
        ) {
            agreement.disagreements.push(Disagreement::NotFinal {
                transaction: record.id,
                state: record.state,
            });
        }
        match found {
            [] => {
                if !matches!(
                    record.state,
                    TransactionState::Failed
                        | TransactionState::Unknown
                        | TransactionState::Pending
                        | TransactionState::InProgress
                ) {
                    agreement.disagreements.push(Disagreement::Unprocessed {
                        transaction: record.id,
                        kind: record.kind.as_str(),
                        request_id: record.terminal_request_id.to_string(),
                        state: record.state,
                    });
                }
            }
            [entry] => {
                agreement.matched += 1;
                check_pair(record, entry, &mut agreement.disagreements);
            }
            more => agreement.disagreements.push(Disagreement::ProcessedTwice {
                transaction: record.id,
                request_id: record.terminal_request_id.to_string(),
                count: more.len(),
            }),
        }
    }
    for (terminal, entry) in order {
        if !claimed.contains(&(terminal, entry.request_id.as_str())) {
            agreement.disagreements.push(Disagreement::Unrecorded {
                terminal: terminal.clone(),
                request_id: entry.request_id.clone(),
                request_type: entry.request_type.clone(),
                amount: entry
                    .amount
                    .map_or_else(|| "no amount".to_owned(), |a| a.to_string()),
                result: entry.result.as_str().to_owned(),
            });
        }
    }
    check_families(records, &matched, &mut agreement.disagreements);
    agreement
}

/// One EPS transaction against its one ledger entry.
fn check_pair(record: &TransactionRecord, entry: &LedgerEntry, out: &mut Vec<Disagreement>) {
    use TransactionState::*;
    let request_type = CardRequestType::parse(&entry.request_type);
    let fits = match record.kind {
        TransactionKind::Payment => request_type == CardRequestType::CardPayment,
        TransactionKind::PreAuthorisation => request_type == CardRequestType::CardPreAuthorisation,
        TransactionKind::Completion => request_type == CardRequestType::CardFinancialAdvice,
        TransactionKind::Refund => request_type == CardRequestType::PaymentRefund,
        TransactionKind::Reversal => entry.movement() == Some(Movement::Cancel),
    };
    if !fits {
        out.push(Disagreement::Kind {
            transaction: record.id,
            kind: record.kind.as_str(),
            request_type: entry.request_type.clone(),
        });
    }
    if entry.amount != Some(record.amount) {
        out.push(Disagreement::Amount {
            transaction: record.id,
            eps: record.amount.to_string(),
            ledger: entry
                .amount
                .map_or_else(|| "no amount".to_owned(), |a| a.to_string()),
        });
    }
    let states: &[TransactionState] = match entry.result {
        OverallResult::Success => &[Approved, Completed, Reversed, Refunded, Unknown],
        OverallResult::Failure => &[Declined, Unknown],
        OverallResult::Aborted => &[Aborted, Unknown],
        _ => &[Unknown],
    };
    if !states.contains(&record.state) {
        out.push(Disagreement::State {
            transaction: record.id,
            kind: record.kind.as_str(),
            state: record.state,
            reason: record.reason.clone().map(String::from).unwrap_or_default(),
            result: entry.result.as_str().to_owned(),
        });
    }
    let eps_stan = record
        .authorisation
        .as_ref()
        .and_then(|a| a.stan.as_deref());
    if entry.approved()
        && matches!(record.state, Approved | Completed | Reversed | Refunded)
        && (eps_stan.is_none() || eps_stan != entry.stan.as_deref())
    {
        out.push(Disagreement::Stan {
            transaction: record.id,
            state: record.state,
            eps: eps_stan.unwrap_or("none").to_owned(),
            ledger: entry.stan.clone().unwrap_or_else(|| "none".to_owned()),
        });
    }
}

/// Per original: the original's state against its follow-ups, and the money both ways.
fn check_families(
    records: &[TransactionRecord],
    matched: &HashMap<TransactionId, &[&LedgerEntry]>,
    out: &mut Vec<Disagreement>,
) {
    let by_id: HashMap<TransactionId, &TransactionRecord> =
        records.iter().map(|r| (r.id, r)).collect();
    let root_of = |record: &TransactionRecord| {
        let mut root = record.id;
        let mut next = record.original_id;
        // Bounded: a chain of follow-ups is short; a cycle would be a store defect.
        for _ in 0..records.len() {
            match next.and_then(|id| by_id.get(&id)) {
                Some(parent) => {
                    root = parent.id;
                    next = parent.original_id;
                }
                None => break,
            }
        }
        root
    };
    let mut families: BTreeMap<TransactionId, Vec<&TransactionRecord>> = BTreeMap::new();
    for record in records {
        families.entry(root_of(record)).or_default().push(record);
    }
    for (root, members) in &families {
        let Some(original) = by_id.get(root) else {
            continue;
        };
        let mut ledger = Net::default();
        // Every entry of a member counts, a second processing of one request included.
        let entries = members
            .iter()
            .flat_map(|m| matched.get(&m.id).copied().unwrap_or_default());
        for entry in entries.filter(|e| e.approved()) {
            let Some(amount) = entry.amount else { continue };
            match entry.movement() {
                Some(Movement::Capture) if !entry.reversed => ledger.add(amount, 1),
                Some(Movement::Return) if !entry.reversed => ledger.add(amount, -1),
                _ => {}
            }
        }
        if original.kind != TransactionKind::Refund && ledger.negative() {
            out.push(Disagreement::Overdrawn {
                original: *root,
                ledger: ledger.to_string(),
            });
        }
        let settled = members.iter().all(|m| !m.state.is_unresolved());
        if !settled {
            continue;
        }
        let mut eps = Net::default();
        for member in members {
            let amount = member.approved_amount.unwrap_or(member.amount);
            match (member.kind, member.state) {
                (
                    TransactionKind::Payment | TransactionKind::Completion,
                    TransactionState::Approved
                    | TransactionState::Completed
                    | TransactionState::Refunded,
                ) => eps.add(amount, 1),
                (TransactionKind::Refund, TransactionState::Approved) => eps.add(amount, -1),
                _ => {}
            }
            check_original_state(member, members, out);
        }
        if ledger != eps {
            out.push(Disagreement::Money {
                original: *root,
                ledger: ledger.to_string(),
                eps: eps.to_string(),
            });
        }
    }
}

/// A transaction's state against its own approved follow-ups.
fn check_original_state(
    record: &TransactionRecord,
    family: &[&TransactionRecord],
    out: &mut Vec<Disagreement>,
) {
    use TransactionState::*;
    let approved = |kind: TransactionKind| {
        family
            .iter()
            .filter(move |f| f.original_id == Some(record.id) && f.kind == kind)
            .filter(|f| f.state == Approved)
    };
    let reversal = approved(TransactionKind::Reversal).next();
    let completion = approved(TransactionKind::Completion).next();
    let refunds = approved(TransactionKind::Refund);
    let mut refunded = Net::default();
    for refund in refunds {
        refunded.add(refund.approved_amount.unwrap_or(refund.amount), 1);
    }
    let mut full = Net::default();
    full.add(record.approved_amount.unwrap_or(record.amount), 1);
    let fully_refunded = record.kind == TransactionKind::Payment && refunded == full;
    let mut fail = |why: String| {
        out.push(Disagreement::OriginalState {
            original: record.id,
            state: record.state,
            why,
        });
    };
    match (record.state, reversal, completion) {
        (Reversed, None, _) => fail("no approved reversal refers to it".to_owned()),
        (Completed, _, None) => fail("no approved completion refers to it".to_owned()),
        (Approved | Completed | Refunded, Some(r), _) => {
            fail(format!("reversal {} of it is approved", r.id));
        }
        (Approved, None, Some(c)) => fail(format!("completion {} of it is approved", c.id)),
        (Refunded, None, _) if !fully_refunded => fail(format!(
            "its approved refunds add up to {refunded}, not its amount"
        )),
        (Approved, None, None) if fully_refunded => {
            fail("its approved refunds add up to its whole amount".to_owned());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
