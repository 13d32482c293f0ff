//! The admin API for operators: terminals (status, Login, Logoff, Diagnosis), every site's
//! transactions (filters, cursor pages, the unknown-outcome queue), the audit log and the nodes,
//! on every store engine.

use eps_core::ids::{MerchantId, PoiId, TransactionId};
use eps_e2e::{Backend, DEFAULT_SITE, LANE, PUMP, Reply, SimSite};
use opi_backend::sim::{Scenario, ScriptMatch};
use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

/// A second site, without POIs; its transactions are stored as its terminal would leave them.
const OTHER_SITE: &str = "555";

/// Every route this module covers, with a method.
fn routes(terminal: &str) -> Vec<(Method, String)> {
    vec![
        (Method::GET, "/admin/terminals".into()),
        (Method::GET, format!("/admin/terminals/{terminal}")),
        (Method::POST, format!("/admin/terminals/{terminal}/login")),
        (Method::POST, format!("/admin/terminals/{terminal}/logoff")),
        (
            Method::POST,
            format!("/admin/terminals/{terminal}/diagnosis"),
        ),
        (Method::GET, "/admin/transactions".into()),
        (Method::GET, "/admin/audit".into()),
        (Method::GET, "/admin/nodes".into()),
    ]
}

/// A terminal id as a path segment.
fn segment(terminal: &str) -> String {
    terminal.replace('/', "%2F")
}

