//! Lost-device recovery by a help desk ("require re-registration"), and the notice NIST SP
//! 800-63B-4 asks for after every recovery sign-in.

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, Evidence, Method, Store, UnixTime, block_on,
    update_async,
};

use crate::app_password::delete_all_app_passwords_async;
use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::methods::{
    FactorRef, all_entries_async, delete_factor_state_async, discard_async, emit, record_keys_async,
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
