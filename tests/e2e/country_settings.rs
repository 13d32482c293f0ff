//! `/countrySettings`: set and read per site, validated, durable, and reachable only through a
//! connection of a granted site, on every store engine.

use eps_api::config::SiteConfig;
use eps_e2e::{Backend, CONNECTION_HEADER, Reply, TestApp, connect_body};
use reqwest::Method;
use serde_json::{Value, json};

/// A second site.
const OTHER_SITE: &str = "555";

fn settings(unit: &str, country: &str, language: &str, currencies: &[&str]) -> Value {
    json!({"countrySettings": {"volumeUnit": unit, "countryCode": country,
                               "language": language, "localCurrencies": currencies}})
}

#[tokio::test]
async fn country_settings_are_set_validated_and_kept_per_site() {
    for backend in Backend::all() {
        let app = TestApp::builder()
            .backend(backend.clone())
            .configure(|c| {
                c.sites.push(SiteConfig {
                    merchant_id: OTHER_SITE.to_owned(),
                    name: None,
                    pois: Vec::new(),
                })
            })
            .spawn()
            .await;
        let pos = app.client_for("pos-1", "read,write", "1234567890").await;
        let connection = pos.connect(1).await;
        let call = |method: Method, body: Option<&Value>| {
            let mut request = pos
                .request(method, "/countrySettings")
                .header(CONNECTION_HEADER, &connection);
            if let Some(body) = body {
                request = request.json(body);
            }
            Reply::read(request)
        };

        // Nothing set yet.
        call(Method::GET, None)
            .await
            .failure(404, "ERRCD_NOT_FOUND");
        // The public example, verbatim.
        let example = settings("GLL", "US", "eng", &["USD"]);
        let set = call(Method::POST, Some(&example)).await.ok();
        assert_eq!(set.body["countrySettings"], example["countrySettings"]);
        let read = call(Method::GET, None).await.ok();
        assert_eq!(read.body["countrySettings"], example["countrySettings"]);

        // Each field is checked, by name, and a refusal changes nothing.
        for (body, field) in [
            (settings("gallons", "US", "eng", &["USD"]), "volumeUnit"),
            (settings("GLL", "USA", "eng", &["USD"]), "countryCode"),
            (settings("GLL", "US", "en", &["USD"]), "language"),
            (settings("GLL", "US", "eng", &[]), "localCurrencies"),
            (
                settings("GLL", "US", "eng", &["USD", "USD"]),
                "localCurrencies",
            ),
            (settings("GLL", "US", "eng", &["XXQ"]), "localCurrencies"),
        ] {
            let reply = call(Method::POST, Some(&body))
                .await
                .failure(400, "ERRCD_BADREQUEST");
            assert!(reply.message().starts_with(field), "{field}: {reply:#?}");
        }
        let read = call(Method::GET, None).await.ok();
        assert_eq!(read.body["countrySettings"], example["countrySettings"]);

        // Another site has its own (none), and a client not granted this site cannot reach it.
        let other = app.client_for("pos-555", "read,write", OTHER_SITE).await;
        let mut body = connect_body(2);
        body["siteSystemIDs"] =
            json!([{"id": OTHER_SITE, "idType": "merchantID", "current": "yes"}]);
        let reply = other.connect_with(&body, None).await.ok();
        let other_connection = reply.body["connectionID"].as_str().unwrap().to_owned();
        Reply::read(
            other
                .request(Method::GET, "/countrySettings")
                .header(CONNECTION_HEADER, &other_connection),
        )
        .await
        .failure(404, "ERRCD_NOT_FOUND");
        Reply::read(
            other
                .request(Method::GET, "/countrySettings")
                .header(CONNECTION_HEADER, &connection),
        )
        .await
        .failure(403, "ERRCD_FORBIDDEN");

        // A read-only token reads but does not set.
        let reader = app.client_for("pos-ro", "read", "1234567890").await;
        let reader_connection = reader.connect(3).await;
        Reply::read(
            reader
                .request(Method::POST, "/countrySettings")
                .header(CONNECTION_HEADER, &reader_connection)
                .json(&example),
        )
        .await
        .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
        app.stop().await;
    }
}
