//! [`SharedHealth`]: a terminal's link, session and last Diagnosis, written by its driver task
//! and read by its handle.

use std::sync::{Arc, Mutex, PoisonError};

use eps_core::terminal::TerminalHealth;

/// A terminal's health, shared between its driver (writer) and handle (reader).
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedHealth(Arc<Mutex<TerminalHealth>>);

impl SharedHealth {
    /// The health as it is now.
    pub(crate) fn snapshot(&self) -> TerminalHealth {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the health in place.
    pub(crate) fn update(&self, change: impl FnOnce(&mut TerminalHealth)) {
        change(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}
