//! Scopes per route, and connections bound to the client that opened them.

use eps_e2e::{Reply, TestApp, connect_body};
use reqwest::Method;

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope() {
    let app = TestApp::spawn().await;
    let writer = app.client("writer", "write").await;
    let reader = app.client("reader", "read").await;
    let id = reader.connect(1).await;

    let cases: Vec<(&eps_e2e::ApiClient, Method, String, &str)> = vec![
        (&writer, Method::POST, "/connection".into(), "read"),
        (&writer, Method::DELETE, "/connection".into(), "read"),
        (&writer, Method::GET, "/POIs".into(), "read"),
        (&reader, Method::GET, "/admin/connections".into(), "admin"),
        (
            &reader,
            Method::GET,
            format!("/admin/connections/{id}"),
            "admin",
        ),
        (
            &reader,
            Method::DELETE,
            format!("/admin/connections/{id}"),
            "admin",
        ),
    ];
    for (client, method, path, scope) in cases {
        let request = client
            .request(method.clone(), &path)
            .header(eps_e2e::CONNECTION_HEADER, &id)
            .json(&connect_body(2));
        let reply = Reply::read(request)
            .await
            .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{method} {path}"
        );
        assert!(
            challenge.contains(&format!("scope=\"{scope}\"")),
            "{method} {path}"
        );
    }
    // Nothing of that touched the reader's connection.
    reader.pois(&id).await.ok();
    app.stop().await;
}

#[tokio::test]
async fn another_clients_connection_is_403() {
    let app = TestApp::spawn().await;
    let owner = app.client("lane-1", "read").await;
    let intruder = app.client("lane-2", "read").await;
    let id = owner.connect(1).await;

    intruder.pois(&id).await.failure(403, "ERRCD_FORBIDDEN");
    intruder
        .heartbeat(&id, 2)
        .await
        .failure(403, "ERRCD_FORBIDDEN");
    intruder
        .disconnect(&id)
        .await
        .failure(403, "ERRCD_FORBIDDEN");

    // The owner's connection is intact.
    owner.pois(&id).await.ok();
    owner.disconnect(&id).await.ok();
    app.stop().await;
}
