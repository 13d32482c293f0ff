//! Terminals as operators see them (`/admin/terminals`) and the answers of their Login, Logoff
//! and Diagnosis.

use eps_core::payments::TerminalView;
use eps_core::terminal::{TerminalResult, TerminalService};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::{StatusReturn, format_timestamp};
use crate::dto::transaction::TransactionBody;

/// The link to a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkBody {
    /// `up` (the last request reached the terminal), `down` (the last attempt failed) or
    /// `unknown` (not tried yet).
    #[schema(example = "up")]
    pub state: String,
    /// Since when (UTC), once tried.
    #[schema(format = DateTime)]
    pub since: Option<String>,
    /// The last failure talking to the terminal (card numbers masked).
    pub last_error: Option<String>,
}

/// The last Diagnosis a terminal answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosisBody {
    /// The terminal's `OverallResult` (`Success`, `Failure`, `LoggedOut`, …).
    pub result: String,
    /// When it answered (UTC).
    #[schema(format = DateTime)]
    pub at: String,
}

/// One terminal's live status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTerminal {
    /// The configured terminal id.
    #[serde(rename = "terminalID")]
    pub terminal_id: String,
    /// The site of the POI it serves.
    #[serde(rename = "merchantID")]
    pub merchant_id: String,
    /// The POI it serves.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// That POI's logical id.
    #[serde(rename = "logicalID")]
    pub logical_id: String,
    /// `online`, `busy`, `loggedOut`, `offline` or `unknown` (as in `poiStatusEvent`).
    #[schema(example = "online")]
    pub status: String,
    /// The link to it.
    pub link: LinkBody,
    /// `"yes"` when its session is open.
    #[schema(example = "yes")]
    pub logged_in: String,
    /// The transaction running on it now.
    pub running_transaction: Option<TransactionBody>,
    /// Its transaction whose outcome is unknown: it takes no new card request until that one
    /// is resolved.
    pub unknown_transaction: Option<TransactionBody>,
    /// The last Diagnosis it answered.
    pub last_diagnosis: Option<DiagnosisBody>,
    /// The node driving it (`local`: this one).
    #[schema(example = "local")]
    pub owner: String,
}

impl From<&TerminalView> for AdminTerminal {
    fn from(view: &TerminalView) -> Self {
        let health = &view.health;
        Self {
            terminal_id: view.poi.terminal_id.to_string(),
            merchant_id: view.poi.merchant_id.to_string(),
            poi_id: view.poi.poi_id.to_string(),
            logical_id: view.poi.logical_id.clone(),
            status: view.status.as_str().to_owned(),
            link: LinkBody {
                state: health.link.as_str().to_owned(),
                since: health.link_since.map(format_timestamp),
                last_error: health.last_error.as_ref().map(ToString::to_string),
            },
            logged_in: yes_no(health.logged_in),
            running_transaction: view.running.as_ref().map(Into::into),
            unknown_transaction: view.unknown.as_ref().map(Into::into),
            last_diagnosis: health.last_diagnosis.as_ref().map(|d| DiagnosisBody {
                result: result_name(&d.result),
                at: format_timestamp(d.at),
            }),
            owner: super::admin_node::LOCAL_NODE.to_owned(),
        }
    }
}

/// `GET /admin/terminals`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTerminalList {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// Every terminal, in the order of the configured sites and POIs.
    pub terminals: Vec<AdminTerminal>,
}

/// `GET /admin/terminals/{terminalID}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTerminalResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The terminal.
    pub terminal: AdminTerminal,
}

/// The answer to an operator's Login, Logoff or Diagnosis.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalServiceResponse {
    /// The status block (`success` once the terminal answered, whatever it answered).
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// `login`, `logoff` or `diagnosis`.
    pub request: String,
    /// The terminal's `OverallResult` (`Success`, `Failure`, `LoggedOut`, …).
    #[schema(example = "Success")]
    pub result: String,
    /// The terminal after the request.
    pub terminal: AdminTerminal,
}

impl TerminalServiceResponse {
    /// The answer to `service`.
    pub fn new(
        status_return: StatusReturn,
        service: TerminalService,
        result: &TerminalResult,
        terminal: AdminTerminal,
    ) -> Self {
        Self {
            status_return,
            request: service.as_str().to_owned(),
            result: result_name(result),
            terminal,
        }
    }
}

/// A terminal result as OPI names it.
pub fn result_name(result: &TerminalResult) -> String {
    match result {
        TerminalResult::Aborted => "Aborted".to_owned(),
        TerminalResult::Busy => "Busy".to_owned(),
        TerminalResult::DeviceUnavailable => "DeviceUnavailable".to_owned(),
        TerminalResult::Failure => "Failure".to_owned(),
        TerminalResult::LoggedOut => "LoggedOut".to_owned(),
        TerminalResult::PrintLastTicket => "PrintLastTicket".to_owned(),
        TerminalResult::Success => "Success".to_owned(),
        TerminalResult::TimedOut => "TimedOut".to_owned(),
        TerminalResult::Other(other) => other.clone(),
    }
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}
