//! `Idempotency-Key` on the POSTs that create nothing (abort, prompt answers, resolutions): the
//! first answer is recorded with the key and every retry with the same key and body gets it
//! again, without acting twice. Transactions and reconciliations carry their key into the domain,
//! which finds the resource the first request created.

use std::future::Future;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eps_core::idempotency::IdempotencyRecord;
use eps_core::ids::ClientId;
use eps_core::payments::IdempotencyRequest;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The header set on an answer replayed for a repeated key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Largest answer recorded.
const MAX_RECORDED: usize = 1 << 20;

/// An answer as recorded with its key.
#[derive(Debug, Serialize, Deserialize)]
struct Recorded {
    status: u16,
    body: serde_json::Value,
}

/// Runs `call` at most once per key of `client`: a retry with the same key and request gets the
/// recorded answer; the same key with another request is refused (409). Answers of server
/// errors are not recorded, so the retry runs again.
pub(crate) async fn once(
    state: &AppState,
    client: &ClientId,
    idempotency: Option<IdempotencyRequest>,
    call: impl Future<Output = Response>,
) -> ApiResult<Response> {
    let Some(idempotency) = idempotency else {
        return Ok(call.await);
    };
    // Concurrent retries on this node wait here for the first to record its answer.
    let _guard = state
        .payments
        .lock_idempotency_key(client, &idempotency.key)
        .await;
    let now = state.clock.now();
    let record = IdempotencyRecord {
        client_id: client.clone(),
        key: idempotency.key.clone(),
        fingerprint: idempotency.fingerprint.clone(),
        resource: None,
        outcome: None,
        created_at: now,
        expires_at: now + state.settings.payments.idempotency_ttl,
    };
    let mut existing = state.store.insert_idempotency(&record).await?;
    if existing.as_ref().is_some_and(|e| e.expires_at <= now) {
        // Kept past its time: forget it (and every other expired key); the request is new.
        state.store.purge_idempotency(now).await?;
        existing = state.store.insert_idempotency(&record).await?;
    }
    if let Some(existing) = existing {
        if existing.fingerprint != idempotency.fingerprint {
            return Err(eps_core::Error::IdempotencyMismatch.into());
        }
        if let Some(recorded) = existing
            .outcome
            .as_deref()
            .and_then(|text| serde_json::from_str::<Recorded>(text).ok())
        {
            return Ok(replay(recorded));
        }
        // The first attempt left no answer (a server error, or the EPS stopped): run it again.
    }
    let response = call.await;
    if response.status().is_server_error() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_RECORDED)
        .await
        .map_err(|e| ApiError::Internal(format!("reading an answer to record: {e}")))?;
    let recorded = Recorded {
        status: parts.status.as_u16(),
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    };
    match serde_json::to_string(&recorded) {
        Ok(text) => {
            if let Err(err) = state
                .store
                .complete_idempotency(client, &idempotency.key, &text)
                .await
            {
                tracing::warn!(%err, "the answer of an idempotent request could not be recorded");
            }
        }
        Err(err) => tracing::warn!(%err, "the answer of an idempotent request is not JSON"),
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(recorded: Recorded) -> Response {
    let status = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(recorded.body)).into_response();
    response.headers_mut().insert(
        REPLAYED_HEADER,
        axum::http::HeaderValue::from_static("true"),
    );
    response
}
