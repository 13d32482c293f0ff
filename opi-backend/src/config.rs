//! Per-terminal configuration, embedded in the EPS configuration (`[[terminals]]`).

use std::net::{IpAddr, SocketAddr};

use eps_core::ids::TerminalId;
use eps_core::money::Currency;
use serde::{Deserialize, Serialize};

use crate::profile::{ProfileError, ProfileRef, TerminalProfile};

/// One OPI terminal the EPS drives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpiTerminalConfig {
    /// The terminal's id in the EPS.
    pub id: TerminalId,
    /// The terminal's channel-0 address, `host:port` (the EPS connects here).
    pub channel0: String,
    /// Where the EPS listens for this terminal's channel-1 callbacks; terminals may share one.
    pub channel1_listen: SocketAddr,
    /// The address callbacks come from, when it is not the channel-0 host (NAT, proxies).
    #[serde(default)]
    pub callback_source: Option<IpAddr>,
    /// The `WorkstationID` the EPS writes and expects back on callbacks.
    pub workstation_id: String,
    /// The `POPID`, when the point of payment is not the workstation.
    #[serde(default)]
    pub pop_id: Option<String>,
    /// The `ApplicationSender` the EPS writes.
    #[serde(default = "default_application_sender")]
    pub application_sender: String,
    /// The terminal profile: a built-in name or an inline table.
    #[serde(default)]
    pub profile: ProfileRef,
    /// The currency of amounts the terminal sends without one (totals, recovery answers).
    #[serde(default = "default_currency")]
    pub currency: Currency,
}

fn default_currency() -> Currency {
    Currency::EUR
}

fn default_application_sender() -> String {
    "EPS".to_owned()
}

/// Why a terminal configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The profile is unknown or invalid.
    #[error("terminal {terminal}: {source}")]
    Profile {
        /// The terminal.
        terminal: TerminalId,
        /// What is wrong.
        source: ProfileError,
    },
    /// The WorkstationID is empty.
    #[error("terminal {0}: workstation_id must not be empty")]
    EmptyWorkstation(TerminalId),
    /// The channel-0 address is not `host:port`.
    #[error("terminal {terminal}: channel0 {address:?} is not host:port")]
    BadAddress {
        /// The terminal.
        terminal: TerminalId,
        /// The value given.
        address: String,
    },
    /// Two terminals share an id.
    #[error("terminal id {0} is configured twice")]
    DuplicateId(TerminalId),
}

impl OpiTerminalConfig {
    /// A configuration with the `default` profile and `ApplicationSender` `EPS`.
    pub fn new(
        id: TerminalId,
        channel0: impl Into<String>,
        channel1_listen: SocketAddr,
        workstation_id: impl Into<String>,
    ) -> Self {
        Self {
            id,
            channel0: channel0.into(),
            channel1_listen,
            callback_source: None,
            workstation_id: workstation_id.into(),
            pop_id: None,
            application_sender: default_application_sender(),
            profile: ProfileRef::default(),
            currency: default_currency(),
        }
    }

    /// Checks the fields and resolves the profile.
    pub fn validate(&self) -> Result<TerminalProfile, ConfigError> {
        if self.workstation_id.trim().is_empty() {
            return Err(ConfigError::EmptyWorkstation(self.id.clone()));
        }
        let port_ok = self
            .channel0
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(ConfigError::BadAddress {
                terminal: self.id.clone(),
                address: self.channel0.clone(),
            });
        }
        self.profile
            .resolve()
            .map_err(|source| ConfigError::Profile {
                terminal: self.id.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::AbortPlacement;

    #[test]
    fn parses_named_and_inline_profiles() {
        let named: OpiTerminalConfig = toml::from_str(
            r#"
            id = "lane-1"
            channel0 = "10.0.0.7:4100"
            channel1_listen = "0.0.0.0:4102"
            workstation_id = "1"
            profile = "ccv"
            "#,
        )
        .unwrap();
        assert_eq!(named.application_sender, "EPS");
        assert_eq!(
            named.validate().unwrap().abort,
            AbortPlacement::SameConnection
        );

        let inline: OpiTerminalConfig = toml::from_str(
            r#"
            id = "lane-2"
            channel0 = "terminal.local:20002"
            channel1_listen = "0.0.0.0:20007"
            workstation_id = "2"
            pop_id = "001"
            [profile]
            abort = "same_connection"
            "#,
        )
        .unwrap();
        assert_eq!(
            inline.validate().unwrap().abort,
            AbortPlacement::SameConnection
        );
    }

    #[test]
    fn refuses_bad_fields() {
        let mut config = OpiTerminalConfig::new(
            TerminalId::parse("t").unwrap(),
            "127.0.0.1",
            "127.0.0.1:0".parse().unwrap(),
            "1",
        );
        assert!(matches!(
            config.validate(),
            Err(ConfigError::BadAddress { .. })
        ));
        config.channel0 = "127.0.0.1:4100".into();
        config.workstation_id = " ".into();
        assert!(matches!(
            config.validate(),
            Err(ConfigError::EmptyWorkstation(_))
        ));
        config.workstation_id = "1".into();
        config.profile = ProfileRef::Named("unknown".into());
        assert!(matches!(
            config.validate(),
            Err(ConfigError::Profile { .. })
        ));
    }
}
