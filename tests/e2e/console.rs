//! The operator console in a real headless browser: log in, watch a payment appear without a
//! reload, resolve an `unknown` transaction with a reason (and find it in the audit log), and
//! force a site system's disconnect (its event stream ends). Screenshots of each step go to
//! `target/console-screenshots/`.

use std::path::PathBuf;

use eps_e2e::browser::Browser;
use eps_e2e::sse::SseStream;
use eps_e2e::{Backend, CONNECTION_HEADER, SimSite};
use opi_backend::sim::{Scenario, ScriptMatch};
use reqwest::Method;

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
}

#[tokio::test]
async fn an_operator_works_the_console() {
    let Some(browser) = Browser::launch(&screenshots()).await else {
        return;
    };
    let site = SimSite::builder(Backend::Sqlite)
        .configure(|c| {
            c.payments.recovery_attempts = 2;
            c.payments.recovery_interval_secs = 3600;
        })
        .start()
        .await;
    let operator = site.app.add_client("operator", "admin").await;
    let admin = site.app.client_with_token(&site.app.token(&operator).await);
    let pos = site.pos("pos-1", "read write").await;

    // Every asset comes from the binary under a strict Content-Security-Policy.
    for asset in ["/console/", "/console/console.js", "/console/console.css"] {
        let response = site.app.http.get(site.app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
    }

    // Log in with the admin client's credentials; the live stream connects.
    browser.open(&site.app.url("/console/")).await;
    browser
        .type_into("#login-client", &operator.client_id)
        .await;
    browser.type_into("#login-secret", &operator.secret).await;
    browser.click("#login-submit").await;
    browser.wait_text("#who", "Logged in as operator").await;
    browser.wait_text("#stream", "Live").await;
    browser
        .wait_text(
            "#terminal-table tbody",
            site.terminal(eps_e2e::LANE).as_str(),
        )
        .await;
    browser.screenshot("01-logged-in-terminals").await;
    let stored = browser
        .script("return [sessionStorage.length, localStorage.length, document.cookie]")
        .await;
    assert_eq!(
        stored,
        serde_json::json!([0, 0, ""]),
        "the token stays in memory"
    );

    // A payment made through the REST API appears without a reload.
    browser.click("nav button[data-page=transactions]").await;
    browser.wait_text("#tx-table tbody", "(none)").await;
    let paid = pos.pay(&pos.lane, "12.34").await.ok();
    let paid_id = paid.transaction_id();
    let row = format!("#tx-table tr[data-id=\"{paid_id}\"]");
    browser.wait_text(&row, "approved").await;
    browser.wait_text(&row, "12.34 EUR").await;
    browser.screenshot("02-payment-appears-live").await;
    // The trace is written a moment after the frames went: the detail shows it once stored.
    crate::opi_trace::wait_for_trace(&admin, &paid_id, "CardServiceResponse").await;
    browser.click(&row).await;
    browser.wait_text("#detail-journal tbody", "sent").await;
    browser.wait_text("#detail-fields", "approved").await;
    browser
        .wait_text("#detail-trace", "CardServiceRequest CardPayment")
        .await;
    browser
        .wait_text("#detail-trace", "CardServiceResponse CardPayment")
        .await;
    let markup = browser
        .script("return document.querySelectorAll('#detail-trace details pre *').length")
        .await;
    assert_eq!(markup, serde_json::json!(0), "the XML is shown as text");
    browser.screenshot("03-transaction-detail").await;

    // An unknown outcome is resolved from the console with a reason.
    for _ in 0..2 {
        site.lane().script(
            ScriptMatch::RequestType("RepeatLastMessage".into()),
            Scenario::DropAfterRequest,
        );
    }
    let lost = pos.pay(&pos.lane, "15.66").await.ok();
    assert_eq!(lost.state(), "unknown", "{lost:#?}");
    let lost_id = lost.transaction_id();
    site.lane().clear_script();
    browser.click("nav button[data-page=unknown]").await;
    browser
        .wait_text(
            &format!("#unknown-table tr[data-id=\"{lost_id}\"]"),
            "15.66",
        )
        .await;
    browser.wait_text("#unknown-count", "(1)").await;
    browser
        .click(&format!("button[data-resolve=\"{lost_id}\"]"))
        .await;
    let stan = site
        .terminal_record(&lost_id)
        .await
        .stan
        .expect("the terminal's STAN");
    browser.select("#resolve-state", "approved").await;
    browser.type_into("#resolve-stan", &stan).await;
    let reason = "terminal journal shows STAN approved; checked by phone with the site";
    browser.type_into("#resolve-note", reason).await;
    browser.screenshot("04-resolve-form").await;
    browser.click("#resolve-submit").await;
    browser.wait_text("#resolve-result", "now approved").await;
    browser.wait_text("#unknown-count", "(0)").await;
    browser.screenshot("05-resolved").await;
    assert_eq!(pos.outcome(&lost_id).await["state"], "approved");
    browser.click("nav button[data-page=audit]").await;
    browser.wait_text("#audit-table tbody", reason).await;
    browser.screenshot("06-audit-log").await;
    let audit = admin
        .get(&format!(
            "/admin/audit?action=resolveTransaction&target={lost_id}"
        ))
        .await
        .ok();
    let entry = &audit.body["entries"][0];
    assert_eq!(entry["actor"], "operator");
    assert_eq!(entry["reason"], reason);
    assert_eq!(entry["result"], "success");

    // A forced disconnect ends the site system's event stream.
    let mut events = SseStream::expect(
        pos.client
            .request(Method::GET, "/events")
            .header(CONNECTION_HEADER, &pos.connection),
    )
    .await;
    browser.click("nav button[data-page=connections]").await;
    browser
        .click(&format!("button[data-disconnect=\"{}\"]", pos.connection))
        .await;
    browser.wait_text("#conn-result", "Disconnected").await;
    events.rest().await;
    browser.screenshot("07-disconnected").await;
    pos.client
        .pois(&pos.connection)
        .await
        .failure(404, "ERRCD_UNKNOWN_CONNECTION");

    // Nodes and the event feed; then a narrow screen.
    browser.click("nav button[data-page=nodes]").await;
    browser.wait_text("#node-table tbody", "local").await;
    browser.click("nav button[data-page=events]").await;
    browser.wait_text("#feed", "transactionUpdatedEvent").await;
    browser.screenshot("08-live-events").await;
    browser.resize(390, 844).await;
    browser.click("nav button[data-page=terminals]").await;
    browser
        .wait_text(
            "#terminal-table tbody",
            site.terminal(eps_e2e::LANE).as_str(),
        )
        .await;
    browser.screenshot("09-narrow-terminals").await;

    browser.quit().await;
    site.stop().await;
}
