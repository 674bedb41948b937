//! Benchmarks of the otp verify path: filled in by its issue.
#![allow(missing_docs)]

fn main() {}
