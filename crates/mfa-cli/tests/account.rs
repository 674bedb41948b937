//! `mfa account` through the binary, against a JSON records file and SQLite, at fixed times
//! (`--time`): each subcommand's success, refusal (exit 1) and malformed input (exit 2), secrets
//! shown once and read from stdin, and the sign-in log of a database store.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap what the test set up"
)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const T0: u64 = 1_800_000_000;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// Runs `mfa account ARGS… --store STORE --account alice --time T` with `stdin` on standard input.
fn account(store: &str, time: u64, args: &[&str], stdin: &str) -> Output {
    run_mfa(
        &[
            &["account"],
            args,
            &[
                "--store",
                store,
                "--account",
                "alice",
                "--time",
                &time.to_string(),
            ],
        ]
        .concat(),
        stdin,
    )
}

fn run_mfa(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mfa binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 output")
}

/// Asserts the exit code, showing stderr when it differs.
#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    if code == 0 {
        assert!(out.stderr.is_empty(), "{}", stderr(out));
    } else {
        assert!(out.stdout.is_empty(), "{}", stdout(out));
        assert_eq!(stderr(out).lines().count(), 1, "{}", stderr(out));
    }
}

/// The JSON line a command printed last.
fn last_json(out: &Output) -> Value {
    let text = stdout(out);
    let line = text.lines().last().expect("a line of output");
    serde_json::from_str(line).expect("a JSON line")
}

/// A secret printed once: the first of exactly two lines, the second being JSON about it.
fn secret_and_json(out: &Output) -> (String, Value) {
    assert_exit(out, 0);
    let text = stdout(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    (lines[0].to_owned(), serde_json::from_str(lines[1]).unwrap())
}

fn events(value: &Value) -> Vec<String> {
    value["events"]
        .as_array()
        .expect("an events array")
        .iter()
        .map(|event| event.as_str().unwrap().to_owned())
        .collect()
}

/// A JSON records file and an SQLite database in `dir`: every scenario runs on both.
fn stores(dir: &Path) -> [String; 2] {
    [
        dir.join("records.json").to_str().unwrap().to_owned(),
        format!("sqlite:{}", dir.join("mfa.db").to_str().unwrap()),
    ]
}

/// The sign-in log of a database store, newest first.
fn audit_log(store: &str) -> Vec<Value> {
    let out = run_mfa(
        &[
            "audit",
            "recent",
            "--store",
            store,
            "--account",
            "alice",
            "--json",
            "--limit",
            "100",
        ],
        "",
    );
    assert_exit(&out, 0);
    last_json(&out)["events"].as_array().unwrap().clone()
}

fn issue_tap(store: &str, time: u64, extra: &[&str]) -> Output {
    let args = [
        &[
            "tap",
            "issue",
            "--operator",
            "helpdesk-7",
            "--lifetime",
            "1h",
        ][..],
        extra,
    ]
    .concat();
    account(store, time, &args, "")
}

#[test]
fn a_one_time_pass_is_shown_once_and_redeemed_once() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let (pass, issued) = secret_and_json(&issue_tap(&store, T0, &[]));
        // 20 symbols of Crockford base32 in groups of four: 100 bits.
        assert_eq!(pass.len(), 24, "{pass}");
        assert!(pass.split('-').all(|group| group.len() == 4));
        assert_eq!(issued["one_time"], true);
        assert_eq!(issued["starts_at"], T0);
        assert_eq!(issued["expires_at"], T0 + HOUR);
        assert_eq!(issued["lifetime"], "1h");
        assert_eq!(issued["issued_by"], "helpdesk-7");
        assert_eq!(events(&issued), ["tap_issued"]);
        assert!(!issued.to_string().contains(&pass));

        // Read from stdin, as typed: lower case, spaces for dashes, a newline.
        let typed = format!("{}\n", pass.to_lowercase().replace('-', " "));
        let out = account(&store, T0 + 60, &["tap", "redeem"], &typed);
        assert_exit(&out, 0);
        let redeemed = last_json(&out);
        assert_eq!(redeemed["redeemed"], true);
        assert_eq!(redeemed["pass_id"], issued["pass_id"]);
        assert_eq!(redeemed["method"], "temporary_access_pass");
        assert_eq!(redeemed["uses"], 1);
        assert_eq!(redeemed["verified_at"], T0 + 60);
        assert_eq!(redeemed["good_for"][0], "register_security_info");
        assert_eq!(events(&redeemed), ["tap_redeemed", "recovery_sign_in"]);

        let again = account(&store, T0 + 61, &["tap", "redeem"], &typed);
        assert_exit(&again, 1);
        assert!(
            stderr(&again).contains("(tap_invalid)"),
            "{}",
            stderr(&again)
        );
        // The pass appears nowhere else: not in the list, not in the store file.
        let listed = account(&store, T0 + 61, &["tap", "list"], "");
        assert_exit(&listed, 0);
        assert_eq!(last_json(&listed), Value::Array(vec![]));
        let normalized = pass.replace('-', "");
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let path = file.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for needle in [&pass, &normalized] {
                assert!(
                    !bytes
                        .windows(needle.len())
                        .any(|window| window == needle.as_bytes()),
                    "{} holds the pass",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn a_multi_use_pass_works_until_it_expires_and_not_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let start = T0 + HOUR;
        let start_arg = start.to_string();
        let (pass, issued) = secret_and_json(&issue_tap(
            &store,
            T0,
            &["--multi-use", "--start", &start_arg],
        ));
        assert_eq!(issued["one_time"], false);
        assert_eq!(issued["starts_at"], start);
        assert_eq!(issued["expires_at"], start + HOUR);

        let early = account(&store, start - 1, &["tap", "redeem", "--pass", &pass], "");
        assert_exit(&early, 1);
        assert!(stderr(&early).contains("(tap_expired)"));
        for (time, uses) in [(start, 1), (start + 60, 2), (start + HOUR - 1, 3)] {
            let out = account(&store, time, &["tap", "redeem", "--pass", &pass], "");
            assert_exit(&out, 0);
            assert_eq!(last_json(&out)["uses"], uses);
        }
        let listed = account(&store, start + 60, &["tap", "list"], "");
        let listed = last_json(&listed);
        assert_eq!(listed[0]["uses"], 3);
        assert_eq!(listed[0]["valid_now"], true);
        assert_eq!(listed[0]["last_used_at"], start + HOUR - 1);
        let late = account(
            &store,
            start + HOUR,
            &["tap", "redeem", "--pass", &pass],
            "",
        );
        assert_exit(&late, 1);
        assert!(stderr(&late).contains("(tap_expired)"));
    }
}

#[test]
fn a_new_pass_replaces_the_old_and_a_revoked_pass_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let (first, first_json) = secret_and_json(&issue_tap(&store, T0, &[]));
        let (second, second_json) = secret_and_json(&issue_tap(&store, T0 + 1, &[]));
        assert_eq!(events(&second_json), ["tap_revoked", "tap_issued"]);
        let out = account(&store, T0 + 2, &["tap", "redeem", "--pass", &first], "");
        assert_exit(&out, 1);

        let listed = last_json(&account(&store, T0 + 2, &["tap", "list"], ""));
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["pass_id"], second_json["pass_id"]);
        let second_id = second_json["pass_id"].as_str().unwrap();
        let out = account(
            &store,
            T0 + 3,
            &[
                "tap",
                "revoke",
                "--id",
                second_id,
                "--operator",
                "helpdesk-7",
            ],
            "",
        );
        assert_exit(&out, 0);
        assert_eq!(last_json(&out)["revoked"], second_id);
        assert_eq!(events(&last_json(&out)), ["tap_revoked"]);
        let out = account(&store, T0 + 4, &["tap", "redeem", "--pass", &second], "");
        assert_exit(&out, 1);
        // Revoking again, or a pass that never was: exit 1.
        let first_id = first_json["pass_id"].as_str().unwrap();
        for id in [second_id, first_id, "no-such-pass"] {
            let out = account(&store, T0 + 5, &["tap", "revoke", "--id", id], "");
            assert_exit(&out, 1);
            assert!(stderr(&out).contains("(tap_invalid)"));
        }
    }
}

