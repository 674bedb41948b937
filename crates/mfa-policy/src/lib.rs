#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod cidr;
mod conditions;
mod context;
mod decision;
mod engine;
mod error;
mod format;
mod policy;
mod strength;

pub use cidr::Cidr;
pub use context::{
    ClientApp, DeviceInfo, EnrolledMethod, MethodStatus, PerUserMfa, Platform, RiskLevel,
    SignInContext, SignInContextBuilder, UserAction, UserInfo, UserKind,
};
pub use decision::{
    BlockReason, ControlSet, Decision, Evaluation, EvidenceRefs, PolicyOutcome, Satisfaction,
    SessionOutcome, Shortfall, StepUp, StrengthMet, Trace, TraceEntry,
};
pub use engine::{Engine, MAX_EVIDENCE, PER_USER_MFA_POLICY};
pub use error::{Format, PolicyError};
pub use format::{MAX_INPUT_LEN, MAX_NESTING};
pub use policy::{
    ALL_APPLICATIONS, ApplicationCondition, Assignment, Assignments, ClientAppCondition,
    ClientAppKind, Control, DeviceCondition, DeviceState, EVERY_TIME_TOLERANCE, Grant,
    LocationCondition, LocationRef, NamedLocation, Operator, PlatformCondition, Policy, PolicySet,
    PolicyState, SessionControls, SignInFrequency, UserCondition, UserSet,
};
pub use strength::{
    AuthenticationStrength, BUILTIN_STRENGTHS, Combination, FactorRequirement, MAX_COMBINATION_LEN,
    NistAal, nist_permits,
};

fn fuzz_round_trip(set: PolicySet) {
    // What parses serializes back to JSON that parses to the same set, and compiles or errs
    // without panicking.
    if let Ok(json) = serde_json::to_string(&set) {
        match PolicySet::from_json(&json) {
            Ok(again) => assert_eq!(again, set, "JSON round trip changed the policy set"),
            Err(error) => panic!("re-reading serialized policies failed: {error}"),
        }
    }
    let _ = Engine::new(set);
}

