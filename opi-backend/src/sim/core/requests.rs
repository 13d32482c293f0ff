//! Channel-0 requests and channel-1 answers as the simulated terminal takes them.

use super::held;
use super::*;

impl SimCore {
    pub(super) fn on_card_request(
        &mut self,
        link: SimLink,
        request: CardServiceRequest,
        now: Instant,
    ) {
        let request_type = request.request_type.clone();
        if request_type == CardRequestType::AbortRequest {
            let header = request.header.echo();
            let ack = |result| {
                Message::from(CardServiceResponse::new(
                    header.clone(),
                    CardRequestType::AbortRequest,
                    result,
                ))
            };
            self.on_abort(link, ack);
            return;
        }
        let info = self.terminal_info();
        let refuse = |result: OverallResult| {
            let mut response =
                CardServiceResponse::new(request.header.echo(), request_type.clone(), result);
            response.terminal = Some(info.clone());
            Message::from(response)
        };
        let repeat = request_type == CardRequestType::RepeatLastMessage;
        if self.job.is_some() && !(repeat && self.answers_while_lingering()) {
            let busy = refuse(OverallResult::Busy);
            self.send(link, busy, Scenario::Approve);
            return;
        }
        if !self.logged_in {
            let logged_out = refuse(OverallResult::LoggedOut);
            self.send(link, logged_out, Scenario::Approve);
            return;
        }
        let financial = matches!(
            request_type,
            CardRequestType::CardPayment
                | CardRequestType::PaymentRefund
                | CardRequestType::PaymentReversal
                | CardRequestType::PreAuthReversal
                | CardRequestType::RefundReversal
                | CardRequestType::CardPreAuthorisation
                | CardRequestType::CardFinancialAdvice
        );
        let amount = request
            .total_amount
            .as_ref()
            .and_then(|t| t.amount.amount_or_in(self.config.currency));
        let scenario = self.choose(request_type.as_str(), financial, amount.map(|a| a.minor()));
        if let Some(message) = self.refusal(scenario, &refuse) {
            self.send(link, message, Scenario::Approve);
            return;
        }
        if scenario == Scenario::DropAfterRequest {
            self.events.push_back(SimEvent::Close(link));
            return;
        }
        if scenario == Scenario::DropAndKeepWorking && financial {
            self.linger(link, request.clone());
            return;
        }
        let end = if scenario == Scenario::DropBeforeResponse {
            Step::Drop
        } else {
            Step::Respond
        };
        let style = self.callback_style(scenario);
        match request_type {
            _ if financial => {
                // Card-present operations; reversals and completions need no card.
                let card_event = self.config.card_events
                    && matches!(
                        request_type,
                        CardRequestType::CardPayment
                            | CardRequestType::CardPreAuthorisation
                            | CardRequestType::PaymentRefund
                    );
                let steps = Job::financial_steps(
                    scenario,
                    self.config.latency,
                    self.config.display,
                    card_event,
                );
                self.job = Some(Job::new(
                    JobKind::Financial(request),
                    link,
                    scenario,
                    style,
                    steps,
                ));
            }
            CardRequestType::TicketReprint => match self.ledger.last() {
                Some(last) => {
                    let steps = vec![
                        Step::Pause(self.config.latency),
                        Step::Print(last.receipts.clone()),
                        end,
                    ];
                    self.job = Some(Job::new(
                        JobKind::Reprint(request),
                        link,
                        scenario,
                        style,
                        steps,
                    ));
                }
                None => {
                    let failure = refuse(OverallResult::Failure);
                    self.send(link, failure, scenario);
                }
            },
            CardRequestType::RepeatLastMessage => {
                let answer = self.repeat_last(&request.header, now);
                self.send(link, answer.into(), scenario);
            }
            _ => {
                let unsupported = refuse(OverallResult::NotSupported);
                self.send(link, unsupported, scenario);
            }
        }
    }

