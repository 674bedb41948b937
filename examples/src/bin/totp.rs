//! Example: the authenticator-app factor end to end, on a manual clock so every step is
//! reproducible. Enrolls a TOTP credential (secret, `otpauth://` URI, QR code), signs in with the
//! code the app would show, shows the same code rejected as a replay, a code of the next step
//! accepted, and a run of wrong codes throttled.
//!
//! Run with `cargo run -p mfa-examples --bin totp`.

use std::process::ExitCode;
use std::time::Duration;

use mfa_core::{
    AttemptError, Clock, ManualClock, MemoryStore, RecordKey, ThrottlePolicy, Throttled, UnixTime,
    insert_new, load,
};
use mfa_otp::{OtpError, SecretPolicy, Totp, TotpCredential, TotpParams};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("totp example failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// One sign-in attempt through the throttle and the store, described in a line.
fn attempt(
    throttle: &ThrottlePolicy,
    store: &MemoryStore,
    key: &RecordKey,
    clock: &ManualClock,
    typed: &str,
) -> Result<(), AttemptError<OtpError>> {
    let now = clock.now();
    let totp = Totp::new(); // ±1 step of 30 s
    let verified = throttle.verify_and_commit(store, key, now, totp.check(typed, now))?;
    let evidence = verified.evidence();
    println!(
        "  accepted at {now}: method {}, credential {}, time step {:?} is now used",
        evidence.method,
        evidence.credential,
        verified.credential().last_step()
    );
    Ok(())
}

fn run() -> Result<(), String> {
    let store = MemoryStore::new();
    let clock = ManualClock::new(UnixTime::from_secs(1_767_225_600)); // 2026-01-01T00:00:00Z
    let throttle = ThrottlePolicy::default();
    let key = RecordKey::new("totp", "alice@example.com", "authenticator-1");

    println!("1. Enrollment");
    let credential =
        TotpCredential::generate("authenticator-1", &mut rand::rng(), TotpParams::default());
    SecretPolicy::default()
        .check_new(credential.secret())
        .map_err(|e| format!("secret policy: {e}"))?;
    let uri = credential
        .key_uri(Some("Example"), "alice@example.com")
        .map_err(|e| format!("key URI: {e}"))?;
    println!(
        "  secret (for manual entry): {}",
        credential.secret().to_base32().as_str()
    );
    println!("  key URI: {}", uri.to_uri().as_str());
    println!("  scan this with an authenticator app:");
    println!(
        "{}",
        uri.qr_terminal().map_err(|e| format!("QR: {e}"))?.as_str()
    );
    // A credential already enrolled under this key is `StoreError::AlreadyExists`.
    insert_new(&store, &key, &credential).map_err(|e| format!("store: {e}"))?;

    println!("2. Sign-in: the user types the code the app shows");
    let code = credential
        .code_at(clock.now())
        .map_err(|e| format!("code: {e}"))?;
    println!("  the app shows {}", code.as_str());
    attempt(&throttle, &store, &key, &clock, code.as_str()).map_err(|e| e.to_string())?;

    println!("3. The same code again, five seconds later (a replay, RFC 6238 §5.2)");
    clock.advance(Duration::from_secs(5));
    match attempt(&throttle, &store, &key, &clock, code.as_str()) {
        Err(error @ AttemptError::Rejected(OtpError::Replayed)) => {
            println!("  {error} [{}]", error.reason());
        }
        other => return Err(format!("the replay was not rejected: {other:?}")),
    }

    println!("4. Thirty seconds later the app shows a new code, which works");
    clock.advance(Duration::from_secs(30));
    let next = credential
        .code_at(clock.now())
        .map_err(|e| format!("code: {e}"))?;
    println!("  the app shows {}", next.as_str());
    attempt(&throttle, &store, &key, &clock, next.as_str()).map_err(|e| e.to_string())?;

    println!("5. Someone guesses: after five free failures, each attempt must wait longer");
    clock.advance(Duration::from_secs(30));
    let right = credential
        .code_at(clock.now())
        .map_err(|e| format!("code: {e}"))?;
    let wrong = if right.as_str() == "000000" {
        "999999"
    } else {
        "000000"
    };
    let mut wait = None;
    for _ in 0..7 {
        match attempt(&throttle, &store, &key, &clock, wrong) {
            Ok(()) => return Err("a wrong code was accepted".into()),
            Err(error) => {
                println!("  {wrong}: {error} [{}]", error.reason());
                if let AttemptError::Throttled(Throttled::TooSoon { retry_after }) = error {
                    wait = Some(retry_after);
                }
            }
        }
    }
    let wait = wait.ok_or("the guesses were never throttled")?;

    println!(
        "6. The real user waits {} s and types the current code: accepted, the count is cleared",
        wait.as_secs()
    );
    clock.advance(wait);
    let current = credential
        .code_at(clock.now())
        .map_err(|e| format!("code: {e}"))?;
    attempt(&throttle, &store, &key, &clock, current.as_str()).map_err(|e| e.to_string())?;
    println!(
        "  throttle now: {:?}",
        throttle
            .status(&store, &key, clock.now())
            .map_err(|e| format!("store: {e}"))?
    );

    let stored: Option<TotpCredential> = load(&store, &key).map_err(|e| format!("store: {e}"))?;
    let last = stored.and_then(|c| c.last_step());
    println!("Stored credential: last accepted time step {last:?}.");
    Ok(())
}
