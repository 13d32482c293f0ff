//! Tests that keep `deploy/` and the README's configuration table in step with [`Config`]:
//! the example file holds every key at its default, the table documents every key, every
//! `EPS_*` variable the container files set is a real key, and their configuration loads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use figment::Figment;
use figment::providers::{Format, Toml};

use super::{Config, ENV_KEYS};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every key of [`Config`] as a dotted path (`auth.token_limits.concurrency`), read from the
/// field names its `Debug` output shows; `sites` is one key (an array of tables).
fn config_keys() -> BTreeSet<String> {
    let debug = format!("{:#?}", Config::default());
    let mut keys = BTreeSet::new();
    let mut path: Vec<&str> = Vec::new();
    let mut skipping = 0_usize;
    for line in debug.lines().skip(1) {
        let line = line.trim();
        if skipping > 0 {
            if line.starts_with(['}', ']', ')']) {
                skipping -= 1;
            }
            if line.ends_with(['{', '[', '(']) {
                skipping += 1;
            }
            continue;
        }
        if line.starts_with('}') {
            path.pop();
            continue;
        }
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        if value.ends_with('{') && !value.starts_with("Some(") {
            path.push(name);
            continue;
        }
        let mut key = path.clone();
        key.push(name);
        keys.insert(key.join("."));
        if value.ends_with(['[', '(', '{']) {
            skipping = 1;
        }
    }
    keys
}

/// The keys `deploy/eps.toml` sets, and those it shows commented out (`# key = …`).
fn example_keys() -> (BTreeSet<String>, BTreeSet<String>) {
    let text = read("deploy/eps.toml");
    let table: toml::Table = toml::from_str(&text).expect("deploy/eps.toml is TOML");
    let mut set = BTreeSet::new();
    flatten("", &table, &mut set);
    let mut commented = BTreeSet::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim_matches(['[', ']']).to_owned();
        } else if let Some((name, _)) = line.strip_prefix("# ").and_then(|l| l.split_once(" = "))
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            commented.insert(dotted(&section, name));
        }
    }
    (set, commented)
}

fn dotted(section: &str, name: &str) -> String {
    if section.is_empty() {
        name.to_owned()
    } else {
        format!("{section}.{name}")
    }
}

fn flatten(prefix: &str, table: &toml::Table, keys: &mut BTreeSet<String>) {
    for (name, value) in table {
        let key = dotted(prefix, name);
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, keys),
            _ => {
                keys.insert(key);
            }
        }
    }
}

#[test]
fn the_key_list_is_read_from_the_configuration() {
    let keys = config_keys();
    for key in [
        "listen",
        "database_url",
        "connection.missed_heartbeats",
        "auth.jwks_url",
        "auth.token_limits.tracked_keys",
        "log.filter",
        "payments.retry_max_secs",
        "events.tail_poll_ms",
        "sites",
    ] {
        assert!(keys.contains(key), "{key} missing from {keys:?}");
    }
    assert!(!keys.iter().any(|k| k.starts_with("sites.")), "{keys:?}");
}

#[test]
fn the_example_file_has_every_key_at_its_default() {
    let example = Config::load_file_only(&repo("deploy/eps.toml")).unwrap();
    assert_eq!(
        format!("{example:#?}"),
        format!("{:#?}", Config::default()),
        "deploy/eps.toml differs from the built-in defaults"
    );
    let (set, commented) = example_keys();
    for key in config_keys() {
        let shown = set.contains(&key)
            || commented.contains(&key)
            || set.iter().any(|k| k.starts_with(&format!("{key}.")));
        assert!(
            shown,
            "deploy/eps.toml shows no {key} (set it, or `# {key} = …` when it has no default)"
        );
    }
}

