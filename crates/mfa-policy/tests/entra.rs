//! Import of Microsoft Entra conditional access exports (`tests/data/entra/`, each fixture citing
//! the Microsoft page it follows): each imports, evaluates as the Entra policy would, and the
//! report lists exactly what was not mapped; malformed input is an error, never a panic.
#![allow(clippy::unwrap_used, reason = "tests may unwrap (STYLE.md)")]

use mfa_core::{Evidence, Method, UnixTime};
use mfa_policy::entra::{self, Consequence, ImportReport, MAX_ENTRA_INPUT_LEN};
use mfa_policy::{
    ClientApp, Decision, Engine, EnrolledMethod, Grant, Platform, PolicyError, PolicyOutcome,
    PolicySet, PolicyState, RiskLevel, SignInContext, SignInContextBuilder, SignInFrequency,
    UserKind,
};

const NOW: u64 = 1_800_000_000;
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const BREAK_GLASS: &str = "b5c1f1a2-0000-4000-8000-00000000b001";
const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
const EXO_GROUP: &str = "ba8e7ded-8b0f-4836-ba06-8ff1ecc5c8ba";

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/entra/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn import(
    policies: &str,
    locations: Option<&str>,
    strengths: Option<&str>,
) -> (Engine, PolicySet, ImportReport) {
    let locations = locations.map(data);
    let strengths = strengths.map(data);
    let (set, report) =
        entra::import(&data(policies), locations.as_deref(), strengths.as_deref()).unwrap();
    (Engine::new(set.clone()).unwrap(), set, report)
}

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn ago(secs: u64) -> UnixTime {
    UnixTime::from_secs(NOW - secs)
}

fn user(id: &str, app: &str) -> SignInContextBuilder {
    SignInContext::builder(id, app, now())
        .client_app(ClientApp::Browser)
        .enrolled(EnrolledMethod::new(Method::Totp, "app"))
        .evidence(Evidence::new(Method::Password, now(), "password"))
}

/// (field, consequence) of every unmapped value of one policy, in order.
fn unmapped(report: &ImportReport, policy: &str) -> Vec<(String, Consequence)> {
    report
        .policy(policy)
        .unwrap()
        .unmapped
        .iter()
        .map(|u| (u.field.clone(), u.consequence))
        .collect()
}

fn step_up_policy<'e>(decision: &'e Decision<'e>) -> &'e str {
    match decision {
        Decision::StepUp(step_up) => step_up.policy,
        other => panic!("expected a step-up, got {other:?}"),
    }
}

fn block_policy<'e>(decision: &'e Decision<'e>) -> &'e str {
    match decision {
        Decision::Block { policy, .. } => policy,
        other => panic!("expected a block, got {other:?}"),
    }
}

#[test]
fn require_mfa_for_admins_by_role() {
    let (engine, set, report) = import("require-mfa-admins.json", None, None);
    assert!(report.is_complete(), "{report:#?}");
    let name = "Require multifactor authentication for admins";
    assert_eq!(set.policies.len(), 1);
    assert_eq!(set.policies[0].state, PolicyState::On);
    assert_eq!(set.policies[0].grant, Grant::require("mfa"));

    let admin = user("alice", "portal").role(GLOBAL_ADMIN).build();
    assert_eq!(step_up_policy(&engine.evaluate(&admin).decision), name);
    let mut with_code = admin.clone();
    with_code.add_evidence(Evidence::new(Method::Totp, now(), "app"));
    assert!(engine.evaluate(&with_code).decision.is_allow());
    // Not an admin; the excluded emergency-access account.
    assert!(
        engine
            .evaluate(&user("bob", "portal").build())
            .decision
            .is_allow()
    );
    let break_glass = user(BREAK_GLASS, "portal").role(GLOBAL_ADMIN).build();
    assert!(engine.evaluate(&break_glass).decision.is_allow());
}

#[test]
fn utf8_bom_and_utf16le_copies_import_the_same() {
    let plain = entra::import(&data("require-mfa-admins.json"), None, None).unwrap();
    let bom = entra::import(&data("require-mfa-admins.utf8bom.json"), None, None).unwrap();
    assert_eq!(plain, bom);
    assert!(data("block-legacy-auth.utf16le.json").starts_with(&[0xFF, 0xFE]));
    let plain = entra::import(&data("block-legacy-auth.json"), None, None).unwrap();
    let utf16 = entra::import(&data("block-legacy-auth.utf16le.json"), None, None).unwrap();
    assert_eq!(plain, utf16);
    // Big-endian too.
    let text = String::from_utf8(data("block-legacy-auth.json")).unwrap();
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        be.extend(unit.to_be_bytes());
    }
    assert_eq!(entra::import(&be, None, None).unwrap(), plain);
}

