//! `Pos`: a site system that is connected and pays — requests with the connection header,
//! `Idempotency-Key` and `Prefer: wait`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::client::{ApiClient, CONNECTION_HEADER, Reply};

/// How long tests let a call wait for an outcome (a bound on a hang, not a pause).
pub const WAIT: u64 = 60;

/// A connected site system of the default site.
#[derive(Debug, Clone)]
pub struct Pos {
    /// Its HTTP client with a token.
    pub client: ApiClient,
    /// Its connection.
    pub connection: String,
    /// The `poiID` of the lane (`pointOfService` `001`).
    pub lane: String,
    /// The `poiID` of the fuelling point (`fuelingPoint` `001`).
    pub pump: String,
}

/// An amount in euros.
pub fn eur(value: &str) -> Value {
    json!({"value": value, "currency": "EUR"})
}

impl Pos {
    /// Registers a client `name` with `scopes`, connects it and reads its POIs.
    pub async fn connect(app: &TestApp, name: &str, scopes: &str) -> Self {
        let client = app.client(name, scopes).await;
        Self::with_client(client).await
    }

    /// Connects `client` and reads its POIs.
    pub async fn with_client(client: ApiClient) -> Self {
        let connection = client.connect(1).await;
        let pois = client.pois(&connection).await.ok();
        let poi = |kind: &str| {
            pois.body["poiAddresses"]
                .as_array()
                .expect("poiAddresses")
                .iter()
                .find(|p| p["workstationType"] == kind && p["logicalID"] == "001")
                .and_then(|p| p["poiID"].as_str())
                .expect("the POI")
                .to_owned()
        };
        Self {
            lane: poi("pointOfService"),
            pump: poi("fuelingPoint"),
            client,
            connection,
        }
    }

    /// A request on the connection.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, path)
            .header(CONNECTION_HEADER, &self.connection)
    }

    /// `GET path` on the connection.
    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(self.request(Method::GET, path)).await
    }

    /// `GET path` with `Prefer: wait=WAIT`.
    pub async fn get_waiting(&self, path: &str) -> Reply {
        Reply::read(
            self.request(Method::GET, path)
                .header("prefer", format!("wait={WAIT}")),
        )
        .await
    }

    /// `POST path` with `body`, an `Idempotency-Key` when given, and `Prefer: wait=N` when given.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
        wait: Option<u64>,
    ) -> Reply {
        let mut request = self.request(Method::POST, path).json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(wait) = wait {
            request = request.header("prefer", format!("wait={wait}"));
        }
        Reply::read(request).await
    }

    /// Pays `value` EUR at `poi`, waiting for the outcome.
    pub async fn pay(&self, poi: &str, value: &str) -> Reply {
        self.post(
            "/payments",
            &json!({"poiID": poi, "amount": eur(value)}),
            None,
            Some(WAIT),
        )
        .await
    }

    /// Starts a payment of `value` EUR at `poi` without waiting (202 once on the terminal).
    pub async fn start_payment(&self, poi: &str, value: &str) -> Reply {
        self.post(
            "/payments",
            &json!({"poiID": poi, "amount": eur(value)}),
            None,
            None,
        )
        .await
    }

    /// The transaction, once it is resolved (or after [`WAIT`] seconds).
    pub async fn outcome(&self, transaction_id: &str) -> Value {
        let reply = self
            .get_waiting(&format!("/transactions/{transaction_id}"))
            .await
            .ok();
        reply.body["transaction"].clone()
    }
}

impl Reply {
    /// `transaction.transactionID`.
    pub fn transaction_id(&self) -> String {
        self.body["transaction"]["transactionID"]
            .as_str()
            .unwrap_or_else(|| panic!("a transaction in {self:#?}"))
            .to_owned()
    }

    /// `transaction.state`.
    pub fn state(&self) -> &str {
        self.body["transaction"]["state"].as_str().unwrap_or("")
    }
}
