//! `eps signing-key show` and `eps signing-key adopt`: this node's token signing key against the
//! one the database records for every node.

use std::sync::Arc;

use anyhow::{Context, bail};
use eps_core::audit::{AuditAction, AuditLog, AuditOutcome};
use eps_core::clock::{Clock, SystemClock};
use secrecy::ExposeSecret;

use super::SigningKeyCommand;
use crate::auth::keys::SigningKey;
use crate::config::{AuthSettings, Config};

/// Runs a signing-key command.
pub(super) async fn run(config: Config, command: SigningKeyCommand) -> anyhow::Result<()> {
    let settings = config.validate()?;
    let AuthSettings::Builtin {
        signing_key_file, ..
    } = &settings.auth
    else {
        bail!("auth.mode is external: the external issuer's key is not kept here");
    };
    crate::install_crypto_provider();
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("data directory {}", settings.data_dir.display()))?;
    let key = SigningKey::configured(signing_key_file.as_deref(), &settings.data_dir)?;
    let store = eps_core::store::open(settings.database_url.expose_secret())
        .await
        .context("opening the store")?;
    let own = key.fingerprint();
    println!("this node's key: {own}");
    match command {
        SigningKeyCommand::Show => match store.issuer_key().await? {
            None => println!("recorded key:    none yet (the first node to start records its own)"),
            Some(recorded) if &recorded == own => println!("recorded key:    {recorded}"),
            Some(recorded) => {
                println!("recorded key:    {recorded}");
                bail!(
                    "this node's key differs from the recorded one: it would not start; give \
                         it the key file the other nodes use (auth.signing_key_file)"
                );
            }
        },
        SigningKeyCommand::Adopt => {
            let replaced = store.replace_issuer_key(own, SystemClock.now()).await;
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown".to_owned());
            let (outcome, detail) = match &replaced {
                Ok(Some(old)) => (AuditOutcome::Success, format!("replaced {old}")),
                Ok(None) => (AuditOutcome::Success, "none was recorded".to_owned()),
                Err(e) => (AuditOutcome::Failure, e.to_string()),
            };
            AuditLog::new(store.clone(), Arc::new(SystemClock))
                .record(
                    &format!("cli:{user}"),
                    AuditAction::SigningKeyAdopt,
                    own.as_str(),
                    None,
                    outcome,
                    &detail,
                )
                .await
                .context("recording the change in the audit log")?;
            match replaced? {
                Some(old) if &old == own => println!("recorded key:    {own} (unchanged)"),
                Some(old) => println!(
                    "recorded key:    {own} (was {old}); tokens signed with the old key no longer \
                     verify, and nodes still holding it refuse to start"
                ),
                None => println!("recorded key:    {own}"),
            }
        }
    }
    Ok(())
}