#[test]
fn block_legacy_authentication_by_client_app_type() {
    let (engine, _, report) = import("block-legacy-auth.utf16le.json", None, None);
    assert!(report.is_complete(), "{report:#?}");
    let imap = user("carol", "mail").client_app(ClientApp::Legacy).build();
    assert_eq!(
        block_policy(&engine.evaluate(&imap).decision),
        "Block legacy authentication"
    );
    let with_app_password = user("carol", "mail")
        .client_app(ClientApp::Legacy)
        .app_password(true)
        .build();
    assert!(matches!(
        engine.evaluate(&with_app_password).decision,
        Decision::Block { .. }
    ));
    for client in [ClientApp::Browser, ClientApp::MobileDesktop] {
        let modern = user("carol", "mail").client_app(client).build();
        assert!(engine.evaluate(&modern).decision.is_allow(), "{client:?}");
    }
}

#[test]
fn mfa_outside_trusted_locations_with_named_locations() {
    let (engine, set, report) = import(
        "mfa-outside-trusted.json",
        Some("named-locations.json"),
        None,
    );
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(set.locations.len(), 2);
    assert!(set.locations[0].trusted);
    assert_eq!(set.locations[0].cidrs[0].to_string(), "12.34.220.0/22");
    assert_eq!(
        report.locations[1].name.as_deref(),
        Some("1c4427fd-0885-4a3d-8b23-09a899ffa959")
    );

    let member = |ip: &str, country: Option<&str>| {
        let mut builder = user("dave", EXO).group(EXO_GROUP).ip(ip.parse().unwrap());
        if let Some(code) = country {
            builder = builder.country(code);
        }
        builder.build()
    };
    // In the office (a trusted range, host bits of the Graph example normalized): no MFA.
    assert!(
        engine
            .evaluate(&member("12.34.222.5", Some("CA")))
            .decision
            .is_allow()
    );
    assert!(
        engine
            .evaluate(&member("2001:0:9d38:90d7::1", Some("CA")))
            .decision
            .is_allow()
    );
    // Elsewhere: MFA.
    assert_eq!(
        step_up_policy(
            &engine
                .evaluate(&member("198.51.100.7", Some("FR")))
                .decision
        ),
        "Access to EXO requires MFA"
    );
    // From the blocked regions, or an unknown country: blocked, even in the office.
    for country in [Some("US"), Some("gb"), None] {
        assert_eq!(
            block_policy(&engine.evaluate(&member("12.34.222.5", country)).decision),
            "Block access to EXO non-trusted regions",
            "{country:?}"
        );
    }
    // Other applications and people outside the group are not concerned.
    let other_app = user("dave", "sharepoint")
        .group(EXO_GROUP)
        .country("US")
        .build();
    assert!(engine.evaluate(&other_app).decision.is_allow());
}

#[test]
fn unknown_named_locations_widen_and_are_reported() {
    let (engine, _, report) = import("mfa-outside-trusted.json", None, None);
    assert!(unmapped(&report, "Access to EXO requires MFA").is_empty());
    assert_eq!(
        unmapped(&report, "Block access to EXO non-trusted regions"),
        [(
            "conditions.locations.includeLocations".to_owned(),
            Consequence::Widened
        )]
    );
    // Fail closed: without the locations file the block applies everywhere.
    let member = user("dave", EXO).group(EXO_GROUP).country("FR").build();
    assert!(matches!(
        engine.evaluate(&member).decision,
        Decision::Block { .. }
    ));
}

#[test]
fn high_sign_in_risk_blocks() {
    let (engine, _, report) = import("block-high-sign-in-risk.json", None, None);
    assert!(report.is_complete(), "{report:#?}");
    let risky = user("erin", "mail").sign_in_risk(RiskLevel::High).build();
    assert_eq!(
        block_policy(&engine.evaluate(&risky).decision),
        "Block high sign-in risk"
    );
    let medium = user("erin", "mail").sign_in_risk(RiskLevel::Medium).build();
    assert!(engine.evaluate(&medium).decision.is_allow());
    let break_glass = user(BREAK_GLASS, "mail")
        .sign_in_risk(RiskLevel::High)
        .build();
    assert!(engine.evaluate(&break_glass).decision.is_allow());
}

