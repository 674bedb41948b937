//! `mfa policy check` and `mfa policy eval` on native and Microsoft Entra files, with the exit codes
//! of the CLI contract (0 valid / allowed, 1 step-up or block, 2 malformed input or usage).
#![allow(clippy::unwrap_used, reason = "tests may unwrap (STYLE.md)")]

use std::path::PathBuf;
use std::process::{Command, Output};

use mfa_core::{Evidence, Method, UnixTime};
use mfa_policy::{ClientApp, EnrolledMethod, RiskLevel, SignInContext};
use serde_json::Value;

const NATIVE_TOML: &str = r#"
[[locations]]
name = "office"
trusted = true
cidrs = ["203.0.113.0/24"]

[[policies]]
name = "MFA outside the office"
assignments.locations = { include = ["any"], exclude = ["all_trusted"] }
grant = { authentication_strength = "mfa" }

[[policies]]
name = "Block high sign-in risk"
assignments = { sign_in_risk = ["high"] }
grant = { block = true }
"#;

const NATIVE_JSON: &str = r#"{"policies": [{"name": "Admins: phishing-resistant",
  "assignments": {"users": {"include": {"roles": ["admin"]}}},
  "grant": {"authentication_strength": "phishing_resistant_mfa"}}]}"#;

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Exit `code` with exactly one `mfa: …` line on stderr and nothing on stdout.
fn assert_fails(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr(out));
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mfa: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn entra(name: &str) -> String {
    format!(
        "{}/../mfa-policy/tests/data/entra/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-policy-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &std::path::Path, name: &str, contents: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

fn context(build: impl FnOnce(mfa_policy::SignInContextBuilder) -> SignInContext) -> Vec<u8> {
    let now = UnixTime::from_secs(1_800_000_000);
    let builder = SignInContext::builder("alice", "mail", now)
        .client_app(ClientApp::Browser)
        .enrolled(EnrolledMethod::new(Method::Totp, "app"))
        .evidence(Evidence::new(Method::Password, now, "password"));
    serde_json::to_vec(&build(builder)).unwrap()
}

#[test]
fn check_native_toml_and_json_exits_zero() {
    let dir = scratch("check-native");
    let toml = write(&dir, "policies.toml", NATIVE_TOML.as_bytes());
    let json = write(&dir, "policies.json", NATIVE_JSON.as_bytes());
    // Without an extension the content decides.
    let bare = write(&dir, "policies", NATIVE_TOML.as_bytes());
    let out = mfa(&["policy", "check", &toml, &json, &bare]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["format"], "toml");
    assert_eq!(lines[0]["policies"], 2);
    assert_eq!(lines[0]["locations"], 1);
    assert_eq!(lines[1]["format"], "json");
    assert_eq!(lines[2]["format"], "toml");
    assert!(lines.iter().all(|line| line["valid"] == true));
    assert!(lines[0].get("report").is_none());
}

#[test]
fn check_entra_prints_the_import_report() {
    let out = mfa(&["policy", "check", &entra("terms-of-use.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["format"], "entra");
    assert_eq!(line["unmapped"], 4);
    let unmapped = &line["report"]["policies"][0]["unmapped"];
    assert_eq!(unmapped[1]["field"], "grantControls.termsOfUse");
    assert_eq!(unmapped[1]["consequence"], "blocked");
    // UTF-16 with a BOM and UTF-8 with a BOM are recognized too.
    for name in [
        "block-legacy-auth.utf16le.json",
        "require-mfa-admins.utf8bom.json",
    ] {
        let out = mfa(&["policy", "check", &entra(name)]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(json_lines(&out)[0]["unmapped"], 0, "{name}");
    }
}

#[test]
fn check_entra_resolves_named_locations_and_strengths() {
    let without = mfa(&["policy", "check", &entra("mfa-outside-trusted.json")]);
    assert_eq!(json_lines(&without)[0]["unmapped"], 1);
    let with = mfa(&[
        "policy",
        "check",
        &entra("mfa-outside-trusted.json"),
        "--named-locations",
        &entra("named-locations.json"),
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    let line = &json_lines(&with)[0];
    assert_eq!(line["locations"], 2);
    assert_eq!(
        line["report"]["policies"][0]["unmapped"],
        Value::Array(vec![])
    );
    let strengths = mfa(&[
        "policy",
        "check",
        &entra("custom-strength.json"),
        "--strengths",
        &entra("strengths.json"),
    ]);
    assert_eq!(strengths.status.code(), Some(0), "{}", stderr(&strengths));
    let line = &json_lines(&strengths)[0];
    assert_eq!(line["strengths"], 2);
    assert_eq!(
        line["report"]["policies"][0]["unmapped"],
        Value::Array(vec![])
    );
}

#[test]
fn check_malformed_files_exit_two() {
    let dir = scratch("check-malformed");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: &[(&str, &[u8])] = &[
        ("truncated.toml", b"[[policies]]\nname = \"x"),
        (
            "unknown-field.toml",
            b"[[policies]]\nname = \"x\"\ncolour = \"red\"\n",
        ),
        (
            "unknown-strength.json",
            br#"{"policies": [{"name": "x", "grant": {"authentication_strength": "nope"}}]}"#,
        ),
        (
            "entra-wrong-type.json",
            br#"{"value": [{"displayName": "x", "conditions": {"users": {"includeUsers": 5}}}]}"#,
        ),
        (
            "entra-truncated.json",
            br#"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies", "value": [{"displayName": "#,
        ),
        ("latin1.toml", b"[[policies]]\nname = \"caf\xE9\"\n"),
        (
            "deep.json",
            deep.as_bytes(),
        ),
    ];
    let good = write(&dir, "good.toml", NATIVE_TOML.as_bytes());
    for (name, contents) in cases {
        let path = write(&dir, name, contents);
        // A bad file fails the whole check, and nothing is printed for the good one.
        let out = mfa(&["policy", "check", &good, &path]);
        assert_fails(&out, 2);
        assert!(stderr(&out).contains(name), "{name}: {}", stderr(&out));
    }
    let missing = dir.join("missing.toml").display().to_string();
    assert_fails(&mfa(&["policy", "check", &missing]), 2);
    assert_fails(&mfa(&["policy", "check"]), 2);
    assert_fails(
        &mfa(&[
            "policy",
            "check",
            &entra("mfa-outside-trusted.json"),
            "--named-locations",
            &missing,
        ]),
        2,
    );
}

#[test]
fn eval_allow_exits_zero_with_the_trace() {
    let dir = scratch("eval-allow");
    let policies = write(&dir, "policies.toml", NATIVE_TOML.as_bytes());
    let in_office = context(|b| b.ip("203.0.113.9".parse().unwrap()).build());
    let context = write(&dir, "context.json", &in_office);
    let out = mfa(&[
        "policy",
        "eval",
        "--policy",
        &policies,
        "--context",
        &context,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["decision"], "allow");
    let trace = lines[0]["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 2, "{trace:?}");
    assert!(lines[0].get("entra_imports").is_none());
}

#[test]
fn eval_step_up_exits_one() {
    let dir = scratch("eval-step-up");
    let policies = write(&dir, "policies.toml", NATIVE_TOML.as_bytes());
    let admins = write(&dir, "admins.json", NATIVE_JSON.as_bytes());
    let away = context(|b| b.ip("198.51.100.7".parse().unwrap()).build());
    let context = write(&dir, "context.json", &away);
    let out = mfa(&[
        "policy",
        "eval",
        "--policy",
        &policies,
        &admins,
        "--context",
        &context,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["decision"], "step_up");
    assert_eq!(lines[0]["policy"], "MFA outside the office");
    assert_eq!(lines[0]["trace"].as_array().unwrap().len(), 3);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mfa: step-up needed"), "{err}");
}

#[test]
fn eval_block_exits_one_for_native_and_entra() {
    let dir = scratch("eval-block");
    let policies = write(&dir, "policies.toml", NATIVE_TOML.as_bytes());
    let risky = context(|b| {
        b.ip("203.0.113.9".parse().unwrap())
            .sign_in_risk(RiskLevel::High)
            .build()
    });
    let risky = write(&dir, "risky.json", &risky);
    let out = mfa(&["policy", "eval", "--policy", &policies, "--context", &risky]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["decision"], "block");
    assert!(stderr(&out).starts_with("mfa: blocked by policy `Block high sign-in risk`"));

    // Entra files, mixed with a native one: legacy authentication is blocked.
    let legacy = context(|b| {
        b.ip("203.0.113.9".parse().unwrap())
            .client_app(ClientApp::Legacy)
            .build()
    });
    let legacy = write(&dir, "legacy.json", &legacy);
    let out = mfa(&[
        "policy",
        "eval",
        "--policy",
        &policies,
        &entra("block-legacy-auth.utf16le.json"),
        &entra("terms-of-use.json"),
        "--context",
        &legacy,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = &json_lines(&out)[0];
    assert_eq!(line["decision"], "block");
    assert_eq!(line["policy"], "Block legacy authentication");
    assert_eq!(line["entra_imports"].as_array().unwrap().len(), 2);
    assert_eq!(line["entra_imports"][1]["unmapped"], 4);
}

#[test]
fn eval_bad_input_exits_two() {
    let dir = scratch("eval-bad");
    let policies = write(&dir, "policies.toml", NATIVE_TOML.as_bytes());
    let good_context = write(&dir, "context.json", &context(|b| b.build()));
    let bad_contexts: &[(&str, &[u8])] = &[
        ("not-json.json", b"{\"user\": "),
        (
            "unknown-field.json",
            br#"{"user": {"id": "a"}, "application": "mail", "now": 1, "colour": 1}"#,
        ),
        ("empty.json", b""),
    ];
    for (name, contents) in bad_contexts {
        let path = write(&dir, name, contents);
        let out = mfa(&["policy", "eval", "--policy", &policies, "--context", &path]);
        assert_fails(&out, 2);
        assert!(stderr(&out).contains(name), "{name}: {}", stderr(&out));
    }
    // Two files defining the same policy name do not fit together.
    let out = mfa(&[
        "policy",
        "eval",
        "--policy",
        &policies,
        &policies,
        "--context",
        &good_context,
    ]);
    assert_fails(&out, 2);
    assert!(stderr(&out).contains("do not fit together"));
    // Usage errors.
    assert_fails(&mfa(&["policy", "eval", "--policy", &policies]), 2);
    assert_fails(&mfa(&["policy", "eval", "--context", &good_context]), 2);
    assert_fails(&mfa(&["policy", "frobnicate"]), 2);
}
