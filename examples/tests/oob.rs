//! The SMS/voice example enrolls a number, signs in by voice, and shows each refusal.

use std::process::Command;

#[test]
fn the_exchange_runs_and_each_refusal_shows() {
    let out = Command::new(env!("CARGO_BIN_EXE_oob")).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    for expected in [
        "number: +12015550123 (fixed_line_or_mobile), shown as +1 ••• ••• ••23",
        "VoIP number refused: sms codes are not sent to voip numbers",
        "--- sms to +1 ••• ••• ••23 ---",
        "enrolled +1 ••• ••• ••23 as \"mobile\"",
        "--- voice to +1 ••• ••• ••23 ---",
        "resend refused: send limit of the account reached; retry after 30 s (HTTP 429)",
        "signed in: method voice, restricted true",
        "the same code again: refused (challenge_not_found)",
        "typed into sign-in-666: refused (wrong_transaction)",
        "typed into sign-in-42: refused (code_mismatch)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // Every SMS ends with its origin-bound line.
    let webotp_lines = stdout
        .lines()
        .filter(|l| l.starts_with("@example.com #"))
        .count();
    assert_eq!(webotp_lines, 3, "{stdout}");
}
