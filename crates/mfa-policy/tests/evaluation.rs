//! Table-driven tests of assignments, grants, session controls and the decision rules.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use mfa_core::{AuthenticatorProperties, Evidence, Method, UnixTime};
use mfa_policy::{
    Assignment, BlockReason, ClientApp, Control, Decision, Engine, EnrolledMethod, MethodStatus,
    PER_USER_MFA_POLICY, PerUserMfa, Platform, PolicyOutcome, PolicyState, RiskLevel,
    SignInContext, SignInContextBuilder, SignInFrequency, StrengthMet, UserAction, UserKind,
};

const NOW: u64 = 1_800_000_000;

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn ago(secs: u64) -> UnixTime {
    UnixTime::from_secs(NOW - secs)
}

fn base() -> SignInContextBuilder {
    SignInContext::builder("alice", "mail", now()).evidence(Evidence::new(
        Method::Password,
        now(),
        "pw",
    ))
}

const LOCATIONS: &str = r#"
[[locations]]
name = "office"
trusted = true
cidrs = ["203.0.113.0/24", "2001:db8::/32"]
[[locations]]
name = "nl"
countries = ["NL"]
"#;

/// A one-policy engine with a `block` grant and the given assignments (TOML inline table body).
fn blocking(assignments: &str) -> Engine {
    let text = format!(
        "{LOCATIONS}\n[[policies]]\nname = \"p\"\nassignments = {{ {assignments} }}\ngrant = {{ block = true }}\n"
    );
    Engine::from_toml(&text).unwrap_or_else(|e| panic!("{assignments}: {e}"))
}