#[test]
fn malformed_tap_input_exits_2_and_issues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let issue =
            |args: &[&str]| account(&store, T0, &[&["tap", "issue"][..], args].concat(), "");
        for args in [
            &["--operator", "helpdesk-7", "--lifetime", "5x"][..],
            &["--operator", "helpdesk-7", "--lifetime", "-1h"],
            &["--operator", "helpdesk-7", "--lifetime", "1.5h"],
            // Outside the policy's 10 minutes to 30 days.
            &["--operator", "helpdesk-7", "--lifetime", "9m"],
            &["--operator", "helpdesk-7", "--lifetime", "31d"],
            // Starting further ahead than a pass may last.
            &[
                "--operator",
                "helpdesk-7",
                "--start",
                &(T0 + 31 * DAY).to_string(),
            ],
            &["--operator", "helpdesk-7", "--one-time", "--multi-use"],
            &["--operator", ""],
            &["--operator", "help\ndesk"],
            &["--lifetime", "1h"],
            &["--operator", "helpdesk-7", "--start", "soon"],
        ] {
            let out = issue(args);
            assert_exit(&out, 2);
            assert!(
                stderr(&out).starts_with("mfa: "),
                "{args:?}: {}",
                stderr(&out)
            );
        }
        let listed = account(&store, T0, &["tap", "list"], "");
        assert_eq!(last_json(&listed), Value::Array(vec![]));
        let out = account(
            &store,
            T0,
            &["tap", "issue", "--operator", "o", "--lifetime", "9m"],
            "",
        );
        assert!(stderr(&out).contains("10m to 30d"), "{}", stderr(&out));

        // Redeem: nothing on stdin, an empty --pass, an overlong line.
        for (args, stdin) in [
            (&["tap", "redeem"][..], ""),
            (&["tap", "redeem"], "\n"),
            (&["tap", "redeem", "--pass", ""], ""),
            (&["tap", "redeem"], &"A".repeat(2000)),
        ] {
            let out = account(&store, T0, args, stdin);
            assert_exit(&out, 2);
        }
        // A pass that is merely wrong is a refusal, not malformed input.
        for wrong in ["AAAA-BBBB-CCCC-DDDD-EEEE", "not a pass!", "ÄÖÜ"] {
            let out = account(&store, T0, &["tap", "redeem"], wrong);
            assert_exit(&out, 1);
            assert!(stderr(&out).contains("(tap_invalid)"));
        }
    }
}

