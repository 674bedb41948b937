//! The whole exchange with a manual clock: enroll, start, answer on the phone, verify, and the
//! sign-in page's side; every way an answer is refused; the fatigue defences.

mod common;

use std::time::Duration;

use common::{NOW, Scene, policy, rejection};
use mfa_core::{
    AttemptError, Clock as _, ManualClock, Method, Rejection as _, Store, ThrottlePolicy,
    ThrottleStatus, Throttled, UnixTime,
};
use mfa_push::{
    Answer, ChallengeContext, ChallengeRequest, ChallengeView, DeviceKey, InMemorySender,
    NumberMatch, Platform, PushApproval, PushError, PushEvent, PushOutcome, PushPayload,
    PushPolicy, challenge_context, challenge_key, find_device, pending_challenges, state_key,
    verify_response,
};

fn at(seconds: u64) -> UnixTime {
    NOW.saturating_add(Duration::from_secs(seconds))
}

fn uncapped() -> PushPolicy {
    PushPolicy {
        free_pushes: 1_000,
        ..policy()
    }
}

#[test]
fn approve_with_the_number_shown() {
    let mut scene = Scene::new(policy(), 1);
    let started = scene.start("sign-in-1", NOW);
    assert_eq!(started.expires_at, at(60));
    assert_eq!(started.number.expose_digits().len(), 6);
    let [push] = started.pushes.as_slice() else {
        panic!("one device, one push")
    };
    assert_eq!(push.push_token.as_deref(), Some("fcm-token"));
    let payload = PushPayload::from_json(&push.payload.to_json()).unwrap();
    assert_eq!(payload.handle, scene.device.device_id);
    assert_eq!(payload.challenge, started.id);

    // The sign-in page asks before the phone answered.
    assert_eq!(
        scene.outcome(&started, "sign-in-1", NOW).unwrap(),
        PushOutcome::Pending
    );

    let phone_side = scene.approve(&started, at(20)).unwrap();
    let evidence = phone_side.evidence();
    assert_eq!(
        (
            evidence.method,
            evidence.credential.as_str(),
            evidence.verified_at
        ),
        (Method::Push, scene.device.device_id.as_str(), at(20))
    );
    let properties = evidence.properties;
    assert!(properties.device_bound && properties.number_matched);
    assert!(properties.number_match_meets_rev4 && !properties.phishing_resistant);
    assert_eq!(
        phone_side.credential(),
        &PushApproval {
            account: "alice".into(),
            device_id: scene.device.device_id.clone(),
            device_name: "phone".into(),
            challenge: started.id.clone(),
            mode: NumberMatch::Typed { digits: 6 },
            approved_at: at(20),
        }
    );
    let device = find_device(&scene.store, &scene.device.device_id)
        .unwrap()
        .unwrap();
    assert_eq!(device.last_used_at, Some(at(20)));

    let outcome = scene.outcome(&started, "sign-in-1", at(20)).unwrap();
    assert_eq!(outcome, PushOutcome::Approved(phone_side));
    // Taken once.
    let again = scene.outcome(&started, "sign-in-1", at(20));
    assert!(matches!(again, Err(AttemptError::ChallengeNotFound)));
    // The same answer again (a replay): the challenge is gone.
    let replay = scene.approve(&started, at(20));
    assert_eq!(replay.unwrap_err().reason(), "challenge_not_found");
    assert!(scene.events.take().is_empty());
}