#[test]
fn each_assignment_applies_or_names_itself() {
    type Build = fn(SignInContextBuilder) -> SignInContextBuilder;
    let id: Build = |b| b;
    let cases: &[(&str, &str, Build, Option<Assignment>)] = &[
        (
            "all users",
            "users = { include = { all = true } }",
            id,
            None,
        ),
        (
            "listed user",
            "users = { include = { users = [\"alice\"] } }",
            id,
            None,
        ),
        (
            "other user",
            "users = { include = { users = [\"bob\"] } }",
            id,
            Some(Assignment::Users),
        ),
        (
            "group",
            "users = { include = { groups = [\"g\"] } }",
            |b| b.group("g"),
            None,
        ),
        (
            "not in group",
            "users = { include = { groups = [\"g\"] } }",
            |b| b.group("h"),
            Some(Assignment::Users),
        ),
        (
            "role",
            "users = { include = { roles = [\"admin\"] } }",
            |b| b.role("admin"),
            None,
        ),
        (
            "guests",
            "users = { include = { guests = true } }",
            |b| b.user_kind(UserKind::Guest),
            None,
        ),
        (
            "member not guest",
            "users = { include = { guests = true } }",
            id,
            Some(Assignment::Users),
        ),
        (
            "excluded user",
            "users = { exclude = { users = [\"alice\"] } }",
            id,
            Some(Assignment::Users),
        ),
        (
            "excluded group wins",
            "users = { include = { all = true }, exclude = { groups = [\"g\"] } }",
            |b| b.group("g"),
            Some(Assignment::Users),
        ),
        (
            "excluded role",
            "users = { exclude = { roles = [\"admin\"] } }",
            |b| b.role("admin"),
            Some(Assignment::Users),
        ),
        (
            "app listed",
            "applications = { include = [\"mail\"] }",
            id,
            None,
        ),
        (
            "app not listed",
            "applications = { include = [\"wiki\"] }",
            id,
            Some(Assignment::Applications),
        ),
        (
            "app excluded",
            "applications = { include = [\"all\"], exclude = [\"mail\"] }",
            id,
            Some(Assignment::Applications),
        ),
        (
            "action listed",
            "user_actions = [\"register_security_info\"]",
            |b| b.action(UserAction::RegisterSecurityInfo),
            None,
        ),
        (
            "action not listed",
            "user_actions = [\"become_admin\"]",
            id,
            Some(Assignment::UserActions),
        ),
        (
            "browser",
            "client_apps = { include = [\"browser\"] }",
            id,
            None,
        ),
        (
            "not mobile",
            "client_apps = { include = [\"mobile_desktop\"] }",
            id,
            Some(Assignment::ClientApps),
        ),
        (
            "legacy",
            "client_apps = { include = [\"legacy\"] }",
            |b| b.client_app(ClientApp::Legacy),
            None,
        ),
        (
            "app password excluded",
            "client_apps = { include = [\"legacy\"], exclude = [\"app_password\"] }",
            |b| b.client_app(ClientApp::Legacy).app_password(true),
            Some(Assignment::ClientApps),
        ),
        (
            "platform",
            "platforms = { include = [\"ios\"] }",
            |b| b.platform(Platform::IOs),
            None,
        ),
        (
            "unknown platform",
            "platforms = { include = [\"ios\"] }",
            id,
            Some(Assignment::Platforms),
        ),
        (
            "platform excluded",
            "platforms = { exclude = [\"macos\"] }",
            |b| b.platform(Platform::MacOs),
            Some(Assignment::Platforms),
        ),
        (
            "in office v4",
            "locations = { include = [\"office\"] }",
            |b| b.ip("203.0.113.9".parse().unwrap()),
            None,
        ),
        (
            "in office v6",
            "locations = { include = [\"office\"] }",
            |b| b.ip("2001:db8::5".parse().unwrap()),
            None,
        ),
        (
            "outside office",
            "locations = { include = [\"office\"] }",
            |b| b.ip("198.51.100.1".parse().unwrap()),
            Some(Assignment::Locations),
        ),
        (
            "trusted excluded",
            "locations = { include = [\"any\"], exclude = [\"all_trusted\"] }",
            |b| b.ip("203.0.113.9".parse().unwrap()),
            Some(Assignment::Locations),
        ),
        (
            "untrusted included",
            "locations = { include = [\"any\"], exclude = [\"all_trusted\"] }",
            |b| b.ip("198.51.100.1".parse().unwrap()),
            None,
        ),
        (
            "country any case",
            "locations = { include = [\"nl\"] }",
            |b| b.country("nl"),
            None,
        ),
        (
            "unknown country",
            "locations = { include = [\"nl\"] }",
            id,
            Some(Assignment::Locations),
        ),
        (
            "high sign-in risk",
            "sign_in_risk = [\"high\"]",
            |b| b.sign_in_risk(RiskLevel::High),
            None,
        ),
        (
            "low sign-in risk",
            "sign_in_risk = [\"high\"]",
            |b| b.sign_in_risk(RiskLevel::Low),
            Some(Assignment::SignInRisk),
        ),
        (
            "user risk",
            "user_risk = [\"medium\"]",
            |b| b.user_risk(RiskLevel::Medium),
            None,
        ),
        (
            "no user risk",
            "user_risk = [\"medium\"]",
            id,
            Some(Assignment::UserRisk),
        ),
        (
            "unmanaged device",
            "devices = { include = [\"unmanaged\"] }",
            id,
            None,
        ),
        (
            "managed device",
            "devices = { include = [\"unmanaged\"] }",
            |b| b.managed(true),
            Some(Assignment::Devices),
        ),
        (
            "compliant excluded",
            "devices = { exclude = [\"compliant\"] }",
            |b| b.compliant(true),
            Some(Assignment::Devices),
        ),
        (
            "noncompliant",
            "devices = { include = [\"noncompliant\"] }",
            id,
            None,
        ),
    ];
    for (label, assignments, build, expected) in cases {
        let engine = blocking(assignments);
        let context = build(base()).build();
        let evaluation = engine.evaluate(&context);
        let entry = evaluation.trace.entry("p").unwrap();
        match expected {
            None => {
                assert!(
                    matches!(evaluation.decision, Decision::Block { policy: "p", .. }),
                    "{label}"
                );
                assert!(entry.outcome.applied(), "{label}");
            }
            Some(assignment) => {
                assert!(evaluation.decision.is_allow(), "{label}");
                assert_eq!(
                    entry.outcome,
                    PolicyOutcome::NotApplied {
                        excluded_by: *assignment
                    },
                    "{label}"
                );
            }
        }
    }
}

fn single(grant: &str, session: &str) -> Engine {
    Engine::from_toml(&format!(
        "[[policies]]\nname = \"p\"\ngrant = {{ {grant} }}\nsession = {{ {session} }}\n"
    ))
    .unwrap()
}

