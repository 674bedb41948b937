//! The push example grants one sign-in, refuses a replay and a wrong number, and cuts a push
//! storm off with the back-off.

use std::process::Command;

#[test]
fn the_push_exchange_runs_and_the_storm_is_cut_off() {
    let out = Command::new(env!("CARGO_BIN_EXE_push")).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("enrollment URI (QR code): mfa-push://enroll?"),
        "{stdout}"
    );
    assert!(
        stdout.contains("service: approved by Alice's phone"),
        "{stdout}"
    );
    assert!(stdout.contains("sign-in page: granted"), "{stdout}");
    assert!(stdout.contains("rev 4 number match true"), "{stdout}");
    assert!(stdout.contains("refused (challenge_not_found)"), "{stdout}");
    assert!(stdout.contains("refused (wrong_number)"), "{stdout}");
    assert!(
        stdout.contains("push storm: 4 of 60 pushes sent, 56 refused by the back-off"),
        "{stdout}"
    );
}
