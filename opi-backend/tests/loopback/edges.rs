//! The OPI edges real terminals and POS systems hit, over real sockets.

use std::time::Duration;

use eps_core::ids::TerminalId;
use eps_core::money::{Amount, Currency};
use eps_core::terminal::{CardOperation, ReconciliationOutcome, TerminalOutcome, TerminalResult};
use opi_backend::codec::{self, FrameDecoder};
use opi_backend::message::OverallResult;
use opi_backend::profile::TerminalProfile;
use opi_backend::sim::{Scenario, ScriptMatch, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::rig::{Recorder, Rig, answered, quiet_profile};

#[tokio::test]
async fn a_terminal_that_rejects_namespace_and_currency_gets_neither_and_only_its_currency() {
    let mut profile = quiet_profile();
    profile.write_namespace = false;
    profile.write_currency = false;
    let mut rig = Rig::with(SimConfig::default(), profile).await;
    let (id, outcome, _) = rig.pay("12.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    let entry = rig.sim.entry(id.as_str()).unwrap();
    assert_eq!(
        entry.amount,
        Some(Amount::from_minor(1200, Currency::EUR).unwrap())
    );

    // The terminal would read a Swiss franc amount as euros: it is never sent.
    let (recorder, _) = Recorder::new();
    let chf = Amount::from_minor(1200, Currency::parse("CHF").unwrap()).unwrap();
    let (id, outcome) = rig
        .run(CardOperation::Payment { amount: chf }, recorder.clone())
        .await;
    assert!(
        matches!(&outcome, TerminalOutcome::NotSent { reason } if reason.contains("EUR")),
        "{outcome:?}"
    );
    assert!(rig.sim.entry(id.as_str()).is_none());
    assert!(
        recorder.heard().is_empty(),
        "not even asked to make it durable"
    );
}

#[tokio::test]
async fn an_undecodable_input_during_a_payment_is_answered_format_error() {
    let mut rig = Rig::start().await;
    let (id, outcome, _) = rig.pay("9.96").await;
    assert_eq!(answered(outcome).result, TerminalResult::Aborted);
    let answers = rig.sim.callback_answers();
    let input = answers
        .iter()
        .find(|a| a.request_type == "Input")
        .expect("the Input was answered, not left waiting");
    assert_eq!(
        (input.request_id.as_str(), &input.result),
        (id.as_str(), &OverallResult::FormatError)
    );
}

/// A raw channel-1 client, as a terminal: writes frames, reads the answers.
struct RawTerminal {
    stream: TcpStream,
    decoder: FrameDecoder,
}

impl RawTerminal {
    async fn connect(rig: &Rig) -> Self {
        let id = TerminalId::parse("lane-1").unwrap();
        let address = rig.backend.callback_address(&id).unwrap();
        Self {
            stream: TcpStream::connect(address).await.unwrap(),
            decoder: FrameDecoder::default(),
        }
    }

    /// Sends `body` and waits (with a deadline) for the answer's root.
    async fn ask(&mut self, body: &str) -> codec::Envelope {
        let frame = codec::encode_frame(body.as_bytes()).unwrap();
        self.stream.write_all(&frame).await.unwrap();
        let mut buffer = [0_u8; 4096];
        let answer = async {
            loop {
                if let Some(frame) = self.decoder.next_frame().unwrap() {
                    return codec::envelope(frame.body()).unwrap();
                }
                let n = self.stream.read(&mut buffer).await.unwrap();
                assert!(n > 0, "the EPS closed the connection instead of answering");
                self.decoder.push(&buffer[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), answer)
            .await
            .expect("an answer within 10 s")
    }
}

#[tokio::test]
async fn undecodable_callbacks_outside_a_request_are_answered_and_the_connection_stays() {
    let rig = Rig::start().await;
    let mut terminal = RawTerminal::connect(&rig).await;
    // Readable ids (the terminal's driver answers, with its ApplicationSender).
    let answer = terminal
        .ask(r#"<DeviceRequest RequestType="Input" WorkstationID="1" RequestID="4711" SequenceID="2"><Input InDeviceTarget="CashierKeyboard"><Command TimeOut="soon">GetConfirmation</Command></Input></DeviceRequest>"#)
        .await;
    assert_eq!(answer.root, "DeviceResponse");
    assert_eq!(answer.attribute("OverallResult"), Some("FormatError"));
    assert_eq!(answer.attribute("RequestID"), Some("4711"));
    assert_eq!(answer.attribute("SequenceID"), Some("2"));
    assert_eq!(answer.attribute("RequestType"), Some("Input"));
    assert_eq!(answer.attribute("ApplicationSender"), Some("EPS"));
    // No usable RequestID: still answered, with what it carries.
    let answer = terminal
        .ask(r#"<DeviceRequest RequestType="Output" WorkstationID="1"><Output OutDeviceTarget="Printer"/></DeviceRequest>"#)
        .await;
    assert_eq!(answer.attribute("OverallResult"), Some("FormatError"));
    assert_eq!(answer.attribute("WorkstationID"), Some("1"));
    assert_eq!(answer.attribute("RequestID"), None);
    // The same connection still carries a good request.
    let answer = terminal
        .ask(r#"<DeviceRequest RequestType="Output" WorkstationID="1" RequestID="4712"><Output OutDeviceTarget="CashierDisplay"><TextLine>Hallo</TextLine></Output></DeviceRequest>"#)
        .await;
    assert_eq!(answer.attribute("OverallResult"), Some("Success"));
    assert_eq!(answer.attribute("RequestID"), Some("4712"));
}

fn ep2() -> TerminalProfile {
    let mut profile = TerminalProfile::builtin("ep2").unwrap();
    profile.timers.health_check = Duration::ZERO;
    profile
}

fn received(rig: &Rig) -> Vec<String> {
    rig.sim
        .received()
        .into_iter()
        .map(|r| r.kind.name().to_owned())
        .collect()
}

#[tokio::test]
async fn the_ep2_profile_activates_the_terminal() {
    let mut rig = Rig::with(SimConfig::default(), ep2()).await;
    assert_eq!(received(&rig), ["ActivateTerminal"]);
    let (_, outcome, _) = rig.pay("12.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
}

#[tokio::test]
async fn a_refused_activation_falls_back_to_login() {
    let sim = crate::rig::sim(SimConfig::default()).await;
    sim.script(
        ScriptMatch::RequestType("ActivateTerminal".into()),
        Scenario::Decline,
    );
    let mut rig = Rig::around(sim, ep2()).await;
    // The payment waits for the session start in progress.
    let (_, outcome, _) = rig.pay("12.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    assert_eq!(received(&rig), ["ActivateTerminal", "Login", "CardPayment"]);
}

#[tokio::test]
async fn ep2_end_of_day_is_transmit_then_close_day_and_ends_the_session() {
    let mut rig = Rig::with(SimConfig::default(), ep2()).await;
    for value in ["10.00", "20.00"] {
        let (_, outcome, _) = rig.pay(value).await;
        assert_eq!(answered(outcome).result, TerminalResult::Success);
    }
    let (recorder, _) = Recorder::new();
    let outcome = rig.terminal.reconcile(rig.fresh_id(), true, recorder).await;
    let ReconciliationOutcome::Answered(report) = outcome else {
        panic!("no report: {outcome:?}");
    };
    assert_eq!(
        report.result,
        TerminalResult::Success,
        "DayClosed is success"
    );
    let sum: i64 = report.totals.iter().map(|t| t.amount.minor()).sum();
    assert_eq!(sum, 3000);
    let types = received(&rig);
    assert_eq!(&types[types.len() - 2..], ["TransmitTrx", "CloseDay"]);
    assert!(
        !rig.sim.is_logged_in(),
        "CloseDay ends the terminal's session"
    );
    // The next payment activates the terminal again first.
    let (_, outcome, _) = rig.pay("5.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    let types = received(&rig);
    assert_eq!(
        &types[types.len() - 2..],
        ["ActivateTerminal", "CardPayment"]
    );
}

#[tokio::test]
async fn a_profile_can_deactivate_the_terminal_when_the_driver_stops() {
    let mut profile = ep2();
    profile.end_session_on_stop = true;
    let rig = Rig::with(SimConfig::default(), profile).await;
    assert!(rig.sim.is_logged_in());
    let Rig { sim, backend, .. } = rig;
    backend.shutdown().await;
    let types: Vec<_> = sim
        .received()
        .into_iter()
        .map(|r| r.kind.name().to_owned())
        .collect();
    assert_eq!(types, ["ActivateTerminal", "DeactivateTerminal"]);
    assert!(!sim.is_logged_in());
}
