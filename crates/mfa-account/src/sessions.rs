//! Sessions and sign out everywhere: a per-account revocation epoch.
//!
//! The service issues each session with the account's [`current_epoch`] inside (a claim in its
//! session cookie or token) and asks [`check_session`] when it matters (each request, or each
//! refresh). [`sign_out_everywhere`] moves the epoch on, which ends every session and remembered
//! device issued before, at once, on every server sharing the store (NIST SP 800-63B-4's session
//! termination, <https://pages.nist.gov/800-63-4/sp800-63b.html>).
//!
//! A session must carry *exactly* the current epoch: a newer one than the store knows (a store
//! restored from a backup that predates a sign-out everywhere) is refused too, failing closed.

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, Store, StoreError, UnixTime, block_on,
    load_async, update_async,
};

use crate::error::AccountError;
use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::hashed::emit;
use crate::profile::AccountProfile;
use crate::remembered::forget_all_async;
use crate::store::profile_key;

/// The account's revocation epoch: put it in every session issued from now on.
///
/// # Errors
/// [`StoreError`] if the store fails or the profile does not decode.
pub fn current_epoch<S: Store + ?Sized>(store: &S, account: &str) -> Result<u64, StoreError> {
    block_on(current_epoch_async(&BlockingStore(store), account))
}

/// Async [`current_epoch`].
///
/// # Errors
/// As [`current_epoch`].
pub async fn current_epoch_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<u64, StoreError> {
    Ok(
        load_async::<_, AccountProfile>(store, &profile_key(account))
            .await?
            .unwrap_or_default()
            .epoch,
    )
}

/// Checks that a session of `account` issued under `epoch` is still valid.
///
/// # Errors
/// [`AccountError::SessionRevoked`] when `epoch` is not the account's current epoch (signed out
/// everywhere, or reset, since the session was issued); [`AttemptError::Store`] when the store
/// fails.
pub fn check_session<S: Store + ?Sized>(
    store: &S,
    account: &str,
    epoch: u64,
) -> Result<(), AttemptError<AccountError>> {
    block_on(check_session_async(&BlockingStore(store), account, epoch))
}

/// Async [`check_session`].
///
/// # Errors
/// As [`check_session`].
pub async fn check_session_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    epoch: u64,
) -> Result<(), AttemptError<AccountError>> {
    if current_epoch_async(store, account).await? == epoch {
        Ok(())
    } else {
        Err(AttemptError::Rejected(AccountError::SessionRevoked))
    }
}

/// Signs `account` out everywhere: moves the revocation epoch on (every session and remembered
/// device issued before stops working at once) and deletes every remembered device. Returns the
/// new epoch. Emits [`SignedOutEverywhere`](AccountChange::SignedOutEverywhere) by `actor`.
///
/// The epoch is moved first, so that if deleting the remembered devices fails half-way, the ones
/// left are refused anyway.
///
/// # Errors
/// [`StoreError`] if the store fails or the profile does not decode (nothing is revoked then if
/// it failed before the epoch moved; a retry finishes the job), or, in theory, when the epoch
/// cannot grow any more ([`StoreError::Corrupt`]).
pub fn sign_out_everywhere<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<u64, StoreError> {
    block_on(sign_out_everywhere_async(
        &BlockingStore(store),
        events,
        account,
        actor,
        now,
    ))
}

/// Async [`sign_out_everywhere`].
///
/// # Errors
/// As [`sign_out_everywhere`].
pub async fn sign_out_everywhere_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<u64, StoreError> {
    let key = profile_key(account);
    let epoch = update_async(store, &key, |current: Option<&AccountProfile>| {
        let mut profile = current.cloned().unwrap_or_default();
        match profile.epoch.checked_add(1) {
            Some(next) => {
                profile.epoch = next;
                (Change::Put(profile), Some(next))
            }
            None => (Change::Keep, None),
        }
    })
    .await?
    .ok_or_else(|| StoreError::Corrupt {
        key: key.flat(),
        reason: "the revocation epoch cannot grow any more".to_owned(),
    })?;
    forget_all_async(store, account).await?;
    emit(
        events,
        account,
        actor,
        now,
        AccountChange::SignedOutEverywhere { epoch },
    );
    Ok(epoch)
}
