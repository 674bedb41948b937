//! Criterion benchmarks of the mfa workspace live in `benches/`; run them with
//! `cargo bench -p mfa-benches`. This library holds only the statistics of the constant-time
//! harness ([`ct`], run as `cargo run --release -p mfa-benches --bin ct`) and of the paired
//! timing behind the goals of `benches/RESULTS.md` ([`paired`]).
#![forbid(unsafe_code)]

pub mod ct;
pub mod paired;
