//! The authentication and scope matrix, generated: every operation the router serves (and the
//! OpenAPI document declares: a route missing from either fails `the_router_and_the_document_agree`)
//! × {no token, expired, wrong signature, wrong audience, missing scope, the declared scope
//! alone, another client's connection, another site's resource} gets the documented answer.
//! The scope an operation enforces is measured, not assumed: without it the call is refused
//! naming it, with it alone the call passes the gate. Bodies are the document's examples with
//! site A's ids in them. The matrix's size is printed (past the test capture).
//!
//! Operator routes (no connection header, `/admin/…`) are cross-site by design: the two
//! connection and site cases do not apply to them. Event streams' site case is in
//! `matrix_sites` (a stream is read, not answered).

use std::fmt;
use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eps_core::client::Scope;
use eps_e2e::surface::{Operation, Surface};
use eps_e2e::two_sites::TwoSites;
use eps_e2e::{Backend, CONNECTION_HEADER, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use reqwest::Method;
use serde_json::Value;

/// One column of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    NoToken,
    Expired,
    WrongSignature,
    WrongAudience,
    MissingScope,
    DeclaredScopeAlone,
    AnotherClientsConnection,
    AnotherSitesResource,
}

impl Case {
    const ALL: [Self; 8] = [
        Self::NoToken,
        Self::Expired,
        Self::WrongSignature,
        Self::WrongAudience,
        Self::MissingScope,
        Self::DeclaredScopeAlone,
        Self::AnotherClientsConnection,
        Self::AnotherSitesResource,
    ];
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    challenge: String,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["statusReturn"]["error"].as_str().unwrap_or("")
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.status, self.code(), self.challenge)
    }
}

/// Which request a case sends.
struct Probe<'a> {
    token: Option<String>,
    connection: Option<&'a str>,
    /// Path parameters of site A's resources, or ids nobody has (the gate-only case).
    real_ids: bool,
}

#[tokio::test]
async fn the_router_and_the_document_agree() {
    let app = TestApp::spawn().await;
    let surface = Surface::of(&app);
    let (only_routed, only_documented) = surface.differences();
    assert!(
        only_routed.is_empty() && only_documented.is_empty(),
        "served but not documented: {only_routed:?}; documented but not served: {only_documented:?}"
    );
    assert!(surface.scoped().count() > 0, "{surface:#?}");
    app.stop().await;
}

