//! Single-use, salted-hash backup (recovery) codes
//!
//! Work in progress.
#![forbid(unsafe_code)]
