//! Load, verify, commit only if nobody else committed in between: single use for every factor.
//!
//! [`verify_and_commit`] loads a credential, runs the factor's verification on it, and writes the
//! updated credential back with a compare-and-swap on the version it loaded. If another request
//! committed first, the whole cycle runs again on the fresh state, where the factor's own rules
//! (last accepted TOTP step, used backup code) reject the duplicate. So of any
//! number of concurrent redemptions of one single-use secret stored in the credential, exactly one
//! succeeds.
//!
//! A challenge (a WebAuthn ceremony, a push challenge, an SMS code) is a short-lived record of
//! its own, and the one way to verify against it is to *take* it first ([`take`]: an atomic load
//! and delete), then check: [`verify_challenge_and_commit`] does both. A credential's own state
//! (a signature counter, which synced passkeys leave at 0) is never the only replay guard.
//!
//! The logic is written once, against [`AsyncStore`]; the blocking functions drive it over a
//! [`Store`] on the calling thread.

use core::fmt;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::Arc;
use std::task::Wake;
use std::thread::{self, Thread};

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::clock::UnixTime;
use crate::error::Rejection;
use crate::evidence::Verified;
use crate::store::{
    AsyncStore, NewRecord, RecordKey, Store, StoreError, StoredRecord, SwapOutcome, Version,
    decode, encode,
};
use crate::throttle::Throttled;

/// How many read-verify-write cycles are tried before giving up with [`StoreError::Contention`].
pub const MAX_COMMIT_ATTEMPTS: u32 = 16;

/// Why an attempt through the store helpers did not succeed.
#[must_use]
#[non_exhaustive]
#[derive(Debug)]
pub enum AttemptError<E> {
    /// The factor's check said no (wrong code, replay, bad signature …).
    Rejected(E),
    /// There is no stored credential under that key.
    NotEnrolled,
    /// There is no challenge under that key: it was never issued, has already been taken (used),
    /// or expired from the store. A response to it can never be accepted.
    ChallengeNotFound,
    /// Too many failed attempts: wait, or the authenticator is locked.
    Throttled(Throttled),
    /// The store failed; nothing is known to have been committed.
    Store(StoreError),
}

impl<E: Rejection> AttemptError<E> {
    /// A stable `snake_case` reason for logs and metrics.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Rejected(error) => error.reason(),
            Self::NotEnrolled => "not_enrolled",
            Self::ChallengeNotFound => "challenge_not_found",
            Self::Throttled(Throttled::TooSoon { .. }) => "throttled",
            Self::Throttled(Throttled::LockedOut { .. }) => "locked_out",
            Self::Store(StoreError::AlreadyExists { .. }) => "already_exists",
            Self::Store(_) => "store_unavailable",
        }
    }
}

impl<E> AttemptError<E> {
    /// How long to wait before trying again, when throttled with a delay (the value for an HTTP
    /// `Retry-After` header, rounded up to whole seconds by the caller).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled(Throttled::TooSoon { retry_after }) => Some(*retry_after),
            _ => None,
        }
    }

    /// The HTTP status a web service should answer with:
    ///
    /// | error | status |
    /// |---|---|
    /// | [`Rejected`](Self::Rejected), [`NotEnrolled`](Self::NotEnrolled), [`ChallengeNotFound`](Self::ChallengeNotFound) | 401 Unauthorized (one answer, so a caller cannot tell which) |
    /// | [`Throttled`](Self::Throttled) `TooSoon` | 429 Too Many Requests, with `Retry-After` from [`retry_after`](Self::retry_after) |
    /// | [`Throttled`](Self::Throttled) `LockedOut` | 423 Locked |
    /// | [`Store`](Self::Store) `AlreadyExists` | 409 Conflict |
    /// | [`Store`](Self::Store), anything else | 503 Service Unavailable |
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Rejected(_) | Self::NotEnrolled | Self::ChallengeNotFound => 401,
            Self::Throttled(Throttled::TooSoon { .. }) => 429,
            Self::Throttled(Throttled::LockedOut { .. }) => 423,
            Self::Store(StoreError::AlreadyExists { .. }) => 409,
            Self::Store(_) => 503,
        }
    }
}

