//! The factor on an `mfa-core` store: record keys and throttled verification in one call.
//!
//! Everything here goes through `mfa-core`'s compare-and-swap helpers, so it works on any
//! [`Store`] or [`AsyncStore`] backend; the checks themselves are the pure ones of [`Totp`] and
//! [`Hotp`].

use mfa_core::{AsyncStore, AttemptError, RecordKey, Store, ThrottlePolicy, UnixTime, Verified};

use crate::error::OtpError;
use crate::hotp::{Hotp, HotpCredential};
use crate::totp::{Totp, TotpCredential};

/// The record kind TOTP credentials are stored under.
pub const TOTP_RECORD_KIND: &str = "totp";
/// The record kind HOTP credentials are stored under.
pub const HOTP_RECORD_KIND: &str = "hotp";

/// The record key of `account`'s TOTP credential `credential_id`: `("totp", account, id)`.
#[must_use]
pub fn totp_record_key(account: &str, credential_id: &str) -> RecordKey {
    RecordKey::new(TOTP_RECORD_KIND, account, credential_id)
}

/// The record key of `account`'s HOTP credential `credential_id`: `("hotp", account, id)`.
#[must_use]
pub fn hotp_record_key(account: &str, credential_id: &str) -> RecordKey {
    RecordKey::new(HOTP_RECORD_KIND, account, credential_id)
}

/// Checks `code` against the TOTP credential stored at `key` at `now` and commits the new last
/// step, throttled (NIST SP 800-63B-4 §3.2.2 through [`ThrottlePolicy`]): the sign-in in one call.
///
/// The verifier is [`Totp::new`] (±1 step). With another window, use the general form:
/// `throttle.verify_and_commit(store, key, now, Totp::new().with_window(w).check(code, now))`.
/// Of concurrent submissions of one code exactly one succeeds; the others are
/// [`OtpError::Replayed`]. The returned credential is already committed.
///
/// # Errors
/// [`AttemptError::Rejected`] with the [`OtpError`] (wrong, replayed, malformed …; see
/// [which count toward throttling](crate#which-failures-count-toward-throttling)),
/// [`AttemptError::Throttled`], [`AttemptError::NotEnrolled`] if nothing is stored at `key`,
/// [`AttemptError::Store`] if the store fails or the record does not decode.
pub fn verify_totp<S: Store + ?Sized>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    code: &str,
    now: UnixTime,
) -> Result<Verified<TotpCredential>, AttemptError<OtpError>> {
    throttle.verify_and_commit(store, key, now, Totp::new().check(code, now))
}

/// Async [`verify_totp`], over an [`AsyncStore`].
///
/// # Errors
/// As [`verify_totp`].
pub async fn verify_totp_async<S: AsyncStore + ?Sized>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    code: &str,
    now: UnixTime,
) -> Result<Verified<TotpCredential>, AttemptError<OtpError>> {
    let totp = Totp::new();
    throttle
        .verify_and_commit_async(store, key, now, totp.check(code, now))
        .await
}

/// Checks `code` against the HOTP credential stored at `key` and commits the advanced counter,
/// throttled: the sign-in in one call. `now` is when (it goes into the evidence and the
/// credential's last use, and drives the throttle).
///
/// The verifier is [`Hotp::new`] (look-ahead 10). With another look-ahead, or to
/// [resynchronise](Hotp::resync), use the general form:
/// `throttle.verify_and_commit(store, key, now, hotp.check(code, now))`.
///
/// # Errors
/// As [`verify_totp`]; a replayed HOTP code is [`OtpError::CodeMismatch`].
pub fn verify_hotp<S: Store + ?Sized>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    code: &str,
    now: UnixTime,
) -> Result<Verified<HotpCredential>, AttemptError<OtpError>> {
    throttle.verify_and_commit(store, key, now, Hotp::new().check(code, now))
}

/// Async [`verify_hotp`], over an [`AsyncStore`].
///
/// # Errors
/// As [`verify_hotp`].
pub async fn verify_hotp_async<S: AsyncStore + ?Sized>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    code: &str,
    now: UnixTime,
) -> Result<Verified<HotpCredential>, AttemptError<OtpError>> {
    let hotp = Hotp::new();
    throttle
        .verify_and_commit_async(store, key, now, hotp.check(code, now))
        .await
}