#[test]
fn vendor_modes_are_marked_as_not_meeting_rev4() {
    let mut scene = Scene::new(uncapped(), 2);
    for mode in NumberMatch::ALL {
        let request = ChallengeRequest::new("alice", "t").with_mode(mode);
        let started = scene.try_start_with(&request, NOW).unwrap();
        assert_eq!(
            started.number.expose_digits().len(),
            usize::from(mode.digits())
        );
        let shown = started.number.expose_digits();
        let entered = if let NumberMatch::PickOne { choices } = mode {
            // The phone offers the choices; the user picks the one the sign-in page shows.
            let poll = scene.phone.request_pending(NOW).unwrap();
            let views = pending_challenges(&scene.store, &scene.policy, &poll, NOW).unwrap();
            assert_eq!(views[0].choices.len(), usize::from(choices));
            assert_eq!(views[0].choices, started.choices);
            views[0]
                .choices
                .iter()
                .find(|c| *c == shown)
                .unwrap()
                .clone()
        } else {
            shown.to_owned()
        };
        let verified = scene.typed(&started, &entered, NOW).unwrap();
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
    let pick3 = ChallengeRequest::new("alice", "t").with_mode(NumberMatch::PickOne { choices: 3 });
    let started = scene.try_start_with(&pick3, NOW).unwrap();
    let shown = started.number.expose_digits();
    let wrong = started.choices.iter().find(|c| *c != shown).unwrap();
    assert_eq!(
        rejection(scene.typed(&started, wrong, NOW)),
        PushError::WrongNumber
    );
    // Unsupported modes never start.
    for mode in [
        NumberMatch::Typed { digits: 4 },
        NumberMatch::PickOne { choices: 5 },
    ] {
        let request = ChallengeRequest::new("alice", "t").with_mode(mode);
        let refused = rejection(scene.try_start_with(&request, NOW));
        assert!(matches!(refused, PushError::InvalidRequest(_)));
    }
}

#[test]
fn a_wrong_number_spends_the_challenge_and_counts_toward_the_throttle() {
    let throttle = ThrottlePolicy {
        free_failures: 1,
        max_consecutive_failures: 3,
        ..ThrottlePolicy::default()
    };
    let mut scene = Scene::new(
        PushPolicy {
            throttle,
            ..uncapped()
        },
        3,
    );
    let clock = ManualClock::new(NOW);
    let status = |scene: &Scene, now| {
        let key = state_key("alice");
        scene
            .policy
            .throttle
            .status(&scene.store, &key, now)
            .unwrap()
    };

    let started = scene.start("t1", clock.now());
    // One digit off.
    let mut typed: Vec<u8> = started.number.expose_digits().bytes().collect();
    typed[0] = if typed[0] == b'9' { b'0' } else { typed[0] + 1 };
    let typed = String::from_utf8(typed).unwrap();
    let error = rejection(scene.typed(&started, &typed, clock.now()));
    assert_eq!(error, PushError::WrongNumber);
    assert!(error.counts_as_failure());
    assert_eq!(
        status(&scene, clock.now()),
        ThrottleStatus::Open { failures: 1 }
    );
    // Spent: the right number now finds nothing, and the sign-in page learns why.
    let late = scene.approve(&started, clock.now());
    assert!(matches!(late, Err(AttemptError::ChallengeNotFound)));
    let outcome = rejection(scene.outcome(&started, "t1", clock.now()));
    assert_eq!(outcome, PushError::WrongNumber);

    // Fewer digits than shown is wrong too; the second failure makes the next attempt wait.
    let started = scene.start("t2", clock.now());
    let short = &started.number.expose_digits()[..5];
    assert_eq!(
        rejection(scene.typed(&started, short, clock.now())),
        PushError::WrongNumber
    );
    // The second failure makes the next answer wait, so no push is sent before then.
    assert!(matches!(
        scene.try_start("t3", clock.now()),
        Err(AttemptError::Throttled(Throttled::TooSoon { .. }))
    ));
    // After the wait, the right number works and clears the count.
    clock.advance(Duration::from_secs(1));
    let started = scene.start("t3", clock.now());
    assert!(scene.approve(&started, clock.now()).is_ok());
    assert_eq!(
        status(&scene, clock.now()),
        ThrottleStatus::Open { failures: 0 }
    );
}

#[test]
fn a_late_fraud_report_still_locks() {
    // Seen late: the challenge expired, but its record is still in the store (within the grace).
    let mut scene = Scene::new(policy(), 41);
    let started = scene.start("t1", NOW);
    let late = started.expires_at.saturating_add(Duration::from_secs(30));
    let error = rejection(scene.answer(&started, &Answer::ReportFraud, late));
    assert_eq!(
        error.fraud_report().map(|r| &r.challenge),
        Some(&started.id)
    );
    assert!(matches!(
        scene.events.take().as_slice(),
        [PushEvent::FraudReported(_)]
    ));
    assert_eq!(
        rejection(scene.try_start("t2", late)),
        PushError::FraudLocked
    );
}

#[test]
fn no_push_while_wrong_numbers_keep_answers_throttled() {
    let mut throttled = policy();
    throttled.throttle.free_failures = 0;
    throttled.throttle.initial_delay = Duration::from_secs(10);
    let mut scene = Scene::new(throttled, 43);
    let started = scene.start("t1", NOW);
    assert_eq!(
        rejection(scene.wrong(&started, NOW)),
        PushError::WrongNumber
    );
    // The next answer would be refused as too soon, so no push is sent until it would be heard.
    let wait = match scene.try_start("t2", at(1)) {
        Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) => retry_after,
        other => panic!("expected a throttled start, got {other:?}"),
    };
    assert_eq!(
        wait,
        scene.policy.throttle.delay_after(1) - Duration::from_secs(1)
    );
    let later = at(1).saturating_add(wait);
    let started = scene.start("t3", later);
    assert!(scene.approve(&started, later).is_ok());
}

