//! Readiness and store failures end to end: PostgreSQL reached through a TCP link the test cuts
//! and restores. While the database is away `/readyz` answers 503 `ERRCD_NOT_READY`, calls that
//! need the store answer 503 `ERRCD_STORAGE_UNAVAILABLE` (and no payment reaches a terminal),
//! `/healthz` still answers; once it is back, the same server is ready and pays again.
//!
//! PostgreSQL only: an embedded SQLite database has no link to lose. Its file is opened once and
//! held by the process (a file removed or made unreadable stays readable through the open
//! handles), so "the database goes away" has no SQLite counterpart short of a failing disk.

use std::net::SocketAddr;

use eps_e2e::proxy::LinkProxy;
use eps_e2e::{Backend, Reply, SimSite};

/// The PostgreSQL test database behind a cuttable link, or `None` when it is not configured.
async fn postgres_behind_a_link() -> Option<(LinkProxy, String)> {
    let Some(Backend::Postgres(url)) = Backend::postgres() else {
        return None;
    };
    let mut through = reqwest::Url::parse(&url).expect("a PostgreSQL URL");
    let host = through.host_str().expect("a host").to_owned();
    let port = through.port().unwrap_or(5432);
    let target: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .expect("the database host resolves")
        .next()
        .expect("an address");
    let proxy = LinkProxy::start(target).await;
    through.set_host(Some("127.0.0.1")).expect("host");
    through
        .set_port(Some(proxy.address().port()))
        .expect("port");
    Some((proxy, through.to_string()))
}

#[tokio::test]
async fn a_database_that_goes_away_and_comes_back() {
    let Some((link, url)) = postgres_behind_a_link().await else {
        return;
    };
    let site = SimSite::start(Backend::Postgres(url)).await;
    let pos = site.pos("pos-1", "read write").await;
    let ready = || Reply::read(site.app.http.get(site.app.url("/readyz")));
    let health = || Reply::read(site.app.http.get(site.app.url("/healthz")));
    ready().await.ok();
    assert_eq!(pos.pay(&pos.lane, "5.00").await.ok().state(), "approved");

    link.cut();
    let not_ready = ready().await.failure(503, "ERRCD_NOT_READY");
    assert!(not_ready.message().contains("store"), "{not_ready:#?}");
    health().await.ok();
    let sent_before = site.lane().ledger().received().len();
    pos.pay(&pos.lane, "6.00")
        .await
        .failure(503, "ERRCD_STORAGE_UNAVAILABLE");
    pos.get("/transactions")
        .await
        .failure(503, "ERRCD_STORAGE_UNAVAILABLE");
    assert_eq!(
        site.lane().ledger().received().len(),
        sent_before,
        "nothing reached the terminal while the store was away"
    );

    link.restore();
    ready().await.ok();
    assert_eq!(pos.pay(&pos.lane, "7.00").await.ok().state(), "approved");
    let listed = pos.get("/transactions").await.ok();
    assert_eq!(listed.body["transactions"].as_array().unwrap().len(), 2);
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}
