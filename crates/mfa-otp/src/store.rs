//! The factor on an `mfa-core` store: record keys, throttled verification in one call, and TOTP
//! enrollment that takes effect only once the user has typed a code from the app.
//!
//! Everything here goes through `mfa-core`'s compare-and-swap helpers, so it works on any
//! [`Store`] or [`AsyncStore`] backend; the checks themselves are the pure ones of [`Totp`] and
//! [`Hotp`].

use core::time::Duration;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, RecordKey, Store, StoreError,
    ThrottlePolicy, UnixTime, Verified, block_on, put_async, update_async,
};
use serde::{Deserialize, Serialize};

use crate::error::OtpError;
use crate::hotp::{Hotp, HotpCredential};
use crate::secret::OtpSecret;
use crate::totp::{Totp, TotpCredential, TotpParams};
use crate::uri::KeyUri;

/// The record kind TOTP credentials are stored under.
pub const TOTP_RECORD_KIND: &str = "totp";
/// The record kind HOTP credentials are stored under.
pub const HOTP_RECORD_KIND: &str = "hotp";
/// The record kind of TOTP enrollments that were begun and not yet confirmed.
pub const TOTP_PENDING_RECORD_KIND: &str = "totp_pending";
/// How long a begun TOTP enrollment waits for its confirming code by default: ten minutes.
pub const DEFAULT_ENROLLMENT_TTL: Duration = Duration::from_secs(10 * 60);

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

/// The record key of the pending (begun, not yet confirmed) TOTP enrollment of `account`'s
/// credential `credential_id`: `("totp_pending", account, id)`. Its throttle record is
/// [`ThrottlePolicy::key_for`] this key, separate from the credential's.
#[must_use]
pub fn totp_pending_record_key(account: &str, credential_id: &str) -> RecordKey {
    RecordKey::new(TOTP_PENDING_RECORD_KIND, account, credential_id)
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

/// How a TOTP enrollment is begun. `Default`: [`TotpParams::default`] (SHA-1, 6 digits, 30 s:
/// what every authenticator app reads) and [`DEFAULT_ENROLLMENT_TTL`] (ten minutes) to confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpEnrollmentPolicy {
    /// How the new credential computes codes.
    pub params: TotpParams,
    /// How long the user has to type the first code before the enrollment expires.
    pub expires_after: Duration,
}

impl Default for TotpEnrollmentPolicy {
    fn default() -> Self {
        Self {
            params: TotpParams::default(),
            expires_after: DEFAULT_ENROLLMENT_TTL,
        }
    }
}

/// A begun TOTP enrollment: what to show the user (a QR code of [`key_uri`](Self::key_uri), or
/// the [`secret`](Self::secret) for manual entry) until they confirm it with a code from the app
/// ([`confirm_totp_enrollment`]). Nothing can sign in with it yet.
///
/// `Debug` does not show the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingTotp {
    credential: TotpCredential,
    expires_at: UnixTime,
}

impl PendingTotp {
    /// The new credential's id.
    #[must_use]
    pub fn credential_id(&self) -> &str {
        self.credential.id().as_str()
    }

    /// The new secret, for manual entry ([`OtpSecret::to_base32`]).
    #[must_use]
    pub fn secret(&self) -> &OtpSecret {
        self.credential.secret()
    }

    /// How the new credential computes codes.
    #[must_use]
    pub fn params(&self) -> &TotpParams {
        self.credential.params()
    }

    /// When the enrollment expires unless confirmed.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// The `otpauth://totp/…` key URI to show as a QR code ([`KeyUri::qr_svg`],
    /// [`KeyUri::qr_terminal`]).
    ///
    /// # Errors
    /// As [`KeyUri::totp`] (an issuer or account name with a colon, or too long).
    pub fn key_uri(&self, issuer: Option<&str>, account_name: &str) -> Result<KeyUri, OtpError> {
        self.credential.key_uri(issuer, account_name)
    }
}

/// A pending enrollment as stored. Once a code has confirmed it, the credential inside carries
/// the confirming step (`last_step`), so that code is a replay from then on.
#[derive(Serialize, Deserialize)]
struct PendingRecord {
    credential: TotpCredential,
    expires_at: UnixTime,
}