impl<E> From<StoreError> for AttemptError<E> {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl<E: fmt::Display> fmt::Display for AttemptError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(error) => write!(f, "rejected: {error}"),
            Self::NotEnrolled => f.write_str("no credential is enrolled under that key"),
            Self::ChallengeNotFound => {
                f.write_str("no such challenge: never issued, already used, or expired")
            }
            Self::Throttled(throttled) => throttled.fmt(f),
            Self::Store(error) => error.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for AttemptError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected(error) => Some(error),
            Self::Store(error) => Some(error),
            _ => None,
        }
    }
}

/// What [`update`] should do with a record.
#[derive(Debug)]
pub enum Change<T> {
    /// Leave it as it is.
    Keep,
    /// Store this value (create or replace), keeping the record's expiry: a record that expires
    /// still expires at the same instant, a new record never expires.
    Put(T),
    /// Store this value (create or replace), expiring at the given instant.
    PutUntil(T, UnixTime),
    /// Remove the record.
    Delete,
}

/// What the cycle writes, already encoded.
enum Plan {
    Keep,
    /// Write, keeping the loaded record's expiry.
    Write(Zeroizing<Vec<u8>>),
    /// Write with this expiry.
    WriteUntil(Zeroizing<Vec<u8>>, UnixTime),
    Delete,
}

/// The one read-modify-write cycle every helper uses.
async fn cycle<S, T, R>(
    store: &S,
    key: &RecordKey,
    mut step: impl FnMut(Option<&T>) -> Result<(Plan, R), StoreError>,
) -> Result<R, StoreError>
where
    S: AsyncStore + ?Sized,
    T: DeserializeOwned,
{
    for _ in 0..MAX_COMMIT_ATTEMPTS {
        let loaded = store.load(key).await?;
        let expected = loaded.as_ref().map(|record| record.version);
        let current: Option<T> = match &loaded {
            Some(record) => Some(decode(key, &record.value)?),
            None => None,
        };
        let (plan, result) = step(current.as_ref())?;
        let kept_expiry = loaded.as_ref().and_then(|record| record.expires_at);
        let (new_value, expires_at) = match plan {
            Plan::Keep => return Ok(result),
            Plan::Delete if expected.is_none() => return Ok(result),
            Plan::Delete => (None, None),
            Plan::Write(bytes) => (Some(bytes), kept_expiry),
            Plan::WriteUntil(bytes, expiry) => (Some(bytes), Some(expiry)),
        };
        let new = new_value
            .as_ref()
            .map(|bytes| NewRecord::new(bytes).with_expiry(expires_at));
        match store.compare_and_swap(key, expected, new).await? {
            SwapOutcome::Committed(_) => return Ok(result),
            SwapOutcome::Conflict => continue,
        }
    }
    Err(StoreError::Contention {
        attempts: MAX_COMMIT_ATTEMPTS,
    })
}

/// Loads and decodes a record (async).
///
/// # Errors
/// [`StoreError`] if the backend fails or the record cannot be decoded.
pub async fn load_async<S, T>(store: &S, key: &RecordKey) -> Result<Option<T>, StoreError>
where
    S: AsyncStore + ?Sized,
    T: DeserializeOwned,
{
    match store.load(key).await? {
        Some(record) => decode(key, &record.value).map(Some),
        None => Ok(None),
    }
}

/// Loads and decodes a record.
///
/// # Errors
/// [`StoreError`] if the backend fails or the record cannot be decoded.
pub fn load<S, T>(store: &S, key: &RecordKey) -> Result<Option<T>, StoreError>
where
    S: Store + ?Sized,
    T: DeserializeOwned,
{
    block_on(load_async(&BlockingStore(store), key))
}

/// Atomically reads, changes and writes one record (async); `step` sees the current value (or
/// `None`) and may run more than once if other writers commit in between, so it must not have side
/// effects beyond its return value.
///
/// # Errors
/// [`StoreError`] if the backend fails, a record cannot be decoded or encoded, or other writers
/// win [`MAX_COMMIT_ATTEMPTS`] times in a row.
pub async fn update_async<S, T, R>(
    store: &S,
    key: &RecordKey,
    mut step: impl FnMut(Option<&T>) -> (Change<T>, R),
) -> Result<R, StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize + DeserializeOwned,
{
    cycle(store, key, |current: Option<&T>| {
        let (change, result) = step(current);
        let plan = match change {
            Change::Keep => Plan::Keep,
            Change::Put(value) => Plan::Write(encode(key, &value)?),
            Change::PutUntil(value, expires_at) => {
                Plan::WriteUntil(encode(key, &value)?, expires_at)
            }
            Change::Delete => Plan::Delete,
        };
        Ok((plan, result))
    })
    .await
}

