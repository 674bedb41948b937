//! `mfa otp`: codes, verification, enrollment and URI parsing from the shell, with the exit codes
//! of the CLI contract (0 ok, 1 rejected, 2 usage or malformed input).
#![allow(clippy::unwrap_used, reason = "tests may unwrap (STYLE.md)")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// RFC 6238's SHA-1 seed, "12345678901234567890".
const RFC_SHA1: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_SHA256: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
const RFC_SHA512: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA=";

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Exit 2 or 1 with exactly one `mfa: …` line on stderr and nothing on stdout.
fn assert_fails(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr(out));
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mfa: "), "{err}");
}

#[test]
fn code_prints_rfc6238_values_and_nothing_else() {
    for (secret, algorithm, time, expected) in [
        (RFC_SHA1, "sha1", "59", "94287082"),
        (RFC_SHA256, "sha256", "59", "46119246"),
        (RFC_SHA512, "sha512", "59", "90693936"),
        (RFC_SHA1, "sha1", "1111111109", "07081804"),
        (RFC_SHA256, "sha256", "2000000000", "90698825"),
        (RFC_SHA512, "sha512", "20000000000", "47863826"),
    ] {
        let out = mfa(&[
            "otp",
            "code",
            "--secret",
            secret,
            "--algorithm",
            algorithm,
            "--digits",
            "8",
            "--time",
            time,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), format!("{expected}\n"));
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn code_with_counter_prints_rfc4226_values() {
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, code) in expected.iter().enumerate() {
        let out = mfa(&[
            "otp",
            "code",
            "--secret",
            RFC_SHA1,
            "--counter",
            &counter.to_string(),
        ]);
        assert_eq!(stdout(&out), format!("{code}\n"));
    }
}

#[test]
fn code_defaults_to_now() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let at = |t: u64| {
        stdout(&mfa(&[
            "otp",
            "code",
            "--secret",
            RFC_SHA1,
            "--time",
            &t.to_string(),
        ]))
    };
    let before = now();
    let out = mfa(&["otp", "code", "--secret", RFC_SHA1]);
    let after = now();
    // The step may change while the command runs: accept either side.
    assert!(stdout(&out) == at(before) || stdout(&out) == at(after));
}

