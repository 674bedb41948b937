//! Store-level expiry, with the store on a manual clock: a challenge nobody answers leaves the
//! store by itself once its grace (the policy's clock skew) has passed; answers arriving after
//! its expiry are told `expired`, within the grace and after it; the account's state record (its
//! counters, locks and throttle) never expires.

mod common;

use std::time::Duration;

use common::{NOW, Scene, policy, rejection};
use mfa_core::{
    AttemptError, RecordKey, Rejection as _, Store, ThrottlePolicy, ThrottleStatus, UnixTime,
};
use mfa_push::{
    Answer, CHALLENGE_KIND, PushError, PushOutcome, challenge_context, challenge_key,
    pending_challenges, state_key,
};

fn at(seconds: u64) -> UnixTime {
    NOW.saturating_add(Duration::from_secs(seconds))
}

/// The defaults these tests read their numbers from: a challenge lives 60 s, the grace is 300 s.
fn check_defaults(scene: &Scene) {
    assert_eq!(
        (scene.policy.challenge_lifetime, scene.policy.clock_skew),
        (Duration::from_secs(60), Duration::from_secs(300))
    );
}

#[test]
fn a_stale_challenge_leaves_the_store_after_its_grace() {
    let mut scene = Scene::new(policy(), 21);
    check_defaults(&scene);
    let started = scene.start("t", NOW);
    assert_eq!(started.expires_at, at(60));
    let key = challenge_key("alice", &started.id);
    let stored = scene.store.load(&key).unwrap().expect("stored");
    assert_eq!(stored.expires_at, Some(at(60 + 300)));
    assert_eq!(scene.policy.store_expiry(started.expires_at), at(60 + 300));

    // Nobody answers. Past its expiry, within the grace: the record is still there.
    scene.clock.set(at(359));
    assert!(scene.store.load(&key).unwrap().is_some());
    // At the end of the grace the store has dropped it, though nothing was called in between.
    scene.clock.set(at(360));
    assert!(scene.store.load(&key).unwrap().is_none());
    assert!(
        scene
            .store
            .list(CHALLENGE_KIND, "alice")
            .unwrap()
            .is_empty()
    );
    assert_eq!(scene.store.purge_expired().unwrap(), 1);

    // Everyone is still told it expired, not that it never existed: the state remembers.
    let outcome = rejection(scene.outcome(&started, "t", at(360)));
    assert_eq!(outcome, PushError::Expired);
    assert_eq!(
        rejection(scene.approve(&started, at(360))),
        PushError::Expired
    );
    let context = scene.phone.request_context(&started.id, at(360)).unwrap();
    let context = challenge_context(&scene.store, &scene.policy, &context, at(360));
    assert_eq!(rejection(context), PushError::Expired);
    let poll = scene.phone.request_pending(at(360)).unwrap();
    let pending = pending_challenges(&scene.store, &scene.policy, &poll, at(360)).unwrap();
    assert!(pending.is_empty());
    // A day later, too.
    let outcome = rejection(scene.outcome(&started, "t", at(86_400)));
    assert_eq!(outcome, PushError::Expired);
    // A challenge of another account, or one never issued, is still not found.
    let elsewhere = mfa_push::take_outcome(&scene.store, "bob", &started.id, "t", at(360));
    assert!(matches!(elsewhere, Err(AttemptError::ChallengeNotFound)));

    // The account goes on as usual: the next challenge is answered.
    let next = scene.start("t2", at(86_400));
    assert!(scene.approve(&next, at(86_400)).is_ok());
    let outcome = scene.outcome(&next, "t2", at(86_400)).unwrap();
    assert!(matches!(outcome, PushOutcome::Approved(_)));
}

#[test]
fn late_answers_within_the_grace_are_told_expired() {
    let mut scene = Scene::new(policy(), 22);
    check_defaults(&scene);
    // At the expiry instant, and at the last moment of the grace; approving with the right
    // number, or denying: expired either way, and neither counts.
    for (n, late) in [60, 359].into_iter().enumerate() {
        let transaction = format!("t{n}");
        let started = scene.start(&transaction, at(400 * u64::try_from(n).unwrap()));
        let when = started
            .expires_at
            .saturating_add(Duration::from_secs(late - 60));
        assert!(
            scene
                .store
                .load(&challenge_key("alice", &started.id))
                .unwrap()
                .is_some()
        );
        let error = rejection(scene.approve(&started, when));
        assert_eq!(error, PushError::Expired);
        assert_eq!(error.reason(), "expired");
        assert!(!error.counts_as_failure());
        let outcome = rejection(scene.outcome(&started, &transaction, when));
        assert_eq!(outcome, PushError::Expired);
        // Taken by that answer: a replay is a replay.
        let replay = scene.answer(&started, &Answer::Deny, when);
        assert!(matches!(replay, Err(AttemptError::ChallengeNotFound)));
    }
    let throttle = ThrottlePolicy::key_for(&state_key("alice"));
    assert!(scene.store.load(&throttle).unwrap().is_none());
    assert!(scene.events.take().iter().all(|event| !matches!(
        event,
        mfa_push::PushEvent::Denied { .. } | mfa_push::PushEvent::DenialCapReached { .. }
    )));
}

#[test]
fn the_account_state_never_expires() {
    let mut scene = Scene::new(policy(), 23);
    // A wrong number (counted by the throttle), then a fraud report (locks push).
    let started = scene.start("t1", NOW);
    assert_eq!(
        rejection(scene.wrong(&started, NOW)),
        PushError::WrongNumber
    );
    let started = scene.start("t2", NOW);
    let error = rejection(scene.answer(&started, &Answer::ReportFraud, NOW));
    assert_eq!(error.reason(), "fraud_reported");

    assert_eq!(store_expiry(&scene, &state_key("alice")), None);
    let throttle = ThrottlePolicy::key_for(&state_key("alice"));
    assert_eq!(store_expiry(&scene, &throttle), None);

    // A year later: every challenge is long gone from the store; the lock and the count are not.
    let year = at(365 * 86_400);
    scene.clock.set(year);
    assert_eq!(
        scene.store.purge_expired().unwrap(),
        0,
        "both challenges were taken"
    );
    assert!(scene.store.load(&state_key("alice")).unwrap().is_some());
    assert_eq!(
        rejection(scene.try_start("t3", year)),
        PushError::FraudLocked
    );
    assert_eq!(
        scene
            .policy
            .throttle
            .status(&scene.store, &state_key("alice"), year)
            .unwrap(),
        ThrottleStatus::Open { failures: 1 }
    );
    mfa_push::unlock(&scene.store, "alice").unwrap();
    let started = scene.start("t4", year);
    assert!(scene.approve(&started, year).is_ok());
    assert_eq!(store_expiry(&scene, &state_key("alice")), None);
}

/// The store expiry of the record at `key`, which must exist.
fn store_expiry(scene: &Scene, key: &RecordKey) -> Option<UnixTime> {
    let record = scene.store.load(key).expect("the store answers");
    record.expect("the record exists").expires_at
}
