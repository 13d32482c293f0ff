//! Token validation without a server: lifetimes, foreign keys and claims, required claims,
//! pinned algorithms, and the site claim.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::auth::keys::generate_pem;
use crate::auth::token::TokenIssuer;

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn setup() -> (TokenIssuer, TokenVerifier) {
    setup_with(&generate_pem().unwrap())
}

fn setup_with(pem: &str) -> (TokenIssuer, TokenVerifier) {
    let key = Arc::new(SigningKey::from_pem(pem).unwrap());
    let issuer = TokenIssuer::new(
        key.clone(),
        "http://eps.test".into(),
        "eps".into(),
        Duration::hours(1),
    );
    let verifier = TokenVerifier::new(
        KeySource::Local(key),
        "http://eps.test".into(),
        "eps".into(),
        Duration::seconds(30),
    );
    (issuer, verifier)
}

/// The challenge of a refusal (every refusal here is a 401).
async fn refusal(verifier: &TokenVerifier, token: &str) -> BearerChallenge {
    match verifier.verify(token, NOW).await {
        Err(ApiError::Unauthorized(challenge)) => challenge,
        other => panic!("expected a 401, got {other:?}"),
    }
}

/// Claims the built-in issuer would write, as JSON to change.
fn claims() -> Value {
    let iat = NOW.unix_timestamp();
    json!({"iss": "http://eps.test", "sub": "pos-1", "aud": "eps", "iat": iat, "nbf": iat,
           "exp": iat + 3600, "scope": "read", "sites": ["1234567890"]})
}

fn signed(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding()).unwrap()
}

#[tokio::test]
async fn issued_tokens_verify_within_their_lifetime() {
    let (issuer, verifier) = setup();
    let client = ClientId::parse("pos-1").unwrap();
    let scopes = ScopeSet::parse("read write").unwrap();
    let sites = SiteGrant::parse_list("1234567890,555").unwrap();
    let token = issuer.issue(&client, scopes.clone(), &sites, NOW).unwrap();
    let principal = verifier.verify(&token.access_token, NOW).await.unwrap();
    assert_eq!(principal.client_id, client);
    assert_eq!(principal.scopes, scopes);
    assert_eq!(principal.sites, sites);
    assert_eq!(principal.issued_at, Some(NOW));
    let late = NOW + Duration::hours(1) + Duration::seconds(31);
    let err = verifier
        .verify(&token.access_token, late)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    let early = NOW - Duration::seconds(31);
    let err = verifier
        .verify(&token.access_token, early)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid yet"), "{err}");
}

#[tokio::test]
async fn foreign_keys_issuers_and_audiences_are_refused() {
    let pem = generate_pem().unwrap();
    let (issuer, verifier) = setup_with(&pem);
    let (other_issuer, _) = setup();
    let client = ClientId::parse("pos-1").unwrap();
    let issue = |issuer: &TokenIssuer| {
        issuer
            .issue(&client, ScopeSet::default(), &SiteGrant::none(), NOW)
            .unwrap()
            .access_token
    };
    let err = refusal(&verifier, &issue(&other_issuer)).await;
    assert_eq!(err.error, Some("invalid_token"));
    assert!(err.description.contains("signature"), "{err:?}");
    let same_key = |iss: &str, aud: &str| {
        TokenIssuer::new(
            Arc::new(SigningKey::from_pem(&pem).unwrap()),
            iss.into(),
            aud.into(),
            Duration::hours(1),
        )
    };
    let err = refusal(&verifier, &issue(&same_key("http://elsewhere", "eps"))).await;
    assert!(err.description.contains("issuer"), "{err:?}");
    let err = refusal(&verifier, &issue(&same_key("http://eps.test", "other"))).await;
    assert!(err.description.contains("audience"), "{err:?}");
    let tampered = format!("{}x", issue(&issuer));
    refusal(&verifier, &tampered).await;
    refusal(&verifier, "not.a.jwt").await;
}

#[tokio::test]
async fn tokens_without_iss_aud_exp_or_sub_are_refused() {
    let pem = generate_pem().unwrap();
    let (_, verifier) = setup_with(&pem);
    let key = SigningKey::from_pem(&pem).unwrap();
    verifier
        .verify(&signed(&key, &claims()), NOW)
        .await
        .unwrap();
    for claim in ["iss", "aud", "exp", "sub"] {
        let mut without = claims();
        without.as_object_mut().unwrap().remove(claim);
        let err = refusal(&verifier, &signed(&key, &without)).await;
        assert_eq!(err.error, Some("invalid_token"), "{claim}");
        assert!(
            err.description.contains(&format!("no {claim}")),
            "{claim}: {err:?}"
        );
    }
}

