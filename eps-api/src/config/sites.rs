//! Sites, their POIs and each POI's terminal, as configured.

use std::net::SocketAddr;
use std::sync::Arc;

use eps_core::ids::{MerchantId, PoiId, TerminalId};
use eps_core::site::{Poi, Site, SiteDirectory, WorkstationType};
use opi_backend::profile::ProfileRef;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `[[sites]]`: a merchant id and its POIs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The merchant id site systems present in `siteSystemIDs` with `current: "yes"`.
    pub merchant_id: String,
    /// A name for operators; defaults to the merchant id.
    #[serde(default)]
    pub name: Option<String>,
    /// The site's POIs.
    #[serde(default)]
    pub pois: Vec<PoiConfig>,
}

/// `[[sites.pois]]`: one payment position.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoiConfig {
    /// The site's number for the position ("001"), unique within its workstation type.
    pub logical_id: String,
    /// `pointOfService`, `fuelingPoint`, …
    pub workstation_type: String,
    /// A fixed `poiID`; by default one is derived from site, type and logical id.
    #[serde(default)]
    pub poi_id: Option<Uuid>,
    /// The terminal serving the position.
    pub terminal: TerminalConfig,
}

/// `[sites.pois.terminal]`: how the OPI backend reaches the terminal; passed through unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalConfig {
    /// A name for the terminal; default `<merchant>/<workstationType>/<logicalID>`.
    #[serde(default)]
    pub id: Option<String>,
    /// OPI channel 0: the terminal's `host:port` the EPS connects to.
    pub address: String,
    /// OPI channel 1: the address the EPS listens on for the terminal's device requests.
    pub callback: SocketAddr,
    /// The OPI `WorkstationID` the EPS sends.
    pub workstation_id: String,
    /// The terminal profile: a built-in name (`default`, `ccv`, `ep2`), or a table written out
    /// (unset fields take the `default` profile's), e.g. `{ timers = { hard_cap = "120s" } }`.
    #[serde(default)]
    pub profile: ProfileRef,
    /// The OPI `POPID`, when the point of payment is not the workstation.
    #[serde(default)]
    pub pop_id: Option<String>,
    /// The OPI `ApplicationSender` the EPS writes (default `EPS`).
    #[serde(default)]
    pub application_sender: Option<String>,
    /// The address callbacks come from, when it is not the channel-0 host (NAT, proxies).
    #[serde(default)]
    pub callback_source: Option<std::net::IpAddr>,
    /// The currency of amounts the terminal sends without one (default `EUR`).
    #[serde(default)]
    pub currency: Option<String>,
}

/// A configured terminal with the POI it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredTerminal {
    /// The terminal's id.
    pub terminal_id: TerminalId,
    /// The POI it serves.
    pub poi_id: PoiId,
    /// The site of that POI.
    pub merchant_id: MerchantId,
    /// Its configuration.
    pub config: TerminalConfig,
}

/// The validated sites: the directory the domain uses and the terminals for the OPI backend.
#[derive(Debug, Clone)]
pub struct Sites {
    /// Sites and POIs.
    pub directory: Arc<SiteDirectory>,
    /// Every POI's terminal, in configuration order.
    pub terminals: Arc<[ConfiguredTerminal]>,
}

impl Sites {
    /// Builds the sites, adding every problem found to `problems`.
    pub(crate) fn build(configs: &[SiteConfig], problems: &mut Vec<String>) -> Option<Self> {
        let start = problems.len();
        let mut sites = Vec::new();
        let mut terminals = Vec::new();
        for (s, config) in configs.iter().enumerate() {
            let Ok(merchant_id) = MerchantId::parse(&config.merchant_id) else {
                problems.push(format!(
                    "sites[{s}].merchant_id {:?} must be 1..=100 characters without control characters",
                    config.merchant_id
                ));
                continue;
            };
            if merchant_id.as_str() == eps_core::client::ALL_SITES {
                problems.push(format!(
                    "sites[{s}].merchant_id must not be \"{}\": in a site grant it means every site",
                    eps_core::client::ALL_SITES
                ));
                continue;
            }
            let mut pois = Vec::new();
            for (p, poi) in config.pois.iter().enumerate() {
                let at = format!("sites[{s}].pois[{p}]");
                if let Some((poi, terminal)) = build_poi(&merchant_id, poi, &at, problems) {
                    pois.push(poi);
                    terminals.push(terminal);
                }
            }
            sites.push(Site {
                name: config
                    .name
                    .clone()
                    .unwrap_or_else(|| config.merchant_id.clone()),
                merchant_id,
                pois,
            });
        }
        let directory = SiteDirectory::new(sites)
            .map_err(|e| problems.push(format!("sites: {e}")))
            .ok()?;
        (problems.len() == start).then(|| Self {
            directory: Arc::new(directory),
            terminals: terminals.into(),
        })
    }
}

