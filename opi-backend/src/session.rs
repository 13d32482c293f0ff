//! The sans-IO conversation core: one channel-0 request, its callbacks, its abort and its timers.
//!
//! A [`Conversation`] is handed every input with the time it happened (`handle_*(…, now)`) and
//! is polled for what to do: [`Conversation::poll_transmit`] (messages to write, per link),
//! [`Conversation::poll_event`] (connections to open or close, observer calls, the outcome) and
//! [`Conversation::poll_timeout`] (when to call [`Conversation::handle_timeout`] next). It owns no
//! socket, task or clock; the driver (or a test's virtual link) does.

mod callback;
mod conversation;
mod outcome;
mod request;
mod timer;

use eps_core::terminal::{DeviceOutput, InputRequest, TerminalError};

pub(crate) use callback::{answer_is_secret, format_error_response};
pub use conversation::Conversation;
pub(crate) use conversation::unowned_response;
pub use outcome::{
    Answer, last_result, reconciliation_report, service_result, terminal_response, terminal_result,
};
pub use request::{Identity, Operation};
pub use timer::TimerKind;

use crate::message::{Message, ValueError};

/// A connection a conversation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// The request's own channel-0 connection.
    Request,
    /// A separate channel-0 connection carrying an AbortRequest.
    Abort,
    /// A channel-1 connection the terminal opened; the number is the driver's.
    Callback(u64),
}

/// A message to write on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where.
    pub link: Link,
    /// What.
    pub message: Message,
}

/// Identifies a pending Input until it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputKey(pub u64);

/// Something the driver must do or pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Open a channel-0 connection to the terminal; report with `handle_connected` or
    /// `handle_connect_failed`.
    Connect(Link),
    /// Close a connection: the conversation is done with it.
    Close(Link),
    /// Ask the observer's `before_send`; report with `handle_send_permission`.
    BeforeSend,
    /// Tell the observer the request is on the wire.
    Sent,
    /// Pass a display or printer output to the observer.
    Output(DeviceOutput),
    /// Ask the observer; report with `handle_input_answer`.
    Input {
        /// The key to answer with.
        key: InputKey,
        /// The question.
        request: InputRequest,
    },
    /// The terminal withdrew an Input (or it timed out): stop asking.
    InputWithdrawn(InputKey),
    /// The terminal reports a card was presented.
    CardAcquired,
    /// The AbortRequest's acknowledgement (not the operation's outcome).
    AbortAnswered(Result<(), TerminalError>),
    /// The request's outcome; more events may follow until [`Conversation::is_done`].
    Finished(Finished),
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The terminal answered.
    Answered(Answer),
    /// The request was (maybe partly) written, and no usable answer came.
    Lost {
        /// What failed.
        reason: String,
    },
    /// Not one byte of the request was written.
    NotSent {
        /// What failed.
        reason: String,
    },
}

/// A call the conversation cannot accept; the conversation stays consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// A message that does not fit the conversation's state; it was not dropped silently:
    /// channel-0 surprises end the request, channel-1 requests are still answered.
    #[error("unexpected {got} on {link:?} while {state}")]
    Unexpected {
        /// The state the conversation was in.
        state: &'static str,
        /// Where it came from.
        link: Link,
        /// What it was.
        got: String,
    },
    /// An answer for an Input that is no longer pending.
    #[error("input {0:?} is not pending")]
    UnknownInput(InputKey),
    /// An abort was asked when there is nothing to abort.
    #[error("nothing to abort: {0}")]
    NothingToAbort(&'static str),
    /// An abort is already under way.
    #[error("an abort is already in progress")]
    AbortInProgress,
    /// A frame that could not be read.
    #[error("unreadable frame on {link:?}: {reason}")]
    Malformed {
        /// Where it came from.
        link: Link,
        /// Why it could not be read.
        reason: String,
    },
    /// A well-formed DeviceRequest that could not be decoded; it was answered `FormatError`.
    #[error("undecodable {request_type} on {link:?}, answered FormatError: {reason}")]
    Undecodable {
        /// Where it came from.
        link: Link,
        /// Its `RequestType` as sent.
        request_type: String,
        /// Why it could not be decoded.
        reason: String,
    },
    /// The request could not be written as OPI.
    #[error("cannot build the request: {0}")]
    Build(#[from] ValueError),
}

/// A short description of a message for errors and logs (no card data).
pub(crate) fn describe(message: &Message) -> String {
    format!(
        "{} {} RequestID={}",
        message.root_name(),
        message.request_type(),
        message.request_id()
    )
}
