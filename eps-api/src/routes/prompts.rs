//! `GET /prompts/{promptID}` and `POST /prompts/{promptID}/response`: what a terminal shows or
//! asks while it works, and the site system's answer.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use eps_core::ids::PromptId;
use eps_core::prompt::AnswerSecrecy;
use utoipa::OpenApi;

use crate::auth::{Read, Write};
use crate::dto::prompt::{PromptAnswerBody, PromptResponse};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Keyed, Session};
use crate::idempotency;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prompts/{promptID}", get(show_prompt))
        .route("/prompts/{promptID}/response", post(answer_prompt))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(show_prompt, answer_prompt))]
pub struct Doc;

/// Show a prompt.
///
/// A prompt of the caller's site, as `promptAvailableEvent` names it: display text, or a
/// question (`type: input`) the terminal waits on until `expiresAt`, when it gets the
/// configured default answer.
#[utoipa::path(
    get,
    path = "/prompts/{promptID}",
    tag = "payments",
    operation_id = "showPrompt",
    params(
        ("promptID" = String, Path, description = "The prompt id"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
    ),
    responses(
        (status = 200, description = "The prompt", body = PromptResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_NOT_FOUND` (no such prompt of the caller's site)", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn show_prompt(
    session: Session<Read>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<PromptResponse>> {
    let prompt = state
        .payments
        .prompt(&session.connection.merchant_id, &prompt_id(&id)?)
        .await?;
    Ok(Json(PromptResponse {
        status_return: StatusReturn::success(state.clock.now()),
        prompt: (&prompt).into(),
    }))
}

/// Answer a prompt.
///
/// Answers an open input prompt; the terminal gets the answer at once. Exactly one of
/// `confirmation` (`GetConfirmation`), `number` (`GetAmount`, `GetDecimals`: decimal text),
/// `text`, `anyKey` (`GetAnyKey`), fitting what the prompt asks. A repeat with the same
/// `Idempotency-Key` gets the first answer again. The answer to a `secret` input (a PIN, an
/// entry the terminal hides) goes to the terminal and nowhere else: the prompt shows it
/// `answered` with `answeredBy` and no `answer`; nothing stores or logs its value, and a repeat
/// with the same key gets the first answer whatever it sends.
#[utoipa::path(
    post,
    path = "/prompts/{promptID}/response",
    tag = "payments",
    operation_id = "answerPrompt",
    params(
        ("promptID" = String, Path, description = "The prompt id"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the first answer again; same key, other body: 409"),
    ),
    request_body = PromptAnswerBody,
    responses(
        (status = 200, description = "Answered; the prompt as it now stands", body = PromptResponse),
        (status = 400, description = "`ERRCD_BADREQUEST`: not exactly one answer field", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_NOT_FOUND`", body = ErrorResponse),
        (status = 409, description = "`ERRCD_INVALID_STATE` (a display prompt; no longer open; the answer does not fit the question), `ERRCD_IDEMPOTENCY_MISMATCH`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn answer_prompt(
    session: Session<Write>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    Keyed { body, idempotency }: Keyed<PromptAnswerBody>,
) -> ApiResult<Response> {
    let id = prompt_id(&id)?;
    let answer = body.into_domain()?;
    let merchant = &session.connection.merchant_id;
    let client = &session.caller.client_id;
    // A secret answer (a PIN) is not fingerprinted: its digest would be the PIN to anyone who
    // tries every value. A retry with the same key gets the first answer, whatever it sends.
    let secret = state
        .payments
        .prompt(merchant, &id)
        .await?
        .input
        .is_some_and(|spec| spec.secrecy() == AnswerSecrecy::Secret);
    let idempotency = match idempotency {
        Some(idem) if secret => Some(idem.without_body("POST", &format!("/prompts/{id}/response"))),
        other => other,
    };
    idempotency::once(&state, client, idempotency, async {
        match state
            .payments
            .answer_prompt(merchant, client, &id, answer)
            .await
        {
            Ok(prompt) => {
                tracing::info!(prompt = %id, client = %client, "prompt answered");
                Json(PromptResponse {
                    status_return: StatusReturn::success(state.clock.now()),
                    prompt: (&prompt).into(),
                })
                .into_response()
            }
            Err(err) => ApiError::from(err).into_response(),
        }
    })
    .await
}

/// A path id; anything this EPS cannot have issued is unknown.
fn prompt_id(id: &str) -> ApiResult<PromptId> {
    PromptId::parse(id).map_err(|_| eps_core::Error::NotFound("prompt").into())
}
