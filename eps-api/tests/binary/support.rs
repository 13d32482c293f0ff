//! The helpers every module uses: the `eps` command, its output, `eps serve` started and read
//! until it is ready, SIGTERM, and a site system's token and connection.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
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
}

/// Spawns `command` (an [`eps`] logging JSON) as `serve` on `127.0.0.1:0`, read until "EPS ready".
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
            let fields = &entry["fields"];
            if fields["message"] == "terminal callbacks listening" {
                callback = fields["callback"].as_str().map(str::to_owned);
            }
            let ready = fields["message"] == "EPS ready";
            let address = fields["address"].as_str().map(str::to_owned);
            log.push(entry);
            if ready {
                break address.expect("address in the ready line");
            }
        }
    };
    // A bound on a hang, not a wait: readiness is the log line itself.
    let address = tokio::time::timeout(BOUND, ready)
        .await
        .expect("eps serve logs \"EPS ready\" as JSON within a minute");
    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(parse(line));
        }
        rest
    });
    Serving {
        child,
        address,
        callback,
        log,
        rest,
    }
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

/// An HTTP client, with the process-wide rustls crypto provider installed first.
pub(crate) fn http() -> reqwest::Client {
    eps_api::install_crypto_provider();
    reqwest::Client::new()
}

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
