//! `Keyed<T>`: the JSON body of a state-changing request with its idempotency key — the
//! `Idempotency-Key` header, or the POS's own transaction reference in the body
//! (`posTransactionID`, on the routes that start card transactions and reconciliations) — and
//! the request's fingerprint (method, path, body) to tell a retry from another request.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use eps_core::idempotency::{IdempotencyRequest, KeySource};
use eps_core::ids::{IdError, IdempotencyKey};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::extract::json::{BODY_LIMIT, rejection_to_error};

/// The header naming a request's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The body field that carries the POS's own transaction reference.
pub const POS_TRANSACTION_ID_FIELD: &str = "posTransactionID";

/// A request body that may carry the POS's own transaction reference (`posTransactionID`),
/// which then is the request's idempotency key.
pub trait PosReference {
    /// The `posTransactionID`, when the body has one; bodies without the field have none.
    fn pos_transaction_id(&self) -> Option<&str> {
        None
    }
}

/// A JSON body (an empty body reads as `{}`) and the request's idempotency key, when sent.
#[derive(Debug, Clone)]
pub struct Keyed<T> {
    /// The body.
    pub body: T,
    /// The key with the request's fingerprint.
    pub idempotency: Option<IdempotencyRequest>,
}

impl<T: DeserializeOwned + PosReference, S: Send + Sync> FromRequest<S> for Keyed<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let header_key = key(request.headers())?;
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let json_type = is_json(request.headers());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(BODY_LIMIT)
                } else {
                    ApiError::BadRequest(format!(
                        "unreadable request body: {}",
                        rejection.body_text()
                    ))
                }
            })?;
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        if !blank && !json_type {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON with Content-Type: application/json".to_owned(),
            ));
        }
        let text: &[u8] = if blank { b"{}" } else { &bytes };
        let Json(body) = Json::<T>::from_bytes(text).map_err(rejection_to_error)?;
        let idempotency = match request_key(header_key, body.pos_transaction_id())? {
            None => None,
            Some((key, source)) => {
                // Canonical JSON (keys sorted, no spaces), so formatting alone is no new request.
                let value: serde_json::Value = serde_json::from_slice(text)
                    .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
                let canonical = serde_json::to_vec(&value).unwrap_or_default();
                Some(IdempotencyRequest {
                    key,
                    fingerprint: eps_core::idempotency::fingerprint(&method, &path, &canonical),
                    source,
                })
            }
        };
        Ok(Self { body, idempotency })
    }
}

/// The request's key: the header's, or the body's `posTransactionID`; both may be sent only
/// with the same value.
fn request_key(
    header: Option<IdempotencyKey>,
    field: Option<&str>,
) -> Result<Option<(IdempotencyKey, KeySource)>, ApiError> {
    let field = field
        .map(|value| {
            IdempotencyKey::parse(value).map_err(|_| {
                ApiError::field(
                    POS_TRANSACTION_ID_FIELD,
                    "must be 1..255 characters without control characters",
                )
            })
        })
        .transpose()?;
    Ok(match (header, field) {
        (Some(header), Some(field)) if header != field => {
            return Err(ApiError::BadRequest(format!(
                "Idempotency-Key and {POS_TRANSACTION_ID_FIELD}: both are the request's \
                 idempotency key and they differ; send one of them, or the same value in both"
            )));
        }
        (Some(header), _) => Some((header, KeySource::Header)),
        (None, Some(field)) => Some((field, KeySource::PosTransactionId)),
        (None, None) => None,
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The `Idempotency-Key` header: 1..255 visible characters, optionally as a quoted string.
pub fn key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::field("Idempotency-Key", "must be sent once"));
    }
    let text = value
        .to_str()
        .map_err(|_| ApiError::field("Idempotency-Key", "must be visible ASCII"))?;
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    IdempotencyKey::parse(text).map(Some).map_err(|e| match e {
        IdError::Empty | IdError::TooLong { .. } => {
            ApiError::field("Idempotency-Key", "must be 1..255 characters")
        }
        other => ApiError::field("Idempotency-Key", other),
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    impl PosReference for serde_json::Value {
        fn pos_transaction_id(&self) -> Option<&str> {
            self.get(POS_TRANSACTION_ID_FIELD)
                .and_then(serde_json::Value::as_str)
        }
    }

    async fn keyed(
        body: &'static str,
        key: Option<&str>,
    ) -> Result<Keyed<serde_json::Value>, ApiError> {
        let mut request = Request::builder()
            .method("POST")
            .uri("/payments?x=1")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        Keyed::from_request(request.body(Body::from(body)).unwrap(), &()).await
    }

    #[tokio::test]
    async fn formatting_does_not_change_the_fingerprint_but_content_does() {
        let a = keyed(r#"{"a": 1, "b": "x"}"#, Some("k")).await.unwrap();
        let b = keyed(r#"{"b":"x","a":1}"#, Some("\"k\"")).await.unwrap();
        let c = keyed(r#"{"b":"y","a":1}"#, Some("k")).await.unwrap();
        let (a, b, c) = (
            a.idempotency.unwrap(),
            b.idempotency.unwrap(),
            c.idempotency.unwrap(),
        );
        assert_eq!(a, b);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert!(keyed("{}", None).await.unwrap().idempotency.is_none());
    }

    #[tokio::test]
    async fn empty_bodies_read_as_an_empty_object_and_bad_keys_are_refused() {
        assert_eq!(keyed("", None).await.unwrap().body, serde_json::json!({}));
        assert!(keyed("{}", Some("")).await.is_err());
        let long = "k".repeat(256);
        let err = keyed("{}", Some(long.as_str())).await.unwrap_err();
        assert!(err.to_string().contains("Idempotency-Key"), "{err}");
        assert!(
            keyed("{", None)
                .await
                .unwrap_err()
                .to_string()
                .contains("malformed JSON")
        );
    }

    #[tokio::test]
    async fn the_pos_transaction_id_is_the_key_unless_it_contradicts_the_header() {
        let body = r#"{"posTransactionID": "4711", "amount": 1}"#;
        let by_field = keyed(body, None).await.unwrap().idempotency.unwrap();
        assert_eq!(by_field.key.as_str(), "4711");
        assert_eq!(by_field.source, KeySource::PosTransactionId);
        let both = keyed(body, Some("4711"))
            .await
            .unwrap()
            .idempotency
            .unwrap();
        assert_eq!(both.source, KeySource::Header);
        assert_eq!(both.fingerprint, by_field.fingerprint);
        let err = keyed(body, Some("4712")).await.unwrap_err().to_string();
        assert!(
            err.contains("Idempotency-Key") && err.contains("posTransactionID"),
            "{err}"
        );
        let empty = keyed(r#"{"posTransactionID": ""}"#, None)
            .await
            .unwrap_err();
        assert!(empty.to_string().contains("posTransactionID"), "{empty}");
        // Without either, a body alone is never a key.
        assert!(
            keyed(r#"{"amount": 1}"#, None)
                .await
                .unwrap()
                .idempotency
                .is_none()
        );
    }
}
