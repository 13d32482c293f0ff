//! The OPI trace in the operator's transaction view: after a payment through the REST API,
//! `GET /admin/transactions/{id}` lists the XML exchanged with the terminal, card numbers masked,
//! and only the `admin` scope reads it. The trace is written shortly after the frames went, so
//! reads poll with a deadline.

use std::time::Duration;

use tokio::time::Instant;

use eps_e2e::{ApiClient, Backend, SimSite};
use opi_backend::sim::{FULL_PANS, SimConfig};
use serde_json::Value;

/// How long the trace writer may take to store a transaction's frames.
const TRACE_BOUND: Duration = Duration::from_secs(30);

/// The admin view of `id` once its trace holds a `message` frame; fails after [`TRACE_BOUND`]
/// naming what it waited for.
pub(crate) async fn wait_for_trace(admin: &ApiClient, id: &str, message: &str) -> Value {
    let deadline = Instant::now() + TRACE_BOUND;
    loop {
        let view = admin
            .get(&format!("/admin/transactions/{id}"))
            .await
            .ok()
            .body;
        let entries = view["traceEntries"].as_array().cloned().unwrap_or_default();
        if entries.iter().any(|e| e["message"] == message) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "transaction {id}: no {message} in its OPI trace within {TRACE_BOUND:?}: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_admin_view_shows_a_payments_opi_trace_with_card_numbers_masked() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .sim_config(SimConfig {
                full_pan: true,
                ..SimConfig::default()
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let paid = pos.pay(&pos.lane, "12.34").await.ok();
        assert_eq!(paid.state(), "approved");
        let id = paid.transaction_id();

        let view = wait_for_trace(&admin, &id, "CardServiceResponse").await;
        let entries = view["traceEntries"].as_array().unwrap();
        let first = &entries[0];
        assert_eq!(first["message"], "CardServiceRequest", "{entries:#?}");
        assert_eq!(first["requestType"], "CardPayment");
        assert_eq!(first["direction"], "out");
        assert_eq!(first["channel"], 0);
        let request_id = view["terminalRequestID"].as_str().unwrap();
        assert!(first["xml"].as_str().unwrap().contains(request_id));
        let answer = entries
            .iter()
            .find(|e| e["message"] == "CardServiceResponse")
            .unwrap();
        assert_eq!(answer["direction"], "in");
        assert_eq!(answer["channel"], 0);
        assert!(
            entries
                .iter()
                .any(|e| e["message"] == "DeviceRequest" && e["channel"] == 1),
            "the receipts' device requests: {entries:#?}"
        );
        // The terminal sent the whole number; the trace shows it masked.
        let xml = answer["xml"].as_str().unwrap();
        assert!(xml.contains("******"), "a masked card number: {xml}");
        let text = serde_json::to_string(entries).unwrap();
        for pan in FULL_PANS {
            assert!(
                !text.contains(pan),
                "a whole card number in the trace: {text}"
            );
        }

        // A site system's token (read and write, no admin) cannot read it.
        let site_system = site.app.client("pos-2", "read write").await;
        site_system
            .get(&format!("/admin/transactions/{id}"))
            .await
            .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
        site.stop().await;
    }
}