#[test]
fn expired_challenges_are_refused() {
    let mut scene = Scene::new(policy(), 4);
    let started = scene.start("t1", NOW);
    assert_eq!(
        rejection(scene.approve(&started, started.expires_at)),
        PushError::Expired
    );
    let outcome = rejection(scene.outcome(&started, "t1", started.expires_at));
    assert_eq!(outcome, PushError::Expired);
    // Unanswered: the sign-in page learns it expired.
    let started = scene.start("t2", NOW);
    let just_before = UnixTime::from_millis(started.expires_at.as_millis() - 1);
    assert_eq!(
        scene.outcome(&started, "t2", just_before).unwrap(),
        PushOutcome::Pending
    );
    let outcome = rejection(scene.outcome(&started, "t2", started.expires_at));
    assert_eq!(outcome, PushError::Expired);
    // Lifetimes out of range are refused.
    for seconds in [0, 601] {
        scene.policy.challenge_lifetime = Duration::from_secs(seconds);
        assert!(matches!(
            rejection(scene.try_start("t", NOW)),
            PushError::InvalidRequest(_)
        ));
    }
}

#[test]
fn other_keys_cannot_answer() {
    let mut scene = Scene::new(uncapped(), 5);
    let (bobs_phone, _) = common::enroll(&scene.store, &scene.policy, "bob", &mut scene.rng);
    let started = scene.start("t", NOW);
    let approve = Answer::approve(started.number.expose_digits()).unwrap();

    // An unregistered key.
    let stranger = DeviceKey::generate(&mut scene.rng);
    let error = rejection(scene.answer_from(&stranger, &started, &approve, NOW));
    assert_eq!(error, PushError::UnknownDevice);
    // Alice's kid, someone else's signature.
    let forged = stranger.respond(&started.id, &approve, NOW).unwrap();
    let genuine = scene
        .phone
        .respond(&started.id, &Answer::Deny, NOW)
        .unwrap();
    let (alices_header, _) = genuine.split_once('.').unwrap();
    let (_, forged_rest) = forged.split_once('.').unwrap();
    let spliced = format!("{alices_header}.{forged_rest}");
    let verify = |message: &str, now| {
        verify_response(&scene.store, &scene.policy, message, now, &scene.events)
    };
    let error = rejection(verify(&spliced, NOW));
    assert_eq!(error, PushError::BadSignature);
    assert!(!error.counts_as_failure());
    // Bob's registered phone answering Alice's challenge: it is not Bob's.
    let bobs = scene.answer_from(&bobs_phone, &started, &approve, NOW);
    assert!(matches!(bobs, Err(AttemptError::ChallengeNotFound)));
    // A malformed message.
    assert!(rejection(verify("not.a.jws", NOW)).is_malformed());
    // A message signed too far from the server's clock.
    let signed_at_now = scene.phone.respond(&started.id, &approve, NOW).unwrap();
    assert_eq!(
        rejection(verify(&signed_at_now, at(301))),
        PushError::ClockSkew
    );
    // None of this spent the challenge or counted toward the throttle.
    let throttle_record = ThrottlePolicy::key_for(&state_key("alice"));
    assert!(scene.store.load(&throttle_record).unwrap().is_none());
    assert!(scene.answer(&started, &approve, NOW).is_ok());
    // A removed device can no longer answer.
    let removed = mfa_push::remove_device(&scene.store, "alice", &scene.device.device_id);
    assert!(removed.unwrap().is_some());
    let (_, _) = common::enroll(&scene.store, &scene.policy, "alice", &mut scene.rng);
    let started = scene.start("t", NOW);
    assert_eq!(
        rejection(scene.approve(&started, NOW)),
        PushError::UnknownDevice
    );
}

