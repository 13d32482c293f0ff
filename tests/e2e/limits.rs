//! Every limit of the public connect schema, and hostile bodies: each answered with a clear 4xx
//! naming what is wrong, never a 5xx.

use eps_e2e::{Reply, TestApp, connect_body};
use reqwest::Method;
use serde_json::{Value, json};

/// Sets `pointer` (a JSON pointer) in the example body to `value`.
fn with(pointer: &str, value: Value) -> Value {
    let mut body = connect_body(1);
    *body.pointer_mut(pointer).expect("pointer") = value;
    body
}

#[tokio::test]
async fn each_connect_limit_is_enforced_and_named() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let entry = json!({"id": "1", "idType": "terminalID", "current": "no"});
    let cases: Vec<(Value, &str)> = vec![
        (
            with("/transmissionID", json!(100_000_000)),
            "transmissionID",
        ),
        (with("/transmissionID", json!(-1)), "transmissionID"),
        (with("/transmissionID", json!("12")), "transmissionID"),
        (with("/timestamp", json!("2021-04-0")), "timestamp"),
        (
            with("/timestamp", json!("2021-04-08T05:20:00.1234567890+00:00")),
            "timestamp",
        ),
        (
            with("/timestamp", json!("08/04/2021 05:20:00")),
            "timestamp",
        ),
        (
            with("/applicationName", json!("n".repeat(101))),
            "applicationName",
        ),
        (
            with("/applicationSoftwareVersion", json!("01.00.000")),
            "applicationSoftwareVersion",
        ),
        (with("/siteSystemIDs", json!([])), "siteSystemIDs"),
        (
            with("/siteSystemIDs", json!(vec![entry; 101])),
            "siteSystemIDs",
        ),
        (
            with("/siteSystemIDs/0/current", json!("true")),
            "siteSystemIDs[0].current",
        ),
        (
            with("/siteSystemIDs/0/current", json!(true)),
            "siteSystemIDs[0].current",
        ),
        (
            with("/siteSystemIDs/1/id", json!("")),
            "siteSystemIDs[1].id",
        ),
        (
            with("/vendor/vendorName", json!("v".repeat(101))),
            "vendor.vendorName",
        ),
    ];
    for (body, field) in cases {
        let reply = pos
            .connect_with(&body, None)
            .await
            .failure(400, "ERRCD_BADREQUEST");
        assert!(
            reply.message().contains(field),
            "message should name {field}: {reply:#?}"
        );
    }
    for missing in ["transmissionID", "timestamp", "siteSystemIDs"] {
        let mut body = connect_body(1);
        body.as_object_mut().unwrap().remove(missing);
        let reply = pos
            .connect_with(&body, None)
            .await
            .failure(400, "ERRCD_BADREQUEST");
        assert!(reply.message().contains(missing), "{reply:#?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn limits_are_inclusive() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let mut body = connect_body(99_999_999);
    body["applicationName"] = json!("ü".repeat(100));
    body["applicationSoftwareVersion"] = json!("12345678");
    body["timestamp"] = json!("2021-04-08T05:20:00.1234+02:00");
    let mut entries = vec![json!({"id": "1234567890", "idType": "merchantID", "current": "yes"})];
    entries.extend(vec![
        json!({"id": "t", "idType": "terminalID", "current": "no"});
        99
    ]);
    body["siteSystemIDs"] = json!(entries);
    pos.connect_with(&body, None).await.ok();
    pos.connect_with(&with("/transmissionID", json!(0)), None)
        .await
        .ok();
    pos.connect_with(&with("/timestamp", json!("2019-08-24T14:15:22Z")), None)
        .await
        .ok();
    app.stop().await;
}

#[tokio::test]
async fn hostile_bodies_get_clear_client_errors() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;
    let post = || pos.request(Method::POST, "/connection");

    let reply = Reply::read(
        post()
            .header("content-type", "application/json")
            .body("{\"transmissionID\": 1,"),
    )
    .await
    .failure(400, "ERRCD_BADREQUEST");
    assert!(reply.message().contains("malformed JSON"), "{reply:#?}");

    Reply::read(post().header("content-type", "application/json").body(""))
        .await
        .failure(400, "ERRCD_BADREQUEST");
    Reply::read(
        post()
            .header("content-type", "application/json")
            .body("[1, 2]"),
    )
    .await
    .failure(400, "ERRCD_BADREQUEST");

    let reply = Reply::read(
        post()
            .header("content-type", "text/plain")
            .body(connect_body(1).to_string()),
    )
    .await
    .failure(415, "ERRCD_UNSUPPORTED_MEDIA_TYPE");
    assert!(reply.message().contains("application/json"));
    Reply::read(post().body(connect_body(1).to_string()))
        .await
        .failure(415, "ERRCD_UNSUPPORTED_MEDIA_TYPE");

    let huge = with("/applicationName", json!("x".repeat(70 * 1024)));
    Reply::read(post().json(&huge))
        .await
        .failure(413, "ERRCD_PAYLOAD_TOO_LARGE");

    // A body streamed without Content-Length is cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(huge.to_string().into_bytes())];
    let stream = futures_util::stream::iter(chunks);
    Reply::read(
        post()
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await
    .failure(413, "ERRCD_PAYLOAD_TOO_LARGE");

    let reply = pos.pois("").await.failure(400, "ERRCD_BADREQUEST");
    assert!(reply.message().contains("1..1024"), "{reply:#?}");
    app.stop().await;
}