#[test]
fn app_passwords_work_for_legacy_clients_only_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let create = |name: &str, time: u64| {
            secret_and_json(&account(
                &store,
                time,
                &["app-password", "create", "--name", name],
                "",
            ))
        };
        let (password, created) = create("Thunderbird", T0);
        // 20 lower-case symbols in groups of four, for typing into a mail client: 100 bits.
        assert_eq!(password.len(), 24, "{password}");
        assert!(password.split(' ').all(|group| group.len() == 4));
        assert_eq!(created["name"], "Thunderbird");
        assert_eq!(created["created_at"], T0);
        assert_eq!(events(&created), ["app_password_created"]);
        let id = created["id"].as_str().unwrap().to_owned();

        let check = |time: u64, client: &str, typed: &str| {
            account(
                &store,
                time,
                &["app-password", "check", "--client", client],
                typed,
            )
        };
        let out = check(T0 + 10, "legacy", &format!("{password}\n"));
        assert_exit(&out, 0);
        let accepted = last_json(&out);
        assert_eq!(accepted["accepted"], true);
        assert_eq!(accepted["id"], id.as_str());
        assert_eq!(accepted["name"], "Thunderbird");
        assert_eq!(accepted["method"], "password");
        assert_eq!(accepted["previously_used_at"], Value::Null);
        // The default client is legacy, and --password works for scripts.
        let out = account(
            &store,
            T0 + 20,
            &["app-password", "check", "--password", &password],
            "",
        );
        assert_exit(&out, 0);
        assert_eq!(last_json(&out)["previously_used_at"], T0 + 10);

        for client in ["browser", "mobile-desktop"] {
            let out = check(T0 + 30, client, &password);
            assert_exit(&out, 1);
            assert!(
                stderr(&out).contains("(not_legacy_client)"),
                "{}",
                stderr(&out)
            );
        }
        let out = check(T0 + 30, "legacy", "abcd efgh jkmn pqrs tvwx");
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("(app_password_invalid)"));

        let listed = last_json(&account(&store, T0 + 40, &["app-password", "list"], ""));
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["id"], id.as_str());
        assert_eq!(listed[0]["last_used_at"], T0 + 20);
        assert!(!listed.to_string().contains(&password));

        let out = account(
            &store,
            T0 + 50,
            &["app-password", "revoke", "--id", &id],
            "",
        );
        assert_exit(&out, 0);
        assert_eq!(events(&last_json(&out)), ["app_password_revoked"]);
        let out = check(T0 + 60, "legacy", &password);
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("(app_password_invalid)"));
        let out = account(
            &store,
            T0 + 60,
            &["app-password", "revoke", "--id", &id],
            "",
        );
        assert_exit(&out, 1);

        // Revoke all: both new ones stop working at once.
        let (one, _) = create("IMAP", T0 + 70);
        let (two, _) = create("SMTP", T0 + 71);
        let out = account(
            &store,
            T0 + 80,
            &[
                "app-password",
                "revoke",
                "--all",
                "--operator",
                "helpdesk-7",
            ],
            "",
        );
        assert_exit(&out, 0);
        let revoked = last_json(&out);
        assert_eq!(revoked["revoked_all"], 2);
        assert_eq!(events(&revoked), ["app_passwords_revoked_all"]);
        for password in [one, two] {
            assert_exit(&check(T0 + 90, "legacy", &password), 1);
        }
        let listed = last_json(&account(&store, T0 + 90, &["app-password", "list"], ""));
        assert_eq!(listed, Value::Array(vec![]));
    }
}

#[test]
fn malformed_app_password_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let long_name = "n".repeat(65);
        for (args, stdin) in [
            (&["app-password", "create", "--name", ""][..], ""),
            (&["app-password", "create", "--name", "   "], ""),
            (&["app-password", "create", "--name", &long_name], ""),
            (&["app-password", "create"], ""),
            (&["app-password", "revoke"], ""),
            (&["app-password", "revoke", "--id", "x", "--all"], ""),
            (&["app-password", "check", "--client", "imap"], "abcd"),
            (&["app-password", "check"], ""),
            (&["app-password", "check", "--password", " "], ""),
        ] {
            let out = account(&store, T0, args, stdin);
            assert_exit(&out, 2);
        }
        let listed = last_json(&account(&store, T0, &["app-password", "list"], ""));
        assert_eq!(listed, Value::Array(vec![]));
    }
}

