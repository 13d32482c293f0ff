//! The `eps` binary's log never shows a bearer token sent as `?access_token=` on the event
//! routes (browsers' `EventSource` cannot send headers): the request span's URI is redacted,
//! whether the token is accepted or refused.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

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

#[tokio::test]
async fn access_tokens_in_the_query_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = eps(dir.path())
        .args(["client", "add", "pos-1", "--scopes", "read"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .trim()
        .to_owned();

    // Debug level: the request spans (method, URI) are written.
    let mut child = eps(dir.path())
        .arg("serve")
        .env("EPS_LISTEN", "127.0.0.1:0")
        .env("EPS_LOG__FORMAT", "json")
        .env("EPS_LOG__FILTER", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = Vec::new();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("ready before the end");
        let entry: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
        let ready = entry["fields"]["message"] == "EPS ready";
        let address = entry["fields"]["address"].as_str().map(str::to_owned);
        log.push(entry);
        if ready {
            break address.unwrap();
        }
    };
    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(serde_json::from_str(&line).unwrap_or(Value::String(line)));
        }
        rest
    });

    eps_api::install_crypto_provider();
    let http = reqwest::Client::new();
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
    let token = token["access_token"].as_str().unwrap().to_owned();
    let body = serde_json::json!({
        "transmissionID": 1, "timestamp": "2021-04-08T05:20:00",
        "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}]
    });
    let connected: Value = http
        .post(format!("http://{address}/connection"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let connection = connected["connectionID"].as_str().unwrap();

    // Accepted: the stream opens and sends `retry:` first.
    let mut stream = http
        .get(format!(
            "http://{address}/events?connectionID={connection}&access_token={token}"
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
        let response = http
            .get(format!("http://{address}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{}",
            path.split('?').next().unwrap()
        );
    }
    drop(stream);

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().await.unwrap().success());
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
