//! The statuses and headers every operation shares, added to the document in one place: each
//! route documents what is particular to it, and this fills in the rest from what the operation
//! takes (a token, the connection header, a JSON body, path parameters, `Prefer`,
//! `Idempotency-Key`). Rows a route wrote itself keep their description and body; the one 503
//! body is [`UnavailableResponse`] whatever is unavailable.

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::{PartialSchema, ToSchema};

use crate::dto::reconciliation::ReconciliationBody;
use crate::dto::status::StatusReturn;
use crate::dto::transaction::TransactionBody;

/// The body of every 503: the terminal or the database is unavailable. A card operation whose
/// terminal could not be reached carries its `transaction` (ended `failed`: nothing was sent)
/// or `reconciliation`; other 503s carry only `statusReturn`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnavailableResponse {
    /// The status block: `ERRCD_POI_UNAVAILABLE`, `ERRCD_STORAGE_UNAVAILABLE` or
    /// `ERRCD_NOT_READY`.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The card operation that could not be sent, if the request started one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TransactionBody>,
    /// The reconciliation that could not be sent, if the request started one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<ReconciliationBody>,
}

/// What an operation takes, read from its own entry in the document.
#[derive(Debug, Default)]
struct Takes {
    token: bool,
    connection: bool,
    json_body: bool,
    path_parameters: bool,
    query_parameters: bool,
    prefer: bool,
    idempotency_key: bool,
    statusreturn_errors: bool,
}

impl Takes {
    fn of(path: &str, operation: &Value) -> Self {
        let mut takes = Self {
            token: operation["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            }),
            json_body: operation["requestBody"]["content"]
                .get("application/json")
                .is_some(),
            // RFC 6749 errors, not statusReturn: the issuer's own routes.
            statusreturn_errors: !path.starts_with("/oauth/") && !path.starts_with("/.well-known/"),
            ..Self::default()
        };
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap_or_default();
            match (parameter["in"].as_str().unwrap_or_default(), name) {
                ("header", "openretailing-connection-id") => takes.connection = true,
                ("header", "Prefer") => takes.prefer = true,
                ("header", "Idempotency-Key") => takes.idempotency_key = true,
                ("path", _) => takes.path_parameters = true,
                ("query", _) => takes.query_parameters = true,
                _ => {}
            }
        }
        takes
    }

    /// The error rows this operation can answer, with their generic descriptions.
    fn errors(&self) -> Vec<(&'static str, &'static str)> {
        let internal = (
            "500",
            "`ERRCD_INTERNAL`: a fault of the EPS; the cause is in its log",
        );
        if !self.statusreturn_errors {
            // The issuer's own errors are RFC 6749 bodies; only a fault is a statusReturn.
            return vec![internal];
        }
        let mut rows = Vec::new();
        if self.connection || self.json_body || self.prefer || self.query_parameters {
            rows.push((
                "400",
                "`ERRCD_BADREQUEST`: a header (`openretailing-connection-id` missing or outside \
                 1..1024 characters, `Prefer`, `Idempotency-Key`), a parameter or a body field \
                 is missing or malformed; the message names it",
            ));
        }
        if self.token {
            rows.push((
                "401",
                "`ERRCD_UNAUTHORIZED`: no bearer token, or an invalid one",
            ));
            rows.push((
                "403",
                "`ERRCD_INSUFFICIENT_SCOPE`: the token lacks the route's scope; \
                 `ERRCD_FORBIDDEN`: the connection is another client's; \
                 `ERRCD_SITE_NOT_GRANTED`: the client is not granted the connection's site",
            ));
        }
        if self.connection || self.path_parameters {
            rows.push((
                "404",
                "`ERRCD_UNKNOWN_CONNECTION` (connect again), or the resource named in the path \
                 is not one of the caller's site",
            ));
        }
        if self.idempotency_key {
            rows.push((
                "409",
                "`ERRCD_IDEMPOTENCY_MISMATCH`: the `Idempotency-Key` was used with another request",
            ));
        }
        if self.connection {
            rows.push(("410", "`ERRCD_CONNECTION_EXPIRED`: connect again"));
        }
        if self.json_body {
            rows.push(("413", "`ERRCD_PAYLOAD_TOO_LARGE`: the body is over 64 KiB"));
            rows.push((
                "415",
                "`ERRCD_UNSUPPORTED_MEDIA_TYPE`: the body is not `application/json`",
            ));
        }
        rows.push((
            "500",
            "`ERRCD_INTERNAL`: a fault of the EPS; the cause is in its log",
        ));
        if self.token {
            rows.push((
                "503",
                "`ERRCD_STORAGE_UNAVAILABLE`: the database is unavailable; retry later",
            ));
        }
        rows
    }
}

