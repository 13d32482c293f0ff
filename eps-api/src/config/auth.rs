//! The OAuth2 part of the configuration: the built-in issuer or an external one.

use std::path::PathBuf;

use serde::Deserialize;

/// Where access tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// This EPS issues tokens at `/oauth/token` to clients registered with `eps client add`.
    Builtin,
    /// Another server issues tokens; this EPS validates them against its JWKS.
    External,
}

/// `[auth]` as read.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `builtin` (default) or `external`.
    pub mode: AuthMode,
    /// The `aud` tokens must carry (and the built-in issuer writes).
    pub audience: String,
    /// Built-in: lifetime of issued tokens in seconds.
    pub token_lifetime_secs: u64,
    /// External: the `iss` tokens must carry. Built-in: overrides the public URL as `iss`.
    pub issuer: Option<String>,
    /// External: a JWKS document on disk.
    pub jwks_file: Option<PathBuf>,
    /// External: a JWKS document to fetch (and refetch when an unknown `kid` appears).
    pub jwks_url: Option<String>,
    /// External: seconds between JWKS refetches from `jwks_url`.
    pub jwks_refresh_secs: u64,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Builtin,
            audience: "eps".to_owned(),
            token_lifetime_secs: 3_600,
            issuer: None,
            jwks_file: None,
            jwks_url: None,
            jwks_refresh_secs: 300,
            leeway_secs: 30,
        }
    }
}

/// Where an external issuer's keys are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS file.
    File(PathBuf),
    /// A JWKS URL, refetched every `refresh`.
    Url {
        /// The URL.
        url: String,
        /// Time between refetches.
        refresh: std::time::Duration,
    },
}

/// The validated OAuth2 gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSettings {
    /// Tokens issued here.
    Builtin {
        /// `iss` override; default the public URL.
        issuer: Option<String>,
        /// `aud`.
        audience: String,
        /// Token lifetime.
        token_lifetime: time::Duration,
        /// Clock skew tolerated.
        leeway: time::Duration,
    },
    /// Tokens issued elsewhere.
    External {
        /// Required `iss`.
        issuer: String,
        /// Required `aud`.
        audience: String,
        /// The issuer's keys.
        jwks: JwksSource,
        /// Clock skew tolerated.
        leeway: time::Duration,
    },
}

impl AuthConfig {
    /// Checks the section, adding problems to `problems`.
    pub(crate) fn validate(&self, problems: &mut Vec<String>) -> Option<AuthSettings> {
        let start = problems.len();
        if self.audience.trim().is_empty() {
            problems.push("auth.audience must not be empty".to_owned());
        }
        if self.leeway_secs > 300 {
            problems.push("auth.leeway_secs must be at most 300".to_owned());
        }
        let leeway = time::Duration::seconds(i64::try_from(self.leeway_secs).unwrap_or(300));
        let settings = match self.mode {
            AuthMode::Builtin => {
                if !(60..=86_400).contains(&self.token_lifetime_secs) {
                    problems.push("auth.token_lifetime_secs must be 60..=86400".to_owned());
                }
                if self.jwks_file.is_some() || self.jwks_url.is_some() {
                    problems.push(
                        "auth.jwks_file and auth.jwks_url apply only with auth.mode = \"external\""
                            .to_owned(),
                    );
                }
                AuthSettings::Builtin {
                    issuer: self.issuer.clone(),
                    audience: self.audience.clone(),
                    token_lifetime: time::Duration::seconds(
                        i64::try_from(self.token_lifetime_secs).unwrap_or(3_600),
                    ),
                    leeway,
                }
            }
            AuthMode::External => {
                let issuer = self.issuer.clone().unwrap_or_default();
                if issuer.trim().is_empty() {
                    problems
                        .push("auth.issuer is required with auth.mode = \"external\"".to_owned());
                }
                let jwks = match (&self.jwks_file, &self.jwks_url) {
                    (Some(file), None) => Some(JwksSource::File(file.clone())),
                    (None, Some(url)) => match reqwest::Url::parse(url) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                            Some(JwksSource::Url {
                                url: url.clone(),
                                refresh: std::time::Duration::from_secs(
                                    self.jwks_refresh_secs.max(10),
                                ),
                            })
                        }
                        _ => {
                            problems.push(format!("auth.jwks_url {url:?} is not an http(s) URL"));
                            None
                        }
                    },
                    _ => {
                        problems.push(
                            "exactly one of auth.jwks_file or auth.jwks_url is required with \
                             auth.mode = \"external\""
                                .to_owned(),
                        );
                        None
                    }
                };
                AuthSettings::External {
                    issuer,
                    audience: self.audience.clone(),
                    jwks: jwks?,
                    leeway,
                }
            }
        };
        (problems.len() == start).then_some(settings)
    }
}
