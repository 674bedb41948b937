//! The whole exchange with a manual clock: enroll, start, answer on the phone, verify, and the
//! sign-in page's side; every way an answer is refused.

mod common;

use std::time::Duration;

use common::{NOW, enroll, policy, rng};
use mfa_core::Verified;
use mfa_core::{
    AttemptError, Clock as _, ManualClock, MemoryStore, Rejection as _, Store, ThrottlePolicy,
    ThrottleStatus, Throttled, UnixTime,
};
use mfa_push::{
    Answer, ChallengeContext, ChallengeRequest, DeviceKey, EventLog, IgnoreEvents, NumberMatch,
    PushApproval, PushError, PushEvent, PushOutcome, PushPayload, PushPolicy, StartedChallenge,
    find_device, start_challenge, state_key, take_outcome, verify_response,
};

fn start(
    store: &MemoryStore,
    policy: &PushPolicy,
    request: &ChallengeRequest,
    now: UnixTime,
) -> StartedChallenge {
    start_challenge(store, policy, request, now, &mut rng(99), &IgnoreEvents).expect("started")
}

fn answer(
    store: &MemoryStore,
    policy: &PushPolicy,
    phone: &DeviceKey,
    started: &StartedChallenge,
    answer: &Answer,
    now: UnixTime,
) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
    let response = phone.respond(&started.id, answer, now).expect("signed");
    verify_response(store, policy, &response, now, &IgnoreEvents)
}

fn approve_shown(started: &StartedChallenge) -> Answer {
    Answer::approve(started.number.expose_digits()).expect("digits")
}

