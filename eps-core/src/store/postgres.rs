//! Postgres implementation of the store (to be written by the storage work).

use crate::error::{Error, Result};

/// The Postgres store.
#[derive(Debug, Clone)]
pub struct PostgresStore;

impl PostgresStore {
    /// Opens the database at `url` and runs migrations.
    pub async fn open(url: &str) -> Result<Self> {
        Err(Error::Storage(format!(
            "postgres store not built yet: {url}"
        )))
    }
}
