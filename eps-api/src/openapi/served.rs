//! The document as one server serves it: its `servers` entry is the server's public URL, and
//! with an external issuer the built-in issuer's routes and the Basic scheme are left out and
//! the OAuth2 flow names that issuer. `spec/openapi.json` is the built-in default.

use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

use crate::config::{AuthSettings, Config};

/// The routes only the built-in issuer has.
const ISSUER_PATHS: [&str; 3] = [
    "/oauth/token",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
];

/// Who issues the tokens a served document advertises.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Issuer {
    /// The built-in issuer at `/oauth/token`.
    Builtin,
    /// An external issuer, by its `iss`.
    External(String),
}

impl Issuer {
    /// The issuer of a validated configuration.
    pub fn of(auth: &AuthSettings) -> Self {
        match auth {
            AuthSettings::Builtin { .. } => Self::Builtin,
            AuthSettings::External { issuer, .. } => Self::External(issuer.clone()),
        }
    }
}

/// The public URL of the default configuration (the committed document's server).
pub(super) fn default_server() -> String {
    format!("http://{}", Config::default().listen)
}

/// `doc` for a server at `public_url` whose tokens come from `issuer`, as pretty JSON.
pub(super) fn render(mut doc: Value, public_url: &str, issuer: &Issuer) -> String {
    doc["servers"] = json!([{"url": public_url, "description": "This EPS"}]);
    if let Issuer::External(iss) = issuer {
        if let Some(paths) = doc["paths"].as_object_mut() {
            for path in ISSUER_PATHS {
                paths.remove(path);
            }
        }
        let schemes = &mut doc["components"]["securitySchemes"];
        if let Some(schemes) = schemes.as_object_mut() {
            schemes.remove("client_secret_basic");
        }
        let oauth2 = &mut schemes["oauth2"];
        oauth2["flows"]["clientCredentials"]["tokenUrl"] = Value::String(iss.clone());
        oauth2["description"] = Value::String(format!(
            "OAuth2 client credentials from the external issuer {iss} (its token endpoint is \
             in its own metadata); tokens carry the client's sites in the configured claim."
        ));
    }
    let mut json = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the document: {e}\"}}"));
    json.push('\n');
    json
}

/// The last document rendered: for which public URL and issuer, and the JSON.
type Rendered = Option<(String, Issuer, Arc<str>)>;

/// The served document for `public_url` and `issuer`, rendered once per process.
pub fn served_json(public_url: &str, issuer: &Issuer) -> Arc<str> {
    static LAST: OnceLock<Mutex<Rendered>> = OnceLock::new();
    let last = LAST.get_or_init(|| Mutex::new(None));
    let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((url, by, json)) = last.as_ref()
        && url == public_url
        && by == issuer
    {
        return json.clone();
    }
    let json: Arc<str> = render(super::contract_value(), public_url, issuer).into();
    *last = Some((public_url.to_owned(), issuer.clone(), json.clone()));
    json
}