fn rejection<T: std::fmt::Debug>(result: Result<T, AttemptError<PushError>>) -> PushError {
    match result {
        Err(AttemptError::Rejected(error)) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn approve_with_the_number_shown() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(1);
    let (phone, device) = enroll(&store, &policy, "alice", &mut rng);
    let events = EventLog::new();
    let request = ChallengeRequest::new("alice", "sign-in-1");
    let started = start_challenge(&store, &policy, &request, NOW, &mut rng, &events).unwrap();
    assert_eq!(
        started.expires_at,
        NOW.saturating_add(Duration::from_secs(60))
    );
    assert_eq!(started.number.expose_digits().len(), 6);
    let [push] = started.pushes.as_slice() else {
        panic!("one device, one push")
    };
    assert_eq!(push.push_token.as_deref(), Some("fcm-token"));
    let payload = PushPayload::from_json(&push.payload.to_json()).unwrap();
    assert_eq!(
        (&payload.handle, &payload.challenge),
        (&device.device_id, &started.id)
    );

    // The sign-in page asks before the phone answered.
    assert_eq!(
        take_outcome(&store, "alice", &started.id, "sign-in-1", NOW).unwrap(),
        PushOutcome::Pending
    );

    let later = NOW.saturating_add(Duration::from_secs(20));
    let response = phone
        .respond(&payload.challenge, &approve_shown(&started), later)
        .unwrap();
    let phone_side = verify_response(&store, &policy, &response, later, &events).unwrap();
    let evidence = phone_side.evidence();
    assert_eq!(evidence.method, mfa_core::Method::Push);
    assert_eq!(evidence.credential.as_str(), device.device_id.as_str());
    assert_eq!(evidence.verified_at, later);
    assert!(evidence.properties.device_bound);
    assert!(evidence.properties.number_matched && evidence.properties.number_match_meets_rev4);
    assert!(!evidence.properties.phishing_resistant);
    assert_eq!(
        phone_side.credential(),
        &PushApproval {
            account: "alice".into(),
            device_id: device.device_id.clone(),
            device_name: "phone".into(),
            challenge: started.id.clone(),
            mode: NumberMatch::Typed { digits: 6 },
            approved_at: later,
        }
    );
    assert_eq!(
        find_device(&store, &device.device_id)
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(later)
    );

    let outcome = take_outcome(&store, "alice", &started.id, "sign-in-1", later).unwrap();
    assert_eq!(outcome, PushOutcome::Approved(phone_side.clone()));
    // Taken once.
    assert!(matches!(
        take_outcome(&store, "alice", &started.id, "sign-in-1", later),
        Err(AttemptError::ChallengeNotFound)
    ));
    // The same response again (a replay): the challenge is gone.
    let replay = verify_response(&store, &policy, &response, later, &events);
    assert!(matches!(replay, Err(AttemptError::ChallengeNotFound)));
    assert_eq!(replay.unwrap_err().reason(), "challenge_not_found");
    assert!(events.take().is_empty());
}

#[test]
fn vendor_modes_are_marked_as_not_meeting_rev4() {
    let store = MemoryStore::new();
    let policy = PushPolicy {
        free_pushes: 100,
        ..policy()
    };
    let mut rng = rng(2);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    for mode in NumberMatch::ALL {
        let request = ChallengeRequest::new("alice", "t").with_mode(mode);
        let started = start(&store, &policy, &request, NOW);
        assert_eq!(
            started.number.expose_digits().len(),
            usize::from(mode.digits())
        );
        let picked = if let NumberMatch::PickOne { choices } = mode {
            // The phone offers the choices; the user picks the one the sign-in page shows.
            let view = &mfa_push::pending_challenges(
                &store,
                &policy,
                &phone.request_pending(NOW).unwrap(),
                NOW,
            )
            .unwrap()[0];
            assert_eq!(view.choices.len(), usize::from(choices));
            assert_eq!(view.choices, started.choices);
            view.choices
                .iter()
                .find(|c| *c == started.number.expose_digits())
                .unwrap()
                .clone()
        } else {
            started.number.expose_digits().to_owned()
        };
        let verified = answer(
            &store,
            &policy,
            &phone,
            &started,
            &Answer::approve(&picked).unwrap(),
            NOW,
        )
        .unwrap();
        let properties = verified.evidence().properties;
        assert!(properties.number_matched, "{mode}");
        assert_eq!(
            properties.number_match_meets_rev4,
            mode.meets_rev4(),
            "{mode}"
        );
        assert_eq!(verified.credential().mode, mode);
    }
    // A wrong pick is a wrong number.
    let request =
        ChallengeRequest::new("alice", "t").with_mode(NumberMatch::PickOne { choices: 3 });
    let started = start(&store, &policy, &request, NOW);
    let wrong = started
        .choices
        .iter()
        .find(|c| *c != started.number.expose_digits())
        .unwrap();
    assert_eq!(
        rejection(answer(
            &store,
            &policy,
            &phone,
            &started,
            &Answer::approve(wrong).unwrap(),
            NOW
        )),
        PushError::WrongNumber
    );
    // Unsupported modes never start.
    for mode in [
        NumberMatch::Typed { digits: 4 },
        NumberMatch::PickOne { choices: 5 },
    ] {
        let request = ChallengeRequest::new("alice", "t").with_mode(mode);
        let refused = start_challenge(&store, &policy, &request, NOW, &mut rng, &IgnoreEvents);
        assert!(matches!(rejection(refused), PushError::InvalidRequest(_)));
    }
}

#[test]
fn a_wrong_number_spends_the_challenge_and_counts_toward_the_throttle() {
    let store = MemoryStore::new();
    let policy = PushPolicy {
        free_pushes: 100,
        throttle: ThrottlePolicy {
            free_failures: 1,
            max_consecutive_failures: 3,
            ..ThrottlePolicy::default()
        },
        ..policy()
    };
    let mut rng = rng(3);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    let clock = ManualClock::new(NOW);
    let status = |now| {
        policy
            .throttle
            .status(&store, &state_key("alice"), now)
            .unwrap()
    };

    let started = start(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t1"),
        clock.now(),
    );
    let shown = started.number.expose_digits();
    // One digit off.
    let mut typed: Vec<u8> = shown.bytes().collect();
    typed[0] = if typed[0] == b'9' { b'0' } else { typed[0] + 1 };
    let typed = String::from_utf8(typed).unwrap();
    let error = rejection(answer(
        &store,
        &policy,
        &phone,
        &started,
        &Answer::approve(&typed).unwrap(),
        clock.now(),
    ));
    assert_eq!(error, PushError::WrongNumber);
    assert!(error.counts_as_failure());
    assert_eq!(status(clock.now()), ThrottleStatus::Open { failures: 1 });
    // Spent: the right number now finds nothing.
    assert!(matches!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            clock.now()
        ),
        Err(AttemptError::ChallengeNotFound)
    ));
    assert_eq!(
        rejection(take_outcome(
            &store,
            "alice",
            &started.id,
            "t1",
            clock.now()
        )),
        PushError::WrongNumber
    );

    // Fewer digits than shown is wrong too; the second failure makes the next attempt wait.
    let started = start(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t2"),
        clock.now(),
    );
    let short = &started.number.expose_digits()[..5];
    assert_eq!(
        rejection(answer(
            &store,
            &policy,
            &phone,
            &started,
            &Answer::approve(short).unwrap(),
            clock.now()
        )),
        PushError::WrongNumber
    );
    let started = start(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t3"),
        clock.now(),
    );
    let throttled = answer(
        &store,
        &policy,
        &phone,
        &started,
        &approve_shown(&started),
        clock.now(),
    );
    assert!(matches!(
        throttled,
        Err(AttemptError::Throttled(Throttled::TooSoon { .. }))
    ));
    // A throttled answer leaves the challenge in place: after the wait, the right number works
    // and clears the count.
    clock.advance(Duration::from_secs(1));
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            clock.now()
        )
        .is_ok()
    );
    assert_eq!(status(clock.now()), ThrottleStatus::Open { failures: 0 });
}

