//! The `eps` binary (placeholder until the API work lands).

fn main() {}
