//! Terminal profiles: how one family of OPI terminals wants to be driven.
//!
//! OPI dialects differ per vendor (German OPI per CCV/Thales, Swiss ep2/Worldline, …): the session
//! start (Login or ActivateTerminal), where an AbortRequest goes, which printer target is which
//! receipt copy, the text encoding, the timers and the answer sent when nobody answers an input.
//! All of it is configuration; [`TerminalProfile::builtin`] names the ready-made ones.

pub(crate) mod duration;

pub use duration::parse as parse_duration;

use std::time::Duration;

use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::ReversedKind;
use serde::{Deserialize, Serialize};

use crate::codec::{Charset, WriteOptions};

/// Text encoding written on the wire (reading always follows the XML declaration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum WireEncoding {
    /// UTF-8 with a matching declaration (the default).
    #[default]
    #[serde(rename = "UTF-8", alias = "utf-8", alias = "utf8")]
    Utf8,
    /// ISO-8859-1 (Latin-1), as some German terminals expect.
    #[serde(rename = "ISO-8859-1", alias = "iso-8859-1", alias = "latin1")]
    Latin1,
}

impl From<WireEncoding> for Charset {
    fn from(value: WireEncoding) -> Self {
        match value {
            WireEncoding::Utf8 => Self::Utf8,
            WireEncoding::Latin1 => Self::Latin1,
        }
    }
}

impl WireEncoding {
    /// How the codec writes in this encoding, with the namespace and currencies.
    pub fn write_options(self) -> WriteOptions {
        WriteOptions {
            charset: self.into(),
            namespace: true,
            currency: true,
        }
    }
}

/// How a session with the terminal starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStart {
    /// ServiceRequest `Login` (most OPI terminals).
    #[default]
    Login,
    /// ServiceRequest `ActivateTerminal` (Swiss ep2 flavour).
    ActivateTerminal,
    /// No session start at all.
    None,
}

/// How end of day (a reconciliation with closure) is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOfDay {
    /// ServiceRequest `ReconciliationWithClosure` (German OPI, S1).
    #[default]
    ReconciliationWithClosure,
    /// ServiceRequest `TransmitTrx` (submit the stored transactions), then `CloseDay` (the final
    /// balance, which ends the terminal's session): Swiss ep2 (research notes §3.3, §5.5, S2).
    TransmitThenCloseDay,
}

/// Where an AbortRequest is sent while a request is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortPlacement {
    /// On a fresh channel-0 connection (Nexi/Worldline).
    #[default]
    NewConnection,
    /// On the pending request's own socket (CCV).
    SameConnection,
}

/// Maps a printer output to a receipt copy; the first matching rule wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRule {
    /// The `OutDeviceTarget` (`Printer`, `PrinterReceipt`, `JournalPrinter`, `E-Journal`, …).
    pub target: String,
    /// The vendor `TicketType` attribute it must carry, if any (`CustomerReceipt`, …).
    #[serde(default)]
    pub ticket_type: Option<String>,
    /// The copy it is.
    pub copy: ReceiptCopy,
}

impl ReceiptRule {
    fn new(target: &str, ticket_type: Option<&str>, copy: ReceiptCopy) -> Self {
        Self {
            target: target.to_owned(),
            ticket_type: ticket_type.map(str::to_owned),
            copy,
        }
    }

    /// Whether this rule matches an output to `target` with `ticket_type`.
    pub fn matches(&self, target: &str, ticket_type: Option<&str>) -> bool {
        self.target.eq_ignore_ascii_case(target)
            && match (&self.ticket_type, ticket_type) {
                (None, _) => true,
                (Some(want), Some(got)) => want.eq_ignore_ascii_case(got),
                (Some(_), None) => false,
            }
    }
}

/// The `RequestType` a reversal is sent as, by what it reverses.
///
/// The defaults follow the IFSF card request types (research notes §3.2, S5): `PaymentReversal`
/// for a payment or a settled pre-authorisation, `PreAuthReversal` for a reservation and
/// `RefundReversal` for a refund. Which of them real terminals accept is not public (§7), so a
/// profile can name others (e.g. `PaymentReversal` for everything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReversalTypes {
    /// Reversal of a sale.
    pub payment: String,
    /// Reversal of a settled pre-authorisation (CardFinancialAdvice).
    pub completion: String,
    /// Reversal of a reservation.
    pub pre_authorisation: String,
    /// Reversal of a refund.
    pub refund: String,
}

impl Default for ReversalTypes {
    fn default() -> Self {
        Self {
            payment: "PaymentReversal".to_owned(),
            completion: "PaymentReversal".to_owned(),
            pre_authorisation: "PreAuthReversal".to_owned(),
            refund: "RefundReversal".to_owned(),
        }
    }
}