/// The transaction ids of a listing, in order.
fn ids(reply: &Reply) -> Vec<String> {
    reply.body["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| t["transactionID"].as_str().expect("id").to_owned())
        .collect()
}

async fn post(client: &eps_e2e::ApiClient, path: &str) -> Reply {
    Reply::read(client.request(Method::POST, path)).await
}

#[tokio::test]
async fn admin_routes_need_a_valid_token_with_the_admin_scope() {
    let site = SimSite::start(Backend::Sqlite).await;
    let app = &site.app;
    let lane = segment(site.terminal(LANE).as_str());
    let site_system = app.client("pos-1", "read write").await;
    let forged = app.client_with_token("not.a.token");
    for (method, path) in routes(&lane) {
        Reply::read(app.http.request(method.clone(), app.url(&path)))
            .await
            .failure(401, "ERRCD_UNAUTHORIZED");
        Reply::read(forged.request(method.clone(), &path))
            .await
            .failure(401, "ERRCD_UNAUTHORIZED");
        let refused = Reply::read(site_system.request(method.clone(), &path))
            .await
            .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
        let challenge = refused.header("www-authenticate").unwrap_or_default();
        assert!(challenge.contains("scope=\"admin\""), "{method} {path}");
    }
    // None of that reached a terminal or the audit log.
    let admin = app.client("operator", "admin").await;
    let audit = admin.get("/admin/audit").await.ok();
    assert_eq!(audit.body["entries"], json!([]));
    site.stop().await;
}

#[tokio::test]
async fn operators_search_every_site_with_filters_and_cursor_pages() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| {
                c.sites.push(eps_api::config::SiteConfig {
                    merchant_id: OTHER_SITE.to_owned(),
                    name: None,
                    pois: Vec::new(),
                });
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let mut paid = Vec::new();
        for (poi, value) in [
            (&pos.lane, "10.00"),
            (&pos.pump, "20.00"),
            (&pos.lane, "30.00"),
        ] {
            paid.push(pos.pay(poi, value).await.ok().transaction_id());
            site.app.advance(Duration::seconds(1));
        }
        // The other site's payment, as its terminal would have left it.
        let store = &site.app.state.store;
        let first = TransactionId::parse(&paid[0]).unwrap();
        let mut other = store.transaction(&first).await.unwrap().unwrap();
        other.id = TransactionId::generate();
        other.merchant_id = MerchantId::parse(OTHER_SITE).unwrap();
        other.poi_id = PoiId::derive(&other.merchant_id, "pointOfService", "001");
        other.created_at += Duration::seconds(10);
        other.updated_at = other.created_at;
        store
            .create_transaction(&other, None, &[], &[])
            .await
            .unwrap();
        let other_id = other.id.to_string();

        let all = admin.get("/admin/transactions").await.ok();
        let newest_first = vec![
            other_id.clone(),
            paid[2].clone(),
            paid[1].clone(),
            paid[0].clone(),
        ];
        assert_eq!(ids(&all), newest_first);
        assert_eq!(all.body["next"], Value::Null);
        let row = &all.body["transactions"][1];
        assert_eq!(row["merchantID"], DEFAULT_SITE);
        assert_eq!(row["clientID"], "pos-1");
        assert_eq!(row["terminalID"], site.terminal(LANE).as_str());
        assert_eq!(row["amount"]["value"], "30.00");

        let query = |q: &str| format!("/admin/transactions?{q}");
        let other_site = admin
            .get(&query(&format!("merchantID={OTHER_SITE}")))
            .await
            .ok();
        assert_eq!(ids(&other_site), vec![other_id.clone()]);
        let default_site = admin
            .get(&query(&format!("merchantID={DEFAULT_SITE}")))
            .await
            .ok();
        assert_eq!(ids(&default_site), newest_first[1..].to_vec());
        let lane = admin.get(&query(&format!("poiID={}", pos.lane))).await.ok();
        assert_eq!(ids(&lane), vec![paid[2].clone(), paid[0].clone()]);
        let pump = admin.get(&query(&format!("poiID={}", pos.pump))).await.ok();
        assert_eq!(ids(&pump), vec![paid[1].clone()]);
        assert_eq!(ids(&admin.get(&query("type=payment")).await.ok()).len(), 4);
        assert!(ids(&admin.get(&query("type=refund")).await.ok()).is_empty());
        assert_eq!(
            ids(&admin.get(&query("state=approved")).await.ok()).len(),
            4
        );
        assert!(ids(&admin.get(&query("state=declined")).await.ok()).is_empty());
        let big = admin.get(&query("currency=EUR&minAmount=15.00")).await.ok();
        assert_eq!(ids(&big), vec![paid[2].clone(), paid[1].clone()]);
        let small = admin
            .get(&query("currency=EUR&minAmount=10.00&maxAmount=20.00"))
            .await
            .ok();
        assert_eq!(
            ids(&small),
            vec![other_id.clone(), paid[1].clone(), paid[0].clone()]
        );
        assert!(
            ids(&admin.get(&query("currency=USD&minAmount=1.00")).await.ok()).is_empty(),
            "amounts in another currency"
        );
        let early = admin
            .get(&query("from=2026-01-05T09:00:00Z&to=2026-01-05T09:00:01Z"))
            .await
            .ok();
        assert_eq!(ids(&early), vec![paid[0].clone()]);

        // Cursor pages of two: every transaction once, in order.
        let mut seen = Vec::new();
        let mut next = Some(query("limit=2"));
        while let Some(path) = next {
            let page = admin.get(&path).await.ok();
            assert!(ids(&page).len() <= 2);
            seen.extend(ids(&page));
            next = page.body["next"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, newest_first);

        for (bad, field) in [
            ("minAmount=1.00", "currency"),
            ("currency=EUR", "currency"),
            ("currency=EUR&minAmount=1.001", "minAmount"),
            ("state=lost", "state"),
            ("type=sale", "type"),
            ("limit=0", "limit"),
            ("after=nope", "after"),
            ("from=yesterday", "from"),
            ("merchantID=", "merchantID"),
        ] {
            let refused = admin
                .get(&query(bad))
                .await
                .failure(400, "ERRCD_BADREQUEST");
            assert!(refused.message().contains(field), "{bad}: {refused:#?}");
        }
        site.stop().await;
    }
}

#[tokio::test]
async fn the_unknown_queue_is_oldest_first_and_resolutions_are_audited() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| {
                c.payments.recovery_attempts = 2;
                c.payments.recovery_interval_secs = 3600;
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let mut lost = Vec::new();
        for (poi, sim) in [(&pos.lane, site.lane()), (&pos.pump, site.pump())] {
            for _ in 0..2 {
                sim.script(
                    ScriptMatch::RequestType("RepeatLastMessage".into()),
                    Scenario::DropAfterRequest,
                );
            }
            let reply = pos.pay(poi, "15.66").await.ok();
            assert_eq!(reply.state(), "unknown", "{reply:#?}");
            lost.push(reply.transaction_id());
            sim.clear_script();
            site.app.advance(Duration::seconds(1));
        }
        pos.pay(&pos.pump, "1.00")
            .await
            .failure(409, "ERRCD_POI_BLOCKED");

        let queue = admin.get("/admin/transactions?state=unknown").await.ok();
        assert_eq!(ids(&queue), lost, "oldest first");
        let first = admin
            .get("/admin/transactions?state=unknown&limit=1")
            .await
            .ok();
        assert_eq!(ids(&first), vec![lost[0].clone()]);
        let next = first.body["next"].as_str().expect("a next page").to_owned();
        let second = admin.get(&next).await.ok();
        assert_eq!(ids(&second), vec![lost[1].clone()]);
        assert_eq!(second.body["next"], Value::Null);
        let terminals = admin.get("/admin/terminals").await.ok();
        let lane = &terminals.body["terminals"][0];
        assert_eq!(lane["terminalID"], site.terminal(LANE).as_str());
        assert_eq!(
            lane["unknownTransaction"]["transactionID"],
            lost[0].as_str()
        );

        // A resolution needs a reason; a refused one is audited as a failure.
        let path = format!("/admin/transactions/{}/resolution", lost[0]);
        let resolve = |body: Value| {
            let request = admin.request(Method::POST, &path).json(&body);
            Reply::read(request)
        };
        resolve(json!({"state": "declined"}))
            .await
            .failure(400, "ERRCD_BADREQUEST");
        let blank = resolve(json!({"state": "declined", "note": "  "}))
            .await
            .failure(400, "ERRCD_BADREQUEST");
        assert!(blank.message().contains("note"), "{blank:#?}");
        let reason = "terminal journal: declined by the host";
        let resolved = resolve(json!({"state": "declined", "note": reason}))
            .await
            .ok();
        assert_eq!(resolved.body["transaction"]["state"], "declined");
        resolve(json!({"state": "declined", "note": "again"}))
            .await
            .failure(409, "ERRCD_INVALID_STATE");
        let queue = admin.get("/admin/transactions?state=unknown").await.ok();
        assert_eq!(ids(&queue), vec![lost[1].clone()]);

        // A forced disconnect, then one of a connection already gone.
        let closing = format!("/admin/connections/{}", pos.connection);
        Reply::read(admin.request(Method::DELETE, &closing))
            .await
            .ok();
        Reply::read(admin.request(Method::DELETE, &closing))
            .await
            .failure(404, "ERRCD_UNKNOWN_CONNECTION");

        let audit = admin.get("/admin/audit").await.ok();
        let entries = audit.body["entries"].as_array().unwrap().clone();
        let summary: Vec<(String, String, String, Value)> = entries
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["target"].as_str().unwrap().to_owned(),
                    e["result"].as_str().unwrap().to_owned(),
                    e["reason"].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "forceDisconnect".into(),
                    pos.connection.clone(),
                    "failure".into(),
                    Value::Null
                ),
                (
                    "forceDisconnect".into(),
                    pos.connection.clone(),
                    "success".into(),
                    Value::Null
                ),
                (
                    "resolveTransaction".into(),
                    lost[0].clone(),
                    "failure".into(),
                    json!("again")
                ),
                (
                    "resolveTransaction".into(),
                    lost[0].clone(),
                    "success".into(),
                    json!(reason)
                ),
            ],
            "newest first; the two malformed requests left no row"
        );
        assert!(entries.iter().all(|e| e["actor"] == "operator"));
        assert_eq!(entries[3]["detail"], "resolved to declined");
        assert!(
            entries[2]["detail"].as_str().unwrap().contains("unknown"),
            "{entries:#?}"
        );

        // Filters and cursor pages of the audit log.
        let of = |q: &str| format!("/admin/audit?{q}");
        let disconnects = admin.get(&of("action=forceDisconnect")).await.ok();
        assert_eq!(disconnects.body["entries"].as_array().unwrap().len(), 2);
        let about = admin.get(&of(&format!("target={}", lost[0]))).await.ok();
        assert_eq!(about.body["entries"].as_array().unwrap().len(), 2);
        let nobody = admin.get(&of("actor=nobody")).await.ok();
        assert_eq!(nobody.body["entries"], json!([]));
        let mut seqs = Vec::new();
        let mut next = Some(of("limit=3"));
        while let Some(path) = next {
            let page = admin.get(&path).await.ok();
            seqs.extend(
                page.body["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["seq"].as_i64().unwrap()),
            );
            next = page.body["next"].as_str().map(str::to_owned);
        }
        let all: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, all);
        assert!(all.windows(2).all(|w| w[0] > w[1]));
        admin
            .get(&of("action=dropTables"))
            .await
            .failure(400, "ERRCD_BADREQUEST");
        site.stop().await;
    }
}

