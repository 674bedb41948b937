//! What a sign-in needs from the account: the profile, the account's part of a policy context,
//! the method a check proved (and its last use), backup-code recovery at the account level, the
//! registration check with a real policy engine, and an app password marking a legacy sign-in.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod methods_support;

use core::time::Duration;

use methods_support::*;
use mfa_account::{
    AccountChange, AccountError, AccountPolicy, AccountProfile, Actor, EventLog, FactorRef,
    MethodKind, NoEvents, Operator, TapOptions, account_profile, account_profile_async,
    check_app_password, create_app_password, enrolled_methods, issue_tap, may_register,
    record_use_of, record_use_of_async, redeem_backup_code, redeem_backup_code_async, redeem_tap,
    require_reregistration, security_info, set_mfa_state,
};
use mfa_core::{AttemptError, Evidence, MemoryStore, Method, ThrottlePolicy};
use mfa_policy::{ClientApp, Decision, EnrolledMethod, PerUserMfa, SignInContext, UserAction};

const ALICE: &str = "alice";

fn changes(events: &EventLog) -> Vec<AccountChange> {
    events
        .take()
        .into_iter()
        .map(|event| event.change)
        .collect()
}

/// A base64url push device id (32 bytes, as `mfa-push` computes them), distinct per `n`.
fn device_id(n: u8) -> mfa_push::DeviceId {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([n; 32]);
    mfa_push::DeviceId::parse(&text).unwrap()
}

/// An administrator sets Alice's per-user MFA state.
fn set_state(store: &MemoryStore, state: PerUserMfa) {
    set_mfa_state(store, &NoEvents, ALICE, state, Actor::System, at(0)).unwrap();
}

// ---- the profile and the policy context ----

#[test]
fn the_profile_reads_as_default_then_as_changed() {
    let store = MemoryStore::new();
    assert_eq!(
        account_profile(&store, ALICE).unwrap(),
        AccountProfile::default()
    );
    set_state(&store, PerUserMfa::Enforced);
    add_totp(&store, ALICE, "app", at(0));
    let profile = account_profile(&store, ALICE).unwrap();
    assert_eq!(profile.mfa_state, PerUserMfa::Enforced);
    assert_eq!(profile.epoch, 0);
    assert_eq!(profile.method_ids.len(), 1);

    let operator = Operator::new("helpdesk-7").unwrap();
    require_reregistration(&store, &NoEvents, ALICE, &operator, at(10)).unwrap();
    let profile = account_profile(&store, ALICE).unwrap();
    assert!(profile.must_register);
    assert_eq!(profile.epoch, 1);
    assert_eq!(profile.last_reset.unwrap().operator, "helpdesk-7");
    assert!(profile.method_ids.is_empty());
    assert_eq!(
        account_profile(&store, "bob").unwrap(),
        AccountProfile::default()
    );
}

#[tokio::test]
async fn the_profile_reads_through_an_async_store() {
    let store = MemoryStore::new();
    set_state(&store, PerUserMfa::Enabled);
    let profile = account_profile_async(&store, ALICE).await.unwrap();
    assert_eq!(profile.mfa_state, PerUserMfa::Enabled);
}

#[test]
fn security_info_fills_the_accounts_part_of_a_policy_context() {
    let store = MemoryStore::new();
    set_state(&store, PerUserMfa::Enabled);
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.mfa_state, PerUserMfa::Enabled);

    // Whatever the context said about the user's methods before is replaced; the session's
    // evidence and the client stay as they were.
    let password = Evidence::new(Method::Password, at(5), "password");
    let mut context = SignInContext::builder(ALICE, "mail", at(5))
        .client_app(ClientApp::MobileDesktop)
        .enrolled(EnrolledMethod::new(Method::Sms, "stale"))
        .evidence(password.clone())
        .build();
    info.apply_to(&mut context);
    assert_eq!(context.user.mfa_state, PerUserMfa::Enabled);
    assert_eq!(context.user.methods, enrolled_methods(&info));
    assert_eq!(context.user.methods.len(), 1);
    assert_eq!(context.user.methods[0].credential.as_str(), "app");
    assert_eq!(context.evidence, vec![password]);
    assert_eq!(context.client_app, ClientApp::MobileDesktop);

    // The engine now offers the registered app as the second factor.
    let engine = engine(ANY_MFA);
    match engine.evaluate(&context).decision {
        Decision::StepUp(step_up) => assert_eq!(
            step_up.usable_now.len(),
            1,
            "password + the registered app: {step_up:?}"
        ),
        other => panic!("expected a step-up, got {other:?}"),
    }
    assert_eq!(app.kind, MethodKind::Totp);
}