#[test]
fn a_new_challenge_supersedes_the_pending_one() {
    let mut scene = Scene::new(policy(), 6);
    let first = scene.start("t1", NOW);
    let second = scene.start("t2", NOW);
    assert_eq!(second.superseded.as_ref(), Some(&first.id));
    let superseded = PushEvent::Superseded {
        account: "alice".into(),
        challenge: first.id.clone(),
        by: second.id.clone(),
    };
    assert_eq!(scene.events.take(), [superseded]);
    assert_eq!(rejection(scene.approve(&first, NOW)), PushError::Superseded);
    assert_eq!(
        rejection(scene.outcome(&first, "t1", NOW)),
        PushError::Superseded
    );
    // The old challenge's record is gone: one pending challenge per account.
    let old = challenge_key("alice", &first.id);
    assert!(scene.store.load(&old).unwrap().is_none());
    assert!(scene.approve(&second, NOW).is_ok());
}

#[test]
fn denials_are_capped() {
    let mut scene = Scene::new(uncapped(), 7);
    let clock = ManualClock::new(NOW);
    for n in 1..=3_u32 {
        let transaction = format!("t{n}");
        let started = scene.start(&transaction, clock.now());
        let error = rejection(scene.answer(&started, &Answer::Deny, clock.now()));
        assert_eq!(error, PushError::Denied);
        assert!(!error.counts_as_failure());
        let outcome = rejection(scene.outcome(&started, &transaction, clock.now()));
        assert_eq!(outcome, PushError::Denied);
        let mut expected = vec![PushEvent::Denied {
            account: "alice".into(),
            device_id: scene.device.device_id.clone(),
            challenge: started.id.clone(),
        }];
        if n == 3 {
            expected.push(PushEvent::DenialCapReached {
                account: "alice".into(),
                denials: 3,
                locked_until: clock.now().saturating_add(Duration::from_secs(3600)),
            });
        }
        assert_eq!(scene.events.take(), expected);
        clock.advance(Duration::from_secs(60));
    }
    // Locked for an hour after the third denial.
    let error = rejection(scene.try_start("t4", clock.now()));
    assert_eq!(error.reason(), "denial_cap");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600 - 60)));
    clock.advance(Duration::from_secs(3600 - 60));
    let started = scene.start("t5", clock.now());
    // An approval resets the count: one denial no longer locks.
    assert!(scene.approve(&started, clock.now()).is_ok());
    let started = scene.start("t6", clock.now());
    let error = rejection(scene.answer(&started, &Answer::Deny, clock.now()));
    assert_eq!(error, PushError::Denied);
    assert!(scene.try_start("t7", clock.now()).is_ok());
}

