//! Which store engines the end-to-end tests run on: SQLite always, PostgreSQL when
//! `EPS_TEST_DATABASE_URL` is set (and it must be when `EPS_REQUIRE_POSTGRES=1`; without it a
//! notice says that PostgreSQL did not run).

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the PostgreSQL test database.
pub const DATABASE_URL_VAR: &str = "EPS_TEST_DATABASE_URL";
/// The variable that makes a missing PostgreSQL a failure rather than a skip.
pub const REQUIRE_POSTGRES_VAR: &str = "EPS_REQUIRE_POSTGRES";

/// A store engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the test's temporary data directory.
    Sqlite,
    /// PostgreSQL at this URL, in a schema of the test's own.
    Postgres(String),
}

impl Backend {
    /// Every engine available: SQLite, plus PostgreSQL when configured.
    pub fn all() -> Vec<Self> {
        let mut all = vec![Self::Sqlite];
        all.extend(Self::postgres());
        all
    }

    /// PostgreSQL, when `EPS_TEST_DATABASE_URL` is set; panics when it is required but unset.
    pub fn postgres() -> Option<Self> {
        match std::env::var(DATABASE_URL_VAR) {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                let required = std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1");
                assert!(
                    !required,
                    "{REQUIRE_POSTGRES_VAR}=1 but {DATABASE_URL_VAR} is not set"
                );
                skipped_notice("end-to-end tests");
                None
            }
        }
    }

    /// `sqlite` or `postgres`, as the store reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Says once per test process, on the real stderr (past the test harness's capture, so it shows
/// even when every test passes), that PostgreSQL did not run for `what`.
pub fn skipped_notice(what: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE ({what}): PostgreSQL NOT RUN: {DATABASE_URL_VAR} is not set, so these tests \
             ran on SQLite only"
        );
    });
}

/// A schema name no other test of any process uses.
pub fn unique_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "e2e_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    )
}
