//! `eps demo`: the printed curl lines work as printed (token, the spec's example connect, POIs,
//! a payment on a simulated terminal, its receipts), and a second run on the same data directory
//! reuses the demo client with a fresh secret.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{BOUND, client_secret, eps, http, terminate, token_request};

/// Starts `eps demo` and returns it with what it printed up to the ready line.
async fn demo(data_dir: &std::path::Path) -> (Child, String) {
    let mut child = eps(data_dir)
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("EPS_LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("eps demo starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let read = async {
        let mut printed = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let ready = line.starts_with(eps_api::demo::READY_LINE);
            printed.push_str(&line);
            printed.push('\n');
            if ready {
                return printed;
            }
        }
        panic!("eps demo ended before it was ready: {printed}");
    };
    // A bound on a hang, not a wait: readiness is the printed line itself.
    let printed = tokio::time::timeout(BOUND, read)
        .await
        .expect("ready within a minute");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, printed)
}

#[tokio::test]
async fn the_printed_lines_pay_on_a_simulated_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (child, printed) = demo(dir.path()).await;
    assert!(printed.contains("client_id:     demo"), "{printed}");
    assert!(printed.contains("pointOfService 001") && printed.contains("fuelingPoint 001"));
    // The block between `EPS=` and the receipts line, run as printed.
    let start = printed.find("EPS=").expect("the shell block");
    let end = printed
        .find("/receipts")
        .and_then(|i| printed[i..].find('\n').map(|n| i + n));
    let script = &printed[start..end.expect("the receipts line")];
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e\n{script}"))
        .output()
        .await
        .expect("bash runs (the demo's lines need bash and curl)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"poiAddresses\""), "{stdout}");
    assert!(stdout.contains("\"state\":\"approved\""), "{stdout}");
    assert!(stdout.contains("\"copy\":\"customer\""), "{stdout}");
    terminate(child).await;

    // Again on the same data: the same client, a fresh secret; the old one no longer works.
    let first = client_secret(&printed);
    let (child, printed) = demo(dir.path()).await;
    let second = client_secret(&printed);
    assert_ne!(first, second);
    let base = printed
        .lines()
        .find_map(|l| l.strip_prefix("EPS="))
        .unwrap()
        .to_owned();
    let http = http();
    for (secret, status) in [(first, 401), (second, 200)] {
        let response = token_request(&http, &base, "demo", &secret).await;
        assert_eq!(response.status().as_u16(), status);
    }
    terminate(child).await;
}