#[tokio::test]
async fn unsigned_and_hmac_tokens_are_refused() {
    let pem = generate_pem().unwrap();
    let (_, verifier) = setup_with(&pem);
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    for alg in ["none", "None"] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
        refusal(&verifier, &format!("{header}.{payload}.")).await;
    }
    // HS256 keyed with the public key's bytes: the classic algorithm confusion.
    let public = serde_json::to_vec(SigningKey::from_pem(&pem).unwrap().jwk()).unwrap();
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    let err = refusal(&verifier, &hmac).await;
    assert!(err.description.contains("HS256"), "{err:?}");
}

#[tokio::test]
async fn the_site_claim_is_the_grant() {
    let pem = generate_pem().unwrap();
    let (_, verifier) = setup_with(&pem);
    let key = SigningKey::from_pem(&pem).unwrap();
    let with = |sites: Value| {
        let mut claims = claims();
        claims["sites"] = sites;
        signed(&key, &claims)
    };
    let grant = |token: String| {
        let verifier = verifier.clone();
        async move { verifier.verify(&token, NOW).await.map(|p| p.sites) }
    };
    assert_eq!(
        grant(with(json!(["555", "1"]))).await.unwrap(),
        SiteGrant::parse_list("1,555").unwrap()
    );
    assert_eq!(
        grant(with(json!(["*"]))).await.unwrap(),
        SiteGrant::AllSites
    );
    assert_eq!(
        grant(with(json!("555"))).await.unwrap(),
        SiteGrant::parse_list("555").unwrap()
    );
    assert_eq!(grant(with(Value::Null)).await.unwrap(), SiteGrant::none());
    let mut without = claims();
    without.as_object_mut().unwrap().remove("sites");
    assert_eq!(
        grant(signed(&key, &without)).await.unwrap(),
        SiteGrant::none()
    );
    for bad in [json!(["*", "1"]), json!([1]), json!({"a": 1}), json!([""])] {
        let err = refusal(&verifier, &with(bad.clone())).await;
        assert!(err.description.contains("sites claim"), "{bad}: {err:?}");
    }
    // Another claim name (external issuers): `sites` is then an ordinary claim.
    let renamed = verifier.clone().with_sites_claim("eps_sites".into());
    let mut claims = claims();
    claims["eps_sites"] = json!(["7"]);
    let principal = renamed.verify(&signed(&key, &claims), NOW).await.unwrap();
    assert_eq!(principal.sites, SiteGrant::parse_list("7").unwrap());
}

#[test]
fn one_algorithm_per_key() {
    let ec = SigningKey::from_pem(&generate_pem().unwrap()).unwrap();
    let mut jwk = ec.jwk().clone();
    assert_eq!(algorithms_for(&jwk), [Algorithm::ES256]);
    jwk.common.key_algorithm = None;
    assert_eq!(algorithms_for(&jwk), [Algorithm::ES256], "from the curve");
    jwk.common.key_algorithm = Some(KeyAlgorithm::HS256);
    assert!(
        algorithms_for(&jwk).is_empty(),
        "an HMAC alg makes a key unusable"
    );
    let rsa: Jwk = serde_json::from_value(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).unwrap();
    assert_eq!(
        algorithms_for(&rsa),
        [Algorithm::RS256],
        "one algorithm, not six"
    );
    let oct: Jwk = serde_json::from_value(json!({"kty": "oct", "k": "c2VjcmV0"})).unwrap();
    assert!(algorithms_for(&oct).is_empty());
}

#[test]
fn scopes_come_from_scope_and_scp() {
    let set = scopes_of(
        Some("read openid".into()),
        Some(ScopeClaim::List(vec!["admin".into()])),
    );
    assert_eq!(set.to_string(), "admin read");
    assert_eq!(
        scopes_of(None, Some(ScopeClaim::Text("write".into()))).to_string(),
        "write"
    );
}

fn read_token(issuer: &TokenIssuer, sites: &str) -> String {
    let client = ClientId::parse("pos-1").unwrap();
    let sites = SiteGrant::parse_list(sites).unwrap();
    issuer
        .issue(&client, ScopeSet::parse("read").unwrap(), &sites, NOW)
        .unwrap()
        .access_token
}

#[tokio::test]
async fn a_verified_token_is_remembered_by_its_hash() {
    let (issuer, verifier) = setup();
    let token = read_token(&issuer, "1234567890");
    assert!(verifier.cache.is_empty());
    let first = verifier.verify(&token, NOW).await.unwrap();
    assert_eq!(verifier.cache.len(), 1);
    assert!(
        verifier.cache.find(&TokenHash::of(&token), 0).is_some(),
        "keyed by the token's hash"
    );
    let second = verifier.verify(&token, NOW).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(verifier.cache.len(), 1);
    // A token that is not the remembered one (one byte changed) is checked in full.
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(verifier.verify(&forged, NOW).await.is_err());
    assert_eq!(verifier.cache.len(), 1, "refusals are not remembered");
}

