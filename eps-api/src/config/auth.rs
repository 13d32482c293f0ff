//! The OAuth2 part of the configuration: the built-in issuer (with its token endpoint's limits)
//! or an external one (its JWKS over https, and the claim its tokens carry the site grant in).

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::auth::throttle::{BucketLimit, TokenLimits};
use crate::auth::verify::SITES_CLAIM;

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
    /// Built-in: the signing key (P-256 PKCS#8 PEM) every node sharing the database is given.
    /// Unset: one generated in the data directory (enough for a single node).
    pub signing_key_file: Option<PathBuf>,
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
    /// External: the claim carrying the sites a token may reach (merchant ids, or `["*"]`).
    pub sites_claim: String,
    /// Built-in: limits of `/oauth/token`.
    pub token_limits: TokenLimitsConfig,
}

/// `[auth.token_limits]` as read: the built-in token endpoint's concurrency and failure rates.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenLimitsConfig {
    /// Secret checks (argon2, on blocking threads) running at once.
    pub concurrency: usize,
    /// Milliseconds a request may wait for a free check before it gets 429.
    pub queue_wait_ms: u64,
    /// Failed attempts a `client_id` may make in a burst…
    pub client_failure_burst: u32,
    /// …and regains per minute.
    pub client_failures_per_minute: u32,
    /// Failed attempts a source address may make in a burst…
    pub address_failure_burst: u32,
    /// …and regains per minute.
    pub address_failures_per_minute: u32,
    /// Buckets remembered per kind (client ids, addresses); memory stays bounded.
    pub tracked_keys: usize,
}

impl Default for TokenLimitsConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            queue_wait_ms: 250,
            client_failure_burst: 10,
            client_failures_per_minute: 10,
            address_failure_burst: 30,
            address_failures_per_minute: 60,
            tracked_keys: 10_000,
        }
    }
}

impl TokenLimitsConfig {
    fn limits(&self, problems: &mut Vec<String>) -> TokenLimits {
        let mut check = |ok: bool, problem: &str| {
            if !ok {
                problems.push(format!("auth.token_limits.{problem}"));
            }
        };
        check(
            (1..=64).contains(&self.concurrency),
            "concurrency must be 1..=64",
        );
        check(
            (1..=10_000).contains(&self.queue_wait_ms),
            "queue_wait_ms must be 1..=10000",
        );
        for (name, value) in [
            ("client_failure_burst", self.client_failure_burst),
            (
                "client_failures_per_minute",
                self.client_failures_per_minute,
            ),
            ("address_failure_burst", self.address_failure_burst),
            (
                "address_failures_per_minute",
                self.address_failures_per_minute,
            ),
        ] {
            check(
                (1..=100_000).contains(&value),
                &format!("{name} must be 1..=100000"),
            );
        }
        check(
            (100..=10_000_000).contains(&self.tracked_keys),
            "tracked_keys must be 100..=10000000",
        );
        TokenLimits {
            hashing_slots: self.concurrency,
            slot_wait: std::time::Duration::from_millis(self.queue_wait_ms),
            per_client: BucketLimit {
                burst: self.client_failure_burst,
                per_minute: self.client_failures_per_minute,
            },
            per_address: BucketLimit {
                burst: self.address_failure_burst,
                per_minute: self.address_failures_per_minute,
            },
            tracked: self.tracked_keys,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Builtin,
            audience: "eps".to_owned(),
            token_lifetime_secs: 3_600,
            signing_key_file: None,
            issuer: None,
            jwks_file: None,
            jwks_url: None,
            jwks_refresh_secs: 300,
            leeway_secs: 30,
            sites_claim: SITES_CLAIM.to_owned(),
            token_limits: TokenLimitsConfig::default(),
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
        /// The signing key file every node is given; `None`: generated in the data directory.
        signing_key_file: Option<PathBuf>,
        /// Clock skew tolerated.
        leeway: time::Duration,
        /// Limits of the token endpoint.
        limits: TokenLimits,
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
        /// The claim carrying the site grant.
        sites_claim: String,
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
                if self.sites_claim != SITES_CLAIM {
                    problems.push(format!(
                        "auth.sites_claim applies only with auth.mode = \"external\" (the \
                         built-in issuer writes \"{SITES_CLAIM}\")"
                    ));
                }
                AuthSettings::Builtin {
                    issuer: self.issuer.clone(),
                    audience: self.audience.clone(),
                    token_lifetime: time::Duration::seconds(
                        i64::try_from(self.token_lifetime_secs).unwrap_or(3_600),
                    ),
                    signing_key_file: self.signing_key_file.clone(),
                    leeway,
                    limits: self.token_limits.limits(problems),
                }
            }
            AuthMode::External => {
                if self.signing_key_file.is_some() {
                    problems.push(
                        "auth.signing_key_file applies only with auth.mode = \"builtin\" (an \
                         external issuer signs with its own key)"
                            .to_owned(),
                    );
                }
                let issuer = self.issuer.clone().unwrap_or_default();
                if issuer.trim().is_empty() {
                    problems
                        .push("auth.issuer is required with auth.mode = \"external\"".to_owned());
                }
                let jwks = match (&self.jwks_file, &self.jwks_url) {
                    (Some(file), None) => Some(JwksSource::File(file.clone())),
                    (None, Some(url)) => match jwks_url(url) {
                        Ok(()) => Some(JwksSource::Url {
                            url: url.clone(),
                            refresh: std::time::Duration::from_secs(self.jwks_refresh_secs.max(10)),
                        }),
                        Err(problem) => {
                            problems.push(problem);
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
                if self.sites_claim.trim().is_empty() {
                    problems.push("auth.sites_claim must not be empty".to_owned());
                }
                AuthSettings::External {
                    issuer,
                    audience: self.audience.clone(),
                    jwks: jwks?,
                    leeway,
                    sites_claim: self.sites_claim.clone(),
                }
            }
        };
        (problems.len() == start).then_some(settings)
    }
}

/// Accepts an `https://` URL, or `http://` to a loopback address (a sidecar or a test): keys
/// fetched in clear from elsewhere could be swapped on the way.
fn jwks_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("auth.jwks_url {url:?} is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "auth.jwks_url {url:?} must be https:// (plain http only to a loopback address)"
        )),
        _ => Err(format!("auth.jwks_url {url:?} must be an https:// URL")),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{AuthSettings, Config};

