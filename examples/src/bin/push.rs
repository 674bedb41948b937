//! Example: push approval with number matching, the service and the phone in one program, on a
//! manual clock. Enrolls a phone, sends a challenge through an in-memory push transport, has the
//! phone fetch the context and type the number, grants the sign-in; then shows a replay and a
//! wrong number refused, and a push storm cut off by the back-off.
//!
//! Run with `cargo run -p mfa-examples --bin push`.

use std::process::ExitCode;
use std::time::Duration;

use mfa_core::{AttemptError, Clock, ManualClock, MemoryStore, UnixTime};
use mfa_push::{
    Answer, ChallengeContext, ChallengeRequest, DeviceKey, EventLog, IgnoreEvents, InMemorySender,
    Platform, PushError, PushOutcome, PushPolicy,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("push example failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok` for a refusal with `reason`, an error for anything else.
fn refused_with<T>(
    result: Result<T, AttemptError<PushError>>,
    reason: &str,
) -> Result<String, String> {
    match result {
        Err(error) if error.reason() == reason => Ok(format!("refused ({reason}): {error}")),
        Err(error) => Err(format!(
            "expected {reason}, got {} ({error})",
            error.reason()
        )),
        Ok(_) => Err(format!("expected {reason}, got a success")),
    }
}

fn run() -> Result<(), String> {
    let clock = ManualClock::new(UnixTime::from_secs(1_900_000_000));
    let store = MemoryStore::with_clock(clock.clone());
    let policy = PushPolicy::new("Example");
    let mut rng = rand::rng();
    let account = "alice@example.com";

    // Enrollment: a one-time URI for the QR code; the phone answers with a signed registration.
    let offer = mfa_push::begin_enrollment(&store, &policy, account, clock.now(), &mut rng)
        .map_err(|e| format!("enroll: {e}"))?;
    println!("enrollment URI (QR code): {}", offer.uri.to_uri().as_str());
    let phone = DeviceKey::generate(&mut rng);
    let registration = phone
        .registration_message(
            &offer.uri,
            "Alice's phone",
            Platform::Android,
            Some("fcm-token-1"),
            clock.now(),
        )
        .map_err(|e| format!("registration message: {e}"))?;
    let device = mfa_push::register_device(&store, &policy, &registration, clock.now())
        .map_err(|e| format!("register: {e}"))?;
    println!(
        "registered {:?} ({}) as {}",
        device.name,
        device.platform.as_str(),
        device.device_id
    );

    // A sign-in: the page shows the number; the push carries ids only.
    let request = ChallengeRequest::new(account, "session-7f3a").with_context(ChallengeContext {
        application: Some("Example Mail".into()),
        ip_address: Some("203.0.113.7".into()),
        location: Some("Lyon, France".into()),
        browser: Some("Firefox on Linux".into()),
    });
    let sender = InMemorySender::new();
    let sent = mfa_push::start_and_send(
        &store,
        &policy,
        &request,
        clock.now(),
        &mut rng,
        &IgnoreEvents,
        &sender,
    )
    .map_err(|e| format!("challenge: {e}"))?;
    let shown = sent.challenge.number.expose_digits().to_owned();
    println!(
        "sign-in page shows {shown} ({}, meets rev 4: {})",
        sent.challenge.mode,
        sent.challenge.mode.meets_rev4()
    );
    let delivered = sender.take();
    let push = delivered.first().ok_or("nothing was sent")?;
    println!(
        "sent to FCM for {}: {}",
        push.device_id,
        push.payload.to_json()
    );

    // The phone: the context by a signed request, then the number typed.
    clock.advance(Duration::from_secs(3));
    let context_request = phone
        .request_context(&push.payload.challenge, clock.now())
        .map_err(|e| format!("context request: {e}"))?;
    let view = mfa_push::challenge_context(&store, &policy, &context_request, clock.now())
        .map_err(|e| format!("context: {e}"))?;
    println!(
        "phone shows: {} from {}, type {} digits",
        view.context.application.as_deref().unwrap_or("?"),
        view.context.ip_address.as_deref().unwrap_or("?"),
        view.digits
    );
    let answer = Answer::approve(&shown).map_err(|e| e.to_string())?;
    let response = phone
        .respond(&push.payload.challenge, &answer, clock.now())
        .map_err(|e| format!("respond: {e}"))?;
    let approved =
        mfa_push::verify_response(&store, &policy, &response, clock.now(), &IgnoreEvents)
            .map_err(|e| format!("verify: {e}"))?;
    println!("service: approved by {}", approved.credential().device_name);
    match mfa_push::take_outcome(
        &store,
        account,
        &sent.challenge.id,
        "session-7f3a",
        clock.now(),
    ) {
        Ok(PushOutcome::Approved(verified)) => println!(
            "sign-in page: granted, evidence {:?} (device-bound {}, rev 4 number match {})",
            verified.evidence().method,
            verified.evidence().properties.device_bound,
            verified.evidence().properties.number_match_meets_rev4
        ),
        other => return Err(format!("the sign-in was not granted: {other:?}")),
    }
    println!(
        "the same response again: {}",
        refused_with(
            mfa_push::verify_response(&store, &policy, &response, clock.now(), &IgnoreEvents),
            "challenge_not_found"
        )?
    );

    // A wrong number ends the challenge and counts toward the throttle.
    let typo_challenge = mfa_push::start_challenge(
        &store,
        &policy,
        &ChallengeRequest::new(account, "session-8"),
        clock.now(),
        &mut rng,
        &IgnoreEvents,
    )
    .map_err(|e| format!("challenge: {e}"))?;
    let typo = if typo_challenge.number.expose_digits() == "000000" {
        "000001"
    } else {
        "000000"
    };
    let wrong = phone
        .respond(
            &typo_challenge.id,
            &Answer::approve(typo).map_err(|e| e.to_string())?,
            clock.now(),
        )
        .map_err(|e| format!("respond: {e}"))?;
    println!(
        "a wrong number: {}",
        refused_with(
            mfa_push::verify_response(&store, &policy, &wrong, clock.now(), &IgnoreEvents),
            "wrong_number"
        )?
    );

    // A push storm: one sign-in attempt a second for a minute.
    let events = EventLog::new();
    let (mut sent_count, mut refused) = (0, 0);
    for second in 0..60 {
        let attempt = ChallengeRequest::new(account, format!("attacker-{second}"));
        match mfa_push::start_challenge(&store, &policy, &attempt, clock.now(), &mut rng, &events) {
            Ok(_) => sent_count += 1,
            Err(AttemptError::Rejected(error @ PushError::PushCapReached { .. })) => {
                if refused == 0 {
                    println!("push storm, second {second}: {error}");
                }
                refused += 1;
            }
            Err(error) => return Err(format!("push storm: {error}")),
        }
        clock.advance(Duration::from_secs(1));
    }
    println!(
        "push storm: {sent_count} of 60 pushes sent, {refused} refused by the back-off; {} events for the service",
        events.take().len()
    );
    if refused == 0 {
        return Err("the back-off never refused a push".into());
    }
    Ok(())
}
