//! Running a job's steps: pauses, callbacks and their connections.

use super::*;

impl SimCore {
    /// Runs steps until the job waits or ends.
    pub(super) fn advance(&mut self, now: Instant) {
        while let Some(mut job) = self.job.take() {
            if !matches!(job.wait, Wait::Nothing) {
                self.job = Some(job);
                return;
            }
            let Some(step) = job.steps.pop_front() else {
                self.end_job(&job);
                return;
            };
            match step {
                Step::Pause(delay) => {
                    if !delay.is_zero() {
                        job.wait = Wait::Until(now + delay);
                    }
                }
                Step::Display(text) => {
                    let text = self.config.display_text.as_deref().unwrap_or(text);
                    let output = Output::lines(DeviceTarget::CashierDisplay, [TextLine::new(text)]);
                    let request = self.device_request(
                        &mut job,
                        DeviceRequestType::Output,
                        vec![output],
                        None,
                    );
                    job.steps
                        .push_front(Step::Callback(Box::new(request), CallbackKind::Display));
                }
                Step::CardPresented => {
                    let mut request =
                        self.device_request(&mut job, DeviceRequestType::Event, Vec::new(), None);
                    request.event = Some(DeviceEvent {
                        event_type: EventType::CardInserted,
                        target: Some(DeviceTarget::CardReader),
                        text: None,
                    });
                    job.steps
                        .push_front(Step::Callback(Box::new(request), CallbackKind::Display));
                }
                Step::Confirm => {
                    let prompt = Output::lines(
                        DeviceTarget::CashierDisplay,
                        [TextLine::new("Betrag bestaetigen?")],
                    );
                    let mut command = InputCommand::new(InputCommandKind::GetConfirmation);
                    command.timeout = u32::try_from(self.config.input_timeout.as_secs()).ok();
                    let input = Input {
                        target: DeviceTarget::CashierKeyboard,
                        command,
                    };
                    let request = self.device_request(
                        &mut job,
                        DeviceRequestType::Input,
                        vec![prompt],
                        Some(input),
                    );
                    job.steps
                        .push_front(Step::Callback(Box::new(request), CallbackKind::Confirm));
                }
                Step::AskPin => {
                    let request = self.pin_request(&mut job);
                    job.steps
                        .push_front(Step::Callback(Box::new(request), CallbackKind::Pin));
                }
                Step::AwaitCard => job.wait = Wait::Card(now + self.config.self_abort_after),
                Step::Authorise => self.authorise(&mut job, now),
                Step::Receipts => {
                    let receipts = job
                        .entry
                        .and_then(|i| self.ledger.entries().get(i))
                        .map(|e| e.receipts.clone())
                        .unwrap_or_default();
                    job.steps.push_front(Step::Print(receipts));
                }
                Step::Print(outputs) => {
                    for output in outputs.into_iter().rev() {
                        let request = self.device_request(
                            &mut job,
                            DeviceRequestType::Output,
                            vec![output],
                            None,
                        );
                        job.steps
                            .push_front(Step::Callback(Box::new(request), CallbackKind::Receipt));
                    }
                }
                Step::Callback(request, kind) => self.send_callback(&mut job, request, kind, now),
                Step::Drop => {
                    if let Some(link) = job.link {
                        self.events.push_back(SimEvent::Close(link));
                    }
                    self.end_job(&job);
                    return;
                }
                Step::Respond => {
                    self.respond(&mut job, now);
                    self.end_job(&job);
                    return;
                }
            }
            self.job = Some(job);
        }
    }

    pub(super) fn end_job(&mut self, job: &Job) {
        if let Some((link, _)) = job.callback_link {
            self.events.push_back(SimEvent::Close(link));
        }
        self.job = None;
    }

    pub(super) fn send_callback(
        &mut self,
        job: &mut Job,
        request: Box<DeviceRequest>,
        kind: CallbackKind,
        now: Instant,
    ) {
        if let (CallbackMode::Shared, Some((link, true))) =
            (self.config.callbacks, job.callback_link)
        {
            job.wait = Wait::Answer {
                link,
                header: Box::new(request.header.clone()),
                kind,
                deadline: now + self.callback_timeouts().for_kind(kind),
                resend: Some(request.clone()),
            };
            self.transmits.push_back(SimTransmit {
                link,
                payload: callback_payload(job, *request),
            });
            return;
        }
        self.next_link += 1;
        let link = SimLink::Channel1(self.next_link);
        if self.config.callbacks == CallbackMode::Shared {
            job.callback_link = Some((link, false));
        }
        self.events.push_back(SimEvent::Connect(link));
        job.wait = Wait::Connection {
            link,
            request,
            kind,
        };
    }

    pub(super) fn device_request(
        &self,
        job: &mut Job,
        request_type: DeviceRequestType,
        outputs: Vec<Output>,
        input: Option<Input>,
    ) -> DeviceRequest {
        job.sequence += 1;
        let origin = job.header();
        let request_id = match self.config.callback_ids {
            CallbackIds::SequenceId => origin.request_id.clone(),
            CallbackIds::Dotted => {
                RequestId::parse(&format!("{}.{}", origin.request_id, job.sequence))
                    .unwrap_or_else(|_| origin.request_id.clone())
            }
        };
        let mut header = Header::new(request_id, origin.workstation_id.clone());
        header.pop_id.clone_from(&origin.pop_id);
        header.application_sender = Some("opi-sim".to_owned());
        header.terminal_id = Some(self.config.terminal_id.clone());
        if self.config.callback_ids == CallbackIds::SequenceId {
            header.sequence_id = Some(job.sequence.to_string());
        }
        let mut request = DeviceRequest::new(header, request_type);
        request.outputs = outputs;
        request.input = input;
        request
    }
}

pub(super) struct CallbackTimeouts {
    pub(super) output: Duration,
    pub(super) input: Duration,
}

impl CallbackTimeouts {
    pub(super) fn for_kind(&self, kind: CallbackKind) -> Duration {
        match kind {
            CallbackKind::Confirm | CallbackKind::Pin => self.input,
            CallbackKind::Display | CallbackKind::Receipt => self.output,
        }
    }
}

/// How a DeviceRequest goes on the wire: in the job's style, and for `undecodable-input` an
/// Input without its `Command`.
pub(super) fn callback_payload(job: &Job, request: DeviceRequest) -> Payload {
    let message = Box::new(Message::DeviceRequest(request));
    let without_command = job.scenario == Scenario::UndecodableInput
        && matches!(&*message, Message::DeviceRequest(r) if r.input.is_some());
    if without_command {
        Payload::WithoutCommand(message, job.style)
    } else {
        Payload::Message(message, job.style)
    }
}

pub(super) fn callback_failed(job: &mut Job, kind: CallbackKind) {
    match kind {
        CallbackKind::Display => {}
        CallbackKind::Receipt => job.receipts_failed = true,
        CallbackKind::Confirm | CallbackKind::Pin => job.decision = Decision::Abort,
    }
}
