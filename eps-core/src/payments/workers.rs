//! One worker slot per terminal: at most one card operation (or recovery) runs on a terminal.
//!
//! A slot is claimed before anything is written for a new operation and released when the
//! operation, including any recovery it needs, has ended. The claim is an RAII guard, so a
//! panicking or cancelled task cannot leave a terminal blocked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::ids::{TerminalId, TransactionId};
use crate::terminal::SharedTerminal;

/// What occupies a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occupant {
    /// A card transaction (or its recovery).
    Transaction(TransactionId),
    /// A reconciliation or another non-card request.
    Service,
}

struct Slot {
    terminal: SharedTerminal,
    occupant: Mutex<Option<Occupant>>,
    freed: Notify,
}

/// The terminals of this node and who occupies each.
#[derive(Clone, Default)]
pub struct TerminalWorkers {
    slots: Arc<HashMap<TerminalId, Arc<Slot>>>,
}

/// Exclusive use of one terminal until dropped.
pub struct WorkerClaim {
    slot: Arc<Slot>,
}

/// Why a terminal could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// No such terminal on this node.
    UnknownTerminal,
    /// Busy with something else.
    Busy(Occupant),
}

impl TerminalWorkers {
    /// Workers for these terminals.
    pub fn new(terminals: impl IntoIterator<Item = SharedTerminal>) -> Self {
        let slots = terminals
            .into_iter()
            .map(|terminal| {
                let id = terminal.id().clone();
                (
                    id,
                    Arc::new(Slot {
                        terminal,
                        occupant: Mutex::new(None),
                        freed: Notify::new(),
                    }),
                )
            })
            .collect();
        Self {
            slots: Arc::new(slots),
        }
    }

    /// The terminal handle.
    pub fn terminal(&self, id: &TerminalId) -> Option<SharedTerminal> {
        self.slots.get(id).map(|s| s.terminal.clone())
    }

    /// Every terminal handle.
    pub fn terminals(&self) -> Vec<SharedTerminal> {
        self.slots.values().map(|s| s.terminal.clone()).collect()
    }

    /// Claims a terminal now, or says who holds it.
    pub fn try_claim(
        &self,
        id: &TerminalId,
        occupant: Occupant,
    ) -> Result<WorkerClaim, ClaimError> {
        let slot = self.slots.get(id).ok_or(ClaimError::UnknownTerminal)?;
        let mut current = lock(&slot.occupant);
        if let Some(holder) = *current {
            return Err(ClaimError::Busy(holder));
        }
        *current = Some(occupant);
        Ok(WorkerClaim { slot: slot.clone() })
    }

    /// Claims a terminal, waiting for its current occupant to finish.
    pub async fn claim(
        &self,
        id: &TerminalId,
        occupant: Occupant,
    ) -> Result<WorkerClaim, ClaimError> {
        let slot = self
            .slots
            .get(id)
            .ok_or(ClaimError::UnknownTerminal)?
            .clone();
        loop {
            let freed = slot.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut current = lock(&slot.occupant);
                if current.is_none() {
                    *current = Some(occupant);
                    return Ok(WorkerClaim { slot: slot.clone() });
                }
            }
            freed.await;
        }
    }

    /// Who occupies a terminal now.
    pub fn occupant(&self, id: &TerminalId) -> Option<Occupant> {
        self.slots.get(id).and_then(|s| *lock(&s.occupant))
    }
}

impl WorkerClaim {
    /// The claimed terminal.
    pub fn terminal(&self) -> &SharedTerminal {
        &self.slot.terminal
    }
}

impl Drop for WorkerClaim {
    fn drop(&mut self) {
        *lock(&self.slot.occupant) = None;
        self.slot.freed.notify_waiters();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
