//! HOTP/TOTP (RFC 4226/6238) with constant-time, replay-safe verification and otpauth:// enrollment
//!
//! Work in progress.
#![forbid(unsafe_code)]