#[test]
fn expired_challenges_are_refused() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(4);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    let started = start(&store, &policy, &ChallengeRequest::new("alice", "t1"), NOW);
    let at_expiry = started.expires_at;
    assert_eq!(
        rejection(answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            at_expiry
        )),
        PushError::Expired
    );
    assert_eq!(
        rejection(take_outcome(&store, "alice", &started.id, "t1", at_expiry)),
        PushError::Expired
    );
    // Unanswered: the sign-in page learns it expired.
    let started = start(&store, &policy, &ChallengeRequest::new("alice", "t2"), NOW);
    let just_before = UnixTime::from_millis(started.expires_at.as_millis() - 1);
    assert_eq!(
        take_outcome(&store, "alice", &started.id, "t2", just_before).unwrap(),
        PushOutcome::Pending
    );
    assert_eq!(
        rejection(take_outcome(
            &store,
            "alice",
            &started.id,
            "t2",
            started.expires_at
        )),
        PushError::Expired
    );
    // Lifetimes out of range are refused.
    for seconds in [0, 601] {
        let policy = PushPolicy {
            challenge_lifetime: Duration::from_secs(seconds),
            ..policy.clone()
        };
        let refused = start_challenge(
            &store,
            &policy,
            &ChallengeRequest::new("alice", "t"),
            NOW,
            &mut rng,
            &IgnoreEvents,
        );
        assert!(matches!(rejection(refused), PushError::InvalidRequest(_)));
    }
}

