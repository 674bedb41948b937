//! The native format: TOML and JSON agree, unknown fields are refused with line and field,
//! references are resolved, bounds hold; the same model builds in code.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use mfa_core::{Evidence, Method, UnixTime};
use mfa_policy::{
    Assignments, AuthenticationStrength, Cidr, Combination, Control, Engine, FactorRequirement,
    Format, Grant, LocationCondition, LocationRef, MAX_INPUT_LEN, NamedLocation, NistAal, Policy,
    PolicyError, PolicySet, SessionControls, SignInContext, SignInFrequency,
};

const TOML: &str = r#"
[[locations]]
name = "office"
trusted = true
cidrs = ["203.0.113.0/24"]

[[strengths]]
name = "key_or_app"
nist_aal = 2
combinations = [[{ method = "webauthn", user_verified = true }], [{ method = "password" }, { method = "totp" }]]

[[policies]]
name = "outside"
assignments.locations = { include = ["any"], exclude = ["all_trusted"] }
grant = { authentication_strength = "key_or_app", controls = ["compliant_device"], operator = "or" }
session = { sign_in_frequency = "12h", remember_device_days = 7 }
"#;

fn in_code() -> PolicySet {
    PolicySet::new()
        .location(
            NamedLocation::new("office")
                .trusted()
                .cidr("203.0.113.0/24".parse::<Cidr>().unwrap()),
        )
        .strength(
            AuthenticationStrength::new(
                "key_or_app",
                [
                    Combination::of([FactorRequirement::method(Method::WebAuthn).user_verified()]),
                    Combination::of([
                        FactorRequirement::method(Method::Password),
                        FactorRequirement::method(Method::Totp),
                    ]),
                ],
            )
            .with_nist_aal(NistAal::Aal2),
        )
        .policy(
            Policy::new("outside")
                .assignments({
                    let mut assignments = Assignments::default();
                    assignments.locations = {
                        let mut locations = LocationCondition::default();
                        locations.include = vec![LocationRef::Any];
                        locations.exclude = vec![LocationRef::AllTrusted];
                        locations
                    };
                    assignments
                })
                .grant(
                    Grant::require("key_or_app")
                        .control(Control::CompliantDevice)
                        .any_of(),
                )
                .session(
                    SessionControls::default()
                        .sign_in_frequency(SignInFrequency::Hours(12))
                        .remember_device_days(7),
                ),
        )
}

#[test]
fn toml_json_and_code_build_the_same_model() {
    let from_toml = PolicySet::from_toml(TOML).unwrap();
    assert_eq!(from_toml, in_code());
    let json = serde_json::to_string_pretty(&from_toml).unwrap();
    assert_eq!(PolicySet::from_json(&json).unwrap(), from_toml);
    Engine::new(from_toml).unwrap();
}

#[test]
fn unknown_fields_are_refused_with_line_and_field() {
    let text = "[[policies]]\nname = \"p\"\ngrant = { block = true }\nsesion = {}\n";
    let error = PolicySet::from_toml(text).unwrap_err();
    let PolicyError::Syntax {
        format: Format::Toml,
        line: Some(4),
        message,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(message.contains("sesion"), "{message}");
    assert!(
        error.to_string().starts_with("TOML line 4 column 1"),
        "{error}"
    );

    let json = "{\n  \"policies\": [\n    { \"name\": \"p\", \"grnt\": {} }\n  ]\n}";
    let error = PolicySet::from_json(json).unwrap_err();
    let PolicyError::Syntax {
        format: Format::Json,
        line: Some(3),
        column: Some(_),
        message,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(message.contains("grnt"), "{message}");

    let nested = "[[policies]]\nname = \"p\"\nassignments.users.include = { al = true }\n";
    let error = PolicySet::from_toml(nested).unwrap_err();
    assert!(
        error.to_string().contains("line 3") && error.to_string().contains("al"),
        "{error}"
    );
}

#[test]
fn bad_values_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            "[[locations]]\nname = \"x\"\ncidrs = [\"10.0.0.1/8\"]\n",
            "10.0.0.1/8",
        ),
        (
            "[[policies]]\nname = \"p\"\nsession = { sign_in_frequency = \"12w\" }\n",
            "12w",
        ),
        ("[[policies]]\nname = \"p\"\nstate = \"maybe\"\n", "maybe"),
        (
            "[[strengths]]\nname = \"s\"\nnist_aal = 4\ncombinations = []\n",
            "AAL",
        ),
        (
            "[[policies]]\nname = \"p\"\nassignments.user_actions = [\"fly\"]\n",
            "fly",
        ),
    ];
    for (text, needle) in cases {
        let error = PolicySet::from_toml(text).unwrap_err();
        assert!(error.to_string().contains(needle), "{error}");
        assert!(
            matches!(error, PolicyError::Syntax { line: Some(_), .. }),
            "{error:?}"
        );
    }
}

