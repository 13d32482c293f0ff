//! Idempotency keys on the POSTs that create nothing (abort, prompt answers, resolutions): the
//! first answer is recorded with the key and every retry with the same key and body gets it
//! again, without acting twice. Transactions and reconciliations carry their key into the domain,
//! which finds the resource the first request created. Keys are read and written by the
//! domain's [`eps_core::idempotency::Idempotency`]; this layer only chooses what an answer is.

use std::future::Future;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eps_core::idempotency::{AnswerClaim, IdempotencyRequest};
use eps_core::ids::ClientId;
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
    let keys = state.payments.idempotency();
    // Concurrent retries on this node wait here for the first to record its answer.
    let _guard = keys.lock(client, &idempotency.key).await;
    if let AnswerClaim::Recorded(text) = keys.begin_answer(client, &idempotency).await?
        && let Ok(recorded) = serde_json::from_str::<Recorded>(&text)
    {
        return Ok(replay(recorded));
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
            if let Err(err) = keys.record_answer(client, &idempotency.key, &text).await {
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
