//! Benchmarks of the backup verify path: filled in by its issue.
#![allow(missing_docs)]

fn main() {}
