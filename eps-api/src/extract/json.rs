//! `ApiJson<T>`: a JSON body whose every failure is a `statusReturn` error — 415 for another
//! content type, 413 over the body limit, 400 naming what is malformed.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| Self(value))
            .map_err(rejection_to_error)
    }
}

/// The API error for a JSON body that could not be read.
pub(crate) fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    let cause = std::error::Error::source(&rejection)
        .map(ToString::to_string)
        .unwrap_or_else(|| rejection.body_text());
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "the body must be JSON with Content-Type: application/json".to_owned(),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::BadRequest(format!("malformed JSON: {cause}"))
        }
        JsonRejection::JsonDataError(_) => ApiError::BadRequest(format!(
            "invalid request body: {}",
            cause.trim_start_matches(". ").trim_start_matches(": ")
        )),
        JsonRejection::BytesRejection(ref bytes)
            if bytes.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge(BODY_LIMIT)
        }
        other => ApiError::BadRequest(format!("unreadable request body: {}", other.body_text())),
    }
}
