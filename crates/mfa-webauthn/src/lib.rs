//! WebAuthn/CTAP2 registration and assertion verification for security keys and passkeys
//!
//! Work in progress.
#![forbid(unsafe_code)]
