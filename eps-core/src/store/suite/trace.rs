//! The OPI trace: batches in write order, per transaction, masked; and the batching writer.

use std::sync::Arc;

use super::fixtures::*;
use crate::ids::TransactionId;
use crate::opi_trace::{
    OpiChannel, TraceDirection, TraceSink, TraceWriter, TracedFrame, WireFrame,
};
use crate::store::Store;

fn frame(id: TransactionId, seq: u32, direction: TraceDirection, xml: &str) -> TracedFrame {
    let wire = WireFrame {
        direction,
        channel: if seq == 1 {
            OpiChannel::Devices
        } else {
            OpiChannel::Requests
        },
        message: "CardServiceRequest".into(),
        request_type: "CardPayment".into(),
        xml: xml.into(),
    };
    TracedFrame::new(id, at(i64::from(seq)), seq, wire)
}

pub(super) async fn trace_batches_read_back_in_order(store: Arc<dyn Store>) {
    let (one, other) = (TransactionId::generate(), TransactionId::generate());
    let first = vec![
        frame(one, 0, TraceDirection::Out, "<CardServiceRequest/>"),
        frame(other, 0, TraceDirection::Out, "<x/>"),
        frame(
            one,
            1,
            TraceDirection::In,
            "<DeviceRequest>4111 1111 1111 1111</DeviceRequest>",
        ),
    ];
    store.insert_trace(&first).await.unwrap();
    store.insert_trace(&[]).await.unwrap();
    let last = frame(one, 2, TraceDirection::In, "<CardServiceResponse/>");
    store
        .insert_trace(std::slice::from_ref(&last))
        .await
        .unwrap();

    let trace = store.trace(&one).await.unwrap();
    assert_eq!(trace, vec![first[0].clone(), first[2].clone(), last]);
    assert_eq!(
        trace[1].xml,
        "<DeviceRequest>411111******1111</DeviceRequest>"
    );
    assert_eq!(trace[1].channel, OpiChannel::Devices);
    assert_eq!(store.trace(&other).await.unwrap().len(), 1);
    assert!(
        store
            .trace(&TransactionId::generate())
            .await
            .unwrap()
            .is_empty()
    );
}

pub(super) async fn trace_writer_writes_everything_queued(store: Arc<dyn Store>) {
    let id = TransactionId::generate();
    let (writer, task) = TraceWriter::spawn(store.clone(), 1_000);
    for seq in 0..150 {
        writer.record(frame(id, seq, TraceDirection::Out, "<a/>"));
    }
    assert_eq!(writer.dropped(), 0);
    task.finish().await;
    writer.record(frame(id, 150, TraceDirection::Out, "<late/>"));
    assert_eq!(
        writer.dropped(),
        1,
        "a frame after finish is dropped and counted"
    );
    let seqs: Vec<u32> = store
        .trace(&id)
        .await
        .unwrap()
        .iter()
        .map(|f| f.seq)
        .collect();
    assert_eq!(seqs, (0..150).collect::<Vec<_>>());
}
