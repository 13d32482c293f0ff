//! Health, readiness, metrics, the OpenAPI document and Swagger UI, and the answers for unknown
//! routes and methods.

use eps_e2e::{Reply, TestApp};

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = Reply::read(app.http.get(app.url("/healthz"))).await.ok();
    assert_eq!(health.body["store"], "sqlite");
    Reply::read(app.http.get(app.url("/readyz"))).await.ok();
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_status_return() {
    let app = TestApp::spawn().await;
    Reply::read(app.http.get(app.url("/nowhere")))
        .await
        .failure(404, "ERRCD_NOT_FOUND");
    Reply::read(app.http.put(app.url("/connection")))
        .await
        .failure(405, "ERRCD_METHOD_NOT_ALLOWED");
    Reply::read(app.http.post(app.url("/POIs")))
        .await
        .failure(405, "ERRCD_METHOD_NOT_ALLOWED");
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_and_swagger_ui_are_served() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // The committed document, with this server as its `servers` entry.
    let mut served: serde_json::Value = response.json().await.unwrap();
    let mut committed: serde_json::Value =
        serde_json::from_str(eps_api::openapi::document_json()).unwrap();
    assert_eq!(
        served["servers"][0]["url"].as_str().unwrap(),
        app.url("").trim_end_matches('/')
    );
    served["servers"] = serde_json::Value::Null;
    committed["servers"] = serde_json::Value::Null;
    assert!(
        served == committed,
        "the served document differs beyond servers"
    );

    let response = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    let config = app
        .http
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(config.contains("/openapi.json"), "{config}");
    let bundle = app
        .http
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200, "the UI is served from the binary");
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let id = pos.connect(1).await;
    pos.pois(&id).await.ok();
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("eps_http_requests_total"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("eps_http_requests_total") && l.contains("route=\"/POIs\"")),
        "{text}"
    );
    assert!(
        text.contains("eps_http_request_duration_seconds_bucket"),
        "{text}"
    );
    app.stop().await;
}
