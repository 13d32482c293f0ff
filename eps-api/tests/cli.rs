//! The `eps` binary itself: `client add/list/remove`, `openapi`, and `serve` configured through
//! `EPS_*` variables, answering, and stopping cleanly on SIGTERM.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const EPS: &str = env!("CARGO_BIN_EXE_eps");

fn eps(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(EPS);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("RUST_LOG")
        .env_remove("EPS_CONFIG")
        .env_remove("EPS_DATABASE_URL")
        .kill_on_drop(true);
    command
}

async fn output(command: &mut Command) -> (bool, String, String) {
    let out = command.output().await.expect("eps runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `eps serve` and waits for its "EPS ready" log line; returns the child and its address.
async fn serve(data_dir: &std::path::Path) -> (Child, String, tokio::task::JoinHandle<Vec<Value>>) {
    let mut child = eps(data_dir)
        .arg("serve")
        .env("EPS_LISTEN", "127.0.0.1:0")
        .env("EPS_LOG__FORMAT", "json")
        .env("EPS_CONNECTION__MISSED_HEARTBEATS", "5")
        .stderr(Stdio::piped())
        .spawn()
        .expect("eps serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let ready = async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("eps serve ended before it was ready: {seen:?}"));
            let entry: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            let ready = entry["fields"]["message"] == "EPS ready";
            let address = entry["fields"]["address"].as_str().map(str::to_owned);
            seen.push(entry);
            if ready {
                break address.expect("address in the ready line");
            }
        }
    };
    // A bound on a hang, not a wait: readiness is the log line itself.
    let address = tokio::time::timeout(std::time::Duration::from_secs(60), ready)
        .await
        .expect("eps serve logs \"EPS ready\" as JSON within a minute");
    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(serde_json::from_str(&line).unwrap_or(Value::String(line)));
        }
        rest
    });
    (child, address, rest)
}

#[tokio::test]
async fn clients_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) =
        output(eps(dir.path()).args(["client", "add", "pos-1", "--scopes", "read,write"])).await;
    assert!(ok, "{err}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("secret printed")
        .trim();
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
    assert!(!out.contains(secret));

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
    let (ok, out, err) =
        output(eps(dir.path()).args(["client", "add", "pos-1", "--scopes", "read,admin"])).await;
    assert!(ok, "{err}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .trim()
        .to_owned();

    let (mut child, address, rest) = serve(dir.path()).await;
    eps_api::install_crypto_provider();
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["store"], "sqlite");

    let token: Value = http
        .post(format!("http://{address}/oauth/token"))
        .basic_auth("pos-1", Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("a token");
    let body = serde_json::json!({
        "transmissionID": 1, "timestamp": "2021-04-08T05:20:00",
        "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}]
    });
    let response = http
        .post(format!("http://{address}/connection"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // EPS_CONNECTION__MISSED_HEARTBEATS=5 took effect: 5 × 30 s.
    let list: Value = http
        .get(format!("http://{address}/admin/connections"))
        .bearer_auth(token)
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

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    let rest = rest.await.unwrap();
    assert!(
        rest.iter().any(|e| e["fields"]["message"] == "stopped"),
        "{rest:?}"
    );
    // The secret and the token never reach the log.
    let log = serde_json::to_string(&rest).unwrap();
    assert!(!log.contains(&secret) && !log.contains(token));
}