#[test]
fn signout_all_bumps_the_epoch_and_forgets_remembered_devices() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let session = |time: u64, epoch: &str| {
            account(&store, time, &["session", "check", "--epoch", epoch], "")
        };
        let out = session(T0, "0");
        assert_exit(&out, 0);
        assert_eq!(last_json(&out)["valid"], true);

        let (token, remembered) = secret_and_json(&account(
            &store,
            T0,
            &[
                "remember",
                "add",
                "--label",
                "Firefox on the laptop",
                "--lifetime",
                "7d",
            ],
            "",
        ));
        assert_eq!(remembered["expires_at"], T0 + 7 * DAY);
        assert_eq!(events(&remembered), ["device_remembered"]);
        let out = account(&store, T0 + 60, &["remember", "check"], &token);
        assert_exit(&out, 0);
        assert_eq!(last_json(&out)["remembered_until"], T0 + 7 * DAY);
        let listed = last_json(&account(&store, T0 + 60, &["remember", "list"], ""));
        assert_eq!(listed[0]["label"], "Firefox on the laptop");
        assert!(!listed.to_string().contains(&token));

        let out = account(&store, T0 + 120, &["signout-all"], "");
        assert_exit(&out, 0);
        let signed_out = last_json(&out);
        assert_eq!(signed_out["epoch"], 1);
        assert_eq!(events(&signed_out), ["signed_out_everywhere"]);

        let out = session(T0 + 121, "0");
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("(session_revoked)"));
        assert_exit(&session(T0 + 121, "1"), 0);
        // A session claiming an epoch the store has not reached fails closed.
        assert_exit(&session(T0 + 121, "2"), 1);
        let out = account(
            &store,
            T0 + 121,
            &["remember", "check", "--token", &token],
            "",
        );
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("(remembered_invalid)"));
        let listed = last_json(&account(&store, T0 + 121, &["remember", "list"], ""));
        assert_eq!(listed, Value::Array(vec![]));

        // An operator can do it too; the epoch moves on again.
        let out = account(
            &store,
            T0 + 200,
            &["signout-all", "--operator", "helpdesk-7"],
            "",
        );
        assert_exit(&out, 0);
        assert_eq!(last_json(&out)["epoch"], 2);
    }
}

#[test]
fn remembered_devices_expire_and_can_be_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let add = |time: u64, label: &str| {
            secret_and_json(&account(
                &store,
                time,
                &["remember", "add", "--label", label, "--lifetime", "1h"],
                "",
            ))
        };
        let (token, _) = add(T0, "old");
        let out = account(&store, T0 + HOUR, &["remember", "check"], &token);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("(remembered_expired)"),
            "{}",
            stderr(&out)
        );

        let (token, added) = add(T0, "laptop");
        let id = added["id"].as_str().unwrap();
        let out = account(&store, T0 + 1, &["remember", "forget", "--id", id], "");
        assert_exit(&out, 0);
        assert_eq!(events(&last_json(&out)), ["remembered_device_forgotten"]);
        assert_exit(&account(&store, T0 + 2, &["remember", "check"], &token), 1);
        assert_exit(
            &account(&store, T0 + 2, &["remember", "forget", "--id", id], ""),
            1,
        );

        for (args, stdin) in [
            (
                &["remember", "add", "--label", "x", "--lifetime", "91d"][..],
                "",
            ),
            (&["remember", "add", "--label", "x", "--lifetime", "0s"], ""),
            (&["remember", "add", "--label", ""], ""),
            (&["remember", "check"], ""),
            (&["session", "check", "--epoch", "-1"], ""),
            (&["session", "check"], ""),
        ] {
            assert_exit(&account(&store, T0, args, stdin), 2);
        }
        let out = account(
            &store,
            T0,
            &["remember", "add", "--label", "x", "--lifetime", "91d"],
            "",
        );
        assert!(stderr(&out).contains("at most 90d"), "{}", stderr(&out));
        // A token that is not one is unknown, not malformed: the service cannot tell.
        assert_exit(&account(&store, T0, &["remember", "check"], "garbage"), 1);
    }
}

#[test]
fn a_database_store_logs_every_change_and_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let [json_store, store] = stores(dir.path());
    let (pass, issued) = secret_and_json(&issue_tap(&store, T0, &[]));
    assert_exit(
        &account(&store, T0 + 1, &["tap", "redeem"], "WRONG-PASS"),
        1,
    );
    assert_exit(&account(&store, T0 + 2, &["tap", "redeem"], &pass), 0);
    let (password, created) = secret_and_json(&account(
        &store,
        T0 + 3,
        &["app-password", "create", "--name", "IMAP"],
        "",
    ));
    assert_exit(
        &account(
            &store,
            T0 + 4,
            &["app-password", "check", "--client", "browser"],
            &password,
        ),
        1,
    );
    assert_exit(
        &account(&store, T0 + 5, &["app-password", "check"], &password),
        0,
    );
    assert_exit(
        &account(
            &store,
            T0 + 6,
            &["signout-all", "--operator", "helpdesk-7"],
            "",
        ),
        0,
    );

    let mut log = audit_log(&store);
    log.reverse();
    let summary: Vec<(String, String)> = log
        .iter()
        .map(|event| {
            let reason = event["reason"].as_str().unwrap_or("-").to_owned();
            (event["result"].as_str().unwrap().to_owned(), reason)
        })
        .collect();
    let expected = [
        ("success", "tap_issued"),
        ("failure", "tap_invalid"),
        ("success", "tap_redeemed"),
        ("success", "recovery_sign_in"),
        ("success", "app_password_created"),
        ("failure", "not_legacy_client"),
        ("success", "-"),
        ("success", "signed_out_everywhere"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(result, reason)| ((*result).to_owned(), (*reason).to_owned()))
        .collect();
    assert_eq!(summary, expected);
    assert_eq!(log[0]["credential_id"], issued["pass_id"]);
    assert_eq!(log[0]["method"], "temporary_access_pass");
    assert_eq!(log[0]["policy_decision_id"], "operator:helpdesk-7");
    assert_eq!(log[6]["credential_id"], created["id"]);
    assert_eq!(log[6]["method"], "password");
    assert_eq!(log[7]["policy_decision_id"], "operator:helpdesk-7");
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&pass) && !text.contains(&password));

    // A JSON records file keeps no log; its commands work the same.
    assert_exit(&issue_tap(&json_store, T0, &[]), 0);
    let out = run_mfa(
        &[
            "audit",
            "recent",
            "--store",
            &json_store,
            "--account",
            "alice",
        ],
        "",
    );
    assert_exit(&out, 2);
}

