//! The audit log: every operator action and client change, who did it, when, why and how it
//! ended. Entries are only ever appended; free text is masked like every other record.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::clock::{SharedClock, to_millis_precision};
use crate::error::Result;
use crate::redact::MaskedText;
use crate::store::AuditStore;

/// What an operator (or the client CLI) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// Registered an OAuth2 client (`eps client add`).
    ClientAdd,
    /// Granted a client sites (`eps client grant`).
    ClientGrant,
    /// Removed a client (`eps client remove`).
    ClientRemove,
    /// Revoked sites from a client (`eps client revoke`).
    ClientRevoke,
    /// Closed a site system's connection.
    ForceDisconnect,
    /// Resolved a transaction of unknown outcome.
    ResolveTransaction,
    /// Asked a terminal for a Diagnosis.
    TerminalDiagnosis,
    /// Logged a terminal in.
    TerminalLogin,
    /// Logged a terminal off.
    TerminalLogoff,
    /// Recorded a new token signing key for every node (`eps signing-key adopt`).
    SigningKeyAdopt,
}

impl AuditAction {
    /// Every action, for parsing and documentation.
    pub const ALL: [Self; 10] = [
        Self::ClientAdd,
        Self::ClientGrant,
        Self::ClientRemove,
        Self::ClientRevoke,
        Self::ForceDisconnect,
        Self::ResolveTransaction,
        Self::TerminalDiagnosis,
        Self::TerminalLogin,
        Self::TerminalLogoff,
        Self::SigningKeyAdopt,
    ];

    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientAdd => "clientAdd",
            Self::ClientGrant => "clientGrant",
            Self::ClientRemove => "clientRemove",
            Self::ClientRevoke => "clientRevoke",
            Self::ForceDisconnect => "forceDisconnect",
            Self::ResolveTransaction => "resolveTransaction",
            Self::TerminalDiagnosis => "terminalDiagnosis",
            Self::TerminalLogin => "terminalLogin",
            Self::TerminalLogoff => "terminalLogoff",
            Self::SigningKeyAdopt => "signingKeyAdopt",
        }
    }

    /// Parses a name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// It was refused or failed; nothing changed.
    Failure,
    /// It did what was asked.
    Success,
}

impl AuditOutcome {
    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Failure => "failure",
            Self::Success => "success",
        }
    }

    /// Parses a name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Failure, Self::Success]
            .into_iter()
            .find(|o| o.as_str() == value)
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When it happened.
    pub at: OffsetDateTime,
    /// Who did it: an OAuth2 client id, or `cli:` and the operating-system user.
    pub actor: String,
    /// What was done.
    pub action: AuditAction,
    /// What it was done to (a transaction, connection, terminal or client id).
    pub target: String,
    /// Why, as the operator wrote it.
    pub reason: Option<MaskedText>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The result in words (the new state, the terminal's answer, the error).
    pub detail: MaskedText,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position in the log, increasing.
    pub seq: i64,
    /// The entry.
    pub entry: NewAuditEntry,
}

/// Filter and page for reading the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this target.
    pub target: Option<String>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
    /// Page cursor: only entries older than this `seq`.
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// Appends to and reads the audit log.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    clock: SharedClock,
}

impl AuditLog {
    /// The log over `store`, stamped by `clock`.
    pub fn new(store: Arc<dyn AuditStore>, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// Appends what `actor` did to `target` and how it ended; durable when this returns.
    pub async fn record(
        &self,
        actor: &str,
        action: AuditAction,
        target: &str,
        reason: Option<&str>,
        outcome: AuditOutcome,
        detail: &str,
    ) -> Result<AuditEntry> {
        let entry = NewAuditEntry {
            at: to_millis_precision(self.clock.now()),
            actor: actor.to_owned(),
            action,
            target: target.to_owned(),
            reason: reason.map(MaskedText::new),
            outcome,
            detail: MaskedText::new(detail),
        };
        self.store.append_audit(&entry).await
    }

    /// A page of entries, newest first.
    pub async fn entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.store.audit_entries(query).await
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("dropTables"), None);
        assert_eq!(AuditOutcome::parse("success"), Some(AuditOutcome::Success));
        assert_eq!(AuditOutcome::parse("maybe"), None);
    }
}
