//! The frame decoder: byte-count prefixes, limits, any chunking, end of stream.

use opi_backend::codec::{FrameDecoder, FrameError, encode_frame};

const LOGIN: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<ServiceRequest RequestType="Login" WorkstationID="1" RequestID="1"/>
"#;
const LOGOFF: &[u8] =
    br#"<ServiceRequest RequestType="Logoff" WorkstationID="1" RequestID="2"></ServiceRequest>"#;

fn frames(decoder: &mut FrameDecoder) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        out.push(frame.body().to_vec());
    }
    out
}

#[test]
fn the_prefix_is_the_big_endian_byte_count() {
    let frame = encode_frame("<A>ä</A>".as_bytes()).unwrap();
    assert_eq!(&frame[..4], &[0, 0, 0, 9]);
    assert_eq!(&frame[4..], "<A>ä</A>".as_bytes());
}

#[test]
fn frames_come_out_whole_whatever_the_chunking() {
    let mut wire = encode_frame(LOGIN).unwrap();
    wire.extend(encode_frame(LOGOFF).unwrap());
    for chunk in 1..=wire.len() {
        let mut decoder = FrameDecoder::default();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            decoder.push(piece);
            got.extend(frames(&mut decoder));
        }
        assert_eq!(got, vec![LOGIN.to_vec(), LOGOFF.to_vec()], "chunk {chunk}");
        assert_eq!(decoder.buffered(), 0);
        assert_eq!(decoder.finish(), Ok(None));
    }
}

#[test]
fn a_partial_frame_waits_for_more_bytes() {
    let wire = encode_frame(LOGIN).unwrap();
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire[..3]);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.push(&wire[3..20]);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.push(&wire[20..]);
    assert_eq!(decoder.next_frame().unwrap().unwrap().body(), LOGIN);
}

#[test]
fn length_zero_is_refused() {
    let mut decoder = FrameDecoder::default();
    decoder.push(&[0, 0, 0, 0]);
    assert_eq!(decoder.next_frame(), Err(FrameError::ZeroLength));
    decoder.push(&encode_frame(LOGIN).unwrap());
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::ZeroLength),
        "the stream stays failed"
    );
}

#[test]
fn an_oversized_frame_is_refused_from_its_prefix_alone() {
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::TooLarge {
            declared: u64::from(u32::MAX),
            max: 1024
        })
    );
    assert_eq!(decoder.buffered(), 4, "nothing was allocated for the body");

    let mut decoder = FrameDecoder::new(LOGIN.len());
    decoder.push(&encode_frame(LOGIN).unwrap());
    assert!(
        decoder.next_frame().unwrap().is_some(),
        "the maximum itself is allowed"
    );
    let mut decoder = FrameDecoder::new(LOGIN.len() - 1);
    decoder.push(&encode_frame(LOGIN).unwrap());
    assert!(matches!(
        decoder.next_frame(),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn the_default_maximum_is_one_mebibyte() {
    assert_eq!(FrameDecoder::DEFAULT_MAX_FRAME, 1 << 20);
    let mut decoder = FrameDecoder::default();
    decoder.push(&((1u32 << 20) + 1).to_be_bytes());
    assert!(matches!(
        decoder.next_frame(),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn a_stream_ending_inside_a_frame_is_truncated() {
    let wire = encode_frame(LOGIN).unwrap();
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire[..30]);
    assert_eq!(
        decoder.finish(),
        Err(FrameError::Truncated {
            buffered: 30,
            needed: wire.len()
        })
    );
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire[..2]);
    assert!(matches!(
        decoder.finish(),
        Err(FrameError::Truncated { .. })
    ));
}

#[test]
fn a_complete_body_is_never_extended() {
    // The root is closed before the declared end: trailing whitespace or comments stay in the body
    // and the next frame is untouched.
    let body = b"<DeviceRequest RequestType=\"Output\"/>\n<!-- x -->\n";
    let mut wire = encode_frame(body).unwrap();
    wire.extend(encode_frame(LOGOFF).unwrap());
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire);
    let first = decoder.next_frame().unwrap().unwrap();
    assert!(!first.length_recovered());
    assert_eq!(first.body(), body);
    assert_eq!(decoder.next_frame().unwrap().unwrap().body(), LOGOFF);
}

#[test]
fn an_undercounted_body_is_completed_from_buffered_bytes() {
    let body = "<ServiceRequest RequestType=\"Login\" WorkstationID=\"Kasse ä\" RequestID=\"3\"/>";
    let chars = body.chars().count();
    let mut wire = u32::try_from(chars).unwrap().to_be_bytes().to_vec();
    wire.extend_from_slice(body.as_bytes());
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire);
    let frame = decoder.next_frame().unwrap().unwrap();
    assert!(frame.length_recovered());
    assert_eq!(frame.body(), body.as_bytes());
}

#[test]
fn an_unrecoverable_short_body_is_given_as_declared_once_the_bound_is_reached() {
    // Declared 10 bytes of an unclosed root; the end tag never comes within 3 × 10 bytes.
    let mut wire = 10u32.to_be_bytes().to_vec();
    wire.extend_from_slice(b"<Root><A>1");
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire);
    assert_eq!(decoder.next_frame(), Ok(None), "the end tag may still come");
    decoder.push(b"</A><B>22222222222222</B>");
    let frame = decoder.next_frame().unwrap().unwrap();
    assert!(!frame.length_recovered());
    assert_eq!(frame.body(), b"<Root><A>1");

    // At the end of the stream a pending short body is handed over as declared.
    let mut decoder = FrameDecoder::default();
    decoder.push(&wire);
    assert_eq!(decoder.next_frame(), Ok(None));
    let frame = decoder.finish().unwrap().unwrap();
    assert_eq!(frame.body(), b"<Root><A>1");
}

#[test]
fn bodies_without_a_root_are_given_as_declared() {
    let mut decoder = FrameDecoder::default();
    decoder.push(&encode_frame(b"not xml at all").unwrap());
    assert_eq!(
        decoder.next_frame().unwrap().unwrap().body(),
        b"not xml at all"
    );
}