impl ReversalTypes {
    /// The `RequestType` for reversing a `reversed` transaction.
    pub fn for_kind(&self, reversed: ReversedKind) -> &str {
        match reversed {
            ReversedKind::Payment => &self.payment,
            ReversedKind::Completion => &self.completion,
            ReversedKind::PreAuthorisation => &self.pre_authorisation,
            ReversedKind::Refund => &self.refund,
        }
    }

    fn validate(&self) -> Result<(), ProfileError> {
        for name in [
            &self.payment,
            &self.completion,
            &self.pre_authorisation,
            &self.refund,
        ] {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ProfileError::BadRequestType(name.clone()));
            }
        }
        Ok(())
    }
}

/// The timers of one terminal conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timers {
    /// Channel-0 connect.
    #[serde(with = "duration")]
    pub connect: Duration,
    /// Silence while waiting for a card operation's answer; every callback restarts it.
    #[serde(with = "duration")]
    pub idle: Duration,
    /// Longest a card operation may take, callbacks or not.
    #[serde(with = "duration")]
    pub hard_cap: Duration,
    /// Longest a service request (Login, Diagnosis, RepeatLastMessage, …) may take.
    #[serde(with = "duration")]
    pub service: Duration,
    /// Longest an end-of-day reconciliation may take (terminals print a report meanwhile).
    #[serde(with = "duration")]
    pub reconciliation: Duration,
    /// Longest the AbortRequest's own exchange may take.
    #[serde(with = "duration")]
    pub abort: Duration,
    /// How long an Input waits for an answer when the terminal names no timeout.
    #[serde(with = "duration")]
    pub input: Duration,
    /// Interval of the Diagnosis health check while idle; `0s` turns it off.
    #[serde(with = "duration")]
    pub health_check: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            idle: Duration::from_secs(90),
            hard_cap: Duration::from_secs(300),
            service: Duration::from_secs(30),
            reconciliation: Duration::from_secs(120),
            abort: Duration::from_secs(10),
            input: Duration::from_secs(30),
            health_check: Duration::from_secs(60),
        }
    }
}

/// What the EPS answers an Input nobody answered in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputDefault {
    /// The answer to `GetConfirmation` (false: decline whatever the terminal asks).
    pub confirmation: bool,
}

/// How one family of OPI terminals is driven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TerminalProfile {
    /// The encoding written on the wire.
    pub encoding: WireEncoding,
    /// Login, ActivateTerminal or nothing before the first request. An ActivateTerminal the
    /// terminal refuses is followed by a Login (research notes §5.1).
    pub session_start: SessionStart,
    /// Whether the driver ends the session when it stops (Logoff, or DeactivateTerminal with a
    /// Logoff fallback); off by default, as nothing in the public record asks for it.
    pub end_session_on_stop: bool,
    /// How end of day is asked for.
    pub end_of_day: EndOfDay,
    /// Where AbortRequest goes.
    pub abort: AbortPlacement,
    /// Printer targets to receipt copies, first match wins.
    pub receipts: Vec<ReceiptRule>,
    /// The copy a printer output matching no rule becomes.
    pub unmatched_receipt: ReceiptCopy,
    /// Output targets that are displays, not printers.
    pub display_targets: Vec<String>,
    /// Timers.
    pub timers: Timers,
    /// Answers sent when an Input times out.
    pub input_default: InputDefault,
    /// The `LanguageCode` written in `POSdata`, if any.
    pub language: Option<String>,
    /// The `RequestType` of a reversal, by what it reverses.
    pub reversals: ReversalTypes,
    /// Whether messages carry the IXRetail namespace (`xmlns`); some terminals reject it.
    pub write_namespace: bool,
    /// Whether amounts carry `Currency`; some terminals reject it. Without it the terminal takes
    /// every amount in its own currency, so the driver refuses (unsent) an amount in any other
    /// currency than the terminal's configured one.
    pub write_currency: bool,
}

impl Default for TerminalProfile {
    fn default() -> Self {
        Self {
            encoding: WireEncoding::Utf8,
            session_start: SessionStart::Login,
            end_session_on_stop: false,
            end_of_day: EndOfDay::ReconciliationWithClosure,
            abort: AbortPlacement::NewConnection,
            receipts: vec![
                ReceiptRule::new("Printer", Some("CustomerReceipt"), ReceiptCopy::Customer),
                ReceiptRule::new("Printer", Some("MerchantReceipt"), ReceiptCopy::Merchant),
                ReceiptRule::new("PrinterReceipt", None, ReceiptCopy::Customer),
                ReceiptRule::new("Printer", None, ReceiptCopy::Merchant),
                ReceiptRule::new("JournalPrinter", None, ReceiptCopy::Journal),
                ReceiptRule::new("E-Journal", None, ReceiptCopy::Journal),
            ],
            unmatched_receipt: ReceiptCopy::Merchant,
            display_targets: ["CashierDisplay", "CustomerDisplay", "Display"]
                .map(str::to_owned)
                .to_vec(),
            timers: Timers::default(),
            input_default: InputDefault::default(),
            language: None,
            reversals: ReversalTypes::default(),
            write_namespace: true,
            write_currency: true,
        }
    }
}