#[test]
fn compiling_checks_references_and_consistency() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[policies]]\nname = \"p\"\ngrant = { authentication_strength = \"strong\" }\n",
            "authentication_strength",
            "strong",
        ),
        (
            "[[policies]]\nname = \"p\"\nassignments.locations.include = [\"home\"]\n",
            "locations",
            "home",
        ),
        (
            "[[policies]]\nname = \"p\"\ngrant = { block = true, authentication_strength = \"mfa\" }\n",
            "grant",
            "block",
        ),
        (
            "[[policies]]\nname = \"p\"\n[[policies]]\nname = \"p\"\n",
            "name",
            "another policy",
        ),
        (
            "[[strengths]]\nname = \"mfa\"\ncombinations = [[{ method = \"totp\" }]]\n",
            "name",
            "built-in",
        ),
        (
            "[[strengths]]\nname = \"weak\"\nnist_aal = 2\ncombinations = [[{ method = \"totp\" }]]\n",
            "combinations",
            "one factor",
        ),
        (
            "[[policies]]\nname = \"p\"\nsession = { remember_device_days = 400 }\n",
            "remember_device_days",
            "365",
        ),
        ("[[locations]]\nname = \"any\"\n", "name", "any"),
    ];
    for (text, field, needle) in cases {
        let error = Engine::from_toml(text).unwrap_err();
        let PolicyError::Invalid {
            field: got,
            problem,
            ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(got, field);
        assert!(
            error.to_string().contains(needle) || problem.contains(needle),
            "{error}"
        );
    }
}

#[test]
fn input_is_bounded() {
    let big = format!("# {}", "x".repeat(MAX_INPUT_LEN));
    assert!(matches!(
        PolicySet::from_toml(&big),
        Err(PolicyError::TooLarge { .. })
    ));
    let deep = format!("{{\"policies\": {}{}}}", "[".repeat(100), "]".repeat(100));
    assert!(matches!(
        PolicySet::from_json(&deep),
        Err(PolicyError::TooDeep { .. })
    ));
    let deep = format!("x = {}{}", "[".repeat(100), "]".repeat(100));
    assert!(matches!(
        PolicySet::from_toml(&deep),
        Err(PolicyError::TooDeep { .. })
    ));
}

#[test]
fn contexts_read_from_json_and_refuse_unknown_fields() {
    let json = r#"{
        "user": { "id": "alice", "groups": ["staff"], "mfa_state": "enforced",
                  "methods": [{ "method": "totp", "credential": "app", "status": "throttled" }] },
        "application": "mail",
        "action": "change_password",
        "client_app": "mobile_desktop",
        "ip": "2001:db8::1",
        "country": "NL",
        "device": { "platform": "ios", "compliant": true },
        "sign_in_risk": "low",
        "now": 1800000000000,
        "evidence": [{ "method": "password", "verified_at": 1800000000000, "credential": "pw",
                       "properties": { "phishing_resistant": false, "user_verified": false,
                                       "device_bound": false, "hardware_backed": false,
                                       "restricted": false } }]
    }"#;
    let context = SignInContext::from_json(json).unwrap();
    assert_eq!(context.now, UnixTime::from_secs(1_800_000_000));
    assert_eq!(
        context.evidence,
        [Evidence::new(
            Method::Password,
            UnixTime::from_secs(1_800_000_000),
            "pw"
        )]
    );
    let error = SignInContext::from_json(&json.replace("\"country\"", "\"contry\"")).unwrap_err();
    assert!(error.to_string().contains("contry"), "{error}");
}
