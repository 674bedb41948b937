//! WebAuthn/CTAP2 relying-party verification (work in progress).
#![forbid(unsafe_code)]

pub mod attestation;
pub mod cose;
pub mod crypto;
