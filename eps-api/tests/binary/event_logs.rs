//! The `eps` binary's log never shows a bearer token sent as `?access_token=` on the event
//! routes (browsers' `EventSource` cannot send headers): the request span's URI is redacted,
//! whether the token is accepted or refused.

use serde_json::Value;

use crate::support::{Serving, access_token, add_client, connect, eps, http, serve, terminate};

#[tokio::test]
async fn access_tokens_in_the_query_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let secret = add_client(&mut eps(dir.path()), "read").await;

    // Debug level: the request spans (method, URI) are written.
    let Serving {
        child,
        address,
        mut log,
        rest,
        ..
    } = serve(
        eps(dir.path())
            .env("EPS_LOG__FORMAT", "json")
            .env("EPS_LOG__FILTER", "debug"),
    )
    .await;

    let http = http();
    let base = format!("http://{address}");
    let token = access_token(&http, &base, "pos-1", &secret).await;
    let connected: Value = connect(&http, &base, &token).await.json().await.unwrap();
    let connection = connected["connectionID"].as_str().unwrap();

    // Accepted: the stream opens and sends `retry:` first.
    let mut stream = http
        .get(format!(
            "{base}/events?connectionID={connection}&access_token={token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"retry: "));
    // Refused (a forged token); on the WebSocket route (not a handshake: refused once the
    // token is checked); and with the parameter's name percent-encoded.
    let forged = format!("{}AAAA", &token[..token.len() - 4]);
    for (path, status) in [
        (
            format!("/events?connectionID={connection}&access_token={forged}"),
            401,
        ),
        (
            format!("/events/ws?connectionID={connection}&access_token={token}"),
            400,
        ),
        (
            format!("/events/ws?access%5Ftoken={token}&connectionID={connection}"),
            400,
        ),
    ] {
        let response = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{}",
            path.split('?').next().unwrap()
        );
    }
    drop(stream);

    terminate(child).await;
    log.extend(rest.await.unwrap());
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        text.contains("/events?connectionID=") && text.contains("access_token=[redacted]"),
        "the request spans show the redacted URI"
    );
    assert!(text.contains("/events/ws?access%5Ftoken=[redacted]"));
    assert!(text.contains("event stream opened"));
    // The signature is what makes a token usable; the forged one shares most of it.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!text.contains(&signature[..40]), "a token reached the log");
    assert!(!text.contains(&forged), "a refused token reached the log");
    assert!(!text.contains(&secret));
}