/// Atomically reads, changes and writes one record; see [`update_async`].
///
/// ```
/// use mfa_core::{Change, MemoryStore, RecordKey, update};
///
/// let store = MemoryStore::new();
/// let key = RecordKey::new("counter", "alice", "visits");
/// for _ in 0..3 {
///     update(&store, &key, |n: Option<&u32>| {
///         let next = n.copied().unwrap_or(0) + 1;
///         (Change::Put(next), next)
///     })?;
/// }
/// assert_eq!(mfa_core::load::<_, u32>(&store, &key)?, Some(3));
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
///
/// # Errors
/// As [`update_async`].
pub fn update<S, T, R>(
    store: &S,
    key: &RecordKey,
    step: impl FnMut(Option<&T>) -> (Change<T>, R),
) -> Result<R, StoreError>
where
    S: Store + ?Sized,
    T: Serialize + DeserializeOwned,
{
    block_on(update_async(&BlockingStore(store), key, step))
}

/// Stores `value` under `key` only if no record exists there yet (async): how a new credential
/// is enrolled.
///
/// # Errors
/// [`StoreError::AlreadyExists`] if a record is already there (nothing is written: a result that
/// cannot be ignored by accident); otherwise as [`update_async`].
pub async fn insert_new_async<S, T>(store: &S, key: &RecordKey, value: &T) -> Result<(), StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize,
{
    insert(store, key, value, None).await
}

/// Stores `value` under `key`, expiring at `expires_at`, only if no live record exists there
/// yet (async): an enrollment token, a pending enrollment. An expired record counts as absent.
///
/// # Errors
/// As [`insert_new_async`].
pub async fn insert_new_until_async<S, T>(
    store: &S,
    key: &RecordKey,
    value: &T,
    expires_at: UnixTime,
) -> Result<(), StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize,
{
    insert(store, key, value, Some(expires_at)).await
}

/// Stores `value` under `key`, expiring at `expires_at`, only if no live record exists there
/// yet; see [`insert_new_until_async`].
///
/// # Errors
/// As [`insert_new_async`].
pub fn insert_new_until<S, T>(
    store: &S,
    key: &RecordKey,
    value: &T,
    expires_at: UnixTime,
) -> Result<(), StoreError>
where
    S: Store + ?Sized,
    T: Serialize,
{
    block_on(insert_new_until_async(
        &BlockingStore(store),
        key,
        value,
        expires_at,
    ))
}

/// Insert-if-absent with an optional expiry: the body of the `insert_new` helpers.
async fn insert<S, T>(
    store: &S,
    key: &RecordKey,
    value: &T,
    expires_at: Option<UnixTime>,
) -> Result<(), StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize,
{
    let bytes = encode(key, value)?;
    let new = NewRecord::new(&bytes).with_expiry(expires_at);
    match store.compare_and_swap(key, None, Some(new)).await? {
        SwapOutcome::Committed(_) => Ok(()),
        SwapOutcome::Conflict => Err(StoreError::AlreadyExists { key: key.flat() }),
    }
}

/// Stores `value` under `key` only if no record exists there yet; see [`insert_new_async`].
///
/// ```
/// use mfa_core::{MemoryStore, RecordKey, StoreError, insert_new};
///
/// let store = MemoryStore::new();
/// let key = RecordKey::new("totp", "alice", "phone");
/// insert_new(&store, &key, &"first")?;
/// assert!(matches!(insert_new(&store, &key, &"second"), Err(StoreError::AlreadyExists { .. })));
/// # Ok::<(), StoreError>(())
/// ```
///
/// # Errors
/// As [`insert_new_async`].
pub fn insert_new<S, T>(store: &S, key: &RecordKey, value: &T) -> Result<(), StoreError>
where
    S: Store + ?Sized,
    T: Serialize,
{
    block_on(insert_new_async(&BlockingStore(store), key, value))
}

