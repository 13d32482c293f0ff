//! Two sites for the generated matrices: site A (the default site, its terminals simulated)
//! with one of each resource kind made by its owner, and site B (merchant [`SITE_B`], no POIs)
//! with a site system of its own that tries to reach them.

use eps_api::config::SiteConfig;
use eps_core::event::EventKind;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::backend::Backend;
use crate::client::{ApiClient, Credentials, Reply, connect_body};
use crate::pos::{Pos, WAIT};
use crate::sim::SimSite;

/// Site B's merchant id.
pub const SITE_B: &str = "555";

/// Site A's resources, by the path parameter naming each kind.
#[derive(Debug, Clone)]
pub struct Resources {
    /// An approved payment (`transactionID`).
    pub payment: String,
    /// An approved pre-authorisation, not completed.
    pub authorization: String,
    /// A receipt of the payment (`receiptID`).
    pub receipt: String,
    /// The payment's display prompt (`promptID`).
    pub prompt: String,
    /// A reconciliation of the lane (`reconciliationID`).
    pub reconciliation: String,
    /// The owner's connection (`connectionID`).
    pub connection: String,
    /// The lane's `poiID` and the fuelling point's.
    pub pois: [String; 2],
    /// Site A's country settings (`/countrySettings`, the body's `countrySettings` object).
    pub country_settings: Value,
}

/// Site A with its resources and site B's site system.
pub struct TwoSites {
    /// Site A's EPS and simulators (site B is configured on the same EPS).
    pub site: SimSite,
    /// Site A's owner: every scope, connected.
    pub owner: Pos,
    /// The owner's credentials (for tokens of fewer scopes).
    pub owner_credentials: Credentials,
    /// What the owner made.
    pub resources: Resources,
    /// Site B's site system (`read write`), connected to site B.
    pub outsider: ApiClient,
    /// The outsider's connection.
    pub outsider_connection: String,
}

impl Resources {
    /// The id of site A's resource named by the path parameter `param`; `None` for a parameter
    /// no resource kind answers yet (a new kind: add it to [`Resources`]).
    pub fn for_param(&self, param: &str) -> Option<&str> {
        match param {
            "transactionID" => Some(&self.payment),
            "receiptID" => Some(&self.receipt),
            "promptID" => Some(&self.prompt),
            "reconciliationID" => Some(&self.reconciliation),
            "connectionID" => Some(&self.connection),
            _ => None,
        }
    }

    /// The document's `example` body with site A's ids: its POI (by `poiID`, replacing a
    /// `logicalID` selector, which site B would read as one of its own) and its payment as
    /// `originalTransactionID`; no `posTransactionID` (each call is a new request).
    pub fn body(&self, example: &Value) -> Value {
        let mut body = without_ids(example);
        let Some(object) = body.as_object_mut() else {
            return body;
        };
        let fuel = object
            .get("workstationType")
            .is_some_and(|w| w == "fuelingPoint");
        let by_logical_id =
            object.remove("logicalID").is_some() | object.remove("workstationType").is_some();
        if by_logical_id || object.contains_key("poiID") {
            let poi = &self.pois[usize::from(fuel)];
            object.insert("poiID".into(), Value::String(poi.clone()));
        }
        if object.contains_key("originalTransactionID") {
            object.insert(
                "originalTransactionID".into(),
                Value::String(self.payment.clone()),
            );
        }
        body
    }

    /// Every id of site A's, to look for in what site B is shown.
    pub fn all(&self) -> Vec<&str> {
        let mut all = vec![
            self.payment.as_str(),
            &self.authorization,
            &self.receipt,
            &self.prompt,
            &self.reconciliation,
            &self.connection,
        ];
        all.extend(self.pois.iter().map(String::as_str));
        all
    }

    /// What of site A's an answer to site B shows: an id, or site A's country settings.
    pub fn shown_in(&self, body: &Value) -> Option<String> {
        if body["countrySettings"] == self.country_settings {
            return Some("country settings".to_owned());
        }
        names_any(body, &self.all())
    }
}