// ---- the method a check proved ----

#[test]
fn each_factors_evidence_finds_its_method() {
    let store = MemoryStore::new();
    let (totp, credential) = add_totp(&store, ALICE, "app", at(0));
    let hotp = add_method(
        &store,
        ALICE,
        FactorRef::Hotp {
            credential_id: "token".into(),
        },
        &Evidence::new(Method::Hotp, at(0), "token"),
        at(0),
    );
    let key = add_passkey(&store, ALICE, 1, true, at(0));
    let device = device_id(9);
    let push = add_method(
        &store,
        ALICE,
        FactorRef::Push {
            device_id: device.as_str().to_owned(),
        },
        &Evidence::new(Method::Push, at(0), &device),
        at(0),
    );
    let sms = add_phone(&store, ALICE, "mobile", false, at(0));
    let voice = add_phone(&store, ALICE, "mobile", true, at(0));
    let (codes, issued) = add_cheap_backup_codes(&store, ALICE, at(0));
    let info = security_info(&store, ALICE).unwrap();
    let found = |evidence: &Evidence| info.method_for(evidence).map(|entry| entry.id.clone());

    // Evidence as the factor crates produce it.
    let totp_check = mfa_otp::verify_totp(
        &store,
        &mfa_otp::totp_record_key(ALICE, "app"),
        &ThrottlePolicy::default(),
        credential.code_at(at(60)).unwrap().as_str(),
        at(60),
    )
    .unwrap();
    assert_eq!(found(totp_check.evidence()), Some(totp.id.clone()));
    let backup_check = redeem_backup_code_with_mfa_backup(&store, &issued.codes[0]);
    assert_ne!(
        backup_check.credential.as_str(),
        codes.id.as_str(),
        "mfa-backup names its set, not our method"
    );
    assert_eq!(found(&backup_check), Some(codes.id.clone()));
    let webauthn_id = mfa_webauthn::CredentialId::from_b64url(&passkey_id(1)).unwrap();
    let passkey_check = Evidence::new(Method::WebAuthn, at(60), &webauthn_id);
    assert_eq!(found(&passkey_check), Some(key.id.clone()));
    assert_eq!(
        found(&Evidence::new(Method::Push, at(60), &device)),
        Some(push.id.clone())
    );
    assert_eq!(
        found(&Evidence::new(Method::Hotp, at(60), "token")),
        Some(hotp.id.clone())
    );
    // One phone, two methods: SMS and voice tell them apart.
    assert_eq!(
        found(&Evidence::new(Method::Sms, at(60), "mobile")),
        Some(sms.id.clone())
    );
    assert_eq!(
        found(&Evidence::new(Method::Voice, at(60), "mobile")),
        Some(voice.id.clone())
    );

    // Nothing registered matches these.
    for evidence in [
        Evidence::new(Method::Password, at(60), "password"),
        Evidence::new(Method::TemporaryAccessPass, at(60), "pass-id"),
        Evidence::new(Method::Totp, at(60), "another-app"),
        Evidence::new(Method::Hotp, at(60), "app"), // the TOTP app's id, another method
        Evidence::new(Method::WebAuthn, at(60), passkey_id(2).as_str()),
    ] {
        assert_eq!(found(&evidence), None, "{evidence:?}");
    }
}

/// Redeems a code straight through `mfa-backup` and returns the evidence.
fn redeem_backup_code_with_mfa_backup(
    store: &MemoryStore,
    code: &mfa_backup::BackupCode,
) -> Evidence {
    methods_support::redeem_backup_code(store, ALICE, code, at(60))
        .unwrap()
        .verified
        .evidence()
        .clone()
}

#[test]
fn recording_a_use_by_evidence_touches_only_the_matching_method() {
    let store = MemoryStore::new();
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    let sms = add_phone(&store, ALICE, "mobile", false, at(0));
    let used = record_use_of(
        &store,
        ALICE,
        &Evidence::new(Method::Totp, at(100), "app"),
        at(100),
    )
    .unwrap();
    assert_eq!(used, Some(app.id.clone()));

    for evidence in [
        Evidence::new(Method::Password, at(200), "password"),
        Evidence::new(Method::Totp, at(200), "unknown-app"),
        Evidence::new(Method::Voice, at(200), "mobile"),
    ] {
        assert_eq!(
            record_use_of(&store, ALICE, &evidence, at(200)).unwrap(),
            None
        );
    }
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.method(&app.id).unwrap().last_used_at, Some(at(100)));
    assert_eq!(info.method(&sms.id).unwrap().last_used_at, None);
    // Another account's evidence finds nothing of Alice's.
    assert_eq!(
        record_use_of(
            &store,
            "bob",
            &Evidence::new(Method::Totp, at(300), "app"),
            at(300)
        )
        .unwrap(),
        None
    );
}

