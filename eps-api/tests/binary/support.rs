//! The helpers every module uses: the `eps` command, its output, `eps serve` started and read
//! until it is ready, SIGTERM, and a site system's token and connection.
//!
//! Crash tests stop the binary at a named durable step, never at a guessed moment: they start it
//! with `EPS_TEST_PAUSE_AT=<step>` (`eps_core::durable`), wait with [`paused_at`] for the line the
//! parked task logs, and then send SIGKILL.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A bound on a hang (reading a log line, a long poll), not a pause.
pub(crate) const BOUND: Duration = Duration::from_secs(60);

/// `eps --data-dir <data_dir>` without the caller's `RUST_LOG`/`EPS_*` settings, killed when dropped.
pub(crate) fn eps(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eps"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("RUST_LOG")
        .env_remove("EPS_CONFIG")
        .env_remove("EPS_DATABASE_URL")
        .kill_on_drop(true);
    command
}

/// Runs `command` to its end: whether it succeeded, its stdout and its stderr.
pub(crate) async fn output(command: &mut Command) -> (bool, String, String) {
    let out = command.output().await.expect("eps runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The secret on the `client_secret: ` line of what `eps client add` or `eps demo` printed.
pub(crate) fn client_secret(printed: &str) -> String {
    printed
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("client_secret: "))
        .expect("secret printed")
        .trim()
        .to_owned()
}

/// The site clients are granted: the default configuration's, merchant 1234567890.
pub(crate) const SITE: &str = "1234567890";

/// Runs `command` (an [`eps`]) with `client add pos-1 --scopes <scopes> --sites <SITE>`; returns
/// the secret.
pub(crate) async fn add_client(command: &mut Command, scopes: &str) -> String {
    let (ok, out, err) = output(command.args([
        "client", "add", "pos-1", "--scopes", scopes, "--sites", SITE,
    ]))
    .await;
    assert!(ok, "{err}");
    client_secret(&out)
}

/// A running `eps serve`, as its log announced it.
pub(crate) struct Serving {
    /// The process, killed when dropped.
    pub(crate) child: Child,
    /// `fields.address` of the "EPS ready" line.
    pub(crate) address: String,
    /// `fields.callback` of the "terminal callbacks listening" line, when one came first.
    pub(crate) callback: Option<String>,
    /// The log up to and including the "EPS ready" line.
    pub(crate) log: Vec<Value>,
    /// The rest of the log, read until the process closes stderr (so it never blocks on a full
    /// pipe, even when nobody awaits this).
    pub(crate) rest: JoinHandle<Vec<Value>>,
    /// The same lines as they come, for a test that waits for one (see [`paused_at`]).
    pub(crate) live: mpsc::UnboundedReceiver<Value>,
}

/// Whether a log line, JSON (`fields.message`) or text, says `message`.
fn log_says(entry: &Value, message: &str) -> bool {
    match entry {
        Value::String(line) => line.contains(&format!(" {message}")),
        json => json["fields"]["message"] == message,
    }
}

/// A field of a log line, JSON (`fields.<name>`) or text (`<name>=<value>`).
fn log_field(entry: &Value, name: &str) -> Option<String> {
    match entry {
        Value::String(line) => line
            .split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .map(str::to_owned),
        json => json["fields"][name].as_str().map(str::to_owned),
    }
}

/// Spawns `command` (an [`eps`] logging JSON or plain text) as `serve` on `127.0.0.1:0`, read
/// until "EPS ready".
pub(crate) async fn serve(command: &mut Command) -> Serving {
    let mut child = command
        .arg("serve")
        .env("EPS_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .expect("eps serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let parse = |line: String| serde_json::from_str(&line).unwrap_or(Value::String(line));
    let mut log = Vec::new();
    let mut callback = None;
    let ready = async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("eps serve ended before it was ready: {log:?}"));
            let entry = parse(line);
            if log_says(&entry, "terminal callbacks listening") {
                callback = log_field(&entry, "callback");
            }
            let ready = log_says(&entry, "EPS ready");
            let address = log_field(&entry, "address");
            log.push(entry);
            if ready {
                break address.expect("address in the ready line");
            }
        }
    };
    // A bound on a hang, not a wait: readiness is the log line itself.
    let address = tokio::time::timeout(BOUND, ready)
        .await
        .expect("eps serve logs \"EPS ready\" within a minute");
    let (forward, live) = mpsc::unbounded_channel();
    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let entry = parse(line);
            let _ = forward.send(entry.clone()); // nobody may be listening
            rest.push(entry);
        }
        rest
    });
    Serving {
        child,
        address,
        callback,
        log,
        rest,
        live,
    }
}

/// Waits (up to [`BOUND`]) for the line a task parked at the durable step `step` logs (the
/// binary runs with `EPS_TEST_PAUSE_AT=<step>`), and returns the step's subject (the id of the
/// transaction, prompt or reconciliation). The test then kills the process at that exact step.
pub(crate) async fn paused_at(live: &mut mpsc::UnboundedReceiver<Value>, step: &str) -> String {
    let wait = async {
        loop {
            let entry = live
                .recv()
                .await
                .unwrap_or_else(|| panic!("eps ended before it paused at {step}"));
            let fields = &entry["fields"];
            if fields["message"] == eps_core::durable::PAUSE_MARKER && fields["step"] == step {
                return fields["subject"].as_str().expect("a subject").to_owned();
            }
        }
    };
    tokio::time::timeout(BOUND, wait)
        .await
        .unwrap_or_else(|_| panic!("eps did not pause at {step} within a minute"))
}

/// Sends `child` SIGTERM and asserts that it exits successfully.
pub(crate) async fn terminate(mut child: Child) {
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
}

/// An HTTP client, with the process-wide rustls crypto provider installed first; a request
/// whose answer (body included) takes longer than [`ANSWER_BOUND`] fails with its URL.
pub(crate) fn http() -> reqwest::Client {
    eps_api::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(ANSWER_BOUND)
        .build()
        .expect("HTTP client")
}

/// The longest a request may take, body included (longer than the longest `Prefer: wait`).
pub(crate) const ANSWER_BOUND: Duration = Duration::from_secs(90);

/// `POST {base}/oauth/token` (`client_credentials`) with basic auth as `client_id` and `secret`.
pub(crate) async fn token_request(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{base}/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
}

/// The `access_token` a [`token_request`] answers.
pub(crate) async fn access_token(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
) -> String {
    let token: Value = token_request(http, base, client_id, secret)
        .await
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().expect("a token").to_owned()
}

/// `POST {base}/connection` with `token` and the spec's example body (merchant 1234567890).
pub(crate) async fn connect(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    let body = json!({
        "transmissionID": 1, "timestamp": "2021-04-08T05:20:00",
        "siteSystemIDs": [{"id": "1234567890", "idType": "merchantID", "current": "yes"}]
    });
    http.post(format!("{base}/connection"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}