#[tokio::test]
async fn operators_log_terminals_in_and_off_and_run_a_diagnosis_through_the_worker() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let lane = segment(site.terminal(LANE).as_str());
        let path = |op: &str| format!("/admin/terminals/{lane}/{op}");

        let listed = admin.get("/admin/terminals").await.ok();
        let terminals = listed.body["terminals"].as_array().unwrap();
        assert_eq!(terminals.len(), 2);
        assert_eq!(terminals[1]["terminalID"], site.terminal(PUMP).as_str());
        assert_eq!(terminals[0]["owner"], "local");
        assert_eq!(terminals[0]["poiID"], pos.lane.as_str());

        let diagnosis = post(&admin, &path("diagnosis")).await.ok();
        assert_eq!(diagnosis.body["request"], "diagnosis");
        assert_eq!(diagnosis.body["result"], "Success");
        let terminal = &diagnosis.body["terminal"];
        assert_eq!(terminal["lastDiagnosis"]["result"], "Success");
        assert_eq!(terminal["link"]["state"], "up");
        assert_eq!(terminal["loggedIn"], "yes");

        let logoff = post(&admin, &path("logoff")).await.ok();
        assert_eq!(logoff.body["result"], "Success");
        assert_eq!(logoff.body["terminal"]["loggedIn"], "no");
        assert_eq!(logoff.body["terminal"]["status"], "loggedOut");
        let login = post(&admin, &path("login")).await.ok();
        assert_eq!(login.body["result"], "Success");
        assert_eq!(login.body["terminal"]["loggedIn"], "yes");
        // Busy rules as for payments: a card operation holds the terminal.
        site.lane()
            .update_config(|c| c.latency = std::time::Duration::from_secs(2));
        let started = pos.start_payment(&pos.lane, "5.00").await;
        assert_eq!(started.status, 202, "{started:#?}");
        let id = started.transaction_id();
        let busy = post(&admin, &path("diagnosis"))
            .await
            .failure(409, "ERRCD_POI_BUSY");
        assert!(busy.header("retry-after").is_some());
        let shown = admin.get(&format!("/admin/terminals/{lane}")).await.ok();
        assert_eq!(
            shown.body["terminal"]["runningTransaction"]["transactionID"],
            id.as_str()
        );
        assert_eq!(pos.outcome(&id).await["state"], "approved");

        admin
            .get("/admin/terminals/no-such-terminal")
            .await
            .failure(404, "ERRCD_NOT_FOUND");
        let audit = admin.get("/admin/audit").await.ok();
        let actions: Vec<(&str, &str)> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("terminalDiagnosis", "failure"),
                ("terminalLogin", "success"),
                ("terminalLogoff", "success"),
                ("terminalDiagnosis", "success"),
            ]
        );
        let nodes = admin.get("/admin/nodes").await.ok();
        let node = &nodes.body["nodes"][0];
        assert_eq!(node["nodeID"], "local");
        assert_eq!(node["self"], "yes");
        assert_eq!(node["terminalIDs"].as_array().unwrap().len(), 2);
        site.stop().await;
    }
}
