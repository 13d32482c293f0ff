//! What card-number masking costs per log line, next to what writing the line costs anyway.
//!
//! `cargo bench -p eps-core --bench redact` masks a typical JSON log line (an HTTP request span
//! with a UUID, timestamps and a RequestID), and the same line carrying a card number, and
//! prints the time per line next to serialising the line's fields with `serde_json` (a stand-in
//! for the formatter that produced it), measured side by side in one run.

use std::hint::black_box;
use std::time::Instant;

use eps_core::redact::mask_pans;

const ROUNDS: u32 = 200_000;

fn main() {
    let fields = serde_json::json!({
        "timestamp": "2026-01-05T09:00:00.123456Z",
        "level": "DEBUG",
        "fields": {"message": "request started", "method": "POST",
            "uri": "/prompts/0193a6f4-5c1e-7123-9123-456789012345/response",
            "request": "535112340001", "amount": "EUR 12.34"},
        "target": "tower_http::trace::on_request",
        "span": {"name": "request", "id": "01a241c2-c3ee-77ea-9dac-1ff185ed6f4a"}
    });
    let plain = fields.to_string();
    let with_pan = plain.replace("EUR 12.34", "Karte 4111 1111 1111 1112");
    let format = per_line(|| serde_json::to_string(black_box(&fields)).unwrap());
    let mask_plain = per_line(|| mask_pans(black_box(&plain)));
    let mask_pan = per_line(|| mask_pans(black_box(&with_pan)));
    println!("log line of {} bytes, {ROUNDS} rounds each", plain.len());
    println!("serialise the fields : {format:>7.0} ns/line");
    println!(
        "mask, no card number : {mask_plain:>7.0} ns/line ({:.2}x serialising)",
        mask_plain / format
    );
    println!(
        "mask, a card number  : {mask_pan:>7.0} ns/line ({:.2}x serialising)",
        mask_pan / format
    );
}

fn per_line<T>(mut work: impl FnMut() -> T) -> f64 {
    for _ in 0..ROUNDS / 10 {
        black_box(work());
    }
    #[allow(clippy::disallowed_methods)] // a benchmark's own clock
    let start = Instant::now();
    for _ in 0..ROUNDS {
        black_box(work());
    }
    start.elapsed().as_nanos() as f64 / f64::from(ROUNDS)
}
