//! A message rendered for the wire: its JSON (a WebSocket text message) and its SSE frame
//! (`id:` for positions in the log, `event:`, `data:`).
//!
//! A live event reaches every subscriber as the same shared record, so it is rendered once:
//! recent renderings are kept by the record's identity (the allocation a subscriber holds cannot
//! be reused while the cache's weak reference keeps it).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use axum::body::Bytes;
use axum::extract::ws::Utf8Bytes;
use eps_core::event::EventRecord;

use crate::dto::event::EventMessage;

/// Renderings kept: far more than the events in flight between the tailer and subscribers.
const RECENT: usize = 256;

/// Recent live events and their renderings, newest last.
static RENDERED: Mutex<VecDeque<(Weak<EventRecord>, Frame)>> = Mutex::new(VecDeque::new());

/// One message, ready to send on either channel.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The JSON object (a WebSocket text message).
    pub(crate) json: Utf8Bytes,
    /// The SSE frame.
    pub(crate) sse: Bytes,
}

impl Frame {
    /// Renders `message`.
    pub(crate) fn of(message: &EventMessage) -> Self {
        // The JSON of a message is one line: serde_json escapes line breaks inside strings.
        let json = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
        let mut sse = String::with_capacity(json.len() + 64);
        if let Some(id) = message.sse_id() {
            sse.push_str("id: ");
            sse.push_str(id);
            sse.push('\n');
        }
        sse.push_str("event: ");
        sse.push_str(message.name());
        sse.push_str("\ndata: ");
        sse.push_str(&json);
        sse.push_str("\n\n");
        Self {
            json: json.into(),
            sse: Bytes::from(sse),
        }
    }

    /// The rendering of a stored event, shared by every subscriber it is broadcast to.
    pub(crate) fn of_event(event: &Arc<EventRecord>) -> Self {
        let ptr = Arc::as_ptr(event);
        let recent = RENDERED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, frame)) = recent.iter().rev().find(|(seen, _)| seen.as_ptr() == ptr) {
            return frame.clone();
        }
        drop(recent);
        let frame = Self::of(&EventMessage::of_record(event));
        let mut recent = RENDERED.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() >= RECENT {
            recent.pop_front();
        }
        recent.push_back((Arc::downgrade(event), frame.clone()));
        frame
    }
}

#[cfg(test)]
mod tests {
    use eps_core::event::EventKind;
    use eps_core::ids::{EventId, MerchantId, PoiId};
    use time::macros::datetime;

    use super::*;

    fn record(id: i64) -> Arc<EventRecord> {
        let site = MerchantId::parse("m").unwrap();
        Arc::new(EventRecord {
            id: EventId::new(id),
            merchant_id: Some(site.clone()),
            at: datetime!(2026-01-05 09:00 UTC),
            kind: EventKind::NewPoi {
                poi_id: PoiId::derive(&site, "fuelingPoint", "001"),
            },
        })
    }

    #[test]
    fn frames_carry_an_id_only_for_positions_in_the_log() {
        let at = datetime!(2026-01-05 09:00 UTC);
        let lost = Frame::of(&EventMessage::lost(EventId::new(1), EventId::new(9), at));
        assert_eq!(
            std::str::from_utf8(&lost.sse).unwrap(),
            "id: 9\nevent: eventsLostEvent\ndata: {\"event\":\"eventsLostEvent\",\"eventID\":\"9\",\
             \"timestamp\":\"2026-01-05T09:00:00.000Z\",\"firstLostEventID\":\"2\",\"lastLostEventID\":\"9\"}\n\n"
        );
        assert!(
            lost.sse
                .ends_with(format!("data: {}\n\n", lost.json.as_str()).as_bytes())
        );
        let beat = Frame::of(&EventMessage::heartbeat(EventId::new(9), at));
        assert!(
            std::str::from_utf8(&beat.sse)
                .unwrap()
                .starts_with("event: heartBeatEvent\ndata: {")
        );
    }

    #[test]
    fn a_shared_record_is_rendered_once_and_others_apart() {
        let (one, two) = (record(41), record(42));
        let first = Frame::of_event(&one);
        let again = Frame::of_event(&one.clone());
        assert_eq!(first.sse.as_ptr(), again.sse.as_ptr(), "the same rendering");
        let other = Frame::of_event(&two);
        assert!(
            std::str::from_utf8(&other.sse)
                .unwrap()
                .starts_with("id: 42\n")
        );
        // An equal record in another allocation (a replay) is rendered on its own, identically.
        let copy = Arc::new((*one).clone());
        let apart = Frame::of_event(&copy);
        assert_ne!(apart.sse.as_ptr(), first.sse.as_ptr());
        assert_eq!(apart.sse, first.sse);
    }
}
