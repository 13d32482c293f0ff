//! The simulator's settings (command-line flags and TOML, same names).

use std::time::Duration;

use eps_core::money::Currency;
use serde::{Deserialize, Serialize};

use super::Scenario;
use crate::profile::WireEncoding;

/// How the simulator opens channel-1 connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallbackMode {
    /// One connection per request, carrying all its DeviceRequests in turn; when the POS has
    /// closed it after an answer, the next DeviceRequest goes on a fresh one.
    Shared,
    /// A fresh connection per DeviceRequest, closed after its answer: the protocol's rule, "a
    /// connection lives only as long as one Request / Response pair" (research notes §2, S4).
    #[default]
    PerRequest,
}

/// How the simulator marks receipt copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiptStyle {
    /// `Printer` with `TicketType="CustomerReceipt"` / `"MerchantReceipt"` (Swiss ep2).
    #[default]
    TicketType,
    /// `PrinterReceipt` for the customer, `Printer` for the merchant (German OPI, S1).
    Targets,
}

/// How callbacks name the request they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallbackIds {
    /// The request's own RequestID with a `SequenceID` attribute (Thales, S1).
    #[default]
    SequenceId,
    /// A dotted sub-id `RequestID.n` (Oracle EFTLink, CCV).
    Dotted,
}

/// The simulator's behaviour and identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SimConfig {
    /// The POS's channel-1 callback address, `host:port`.
    pub callback: String,
    /// The `TerminalID` the simulator reports.
    pub terminal_id: String,
    /// The `Merchant` on approvals and receipts.
    pub merchant: String,
    /// The currency of amounts sent without one, and of the totals.
    pub currency: Currency,
    /// What a request does when no script and no magic amount says otherwise.
    pub default_scenario: Scenario,
    /// Whether the last two digits of an amount select a scenario.
    pub magic_amounts: bool,
    /// Whether requests other than Login/Logoff/AbortRequest need a Login first.
    pub require_login: bool,
    /// Whether a display prompt is sent before and after the card step.
    pub display: bool,
    /// Whether the POS is told when a card is presented (a DeviceRequest `Event` with
    /// `EventType="CardInserted"`, for payments, pre-authorisations and refunds). Off by
    /// default: no public OPI source shows a terminal sending it.
    pub card_events: bool,
    /// Processing time before the first callback (and before answering service requests).
    #[serde(with = "crate::profile::duration")]
    pub latency: Duration,
    /// How long each DeviceRequest waits for its answer (a missing receipt answer makes the
    /// result `PrintLastTicket`).
    #[serde(with = "crate::profile::duration")]
    pub callback_timeout: Duration,
    /// The `TimeOut` of the confirmation Input; no answer by then means "no".
    #[serde(with = "crate::profile::duration")]
    pub input_timeout: Duration,
    /// How long `wait-for-abort` waits for a card before aborting by itself.
    #[serde(with = "crate::profile::duration")]
    pub self_abort_after: Duration,
    /// Channel-1 connection use.
    pub callbacks: CallbackMode,
    /// Receipt copy marking.
    pub receipts: ReceiptStyle,
    /// Callback RequestID style.
    pub callback_ids: CallbackIds,
    /// The encoding of every frame (the `latin1` scenario overrides it per request).
    pub encoding: WireEncoding,
    /// Text shown on the cashier display instead of "Karte bitte" (e.g. to see what the POS
    /// keeps of a terminal text carrying a card number).
    pub display_text: Option<String>,
    /// The `ErrorText` of declines instead of "Abgelehnt".
    pub error_text: Option<String>,
    /// Whether Login answers are held back until `SimServer::release_logins` (a terminal slow
    /// over its Login; the POS waits).
    pub hold_logins: bool,
    /// Send whole, Luhn-valid card numbers (in `Authorisation@CardPAN`, receipt lines and error
    /// texts), as some terminals do, instead of masked ones.
    pub full_pan: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            callback: "127.0.0.1:4102".to_owned(),
            terminal_id: "68276185".to_owned(),
            merchant: "SIM-MERCHANT-01".to_owned(),
            currency: Currency::EUR,
            default_scenario: Scenario::Approve,
            magic_amounts: true,
            require_login: true,
            display: true,
            card_events: false,
            latency: Duration::ZERO,
            callback_timeout: Duration::from_secs(10),
            input_timeout: Duration::from_secs(30),
            self_abort_after: Duration::from_secs(60),
            callbacks: CallbackMode::PerRequest,
            receipts: ReceiptStyle::TicketType,
            callback_ids: CallbackIds::SequenceId,
            encoding: WireEncoding::Utf8,
            display_text: None,
            error_text: None,
            hold_logins: false,
            full_pan: false,
        }
    }
}

impl SimConfig {
    /// The defaults, calling back to `callback`.
    pub fn calling_back_to(callback: impl Into<String>) -> Self {
        Self {
            callback: callback.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_defaults() {
        let config: SimConfig = toml::from_str(
            r#"
            callback = "10.0.0.2:20007"
            latency = "250ms"
            default-scenario = "decline"
            callbacks = "per-request"
            full-pan = true
            "#,
        )
        .unwrap();
        assert!(config.full_pan);
        assert!(!SimConfig::default().full_pan);
        assert_eq!(config.latency, Duration::from_millis(250));
        assert_eq!(config.default_scenario, Scenario::Decline);
        assert_eq!(config.callbacks, CallbackMode::PerRequest);
        assert!(config.magic_amounts);
        let again: SimConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }
}
