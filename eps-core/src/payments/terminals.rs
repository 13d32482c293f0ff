//! Terminals as operators see them, and the non-financial requests operators send them.

use crate::error::{Error, Result};
use crate::ids::TerminalId;
use crate::site::Poi;
use crate::terminal::{
    TerminalError, TerminalHealth, TerminalResult, TerminalService, TerminalStatus,
};
use crate::transaction::{TransactionRecord, TransactionState};

use super::service::PaymentService;
use super::workers::Occupant;

/// One terminal's live view: what it serves, how it is, and what it is doing.
#[derive(Debug, Clone)]
pub struct TerminalView {
    /// The POI it serves (site, POI and terminal ids).
    pub poi: Poi,
    /// Its status as last observed.
    pub status: TerminalStatus,
    /// Link, session and last Diagnosis.
    pub health: TerminalHealth,
    /// The transaction running on it now, if any.
    pub running: Option<TransactionRecord>,
    /// Its transaction whose outcome is unknown, if any (it blocks new card requests).
    pub unknown: Option<TransactionRecord>,
}

impl PaymentService {
    /// Every terminal this node drives, in the order of the configured sites and POIs.
    pub async fn terminal_views(&self) -> Result<Vec<TerminalView>> {
        let pois: Vec<Poi> = self
            .shared
            .sites
            .sites()
            .iter()
            .flat_map(|site| site.pois.iter().cloned())
            .collect();
        let mut views = Vec::with_capacity(pois.len());
        for poi in pois {
            if let Some(view) = self.view_of(poi).await? {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// One terminal's view; [`Error::NotFound`] when this node drives no such terminal.
    pub async fn terminal_view(&self, id: &TerminalId) -> Result<TerminalView> {
        let poi = self
            .shared
            .sites
            .poi_of_terminal(id)
            .ok_or(Error::NotFound("terminal"))?
            .clone();
        self.view_of(poi).await?.ok_or(Error::NotFound("terminal"))
    }

    /// Sends an operator's Login, Logoff or Diagnosis through the terminal's worker slot: a
    /// terminal running a card operation or reconciliation answers [`Error::PoiBusy`], as for a
    /// payment. Returns the terminal's result; a refusal is a result too.
    pub async fn terminal_service(
        &self,
        id: &TerminalId,
        service: TerminalService,
    ) -> Result<TerminalResult> {
        if self.shared.sites.poi_of_terminal(id).is_none() {
            return Err(Error::NotFound("terminal"));
        }
        let claim = self.shared.claim_now(id, Occupant::Service)?;
        let answer = claim.terminal().service(service).await;
        drop(claim);
        match answer {
            Ok(result) | Err(TerminalError::Refused(result)) => Ok(result),
            Err(TerminalError::Busy) => Err(Error::PoiBusy { active: None }),
            Err(
                error @ (TerminalError::Unreachable(_)
                | TerminalError::Lost(_)
                | TerminalError::Protocol(_)),
            ) => Err(Error::PoiUnavailable {
                terminal: id.clone(),
                reason: error.to_string(),
            }),
        }
    }

    async fn view_of(&self, poi: Poi) -> Result<Option<TerminalView>> {
        let Some(terminal) = self.shared.workers.terminal(&poi.terminal_id) else {
            return Ok(None);
        };
        let status = *terminal.status().borrow();
        let health = terminal.health();
        let unresolved = self
            .shared
            .store
            .unresolved_on_terminal(&poi.terminal_id)
            .await?;
        let running = match self.shared.workers.occupant(&poi.terminal_id) {
            Some(Occupant::Transaction(id)) => self.shared.store.transaction(&id).await?,
            _ => None,
        };
        let unknown = unresolved.filter(|t| t.state == TransactionState::Unknown);
        Ok(Some(TerminalView {
            poi,
            status,
            health,
            running,
            unknown,
        }))
    }
}