#[test]
fn phishing_resistant_strength_for_admins_by_builtin_id() {
    let (engine, set, report) = import("phishing-resistant-admins.json", None, None);
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(
        set.policies[0].grant,
        Grant::require("phishing_resistant_mfa")
    );
    let mut admin = user("frank", "portal").role(GLOBAL_ADMIN).build();
    admin.add_evidence(Evidence::new(Method::Totp, now(), "app"));
    let evaluation = engine.evaluate(&admin);
    let Decision::StepUp(step_up) = &evaluation.decision else {
        panic!("{:?}", evaluation.decision)
    };
    assert_eq!(step_up.strength, "phishing_resistant_mfa");
    admin.add_evidence(Evidence::new(Method::WebAuthn, now(), "key").user_verified(true));
    assert!(engine.evaluate(&admin).decision.is_allow());
}

#[test]
fn custom_strength_from_the_strengths_file() {
    let (engine, set, report) = import("custom-strength.json", None, Some("strengths.json"));
    let policy = "Finance app requires key or app";
    assert!(unmapped(&report, policy).is_empty());
    assert_eq!(set.policies[0].grant, Grant::require("Key or app"));
    // The strengths: the built-in one is ours, the x509 combination has no method here.
    let strength = |id: &str| {
        report
            .strengths
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .unmapped
            .iter()
            .map(|u| (u.value.clone(), u.consequence))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strength("00000000-0000-0000-0000-000000000002"),
        [(
            "\"00000000-0000-0000-0000-000000000002\"".to_owned(),
            Consequence::Approximated
        )]
    );
    assert_eq!(
        strength("5b0a8c3e-2f3e-4b8e-9c7d-00000000c001"),
        [(
            "\"x509CertificateMultiFactor\"".to_owned(),
            Consequence::FewerAlternatives
        )]
    );
    assert!(strength("5b0a8c3e-2f3e-4b8e-9c7d-00000000c002").is_empty());
    let key_or_app = engine.strength("Key or app").unwrap();
    assert_eq!(key_or_app.combinations.len(), 4);
    // password + hardwareOath is HOTP, or a hardware-backed TOTP.
    assert_eq!(
        engine
            .strength("Contoso authentication level")
            .unwrap()
            .combinations
            .len(),
        3
    );

    let app = "c7b0b1a5-1111-4f4f-9a9a-0000000f1a00";
    let mut sms = user("gina", app).build();
    sms.add_evidence(Evidence::new(Method::Sms, now(), "phone"));
    assert_eq!(step_up_policy(&engine.evaluate(&sms).decision), policy);
    let mut totp = user("gina", app).build();
    totp.add_evidence(Evidence::new(Method::Totp, now(), "app"));
    assert!(engine.evaluate(&totp).decision.is_allow());
    let mut push = user("gina", app).build();
    push.add_evidence(Evidence::new(Method::Push, now(), "phone"));
    assert!(
        !engine.evaluate(&push).decision.is_allow(),
        "push without number matching"
    );
    push.add_evidence(Evidence::new(Method::Push, now(), "phone").number_matched(true));
    assert!(engine.evaluate(&push).decision.is_allow());
    let tap = SignInContext::builder("gina", app, now())
        .evidence(Evidence::new(Method::TemporaryAccessPass, now(), "tap"))
        .build();
    assert!(engine.evaluate(&tap).decision.is_allow());
}

#[test]
fn unknown_strength_fails_closed() {
    let (engine, set, report) = import("custom-strength.json", None, None);
    let policy = "Finance app requires key or app";
    assert_eq!(
        unmapped(&report, policy),
        [(
            "grantControls.authenticationStrength".to_owned(),
            Consequence::Blocked
        )]
    );
    assert_eq!(set.policies[0].grant, Grant::block());
    let mut signed_in = user("gina", "c7b0b1a5-1111-4f4f-9a9a-0000000f1a00").build();
    signed_in.add_evidence(Evidence::new(Method::Totp, now(), "app"));
    assert_eq!(block_policy(&engine.evaluate(&signed_in).decision), policy);
}

