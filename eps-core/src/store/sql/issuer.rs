//! The built-in issuer's key fingerprint: one row, recorded by the first node to start.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::SqlStore;
use crate::error::Result;
use crate::issuer::KeyFingerprint;
use crate::store::IssuerKeyStore;
use crate::store::codec::{corrupt, millis};
use crate::store::engine::{Engine, Session, Statement};

const SELECT: &str = "SELECT fingerprint FROM issuer_key WHERE singleton = 1";

#[async_trait]
impl<E: Engine> IssuerKeyStore for SqlStore<E> {
    async fn issuer_key(&self) -> Result<Option<KeyFingerprint>> {
        let row: Option<(String,)> = self.engine().fetch_optional(Statement::new(SELECT)).await?;
        row.map(|(recorded,)| decode(&recorded)).transpose()
    }

    async fn adopt_issuer_key(
        &self,
        key: &KeyFingerprint,
        at: OffsetDateTime,
    ) -> Result<Option<KeyFingerprint>> {
        // Of nodes starting together one inserts; the others wait for its commit, then read it.
        let inserted = self
            .engine()
            .execute(
                Statement::new(
                    "INSERT INTO issuer_key (singleton, fingerprint, recorded_at) \
                     VALUES (1, $1, $2) ON CONFLICT (singleton) DO NOTHING",
                )
                .text(key.as_str())
                .int(millis(at)?),
            )
            .await?;
        if inserted == 1 {
            return Ok(None);
        }
        self.issuer_key().await
    }

    async fn replace_issuer_key(
        &self,
        key: &KeyFingerprint,
        at: OffsetDateTime,
    ) -> Result<Option<KeyFingerprint>> {
        let mut tx = self.engine().begin().await?;
        let row: Option<(String,)> = tx
            .fetch_optional(Statement::new(SELECT).push(E::LOCK_ROW))
            .await?;
        tx.execute(
            Statement::new(
                "INSERT INTO issuer_key (singleton, fingerprint, recorded_at) VALUES (1, $1, $2) \
                 ON CONFLICT (singleton) DO UPDATE SET fingerprint = excluded.fingerprint, \
                 recorded_at = excluded.recorded_at",
            )
            .text(key.as_str())
            .int(millis(at)?),
        )
        .await?;
        tx.commit().await?;
        row.map(|(recorded,)| decode(&recorded)).transpose()
    }
}

fn decode(recorded: &str) -> Result<KeyFingerprint> {
    KeyFingerprint::parse(recorded).map_err(|e| corrupt("issuer_key.fingerprint", e))
}
