//! What the simulator does with a request: scripted scenarios, magic amounts and faults.
//!
//! A request's scenario is, in order: the first scripted scenario whose match fits it (tests
//! push these per request through the handle), else for financial requests the magic amount
//! (the last two digits of the amount in minor units, like a payment sandbox's test cards), else
//! the configured default (approve).

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One way the simulator can handle a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Approve after a display prompt, with a customer and a merchant receipt.
    Approve,
    /// Decline (`Failure` with an error code), with a customer receipt.
    Decline,
    /// Ask the cashier for confirmation (Input/GetConfirmation): yes approves, no (or no answer)
    /// ends `Aborted`.
    Confirm,
    /// Ask for a PIN (Input `GetPIN`, the entry hidden): any PIN approves (the terminal keeps
    /// what it got, see `SimServer::pins`); no answer ends `Aborted`.
    Pin,
    /// Wait for a card that never comes: ends `Aborted` on an AbortRequest, or by itself after
    /// the configured self-abort delay.
    WaitForAbort,
    /// Answer `Busy` without doing anything.
    Busy,
    /// Answer `DeviceUnavailable` without doing anything.
    DeviceUnavailable,
    /// Answer `LoggedOut` (and forget the session: a Login is needed again).
    LoggedOut,
    /// Approve, but lose the receipt: answer `PrintLastTicket` so the POS asks for a reprint.
    PrintLastTicket,
    /// Close the link right after reading the request; the request is never processed.
    DropAfterRequest,
    /// Close both links after the first callback; the transaction still completes (approved).
    DropMidCallbacks,
    /// Process the request fully (approved, receipts printed), then close without answering.
    DropBeforeResponse,
    /// Close the link right after reading the request, yet keep working on it for the configured
    /// latency and then approve it (no callbacks: the POS is gone); meanwhile a
    /// RepeatLastMessage is answered with the previous request, as terminals that finish their
    /// work after a lost link do.
    DropAndKeepWorking,
    /// Approve, but send a frame of garbage instead of the answer.
    Garbage,
    /// Approve, but announce an oversize frame instead of the answer.
    Oversize,
    /// Approve; the answer (with non-ASCII text) carries a character-count length prefix.
    CharCountPrefix,
    /// Approve; every frame is written without the IXRetail namespace.
    NoNamespace,
    /// Approve; every frame is written in ISO-8859-1 with a matching declaration.
    Latin1,
    /// Ask for confirmation with an Input that lacks its `Command`: well-formed XML that cannot
    /// be decoded. The POS should answer `FormatError`, which is no "yes": the request ends
    /// `Aborted`; an unanswered Input times out the same way.
    UndecodableInput,
}

impl Scenario {
    /// Every scenario, in the order of the magic-amount table.
    pub const ALL: [Self; 19] = [
        Self::Approve,
        Self::Decline,
        Self::Confirm,
        Self::Pin,
        Self::WaitForAbort,
        Self::Busy,
        Self::DeviceUnavailable,
        Self::LoggedOut,
        Self::PrintLastTicket,
        Self::DropAfterRequest,
        Self::DropMidCallbacks,
        Self::DropBeforeResponse,
        Self::DropAndKeepWorking,
        Self::Garbage,
        Self::Oversize,
        Self::CharCountPrefix,
        Self::NoNamespace,
        Self::Latin1,
        Self::UndecodableInput,
    ];

    /// The scenario a financial amount selects, by the last two digits of its minor units.
    ///
    /// | ends in | scenario |
    /// |---|---|
    /// | .05 | decline |
    /// | .13 | ask for confirmation |
    /// | .14 | ask for a PIN |
    /// | .21 | wait for a card until aborted |
    /// | .51 / .52 / .53 / .54 | Busy / DeviceUnavailable / LoggedOut / PrintLastTicket |
    /// | .66 / .67 / .68 | drop the link before the response / after the request / mid-callbacks |
    /// | .69 | drop the link after the request and keep working on it |
    /// | .91 / .92 / .93 / .94 / .95 | garbage / oversize / char-count prefix / no namespace / ISO-8859-1 |
    /// | .96 | an Input without its Command (undecodable) |
    /// | anything else | approve |
    pub fn for_amount_minor(minor: i64) -> Self {
        match minor.rem_euclid(100) {
            5 => Self::Decline,
            13 => Self::Confirm,
            14 => Self::Pin,
            21 => Self::WaitForAbort,
            51 => Self::Busy,
            52 => Self::DeviceUnavailable,
            53 => Self::LoggedOut,
            54 => Self::PrintLastTicket,
            66 => Self::DropBeforeResponse,
            67 => Self::DropAfterRequest,
            68 => Self::DropMidCallbacks,
            69 => Self::DropAndKeepWorking,
            91 => Self::Garbage,
            92 => Self::Oversize,
            93 => Self::CharCountPrefix,
            94 => Self::NoNamespace,
            95 => Self::Latin1,
            96 => Self::UndecodableInput,
            _ => Self::Approve,
        }
    }