#[test]
fn other_keys_cannot_answer() {
    let store = MemoryStore::new();
    let policy = PushPolicy {
        free_pushes: 100,
        ..policy()
    };
    let mut rng = rng(5);
    let (phone, device) = enroll(&store, &policy, "alice", &mut rng);
    let (bobs_phone, _) = enroll(&store, &policy, "bob", &mut rng);
    let started = start(&store, &policy, &ChallengeRequest::new("alice", "t"), NOW);
    let approve = approve_shown(&started);

    // An unregistered key.
    let stranger = DeviceKey::generate(&mut rng);
    assert_eq!(
        rejection(answer(&store, &policy, &stranger, &started, &approve, NOW)),
        PushError::UnknownDevice
    );
    // Alice's kid, someone else's signature.
    let forged = stranger.respond(&started.id, &approve, NOW).unwrap();
    let genuine = phone.respond(&started.id, &Answer::Deny, NOW).unwrap();
    let spliced = format!(
        "{}.{}",
        genuine.split('.').next().unwrap(),
        forged.split_once('.').unwrap().1
    );
    let error = rejection(verify_response(
        &store,
        &policy,
        &spliced,
        NOW,
        &IgnoreEvents,
    ));
    assert_eq!(
        (error.clone(), error.counts_as_failure()),
        (PushError::BadSignature, false)
    );
    // Bob's registered phone answering Alice's challenge: it is not Bob's.
    assert!(matches!(
        answer(&store, &policy, &bobs_phone, &started, &approve, NOW),
        Err(AttemptError::ChallengeNotFound)
    ));
    // A malformed message.
    assert!(
        rejection(verify_response(
            &store,
            &policy,
            "not.a.jws",
            NOW,
            &IgnoreEvents
        ))
        .is_malformed()
    );
    // A message signed too far from the server's clock.
    let stale = phone
        .respond(
            &started.id,
            &approve,
            UnixTime::from_secs(NOW.as_secs() - 301),
        )
        .unwrap();
    assert_eq!(
        rejection(verify_response(&store, &policy, &stale, NOW, &IgnoreEvents)),
        PushError::ClockSkew
    );
    // None of this spent the challenge or counted toward the throttle.
    assert!(
        store
            .load(&ThrottlePolicy::key_for(&state_key("alice")))
            .unwrap()
            .is_none()
    );
    assert!(answer(&store, &policy, &phone, &started, &approve, NOW).is_ok());
    // A removed device can no longer answer.
    mfa_push::remove_device(&store, "alice", &device.device_id).unwrap();
    let (_, _) = enroll(&store, &policy, "alice", &mut rng);
    let started = start(&store, &policy, &ChallengeRequest::new("alice", "t"), NOW);
    assert_eq!(
        rejection(answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            NOW
        )),
        PushError::UnknownDevice
    );
}

#[test]
fn a_new_challenge_supersedes_the_pending_one() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(6);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    let events = EventLog::new();
    let first = start_challenge(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t1"),
        NOW,
        &mut rng,
        &events,
    )
    .unwrap();
    let second = start_challenge(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t2"),
        NOW,
        &mut rng,
        &events,
    )
    .unwrap();
    assert_eq!(second.superseded.as_ref(), Some(&first.id));
    assert_eq!(
        events.take(),
        [PushEvent::Superseded {
            account: "alice".into(),
            challenge: first.id.clone(),
            by: second.id.clone()
        }]
    );
    assert_eq!(
        rejection(answer(
            &store,
            &policy,
            &phone,
            &first,
            &approve_shown(&first),
            NOW
        )),
        PushError::Superseded
    );
    assert_eq!(
        rejection(take_outcome(&store, "alice", &first.id, "t1", NOW)),
        PushError::Superseded
    );
    // The old challenge's record is gone: one pending challenge per account.
    assert!(
        store
            .load(&mfa_push::challenge_key("alice", &first.id))
            .unwrap()
            .is_none()
    );
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &second,
            &approve_shown(&second),
            NOW
        )
        .is_ok()
    );
}

#[test]
fn denials_are_capped() {
    let store = MemoryStore::new();
    let policy = PushPolicy {
        free_pushes: 100,
        ..policy()
    };
    let mut rng = rng(7);
    let (phone, device) = enroll(&store, &policy, "alice", &mut rng);
    let events = EventLog::new();
    let clock = ManualClock::new(NOW);
    for n in 1..=3_u32 {
        let started = start(
            &store,
            &policy,
            &ChallengeRequest::new("alice", format!("t{n}")),
            clock.now(),
        );
        let response = phone
            .respond(&started.id, &Answer::Deny, clock.now())
            .unwrap();
        let error = rejection(verify_response(
            &store,
            &policy,
            &response,
            clock.now(),
            &events,
        ));
        assert_eq!(
            (error.clone(), error.counts_as_failure()),
            (PushError::Denied, false)
        );
        assert_eq!(
            rejection(take_outcome(
                &store,
                "alice",
                &started.id,
                &format!("t{n}"),
                clock.now()
            )),
            PushError::Denied
        );
        let mut expected = vec![PushEvent::Denied {
            account: "alice".into(),
            device_id: device.device_id.clone(),
            challenge: started.id.clone(),
        }];
        if n == 3 {
            expected.push(PushEvent::DenialCapReached {
                account: "alice".into(),
                denials: 3,
                locked_until: clock.now().saturating_add(Duration::from_secs(3600)),
            });
        }
        assert_eq!(events.take(), expected);
        clock.advance(Duration::from_secs(60));
    }
    // Locked for an hour after the third denial.
    let refused = start_challenge(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t4"),
        clock.now(),
        &mut rng,
        &IgnoreEvents,
    );
    let error = rejection(refused);
    assert_eq!(error.reason(), "denial_cap");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600 - 60)));
    clock.advance(Duration::from_secs(3600 - 60));
    let started = start(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t5"),
        clock.now(),
    );
    // An approval resets the count.
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            clock.now()
        )
        .is_ok()
    );
    let started = start(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t6"),
        clock.now(),
    );
    assert_eq!(
        rejection(answer(
            &store,
            &policy,
            &phone,
            &started,
            &Answer::Deny,
            clock.now()
        )),
        PushError::Denied
    );
    assert!(
        start_challenge(
            &store,
            &policy,
            &ChallengeRequest::new("alice", "t7"),
            clock.now(),
            &mut rng,
            &IgnoreEvents
        )
        .is_ok()
    );
}