fn build_poi(
    merchant_id: &MerchantId,
    config: &PoiConfig,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<(Poi, ConfiguredTerminal)> {
    let start = problems.len();
    let logical_ok = !config.logical_id.is_empty()
        && config.logical_id.chars().count() <= 40
        && !config.logical_id.chars().any(char::is_control);
    if !logical_ok {
        problems.push(format!(
            "{at}.logical_id {:?} must be 1..=40 characters",
            config.logical_id
        ));
    }
    let workstation_type = WorkstationType::parse(&config.workstation_type)
        .map_err(|e| {
            problems.push(format!(
                "{at}.workstation_type {:?} {e} (1..=40 letters and digits)",
                config.workstation_type
            ))
        })
        .ok();
    let t = &config.terminal;
    if !is_host_port(&t.address) {
        problems.push(format!(
            "{at}.terminal.address {:?} must be host:port",
            t.address
        ));
    }
    if t.workstation_id.is_empty() || t.workstation_id.chars().any(char::is_control) {
        problems.push(format!("{at}.terminal.workstation_id must not be empty"));
    }
    if matches!(&t.profile, ProfileRef::Named(name) if name.is_empty()) {
        problems.push(format!("{at}.terminal.profile must not be empty"));
    } else if let Err(e) = t.profile.resolve() {
        // An unknown profile name or an inline profile that does not hold together.
        problems.push(format!("{at}.terminal.profile: {e}"));
    }
    if let Some(code) = &t.currency
        && eps_core::money::Currency::parse(code).is_err()
    {
        problems.push(format!(
            "{at}.terminal.currency {code:?} is not an ISO 4217 code"
        ));
    }
    let poi_id = config.poi_id.map(PoiId::from_uuid).unwrap_or_else(|| {
        PoiId::derive(merchant_id, &config.workstation_type, &config.logical_id)
    });
    let terminal_name = t.id.clone().unwrap_or_else(|| {
        format!(
            "{merchant_id}/{}/{}",
            config.workstation_type, config.logical_id
        )
    });
    let terminal_id = TerminalId::parse(&terminal_name)
        .map_err(|e| problems.push(format!("{at}.terminal.id {terminal_name:?} {e}")))
        .ok();
    let (Some(workstation_type), Some(terminal_id), true) =
        (workstation_type, terminal_id, problems.len() == start)
    else {
        return None;
    };
    let poi = Poi {
        poi_id,
        logical_id: config.logical_id.clone(),
        workstation_type,
        merchant_id: merchant_id.clone(),
        terminal_id: terminal_id.clone(),
    };
    let terminal = ConfiguredTerminal {
        terminal_id,
        poi_id,
        merchant_id: merchant_id.clone(),
        config: t.clone(),
    };
    Some((poi, terminal))
}

/// True for `host:port` with a non-empty host and a port number.
fn is_host_port(value: &str) -> bool {
    match value.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

/// The built-in site: the public spec's example merchant with one lane and one fuelling point.
pub(super) fn default_sites() -> Vec<SiteConfig> {
    let poi = |workstation_type: &str, workstation_id: &str, port: u16| PoiConfig {
        logical_id: "001".to_owned(),
        workstation_type: workstation_type.to_owned(),
        poi_id: None,
        terminal: TerminalConfig {
            id: None,
            address: format!("127.0.0.1:{port}"),
            callback: SocketAddr::from(([127, 0, 0, 1], port + 5)),
            workstation_id: workstation_id.to_owned(),
            profile: ProfileRef::default(),
            pop_id: None,
            application_sender: None,
            callback_source: None,
            currency: None,
        },
    };
    vec![SiteConfig {
        merchant_id: "1234567890".to_owned(),
        name: Some("Demo site".to_owned()),
        pois: vec![
            poi(WorkstationType::POINT_OF_SERVICE, "POS001", 20002),
            poi(WorkstationType::FUELING_POINT, "FP001", 20012),
        ],
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const TWO_SITES: &str = r#"
[[sites]]
merchant_id = "m1"
[[sites.pois]]
logical_id = "001"
workstation_type = "pointOfService"
terminal = { address = "10.0.0.5:20002", callback = "0.0.0.0:20007", workstation_id = "POS1" }
[[sites.pois]]
logical_id = "002"
workstation_type = "pointOfService"
poi_id = "3e08c0a1-c08b-41b6-a9b9-78cb81b868d9"
terminal = { id = "lane-2", address = "pos2.local:20002", callback = "0.0.0.0:20008", workstation_id = "POS2", profile = "ccv" }
[[sites]]
merchant_id = "m2"
"#;

    #[test]
    fn an_unknown_terminal_profile_is_refused_naming_its_key() {
        let text = TWO_SITES.replace("profile = \"ccv\"", "profile = \"ingenico\"");
        let err = Config::from_toml(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("sites[0].pois[1].terminal.profile"), "{err}");
        assert!(err.contains("ingenico"), "{err}");
    }

    #[test]
    fn sites_pois_and_terminals_from_toml() {
        let settings = Config::from_toml(TWO_SITES).unwrap().validate().unwrap();
        let dir = &settings.sites.directory;
        assert_eq!(dir.sites().len(), 2);
        let m1 = MerchantId::parse("m1").unwrap();
        let lane1 = dir.poi_by_logical_id(&m1, "pointOfService", "001").unwrap();
        assert_eq!(lane1.poi_id, PoiId::derive(&m1, "pointOfService", "001"));
        assert_eq!(lane1.terminal_id.as_str(), "m1/pointOfService/001");
        let lane2 = dir.poi_by_logical_id(&m1, "pointOfService", "002").unwrap();
        assert_eq!(
            lane2.poi_id.to_string(),
            "3e08c0a1-c08b-41b6-a9b9-78cb81b868d9"
        );
        let terminals = &settings.sites.terminals;
        assert_eq!(terminals.len(), 2);
        assert_eq!(terminals[1].terminal_id.as_str(), "lane-2");
        assert_eq!(terminals[1].config.profile, ProfileRef::Named("ccv".into()));
        assert_eq!(terminals[0].config.profile, ProfileRef::default());
    }

    #[test]
    fn a_terminal_profile_may_be_written_inline() {
        let text = r#"
[[sites]]
merchant_id = "m1"
[[sites.pois]]
logical_id = "001"
workstation_type = "pointOfService"
[sites.pois.terminal]
address = "10.0.0.5:20002"
callback = "0.0.0.0:20007"
workstation_id = "POS1"
profile = { write_namespace = false, write_currency = false, reversals = { pre_authorisation = "PaymentReversal" } }
"#;
        let settings = Config::from_toml(text).unwrap().validate().unwrap();
        let ProfileRef::Inline(profile) = &settings.sites.terminals[0].config.profile else {
            panic!("not inline");
        };
        assert!(!profile.write_namespace && !profile.write_currency);
        assert_eq!(profile.reversals.pre_authorisation, "PaymentReversal");
        assert_eq!(profile.reversals.refund, "RefundReversal");
    }

    #[test]
    fn bad_pois_are_reported_with_their_place() {
        let text = r#"
[[sites]]
merchant_id = "m1"
[[sites.pois]]
logical_id = ""
workstation_type = "point of service"
terminal = { address = "nowhere", callback = "0.0.0.0:20007", workstation_id = "" }
"#;
        let err = Config::from_toml(text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        for needle in [
            "sites[0].pois[0].logical_id",
            "sites[0].pois[0].workstation_type",
            "sites[0].pois[0].terminal.address",
            "sites[0].pois[0].terminal.workstation_id",
        ] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
    }

    #[test]
    fn duplicate_pois_are_refused() {
        let text = r#"
[[sites]]
merchant_id = "m1"
[[sites.pois]]
logical_id = "001"
workstation_type = "pointOfService"
terminal = { address = "a:1", callback = "0.0.0.0:1", workstation_id = "A" }
[[sites.pois]]
logical_id = "001"
workstation_type = "pointOfService"
terminal = { id = "other", address = "b:1", callback = "0.0.0.0:2", workstation_id = "B" }
"#;
        let err = Config::from_toml(text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("configured twice"), "{err}");
    }

    #[test]
    fn the_wildcard_is_no_merchant_id() {
        let err = Config::from_toml("[[sites]]\nmerchant_id = \"*\"\n")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sites[0].merchant_id must not be \"*\""),
            "{err}"
        );
    }
}
