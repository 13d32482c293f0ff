//! Frame decoder + XML decoder on arbitrary bytes: never a panic, and whatever decodes re-encodes
//! to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opi_backend::codec::{self, FrameDecoder, WriteOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    // The bytes as one XML body.
    check_body(stream);
    // The bytes as a stream of frames, pushed in chunks of 1..=256 bytes.
    let mut decoder = FrameDecoder::new(64 * 1024);
    for piece in stream.chunks(usize::from(chunk) + 1) {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => check_body(frame.body()),
                Ok(None) | Err(_) => break,
            }
        }
    }
    if let Ok(Some(frame)) = decoder.finish() {
        check_body(frame.body());
    }
});

fn check_body(body: &[u8]) {
    let Ok(message) = codec::decode(body) else {
        return;
    };
    for options in [WriteOptions::STRICT, WriteOptions::LATIN1] {
        let encoded = codec::encode_body(&message, &options);
        // Decoded text may hold what XML cannot carry back (e.g. a control character from a
        // character reference); refusing it is right. Anything written must read back the same.
        if let Ok(encoded) = encoded {
            let again = codec::decode(&encoded).expect("written XML must decode");
            assert_eq!(again, message, "round trip changed the message");
        }
    }
}
