//! The registration campaign: users whose per-user MFA state is `enabled` or `enforced` and who
//! have no method are sent to register one at their next sign-in. With `enabled`, the user may
//! postpone it ([`AccountPolicy::registration_skips`] times, each for
//! [`AccountPolicy::registration_snooze`]); with `enforced`, or after a help desk's reset, they
//! may not.

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, Store, StoreError, UnixTime, block_on,
    update_async,
};
use mfa_policy::PerUserMfa;
use serde::Serialize;

use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::methods::{emit, load_profile_async, snapshot_async};
use crate::profile::AccountProfile;
use crate::store::profile_key;
use crate::{AccountError, AccountPolicy};

/// Why registration cannot be postponed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationReason {
    /// A help desk cleared the account's methods ([`require_reregistration`](crate::require_reregistration)).
    HelpDeskReset,
    /// The per-user MFA state is `enforced`.
    MfaEnforced,
    /// The user has postponed as often as the policy allows.
    NoSkipsLeft,
}

/// What the sign-in should do about registering a method, after the password.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum RegistrationStep {
    /// Nothing: the user has a method, MFA is off for them, or they postponed and the
    /// postponement has not ended.
    NotNeeded,
    /// Registration now, with no way to skip it.
    Required {
        /// Why it cannot be skipped.
        reason: RegistrationReason,
    },
    /// Registration is offered; the user may skip it ([`skip_registration`]).
    Offered {
        /// How many more times the user may skip.
        skips_left: u32,
        /// Until when a skip now would postpone the prompt. JSON: Unix milliseconds.
        postponed_until_if_skipped: UnixTime,
    },
}

impl core::fmt::Display for RegistrationReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::HelpDeskReset => "the help desk reset the account's methods",
            Self::MfaEnforced => "multi-factor authentication is enforced for the account",
            Self::NoSkipsLeft => "registration has been postponed as often as allowed",
        })
    }
}

impl core::fmt::Display for RegistrationStep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotNeeded => f.write_str("registration not needed"),
            Self::Required { reason } => {
                write!(f, "registration required, no skipping: {reason}")
            }
            Self::Offered {
                skips_left,
                postponed_until_if_skipped,
            } => write!(
                f,
                "registration offered, may be skipped {skips_left} more time{} \
                 (a skip now postpones it until {})",
                if *skips_left == 1 { "" } else { "s" },
                postponed_until_if_skipped.utc_date_time()
            ),
        }
    }
}

/// The account's profile (async); see [`account_profile`].
///
/// # Errors
/// As [`account_profile`].
pub async fn account_profile_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<AccountProfile, StoreError> {
    load_profile_async(store, account).await
}

/// The account's profile: per-user MFA state, revocation epoch, registration campaign, the last
/// help-desk reset. An account never written reads as [`AccountProfile::default`]. To fill a
/// policy context, [`security_info`](crate::security_info) and
/// [`SecurityInfo::apply_to`](crate::SecurityInfo::apply_to) give the methods and the MFA state
/// together.
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub fn account_profile<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<AccountProfile, StoreError> {
    block_on(account_profile_async(&BlockingStore(store), account))
}

/// The step for a profile with `has_methods` at `now`.
fn step_for(
    policy: &AccountPolicy,
    profile: &AccountProfile,
    has_methods: bool,
    now: UnixTime,
) -> RegistrationStep {
    if has_methods {
        return RegistrationStep::NotNeeded;
    }
    if profile.must_register {
        return RegistrationStep::Required {
            reason: RegistrationReason::HelpDeskReset,
        };
    }
    match profile.mfa_state {
        PerUserMfa::Enabled => {}
        PerUserMfa::Enforced => {
            return RegistrationStep::Required {
                reason: RegistrationReason::MfaEnforced,
            };
        }
        _ => return RegistrationStep::NotNeeded,
    }
    if profile
        .registration_snoozed_until
        .is_some_and(|until| now < until)
    {
        return RegistrationStep::NotNeeded;
    }
    let skips_left = policy
        .registration_skips
        .saturating_sub(profile.registration_skips);
    if skips_left == 0 {
        return RegistrationStep::Required {
            reason: RegistrationReason::NoSkipsLeft,
        };
    }
    RegistrationStep::Offered {
        skips_left,
        postponed_until_if_skipped: now.saturating_add(policy.registration_snooze),
    }
}

/// What the sign-in should do about registration (async); see [`registration_step`].
///
/// # Errors
/// As [`registration_step`].
pub async fn registration_step_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    account: &str,
    now: UnixTime,
) -> Result<RegistrationStep, StoreError> {
    let (profile, methods) = snapshot_async(store, account).await?;
    Ok(step_for(policy, &profile, !methods.is_empty(), now))
}

