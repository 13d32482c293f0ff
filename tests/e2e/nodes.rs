//! Several nodes on one PostgreSQL database (issue 9 §5, §6): one token issuer — every node
//! given the same signing key file, a node with another refused at start — and events and
//! disconnects reaching the streams of every node through LISTEN/NOTIFY. SQLite serves one node,
//! whose key needs no configuration.

use std::path::PathBuf;
use std::time::Duration;

use eps_api::{Config, StartError};
use eps_e2e::sse::SseStream;
use eps_e2e::{Backend, TestApp};
use tempfile::TempDir;

use crate::events::{SITE_A, event, events_app, publish, site_system, sse_request};

/// What "promptly" means here: far below the 30 s poll floor these tests configure, generous
/// for a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(5);

/// A signing key file in a directory of its own.
fn key_file() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issuer.pem");
    std::fs::write(&path, eps_api::auth::keys::generate_pem().unwrap()).unwrap();
    (dir, path)
}

/// Every node of a site: the key file, one public URL, and a poll floor no test waits out.
fn node(config: &mut Config, key: &std::path::Path) {
    config.public_url = Some("http://eps.test".to_owned());
    config.auth.signing_key_file = Some(key.to_path_buf());
    config.events.tail_poll_ms = 30_000;
}

#[tokio::test]
async fn a_token_from_one_node_works_on_another_with_the_same_key_file() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let (_dir, key) = key_file();
    let one = TestApp::builder()
        .backend(backend)
        .configure(|c| node(c, &key))
        .spawn()
        .await;
    let two = one.spawn_peer(|_| {}).await.expect("same key: starts");
    let credentials = one.add_client("pos-1", "read").await;
    let token = one.token(&credentials).await;
    let connection = one.client_with_token(&token).connect(1).await;
    let on_two = two.client_with_token(&token);
    on_two.pois(&connection).await.ok();
    on_two.heartbeat(&connection, 2).await.ok();
    // And the other way round, for a client registered on the second node.
    let later = two.add_client("pos-2", "read").await;
    let token = two.token(&later).await;
    one.client_with_token(&token).connect(3).await;
    // Nothing was generated in either data directory: the file is the key.
    for app in [&one, &two] {
        assert!(!app.data_dir().join(eps_api::auth::keys::KEY_FILE).exists());
    }
    two.stop().await;
    one.stop().await;
}

#[tokio::test]
async fn a_node_with_another_key_refuses_to_start_and_says_what_to_do() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let (_dir, key) = key_file();
    let (_other_dir, other) = key_file();
    let one = TestApp::builder()
        .backend(backend)
        .configure(|c| node(c, &key))
        .spawn()
        .await;
    let recorded = eps_api::auth::keys::SigningKey::load(&key).unwrap();
    let recorded = recorded.fingerprint().to_string();
    // Another file, and no file at all (a key generated in its own data directory).
    for change in [Some(other.clone()), None] {
        let refused = one
            .spawn_peer(|c| c.auth.signing_key_file = change.clone())
            .await;
        let Err(err @ StartError::KeyMismatch { .. }) = refused else {
            panic!("a node with another key must not start");
        };
        let message = err.to_string();
        let StartError::KeyMismatch { own, .. } = &err else {
            unreachable!()
        };
        assert_ne!(own.as_str(), recorded);
        for needle in [
            own.as_str(),
            recorded.as_str(),
            "auth.signing_key_file",
            "EPS_AUTH__SIGNING_KEY_FILE",
            "eps signing-key adopt",
        ] {
            assert!(
                message.contains(needle),
                "{needle:?} missing from: {message}"
            );
        }
        match &change {
            Some(file) => assert!(message.contains(&file.display().to_string()), "{message}"),
            None => assert!(message.contains("is not set"), "{message}"),
        }
    }
    // The first node is unharmed: its key is still the recorded one.
    let pos = one.client("pos-1", "read").await;
    pos.connect(1).await;
    one.stop().await;
}

#[tokio::test]
async fn a_single_node_needs_no_key_configuration() {
    for backend in Backend::all() {
        let app = TestApp::spawn_on(backend).await;
        assert_eq!(app.config.auth.signing_key_file, None);
        let generated = app.data_dir().join(eps_api::auth::keys::KEY_FILE);
        let key = eps_api::auth::keys::SigningKey::load(&generated).unwrap();
        assert_eq!(
            app.state.store.issuer_key().await.unwrap().as_ref(),
            Some(key.fingerprint()),
            "the generated key is the recorded one"
        );
        app.client("pos-1", "read").await.connect(1).await;
        // A restart with the same data directory keeps the key and starts.
        let app = app.restart().await;
        app.client("pos-2", "read").await.connect(2).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn an_event_written_on_one_node_reaches_another_nodes_subscribers_promptly() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let (_dir, key) = key_file();
    let one = events_app()
        .backend(backend)
        .configure(|c| node(c, &key))
        .spawn()
        .await;
    let two = one.spawn_peer(|_| {}).await.expect("second node");
    let (pos, connection) = site_system(&one, "pos", SITE_A).await;
    let pos_on_two = two.client_with_token(pos.token());
    let mut sse = SseStream::expect(sse_request(&pos_on_two, &connection)).await;
    // Node two's own fan-out: only its tailer feeds it, and only a NOTIFY wakes that before the
    // 30 s poll.
    let mut fan_out = two.state.events.subscribe();

    let published = publish(&one, &[event(&one, Some(SITE_A))]).await;
    let heard = tokio::time::timeout(PROMPTLY, fan_out.recv())
        .await
        .expect("woken by the other node's write, not the poll")
        .unwrap();
    assert_eq!(*heard, published[0]);
    let frame = tokio::time::timeout(PROMPTLY, sse.next_event())
        .await
        .expect("delivered promptly");
    assert_eq!(
        frame.id.as_deref(),
        Some(published[0].id.to_string().as_str())
    );
    assert_eq!(frame.event, "transactionUpdatedEvent");
    two.stop().await;
    one.stop().await;
}

#[tokio::test]
async fn a_disconnect_on_one_node_ends_that_connections_streams_on_another() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let (_dir, key) = key_file();
    let one = events_app()
        .backend(backend)
        .configure(|c| node(c, &key))
        .spawn()
        .await;
    let two = one.spawn_peer(|_| {}).await.expect("second node");
    let (pos, connection) = site_system(&one, "pos", SITE_A).await;
    let (other, other_connection) = site_system(&one, "other", SITE_A).await;
    let mut closing = SseStream::expect(sse_request(
        &two.client_with_token(pos.token()),
        &connection,
    ))
    .await;
    let mut staying = SseStream::expect(sse_request(
        &two.client_with_token(other.token()),
        &other_connection,
    ))
    .await;

    pos.disconnect(&connection).await.ok();
    // Heartbeats (which re-check the connection) are an hour apart: only the signal ends it.
    let rest = tokio::time::timeout(PROMPTLY, closing.rest())
        .await
        .expect("the stream on the other node ends promptly");
    let [closed] = rest.as_slice() else {
        panic!("one closing message: {rest:?}");
    };
    assert_eq!(closed.event, "streamClosedEvent");
    assert_eq!(closed.data["reason"], "connectionClosed");

    // Another connection's stream goes on.
    let published = publish(&one, &[event(&one, Some(SITE_A))]).await;
    let frame = tokio::time::timeout(PROMPTLY, staying.next_event())
        .await
        .expect("the other stream goes on");
    assert_eq!(
        frame.id.as_deref(),
        Some(published[0].id.to_string().as_str())
    );
    two.stop().await;
    one.stop().await;
}
