//! The OpenAPI document: each route module contributes its `Doc`; this file adds the metadata,
//! the security schemes, the `ERRCD_*` table and the Swagger UI path; [`common`] adds the
//! statuses and headers every operation shares, [`events`] the event union's discriminator, and
//! [`served`] the parts that depend on the running configuration. `spec/openapi.json` is this
//! document for the default configuration, committed, and a test fails when the two differ.

use std::sync::OnceLock;

use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi as Document};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorCode;
use crate::routes;

mod common;
mod events;
mod requests;
mod served;

pub use common::UnavailableResponse;
pub use served::{Issuer, served_json};

const DESCRIPTION: &str = "\
An Open Retailing EPS (Electronic Payment Server) API. The public Open Retailing EPS API is \
followed exactly where it is public (`POST /connection`, `DELETE /connection`, `GET /POIs`, \
the `statusReturn` block); everything else is designed in its style and listed in \
`spec/DEVIATIONS.md`.

**Authentication.** OAuth2 client credentials: obtain a token at `POST /oauth/token` (built-in \
issuer) and send `Authorization: Bearer <token>`. Scopes: `read` (hold a connection, read its \
site's data), `write` (start payments, answer prompts), `admin` (operator routes). A missing or \
invalid token gets 401 with `WWW-Authenticate: Bearer`; a missing scope gets 403 \
(`insufficient_scope`). A connection belongs to the client that opened it.

**Sites.** A client is granted the sites it may use; its tokens carry them in the `sites` claim \
(merchant ids, or `[\"*\"]` for every site). A connect for any other site, and any call on a \
connection whose site was revoked since, gets 403 `ERRCD_SITE_NOT_GRANTED` naming the site. \
`POST /oauth/token` answers 429 (`temporarily_unavailable`, `Retry-After`) past its limits on \
failed attempts and concurrent secret checks.

**Connections.** `POST /connection` opens one; send its `connectionID` in the \
`openretailing-connection-id` header on every call and repeat `POST /connection` with that \
header as the heartbeat. After the configured number of missed heartbeats (default 3 × 30 s) the \
connection expires and calls answer `ERRCD_CONNECTION_EXPIRED`; connect again.

**Events.** `GET /events` (Server-Sent Events) or `GET /events/ws` (WebSocket) streams the \
connection's site's events; `Last-Event-ID` (or `lastEventID`) replays what was missed from the \
durable log. Each `data:` line or text message is one `EventMessage`.

**Errors.** Every response, errors included, carries `statusReturn` \
`{timestamp, result, error, message}` (except the RFC 6749 bodies of `/oauth/token`). Request \
bodies are JSON of at most 64 KiB.

";

#[derive(OpenApi)]
#[openapi(
    info(title = "Open Retailing EPS API", license(name = "Apache-2.0", identifier = "Apache-2.0")),
    tags(
        (name = "connection", description = "Contains EPS connection functions"),
        (name = "poi", description = "Contains the list of functions related to POI (Point of Interaction) registration."),
        (name = "dca", description = "This Data Configuration API (DCA) contains EPS DatAdmin functions."),
        (name = "payments", description = "Payments, authorizations, completions, reversals, refunds, receipts, prompts and reconciliations on the caller's POIs (ours; see spec/DEVIATIONS.md)"),
        (name = "events", description = "Unsolicited events over Server-Sent Events and WebSocket, with durable replay"),
        (name = "admin", description = "Operator inspection and control (scope `admin`)"),
        (name = "oauth", description = "The built-in OAuth2 issuer (client credentials)"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    ),
    modifiers(&Additions)
)]
struct ApiDoc;

struct Additions;

