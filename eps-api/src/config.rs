//! Configuration: built-in defaults, then a TOML file, then `EPS_*` environment variables,
//! validated once at start-up into [`Settings`].
//!
//! Environment variables name a key path with `__` between levels and lower-case keys, e.g.
//! `EPS_LISTEN=0.0.0.0:8080`, `EPS_AUTH__MODE=external`, `EPS_CONNECTION__MISSED_HEARTBEATS=5`.
//! Only the top-level keys of [`Config`] are read from the environment; sites come from the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use eps_core::connection::ConnectionPolicy;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod auth;
#[cfg(test)]
mod deploy;
mod runtime;
mod sites;

pub use auth::{AuthConfig, AuthMode, AuthSettings, JwksSource, TokenLimitsConfig};
pub use runtime::{EventSettings, EventsConfig, PaymentsConfig};
pub use sites::{ConfiguredTerminal, PoiConfig, SiteConfig, Sites, TerminalConfig};

/// Top-level keys that may be set through `EPS_*` variables.
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "public_url",
    "connection",
    "auth",
    "log",
    "payments",
    "events",
];

/// The whole configuration as read; [`Config::validate`] turns it into [`Settings`].
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the REST API listens on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the token-signing key.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default `sqlite://<data_dir>/eps.db`.
    pub database_url: Option<SecretString>,
    /// The URL clients reach this EPS at; the token issuer and metadata use it.
    /// Default: `http://` plus the bound listen address.
    pub public_url: Option<String>,
    /// Heartbeat timing.
    pub connection: ConnectionConfig,
    /// The OAuth2 gate.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
    /// Payment service tunables.
    pub payments: PaymentsConfig,
    /// Event log tunables.
    pub events: EventsConfig,
    /// Sites and their POIs.
    pub sites: Vec<SiteConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_url: None,
            connection: ConnectionConfig::default(),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            payments: PaymentsConfig::default(),
            events: EventsConfig::default(),
            sites: sites::default_sites(),
        }
    }
}

/// Heartbeat timing of site-system connections.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Seconds between the heartbeats a site system is expected to send.
    pub heartbeat_interval_secs: u64,
    /// Intervals without a heartbeat after which a connection expires.
    pub missed_heartbeats: u32,
    /// Seconds an expired connection is remembered, to answer "expired" rather than "unknown".
    pub expired_retention_secs: u64,
    /// Seconds between sweeps that forget connections past their retention.
    pub purge_interval_secs: u64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval_secs: 30,
            missed_heartbeats: 3,
            expired_retention_secs: 86_400,
            purge_interval_secs: 300,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` for people, `json` for collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `eps_api=debug,info`; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or has the wrong shape.
    #[error("cannot read configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// Values were read but do not make sense together.
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the REST API listens on.
    pub listen: SocketAddr,
    /// Directory for the database and the signing key.
    pub data_dir: PathBuf,
    /// The database URL.
    pub database_url: SecretString,
    /// The configured public URL, without a trailing slash.
    pub public_url: Option<String>,
    /// Heartbeat timing.
    pub policy: ConnectionPolicy,
    /// Seconds between sweeps of expired connections.
    pub purge_interval: std::time::Duration,
    /// The OAuth2 gate.
    pub auth: AuthSettings,
    /// Sites, POIs and their terminals.
    pub sites: Sites,
    /// Logging.
    pub log: LogConfig,
    /// Payment service tunables.
    pub payments: eps_core::payments::PaymentPolicy,
    /// Event log tunables.
    pub events: EventSettings,
}

impl Config {
    /// Reads defaults, then `file` (when given; it must exist), then `EPS_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::Invalid(vec![format!(
                    "configuration file {} does not exist",
                    file.display()
                )]));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(env_provider());
        figment
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    /// Reads defaults and `file` only (no environment); for tests and tools.
    pub fn load_file_only(file: &Path) -> Result<Self, ConfigError> {
        Figment::new()
            .merge(Toml::file_exact(file))
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    /// Parses a TOML document on top of the defaults (no environment); for tests and tools.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Figment::new()
            .merge(Toml::string(text))
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    /// The database URL in force: the configured one or SQLite in the data directory.
    pub fn effective_database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("eps.db").display()
            )),
        }
    }

    /// Checks every value and builds the sites; lists every problem at once.
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let mut problems = Vec::new();
        let c = &self.connection;
        if c.heartbeat_interval_secs == 0 || c.heartbeat_interval_secs > 3_600 {
            problems.push("connection.heartbeat_interval_secs must be 1..=3600".to_owned());
        }
        if c.missed_heartbeats == 0 || c.missed_heartbeats > 100 {
            problems.push("connection.missed_heartbeats must be 1..=100".to_owned());
        }
        if c.purge_interval_secs == 0 {
            problems.push("connection.purge_interval_secs must be at least 1".to_owned());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            problems.push(format!("log.filter {:?}: {e}", self.log.filter));
        }
        if self.data_dir.as_os_str().is_empty() {
            problems.push("data_dir must not be empty".to_owned());
        }
        let database_url = self.effective_database_url();
        let url = database_url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            problems.push(
                "database_url must start with sqlite:, postgres:// or postgresql://".to_owned(),
            );
        }
        let public_url = match self
            .public_url
            .as_deref()
            .map(validate_public_url)
            .transpose()
        {
            Ok(url) => url,
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let auth = self.auth.validate(&mut problems);
        let payments = self.payments.policy(&mut problems);
        let events = self.events.settings(&mut problems);
        let sites = Sites::build(&self.sites, &mut problems);
        let (Some(auth), Some(sites), true) = (auth, sites, problems.is_empty()) else {
            return Err(ConfigError::Invalid(problems));
        };
        Ok(Settings {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            database_url,
            public_url,
            policy: ConnectionPolicy {
                heartbeat_interval: time::Duration::seconds(secs_i64(c.heartbeat_interval_secs)),
                missed_heartbeats: c.missed_heartbeats,
                expired_retention: time::Duration::seconds(secs_i64(c.expired_retention_secs)),
            },
            purge_interval: std::time::Duration::from_secs(c.purge_interval_secs),
            auth,
            sites,
            log: self.log.clone(),
            payments,
            events,
        })
    }
}

