//! The built-in issuer: token issuance and its failures, the JWKS and metadata, and the 401s of
//! the gate.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eps_e2e::{CONNECTION_HEADER, Reply, TestApp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::Method;
use serde_json::Value;
use time::Duration;

async fn token_request(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
    let mut request = app.http.post(app.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        let value = STANDARD.encode(format!("{id}:{secret}"));
        request = request.header("authorization", format!("Basic {value}"));
    }
    Reply::read(request).await
}

fn oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{reply:#?}");
    assert_eq!(reply.body["error"], error, "{reply:#?}");
    assert!(reply.body["error_description"].is_string(), "{reply:#?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn tokens_are_issued_by_basic_and_post_authentication() {
    let app = TestApp::spawn().await;
    let pos = app.add_client("pos-1", "read,write").await;

    let by_post = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &pos.client_id),
            ("client_secret", &pos.secret),
        ],
        None,
    )
    .await;
    assert_eq!(by_post.status, 200, "{by_post:#?}");
    assert_eq!(by_post.body["token_type"], "Bearer");
    assert_eq!(by_post.body["expires_in"], 3600);
    assert_eq!(by_post.body["scope"], "read write");
    assert_eq!(by_post.header("cache-control"), Some("no-store"));

    let by_basic = token_request(
        &app,
        &[("grant_type", "client_credentials"), ("scope", "read")],
        Some((&pos.client_id, &pos.secret)),
    )
    .await;
    assert_eq!(by_basic.status, 200, "{by_basic:#?}");
    assert_eq!(by_basic.body["scope"], "read");

    // The token verifies against the published JWKS and names the client.
    let jwks: JwkSet = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = by_basic.body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_exp = false;
    validation.set_audience(&["eps"]);
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], "pos-1");
    assert_eq!(claims["iss"], app.base_url);
    assert_eq!(claims["scope"], "read");
    app.stop().await;
}

#[tokio::test]
async fn token_failures_follow_rfc_6749() {
    let app = TestApp::spawn().await;
    let pos = app.add_client("pos-1", "read").await;
    let grant = ("grant_type", "client_credentials");

    let bad_secret = token_request(&app, &[grant], Some((&pos.client_id, "wrong"))).await;
    oauth_error(&bad_secret, 401, "invalid_client");
    assert!(
        bad_secret
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic"))
    );

    let unknown = token_request(
        &app,
        &[grant, ("client_id", "nobody"), ("client_secret", "x")],
        None,
    )
    .await;
    oauth_error(&unknown, 401, "invalid_client");

    let password = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", "p"),
        ],
        Some((&pos.client_id, &pos.secret)),
    )
    .await;
    oauth_error(&password, 400, "unsupported_grant_type");

    let no_grant = token_request(&app, &[], Some((&pos.client_id, &pos.secret))).await;
    oauth_error(&no_grant, 400, "invalid_request");

    let too_much = token_request(
        &app,
        &[grant, ("scope", "admin")],
        Some((&pos.client_id, &pos.secret)),
    )
    .await;
    oauth_error(&too_much, 400, "invalid_scope");

    let both_methods = token_request(
        &app,
        &[
            grant,
            ("client_id", &pos.client_id),
            ("client_secret", &pos.secret),
        ],
        Some((&pos.client_id, &pos.secret)),
    )
    .await;
    oauth_error(&both_methods, 400, "invalid_request");

    let anonymous = token_request(&app, &[grant], None).await;
    oauth_error(&anonymous, 401, "invalid_client");

    let json_body = Reply::read(
        app.http
            .post(app.url("/oauth/token"))
            .json(&serde_json::json!({"grant_type": "client_credentials"})),
    )
    .await;
    oauth_error(&json_body, 400, "invalid_request");
    app.stop().await;
}

