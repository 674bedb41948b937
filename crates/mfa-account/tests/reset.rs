//! The help desk's "require re-registration", and the notice after a recovery sign-in.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod methods_support;

use methods_support::*;
use mfa_account::{
    AccountChange, AccountProfile, Actor, EventLog, MethodKind, NoEvents, Operator,
    add_backup_codes, begin_add, check_app_password, check_remembered, create_app_password,
    is_recovery_method, record_recovery, remember_device, require_reregistration, security_info,
};
use mfa_core::{AttemptError, Evidence, MemoryStore, Method, Store};
use mfa_policy::ClientApp;

const ALICE: &str = "alice";
const BOB: &str = "bob";

fn profile(store: &MemoryStore, account: &str) -> AccountProfile {
    mfa_core::load(store, &mfa_account::store::profile_key(account))
        .unwrap()
        .unwrap_or_default()
}

fn live(store: &MemoryStore, key: &mfa_core::RecordKey) -> bool {
    Store::load(store, key).unwrap().is_some()
}

#[test]
fn a_reset_clears_methods_factor_state_and_remembered_devices() {
    let store = MemoryStore::new();
    let events = EventLog::new();
    let policy = mfa_account::AccountPolicy::default();
    let (_, totp) = add_totp(&store, ALICE, "app", at(0));
    add_passkey(&store, ALICE, 1, true, at(0));
    let (_, codes) = add_backup_codes(
        &store,
        &policy,
        &NoEvents,
        ALICE,
        &cheap_backup_codes(),
        at(0),
        &mut rng(1),
    )
    .unwrap();
    // A TOTP credential enrolled straight through mfa-otp, never registered here.
    let (_, stray) = {
        let other = MemoryStore::new();
        add_totp(&other, "scratch", "stray", at(0))
    };
    mfa_core::insert_new(&store, &mfa_otp::totp_record_key(ALICE, "stray"), &stray).unwrap();
    // Two remembered browsers and an app password for the mail client.
    let month = core::time::Duration::from_secs(30 * 86_400);
    let remembered: Vec<_> = ["laptop", "tablet"]
        .into_iter()
        .zip(30..)
        .map(|(label, seed)| {
            remember_device(
                &store,
                &policy,
                &NoEvents,
                ALICE,
                label,
                month,
                at(0),
                &mut rng(seed),
            )
            .unwrap()
        })
        .collect();
    let mail = create_app_password(
        &store,
        &policy,
        &NoEvents,
        ALICE,
        "Mail",
        at(0),
        &mut rng(4),
    )
    .unwrap();
    let pending = begin_add(
        &store,
        &policy,
        ALICE,
        MethodKind::Totp,
        "half-way",
        at(5),
        &mut rng(2),
    )
    .unwrap();
    // Bob's state must survive Alice's reset.
    let bob_key = add_passkey(&store, BOB, 9, true, at(0));
    let bob_pc = remember_device(
        &store,
        &policy,
        &NoEvents,
        BOB,
        "pc",
        month,
        at(0),
        &mut rng(5),
    )
    .unwrap();

    // Both TOTP credentials verify before the reset.
    assert!(totp_verifies(&store, ALICE, &totp, at(60)).is_ok());
    assert!(totp_verifies(&store, ALICE, &stray, at(60)).is_ok());

    let before = profile(&store, ALICE).epoch;
    let operator = Operator::new("helpdesk-42").unwrap();
    let outcome = require_reregistration(&store, &events, ALICE, &operator, at(100)).unwrap();
    assert_eq!(
        (
            outcome.methods_removed,
            outcome.remembered_removed,
            outcome.app_passwords_revoked,
            outcome.epoch
        ),
        (3, 2, 1, before + 1)
    );

    assert!(security_info(&store, ALICE).unwrap().methods.is_empty());
    let after = profile(&store, ALICE);
    assert_eq!(after.epoch, before + 1);
    assert!(after.must_register);
    assert_eq!(after.default_method, None);
    let reset = after.last_reset.unwrap();
    assert_eq!(
        (reset.operator.as_str(), reset.at),
        ("helpdesk-42", at(100))
    );

    // The factors no longer verify.
    assert!(matches!(
        totp_verifies(&store, ALICE, &totp, at(200)),
        Err(AttemptError::NotEnrolled)
    ));
    assert!(matches!(
        totp_verifies(&store, ALICE, &stray, at(200)),
        Err(AttemptError::NotEnrolled)
    ));
    let redeemed = redeem_backup_code(&store, ALICE, &codes.codes[0], at(200));
    assert!(matches!(redeemed, Err(AttemptError::NotEnrolled)));
    let passkey = passkey_record_key(ALICE, 1);
    assert!(!live(&store, &passkey));
    for device in &remembered {
        assert!(!live(
            &store,
            &mfa_account::store::remembered_key(ALICE, &device.id)
        ));
    }
    assert!(
        check_app_password(
            &store,
            &policy,
            ALICE,
            &mail.password,
            ClientApp::Legacy,
            at(200)
        )
        .is_err()
    );
    assert!(!live(
        &store,
        &mfa_account::store::pending_key(ALICE, pending.id.as_str())
    ));

    // Bob is untouched.
    assert_eq!(security_info(&store, BOB).unwrap().methods, vec![bob_key]);
    assert!(check_remembered(&store, BOB, &bob_pc.token, at(200)).is_ok());
    assert!(live(&store, &passkey_record_key(BOB, 9)));

    let recorded = events.take();
    assert_eq!(recorded.len(), 2);
    assert!(
        recorded
            .iter()
            .all(|event| event.actor == Actor::Operator("helpdesk-42".into()))
    );
    assert_eq!(
        recorded[0].change,
        AccountChange::ReRegistrationRequired { methods_removed: 3 }
    );
    assert_eq!(
        recorded[1].change,
        AccountChange::AppPasswordsRevokedAll { count: 1 }
    );
    assert_eq!(
        recorded[0].audit_event().policy_decision_id(),
        Some("operator:helpdesk-42")
    );
}