/// The `EPS_*` environment provider, limited to the keys [`Config`] has.
fn env_provider() -> Env {
    Env::prefixed("EPS_")
        .filter(|key| {
            // Keys arrive here with their case as set (lower-casing happens later).
            let key = key.as_str().to_ascii_lowercase();
            let top = key.split("__").next().unwrap_or_default();
            ENV_KEYS.contains(&top)
        })
        .split("__")
}

/// Accepts an absolute `http`/`https` URL and drops a trailing slash.
fn validate_public_url(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("public_url {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "public_url {url:?} must be an http:// or https:// URL"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Seconds as a signed count, saturating (config values are far below the limit).
fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_with_the_demo_site() {
        let settings = Config::default().validate().unwrap();
        assert_eq!(
            settings.policy.heartbeat_interval,
            time::Duration::seconds(30)
        );
        assert_eq!(settings.policy.missed_heartbeats, 3);
        assert_eq!(
            settings.database_url.expose_secret(),
            "sqlite://./data/eps.db"
        );
        let site = &settings.sites.directory.sites()[0];
        assert_eq!(site.merchant_id.as_str(), "1234567890");
        assert_eq!(site.pois.len(), 2);
        assert!(matches!(settings.auth, AuthSettings::Builtin { .. }));
    }

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let config = Config::from_toml(
            "listen = \"0.0.0.0:9000\"\n[connection]\nheartbeat_interval_secs = 10\n",
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.connection.heartbeat_interval_secs, 10);
        assert_eq!(config.connection.missed_heartbeats, 3);
        let err = Config::from_toml("lisen = \"0.0.0.0:9000\"").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn every_problem_is_listed() {
        let config = Config::from_toml(
            "public_url = \"ftp://x\"\n[connection]\nheartbeat_interval_secs = 0\n\
             missed_heartbeats = 0\n[auth]\nmode = \"external\"\n",
        )
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        for needle in [
            "heartbeat_interval_secs",
            "missed_heartbeats",
            "public_url",
            "auth.issuer",
            "jwks_file or auth.jwks_url",
        ] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/eps.toml");
        let example = Config::load_file_only(&path).unwrap();
        let example = example.validate().unwrap();
        let defaults = Config::default().validate().unwrap();
        assert_eq!(example.listen, defaults.listen);
        assert_eq!(example.policy, defaults.policy);
        assert_eq!(example.auth, defaults.auth);
        assert_eq!(example.events, defaults.events);
        assert_eq!(example.sites.terminals, defaults.sites.terminals);
        assert_eq!(
            example.sites.directory.sites(),
            defaults.sites.directory.sites()
        );
    }

    #[test]
    fn a_bad_log_filter_is_refused_naming_its_key() {
        let config = Config::from_toml("[log]\nfilter = \"eps_api=loud\"\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("log.filter \"eps_api=loud\""), "{err}");
        let good = Config::from_toml("[log]\nfilter = \"eps_api=debug,info\"\n").unwrap();
        good.validate().unwrap();
    }

    #[test]
    fn database_url_is_secret_in_debug_output() {
        let config = Config::from_toml("database_url = \"postgres://u:hunter2@db/eps\"").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        let settings = config.validate().unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
