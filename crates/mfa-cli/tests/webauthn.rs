//! `mfa webauthn` over every conformance vector in `crates/mfa-webauthn/tests/data/webauthn/`:
//! the flags come from each vector's `rp`, the response goes to stdin, and the exit code and JSON
//! must say what the vector's `expect` says (with the same harness decisions as the library's
//! `tests/vectors.rs`: `rp.appid` means the client reported `appid: true` and is passed as
//! `--appid`; the quarantined vector must come out `bad_signature`).
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
fn usage_errors_exit_two_and_garbage_is_malformed() {
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
    let out = mfa(&base, b"{not json");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "malformed");
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