/// Why a profile was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// No built-in profile has this name.
    #[error("unknown terminal profile {0:?}: built-in profiles are {names}", names = TerminalProfile::BUILTIN.join(", "))]
    Unknown(String),
    /// A timer is zero where it must not be.
    #[error("timer {0} must be greater than zero")]
    ZeroTimer(&'static str),
    /// A request type that is not a plain name (letters and digits).
    #[error("request type {0:?} must be letters and digits only")]
    BadRequestType(String),
    /// The idle timer is longer than the hard cap, so it could never fire.
    #[error("timer idle ({idle:?}) must not exceed hard_cap ({hard_cap:?})")]
    IdleAboveCap {
        /// The idle timer.
        idle: Duration,
        /// The hard cap.
        hard_cap: Duration,
    },
}

impl TerminalProfile {
    /// Names of the built-in profiles.
    pub const BUILTIN: [&'static str; 3] = ["default", "ccv", "ep2"];

    /// A built-in profile by name.
    ///
    /// - `default`: Login, abort on a new connection, UTF-8, `Printer`+`TicketType` or
    ///   `PrinterReceipt` (customer) / `Printer` (merchant).
    /// - `ccv`: German CCV: ISO-8859-1, abort on the pending socket, `Printer` is the customer
    ///   copy and `JournalPrinter`/`E-Journal` the merchant copy.
    /// - `ep2`: Swiss Worldline/Nexi: ActivateTerminal (Login when refused), end of day as
    ///   TransmitTrx then CloseDay, `TicketType` decides, `JournalPrinter` is the merchant copy.
    pub fn builtin(name: &str) -> Result<Self, ProfileError> {
        match name {
            "default" => Ok(Self::default()),
            "ccv" => Ok(Self {
                encoding: WireEncoding::Latin1,
                abort: AbortPlacement::SameConnection,
                receipts: vec![
                    ReceiptRule::new("Printer", None, ReceiptCopy::Customer),
                    ReceiptRule::new("JournalPrinter", None, ReceiptCopy::Merchant),
                    ReceiptRule::new("E-Journal", None, ReceiptCopy::Journal),
                ],
                ..Self::default()
            }),
            "ep2" => Ok(Self {
                session_start: SessionStart::ActivateTerminal,
                end_of_day: EndOfDay::TransmitThenCloseDay,
                receipts: vec![
                    ReceiptRule::new("Printer", Some("CustomerReceipt"), ReceiptCopy::Customer),
                    ReceiptRule::new("Printer", Some("MerchantReceipt"), ReceiptCopy::Merchant),
                    ReceiptRule::new("JournalPrinter", None, ReceiptCopy::Merchant),
                ],
                unmatched_receipt: ReceiptCopy::Customer,
                ..Self::default()
            }),
            other => Err(ProfileError::Unknown(other.to_owned())),
        }
    }

    /// Checks the timers once, at start-up.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let t = &self.timers;
        for (name, value) in [
            ("connect", t.connect),
            ("idle", t.idle),
            ("hard_cap", t.hard_cap),
            ("service", t.service),
            ("reconciliation", t.reconciliation),
            ("abort", t.abort),
            ("input", t.input),
        ] {
            if value.is_zero() {
                return Err(ProfileError::ZeroTimer(name));
            }
        }
        if t.idle > t.hard_cap {
            return Err(ProfileError::IdleAboveCap {
                idle: t.idle,
                hard_cap: t.hard_cap,
            });
        }
        self.reversals.validate()
    }

    /// Whether `target` is a display rather than a printer.
    pub fn is_display(&self, target: &str) -> bool {
        self.display_targets
            .iter()
            .any(|t| t.eq_ignore_ascii_case(target))
    }

    /// The receipt copy a printer output to `target` with `ticket_type` is.
    pub fn receipt_copy(&self, target: &str, ticket_type: Option<&str>) -> ReceiptCopy {
        self.receipts
            .iter()
            .find(|rule| rule.matches(target, ticket_type))
            .map_or(self.unmatched_receipt, |rule| rule.copy)
    }

    /// How the codec writes for this terminal: its encoding, namespace and currency choices.
    pub fn write_options(&self) -> WriteOptions {
        WriteOptions {
            charset: self.encoding.into(),
            namespace: self.write_namespace,
            currency: self.write_currency,
        }
    }

