//! The API surface, enumerated twice: from the router itself (the routes `eps_api::routes::router`
//! really serves, walked in its debug form) and from the OpenAPI document (each operation's
//! declared scope, whether it is site-scoped, its parameters, documented statuses and body
//! example). [`Surface::of`] keeps both lists; `e2e::matrix_auth` fails on any difference and
//! generates its cases from the operations, so a new route is covered by construction.
//!
//! axum has no route listing; its `Debug` output names every route's path and its `Allow`
//! header (the methods it answers). [`routed`] reads those two facts and fails loudly when the
//! format changes (a route list that misses `POST /payments` is refused), never silently empty.

use std::collections::{BTreeMap, BTreeSet};

use eps_core::client::Scope;
use reqwest::Method;
use serde_json::Value;

use crate::app::TestApp;
use crate::client::CONNECTION_HEADER;

/// A method and a path template (`/transactions/{transactionID}`).
pub type Route = (Method, String);

/// One operation of the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Its method.
    pub method: Method,
    /// Its path template.
    pub path: String,
    /// `operationId`.
    pub id: String,
    /// The OAuth2 scope its `security` requires; `None` for a public operation.
    pub scope: Option<Scope>,
    /// Whether it acts through a site system's connection (it takes the connection header):
    /// everything it touches belongs to the connection's site.
    pub site_scoped: bool,
    /// The names of its path parameters, in order.
    pub path_params: Vec<String>,
    /// The statuses its `responses` document, each with its description (which names the
    /// `ERRCD_` codes it may carry).
    pub statuses: BTreeMap<u16, String>,
    /// Its JSON request body, built from the schema's `example` (`{}` when the schema has none),
    /// when it takes one.
    pub body: Option<Value>,
    /// Whether a success is a stream (`text/event-stream` or a WebSocket upgrade), never read to
    /// its end.
    pub streams: bool,
}

impl Operation {
    /// Whether the document says `status` with `code` can answer this operation: the status is
    /// listed, and its description names the code (when it names any code).
    pub fn documents(&self, status: u16, code: &str) -> bool {
        self.statuses.get(&status).is_some_and(|description| {
            !description.contains("ERRCD_") || (!code.is_empty() && description.contains(code))
        })
    }
}

/// The routes the router serves and the operations the document declares.
#[derive(Debug)]
pub struct Surface {
    /// What the router serves (`HEAD` left out: axum adds it to every `GET`).
    pub routed: BTreeSet<Route>,
    /// What the document declares.
    pub documented: Vec<Operation>,
}

impl Surface {
    /// The surface of `app`'s server: its router (with `app`'s state) and the served document.
    pub fn of(app: &TestApp) -> Self {
        let router = eps_api::routes::router(app.state.clone());
        let document: Value =
            serde_json::from_str(eps_api::openapi::document_json()).expect("the document is JSON");
        Self {
            routed: routed(&router),
            documented: documented(&document),
        }
    }

    /// Routes served but not documented, and operations documented but not served, leaving out
    /// the static pages that carry no API: the documentation viewer (`/docs/`) and the operator
    /// console (`/console/`), whose script calls the documented admin routes.
    pub fn differences(&self) -> (Vec<Route>, Vec<Route>) {
        let documented: BTreeSet<Route> = self
            .documented
            .iter()
            .map(|op| (op.method.clone(), op.path.clone()))
            .collect();
        let only_routed = self
            .routed
            .difference(&documented)
            .filter(|(_, path)| !path.starts_with("/docs") && !path.starts_with("/console"))
            .cloned()
            .collect();
        let only_documented = documented.difference(&self.routed).cloned().collect();
        (only_routed, only_documented)
    }

    /// The documented operations that need a token, in document order.
    pub fn scoped(&self) -> impl Iterator<Item = &Operation> {
        self.documented.iter().filter(|op| op.scope.is_some())
    }
}

