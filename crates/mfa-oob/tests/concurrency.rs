//! Many threads at once: one code redeemed by 16 threads has one winner; 16 sends to one number
//! or one country never exceed its limit.
#![allow(clippy::unwrap_used, reason = "tests unwrap fixed test data")]

mod common;

use common::{Bench, UK_MOBILE, example_messages, number, race};
use mfa_core::{AttemptError, ThrottlePolicy};
use mfa_oob::{
    Channel, CodeRequest, CodeTarget, OobError, OobPolicy, SendLimitScope, SendLimits,
    WindowLimits, send_code,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const THREADS: usize = 16;

#[test]
fn sixteen_threads_redeem_one_code_and_exactly_one_wins() {
    // Enough free failures that no thread is turned away by the throttle's delay: every one of
    // them reaches the code.
    let throttle = ThrottlePolicy {
        free_failures: 100,
        max_consecutive_failures: 100,
        ..ThrottlePolicy::default()
    };
    for round in 0..10 {
        let mut bench = Bench::alice_with_throttle(throttle.clone());
        let transaction = format!("sign-in-{round}");
        bench
            .send_to_mobile("alice", &transaction, Channel::Sms)
            .unwrap();
        let code = bench.last_code();
        let results = race(THREADS, |_| bench.verify("alice", &transaction, &code));
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let not_found = results
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::ChallengeNotFound)))
            .count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert_eq!(not_found, THREADS - 1, "round {round}: {results:?}");
    }
}

#[test]
fn with_the_default_throttle_concurrent_answers_still_have_one_winner() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t", Channel::Sms).unwrap();
    let code = bench.last_code();
    let results = race(THREADS, |_| bench.verify("alice", "t", &code));
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    // The rest found the code gone, or were held back by attempts still being checked.
    assert!(results.iter().all(|r| matches!(
        r,
        Ok(_) | Err(AttemptError::ChallengeNotFound | AttemptError::Throttled(_))
    )));
}

/// Sends from `THREADS` threads at once, thread `i` for account `account-i` to `numbers(i)`;
/// returns how many went out and every refusal's scope.
fn send_at_once(
    bench: &Bench,
    numbers: impl Fn(usize) -> mfa_oob::PhoneNumber + Sync,
) -> (usize, Vec<SendLimitScope>) {
    let now = bench.now();
    let results = race(THREADS, |i| {
        let account = format!("account-{i}");
        let number = numbers(i);
        let request = CodeRequest {
            account: &account,
            transaction: "t",
            channel: Channel::Sms,
            language: "en",
        };
        let mut rng = StdRng::seed_from_u64(u64::try_from(i).unwrap());
        let target = CodeTarget::NewPhone {
            id: "m",
            number: &number,
        };
        send_code(
            &bench.store,
            &bench.sender,
            &bench.policy,
            &request,
            target,
            now,
            &mut rng,
        )
    });
    let sent = results.iter().filter(|r| r.is_ok()).count();
    let scopes = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(_) => None,
            Err(AttemptError::Rejected(OobError::SendLimited { scope, .. })) => Some(scope),
            Err(other) => panic!("unexpected {other:?}"),
        })
        .collect();
    (sent, scopes)
}

#[test]
fn sixteen_accounts_at_once_send_one_code_to_one_number() {
    let bench = Bench::new();
    let (sent, refused) = send_at_once(&bench, |_| number(UK_MOBILE));
    // The first send starts the number's resend gap: the others must wait it.
    assert_eq!(sent, 1);
    assert_eq!(bench.sender.len(), 1);
    assert!(refused.iter().all(|scope| *scope == SendLimitScope::Number));
}

#[test]
fn sixteen_numbers_at_once_stay_within_the_country_budget() {
    let mut limits = SendLimits::default();
    limits
        .country_overrides
        .insert(44, WindowLimits::new(3, 100));
    let bench = Bench::with_policy(
        OobPolicy::new(example_messages())
            .with_limits(limits)
            .unwrap(),
    );
    let (sent, refused) = send_at_once(&bench, |i| number(&format!("+44 7911 1234{i:02}")));
    assert_eq!(sent, 3);
    assert_eq!(bench.sender.len(), 3);
    assert!(
        refused
            .iter()
            .all(|scope| *scope == SendLimitScope::Country { calling_code: 44 })
    );
}
