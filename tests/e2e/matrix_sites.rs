//! The site-isolation matrix, generated from the router's operations: every resource kind of
//! site A (transaction — a payment and a pre-authorisation —, receipt, prompt, reconciliation,
//! event, POI) is invisible and untouchable from site B. Every site-scoped operation that names a
//! resource is sent by site B's site system, on its own connection, with each of site A's
//! resources of that kind (reads, completion, reversal, refund, abort, prompt answers, new
//! payments at site A's POIs): each is not found; every list and both event streams (replayed
//! from the start) show none of site A's ids; a connect to site A is not granted. Afterwards
//! site A's records and terminals are as they were, and agree exactly with the ledgers. SQLite
//! and PostgreSQL are separate tests.

use std::io::Write as _;

use eps_e2e::surface::{Operation, Surface};
use eps_e2e::two_sites::{Resources, TwoSites, names_any};
use eps_e2e::ws::WsStream;
use eps_e2e::{Backend, CONNECTION_HEADER, Reply};
use reqwest::Method;
use serde_json::Value;

use crate::events::{event, open_ws, publish, sse_request};

#[tokio::test]
async fn site_b_cannot_see_or_touch_site_a_on_sqlite() {
    site_b_cannot_see_or_touch_site_a(Backend::Sqlite).await;
}

#[tokio::test]
async fn site_b_cannot_see_or_touch_site_a_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        site_b_cannot_see_or_touch_site_a(backend).await;
    }
}

async fn site_b_cannot_see_or_touch_site_a(backend: Backend) {
    let world = TwoSites::start(backend).await;
    let surface = Surface::of(world.app());
    let before = snapshot(&world).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for op in surface
        .documented
        .iter()
        .filter(|op| op.site_scoped && !op.streams)
    {
        let variants = match variants(op, &world.resources) {
            Ok(variants) => variants,
            Err(why) => {
                failures.push(why);
                continue;
            }
        };
        for (path, body) in variants {
            let Some(expected) = Expected::of(op, body.as_ref()) else {
                continue;
            };
            cells += 1;
            let answer = send(&world, op, &path, body.as_ref(), expected).await;
            if let Err(why) = expected.judge(op, &answer, &world.resources) {
                failures.push(format!("{} {path} {body:?}: {why}", op.method));
            }
        }
    }
    failures.extend(streams_show_nothing_of_site_a(&world).await);
    let _ = writeln!(
        std::io::stderr(),
        "sites matrix ({}): {cells} requests of site B naming site A's resources, and 2 streams",
        world.app().backend.name()
    );
    assert!(cells > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let after = snapshot(&world).await;
    assert_eq!(before, after, "site A changed under site B's calls");
    world.stop().await;
}

/// What site B must get.
#[derive(Debug, Clone, Copy)]
enum Expected {
    /// A connect naming site A: not granted.
    NotGranted,
    /// A resource of site A named: not found.
    NotFound,
    /// A list or per-site setting: site B's own (none of site A's), or none at all.
    OwnList,
}

impl Expected {
    fn of(op: &Operation, body: Option<&Value>) -> Option<Self> {
        let connects = body.is_some_and(|b| b.get("siteSystemIDs").is_some());
        let names = !op.path_params.is_empty()
            || body.is_some_and(|b| {
                b.get("poiID").is_some() || b.get("originalTransactionID").is_some()
            });
        if connects {
            Some(Self::NotGranted)
        } else if names {
            Some(Self::NotFound)
        } else if op.method == Method::GET {
            Some(Self::OwnList)
        } else {
            None // a disconnect names nothing of site A's
        }
    }

    fn judge(self, op: &Operation, answer: &Reply, resources: &Resources) -> Result<(), String> {
        let code = answer.error_code();
        if !op.documents(answer.status, code) {
            return Err(format!("undocumented answer {} {code}", answer.status));
        }
        let ok = match self {
            Self::NotGranted => answer.status == 403 && code == "ERRCD_SITE_NOT_GRANTED",
            Self::NotFound => answer.status == 404 && code != "ERRCD_UNKNOWN_CONNECTION",
            Self::OwnList => {
                if let Some(what) = resources.shown_in(&answer.body) {
                    return Err(format!("site A's {what} shown to site B"));
                }
                // Site B's own, or none of its own (a per-site setting it never set).
                answer.status == 200 || (answer.status == 404 && code == "ERRCD_NOT_FOUND")
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "got {} {code}: {}",
                answer.status,
                answer.message()
            ))
        }
    }
}

