//! The OPI trace: every frame of a request reaches its observer, in order, secrets replaced.

use eps_core::opi_trace::{OpiChannel, SECRET_PLACEHOLDER, TraceDirection, WireFrame};
use eps_core::prompt::PromptAnswer;
use eps_core::terminal::{CardOperation, TerminalResult};

use crate::rig::{Recorder, Rig, answered, eur};

fn shape(frame: &WireFrame) -> (TraceDirection, OpiChannel, &str) {
    (frame.direction, frame.channel, frame.message.as_str())
}

#[tokio::test]
async fn a_payments_frames_are_traced_in_order() {
    let mut rig = Rig::start().await;
    let (id, outcome, recorder) = rig.pay("39.50").await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    let frames = recorder.frames();
    let first = frames.first().expect("a frame was traced");
    assert_eq!(
        shape(first),
        (
            TraceDirection::Out,
            OpiChannel::Requests,
            "CardServiceRequest"
        )
    );
    assert_eq!(first.request_type, "CardPayment");
    assert!(first.xml.contains(id.as_str()), "{}", first.xml);
    let last = frames.last().unwrap();
    assert_eq!(
        shape(last),
        (
            TraceDirection::In,
            OpiChannel::Requests,
            "CardServiceResponse"
        )
    );
    assert!(
        last.xml.contains("OverallResult=\"Success\""),
        "{}",
        last.xml
    );
    // Between them, each DeviceRequest is followed by its DeviceResponse.
    let callbacks = &frames[1..frames.len() - 1];
    assert!(
        callbacks.len() >= 4,
        "display and two receipts: {callbacks:?}"
    );
    for pair in callbacks.chunks(2) {
        assert_eq!(
            shape(&pair[0]),
            (TraceDirection::In, OpiChannel::Devices, "DeviceRequest")
        );
        assert_eq!(
            shape(&pair[1]),
            (TraceDirection::Out, OpiChannel::Devices, "DeviceResponse")
        );
        assert_eq!(pair[0].request_type, pair[1].request_type);
    }
    rig.backend.shutdown().await;
}

#[tokio::test]
async fn a_pin_answer_never_reaches_the_trace() {
    let mut rig = Rig::start().await;
    let pin = "917346";
    let (recorder, _) = Recorder::with(None, Some(PromptAnswer::Number(pin.into())));
    let amount = eur("30.14");
    let (_, outcome) = rig
        .run(CardOperation::Payment { amount }, recorder.clone())
        .await;
    assert_eq!(answered(outcome).result, TerminalResult::Success);
    assert_eq!(
        rig.sim.pins(),
        vec![pin.to_owned()],
        "the terminal got the PIN"
    );
    let frames = recorder.frames();
    let answer = frames
        .iter()
        .find(|f| f.direction == TraceDirection::Out && f.request_type == "Input")
        .expect("the Input answer is traced");
    assert!(answer.xml.contains(SECRET_PLACEHOLDER), "{}", answer.xml);
    for frame in &frames {
        assert!(
            !frame.xml.contains(pin),
            "the PIN in the trace: {}",
            frame.xml
        );
    }
    rig.backend.shutdown().await;
}
