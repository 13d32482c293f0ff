//! Frames decoded and encoded per second for a typical CardServiceResponse (research notes §4.2).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opi_backend::codec::{self, FrameDecoder, WriteOptions};

const RESPONSE: &[u8] = include_bytes!("../tests/fixtures/strict/card_payment_response.xml");

fn codec(c: &mut Criterion) {
    let message = codec::decode(RESPONSE).expect("the fixture decodes");
    let frame = codec::encode(&message, &WriteOptions::STRICT).expect("the fixture encodes");

    let mut group = c.benchmark_group("opi_codec_card_service_response");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_frame", |b| {
        let mut decoder = FrameDecoder::default();
        b.iter(|| {
            decoder.push(black_box(&frame));
            let body = decoder.next_frame().expect("valid").expect("whole frame");
            black_box(codec::decode(body.body()).expect("valid"))
        });
    });
    group.bench_function("encode_frame", |b| {
        b.iter(|| black_box(codec::encode(black_box(&message), &WriteOptions::STRICT)));
    });
    group.bench_function("encode_frame_latin1", |b| {
        b.iter(|| black_box(codec::encode(black_box(&message), &WriteOptions::LATIN1)));
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
