//! `opi-sim` against an independent minimal POS written here, which, as the protocol's
//! connection-lifetime rule says ("a connection lives only as long as one Request / Response
//! pair", research notes §2), closes its channel-1 connection after each DeviceResponse.

use std::net::SocketAddr;
use std::time::Duration;

use opi_backend::codec::{self, FrameDecoder, WriteOptions};
use opi_backend::message::{
    CardRequestType, CardServiceRequest, DeviceRequest, DeviceResponse, Header, Message,
    MonetaryAmount, OutputResult, OverallResult, PosData, RequestId, ServiceRequest,
    ServiceRequestType, TotalAmount,
};
use opi_backend::sim::{CallbackMode, SimConfig, SimServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::rig::sim;

const DEADLINE: Duration = Duration::from_secs(20);

/// Reads one whole frame's message from `stream`, or `None` at end of stream.
async fn read_message(stream: &mut TcpStream) -> Option<Message> {
    let mut decoder = FrameDecoder::default();
    let mut buffer = [0_u8; 4096];
    loop {
        if let Some(frame) = decoder.next_frame().unwrap() {
            return Some(codec::decode(frame.body()).unwrap());
        }
        let n = stream.read(&mut buffer).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        decoder.push(&buffer[..n]);
    }
}

/// The POS's channel-1 listener: one DeviceRequest per connection, answered, then closed.
/// Every DeviceRequest it answered is reported on the returned channel.
async fn closing_listener() -> (SocketAddr, mpsc::UnboundedReceiver<DeviceRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let Some(Message::DeviceRequest(request)) = read_message(&mut stream).await else {
                continue;
            };
            let mut answer = DeviceResponse::new(
                request.header.echo(),
                request.request_type.clone(),
                OverallResult::Success,
            );
            answer.outputs = request
                .outputs
                .iter()
                .map(|o| OutputResult {
                    target: o.target.clone(),
                    result: OverallResult::Success,
                })
                .collect();
            let frame = codec::encode(&answer.into(), &WriteOptions::STRICT).unwrap();
            stream.write_all(&frame).await.unwrap();
            let _ = tx.send(request);
            // Closed here: one Request / Response pair per connection.
            drop(stream);
        }
    });
    (address, rx)
}

/// The POS's channel 0: one request per connection, as every POS in the record does.
async fn ask(sim: &SimServer, request: Message) -> Message {
    let exchange = async {
        let mut stream = TcpStream::connect(sim.channel0_address()).await.unwrap();
        let frame = codec::encode(&request, &WriteOptions::STRICT).unwrap();
        stream.write_all(&frame).await.unwrap();
        read_message(&mut stream)
            .await
            .expect("an answer on channel 0")
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("the simulator answers within the deadline")
}

fn header(id: &str) -> Header {
    Header::new(RequestId::parse(id).unwrap(), "1")
}

async fn pay_through_closing_pos(callbacks: CallbackMode) {
    let (callback, mut answered) = closing_listener().await;
    let sim = sim(SimConfig {
        callbacks,
        ..SimConfig::calling_back_to(callback.to_string())
    })
    .await;
    let login = ServiceRequest::new(header("1"), ServiceRequestType::Login, PosData::default());
    let Message::ServiceResponse(logged_in) = ask(&sim, login.into()).await else {
        panic!("no ServiceResponse");
    };
    assert_eq!(logged_in.overall_result, OverallResult::Success);

    let mut payment = CardServiceRequest::new(
        header("2"),
        CardRequestType::CardPayment,
        PosData::default(),
    );
    payment.total_amount = Some(TotalAmount::new(
        MonetaryAmount::parse("12.00", Some("EUR")).unwrap(),
    ));
    let Message::CardServiceResponse(paid) = ask(&sim, payment.into()).await else {
        panic!("no CardServiceResponse");
    };
    assert_eq!(
        paid.overall_result,
        OverallResult::Success,
        "{callbacks:?}: every receipt reached the POS, so no PrintLastTicket"
    );
    let mut targets = Vec::new();
    while let Ok(request) = answered.try_recv() {
        targets.push(request.outputs[0].target.as_str().to_owned());
    }
    assert_eq!(
        targets,
        ["CashierDisplay", "Printer", "Printer"],
        "{callbacks:?}"
    );
    let entry = sim.entry("2").unwrap();
    assert!(
        entry.approved() && entry.receipts_delivered,
        "{callbacks:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn by_default_each_device_request_has_its_own_connection() {
    assert_eq!(SimConfig::default().callbacks, CallbackMode::PerRequest);
    pay_through_closing_pos(SimConfig::default().callbacks).await;
}

#[tokio::test]
async fn the_shared_mode_reconnects_when_the_pos_has_closed() {
    pay_through_closing_pos(CallbackMode::Shared).await;
}