#[test]
fn bad_stores_and_accounts_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_store = dir.path().join("codes.json");
    std::fs::write(&not_a_store, br#"{"account": "alice", "codes": []}"#).unwrap();
    let not_a_store = not_a_store.to_str().unwrap();
    for store in ["sqlite:", not_a_store] {
        let out = account(store, T0, &["tap", "list"], "");
        assert_exit(&out, 2);
    }
    let store = dir.path().join("records.json");
    let store = store.to_str().unwrap();
    for name in ["", "a\u{7}b"] {
        let out = run_mfa(
            &[
                "account",
                "tap",
                "list",
                "--store",
                store,
                "--account",
                name,
            ],
            "",
        );
        assert_exit(&out, 2);
    }
    let out = run_mfa(&["account", "tap"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = run_mfa(&["account", "--help"], "");
    assert_exit(&out, 0);
    for command in [
        "methods",
        "reset",
        "tap",
        "app-password",
        "signout-all",
        "session",
        "remember",
    ] {
        assert!(stdout(&out).contains(command), "{command}");
    }
}

// ---- Security info (methods) and the help-desk reset -------------------------------------------
//
// Methods are added by a factor's enrollment and first check, which is a service's job, not the
// CLI's: the tests register them through the library in a memory store, as a service would, and
// copy the records into the JSON records file or SQLite database the binary then works on.

mod seeded {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use mfa_account::store::{METHOD_KIND, PROFILE_KIND};
    use mfa_account::{
        AccountPolicy, Confirmation, FactorRef, MethodEntry, MethodKind, NoEvents, begin_add,
        confirm_add,
    };
    use mfa_core::{Evidence, MemoryStore, Method, NewRecord, RecordKey, Store, UnixTime};
    use serde_json::json;

    /// The record kinds a seeded account has.
    const KINDS: [&str; 3] = [PROFILE_KIND, METHOD_KIND, mfa_backup::RECORD_KIND];

    /// An authenticator app's TOTP credential (the library's test shape: no secret needed).
    pub(crate) const TOTP: &str = "phone-app";
    /// A hardware security key's credential id (base64url).
    pub(crate) const KEY: &str = "c2VjdXJpdHkta2V5";

    pub(crate) fn totp_evidence(now: UnixTime) -> Evidence {
        Evidence::new(Method::Totp, now, TOTP)
    }

    pub(crate) fn key_evidence(now: UnixTime) -> Evidence {
        Evidence::new(Method::WebAuthn, now, KEY)
            .user_verified(true)
            .device_bound(true)
            .hardware_backed(true)
    }

    /// Registers a method whose first check produced `proof`, as a service would.
    pub(crate) fn add(
        store: &MemoryStore,
        kind: MethodKind,
        name: &str,
        factor: FactorRef,
        proof: &Evidence,
    ) -> MethodEntry {
        let policy = AccountPolicy::default();
        let now = proof.verified_at;
        let pending =
            begin_add(store, &policy, "alice", kind, name, now, &mut rand::rng()).unwrap();
        let confirmation = Confirmation {
            pending_id: &pending.id,
            factor: &factor,
            proof,
            providers: None,
        };
        confirm_add(store, &policy, &NoEvents, "alice", confirmation, now).unwrap()
    }

    pub(crate) fn add_totp(store: &MemoryStore, now: UnixTime) -> MethodEntry {
        let factor = FactorRef::Totp {
            credential_id: TOTP.into(),
        };
        add(
            store,
            MethodKind::Totp,
            "Phone",
            factor,
            &totp_evidence(now),
        )
    }

    pub(crate) fn add_key(store: &MemoryStore, now: UnixTime) -> MethodEntry {
        let factor = FactorRef::WebAuthn {
            credential_id: KEY.into(),
            aaguid: None,
        };
        add(
            store,
            MethodKind::WebAuthn,
            "Key",
            factor,
            &key_evidence(now),
        )
    }

    pub(crate) fn add_backup_codes(store: &MemoryStore, now: UnixTime) -> MethodEntry {
        let issue = mfa_backup::IssuePolicy {
            count: 2,
            ..mfa_backup::IssuePolicy::default()
        };
        let (entry, _codes) = mfa_account::add_backup_codes(
            store,
            &AccountPolicy::default(),
            &NoEvents,
            "alice",
            &issue,
            now,
            &mut rand::rng(),
        )
        .unwrap();
        entry
    }

    /// Copies alice's records from `memory` into `store` (`sqlite:PATH` or a JSON records file,
    /// written in its `mfa-records/1` format).
    pub(crate) fn copy(memory: &MemoryStore, store: &str) {
        let mut records: Vec<(RecordKey, mfa_core::StoredRecord)> = KINDS
            .iter()
            .flat_map(|kind| memory.list(kind, "alice").unwrap())
            .collect();
        records.sort_by(|(a, _), (b, _)| a.cmp(b));
        if let Some(path) = store.strip_prefix("sqlite:") {
            let sqlite = mfa_store::SqliteStore::open(path).unwrap();
            for (key, record) in &records {
                let new = NewRecord::new(&record.value).with_expiry(record.expires_at);
                let outcome = sqlite.compare_and_swap(key, None, Some(new)).unwrap();
                assert!(matches!(outcome, mfa_core::SwapOutcome::Committed(_)));
            }
            return;
        }
        let listed: Vec<_> = records
            .iter()
            .zip(1_u64..)
            .map(|((key, record), version)| {
                json!({
                    "kind": key.kind(),
                    "account": key.account(),
                    "id": key.id(),
                    "version": version,
                    "value": URL_SAFE_NO_PAD.encode(&record.value[..]),
                })
            })
            .collect();
        let file = json!({
            "format": "mfa-records/1",
            "last_version": listed.len(),
            "records": listed,
        });
        std::fs::write(store, file.to_string()).unwrap();
    }

    /// Whether `store` holds alice's backup-code set (the factor's own state).
    pub(crate) fn has_backup_codes(store: &str) -> bool {
        let key = mfa_backup::record_key("alice");
        match store.strip_prefix("sqlite:") {
            Some(path) => mfa_store::SqliteStore::open(path)
                .unwrap()
                .load(&key)
                .unwrap()
                .is_some(),
            None => {
                let file: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(store).unwrap()).unwrap();
                file["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|record| record["kind"] == key.kind() && record["account"] == "alice")
            }
        }
    }
}

fn methods(store: &str, time: u64) -> Value {
    let out = account(store, time, &["methods", "list"], "");
    assert_exit(&out, 0);
    last_json(&out)
}

fn method_ids(listed: &Value) -> Vec<String> {
    listed["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|method| method["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A file in `dir` holding `text`, by path.
fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn methods_list_rename_and_default() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let empty = methods(&store, T0);
        assert_eq!(empty["methods"], Value::Array(vec![]));
        assert_eq!(empty["default_method"], Value::Null);
        // MFA is off for alice (the default state): nothing to register.
        assert_eq!(empty["registration"]["step"], "not_needed");

        let memory = mfa_core::MemoryStore::new();
        let now = mfa_core::UnixTime::from_secs(T0);
        let totp = seeded::add_totp(&memory, now);
        let codes = seeded::add_backup_codes(&memory, mfa_core::UnixTime::from_secs(T0 + 1));
        seeded::copy(&memory, &store);

        let listed = methods(&store, T0 + 10);
        assert_eq!(method_ids(&listed), [totp.id.as_str(), codes.id.as_str()]);
        let first = &listed["methods"][0];
        assert_eq!(first["kind"], "totp");
        assert_eq!(first["name"], "Phone");
        assert_eq!(first["default"], true);
        assert_eq!(first["created_at"], T0);
        assert_eq!(first["last_used_at"], Value::Null);
        assert_eq!(first["aal"], 2);
        assert_eq!(listed["methods"][1]["kind"], "backup_codes");
        assert_eq!(listed["methods"][1]["name"], "Backup codes");
        assert_eq!(listed["methods"][1]["default"], false);
        assert_eq!(listed["default_method"], totp.id.as_str());

        let codes_id = codes.id.as_str();
        let out = account(
            &store,
            T0 + 20,
            &[
                "methods",
                "rename",
                "--id",
                codes_id,
                "--name",
                "  Printed codes ",
            ],
            "",
        );
        assert_exit(&out, 0);
        let renamed = last_json(&out);
        assert_eq!(renamed["method"]["name"], "Printed codes");
        assert_eq!(events(&renamed), ["method_renamed"]);

        let out = account(
            &store,
            T0 + 30,
            &["methods", "default", "--id", codes_id],
            "",
        );
        assert_exit(&out, 0);
        let changed = last_json(&out);
        assert_eq!(changed["method"]["default"], true);
        assert_eq!(events(&changed), ["default_method_changed"]);
        // Already the default: nothing changes, no event.
        let out = account(
            &store,
            T0 + 31,
            &["methods", "default", "--id", codes_id],
            "",
        );
        assert_exit(&out, 0);
        assert_eq!(events(&last_json(&out)), Vec::<String>::new());
        let listed = methods(&store, T0 + 40);
        assert_eq!(listed["default_method"], codes_id);
        assert_eq!(listed["methods"][1]["name"], "Printed codes");

        // An id no method has: exit 1; one no method can have, or a bad name: exit 2.
        let unknown = "AAAAAAAAAAAAAAAAAAAAAA";
        for args in [
            &["methods", "rename", "--id", unknown, "--name", "x"][..],
            &["methods", "default", "--id", unknown],
            &["methods", "remove", "--id", unknown],
        ] {
            let out = account(&store, T0 + 50, args, "");
            assert_exit(&out, 1);
            assert!(
                stderr(&out).contains("(method_not_found)"),
                "{}",
                stderr(&out)
            );
        }
        let long_name = "n".repeat(65);
        for args in [
            &["methods", "rename", "--id", "not an id!", "--name", "x"][..],
            &["methods", "default", "--id", ""],
            &["methods", "rename", "--id", codes_id, "--name", ""],
            &["methods", "rename", "--id", codes_id, "--name", &long_name],
            &["methods", "rename", "--id", codes_id],
            &["methods", "list", "--id", codes_id],
        ] {
            assert_exit(&account(&store, T0 + 50, args, ""), 2);
        }
        assert_eq!(
            methods(&store, T0 + 60)["methods"][1]["name"],
            "Printed codes"
        );
    }
}

#[test]
fn removing_a_lost_phone_keeps_the_backup_codes_and_deletes_the_factor_state() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let memory = mfa_core::MemoryStore::new();
        let totp = seeded::add_totp(&memory, mfa_core::UnixTime::from_secs(T0));
        let codes = seeded::add_backup_codes(&memory, mfa_core::UnixTime::from_secs(T0 + 1));
        seeded::copy(&memory, &store);
        assert!(seeded::has_backup_codes(&store));

        // The default session (a password and the default method, the phone) removes the phone:
        // the backup codes still meet "MFA for every sign-in".
        let out = account(
            &store,
            T0 + 60,
            &["methods", "remove", "--id", totp.id.as_str()],
            "",
        );
        assert_exit(&out, 0);
        let removed = last_json(&out);
        assert_eq!(removed["removed"]["id"], totp.id.as_str());
        assert_eq!(removed["removed"]["kind"], "totp");
        assert_eq!(removed["session"], serde_json::json!(["password", "totp"]));
        assert_eq!(events(&removed), ["method_removed"]);
        let listed = methods(&store, T0 + 61);
        assert_eq!(method_ids(&listed), [codes.id.as_str()]);
        assert_eq!(listed["default_method"], Value::Null);

        // The last method that meets the policy stays, whatever the session proved.
        let session = file(
            dir.path(),
            "codes-session.json",
            &serde_json::to_string(&[
                mfa_core::Evidence::new(
                    mfa_core::Method::Password,
                    mfa_core::UnixTime::from_secs(T0 + 70),
                    "password",
                ),
                mfa_core::Evidence::new(
                    mfa_core::Method::BackupCode,
                    mfa_core::UnixTime::from_secs(T0 + 70),
                    codes.id.as_str(),
                ),
            ])
            .unwrap(),
        );
        let remove_codes = |extra: &[&str]| {
            let args = [&["methods", "remove", "--id", codes.id.as_str()][..], extra].concat();
            account(&store, T0 + 70, &args, "")
        };
        let out = remove_codes(&["--session", &session]);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("(last_strong_method)"),
            "{}",
            stderr(&out)
        );
        assert!(seeded::has_backup_codes(&store));

        // A policy that asks nothing of the security-info page lets it go, with its state.
        let payroll_only = file(
            dir.path(),
            "payroll.toml",
            "[[policies]]\nname = \"payroll\"\nassignments.applications.include = [\"payroll\"]\ngrant = { authentication_strength = \"mfa\" }\n",
        );
        // … unless the usual sign-in (--context) is the payroll one.
        let context = file(
            dir.path(),
            "payroll-context.json",
            &serde_json::to_string(
                &mfa_policy::SignInContext::builder(
                    "alice",
                    "payroll",
                    mfa_core::UnixTime::from_secs(T0 + 70),
                )
                .evidence(mfa_core::Evidence::new(
                    mfa_core::Method::Password,
                    mfa_core::UnixTime::from_secs(T0 + 70),
                    "password",
                ))
                .build(),
            )
            .unwrap(),
        );
        let out = remove_codes(&[
            "--session",
            &session,
            "--policy",
            &payroll_only,
            "--context",
            &context,
        ]);
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("(last_strong_method)"));
        let out = remove_codes(&["--session", &session, "--policy", &payroll_only]);
        assert_exit(&out, 0);
        assert_eq!(methods(&store, T0 + 71)["methods"], Value::Array(vec![]));
        assert!(
            !seeded::has_backup_codes(&store),
            "the codes' state goes too"
        );
    }
}

