//! Records for the suite: each with every optional field set (`full_*`) or unset (`bare_*`).

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::client::{ClientRecord, Scope, ScopeSet, SiteGrant};
use crate::connection::{ConnectionRecord, SiteSystemId, Vendor};
use crate::event::{EventKind, NewEvent};
use crate::idempotency::IdempotencyRecord;
use crate::ids::{
    ClientId, ConnectionId, IdempotencyKey, MerchantId, PoiId, PromptId, ReceiptId,
    ReconciliationId, TerminalId, TerminalRequestId, TransactionId, TransmissionId,
};
use crate::money::{Amount, Currency};
use crate::prompt::{
    AnswerSecrecy, InputSpec, PromptAnswer, PromptKind, PromptRecord, PromptState,
};
use crate::receipt::{ReceiptCopy, ReceiptRecord};
use crate::reconciliation::{ReconciliationRecord, ReconciliationState, ReconciliationTotal};
use crate::redact::MaskedText;
use crate::transaction::{Authorisation, TransactionKind, TransactionRecord, TransactionState};

/// The suite's epoch; every time is this plus whole milliseconds.
pub(super) fn at(offset_ms: i64) -> OffsetDateTime {
    datetime!(2026-01-01 00:00 UTC) + Duration::milliseconds(offset_ms)
}

pub(super) fn merchant(id: &str) -> MerchantId {
    MerchantId::parse(id).unwrap()
}

pub(super) fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

pub(super) fn poi(logical: &str) -> PoiId {
    PoiId::derive(&merchant("m-1"), "pointOfService", logical)
}

pub(super) fn eur(minor: i64) -> Amount {
    Amount::from_minor(minor, Currency::parse("EUR").unwrap()).unwrap()
}

pub(super) fn connection(client: &str, transmission: u64, created: i64) -> ConnectionRecord {
    ConnectionRecord {
        id: ConnectionId::generate(),
        client_id: client_id(client),
        merchant_id: merchant("m-1"),
        transmission_id: TransmissionId::new(transmission).unwrap(),
        client_timestamp: "2026-01-01T00:00:00.000+00:00".into(),
        vendor: None,
        application_name: None,
        application_software_version: None,
        site_system_ids: Vec::new(),
        created_at: at(created),
        last_heartbeat_at: at(created),
        expires_at: at(created + 90_000),
    }
}

pub(super) fn full_connection() -> ConnectionRecord {
    ConnectionRecord {
        vendor: Some(Vendor {
            name: Some("Acme".into()),
            model: Some("POS 9000".into()),
            model_version: Some("1.2.3".into()),
        }),
        application_name: Some("Checkout".into()),
        application_software_version: Some("4.5.6".into()),
        site_system_ids: vec![
            SiteSystemId {
                id: "m-1".into(),
                id_type: "merchantID".into(),
                current: true,
            },
            SiteSystemId {
                id: "lane 7 \"north\" ü".into(),
                id_type: "terminalID".into(),
                current: false,
            },
        ],
        ..connection("pos-1", 99_999_999, 1_234)
    }
}

pub(super) fn client(id: &str) -> ClientRecord {
    ClientRecord {
        client_id: client_id(id),
        name: format!("Client {id}"),
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        scopes: ScopeSet::new([Scope::Read, Scope::Write]),
        sites: SiteGrant::sites([merchant("m-1"), merchant("555")]),
        created_at: at(5),
    }
}

pub(super) fn transaction(created: i64) -> TransactionRecord {
    TransactionRecord {
        id: TransactionId::generate(),
        kind: TransactionKind::Payment,
        state: TransactionState::Pending,
        merchant_id: merchant("m-1"),
        poi_id: poi("001"),
        terminal_id: TerminalId::parse("t1").unwrap(),
        client_id: client_id("pos-1"),
        connection_id: None,
        amount: eur(1_234),
        approved_amount: None,
        refunded_amount: None,
        original_id: None,
        terminal_request_id: TerminalRequestId::parse("1234567890123").unwrap(),
        reference: None,
        authorisation: None,
        result_code: None,
        reason: None,
        unknown_since: None,
        created_at: at(created),
        updated_at: at(created),
        version: 1,
    }
}

