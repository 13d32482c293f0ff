//! Event messages: the `data:` line of an SSE frame and the text of a WebSocket message.
//!
//! Every message is `{"event": name, "eventID": "12", "timestamp": "…", …ids}`: the names of the
//! public Open Retailing list (`heartBeatEvent`, `receiptAvailableEvent`, …), ours
//! (`transactionUpdatedEvent`, `poiStatusEvent`), and two about the stream itself
//! (`eventsLostEvent`, `streamClosedEvent`). Ids are strings, as in the public examples; absent
//! ids are left out.

use eps_core::event::{EventKind, EventRecord};
use eps_core::ids::EventId;
use eps_core::transaction::TransactionKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dto::status::format_timestamp;

/// One event message; `event` names its kind (and is the SSE `event:` line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event")]
pub enum EventMessage {
    /// Sent on every open stream at the heartbeat interval; not stored.
    #[serde(rename = "heartBeatEvent")]
    HeartBeat(HeartBeatEvent),
    /// A receipt can be fetched (`GET /receipts/{receiptID}`).
    #[serde(rename = "receiptAvailableEvent")]
    ReceiptAvailable(ReceiptAvailableEvent),
    /// A prompt awaits display or an answer (`GET /prompts/{promptID}`).
    #[serde(rename = "promptAvailableEvent")]
    PromptAvailable(PromptAvailableEvent),
    /// A reconciliation ended (`GET /reconciliations/{reconciliationID}`).
    #[serde(rename = "reconciliationCompletionEvent")]
    ReconciliationCompletion(ReconciliationCompletionEvent),
    /// A card was presented before an amount was known.
    #[serde(rename = "cardAcquisitionEvent")]
    CardAcquisition(CardAcquisitionEvent),
    /// A POI was added to the site since the EPS last started (`GET /POIs`).
    #[serde(rename = "newPOIEvent")]
    NewPoi(NewPoiEvent),
    /// A transaction changed state (ours; `GET /transactions/{transactionID}`).
    #[serde(rename = "transactionUpdatedEvent")]
    TransactionUpdated(TransactionUpdatedEvent),
    /// A POI's terminal changed health (ours).
    #[serde(rename = "poiStatusEvent")]
    PoiStatus(PoiStatusEvent),
    /// Events the client had not seen were purged by retention (ours).
    #[serde(rename = "eventsLostEvent")]
    EventsLost(EventsLostEvent),
    /// The EPS is ending this stream; the last message on it (ours).
    #[serde(rename = "streamClosedEvent")]
    StreamClosed(StreamClosedEvent),
}

/// `heartBeatEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeartBeatEvent {
    /// The stream's position: the id of the last event it delivered (or resumed after); a
    /// heartbeat has no id of its own and no SSE `id:` line.
    #[serde(rename = "eventID")]
    #[schema(example = "129")]
    pub event_id: String,
    /// When it was sent (UTC).
    #[schema(format = DateTime, example = "2026-01-05T09:00:15.000Z")]
    pub timestamp: String,
}

/// `receiptAvailableEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptAvailableEvent {
    /// The event's id in the log (the SSE `id:` line).
    #[serde(rename = "eventID")]
    #[schema(example = "129")]
    pub event_id: String,
    /// When it happened (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The receipt.
    #[serde(rename = "receiptID")]
    pub receipt_id: String,
    /// The POI whose terminal printed it.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// Its transaction, if any.
    #[serde(rename = "transactionID", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Its reconciliation, if any.
    #[serde(rename = "reconciliationID", skip_serializing_if = "Option::is_none")]
    pub reconciliation_id: Option<String>,
    /// Which copy: `customer`, `merchant`, `journal` or `report`.
    #[schema(example = "customer")]
    pub copy: String,
}

/// `promptAvailableEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PromptAvailableEvent {
    /// The event's id in the log.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When it happened (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The prompt.
    #[serde(rename = "promptID")]
    pub prompt_id: String,
    /// The POI whose terminal raised it.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// The transaction running, if any.
    #[serde(rename = "transactionID", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `display` (no answer expected) or `input` (answer with `POST /prompts/{promptID}/response`).
    #[serde(rename = "type")]
    #[schema(example = "input")]
    pub prompt_type: String,
}

/// `reconciliationCompletionEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationCompletionEvent {
    /// The event's id in the log.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When it happened (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The reconciliation.
    #[serde(rename = "reconciliationID")]
    pub reconciliation_id: String,
    /// The POI reconciled.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// How it ended: `completed` or `failed`.
    #[schema(example = "completed")]
    pub state: String,
}

/// `cardAcquisitionEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardAcquisitionEvent {
    /// The event's id in the log.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When it happened (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The POI where the card was presented.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// The transaction running, if any.
    #[serde(rename = "transactionID", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// `newPOIEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = NewPOIEvent)]
pub struct NewPoiEvent {
    /// The event's id in the log.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When the EPS started with it (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The new POI; `GET /POIs` lists its address.
    #[serde(rename = "poiID")]
    pub poi_id: String,
}