#[tokio::test]
async fn recording_a_use_by_evidence_works_async() {
    let store = MemoryStore::new();
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    let used = record_use_of_async(
        &store,
        ALICE,
        &Evidence::new(Method::Totp, at(50), "app"),
        at(50),
    )
    .await
    .unwrap();
    assert_eq!(used, Some(app.id.clone()));
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.method(&app.id).unwrap().last_used_at, Some(at(50)));
}

// ---- backup codes, the account-level way ----

#[test]
fn a_backup_code_sign_in_records_the_use_and_tells_the_user() {
    let store = MemoryStore::new();
    let events = EventLog::new();
    let (codes, issued) = add_cheap_backup_codes(&store, ALICE, at(0));
    let throttle = ThrottlePolicy::default();

    let redeemed = redeem_backup_code(
        &store,
        &events,
        ALICE,
        &throttle,
        issued.codes[0].expose_secret(),
        at(100),
        &mut rng(4),
    )
    .unwrap();
    assert_eq!(redeemed.verified.evidence().method, Method::BackupCode);
    assert_eq!(redeemed.remaining, 2);
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.method(&codes.id).unwrap().last_used_at, Some(at(100)));
    let told = events.take();
    assert_eq!(
        told.iter().map(|event| &event.change).collect::<Vec<_>>(),
        [&AccountChange::RecoverySignIn {
            method: Method::BackupCode
        }]
    );
    assert!(told[0].notifies_user());

    // mfa-backup's reasons come through unchanged, and a failure tells nobody.
    let again = redeem_backup_code(
        &store,
        &events,
        ALICE,
        &throttle,
        issued.codes[0].expose_secret(),
        at(110),
        &mut rng(5),
    );
    assert!(matches!(
        again,
        Err(AttemptError::Rejected(
            mfa_backup::BackupCodeError::AlreadyUsed
        ))
    ));
    let wrong = redeem_backup_code(
        &store,
        &events,
        ALICE,
        &throttle,
        "not a code",
        at(120),
        &mut rng(6),
    );
    assert!(matches!(
        wrong,
        Err(AttemptError::Rejected(
            mfa_backup::BackupCodeError::Malformed
        ))
    ));
    let nobody = redeem_backup_code(
        &store,
        &events,
        "bob",
        &throttle,
        issued.codes[1].expose_secret(),
        at(130),
        &mut rng(7),
    );
    assert!(matches!(nobody, Err(AttemptError::NotEnrolled)));
    assert!(events.take().is_empty());
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.method(&codes.id).unwrap().last_used_at, Some(at(100)));
}

