//! What an operator runs before and around `eps serve`: `eps --help`, `eps config check`, and
//! readiness sent to systemd (`NOTIFY_SOCKET`) only once the EPS listens.

use tokio::net::UnixDatagram;

use crate::support::{BOUND, Serving, eps, http, output, serve, terminate};

#[tokio::test]
async fn help_describes_the_eps() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = output(eps(dir.path()).arg("--help")).await;
    assert!(ok, "{err}");
    assert!(out.contains("Electronic Payment Server"), "{out}");
    assert!(out.contains("OPI"), "{out}");
    assert!(
        !out.contains("axum"),
        "the crate's description is not the EPS's: {out}"
    );
    assert!(out.contains("config"), "{out}");
    assert!(out.contains("signing-key"), "{out}");
}

#[tokio::test]
async fn config_check_reads_the_signing_key_file_every_node_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("issuer.pem");
    let (ok, _, err) = output(
        eps(dir.path())
            .env("EPS_AUTH__SIGNING_KEY_FILE", &key)
            .args(["config", "check"]),
    )
    .await;
    assert!(!ok, "a missing key file is not generated on a check");
    assert!(err.contains("issuer.pem"), "{err}");
    let pem = eps_api::auth::keys::generate_pem().unwrap();
    std::fs::write(&key, pem).unwrap();
    let (ok, out, err) = output(
        eps(dir.path())
            .env("EPS_AUTH__SIGNING_KEY_FILE", &key)
            .args(["config", "check"]),
    )
    .await;
    assert!(ok, "{err}");
    let fingerprint = eps_api::auth::keys::SigningKey::load(&key)
        .unwrap()
        .fingerprint()
        .to_string();
    assert!(out.contains(&format!("signing key {fingerprint}")), "{out}");
}

#[tokio::test]
async fn config_check_validates_without_starting_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/eps.toml");
    let (ok, out, err) =
        output(eps(dir.path()).args(["--config", example, "config", "check"])).await;
    assert!(ok, "{err}");
    assert!(out.contains("configuration OK"), "{out}");
    assert!(out.contains("2 terminal(s)"), "{out}");
    // Nothing was started: no database in the data directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replacen("profile = \"default\"", "profile = \"ingenico\"", 1)
        .replace("filter = \"info\"", "filter = \"eps_api=loud\"");
    std::fs::write(&bad, text).unwrap();
    let (ok, _, err) = output(
        eps(dir.path())
            .args(["config", "check", "--config"])
            .arg(&bad),
    )
    .await;
    assert!(!ok);
    assert!(err.contains("sites[0].pois[0].terminal.profile"), "{err}");
    assert!(err.contains("ingenico"), "{err}");
    assert!(err.contains("log.filter"), "{err}");
    let (ok, _, err) = output(
        eps(dir.path())
            .env("EPS_LOG__FORMAT", "yaml")
            .args(["config", "check"]),
    )
    .await;
    assert!(!ok);
    assert!(err.contains("yaml"), "{err}");
}

#[tokio::test]
async fn systemd_hears_ready_once_the_eps_listens_and_stopping_at_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("notify");
    let notify = UnixDatagram::bind(&socket).unwrap();
    // The example configuration with callback ports the system picks (tests run in parallel).
    let config = dir.path().join("eps.toml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/eps.toml"))
        .unwrap()
        .replace("127.0.0.1:20007", "127.0.0.1:0")
        .replace("127.0.0.1:20017", "127.0.0.1:0");
    std::fs::write(&config, text).unwrap();
    let Serving { child, address, .. } = serve(
        eps(&dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("NOTIFY_SOCKET", &socket)
            .env("EPS_LOG__FORMAT", "json"),
    )
    .await;
    let mut buffer = [0_u8; 64];
    let n = tokio::time::timeout(BOUND, notify.recv(&mut buffer))
        .await
        .expect("READY=1 within the bound")
        .unwrap();
    assert_eq!(&buffer[..n], b"READY=1");
    // Ready means listening: the readiness route answers at once.
    let ready = http()
        .get(format!("http://{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    terminate(child).await;
    let n = tokio::time::timeout(BOUND, notify.recv(&mut buffer))
        .await
        .expect("STOPPING=1 within the bound")
        .unwrap();
    assert_eq!(&buffer[..n], b"STOPPING=1");
}
