//! What people read: the registration step and every account change as a sentence, never with a
//! secret in it.

mod secrets_support;

use std::time::Duration;

use mfa_account::{
    AccountChange, AccountEvent, AccountPolicy, Actor, EventLog, MethodKind, Operator,
    RegistrationReason, RegistrationStep, TapOptions, create_app_password, issue_tap,
    remember_device, sign_out_everywhere,
};
use mfa_core::{Method, UnixTime};
use mfa_policy::PerUserMfa;
use secrets_support::{NOW, rng, store};

#[test]
fn registration_steps_read_as_sentences() {
    assert_eq!(
        RegistrationStep::NotNeeded.to_string(),
        "registration not needed"
    );
    assert_eq!(
        RegistrationStep::Required {
            reason: RegistrationReason::HelpDeskReset
        }
        .to_string(),
        "registration required, no skipping: the help desk reset the account's methods"
    );
    assert_eq!(
        RegistrationReason::MfaEnforced.to_string(),
        "multi-factor authentication is enforced for the account"
    );
    assert_eq!(
        RegistrationReason::NoSkipsLeft.to_string(),
        "registration has been postponed as often as allowed"
    );
    // 1_800_000_000 s is 2027-01-15T08:00:00Z.
    let offered = |skips_left| RegistrationStep::Offered {
        skips_left,
        postponed_until_if_skipped: UnixTime::from_secs(1_800_000_000),
    };
    assert_eq!(
        offered(3).to_string(),
        "registration offered, may be skipped 3 more times \
         (a skip now postpones it until 2027-01-15T08:00:00Z)"
    );
    assert!(offered(1).to_string().contains("skipped 1 more time ("));
}

#[test]
fn changes_and_events_read_as_sentences() {
    let added = AccountChange::MethodAdded {
        method_id: "m1".into(),
        kind: MethodKind::WebAuthn,
    };
    assert_eq!(added.to_string(), "a webauthn method was added (m1)");
    assert_eq!(
        AccountChange::RecoverySignIn {
            method: Method::BackupCode
        }
        .to_string(),
        "someone signed in with a recovery method (backup_code)"
    );
    assert_eq!(
        AccountChange::MfaStateChanged {
            state: PerUserMfa::Enforced
        }
        .to_string(),
        "multi-factor authentication was set to enforced"
    );
    assert_eq!(
        AccountChange::RegistrationSkipped { skips_used: 1 }.to_string(),
        "registering a method was postponed (1 postponement so far)"
    );
    let event = AccountEvent {
        account: "alice".into(),
        actor: Actor::Operator("helpdesk-7".into()),
        at: UnixTime::from_secs(1_800_000_000),
        change: AccountChange::ReRegistrationRequired { methods_removed: 2 },
    };
    assert_eq!(
        event.to_string(),
        "2027-01-15T08:00:00Z alice: every method was removed (2) and a new registration is \
         required, by operator helpdesk-7"
    );
    assert_eq!(Actor::User.to_string(), "the account holder");
    assert_eq!(Actor::System.to_string(), "the system");
}

#[test]
fn no_event_shows_the_secret_it_came_with() {
    let store = store();
    let policy = AccountPolicy::default();
    let events = EventLog::new();
    let operator = Operator::new("helpdesk-7").unwrap();
    let tap = issue_tap(
        &store,
        &policy,
        &events,
        "alice",
        &operator,
        TapOptions::one_time(Duration::from_secs(3600)),
        NOW,
        &mut rng(1),
    )
    .unwrap();
    let app_password = create_app_password(
        &store,
        &policy,
        &events,
        "alice",
        "Thunderbird",
        NOW,
        &mut rng(2),
    )
    .unwrap();
    let remembered = remember_device(
        &store,
        &policy,
        &events,
        "alice",
        "Firefox",
        Duration::from_secs(86_400),
        NOW,
        &mut rng(3),
    )
    .unwrap();
    sign_out_everywhere(&store, &events, "alice", Actor::User, NOW).unwrap();

    let lines: Vec<String> = events.take().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let remembered_secret = remembered.token.rsplit('.').next().unwrap().to_owned();
    // Each secret as shown, without its separators, and each group of it as the user reads it.
    let mut pieces = vec![
        tap.pass.to_string(),
        tap.pass.replace('-', ""),
        app_password.password.to_string(),
        app_password.password.replace(' ', ""),
        remembered_secret,
    ];
    pieces.extend(tap.pass.split('-').map(str::to_owned));
    pieces.extend(app_password.password.split(' ').map(str::to_owned));
    assert!(pieces.iter().all(|piece| piece.len() >= 4));
    for line in &lines {
        let line = line.to_lowercase();
        for piece in &pieces {
            assert!(
                !line.contains(&piece.to_lowercase()),
                "{line:?} shows a secret"
            );
        }
    }
    assert!(lines[0].contains(&tap.pass_id));
    assert!(lines[0].contains("temporary access pass"));
    assert!(lines[1].contains("\"Thunderbird\""));
    assert!(lines[3].contains("revocation epoch 1"));
}
