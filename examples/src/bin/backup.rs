//! Example: backup codes end to end. Issues a set of 10 (default format, default Argon2id
//! parameters), prints the sheet a user would keep, redeems one code, shows the replay rejected,
//! and reports how long the redemption took.
//!
//! Run with `cargo run --release -p mfa-examples --bin backup`.

use std::process::ExitCode;
use std::time::Instant;

use mfa_backup::{BackupCodeError, IssuePolicy, record_key, redeem, render_sheet};
use mfa_core::{AttemptError, Clock, MemoryStore, Rejection, SystemClock, ThrottlePolicy};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("backup example failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let store = MemoryStore::new();
    let clock = SystemClock;
    let mut rng = rand::rng();
    let key = record_key("alice@example.com");
    let policy = IssuePolicy::default();

    let issued = mfa_backup::issue(&store, &key, &policy, clock.now(), &mut rng)
        .map_err(|e| format!("issue: {e}"))?;
    println!(
        "{}",
        render_sheet(
            "Example Corp",
            key.account(),
            issued.set.issued_at(),
            &issued.codes
        )
        .as_str()
    );

    let stored = serde_json::to_string(&issued.set).map_err(|e| e.to_string())?;
    let leaked = issued
        .codes
        .iter()
        .any(|code| stored.contains(code.expose_secret()));
    println!(
        "stored set: {} bytes of JSON, holds a code in the clear: {leaked}",
        stored.len()
    );

    let Some(code) = issued.codes.get(3) else {
        return Err("no code issued".into());
    };
    // Typed the way people type: upper case, a space instead of the hyphen.
    let typed = code.expose_secret().to_uppercase().replace('-', " ");
    let throttle = ThrottlePolicy::default();

    let started = Instant::now();
    let redeemed = redeem(&store, &key, &throttle, &typed, clock.now(), &mut rng)
        .map_err(|e| format!("redeem: {e}"))?;
    let took = started.elapsed();
    println!(
        "redeemed code #4: accepted ({} left, running low: {}) in {:.1} ms with {:?}",
        redeemed.remaining,
        redeemed.running_low,
        took.as_secs_f64() * 1000.0,
        issued.set.hasher()
    );
    for event in &redeemed.events {
        println!("event: {event:?}");
    }

    match redeem(&store, &key, &throttle, &typed, clock.now(), &mut rng) {
        Err(AttemptError::Rejected(error @ BackupCodeError::AlreadyUsed)) => {
            println!("the same code again: rejected ({})", error.reason());
        }
        other => return Err(format!("the replay was not rejected as used: {other:?}")),
    }
    match redeem(
        &store,
        &key,
        &throttle,
        "zzzzz-zzzzz",
        clock.now(),
        &mut rng,
    ) {
        Err(AttemptError::Rejected(error)) => {
            println!("a made-up code: rejected ({})", error.reason());
        }
        other => return Err(format!("a made-up code was not rejected: {other:?}")),
    }
    Ok(())
}