#[test]
fn a_fraud_report_locks_push_until_unlocked() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(8);
    let (phone, device) = enroll(&store, &policy, "alice", &mut rng);
    let events = EventLog::new();
    let context = ChallengeContext {
        application: Some("Payroll".into()),
        ip_address: Some("203.0.113.7".into()),
        location: Some("Lyon, France".into()),
        browser: Some("Firefox on Linux".into()),
    };
    let request = ChallengeRequest::new("alice", "t1").with_context(context.clone());
    let started = start(&store, &policy, &request, NOW);
    let later = NOW.saturating_add(Duration::from_secs(5));
    let response = phone
        .respond(&started.id, &Answer::ReportFraud, later)
        .unwrap();
    let error = rejection(verify_response(&store, &policy, &response, later, &events));
    let report = error.fraud_report().unwrap().clone();
    assert_eq!(
        (
            report.account.as_str(),
            &report.device_id,
            report.device_name.as_str(),
            &report.challenge,
            &report.context,
            report.started_at,
            report.reported_at
        ),
        (
            "alice",
            &device.device_id,
            "phone",
            &started.id,
            &context,
            NOW,
            later
        )
    );
    assert!(!format!("{report:?}").contains(started.number.expose_digits()));
    assert_eq!(events.take(), [PushEvent::FraudReported(report.clone())]);
    assert_eq!(
        rejection(take_outcome(&store, "alice", &started.id, "t1", later)),
        PushError::FraudReported(Box::new(report))
    );
    // Locked, even a day later, until an operator unlocks.
    let day = later.saturating_add(Duration::from_secs(86_400));
    let refused = start_challenge(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t2"),
        day,
        &mut rng,
        &IgnoreEvents,
    );
    assert_eq!(rejection(refused), PushError::FraudLocked);
    mfa_push::unlock(&store, "alice").unwrap();
    let started = start(&store, &policy, &ChallengeRequest::new("alice", "t3"), day);
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            day
        )
        .is_ok()
    );
}

