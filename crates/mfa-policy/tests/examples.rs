//! The example policies under `examples/policies/`: every context beside a policy file is
//! evaluated against it, and the decision is the one `examples/policies/README.md` lists.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use std::path::{Path, PathBuf};

use mfa_policy::{Decision, Engine, PolicyOutcome, PolicyState, SignInContext, SignInFrequency};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

/// (policy file stem, context case, decision kind, policy named by a block or step-up)
const EXPECTED: &[(&str, &str, &str, Option<&str>)] = &[
    ("office_network", "in-office", "allow", None),
    (
        "office_network",
        "outside",
        "step_up",
        Some("MFA outside the office"),
    ),
    (
        "admins_phishing_resistant",
        "admin-with-totp",
        "step_up",
        Some("Admins: phishing-resistant MFA"),
    ),
    ("admins_phishing_resistant", "admin-with-key", "allow", None),
    (
        "admins_phishing_resistant",
        "become-admin",
        "step_up",
        Some("Becoming admin: phishing-resistant MFA"),
    ),
    (
        "high_risk_blocks",
        "high-risk",
        "block",
        Some("Block high sign-in risk"),
    ),
    ("high_risk_blocks", "medium-risk", "allow", None),
    ("aal2_every_12h", "fresh", "allow", None),
    (
        "aal2_every_12h",
        "stale",
        "step_up",
        Some("AAL2, re-sign-in every 12 hours"),
    ),
    (
        "aal2_every_12h",
        "push-without-number-matching",
        "step_up",
        Some("AAL2, re-sign-in every 12 hours"),
    ),
    ("aal2_every_12h", "sms", "allow", None),
    (
        "legacy_blocked",
        "imap-password",
        "block",
        Some("Block legacy authentication"),
    ),
    ("legacy_blocked", "imap-app-password", "allow", None),
];

fn load(stem: &str, case: &str) -> (Engine, SignInContext) {
    let policy = std::fs::read_to_string(dir().join(format!("{stem}.toml"))).unwrap();
    let context = std::fs::read_to_string(dir().join(format!("{stem}.{case}.json"))).unwrap();
    (
        Engine::from_toml(&policy).unwrap_or_else(|e| panic!("{stem}.toml: {e}")),
        SignInContext::from_json(&context).unwrap_or_else(|e| panic!("{stem}.{case}.json: {e}")),
    )
}

#[test]
fn every_example_context_gets_its_listed_decision() {
    for (stem, case, kind, policy) in EXPECTED {
        let (engine, context) = load(stem, case);
        let evaluation = engine.evaluate(&context);
        assert_eq!(evaluation.decision.kind(), *kind, "{stem}.{case}");
        let named = match &evaluation.decision {
            Decision::Block { policy, .. } => Some(*policy),
            Decision::StepUp(step_up) => {
                assert!(
                    !step_up.usable_now.is_empty() || !step_up.enroll.is_empty(),
                    "{stem}.{case}"
                );
                Some(step_up.policy)
            }
            _ => None,
        };
        assert_eq!(named, *policy, "{stem}.{case}");
    }
}

#[test]
fn every_example_file_is_listed() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(rest) = name.strip_suffix(".json") {
            let (stem, case) = rest.split_once('.').unwrap();
            assert!(
                EXPECTED.iter().any(|(s, c, ..)| *s == stem && *c == case),
                "{name} is not listed"
            );
        } else if let Some(stem) = name.strip_suffix(".toml") {
            assert!(
                EXPECTED.iter().any(|(s, ..)| *s == stem),
                "{name} has no context"
            );
        }
    }
}

#[test]
fn details_the_examples_promise() {
    // Outside the office, the enrolled TOTP app is what can be used now.
    let (engine, context) = load("office_network", "outside");
    let evaluation = engine.evaluate(&context);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!()
    };
    assert_eq!(step_up.usable_now[0].to_string(), "password + totp");

    // The admin's security key is offered.
    let (engine, context) = load("admins_phishing_resistant", "admin-with-totp");
    let evaluation = engine.evaluate(&context);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!()
    };
    assert!(
        step_up
            .usable_now
            .iter()
            .all(|c| c.to_string().contains("webauthn"))
    );
    assert!(!step_up.usable_now.is_empty());

    // Medium risk: report-only says it would require MFA.
    let (engine, context) = load("high_risk_blocks", "medium-risk");
    let evaluation = engine.evaluate(&context);
    let entry = evaluation
        .trace
        .entry("MFA on medium sign-in risk")
        .unwrap();
    assert_eq!(entry.state, PolicyState::ReportOnly);
    assert!(matches!(entry.outcome, PolicyOutcome::Unsatisfied(s) if s.strength == Some("mfa")));

    // AAL2: the allow carries the 12-hour sign-in frequency.
    let (engine, context) = load("aal2_every_12h", "fresh");
    let Decision::Allow { session } = engine.evaluate(&context).decision else {
        panic!()
    };
    assert_eq!(session.sign_in_frequency, Some(SignInFrequency::Hours(12)));
}
