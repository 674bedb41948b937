//! Where push state lives in an `mfa-core` store: record kinds, keys, and the device records.
//!
//! | kind | account | id | what |
//! |---|---|---|---|
//! | [`ENROLLMENT_KIND`] | the account | SHA-256 of the token (base64url) | a pending enrollment: when it expires (never the token) |
//! | [`DEVICE_KIND`] | the account | the device id | a registered device ([`PushDevice`]) |
//! | [`STATE_KIND`] | the account | `state` | the pending challenge, recently superseded ones, push and denial counters, fraud lock, and the answers waiting for the sign-in page ([`take_outcome`](crate::take_outcome)) |
//! | [`CHALLENGE_KIND`] | the account | the challenge id | a pending challenge: the number, transaction, context, expiry |
//!
//! Answers live in the state record so that an approval, its outcome and the counters it resets
//! are one atomic write.
//!
//! Enrollments and challenges are written with a store expiry of
//! [`PushPolicy::store_expiry`](crate::PushPolicy::store_expiry) (their own expiry plus the
//! clock-skew grace), so the store drops the ones nobody redeems or answers. Devices and the
//! state record never expire.
//!
//! The wrong-number throttle is mfa-core's record for the state key
//! ([`ThrottlePolicy::key_for`](mfa_core::ThrottlePolicy::key_for)`(&`[`state_key`]`(account))`).

use core::fmt;

use core::time::Duration;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, RecordKey, Store, StoreError, UnixTime,
    block_on, list_async, load_async, update_async,
};
use serde::{Deserialize, Serialize};

use crate::error::PushError;
use crate::ids::{ChallengeId, DeviceId};
use crate::jwk::PublicJwk;
use crate::wire::{DeviceSigned, Platform, Unverified, check_issued_at};

/// Record kind of pending enrollments.
pub const ENROLLMENT_KIND: &str = "push_enrollment";
/// Record kind of registered devices.
pub const DEVICE_KIND: &str = "push_device";
/// Record kind of an account's push state.
pub const STATE_KIND: &str = "push_state";
/// Record kind of pending challenges.
pub const CHALLENGE_KIND: &str = "push_challenge";

/// Where `account`'s device `device_id` is stored.
#[must_use]
pub fn device_key(account: &str, device_id: &DeviceId) -> RecordKey {
    RecordKey::new(DEVICE_KIND, account, device_id.as_str())
}

/// Where `account`'s push state is stored (one record per account).
#[must_use]
pub fn state_key(account: &str) -> RecordKey {
    RecordKey::new(STATE_KIND, account, "state")
}

/// Where `account`'s pending challenge `challenge` is stored.
#[must_use]
pub fn challenge_key(account: &str, challenge: &ChallengeId) -> RecordKey {
    RecordKey::new(CHALLENGE_KIND, account, challenge.as_str())
}

/// A registered device: the account it belongs to, its key, and what the service knows of it.
///
/// `Debug` does not show the push token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct PushDevice {
    /// The account the device belongs to.
    pub account: String,
    /// The device id (RFC 7638 thumbprint of [`public_key`](Self::public_key)).
    pub device_id: DeviceId,
    /// The name the user gave it.
    pub name: String,
    /// Its platform.
    pub platform: Platform,
    /// Its P-256 public key.
    pub public_key: PublicJwk,
    /// The push-service token that reaches it (APNs, FCM), absent in poll mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_token: Option<String>,
    /// When it was registered.
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub created_at: UnixTime,
    /// When it last approved a sign-in (`null` if never).
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub last_used_at: Option<UnixTime>,
}

impl fmt::Debug for PushDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushDevice")
            .field("account", &self.account)
            .field("device_id", &self.device_id)
            .field("name", &self.name)
            .field("platform", &self.platform)
            .field("has_push_token", &self.push_token.is_some())
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

/// A device as stored: the account and the id are the record key's.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    pub(crate) name: String,
    pub(crate) platform: Platform,
    pub(crate) public_key: PublicJwk,
    pub(crate) push_token: Option<String>,
    pub(crate) created_at: UnixTime,
    pub(crate) last_used_at: Option<UnixTime>,
}

