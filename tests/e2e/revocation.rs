//! A removed client's tokens stop working before they expire: at once on the node that removed
//! it, and within one refresh of the client roster (30 s) when another process did (another
//! node, or `eps client remove` against a running server). A revoked site likewise. Time moves on
//! the test's clock only.

use std::sync::Arc;

use eps_api::ClientRegistry;
use eps_core::client::{ScopeSet, SiteGrant};
use eps_e2e::sse::SseStream;
use eps_e2e::{Backend, Credentials, DEFAULT_SITE, TestApp};
use secrecy::ExposeSecret;
use time::Duration;

/// A registry over the server's store but not the server's roster: what `eps client` runs.
fn elsewhere(app: &TestApp) -> ClientRegistry {
    ClientRegistry::new(app.state.store.clone(), Arc::new(app.clock.clone()))
}

#[tokio::test]
async fn a_client_removed_on_this_node_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let id = pos.connect(1).await;
    assert!(app.state.clients.remove("pos-1").await.unwrap());
    let reply = pos.pois(&id).await.failure(401, "ERRCD_UNAUTHORIZED");
    assert!(
        reply.message().contains("no longer registered"),
        "{reply:#?}"
    );
    pos.get("/POIs").await.failure(401, "ERRCD_UNAUTHORIZED");
    app.stop().await;
}

#[tokio::test]
async fn a_client_removed_elsewhere_is_refused_within_the_refresh() {
    for backend in Backend::all() {
        let app = TestApp::spawn_on(backend).await;
        let pos = app.client("pos-1", "read").await;
        // A second later the server's view of the clients is newer than the token.
        app.advance(Duration::seconds(2));
        let id = pos.connect(1).await;
        assert!(elsewhere(&app).remove("pos-1").await.unwrap());

        // The view the server holds (no database read per request) still has the client…
        pos.pois(&id).await.ok();
        // …until it is reloaded, at most 30 s later: well within the minute.
        app.advance(Duration::seconds(30));
        let reply = pos.pois(&id).await.failure(401, "ERRCD_UNAUTHORIZED");
        assert!(
            reply.message().contains("no longer registered"),
            "{reply:#?}"
        );

        // Registered again under the same name: a new secret and new tokens, the old token
        // stays refused.
        let again = elsewhere(&app)
            .add(
                "pos-1",
                ScopeSet::parse("read").unwrap(),
                SiteGrant::parse_list(DEFAULT_SITE).unwrap(),
            )
            .await
            .unwrap();
        app.advance(Duration::seconds(1));
        let token = app
            .token(&Credentials {
                client_id: "pos-1".to_owned(),
                secret: again.secret.expose_secret().to_owned(),
            })
            .await;
        app.client_with_token(&token).connect(2).await;
        pos.pois(&id).await.failure(401, "ERRCD_UNAUTHORIZED");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_site_revoked_elsewhere_is_refused_within_the_refresh() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    app.advance(Duration::seconds(2));
    let id = pos.connect(1).await;
    elsewhere(&app)
        .revoke("pos-1", &SiteGrant::parse_list(DEFAULT_SITE).unwrap())
        .await
        .unwrap();
    app.advance(Duration::seconds(30));
    pos.pois(&id).await.failure(403, "ERRCD_SITE_NOT_GRANTED");
    pos.connect_with(&eps_e2e::connect_body(2), None)
        .await
        .failure(403, "ERRCD_SITE_NOT_GRANTED");
    // Granted again (here): the same token reaches the site again, as far as its claim allows.
    app.state
        .clients
        .grant("pos-1", &SiteGrant::parse_list(DEFAULT_SITE).unwrap())
        .await
        .unwrap();
    pos.pois(&id).await.ok();
    app.stop().await;
}

#[tokio::test]
async fn a_removed_operators_event_stream_ends() {
    let app = TestApp::builder()
        .configure(|c| c.events.heartbeat_interval_secs = 0.05)
        .spawn()
        .await;
    let admin = app.client("ops", "admin").await;
    let mut stream = SseStream::expect(admin.request(reqwest::Method::GET, "/admin/events")).await;
    assert!(app.state.clients.remove("ops").await.unwrap());
    let frames = stream.rest().await;
    let last = frames.last().expect("a closing frame");
    assert_eq!(last.event, "streamClosedEvent", "{frames:?}");
    assert_eq!(last.data["reason"], "accessRevoked");
    app.stop().await;
}
