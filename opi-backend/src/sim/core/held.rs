//! Two behaviours for the EPS's secrecy and dispatch tests: a PIN entry whose answers the
//! terminal keeps (so a test can see the PIN reached the terminal), and Login answers held back
//! until the test releases them (a terminal slow over its Login).

use super::*;

impl SimCore {
    /// The PINs the terminal received, oldest first.
    pub fn pins(&self) -> &[String] {
        &self.pins
    }

    /// Answers every held Login (their sessions start now) and holds no more; returns how many.
    pub fn release_logins(&mut self) -> usize {
        self.config.hold_logins = false;
        let held = std::mem::take(&mut self.held_logins);
        let count = held.len();
        for (link, answer, accepted) in held {
            self.logged_in |= accepted;
            self.transmit(link, answer, Scenario::Approve);
        }
        count
    }

    /// Keeps a Login's answer until [`SimCore::release_logins`]; the session starts then.
    pub(super) fn hold_login(&mut self, link: SimLink, answer: Message, accepted: bool) {
        self.held_logins.push((link, answer, accepted));
    }

    /// The Input asking for a PIN: `GetPIN` on the customer's keyboard, its text line hidden.
    pub(super) fn pin_request(&self, job: &mut Job) -> DeviceRequest {
        let mut prompt = TextLine::new("PIN eingeben");
        prompt.echo = Some(false);
        let mut command = InputCommand::new(InputCommandKind::GetPin);
        command.min_length = Some(4);
        command.max_length = Some(12);
        command.timeout = u32::try_from(self.config.input_timeout.as_secs()).ok();
        let input = Input {
            target: DeviceTarget::CustomerKeyboard,
            command,
        };
        self.device_request(
            job,
            DeviceRequestType::Input,
            vec![Output::lines(DeviceTarget::CustomerDisplay, [prompt])],
            Some(input),
        )
    }
}

/// The answer to the PIN Input: the PIN is kept in `pins`; none (or a failed Input) aborts.
pub(super) fn pin_answered(job: &mut Job, response: &DeviceResponse, pins: &mut Vec<String>) {
    let pin = response
        .input
        .as_ref()
        .filter(|i| i.result == OverallResult::Success)
        .and_then(|i| match &i.value {
            Some(InputValue::Number(pin) | InputValue::String(pin)) => Some(pin.clone()),
            _ => None,
        });
    match pin {
        Some(pin) => pins.push(pin),
        None => job.decision = Decision::Abort,
    }
}
