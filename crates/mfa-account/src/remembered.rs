//! Remembered devices: after a multi-factor sign-in, the service may set a cookie so that this
//! browser is not asked for a second factor again until the token expires (Microsoft Entra's
//! "remember multifactor authentication on trusted devices"; NIST SP 800-63B-4's session
//! binding, <https://pages.nist.gov/800-63-4/sp800-63b.html>).
//!
//! - The token is `<id>.<secret>`: a random record id and [`REMEMBERED_SECRET_CHARS`] symbols of
//!   Crockford base32 (130 bits). Only a salted SHA-256 of the secret is stored, under the
//!   user's account: a token presented for another account is unknown.
//! - It expires at most [`AccountPolicy::remember_max_lifetime`] after it was issued.
//! - It carries the account's revocation epoch ([`current_epoch`](crate::current_epoch)) at
//!   issue, and stops working when the epoch moves on
//!   ([`sign_out_everywhere`](crate::sign_out_everywhere), a help-desk reset).
//! - [`check_remembered`] returns when the memory ends, for `mfa-policy`'s
//!   `DeviceInfo::remembered_until` (`SignInContextBuilder::remembered_until`); the policy decides
//!   whether a remembered device satisfies it (a policy's `remember_device_days`).
//!
//! An expired token stays in the store for a day after its end (so presenting it answers
//! [`AccountError::RememberedExpired`]), then reads as unknown
//! ([`AccountError::RememberedInvalid`]).

use core::fmt;
use core::time::Duration;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, CryptoRng, Store, StoreError, UnixTime, block_on,
    insert_new_until_async, list_async, load_async,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AccountPolicy;
use crate::error::AccountError;
use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::hashed::{EXPIRED_KEPT_FOR, delete_all_async, delete_async, emit, matches_or_same_work};
use crate::profile::AccountProfile;
use crate::secret::{CROCKFORD_UPPER, SecretHash, generate_grouped, random_id};
use crate::store::{REMEMBERED_KIND, profile_key, remembered_key};

/// Symbols of Crockford base32 in a token's secret part: 26 × 5 = 130 bits.
pub const REMEMBERED_SECRET_CHARS: usize = 26;

/// Longest id part a token may carry (ids this crate makes are 22 characters).
const MAX_TOKEN_ID_LEN: usize = 64;

/// Domain separation of remembered-device hashes.
const REMEMBERED_DOMAIN: &str = "mfa-account/remembered";

/// A device just remembered: put [`token`](Self::token) in a cookie (`HttpOnly`, `Secure`,
/// expiring at [`expires_at`](Self::expires_at)). `Debug` does not show the token.
#[derive(Clone)]
pub struct RememberedToken {
    /// The remembered device's id (for listing and forgetting; not secret).
    pub id: String,
    /// The token, `<id>.<secret>`.
    pub token: Zeroizing<String>,
    /// When the device stops being remembered.
    pub expires_at: UnixTime,
}

impl fmt::Debug for RememberedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RememberedToken")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A remembered device as stored under [`remembered_key`]: the hash, never the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct RememberedRecord {
    label: String,
    hash: SecretHash,
    created_at: UnixTime,
    expires_at: UnixTime,
    epoch: u64,
}

/// A remembered device as listed: everything but the secret.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RememberedInfo {
    /// Its id.
    pub id: String,
    /// What the user or service called it ("Firefox on the office laptop").
    pub label: String,
    /// When it was remembered. JSON: Unix milliseconds.
    pub created_at: UnixTime,
    /// When it stops being remembered. JSON: Unix milliseconds.
    pub expires_at: UnixTime,
}

/// Remembers the device `account` just signed in on, for `lifetime`, under the name `label`.
/// Emits [`DeviceRemembered`](AccountChange::DeviceRemembered) by [`Actor::User`].
///
/// # Errors
/// [`AccountError::InvalidLifetime`] for a zero lifetime or one longer than
/// [`AccountPolicy::remember_max_lifetime`]; [`AccountError::InvalidName`] for an empty, too long
/// or unprintable label; [`AttemptError::Store`] when the store fails.
#[expect(
    clippy::too_many_arguments,
    reason = "store, policy, events, who, what, how long, clock and randomness are all needed"
)]
pub fn remember_device<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    label: &str,
    lifetime: Duration,
    now: UnixTime,
    rng: &mut R,
) -> Result<RememberedToken, AttemptError<AccountError>> {
    block_on(remember_device_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        label,
        lifetime,
        now,
        rng,
    ))
}

/// Async [`remember_device`].
///
/// # Errors
/// As [`remember_device`].
#[expect(clippy::too_many_arguments, reason = "as remember_device")]
pub async fn remember_device_async<S: AsyncStore + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    label: &str,
    lifetime: Duration,
    now: UnixTime,
    rng: &mut R,
) -> Result<RememberedToken, AttemptError<AccountError>> {
    if lifetime.is_zero() || lifetime > policy.remember_max_lifetime {
        return Err(AttemptError::Rejected(AccountError::InvalidLifetime));
    }
    let label = policy.check_name(label).map_err(AttemptError::Rejected)?;
    let expires_at = now
        .checked_add(lifetime)
        .ok_or(AttemptError::Rejected(AccountError::InvalidLifetime))?;
    let epoch = load_async::<_, AccountProfile>(store, &profile_key(account))
        .await?
        .unwrap_or_default()
        .epoch;
    let id = random_id(rng);
    let secret = generate_grouped(rng, CROCKFORD_UPPER, REMEMBERED_SECRET_CHARS, 0, '-');
    let record = RememberedRecord {
        label,
        hash: SecretHash::new(rng, REMEMBERED_DOMAIN, &secret),
        created_at: now,
        expires_at,
        epoch,
    };
    insert_new_until_async(
        store,
        &remembered_key(account, &id),
        &record,
        expires_at.saturating_add(EXPIRED_KEPT_FOR),
    )
    .await?;
    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::DeviceRemembered { id: id.clone() },
    );
    let token = Zeroizing::new(format!("{id}.{}", secret.as_str()));
    Ok(RememberedToken {
        id,
        token,
        expires_at,
    })
}

