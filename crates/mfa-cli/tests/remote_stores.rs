//! `--store postgres://…` and `--store redis://…` against real servers: backup codes issued,
//! redeemed once (also by racing processes), and the PostgreSQL sign-in log. Needs
//! `MFA_POSTGRES_URL` / `MFA_REDIS_URL` (`bash .ci/services cargo test -p mfa-cli`); without them
//! each test says so on stderr and passes.
#![cfg(all(feature = "postgres", feature = "redis"))]

use std::io::Write as _;
use std::process::{Command, Output};
use std::thread;

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .expect("the mfa binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// The server URL in `variable`, or `None` after a notice on stderr itself (the harness would
/// swallow a notice printed from a passing test).
fn server(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "notice: {variable} is not set, so this test passes without running \
                 (run `bash .ci/services cargo test -p mfa-cli`)"
            );
            None
        }
    }
}

/// An account name no other run on the same server uses (the CLI keeps one schema / prefix).
fn account(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or_default();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn issue(store: &str, account: &str, count: &str) -> Vec<String> {
    let out = mfa(&[
        "backup",
        "issue",
        "--store",
        store,
        "--account",
        account,
        "--count",
        count,
        "--danger-low-cost",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

fn redeem(store: &str, account: &str, code: &str) -> Output {
    mfa(&[
        "backup",
        "redeem",
        "--store",
        store,
        "--account",
        account,
        "--country",
        "NZ",
        code,
    ])
}

fn remaining(store: &str, account: &str) -> serde_json::Value {
    let out = mfa(&["backup", "status", "--store", store, "--account", account]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status is JSON");
    status["remaining"].clone()
}

/// Eight processes redeem the same code at once: exactly one is told it worked.
fn race_one_code(store: &str, account: &str, code: &str) {
    let outputs: Vec<Output> = thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| redeem(store, account, code)))
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().expect("racer"))
            .collect()
    });
    let winners = outputs
        .iter()
        .filter(|o| o.status.code() == Some(0))
        .count();
    assert_eq!(winners, 1, "one winner among racing processes");
    for out in outputs.iter().filter(|o| o.status.code() != Some(0)) {
        let (code, stderr) = (out.status.code(), text(&out.stderr));
        assert!(
            (code == Some(1) && stderr.contains("already used"))
                || (code == Some(2) && stderr.contains("nothing was spent")),
            "{code:?} {stderr}"
        );
    }
}

#[test]
fn backup_codes_in_postgres_redeem_once_and_are_logged() {
    let Some(store) = server("MFA_POSTGRES_URL") else {
        return;
    };
    let alice = account("alice");
    let codes = issue(&store, &alice, "4");
    assert_eq!(codes.len(), 4);
    assert_eq!(remaining(&store, &alice), 4);
    let ok = redeem(&store, &alice, &codes[0]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "3");
    assert_eq!(redeem(&store, &alice, &codes[0]).status.code(), Some(1));
    race_one_code(&store, &alice, &codes[1]);
    assert_eq!(remaining(&store, &alice), 2);

    let out = mfa(&[
        "audit",
        "recent",
        "--store",
        &store,
        "--account",
        &alice,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).expect("recent is JSON");
    let events = page["events"].as_array().expect("events");
    let successes = events.iter().filter(|e| e["result"] == "success").count();
    assert_eq!(successes, 2, "two redeems committed: {page}");
    assert_eq!(events.last().expect("the first redeem")["country"], "NZ");
    assert_eq!(events[events.len() - 2]["reason"], "replayed");
    let logged = page.to_string();
    for code in &codes {
        assert!(!logged.contains(code.as_str()), "a code reached the log");
    }
}

#[test]
fn backup_codes_in_redis_redeem_once_and_keep_no_log() {
    let Some(store) = server("MFA_REDIS_URL") else {
        return;
    };
    let bob = account("bob");
    let codes = issue(&store, &bob, "3");
    let ok = redeem(&store, &bob, &codes[0]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(redeem(&store, &bob, &codes[0]).status.code(), Some(1));
    race_one_code(&store, &bob, &codes[1]);
    assert_eq!(remaining(&store, &bob), 1);
    let log = mfa(&["audit", "recent", "--store", &store, "--account", &bob]);
    assert_eq!(log.status.code(), Some(2), "Redis keeps no sign-in log");
}

/// A server that is not there is a one-line usage error naming it, without the password.
#[test]
fn unreachable_servers_are_named_without_their_password() {
    for (store, name) in [
        ("postgres://mfa:s3cret@127.0.0.1:1/mfa", "PostgreSQL"),
        ("redis://:s3cret@127.0.0.1:1/0", "Redis"),
    ] {
        let out = mfa(&["backup", "status", "--store", store, "--account", "a"]);
        assert_eq!(out.status.code(), Some(2), "{store}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(name), "{stderr}");
        assert!(
            !stderr.contains("s3cret"),
            "a password reached stderr: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
