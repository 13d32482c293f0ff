//! The `eps` binary itself: `client add/list/remove`, `openapi`, and `serve` configured through
//! `EPS_*` variables, answering, and stopping cleanly on SIGTERM.

use serde_json::Value;

use crate::support::{
    Serving, access_token, add_client, connect, eps, http, output, serve, terminate,
};

#[tokio::test]
async fn clients_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = add_client(&mut eps(dir.path()), "read,write").await;
    assert_eq!(secret.len(), 43);

    let (ok, _, err) = output(eps(dir.path()).args(["client", "add", "pos-1"])).await;
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) =
        output(eps(dir.path()).args(["client", "add", "x", "--scopes", "root"])).await;
    assert!(!ok);
    assert!(err.contains("root"), "{err}");

    let (ok, out, _) = output(eps(dir.path()).args(["client", "list"])).await;
    assert!(ok);
    assert!(out.starts_with("pos-1\tread write\t"), "{out}");
    assert!(!out.contains(&secret));

    let (ok, _, _) = output(eps(dir.path()).args(["client", "remove", "pos-1"])).await;
    assert!(ok);
    let (ok, _, err) = output(eps(dir.path()).args(["client", "remove", "pos-1"])).await;
    assert!(!ok);
    assert!(err.contains("no client"), "{err}");
}

#[tokio::test]
async fn openapi_prints_the_committed_document() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = output(eps(dir.path()).arg("openapi")).await;
    assert!(ok);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/openapi.json"))
            .unwrap();
    assert_eq!(out, committed);
}

#[tokio::test]
async fn a_bad_configuration_is_refused_with_its_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eps.toml");
    std::fs::write(&file, "[connection]\nmissed_heartbeats = 0\n").unwrap();
    let (ok, _, err) = output(eps(dir.path()).arg("--config").arg(&file).arg("serve")).await;
    assert!(!ok);
    assert!(err.contains("connection.missed_heartbeats"), "{err}");
    let (ok, _, err) =
        output(eps(dir.path()).args(["--config", "/nonexistent.toml", "serve"])).await;
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
}

#[tokio::test]
async fn serve_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let secret = add_client(&mut eps(dir.path()), "read,admin").await;

    let Serving {
        child,
        address,
        rest,
        ..
    } = serve(
        eps(dir.path())
            .env("EPS_LOG__FORMAT", "json")
            .env("EPS_CONNECTION__MISSED_HEARTBEATS", "5"),
    )
    .await;
    let http = http();
    let base = format!("http://{address}");
    let health: Value = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["store"], "sqlite");

    let token = access_token(&http, &base, "pos-1", &secret).await;
    let response = connect(&http, &base, &token).await;
    assert_eq!(response.status(), 200);

    // EPS_CONNECTION__MISSED_HEARTBEATS=5 took effect: 5 × 30 s.
    let list: Value = http
        .get(format!("{base}/admin/connections"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let connection = &list["connections"][0];
    let at = |field: &str| {
        time::OffsetDateTime::parse(
            connection[field].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert_eq!(
        at("expires") - at("lastHeartbeat"),
        time::Duration::seconds(150)
    );

    terminate(child).await;
    let rest = rest.await.unwrap();
    assert!(
        rest.iter().any(|e| e["fields"]["message"] == "stopped"),
        "{rest:?}"
    );
    // The secret and the token never reach the log.
    let log = serde_json::to_string(&rest).unwrap();
    assert!(!log.contains(&secret) && !log.contains(&token));
}