#[test]
fn a_weaker_session_cannot_remove_a_security_key() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let memory = mfa_core::MemoryStore::new();
        let now = mfa_core::UnixTime::from_secs(T0);
        let totp = seeded::add_totp(&memory, now);
        let key = seeded::add_key(&memory, now);
        seeded::copy(&memory, &store);
        let listed = methods(&store, T0);
        let aal = |id: &str| {
            listed["methods"]
                .as_array()
                .unwrap()
                .iter()
                .find(|method| method["id"] == id)
                .map(|method| method["aal"].clone())
        };
        assert_eq!(aal(key.id.as_str()), Some(serde_json::json!(3)));
        assert_eq!(aal(totp.id.as_str()), Some(serde_json::json!(2)));

        // Default session: password + the phone (AAL2) may not remove the key (AAL3).
        let remove_key = |extra: &[&str]| {
            let args = [&["methods", "remove", "--id", key.id.as_str()][..], extra].concat();
            account(&store, T0 + 60, &args, "")
        };
        let out = remove_key(&[]);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("(weakens_assurance)"),
            "{}",
            stderr(&out)
        );
        let later = mfa_core::UnixTime::from_secs(T0 + 60);
        let key_session = file(
            dir.path(),
            "key-session.json",
            &serde_json::to_string(&[
                mfa_core::Evidence::new(mfa_core::Method::Password, later, "password"),
                seeded::key_evidence(later),
            ])
            .unwrap(),
        );
        let out = remove_key(&["--session", &key_session]);
        assert_exit(&out, 0);
        assert_eq!(events(&last_json(&out)), ["method_removed"]);
        assert_eq!(method_ids(&methods(&store, T0 + 61)), [totp.id.as_str()]);
    }
}