#[test]
fn sign_in_frequency_and_persistent_browser_never() {
    let (engine, set, report) = import("sign-in-frequency.json", None, None);
    assert!(report.is_complete(), "{report:#?}");
    let policy = &set.policies[0];
    assert_eq!(
        policy.session.sign_in_frequency,
        Some(SignInFrequency::Hours(12))
    );
    assert_eq!(policy.session.remember_device_days, None);
    assert!(policy.assignments.users.exclude.guests);

    let mut stale = user("hank", "mail").build();
    stale.add_evidence(Evidence::new(Method::Totp, ago(13 * 3600), "app"));
    assert!(matches!(
        engine.evaluate(&stale).decision,
        Decision::StepUp(_)
    ));
    let mut fresh = user("hank", "mail").build();
    fresh.add_evidence(Evidence::new(Method::Totp, ago(3600), "app"));
    match engine.evaluate(&fresh).decision {
        Decision::Allow { session } => {
            assert_eq!(session.sign_in_frequency, Some(SignInFrequency::Hours(12)));
        }
        other => panic!("{other:?}"),
    }
    let guest = user("ivy", "mail").user_kind(UserKind::Guest).build();
    assert!(engine.evaluate(&guest).decision.is_allow());
}

#[test]
fn report_only_policy_is_reported_not_enforced() {
    let (engine, set, report) = import("report-only.json", None, None);
    assert!(report.is_complete(), "{report:#?}");
    let name = "Require compliant device (report-only)";
    assert_eq!(set.policies[0].state, PolicyState::ReportOnly);
    assert_eq!(report.policy(name).unwrap().state, PolicyState::ReportOnly);
    let windows = user("jack", "mail").platform(Platform::Windows).build();
    let evaluation = engine.evaluate(&windows);
    assert!(evaluation.decision.is_allow());
    let entry = evaluation.trace.entry(name).unwrap();
    assert_eq!(entry.state, PolicyState::ReportOnly);
    assert!(entry.outcome.applied(), "{:?}", entry.outcome);
    assert!(!matches!(entry.outcome, PolicyOutcome::Satisfied(_)));
    let compliant = user("jack", "mail")
        .platform(Platform::Windows)
        .compliant(true)
        .build();
    let evaluation = engine.evaluate(&compliant);
    assert!(matches!(
        evaluation.trace.entry(name).unwrap().outcome,
        PolicyOutcome::Satisfied(_)
    ));
    let linux = user("jack", "mail").platform(Platform::Linux).build();
    let evaluation = engine.evaluate(&linux);
    assert!(!evaluation.trace.entry(name).unwrap().outcome.applied());
}

#[test]
fn terms_of_use_is_unmappable_and_fails_closed() {
    let (engine, set, report) = import("terms-of-use.json", None, None);
    let name = "Guests accept terms of use";
    assert_eq!(
        unmapped(&report, name),
        [
            (
                "conditions.insiderRiskLevels".to_owned(),
                Consequence::Widened
            ),
            ("grantControls.termsOfUse".to_owned(), Consequence::Blocked),
            (
                "sessionControls.persistentBrowser".to_owned(),
                Consequence::Ignored
            ),
            (
                "sessionControls.applicationEnforcedRestrictions".to_owned(),
                Consequence::Ignored
            ),
        ]
    );
    assert_eq!(report.unmapped_count(), 4);
    assert_eq!(set.policies[0].grant, Grant::block());
    let mut guest = user("kim", "mail").user_kind(UserKind::Guest).build();
    guest.add_evidence(Evidence::new(Method::Totp, now(), "app"));
    assert_eq!(block_policy(&engine.evaluate(&guest).decision), name);
    assert!(
        engine
            .evaluate(&user("lee", "mail").build())
            .decision
            .is_allow()
    );
}

#[test]
fn or_with_an_unmappable_alternative_keeps_the_others() {
    let policy = br#"{"displayName": "MFA or app protection", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa", "approvedApplication", "compliantApplication"]}}"#;
    let (set, report) = entra::import(policy, None, None).unwrap();
    assert_eq!(set.policies[0].grant, Grant::require("mfa"));
    let consequences: Vec<_> = report.policies[0]
        .unmapped
        .iter()
        .map(|u| u.consequence)
        .collect();
    assert_eq!(consequences, [Consequence::FewerAlternatives; 2]);
}

