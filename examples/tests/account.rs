//! The account example walks "phone lost → backup code → remove the old phone → add a new one",
//! the refused removals, a help-desk reset with a temporary access pass, an app password and
//! sign out everywhere; each outcome shows, in order.

use std::process::Command;

#[test]
fn the_security_info_story_runs_and_each_outcome_shows_in_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_account"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rest = stdout.as_str();
    for expected in [
        // 1. Sign-up: campaign offered, app confirmed by its first code, backup codes, sign-in.
        "registration campaign: registration offered, may be skipped 3 more times",
        "that check confirms \"Phone\" (totp, counts toward AAL2)",
        "  10. ",
        "usable now: password + totp | password + backup_code",
        "+ the code her app shows: allow",
        // 2. Phone lost: a backup code, the recovery notice, the removal, the old phone dead.
        "backup code accepted (9 left): allow",
        "[event] recovery_sign_in: someone signed in with a recovery method (backup_code), \
         by the account holder; alice is notified",
        "remove \"Phone\" with password + backup code: removed",
        "[event] method_removed: a totp method was removed (",
        ", by the account holder; alice is notified",
        "the finder types the old phone's current code: refused (not_enrolled)",
        "that check confirms \"New phone\"",
        // The backup code's use was recorded on the backup-codes method.
        "\"Backup codes\": backup_codes, added 2027-01-15T08:00:00Z, last used 2027-02-05T08:01:00Z",
        "\"New phone\" (default): totp",
        // 3. Refused removals.
        "a session with only the password removes \"New phone\": refused (weakens_assurance)",
        "Bob (password + app) removes his only method: refused (last_strong_method): \
         removing this method would leave no way to meet the required strength `mfa`",
        // 4. Help-desk reset and a temporary access pass.
        "helpdesk-7 resets alice: 2 methods removed",
        "[event] re_registration_required: every method was removed (2) and a new registration \
         is required, by operator helpdesk-7",
        "security info: 0 methods",
        "her session from step 2 (epoch 0): refused (session_revoked)",
        "registration campaign: registration required, no skipping: the help desk reset the \
         account's methods",
        "she tries to skip registration: refused (registration_required)",
        "she types the pass: accepted",
        "[event] recovery_sign_in: someone signed in with a recovery method \
         (temporary_access_pass)",
        "evidence for register_security_info: temporary_access_pass; for sign_in: none",
        "policy to register security info: allow",
        "policy to sign in to mail: step up to `mfa`",
        "may she register security info in this session? yes",
        "may a session with the password alone register?: refused (registration_not_allowed)",
        "that check confirms \"Replacement phone\"",
        "the registration campaign now: registration not needed",
        "the same pass again: refused (tap_invalid)",
        // 5. App password and sign out everywhere.
        "IMAP login with it: accepted as \"Thunderbird (IMAP)\"; policy: allow",
        "IMAP login with her password: block by `Legacy clients only with an app password`",
        "the app password typed into the browser sign-in: refused (not_legacy_client)",
        "sign out everywhere: epoch now 2",
        "her browser session (epoch 1): refused (session_revoked)",
        "her remembered browser: refused (remembered_invalid)",
        "\ndone\n",
    ] {
        let Some(at) = rest.find(expected) else {
            panic!("missing (or out of order) {expected:?} in\n{stdout}");
        };
        rest = &rest[at + expected.len()..];
    }
    // The temporary access pass is shown once, to be read to her, and in no event.
    let pass = stdout
        .lines()
        .find_map(|line| line.split_once("read to her on the phone: "))
        .map(|(_, pass)| pass.trim())
        .unwrap();
    assert_eq!(pass.len(), 24, "{pass}");
    assert_eq!(stdout.matches(pass).count(), 1, "{stdout}");
    // The authenticator apps' secrets are never printed (only the QR code would hold them).
    // Four apps were enrolled (Alice's three phones, Bob's one); every secret is elided.
    assert_eq!(stdout.matches("secret=…").count(), 4, "{stdout}");
    assert_eq!(stdout.matches("secret=").count(), 4, "{stdout}");
}