#[test]
fn malformed_removal_files_exit_2_and_remove_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let memory = mfa_core::MemoryStore::new();
        let now = mfa_core::UnixTime::from_secs(T0);
        seeded::add_totp(&memory, now);
        let codes = seeded::add_backup_codes(&memory, now);
        seeded::copy(&memory, &store);
        let missing = dir.path().join("missing.json");
        let missing = missing.to_str().unwrap();
        let not_json = file(dir.path(), "not.json", "{ not json");
        let not_policy = file(dir.path(), "not-policy.toml", "[[policies]]\nnom = 1\n");
        let too_many = serde_json::to_string(&vec![
            mfa_core::Evidence::new(
                mfa_core::Method::Password,
                now,
                "password"
            );
            33
        ])
        .unwrap();
        let too_many = file(dir.path(), "too-many.json", &too_many);
        let huge = file(
            dir.path(),
            "huge.json",
            &" ".repeat(mfa_policy::MAX_INPUT_LEN + 1),
        );
        for (flag, path) in [
            ("--policy", missing),
            ("--policy", &not_json),
            ("--policy", &not_policy),
            ("--policy", &huge),
            ("--context", &not_json),
            ("--context", &not_policy),
            ("--session", &not_json),
            ("--session", &not_policy),
            ("--session", &too_many),
            ("--session", missing),
        ] {
            let out = account(
                &store,
                T0 + 60,
                &["methods", "remove", "--id", codes.id.as_str(), flag, path],
                "",
            );
            assert_exit(&out, 2);
        }
        assert_eq!(method_ids(&methods(&store, T0 + 60)).len(), 2);
    }
}