    pub(super) fn on_service_request(
        &mut self,
        link: SimLink,
        request: ServiceRequest,
        now: Instant,
    ) {
        use ServiceRequestType as T;
        let request_type = request.request_type.clone();
        if request_type == T::AbortRequest {
            let header = request.header.echo();
            let ack = |result| {
                Message::from(ServiceResponse::new(
                    header.clone(),
                    T::AbortRequest,
                    result,
                ))
            };
            self.on_abort(link, ack);
            return;
        }
        let info = self.terminal_info();
        let answer = |result: OverallResult| {
            let mut response =
                ServiceResponse::new(request.header.echo(), request_type.clone(), result);
            response.terminal = Some(info.clone());
            response
        };
        let repeat = request_type == T::RepeatLastMessage;
        if self.job.is_some() && !(repeat && self.answers_while_lingering()) {
            let busy = answer(OverallResult::Busy);
            self.send(link, busy.into(), Scenario::Approve);
            return;
        }
        let session = matches!(
            request_type,
            T::Login | T::ActivateTerminal | T::Logoff | T::DeactivateTerminal
        );
        if !self.logged_in && !session {
            let logged_out = answer(OverallResult::LoggedOut);
            self.send(link, logged_out.into(), Scenario::Approve);
            return;
        }
        let scenario = self.choose(request_type.as_str(), false, None);
        if let Some(message) = self.refusal(scenario, &|r| answer(r).into()) {
            self.send(link, message, Scenario::Approve);
            return;
        }
        if scenario == Scenario::DropAfterRequest {
            self.events.push_back(SimEvent::Close(link));
            return;
        }
        let result = if scenario == Scenario::Decline {
            OverallResult::Failure
        } else {
            OverallResult::Success
        };
        // Swiss ep2 answers its own session requests with its own words (research notes §3.5).
        let ep2_word = |done: bool, fresh: &str, again: &str| {
            if result != OverallResult::Success {
                result.clone()
            } else if done {
                OverallResult::Other(again.to_owned())
            } else {
                OverallResult::Other(fresh.to_owned())
            }
        };
        match request_type {
            T::Login => {
                let accepted = result == OverallResult::Success;
                let response = answer(result);
                if self.config.hold_logins {
                    self.hold_login(link, response.into(), accepted);
                    return;
                }
                self.logged_in |= accepted;
                self.send(link, response.into(), scenario);
            }
            T::ActivateTerminal => {
                let word = ep2_word(self.logged_in, "Activated", "AlreadyActivated");
                let accepted = result == OverallResult::Success;
                if self.config.hold_logins {
                    self.hold_login(link, answer(word).into(), accepted);
                    return;
                }
                self.logged_in |= accepted;
                self.send(link, answer(word).into(), scenario);
            }
            T::Logoff => {
                self.logged_in = false;
                let response = answer(result);
                self.send(link, response.into(), scenario);
            }
            T::DeactivateTerminal => {
                let word = ep2_word(!self.logged_in, "Deactivated", "AlreadyDeactivated");
                self.logged_in = false;
                self.send(link, answer(word).into(), scenario);
            }
            T::Diagnosis | T::StatusQuery | T::TransmitTrx => {
                let response = answer(result);
                self.send(link, response.into(), scenario);
            }
            T::Reconciliation | T::ReconciliationWithClosure | T::CloseDay => {
                let closure = request_type != T::Reconciliation;
                let report = self.report_output(closure);
                let end = if scenario == Scenario::DropBeforeResponse {
                    Step::Drop
                } else {
                    Step::Respond
                };
                let steps = vec![
                    Step::Pause(self.config.latency),
                    Step::Print(vec![report]),
                    end,
                ];
                let style = self.callback_style(scenario);
                self.job = Some(Job::new(
                    JobKind::Reconciliation(request, closure),
                    link,
                    scenario,
                    style,
                    steps,
                ));
            }
            T::RepeatLastMessage => {
                let card = self.repeat_last(&request.header, now);
                let mut response = answer(card.overall_result.clone());
                response.original_header = card.original_header;
                self.send(link, response.into(), scenario);
            }
            _ => {
                let response = answer(OverallResult::NotSupported);
                self.send(link, response.into(), scenario);
            }
        }
    }

    /// Answers an AbortRequest: a job not yet authorised ends `Aborted`; otherwise the abort
    /// fails and the job carries on.
    pub(super) fn on_abort(&mut self, link: SimLink, ack: impl Fn(OverallResult) -> Message) {
        let abortable = self
            .job
            .as_ref()
            .is_some_and(|j| !j.authorised && matches!(j.kind, JobKind::Financial(_)));
        if !abortable {
            self.transmit(link, ack(OverallResult::Failure), Scenario::Approve);
            return;
        }
        self.transmit(link, ack(OverallResult::Success), Scenario::Approve);
        let Some(job) = self.job.as_mut() else {
            return;
        };
        if let Wait::Connection { link: cb, .. } | Wait::Answer { link: cb, .. } = &job.wait {
            self.events.push_back(SimEvent::Close(*cb));
            if job.callback_link.is_some_and(|(l, _)| l == *cb) {
                job.callback_link = None;
            }
        }
        job.wait = Wait::Nothing;
        job.decision = Decision::Abort;
        job.steps = VecDeque::from([Step::Authorise, Step::Respond]);
    }

    pub(super) fn on_device_response(
        &mut self,
        link: SimLink,
        response: DeviceResponse,
    ) -> Result<(), SimError> {
        self.callback_answers.push(CallbackAnswer {
            request_id: response.header.request_id.as_str().to_owned(),
            request_type: response.request_type.as_str().to_owned(),
            result: response.overall_result.clone(),
        });
        let unexpected = || SimError::Unexpected {
            link,
            got: session::describe(&Message::DeviceResponse(response.clone())),
        };
        let Some(job) = self.job.as_mut() else {
            return Err(unexpected());
        };
        let Wait::Answer {
            link: waiting,
            header,
            kind,
            ..
        } = &job.wait
        else {
            return Err(unexpected());
        };
        if *waiting != link || response.header.request_id != header.request_id {
            return Err(unexpected());
        }
        let kind = *kind;
        job.wait = Wait::Nothing;
        let ok = response.overall_result == OverallResult::Success;
        match kind {
            CallbackKind::Display => {}
            CallbackKind::Receipt => job.receipts_failed |= !ok,
            CallbackKind::Pin => held::pin_answered(job, &response, &mut self.pins),
            CallbackKind::Confirm => {
                let yes = response
                    .input
                    .as_ref()
                    .is_some_and(|i| i.value == Some(InputValue::Boolean(true)));
                if !(ok && yes) {
                    job.decision = Decision::Abort;
                }
            }
        }
        if self.config.callbacks == CallbackMode::PerRequest {
            self.events.push_back(SimEvent::Close(link));
        }
        Ok(())
    }
}