impl DeviceRecord {
    /// The device under `key`, checking that the key's id is the stored key's thumbprint.
    pub(crate) fn into_device(self, key: &RecordKey) -> Result<PushDevice, StoreError> {
        let device_id = self.public_key.thumbprint();
        if device_id.as_str() != key.id() {
            return Err(StoreError::Corrupt {
                key: key.flat(),
                reason: "the record holds another device's key".to_owned(),
            });
        }
        Ok(PushDevice {
            account: key.account().to_owned(),
            device_id,
            name: self.name,
            platform: self.platform,
            public_key: self.public_key,
            push_token: self.push_token,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// Every device `account` has registered, in device-id order.
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode.
pub fn list_devices<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<PushDevice>, StoreError> {
    block_on(list_devices_async(&BlockingStore(store), account))
}

/// Async [`list_devices`].
///
/// # Errors
/// As [`list_devices`].
pub async fn list_devices_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<PushDevice>, StoreError> {
    list_async::<_, DeviceRecord>(store, DEVICE_KIND, account)
        .await?
        .into_iter()
        .map(|(key, record)| record.into_device(&key))
        .collect()
}

/// The device with this id, whichever account holds it (the id is what a device's messages
/// carry as `kid`); `None` if no account does.
///
/// # Errors
/// [`StoreError::Corrupt`] if more than one account holds the id (which
/// [`register_device`](crate::register_device) refuses); other [`StoreError`]s if the store fails.
pub fn find_device<S: Store + ?Sized>(
    store: &S,
    device_id: &DeviceId,
) -> Result<Option<PushDevice>, StoreError> {
    block_on(find_device_async(&BlockingStore(store), device_id))
}

/// Async [`find_device`].
///
/// # Errors
/// As [`find_device`].
pub async fn find_device_async<S: AsyncStore + ?Sized>(
    store: &S,
    device_id: &DeviceId,
) -> Result<Option<PushDevice>, StoreError> {
    let keys = store.find_by_id(DEVICE_KIND, device_id.as_str()).await?;
    let key = match keys.as_slice() {
        [] => return Ok(None),
        [key] => key,
        [key, ..] => {
            return Err(StoreError::Corrupt {
                key: key.flat(),
                reason: format!("one device id is registered to {} accounts", keys.len()),
            });
        }
    };
    match load_async::<_, DeviceRecord>(store, key).await? {
        Some(record) => record.into_device(key).map(Some),
        // Removed since it was found.
        None => Ok(None),
    }
}

/// Removes `account`'s device `device_id` ("I lost my phone"); returns it, or `None` if the
/// account has no such device. Its answers are refused from then on
/// ([`PushError::UnknownDevice`](crate::PushError::UnknownDevice)).
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub fn remove_device<S: Store + ?Sized>(
    store: &S,
    account: &str,
    device_id: &DeviceId,
) -> Result<Option<PushDevice>, StoreError> {
    block_on(remove_device_async(
        &BlockingStore(store),
        account,
        device_id,
    ))
}

/// Async [`remove_device`].
///
/// # Errors
/// As [`remove_device`].
pub async fn remove_device_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    device_id: &DeviceId,
) -> Result<Option<PushDevice>, StoreError> {
    let key = device_key(account, device_id);
    let removed = update_async(store, &key, |record: Option<&DeviceRecord>| {
        (Change::Delete, record.cloned())
    })
    .await?;
    removed.map(|record| record.into_device(&key)).transpose()
}

/// Reads a message a registered device signed, in the order that keeps forgeries away from any
/// state: parse and header, the device by `kid` ([`PushError::UnknownDevice`]), the signature
/// with its key ([`PushError::BadSignature`]), the payload, then `iat` within `skew` of `now`
/// ([`PushError::ClockSkew`]).
pub(crate) async fn from_registered_device<S: AsyncStore + ?Sized, M: DeviceSigned>(
    store: &S,
    message: &str,
    skew: Duration,
    now: UnixTime,
) -> Result<(PushDevice, M), AttemptError<PushError>> {
    let unverified = Unverified::parse(message, M::TYPE).map_err(AttemptError::Rejected)?;
    let device = find_device_async(store, unverified.kid())
        .await?
        .ok_or(AttemptError::Rejected(PushError::UnknownDevice))?;
    let opened =
        M::open(unverified, device.public_key.verifying_key()).map_err(AttemptError::Rejected)?;
    check_issued_at(opened.issued_at(), now, skew).map_err(AttemptError::Rejected)?;
    Ok((device, opened))
}
