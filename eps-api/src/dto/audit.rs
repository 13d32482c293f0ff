//! The audit log as operators read it (`GET /admin/audit`).

use eps_core::audit::{AuditAction, AuditEntry, AuditQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::admin_search::optional;
use crate::dto::status::{StatusReturn, format_timestamp};
use crate::dto::timestamp;
use crate::dto::transaction_request::{DEFAULT_PAGE, MAX_PAGE};
use crate::error::{ApiError, ApiResult};

/// The filters and page of `GET /admin/audit`, as sent.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// Only entries of this actor (an OAuth2 client id, or `cli:` and a user name).
    pub actor: Option<String>,
    /// Only this action (`resolveTransaction`, `forceDisconnect`, `terminalLogin`,
    /// `terminalLogoff`, `terminalDiagnosis`, `clientAdd`, `clientGrant`, `clientRevoke`,
    /// `clientRemove`, `signingKeyAdopt`).
    pub action: Option<String>,
    /// Only entries about this target (a transaction, connection, terminal or client id, or a
    /// signing key's fingerprint).
    pub target: Option<String>,
    /// At or after this date-time (UTC).
    pub from: Option<String>,
    /// Before this date-time.
    pub to: Option<String>,
    /// Page size, 1..100 (default 20).
    pub limit: Option<String>,
    /// Only entries older than this `seq` (the cursor of the `next` link).
    pub before: Option<String>,
}

impl AuditListQuery {
    /// Checks every filter, naming the one that is wrong; asks one entry more than the page.
    pub fn check(&self) -> ApiResult<(AuditQuery, u32)> {
        let action = optional(&self.action, |v| {
            AuditAction::parse(v)
                .ok_or_else(|| ApiError::field("action", format!("{v:?} is not an audited action")))
        })?;
        let time = |field: &str, value: &Option<String>| {
            optional(value, |v| {
                timestamp::parse(v).map_err(|e| ApiError::field(field, e))
            })
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| ApiError::field("limit", "must be 1..100"))?,
        };
        let before = optional(&self.before, |v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::field("before", "must be a seq (a positive integer)"))
        })?;
        let text = |field: &str, value: &Option<String>| {
            optional(value, |v| {
                if (1..=256).contains(&v.chars().count()) {
                    Ok(v.to_owned())
                } else {
                    Err(ApiError::field(field, "must be 1..256 characters"))
                }
            })
        };
        let query = AuditQuery {
            actor: text("actor", &self.actor)?,
            action,
            target: text("target", &self.target)?,
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            before,
            limit: limit + 1,
        };
        Ok((query, limit))
    }

    /// The link of the page after `before`, with the same filters.
    pub fn next_link(&self, limit: u32, before: i64) -> String {
        let mut pairs = vec![("limit", limit.to_string())];
        for (name, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = value {
                pairs.push((name, value.clone()));
            }
        }
        pairs.push(("before", before.to_string()));
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                format!(
                    "{name}={}",
                    percent_encoding::utf8_percent_encode(
                        value,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                )
            })
            .collect();
        format!("/admin/audit?{}", query.join("&"))
    }
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryBody {
    /// Its position in the log (increasing).
    pub seq: i64,
    /// When (UTC).
    #[schema(format = DateTime)]
    pub at: String,
    /// Who: an OAuth2 client id, or `cli:` and the user who ran `eps client`.
    pub actor: String,
    /// What was done.
    #[schema(example = "resolveTransaction")]
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Why, as the operator wrote it.
    pub reason: Option<String>,
    /// `success` or `failure`.
    pub result: String,
    /// The result in words.
    pub detail: String,
}

impl From<&AuditEntry> for AuditEntryBody {
    fn from(entry: &AuditEntry) -> Self {
        let e = &entry.entry;
        Self {
            seq: entry.seq,
            at: format_timestamp(e.at),
            actor: e.actor.clone(),
            action: e.action.as_str().to_owned(),
            target: e.target.clone(),
            reason: e.reason.as_ref().map(ToString::to_string),
            result: e.outcome.as_str().to_owned(),
            detail: e.detail.to_string(),
        }
    }
}

/// `GET /admin/audit`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The page, newest first.
    pub entries: Vec<AuditEntryBody>,
    /// The next page, while there may be one.
    pub next: Option<String>,
}