/// Every record of `kind` held by `account`, decoded, in key order (async): "list my methods".
///
/// # Errors
/// [`StoreError`] if the backend fails or a record cannot be decoded.
pub async fn list_async<S, T>(
    store: &S,
    kind: &str,
    account: &str,
) -> Result<Vec<(RecordKey, T)>, StoreError>
where
    S: AsyncStore + ?Sized,
    T: DeserializeOwned,
{
    store
        .list(kind, account)
        .await?
        .into_iter()
        .map(|(key, record)| decode(&key, &record.value).map(|value| (key, value)))
        .collect()
}

/// Every record of `kind` held by `account`, decoded, in key order; see [`list_async`].
///
/// ```
/// use mfa_core::{MemoryStore, RecordKey, insert_new, list};
///
/// let store = MemoryStore::new();
/// insert_new(&store, &RecordKey::new("totp", "alice", "phone"), &"Pixel")?;
/// insert_new(&store, &RecordKey::new("totp", "alice", "tablet"), &"iPad")?;
/// insert_new(&store, &RecordKey::new("totp", "bob", "phone"), &"Nokia")?;
/// let names: Vec<String> = list(&store, "totp", "alice")?.into_iter().map(|(_, n)| n).collect();
/// assert_eq!(names, ["Pixel", "iPad"]);
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
///
/// # Errors
/// As [`list_async`].
pub fn list<S, T>(store: &S, kind: &str, account: &str) -> Result<Vec<(RecordKey, T)>, StoreError>
where
    S: Store + ?Sized,
    T: DeserializeOwned,
{
    block_on(list_async(&BlockingStore(store), kind, account))
}

/// Stores `value` under `key`, replacing whatever was there (async): how a service keeps a fresh
/// challenge until its response arrives (see [`take_async`]).
///
/// # Errors
/// As [`update_async`].
pub async fn put_async<S, T>(store: &S, key: &RecordKey, value: &T) -> Result<(), StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize,
{
    replace(store, key, value, None).await
}

/// Stores `value` under `key`, expiring at `expires_at`, replacing whatever was there (async):
/// a challenge that must be answered in time. From `expires_at` on, it reads as absent (so
/// [`take_async`] finds nothing) on every backend.
///
/// # Errors
/// As [`update_async`].
pub async fn put_until_async<S, T>(
    store: &S,
    key: &RecordKey,
    value: &T,
    expires_at: UnixTime,
) -> Result<(), StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize,
{
    replace(store, key, value, Some(expires_at)).await
}

/// Stores `value` under `key`, expiring at `expires_at`, replacing whatever was there; see
/// [`put_until_async`].
///
/// # Errors
/// As [`update_async`].
pub fn put_until<S, T>(
    store: &S,
    key: &RecordKey,
    value: &T,
    expires_at: UnixTime,
) -> Result<(), StoreError>
where
    S: Store + ?Sized,
    T: Serialize,
{
    block_on(put_until_async(
        &BlockingStore(store),
        key,
        value,
        expires_at,
    ))
}

/// Unconditional replacement with an optional expiry: the body of the `put` helpers.
async fn replace<S, T>(
    store: &S,
    key: &RecordKey,
    value: &T,
    expires_at: Option<UnixTime>,
) -> Result<(), StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize,
{
    let bytes = encode(key, value)?;
    let new = NewRecord::new(&bytes).with_expiry(expires_at);
    for _ in 0..MAX_COMMIT_ATTEMPTS {
        // Whatever is there is replaced, readable or not: only its version matters.
        let expected = store.load(key).await?.map(|record| record.version);
        match store.compare_and_swap(key, expected, Some(new)).await? {
            SwapOutcome::Committed(_) => return Ok(()),
            SwapOutcome::Conflict => continue,
        }
    }
    Err(StoreError::Contention {
        attempts: MAX_COMMIT_ATTEMPTS,
    })
}

/// Stores `value` under `key`, replacing whatever was there; see [`put_async`].
///
/// # Errors
/// As [`update_async`].
pub fn put<S, T>(store: &S, key: &RecordKey, value: &T) -> Result<(), StoreError>
where
    S: Store + ?Sized,
    T: Serialize,
{
    block_on(put_async(&BlockingStore(store), key, value))
}

