//! The `eps` binary itself: `client add/list/remove/grant/revoke` (sites with `--sites`, every
//! site only with `--all-sites`), `openapi`, and `serve` configured through `EPS_*` variables,
//! logging how many clients reach no site, answering, and stopping cleanly on SIGTERM.

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
    assert!(out.starts_with("pos-1\tread write\t1234567890\t"), "{out}");
    assert!(!out.contains(&secret));

    let (ok, _, _) = output(eps(dir.path()).args(["client", "remove", "pos-1"])).await;
    assert!(ok);
    let (ok, _, err) = output(eps(dir.path()).args(["client", "remove", "pos-1"])).await;
    assert!(!ok);
    assert!(err.contains("no client"), "{err}");
}

#[tokio::test]
async fn sites_are_granted_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut command = eps(dir.path());
        command.args(args);
        async move { output(&mut command).await }
    };
    let (ok, out, err) = run(&["client", "add", "pos-1", "--sites", "1234567890, 555"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("sites:         1234567890,555"), "{out}");
    assert!(
        err.contains("site 555 is not in this configuration"),
        "{err}"
    );

    // Every site only with the explicit flag.
    let (ok, _, err) = run(&["client", "add", "hq", "--sites", "*"]).await;
    assert!(!ok);
    assert!(err.contains("--all-sites"), "{err}");
    let (ok, _, err) = run(&["client", "add", "hq", "--sites", "*,555"]).await;
    assert!(!ok);
    assert!(err.contains("cannot be combined"), "{err}");
    let (ok, _, err) = run(&["client", "add", "hq", "--sites", "1", "--all-sites"]).await;
    assert!(!ok, "{err}");
    let (ok, out, err) = run(&["client", "add", "hq", "--all-sites"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("sites:         *"), "{out}");
    // No site: allowed (an operator's admin client), with a note.
    let (ok, out, err) = run(&["client", "add", "ops", "--scopes", "admin"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("sites:         (none)"), "{out}");
    assert!(err.contains("eps client grant ops --sites"), "{err}");

    let (ok, out, _) = run(&["client", "list"]).await;
    assert!(ok);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    let sites: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[2])).collect();
    assert_eq!(
        sites,
        [("hq", "*"), ("ops", "(none)"), ("pos-1", "1234567890,555")]
    );

    // Grant adds, revoke takes away; revoking a site not granted is an error.
    let (ok, out, err) = run(&["client", "grant", "ops", "--sites", "1234567890"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "ops sites: 1234567890");
    let (ok, out, err) = run(&["client", "revoke", "pos-1", "--sites", "555"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "pos-1 sites: 1234567890");
    let (ok, _, err) = run(&["client", "revoke", "pos-1", "--sites", "555"]).await;
    assert!(!ok);
    assert!(err.contains("not granted: 555"), "{err}");
    let (ok, _, err) = run(&["client", "revoke", "hq", "--sites", "555"]).await;
    assert!(!ok);
    assert!(err.contains("every site"), "{err}");
    let (ok, out, err) = run(&["client", "revoke", "hq", "--all-sites"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "hq sites: (none)");
    let (ok, _, err) = run(&["client", "grant", "pos-1"]).await;
    assert!(!ok);
    assert!(err.contains("--sites"), "{err}");
    let (ok, _, err) = run(&["client", "grant", "nobody", "--sites", "1"]).await;
    assert!(!ok);
    assert!(err.contains("no client named nobody"), "{err}");
}

#[tokio::test]
async fn client_changes_are_in_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut command = eps(dir.path());
        command.args(args).env("USER", "alice");
        async move { output(&mut command).await }
    };
    assert!(
        run(&["client", "add", "pos-1", "--sites", "1234567890"])
            .await
            .0
    );
    assert!(!run(&["client", "add", "pos-1"]).await.0);
    assert!(run(&["client", "grant", "pos-1", "--sites", "555"]).await.0);
    assert!(
        run(&["client", "revoke", "pos-1", "--sites", "555"])
            .await
            .0
    );
    assert!(run(&["client", "remove", "pos-1"]).await.0);
    assert!(!run(&["client", "remove", "pos-1"]).await.0);

    let url = format!("sqlite://{}", dir.path().join("eps.db").display());
    let store = eps_core::store::open(&url).await.unwrap();
    let entries = store
        .audit_entries(&eps_core::audit::AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let rows: Vec<(&str, &str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.entry.actor.as_str(),
                e.entry.action.as_str(),
                e.entry.target.as_str(),
                e.entry.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("cli:alice", "clientRemove", "pos-1", "failure"),
            ("cli:alice", "clientRemove", "pos-1", "success"),
            ("cli:alice", "clientRevoke", "pos-1", "success"),
            ("cli:alice", "clientGrant", "pos-1", "success"),
            ("cli:alice", "clientAdd", "pos-1", "failure"),
            ("cli:alice", "clientAdd", "pos-1", "success"),
        ]
    );
    assert_eq!(entries[2].entry.detail.as_str(), "sites now 1234567890");
    let secretless = entries
        .iter()
        .all(|e| !e.entry.detail.as_str().contains("secret"));
    assert!(secretless, "{entries:?}");
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
    let (ok, _, err) = output(eps(dir.path()).args(["client", "add", "legacy"])).await;
    assert!(ok, "{err}");

    let Serving {
        child,
        address,
        log,
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
    // Start-up says how many clients reach no site, as a warning.
    let warning = log
        .iter()
        .find(|e| e["fields"]["without_site"].is_number())
        .expect("a line counting clients without a site");
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert_eq!(warning["fields"]["without_site"], 1);
    assert_eq!(warning["fields"]["names"], "legacy");

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