#[test]
fn the_push_cap_makes_a_fatigue_attack_wait() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(9);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    let events = EventLog::new();
    let clock = ManualClock::new(NOW);
    let push = |clock: &ManualClock, rng: &mut rand::rngs::StdRng| {
        start_challenge(
            &store,
            &policy,
            &ChallengeRequest::new("alice", "attacker"),
            clock.now(),
            rng,
            &events,
        )
    };
    for _ in 0..3 {
        assert!(push(&clock, &mut rng).is_ok());
    }
    let _superseded = events.take();
    // The fourth push waits 10 s, the fifth 20 s, the sixth 40 s.
    for wait in [10_u64, 20, 40] {
        let error = rejection(push(&clock, &mut rng));
        assert_eq!(
            error,
            PushError::PushCapReached {
                retry_after: Duration::from_secs(wait)
            }
        );
        let taken: [PushEvent; 1] = events.take().try_into().unwrap();
        let [
            PushEvent::PushCapReached {
                pushes,
                next_push_at,
                ..
            },
        ] = taken
        else {
            panic!("one push-cap event")
        };
        assert_eq!(
            next_push_at,
            clock.now().saturating_add(Duration::from_secs(wait))
        );
        assert!(pushes >= 3);
        clock.advance(Duration::from_secs(wait - 1));
        assert!(matches!(
            rejection(push(&clock, &mut rng)),
            PushError::PushCapReached { .. }
        ));
        let _ = events.take();
        clock.advance(Duration::from_secs(1));
        assert!(push(&clock, &mut rng).is_ok());
        let _superseded = events.take();
    }
    // The user approves their own sign-in: the count starts again.
    let started = start_challenge(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "mine"),
        clock.now().saturating_add(Duration::from_secs(80)),
        &mut rng,
        &IgnoreEvents,
    )
    .unwrap();
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            clock.now().saturating_add(Duration::from_secs(80))
        )
        .is_ok()
    );
    clock.advance(Duration::from_secs(80));
    for _ in 0..3 {
        assert!(push(&clock, &mut rng).is_ok());
    }
}

#[test]
fn poll_mode_and_context_without_a_push_service() {
    let store = MemoryStore::new();
    let policy = PushPolicy {
        challenge_lifetime: Duration::from_secs(600),
        ..policy()
    };
    let mut rng = rng(10);
    // A phone that registers without a push token.
    let offer = mfa_push::begin_enrollment(&store, &policy, "alice", NOW, &mut rng).unwrap();
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(&offer.uri, "tablet", mfa_push::Platform::Other, None, NOW)
        .unwrap();
    mfa_push::register_device(&store, &policy, &message, NOW).unwrap();

    let poll = |now| {
        mfa_push::pending_challenges(&store, &policy, &phone.request_pending(now).unwrap(), now)
    };
    assert!(poll(NOW).unwrap().is_empty());
    let context = ChallengeContext {
        application: Some("Payroll".into()),
        ..ChallengeContext::default()
    };
    let sender = mfa_push::InMemorySender::new();
    let sent = mfa_push::start_and_send(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "t").with_context(context.clone()),
        NOW,
        &mut rng,
        &IgnoreEvents,
        &sender,
    )
    .unwrap();
    assert!(
        sender.take().is_empty(),
        "nothing to send to a device without a push token"
    );
    assert!(sent.failures.is_empty());
    let started = sent.challenge;

    let pending = poll(NOW).unwrap();
    let [view] = pending.as_slice() else {
        panic!("one pending challenge")
    };
    assert_eq!(
        (
            &view.challenge,
            view.account.as_str(),
            view.mode,
            view.digits
        ),
        (&started.id, "alice", NumberMatch::default(), 6)
    );
    assert_eq!(
        (&view.context, view.created_at, view.expires_at),
        (&context, NOW.as_secs(), started.expires_at.as_secs())
    );
    assert!(view.choices.is_empty());
    let json = serde_json::to_string(view).unwrap();
    assert!(
        !json.contains("number") && !json.contains(started.number.expose_digits()),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<mfa_push::ChallengeView>(&json).unwrap(),
        *view
    );

    let fetched = mfa_push::challenge_context(
        &store,
        &policy,
        &phone.request_context(&started.id, NOW).unwrap(),
        NOW,
    )
    .unwrap();
    assert_eq!(&fetched, view);
    // A request replayed within the skew window reads the same; beyond it, no.
    let request = phone.request_pending(NOW).unwrap();
    let within = NOW.saturating_add(Duration::from_secs(300));
    assert_eq!(
        mfa_push::pending_challenges(&store, &policy, &request, within)
            .unwrap()
            .len(),
        1
    );
    let beyond = NOW.saturating_add(Duration::from_secs(301));
    assert_eq!(
        rejection(mfa_push::pending_challenges(
            &store, &policy, &request, beyond
        )),
        PushError::ClockSkew
    );
    // A context request is not a pending request, and the other way round.
    let context_request = phone.request_context(&started.id, NOW).unwrap();
    assert!(
        rejection(mfa_push::pending_challenges(
            &store,
            &policy,
            &context_request,
            NOW
        ))
        .is_malformed()
    );
    // Strangers learn nothing.
    let stranger = DeviceKey::generate(&mut rng);
    assert_eq!(
        rejection(mfa_push::pending_challenges(
            &store,
            &policy,
            &stranger.request_pending(NOW).unwrap(),
            NOW
        )),
        PushError::UnknownDevice
    );

    // Answered by polling, no push service involved.
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            NOW
        )
        .is_ok()
    );
    assert!(poll(NOW).unwrap().is_empty());
    assert!(matches!(
        mfa_push::challenge_context(
            &store,
            &policy,
            &phone.request_context(&started.id, NOW).unwrap(),
            NOW
        ),
        Err(AttemptError::ChallengeNotFound)
    ));
}

