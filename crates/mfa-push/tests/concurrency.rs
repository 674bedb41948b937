//! Single use under contention: many threads, one winner; and the async helpers on a real
//! multi-threaded runtime.

mod common;

use std::future::Future;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{NOW, Scene, enroll, policy, rng};
use mfa_core::AttemptError;
use mfa_push::{
    Answer, ChallengeRequest, IgnoreEvents, PushError, PushOutcome, PushPolicy, start_challenge,
    verify_response,
};

const THREADS: usize = 16;

/// Runs `work` on `THREADS` threads released together; returns their results.
fn race<T: Send>(work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|n| {
                let (barrier, work) = (&barrier, &work);
                scope.spawn(move || {
                    barrier.wait();
                    work(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    })
}

#[test]
fn one_answer_wins_however_many_race() {
    let policy = PushPolicy {
        free_pushes: 1_000,
        ..policy()
    };
    for round in 0..10 {
        let mut scene = Scene::new(policy.clone(), round);
        let started = scene.start("t", NOW);
        let approve = Answer::approve(started.number.expose_digits()).unwrap();
        // Half replay one response, half sign their own: all are genuine answers.
        let shared = scene.phone.respond(&started.id, &approve, NOW).unwrap();
        let own: Vec<String> = (0..THREADS)
            .map(|n| {
                let signed_at = NOW.saturating_add(Duration::from_secs(u64::try_from(n).unwrap()));
                scene
                    .phone
                    .respond(&started.id, &approve, signed_at)
                    .unwrap()
            })
            .collect();
        let results = race(|n| {
            let response = if n % 2 == 0 { &shared } else { &own[n] };
            verify_response(&scene.store, &scene.policy, response, NOW, &IgnoreEvents)
        });
        let winners = results.iter().filter(|r| r.is_ok()).count();
        let not_found = results
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::ChallengeNotFound)))
            .count();
        assert_eq!((winners, not_found), (1, THREADS - 1), "round {round}");

        // And the sign-in page's side: one taker gets the approval.
        let taken = race(|_| scene.outcome(&started, "t", NOW));
        let approved = taken
            .iter()
            .filter(|r| matches!(r, Ok(PushOutcome::Approved(_))))
            .count();
        let gone = taken
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::ChallengeNotFound)))
            .count();
        assert_eq!((approved, gone), (1, THREADS - 1), "round {round}");
    }
}

#[test]
fn racing_pushes_respect_the_cap_and_leave_one_pending() {
    for round in 0..5 {
        let scene = Scene::new(policy(), 100 + round);
        let results = race(|n| {
            let request = ChallengeRequest::new("alice", format!("t{n}"));
            let seed = 1_000 * round + u64::try_from(n).unwrap();
            let (store, policy) = (&scene.store, &scene.policy);
            start_challenge(store, policy, &request, NOW, &mut rng(seed), &IgnoreEvents)
        });
        let started: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let capped = results
            .iter()
            .filter(|r| rejection_is(r, |e| matches!(e, PushError::PushCapReached { .. })))
            .count();
        assert_eq!((started.len(), capped), (3, THREADS - 3), "round {round}");
        // Exactly one of them is still pending; the others answer `superseded`.
        let answers: Vec<_> = started.iter().map(|s| scene.approve(s, NOW)).collect();
        assert_eq!(
            answers.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}"
        );
        assert!(
            answers
                .iter()
                .filter(|r| r.is_err())
                .all(|r| rejection_is(r, |e| *e == PushError::Superseded))
        );
    }
}

fn rejection_is<T>(
    result: &Result<T, AttemptError<PushError>>,
    test: impl Fn(&PushError) -> bool,
) -> bool {
    matches!(result, Err(AttemptError::Rejected(error)) if test(error))
}

fn assert_send<F: Future + Send>(future: F) -> F {
    future
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_helpers_run_on_a_multithreaded_runtime() {
    let store = Arc::new(common::store());
    let policy = policy();
    let mut rng = rng(7);
    let (phone, _) = enroll(&store, &policy, "alice", &mut rng);
    let request = ChallengeRequest::new("alice", "t");
    let sender = mfa_push::InMemorySender::new();
    let sent = assert_send(mfa_push::start_and_send_async(
        &*store,
        &policy,
        &request,
        NOW,
        &mut rng,
        &IgnoreEvents,
        &sender,
    ))
    .await
    .unwrap();
    assert_eq!(sender.take().len(), 1);
    let started = sent.challenge;
    let views = assert_send(mfa_push::pending_challenges_async(
        &*store,
        &policy,
        &phone.request_pending(NOW).unwrap(),
        NOW,
    ))
    .await
    .unwrap();
    assert_eq!(views[0].challenge, started.id);
    let context = phone.request_context(&started.id, NOW).unwrap();
    assert_eq!(
        assert_send(mfa_push::challenge_context_async(
            &*store, &policy, &context, NOW
        ))
        .await
        .unwrap(),
        views[0]
    );

    let response = phone
        .respond(
            &started.id,
            &Answer::approve(started.number.expose_digits()).unwrap(),
            NOW,
        )
        .unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (store, policy, response) = (store.clone(), policy.clone(), response.clone());
            tokio::spawn(async move {
                mfa_push::verify_response_async(&*store, &policy, &response, NOW, &IgnoreEvents)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for handle in handles {
        wins += usize::from(handle.await.unwrap().is_ok());
    }
    assert_eq!(wins, 1);
    let outcome = assert_send(mfa_push::take_outcome_async(
        &*store,
        "alice",
        &started.id,
        "t",
        NOW,
    ))
    .await
    .unwrap();
    assert!(matches!(outcome, PushOutcome::Approved(_)));
    assert_send(mfa_push::unlock_async(&*store, "alice"))
        .await
        .unwrap();
    let started = assert_send(mfa_push::start_challenge_async(
        &*store,
        &policy,
        &request,
        NOW,
        &mut rng,
        &IgnoreEvents,
    ))
    .await
    .unwrap();
    assert_eq!(started.pushes.len(), 1);
}
