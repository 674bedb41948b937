//! Lost-device recovery by a help desk ("require re-registration"), and the notice NIST SP
//! 800-63B-4 asks for after every recovery sign-in.

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, Evidence, Method, Store,
    ThrottlePolicy, UnixTime, block_on, update_async,
};

use crate::app_password::delete_all_app_passwords_async;
use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::methods::{
    FactorRef, all_entries_async, delete_factor_state_async, discard_async, emit,
    record_keys_async, record_use_of_async,
};
use crate::profile::{AccountProfile, ResetRecord};
use crate::remembered::forget_all_async;
use crate::store::{PENDING_KIND, method_key, profile_key};
use crate::{AccountError, Operator};

/// What a help desk's reset did.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetOutcome {
    /// Registered methods removed.
    pub methods_removed: usize,
    /// Remembered devices forgotten.
    pub remembered_removed: usize,
    /// App passwords revoked (they let legacy clients in without a second factor, so a lost or
    /// stolen device takes them down too).
    pub app_passwords_revoked: usize,
    /// The account's new revocation epoch: sessions and remembered devices issued under an
    /// older one are invalid.
    pub epoch: u64,
}

/// The factor records of an account that no method record may point to any more (kinds whose
/// records are one per credential), swept by a reset.
const FACTOR_KINDS: [&str; 5] = [
    mfa_otp::TOTP_RECORD_KIND,
    mfa_otp::HOTP_RECORD_KIND,
    mfa_otp::TOTP_PENDING_RECORD_KIND,
    mfa_webauthn::CREDENTIAL_KIND,
    mfa_push::DEVICE_KIND,
];

/// Requires re-registration (async); see [`require_reregistration`].
///
/// # Errors
/// As [`require_reregistration`].
pub async fn require_reregistration_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    operator: &Operator,
    now: UnixTime,
) -> Result<ResetOutcome, AttemptError<AccountError>> {
    let store_error = AttemptError::Store;
    // 1. The profile first: from this commit on, sign-ins go to registration, sessions issued
    //    before are revoked, and no method is listed.
    let (listed, epoch) = update_async(
        store,
        &profile_key(account),
        |current: Option<&AccountProfile>| {
            let mut profile = current.cloned().unwrap_or_default();
            let listed = core::mem::take(&mut profile.method_ids);
            profile.default_method = None;
            profile.epoch = profile.epoch.saturating_add(1);
            profile.must_register = true;
            profile.last_reset = Some(ResetRecord {
                operator: operator.id().to_owned(),
                at: now,
            });
            profile.registration_skips = 0;
            profile.registration_snoozed_until = None;
            let epoch = profile.epoch;
            (Change::Put(profile), (listed, epoch))
        },
    )
    .await
    .map_err(store_error)?;

    // 2. Every method record and the factor state it points to, listed or not.
    let entries = all_entries_async(store, account)
        .await
        .map_err(store_error)?;
    let mut methods_removed = 0_usize;
    for entry in &entries {
        delete_factor_state_async(store, account, &entry.factor).await?;
        discard_async(store, &method_key(account, entry.id.as_str()))
            .await
            .map_err(store_error)?;
        if listed.iter().any(|id| id == entry.id.as_str()) {
            methods_removed = methods_removed.saturating_add(1);
        }
    }
    for key in record_keys_async(store, PENDING_KIND, account)
        .await
        .map_err(store_error)?
    {
        discard_async(store, &key).await.map_err(store_error)?;
    }

    // 3. Factor records no method record points to (enrolled straight through a factor crate,
    //    or left by an interrupted removal): a reset leaves the account with no way to verify.
    delete_factor_state_async(store, account, &FactorRef::BackupCodes).await?;
    for kind in FACTOR_KINDS {
        for key in record_keys_async(store, kind, account)
            .await
            .map_err(store_error)?
        {
            if kind == mfa_push::DEVICE_KIND {
                // Through mfa-push, which owns the device's other records.
                if let Ok(device_id) = mfa_push::DeviceId::parse(key.id()) {
                    mfa_push::remove_device_async(store, account, &device_id)
                        .await
                        .map_err(store_error)?;
                    continue;
                }
            }
            discard_async(store, &key).await.map_err(store_error)?;
            discard_async(store, &mfa_core::ThrottlePolicy::key_for(&key))
                .await
                .map_err(store_error)?;
        }
    }
    for phone in mfa_oob::list_phones_async(store, account)
        .await
        .map_err(store_error)?
    {
        mfa_oob::remove_phone_async(store, account, phone.id())
            .await
            .map_err(store_error)?;
    }

    // 4. Remembered devices (the epoch bump already invalidates them; this also tidies up) and
    //    app passwords (they skip the second factor for legacy clients).
    let remembered_removed = forget_all_async(store, account)
        .await
        .map_err(store_error)?;
    let app_passwords_revoked = delete_all_app_passwords_async(store, account)
        .await
        .map_err(store_error)?;

    emit(
        events,
        account,
        Actor::Operator(operator.id().to_owned()),
        now,
        AccountChange::ReRegistrationRequired { methods_removed },
    );
    if app_passwords_revoked > 0 {
        emit(
            events,
            account,
            Actor::Operator(operator.id().to_owned()),
            now,
            AccountChange::AppPasswordsRevokedAll {
                count: app_passwords_revoked,
            },
        );
    }
    Ok(ResetOutcome {
        methods_removed,
        remembered_removed,
        app_passwords_revoked,
        epoch,
    })
}

