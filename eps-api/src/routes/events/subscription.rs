//! One open stream, whatever carries it: the subscriber's feed, its heartbeats, and the reasons
//! it ends (too slow, connection closed or expired, access revoked, shutdown), each announced by
//! a final `streamClosedEvent`.

use std::future::Future;
use std::pin::Pin;

use eps_core::client::Scope;
use eps_core::connection::ConnectionRecord;
use eps_core::event::{Feed, FeedItem};
use eps_core::ids::EventId;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::caller::{OperatorStream, SiteStream};
use super::frame::Frame;
use crate::auth::Principal;
use crate::dto::event::EventMessage;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Why a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// It fell more than the per-subscriber buffer behind.
    TooSlow,
    /// Its connection was disconnected.
    ConnectionClosed,
    /// Its connection missed its heartbeats.
    ConnectionExpired,
    /// Its client was removed, or no longer granted the connection's site.
    AccessRevoked,
    /// The EPS is stopping.
    Shutdown,
    /// The event log could not be read.
    Unavailable,
}

impl EndReason {
    /// The `reason` of the closing message.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::TooSlow => "tooSlow",
            Self::ConnectionClosed => "connectionClosed",
            Self::ConnectionExpired => "connectionExpired",
            Self::AccessRevoked => "accessRevoked",
            Self::Shutdown => "shutdown",
            Self::Unavailable => "unavailable",
        }
    }

    /// The `message` of the closing message.
    const fn advice(self) -> &'static str {
        match self {
            Self::TooSlow => {
                "the stream fell behind; reconnect with Last-Event-ID set to this eventID to resume"
            }
            Self::ConnectionClosed => "the connection was disconnected; connect again",
            Self::ConnectionExpired => "the connection missed its heartbeats; connect again",
            Self::AccessRevoked => {
                "the client was removed or is no longer granted this site; ask the EPS operator"
            }
            Self::Shutdown => {
                "the EPS is stopping; reconnect with Last-Event-ID set to this eventID to resume"
            }
            Self::Unavailable => {
                "the event log cannot be read; reconnect with Last-Event-ID set to this eventID"
            }
        }
    }
}

/// Whose stream it is.
enum Audience {
    /// A site system: its connection, and its client's standing, are checked at every
    /// heartbeat.
    Site {
        caller: Box<Principal>,
        connection: Box<ConnectionRecord>,
    },
    /// An operator: every event, while its client stays registered with `admin`.
    Operator { caller: Box<Principal> },
}

/// A wait kept across calls, so it registers once rather than at every message.
type Waiting = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An open stream: yields messages until, and including, its closing message.
pub(crate) struct Subscription {
    state: AppState,
    audience: Audience,
    /// Resolves on shutdown.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Resolves when a site system's connection is disconnected on this node.
    closure: Option<Waiting>,
    feed: Feed,
    heartbeat: Interval,
    /// The id of the last event delivered, or the resume point.
    delivered: EventId,
    ended: Option<EndReason>,
    channel: &'static str,
}

impl Subscription {
    /// Opens a site system's stream of its site's events on `channel` (`sse` or `ws`).
    pub(crate) async fn site(
        state: &AppState,
        request: SiteStream,
        channel: &'static str,
    ) -> ApiResult<Self> {
        let after = resume_point(state, request.last_event_id).await?;
        let feed = state
            .events
            .feed(Some(request.connection.merchant_id.clone()), after);
        tracing::info!(
            connection = %request.connection.id,
            client = %request.caller.client_id,
            after = %after,
            channel,
            "event stream opened"
        );
        let audience = Audience::Site {
            caller: Box::new(request.caller),
            connection: Box::new(request.connection),
        };
        let mut watch = request.closure;
        let closure: Waiting = Box::pin(async move { watch.closed().await });
        Ok(Self::new(
            state,
            audience,
            Some(closure),
            feed,
            after,
            channel,
        ))
    }

    /// Opens an operator's stream of every event.
    pub(crate) async fn operator(
        state: &AppState,
        request: OperatorStream,
        channel: &'static str,
    ) -> ApiResult<Self> {
        let after = resume_point(state, request.last_event_id).await?;
        let feed = state.events.feed(None, after);
        tracing::info!(client = %request.caller.client_id, after = %after, channel, "operator event stream opened");
        Ok(Self::new(
            state,
            Audience::Operator {
                caller: Box::new(request.caller),
            },
            None,
            feed,
            after,
            channel,
        ))
    }

    fn new(
        state: &AppState,
        audience: Audience,
        closure: Option<Waiting>,
        feed: Feed,
        after: EventId,
        channel: &'static str,
    ) -> Self {
        let period = state.settings.events.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        metrics::gauge!("eps_event_streams", "channel" => channel).increment(1.0);
        Self {
            state: state.clone(),
            audience,
            shutdown: Box::pin(state.shutdown.clone().cancelled_owned()),
            closure,
            feed,
            heartbeat,
            delivered: after,
            ended: None,
            channel,
        }
    }

    /// Why the stream ended, once its closing message was handed out.
    pub(crate) fn ended(&self) -> Option<EndReason> {
        self.ended
    }

