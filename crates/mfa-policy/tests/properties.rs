//! Properties of evaluation over arbitrary contexts (built from bytes by the same generator the
//! `policy_eval` fuzz target uses) against a policy set touching every assignment and grant.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use mfa_core::{AuthenticatorProperties, Evidence, Method, UnixTime};
use mfa_policy::fuzz_support::{POLICIES, context_from_bytes};
use mfa_policy::{
    Assignment, Decision, Engine, MAX_EVIDENCE, PolicyOutcome, PolicySet, PolicyState,
};
use proptest::prelude::*;

fn strictness(decision: &Decision<'_>) -> u8 {
    match decision {
        Decision::Allow { .. } => 0,
        Decision::StepUp(_) => 1,
        _ => 2,
    }
}

const METHODS: [Method; 10] = Method::ALL;

fn evidence_strategy() -> impl Strategy<Value = Evidence> {
    (0..METHODS.len(), any::<u8>(), -3_600_i64..200_000).prop_map(|(method, bits, age)| {
        let at = UnixTime::from_secs(1_800_000_000_u64.saturating_add_signed(-age));
        Evidence::new(METHODS[method], at, "extra").with_properties(AuthenticatorProperties {
            phishing_resistant: bits & 1 == 1,
            user_verified: bits & 2 == 2,
            device_bound: bits & 4 == 4,
            hardware_backed: bits & 8 == 8,
            restricted: bits & 16 == 16,
            number_matched: bits & 32 == 32,
            number_match_meets_rev4: bits & 64 == 64,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn more_evidence_never_makes_a_decision_stricter(
        bytes in proptest::collection::vec(any::<u8>(), 0..160),
        extra in proptest::collection::vec(evidence_strategy(), 1..4),
    ) {
        let engine = Engine::from_toml(POLICIES).unwrap();
        let context = context_from_bytes(&bytes);
        prop_assume!(context.evidence.len() + extra.len() <= MAX_EVIDENCE);
        let before = strictness(&engine.evaluate(&context).decision);
        let mut more = context.clone();
        for piece in extra {
            more.add_evidence(piece);
        }
        let after = strictness(&engine.evaluate(&more).decision);
        prop_assert!(after <= before, "{before} -> {after}");
    }

    #[test]
    fn a_policy_that_excludes_the_user_never_applies(
        bytes in proptest::collection::vec(any::<u8>(), 0..160),
        which in 0_usize..9,
        by in 0_u8..3,
    ) {
        let context = context_from_bytes(&bytes);
        let mut set = PolicySet::from_toml(POLICIES).unwrap();
        let which = which % set.policies.len();
        let exclude = &mut set.policies[which].assignments.users.exclude;
        match by {
            0 => exclude.users.push(context.user.id.clone()),
            1 => exclude.all = true,
            _ => {
                exclude.groups.push("excluded-group".to_owned());
            }
        }
        let mut context = context;
        if by == 2 {
            context.user.groups.push("excluded-group".to_owned());
        }
        let name = set.policies[which].name.clone();
        let off = set.policies[which].state == PolicyState::Off;
        let engine = Engine::new(set).unwrap();
        let evaluation = engine.evaluate(&context);
        let entry = evaluation.trace.entry(&name).unwrap();
        prop_assert!(!entry.outcome.applied());
        if !off && entry.outcome != (PolicyOutcome::NotApplied { excluded_by: Assignment::Applications })
            && entry.outcome != (PolicyOutcome::NotApplied { excluded_by: Assignment::UserActions })
        {
            prop_assert_eq!(entry.outcome, PolicyOutcome::NotApplied { excluded_by: Assignment::Users });
        }
        if let Decision::Block { policy, .. } = evaluation.decision {
            prop_assert_ne!(policy, name.as_str());
        }
    }

    #[test]
    fn report_only_never_makes_the_enforced_decision_stricter(
        bytes in proptest::collection::vec(any::<u8>(), 0..160),
        which in 0_usize..9,
    ) {
        let context = context_from_bytes(&bytes);
        let enforced = Engine::from_toml(POLICIES).unwrap();
        let mut set = PolicySet::from_toml(POLICIES).unwrap();
        let which = which % set.policies.len();
        set.policies[which].state = PolicyState::ReportOnly;
        let reporting = Engine::new(set).unwrap();
        let before = strictness(&enforced.evaluate(&context).decision);
        let evaluation = reporting.evaluate(&context);
        let after = strictness(&evaluation.decision);
        prop_assert!(after <= before, "{before} -> {after}");
        if let Decision::Block { policy, .. } = evaluation.decision {
            let entry = evaluation.trace.entry(policy).unwrap();
            prop_assert_ne!(entry.state, PolicyState::ReportOnly);
        }
    }

    #[test]
    fn every_policy_has_a_trace_line(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        let engine = Engine::from_toml(POLICIES).unwrap();
        let context = context_from_bytes(&bytes);
        let evaluation = engine.evaluate(&context);
        let per_user = usize::from(context.user.mfa_state != mfa_policy::PerUserMfa::Disabled);
        prop_assert_eq!(evaluation.trace.entries().count(), engine.len() + per_user);
        serde_json::to_string(&evaluation).unwrap();
    }
}