/// The help desk's "require re-registration" after a lost or stolen device, by an authorised
/// `operator` (recorded): the re-proofing path of NIST SP 800-63B-4, so no policy guard applies.
///
/// 1. The profile: no method listed, no default, the revocation epoch bumped (every session and
///    remembered device issued before is invalid), `must_register` set (the next sign-in goes
///    straight to registration, without a skip), the reset recorded (operator and time).
/// 2. Every method record and the factor state it points to, and every pending method.
/// 3. Every factor record of the account, whether a method points to it or not: `mfa-otp`
///    credentials (and pending TOTP enrollments), the `mfa-backup` set, `mfa-webauthn`
///    credentials, `mfa-push` devices, `mfa-oob` phones, with their throttle records.
/// 4. Every remembered device, and every app password (they let legacy clients in without a
///    second factor; the user creates new ones after registering again).
///
/// Emits [`AccountChange::ReRegistrationRequired`] by [`Actor::Operator`] (and
/// [`AccountChange::AppPasswordsRevokedAll`] when there were app passwords). Temporary access
/// passes are left alone: the help desk may have issued one for the new registration.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::CorruptRecord`] if a method record names
/// factor state that cannot exist; [`AttemptError::Store`] if the store fails. A failure after
/// step 1 leaves the account unable to sign in with any removed method (the profile lists none)
/// and can be finished by running the reset again.
pub fn require_reregistration<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    operator: &Operator,
    now: UnixTime,
) -> Result<ResetOutcome, AttemptError<AccountError>> {
    block_on(require_reregistration_async(
        &BlockingStore(store),
        events,
        account,
        operator,
        now,
    ))
}

/// Whether `method` is a recovery method: a backup code or a temporary access pass.
#[must_use]
pub fn is_recovery_method(method: Method) -> bool {
    matches!(method, Method::BackupCode | Method::TemporaryAccessPass)
}

/// Tells the user that someone signed in with a recovery method: emits
/// [`AccountChange::RecoverySignIn`] when `evidence` is a backup code or a temporary access pass
/// ([`is_recovery_method`]), nothing otherwise. NIST SP 800-63B-4 asks that the account holder be
/// notified after every recovery; call this after each successful check.
pub fn record_recovery(
    events: &dyn AccountEventSink,
    account: &str,
    evidence: &Evidence,
    now: UnixTime,
) {
    if is_recovery_method(evidence.method) {
        emit(
            events,
            account,
            Actor::User,
            now,
            AccountChange::RecoverySignIn {
                method: evidence.method,
            },
        );
    }
}

/// Signs in with a backup code (async), the hash handed to `offload` (with tokio:
/// `|job| tokio::task::spawn_blocking(move || job.run())`); see [`redeem_backup_code`].
///
/// # Errors
/// As [`redeem_backup_code`].
#[expect(
    clippy::too_many_arguments,
    reason = "redeem_backup_code's arguments, plus offload"
)]
pub async fn redeem_backup_code_async<S, R, O, F, E>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    throttle: &ThrottlePolicy,
    typed: &str,
    now: UnixTime,
    rng: &mut R,
    offload: O,
) -> Result<mfa_backup::Redeemed, AttemptError<mfa_backup::BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
    O: FnMut(mfa_backup::RedeemJob) -> F,
    F: Future<Output = Result<mfa_backup::HashedRedemption, E>>,
{
    let redeemed = mfa_backup::redeem_async(
        store,
        &mfa_backup::record_key(account),
        throttle,
        typed,
        now,
        rng,
        offload,
    )
    .await?;
    let evidence = redeemed.verified.evidence();
    // Best effort: the code is spent already, and failing the sign-in over a "last used" time
    // would waste it. The notice below does not depend on it.
    let _ = record_use_of_async(store, account, evidence, now).await;
    record_recovery(events, account, evidence, now);
    Ok(redeemed)
}

/// Signs in with a backup code, the account-level way, symmetric with
/// [`redeem_tap`](crate::redeem_tap):
///
/// 1. `mfa-backup` redeems `typed` against the account's set through its store helper
///    ([`mfa_backup::redeem`]: throttled per NIST SP 800-63B-4 by `throttle`, one hash, committed
///    by compare-and-swap so a code wins once);
/// 2. on success, the backup-codes method's "last used" time becomes `now`
///    ([`record_use_of`](crate::record_use_of); best effort: the code is spent either way, so a
///    store failure here does not fail the sign-in);
/// 3. [`AccountChange::RecoverySignIn`] is emitted: NIST SP 800-63B-4 asks that the account
///    holder be told after every recovery.
///
/// Returns `mfa-backup`'s [`Redeemed`](mfa_backup::Redeemed) whole: its evidence for the
/// session, the codes left, and in replace-after-use mode the new code to show once. Hashes on
/// the calling thread (blocking).
///
/// # Errors
/// `mfa-backup`'s own, unchanged: [`AttemptError::Rejected`] with its
/// [`BackupCodeError`](mfa_backup::BackupCodeError) (wrong, used, malformed …),
/// [`AttemptError::Throttled`], [`AttemptError::NotEnrolled`] when the account has no set,
/// [`AttemptError::Store`] if the store fails. Nothing is recorded or emitted on failure.
pub fn redeem_backup_code<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    throttle: &ThrottlePolicy,
    typed: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<mfa_backup::Redeemed, AttemptError<mfa_backup::BackupCodeError>> {
    block_on(redeem_backup_code_async(
        &BlockingStore(store),
        events,
        account,
        throttle,
        typed,
        now,
        rng,
        |job| core::future::ready(Ok::<_, core::convert::Infallible>(job.run())),
    ))
}