/// Fuzz entry point (`fuzz/fuzz_targets/policy_native_toml.rs`): reading TOML never panics, and
/// what parses round-trips through JSON.
#[doc(hidden)]
pub fn fuzz_native_toml(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = PolicySet::from_toml(text) {
        fuzz_round_trip(set);
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/policy_native_json.rs`): reading JSON never panics, and
/// what parses round-trips.
#[doc(hidden)]
pub fn fuzz_native_json(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = PolicySet::from_json(text) {
        fuzz_round_trip(set);
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/policy_eval.rs`): a context built from arbitrary bytes
/// (or read as JSON) against a fixed policy set: evaluation never panics, the trace lists every
/// policy, and one more fresh piece of evidence never turns an allow into anything else.
#[doc(hidden)]
pub fn fuzz_eval(data: &[u8]) {
    use std::sync::OnceLock;
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    let Some(engine) = ENGINE
        .get_or_init(|| Engine::from_toml(fuzz_support::POLICIES).ok())
        .as_ref()
    else {
        panic!("the fuzz policy set does not compile");
    };
    let context = match core::str::from_utf8(data)
        .ok()
        .map(SignInContext::from_json)
    {
        Some(Ok(context)) => context,
        _ => fuzz_support::context_from_bytes(data),
    };
    let evaluation = engine.evaluate(&context);
    let per_user = usize::from(context.user.mfa_state != PerUserMfa::Disabled);
    assert_eq!(
        evaluation.trace.entries().count(),
        engine.len().saturating_add(per_user)
    );
    let _ = serde_json::to_string(&evaluation);
    if evaluation.decision.is_allow() && context.evidence.len() < MAX_EVIDENCE {
        let mut more = context.clone();
        more.add_evidence(mfa_core::Evidence::new(
            mfa_core::Method::Totp,
            context.now,
            "fuzz-extra",
        ));
        assert!(
            engine.evaluate(&more).decision.is_allow(),
            "evidence turned an allow around"
        );
    }
}

#[doc(hidden)]
pub mod fuzz_support {
    //! The fixed policy set and byte-driven contexts of [`fuzz_eval`](crate::fuzz_eval).

    use mfa_core::{AuthenticatorProperties, Evidence, Method, UnixTime};

    use crate::context::{
        ClientApp, EnrolledMethod, MethodStatus, PerUserMfa, Platform, RiskLevel, SignInContext,
        UserAction, UserKind,
    };

    /// A policy set touching every assignment, grant and session control.
    pub const POLICIES: &str = r#"
[[locations]]
name = "office"
trusted = true
cidrs = ["10.0.0.0/8", "2001:db8::/32"]
[[locations]]
name = "blocked_countries"
countries = ["KP"]
include_unknown_country = true

[[strengths]]
name = "otp_or_key"
nist_aal = 2
combinations = [[{ method = "webauthn", user_verified = true }], [{ method = "password" }, { method = "totp" }]]

[[policies]]
name = "mfa outside the office"
assignments.locations = { include = ["any"], exclude = ["all_trusted"] }
grant = { authentication_strength = "mfa" }
[[policies]]
name = "admins phishing-resistant"
assignments.users = { include = { roles = ["admin"] }, exclude = { users = ["breakglass"] } }
grant = { authentication_strength = "phishing_resistant_mfa" }
session = { sign_in_frequency = "12h" }
[[policies]]
name = "block risky"
assignments.sign_in_risk = ["high"]
grant = { block = true }
[[policies]]
name = "aal2 for payroll"
assignments.applications = { include = ["payroll"] }
grant = { authentication_strength = "aal2" }
session = { sign_in_frequency = "every_time", remember_device_days = 7 }
[[policies]]
name = "legacy blocked"
assignments.client_apps = { include = ["legacy"], exclude = ["app_password"] }
grant = { block = true }
[[policies]]
name = "compliant or key"
state = "report_only"
assignments = { platforms = { include = ["windows", "macos"] }, devices = { exclude = ["compliant"] } }
grant = { authentication_strength = "otp_or_key", controls = ["compliant_device"], operator = "or" }
[[policies]]
name = "security info"
assignments = { user_actions = ["register_security_info", "become_admin"], users = { include = { guests = true, groups = ["g1"] } } }
grant = { authentication_strength = "aal3", controls = ["managed_device"] }
[[policies]]
name = "off"
state = "off"
grant = { block = true }
[[policies]]
name = "user risk"
assignments = { user_risk = ["medium", "high"], locations = { include = ["blocked_countries"] } }
grant = { authentication_strength = "passwordless_mfa", controls = ["compliant_device", "managed_device"] }
"#;

    fn pick<T: Copy>(byte: u8, options: &[T]) -> Option<T> {
        let len = u8::try_from(options.len()).ok()?;
        options.get(usize::from(byte.checked_rem(len)?)).copied()
    }

    /// Builds a context from bytes: every byte chooses one field (missing bytes read as zero),
    /// with at most 15 pieces of evidence or enrolled methods.
    #[must_use]
    pub fn context_from_bytes(data: &[u8]) -> SignInContext {
        let mut bytes = data.iter().copied();
        let mut next = || bytes.next().unwrap_or(0);
        let now = UnixTime::from_secs(1_800_000_000);
        let user = pick(next(), &["alice", "bob", "breakglass"]).unwrap_or("alice");
        let app = pick(next(), &["mail", "payroll", "wiki"]).unwrap_or("mail");
        let mut builder = SignInContext::builder(user, app, now)
            .action(pick(next(), &UserAction::ALL).unwrap_or_default())
            .client_app(
                pick(
                    next(),
                    &[
                        ClientApp::Browser,
                        ClientApp::MobileDesktop,
                        ClientApp::Legacy,
                    ],
                )
                .unwrap_or_default(),
            )
            .app_password(next() & 1 == 1)
            .user_kind(if next() & 1 == 1 {
                UserKind::Guest
            } else {
                UserKind::Member
            })
            .mfa_state(
                pick(
                    next(),
                    &[
                        PerUserMfa::Disabled,
                        PerUserMfa::Enabled,
                        PerUserMfa::Enforced,
                    ],
                )
                .unwrap_or_default(),
            )
            .sign_in_risk(
                pick(
                    next(),
                    &[
                        RiskLevel::None,
                        RiskLevel::Low,
                        RiskLevel::Medium,
                        RiskLevel::High,
                    ],
                )
                .unwrap_or_default(),
            )
            .user_risk(
                pick(
                    next(),
                    &[
                        RiskLevel::None,
                        RiskLevel::Low,
                        RiskLevel::Medium,
                        RiskLevel::High,
                    ],
                )
                .unwrap_or_default(),
            )
            .managed(next() & 1 == 1)
            .compliant(next() & 1 == 1);
        let flags = next();
        if flags & 1 == 1 {
            builder = builder.role("admin");
        }
        if flags & 2 == 2 {
            builder = builder.group("g1");
        }
        if flags & 4 == 4 {
            builder = builder.ip(std::net::IpAddr::from([10, next(), next(), next()]));
        } else if flags & 8 == 8 {
            builder = builder.ip(std::net::IpAddr::from([203, 0, 113, next()]));
        }
        if flags & 16 == 16 {
            builder = builder.country(pick(next(), &["NL", "kp", "US"]).unwrap_or("NL"));
        }
        if flags & 32 == 32 {
            builder = builder.remembered_until(UnixTime::from_secs(
                1_800_000_000_u64.saturating_add(u64::from(next()).saturating_mul(20_000)),
            ));
        }
        if let Some(platform) = pick(
            next(),
            &[
                Platform::Windows,
                Platform::MacOs,
                Platform::Linux,
                Platform::IOs,
                Platform::Android,
                Platform::Other,
            ],
        ) {
            builder = builder.platform(platform);
        }
        let pieces = next() % 16;
        for _ in 0..pieces {
            let Some(method) = pick(next(), &Method::ALL) else {
                break;
            };
            let property_bits = next();
            let properties = AuthenticatorProperties {
                phishing_resistant: property_bits & 1 == 1,
                user_verified: property_bits & 2 == 2,
                device_bound: property_bits & 4 == 4,
                hardware_backed: property_bits & 8 == 8,
                restricted: property_bits & 16 == 16,
                number_matched: property_bits & 32 == 32,
                number_match_meets_rev4: property_bits & 128 == 128,
            };
            let age = u64::from(next()).saturating_mul(600);
            if property_bits & 64 == 64 {
                let status = pick(
                    next(),
                    &[
                        MethodStatus::Usable,
                        MethodStatus::Throttled,
                        MethodStatus::Locked,
                    ],
                )
                .unwrap_or_default();
                builder = builder.enrolled(
                    EnrolledMethod::new(method, "enrolled")
                        .with_properties(properties)
                        .with_status(status),
                );
            } else {
                let at = UnixTime::from_secs(1_800_000_000_u64.saturating_sub(age));
                builder =
                    builder.evidence(Evidence::new(method, at, "cred").with_properties(properties));
            }
        }
        builder.build()
    }
}

pub mod entra;

/// Fuzz entry point (`fuzz/fuzz_targets/policy_entra.rs`): importing Entra exports never panics
/// (the same bytes are tried as policies alone, and as policies, named locations and strengths
/// at once), what imports compiles, and round-trips through the native JSON format.
#[doc(hidden)]
pub fn fuzz_entra(data: &[u8]) {
    for (locations, strengths) in [(None, None), (Some(data), Some(data))] {
        if let Ok((set, report)) = entra::import(data, locations, strengths) {
            assert!(
                Engine::new(set.clone()).is_ok(),
                "an imported set does not compile"
            );
            assert_eq!(report.policies.len(), set.policies.len());
            let _ = serde_json::to_string(&report);
            fuzz_round_trip(set);
        }
    }
    let _ = entra::looks_like_policies(data);
}