#[test]
fn the_push_payload_carries_ids_only() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(11);
    let (_, device) = enroll(&store, &policy, "alice@example.com", &mut rng);
    let context = ChallengeContext {
        application: Some("Payroll".into()),
        location: Some("Lyon".into()),
        ..ChallengeContext::default()
    };
    let sender = mfa_push::InMemorySender::new();
    let sent = mfa_push::start_and_send(
        &store,
        &policy,
        &ChallengeRequest::new("alice@example.com", "txn-secret").with_context(context),
        NOW,
        &mut rng,
        &IgnoreEvents,
        &sender,
    )
    .unwrap();
    let [push]: [mfa_push::DevicePush; 1] = sender.take().try_into().unwrap();
    assert_eq!(push, sent.challenge.pushes[0]);
    assert_eq!(push.push_token.as_deref(), Some("fcm-token"));
    let json = push.payload.to_json();
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        members.keys().collect::<Vec<_>>(),
        ["challenge", "handle", "v"]
    );
    assert_eq!(members["handle"], device.device_id.as_str());
    for private in [
        "alice",
        "example.com",
        "Payroll",
        "Lyon",
        "txn-secret",
        sent.challenge.number.expose_digits(),
    ] {
        assert!(!json.contains(private), "{private} in {json}");
    }
}

#[test]
fn the_outcome_goes_to_its_own_transaction_only() {
    let store = MemoryStore::new();
    let policy = policy();
    let mut rng = rng(12);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    let started = start(
        &store,
        &policy,
        &ChallengeRequest::new("alice", "the-real-one"),
        NOW,
    );
    // Pending: another transaction is refused and leaves the challenge waiting.
    assert_eq!(
        rejection(take_outcome(&store, "alice", &started.id, "another", NOW)),
        PushError::TransactionMismatch
    );
    assert!(
        answer(
            &store,
            &policy,
            &phone,
            &started,
            &approve_shown(&started),
            NOW
        )
        .is_ok()
    );
    // Answered: the answer is spent by whoever takes it, and refused to another transaction.
    assert_eq!(
        rejection(take_outcome(
            &store,
            "alice",
            &started.id,
            "the-real-one!",
            NOW
        )),
        PushError::TransactionMismatch
    );
    assert!(matches!(
        take_outcome(&store, "alice", &started.id, "the-real-one", NOW),
        Err(AttemptError::ChallengeNotFound)
    ));
    // Another account's name finds nothing.
    assert!(matches!(
        take_outcome(&store, "bob", &started.id, "the-real-one", NOW),
        Err(AttemptError::ChallengeNotFound)
    ));
}

#[test]
fn no_device_no_challenge() {
    let store = MemoryStore::new();
    let refused = start_challenge(
        &store,
        &policy(),
        &ChallengeRequest::new("nobody", "t"),
        NOW,
        &mut rng(13),
        &IgnoreEvents,
    );
    assert!(matches!(refused, Err(AttemptError::NotEnrolled)));
    assert!(
        store.is_empty(),
        "nothing written for an account without devices"
    );
    let long = ChallengeRequest::new("nobody", "t".repeat(257));
    assert!(matches!(
        rejection(start_challenge(
            &store,
            &policy(),
            &long,
            NOW,
            &mut rng(13),
            &IgnoreEvents
        )),
        PushError::InvalidRequest(_)
    ));
}