#[test]
fn user_actions_guests_none_and_literal_ids() {
    let policy = br#"[{"displayName": "Register security info", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": ["GuestsOrExternalUsers"], "excludeRoles": ["r1"]},
                       "applications": {"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]},
                       "clientAppTypes": ["all"], "signInRiskLevels": ["hidden"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
      {"displayName": "Nobody", "state": "disabled",
        "conditions": {"users": {"includeUsers": ["None"]}, "applications": {"includeApplications": ["None"],
                       "includeAuthenticationContextClassReferences": ["c1"]}}}]"#;
    let (set, report) = entra::import(policy, None, None).unwrap();
    let admin_portals = br#"{"displayName": "Admin portals", "state": "enabled",
        "conditions": {"users": {"includeRoles": ["r1"]}, "applications": {"includeApplications": ["MicrosoftAdminPortals"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}"#;
    let (portals, portals_report) = entra::import(admin_portals, None, None).unwrap();
    assert_eq!(
        portals.policies[0].assignments.applications.include,
        ["all"]
    );
    assert_eq!(
        unmapped(&portals_report, "Admin portals"),
        [(
            "conditions.applications.includeApplications".to_owned(),
            Consequence::Widened
        )]
    );
    let register = &set.policies[0];
    assert_eq!(
        register.assignments.user_actions,
        [mfa_policy::UserAction::RegisterSecurityInfo]
    );
    assert!(register.assignments.users.exclude.guests);
    assert!(
        register.assignments.sign_in_risk.is_empty(),
        "hidden widens"
    );
    assert_eq!(
        unmapped(&report, "Register security info"),
        [(
            "conditions.signInRiskLevels".to_owned(),
            Consequence::Widened
        )]
    );
    let nobody = &set.policies[1];
    assert_eq!(nobody.state, PolicyState::Off);
    assert!(!nobody.assignments.users.include.all);
    assert_eq!(
        nobody.assignments.applications.include,
        ["authenticationContext:c1"]
    );
    assert_eq!(
        unmapped(&report, "Nobody"),
        [(
            "conditions.applications.includeAuthenticationContextClassReferences".to_owned(),
            Consequence::Literal
        )]
    );
}

#[test]
fn powershell_pascal_case_export_with_additional_properties() {
    let policies = br#"[{"Id": "p1", "DisplayName": "PS export", "State": "enabled",
        "Conditions": {"Users": {"IncludeUsers": ["All"]}, "Applications": {"IncludeApplications": ["All"]},
                       "ClientAppTypes": ["all"], "Locations": {"IncludeLocations": ["All"], "ExcludeLocations": ["loc1"]}},
        "GrantControls": {"Operator": "OR", "BuiltInControls": ["mfa"]}, "SessionControls": null,
        "AdditionalProperties": {}}]"#;
    let locations = br##"[{"Id": "loc1", "DisplayName": "HQ", "CreatedDateTime": null,
        "AdditionalProperties": {"@odata.type": "#microsoft.graph.ipNamedLocation", "isTrusted": true,
                                 "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"}]}}]"##;
    let (set, report) = entra::import(policies, Some(locations), None).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(set.locations[0].cidrs.len(), 1);
    assert_eq!(set.policies[0].grant, Grant::require("mfa"));
    // A PowerShell export at the default depth: nested objects became type names.
    let shallow = br#"{"DisplayName": "x", "Conditions": "Microsoft.Graph.PowerShell.Models.MicrosoftGraphConditionalAccessConditionSet"}"#;
    let error = entra::import(shallow, None, None).unwrap_err();
    assert!(
        error.to_string().contains("ConvertTo-Json -Depth"),
        "{error}"
    );
}

#[test]
fn shapes_are_detected() {
    for name in [
        "require-mfa-admins.json",
        "require-mfa-admins.utf8bom.json",
        "block-legacy-auth.json",
        "block-legacy-auth.utf16le.json",
        "mfa-outside-trusted.json",
        "terms-of-use.json",
    ] {
        assert!(entra::looks_like_policies(&data(name)), "{name}");
    }
    assert!(!entra::looks_like_policies(
        br#"{"policies": [{"name": "x"}]}"#
    ));
    assert!(!entra::looks_like_policies(&data("named-locations.json")));
    assert!(!entra::looks_like_policies(b"not json"));
}

