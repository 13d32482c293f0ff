//! The simulator's ledger: every financial request it processed, with what it answered.
//!
//! It lives in memory, in the simulator: an EPS restart does not touch it, so tests compare the
//! EPS's view after recovery with this truth.

use eps_core::money::{Amount, Currency};

use crate::message::{CardServiceResponse, Output, OverallResult};

/// One processed financial request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The POS's RequestID.
    pub request_id: String,
    /// The OPI request type (`CardPayment`, `PaymentRefund`, …).
    pub request_type: String,
    /// The amount asked for.
    pub amount: Option<Amount>,
    /// The result the terminal reached (whether or not the answer reached the POS).
    pub result: OverallResult,
    /// The terminal's trace number.
    pub stan: Option<String>,
    /// The approval code, on approvals.
    pub approval_code: Option<String>,
    /// The card scheme.
    pub card_circuit: Option<String>,
    /// The masked card number.
    pub masked_pan: Option<String>,
    /// The STAN of the transaction this one refers to (reversal, refund, completion).
    pub original_stan: Option<String>,
    /// A reversal cancelled this transaction.
    pub reversed: bool,
    /// A refund referred to this transaction.
    pub refunded: bool,
    /// A financial advice settled this pre-authorisation.
    pub completed: bool,
    /// The batch it was closed in; `None` while the batch is open.
    pub batch: Option<u32>,
    /// Whether the POS acknowledged every receipt.
    pub receipts_delivered: bool,
    /// The receipt outputs (customer, merchant), for TicketReprint.
    pub(crate) receipts: Vec<Output>,
    /// The answer as built (sent or not), for RepeatLastMessage.
    pub(crate) response: Option<CardServiceResponse>,
}

impl LedgerEntry {
    /// Whether the terminal approved it.
    pub fn approved(&self) -> bool {
        self.result == OverallResult::Success
    }
}

/// A channel-0 request the terminal received, financial or not (tests check what the POS sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// Its RequestID.
    pub request_id: String,
    /// Its `RequestType` as sent (`Login`, `ActivateTerminal`, `CardPayment`, …).
    pub request_type: String,
}

/// A DeviceResponse the terminal got for one of its callbacks (tests check what the POS said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// The RequestID it echoes.
    pub request_id: String,
    /// The `RequestType` it echoes (`Output`, `Input`, …).
    pub request_type: String,
    /// Its `OverallResult`.
    pub result: OverallResult,
}

/// One line of totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// The scheme.
    pub card_circuit: String,
    /// `Debit` (payments, completions) or `Credit` (refunds).
    pub payment_type: &'static str,
    /// How many.
    pub count: u32,
    /// Their sum.
    pub amount: Amount,
}

/// All processed financial requests, in order.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
    closed_batches: u32,
}

impl Ledger {
    /// Every entry, oldest first.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// The entry for a RequestID.
    pub fn by_request_id(&self, request_id: &str) -> Option<&LedgerEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.request_id == request_id)
    }

    /// The most recent entry.
    pub fn last(&self) -> Option<&LedgerEntry> {
        self.entries.last()
    }

    pub(crate) fn push(&mut self, entry: LedgerEntry) -> usize {
        self.entries.push(entry);
        self.entries.len() - 1
    }

    pub(crate) fn entry_mut(&mut self, index: usize) -> Option<&mut LedgerEntry> {
        self.entries.get_mut(index)
    }

    /// The approved entry of `request_types` with `stan` (or the last approved one of those
    /// types when no STAN is given, as Swiss ep2 reverses "the last transaction").
    pub(crate) fn find_original(
        &self,
        stan: Option<&str>,
        request_types: &[&str],
    ) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, e)| e.approved() && request_types.contains(&e.request_type.as_str()))
            .find(|(_, e)| stan.is_none_or(|s| e.stan.as_deref() == Some(s)))
            .map(|(i, _)| i)
    }

    /// Totals of the open batch per scheme and payment type: approved, unreversed payments and
    /// completions as `Debit`, refunds as `Credit`.
    pub fn open_totals(&self, currency: Currency) -> Vec<Totals> {
        let mut totals: Vec<Totals> = Vec::new();
        for entry in self
            .entries
            .iter()
            .filter(|e| e.batch.is_none() && e.approved() && !e.reversed)
        {
            let payment_type = match entry.request_type.as_str() {
                "CardPayment" | "CardFinancialAdvice" => "Debit",
                "PaymentRefund" => "Credit",
                _ => continue,
            };
            let Some(amount) = entry.amount.filter(|a| a.currency() == currency) else {
                continue;
            };
            let circuit = entry.card_circuit.clone().unwrap_or_default();
            match totals
                .iter_mut()
                .find(|t| t.card_circuit == circuit && t.payment_type == payment_type)
            {
                Some(line) => {
                    line.count += 1;
                    line.amount = line.amount.checked_add(amount).unwrap_or(line.amount);
                }
                None => totals.push(Totals {
                    card_circuit: circuit,
                    payment_type,
                    count: 1,
                    amount,
                }),
            }
        }
        totals
    }

    /// Closes the open batch; returns its number.
    pub(crate) fn close_batch(&mut self) -> u32 {
        self.closed_batches += 1;
        let batch = self.closed_batches;
        for entry in self.entries.iter_mut().filter(|e| e.batch.is_none()) {
            entry.batch = Some(batch);
        }
        batch
    }

    /// The number the next closed batch will get.
    pub fn open_batch(&self) -> u32 {
        self.closed_batches + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(request_type: &str, cents: i64, circuit: &str, stan: &str) -> LedgerEntry {
        LedgerEntry {
            request_id: stan.to_owned(),
            request_type: request_type.to_owned(),
            amount: Some(Amount::from_minor(cents, Currency::EUR).unwrap()),
            result: OverallResult::Success,
            stan: Some(stan.to_owned()),
            approval_code: None,
            card_circuit: Some(circuit.to_owned()),
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

    #[test]
    fn totals_group_and_skip_reversed_and_closed() {
        let mut ledger = Ledger::default();
        ledger.push(entry("CardPayment", 1000, "VISA", "1"));
        ledger.push(entry("CardPayment", 250, "VISA", "2"));
        let reversed = ledger.push(entry("CardPayment", 999, "VISA", "3"));
        ledger.entry_mut(reversed).unwrap().reversed = true;
        ledger.push(entry("PaymentRefund", 100, "girocard", "4"));
        ledger.push(entry("CardPreAuthorisation", 5000, "VISA", "5"));
        let totals = ledger.open_totals(Currency::EUR);
        assert_eq!(totals.len(), 2);
        assert_eq!((totals[0].count, totals[0].amount.minor()), (2, 1250));
        assert_eq!(totals[1].payment_type, "Credit");
        assert_eq!(ledger.find_original(Some("2"), &["CardPayment"]), Some(1));
        assert_eq!(ledger.find_original(None, &["CardPayment"]), Some(2));
        assert_eq!(ledger.close_batch(), 1);
        assert!(ledger.open_totals(Currency::EUR).is_empty());
        assert_eq!(ledger.open_batch(), 2);
    }
}