#[test]
fn a_help_desk_reset_clears_everything_and_requires_registration() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()) {
        let memory = mfa_core::MemoryStore::new();
        let now = mfa_core::UnixTime::from_secs(T0);
        seeded::add_totp(&memory, now);
        seeded::add_key(&memory, now);
        seeded::add_backup_codes(&memory, now);
        seeded::copy(&memory, &store);
        let (password, _) = secret_and_json(&account(
            &store,
            T0,
            &["app-password", "create", "--name", "IMAP"],
            "",
        ));
        let (token, _) = secret_and_json(&account(
            &store,
            T0,
            &["remember", "add", "--label", "laptop"],
            "",
        ));

        assert_exit(&account(&store, T0, &["reset"], ""), 2);
        assert_exit(&account(&store, T0, &["reset", "--operator", ""], ""), 2);
        let out = account(&store, T0 + 60, &["reset", "--operator", "helpdesk-7"], "");
        assert_exit(&out, 0);
        let reset = last_json(&out);
        assert_eq!(reset["operator"], "helpdesk-7");
        assert_eq!(reset["methods_removed"], 3);
        assert_eq!(reset["remembered_removed"], 1);
        assert_eq!(reset["app_passwords_revoked"], 1);
        assert_eq!(reset["epoch"], 1);
        assert_eq!(reset["registration"]["step"], "required");
        assert_eq!(reset["registration"]["reason"], "help_desk_reset");
        assert_eq!(
            events(&reset),
            ["re_registration_required", "app_passwords_revoked_all"]
        );

        let listed = methods(&store, T0 + 61);
        assert_eq!(listed["methods"], Value::Array(vec![]));
        assert_eq!(listed["registration"]["step"], "required");
        assert!(!seeded::has_backup_codes(&store));
        assert_exit(
            &account(&store, T0 + 61, &["session", "check", "--epoch", "0"], ""),
            1,
        );
        assert_exit(
            &account(&store, T0 + 61, &["app-password", "check"], &password),
            1,
        );
        assert_exit(&account(&store, T0 + 61, &["remember", "check"], &token), 1);

        // A pass is how the user gets back in to register again.
        let (pass, _) = secret_and_json(&issue_tap(&store, T0 + 120, &[]));
        assert_exit(&account(&store, T0 + 180, &["tap", "redeem"], &pass), 0);
    }
}

#[test]
fn a_database_store_logs_method_changes_and_the_reset_with_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let [_, store] = stores(dir.path());
    let memory = mfa_core::MemoryStore::new();
    let now = mfa_core::UnixTime::from_secs(T0);
    let totp = seeded::add_totp(&memory, now);
    let codes = seeded::add_backup_codes(&memory, now);
    seeded::copy(&memory, &store);
    let (totp_id, codes_id) = (totp.id.as_str(), codes.id.as_str());
    assert_exit(
        &account(
            &store,
            T0 + 1,
            &["methods", "rename", "--id", codes_id, "--name", "Paper"],
            "",
        ),
        0,
    );
    assert_exit(
        &account(&store, T0 + 2, &["methods", "remove", "--id", totp_id], ""),
        0,
    );
    assert_exit(
        &account(
            &store,
            T0 + 3,
            &["methods", "default", "--id", codes_id],
            "",
        ),
        0,
    );
    assert_exit(
        &account(&store, T0 + 4, &["reset", "--operator", "helpdesk-7"], ""),
        0,
    );

    let mut log = audit_log(&store);
    log.reverse();
    let reasons: Vec<&str> = log
        .iter()
        .map(|event| event["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "method_renamed",
            "method_removed",
            "default_method_changed",
            "re_registration_required"
        ]
    );
    assert_eq!(log[0]["credential_id"], codes_id);
    assert_eq!(log[1]["credential_id"], totp_id);
    assert_eq!(log[1]["method"], "totp");
    assert_eq!(log[3]["policy_decision_id"], "operator:helpdesk-7");
    assert!(log.iter().all(|event| event["result"] == "success"));
}
