//! The policy example walks a sign-in through step-up to an allow.

use std::process::Command;

#[test]
fn the_sign_in_steps_up_once_then_is_allowed() {
    let out = Command::new(env!("CARGO_BIN_EXE_policy")).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("round 1: step up to `mfa`"), "{stdout}");
    assert!(stdout.contains("code accepted"), "{stdout}");
    assert!(stdout.contains("round 2: allow"), "{stdout}");
}
