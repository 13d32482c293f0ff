//! Tokens from an external issuer, validated against its JWKS (a file or a URL), its issuer and
//! its audience.

use eps_api::config::AuthMode;
use eps_e2e::issuer::ExternalIssuer;
use eps_e2e::{DEFAULT_SITE, Reply, START, TestApp};
use serde_json::json;

const ISSUER: &str = "https://idp.example/realms/eps";
const AUDIENCE: &str = "eps-api";

fn external(c: &mut eps_api::Config) {
    c.auth.mode = AuthMode::External;
    c.auth.issuer = Some(ISSUER.to_owned());
    c.auth.audience = AUDIENCE.to_owned();
}

#[tokio::test]
async fn tokens_are_checked_against_a_jwks_file() {
    let idp = ExternalIssuer::new(ISSUER, AUDIENCE);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, idp.jwks().to_string()).unwrap();
    let app = TestApp::builder()
        .configure(|c| {
            external(c);
            c.auth.jwks_file = Some(path);
        })
        .spawn()
        .await;

    let pos = app.client_with_token(&idp.mint("site-42", "read write", START));
    let id = pos.connect(1).await;
    pos.pois(&id).await.ok();

    // scp as a list works too; other claims must match.
    let iat = START.unix_timestamp();
    let base = json!({"iss": ISSUER, "sub": "site-43", "aud": AUDIENCE,
                      "iat": iat, "exp": iat + 600, "scp": ["read"], "sites": [DEFAULT_SITE]});
    app.client_with_token(&idp.mint_claims(&base))
        .connect(2)
        .await;
    let refused = [
        ("iss", json!("https://other.example")),
        ("aud", json!("someone-else")),
        ("exp", json!(iat - 120)),
        ("sub", json!("x".repeat(101))),
    ];
    for (claim, value) in refused {
        let mut claims = base.clone();
        claims[claim] = value;
        let reply = app
            .client_with_token(&idp.mint_claims(&claims))
            .get("/admin/connections")
            .await
            .failure(401, "ERRCD_UNAUTHORIZED");
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_token"),
            "{claim}"
        );
    }
    let stranger = ExternalIssuer::new(ISSUER, AUDIENCE);
    app.client_with_token(&stranger.mint("site-42", "read", START))
        .get("/admin/connections")
        .await
        .failure(401, "ERRCD_UNAUTHORIZED");

    // Scopes still apply, and there is no built-in issuer.
    app.client_with_token(&idp.mint("site-42", "read", START))
        .get("/admin/connections")
        .await
        .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
    Reply::read(
        app.http
            .post(app.url("/oauth/token"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await
    .failure(404, "ERRCD_NOT_FOUND");
    // Nor does the served document advertise one.
    let document: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["paths"].get("/oauth/token").is_none());
    assert!(document["paths"].get("/.well-known/jwks.json").is_none());
    assert_eq!(
        document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"],
        ISSUER
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_checked_against_a_jwks_url() {
    let idp = ExternalIssuer::new(ISSUER, AUDIENCE);
    let (url, jwks_server) = idp.serve_jwks().await;
    let app = TestApp::builder()
        .configure(|c| {
            external(c);
            c.auth.jwks_url = Some(url);
        })
        .spawn()
        .await;
    Reply::read(app.http.get(app.url("/readyz"))).await.ok();
    let admin = app.client_with_token(&idp.mint("ops", "admin", START));
    admin.get("/admin/connections").await.ok();
    jwks_server.abort();
    app.stop().await;
}

/// An app taking `idp`'s tokens (JWKS file in `dir`) with two sites, the default and `555`.
async fn two_sites(
    idp: &ExternalIssuer,
    dir: &std::path::Path,
    change: impl FnOnce(&mut eps_api::Config) + Send + 'static,
) -> TestApp {
    let path = dir.join("jwks.json");
    std::fs::write(&path, idp.jwks().to_string()).unwrap();
    TestApp::builder()
        .configure(move |c| {
            external(c);
            c.auth.jwks_file = Some(path);
            c.sites.push(eps_api::config::SiteConfig {
                merchant_id: "555".to_owned(),
                name: None,
                pois: Vec::new(),
            });
            change(c);
        })
        .spawn()
        .await
}

fn connect_as(merchant: &str) -> serde_json::Value {
    let mut body = eps_e2e::connect_body(1);
    body["siteSystemIDs"] = json!([{"id": merchant, "idType": "merchantID", "current": "yes"}]);
    body
}

#[tokio::test]
async fn external_tokens_reach_only_the_sites_their_claim_names() {
    let idp = ExternalIssuer::new(ISSUER, AUDIENCE);
    let dir = tempfile::tempdir().unwrap();
    let app = two_sites(&idp, dir.path(), |_| {}).await;
    let iat = START.unix_timestamp();
    let token = |sites: Option<serde_json::Value>| {
        let mut claims = json!({"iss": ISSUER, "sub": "site-42", "aud": AUDIENCE,
                                "iat": iat, "exp": iat + 600, "scope": "read"});
        if let Some(sites) = sites {
            claims["sites"] = sites;
        }
        app.client_with_token(&idp.mint_claims(&claims))
    };

    // No claim: no site.
    let reply = token(None)
        .connect_with(&connect_as(DEFAULT_SITE), None)
        .await
        .failure(403, "ERRCD_SITE_NOT_GRANTED");
    assert!(reply.message().contains(DEFAULT_SITE), "{reply:#?}");
    // Only the sites named.
    let only_555 = token(Some(json!(["555"])));
    only_555
        .connect_with(&connect_as(DEFAULT_SITE), None)
        .await
        .failure(403, "ERRCD_SITE_NOT_GRANTED");
    only_555.connect_with(&connect_as("555"), None).await.ok();
    let every = token(Some(json!(["*"])));
    every
        .connect_with(&connect_as(DEFAULT_SITE), None)
        .await
        .ok();
    every.connect_with(&connect_as("555"), None).await.ok();
    // A malformed claim is an invalid token.
    token(Some(json!(["*", "555"])))
        .connect_with(&connect_as("555"), None)
        .await
        .failure(401, "ERRCD_UNAUTHORIZED");
    app.stop().await;

    // The claim's name is configurable; `sites` is then an ordinary claim.
    let app = two_sites(&idp, dir.path(), |c| {
        c.auth.sites_claim = "https://eps.example/sites".to_owned();
    })
    .await;
    let claims = json!({"iss": ISSUER, "sub": "site-42", "aud": AUDIENCE, "iat": iat,
                        "exp": iat + 600, "scope": "read", "sites": ["*"],
                        "https://eps.example/sites": ["555"]});
    let client = app.client_with_token(&idp.mint_claims(&claims));
    client
        .connect_with(&connect_as(DEFAULT_SITE), None)
        .await
        .failure(403, "ERRCD_SITE_NOT_GRANTED");
    client.connect_with(&connect_as("555"), None).await.ok();
    app.stop().await;
}

#[tokio::test]
async fn external_tokens_need_iss_aud_exp_and_the_keys_algorithm() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let idp = ExternalIssuer::new(ISSUER, AUDIENCE);
    let dir = tempfile::tempdir().unwrap();
    let app = two_sites(&idp, dir.path(), |_| {}).await;
    let iat = START.unix_timestamp();
    let full = json!({"iss": ISSUER, "sub": "site-42", "aud": AUDIENCE, "iat": iat,
                      "exp": iat + 600, "scope": "read", "sites": [DEFAULT_SITE]});
    app.client_with_token(&idp.mint_claims(&full))
        .connect(1)
        .await;
    let refused = |token: String| {
        let client = app.client_with_token(&token);
        async move {
            client
                .connect_with(&eps_e2e::connect_body(2), None)
                .await
                .failure(401, "ERRCD_UNAUTHORIZED")
        }
    };
    for claim in ["aud", "iss", "exp"] {
        let mut claims = full.clone();
        claims.as_object_mut().unwrap().remove(claim);
        let reply = refused(idp.mint_claims(&claims)).await;
        assert!(
            reply.message().contains(&format!("no {claim}")),
            "{reply:#?}"
        );
    }
    let payload = URL_SAFE_NO_PAD.encode(full.to_string());
    let unsigned = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    refused(format!("{unsigned}.{payload}.")).await;
    // HS256 keyed with the published key, naming its kid.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = idp.jwks()["keys"][0]["kid"].as_str().map(str::to_owned);
    let hmac = jsonwebtoken::encode(
        &header,
        &full,
        &jsonwebtoken::EncodingKey::from_secret(idp.jwks().to_string().as_bytes()),
    )
    .unwrap();
    let reply = refused(hmac).await;
    assert!(reply.message().contains("HS256"), "{reply:#?}");
    app.stop().await;
}
