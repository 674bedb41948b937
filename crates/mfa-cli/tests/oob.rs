//! `mfa oob`: send, verify, phones, remove and demo through the binary, against a JSON records
//! file and SQLite, at fixed times (`--time`): every exit code.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap what the test set up"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const T0: u64 = 1_800_000_000;
const UK: &str = "+44 7911 123456";

/// Runs `mfa oob ARGS…` with `--store STORE --account alice --time T` (except for `demo`).
fn oob(store: &str, time: u64, args: &[&str]) -> Output {
    let time = time.to_string();
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .arg("oob")
        .args(args)
        .args(["--store", store, "--account", "alice", "--time", &time])
        .output()
        .expect("the mfa binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 output")
}

/// The JSON line a command printed last.
fn last_json(out: &Output) -> Value {
    let text = stdout(out);
    let line = text.lines().last().expect("a line of output");
    serde_json::from_str(line).expect("a JSON line")
}

/// The code in a printed SMS (its first text line starts with it) or its WebOTP line.
fn code_in(out: &Output) -> String {
    let text = stdout(out);
    let first = text.lines().nth(1).expect("a message line");
    first.split(' ').next().expect("a first word").to_owned()
}

fn send(store: &str, time: u64, to: &str) -> Output {
    oob(store, time, &["send", "--to", to])
}

fn verify(store: &str, time: u64, code: &str) -> Output {
    oob(store, time, &["verify", "--code", code])
}