/// `transactionUpdatedEvent` (ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransactionUpdatedEvent {
    /// The event's id in the log.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When the state was stored (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The transaction.
    #[serde(rename = "transactionID")]
    pub transaction_id: String,
    /// Its POI.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// `payment`, `authorization`, `completion`, `reversal` or `refund`.
    #[serde(rename = "type")]
    #[schema(example = "payment")]
    pub transaction_type: String,
    /// The new state: `pending`, `inProgress`, `approved`, `declined`, `aborted`, `failed`,
    /// `unknown`, `completed`, `reversed` or `refunded`.
    #[schema(example = "approved")]
    pub state: String,
}

/// `poiStatusEvent` (ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoiStatusEvent {
    /// The event's id in the log.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When the change was seen (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The POI.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// Its terminal's health: `online`, `busy`, `loggedOut`, `offline` or `unknown`.
    #[schema(example = "online")]
    pub status: String,
}

/// `eventsLostEvent` (ours): a resume point older than the retention floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventsLostEvent {
    /// `lastLostEventID`: the stream continues after it (and so does `Last-Event-ID`).
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When the loss was found (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The first id that may have been an event of this stream and is gone.
    #[serde(rename = "firstLostEventID")]
    pub first_lost_event_id: String,
    /// The last id removed by retention.
    #[serde(rename = "lastLostEventID")]
    pub last_lost_event_id: String,
}

/// `streamClosedEvent` (ours): why the EPS ends the stream; reconnect with `Last-Event-ID`
/// (or `lastEventID`) set to its `eventID` to resume without loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamClosedEvent {
    /// The id of the last event delivered on the stream (its resume point).
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// When it closed (UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// `tooSlow` (fell behind the per-subscriber buffer), `connectionClosed` (disconnected),
    /// `connectionExpired` (missed heartbeats), `accessRevoked` (the client was removed or its
    /// site revoked), `shutdown` (the EPS is stopping) or `unavailable`.
    #[schema(example = "tooSlow")]
    pub reason: String,
    /// What to do about it.
    pub message: String,
}

impl EventMessage {
    /// The message of a stored event.
    pub fn of_record(record: &EventRecord) -> Self {
        let event_id = record.id.to_string();
        let timestamp = format_timestamp(record.at);
        let id = |id: &dyn std::fmt::Display| id.to_string();
        match &record.kind {
            EventKind::ReceiptAvailable {
                receipt_id,
                poi_id,
                transaction_id,
                reconciliation_id,
                copy,
            } => Self::ReceiptAvailable(ReceiptAvailableEvent {
                event_id,
                timestamp,
                receipt_id: id(receipt_id),
                poi_id: id(poi_id),
                transaction_id: transaction_id.as_ref().map(|t| id(t)),
                reconciliation_id: reconciliation_id.as_ref().map(|r| id(r)),
                copy: copy.as_str().to_owned(),
            }),
            EventKind::PromptAvailable {
                prompt_id,
                poi_id,
                transaction_id,
                prompt_kind,
            } => Self::PromptAvailable(PromptAvailableEvent {
                event_id,
                timestamp,
                prompt_id: id(prompt_id),
                poi_id: id(poi_id),
                transaction_id: transaction_id.as_ref().map(|t| id(t)),
                prompt_type: prompt_kind.as_str().to_owned(),
            }),
            EventKind::ReconciliationCompletion {
                reconciliation_id,
                poi_id,
                state,
            } => Self::ReconciliationCompletion(ReconciliationCompletionEvent {
                event_id,
                timestamp,
                reconciliation_id: id(reconciliation_id),
                poi_id: id(poi_id),
                state: state.as_str().to_owned(),
            }),
            EventKind::CardAcquisition {
                poi_id,
                transaction_id,
            } => Self::CardAcquisition(CardAcquisitionEvent {
                event_id,
                timestamp,
                poi_id: id(poi_id),
                transaction_id: transaction_id.as_ref().map(|t| id(t)),
            }),
            EventKind::NewPoi { poi_id } => Self::NewPoi(NewPoiEvent {
                event_id,
                timestamp,
                poi_id: id(poi_id),
            }),
            EventKind::TransactionUpdated {
                transaction_id,
                poi_id,
                transaction_kind,
                state,
            } => Self::TransactionUpdated(TransactionUpdatedEvent {
                event_id,
                timestamp,
                transaction_id: id(transaction_id),
                poi_id: id(poi_id),
                transaction_type: transaction_type(*transaction_kind).to_owned(),
                state: state.as_str().to_owned(),
            }),
            EventKind::PoiStatus { poi_id, status } => Self::PoiStatus(PoiStatusEvent {
                event_id,
                timestamp,
                poi_id: id(poi_id),
                status: status.as_str().to_owned(),
            }),
        }
    }

    /// A heartbeat of a stream standing at `position`.
    pub fn heartbeat(position: EventId, at: OffsetDateTime) -> Self {
        Self::HeartBeat(HeartBeatEvent {
            event_id: position.to_string(),
            timestamp: format_timestamp(at),
        })
    }

