//! The audit log.

use async_trait::async_trait;

use super::SqlStore;
use crate::audit::{AuditAction, AuditEntry, AuditOutcome, AuditQuery, NewAuditEntry};
use crate::error::{Error, Result};
use crate::store::AuditStore;
use crate::store::codec::{instant, millis, named};
use crate::store::engine::{Engine, Statement, Value};

/// A stored entry as plain columns.
#[derive(Debug, Clone, sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    target: String,
    reason: Option<String>,
    outcome: String,
    detail: String,
}

impl AuditRow {
    fn decode(self) -> Result<AuditEntry> {
        let action = named("audit_log.action", &self.action, AuditAction::parse)?;
        let outcome = named("audit_log.outcome", &self.outcome, AuditOutcome::parse)?;
        Ok(AuditEntry {
            seq: self.seq,
            entry: NewAuditEntry {
                at: instant("audit_log.at", self.at)?,
                actor: self.actor,
                action,
                target: self.target,
                reason: self.reason.map(Into::into),
                outcome,
                detail: self.detail.into(),
            },
        })
    }
}

const COLUMNS: &str = "seq, at, actor, action, target, reason, outcome, detail";

#[async_trait]
impl<E: Engine> AuditStore for SqlStore<E> {
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        let statement = Statement::new(
            "INSERT INTO audit_log (at, actor, action, target, reason, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        )
        .int(millis(entry.at)?)
        .text(entry.actor.as_str())
        .text(entry.action.as_str())
        .text(entry.target.as_str())
        .opt_text(entry.reason.as_ref().map(|r| r.as_str().to_owned()))
        .text(entry.outcome.as_str())
        .text(entry.detail.as_str());
        let (seq,): (i64,) = self
            .engine()
            .fetch_optional(statement)
            .await?
            .ok_or_else(|| Error::Storage("audit insert returned no row".into()))?;
        Ok(AuditEntry {
            seq,
            entry: entry.clone(),
        })
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut statement = Statement::new("SELECT ")
            .push_assembled(COLUMNS)
            .push(" FROM audit_log WHERE 1 = 1");
        if let Some(actor) = &query.actor {
            statement = statement.clause(" AND actor = $?", text(actor));
        }
        if let Some(action) = query.action {
            statement = statement.clause(" AND action = $?", text(action.as_str()));
        }
        if let Some(target) = &query.target {
            statement = statement.clause(" AND target = $?", text(target));
        }
        if let Some(from) = query.from {
            statement = statement.clause(" AND at >= $?", Value::Int(Some(millis(from)?)));
        }
        if let Some(to) = query.to {
            statement = statement.clause(" AND at < $?", Value::Int(Some(millis(to)?)));
        }
        if let Some(before) = query.before {
            statement = statement.clause(" AND seq < $?", Value::Int(Some(before)));
        }
        let statement = statement
            .push(" ORDER BY seq DESC")
            .clause(" LIMIT $?", Value::Int(Some(i64::from(query.limit))));
        self.engine()
            .fetch_all::<AuditRow>(statement)
            .await?
            .into_iter()
            .map(AuditRow::decode)
            .collect()
    }
}

fn text(value: &str) -> Value {
    Value::Text(Some(value.to_owned()))
}