impl Modify for Additions {
    fn modify(&self, doc: &mut Document) {
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.info.description = Some(format!(
            "{DESCRIPTION}| error | HTTP status | meaning |\n|---|---|---|\n{}",
            ErrorCode::markdown_table()
                .lines()
                .skip(2)
                .map(|line| format!("{line}\n"))
                .collect::<String>()
        ));
        let components = doc.components.get_or_insert_with(Default::default);
        let scopes = Scopes::from_iter([
            ("read", "Grants read access"),
            ("write", "Grants write access"),
            ("admin", "Grants access to admin operations"),
        ]);
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/oauth/token",
                    scopes,
                ))],
                "OAuth2 client credentials; tokens are ES256 JWTs (built-in issuer) or come from \
                 the configured external issuer, and carry the client's sites in the `sites` \
                 claim (its name is configurable for an external issuer).",
            )),
        );
        components.add_security_scheme(
            "client_secret_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        let ui = OperationBuilder::new()
            .tag("operations")
            .operation_id(Some("docs"))
            .summary(Some("Swagger UI"))
            .description(Some("An offline Swagger UI for this document."))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The Swagger UI page")
                    .content(
                        "text/html",
                        Content::new(None::<utoipa::openapi::RefOr<utoipa::openapi::Schema>>),
                    )
                    .build(),
            );
        doc.paths
            .add_path_operation("/docs/", vec![HttpMethod::Get], ui);
    }
}

/// The whole document.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    for part in routes::docs() {
        doc.merge(part);
    }
    doc
}

/// The document with the shared statuses, headers and the event discriminator, before the
/// parts a configuration decides.
fn contract_value() -> Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    events::discriminate(&mut doc);
    common::open_error_code(&mut doc);
    requests::tighten(&mut doc);
    common::complete(&mut doc);
    doc
}

/// The document of the default configuration as pretty JSON with a final newline, as committed
/// in `spec/openapi.json`.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        served::render(
            contract_value(),
            &served::default_server(),
            &Issuer::Builtin,
        )
    })
}

#[cfg(test)]
mod tests {
    //! The spec drift checks. `EPS_UPDATE_SPEC=1 cargo test -p eps-api spec_` rewrites the
    //! committed files from the code instead of comparing (`scripts/update-spec` does that).

    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;

    const TABLE_BEGIN: &str = "<!-- error-codes:begin -->\n";
    const TABLE_END: &str = "<!-- error-codes:end -->";

    fn spec_file(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../spec")
            .join(name)
    }

    fn updating() -> bool {
        std::env::var("EPS_UPDATE_SPEC").is_ok_and(|v| v == "1")
    }

    #[test]
    fn spec_openapi_json_is_what_the_code_generates() {
        let path = spec_file("openapi.json");
        if updating() {
            std::fs::write(&path, document_json()).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == document_json(),
            "spec/openapi.json differs from the code; run scripts/update-spec and review the diff"
        );
    }