#[tokio::test]
async fn metadata_names_the_endpoints() {
    let app = TestApp::spawn().await;
    let reply = Reply::read(
        app.http
            .get(app.url("/.well-known/oauth-authorization-server")),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["issuer"], app.base_url);
    assert_eq!(reply.body["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(reply.body["jwks_uri"], app.url("/.well-known/jwks.json"));
    assert_eq!(reply.body["grant_types_supported"][0], "client_credentials");
    app.stop().await;
}

/// Every protected route, with a valid connection header so only the token is missing.
const PROTECTED: &[(&str, &str)] = &[
    ("POST", "/connection"),
    ("DELETE", "/connection"),
    ("GET", "/POIs"),
    ("GET", "/admin/connections"),
    (
        "GET",
        "/admin/connections/0190f3a4-7b1c-7d2e-8f00-000000000001",
    ),
    (
        "DELETE",
        "/admin/connections/0190f3a4-7b1c-7d2e-8f00-000000000001",
    ),
];

#[tokio::test]
async fn every_protected_route_needs_a_bearer_token() {
    let app = TestApp::spawn().await;
    for (method, path) in PROTECTED {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let request = app
            .http
            .request(method.clone(), app.url(path))
            .header(CONNECTION_HEADER, "0190f3a4-7b1c-7d2e-8f00-000000000001")
            .json(&eps_e2e::connect_body(1));
        let reply = Reply::read(request)
            .await
            .failure(401, "ERRCD_UNAUTHORIZED");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"eps\""),
            "{method} {path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_and_expired_tokens_are_invalid_tokens() {
    let app = TestApp::spawn().await;
    let pos = app.client("pos-1", "read").await;

    let garbage = app.client_with_token("not-a-jwt");
    let reply = garbage
        .get("/admin/connections")
        .await
        .failure(401, "ERRCD_UNAUTHORIZED");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    let basic = Reply::read(
        app.http
            .get(app.url("/admin/connections"))
            .header("authorization", "Basic YTpi"),
    )
    .await
    .failure(401, "ERRCD_UNAUTHORIZED");
    assert!(
        basic
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_request\"")
    );

    // The token lives an hour (plus 30 s leeway) on the server's clock.
    let id = pos.connect(1).await;
    app.advance(Duration::minutes(59));
    pos.pois(&id).await.failure(410, "ERRCD_CONNECTION_EXPIRED");
    app.advance(Duration::minutes(2));
    let reply = pos.pois(&id).await.failure(401, "ERRCD_UNAUTHORIZED");
    assert!(reply.message().contains("expired"), "{reply:#?}");
    app.stop().await;
}

/// The claims the built-in issuer writes, for a token a test signs itself.
fn own_claims(app: &TestApp) -> Value {
    let iat = eps_core::clock::Clock::now(&app.clock).unix_timestamp();
    serde_json::json!({"iss": app.base_url, "sub": "pos-1", "aud": "eps", "iat": iat,
                       "nbf": iat, "exp": iat + 600, "scope": "read", "sites": ["1234567890"]})
}

#[tokio::test]
async fn built_in_tokens_need_iss_aud_exp_and_es256() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let app = TestApp::spawn().await;
    app.add_client("pos-1", "read").await;
    let key = app.state.issuer.as_ref().expect("built-in issuer").key();
    let sign = |claims: &Value| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, key.encoding()).unwrap()
    };
    let refused = |token: String| {
        let client = app.client_with_token(&token);
        async move {
            let reply = client
                .connect_with(&eps_e2e::connect_body(1), None)
                .await
                .failure(401, "ERRCD_UNAUTHORIZED");
            assert!(
                reply
                    .header("www-authenticate")
                    .unwrap()
                    .contains("invalid_token"),
                "{reply:#?}"
            );
            reply
        }
    };
    // Signed by the server's own key with every claim: accepted.
    app.client_with_token(&sign(&own_claims(&app)))
        .connect(1)
        .await;
    for claim in ["aud", "iss", "exp"] {
        let mut claims = own_claims(&app);
        claims.as_object_mut().unwrap().remove(claim);
        let reply = refused(sign(&claims)).await;
        assert!(
            reply.message().contains(&format!("no {claim}")),
            "{reply:#?}"
        );
    }
    let payload = URL_SAFE_NO_PAD.encode(own_claims(&app).to_string());
    let unsigned = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    refused(format!("{unsigned}.{payload}.")).await;
    let public = serde_json::to_vec(key.jwk()).unwrap();
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &own_claims(&app),
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    refused(hmac).await;
    app.stop().await;
}
