//! Example: the authenticator-app factor end to end, on a manual clock so every step is
//! reproducible. Begins a TOTP enrollment (secret, `otpauth://` URI, QR code), confirms it with
//! the code the app would show (after one mistyped code), shows the confirming code rejected as a
//! replay, a code of the next step accepted, and a run of wrong codes throttled.
//!
//! Run with `cargo run -p mfa-examples --bin totp`.

use std::process::ExitCode;
use std::time::Duration;

use mfa_core::{
    AttemptError, Clock, ManualClock, MemoryStore, RecordKey, Store, ThrottlePolicy, Throttled,
    UnixTime, load,
};
use mfa_otp::{
    OtpError, SecretPolicy, TotpCredential, TotpEnrollmentPolicy, begin_totp_enrollment,
    confirm_totp_enrollment, totp_pending_record_key, totp_record_key, verify_totp,
};

const ACCOUNT: &str = "alice@example.com";
const CREDENTIAL_ID: &str = "authenticator-1";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("totp example failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A recorded time, or "never".
fn when(time: Option<UnixTime>) -> String {
    time.map_or_else(|| "never".to_owned(), |time| time.to_string())
}

/// One sign-in attempt through the throttle and the store, described in a line.
fn attempt(
    throttle: &ThrottlePolicy,
    store: &MemoryStore,
    key: &RecordKey,
    clock: &ManualClock,
    typed: &str,
) -> Result<(), AttemptError<OtpError>> {
    let now = clock.now(); // read once: the throttle and the code check see the same instant
    let verified = verify_totp(store, key, throttle, typed, now)?; // ±1 step of 30 s
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
    let key = totp_record_key(ACCOUNT, CREDENTIAL_ID);

    println!("1. Enrollment begins: a pending secret, nothing to sign in with yet");
    let pending = begin_totp_enrollment(
        &store,
        ACCOUNT,
        CREDENTIAL_ID,
        &TotpEnrollmentPolicy::default(),
        &mut rand::rng(), // blocking code; in an async handler use a Send RNG (see mfa-otp's docs)
        clock.now(),
    )
    .map_err(|e| format!("store: {e}"))?;
    SecretPolicy::default()
        .check_new(pending.secret())
        .map_err(|e| format!("secret policy: {e}"))?;
    let uri = pending
        .key_uri(Some("Example"), ACCOUNT)
        .map_err(|e| format!("key URI: {e}"))?;
    println!(
        "  secret (for manual entry): {}",
        pending.secret().to_base32().as_str()
    );
    println!("  key URI: {}", uri.to_uri().as_str());
    println!("  scan this with an authenticator app:");
    println!(
        "{}",
        uri.qr_terminal().map_err(|e| format!("QR: {e}"))?.as_str()
    );
    println!("  expires at {} unless confirmed", pending.expires_at());

    println!("2. Confirmation: the user types the code the app shows");
    clock.advance(Duration::from_secs(20));
    let code = pending
        .params()
        .code_at(pending.secret(), clock.now())
        .map_err(|e| format!("code: {e}"))?;
    let mistyped = if code.as_str() == "000000" {
        "999999"
    } else {
        "000000"
    };
    match confirm_totp_enrollment(
        &store,
        ACCOUNT,
        CREDENTIAL_ID,
        &throttle,
        mistyped,
        clock.now(),
    ) {
        Err(error @ AttemptError::Rejected(OtpError::CodeMismatch)) => println!(
            "  mistyped {mistyped}: {error} [{}]; the enrollment waits for another try",
            error.reason()
        ),
        other => return Err(format!("a mistyped code was not rejected: {other:?}")),
    }
    println!("  the app shows {}", code.as_str());
    let confirmed = confirm_totp_enrollment(
        &store,
        ACCOUNT,
        CREDENTIAL_ID,
        &throttle,
        code.as_str(),
        clock.now(),
    )
    .map_err(|e| format!("confirmation: {e} (HTTP {})", e.http_status()))?;
    println!(
        "  confirmed: credential {} created at {}; the pending enrollment is gone",
        confirmed.evidence().credential,
        when(confirmed.credential().created_at())
    );
    let pending_left = Store::load(&store, &totp_pending_record_key(ACCOUNT, CREDENTIAL_ID))
        .map_err(|e| format!("store: {e}"))?;
    if pending_left.is_some() {
        return Err("the pending enrollment was left behind".into());
    }
    let credential = confirmed.credential().clone();

    println!("3. The confirming code again, five seconds later (a replay, RFC 6238 §5.2)");
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
    let stored = stored.ok_or("the credential is not stored")?;
    println!(
        "Stored credential: last accepted time step {:?}, created at {}, last used at {}.",
        stored.last_step(),
        when(stored.created_at()),
        when(stored.last_used_at())
    );
    Ok(())
}