impl PendingRecord {
    fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.expires_at
    }

    /// Checks `code` against the pending secret; on success the record carries the matched step
    /// and the creation time (the first confirmation's).
    fn confirm(&self, code: &str, now: UnixTime) -> Result<Verified<Self>, OtpError> {
        if self.is_expired(now) {
            return Err(OtpError::EnrollmentExpired);
        }
        let verified = Totp::new().verify(&self.credential, code, now)?;
        let created_at = self.credential.created_at().unwrap_or(now);
        Ok(verified.map(|credential| Self {
            credential: credential.with_created_at(created_at),
            expires_at: self.expires_at,
        }))
    }
}

/// Begins enrolling an authenticator app as `account`'s TOTP credential `credential_id`: draws a
/// fresh 160-bit secret from `rng` and stores it as a pending enrollment
/// ([`totp_pending_record_key`]) that expires after `policy.expires_after`, replacing any earlier
/// pending enrollment of that credential id (its secret then no longer confirms). Show the
/// returned [`PendingTotp`]'s QR code; the credential exists only once
/// [`confirm_totp_enrollment`] accepts a code from the app.
///
/// Returns [`StoreError::AlreadyExists`] (HTTP 409 through [`AttemptError::http_status`]) if the
/// credential is already enrolled: to replace one, delete it first or enroll under a new id.
/// Confirming checks again, atomically.
///
/// # Errors
/// [`StoreError::AlreadyExists`] as above; otherwise [`StoreError`] if the store fails.
pub fn begin_totp_enrollment<S, R>(
    store: &S,
    account: &str,
    credential_id: &str,
    policy: &TotpEnrollmentPolicy,
    rng: &mut R,
    now: UnixTime,
) -> Result<PendingTotp, StoreError>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    let secret = OtpSecret::generate(rng);
    block_on(begin(
        &BlockingStore(store),
        account,
        credential_id,
        policy,
        secret,
        now,
    ))
}

/// Async [`begin_totp_enrollment`], over an [`AsyncStore`].
///
/// The future holds `rng` until it completes, so it is `Send` only if the RNG is: in an async
/// web handler use a `Send` generator such as `rand::rngs::StdRng`, not `rand::rng()` (see the
/// [crate docs](crate#randomness-in-async-handlers)).
///
/// # Errors
/// As [`begin_totp_enrollment`].
pub async fn begin_totp_enrollment_async<S, R>(
    store: &S,
    account: &str,
    credential_id: &str,
    policy: &TotpEnrollmentPolicy,
    rng: &mut R,
    now: UnixTime,
) -> Result<PendingTotp, StoreError>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
{
    let secret = OtpSecret::generate(rng);
    begin(store, account, credential_id, policy, secret, now).await
}

async fn begin<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    credential_id: &str,
    policy: &TotpEnrollmentPolicy,
    secret: OtpSecret,
    now: UnixTime,
) -> Result<PendingTotp, StoreError> {
    let credential_key = totp_record_key(account, credential_id);
    if store.load(&credential_key).await?.is_some() {
        return Err(StoreError::AlreadyExists {
            key: credential_key.flat(),
        });
    }
    let record = PendingRecord {
        credential: TotpCredential::new(credential_id, secret, policy.params),
        expires_at: now.saturating_add(policy.expires_after),
    };
    put_async(
        store,
        &totp_pending_record_key(account, credential_id),
        &record,
    )
    .await?;
    Ok(PendingTotp {
        credential: record.credential,
        expires_at: record.expires_at,
    })
}

/// Confirms the pending enrollment of `account`'s TOTP credential `credential_id` with a `code`
/// the user typed from the app, and on success makes it the credential
/// ([`totp_record_key`]), created and last used `now`.
///
/// The code is checked (±1 step) behind `throttle`, on the pending record's own throttle record:
/// a wrong code counts and leaves the enrollment in place, so the user can type it again; an
/// expired enrollment does not count. On success:
///
/// 1. the pending record is marked confirmed with the matched step, in one compare-and-swap, so
///    of concurrent confirmations with one code exactly one gets this far (the rest are
///    [`OtpError::Replayed`]);
/// 2. the credential is inserted, carrying that step as its last one, so the confirming code
///    cannot then sign in;
/// 3. the pending record and its throttle record are removed (best effort: the credential is
///    already committed; a pending record left behind can only install this same credential
///    again, and expires).
///
/// If a failure left a confirmed pending record, confirming again with a newer code (before the
/// enrollment expires) completes it: finding its own credential already installed (same
/// secret), it moves that credential's last step forward instead of inserting a second one; a
/// code that credential has already accepted is [`OtpError::Replayed`].
///
/// # Errors
/// - [`AttemptError::Rejected`] with [`OtpError::CodeMismatch`], [`Replayed`](OtpError::Replayed)
///   or [`MalformedCode`](OtpError::MalformedCode) (counted), or
///   [`OtpError::EnrollmentExpired`] (not counted; the expired record is removed);
/// - [`AttemptError::ChallengeNotFound`] if there is no pending enrollment (never begun, already
///   confirmed and cleaned up, or expired and removed);
/// - [`AttemptError::Throttled`];
/// - [`AttemptError::Store`] with [`StoreError::AlreadyExists`] (HTTP 409) if another credential
///   is already enrolled under that id (the pending enrollment is then removed), or another
///   [`StoreError`] if the store fails.
pub fn confirm_totp_enrollment<S: Store + ?Sized>(
    store: &S,
    account: &str,
    credential_id: &str,
    throttle: &ThrottlePolicy,
    code: &str,
    now: UnixTime,
) -> Result<Verified<TotpCredential>, AttemptError<OtpError>> {
    block_on(confirm_totp_enrollment_async(
        &BlockingStore(store),
        account,
        credential_id,
        throttle,
        code,
        now,
    ))
}