/// The paths and bodies that name each of site A's resources `op` can name: every transaction
/// kind for a `transactionID` (and an `originalTransactionID`), the one resource of other kinds.
fn variants(op: &Operation, resources: &Resources) -> Result<Vec<(String, Option<Value>)>, String> {
    let transactions = [&resources.payment, &resources.authorization];
    let body = op.body.as_ref().map(|b| resources.body(b));
    let mut out = Vec::new();
    for transaction in transactions {
        let mut path = op.path.clone();
        for param in &op.path_params {
            let id = if param == "transactionID" {
                transaction
            } else {
                resources.for_param(param).ok_or_else(|| {
                    format!(
                        "{} {}: no site-A resource for the path parameter {param}: add its kind \
                         to two_sites::Resources",
                        op.method, op.path
                    )
                })?
            };
            path = path.replace(&format!("{{{param}}}"), id);
        }
        let mut body = body.clone();
        if let Some(original) = body
            .as_mut()
            .and_then(|b| b.get_mut("originalTransactionID"))
        {
            *original = Value::String(transaction.clone());
        }
        let variant = (path, body);
        if !out.contains(&variant) {
            out.push(variant);
        }
    }
    Ok(out)
}

async fn send(
    world: &TwoSites,
    op: &Operation,
    path: &str,
    body: Option<&Value>,
    expected: Expected,
) -> Reply {
    let mut request = world.outsider.request(op.method.clone(), path);
    if !matches!(expected, Expected::NotGranted) {
        request = request.header(CONNECTION_HEADER, &world.outsider_connection);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    Reply::read(request).await
}

/// Site B's SSE and WebSocket streams, replayed from the first event up to a marker of site B's
/// published last, carry nothing of site A's (whose own stream does carry its payment).
async fn streams_show_nothing_of_site_a(world: &TwoSites) -> Vec<String> {
    let app = world.app();
    let ids = world.resources.all();
    let marker = publish(app, &[event(app, Some(eps_e2e::two_sites::SITE_B))]).await;
    let marker = marker[0].id.to_string();
    let mut failures = Vec::new();

    let mut own = eps_e2e::sse::SseStream::expect(
        sse_request(&world.owner.client, &world.owner.connection).header("last-event-id", "0"),
    )
    .await;
    loop {
        let frame = own.next_event().await;
        if frame.data.to_string().contains(&world.resources.payment) {
            break; // site A's events exist, and its own stream shows them
        }
    }

    let mut sse = eps_e2e::sse::SseStream::expect(
        sse_request(&world.outsider, &world.outsider_connection).header("last-event-id", "0"),
    )
    .await;
    loop {
        let frame = sse.next_event().await;
        if let Some(id) = names_any(&frame.data, &ids) {
            failures.push(format!("GET /events showed site A's {id}: {frame:?}"));
        }
        if frame.id.as_deref() == Some(marker.as_str()) {
            break;
        }
    }
    let mut ws: WsStream = open_ws(
        app,
        &world.outsider,
        &world.outsider_connection,
        "lastEventID=0",
    )
    .await;
    loop {
        let message = ws.next_event().await;
        if let Some(id) = names_any(&message, &ids) {
            failures.push(format!("GET /events/ws showed site A's {id}: {message}"));
        }
        if message["eventID"] == marker.as_str() {
            break;
        }
    }
    ws.close().await;
    failures
}

/// Site A as its owner and its terminals see it.
async fn snapshot(world: &TwoSites) -> Vec<Value> {
    let r = &world.resources;
    let mut views = Vec::new();
    for path in [
        format!("/transactions/{}", r.payment),
        format!("/transactions/{}", r.authorization),
        format!("/prompts/{}", r.prompt),
        format!("/receipts/{}", r.receipt),
        format!("/reconciliations/{}", r.reconciliation),
        "/transactions".to_owned(),
        "/POIs".to_owned(),
        "/countrySettings".to_owned(),
    ] {
        let mut reply = world.owner.get(&path).await.ok();
        reply.body["statusReturn"] = Value::Null; // its timestamp is the answer's
        views.push(reply.body);
    }
    for sim in world.site.sims.values() {
        views.push(Value::from(sim.ledger().received().len()));
    }
    views
}