    /// The health-check interval, if health checks are on.
    pub fn health_check(&self) -> Option<Duration> {
        Some(self.timers.health_check).filter(|d| !d.is_zero())
    }
}

/// A profile named in configuration, or written out inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProfileRef {
    /// A built-in profile by name (`"default"`, `"ccv"`, `"ep2"`).
    Named(String),
    /// A profile given in full (unset fields take the `default` profile's values).
    Inline(Box<TerminalProfile>),
}

impl Default for ProfileRef {
    fn default() -> Self {
        Self::Named("default".to_owned())
    }
}

impl ProfileRef {
    /// The profile this refers to, validated.
    pub fn resolve(&self) -> Result<TerminalProfile, ProfileError> {
        let profile = match self {
            Self::Named(name) => TerminalProfile::builtin(name)?,
            Self::Inline(profile) => (**profile).clone(),
        };
        profile.validate()?;
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_resolve_and_validate() {
        for name in TerminalProfile::BUILTIN {
            ProfileRef::Named(name.to_owned()).resolve().unwrap();
        }
        assert!(matches!(
            ProfileRef::Named("nope".into()).resolve(),
            Err(ProfileError::Unknown(_))
        ));
    }

    #[test]
    fn default_receipt_mapping() {
        let p = TerminalProfile::default();
        assert_eq!(
            p.receipt_copy("Printer", Some("CustomerReceipt")),
            ReceiptCopy::Customer
        );
        assert_eq!(
            p.receipt_copy("printer", Some("merchantreceipt")),
            ReceiptCopy::Merchant
        );
        assert_eq!(
            p.receipt_copy("PrinterReceipt", None),
            ReceiptCopy::Customer
        );
        assert_eq!(p.receipt_copy("Printer", None), ReceiptCopy::Merchant);
        assert_eq!(p.receipt_copy("E-Journal", None), ReceiptCopy::Journal);
        assert_eq!(p.receipt_copy("Elsewhere", None), ReceiptCopy::Merchant);
        assert!(p.is_display("CustomerDisplay"));
        assert!(!p.is_display("Printer"));
    }

    #[test]
    fn inline_profile_from_toml_fills_defaults() {
        let text = r#"
            encoding = "ISO-8859-1"
            abort = "same_connection"
            [timers]
            idle = "45s"
            connect = 3
            [[receipts]]
            target = "Printer"
            copy = "customer"
        "#;
        let profile: TerminalProfile = toml::from_str(text).unwrap();
        assert_eq!(profile.encoding, WireEncoding::Latin1);
        assert_eq!(profile.abort, AbortPlacement::SameConnection);
        assert_eq!(profile.timers.idle, Duration::from_secs(45));
        assert_eq!(profile.timers.connect, Duration::from_secs(3));
        assert_eq!(profile.timers.hard_cap, Duration::from_secs(300));
        assert_eq!(profile.receipts.len(), 1);
        profile.validate().unwrap();
    }

    #[test]
    fn bad_timers_are_refused() {
        let mut p = TerminalProfile::default();
        p.timers.idle = Duration::from_secs(400);
        assert!(matches!(
            p.validate(),
            Err(ProfileError::IdleAboveCap { .. })
        ));
        p.timers.idle = Duration::ZERO;
        assert_eq!(p.validate(), Err(ProfileError::ZeroTimer("idle")));
        assert!(toml::from_str::<TerminalProfile>("[timers]\nidle = \"5 hours\"").is_err());
    }

    #[test]
    fn reversal_types_default_to_ifsf_and_can_be_overridden() {
        let p = TerminalProfile::default();
        assert_eq!(
            p.reversals.for_kind(ReversedKind::Payment),
            "PaymentReversal"
        );
        assert_eq!(
            p.reversals.for_kind(ReversedKind::Completion),
            "PaymentReversal"
        );
        assert_eq!(
            p.reversals.for_kind(ReversedKind::PreAuthorisation),
            "PreAuthReversal"
        );
        assert_eq!(p.reversals.for_kind(ReversedKind::Refund), "RefundReversal");
        let p: TerminalProfile =
            toml::from_str("[reversals]\npre_authorisation = \"PaymentReversal\"").unwrap();
        assert_eq!(
            p.reversals.for_kind(ReversedKind::PreAuthorisation),
            "PaymentReversal"
        );
        assert_eq!(p.reversals.for_kind(ReversedKind::Refund), "RefundReversal");
        p.validate().unwrap();
        let bad: TerminalProfile =
            toml::from_str("[reversals]\nrefund = \"Refund Reversal\"").unwrap();
        assert!(matches!(
            bad.validate(),
            Err(ProfileError::BadRequestType(_))
        ));
    }
}