/// The rows of the README's configuration table.
fn readme_rows() -> Vec<String> {
    let readme = read("README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README has a Configuration section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_table_documents_every_key_and_only_real_ones() {
    let rows = readme_rows();
    let keys = config_keys();
    for key in keys.iter().filter(|k| *k != "sites") {
        let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key));
        let documented = rows.iter().any(|row| {
            row.contains(&format!("`{key}`"))
                || (!section.is_empty()
                    && row.starts_with(&format!("| `{section}."))
                    && row.contains(&format!("`{leaf}`")))
        });
        assert!(documented, "README's configuration table lacks {key}");
    }
    for row in rows.iter().filter(|r| !r.starts_with("| `[")) {
        let first = row.split('|').nth(1).unwrap_or_default();
        let named = first.split('`').nth(1).unwrap_or_default();
        assert!(
            keys.contains(named),
            "README documents {named}, which is no configuration key"
        );
    }
}

/// `EPS_*` variables set by the compose file (`EPS_X: value`) and the Dockerfile (`EPS_X=value`).
fn container_variables() -> Vec<(String, String, &'static str)> {
    let mut found = Vec::new();
    for (file, separator) in [("deploy/compose.yaml", ':'), ("deploy/Dockerfile", '=')] {
        for line in read(file).lines() {
            let line = line
                .trim()
                .trim_start_matches("ENV ")
                .trim_end_matches('\\');
            let line = line.trim();
            if let Some((name, value)) = line.split_once(separator)
                && name.starts_with("EPS_")
                && !line.starts_with('#')
            {
                let value = value.trim().trim_matches('"').to_owned();
                found.push((name.to_owned(), value, file));
            }
        }
    }
    found
}

#[test]
fn container_variables_are_real_keys_and_their_configuration_loads() {
    let variables = container_variables();
    assert!(
        variables
            .iter()
            .any(|(n, _, f)| n == "EPS_DATABASE_URL" && *f == "deploy/compose.yaml"),
        "{variables:?}"
    );
    assert!(
        variables.iter().any(|(_, _, f)| *f == "deploy/Dockerfile"),
        "{variables:?}"
    );
    let cli_variables: Vec<String> = crate::cli::Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect();
    let keys = config_keys();
    let mut overrides = toml::Table::new();
    for (name, value, file) in &variables {
        if cli_variables.contains(name) {
            continue;
        }
        let key = name["EPS_".len()..].to_ascii_lowercase().replace("__", ".");
        let top = key.split('.').next().unwrap_or_default();
        assert!(
            keys.contains(&key) && ENV_KEYS.contains(&top),
            "{file} sets {name}, which is no configuration key the environment can set"
        );
        // As figment reads a variable: a TOML value when it parses as one, else a string.
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let mut table = &mut overrides;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            table = table
                .entry((*part).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("a table");
        }
        table.insert(parts[parts.len() - 1].to_owned(), parsed);
    }
    let config: Config = Figment::new()
        .merge(Toml::file_exact(repo("deploy/compose.eps.toml")))
        .merge(Toml::string(&overrides.to_string()))
        .extract()
        .expect("the compose configuration loads");
    let settings = config
        .validate()
        .expect("the compose configuration is valid");
    assert_eq!(settings.sites.terminals.len(), 2);
    assert_eq!(settings.listen.port(), 8080);
}

#[test]
fn the_image_builds_with_the_build_script_and_runs_unprivileged_with_a_readiness_check() {
    let dockerfile = read("deploy/Dockerfile");
    let stages = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(stages >= 2, "multi-stage: {stages} stage(s)");
    assert!(
        dockerfile.contains("RUN scripts/build "),
        "built by scripts/build"
    );
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "{user}"
    );
    let healthcheck = dockerfile
        .split("\nHEALTHCHECK ")
        .nth(1)
        .expect("a HEALTHCHECK");
    assert!(
        healthcheck.lines().take(3).any(|l| l.contains("/readyz")),
        "{healthcheck}"
    );
    assert!(repo("scripts/build").is_file());
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target/"), "{ignore}");
}

#[test]
fn the_systemd_unit_waits_for_readiness_and_has_room_for_streams() {
    let unit = read("deploy/eps.service");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}= missing"))
            .to_owned()
    };
    assert_eq!(value("Type"), "notify");
    assert_eq!(value("DynamicUser"), "yes");
    let files: u64 = value("LimitNOFILE").parse().unwrap();
    assert!(files >= 10_000, "LimitNOFILE={files}");
    assert!(value("ExecStart").contains("eps serve"));
}