    /// The magic cents that select this scenario, if any.
    pub fn magic_cents(self) -> Option<u8> {
        if self == Self::Approve {
            return None;
        }
        (0..100u8).find(|c| Self::for_amount_minor(i64::from(*c)) == self)
    }

    /// The name used on the command line and in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Decline => "decline",
            Self::Confirm => "confirm",
            Self::Pin => "pin",
            Self::WaitForAbort => "wait-for-abort",
            Self::Busy => "busy",
            Self::DeviceUnavailable => "device-unavailable",
            Self::LoggedOut => "logged-out",
            Self::PrintLastTicket => "print-last-ticket",
            Self::DropAfterRequest => "drop-after-request",
            Self::DropMidCallbacks => "drop-mid-callbacks",
            Self::DropBeforeResponse => "drop-before-response",
            Self::DropAndKeepWorking => "drop-and-keep-working",
            Self::Garbage => "garbage",
            Self::Oversize => "oversize",
            Self::CharCountPrefix => "char-count-prefix",
            Self::NoNamespace => "no-namespace",
            Self::Latin1 => "latin1",
            Self::UndecodableInput => "undecodable-input",
        }
    }

    /// Parses [`Scenario::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which requests a scripted scenario applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptMatch {
    /// The next financial card request (payment, pre-authorisation, completion, refund, reversal).
    Financial,
    /// The next request of this `RequestType` (`Login`, `RepeatLastMessage`, …).
    RequestType(String),
    /// The next request of any kind, AbortRequest excepted.
    Any,
}

impl ScriptMatch {
    fn fits(&self, request_type: &str, financial: bool) -> bool {
        match self {
            Self::Financial => financial,
            Self::RequestType(name) => name.eq_ignore_ascii_case(request_type),
            Self::Any => true,
        }
    }
}

/// Scripted scenarios, consumed one per matching request, first in first out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    queue: VecDeque<(ScriptMatch, Scenario)>,
}

impl Script {
    /// Queues `scenario` for the next request `matching`.
    pub(crate) fn push(&mut self, matching: ScriptMatch, scenario: Scenario) {
        self.queue.push_back((matching, scenario));
    }

    /// Takes the first queued scenario that fits this request.
    pub(crate) fn take(&mut self, request_type: &str, financial: bool) -> Option<Scenario> {
        let index = self
            .queue
            .iter()
            .position(|(m, _)| m.fits(request_type, financial))?;
        self.queue.remove(index).map(|(_, scenario)| scenario)
    }

    /// Forgets every queued scenario.
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_amounts() {
        assert_eq!(Scenario::for_amount_minor(1205), Scenario::Decline);
        assert_eq!(Scenario::for_amount_minor(1213), Scenario::Confirm);
        assert_eq!(
            Scenario::for_amount_minor(1266),
            Scenario::DropBeforeResponse
        );
        assert_eq!(Scenario::for_amount_minor(1200), Scenario::Approve);
        assert_eq!(Scenario::for_amount_minor(3950), Scenario::Approve);
        assert_eq!(Scenario::Decline.magic_cents(), Some(5));
        assert_eq!(Scenario::Approve.magic_cents(), None);
        // Every scenario a magic amount selects is listed, once.
        for cents in 0..100 {
            let selected = Scenario::for_amount_minor(cents);
            let listed = Scenario::ALL.iter().filter(|s| **s == selected).count();
            assert_eq!(listed, 1, ".{cents:02} selects {selected}");
        }
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.as_str()), Some(s));
            if s != Scenario::Approve {
                let cents = s.magic_cents().unwrap();
                assert_eq!(Scenario::for_amount_minor(1000 + i64::from(cents)), s);
            }
        }
    }

    #[test]
    fn script_takes_first_fitting() {
        let mut script = Script::default();
        script.push(ScriptMatch::Financial, Scenario::Decline);
        script.push(ScriptMatch::RequestType("Login".into()), Scenario::Busy);
        assert_eq!(script.take("Diagnosis", false), None);
        assert_eq!(script.take("login", false), Some(Scenario::Busy));
        assert_eq!(script.take("CardPayment", true), Some(Scenario::Decline));
        assert_eq!(script.take("CardPayment", true), None);
    }
}
