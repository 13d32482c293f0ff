//! The `drop-and-keep-working` fault: a terminal that loses the POS's link right after reading a
//! financial request, yet finishes it (for the configured latency, then approved and recorded),
//! and meanwhile answers RepeatLastMessage with its previous request instead of `Busy`. Recovery
//! must not take that earlier RequestID for proof that the request was never processed.

use super::*;

impl SimCore {
    /// Whether the running job keeps working after its link dropped: RepeatLastMessage is then
    /// answered from the ledger (which does not hold that job yet), not with `Busy`.
    pub(super) fn answers_while_lingering(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|job| job.scenario == Scenario::DropAndKeepWorking)
    }

    /// Closes `link` at once and keeps working on `request`: after the configured latency it is
    /// authorised and recorded, never answered.
    pub(super) fn linger(&mut self, link: SimLink, request: CardServiceRequest) {
        self.events.push_back(SimEvent::Close(link));
        let scenario = Scenario::DropAndKeepWorking;
        let style = self.callback_style(scenario);
        let steps = vec![Step::Pause(self.config.latency), Step::Authorise];
        let mut job = Job::new(JobKind::Financial(request), link, scenario, style, steps);
        job.link = None;
        self.job = Some(job);
    }
}
