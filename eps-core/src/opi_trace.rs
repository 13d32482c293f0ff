//! The OPI trace: the messages exchanged with a terminal while it worked on a transaction, kept
//! for operators beside the journal and the receipts.
//!
//! The terminal backend hands every frame of a running operation to its
//! [`crate::terminal::OperationObserver`] as a [`WireFrame`] (secret input answers already
//! replaced, since only the backend can tell them in the XML). The payment service turns it into
//! a [`TracedFrame`] (card numbers masked on the way in) and gives it to a [`TraceSink`] without
//! waiting: tracing never delays or fails a payment. [`TraceWriter`] is that sink: a bounded
//! queue drained by one task that writes each batch with one insert; a full queue drops frames
//! and counts them.
//!
//! Retention is the journal's: neither is purged today, so a trace lives as long as its
//! transaction. A purge of the journal must remove the trace by the same rule.
//!
//! # Layout
//! - this file: [`WireFrame`], [`TracedFrame`], [`TraceDirection`], [`OpiChannel`],
//!   [`TraceSink`].
//! - `writer`: [`TraceWriter`], the queue and its batching writer task.

use time::OffsetDateTime;

use crate::ids::TransactionId;
use crate::redact::MaskedText;

mod writer;

pub use writer::{TraceWriter, TraceWriterHandle};

/// The text that replaces a secret input answer (a PIN, a hidden entry) in a trace.
pub const SECRET_PLACEHOLDER: &str = "****";

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceDirection {
    /// From the terminal to the EPS.
    In,
    /// From the EPS to the terminal.
    Out,
}

impl TraceDirection {
    /// The stored and published name: `in` or `out`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "in" => Some(Self::In),
            "out" => Some(Self::Out),
            _ => None,
        }
    }
}

/// The OPI channel a frame went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpiChannel {
    /// Channel 0: the EPS's requests (CardServiceRequest, ServiceRequest) and their answers.
    Requests,
    /// Channel 1: the terminal's device requests (DeviceRequest) and the EPS's answers.
    Devices,
}

impl OpiChannel {
    /// The channel's number, 0 or 1.
    pub const fn number(self) -> u8 {
        match self {
            Self::Requests => 0,
            Self::Devices => 1,
        }
    }

    /// The channel numbered `number`.
    pub const fn from_number(number: i64) -> Option<Self> {
        match number {
            0 => Some(Self::Requests),
            1 => Some(Self::Devices),
            _ => None,
        }
    }
}

/// One frame as the terminal backend saw it, before masking.
#[derive(Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// Which way it went.
    pub direction: TraceDirection,
    /// Over which channel.
    pub channel: OpiChannel,
    /// The message's root element (`CardServiceRequest`, `DeviceResponse`, …).
    pub message: String,
    /// Its `RequestType` (`CardPayment`, `Input`, …).
    pub request_type: String,
    /// The XML body, with any secret input answer already replaced by [`SECRET_PLACEHOLDER`].
    pub xml: String,
}

impl std::fmt::Debug for WireFrame {
    // The body may hold a card number: it never goes to a log unmasked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireFrame")
            .field("direction", &self.direction)
            .field("channel", &self.channel)
            .field("message", &self.message)
            .field("request_type", &self.request_type)
            .finish_non_exhaustive()
    }
}

/// One frame of a transaction's trace, as stored: card numbers masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedFrame {
    /// The transaction the terminal was working on.
    pub transaction_id: TransactionId,
    /// When the EPS wrote or read it.
    pub at: OffsetDateTime,
    /// Its place among the frames one operation exchanged (0, 1, …).
    pub seq: u32,
    /// Which way it went.
    pub direction: TraceDirection,
    /// Over which channel.
    pub channel: OpiChannel,
    /// The message's root element.
    pub message: String,
    /// Its `RequestType`.
    pub request_type: String,
    /// The XML body, card numbers masked.
    pub xml: MaskedText,
}

impl TracedFrame {
    /// `frame` as traced for `transaction_id`, masked.
    pub fn new(
        transaction_id: TransactionId,
        at: OffsetDateTime,
        seq: u32,
        frame: WireFrame,
    ) -> Self {
        Self {
            transaction_id,
            at,
            seq,
            direction: frame.direction,
            channel: frame.channel,
            message: frame.message,
            request_type: frame.request_type,
            xml: MaskedText::new(frame.xml),
        }
    }
}

/// Where traced frames go; [`TraceSink::record`] never waits.
pub trait TraceSink: Send + Sync {
    /// Queues `frame` for writing, or drops it (counted) when the queue is full.
    fn record(&self, frame: TracedFrame);
}

/// A sink that keeps nothing (tests and tools that need no trace).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl TraceSink for NoTrace {
    fn record(&self, _frame: TracedFrame) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traced_frame_masks_card_numbers() {
        let frame = WireFrame {
            direction: TraceDirection::In,
            channel: OpiChannel::Requests,
            message: "CardServiceResponse".into(),
            request_type: "CardPayment".into(),
            xml: "<PAN>4111111111111111</PAN>".into(),
        };
        let traced = TracedFrame::new(
            TransactionId::generate(),
            OffsetDateTime::UNIX_EPOCH,
            0,
            frame,
        );
        assert_eq!(traced.xml, "<PAN>411111******1111</PAN>");
    }

    #[test]
    fn names_round_trip() {
        for d in [TraceDirection::In, TraceDirection::Out] {
            assert_eq!(TraceDirection::parse(d.as_str()), Some(d));
        }
        for c in [OpiChannel::Requests, OpiChannel::Devices] {
            assert_eq!(OpiChannel::from_number(i64::from(c.number())), Some(c));
        }
    }
}