#[test]
fn each_reset_bumps_the_epoch_even_on_an_empty_account() {
    let store = MemoryStore::new();
    let operator = Operator::new("helpdesk-1").unwrap();
    let first = require_reregistration(&store, &NoEvents, ALICE, &operator, at(0)).unwrap();
    let second = require_reregistration(&store, &NoEvents, ALICE, &operator, at(1)).unwrap();
    assert_eq!((first.epoch, second.epoch), (1, 2));
    assert_eq!(second.methods_removed, 0);
}

#[test]
fn recovery_sign_ins_are_announced_and_others_are_not() {
    let events = EventLog::new();
    record_recovery(
        &events,
        ALICE,
        &Evidence::new(Method::BackupCode, at(0), "set"),
        at(0),
    );
    record_recovery(
        &events,
        ALICE,
        &Evidence::new(Method::TemporaryAccessPass, at(1), "pass"),
        at(1),
    );
    record_recovery(
        &events,
        ALICE,
        &Evidence::new(Method::Totp, at(2), "app"),
        at(2),
    );
    let changes: Vec<_> = events
        .take()
        .into_iter()
        .map(|event| (event.notifies_user(), event.change))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                true,
                AccountChange::RecoverySignIn {
                    method: Method::BackupCode
                }
            ),
            (
                true,
                AccountChange::RecoverySignIn {
                    method: Method::TemporaryAccessPass
                }
            ),
        ]
    );
    assert!(
        Method::ALL
            .iter()
            .filter(|m| is_recovery_method(**m))
            .count()
            == 2
    );
}

#[tokio::test]
async fn the_async_reset_matches_the_blocking_one() {
    let store = MemoryStore::new();
    add_passkey(&store, ALICE, 1, false, at(0));
    let operator = Operator::new("helpdesk-9").unwrap();
    let outcome =
        mfa_account::require_reregistration_async(&store, &NoEvents, ALICE, &operator, at(10))
            .await
            .unwrap();
    assert_eq!(outcome.methods_removed, 1);
    assert!(
        mfa_account::security_info_async(&store, ALICE)
            .await
            .unwrap()
            .methods
            .is_empty()
    );
}
