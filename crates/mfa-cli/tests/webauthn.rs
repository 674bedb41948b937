//! `mfa webauthn` over every conformance vector in `crates/mfa-webauthn/tests/data/webauthn/`:
//! the flags come from each vector's `rp`, the response goes to stdin, and the exit code and JSON
//! must say what the vector's `expect` says (with the same harness decisions as the library's
//! `tests/vectors.rs`: `rp.appid` means the client reported `appid: true` and is passed as
//! `--appid`; the quarantined vector must come out `bad_signature`).
//!
//! Then the flags and exit codes the security review asked for (items 15a–d and 2), with the
//! library's software authenticator playing the browser.
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mfa_core::UnixTime;
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{
    AuthenticationRequest, Base64UrlBytes, Challenge, RegistrationRequest, RelyingParty,
    StoredCredential, UserEntity, base64url,
};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Value, json};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mfa-webauthn/tests/data/webauthn")
}

fn mfa(args: &[String], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading stdin (usage errors): ignore a closed pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn ceremony_args(v: &Value) -> Vec<String> {
    let rp = &v["rp"];
    let mut args = vec![
        "--rp-id".to_owned(),
        rp["rp_id"].as_str().unwrap().to_owned(),
    ];
    for origin in rp["expected_origins"].as_array().unwrap() {
        args.push("--origin".into());
        args.push(origin.as_str().unwrap().into());
    }
    args.push("--challenge".into());
    args.push(rp["expected_challenge_b64url"].as_str().unwrap().into());
    if rp["require_user_verification"].as_bool() == Some(true) {
        args.push("--require-uv".into());
    }
    if rp["allow_cross_origin"].as_bool() == Some(true) {
        args.push("--allow-cross-origin".into());
        for top in rp["top_origins"].as_array().into_iter().flatten() {
            args.push("--top-origin".into());
            args.push(top.as_str().unwrap().into());
        }
    }
    args
}

fn expected(id: &str, v: &Value) -> String {
    match v["expect"]["result"].as_str().unwrap() {
        "valid" => "valid".into(),
        "invalid" => v["expect"]["error_kind"].as_str().unwrap().into(),
        _ => {
            assert!(id.starts_with("swa-quarantine-"), "{id}");
            "bad_signature".into()
        }
    }
}

fn run_vector(id: &str, v: &Value, dir: &Path) -> (Option<i32>, Value, String) {
    let mut response = v["response"].clone();
    let mut args = vec!["webauthn".to_owned()];
    match v["ceremony"].as_str().unwrap() {
        "registration" => {
            args.push("register".into());
            args.extend(ceremony_args(v));
        }
        _ => {
            args.push("authenticate".into());
            args.extend(ceremony_args(v));
            let c = &v["credential"];
            let file = dir.join(format!("{id}.credential.json"));
            let credential = json!({
                "id": c["id_b64url"],
                "public_key_cose": c["public_key_cose_b64url"],
                "sign_count": c["stored_sign_count"],
            });
            fs::write(&file, credential.to_string()).unwrap();
            args.push("--credential".into());
            args.push(file.display().to_string());
            if let Some(appid) = v["rp"]["appid"].as_str() {
                args.push("--appid".into());
                args.push(appid.into());
                response["clientExtensionResults"] = json!({"appid": true});
            }
        }
    }
    let out = mfa(&args, response.to_string().as_bytes());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let parsed = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.code(),
        parsed,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn every_vector_through_the_cli() {
    let dir = std::env::temp_dir().join(format!("mfa-cli-webauthn-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut paths: Vec<PathBuf> = fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "index.json"))
        .collect();
    paths.sort();
    for path in paths {
        let id = path.file_stem().unwrap().to_string_lossy().into_owned();
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let want = expected(&id, &v);
        let (code, out, stderr) = run_vector(&id, &v, &dir);
        count += 1;
        let ok = if want == "valid" {
            let shape_ok = match v["ceremony"].as_str() {
                Some("registration") => {
                    out["fmt"] == v["expect"]["fmt"]
                        && out["id"].is_string()
                        && out["public_key_cose"].is_string()
                        && out["alg"].is_i64()
                        && out["sign_count"].is_u64()
                        && out["backup_eligible"].is_boolean()
                        && out["backup_state"].is_boolean()
                }
                _ => {
                    out["verified"] == true
                        && out["sign_count"].is_u64()
                        && out["user_verified"].is_boolean()
                        && out["backup_eligible"].is_boolean()
                        && out["backup_state"].is_boolean()
                }
            };
            code == Some(0) && shape_ok
        } else {
            code == Some(1)
                && out["verified"] == false
                && out["error"] == want.as_str()
                && out["message"].is_string()
        };
        if !ok {
            failures.push(format!(
                "{id}: expected {want}, got exit {code:?} {out} {stderr}"
            ));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(count, 49);
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn registration_output_authenticates_through_the_cli() {
    // w3c-spec-reg-none-es256 registers the credential that w3c-spec-auth-none-es256 uses.
    let read = |name: &str| -> Value {
        serde_json::from_slice(&fs::read(data_dir().join(name)).unwrap()).unwrap()
    };
    let reg = read("w3c-spec-reg-none-es256.json");
    let auth = read("w3c-spec-auth-none-es256.json");
    let mut args = vec!["webauthn".to_owned(), "register".to_owned()];
    args.extend(ceremony_args(&reg));
    let out = mfa(&args, reg["response"].to_string().as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::env::temp_dir().join(format!("mfa-cli-webauthn-reg-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("credential.json");
    fs::write(&file, &out.stdout).unwrap();
    let mut args = vec!["webauthn".to_owned(), "authenticate".to_owned()];
    args.extend(ceremony_args(&auth));
    args.extend(["--credential".to_owned(), file.display().to_string()]);
    let out = mfa(&args, auth["response"].to_string().as_bytes());
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true);
}

#[test]
fn usage_errors_exit_two() {
    let out = mfa(
        &[
            "webauthn".into(),
            "register".into(),
            "--rp-id".into(),
            "x".into(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let base: Vec<String> = [
        "webauthn",
        "register",
        "--rp-id",
        "example.org",
        "--origin",
        "https://example.org",
        "--challenge",
        "AAAA",
    ]
    .map(String::from)
    .to_vec();
    let mut bad = base.clone();
    bad[7] = "***".into();
    assert_eq!(mfa(&bad, b"{}").status.code(), Some(2));
    let mut missing = vec!["webauthn".to_owned(), "authenticate".to_owned()];
    missing.extend(base[2..].iter().cloned());
    missing.extend([
        "--credential".to_owned(),
        "/nonexistent/credential.json".to_owned(),
    ]);
    assert_eq!(mfa(&missing, b"{}").status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------------
// The fixes of the security review (items 15 and 2), driven with the library's software
// authenticator: it answers the options a `RelyingParty` built for the same RP ID, origin and
// challenge as the flags say.

const RP_ID: &str = "example.org";
const ORIGIN: &str = "https://example.org";
const T0: UnixTime = UnixTime::from_secs(1_800_000_000);
const REG_CHALLENGE: [u8; 32] = [0x5a; 32];
const AUTH_CHALLENGE: [u8; 32] = [0xa5; 32];
const OWNER_A: &[u8] = b"user handle of alice";
const OWNER_B: &[u8] = b"user handle of bob";

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-cli-webauthn-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?} / stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Exit 2 with exactly one `mfa: …` line on stderr and nothing on stdout.
fn assert_usage_error(out: &Output, what: &str) {
    let stderr = stderr_text(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    assert!(stderr.starts_with("mfa: "), "{what}: {stderr}");
    assert!(out.stdout.is_empty(), "{what}");
}

/// Exit 1 with the refusal JSON of `kind` on stdout.
fn assert_refused(out: &Output, kind: &str, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: {} {}",
        String::from_utf8_lossy(&out.stdout),
        stderr_text(out)
    );
    let v = stdout_json(out);
    assert_eq!(v["verified"], false, "{what}");
    assert_eq!(v["error"], kind, "{what}: {v}");
    assert!(v["message"].is_string(), "{what}");
}

fn ceremony(challenge: &[u8]) -> Vec<String> {
    strings(&[
        "--rp-id",
        RP_ID,
        "--origin",
        ORIGIN,
        "--challenge",
        &base64url::encode(challenge),
    ])
}

fn soft_rp() -> RelyingParty {
    RelyingParty::new(RP_ID, "Example", ORIGIN)
}

/// A fresh counting ES256 software authenticator and its `RegistrationResponseJSON` for a user
/// whose handle is `owner`, answering a challenge of `REG_CHALLENGE`.
fn soft_registration(seed: u64, owner: &[u8]) -> (SoftwareAuthenticator, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut authenticator = SoftwareAuthenticator::new(&mut rng);
    let user = UserEntity {
        id: Base64UrlBytes::new(owner.to_vec()),
        name: "alice@example.org".to_owned(),
        display_name: "Alice".to_owned(),
    };
    let challenge = Challenge::from_bytes(REG_CHALLENGE.to_vec()).unwrap();
    let (options, _state) =
        soft_rp().registration_with_challenge(challenge, T0, user, RegistrationRequest::default());
    let json = authenticator.register(&options, ORIGIN);
    (authenticator, json)
}

/// The authenticator's next `AuthenticationResponseJSON` for `AUTH_CHALLENGE`.
fn soft_assertion(authenticator: &mut SoftwareAuthenticator) -> Vec<u8> {
    let challenge = Challenge::from_bytes(AUTH_CHALLENGE.to_vec()).unwrap();
    let (options, _state) =
        soft_rp().authentication_with_challenge(challenge, T0, AuthenticationRequest::default());
    authenticator.authenticate(&options, ORIGIN)
}

fn register_cli(extra: &[&str], response: &[u8]) -> Output {
    let mut args = strings(&["webauthn", "register"]);
    args.extend(ceremony(&REG_CHALLENGE));
    args.extend(strings(extra));
    mfa(&args, response)
}

fn authenticate_cli(credential: &Path, extra: &[&str], response: &[u8]) -> Output {
    let mut args = strings(&["webauthn", "authenticate"]);
    args.extend(ceremony(&AUTH_CHALLENGE));
    args.extend(["--credential".to_owned(), credential.display().to_string()]);
    args.extend(strings(extra));
    mfa(&args, response)
}

/// Registers a software authenticator through `mfa webauthn register` (with `--user-handle`
/// when `owner` is given) and stores what it printed in `dir/credential.json`.
fn registered_file(
    dir: &Path,
    seed: u64,
    owner: Option<&[u8]>,
) -> (SoftwareAuthenticator, PathBuf) {
    let (authenticator, registration) = soft_registration(seed, owner.unwrap_or(OWNER_A));
    let out = match owner {
        Some(owner) => register_cli(&["--user-handle", &base64url::encode(owner)], &registration),
        None => register_cli(&[], &registration),
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let file = dir.join("credential.json");
    fs::write(&file, &out.stdout).unwrap();
    (authenticator, file)
}

/// Starts `n` runs of `mfa args` and gives every one `input` before any is waited for, so they
/// run at once (the input fits in a pipe buffer, so the writes do not block).
fn run_at_once(args: &[String], input: &[u8], n: usize) -> Vec<Output> {
    let mut children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_mfa"))
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

/// Exactly one run accepted the assertion; every other was refused as a replay.
fn assert_one_winner_and_replays_refused(outputs: &[Output]) {
    let winners = outputs
        .iter()
        .filter(|out| out.status.code() == Some(0))
        .count();
    assert_eq!(winners, 1);
    for out in outputs.iter().filter(|out| out.status.code() != Some(0)) {
        assert_refused(out, "counter_not_increased", "concurrent replay");
    }
}

fn read_vector(name: &str) -> Value {
    serde_json::from_slice(&fs::read(data_dir().join(name)).unwrap()).unwrap()
}

#[test]
fn item15a_non_json_input_exits_2() {
    let dir = scratch("15a-non-json");
    let (_, file) = registered_file(&dir, 1, None);
    let too_big = vec![b' '; 64 * 1024 + 1];
    for input in [&b"{not json"[..], b"", b"[]", b"\"text\"", &too_big] {
        let out = register_cli(&[], input);
        assert_usage_error(&out, "register");
        let out = authenticate_cli(&file, &[], input);
        assert_usage_error(&out, "authenticate");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item15a_response_without_a_required_member_exits_2() {
    let dir = scratch("15a-member");
    let (mut authenticator, file) = registered_file(&dir, 2, None);
    let (_, registration) = soft_registration(2, OWNER_A);
    let registration: Value = serde_json::from_slice(&registration).unwrap();
    let assertion: Value = serde_json::from_slice(&soft_assertion(&mut authenticator)).unwrap();
    for member in ["clientDataJSON", "attestationObject"] {
        let mut broken = registration.clone();
        broken["response"].as_object_mut().unwrap().remove(member);
        let out = register_cli(&[], broken.to_string().as_bytes());
        assert_usage_error(&out, member);
    }
    for member in ["clientDataJSON", "authenticatorData", "signature"] {
        let mut broken = assertion.clone();
        broken["response"].as_object_mut().unwrap().remove(member);
        let out = authenticate_cli(&file, &[], broken.to_string().as_bytes());
        assert_usage_error(&out, member);
    }
    let mut no_id = assertion.clone();
    no_id.as_object_mut().unwrap().remove("id");
    assert_usage_error(
        &authenticate_cli(&file, &[], no_id.to_string().as_bytes()),
        "no id",
    );
    let mut not_b64 = assertion.clone();
    not_b64["response"]["signature"] = json!("***");
    assert_usage_error(
        &authenticate_cli(&file, &[], not_b64.to_string().as_bytes()),
        "signature not base64url",
    );
    // One ceremony's response is not the other's.
    assert_usage_error(
        &authenticate_cli(&file, &[], registration.to_string().as_bytes()),
        "registration as assertion",
    );
    assert_usage_error(
        &register_cli(&[], assertion.to_string().as_bytes()),
        "assertion as registration",
    );
    // The untouched assertion still verifies: only the broken ones were refused.
    let out = authenticate_cli(&file, &[], assertion.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item15a_broken_content_in_a_parseable_response_is_a_refusal() {
    // The JSON is a RegistrationResponseJSON, so it is judged: its attestation object is not
    // CBOR, which is a refusal (exit 1, `malformed`), not a usage error.
    let (_, registration) = soft_registration(3, OWNER_A);
    let mut response: Value = serde_json::from_slice(&registration).unwrap();
    response["response"]["attestationObject"] = json!(base64url::encode(b"not cbor at all"));
    let out = register_cli(&[], response.to_string().as_bytes());
    assert_refused(&out, "malformed", "attestation object not CBOR");
}

#[test]
fn item15b_update_writes_the_credential_back_and_a_replay_is_refused() {
    let dir = scratch("15b-update");
    let (mut authenticator, file) = registered_file(&dir, 4, None);
    let assertion = soft_assertion(&mut authenticator);
    assert_eq!(authenticator.sign_count(), 1);

    let out = authenticate_cli(&file, &["--update"], &assertion);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    // The printed wrapper is what it was without --update.
    let v = stdout_json(&out);
    assert_eq!(v["verified"], true);
    assert_eq!(v["sign_count"], 1);
    assert!(v["user_verified"].is_boolean() && v["possible_clone"].is_boolean());
    assert_eq!(v["credential"]["sign_count"], 1);
    // The file now holds the updated credential, private to its owner.
    let stored: StoredCredential = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored.sign_count, 1);
    assert_eq!(&stored.id, authenticator.credential_id());
    assert!(stored.last_used_at.is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // The same assertion again: the counter did not increase over the stored one.
    let out = authenticate_cli(&file, &["--update"], &assertion);
    assert_refused(&out, "counter_not_increased", "replayed assertion");
    let stored: StoredCredential = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored.sign_count, 1);

    // A fresh assertion moves it on; no temporary file is left behind, only the (empty) file the
    // OS lock is taken on, which a killed process cannot leave locked.
    let out = authenticate_cli(&file, &["--update"], &soft_assertion(&mut authenticator));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let stored: StoredCredential = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored.sign_count, 2);
    assert_eq!(fs::read(dir.join("credential.json.lock")).unwrap(), b"");
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name != "credential.json" && name != "credential.json.lock")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item15b_concurrent_updates_with_one_assertion_have_one_winner() {
    let dir = scratch("15b-race");
    let (mut authenticator, file) = registered_file(&dir, 5, None);
    let assertion = soft_assertion(&mut authenticator);
    let mut args = strings(&["webauthn", "authenticate"]);
    args.extend(ceremony(&AUTH_CHALLENGE));
    args.extend(strings(&[
        "--credential",
        &file.display().to_string(),
        "--update",
    ]));
    let outputs = run_at_once(&args, &assertion, 8);
    assert_one_winner_and_replays_refused(&outputs);
    let stored: StoredCredential = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(stored.sign_count, 1);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item15c_user_handle_is_recorded_as_the_owner() {
    let (_, registration) = soft_registration(6, OWNER_A);
    let handle = base64url::encode(OWNER_A);
    let out = register_cli(&["--user-handle", &handle], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    assert!(out.stderr.is_empty(), "{}", stderr_text(&out));
    let v = stdout_json(&out);
    assert_eq!(v["user_handle"], handle.as_str());
    let credential: StoredCredential = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(credential.user_handle.unwrap().as_bytes(), OWNER_A);
}

#[test]
fn item15c_without_user_handle_a_note_says_the_credential_has_no_owner() {
    let (_, registration) = soft_registration(7, OWNER_A);
    let out = register_cli(&[], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let stderr = stderr_text(&out);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mfa: "), "{stderr}");
    assert!(stderr.contains("--user-handle"), "{stderr}");
    assert!(stderr.contains("no owner"), "{stderr}");
    let v = stdout_json(&out);
    assert!(v.get("user_handle").is_none(), "{v}");
}

#[test]
fn item15c_malformed_user_handle_exits_2() {
    let (_, registration) = soft_registration(8, OWNER_A);
    let too_long = base64url::encode(&[7u8; 65]);
    for handle in ["***", "", too_long.as_str()] {
        let out = register_cli(&["--user-handle", handle], &registration);
        assert_usage_error(&out, handle);
    }
    let longest = base64url::encode(&[7u8; 64]);
    let out = register_cli(&["--user-handle", &longest], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
}

#[test]
fn item15c_register_prints_attestation_chain_and_discoverable() {
    // A packed attestation with an x5c chain (a YubiKey): type basic, the certificate printed.
    let reg = read_vector("py-reg-packed-x5c-yubikey-firefox.json");
    let mut args = strings(&["webauthn", "register"]);
    args.extend(ceremony_args(&reg));
    let out = mfa(&args, reg["response"].to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let v = stdout_json(&out);
    assert_eq!(v["attestation"]["format"], "packed");
    assert_eq!(v["attestation"]["type"], "basic");
    let certificates = v["attestation"]["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 1);
    let der = base64url::decode(certificates[0].as_str().unwrap(), 4096).unwrap();
    assert_eq!(der.first(), Some(&0x30), "a DER SEQUENCE");
    let subject = b"Yubico U2F EE Serial 719807075";
    assert!(der.windows(subject.len()).any(|w| w == subject));
    let object = base64url::decode(
        reg["response"]["response"]["attestationObject"]
            .as_str()
            .unwrap(),
        32 * 1024,
    )
    .unwrap();
    assert!(object.windows(der.len()).any(|w| w == der.as_slice()));
    // No credProps in this response: unknown.
    assert!(v["discoverable"].is_null(), "{v}");
    // Still a credential (the extra members are ignored when it is read back).
    let credential: StoredCredential = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(credential.sign_count, 52);

    // fido-u2f from the W3C vectors: basic, one certificate.
    let reg = read_vector("w3c-spec-reg-fido-u2f-es256.json");
    let mut args = strings(&["webauthn", "register"]);
    args.extend(ceremony_args(&reg));
    let v = stdout_json(&mfa(&args, reg["response"].to_string().as_bytes()));
    assert_eq!(v["attestation"]["format"], "fido-u2f");
    assert_eq!(v["attestation"]["type"], "basic");
    assert_eq!(
        v["attestation"]["certificates"].as_array().unwrap().len(),
        1
    );

    // credProps.rk = false (an Android key): not discoverable.
    let reg = read_vector("py-reg-android-key-pixel-8a.json");
    let mut args = strings(&["webauthn", "register"]);
    args.extend(ceremony_args(&reg));
    let v = stdout_json(&mfa(&args, reg["response"].to_string().as_bytes()));
    assert_eq!(v["attestation"]["format"], "android-key");
    assert!(v["attestation"]["certificates"].as_array().unwrap().len() > 1);
    assert_eq!(v["discoverable"], false);

    // The software authenticator: packed self attestation, no chain, credProps.rk = true; what
    // register prints authenticates as --credential.
    let dir = scratch("15c-output");
    let (mut authenticator, registration) = soft_registration(9, OWNER_A);
    let handle = base64url::encode(OWNER_A);
    let out = register_cli(&["--user-handle", &handle], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let v = stdout_json(&out);
    assert_eq!(v["attestation"]["format"], "packed");
    assert_eq!(v["attestation"]["type"], "self_attestation");
    assert_eq!(v["attestation"]["certificates"], json!([]));
    assert_eq!(v["discoverable"], true);
    let file = dir.join("credential.json");
    fs::write(&file, &out.stdout).unwrap();
    let out = authenticate_cli(&file, &[], &soft_assertion(&mut authenticator));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    assert_eq!(stdout_json(&out)["verified"], true);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item15d_alg_limits_the_registered_algorithm() {
    let (_, registration) = soft_registration(10, OWNER_A);
    for refused in [&["--alg", "eddsa"][..], &["--alg", "rs256", "--alg", "-35"]] {
        let out = register_cli(refused, &registration);
        assert_refused(&out, "unsupported_algorithm", &format!("{refused:?}"));
    }
    for allowed in [
        &["--alg", "es256"][..],
        &["--alg", "ES256"],
        &["--alg", "-7"],
        &["--alg=-7"],
        &["--alg", "eddsa", "--alg", "es256"],
    ] {
        let out = register_cli(allowed, &registration);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{allowed:?}: {}",
            stderr_text(&out)
        );
        assert_eq!(stdout_json(&out)["alg"], -7);
    }
    // An EdDSA registration from the W3C vectors, limited to EdDSA by its COSE number.
    let reg = read_vector("w3c-spec-reg-packed-eddsa-x5c.json");
    let eddsa = |alg: &str| {
        let mut args = strings(&["webauthn", "register"]);
        args.extend(ceremony_args(&reg));
        args.extend(strings(&["--alg", alg]));
        mfa(&args, reg["response"].to_string().as_bytes())
    };
    let out = eddsa("-8");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    assert_eq!(stdout_json(&out)["alg"], -8);
    let out = eddsa("es256");
    assert_refused(&out, "unsupported_algorithm", "eddsa key, es256 only");
}

#[test]
fn item15d_unknown_alg_exits_2() {
    let (_, registration) = soft_registration(11, OWNER_A);
    for name in ["es257", "-1", "7", "", "sha256"] {
        let out = register_cli(&["--alg", name], &registration);
        assert_usage_error(&out, name);
    }
    let dir = scratch("15d-unknown");
    let (mut authenticator, file) = registered_file(&dir, 11, None);
    let out = authenticate_cli(
        &file,
        &["--alg", "hs256"],
        &soft_assertion(&mut authenticator),
    );
    assert_usage_error(&out, "authenticate --alg hs256");
    // A known name is fine.
    let out = register_cli(&["--alg", "es256"], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item15d_alg_limits_the_stored_credential_at_authentication() {
    let dir = scratch("15d-authenticate");
    let (mut authenticator, file) = registered_file(&dir, 12, None);
    let before = fs::read(&file).unwrap();
    let assertion = soft_assertion(&mut authenticator);
    let out = authenticate_cli(&file, &["--alg", "eddsa", "--update"], &assertion);
    assert_refused(
        &out,
        "unsupported_algorithm",
        "es256 credential, eddsa only",
    );
    assert_eq!(fs::read(&file).unwrap(), before, "a refusal writes nothing");
    let out = authenticate_cli(&file, &["--alg", "eddsa", "--alg", "es256"], &assertion);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn item2_authenticate_user_handle_must_own_the_credential() {
    let dir = scratch("item2");
    let (mut authenticator, file) = registered_file(&dir, 13, Some(OWNER_A));
    let assertion = soft_assertion(&mut authenticator);
    let bob = base64url::encode(OWNER_B);
    let out = authenticate_cli(&file, &["--user-handle", &bob], &assertion);
    assert_refused(&out, "unknown_credential", "alice's credential for bob");
    let alice = base64url::encode(OWNER_A);
    let out = authenticate_cli(&file, &["--user-handle", &alice], &assertion);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    for malformed in ["***", ""] {
        let out = authenticate_cli(&file, &["--user-handle", malformed], &assertion);
        assert_usage_error(&out, malformed);
    }
    // A credential registered without an owner proves no particular user.
    let (mut ownerless, file) = registered_file(&dir, 14, None);
    let assertion = soft_assertion(&mut ownerless);
    let out = authenticate_cli(&file, &["--user-handle", &alice], &assertion);
    assert_refused(
        &out,
        "unknown_credential",
        "an ownerless credential for alice",
    );
    let _ = fs::remove_dir_all(&dir);
}

/// `register --store sqlite:… --account A` stores the credential; `authenticate --store` finds it
/// by the assertion's credential id, commits the new counter atomically, refuses a replay, and
/// both outcomes land in the sign-in log with the context given.
#[test]
fn store_register_and_authenticate_on_sqlite_with_the_sign_in_log() {
    let dir = scratch("store-sqlite");
    let store = format!("sqlite:{}", dir.join("mfa.sqlite3").display());
    let (mut authenticator, registration) = soft_registration(21, OWNER_A);
    let out = register_cli(&["--store", &store, "--account", "alice"], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    // The same credential id again is refused, for any account.
    let again = register_cli(&["--store", &store, "--account", "bob"], &registration);
    assert_eq!(again.status.code(), Some(1), "{}", stderr_text(&again));
    assert!(stderr_text(&again).contains("registered already"));

    let assertion = soft_assertion(&mut authenticator);
    let authenticate = |extra: &[&str]| {
        let mut args = strings(&["webauthn", "authenticate"]);
        args.extend(ceremony(&AUTH_CHALLENGE));
        args.extend(strings(&["--store", &store, "--account", "alice"]));
        args.extend(strings(extra));
        mfa(&args, &assertion)
    };
    let first = authenticate(&["--ip", "198.51.100.4", "--country", "DE"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr_text(&first));
    assert_eq!(stdout_json(&first)["sign_count"], 1);
    assert_refused(&authenticate(&[]), "counter_not_increased", "replay");
    // Another account has no such credential.
    let mut args = strings(&["webauthn", "authenticate"]);
    args.extend(ceremony(&AUTH_CHALLENGE));
    args.extend(strings(&["--store", &store, "--account", "mallory"]));
    assert_refused(
        &mfa(&args, &assertion),
        "unknown_credential",
        "other account",
    );

    let log = mfa(
        &strings(&[
            "audit",
            "recent",
            "--store",
            &store,
            "--account",
            "alice",
            "--json",
        ]),
        b"",
    );
    assert_eq!(log.status.code(), Some(0), "{}", stderr_text(&log));
    let events = stdout_json(&log)["events"].as_array().unwrap().clone();
    let summary: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["result"].as_str().unwrap(),
                e["reason"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("failure", "counter_not_increased"), ("success", "-")],
        "newest first"
    );
    assert_eq!(events[1]["method"], "webauthn");
    assert_eq!(events[1]["ip"], "198.51.100.4");
    assert_eq!(events[1]["country"], "DE");
    let _ = fs::remove_dir_all(&dir);
}

/// Eight processes submit one assertion against the credential in one SQLite file: one wins.
#[test]
fn store_concurrent_authentications_have_one_winner() {
    let dir = scratch("store-race");
    let store = format!("sqlite:{}", dir.join("mfa.sqlite3").display());
    let (mut authenticator, registration) = soft_registration(22, OWNER_A);
    let out = register_cli(&["--store", &store, "--account", "alice"], &registration);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    let assertion = soft_assertion(&mut authenticator);
    let mut args = strings(&["webauthn", "authenticate"]);
    args.extend(ceremony(&AUTH_CHALLENGE));
    args.extend(strings(&["--store", &store, "--account", "alice"]));
    let outputs = run_at_once(&args, &assertion, 8);
    assert_one_winner_and_replays_refused(&outputs);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn store_flags_need_each_other() {
    let (_, registration) = soft_registration(23, OWNER_A);
    assert_usage_error(
        &register_cli(&["--store", "sqlite:x.sqlite3"], &registration),
        "--store without --account",
    );
    let mut args = strings(&["webauthn", "authenticate"]);
    args.extend(ceremony(&AUTH_CHALLENGE));
    assert_usage_error(&mfa(&args, b"{}"), "neither --credential nor --store");
    args.extend(strings(&[
        "--store",
        "sqlite:x.sqlite3",
        "--account",
        "a",
        "--update",
    ]));
    assert_usage_error(&mfa(&args, b"{}"), "--store with --update");
}

// --- `mfa webauthn mds` and `register --mds` ---------------------------------------------------

mod mds {
    use super::*;
    use base64::Engine as _;
    use mfa_webauthn::metadata::{
        Aaguid, AuthenticatorStatus, MdsDate, MetadataEntry, MetadataStatement, StatusReport,
    };
    use mfa_webauthn::testing::SoftwareAttestation;
    use mfa_webauthn::testing::mds::{BlobBuilder, MdsSigner};
    use mfa_webauthn::testing::pki::{JwsAlgorithm, TestPki};

    /// Certificates valid from 2020 to 2040: `register` judges them at the real now.
    const FROM: UnixTime = UnixTime::from_secs(1_577_836_800);
    const TO: UnixTime = UnixTime::from_secs(2_208_988_800);
    const MODEL: &str = "Test Key 5 NFC";
    const MODEL_AAGUID: [u8; 16] = [0x2f; 16];

    fn date(text: &str) -> MdsDate {
        text.parse().unwrap()
    }

    /// A FIDO2 entry for `aaguid` whose statement trusts `root`, keeps keys in hardware, and
    /// has the given statuses.
    fn entry(aaguid: [u8; 16], root: &[u8], statuses: &[(&str, &str)]) -> MetadataEntry {
        let mut statement = MetadataStatement::default();
        statement.description = MODEL.to_owned();
        statement.protocol_family = "fido2".to_owned();
        statement.attestation_types = vec!["basic_full".to_owned()];
        statement.key_protection = vec!["hardware".to_owned(), "secure_element".to_owned()];
        statement.attestation_root_certificates =
            vec![base64::engine::general_purpose::STANDARD.encode(root)];
        let reports = statuses
            .iter()
            .map(|(status, day)| {
                StatusReport::new(AuthenticatorStatus::from_name(status), Some(date(day)))
            })
            .collect();
        MetadataEntry::fido2(Aaguid(aaguid), statement, reports)
    }

    /// Writes `blob.jwt` and `root.pem` in `dir`, signed by a fresh ES256 signer; returns the
    /// signer (for its root) and the paths.
    fn write_blob(dir: &Path, no: u64, entries: Vec<MetadataEntry>) -> (PathBuf, PathBuf) {
        let mut rng = StdRng::seed_from_u64(no);
        let signer = MdsSigner::new(&mut rng, JwsAlgorithm::Es256, FROM, TO);
        let blob = BlobBuilder::new(no, date("2030-01-01"))
            .entries(entries)
            .sign(&signer);
        let (blob_path, root_path) = (dir.join("blob.jwt"), dir.join("root.pem"));
        fs::write(&blob_path, blob).unwrap();
        fs::write(&root_path, signer.pki.root.pem()).unwrap();
        (blob_path, root_path)
    }

    fn mds_cli(command: &str, blob: &Path, root: &Path, extra: &[&str]) -> Output {
        let mut args = strings(&["webauthn", "mds", command]);
        args.extend([
            "--blob".to_owned(),
            blob.display().to_string(),
            "--root".to_owned(),
            root.display().to_string(),
        ]);
        args.extend(strings(extra));
        mfa(&args, b"")
    }

    #[test]
    fn verify_prints_no_next_update_and_the_entry_count() {
        let dir = scratch("mds-verify");
        let root_der = TestPki::new(&mut StdRng::seed_from_u64(1), FROM, TO).root;
        let entries = vec![
            entry(
                [1; 16],
                root_der.der(),
                &[("FIDO_CERTIFIED_L1", "2021-01-02")],
            ),
            entry([2; 16], root_der.der(), &[]),
            entry([3; 16], root_der.der(), &[]),
        ];
        let (blob, root) = write_blob(&dir, 42, entries);
        let out = mds_cli("verify", &blob, &root, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        let v = stdout_json(&out);
        assert_eq!(v["verified"], true);
        assert_eq!(v["no"], 42);
        assert_eq!(v["next_update"], "2030-01-01");
        assert_eq!(v["entries"], 3);
        assert_eq!(v["current"], true);

        // The `no` accepted before: an equal one is the same BLOB again, a higher one refuses.
        let out = mds_cli("verify", &blob, &root, &["--after", "42"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        let out = mds_cli("verify", &blob, &root, &["--after", "43"]);
        assert_refused(&out, "serial_regressed", "lower no");

        // After the signer's certificates expire, and before they begin.
        let out = mds_cli("verify", &blob, &root, &["--at", "2041-01-01"]);
        assert_refused(&out, "untrusted", "expired chain");
        let out = mds_cli("verify", &blob, &root, &["--at", "1500000000"]);
        assert_refused(&out, "untrusted", "chain not yet valid");
        // With a date after nextUpdate but inside the chain's validity: verified, not current.
        let out = mds_cli("verify", &blob, &root, &["--at", "2031-06-01"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        assert_eq!(stdout_json(&out)["current"], false);
    }

    #[test]
    fn verify_refuses_another_root_and_a_tampered_blob() {
        let dir = scratch("mds-refuse");
        let (blob, root) = write_blob(&dir, 7, Vec::new());
        let other = TestPki::new(&mut StdRng::seed_from_u64(99), FROM, TO);
        let other_root = dir.join("other.pem");
        fs::write(&other_root, other.root.pem()).unwrap();
        assert_refused(
            &mds_cli("verify", &blob, &other_root, &[]),
            "untrusted",
            "wrong root",
        );

        // A DER root works as well as PEM.
        let der_root = dir.join("root.der");
        let pem = fs::read_to_string(&root).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        fs::write(&der_root, der).unwrap();
        let out = mds_cli("verify", &blob, &der_root, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));

        let mut jws = fs::read(&blob).unwrap();
        let last = jws.len() - 3;
        jws[last] = if jws[last] == b'A' { b'B' } else { b'A' };
        let tampered = dir.join("tampered.jwt");
        fs::write(&tampered, jws).unwrap();
        assert_refused(
            &mds_cli("verify", &tampered, &root, &[]),
            "bad_signature",
            "tampered signature",
        );
        let garbage = dir.join("garbage.jwt");
        fs::write(&garbage, b"not a jws").unwrap();
        assert_usage_error(&mds_cli("verify", &garbage, &root, &[]), "not a JWS");
    }

    #[test]
    fn unreadable_input_exits_two() {
        let dir = scratch("mds-usage");
        let (blob, root) = write_blob(&dir, 1, Vec::new());
        let missing = dir.join("missing.jwt");
        assert_usage_error(&mds_cli("verify", &missing, &root, &[]), "missing BLOB");
        assert_usage_error(&mds_cli("verify", &blob, &missing, &[]), "missing root");
        let not_a_cert = dir.join("not-a-cert.pem");
        fs::write(
            &not_a_cert,
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert_usage_error(&mds_cli("verify", &blob, &not_a_cert, &[]), "bad root");
        assert_usage_error(
            &mds_cli("verify", &blob, &root, &["--at", "yesterday"]),
            "bad --at",
        );
        assert_usage_error(
            &mds_cli("show", &blob, &root, &["not-an-aaguid"]),
            "bad identifier",
        );
    }

    #[test]
    fn show_prints_the_entry_by_aaguid_or_key_identifier() {
        let dir = scratch("mds-show");
        let pki = TestPki::new(&mut StdRng::seed_from_u64(3), FROM, TO);
        let mut u2f = entry([0; 16], pki.root.der(), &[("FIDO_CERTIFIED", "2019-05-01")]);
        u2f.aaguid = None;
        let key_id = pki.intermediate.key().key_identifier_hex();
        u2f.attestation_certificate_key_identifiers = vec![key_id.parse().unwrap()];
        let entries = vec![
            entry(
                MODEL_AAGUID,
                pki.root.der(),
                &[
                    ("FIDO_CERTIFIED_L1", "2021-01-02"),
                    ("REVOKED", "2035-01-01"),
                ],
            ),
            u2f,
        ];
        let (blob, root) = write_blob(&dir, 5, entries);
        let aaguid = Aaguid(MODEL_AAGUID).to_string();

        let out = mds_cli("show", &blob, &root, &[aaguid.as_str()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        let v = stdout_json(&out);
        assert_eq!(v["found"], true);
        assert_eq!(v["aaguid"], aaguid.as_str());
        assert_eq!(v["description"], MODEL);
        assert_eq!(v["certification_level"], "L1");
        // The revocation is published but not in force yet.
        assert_eq!(v["effective_statuses"], json!(["FIDO_CERTIFIED_L1"]));
        let reports = v["status_reports"].as_array().unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[1]["status"], "REVOKED");
        assert_eq!(reports[1]["effectiveDate"], "2035-01-01");
        // Upper case is read too; at a time after the revocation it is in force.
        let upper = aaguid.to_uppercase();
        let out = mds_cli(
            "show",
            &blob,
            &root,
            &["--at", "2036-01-01", upper.as_str()],
        );
        let v = stdout_json(&out);
        assert_eq!(
            v["effective_statuses"],
            json!(["FIDO_CERTIFIED_L1", "REVOKED"])
        );
        assert_eq!(v["certification_level"], Value::Null);

        let out = mds_cli("show", &blob, &root, &[key_id.as_str()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        let v = stdout_json(&out);
        assert_eq!(
            v["attestation_certificate_key_identifiers"],
            json!([key_id])
        );
        assert_eq!(v["certification_level"], "Functional");

        let unknown = Aaguid([9; 16]).to_string();
        let out = mds_cli("show", &blob, &root, &[unknown.as_str()]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stdout_json(&out)["found"], false);
    }

    /// A `packed` registration with an x5c chain under `pki`, for the model's AAGUID.
    fn attested_registration(pki: &TestPki, aaguid: [u8; 16]) -> Vec<u8> {
        let mut rng = StdRng::seed_from_u64(11);
        let mut authenticator = SoftwareAuthenticator::new(&mut rng);
        authenticator.aaguid = aaguid;
        authenticator.attestation = pki.packed_attestation(&mut rng, aaguid);
        assert!(matches!(
            authenticator.attestation,
            SoftwareAttestation::Packed { .. }
        ));
        let user = UserEntity {
            id: Base64UrlBytes::new(OWNER_A.to_vec()),
            name: "alice@example.org".to_owned(),
            display_name: "Alice".to_owned(),
        };
        let challenge = Challenge::from_bytes(REG_CHALLENGE.to_vec()).unwrap();
        let (options, _state) = soft_rp().registration_with_challenge(
            challenge,
            T0,
            user,
            RegistrationRequest::default(),
        );
        authenticator.register(&options, ORIGIN)
    }

    fn register_with_mds(blob: &Path, root: &Path, extra: &[&str], response: &[u8]) -> Output {
        let blob = blob.display().to_string();
        let root = root.display().to_string();
        let mut flags = vec!["--mds", blob.as_str(), "--mds-root", root.as_str()];
        flags.extend_from_slice(extra);
        register_cli(&flags, response)
    }

    #[test]
    fn register_with_mds_names_the_authenticator_and_records_hardware_backing() {
        let dir = scratch("mds-register");
        let pki = TestPki::new(&mut StdRng::seed_from_u64(4), FROM, TO);
        let listed = entry(
            MODEL_AAGUID,
            pki.root.der(),
            &[("FIDO_CERTIFIED_L1", "2021-01-02")],
        );
        let (blob, root) = write_blob(&dir, 9, vec![listed]);
        let response = attested_registration(&pki, MODEL_AAGUID);

        let out = register_with_mds(&blob, &root, &[], &response);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        let v = stdout_json(&out);
        assert_eq!(v["authenticator"]["name"], MODEL);
        assert_eq!(v["hardware_backed"], true);
        assert_eq!(v["aaguid"], Aaguid(MODEL_AAGUID).to_string());
        assert_eq!(v["trust"]["hardware_backed"], true);
        assert_eq!(v["trust"]["unknown_authenticator_permitted"], false);
        assert_eq!(v["trust"]["metadata"]["description"], MODEL);
        assert!(v["trust"]["reason"].as_str().unwrap().contains(MODEL));
        // What was printed reads back as a credential, hardware backing included.
        let credential: StoredCredential = serde_json::from_value(v).unwrap();
        assert!(credential.hardware_backed);

        // Without --mds nothing is judged and nothing is claimed.
        let out = register_cli(&[], &response);
        let v = stdout_json(&out);
        assert_eq!(v.get("trust"), None);
        assert_eq!(v.get("hardware_backed"), None);
    }

    #[test]
    fn register_with_mds_refuses_unlisted_and_revoked_authenticators() {
        let dir = scratch("mds-register-refused");
        let pki = TestPki::new(&mut StdRng::seed_from_u64(5), FROM, TO);
        let other_model = entry([0x77; 16], pki.root.der(), &[]);
        let (blob, root) = write_blob(&dir, 10, vec![other_model]);
        let response = attested_registration(&pki, MODEL_AAGUID);

        let out = register_with_mds(&blob, &root, &[], &response);
        assert_refused(&out, "attestation_invalid", "unlisted, strict");
        let out = register_with_mds(&blob, &root, &["--mds-permissive"], &response);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
        let v = stdout_json(&out);
        assert_eq!(v["trust"]["unknown_authenticator_permitted"], true);
        assert_eq!(v["authenticator"]["name"], Value::Null);
        assert_eq!(v.get("hardware_backed"), None);

        let revoked_dir = scratch("mds-register-revoked");
        let revoked = entry(
            MODEL_AAGUID,
            pki.root.der(),
            &[
                ("FIDO_CERTIFIED_L1", "2021-01-02"),
                ("REVOKED", "2022-03-04"),
            ],
        );
        let (blob, root) = write_blob(&revoked_dir, 11, vec![revoked]);
        let out = register_with_mds(&blob, &root, &["--mds-permissive"], &response);
        assert_refused(&out, "attestation_invalid", "revoked model");
        assert!(
            stdout_json(&out)["message"]
                .as_str()
                .unwrap()
                .contains("REVOKED"),
        );

        // A BLOB that does not verify is the caller's configuration error: exit 2.
        let other = TestPki::new(&mut StdRng::seed_from_u64(6), FROM, TO);
        let wrong_root = revoked_dir.join("wrong.pem");
        fs::write(&wrong_root, other.root.pem()).unwrap();
        let out = register_with_mds(&blob, &wrong_root, &[], &response);
        assert_usage_error(&out, "BLOB refused");
        // --mds needs --mds-root.
        let blob_text = blob.display().to_string();
        let out = register_cli(&["--mds", blob_text.as_str()], &response);
        assert_usage_error(&out, "--mds without --mds-root");
    }
}
