#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// The shared vocabulary: clock, secrets, evidence, store, throttling. Always available.
pub use mfa_core as core;

pub use mfa_core::{
    AttemptError, Clock, Evidence, ManualClock, MemoryStore, Method, RecordKey, SecretBytes, Store,
    SystemClock, ThrottlePolicy, UnixTime, Verified,
};

/// HOTP/TOTP authenticator-app codes (feature `otp`).
#[cfg(feature = "otp")]
pub use mfa_otp as otp;

/// Backup (recovery) codes (feature `backup`).
#[cfg(feature = "backup")]
pub use mfa_backup as backup;

/// WebAuthn security keys and passkeys (feature `webauthn`).
#[cfg(feature = "webauthn")]
pub use mfa_webauthn as webauthn;

/// SMS and voice one-time codes with send limits (feature `oob`, not on by default).
#[cfg(feature = "oob")]
pub use mfa_oob as oob;
/// Push approval with number matching (feature `push`; the device side with `push-device`).
#[cfg(feature = "push")]
pub use mfa_push as push;

/// A user's security info: methods, campaign, reset, temporary access passes, app passwords,
/// remembered devices and sign out everywhere (feature `account`, not on by default).
#[cfg(feature = "account")]
pub use mfa_account as account;