/// What the sign-in should do about registration, after the password:
///
/// - a user with a method: [`RegistrationStep::NotNeeded`];
/// - after a help desk's reset: [`RegistrationStep::Required`] (no skip), whatever the MFA state;
/// - MFA state `enforced`: required; `disabled`: not needed;
/// - MFA state `enabled`: [`RegistrationStep::Offered`] with the skips left, or required once
///   they are used up; during a postponement, not needed (the prompt is hidden until it ends).
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode.
pub fn registration_step<S: Store + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    account: &str,
    now: UnixTime,
) -> Result<RegistrationStep, StoreError> {
    block_on(registration_step_async(
        &BlockingStore(store),
        policy,
        account,
        now,
    ))
}

/// Postpones registration (async); see [`skip_registration`].
///
/// # Errors
/// As [`skip_registration`].
pub async fn skip_registration_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    now: UnixTime,
) -> Result<Option<UnixTime>, AttemptError<AccountError>> {
    let outcome = update_async(
        store,
        &profile_key(account),
        |current: Option<&AccountProfile>| {
            let profile = current.cloned().unwrap_or_default();
            let snoozed = profile.registration_snoozed_until;
            // The profile's list is the authority on whether the user has a method (see
            // `crate::methods`): judged on the record this closure commits against.
            let has_methods = !profile.method_ids.is_empty();
            match step_for(policy, &profile, has_methods, now) {
                RegistrationStep::Required {
                    reason: RegistrationReason::NoSkipsLeft,
                } => (Change::Keep, Err(AccountError::NoSkipsLeft)),
                RegistrationStep::Required { .. } => {
                    (Change::Keep, Err(AccountError::RegistrationRequired))
                }
                RegistrationStep::Offered {
                    postponed_until_if_skipped,
                    ..
                } => {
                    let mut next = profile;
                    next.registration_skips = next.registration_skips.saturating_add(1);
                    next.registration_snoozed_until = Some(postponed_until_if_skipped);
                    let skips_used = next.registration_skips;
                    (
                        Change::Put(next),
                        Ok(Some((postponed_until_if_skipped, skips_used))),
                    )
                }
                // Nothing to postpone; a postponement running already is kept as it is.
                _ => (
                    Change::Keep,
                    Ok(snoozed.filter(|until| now < *until).map(|until| (until, 0))),
                ),
            }
        },
    )
    .await
    .map_err(AttemptError::Store)?
    .map_err(AttemptError::Rejected)?;
    Ok(match outcome {
        Some((until, skips_used)) if skips_used > 0 => {
            emit(
                events,
                account,
                Actor::User,
                now,
                AccountChange::RegistrationSkipped { skips_used },
            );
            Some(until)
        }
        other => other.map(|(until, _)| until),
    })
}

/// Postpones registration for [`AccountPolicy::registration_snooze`] and emits
/// [`AccountChange::RegistrationSkipped`]; returns until when. While a postponement runs,
/// skipping again changes nothing and costs no skip (returns its end); when registration is not
/// needed at all, returns `None`.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::RegistrationRequired`] (after a help desk's
/// reset, or with MFA `enforced`) or [`AccountError::NoSkipsLeft`]; [`AttemptError::Store`] if
/// the store fails.
pub fn skip_registration<S: Store + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    now: UnixTime,
) -> Result<Option<UnixTime>, AttemptError<AccountError>> {
    block_on(skip_registration_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        now,
    ))
}

/// Sets the per-user MFA state (async); see [`set_mfa_state`].
///
/// # Errors
/// As [`set_mfa_state`].
pub async fn set_mfa_state_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    state: PerUserMfa,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    let changed = update_async(
        store,
        &profile_key(account),
        |current: Option<&AccountProfile>| {
            let mut profile = current.cloned().unwrap_or_default();
            if profile.mfa_state == state {
                return (Change::Keep, false);
            }
            profile.mfa_state = state;
            (Change::Put(profile), true)
        },
    )
    .await
    .map_err(AttemptError::Store)?;
    if changed {
        emit(
            events,
            account,
            actor,
            now,
            AccountChange::MfaStateChanged { state },
        );
    }
    Ok(())
}

/// Sets the per-user MFA state the policy engine reads (`disabled`, `enabled`, `enforced`), and
/// emits [`AccountChange::MfaStateChanged`] by `actor` (nothing when it was already so). With
/// `enabled` or `enforced` and no method, the next sign-in is sent to registration
/// ([`registration_step`]).
///
/// # Errors
/// [`AttemptError::Store`] if the store fails.
pub fn set_mfa_state<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    state: PerUserMfa,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(set_mfa_state_async(
        &BlockingStore(store),
        events,
        account,
        state,
        actor,
        now,
    ))
}
