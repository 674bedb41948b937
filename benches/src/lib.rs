//! Criterion benchmarks of the mfa workspace live in `benches/`; run them with
//! `cargo bench -p mfa-benches`. This library is empty.
#![forbid(unsafe_code)]