/// A transaction with every optional field set; `original` must be stored first.
pub(super) fn full_transaction(original: TransactionId) -> TransactionRecord {
    TransactionRecord {
        kind: TransactionKind::Refund,
        state: TransactionState::Approved,
        connection_id: Some(ConnectionId::generate()),
        approved_amount: Some(eur(1_000)),
        refunded_amount: Some(eur(250)),
        original_id: Some(original),
        reference: Some("sale 42".into()),
        authorisation: Some(Authorisation {
            approval_code: Some("A1B2C3".into()),
            masked_pan: Some("680533######4747".into()),
            card_circuit: Some("VISA".into()),
            stan: Some("000123".into()),
            receipt_number: Some("77".into()),
            terminal_id: Some("T0001".into()),
            acquirer_id: Some("ACQ".into()),
            action_code: Some("000".into()),
            timestamp: Some("2026-01-01T00:00:01".into()),
        }),
        result_code: Some("Success".into()),
        reason: Some("approved by issuer".into()),
        unknown_since: Some(at(9_000)),
        updated_at: at(9_999),
        version: 3,
        ..transaction(2_000)
    }
}

pub(super) fn receipt(transaction: Option<TransactionId>) -> ReceiptRecord {
    ReceiptRecord {
        id: ReceiptId::generate(),
        merchant_id: merchant("m-1"),
        poi_id: poi("001"),
        transaction_id: transaction,
        reconciliation_id: None,
        copy: ReceiptCopy::Customer,
        device_target: "PrinterReceipt".into(),
        lines: vec![
            "ACME FUEL".into(),
            MaskedText::default(),
            "TOTAL  EUR 12,34".into(),
        ],
        created_at: at(3_000),
    }
}

pub(super) fn prompt(created: i64) -> PromptRecord {
    PromptRecord {
        id: PromptId::generate(),
        merchant_id: merchant("m-1"),
        poi_id: poi("001"),
        transaction_id: None,
        kind: PromptKind::Display,
        device_target: "CashierDisplay".into(),
        lines: vec!["Insert card".into()],
        input: None,
        state: PromptState::Open,
        answer: None,
        answered_by: None,
        created_at: at(created),
        expires_at: None,
        updated_at: at(created),
    }
}

/// An input prompt with every optional field set; `transaction` must be stored first.
pub(super) fn full_prompt(transaction: TransactionId) -> PromptRecord {
    PromptRecord {
        transaction_id: Some(transaction),
        kind: PromptKind::Input,
        device_target: "CashierKeyboard".into(),
        input: Some(InputSpec {
            command: "GetAmount".into(),
            marking: AnswerSecrecy::Clear,
            min_length: Some(1),
            max_length: Some(9),
            decimals: Some(2),
            timeout_secs: Some(30),
        }),
        state: PromptState::Answered,
        answer: Some(PromptAnswer::Number("12.50".into())),
        answered_by: Some(client_id("pos-1")),
        expires_at: Some(at(40_000)),
        updated_at: at(11_000),
        ..prompt(10_000)
    }
}

pub(super) fn reconciliation(created: i64) -> ReconciliationRecord {
    ReconciliationRecord {
        id: ReconciliationId::generate(),
        merchant_id: merchant("m-1"),
        poi_id: poi("001"),
        terminal_id: TerminalId::parse("t1").unwrap(),
        client_id: client_id("pos-1"),
        closure: false,
        state: ReconciliationState::Pending,
        totals: Vec::new(),
        terminal_request_id: TerminalRequestId::parse("42").unwrap(),
        result_code: None,
        reason: None,
        created_at: at(created),
        updated_at: at(created),
        version: 1,
    }
}

pub(super) fn full_reconciliation() -> ReconciliationRecord {
    ReconciliationRecord {
        closure: true,
        state: ReconciliationState::Completed,
        totals: vec![
            ReconciliationTotal {
                card_circuit: Some("VISA".into()),
                payment_type: Some("Debit".into()),
                count: 3,
                amount: eur(4_500),
            },
            ReconciliationTotal {
                card_circuit: None,
                payment_type: None,
                count: 0,
                amount: eur(0),
            },
        ],
        result_code: Some("Success".into()),
        reason: Some("batch closed".into()),
        updated_at: at(8_000),
        version: 2,
        ..reconciliation(7_000)
    }
}

pub(super) fn key(client: &str, key: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        client_id: client_id(client),
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: "f".repeat(64),
        resource: None,
        outcome: None,
        created_at: at(100),
        expires_at: at(86_400_000),
    }
}

pub(super) fn event(merchant_id: Option<&str>, at_ms: i64) -> NewEvent {
    NewEvent {
        merchant_id: merchant_id.map(merchant),
        at: at(at_ms),
        kind: EventKind::NewPoi { poi_id: poi("001") },
    }
}