fn json_store(dir: &Path) -> String {
    dir.join("oob.json")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

#[test]
fn send_prints_the_message_then_verify_enrolls_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = json_store(dir.path());
    let out = oob(
        &store,
        T0,
        &[
            "send",
            "--to",
            UK,
            "--service",
            "Example",
            "--webotp-host",
            "example.com",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let text = stdout(&out);
    let code = code_in(&out);
    assert_eq!(code.len(), 6);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "--- sms to +44 ••• ••• ••56 ---");
    assert_eq!(
        lines[1],
        format!(
            "{code} is your Example verification code. It expires in 5 minutes. Don't share it with anyone."
        )
    );
    assert_eq!(lines[3], format!("@example.com #{code}"));
    let sent = last_json(&out);
    assert_eq!(sent["enrollment"], true);
    assert_eq!(sent["phone"], "phone-1");
    assert_eq!(sent["expires_at"], T0 + 300);
    assert_eq!(sent["resend_at"], T0 + 30);

    let out = verify(&store, T0 + 10, &code);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let verified = last_json(&out);
    assert_eq!(verified["result"], "enrolled");
    assert_eq!(verified["method"], "sms");
    assert_eq!(verified["restricted"], true);

    // The number is enrolled now: the next code is a sign-in code, here by voice.
    let out = oob(
        &store,
        T0 + 3600,
        &["send", "--to", UK, "--channel", "voice"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("--- voice to +44 ••• ••• ••56 ---\n"));
    assert_eq!(last_json(&out)["enrollment"], false);
    let spoken = text
        .split("Your verification code is: ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .expect("the spoken code")
        .replace(' ', "");
    let out = verify(&store, T0 + 3620, &spoken);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(last_json(&out)["result"], "signed_in");
    assert_eq!(last_json(&out)["method"], "voice");

    let out = oob(&store, T0 + 3621, &["phones"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let phones = last_json(&out);
    assert_eq!(phones[0]["id"], "phone-1");
    assert_eq!(phones[0]["last_used_at"], T0 + 3620);
}

#[test]
fn rejections_exit_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = json_store(dir.path());
    // Nothing sent yet.
    let out = verify(&store, T0, "123456");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(not_enrolled)"), "{}", stderr(&out));

    let code = code_in(&send(&store, T0, UK));
    // A resend too soon: exit 1 with the wait.
    let out = send(&store, T0 + 10, UK);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "mfa: send limit of the account reached; retry after 20 s (send_limited)\n"
    );
    assert!(out.stdout.is_empty(), "nothing was sent");
    // The right code in another transaction: refused, and used up.
    let out = oob(
        &store,
        T0 + 11,
        &["verify", "--code", &code, "--transaction", "other"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("(wrong_transaction)"),
        "{}",
        stderr(&out)
    );
    let out = verify(&store, T0 + 12, &code);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("(challenge_not_found)"),
        "{}",
        stderr(&out)
    );

    // A wrong code.
    let code = code_in(&send(&store, T0 + 40, UK));
    let wrong: String = code
        .chars()
        .map(|c| if c == '9' { '0' } else { '9' })
        .collect();
    let out = verify(&store, T0 + 41, &wrong);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(code_mismatch)"), "{}", stderr(&out));

    // An expired code.
    let code = code_in(&send(&store, T0 + 110, UK));
    let out = verify(&store, T0 + 110 + 300, &code);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(expired)"), "{}", stderr(&out));

    // A VoIP number may not receive codes.
    let out = send(&store, T0 + 1000, "+44 56 1234 5678");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("(number_refused)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn malformed_input_exits_2_and_keeps_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = json_store(dir.path());
    for bad in ["+1 800 FLOWERS", "12", "201 555 0123"] {
        let out = send(&store, T0, bad);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("mfa: --to: "), "{}", stderr(&out));
    }
    let code = code_in(&send(&store, T0, UK));
    let out = verify(&store, T0 + 1, "12-34-5");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "mfa: the code is not 6 to 10 digits\n");
    // The typo did not cost the code.
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(verify(&store, T0 + 2, &spaced).status.code(), Some(0));
    // A store file that is something else.
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"hello\": 1}").unwrap();
    let out = verify(other.to_str().unwrap(), T0, "123456");
    assert_eq!(out.status.code(), Some(2));
    // A missing argument.
    let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(["oob", "verify", "--store", &store])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn remove_a_phone() {
    let dir = tempfile::tempdir().unwrap();
    let store = json_store(dir.path());
    let code = code_in(&send(&store, T0, UK));
    assert_eq!(verify(&store, T0 + 1, &code).status.code(), Some(0));
    let out = oob(&store, T0 + 2, &["remove", "--phone", "phone-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(last_json(&out)["id"], "phone-1");
    let out = oob(&store, T0 + 3, &["remove", "--phone", "phone-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&oob(&store, T0 + 4, &["phones"])), "[]\n");
}

#[test]
fn sqlite_keeps_the_codes_and_logs_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("mfa.db").display());
    let code = code_in(&send(&store, T0, UK));
    let out = verify(&store, T0 + 5, &code);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let replay = verify(&store, T0 + 6, &code);
    assert_eq!(replay.status.code(), Some(1));
    let log = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args([
            "audit",
            "recent",
            "--store",
            &store,
            "--account",
            "alice",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(log.status.code(), Some(0), "{}", stderr(&log));
    let events = last_json(&log)["events"].clone();
    assert_eq!(events[0]["result"], "failure");
    assert_eq!(events[0]["reason"], "challenge_not_found");
    assert_eq!(events[1]["result"], "success");
    assert_eq!(events[1]["method"], "sms");
    assert_eq!(events[1]["credential_id"], "phone-1");
}

/// Runs `mfa oob demo`, answering the prompt with what `answer` makes of the printed code.
fn demo(answer: impl Fn(&str) -> String) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(["oob", "demo", "--to", UK, "--webotp-host", "example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mfa binary runs");
    let mut printed = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    let code = loop {
        line.clear();
        assert!(
            printed.read_line(&mut line).unwrap() > 0,
            "the demo ended early"
        );
        if let Some(code) = line.trim_end().strip_prefix("@example.com #") {
            break code.to_owned();
        }
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    writeln!(stdin, "{}", answer(&code)).unwrap();
    drop(stdin);
    let mut out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut printed, &mut rest).unwrap();
    out.stdout = rest.into_bytes();
    out
}

#[test]
fn demo_reads_the_code_from_stdin() {
    let out = demo(str::to_owned);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "Type the code you received: ");
    assert_eq!(last_json(&out)["result"], "enrolled");

    let out = demo(|code| code.chars().rev().chain("0".chars()).collect());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("(code_mismatch)"), "{}", stderr(&out));
}