impl TwoSites {
    /// Starts both sites on `backend` and makes site A's resources: a payment (with its receipt
    /// and display prompt), a pre-authorisation and a reconciliation.
    pub async fn start(backend: Backend) -> Self {
        let site = SimSite::builder(backend)
            .configure(|config| {
                config.sites.push(SiteConfig {
                    merchant_id: SITE_B.to_owned(),
                    name: None,
                    pois: Vec::new(),
                });
            })
            .start()
            .await;
        let app = &site.app;
        let owner_credentials = app.add_client("owner", "read write admin").await;
        let token = app.token(&owner_credentials).await;
        let owner = Pos::with_client(app.client_with_token(&token)).await;

        let mut events = app.state.events.subscribe();
        let paid = owner.pay(&owner.lane, "10.00").await.ok();
        assert_eq!(paid.state(), "approved", "{paid:#?}");
        let payment = paid.transaction_id();
        let prompt = next_prompt_of(&mut events, &payment).await;
        let receipts = owner
            .get(&format!("/transactions/{payment}/receipts"))
            .await
            .ok();
        let receipt = receipts.body["receipts"][0]["receiptID"]
            .as_str()
            .expect("the payment printed a receipt")
            .to_owned();
        let reserved = owner
            .post(
                "/authorizations",
                &json!({"poiID": owner.pump, "amount": crate::eur("50.00")}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(reserved.state(), "approved", "{reserved:#?}");
        let reconciled = owner
            .post(
                "/reconciliations",
                &json!({"poiID": owner.lane, "closure": "no"}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        let reconciliation = reconciled.body["reconciliation"]["reconciliationID"]
            .as_str()
            .expect("a reconciliation")
            .to_owned();
        let country_settings = json!({"volumeUnit": "LTR", "countryCode": "CH",
                                      "language": "deu", "localCurrencies": ["CHF"]});
        owner
            .post(
                "/countrySettings",
                &json!({ "countrySettings": country_settings }),
                None,
                None,
            )
            .await
            .ok();
        let resources = Resources {
            payment,
            authorization: reserved.transaction_id(),
            receipt,
            prompt,
            reconciliation,
            connection: owner.connection.clone(),
            pois: [owner.lane.clone(), owner.pump.clone()],
            country_settings,
        };

        let outsider = app.client_for("outsider", "read write", SITE_B).await;
        let outsider_connection = connect_to(&outsider, SITE_B).await;
        Self {
            site,
            owner,
            owner_credentials,
            resources,
            outsider,
            outsider_connection,
        }
    }

    /// The EPS.
    pub fn app(&self) -> &TestApp {
        &self.site.app
    }

    /// A token of the owner's with exactly `scopes` (space-separated; a subset of its own).
    pub async fn owner_token(&self, scopes: &str) -> String {
        let app = self.app();
        let reply = Reply::read(app.http.post(app.url("/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", self.owner_credentials.client_id.as_str()),
            ("client_secret", self.owner_credentials.secret.as_str()),
            ("scope", scopes),
        ]))
        .await;
        assert_eq!(reply.status, 200, "token for {scopes:?}: {reply:#?}");
        reply.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Stops everything, after the exact agreement of site A's records with its terminals.
    pub async fn stop(self) {
        self.site.assert_agrees_with_ledgers().await;
        self.site.stop().await;
    }
}

/// Connects `client` as `merchant`; returns the connection id.
pub async fn connect_to(client: &ApiClient, merchant: &str) -> String {
    let mut body = connect_body(1);
    body["siteSystemIDs"] = json!([{"id": merchant, "idType": "merchantID", "current": "yes"}]);
    let reply = client.connect_with(&body, None).await.ok();
    reply.body["connectionID"]
        .as_str()
        .expect("connectionID")
        .to_owned()
}

/// The first prompt announced for `transaction` in the event log.
async fn next_prompt_of(
    events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<eps_core::event::EventRecord>>,
    transaction: &str,
) -> String {
    let wait = async {
        loop {
            let event = events.recv().await.expect("event log open");
            if let EventKind::PromptAvailable {
                prompt_id,
                transaction_id,
                ..
            } = &event.kind
                && transaction_id.as_ref().map(ToString::to_string).as_deref() == Some(transaction)
            {
                return prompt_id.to_string();
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(WAIT), wait)
        .await
        .expect("the payment's prompt within the bound")
}

/// The document's `example` body without its `posTransactionID`.
pub fn without_ids(example: &Value) -> Value {
    let mut body = example.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("posTransactionID");
    }
    body
}

/// Whether `body` (as JSON text) names any of `ids`.
pub fn names_any(body: &Value, ids: &[&str]) -> Option<String> {
    let text = body.to_string();
    ids.iter()
        .find(|id| text.contains(**id))
        .map(|id| (*id).to_owned())
}