/// Atomically loads and deletes the record at `key` (async): returns its value to exactly one
/// caller, however many take it at once, and `None` to every other.
///
/// This is how a challenge (a WebAuthn ceremony, a push challenge, an SMS code) is made single
/// use: the delete is a compare-and-swap on the version that was loaded, so of any number of
/// concurrent takers on any number of machines, one commits the delete and gets the value; the
/// others see a conflict, load again, and find nothing. Take a challenge *before* checking the
/// response to it, so a response that fails (or is replayed) leaves nothing to try again.
///
/// # Errors
/// [`StoreError`] if the backend fails, the record cannot be decoded, or other writers win
/// [`MAX_COMMIT_ATTEMPTS`] times in a row.
pub async fn take_async<S, T>(store: &S, key: &RecordKey) -> Result<Option<T>, StoreError>
where
    S: AsyncStore + ?Sized,
    T: DeserializeOwned,
{
    for _ in 0..MAX_COMMIT_ATTEMPTS {
        let Some(record) = store.load(key).await? else {
            return Ok(None);
        };
        // Decode first: a record we cannot read is reported, not silently destroyed.
        let value: T = decode(key, &record.value)?;
        match store
            .compare_and_swap(key, Some(record.version), None)
            .await?
        {
            SwapOutcome::Committed(_) => return Ok(Some(value)),
            SwapOutcome::Conflict => continue,
        }
    }
    Err(StoreError::Contention {
        attempts: MAX_COMMIT_ATTEMPTS,
    })
}

/// Atomically loads and deletes the record at `key`; see [`take_async`].
///
/// ```
/// use mfa_core::{MemoryStore, RecordKey, put, take};
///
/// let store = MemoryStore::new();
/// let key = RecordKey::new("challenge", "session-42", "sign-in");
/// put(&store, &key, &"fresh challenge")?;
/// assert_eq!(take::<_, String>(&store, &key)?.as_deref(), Some("fresh challenge"));
/// assert_eq!(take::<_, String>(&store, &key)?, None); // used once, gone
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
///
/// # Errors
/// As [`take_async`].
pub fn take<S, T>(store: &S, key: &RecordKey) -> Result<Option<T>, StoreError>
where
    S: Store + ?Sized,
    T: DeserializeOwned,
{
    block_on(take_async(&BlockingStore(store), key))
}

/// Answers a challenge: takes the challenge at `challenge_key` (so it is spent whatever the
/// outcome), checks the response against it and the credential at `credential_key`, and commits
/// the updated credential through [`verify_and_commit_async`] (async).
///
/// The check comes in two parts, so that the challenge can be consumed by value:
/// - `check` runs once, on the taken challenge and the credential as loaded: the expensive,
///   challenge-bound part (a signature over the challenge, a typed number). It returns a proof
///   `P` of what it established.
/// - `apply` runs on the credential as it is when the commit happens (again if another request
///   committed in between): the cheap, state-bound part (a counter, last use). It must refuse a
///   credential that is no longer the one `check` saw (a different key).
///
/// Of any number of concurrent submissions of one response, at most one can succeed, on any
/// store backend: only one of them takes the challenge.
///
/// # Errors
/// [`AttemptError::ChallengeNotFound`] when there is no challenge to take (never issued, already
/// used, expired); [`AttemptError::NotEnrolled`] when there is no credential;
/// [`AttemptError::Rejected`] when `check` or `apply` says no; [`AttemptError::Store`] when the
/// store fails.
pub async fn verify_challenge_and_commit_async<S, C, P, T, E>(
    store: &S,
    challenge_key: &RecordKey,
    credential_key: &RecordKey,
    check: impl FnOnce(C, &T) -> Result<P, E>,
    mut apply: impl FnMut(&P, &T) -> Result<Verified<T>, E>,
) -> Result<Verified<T>, AttemptError<E>>
where
    S: AsyncStore + ?Sized,
    C: DeserializeOwned,
    T: Serialize + DeserializeOwned,
{
    let challenge: C = match take_async(store, challenge_key).await {
        Ok(Some(challenge)) => challenge,
        Ok(None) => return Err(AttemptError::ChallengeNotFound),
        Err(error) => return Err(AttemptError::Store(error)),
    };
    let credential: T = match load_async(store, credential_key).await {
        Ok(Some(credential)) => credential,
        Ok(None) => return Err(AttemptError::NotEnrolled),
        Err(error) => return Err(AttemptError::Store(error)),
    };
    let proof = check(challenge, &credential).map_err(AttemptError::Rejected)?;
    verify_and_commit_async(store, credential_key, |current: &T| apply(&proof, current)).await
}