#[test]
fn secrets_are_read_leniently_and_from_stdin() {
    let want = "94287082\n";
    for spelled in [
        "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
        "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
        "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq",
    ] {
        let out = mfa(&[
            "otp", "code", "--secret", spelled, "--digits", "8", "--time", "59",
        ]);
        assert_eq!(stdout(&out), want, "{spelled}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args([
            "otp", "code", "--secret", "-", "--digits", "8", "--time", "59",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"gezdgnbvgy3tqojqgezdgnbvgy3tqojq\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
}

#[test]
fn bad_input_exits_two_without_echoing_the_secret() {
    for args in [
        &["otp", "code", "--secret", "GEZDGNBVGY3TQOJ0", "--time", "0"][..],
        &["otp", "code", "--secret", "GEZDGNBVGY3TQ", "--time", "0"][..], // 64 bits
        &["otp", "code", "--secret", RFC_SHA1, "--digits", "5"][..],
        &["otp", "code", "--secret", RFC_SHA1, "--digits", "11"][..],
        &["otp", "code", "--secret", RFC_SHA1, "--period", "0"][..],
        &["otp", "code", "--secret", RFC_SHA1, "--time", "-1"][..],
        &[
            "otp",
            "code",
            "--secret",
            RFC_SHA1,
            "--time",
            "1",
            "--counter",
            "1",
        ][..],
        &["otp", "code", "--secret", RFC_SHA1, "--algorithm", "md5"][..],
        &[
            "otp", "code", "--secret", RFC_SHA1, "--t0", "100", "--time", "99",
        ][..],
        &[
            "otp", "verify", "--secret", RFC_SHA1, "--code", "287082", "--window", "101",
        ][..],
    ] {
        let out = mfa(args);
        assert_fails(&out, 2);
        assert!(
            !stderr(&out).contains("GEZDGNBVGY3TQ"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn verify_prints_the_matched_step_or_exits_one() {
    let verify = |code: &str, time: &str, extra: &[&str]| {
        let mut args = vec![
            "otp", "verify", "--secret", RFC_SHA1, "--code", code, "--time", time,
        ];
        args.extend_from_slice(extra);
        mfa(&args)
    };
    // 287082 is the code of step 1 (t = 30..59).
    let out = verify("287082", "59", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "1\n");
    // One step later it is still inside the default ±1 window; with --window 0 it is not.
    assert_eq!(stdout(&verify("287 082", "75", &[])), "1\n");
    let out = verify("287082", "75", &["--window", "0"]);
    assert_fails(&out, 1);
    assert!(stderr(&out).contains("code_mismatch"));
    // A code of the wrong shape is a rejection too, with its reason.
    for malformed in ["12345", "abcdef", "1234567"] {
        let out = verify(malformed, "59", &[]);
        assert_fails(&out, 1);
        assert!(stderr(&out).contains("malformed_code"), "{malformed}");
    }
    // Two steps later it needs --window 2.
    assert_fails(&verify("287082", "100", &[]), 1);
    assert_eq!(stdout(&verify("287082", "100", &["--window", "2"])), "1\n");
    // Other algorithm, digits and period.
    let out = mfa(&[
        "otp",
        "verify",
        "--secret",
        RFC_SHA512,
        "--algorithm",
        "sha512",
        "--digits",
        "8",
        "--code",
        "47863826",
        "--time",
        "20000000000",
    ]);
    assert_eq!(stdout(&out), format!("{}\n", 20_000_000_000_u64 / 30));
}

#[test]
fn verify_hotp_looks_ahead_from_the_counter() {
    let verify = |code: &str, counter: &str, extra: &[&str]| {
        let mut args = vec![
            "otp",
            "verify",
            "--secret",
            RFC_SHA1,
            "--code",
            code,
            "--counter",
            counter,
        ];
        args.extend_from_slice(extra);
        mfa(&args)
    };
    // 520489 is counter 9's code.
    assert_eq!(stdout(&verify("520489", "9", &[])), "9\n");
    assert_eq!(stdout(&verify("520489", "0", &[])), "9\n");
    assert_fails(&verify("520489", "0", &["--window", "8"]), 1);
    assert_fails(&verify("520489", "10", &[]), 1);
}

#[test]
fn new_prints_secret_uri_and_qr_code() {
    let dir = std::env::temp_dir().join(format!("mfa-otp-new-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("qr.svg");
    let out = mfa(&[
        "otp",
        "new",
        "--issuer",
        "ACME Co",
        "--account",
        "alice@example.com",
        "--digits",
        "8",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let secret = lines
        .next()
        .unwrap()
        .strip_prefix("secret: ")
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 32); // 160 bits
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    let uri = lines
        .next()
        .unwrap()
        .strip_prefix("uri: ")
        .unwrap()
        .to_owned();
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/ACME%20Co:alice@example.com?secret={secret}&issuer=ACME%20Co&digits=8"
        )
    );
    assert_eq!(lines.next(), Some(""));
    let qr: Vec<&str> = lines.collect();
    assert!(qr.len() > 15, "{text}");
    assert!(
        qr.iter()
            .all(|line| line.chars().all(|c| " ▀▄█".contains(c)))
    );
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();

    // The URI parses back to the same parameters, and the secret makes codes.
    let parsed = mfa(&["otp", "uri", "parse", &uri]);
    let json: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!(json["secret"], secret.as_str());
    assert_eq!(json["digits"], 8);
    let code = mfa(&[
        "otp", "code", "--secret", &secret, "--digits", "8", "--time", "1000",
    ]);
    assert_eq!(stdout(&code).trim().len(), 8);

    // Two runs give different secrets.
    let again = stdout(&mfa(&["otp", "new", "--issuer", "I", "--account", "a"]));
    assert!(!again.contains(&secret));
    // A colon in the issuer is refused.
    assert_fails(
        &mfa(&["otp", "new", "--issuer", "a:b", "--account", "c"]),
        2,
    );
}

#[test]
fn uri_parse_prints_json() {
    let out = mfa(&[
        "otp",
        "uri",
        "parse",
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=hxdm vjec jjws rb3h wizr 4ifu gftm xboz&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60&image=https%3A%2F%2Fexample.com%2Flogo.png",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "type": "totp",
            "issuer": "ACME Co",
            "account": "john.doe@email.com",
            "secret": "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ",
            "algorithm": "SHA256",
            "digits": 8,
            "period": 60,
            "image": "https://example.com/logo.png",
        })
    );
    let out = mfa(&[
        "otp",
        "uri",
        "parse",
        "otpauth://hotp/bob?secret=JBSWY3DPEHPK3PXP&counter=5294967296",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["type"], "hotp");
    assert_eq!(json["counter"], 5_294_967_296_u64);
    assert_eq!(json["issuer"], serde_json::Value::Null);

    for bad in [
        "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=B",
        "otpauth://totp/b?issuer=B",
        "https://example.com",
        "otpauth://hotp/b?secret=JBSWY3DPEHPK3PXP",
    ] {
        assert_fails(&mfa(&["otp", "uri", "parse", bad]), 2);
    }
}

#[test]
fn new_warns_about_parameters_apps_may_ignore() {
    let out = mfa(&[
        "otp",
        "new",
        "--issuer",
        "I",
        "--account",
        "a",
        "--period",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("&period=60"));
    assert!(stderr(&out).starts_with("mfa: note:"), "{}", stderr(&out));
    let plain = mfa(&["otp", "new", "--issuer", "I", "--account", "a"]);
    assert!(plain.stderr.is_empty());
}

/// Review item 6: a period beyond ten minutes (up to 2^64 - 1 used to be accepted, making the
/// code effectively static) is malformed input, exit 2, in every subcommand; 600 s still works.
#[test]
fn item6_period_beyond_bound_exits_two() {
    for period in ["601", "3600", "18446744073709551615"] {
        for args in [
            &["otp", "code", "--secret", RFC_SHA1, "--period", period][..],
            &[
                "otp", "verify", "--secret", RFC_SHA1, "--code", "287082", "--period", period,
            ][..],
            &[
                "otp",
                "new",
                "--issuer",
                "I",
                "--account",
                "a",
                "--period",
                period,
            ][..],
        ] {
            assert_fails(&mfa(args), 2);
        }
        let uri = format!("otpauth://totp/a?secret={RFC_SHA1}&period={period}");
        let out = mfa(&["otp", "uri", "parse", &uri]);
        assert_fails(&out, 2);
        assert!(stderr(&out).contains("period"), "{}", stderr(&out));
    }
    // Step 0 of a 600 s period runs to t = 599: the code of counter 0.
    let out = mfa(&[
        "otp", "code", "--secret", RFC_SHA1, "--period", "600", "--time", "599",
    ]);
    assert_eq!(stdout(&out), "755224\n", "{}", stderr(&out));
    let out = mfa(&[
        "otp",
        "new",
        "--issuer",
        "I",
        "--account",
        "a",
        "--period",
        "600",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("&period=600"));
}

/// Runs `mfa` under `umask 022`, the usual default, through the shell.
#[cfg(unix)]
fn mfa_under_umask_022(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"umask 022 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .unwrap()
}

/// Review item 10: the SVG QR code carries the secret; it used to be written `-rw-r--r--` under
/// umask 022. It is now 0600, also when it replaces an existing (world-readable) file, and no
/// temporary file is left behind.
#[cfg(unix)]
#[test]
fn item10_svg_is_written_owner_only_even_under_umask_022() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = std::env::temp_dir().join(format!("mfa-otp-item10-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let new_svg = |path: &std::path::Path| {
        mfa_under_umask_022(&[
            "otp",
            "new",
            "--issuer",
            "I",
            "--account",
            "a",
            "--svg",
            path.to_str().unwrap(),
        ])
    };

    let fresh = dir.join("fresh.svg");
    let out = new_svg(&fresh);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&fresh), 0o600);
    assert!(std::fs::read_to_string(&fresh).unwrap().contains("<svg"));

    // An existing world-readable file is replaced by a private one, not rewritten in place.
    let existing = dir.join("existing.svg");
    std::fs::write(&existing, "old").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = new_svg(&existing);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&existing), 0o600);
    assert!(std::fs::read_to_string(&existing).unwrap().contains("<svg"));

    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["existing.svg", "fresh.svg"]);

    // A path that cannot be a file is malformed input, and nothing is printed.
    assert_fails(&new_svg(&dir), 2);
    assert_fails(&new_svg(&dir.join("..")), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Review item 11: `--secret -` used to read stdin up to the first newline however far away it
/// was (200 MB in, ~198 MB resident, and a wait for ever if no newline came). It now reads at
/// most a 4 KiB line: more is refused with exit 2 and one `mfa: …` line, at once, even while
/// stdin stays open.
#[test]
fn item11_oversized_secret_on_stdin_exits_two_without_hanging() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(["otp", "code", "--secret", "-", "--time", "59"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // No newline, and stdin stays open: only a bounded read can finish. The write fails once
    // `mfa` has stopped reading, which is the point.
    let _refused = stdin.write_all(&[b'A'; 64 * 1024]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("`mfa otp code --secret -` is still reading an unbounded line");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_fails(&out, 2);
    assert!(stderr(&out).contains("4096 bytes"), "{}", stderr(&out));

    // Only the first line is read: what follows it, however long, is never looked at.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args([
            "otp", "code", "--secret", "-", "--digits", "8", "--time", "59",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{RFC_SHA1}\n").as_bytes()).unwrap();
    let _ignored = stdin.write_all(&[b'A'; 1 << 20]);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "94287082\n");
}