/// Every (method, path) the router answers, read from its `Debug` form: its path table
/// (`RouteId(n): "/path"`) and each route's `Allow` header (`allow_header: Bytes(b"GET,HEAD")`).
/// Nested services without a method table (`/docs`) count as `GET`.
pub fn routed(router: &axum::Router) -> BTreeSet<Route> {
    let text = format!("{router:?}");
    // The main path router comes first; the fallback router's routes are not the API's.
    let main = text
        .split_once("fallback_router:")
        .map_or(text.as_str(), |(main, _)| main);
    let (endpoints, table) = main
        .rsplit_once("paths: {")
        .expect("axum's Router debug form names its paths (format changed?)");
    let paths = route_ids(table)
        .into_iter()
        .map(|(id, rest)| (id, quoted(rest).expect("a quoted path")))
        .collect::<BTreeMap<_, _>>();
    let mut routes = BTreeSet::new();
    for (id, rest) in route_ids(endpoints) {
        let Some(path) = paths.get(&id) else { continue };
        let methods = if rest.starts_with("MethodRouter(") {
            let allow = rest
                .split_once("allow_header: ")
                .map(|(_, after)| after)
                .expect("a method router names its Allow header");
            allow
                .strip_prefix("Bytes(b\"")
                .and_then(|bytes| bytes.split_once('"'))
                .map(|(list, _)| list.to_owned())
                .unwrap_or_default()
        } else {
            "GET".to_owned()
        };
        for method in methods.split(',').filter(|m| !m.is_empty() && *m != "HEAD") {
            routes.insert((
                Method::from_bytes(method.as_bytes()).expect("a method"),
                path.clone(),
            ));
        }
    }
    assert!(
        routes.contains(&(Method::POST, "/payments".to_owned())),
        "the router walk missed POST /payments: axum's Router debug form changed? {routes:?}"
    );
    routes
}

/// The `RouteId(n): …` entries of a debug map, each with the text after its colon.
fn route_ids(text: &str) -> Vec<(u32, &str)> {
    text.match_indices("RouteId(")
        .filter_map(|(at, marker)| {
            let rest = &text[at + marker.len()..];
            let (number, rest) = rest.split_once(')')?;
            let rest = rest.strip_prefix(": ")?;
            Some((number.parse().ok()?, rest))
        })
        .collect()
}

/// The Rust string literal `text` starts with, unescaped enough for a path.
fn quoted(text: &str) -> Option<String> {
    let text = text.strip_prefix('"')?;
    let end = text.find('"')?;
    Some(text[..end].to_owned())
}

/// Every operation of the OpenAPI `document`.
pub fn documented(document: &Value) -> Vec<Operation> {
    let mut operations = Vec::new();
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item") {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if method == Method::OPTIONS || !op.is_object() {
                continue;
            }
            operations.push(operation(document, method, path, op));
        }
    }
    operations
}

fn operation(document: &Value, method: Method, path: &str, op: &Value) -> Operation {
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let path_params = params
        .iter()
        .filter(|p| p["in"] == "path")
        .map(|p| p["name"].as_str().expect("a name").to_owned())
        .collect();
    let site_scoped = params
        .iter()
        .any(|p| p["in"] == "header" && p["name"] == CONNECTION_HEADER);
    let statuses = op["responses"]
        .as_object()
        .expect("responses")
        .iter()
        .map(|(code, response)| {
            let description = response["description"].as_str().unwrap_or_default();
            (
                code.parse().expect("a numeric status"),
                description.to_owned(),
            )
        })
        .collect::<BTreeMap<u16, String>>();
    let streams = statuses.contains_key(&101)
        || op["responses"]["200"]["content"]
            .as_object()
            .is_some_and(|content| content.contains_key("text/event-stream"));
    let body = op["requestBody"]["content"]["application/json"]["schema"]
        .as_object()
        .map(|schema| example(document, &Value::Object(schema.clone())));
    Operation {
        id: op["operationId"].as_str().unwrap_or_default().to_owned(),
        scope: declared_scope(&op["security"]),
        method,
        path: path.to_owned(),
        site_scoped,
        path_params,
        statuses,
        body,
        streams,
    }
}

/// The OAuth2 scope a `security` list requires: `None` when one of its alternatives is
/// anonymous (`{}`) or it names no `oauth2` scope.
fn declared_scope(security: &Value) -> Option<Scope> {
    let alternatives = security.as_array()?;
    if alternatives
        .iter()
        .any(|a| a.as_object().is_some_and(|o| o.is_empty()))
    {
        return None;
    }
    let scopes: Vec<&str> = alternatives
        .iter()
        .filter_map(|a| a["oauth2"].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        scopes.len() <= 1,
        "one scope per operation expected, found {scopes:?}"
    );
    scopes
        .first()
        .map(|s| Scope::parse(s).expect("a known scope"))
}

/// The example of `schema` (following `$ref`s), or `{}` when it has none.
fn example(document: &Value, schema: &Value) -> Value {
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().expect("a schema name");
        return example(document, &document["components"]["schemas"][name]);
    }
    Value::Object(Default::default())
}