#[test]
fn a_fraud_report_locks_push_until_unlocked() {
    let mut scene = Scene::new(policy(), 8);
    let context = ChallengeContext {
        application: Some("Payroll".into()),
        ip_address: Some("203.0.113.7".into()),
        location: Some("Lyon, France".into()),
        browser: Some("Firefox on Linux".into()),
    };
    let request = ChallengeRequest::new("alice", "t1").with_context(context.clone());
    let started = scene.try_start_with(&request, NOW).unwrap();
    let error = rejection(scene.answer(&started, &Answer::ReportFraud, at(5)));
    let report = error.fraud_report().unwrap().clone();
    assert_eq!(
        (
            report.account.as_str(),
            &report.device_id,
            report.device_name.as_str()
        ),
        ("alice", &scene.device.device_id, "phone")
    );
    assert_eq!(
        (
            &report.challenge,
            &report.context,
            report.started_at,
            report.reported_at
        ),
        (&started.id, &context, NOW, at(5))
    );
    assert!(!format!("{report:?}").contains(started.number.expose_digits()));
    assert_eq!(
        scene.events.take(),
        [PushEvent::FraudReported(report.clone())]
    );
    let outcome = rejection(scene.outcome(&started, "t1", at(5)));
    assert_eq!(outcome, PushError::FraudReported(Box::new(report)));
    // Locked, even a day later, until an operator unlocks.
    let day = at(86_400);
    assert_eq!(
        rejection(scene.try_start("t2", day)),
        PushError::FraudLocked
    );
    mfa_push::unlock(&scene.store, "alice").unwrap();
    let started = scene.start("t3", day);
    assert!(scene.approve(&started, day).is_ok());
}

#[test]
fn the_push_cap_makes_a_fatigue_attack_wait() {
    let mut scene = Scene::new(policy(), 9);
    let clock = ManualClock::new(NOW);
    for _ in 0..3 {
        assert!(scene.try_start("attacker", clock.now()).is_ok());
    }
    let _superseded = scene.events.take();
    // The fourth push waits 10 s, the fifth 20 s, the sixth 40 s.
    for (wait, pushes) in [(10_u64, 3_u32), (20, 4), (40, 5)] {
        let error = rejection(scene.try_start("attacker", clock.now()));
        assert_eq!(
            error,
            PushError::PushCapReached {
                retry_after: Duration::from_secs(wait)
            }
        );
        let capped = PushEvent::PushCapReached {
            account: "alice".into(),
            pushes,
            next_push_at: clock.now().saturating_add(Duration::from_secs(wait)),
        };
        assert_eq!(scene.events.take(), [capped]);
        clock.advance(Duration::from_secs(wait - 1));
        let error = rejection(scene.try_start("attacker", clock.now()));
        assert!(matches!(error, PushError::PushCapReached { .. }));
        clock.advance(Duration::from_secs(1));
        assert!(scene.try_start("attacker", clock.now()).is_ok());
        let _ = scene.events.take();
    }
    // The user approves their own sign-in (after the wait): the count starts again.
    clock.advance(Duration::from_secs(80));
    let started = scene.start("mine", clock.now());
    assert!(scene.approve(&started, clock.now()).is_ok());
    for _ in 0..3 {
        assert!(scene.try_start("attacker", clock.now()).is_ok());
    }
}