fn kind(decision: &Decision<'_>) -> &'static str {
    decision.kind()
}

#[test]
fn grants_table() {
    type Build = fn(SignInContextBuilder) -> SignInContextBuilder;
    let id: Build = |b| b;
    let totp: Build = |b| b.evidence(Evidence::new(Method::Totp, now(), "t"));
    let cases: &[(&str, &str, Build, &str)] = &[
        ("nothing", "", id, "allow"),
        ("block", "block = true", totp, "block"),
        (
            "mfa without second factor",
            "authentication_strength = \"mfa\"",
            id,
            "step_up",
        ),
        (
            "mfa with totp",
            "authentication_strength = \"mfa\"",
            totp,
            "allow",
        ),
        (
            "mfa with email",
            "authentication_strength = \"mfa\"",
            |b| b.evidence(Evidence::new(Method::Email, now(), "e")),
            "step_up",
        ),
        (
            "mfa with sms",
            "authentication_strength = \"mfa\"",
            |b| b.evidence(Evidence::new(Method::Sms, now(), "s")),
            "allow",
        ),
        (
            "mfa with tap",
            "authentication_strength = \"mfa\"",
            |b| b.evidence(Evidence::new(Method::TemporaryAccessPass, now(), "tap")),
            "allow",
        ),
        (
            "passwordless with totp",
            "authentication_strength = \"passwordless_mfa\"",
            totp,
            "step_up",
        ),
        (
            "passwordless with uv key",
            "authentication_strength = \"passwordless_mfa\"",
            |b| b.evidence(Evidence::new(Method::WebAuthn, now(), "k").user_verified(true)),
            "allow",
        ),
        (
            "phishing-resistant with totp",
            "authentication_strength = \"phishing_resistant_mfa\"",
            totp,
            "step_up",
        ),
        (
            "phishing-resistant with key",
            "authentication_strength = \"phishing_resistant_mfa\"",
            |b| b.evidence(Evidence::new(Method::WebAuthn, now(), "k")),
            "allow",
        ),
        (
            "aal2 with sms",
            "authentication_strength = \"aal2\"",
            |b| b.evidence(Evidence::new(Method::Sms, now(), "s")),
            "allow",
        ),
        (
            "aal2 with plain push",
            "authentication_strength = \"aal2\"",
            |b| b.evidence(Evidence::new(Method::Push, now(), "p")),
            "step_up",
        ),
        (
            "aal2 with vendor-style number-matched push",
            "authentication_strength = \"aal2\"",
            |b| b.evidence(Evidence::new(Method::Push, now(), "p").number_matched(true)),
            "step_up",
        ),
        (
            "aal2 with six typed digits sent back",
            "authentication_strength = \"aal2\"",
            |b| b.evidence(Evidence::new(Method::Push, now(), "p").number_match_meets_rev4(true)),
            "allow",
        ),
        (
            "mfa with plain push",
            "authentication_strength = \"mfa\"",
            |b| b.evidence(Evidence::new(Method::Push, now(), "p")),
            "allow",
        ),
        (
            "aal2 with email",
            "authentication_strength = \"aal2\"",
            |b| b.evidence(Evidence::new(Method::Email, now(), "e")),
            "step_up",
        ),
        (
            "aal3 with synced passkey",
            "authentication_strength = \"aal3\"",
            |b| b.evidence(Evidence::new(Method::WebAuthn, now(), "k").user_verified(true)),
            "step_up",
        ),
        (
            "aal3 with hardware key",
            "authentication_strength = \"aal3\"",
            |b| {
                b.evidence(
                    Evidence::new(Method::WebAuthn, now(), "k")
                        .hardware_backed(true)
                        .device_bound(true),
                )
            },
            "allow",
        ),
        (
            "aal3 with sms marked phishing-resistant",
            "authentication_strength = \"aal3\"",
            |b| {
                b.evidence(Evidence::new(Method::Sms, now(), "s").with_properties(
                    AuthenticatorProperties {
                        phishing_resistant: true,
                        hardware_backed: true,
                        device_bound: true,
                        restricted: true,
                        ..Default::default()
                    },
                ))
            },
            "step_up",
        ),
        (
            "compliant device: not",
            "controls = [\"compliant_device\"]",
            totp,
            "block",
        ),
        (
            "compliant device: yes",
            "controls = [\"compliant_device\"]",
            |b| b.compliant(true),
            "allow",
        ),
        (
            "managed device",
            "controls = [\"managed_device\"]",
            |b| b.managed(true),
            "allow",
        ),
        (
            "mfa AND compliant, neither",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"]",
            id,
            "block",
        ),
        (
            "mfa AND compliant, only mfa",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"]",
            totp,
            "block",
        ),
        (
            "mfa AND compliant, only compliant",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"]",
            |b| b.compliant(true),
            "step_up",
        ),
        (
            "mfa AND compliant, both",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"]",
            |b| {
                b.compliant(true)
                    .evidence(Evidence::new(Method::Totp, now(), "t"))
            },
            "allow",
        ),
        (
            "mfa OR compliant, neither",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"], operator = \"or\"",
            id,
            "step_up",
        ),
        (
            "mfa OR compliant, compliant",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"], operator = \"or\"",
            |b| b.compliant(true),
            "allow",
        ),
        (
            "mfa OR compliant, mfa",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"], operator = \"or\"",
            totp,
            "allow",
        ),
        (
            "compliant OR managed, managed",
            "controls = [\"compliant_device\", \"managed_device\"], operator = \"or\"",
            |b| b.managed(true),
            "allow",
        ),
        (
            "legacy client cannot step up",
            "authentication_strength = \"mfa\"",
            |b| b.client_app(ClientApp::Legacy),
            "block",
        ),
    ];
    for (label, grant, build, expected) in cases {
        let engine = single(grant, "");
        let context = build(base()).build();
        assert_eq!(
            kind(&engine.evaluate(&context).decision),
            *expected,
            "{label}"
        );
    }
}

#[test]
fn evidence_that_satisfied_is_traced() {
    let engine = single("authentication_strength = \"mfa\"", "");
    let context = base()
        .evidence(Evidence::new(Method::Email, now(), "mail"))
        .evidence(Evidence::new(Method::Totp, now(), "app"))
        .build();
    let evaluation = engine.evaluate(&context);
    let PolicyOutcome::Satisfied(satisfaction) = evaluation.trace.entry("p").unwrap().outcome
    else {
        panic!("not satisfied");
    };
    let Some(StrengthMet::Evidence {
        strength,
        evidence,
        combination,
    }) = satisfaction.strength
    else {
        panic!("no evidence recorded");
    };
    assert_eq!(strength, "mfa");
    assert_eq!(evidence.iter().collect::<Vec<_>>(), [0, 2]);
    assert_eq!(combination.to_string(), "password + totp");
    let json = serde_json::to_value(&evaluation).unwrap();
    assert_eq!(json["decision"], "allow");
    assert_eq!(json["trace"][0]["outcome"], "satisfied");
    assert_eq!(
        json["trace"][0]["strength"]["evidence"],
        serde_json::json!([0, 2])
    );
}

#[test]
fn sign_in_frequency_and_stale_evidence() {
    let cases: &[(&str, u64, &str)] = &[
        ("sign_in_frequency = \"12h\"", 11 * 3600, "allow"),
        ("sign_in_frequency = \"12h\"", 13 * 3600, "step_up"),
        ("sign_in_frequency = \"1d\"", 23 * 3600, "allow"),
        ("sign_in_frequency = \"1d\"", 25 * 3600, "step_up"),
        ("sign_in_frequency = \"every_time\"", 60, "allow"),
        ("sign_in_frequency = \"every_time\"", 600, "step_up"),
        ("", 400 * 86_400, "allow"),
    ];
    for (session, age, expected) in cases {
        let engine = single("authentication_strength = \"mfa\"", session);
        let context = SignInContext::builder("alice", "mail", now())
            .evidence(Evidence::new(Method::Password, ago(*age), "pw"))
            .evidence(Evidence::new(Method::Totp, ago(*age), "t"))
            .build();
        let evaluation = engine.evaluate(&context);
        assert_eq!(kind(&evaluation.decision), *expected, "{session} {age}");
        if *expected == "allow" && !session.is_empty() {
            let Decision::Allow { session: outcome } = evaluation.decision else {
                unreachable!()
            };
            assert!(outcome.sign_in_frequency.is_some());
        }
    }
    // Evidence from the future (beyond clock skew) does not count.
    let engine = single("authentication_strength = \"mfa\"", "");
    let future = UnixTime::from_secs(NOW + 3600);
    let context = SignInContext::builder("alice", "mail", now())
        .evidence(Evidence::new(Method::Password, future, "pw"))
        .evidence(Evidence::new(Method::Totp, future, "t"))
        .build();
    assert_eq!(kind(&engine.evaluate(&context).decision), "step_up");
}

#[test]
fn the_strictest_session_controls_win() {
    let engine = Engine::from_toml(
        r#"
[[policies]]
name = "a"
session = { sign_in_frequency = "7d", remember_device_days = 30 }
[[policies]]
name = "b"
session = { sign_in_frequency = "12h", remember_device_days = 7 }
[[policies]]
name = "c"
assignments.applications.include = ["wiki"]
session = { sign_in_frequency = "every_time", remember_device_days = 1 }
"#,
    )
    .unwrap();
    let context = base().build();
    let evaluation = engine.evaluate(&context);
    let Decision::Allow { session } = evaluation.decision else {
        panic!()
    };
    assert_eq!(session.sign_in_frequency, Some(SignInFrequency::Hours(12)));
    assert_eq!(session.remember_device_days, Some(7));
}

#[test]
fn remembered_device_table() {
    let day = 86_400;
    let cases: &[(&str, Option<u64>, &str)] = &[
        ("remember_device_days = 7", Some(NOW + 3 * day), "allow"),
        ("remember_device_days = 7", Some(NOW + 30 * day), "step_up"),
        ("remember_device_days = 7", Some(NOW - 1), "step_up"),
        ("remember_device_days = 7", None, "step_up"),
        ("", Some(NOW + 3 * day), "step_up"),
    ];
    for (session, until, expected) in cases {
        let engine = single("authentication_strength = \"mfa\"", session);
        let mut builder = base();
        if let Some(until) = until {
            builder = builder.remembered_until(UnixTime::from_secs(*until));
        }
        assert_eq!(
            kind(&engine.evaluate(&builder.build()).decision),
            *expected,
            "{session} {until:?}"
        );
    }
}

#[test]
fn block_wins_over_step_up_and_allow() {
    let engine = Engine::from_toml(
        r#"
[[policies]]
name = "needs mfa"
grant = { authentication_strength = "mfa" }
[[policies]]
name = "allows"
[[policies]]
name = "blocks"
assignments.sign_in_risk = ["high"]
grant = { block = true }
"#,
    )
    .unwrap();
    let context = base().sign_in_risk(RiskLevel::High).build();
    let evaluation = engine.evaluate(&context);
    assert_eq!(
        evaluation.decision,
        Decision::Block {
            policy: "blocks",
            reason: BlockReason::BlockedByPolicy
        }
    );
    assert_eq!(evaluation.trace.applied().count(), 3);
}

#[test]
fn report_only_is_reported_never_enforced() {
    let engine = Engine::from_toml(
        r#"
[[policies]]
name = "would block"
state = "report_only"
grant = { block = true }
[[policies]]
name = "would require"
state = "report_only"
grant = { authentication_strength = "aal3" }
[[policies]]
name = "would not apply"
state = "report_only"
assignments.applications.include = ["wiki"]
grant = { block = true }
[[policies]]
name = "off"
state = "off"
grant = { block = true }
"#,
    )
    .unwrap();
    let context = base().build();
    let evaluation = engine.evaluate(&context);
    assert!(evaluation.decision.is_allow());
    let report: Vec<_> = evaluation.trace.report_only().collect();
    assert_eq!(report.len(), 3);
    assert!(matches!(report[0].outcome, PolicyOutcome::Blocks { .. }));
    assert!(
        matches!(report[1].outcome, PolicyOutcome::Unsatisfied(s) if s.strength == Some("aal3"))
    );
    assert_eq!(
        report[2].outcome,
        PolicyOutcome::NotApplied {
            excluded_by: Assignment::Applications
        }
    );
    let off = evaluation.trace.entry("off").unwrap();
    assert_eq!(
        (off.state, off.outcome),
        (PolicyState::Off, PolicyOutcome::Off)
    );
}

#[test]
fn step_up_offers_usable_methods_and_never_dead_ends() {
    let engine = single("authentication_strength = \"mfa\"", "");
    // Nothing enrolled: enroll first.
    let context = base().build();
    let evaluation = engine.evaluate(&context);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!()
    };
    assert!(step_up.usable_now.is_empty());
    assert!(!step_up.enroll.is_empty());
    assert_eq!(step_up.acceptable.len(), 9);

    // A TOTP app enrolled: offered.
    let context = base()
        .enrolled(EnrolledMethod::new(Method::Totp, "app"))
        .build();
    let evaluation = engine.evaluate(&context);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!()
    };
    assert_eq!(step_up.usable_now.len(), 1);
    assert_eq!(step_up.usable_now[0].to_string(), "password + totp");
    assert!(step_up.enroll.is_empty());

    // Throttled and locked methods are not offered, but named as unavailable.
    let context = base()
        .enrolled(EnrolledMethod::new(Method::Totp, "app").with_status(MethodStatus::Throttled))
        .enrolled(EnrolledMethod::new(Method::Sms, "phone").with_status(MethodStatus::Locked))
        .build();
    let evaluation = engine.evaluate(&context);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!()
    };
    assert!(step_up.usable_now.is_empty());
    assert!(!step_up.enroll.is_empty());
    assert_eq!(step_up.unavailable.len(), 2);

    // AAL3 with only a synced passkey: enroll a hardware key.
    let engine = single("authentication_strength = \"aal3\"", "");
    let context = base()
        .enrolled(EnrolledMethod::new(Method::WebAuthn, "passkey"))
        .build();
    let evaluation = engine.evaluate(&context);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!()
    };
    assert!(step_up.usable_now.is_empty());
    assert_eq!(step_up.enroll.len(), 1);
    assert!(step_up.enroll[0].hardware_backed);
}

