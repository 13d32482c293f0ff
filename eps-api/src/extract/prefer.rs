//! `Prefer: wait=N` (RFC 7240): a client that would rather block for the outcome than poll.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// Longest `wait` honoured, in seconds.
pub const MAX_WAIT_SECS: u64 = 120;

/// The preferences of a request that this API honours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefer {
    /// `wait=N`: seconds the client will wait for the outcome (1..=120).
    pub wait: Option<u64>,
}

impl Prefer {
    /// The `Preference-Applied` value once the wait was honoured.
    pub fn applied(&self) -> Option<String> {
        self.wait.map(|secs| format!("wait={secs}"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Prefer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut prefer = Self::default();
        for value in parts.headers.get_all("prefer") {
            let text = value
                .to_str()
                .map_err(|_| ApiError::field("Prefer", "must be visible ASCII"))?;
            for preference in text.split(',') {
                // `token [= value] *(; parameter)`: only the first part matters here.
                let head = preference.split(';').next().unwrap_or_default().trim();
                let (name, value) = head.split_once('=').unwrap_or((head, ""));
                if !name.trim().eq_ignore_ascii_case("wait") || prefer.wait.is_some() {
                    continue; // preferences we do not know are ignored, as RFC 7240 says
                }
                let value = value.trim().trim_matches('"');
                let secs = value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| (1..=MAX_WAIT_SECS).contains(s))
                    .ok_or_else(|| {
                        ApiError::field("Prefer", "wait must be a whole number of seconds, 1..120")
                    })?;
                prefer.wait = Some(secs);
            }
        }
        Ok(prefer)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    async fn prefer(values: &[&str]) -> Result<Prefer, ApiError> {
        let mut request = Request::builder();
        for value in values {
            request = request.header("prefer", *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        Prefer::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn reads_wait_among_other_preferences() {
        assert_eq!(prefer(&[]).await.unwrap().wait, None);
        assert_eq!(prefer(&["wait=30"]).await.unwrap().wait, Some(30));
        assert_eq!(
            prefer(&["respond-async, WAIT=5"]).await.unwrap().wait,
            Some(5)
        );
        assert_eq!(
            prefer(&["handling=lenient", "wait=120;x=1"])
                .await
                .unwrap()
                .wait,
            Some(120)
        );
        assert_eq!(
            prefer(&["wait=7"]).await.unwrap().applied().as_deref(),
            Some("wait=7")
        );
    }

    #[tokio::test]
    async fn refuses_waits_outside_1_to_120() {
        for bad in [
            "wait=0", "wait=121", "wait=-1", "wait=ten", "wait", "wait=1.5",
        ] {
            let err = prefer(&[bad]).await.unwrap_err();
            assert!(err.to_string().starts_with("Prefer:"), "{bad}: {err}");
        }
    }
}
