//! Durability: connections, clients and the signing key survive a restart on the same data.

use eps_e2e::{Backend, TestApp};
use time::Duration;

#[tokio::test]
async fn connections_clients_and_tokens_survive_a_restart() {
    for backend in Backend::all() {
        let app = TestApp::builder()
            .backend(backend.clone())
            .configure(|c| c.public_url = Some("http://eps.test".to_owned()))
            .spawn()
            .await;
        let credentials = app.add_client("pos-1", "read").await;
        let pos = app.client_with_token(&app.token(&credentials).await);
        let id = pos.connect(1).await;
        let gone = pos.connect(2).await;
        pos.disconnect(&gone).await.ok();
        let key_file = app.config.data_dir.join(eps_api::auth::keys::KEY_FILE);
        let key_before = std::fs::read_to_string(&key_file).unwrap();

        let app = app.restart().await;
        assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key_before);
        // The same token still verifies: same key, same issuer.
        let pos = app.client_with_token(pos.token());
        pos.pois(&id).await.ok();
        pos.heartbeat(&id, 3).await.ok();
        pos.pois(&gone)
            .await
            .failure(404, "ERRCD_UNKNOWN_CONNECTION");
        // The client is still registered.
        let again = app.client_with_token(&app.token(&credentials).await);
        again.pois(&id).await.ok();

        // Expiry keeps counting from the last heartbeat across restarts.
        app.advance(Duration::seconds(90));
        let app = app.restart().await;
        app.client_with_token(&app.token(&credentials).await)
            .pois(&id)
            .await
            .failure(410, "ERRCD_CONNECTION_EXPIRED");
        app.stop().await;
    }
}
