//! Middleware of the whole router: request IDs, the request span (whose fields every log line
//! of the request carries), the access log, request metrics and the response clock.

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::dto::status::with_response_clock;
use crate::listener::PeerAddr;
use crate::state::AppState;

/// The request ID header, kept from the client when valid, else generated; on every response.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request ID kept from a client.
const REQUEST_ID_MAX: usize = 64;

/// The connection header, shown in the request span when it looks like a connection ID.
const CONNECTION_HEADER: &str = "openretailing-connection-id";

/// Stamps error bodies with the server's clock (see `dto::status`).
pub(crate) async fn response_clock(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    with_response_clock(state.clock.clone(), next.run(request)).await
}

/// Keeps a valid incoming `x-request-id` (1 to 64 of `A-Z a-z 0-9 - _ . : /`) or replaces it
/// with a generated one, so the span and the response carry the same ID.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(&REQUEST_ID) {
        Some(value) if valid_request_id(value.as_bytes()) => value.clone(),
        _ => generated_request_id(),
    };
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// True for an ID safe to echo and log: bounded, and only characters that need no escaping.
fn valid_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= REQUEST_ID_MAX
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

fn generated_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4().simple().to_string();
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("unidentified"))
}

/// The access log (one `info` line per request, target `eps_api::access`) and the request
/// metrics, by method (unknown ones as `other`), route template and status.
pub(crate) async fn observe(request: Request, next: Next) -> Response {
    let route = route_label(&request);
    let method = method_label(request.method());
    let uri = redacted_uri(request.uri());
    let peer = request
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .map(|ConnectInfo(PeerAddr(address))| address.to_string());
    let start = tokio::time::Instant::now();
    let response = next.run(request).await;
    let latency = start.elapsed();
    let status = response.status().as_u16();
    tracing::info!(
        target: "eps_api::access",
        method,
        route = %route,
        uri = %uri,
        status,
        latency_ms = latency_ms(latency),
        peer = peer.as_deref().unwrap_or("-"),
        "request"
    );
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("eps_http_requests_total", &labels).increment(1);
    metrics::histogram!("eps_http_request_duration_seconds", &labels).record(latency.as_secs_f64());
    response
}

/// `latency` in milliseconds to the microsecond: a short number, never a long digit run that
/// the log's card-number masking would take for a PAN (`21.887347000000002` was masked).
fn latency_ms(latency: std::time::Duration) -> f64 {
    // Exact: a u128 of microseconds far below 2^53 for any real request.
    #[allow(clippy::cast_precision_loss)]
    let micros = latency.as_micros() as f64;
    micros / 1000.0
}

/// The matched route template, or `unmatched`: a bounded label whatever the path.
fn route_label<B>(request: &axum::http::Request<B>) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned())
}

/// The method as a bounded label: the standard ones by name, anything else `other`.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The span of each request, at `info` so that its fields are on every line the request
/// causes: the request ID, method, route, the connection when the header names one, and the
/// OAuth2 client once its token is verified (recorded by the `Auth` extractor).
pub(crate) fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let connection = request
        .headers()
        .get(CONNECTION_HEADER)
        .map(|v| v.as_bytes())
        .filter(|v| valid_request_id(v))
        .and_then(|v| std::str::from_utf8(v).ok());
    tracing::info_span!(
        "request",
        request_id = %id,
        method = method_label(request.method()),
        route = %route_label(request),
        connection = connection.map(tracing::field::display),
        client = tracing::field::Empty,
    )
}

/// The path and query of `uri` with the value of every `access_token` parameter replaced.
pub(crate) fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let pairs: Vec<_> = query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            // Compared as the query parser reads it, so `access%5Ftoken` is caught too.
            let decoded = percent_encoding::percent_decode_str(&name.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            if decoded == "access_token" {
                format!("{name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_never_reach_the_request_span() {
        let uri: axum::http::Uri = "/events?connectionID=c-1&access_token=eyJ.secret.sig&x=1&access%5Ftoken=two&access_token"
            .parse()
            .unwrap();
        let shown = redacted_uri(&uri);
        assert_eq!(
            shown,
            "/events?connectionID=c-1&access_token=[redacted]&x=1&access%5Ftoken=[redacted]&access_token=[redacted]"
        );
        let plain: axum::http::Uri = "/POIs".parse().unwrap();
        assert_eq!(redacted_uri(&plain), "/POIs");
    }

    #[test]
    fn latencies_are_short_numbers_the_card_masking_leaves_alone() {
        // 21.887347 ms as f64 milliseconds printed 21.887347000000002: masked as a card number.
        let latency = std::time::Duration::from_nanos(21_887_347);
        let shown = serde_json::json!(latency_ms(latency)).to_string();
        assert_eq!(shown, "21.887");
        assert_eq!(eps_core::redact::mask_pans(&shown), shown);
        for nanos in (0..2_000_000_000_u64).step_by(7_777_777) {
            let shown = serde_json::json!(latency_ms(std::time::Duration::from_nanos(nanos)));
            let shown = shown.to_string();
            assert_eq!(eps_core::redact::mask_pans(&shown), shown, "{nanos} ns");
        }
    }
}
