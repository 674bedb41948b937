//! Device enrollment: a one-time token for the signed-in user, carried in a QR code; the phone's
//! signed registration message redeems it, once.

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, RecordKey, Store, StoreError,
    UnixTime, block_on, insert_new_async, insert_new_until_async, take_async, update_async,
};
use serde::{Deserialize, Serialize};

use crate::error::PushError;
use crate::ids::EnrollmentToken;
use crate::policy::PushPolicy;
use crate::store::{
    DEVICE_KIND, DeviceRecord, ENROLLMENT_KIND, PushDevice, device_key, list_devices_async,
};
use crate::uri::EnrollmentUri;
use crate::wire::{Registration, check_issued_at};

/// A begun enrollment: show [`uri`](Self::uri) as a QR code to the signed-in user; the phone app
/// scans it and posts its registration message, which [`register_device`] redeems before
/// [`expires_at`](Self::expires_at).
///
/// Holds the token (a secret): `Debug` does not show it.
#[derive(Clone, Debug)]
pub struct EnrollmentOffer {
    /// The enrollment URI (with the token).
    pub uri: EnrollmentUri,
    /// When the token stops working (the enrollment URI carries no time; the offer is not
    /// serialized). The store keeps the enrollment for a grace after it:
    /// [`PushPolicy::store_expiry`].
    pub expires_at: UnixTime,
}

/// A pending enrollment as stored, under the SHA-256 of its token: never the token itself.
#[derive(Serialize, Deserialize)]
struct EnrollmentRecord {
    created_at: UnixTime,
    expires_at: UnixTime,
}

/// Where the enrollment for `token` of `account` is stored.
fn enrollment_key(account: &str, token: &EnrollmentToken) -> RecordKey {
    RecordKey::new(ENROLLMENT_KIND, account, token.record_id())
}

/// Begins enrolling a device for `account` (the signed-in user): a fresh 128-bit token, stored
/// as its hash with an expiry of [`PushPolicy::enrollment_lifetime`], in an enrollment URI naming
/// [`PushPolicy::issuer`], `account` and [`PushPolicy::registration_url`]. The record carries a
/// store expiry of [`PushPolicy::store_expiry`] (the token's expiry plus the clock-skew grace):
/// if the token is never redeemed, the store drops it by itself.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`PushError::TooManyDevices`] if the account has
/// [`PushPolicy::max_devices`] already, or [`PushError::InvalidRequest`] if the issuer, the account
/// or the URL cannot go in an enrollment URI (empty, too long, control characters, not `https`);
/// [`AttemptError::Store`] if the store fails.
pub fn begin_enrollment<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    account: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<EnrollmentOffer, AttemptError<PushError>> {
    block_on(begin_enrollment_async(
        &BlockingStore(store),
        policy,
        account,
        now,
        rng,
    ))
}

/// Async [`begin_enrollment`]. The future is `Send` when the RNG is (`rand::rngs::StdRng` is,
/// `rand::rng()` is not).
///
/// # Errors
/// As [`begin_enrollment`].
pub async fn begin_enrollment_async<S: AsyncStore + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    account: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<EnrollmentOffer, AttemptError<PushError>> {
    let uri = EnrollmentUri::new(
        &policy.issuer,
        account,
        EnrollmentToken::generate(rng),
        policy.registration_url.as_deref(),
    )
    .map_err(AttemptError::Rejected)?;
    if list_devices_async(store, account).await?.len() >= policy.max_devices {
        return Err(AttemptError::Rejected(PushError::TooManyDevices {
            max: policy.max_devices,
        }));
    }
    let expires_at = now.saturating_add(policy.enrollment_lifetime);
    let record = EnrollmentRecord {
        created_at: now,
        expires_at,
    };
    insert_new_until_async(
        store,
        &enrollment_key(account, uri.token()),
        &record,
        policy.store_expiry(expires_at),
    )
    .await?;
    Ok(EnrollmentOffer { uri, expires_at })
}

