//! A PIN answered through `POST /prompts/{promptID}/response` reaches the simulated terminal and
//! never the `eps` binary's log, in JSON or in text, at debug level — nor its SQLite database
//! file and write-ahead log. (The same on PostgreSQL rows, the event stream and the API:
//! `tests/e2e/secrets.rs`.)

use std::path::Path;
use std::time::Duration;

use opi_backend::sim::{SimConfig, SimServer};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::support::{self, BOUND, Serving};

/// The PIN: eight digits, so it cannot turn up in a UUID or a timestamp by chance.
const PIN: &str = "91734655";

/// One lane on the simulator at `terminal`; logs as `format` at debug level.
fn config(data_dir: &Path, terminal: &str, format: &str) -> Command {
    let file = data_dir.join("eps.toml");
    std::fs::write(
        &file,
        format!(
            r#"public_url = "http://eps.test"
[log]
format = "{format}"
filter = "debug"
[[sites]]
merchant_id = "1234567890"
[[sites.pois]]
logical_id = "001"
workstation_type = "pointOfService"
terminal = {{ id = "lane-1", address = "{terminal}", callback = "127.0.0.1:0", workstation_id = "POS001" }}
"#
        ),
    )
    .unwrap();
    let mut command = support::eps(data_dir);
    command.arg("--config").arg(file);
    command
}

/// Every file of the data directory (the database, its WAL and shared memory), as text.
fn data_dir_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

/// A site system on the binary.
struct Pos {
    http: reqwest::Client,
    base: String,
    token: String,
    connection: String,
}

impl Pos {
    async fn connect(address: &str, secret: &str) -> Self {
        let http = support::http();
        let base = format!("http://{address}");
        let token = support::access_token(&http, &base, "pos-1", secret).await;
        let connected: Value = support::connect(&http, &base, &token)
            .await
            .json()
            .await
            .unwrap();
        let connection = connected["connectionID"].as_str().unwrap().to_owned();
        Self {
            http,
            base,
            token,
            connection,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("openretailing-connection-id", &self.connection)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The id of the next input prompt the event stream announces.
    async fn next_input_prompt(&self, stream: &mut reqwest::Response) -> String {
        let mut text = String::new();
        let read = async {
            loop {
                let chunk = stream.chunk().await.unwrap().expect("the stream goes on");
                text.push_str(&String::from_utf8_lossy(&chunk));
                let found = text
                    .split("\n\n")
                    .filter(|frame| frame.contains("event: promptAvailableEvent"))
                    .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
                    .filter_map(|data| serde_json::from_str::<Value>(data).ok())
                    .find(|data| data["type"] == "input");
                if let Some(data) = found {
                    return data["promptID"].as_str().unwrap().to_owned();
                }
            }
        };
        tokio::time::timeout(BOUND, read)
            .await
            .expect("an input prompt announced within the bound")
    }
}

/// Runs the binary logging as `format`, pays with a PIN on the simulator, and returns its whole
/// log as text.
async fn pay_with_a_pin(dir: &Path, sim: &SimServer, secret: &str, format: &str) -> String {
    let terminal = sim.channel0_address().to_string();
    let Serving {
        child,
        address,
        callback,
        log,
        rest,
        live: _,
    } = support::serve(&mut config(dir, &terminal, format)).await;
    sim.set_callback(callback.expect("the callback line comes first"));
    let pos = Pos::connect(&address, secret).await;
    let mut stream = pos
        .request(reqwest::Method::GET, "/events")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    // .14: the terminal asks for a PIN.
    let (status, started) = pos
        .send(pos.request(reqwest::Method::POST, "/payments").json(
            &json!({"logicalID": "001", "workstationType": "pointOfService",
                "amount": {"value": "17.14", "currency": "EUR"}}),
        ))
        .await;
    assert_eq!(status, 202, "{started:#}");
    let id = started["transaction"]["transactionID"]
        .as_str()
        .unwrap()
        .to_owned();
    let prompt = pos.next_input_prompt(&mut stream).await;
    drop(stream);
    let (status, answered) = pos
        .send(
            pos.request(
                reqwest::Method::POST,
                &format!("/prompts/{prompt}/response"),
            )
            .header("idempotency-key", format!("pin-{format}"))
            .json(&json!({"number": PIN})),
        )
        .await;
    assert_eq!(status, 200, "{answered:#}");
    assert!(answered["prompt"]["answer"].is_null(), "{answered:#}");
    let (status, done) = pos
        .send(
            pos.request(reqwest::Method::GET, &format!("/transactions/{id}"))
                .header("prefer", "wait=60"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["transaction"]["state"], "approved", "{done:#}");

    support::terminate(child).await;
    let mut lines = log;
    lines.extend(rest.await.unwrap());
    lines
        .iter()
        .map(|line| match line {
            Value::String(text) => text.clone(),
            json => json.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_pin_reaches_the_terminal_but_never_the_log_or_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimServer::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            callback_timeout: Duration::from_secs(30),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let terminal = sim.channel0_address().to_string();
    let secret =
        support::add_client(&mut config(dir.path(), &terminal, "json"), "read,write").await;
    for format in ["json", "text"] {
        let log = pay_with_a_pin(dir.path(), &sim, &secret, format).await;
        // The log is there and detailed: the request spans and the prompt's answer are in it.
        assert!(log.contains("prompt answered"), "{format} log: {log}");
        assert!(
            log.contains("/response"),
            "{format} log without request spans"
        );
        assert!(!log.contains(PIN), "the PIN reached the {format} log");
    }
    assert_eq!(sim.pins(), [PIN, PIN], "the terminal got the PIN each time");
    let stored = data_dir_text(dir.path());
    assert!(stored.contains("GetPIN"), "the prompt is stored");
    assert!(
        !stored.contains(PIN),
        "the PIN is in the database file or its WAL"
    );
    sim.shutdown().await;
}