/// The id and secret parts of a token, or `None` when it is not one this crate could have made:
/// at most 64 characters of base64url, a dot, exactly [`REMEMBERED_SECRET_CHARS`] symbols of
/// upper-case Crockford base32. Reads nothing past those bounds.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    if token.len() > MAX_TOKEN_ID_LEN + 1 + REMEMBERED_SECRET_CHARS {
        return None;
    }
    let (id, secret) = token.split_once('.')?;
    let id_ok = !id.is_empty()
        && id.len() <= MAX_TOKEN_ID_LEN
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    let secret_ok = secret.len() == REMEMBERED_SECRET_CHARS
        && secret.bytes().all(|byte| CROCKFORD_UPPER.contains(&byte));
    (id_ok && secret_ok).then_some((id, secret))
}

/// Checks a remembered-device token `account`'s browser presented, and returns until when the
/// device is remembered: the value for `mfa-policy`'s `DeviceInfo::remembered_until`.
///
/// In order: the token's shape; the secret against the record of its id under `account`, in
/// constant time (the same hashing work when there is no such record); the account's revocation
/// epoch; the expiry.
///
/// # Errors
/// [`AccountError::RememberedInvalid`] when the token is malformed, unknown, wrong, for another
/// account, forgotten, or issued before the account's last sign-out everywhere;
/// [`AccountError::RememberedExpired`] when it has expired; [`AttemptError::Store`] when the
/// store fails.
pub fn check_remembered<S: Store + ?Sized>(
    store: &S,
    account: &str,
    token: &str,
    now: UnixTime,
) -> Result<UnixTime, AttemptError<AccountError>> {
    block_on(check_remembered_async(
        &BlockingStore(store),
        account,
        token,
        now,
    ))
}

/// Async [`check_remembered`].
///
/// # Errors
/// As [`check_remembered`].
pub async fn check_remembered_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    token: &str,
    now: UnixTime,
) -> Result<UnixTime, AttemptError<AccountError>> {
    let invalid = || AttemptError::Rejected(AccountError::RememberedInvalid);
    let (id, secret) = parse_token(token).ok_or_else(invalid)?;
    let record = load_async::<_, RememberedRecord>(store, &remembered_key(account, id)).await?;
    let hash = record.as_ref().map(|record| &record.hash);
    if !matches_or_same_work(hash, REMEMBERED_DOMAIN, secret) {
        return Err(invalid());
    }
    let record = record.ok_or_else(invalid)?;
    let epoch = load_async::<_, AccountProfile>(store, &profile_key(account))
        .await?
        .unwrap_or_default()
        .epoch;
    if record.epoch != epoch {
        return Err(invalid());
    }
    if now >= record.expires_at {
        return Err(AttemptError::Rejected(AccountError::RememberedExpired));
    }
    Ok(record.expires_at)
}

/// Every device `account` has remembered (expired ones only for a day), oldest first, without
/// secrets.
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode.
pub fn list_remembered<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<RememberedInfo>, StoreError> {
    block_on(list_remembered_async(&BlockingStore(store), account))
}

/// Async [`list_remembered`].
///
/// # Errors
/// As [`list_remembered`].
pub async fn list_remembered_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<RememberedInfo>, StoreError> {
    let mut devices: Vec<RememberedInfo> =
        list_async::<_, RememberedRecord>(store, REMEMBERED_KIND, account)
            .await?
            .into_iter()
            .map(|(key, record)| RememberedInfo {
                id: key.id().to_owned(),
                label: record.label,
                created_at: record.created_at,
                expires_at: record.expires_at,
            })
            .collect();
    devices.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(devices)
}

/// Forgets `account`'s remembered device `id`: its token stops working. Emits
/// [`RememberedDeviceForgotten`](AccountChange::RememberedDeviceForgotten) by `actor`.
///
/// # Errors
/// [`AccountError::RememberedInvalid`] when the account has no such remembered device;
/// [`AttemptError::Store`] when the store fails.
pub fn forget_device<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    id: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(forget_device_async(
        &BlockingStore(store),
        events,
        account,
        id,
        actor,
        now,
    ))
}

/// Async [`forget_device`].
///
/// # Errors
/// As [`forget_device`].
pub async fn forget_device_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    id: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    if !delete_async::<_, RememberedRecord>(store, &remembered_key(account, id)).await? {
        return Err(AttemptError::Rejected(AccountError::RememberedInvalid));
    }
    emit(
        events,
        account,
        actor,
        now,
        AccountChange::RememberedDeviceForgotten { id: id.to_owned() },
    );
    Ok(())
}

/// Deletes every remembered device of `account`; how many there were. For sign out everywhere.
pub(crate) async fn forget_all_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<usize, StoreError> {
    delete_all_async::<_, RememberedRecord>(store, REMEMBERED_KIND, account).await
}