#[test]
fn per_user_mfa_state_table() {
    let engine = Engine::new(mfa_policy::PolicySet::new()).unwrap();
    type Build = fn(SignInContextBuilder) -> SignInContextBuilder;
    let cases: &[(PerUserMfa, Build, &str)] = &[
        (PerUserMfa::Disabled, |b| b, "allow"),
        (PerUserMfa::Enabled, |b| b, "step_up"),
        (PerUserMfa::Enforced, |b| b, "step_up"),
        (
            PerUserMfa::Enforced,
            |b| b.evidence(Evidence::new(Method::Totp, now(), "t")),
            "allow",
        ),
        (
            PerUserMfa::Enforced,
            |b| b.remembered_until(UnixTime::from_secs(NOW + 86_400)),
            "allow",
        ),
        (
            PerUserMfa::Enabled,
            |b| b.client_app(ClientApp::Legacy),
            "allow",
        ),
        (
            PerUserMfa::Enforced,
            |b| b.client_app(ClientApp::Legacy),
            "block",
        ),
        (
            PerUserMfa::Enforced,
            |b| b.client_app(ClientApp::Legacy).app_password(true),
            "allow",
        ),
        (
            PerUserMfa::Enforced,
            |b| b.client_app(ClientApp::MobileDesktop),
            "step_up",
        ),
    ];
    for (state, build, expected) in cases {
        let context = build(base().mfa_state(*state)).build();
        let evaluation = engine.evaluate(&context);
        assert_eq!(kind(&evaluation.decision), *expected, "{state:?}");
        let per_user = evaluation.trace.entry(PER_USER_MFA_POLICY);
        assert_eq!(per_user.is_some(), *state != PerUserMfa::Disabled);
        if let Decision::Block { policy, reason } = evaluation.decision {
            assert_eq!(
                (policy, reason),
                (PER_USER_MFA_POLICY, BlockReason::LegacyWithoutAppPassword)
            );
        }
    }
}