/// Registers a device from its registration message (see the README's wire format).
///
/// In order: the message is parsed and its proof of possession checked (the signature verifies
/// with the key it carries) and its `iat` must be within [`PushPolicy::clock_skew`], all before
/// the store is touched, so a forged message cannot spend a token; the enrollment is then *taken*
/// (atomically loaded and deleted: of any number of registrations with one token, one gets it,
/// the others find nothing); it must not have expired; the account must have room
/// ([`PushPolicy::max_devices`]); no account may hold the device id already. The device is then
/// stored under [`device_key`] and returned. The token is spent by any registration that gets
/// that far, successful or not.
///
/// Two registrations of one key racing through two tokens can both pass the last check; each
/// then sees the other after writing, and one that is not alone withdraws its record and is
/// refused, so at most one stays (the same for two devices racing for an account's last place).
///
/// # Errors
/// [`AttemptError::Rejected`] with a format error, [`PushError::BadSignature`],
/// [`PushError::ClockSkew`], [`PushError::EnrollmentNotFound`] (never issued, used, or dropped
/// by the store once [`PushPolicy::store_expiry`] passed), [`PushError::EnrollmentExpired`] (past
/// its expiry, within the grace), [`PushError::TooManyDevices`] or
/// [`PushError::DeviceAlreadyRegistered`]; [`AttemptError::Store`] if the store fails.
pub fn register_device<S: Store + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    message: &str,
    now: UnixTime,
) -> Result<PushDevice, AttemptError<PushError>> {
    block_on(register_device_async(
        &BlockingStore(store),
        policy,
        message,
        now,
    ))
}

/// Async [`register_device`].
///
/// # Errors
/// As [`register_device`].
pub async fn register_device_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    message: &str,
    now: UnixTime,
) -> Result<PushDevice, AttemptError<PushError>> {
    let registration = Registration::verify(message).map_err(AttemptError::Rejected)?;
    check_issued_at(registration.issued_at, now, policy.clock_skew)
        .map_err(AttemptError::Rejected)?;
    let holders = store
        .find_by_id(ENROLLMENT_KIND, &registration.token.record_id())
        .await?;
    // Token ids are 256-bit hashes of fresh random tokens: one holder at most.
    let Some(enrollment_key) = holders.into_iter().next() else {
        return Err(AttemptError::Rejected(PushError::EnrollmentNotFound));
    };
    let Some(enrollment) = take_async::<_, EnrollmentRecord>(store, &enrollment_key).await? else {
        return Err(AttemptError::Rejected(PushError::EnrollmentNotFound));
    };
    if enrollment.expires_at <= now {
        return Err(AttemptError::Rejected(PushError::EnrollmentExpired));
    }
    let account = enrollment_key.account();
    let device_id = registration.device_id.clone();
    if list_devices_async(store, account).await?.len() >= policy.max_devices {
        return Err(AttemptError::Rejected(PushError::TooManyDevices {
            max: policy.max_devices,
        }));
    }
    if !store
        .find_by_id(DEVICE_KIND, device_id.as_str())
        .await?
        .is_empty()
    {
        return Err(AttemptError::Rejected(PushError::DeviceAlreadyRegistered));
    }
    let key = device_key(account, &device_id);
    let record = DeviceRecord {
        name: registration.name,
        platform: registration.platform,
        public_key: registration.jwk,
        push_token: registration.push_token,
        created_at: now,
        last_used_at: None,
    };
    match insert_new_async(store, &key, &record).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists { .. }) => {
            return Err(AttemptError::Rejected(PushError::DeviceAlreadyRegistered));
        }
        Err(error) => return Err(AttemptError::Store(error)),
    }
    // Written: now make sure no racing registration broke a rule in between.
    let refusal = if store
        .find_by_id(DEVICE_KIND, device_id.as_str())
        .await?
        .iter()
        .any(|holder| *holder != key)
    {
        Some(PushError::DeviceAlreadyRegistered)
    } else if list_devices_async(store, account).await?.len() > policy.max_devices {
        Some(PushError::TooManyDevices {
            max: policy.max_devices,
        })
    } else {
        None
    };
    if let Some(refusal) = refusal {
        update_async(store, &key, |_: Option<&DeviceRecord>| (Change::Delete, ())).await?;
        return Err(AttemptError::Rejected(refusal));
    }
    Ok(record.into_device(&key)?)
}
