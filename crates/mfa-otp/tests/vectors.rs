//! RFC 4226 appendix D and RFC 6238 appendix B, read from `tests/data/`, each beside a tampered
//! twin in which every line must fail.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use mfa_core::{SecretBytes, UnixTime};
use mfa_otp::{
    Algorithm, Digits, Hotp, HotpCredential, HotpParams, OtpSecret, Totp, TotpCredential,
    TotpParams, Window,
};

fn data(name: &str) -> Vec<Vec<String>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert!(!rows.is_empty(), "{path} has no vectors");
    rows
}

fn seed(len: usize) -> OtpSecret {
    let ascii: Vec<u8> = b"1234567890".iter().copied().cycle().take(len).collect();
    OtpSecret::from_bytes(SecretBytes::new(ascii)).unwrap()
}

/// Checks one RFC 4226 row three ways; `Err` says which check failed.
fn check_rfc4226(row: &[String]) -> Result<(), String> {
    let [counter, truncated, hotp] = row else {
        return Err(format!("malformed row {row:?}"));
    };
    let counter: u64 = counter.parse().map_err(|_| "counter")?;
    let secret = seed(20);
    let six = HotpParams::default();
    if six.code(&secret, counter).as_str() != hotp {
        return Err(format!("counter {counter}: 6-digit code differs"));
    }
    let ten = HotpParams::default().with_digits(Digits::new(10).unwrap());
    if ten.code(&secret, counter).as_str() != format!("{truncated:0>10}") {
        return Err(format!("counter {counter}: truncated value differs"));
    }
    let credential = HotpCredential::new("token", secret, six, counter);
    let exact = Hotp::new().with_look_ahead(0).unwrap();
    let verified = exact
        .verify(&credential, hotp, UnixTime::EPOCH)
        .map_err(|e| format!("counter {counter}: verify: {e}"))?;
    if verified.credential().counter() != counter + 1 {
        return Err(format!("counter {counter}: not advanced"));
    }
    Ok(())
}

/// Checks one RFC 6238 row: the step, the code, and verification at that time.
fn check_rfc6238(row: &[String]) -> Result<(), String> {
    let [time, step_hex, totp, mode] = row else {
        return Err(format!("malformed row {row:?}"));
    };
    let time = UnixTime::from_secs(time.parse().map_err(|_| "time")?);
    let step = u64::from_str_radix(step_hex, 16).map_err(|_| "step")?;
    let algorithm: Algorithm = mode.parse().map_err(|_| "mode")?;
    let secret = seed(match algorithm {
        Algorithm::Sha256 => 32,
        Algorithm::Sha512 => 64,
        _ => 20,
    });
    let params = TotpParams::default()
        .with_algorithm(algorithm)
        .with_digits(Digits::EIGHT);
    if params.step_at(time) != Ok(step) {
        return Err(format!("{time} {mode}: step differs"));
    }
    if params.code_at(&secret, time).unwrap().as_str() != totp {
        return Err(format!("{time} {mode}: code differs"));
    }
    let credential = TotpCredential::new("app", secret, params);
    let verified = Totp::new()
        .with_window(Window::EXACT)
        .verify(&credential, totp, time)
        .map_err(|e| format!("{time} {mode}: verify: {e}"))?;
    if verified.credential().last_step() != Some(step) {
        return Err(format!("{time} {mode}: wrong step recorded"));
    }
    Ok(())
}

#[test]
fn rfc4226_appendix_d() {
    let rows = data("rfc4226.txt");
    assert_eq!(rows.len(), 10);
    for row in &rows {
        check_rfc4226(row).unwrap();
    }
}

#[test]
fn rfc4226_tampered_twin_fails_on_every_line() {
    for row in data("rfc4226-tampered.txt") {
        assert!(check_rfc4226(&row).is_err(), "tampered row passed: {row:?}");
    }
}

#[test]
fn rfc6238_appendix_b() {
    let rows = data("rfc6238.txt");
    assert_eq!(rows.len(), 18);
    for row in &rows {
        check_rfc6238(row).unwrap();
    }
}

#[test]
fn rfc6238_tampered_twin_fails_on_every_line() {
    for row in data("rfc6238-tampered.txt") {
        assert!(check_rfc6238(&row).is_err(), "tampered row passed: {row:?}");
    }
}