#[tokio::test]
async fn a_remembered_token_still_expires() {
    let (issuer, verifier) = setup();
    let token = read_token(&issuer, "1234567890");
    verifier.verify(&token, NOW).await.unwrap();
    let within_leeway = NOW + Duration::hours(1) + Duration::seconds(30);
    verifier.verify(&token, within_leeway).await.unwrap();
    let late = NOW + Duration::hours(1) + Duration::seconds(31);
    let err = verifier.verify(&token, late).await.unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(verifier.cache.is_empty(), "an expired token is forgotten");
}

#[tokio::test]
async fn revocation_and_removal_apply_to_remembered_tokens_at_once() {
    let (issuer, verifier) = setup();
    let store = Arc::new(
        eps_core::store::SqliteStore::open("sqlite::memory:")
            .await
            .unwrap(),
    );
    let clock = Arc::new(eps_core::clock::ManualClock::new(NOW));
    let clients = crate::auth::clients::ClientRegistry::new(store, clock);
    let sites = SiteGrant::parse_list("1234567890,555").unwrap();
    clients
        .add("pos-1", ScopeSet::parse("read").unwrap(), sites)
        .await
        .unwrap();
    let verifier = verifier.with_roster(clients.roster().clone());
    let token = read_token(&issuer, "1234567890,555");
    let principal = verifier.verify(&token, NOW).await.unwrap();
    assert_eq!(
        principal.sites,
        SiteGrant::parse_list("1234567890,555").unwrap()
    );
    assert_eq!(verifier.cache.len(), 1);

    clients
        .revoke("pos-1", &SiteGrant::parse_list("555").unwrap())
        .await
        .unwrap();
    let principal = verifier.verify(&token, NOW).await.unwrap();
    assert_eq!(
        principal.sites,
        SiteGrant::parse_list("1234567890").unwrap()
    );

    assert!(clients.remove("pos-1").await.unwrap());
    let err = verifier.verify(&token, NOW).await.unwrap_err();
    assert!(err.to_string().contains("no longer registered"), "{err}");
}

#[tokio::test]
async fn the_cache_is_bounded_and_drops_the_least_recently_used() {
    let pem = generate_pem().unwrap();
    let (issuer, verifier) = setup_with(&pem);
    let verifier = verifier.with_cache_capacity(2);
    let tokens: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|s| read_token(&issuer, s))
        .collect();
    verifier.verify(&tokens[0], NOW).await.unwrap();
    verifier.verify(&tokens[1], NOW).await.unwrap();
    // The first is used again, so the second is the least recently used.
    verifier.verify(&tokens[0], NOW).await.unwrap();
    verifier.verify(&tokens[2], NOW).await.unwrap();
    assert_eq!(verifier.cache.len(), 2);
    let held = |token: &str| verifier.cache.find(&TokenHash::of(token), 0).is_some();
    assert!(held(&tokens[0]));
    assert!(!held(&tokens[1]));
    assert!(held(&tokens[2]));
    // Without a cache every request is verified in full.
    let none = setup_with(&pem).1.with_cache_capacity(0);
    none.verify(&tokens[0], NOW).await.unwrap();
    assert!(none.cache.is_empty());
}

#[tokio::test]
async fn a_key_rotation_of_the_external_issuer_checks_remembered_tokens_again() {
    let old = SigningKey::from_pem(&generate_pem().unwrap()).unwrap();
    let new = SigningKey::from_pem(&generate_pem().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let write = |keys: &[&SigningKey]| {
        let jwks = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
        std::fs::write(&path, jwks.to_string()).unwrap();
    };
    write(&[&old]);
    let remote = Arc::new(RemoteKeys::new(crate::config::JwksSource::File(
        path.clone(),
    )));
    remote.load().await.unwrap();
    let verifier = TokenVerifier::new(
        KeySource::Remote(remote.clone()),
        "http://eps.test".into(),
        "eps".into(),
        Duration::seconds(30),
    );
    let token = signed(&old, &claims());
    verifier.verify(&token, NOW).await.unwrap();
    // Reloading the same keys keeps what was checked; dropping the key refuses its tokens.
    remote.load().await.unwrap();
    verifier.verify(&token, NOW).await.unwrap();
    assert_eq!(verifier.cache.len(), 1);
    write(&[&new]);
    remote.load().await.unwrap();
    let err = verifier.verify(&token, NOW).await.unwrap_err();
    assert!(err.to_string().contains("kid"), "{err}");
}
