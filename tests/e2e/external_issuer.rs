//! Tokens from an external issuer, validated against its JWKS (a file or a URL), its issuer and
//! its audience.

use eps_api::config::AuthMode;
use eps_e2e::issuer::ExternalIssuer;
use eps_e2e::{Reply, START, TestApp};
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
                      "iat": iat, "exp": iat + 600, "scp": ["read"]});
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
