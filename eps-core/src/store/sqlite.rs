//! Sqlite implementation of the store (to be written by the storage work).

use crate::error::{Error, Result};

/// The Sqlite store.
#[derive(Debug, Clone)]
pub struct SqliteStore;

impl SqliteStore {
    /// Opens the database at `url` and runs migrations.
    pub async fn open(url: &str) -> Result<Self> {
        Err(Error::Storage(format!("sqlite store not built yet: {url}")))
    }
}