/// Blocking [`verify_challenge_and_commit_async`].
///
/// ```
/// use mfa_core::{
///     AttemptError, Evidence, MemoryStore, Method, RecordKey, UnixTime, Verified, insert_new, put,
///     verify_challenge_and_commit,
/// };
///
/// // A toy challenge: the number the sign-in page showed. The credential counts its uses.
/// let store = MemoryStore::new();
/// let device = RecordKey::new("toy", "alice", "phone");
/// let challenge = RecordKey::new("toy_challenge", "alice", "sign-in-1");
/// insert_new(&store, &device, &0_u32)?;
/// put(&store, &challenge, &42_u32)?;
///
/// let answer = |typed: u32| {
///     verify_challenge_and_commit(
///         &store,
///         &challenge,
///         &device,
///         move |shown: u32, _uses: &u32| if shown == typed { Ok(()) } else { Err("wrong number") },
///         |_: &(), uses: &u32| {
///             let evidence = Evidence::new(Method::Push, UnixTime::EPOCH, "phone");
///             Ok(Verified::new(evidence, uses + 1))
///         },
///     )
/// };
/// assert!(answer(42).is_ok());
/// // The same answer again finds no challenge: it was taken by the first.
/// assert!(matches!(answer(42), Err(AttemptError::ChallengeNotFound)));
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
///
/// # Errors
/// As [`verify_challenge_and_commit_async`].
pub fn verify_challenge_and_commit<S, C, P, T, E>(
    store: &S,
    challenge_key: &RecordKey,
    credential_key: &RecordKey,
    check: impl FnOnce(C, &T) -> Result<P, E>,
    apply: impl FnMut(&P, &T) -> Result<Verified<T>, E>,
) -> Result<Verified<T>, AttemptError<E>>
where
    S: Store + ?Sized,
    C: DeserializeOwned,
    T: Serialize + DeserializeOwned,
{
    block_on(verify_challenge_and_commit_async(
        &BlockingStore(store),
        challenge_key,
        credential_key,
        check,
        apply,
    ))
}

/// Loads the credential at `key`, runs `verify` on it, and commits the updated credential only if
/// nobody else committed in between (async); on a conflict, runs again on the fresh state.
///
/// `verify` must be a pure function of the credential it is given (it may run more than once).
/// Returns the [`Verified`] only once its credential is durably committed.
///
/// # Errors
/// [`AttemptError::Rejected`] when `verify` says no (nothing is written),
/// [`AttemptError::NotEnrolled`] when there is no record, [`AttemptError::Store`] when the store
/// fails.
pub async fn verify_and_commit_async<S, T, E>(
    store: &S,
    key: &RecordKey,
    mut verify: impl FnMut(&T) -> Result<Verified<T>, E>,
) -> Result<Verified<T>, AttemptError<E>>
where
    S: AsyncStore + ?Sized,
    T: Serialize + DeserializeOwned,
{
    let outcome = cycle(store, key, |current: Option<&T>| {
        let Some(credential) = current else {
            return Ok((Plan::Keep, Err(AttemptError::NotEnrolled)));
        };
        match verify(credential) {
            Err(rejection) => Ok((Plan::Keep, Err(AttemptError::Rejected(rejection)))),
            Ok(verified) => Ok((
                Plan::Write(encode(key, verified.credential())?),
                Ok(verified),
            )),
        }
    })
    .await;
    match outcome {
        Ok(result) => result,
        Err(store_error) => Err(AttemptError::Store(store_error)),
    }
}

/// Blocking [`verify_and_commit_async`].
///
/// ```
/// use mfa_core::{
///     AttemptError, Evidence, MemoryStore, Method, RecordKey, UnixTime, Verified, insert_new,
///     verify_and_commit,
/// };
///
/// // A toy single-use credential: a flag that flips once.
/// let store = MemoryStore::new();
/// let key = RecordKey::new("toy", "alice", "one-shot");
/// insert_new(&store, &key, &false)?;
///
/// let redeem = |used: &bool| {
///     if *used {
///         return Err("already used");
///     }
///     let evidence = Evidence::new(Method::BackupCode, UnixTime::from_secs(0), "one-shot");
///     Ok(Verified::new(evidence, true))
/// };
/// assert!(verify_and_commit(&store, &key, redeem).is_ok());
/// assert!(matches!(
///     verify_and_commit(&store, &key, redeem),
///     Err(AttemptError::Rejected("already used"))
/// ));
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
///
/// # Errors
/// As [`verify_and_commit_async`].
pub fn verify_and_commit<S, T, E>(
    store: &S,
    key: &RecordKey,
    verify: impl FnMut(&T) -> Result<Verified<T>, E>,
) -> Result<Verified<T>, AttemptError<E>>
where
    S: Store + ?Sized,
    T: Serialize + DeserializeOwned,
{
    block_on(verify_and_commit_async(&BlockingStore(store), key, verify))
}

