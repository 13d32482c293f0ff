//! Channel-1 callbacks within a conversation: outputs, inputs and events, answered at once.

use super::*;

impl Conversation {
    pub(super) fn on_device_request(
        &mut self,
        link: Link,
        request: DeviceRequest,
        now: Instant,
    ) -> Result<(), SessionError> {
        let ours = self.state.maybe_sent() && belongs_to(&request.header.request_id, &self.id);
        if !ours {
            let got = describe(&Message::DeviceRequest(request.clone()));
            let response = unowned_response(&request, &self.identity, &self.profile);
            self.transmits.push_back(Transmit {
                link,
                message: response.into(),
            });
            return Err(self.unexpected(link, got));
        }
        let sender = self.identity.application_sender.as_str();
        match request.request_type {
            DeviceRequestType::Output => {
                let report = matches!(
                    self.operation,
                    Operation::Reconciliation { .. } | Operation::TransmitTransactions
                );
                let routed = callback::route_outputs(&request.outputs, &self.profile, report);
                let response = output_response(&request, sender, routed.results);
                self.transmits.push_back(Transmit {
                    link,
                    message: response.into(),
                });
                self.events
                    .extend(routed.delivered.into_iter().map(Event::Output));
            }
            DeviceRequestType::Input => match input_request(&request, &self.profile) {
                Some((asked, timeout)) => {
                    let key = InputKey(self.next_input);
                    self.next_input += 1;
                    self.inputs.push(PendingInput {
                        key,
                        link,
                        request,
                        deadline: now + timeout,
                    });
                    // A person is deciding; silence is expected until the input's own deadline.
                    self.timers.disarm(TimerKind::Idle);
                    self.events.push_back(Event::Input {
                        key,
                        request: asked,
                    });
                    return Ok(());
                }
                None => {
                    let response =
                        plain_response(&request, sender, OverallResult::MissingMandatoryData);
                    self.transmits.push_back(Transmit {
                        link,
                        message: response.into(),
                    });
                }
            },
            DeviceRequestType::Event => {
                if request
                    .event
                    .as_ref()
                    .is_some_and(|e| e.event_type == EventType::CardInserted)
                {
                    self.events.push_back(Event::CardAcquired);
                }
                let response = plain_response(&request, sender, OverallResult::Success);
                self.transmits.push_back(Transmit {
                    link,
                    message: response.into(),
                });
            }
            DeviceRequestType::AbortInput => {
                let withdrawn: Vec<_> = self.inputs.drain(..).map(|i| i.key).collect();
                self.events
                    .extend(withdrawn.into_iter().map(Event::InputWithdrawn));
                let response = plain_response(&request, sender, OverallResult::Success);
                self.transmits.push_back(Transmit {
                    link,
                    message: response.into(),
                });
            }
            _ => {
                let response = plain_response(&request, sender, OverallResult::DeviceUnavailable);
                self.transmits.push_back(Transmit {
                    link,
                    message: response.into(),
                });
            }
        }
        if self.inputs.is_empty() && self.state.maybe_sent() {
            self.timers.arm(TimerKind::Idle, now, self.limits.idle);
        }
        Ok(())
    }

    pub(super) fn answer_input(
        &mut self,
        input: PendingInput,
        answer: Option<PromptAnswer>,
        now: Instant,
    ) {
        let response = input_response(
            &input.request,
            &self.identity.application_sender,
            answer,
            &self.profile,
        );
        self.transmits.push_back(Transmit {
            link: input.link,
            message: response.into(),
        });
        if self.inputs.is_empty() && self.state.maybe_sent() {
            self.timers.arm(TimerKind::Idle, now, self.limits.idle);
        }
    }

    pub(super) fn withdraw_inputs_on(&mut self, link: Link) {
        let (gone, kept): (Vec<_>, Vec<_>) = self.inputs.drain(..).partition(|i| i.link == link);
        self.inputs = kept;
        self.events
            .extend(gone.into_iter().map(|i| Event::InputWithdrawn(i.key)));
    }
}

/// Whether a callback's RequestID names `ours`: the same id (with a `SequenceID` beside it), or
/// a dotted sub-id `ours.n` (research notes §3.1).
pub(super) fn belongs_to(callback: &RequestId, ours: &RequestId) -> bool {
    let (callback, ours) = (callback.as_str(), ours.as_str());
    callback == ours
        || callback
            .strip_prefix(ours)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The answer to a callback that belongs to no running request (a late receipt, a stray
/// request): the terminal blocks until answered, so outputs are acknowledged and inputs get the
/// profile's default. The caller reports it; nothing is passed to the domain.
pub(crate) fn unowned_response(
    request: &DeviceRequest,
    identity: &Identity,
    profile: &TerminalProfile,
) -> crate::message::DeviceResponse {
    let sender = identity.application_sender.as_str();
    match request.request_type {
        DeviceRequestType::Input => input_response(request, sender, None, profile),
        DeviceRequestType::Output => {
            let routed = callback::route_outputs(&request.outputs, profile, false);
            output_response(request, sender, routed.results)
        }
        _ => plain_response(request, sender, OverallResult::Success),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_ids_belong_by_equality_or_dotted_suffix() {
        let ours = RequestId::parse("15").unwrap();
        assert!(belongs_to(&RequestId::parse("15").unwrap(), &ours));
        assert!(belongs_to(&RequestId::parse("15.2").unwrap(), &ours));
        assert!(!belongs_to(&RequestId::parse("152").unwrap(), &ours));
        assert!(!belongs_to(&RequestId::parse("1").unwrap(), &ours));
    }
}
