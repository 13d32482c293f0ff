//! Connections and OAuth2 clients.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::SqlStore;
use crate::client::ClientRecord;
use crate::connection::{Beat, ConnectionRecord};
use crate::error::Result;
use crate::ids::{ClientId, ConnectionId, TransmissionId};
use crate::store::codec::{ClientRow, ConnectionRow, millis};
use crate::store::engine::{Engine, Session, Statement};
use crate::store::{ClientStore, ConnectionStore};

macro_rules! connection_columns {
    () => {
        "id, client_id, merchant_id, transmission_id, client_timestamp, vendor, application_name, \
         application_software_version, site_system_ids, created_at, last_heartbeat_at, expires_at"
    };
}

macro_rules! client_columns {
    () => {
        "client_id, name, secret_hash, scopes, sites, created_at"
    };
}

#[async_trait]
impl<E: Engine> ConnectionStore for SqlStore<E> {
    async fn insert_connection(&self, connection: &ConnectionRecord) -> Result<()> {
        let row = ConnectionRow::encode(connection)?;
        let statement = Statement::new(concat!(
            "INSERT INTO connections (",
            connection_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .text(row.id)
        .text(row.client_id)
        .text(row.merchant_id)
        .int(row.transmission_id)
        .text(row.client_timestamp)
        .opt_text(row.vendor)
        .opt_text(row.application_name)
        .opt_text(row.application_software_version)
        .text(row.site_system_ids)
        .int(row.created_at)
        .int(row.last_heartbeat_at)
        .int(row.expires_at);
        self.engine.execute(statement).await?;
        Ok(())
    }

    async fn connection(&self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            connection_columns!(),
            " FROM connections WHERE id = $1"
        ))
        .text(id.to_string());
        self.engine
            .fetch_optional::<ConnectionRow>(statement)
            .await?
            .map(ConnectionRow::decode)
            .transpose()
    }

    async fn connection_by_transmission(
        &self,
        client: &ClientId,
        transmission_id: TransmissionId,
        created_from: OffsetDateTime,
    ) -> Result<Option<ConnectionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            connection_columns!(),
            " FROM connections WHERE client_id = $1 AND transmission_id = $2 AND created_at >= $3",
            " ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .text(client.as_str())
        .int(i64::from(transmission_id.value()))
        .int(millis(created_from)?);
        self.engine
            .fetch_optional::<ConnectionRow>(statement)
            .await?
            .map(ConnectionRow::decode)
            .transpose()
    }

    async fn refresh_connection(
        &self,
        id: &ConnectionId,
        last_heartbeat_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool> {
        let statement = Statement::new(
            "UPDATE connections SET last_heartbeat_at = $2, expires_at = $3 WHERE id = $1",
        )
        .text(id.to_string())
        .int(millis(last_heartbeat_at)?)
        .int(millis(expires_at)?);
        Ok(self.engine.execute(statement).await? > 0)
    }

    async fn refresh_connections(&self, beats: &[Beat]) -> Result<u64> {
        if beats.is_empty() {
            return Ok(0);
        }
        let mut session = self.engine.begin().await?;
        let mut refreshed = 0;
        for beat in beats {
            // Never backwards: a later write (or the start-up grace) may already be further on.
            let statement = Statement::new(
                "UPDATE connections SET last_heartbeat_at = $2, expires_at = $3 \
                 WHERE id = $1 AND expires_at < $3",
            )
            .text(beat.id.to_string())
            .int(millis(beat.at)?)
            .int(millis(beat.expires_at)?);
            refreshed += session.execute(statement).await?;
        }
        session.commit().await?;
        Ok(refreshed)
    }

    async fn extend_live_connections(
        &self,
        live_at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<u64> {
        let statement = Statement::new(
            "UPDATE connections SET expires_at = $2 WHERE expires_at > $1 AND expires_at < $2",
        )
        .int(millis(live_at)?)
        .int(millis(until)?);
        self.engine.execute(statement).await
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<bool> {
        let statement =
            Statement::new("DELETE FROM connections WHERE id = $1").text(id.to_string());
        Ok(self.engine.execute(statement).await? > 0)
    }

    async fn connections(&self) -> Result<Vec<ConnectionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            connection_columns!(),
            " FROM connections ORDER BY created_at, id"
        ));
        self.engine
            .fetch_all::<ConnectionRow>(statement)
            .await?
            .into_iter()
            .map(ConnectionRow::decode)
            .collect()
    }

    async fn purge_connections(&self, expired_before: OffsetDateTime) -> Result<u64> {
        let statement = Statement::new("DELETE FROM connections WHERE expires_at < $1")
            .int(millis(expired_before)?);
        self.engine.execute(statement).await
    }
}

#[async_trait]
impl<E: Engine> ClientStore for SqlStore<E> {
    async fn upsert_client(&self, client: &ClientRecord) -> Result<()> {
        let row = ClientRow::encode(client)?;
        let statement = Statement::new(concat!(
            "INSERT INTO clients (",
            client_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET",
            " name = excluded.name, secret_hash = excluded.secret_hash,",
            " scopes = excluded.scopes, sites = excluded.sites, created_at = excluded.created_at"
        ))
        .text(row.client_id)
        .text(row.name)
        .text(row.secret_hash)
        .text(row.scopes)
        .text(row.sites)
        .int(row.created_at);
        self.engine.execute(statement).await?;
        Ok(())
    }

    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients WHERE client_id = $1"
        ))
        .text(id.as_str());
        self.engine
            .fetch_optional::<ClientRow>(statement)
            .await?
            .map(ClientRow::decode)
            .transpose()
    }

    async fn clients(&self) -> Result<Vec<ClientRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients ORDER BY client_id"
        ));
        self.engine
            .fetch_all::<ClientRow>(statement)
            .await?
            .into_iter()
            .map(ClientRow::decode)
            .collect()
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool> {
        let statement =
            Statement::new("DELETE FROM clients WHERE client_id = $1").text(id.as_str());
        Ok(self.engine.execute(statement).await? > 0)
    }
}