#[test]
fn poll_mode_and_context_without_a_push_service() {
    let policy = PushPolicy {
        challenge_lifetime: Duration::from_secs(600),
        ..policy()
    };
    let mut scene = Scene::new(policy, 10);
    // A second phone that registers without a push token.
    let offer =
        mfa_push::begin_enrollment(&scene.store, &scene.policy, "alice", NOW, &mut scene.rng)
            .unwrap();
    let tablet = DeviceKey::generate(&mut scene.rng);
    let message = tablet.registration_message(&offer.uri, "tablet", Platform::Other, None, NOW);
    mfa_push::register_device(&scene.store, &scene.policy, &message.unwrap(), NOW).unwrap();

    let poll = |scene: &Scene, now| {
        let request = tablet.request_pending(now).unwrap();
        pending_challenges(&scene.store, &scene.policy, &request, now)
    };
    assert!(poll(&scene, NOW).unwrap().is_empty());
    let context = ChallengeContext {
        application: Some("Payroll".into()),
        ..ChallengeContext::default()
    };
    let request = ChallengeRequest::new("alice", "t").with_context(context.clone());
    let sender = InMemorySender::new();
    let (store, policy, events) = (&scene.store, &scene.policy, &scene.events);
    let sent = mfa_push::start_and_send(
        store,
        policy,
        &request,
        NOW,
        &mut scene.rng,
        events,
        &sender,
    )
    .unwrap();
    // Only the phone with a push token gets a push.
    let pushed = sender.take();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].device_id, scene.device.device_id);
    assert!(sent.failures.is_empty());
    let started = sent.challenge;
    assert_eq!(started.pushes.len(), 2);

    let pending = poll(&scene, NOW).unwrap();
    let [view] = pending.as_slice() else {
        panic!("one pending challenge")
    };
    assert_eq!(
        (&view.challenge, view.account.as_str()),
        (&started.id, "alice")
    );
    assert_eq!(
        (view.mode, view.digits, view.choices.len()),
        (NumberMatch::default(), 6, 0)
    );
    assert_eq!(view.context, context);
    assert_eq!(
        (view.created_at, view.expires_at),
        (NOW.as_secs(), started.expires_at.as_secs())
    );
    let json = serde_json::to_string(view).unwrap();
    assert!(!json.contains("number"), "{json}");
    assert!(!json.contains(started.number.expose_digits()), "{json}");
    assert_eq!(serde_json::from_str::<ChallengeView>(&json).unwrap(), *view);

    let context_request = tablet.request_context(&started.id, NOW).unwrap();
    let fetched = challenge_context(&scene.store, &scene.policy, &context_request, NOW);
    assert_eq!(&fetched.unwrap(), view);
    // A request replayed within the skew window reads the same; beyond it, no.
    let request = tablet.request_pending(NOW).unwrap();
    let replayed = |now| pending_challenges(&scene.store, &scene.policy, &request, now);
    assert_eq!(replayed(at(300)).unwrap().len(), 1);
    assert_eq!(rejection(replayed(at(301))), PushError::ClockSkew);
    // A context request is not a pending request.
    let mixed = pending_challenges(&scene.store, &scene.policy, &context_request, NOW);
    assert!(rejection(mixed).is_malformed());
    // Strangers learn nothing.
    let stranger = DeviceKey::generate(&mut scene.rng)
        .request_pending(NOW)
        .unwrap();
    let refused = pending_challenges(&scene.store, &scene.policy, &stranger, NOW);
    assert_eq!(rejection(refused), PushError::UnknownDevice);

    // Answered by the polling tablet, no push service involved.
    let shown = Answer::approve(started.number.expose_digits()).unwrap();
    assert!(scene.answer_from(&tablet, &started, &shown, NOW).is_ok());
    assert!(poll(&scene, NOW).unwrap().is_empty());
    let gone = challenge_context(&scene.store, &scene.policy, &context_request, NOW);
    assert!(matches!(gone, Err(AttemptError::ChallengeNotFound)));
}

#[test]
fn the_push_payload_carries_ids_only() {
    let mut scene = Scene::new(policy(), 11);
    let context = ChallengeContext {
        application: Some("Payroll".into()),
        location: Some("Lyon".into()),
        ..ChallengeContext::default()
    };
    let request = ChallengeRequest::new("alice", "txn-secret").with_context(context);
    let started = scene.try_start_with(&request, NOW).unwrap();
    let json = started.pushes[0].payload.to_json();
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        members.keys().collect::<Vec<_>>(),
        ["challenge", "handle", "v"]
    );
    assert_eq!(members["handle"], scene.device.device_id.as_str());
    assert_eq!(members["challenge"], started.id.as_str());
    let number = started.number.expose_digits();
    for private in ["alice", "Payroll", "Lyon", "txn-secret", "phone", number] {
        assert!(!json.contains(private), "{private} in {json}");
    }
}

#[test]
fn the_outcome_goes_to_its_own_transaction_only() {
    let mut scene = Scene::new(policy(), 12);
    let started = scene.start("the-real-one", NOW);
    // Pending: another transaction is refused and leaves the challenge waiting.
    let refused = rejection(scene.outcome(&started, "another", NOW));
    assert_eq!(refused, PushError::TransactionMismatch);
    assert!(scene.approve(&started, NOW).is_ok());
    // Answered: the answer is spent by whoever takes it, and refused to another transaction.
    let refused = rejection(scene.outcome(&started, "the-real-one!", NOW));
    assert_eq!(refused, PushError::TransactionMismatch);
    let spent = scene.outcome(&started, "the-real-one", NOW);
    assert!(matches!(spent, Err(AttemptError::ChallengeNotFound)));
    // Another account's name finds nothing.
    let elsewhere = mfa_push::take_outcome(&scene.store, "bob", &started.id, "the-real-one", NOW);
    assert!(matches!(elsewhere, Err(AttemptError::ChallengeNotFound)));
}

