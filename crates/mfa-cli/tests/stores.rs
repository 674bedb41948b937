//! `--store` beyond JSON files: `mfa backup` on SQLite, PostgreSQL and Redis, the sign-in log
//! (`mfa audit`), and the store specs the CLI refuses. The PostgreSQL and Redis tests need
//! `MFA_POSTGRES_URL` / `MFA_REDIS_URL` (`bash .ci/services cargo test -p mfa-cli`); without them
//! they pass without running, after a notice.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::{fs, thread};

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .expect("the mfa binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mfa-cli-stores-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }

    fn sqlite(&self) -> String {
        format!("sqlite:{}", self.0.join("mfa.sqlite3").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
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

fn status(store: &str, account: &str) -> serde_json::Value {
    let out = mfa(&["backup", "status", "--store", store, "--account", account]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status is JSON")
}

fn recent_json(store: &str, account: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "audit",
        "recent",
        "--store",
        store,
        "--account",
        account,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = mfa(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("recent is JSON")
}

#[test]
fn backup_codes_in_sqlite_redeem_once_per_account_and_are_logged() {
    let dir = TempDir::new("backup");
    let store = dir.sqlite();
    let alice = issue(&store, "alice", "4");
    let bob = issue(&store, "bob", "4");
    assert_eq!(alice.len(), 4);
    assert_eq!(status(&store, "alice")["remaining"], 4);

    let redeem = |account: &str, code: &str| {
        mfa(&[
            "backup",
            "redeem",
            "--store",
            &store,
            "--account",
            account,
            "--ip",
            "192.0.2.1",
            "--country",
            "FR",
            "--device",
            "laptop",
            code,
        ])
    };
    let ok = redeem("alice", &alice[0]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "3");
    let replay = redeem("alice", &alice[0]);
    assert_eq!(replay.status.code(), Some(1));
    // One account's code does not open another's set.
    let crossed = redeem("bob", &alice[1]);
    assert_eq!(crossed.status.code(), Some(1));
    assert_eq!(status(&store, "bob")["remaining"], 4);
    assert_eq!(status(&store, "alice")["remaining"], 3);
    assert_eq!(redeem("bob", &bob[0]).status.code(), Some(0));

    let page = recent_json(&store, "alice", &[]);
    let events = page["events"].as_array().unwrap();
    let results: Vec<&str> = events
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["failure", "success"],
        "newest first, alice's only"
    );
    assert_eq!(events[0]["reason"], "replayed");
    assert_eq!(events[1]["method"], "backup_code");
    assert_eq!(events[1]["country"], "FR");
    assert_eq!(events[1]["device"], "laptop");
    assert_eq!(
        events[1]["credential_id"],
        status(&store, "alice")["set_id"]
    );
    let logged = serde_json::to_string(&page).unwrap();
    for code in &alice {
        assert!(!logged.contains(code.as_str()), "a code reached the log");
    }
    assert!(page["next"].is_null());

    // The table form, for a person.
    let table = mfa(&["audit", "recent", "--store", &store, "--account", "bob"]);
    assert_eq!(table.status.code(), Some(0));
    let table = text(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("time (UTC)"));
    assert!(
        lines[1].contains("success") && lines[1].contains("192.0.2.1"),
        "{table}"
    );
    assert!(
        lines[2].contains("failure") && lines[2].contains("backup_code"),
        "{table}"
    );
}

#[test]
fn audit_pages_walk_the_log_with_cursors() {
    let dir = TempDir::new("pages");
    let store = dir.sqlite();
    let codes = issue(&store, "alice", "5");
    for code in &codes {
        assert_eq!(
            mfa(&[
                "backup",
                "redeem",
                "--store",
                &store,
                "--account",
                "alice",
                code
            ])
            .status
            .code(),
            Some(0)
        );
    }
    let mut seen = 0;
    let mut before: Option<String> = None;
    for _ in 0..10 {
        let extra: Vec<&str> = match &before {
            Some(cursor) => vec!["--limit", "2", "--before", cursor.as_str()],
            None => vec!["--limit", "2"],
        };
        let page = recent_json(&store, "alice", &extra);
        seen += page["events"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(cursor) => before = Some(cursor.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 5, "every redemption once");
    let bad = mfa(&[
        "audit",
        "recent",
        "--store",
        &store,
        "--account",
        "a",
        "--before",
        "yesterday",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn audit_purge_keeps_recent_events() {
    let dir = TempDir::new("purge");
    let store = dir.sqlite();
    let codes = issue(&store, "alice", "2");
    let _ = mfa(&[
        "backup",
        "redeem",
        "--store",
        &store,
        "--account",
        "alice",
        &codes[0],
    ]);
    let out = mfa(&[
        "audit",
        "purge",
        "--store",
        &store,
        "--older-than-days",
        "30",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "0", "today's events stay");
    assert_eq!(
        recent_json(&store, "alice", &[])["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Eight processes redeem the same code at once: exactly one is told it worked; the others are
/// refused as used (or, once five replays are counted, as throttled), or told the set changed
/// under them and nothing was spent.
fn race_one_code(store: &str, account: &str, code: &str) {
    let outputs: Vec<Output> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    mfa(&[
                        "backup",
                        "redeem",
                        "--store",
                        store,
                        "--account",
                        account,
                        code,
                    ])
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racing mfa"))
            .collect()
    });
    let winners = outputs
        .iter()
        .filter(|o| o.status.code() == Some(0))
        .count();
    assert_eq!(winners, 1);
    for out in outputs.iter().filter(|o| o.status.code() != Some(0)) {
        let code = out.status.code();
        let stderr = text(&out.stderr);
        assert!(
            (code == Some(1) && stderr.contains("already used"))
                // Replays count as failed attempts: past five, the throttle refuses unchecked.
                || (code == Some(1) && stderr.contains("(throttled)"))
                || (code == Some(2) && stderr.contains("nothing was spent")),
            "{code:?} {stderr}"
        );
    }
}

#[test]
fn concurrent_redemptions_of_one_code_in_sqlite_have_one_winner() {
    let dir = TempDir::new("race");
    let store = dir.sqlite();
    let codes = issue(&store, "alice", "3");
    race_one_code(&store, "alice", &codes[0]);
    assert_eq!(status(&store, "alice")["remaining"], 2);
}

#[test]
fn json_files_keep_their_format_and_have_no_log() {
    let dir = TempDir::new("json");
    let file = dir.0.join("codes.json");
    let file = file.to_str().unwrap();
    let codes = issue(file, "alice", "2");
    let set: serde_json::Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
    assert_eq!(set["account"], "alice", "still the backup-code set format");
    // --account on a JSON file must match the set's account.
    let wrong = mfa(&[
        "backup",
        "redeem",
        "--store",
        file,
        "--account",
        "bob",
        &codes[0],
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    let ok = mfa(&["backup", "redeem", "--store", file, &codes[0]]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let log = mfa(&["audit", "recent", "--store", file, "--account", "alice"]);
    assert_eq!(log.status.code(), Some(2));
    assert!(text(&log.stderr).contains("keeps no sign-in log"));
}

#[test]
fn unbuilt_and_malformed_stores_are_usage_errors() {
    for (store, message) in [
        ("postgres://mfa:s3cret@db.internal/mfa", "PostgreSQL"),
        ("redis://cache:6379/0", "Redis"),
    ] {
        let out = mfa(&["backup", "status", "--store", store, "--account", "a"]);
        assert_eq!(out.status.code(), Some(2), "{store}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(
            !stderr.contains("s3cret"),
            "a password reached stderr: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1);
    }
    for store in ["", "sqlite:", "postgres://"] {
        let out = mfa(&["backup", "status", "--store", store]);
        assert_eq!(out.status.code(), Some(2), "{store:?}");
    }
    let dir = TempDir::new("notdb");
    let path = dir.0.join("not-a-database");
    fs::write(&path, vec![b'z'; 4096]).unwrap();
    let out = mfa(&[
        "backup",
        "status",
        "--store",
        &format!("sqlite:{}", path.display()),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// The server URL in `variable`, or `None` after a notice on stderr itself (the harness would
/// swallow a notice printed from a passing test): run `bash .ci/services cargo test -p mfa-cli`.
#[cfg(all(feature = "postgres", feature = "redis"))]
fn server(variable: &str) -> Option<String> {
    use std::io::Write as _;
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
#[cfg(all(feature = "postgres", feature = "redis"))]
fn fresh_account(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or_default();
    format!("{name}-{}-{nanos}", std::process::id())
}

#[cfg(all(feature = "postgres", feature = "redis"))]
#[test]
fn backup_codes_in_postgres_redeem_once_and_are_logged() {
    let Some(store) = server("MFA_POSTGRES_URL") else {
        return;
    };
    let alice = fresh_account("alice");
    let codes = issue(&store, &alice, "4");
    assert_eq!(codes.len(), 4);
    assert_eq!(status(&store, &alice)["remaining"], 4);
    let redeem = |code: &str| {
        mfa(&[
            "backup",
            "redeem",
            "--store",
            &store,
            "--account",
            &alice,
            "--country",
            "NZ",
            code,
        ])
    };
    let ok = redeem(&codes[0]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "3");
    assert_eq!(redeem(&codes[0]).status.code(), Some(1));
    race_one_code(&store, &alice, &codes[1]);
    assert_eq!(status(&store, &alice)["remaining"], 2);

    let page = recent_json(&store, &alice, &[]);
    let events = page["events"].as_array().unwrap();
    let successes = events.iter().filter(|e| e["result"] == "success").count();
    assert_eq!(successes, 2, "two redeems committed: {page}");
    assert_eq!(events.last().unwrap()["country"], "NZ");
    assert_eq!(events[events.len() - 2]["reason"], "replayed");
    let logged = page.to_string();
    for code in &codes {
        assert!(!logged.contains(code.as_str()), "a code reached the log");
    }
}

#[cfg(all(feature = "postgres", feature = "redis"))]
#[test]
fn backup_codes_in_redis_redeem_once_and_keep_no_log() {
    let Some(store) = server("MFA_REDIS_URL") else {
        return;
    };
    let bob = fresh_account("bob");
    let codes = issue(&store, &bob, "3");
    let redeem = |code: &str| {
        mfa(&[
            "backup",
            "redeem",
            "--store",
            &store,
            "--account",
            &bob,
            code,
        ])
    };
    let ok = redeem(&codes[0]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(redeem(&codes[0]).status.code(), Some(1));
    race_one_code(&store, &bob, &codes[1]);
    assert_eq!(status(&store, &bob)["remaining"], 1);
    let log = mfa(&["audit", "recent", "--store", &store, "--account", &bob]);
    assert_eq!(log.status.code(), Some(2), "Redis keeps no sign-in log");
}

/// A server that is not there is a one-line usage error naming it, without the password.
#[cfg(all(feature = "postgres", feature = "redis"))]
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