/// A blocking [`Store`] seen as an [`AsyncStore`] whose futures are ready at once: how a helper
/// written once against `AsyncStore` serves blocking callers too. Drive it with [`block_on`]:
///
/// ```
/// use mfa_core::{BlockingStore, MemoryStore, RecordKey, block_on, insert_new_async, load_async};
///
/// let store = MemoryStore::new(); // any blocking `Store` (SQLite …)
/// let key = RecordKey::new("note", "alice", "1");
/// block_on(insert_new_async(&BlockingStore(&store), &key, &"written by async code"))?;
/// let back: Option<String> = block_on(load_async(&BlockingStore(&store), &key))?;
/// assert_eq!(back.as_deref(), Some("written by async code"));
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
#[derive(Debug)]
pub struct BlockingStore<'a, S: ?Sized>(pub &'a S);

impl<S: Store + ?Sized> AsyncStore for BlockingStore<'_, S> {
    async fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        self.0.load(key)
    }

    async fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        self.0.compare_and_swap(key, expected, new)
    }

    async fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        self.0.list(kind, account)
    }

    async fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        self.0.find_by_id(kind, id)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.0.purge_expired()
    }
}

/// Runs a future to completion on the calling thread, parking it while the future waits. Made for
/// futures over a [`BlockingStore`], which are ready at once; it is correct for any future that
/// wakes its waker, but it is no I/O reactor: inside a tokio runtime, `.await` instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unparker(Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use serde::Deserialize;

    use super::*;
    use crate::evidence::{Evidence, Method};
    use crate::{MemoryStore, UnixTime};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct OneShot {
        used: bool,
    }

    #[derive(Debug, PartialEq)]
    struct AlreadyUsed;

    fn redeem(state: &OneShot) -> Result<Verified<OneShot>, AlreadyUsed> {
        if state.used {
            return Err(AlreadyUsed);
        }
        let evidence = Evidence::new(Method::BackupCode, UnixTime::EPOCH, "c");
        Ok(Verified::new(evidence, OneShot { used: true }))
    }

    #[test]
    fn many_threads_redeem_one_record_exactly_one_wins() {
        const THREADS: usize = 32;
        for round in 0..20 {
            let store = MemoryStore::new();
            let key = RecordKey::new("oneshot", "alice", format!("r{round}"));
            insert_new(&store, &key, &OneShot { used: false }).unwrap();
            let barrier = Barrier::new(THREADS);
            let results: Vec<_> = thread::scope(|scope| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            verify_and_commit(&store, &key, redeem)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let wins = results.iter().filter(|r| r.is_ok()).count();
            let rejected = results
                .iter()
                .filter(|r| matches!(r, Err(AttemptError::Rejected(AlreadyUsed))))
                .count();
            assert_eq!(wins, 1, "round {round}");
            assert_eq!(rejected, THREADS - 1, "round {round}");
            assert_eq!(
                load::<_, OneShot>(&store, &key).unwrap(),
                Some(OneShot { used: true })
            );
        }
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        const THREADS: u64 = 8;
        const EACH: u64 = 50;
        let store = MemoryStore::new();
        let key = RecordKey::new("counter", "alice", "n");
        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    for _ in 0..EACH {
                        // Contention can exhaust the retries under heavy load; retrying is the caller's call.
                        while update(&store, &key, |n: Option<&u64>| {
                            (Change::Put(n.copied().unwrap_or(0) + 1), ())
                        })
                        .is_err()
                        {}
                    }
                });
            }
        });
        assert_eq!(load::<_, u64>(&store, &key).unwrap(), Some(THREADS * EACH));
    }

    #[test]
    fn rejection_writes_nothing_and_missing_record_is_not_enrolled() {
        let store = MemoryStore::new();
        let key = RecordKey::new("oneshot", "bob", "x");
        assert!(matches!(
            verify_and_commit(&store, &key, redeem),
            Err(AttemptError::NotEnrolled)
        ));
        insert_new(&store, &key, &OneShot { used: true }).unwrap();
        assert!(matches!(
            insert_new(&store, &key, &OneShot { used: false }),
            Err(StoreError::AlreadyExists { .. })
        ));
        let before = Store::load(&store, &key).unwrap().unwrap().version;
        assert!(matches!(
            verify_and_commit(&store, &key, redeem),
            Err(AttemptError::Rejected(AlreadyUsed))
        ));
        assert_eq!(Store::load(&store, &key).unwrap().unwrap().version, before);
    }

    #[test]
    fn delete_and_keep() {
        let store = MemoryStore::new();
        let key = RecordKey::new("k", "a", "1");
        update(&store, &key, |_: Option<&u8>| (Change::Delete, ())).unwrap();
        assert!(store.is_empty());
        update(&store, &key, |_: Option<&u8>| (Change::Put(1), ())).unwrap();
        update(&store, &key, |_: Option<&u8>| (Change::Keep, ())).unwrap();
        assert_eq!(load::<_, u8>(&store, &key).unwrap(), Some(1));
        update(&store, &key, |_: Option<&u8>| (Change::Delete, ())).unwrap();
        assert!(store.is_empty());
    }

    #[test]
    fn corrupt_record_is_reported_not_panicked() {
        let store = MemoryStore::new();
        let key = RecordKey::new("k", "a", "1");
        let _ = Store::compare_and_swap(&store, &key, None, Some(NewRecord::new(&[0xff, 0x00])))
            .unwrap();
        let error = load::<_, OneShot>(&store, &key).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }));
        assert!(error.to_string().contains("k/a/1"));
    }

    /// A store whose every write conflicts, as if another node always committed first.
    struct AlwaysConflicts(MemoryStore);

    impl Store for AlwaysConflicts {
        fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
            Store::load(&self.0, key)
        }
        fn compare_and_swap(
            &self,
            _: &RecordKey,
            _: Option<Version>,
            _: Option<NewRecord<'_>>,
        ) -> Result<SwapOutcome, StoreError> {
            Ok(SwapOutcome::Conflict)
        }
        fn list(
            &self,
            kind: &str,
            account: &str,
        ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
            Store::list(&self.0, kind, account)
        }
        fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
            Store::find_by_id(&self.0, kind, id)
        }
    }

    #[test]
    fn endless_conflicts_end_in_contention_error() {
        let store = AlwaysConflicts(MemoryStore::new());
        let key = RecordKey::new("oneshot", "a", "1");
        let _ = Store::compare_and_swap(
            &store.0,
            &key,
            None,
            Some(NewRecord::new(
                &encode(&key, &OneShot { used: false }).unwrap(),
            )),
        )
        .unwrap();
        let mut runs = 0;
        let result = verify_and_commit(&store, &key, |state: &OneShot| {
            runs += 1;
            redeem(state)
        });
        assert!(matches!(
            result,
            Err(AttemptError::Store(StoreError::Contention {
                attempts: MAX_COMMIT_ATTEMPTS
            }))
        ));
        assert_eq!(runs, MAX_COMMIT_ATTEMPTS);
    }

    #[test]
    fn async_path_gives_the_same_answers() {
        let store = MemoryStore::new();
        let key = RecordKey::new("oneshot", "carol", "1");
        block_on(insert_new_async(&store, &key, &OneShot { used: false })).unwrap();
        let first = block_on(verify_and_commit_async(&store, &key, redeem));
        let second = block_on(verify_and_commit_async(&store, &key, redeem));
        assert!(first.is_ok());
        assert!(matches!(second, Err(AttemptError::Rejected(AlreadyUsed))));
        let state: Option<OneShot> = block_on(load_async(&store, &key)).unwrap();
        assert_eq!(state, Some(OneShot { used: true }));
    }

    #[test]
    fn async_futures_are_send() {
        fn assert_send<F: Future + Send>(_: F) {}
        let store = MemoryStore::new();
        let key = RecordKey::new("oneshot", "dave", "1");
        assert_send(verify_and_commit_async(&store, &key, redeem));
        assert_send(update_async(&store, &key, |_: Option<&u8>| {
            (Change::Keep, ())
        }));
    }
}