#[test]
fn malformed_inputs_are_errors_not_panics() {
    let good = data("require-mfa-admins.json");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("a number", b"42".to_vec()),
        ("items not objects", b"[1, 2]".to_vec()),
        ("value not an array", br#"{"value": {}}"#.to_vec()),
        (
            "includeUsers a number",
            br#"{"displayName": "x", "conditions": {"users": {"includeUsers": 5}}}"#.to_vec(),
        ),
        (
            "includeUsers of numbers",
            br#"{"displayName": "x", "conditions": {"users": {"includeUsers": [5]}}}"#.to_vec(),
        ),
        (
            "state a bool",
            br#"{"displayName": "x", "state": true}"#.to_vec(),
        ),
        (
            "operator XOR",
            br#"{"displayName": "x", "grantControls": {"operator": "XOR"}}"#.to_vec(),
        ),
        (
            "frequency value a string",
            br#"{"displayName": "x", "sessionControls": {"signInFrequency": {"isEnabled": true, "value": "12"}}}"#
                .to_vec(),
        ),
        (
            "deep nesting",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        ("UTF-16 without a BOM", "{}".encode_utf16().flat_map(u16::to_le_bytes).collect()),
        ("UTF-32 LE", vec![0xFF, 0xFE, 0, 0, b'[', 0, 0, 0, b']', 0, 0, 0]),
        ("UTF-32 BE", vec![0, 0, 0xFE, 0xFF, 0, 0, 0, b'[']),
        ("Latin-1", b"[{\"displayName\": \"caf\xE9\"}]".to_vec()),
        ("odd UTF-16", vec![0xFF, 0xFE, b'[', 0, b']']),
        ("lone surrogate", vec![0xFF, 0xFE, 0x00, 0xD8, b']', 0]),
        ("too large", vec![b' '; MAX_ENTRA_INPUT_LEN + 1]),
    ];
    for (what, bytes) in &cases {
        let error = entra::import(bytes, None, None).expect_err(what);
        assert!(!error.to_string().is_empty());
        match *what {
            "deep nesting" => assert!(matches!(error, PolicyError::TooDeep { .. }), "{error}"),
            "too large" => assert!(matches!(error, PolicyError::TooLarge { .. }), "{error}"),
            _ => {}
        }
        // Bytes that are not JSON at all fail as a locations or strengths file too.
        if matches!(
            error,
            PolicyError::Syntax { .. } | PolicyError::TooDeep { .. } | PolicyError::TooLarge { .. }
        ) {
            assert!(entra::import(b"[]", Some(bytes), None).is_err(), "{what}");
            assert!(entra::import(b"[]", None, Some(bytes)).is_err(), "{what}");
        }
    }
    let bad_cidr = br##"[{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "l", "ipRanges": [{"cidrAddress": "10.0.0.300/8"}]}]"##;
    assert!(matches!(
        entra::import(b"[]", Some(bad_cidr), None),
        Err(PolicyError::InvalidCidr { .. })
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep (the fuzz target `policy_entra` goes further): every prefix of
    // every fixture, and byte flips.
    for name in [
        "terms-of-use.json",
        "named-locations.json",
        "strengths.json",
    ] {
        let bytes = data(name);
        for end in (0..bytes.len()).step_by(7) {
            mfa_policy::fuzz_entra(&bytes[..end]);
        }
        for i in (0..bytes.len()).step_by(13) {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x20;
            mfa_policy::fuzz_entra(&flipped);
        }
    }
}

#[test]
fn unknown_grant_members_fail_closed_and_item_counts_are_bounded() {
    let policy = br#"{"displayName": "future", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}},
        "grantControls": {"operator": "AND", "builtInControls": ["mfa"], "riskRemediation": {"isEnabled": true}}}"#;
    let (set, report) = entra::import(policy, None, None).unwrap();
    assert_eq!(set.policies[0].grant, Grant::block());
    assert_eq!(
        unmapped(&report, "future"),
        [(
            "grantControls.riskRemediation".to_owned(),
            Consequence::Blocked
        )]
    );
    let many = format!("[{}{{}}]", "{},".repeat(entra::MAX_ENTRA_ITEMS));
    assert!(matches!(
        entra::import(many.as_bytes(), None, None),
        Err(PolicyError::Invalid { .. })
    ));
}

#[test]
fn workload_identity_policies_apply_to_no_user() {
    let policy = br#"{"displayName": "Block risky service principals", "state": "enabled",
        "conditions": {"users": null, "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]},
                       "servicePrincipalRiskLevels": ["high"], "applications": {"includeApplications": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}"#;
    let (set, report) = entra::import(policy, None, None).unwrap();
    let engine = Engine::new(set).unwrap();
    assert!(
        engine
            .evaluate(&user("mo", "mail").build())
            .decision
            .is_allow()
    );
    assert_eq!(
        unmapped(&report, "Block risky service principals"),
        [
            (
                "conditions.clientApplications".to_owned(),
                Consequence::Ignored
            ),
            (
                "conditions.servicePrincipalRiskLevels".to_owned(),
                Consequence::Widened
            ),
        ]
    );
}