#[tokio::test]
async fn every_operation_gets_the_documented_answer_for_every_bad_credential() {
    let world = TwoSites::start(Backend::Sqlite).await;
    let surface = Surface::of(world.app());
    let tokens = Tokens::mint(&world).await;
    let intruder = world.app().client("intruder", "read write admin").await;
    let mut failures = Vec::new();
    let mut cells = 0;
    let operations: Vec<&Operation> = surface
        .scoped()
        .filter(|op| {
            surface
                .routed
                .contains(&(op.method.clone(), op.path.clone()))
        })
        .collect();
    for op in &operations {
        let scope = op.scope.expect("scoped");
        for case in Case::ALL {
            let Some(verdict) = run(&world, &tokens, intruder.token(), op, scope, case).await
            else {
                continue;
            };
            cells += 1;
            if let Err(why) = verdict {
                failures.push(format!("{} {} × {case:?}: {why}", op.method, op.path));
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "auth matrix: {} operations × {} cases: {cells} cells checked",
        operations.len(),
        Case::ALL.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing of that moved money or touched site A's records.
    let payment = world
        .owner
        .get(&format!("/transactions/{}", world.resources.payment))
        .await
        .ok();
    assert_eq!(payment.state(), "approved", "{payment:#?}");
    world.stop().await;
}

/// Runs one cell: `None` when the case does not apply to `op`, else whether it answered as
/// documented.
async fn run(
    world: &TwoSites,
    tokens: &Tokens,
    intruder: &str,
    op: &Operation,
    scope: Scope,
    case: Case,
) -> Option<Result<(), String>> {
    let owner = Some(world.resources.connection.as_str());
    let probe = |token: Option<&str>| Probe {
        token: token.map(str::to_owned),
        connection: owner,
        real_ids: true,
    };
    let answer = match case {
        Case::NoToken => send(world, op, probe(None)).await,
        Case::Expired => send(world, op, probe(Some(&tokens.expired))).await,
        Case::WrongSignature => send(world, op, probe(Some(&tokens.wrong_signature))).await,
        Case::WrongAudience => send(world, op, probe(Some(&tokens.wrong_audience))).await,
        Case::MissingScope => send(world, op, probe(Some(tokens.without(scope)))).await,
        Case::DeclaredScopeAlone => {
            // Ids nobody has: the call passes the gate and stops at the lookup, changing nothing.
            let nobody = uuid::Uuid::now_v7().to_string();
            let probe = Probe {
                token: Some(tokens.only(scope).to_owned()),
                connection: op.site_scoped.then_some(nobody.as_str()),
                real_ids: false,
            };
            send(world, op, probe).await
        }
        Case::AnotherClientsConnection if op.site_scoped => {
            send(world, op, probe(Some(intruder))).await
        }
        Case::AnotherSitesResource if op.site_scoped && !op.streams => {
            return another_site(world, op).await;
        }
        Case::AnotherClientsConnection | Case::AnotherSitesResource => return None,
    };
    Some(judge(op, scope, case, &answer))
}

/// Whether `answer` is what `case` must get on `op`.
fn judge(op: &Operation, scope: Scope, case: Case, answer: &Answer) -> Result<(), String> {
    if !op.documents(answer.status, answer.code()) {
        return Err(format!("undocumented answer: {answer}"));
    }
    let ok = match case {
        Case::NoToken => answer.status == 401 && answer.code() == "ERRCD_UNAUTHORIZED",
        Case::Expired | Case::WrongSignature | Case::WrongAudience => {
            answer.status == 401
                && answer.code() == "ERRCD_UNAUTHORIZED"
                && answer.challenge.contains("invalid_token")
        }
        Case::MissingScope => {
            answer.status == 403
                && answer.code() == "ERRCD_INSUFFICIENT_SCOPE"
                && answer.challenge.contains(&format!("scope=\"{scope}\""))
        }
        Case::DeclaredScopeAlone => ![401, 403].contains(&answer.status),
        Case::AnotherClientsConnection => {
            answer.status == 403 && answer.code() == "ERRCD_FORBIDDEN"
        }
        Case::AnotherSitesResource => unreachable!("judged by another_site"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("got {answer}"))
    }
}

/// Site B's site system on its own connection, naming site A's resource: not found (or, for a
/// connect to site A, not granted); a list shows none of site A's ids.
async fn another_site(world: &TwoSites, op: &Operation) -> Option<Result<(), String>> {
    let resources = &world.resources;
    let body = op.body.as_ref().map(|b| resources.body(b));
    let connects = body
        .as_ref()
        .is_some_and(|b| b.get("siteSystemIDs").is_some());
    let names_resource = !op.path_params.is_empty()
        || body
            .as_ref()
            .is_some_and(|b| b.get("poiID").is_some() || b.get("originalTransactionID").is_some());
    let lists = op.method == Method::GET && op.path_params.is_empty();
    if !connects && !names_resource && !lists {
        return None; // e.g. a disconnect: nothing of site A's to name
    }
    if let Some(param) = op
        .path_params
        .iter()
        .find(|p| resources.for_param(p).is_none())
    {
        return Some(Err(format!(
            "no site-A resource for the path parameter {param}: add its kind to two_sites::Resources"
        )));
    }
    let probe = Probe {
        token: Some(world.outsider.token().to_owned()),
        connection: (!connects).then_some(world.outsider_connection.as_str()),
        real_ids: true,
    };
    let answer = send(world, op, probe).await;
    if !op.documents(answer.status, answer.code()) {
        return Some(Err(format!("undocumented answer: {answer}")));
    }
    let verdict = if connects {
        answer.status == 403 && answer.code() == "ERRCD_SITE_NOT_GRANTED"
    } else if names_resource {
        // Not found as the document says it (its own connection is fine).
        answer.status == 404 && answer.code() != "ERRCD_UNKNOWN_CONNECTION"
    } else {
        if let Some(what) = resources.shown_in(&answer.body) {
            return Some(Err(format!("site A's {what} shown to site B: {answer}")));
        }
        // Site B's own, or none of its own (a per-site setting it never set).
        answer.status == 200 || (answer.status == 404 && answer.code() == "ERRCD_NOT_FOUND")
    };
    Some(if verdict {
        Ok(())
    } else {
        Err(format!("got {answer}"))
    })
}

/// Sends `op` as `probe` says; a stream's success is not read past its head.
async fn send(world: &TwoSites, op: &Operation, probe: Probe<'_>) -> Answer {
    let app = world.app();
    let mut path = op.path.clone();
    for param in &op.path_params {
        // A kind without a site-A resource yet gets an id nobody has: the gate answers first.
        let id = match world.resources.for_param(param) {
            Some(id) if probe.real_ids => id.to_owned(),
            _ => uuid::Uuid::now_v7().to_string(),
        };
        path = path.replace(&format!("{{{param}}}"), &id);
    }
    let mut request = app.http.request(op.method.clone(), app.url(&path));
    if let Some(token) = &probe.token {
        request = request.bearer_auth(token);
    }
    if let Some(connection) = probe.connection {
        request = request.header(CONNECTION_HEADER, connection);
    }
    if let Some(body) = &op.body {
        let body = if probe.real_ids {
            world.resources.body(body)
        } else {
            eps_e2e::two_sites::without_ids(body)
        };
        request = request.json(&body);
    }
    let exchange = async {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let body = if json {
            response.json().await.expect("a JSON body")
        } else {
            Value::Null // a stream (or an upgrade): its head is the answer
        };
        Answer {
            status,
            challenge,
            body,
        }
    };
    tokio::time::timeout(eps_e2e::client::ANSWER_BOUND, exchange)
        .await
        .unwrap_or_else(|_| panic!("no answer to {} {path}", op.method))
}

/// The owner's tokens: broken ones, and ones with fewer scopes.
struct Tokens {
    expired: String,
    wrong_signature: String,
    wrong_audience: String,
    /// Per scope: every scope but it, and it alone.
    without: Vec<(Scope, String)>,
    only: Vec<(Scope, String)>,
}

impl Tokens {
    async fn mint(world: &TwoSites) -> Self {
        let app = world.app();
        let real = world.owner_token("read write admin").await;
        let claims: Value = {
            let payload = real.split('.').nth(1).expect("a JWT");
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("claims")
        };
        let key = app.state.issuer.as_ref().expect("built-in issuer").key();
        let sign = |claims: &Value, encoding: &EncodingKey| {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(key.kid().to_owned());
            header.typ = Some("at+jwt".to_owned());
            jsonwebtoken::encode(&header, claims, encoding).expect("signed")
        };
        let mut expired = claims.clone();
        let now = claims["iat"].as_i64().expect("iat");
        expired["iat"] = (now - 7200).into();
        expired["nbf"] = (now - 7200).into();
        expired["exp"] = (now - 3600).into();
        let mut wrong_audience = claims.clone();
        wrong_audience["aud"] = "another-service".into();
        let stranger = p256::SecretKey::random(&mut rand::rngs::OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PEM");
        let stranger = EncodingKey::from_ec_pem(stranger.as_bytes()).expect("EC key");
        let mut without = Vec::new();
        let mut only = Vec::new();
        for scope in [Scope::Read, Scope::Write, Scope::Admin] {
            let others: Vec<String> = [Scope::Read, Scope::Write, Scope::Admin]
                .into_iter()
                .filter(|s| *s != scope)
                .map(|s| s.to_string())
                .collect();
            without.push((scope, world.owner_token(&others.join(" ")).await));
            only.push((scope, world.owner_token(&scope.to_string()).await));
        }
        Self {
            expired: sign(&expired, key.encoding()),
            wrong_signature: sign(&claims, &stranger),
            wrong_audience: sign(&wrong_audience, key.encoding()),
            without,
            only,
        }
    }

    fn without(&self, scope: Scope) -> &str {
        &self
            .without
            .iter()
            .find(|(s, _)| *s == scope)
            .expect("minted")
            .1
    }

    fn only(&self, scope: Scope) -> &str {
        &self
            .only
            .iter()
            .find(|(s, _)| *s == scope)
            .expect("minted")
            .1
    }
}
