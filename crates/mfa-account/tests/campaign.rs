//! The registration campaign: who is sent to registration, how often and how long they may
//! postpone it, and when they may not.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod methods_support;

use core::time::Duration;

use methods_support::*;
use mfa_account::{
    AccountChange, AccountError, AccountPolicy, Actor, EventLog, FactorRef, NoEvents, Operator,
    RegistrationReason, RegistrationStep, registration_step, require_reregistration, set_mfa_state,
    skip_registration,
};
use mfa_core::{AttemptError, Evidence, MemoryStore, Method, UnixTime};
use mfa_policy::PerUserMfa;

const ALICE: &str = "alice";
const DAY: u64 = 24 * 60 * 60;

fn step(store: &MemoryStore, now: UnixTime) -> RegistrationStep {
    registration_step(store, &AccountPolicy::default(), ALICE, now).unwrap()
}

fn skip(
    store: &MemoryStore,
    events: &EventLog,
    now: UnixTime,
) -> Result<Option<UnixTime>, AccountError> {
    skip_registration(store, &AccountPolicy::default(), events, ALICE, now).map_err(|error| {
        match error {
            AttemptError::Rejected(error) => error,
            other => panic!("{other:?}"),
        }
    })
}

fn enable(store: &MemoryStore, state: PerUserMfa) {
    set_mfa_state(store, &NoEvents, ALICE, state, Actor::System, at(0)).unwrap();
}

#[test]
fn without_per_user_mfa_nobody_is_prompted() {
    let store = MemoryStore::new();
    assert_eq!(step(&store, at(0)), RegistrationStep::NotNeeded);
    assert_eq!(skip(&store, &EventLog::new(), at(0)), Ok(None));
}

#[test]
fn enabling_mfa_is_announced_once() {
    let store = MemoryStore::new();
    let events = EventLog::new();
    let admin = Actor::Operator("admin-7".into());
    set_mfa_state(
        &store,
        &events,
        ALICE,
        PerUserMfa::Enabled,
        admin.clone(),
        at(0),
    )
    .unwrap();
    set_mfa_state(
        &store,
        &events,
        ALICE,
        PerUserMfa::Enabled,
        admin.clone(),
        at(1),
    )
    .unwrap();
    let recorded = events.take();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].actor, admin);
    assert_eq!(
        recorded[0].change,
        AccountChange::MfaStateChanged {
            state: PerUserMfa::Enabled
        }
    );
}

#[test]
fn enabled_users_get_skips_each_hiding_the_prompt_for_the_snooze() {
    let store = MemoryStore::new();
    let events = EventLog::new();
    enable(&store, PerUserMfa::Enabled);
    let snooze = 14 * DAY;

    let mut now = at(0);
    for used in 0..3_u32 {
        assert_eq!(
            step(&store, now),
            RegistrationStep::Offered {
                skips_left: 3 - used,
                postponed_until_if_skipped: now.saturating_add(Duration::from_secs(snooze)),
            }
        );
        let until = skip(&store, &events, now).unwrap().unwrap();
        assert_eq!(until, now.saturating_add(Duration::from_secs(snooze)));
        // Hidden during the snooze; skipping again then costs nothing.
        let during = now.saturating_add(Duration::from_secs(snooze - 1));
        assert_eq!(step(&store, during), RegistrationStep::NotNeeded);
        assert_eq!(skip(&store, &events, during), Ok(Some(until)));
        now = until;
    }
    assert_eq!(
        step(&store, now),
        RegistrationStep::Required {
            reason: RegistrationReason::NoSkipsLeft
        }
    );
    assert_eq!(skip(&store, &events, now), Err(AccountError::NoSkipsLeft));
    let skips: Vec<_> = events.take().into_iter().map(|e| e.change).collect();
    assert_eq!(
        skips,
        (1..=3)
            .map(|skips_used| AccountChange::RegistrationSkipped { skips_used })
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_policy_without_skips_requires_registration_at_once() {
    let store = MemoryStore::new();
    enable(&store, PerUserMfa::Enabled);
    let mut policy = AccountPolicy::default();
    policy.registration_skips = 0;
    assert_eq!(
        registration_step(&store, &policy, ALICE, at(0)).unwrap(),
        RegistrationStep::Required {
            reason: RegistrationReason::NoSkipsLeft
        }
    );
}

#[test]
fn enforced_users_cannot_skip() {
    let store = MemoryStore::new();
    enable(&store, PerUserMfa::Enforced);
    assert_eq!(
        step(&store, at(0)),
        RegistrationStep::Required {
            reason: RegistrationReason::MfaEnforced
        }
    );
    assert_eq!(
        skip(&store, &EventLog::new(), at(0)),
        Err(AccountError::RegistrationRequired)
    );
}

#[test]
fn a_method_ends_the_campaign_and_resets_the_skips() {
    let store = MemoryStore::new();
    enable(&store, PerUserMfa::Enabled);
    skip(&store, &EventLog::new(), at(0)).unwrap();
    add_method(
        &store,
        ALICE,
        FactorRef::Totp {
            credential_id: "app".into(),
        },
        &Evidence::new(Method::Totp, at(10), "app"),
        at(10),
    );
    assert_eq!(step(&store, at(20 * DAY)), RegistrationStep::NotNeeded);
    assert_eq!(skip(&store, &EventLog::new(), at(20 * DAY)), Ok(None));
    let profile: mfa_account::AccountProfile =
        mfa_core::load(&store, &mfa_account::store::profile_key(ALICE))
            .unwrap()
            .unwrap();
    assert_eq!(profile.registration_skips, 0);
    assert_eq!(profile.registration_snoozed_until, None);
}

#[test]
fn after_a_reset_registration_is_required_without_a_skip() {
    let store = MemoryStore::new();
    add_passkey(&store, ALICE, 1, true, at(0));
    let operator = Operator::new("helpdesk-42").unwrap();
    require_reregistration(&store, &NoEvents, ALICE, &operator, at(100)).unwrap();
    // Even with per-user MFA off and skips unused.
    let required = RegistrationStep::Required {
        reason: RegistrationReason::HelpDeskReset,
    };
    assert_eq!(step(&store, at(200)), required);
    assert_eq!(
        skip(&store, &EventLog::new(), at(200)),
        Err(AccountError::RegistrationRequired)
    );
    // Registering a method clears it.
    add_passkey(&store, ALICE, 2, true, at(300));
    assert_eq!(step(&store, at(400)), RegistrationStep::NotNeeded);
}

#[tokio::test]
async fn the_async_campaign_matches_the_blocking_one() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    mfa_account::set_mfa_state_async(
        &store,
        &NoEvents,
        ALICE,
        PerUserMfa::Enabled,
        Actor::System,
        at(0),
    )
    .await
    .unwrap();
    let offered = mfa_account::registration_step_async(&store, &policy, ALICE, at(0))
        .await
        .unwrap();
    assert!(matches!(
        offered,
        RegistrationStep::Offered { skips_left: 3, .. }
    ));
    let until = mfa_account::skip_registration_async(&store, &policy, &NoEvents, ALICE, at(0))
        .await
        .unwrap();
    assert_eq!(until, Some(at(14 * DAY)));
}