/// Async [`confirm_totp_enrollment`], over an [`AsyncStore`].
///
/// # Errors
/// As [`confirm_totp_enrollment`].
pub async fn confirm_totp_enrollment_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    credential_id: &str,
    throttle: &ThrottlePolicy,
    code: &str,
    now: UnixTime,
) -> Result<Verified<TotpCredential>, AttemptError<OtpError>> {
    let pending_key = totp_pending_record_key(account, credential_id);
    let credential_key = totp_record_key(account, credential_id);

    let confirmed = throttle
        .verify_and_commit_async(store, &pending_key, now, |pending: &PendingRecord| {
            pending.confirm(code, now)
        })
        .await;
    let (evidence, pending) = match confirmed {
        Ok(verified) => verified.into_parts(),
        Err(AttemptError::NotEnrolled) => return Err(AttemptError::ChallengeNotFound),
        Err(expired @ AttemptError::Rejected(OtpError::EnrollmentExpired)) => {
            // Best effort: an expired enrollment is of no use, and it holds a secret.
            let _best_effort = update_async(
                store,
                &pending_key,
                |current: Option<&PendingRecord>| match current {
                    Some(record) if record.is_expired(now) => (Change::Delete, ()),
                    _ => (Change::Keep, ()),
                },
            )
            .await;
            return Err(expired);
        }
        Err(other) => return Err(other),
    };

    let installed = update_async(store, &credential_key, |existing| {
        install(existing, &pending.credential, &credential_key)
    })
    .await
    .map_err(AttemptError::Store)?;

    // Best effort, after the credential is committed: remove this enrollment (not a newer one
    // begun since, with another secret) and the counts that losing concurrent confirmations left
    // on its throttle record.
    let _best_effort =
        update_async(
            store,
            &pending_key,
            |current: Option<&PendingRecord>| match current {
                Some(record) if record.credential.secret() == pending.credential.secret() => {
                    (Change::Delete, ())
                }
                _ => (Change::Keep, ()),
            },
        )
        .await;
    let _best_effort = throttle.reset_async(store, &pending_key).await;

    installed.map(|credential| Verified::new(evidence, credential))
}

/// What step 2 of a confirmation writes at the credential key, given what is there.
fn install(
    existing: Option<&TotpCredential>,
    confirmed: &TotpCredential,
    credential_key: &RecordKey,
) -> (
    Change<TotpCredential>,
    Result<TotpCredential, AttemptError<OtpError>>,
) {
    match existing {
        None => (Change::Put(confirmed.clone()), Ok(confirmed.clone())),
        // This enrollment, installed by an earlier confirmation that did not get to remove the
        // pending record (or by a concurrent one with a code of another step). The secret is a
        // fresh 160-bit draw, so equality identifies the enrollment (compared in constant time).
        Some(current) if current.secret() == confirmed.secret() => {
            if current.last_step() >= confirmed.last_step() {
                // The credential already accepted this step (or a later one): a replay.
                return (
                    Change::Keep,
                    Err(AttemptError::Rejected(OtpError::Replayed)),
                );
            }
            // The newer state, created when the first confirmation installed it.
            let merged = match current.created_at() {
                Some(created_at) => confirmed.clone().with_created_at(created_at),
                None => confirmed.clone(),
            };
            (Change::Put(merged.clone()), Ok(merged))
        }
        Some(_) => (
            Change::Keep,
            Err(AttemptError::Store(StoreError::AlreadyExists {
                key: credential_key.flat(),
            })),
        ),
    }
}