#[test]
fn no_device_no_challenge() {
    let mut scene = Scene::new(policy(), 13);
    let nobody = ChallengeRequest::new("nobody", "t");
    assert!(matches!(
        scene.try_start_with(&nobody, NOW),
        Err(AttemptError::NotEnrolled)
    ));
    assert!(
        scene
            .store
            .list(mfa_push::STATE_KIND, "nobody")
            .unwrap()
            .is_empty()
    );
    let long = ChallengeRequest::new("alice", "t".repeat(257));
    let refused = rejection(scene.try_start_with(&long, NOW));
    assert!(matches!(refused, PushError::InvalidRequest(_)));
}

/// `unlock` clears the wrong-number throttle whatever policy counted it: here one that locks after
/// two wrong numbers.
#[test]
fn unlock_clears_a_throttle_counted_under_any_policy() {
    let throttle = ThrottlePolicy {
        max_consecutive_failures: 2,
        ..ThrottlePolicy::default()
    };
    assert_ne!(throttle, ThrottlePolicy::default());
    let mut scene = Scene::new(
        PushPolicy {
            throttle,
            ..uncapped()
        },
        14,
    );
    for transaction in ["t1", "t2"] {
        let started = scene.start(transaction, NOW);
        assert_eq!(
            rejection(scene.wrong(&started, NOW)),
            PushError::WrongNumber
        );
    }
    // Locked: no push is even sent.
    assert!(matches!(
        scene.try_start("t3", NOW),
        Err(AttemptError::Throttled(Throttled::LockedOut {
            failures: 2
        }))
    ));
    mfa_push::unlock(&scene.store, "alice").unwrap();
    let status = scene
        .policy
        .throttle
        .status(&scene.store, &state_key("alice"), NOW)
        .unwrap();
    assert_eq!(status, ThrottleStatus::Open { failures: 0 });
    let started = scene.start("t4", NOW);
    assert!(scene.approve(&started, NOW).is_ok());
}

/// The server side's JSON gives times in Unix milliseconds (mfa-core's `UnixTime`), the phone's
/// in Unix seconds, as the README's wire format says.
#[test]
fn time_units_are_milliseconds_for_the_service_and_seconds_for_the_phone() {
    let mut scene = Scene::new(policy(), 15);
    let now = UnixTime::from_millis(1_800_000_000_250);
    assert_eq!(now, NOW.saturating_add(Duration::from_millis(250)));
    let started = scene.start("t", now);
    let json = serde_json::to_value(&started).unwrap();
    assert_eq!(
        (&json["created_at"], &json["expires_at"]),
        (
            &serde_json::json!(1_800_000_000_250_u64),
            &serde_json::json!(1_800_000_060_250_u64)
        )
    );
    let poll = scene.phone.request_pending(now).unwrap();
    let views = pending_challenges(&scene.store, &scene.policy, &poll, now).unwrap();
    let json = serde_json::to_value(&views[0]).unwrap();
    assert_eq!(
        (&json["created_at"], &json["expires_at"]),
        (
            &serde_json::json!(1_800_000_000_u64),
            &serde_json::json!(1_800_000_060_u64)
        )
    );
    let approved = scene.approve(&started, now).unwrap();
    let json = serde_json::to_value(approved.credential()).unwrap();
    assert_eq!(
        json["approved_at"],
        serde_json::json!(1_800_000_000_250_u64)
    );
    let device = find_device(&scene.store, &scene.device.device_id)
        .unwrap()
        .unwrap();
    let json = serde_json::to_value(&device).unwrap();
    assert_eq!(
        (&json["created_at"], &json["last_used_at"]),
        (
            &serde_json::json!(1_800_000_000_000_u64),
            &serde_json::json!(1_800_000_000_250_u64)
        )
    );
    let event = PushEvent::PushCapReached {
        account: "alice".into(),
        pushes: 3,
        next_push_at: now,
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json["next_push_at"],
        serde_json::json!(1_800_000_000_250_u64)
    );
}