/// Adds the shared statuses, response headers and the 503 body to every operation.
pub(super) fn complete(doc: &mut Value) {
    let unavailable = serde_json::to_value(UnavailableResponse::schema()).unwrap_or_default();
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.insert("UnavailableResponse".to_owned(), unavailable);
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut() {
            key_pattern(operation);
            let takes = Takes::of(path, operation);
            add_error_rows(operation, &takes);
            add_headers(operation, &takes);
        }
    }
}

fn add_error_rows(operation: &mut Value, takes: &Takes) {
    let responses = object(&mut operation["responses"]);
    for (status, description) in takes.errors() {
        responses.entry(status).or_insert_with(|| {
            json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
            })
        });
    }
    if let Some(row) = responses.get_mut("503") {
        row["content"] = json!({"application/json": {"schema": {"$ref": "#/components/schemas/UnavailableResponse"}}});
    }
}

fn add_headers(operation: &mut Value, takes: &Takes) {
    let responses = object(&mut operation["responses"]);
    for (status, row) in responses.iter_mut() {
        let headers = object(&mut row["headers"]);
        match status.as_str() {
            "401" => insert(
                headers,
                "WWW-Authenticate",
                "RFC 6750 challenge: `Bearer realm=\"eps\"`, with `error` and `error_description` when a token was sent",
            ),
            "403" if takes.token => insert(
                headers,
                "WWW-Authenticate",
                "With `ERRCD_INSUFFICIENT_SCOPE`: `Bearer … error=\"insufficient_scope\", scope=\"…\"`",
            ),
            "409" if takes.json_body && takes.prefer => insert(
                headers,
                "Retry-After",
                "With `ERRCD_POI_BUSY`: seconds until the terminal may be free",
            ),
            "429" | "503" => insert(
                headers,
                "Retry-After",
                "Seconds to wait before retrying (sent when the wait is known: `ERRCD_POI_UNAVAILABLE`, the token endpoint's limits)",
            ),
            "200" | "202" => {
                if takes.prefer {
                    insert(
                        headers,
                        "Preference-Applied",
                        "`wait=N` when the `Prefer: wait=N` was honoured",
                    );
                }
                if takes.idempotency_key {
                    insert(
                        headers,
                        "Idempotent-Replayed",
                        "`true` when this is the stored answer of an earlier request with the same key",
                    );
                }
                if status == "202" {
                    insert(
                        headers,
                        "Location",
                        "The resource to follow for the outcome, e.g. `/transactions/{transactionID}`",
                    );
                }
            }
            _ => {}
        }
        if headers.is_empty() {
            row.as_object_mut().map(|r| r.remove("headers"));
        }
    }
}

/// The object at `value`, made one if it is not.
fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

fn insert(headers: &mut Map<String, Value>, name: &str, description: &str) {
    headers.entry(name).or_insert_with(|| {
        json!({"description": description, "schema": {"type": if name == "Retry-After" { "integer" } else { "string" }}})
    });
}

/// Makes `statusReturn.error` open: the known codes stay documented (`ErrorCode`), and any other
/// `ERRCD_*` string is valid too, so a client generated today reads a code added tomorrow.
pub(super) fn open_error_code(doc: &mut Value) {
    let property = &mut doc["components"]["schemas"]["StatusReturn"]["properties"]["error"];
    if property.is_object() {
        *property = json!({
            "description": "The code; `ERRCD_OK` on success. The known codes are `ErrorCode`; \
                            the list grows, so a client must read a code it does not know as a \
                            failure described by `message` (and by the HTTP status).",
            "anyOf": [
                {"$ref": "#/components/schemas/ErrorCode"},
                {"type": "string", "pattern": "^ERRCD_[A-Z0-9_]+$"}
            ]
        });
    }
}

/// What an `Idempotency-Key` can be: visible ASCII (inner spaces allowed), as HTTP carries it.
fn key_pattern(operation: &mut Value) {
    let parameters = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut);
    for parameter in parameters.into_iter().flatten() {
        if parameter["in"] == "header" && parameter["name"] == "Idempotency-Key" {
            parameter["schema"]["pattern"] =
                Value::String("^[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?$".to_owned());
        }
    }
}
