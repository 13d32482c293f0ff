//! Frame decoder + XML decoder on arbitrary bytes: never a panic; frames do not depend on how the
//! bytes were chunked; whatever decodes re-encodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opi_backend::codec::{self, FrameDecoder, FrameError, WriteOptions};

const MAX_FRAME: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    // The bytes as one XML body.
    check_body(stream);
    // The bytes as a stream of frames, pushed at once and in chunks of 1..=256 bytes.
    let whole = frames(stream, stream.len().max(1));
    let chunked = frames(stream, usize::from(chunk) + 1);
    assert_eq!(whole, chunked, "chunking changed the frames");
    for body in whole.0 {
        check_body(&body);
    }
});

/// The frames (body, recovered) of `stream` pushed in `chunk`-byte pieces, and how it ended.
fn frames(
    stream: &[u8],
    chunk: usize,
) -> (Vec<Vec<u8>>, Vec<bool>, Result<(), FrameError>) {
    let mut decoder = FrameDecoder::new(MAX_FRAME);
    let (mut bodies, mut recovered) = (Vec::new(), Vec::new());
    let mut take = |frame: codec::Frame| {
        recovered.push(frame.length_recovered());
        bodies.push(frame.body().to_vec());
    };
    for piece in stream.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => take(frame),
                Ok(None) => break,
                Err(e) => return (bodies, recovered, Err(e)),
            }
        }
    }
    loop {
        match decoder.finish() {
            Ok(Some(frame)) => take(frame),
            Ok(None) => return (bodies, recovered, Ok(())),
            Err(e) => return (bodies, recovered, Err(e)),
        }
    }
}

fn check_body(body: &[u8]) {
    let Ok(message) = codec::decode(body) else {
        let _ = codec::envelope(body);
        return;
    };
    for options in [WriteOptions::STRICT, WriteOptions::LATIN1] {
        // Decoded text may hold what XML cannot carry back (e.g. a control character from a
        // character reference); refusing it is right. Anything written must read back the same.
        if let Ok(encoded) = codec::encode_body(&message, &options) {
            let again = codec::decode(&encoded).expect("written XML must decode");
            assert_eq!(again, message, "round trip changed the message");
        }
    }
}
