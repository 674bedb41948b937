//! Sessions and sign out everywhere: the revocation epoch, what it ends, what it keeps.

mod secrets_support;

use std::time::Duration;

use mfa_account::{
    AccountChange, AccountError, AccountPolicy, AccountProfile, Actor, EventLog, NoEvents,
    check_session, current_epoch, list_remembered, remember_device, sign_out_everywhere,
    store::profile_key,
};
use mfa_core::{load, put};
use mfa_policy::PerUserMfa;
use secrets_support::{DAY, NOW, THREADS, race, rejected, rng, store};

#[test]
fn a_new_account_starts_at_epoch_zero_and_its_sessions_are_valid() {
    let store = store();
    assert_eq!(current_epoch(&store, "alice").unwrap(), 0);
    check_session(&store, "alice", 0).expect("valid");
}

#[test]
fn signing_out_everywhere_revokes_older_sessions_and_every_remembered_device() {
    let store = store();
    let log = EventLog::new();
    let session = current_epoch(&store, "alice").unwrap();
    for seed in 0..3 {
        remember_device(
            &store,
            &AccountPolicy::default(),
            &NoEvents,
            "alice",
            "browser",
            Duration::from_secs(DAY),
            NOW,
            &mut rng(seed),
        )
        .unwrap();
    }
    let operator = Actor::Operator("helpdesk-7".into());
    let epoch = sign_out_everywhere(&store, &log, "alice", operator.clone(), NOW).unwrap();
    assert_eq!(epoch, 1);
    assert_eq!(current_epoch(&store, "alice").unwrap(), 1);
    assert_eq!(
        rejected(check_session(&store, "alice", session)),
        AccountError::SessionRevoked
    );
    check_session(&store, "alice", epoch).expect("a session issued now is valid");
    assert!(list_remembered(&store, "alice").unwrap().is_empty());
    let events = log.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, operator);
    assert_eq!(
        events[0].change,
        AccountChange::SignedOutEverywhere { epoch: 1 }
    );
    // Another account is untouched.
    assert_eq!(current_epoch(&store, "bob").unwrap(), 0);
}

#[test]
fn a_session_from_a_future_epoch_is_refused_too() {
    let store = store();
    assert_eq!(
        rejected(check_session(&store, "alice", 1)),
        AccountError::SessionRevoked
    );
}

#[test]
fn the_rest_of_the_profile_is_kept() {
    let store = store();
    let mut profile = AccountProfile::default();
    profile.mfa_state = PerUserMfa::Enforced;
    profile.must_register = true;
    profile.default_method = Some("m-1".into());
    profile.epoch = 41;
    put(&store, &profile_key("alice"), &profile).unwrap();
    assert_eq!(
        sign_out_everywhere(&store, &NoEvents, "alice", Actor::User, NOW).unwrap(),
        42
    );
    let after: AccountProfile = load(&store, &profile_key("alice")).unwrap().unwrap();
    profile.epoch = 42;
    assert_eq!(after, profile);
}

#[test]
fn concurrent_sign_outs_each_move_the_epoch() {
    let store = store();
    let mut epochs =
        race(|_| sign_out_everywhere(&store, &NoEvents, "alice", Actor::User, NOW).unwrap());
    epochs.sort_unstable();
    let expected: Vec<u64> = (1..=u64::try_from(THREADS).unwrap()).collect();
    assert_eq!(epochs, expected, "no bump lost, none shared");
    assert_eq!(
        current_epoch(&store, "alice").unwrap(),
        u64::try_from(THREADS).unwrap()
    );
}

#[tokio::test]
async fn the_async_helpers_sign_out_and_check() {
    let store = store();
    let before = mfa_account::current_epoch_async(&store, "alice")
        .await
        .unwrap();
    let after =
        mfa_account::sign_out_everywhere_async(&store, &NoEvents, "alice", Actor::User, NOW)
            .await
            .unwrap();
    assert_eq!(after, before + 1);
    assert!(
        mfa_account::check_session_async(&store, "alice", before)
            .await
            .is_err()
    );
    mfa_account::check_session_async(&store, "alice", after)
        .await
        .unwrap();
}