#[test]
fn codes_issued_outside_the_account_still_notify() {
    // A set issued straight through mfa-backup has no method to record; the notice still goes.
    let store = MemoryStore::new();
    let events = EventLog::new();
    let issued = mfa_backup::issue(
        &store,
        &mfa_backup::record_key(ALICE),
        &cheap_backup_codes(),
        at(0),
        &mut rng(8),
    )
    .unwrap();
    let redeemed = redeem_backup_code(
        &store,
        &events,
        ALICE,
        &ThrottlePolicy::default(),
        issued.codes[0].expose_secret(),
        at(10),
        &mut rng(9),
    )
    .unwrap();
    assert_eq!(redeemed.remaining, 2);
    assert_eq!(
        changes(&events),
        [AccountChange::RecoverySignIn {
            method: Method::BackupCode
        }]
    );
    assert!(security_info(&store, ALICE).unwrap().methods.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_code_sign_in_hashes_off_the_executor() {
    let store = MemoryStore::new();
    let events = EventLog::new();
    let (codes, issued) = add_cheap_backup_codes(&store, ALICE, at(0));
    let typed = issued.codes[0].expose_secret().to_owned();
    let redeemed = redeem_backup_code_async(
        &store,
        &events,
        ALICE,
        &ThrottlePolicy::default(),
        &typed,
        at(40),
        &mut rng(4),
        |job| tokio::task::spawn_blocking(move || job.run()),
    )
    .await
    .unwrap();
    assert_eq!(redeemed.remaining, 2);
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.method(&codes.id).unwrap().last_used_at, Some(at(40)));
    assert_eq!(
        changes(&events),
        [AccountChange::RecoverySignIn {
            method: Method::BackupCode
        }]
    );
}

// ---- who may register ----

/// Registering security info needs a second factor (or a temporary access pass); guests may
/// never register.
const REGISTRATION: &str = r#"
[[policies]]
name = "MFA for everything"
grant = { authentication_strength = "mfa" }

[[policies]]
name = "Guests never register"
assignments.users.include = { groups = ["guests"] }
assignments.user_actions = ["register_security_info"]
grant = { block = true }
"#;

#[test]
fn a_temporary_access_pass_allows_registering_and_nothing_else() {
    let store = MemoryStore::new();
    let engine = engine(REGISTRATION);
    let operator = Operator::new("helpdesk-7").unwrap();
    let tap = issue_tap(
        &store,
        &AccountPolicy::default(),
        &NoEvents,
        ALICE,
        &operator,
        TapOptions::one_time(Duration::from_secs(3600)),
        at(0),
        &mut rng(1),
    )
    .unwrap();
    let verified = redeem_tap(&store, &NoEvents, ALICE, &tap.pass, at(60)).unwrap();
    let grant = verified.credential();
    let password = Evidence::new(Method::Password, at(60), "password");
    let context = |action: UserAction| {
        let mut context = SignInContext::builder(ALICE, "mail", at(60))
            .action(action)
            .evidence(password.clone())
            .build();
        if let Some(evidence) = grant.evidence_for(action) {
            context.add_evidence(evidence);
        }
        context
    };

    // Password + the pass, scoped to registering: allowed.
    assert_eq!(
        may_register(&engine, &context(UserAction::RegisterSecurityInfo)),
        Ok(())
    );
    // For signing in, the pass gives no evidence: the engine still asks for a second factor, and
    // that session may not register either.
    let sign_in = context(UserAction::SignIn);
    assert_eq!(sign_in.evidence, vec![password.clone()]);
    assert!(matches!(
        engine.evaluate(&sign_in).decision,
        Decision::StepUp(_)
    ));
    assert_eq!(
        may_register(&engine, &sign_in),
        Err(AccountError::RegistrationNotAllowed {
            decision: "step_up"
        })
    );
}

#[test]
fn may_register_asks_about_registering_whatever_the_context_says() {
    let engine = engine(REGISTRATION);
    let now = at(0);
    let password = Evidence::new(Method::Password, now, "password");
    let totp = Evidence::new(Method::Totp, now, "app");
    // A guest's context built for signing in: signing in is allowed, registering is blocked.
    let guest = SignInContext::builder("guest-1", "mail", now)
        .group("guests")
        .evidence(password)
        .evidence(totp)
        .build();
    assert!(engine.evaluate(&guest).decision.is_allow());
    let refused = may_register(&engine, &guest).unwrap_err();
    assert_eq!(
        refused,
        AccountError::RegistrationNotAllowed { decision: "block" }
    );
    assert_eq!(
        mfa_core::Rejection::reason(&refused),
        "registration_not_allowed"
    );
}

// ---- app passwords ----

#[test]
fn an_app_password_marks_the_context_as_a_legacy_sign_in_with_it() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let created = create_app_password(
        &store,
        &policy,
        &NoEvents,
        ALICE,
        "Thunderbird",
        at(0),
        &mut rng(1),
    )
    .unwrap();
    let engine = engine(
        r#"
[[policies]]
name = "Legacy clients only with an app password"
assignments.client_apps = { include = ["legacy"], exclude = ["app_password"] }
grant = { block = true }
"#,
    );
    let used = check_app_password(
        &store,
        &policy,
        ALICE,
        &created.password,
        ClientApp::Legacy,
        at(10),
    )
    .unwrap();
    // The service's context before the check: it knew only the protocol.
    let before = SignInContext::builder(ALICE, "mail", at(10))
        .client_app(ClientApp::Legacy)
        .build();
    assert!(matches!(
        engine.evaluate(&before).decision,
        Decision::Block { .. }
    ));
    let mut context = before.clone();
    used.credential().apply_to(&mut context);
    assert_eq!(context.client_app, ClientApp::Legacy);
    assert!(context.app_password);
    assert_eq!(context.evidence, vec![used.evidence().clone()]);
    assert_eq!(context.evidence[0].method, Method::Password);
    assert_eq!(context.evidence[0].credential.as_str(), created.id);
    assert!(engine.evaluate(&context).decision.is_allow());

    // Applied to a context that said "browser", it says "legacy": the check was a legacy one.
    let mut browser = SignInContext::builder(ALICE, "mail", at(10)).build();
    used.credential().apply_to(&mut browser);
    assert_eq!(browser.client_app, ClientApp::Legacy);
}