    /// The next message; the closing one last, then `None`.
    pub(crate) async fn next(&mut self) -> Option<Frame> {
        if self.ended.is_some() {
            return None;
        }
        let step = tokio::select! {
            biased;
            () = &mut self.shutdown => Err(EndReason::Shutdown),
            () = closed(&mut self.closure) => Err(EndReason::ConnectionClosed),
            _ = self.heartbeat.tick() => self.beat().await,
            item = self.feed.next() => self.deliver(item),
        };
        match step {
            Ok(frame) => Some(frame),
            Err(reason) => Some(Frame::of(&self.end(reason))),
        }
    }

    fn deliver(&mut self, item: eps_core::Result<FeedItem>) -> Result<Frame, EndReason> {
        match item {
            Ok(FeedItem::Event(event)) => {
                self.delivered = event.id;
                // From the event's commit to its hand-over to this subscriber.
                let lag = (self.state.clock.now() - event.at)
                    .as_seconds_f64()
                    .max(0.0);
                metrics::histogram!("eps_event_delivery_lag_seconds", "channel" => self.channel)
                    .record(lag);
                Ok(Frame::of_event(&event))
            }
            Ok(FeedItem::Lost { after, through }) => {
                self.delivered = through;
                tracing::warn!(after = %after, through = %through, "a subscriber resumed behind the retention floor");
                Ok(Frame::of(&EventMessage::lost(
                    after,
                    through,
                    self.state.clock.now(),
                )))
            }
            Ok(FeedItem::Lagged) => Err(EndReason::TooSlow),
            Err(e) => {
                tracing::error!(error = %e, "the event log cannot be read for a stream");
                Err(EndReason::Unavailable)
            }
        }
    }

    /// A heartbeat, after checking that the subscriber's client is still registered (with
    /// `admin` for an operator) and, for a site system, that its connection is still live and
    /// its site still granted.
    async fn beat(&mut self) -> Result<Frame, EndReason> {
        use eps_core::Error as D;
        match check(&self.state, &self.audience).await {
            Ok(()) => {}
            Err(ApiError::Domain(D::ConnectionExpired)) => {
                return Err(EndReason::ConnectionExpired);
            }
            Err(ApiError::Domain(D::UnknownConnection | D::ConnectionOfAnotherClient)) => {
                return Err(EndReason::ConnectionClosed);
            }
            Err(
                ApiError::Domain(D::SiteNotGranted(_))
                | ApiError::Unauthorized(_)
                | ApiError::InsufficientScope(_),
            ) => {
                return Err(EndReason::AccessRevoked);
            }
            // The store may be back at the next heartbeat; the stream is not at fault.
            Err(e) => tracing::warn!(error = %e, "a stream's subscriber could not be checked"),
        }
        Ok(Frame::of(&EventMessage::heartbeat(
            self.delivered,
            self.state.clock.now(),
        )))
    }

    fn end(&mut self, reason: EndReason) -> EventMessage {
        self.ended = Some(reason);
        metrics::counter!("eps_event_streams_ended_total", "channel" => self.channel, "reason" => reason.as_str())
            .increment(1);
        match &self.audience {
            Audience::Site { connection, .. } => tracing::info!(
                connection = %connection.id,
                reason = reason.as_str(),
                last = %self.delivered,
                channel = self.channel,
                "event stream ended"
            ),
            Audience::Operator { .. } => tracing::info!(
                reason = reason.as_str(),
                last = %self.delivered,
                channel = self.channel,
                "operator event stream ended"
            ),
        }
        EventMessage::closed(
            self.delivered,
            reason.as_str(),
            reason.advice(),
            self.state.clock.now(),
        )
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        metrics::gauge!("eps_event_streams", "channel" => self.channel).decrement(1.0);
    }
}

/// The subscriber as the client table stands now: an operator still with `admin`, a site system
/// with its connection for a site it may still reach.
async fn check(state: &AppState, audience: &Audience) -> ApiResult<()> {
    let now = state.clock.now();
    match audience {
        Audience::Operator { caller } => {
            let caller = state.tokens.admit((**caller).clone(), now).await?;
            if !caller.scopes.contains(Scope::Admin) {
                return Err(ApiError::InsufficientScope(Scope::Admin));
            }
        }
        Audience::Site { caller, connection } => {
            let caller = state.tokens.admit((**caller).clone(), now).await?;
            state
                .connections
                .authorize(&caller.client_id, &caller.sites, &connection.id)
                .await?;
        }
    }
    Ok(())
}

/// Resolves when a site system's connection is disconnected; never for an operator.
async fn closed(closure: &mut Option<Waiting>) {
    match closure {
        Some(closure) => closure.await,
        None => std::future::pending().await,
    }
}

/// Where a new stream starts: after the client's `Last-Event-ID`, or at the head of the log.
async fn resume_point(state: &AppState, requested: Option<EventId>) -> ApiResult<EventId> {
    let head = state.events.head().await?;
    match requested {
        None => Ok(head),
        Some(id) if id <= head => Ok(id),
        Some(id) => Err(ApiError::field(
            "Last-Event-ID",
            format!("{id} is beyond the newest event ({head}); connect without it"),
        )),
    }
}