    fn problems(toml: &str) -> String {
        match Config::from_toml(toml).unwrap().validate() {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    const EXTERNAL: &str = "[auth]\nmode = \"external\"\nissuer = \"https://idp.example\"\n";

    #[test]
    fn jwks_urls_are_https_or_loopback() {
        for ok in [
            "https://idp.example/jwks",
            "http://127.0.0.1:8081/jwks.json",
            "http://[::1]/jwks",
            "http://localhost:9000/certs",
        ] {
            let err = problems(&format!("{EXTERNAL}jwks_url = \"{ok}\"\n"));
            assert!(err.is_empty(), "{ok}: {err}");
        }
        for bad in [
            "http://idp.example/jwks",
            "http://10.0.0.1/jwks",
            "ftp://idp.example/jwks",
            "not a url",
        ] {
            let err = problems(&format!("{EXTERNAL}jwks_url = \"{bad}\"\n"));
            assert!(err.contains("auth.jwks_url"), "{bad}: {err}");
        }
        assert!(
            problems(&format!(
                "{EXTERNAL}jwks_url = \"http://idp.example/jwks\"\n"
            ))
            .contains("https://")
        );
    }

    #[test]
    fn the_sites_claim_is_named_for_external_issuers_only() {
        let config = Config::from_toml(&format!(
            "{EXTERNAL}jwks_file = \"/x.json\"\nsites_claim = \"eps_sites\"\n"
        ))
        .unwrap();
        match config.validate().unwrap().auth {
            AuthSettings::External { sites_claim, .. } => assert_eq!(sites_claim, "eps_sites"),
            other => panic!("{other:?}"),
        }
        let default = Config::from_toml(&format!("{EXTERNAL}jwks_file = \"/x.json\"\n")).unwrap();
        assert!(matches!(
            default.validate().unwrap().auth,
            AuthSettings::External { sites_claim, .. } if sites_claim == "sites"
        ));
        assert!(problems("[auth]\nsites_claim = \"eps_sites\"\n").contains("auth.sites_claim"));
        assert!(
            problems(&format!(
                "{EXTERNAL}jwks_file = \"/x.json\"\nsites_claim = \" \"\n"
            ))
            .contains("auth.sites_claim")
        );
    }

    #[test]
    fn token_limits_default_and_are_checked() {
        let settings = Config::default().validate().unwrap();
        let AuthSettings::Builtin { limits, .. } = settings.auth else {
            panic!("built-in by default");
        };
        assert_eq!(limits.hashing_slots, 2);
        assert_eq!(limits.per_client.burst, 10);
        let err = problems(
            "[auth.token_limits]\nconcurrency = 0\nqueue_wait_ms = 0\naddress_failures_per_minute = 0\n",
        );
        for needle in [
            "token_limits.concurrency",
            "token_limits.queue_wait_ms",
            "token_limits.address_failures_per_minute",
        ] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
        let tuned = Config::from_toml("[auth.token_limits]\nconcurrency = 4\n").unwrap();
        let AuthSettings::Builtin { limits, .. } = tuned.validate().unwrap().auth else {
            panic!("built-in");
        };
        assert_eq!(limits.hashing_slots, 4);
    }
}