#[test]
fn controls_not_met_names_them() {
    let engine = single("controls = [\"compliant_device\", \"managed_device\"]", "");
    let context = base().managed(true).build();
    let evaluation = engine.evaluate(&context);
    let Decision::Block {
        reason: BlockReason::ControlsNotMet(missing),
        ..
    } = evaluation.decision
    else {
        panic!()
    };
    assert!(
        missing.contains(Control::CompliantDevice) && !missing.contains(Control::ManagedDevice)
    );
}

#[test]
fn index_skips_policies_for_other_targets_but_traces_them() {
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!(
            "[[policies]]\nname = \"app{i}\"\nassignments.applications.include = [\"app{i}\"]\ngrant = {{ block = true }}\n"
        ));
    }
    text.push_str("[[policies]]\nname = \"admin action\"\nassignments.user_actions = [\"become_admin\"]\ngrant = { block = true }\n");
    let engine = Engine::from_toml(&text).unwrap();
    let context = SignInContext::builder("alice", "app7", now()).build();
    let evaluation = engine.evaluate(&context);
    assert_eq!(
        evaluation.decision,
        Decision::Block {
            policy: "app7",
            reason: BlockReason::BlockedByPolicy
        }
    );
    assert_eq!(evaluation.trace.entries().count(), 51);
    assert_eq!(
        evaluation.trace.entry("app8").unwrap().outcome,
        PolicyOutcome::NotApplied {
            excluded_by: Assignment::Applications
        }
    );
    assert_eq!(
        evaluation.trace.entry("admin action").unwrap().outcome,
        PolicyOutcome::NotApplied {
            excluded_by: Assignment::UserActions
        }
    );
    let context = SignInContext::builder("alice", "wiki", now())
        .action(UserAction::BecomeAdmin)
        .build();
    assert_eq!(
        engine.evaluate(&context).decision,
        Decision::Block {
            policy: "admin action",
            reason: BlockReason::BlockedByPolicy
        }
    );
}