    #[test]
    fn spec_deviations_list_every_error_code_as_the_code_has_it() {
        let path = spec_file("DEVIATIONS.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, rest) = text.split_once(TABLE_BEGIN).expect("table start marker");
        let (_, tail) = rest.split_once(TABLE_END).expect("table end marker");
        let expected = format!(
            "{head}{TABLE_BEGIN}{}{TABLE_END}{tail}",
            ErrorCode::markdown_table()
        );
        if updating() {
            std::fs::write(&path, &expected).unwrap();
        }
        assert!(
            text == expected,
            "the error table of spec/DEVIATIONS.md differs from ErrorCode; run scripts/update-spec"
        );
    }

    #[test]
    fn spec_deviations_name_every_path_and_property() {
        let text = std::fs::read_to_string(spec_file("DEVIATIONS.md")).unwrap();
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        let mut missing = Vec::new();
        for path in doc["paths"].as_object().unwrap().keys() {
            if !text.contains(&format!("`{path}`")) {
                missing.push(format!("path {path}"));
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            let properties = schema["properties"].as_object().into_iter().flatten();
            for (property, _) in properties {
                if !text.contains(&format!("`{property}`")) {
                    missing.push(format!("{name}.{property}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "spec/DEVIATIONS.md does not mention: {missing:?}"
        );
    }

    #[test]
    fn every_operation_declares_its_security_and_tag() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                assert!(operation["tags"].is_array(), "{method} {path} has no tag");
                if path != "/docs/" {
                    assert!(
                        operation["security"].is_array(),
                        "{method} {path} does not declare its security"
                    );
                }
            }
        }
    }

    #[test]
    fn every_event_names_itself_and_the_union_discriminates() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let union = &schemas["EventMessage"];
        assert_eq!(union["discriminator"]["propertyName"], "event");
        let mapping = union["discriminator"]["mapping"].as_object().unwrap();
        assert_eq!(mapping.len(), union["oneOf"].as_array().unwrap().len());
        // A message as GET /events sends it, checked against the schema its name maps to.
        let message = serde_json::to_value(crate::dto::event::EventMessage::PoiStatus(
            crate::dto::event::PoiStatusEvent {
                event_id: "7".into(),
                timestamp: "2026-01-05T09:00:00.000Z".into(),
                poi_id: "3e08c0a1-c08b-41b6-a9b9-78cb81b868d9".into(),
                status: "online".into(),
            },
        ))
        .unwrap();
        let name = message["event"].as_str().unwrap();
        let reference = mapping[name].as_str().unwrap();
        let schema = &schemas[reference.trim_start_matches("#/components/schemas/")];
        assert_eq!(schema["properties"]["event"]["enum"][0], name);
        let properties = schema["properties"].as_object().unwrap();
        for required in schema["required"].as_array().unwrap() {
            let required = required.as_str().unwrap();
            assert!(message.get(required).is_some(), "{name} lacks {required}");
        }
        for field in message.as_object().unwrap().keys() {
            assert!(
                properties.contains_key(field),
                "{name}.{field} is not documented"
            );
        }
    }

    #[test]
    fn every_operation_documents_the_shared_errors_with_status_return() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                assert!(responses.contains_key("500"), "{method} {path}: no 500");
                let takes_body = operation["requestBody"]["content"]
                    .get("application/json")
                    .is_some();
                if takes_body && !path.starts_with("/oauth/") {
                    for status in ["400", "413", "415"] {
                        assert!(
                            responses.contains_key(status),
                            "{method} {path}: no {status}"
                        );
                    }
                }
                if let Some(unavailable) = responses.get("503") {
                    assert_eq!(
                        unavailable["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/UnavailableResponse",
                        "{method} {path}: 503 body"
                    );
                }
                if let Some(unauthorized) = responses.get("401") {
                    assert!(
                        unauthorized["headers"].get("WWW-Authenticate").is_some(),
                        "{method} {path}: 401 without WWW-Authenticate"
                    );
                }
            }
        }
    }

    #[test]
    fn error_codes_are_documented_but_open() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        let error = &doc["components"]["schemas"]["StatusReturn"]["properties"]["error"];
        let any_of = error["anyOf"].as_array().unwrap();
        assert_eq!(any_of[0]["$ref"], "#/components/schemas/ErrorCode");
        assert_eq!(any_of[1]["type"], "string");
    }

    #[test]
    fn the_served_document_follows_the_configuration() {
        let builtin: Value =
            serde_json::from_str(&served_json("https://eps.example", &Issuer::Builtin)).unwrap();
        assert_eq!(builtin["servers"][0]["url"], "https://eps.example");
        assert!(builtin["paths"].get("/oauth/token").is_some());
        let external: Value = serde_json::from_str(&served_json(
            "https://eps.example",
            &Issuer::External("https://idp.example/".into()),
        ))
        .unwrap();
        for path in ["/oauth/token", "/.well-known/jwks.json"] {
            assert!(external["paths"].get(path).is_none(), "{path} advertised");
        }
        let flow = &external["components"]["securitySchemes"]["oauth2"]["flows"];
        assert_eq!(
            flow["clientCredentials"]["tokenUrl"],
            "https://idp.example/"
        );
        let committed: Value = serde_json::from_str(document_json()).unwrap();
        assert_eq!(committed["servers"][0]["url"], "http://127.0.0.1:8080");
    }
}
