//! `ApiClient`: a site system's view of the API through a real HTTP client, and `Reply`, a
//! response read once with assertions on its `statusReturn`.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

/// The longest a test waits for an answer (a bound on a hang, not a pause): longer than the
/// longest `Prefer: wait` tests use.
pub const ANSWER_BOUND: std::time::Duration = std::time::Duration::from_secs(90);

/// The header carrying the connection id.
pub const CONNECTION_HEADER: &str = "openretailing-connection-id";

/// A registered client's id and secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub secret: String,
}

/// An HTTP client that sends a bearer token.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

/// A response: status, headers and the JSON body (a JSON string for non-JSON bodies).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Value,
}

/// The public spec's example connect body with `transmission_id`.
pub fn connect_body(transmission_id: u64) -> Value {
    json!({
        "transmissionID": transmission_id,
        "vendor": {"vendorName": "Some vendor", "vendorModel": "The vendor's model",
                   "vendorModelVersion": "1.0.0"},
        "timestamp": "2021-04-08T05:20:00",
        "applicationName": "OpenRetailing Site System",
        "applicationSoftwareVersion": "01.00.00",
        "siteSystemIDs": [
            {"id": "1234567890", "idType": "merchantID", "current": "yes"},
            {"id": "123", "idType": "terminalID", "current": "yes"},
            {"id": "0987654321", "idType": "merchantID", "current": "no"}
        ]
    })
}

impl ApiClient {
    /// A client of the server at `base_url` sending `token`.
    pub fn new(http: reqwest::Client, base_url: String, token: String) -> Self {
        Self {
            http,
            base_url,
            token,
        }
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A request to `path` with the bearer token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(self.request(Method::GET, path)).await
    }

    /// `POST /connection` with `body`, as a heartbeat of `connection` when given.
    pub async fn connect_with(&self, body: &Value, connection: Option<&str>) -> Reply {
        let mut request = self.request(Method::POST, "/connection").json(body);
        if let Some(id) = connection {
            request = request.header(CONNECTION_HEADER, id);
        }
        Reply::read(request).await
    }

    /// Connects with the spec's example and `transmission_id`; returns the connection id.
    pub async fn connect(&self, transmission_id: u64) -> String {
        let reply = self
            .connect_with(&connect_body(transmission_id), None)
            .await
            .ok();
        reply.body["connectionID"]
            .as_str()
            .expect("connectionID")
            .to_owned()
    }

    /// The heartbeat of `connection`.
    pub async fn heartbeat(&self, connection: &str, transmission_id: u64) -> Reply {
        self.connect_with(&connect_body(transmission_id), Some(connection))
            .await
    }

    /// `GET /POIs` on `connection`.
    pub async fn pois(&self, connection: &str) -> Reply {
        Reply::read(
            self.request(Method::GET, "/POIs")
                .header(CONNECTION_HEADER, connection),
        )
        .await
    }

    /// `DELETE /connection` of `connection`.
    pub async fn disconnect(&self, connection: &str) -> Reply {
        Reply::read(
            self.request(Method::DELETE, "/connection")
                .header(CONNECTION_HEADER, connection),
        )
        .await
    }
}

impl Reply {
    /// Sends `request` and reads the whole response; fails the test, naming the request, when
    /// the answer takes longer than [`ANSWER_BOUND`].
    pub async fn read(request: RequestBuilder) -> Self {
        let (client, request) = request.build_split();
        let request = request.expect("a well-formed request");
        let what = format!("{} {}", request.method(), request.url().path());
        let exchange = async {
            let response = client.execute(request).await.expect("request sent");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await.expect("body read");
            (status, headers, text)
        };
        let Ok((status, headers, text)) = tokio::time::timeout(ANSWER_BOUND, exchange).await else {
            panic!("no answer to {what} within {ANSWER_BOUND:?}");
        };
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            headers,
            body,
        }
    }

    /// `statusReturn.error`.
    pub fn error_code(&self) -> &str {
        self.body["statusReturn"]["error"].as_str().unwrap_or("")
    }

    /// `statusReturn.message`.
    pub fn message(&self) -> &str {
        self.body["statusReturn"]["message"].as_str().unwrap_or("")
    }

    /// Asserts a 200 with `result: success` and `ERRCD_OK`.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.status, 200, "expected success: {self:#?}");
        assert_eq!(self.body["statusReturn"]["result"], "success", "{self:#?}");
        assert_eq!(self.error_code(), "ERRCD_OK", "{self:#?}");
        self
    }

    /// Asserts `status` with `result: failure`, `code`, and a full `statusReturn`.
    #[track_caller]
    pub fn failure(self, status: u16, code: &str) -> Self {
        assert_eq!(self.status, status, "{self:#?}");
        let block = &self.body["statusReturn"];
        assert_eq!(block["result"], "failure", "{self:#?}");
        assert_eq!(self.error_code(), code, "{self:#?}");
        assert!(block["timestamp"].is_string(), "{self:#?}");
        assert!(!self.message().is_empty(), "{self:#?}");
        self
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
