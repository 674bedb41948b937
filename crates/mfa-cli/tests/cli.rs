//! The `mfa` command's contract, shared by every subcommand: help, exit codes, one-line errors.

use std::process::{Command, Output};

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .expect("the mfa binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

#[test]
fn help_lists_every_subcommand_and_exits_zero() {
    let out = mfa(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for subcommand in ["otp", "backup", "push", "webauthn", "policy"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(subcommand)),
            "`mfa --help` does not list {subcommand}:\n{help}"
        );
    }
    assert!(help.contains("Exit status"));
}

#[test]
fn version_exits_zero() {
    let out = mfa(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("mfa "));
}

#[test]
fn bad_arguments_exit_two_with_one_line_error() {
    for args in [
        &["--no-such-flag"][..],
        &["no-such-subcommand"][..],
        &["otp", "--no-such-flag"][..],
        &["backup", "frobnicate"][..],
        &["push", "anything", "--at-all"][..],
    ] {
        let out = mfa(args);
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "args {args:?}: {stderr}");
        assert!(stderr.starts_with("mfa: "), "args {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "args {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "args {args:?}");
    }
}

#[test]
fn missing_subcommand_is_a_usage_error() {
    let out = mfa(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage"));
}