    /// The announcement that events after `after` through `through` were purged.
    pub fn lost(after: EventId, through: EventId, at: OffsetDateTime) -> Self {
        Self::EventsLost(EventsLostEvent {
            event_id: through.to_string(),
            timestamp: format_timestamp(at),
            first_lost_event_id: (after.value().saturating_add(1)).to_string(),
            last_lost_event_id: through.to_string(),
        })
    }

    /// The last message of a stream that delivered up to `position`.
    pub fn closed(position: EventId, reason: &str, message: &str, at: OffsetDateTime) -> Self {
        Self::StreamClosed(StreamClosedEvent {
            event_id: position.to_string(),
            timestamp: format_timestamp(at),
            reason: reason.to_owned(),
            message: message.to_owned(),
        })
    }

    /// The event name (`event` field and SSE `event:` line).
    pub fn name(&self) -> &'static str {
        match self {
            Self::HeartBeat(_) => "heartBeatEvent",
            Self::ReceiptAvailable(_) => "receiptAvailableEvent",
            Self::PromptAvailable(_) => "promptAvailableEvent",
            Self::ReconciliationCompletion(_) => "reconciliationCompletionEvent",
            Self::CardAcquisition(_) => "cardAcquisitionEvent",
            Self::NewPoi(_) => "newPOIEvent",
            Self::TransactionUpdated(_) => "transactionUpdatedEvent",
            Self::PoiStatus(_) => "poiStatusEvent",
            Self::EventsLost(_) => "eventsLostEvent",
            Self::StreamClosed(_) => "streamClosedEvent",
        }
    }

    /// The SSE `id:` of the message: stored events and loss notices have one; heartbeats and the
    /// closing message do not, so they never move the client's `Last-Event-ID`.
    pub fn sse_id(&self) -> Option<&str> {
        match self {
            Self::HeartBeat(_) | Self::StreamClosed(_) => None,
            Self::ReceiptAvailable(e) => Some(&e.event_id),
            Self::PromptAvailable(e) => Some(&e.event_id),
            Self::ReconciliationCompletion(e) => Some(&e.event_id),
            Self::CardAcquisition(e) => Some(&e.event_id),
            Self::NewPoi(e) => Some(&e.event_id),
            Self::TransactionUpdated(e) => Some(&e.event_id),
            Self::PoiStatus(e) => Some(&e.event_id),
            Self::EventsLost(e) => Some(&e.event_id),
        }
    }
}

/// The wire name of a transaction kind, as the transaction resources write it.
fn transaction_type(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::Payment => "payment",
        TransactionKind::PreAuthorisation => "authorization",
        TransactionKind::Completion => "completion",
        TransactionKind::Reversal => "reversal",
        TransactionKind::Refund => "refund",
    }
}

#[cfg(test)]
mod tests {
    use eps_core::ids::{MerchantId, PoiId, ReceiptId, TransactionId};
    use eps_core::receipt::ReceiptCopy;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_receipt_event_has_the_public_shape() {
        let merchant = MerchantId::parse("1234567890").unwrap();
        let (receipt, transaction) = (ReceiptId::generate(), TransactionId::generate());
        let poi = PoiId::derive(&merchant, "pointOfService", "001");
        let record = EventRecord {
            id: EventId::new(129),
            merchant_id: Some(merchant),
            at: datetime!(2026-01-05 09:00:01.5 UTC),
            kind: EventKind::ReceiptAvailable {
                receipt_id: receipt,
                poi_id: poi,
                transaction_id: Some(transaction),
                reconciliation_id: None,
                copy: ReceiptCopy::Customer,
            },
        };
        let message = EventMessage::of_record(&record);
        assert_eq!(message.name(), "receiptAvailableEvent");
        assert_eq!(message.sse_id(), Some("129"));
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            json!({
                "event": "receiptAvailableEvent",
                "eventID": "129",
                "timestamp": "2026-01-05T09:00:01.500Z",
                "receiptID": receipt.to_string(),
                "poiID": poi.to_string(),
                "transactionID": transaction.to_string(),
                "copy": "customer"
            })
        );
        let back: EventMessage =
            serde_json::from_value(serde_json::to_value(&message).unwrap()).unwrap();
        assert_eq!(back, message);
    }

    #[test]
    fn stream_messages_carry_the_position() {
        let at = datetime!(2026-01-05 09:00 UTC);
        let heartbeat = EventMessage::heartbeat(EventId::new(7), at);
        assert_eq!(heartbeat.sse_id(), None);
        assert_eq!(
            serde_json::to_value(&heartbeat).unwrap(),
            json!({"event": "heartBeatEvent", "eventID": "7", "timestamp": "2026-01-05T09:00:00.000Z"})
        );
        let lost = EventMessage::lost(EventId::new(3), EventId::new(40), at);
        assert_eq!(lost.sse_id(), Some("40"));
        let value = serde_json::to_value(&lost).unwrap();
        assert_eq!(value["firstLostEventID"], "4");
        assert_eq!(value["lastLostEventID"], "40");
        let closed = EventMessage::closed(EventId::new(41), "tooSlow", "resume", at);
        assert_eq!(closed.sse_id(), None);
        assert_eq!(serde_json::to_value(&closed).unwrap()["reason"], "tooSlow");
    }
}
