//! The README's fatigue arithmetic, checked against the code with a manual clock: how many wrong
//! numbers can be tried per hour and per day under the default policy, and which limit binds
//! (the push cap first, the wrong-number throttle second).

mod common;

use std::time::Duration;

use common::{NOW, Scene, policy};
use mfa_core::{AttemptError, Throttled, UnixTime};
use mfa_push::{PushError, PushPolicy};

const README: &str = include_str!("../README.md");
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// What an attacker guessing as fast as the defences allow gets.
struct Guesses {
    /// When each wrong number was checked, in seconds after the start.
    at: Vec<u64>,
    /// How many answers the throttle refused as too soon.
    too_soon: u32,
    /// How many pushes the throttle held back (no push is sent while an answer would be refused).
    held_back: u32,
    /// When the throttle's lock refused an answer, in seconds after the start.
    locked_at: Option<u64>,
}

impl Guesses {
    fn before(&self, seconds: u64) -> usize {
        self.at.iter().filter(|at| **at < seconds).count()
    }

    fn between(&self, from: u64, to: u64) -> usize {
        self.at.iter().filter(|at| (from..to).contains(*at)).count()
    }
}

fn seconds_after_start(now: UnixTime) -> u64 {
    now.saturating_since(NOW).as_secs()
}

/// Plays the attacker for `seconds` (or until the throttle locks): whenever a push may go, start
/// a challenge and answer it at once with a wrong number; when refused, wait exactly as long as
/// told.
fn guess_as_fast_as_allowed(policy: PushPolicy, seconds: u64) -> Guesses {
    let mut scene = Scene::new(policy, 31);
    let mut guesses = Guesses {
        at: Vec::new(),
        too_soon: 0,
        held_back: 0,
        locked_at: None,
    };
    let mut now = NOW;
    while seconds_after_start(now) < seconds {
        let started = match scene.try_start("attacker", now) {
            Ok(started) => started,
            Err(AttemptError::Rejected(PushError::PushCapReached { retry_after })) => {
                now = now.saturating_add(retry_after);
                continue;
            }
            // No push is sent while the answer would be throttled: wait as told.
            Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) => {
                guesses.held_back += 1;
                now = now.saturating_add(retry_after);
                continue;
            }
            Err(AttemptError::Throttled(Throttled::LockedOut { .. })) => {
                guesses.locked_at = Some(seconds_after_start(now));
                break;
            }
            Err(other) => panic!("start refused: {other:?}"),
        };
        match scene.wrong(&started, now) {
            Err(AttemptError::Rejected(PushError::WrongNumber)) => {
                guesses.at.push(seconds_after_start(now));
            }
            Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) => {
                guesses.too_soon += 1;
                now = now.saturating_add(retry_after);
            }
            Err(AttemptError::Throttled(Throttled::LockedOut { .. })) => {
                guesses.locked_at = Some(seconds_after_start(now));
                break;
            }
            other => panic!("unexpected answer: {other:?}"),
        }
        // Drop what the sink collected: thousands of superseded/capped events otherwise.
        let _ = scene.events.take();
    }
    guesses
}

/// The README says these numbers; each is checked against the code below.
fn readme_says(row: &str) {
    assert!(
        README.contains(row),
        "the README's fatigue table should have:\n{row}"
    );
}

#[test]
fn under_the_defaults_the_push_cap_bounds_guessing_first() {
    let policy = policy();
    assert_eq!(
        (
            policy.free_pushes,
            policy.push_initial_delay,
            policy.push_max_delay
        ),
        (3, Duration::from_secs(10), Duration::from_secs(HOUR))
    );
    // After the k-th wrong number, the push cap's wait before the next push is never shorter
    // than the throttle's wait before the next answer: the throttle never has to refuse.
    for k in 0..=policy.throttle.max_consecutive_failures {
        assert!(
            policy.push_delay_after(k) >= policy.throttle.delay_after(k),
            "after {k}"
        );
    }

    let guesses = guess_as_fast_as_allowed(policy, 5 * DAY);
    assert_eq!(guesses.too_soon, 0, "the throttle never had to refuse");
    // 3 free pushes, then 10 s doubling: 10, 30, 70, … s; from the 12th, one an hour.
    assert_eq!(
        guesses.at[..12],
        [0, 0, 0, 10, 30, 70, 150, 310, 630, 1270, 2550, 5110]
    );
    assert!(guesses.at.windows(2).skip(11).all(|w| w[1] - w[0] == HOUR));
    assert_eq!(guesses.before(HOUR), 11);
    assert_eq!(guesses.before(DAY), 34);
    assert_eq!(guesses.between(DAY, 2 * DAY), 24);
    // The throttle's lock (100 consecutive wrong numbers) is the second line: once the 100th
    // wrong number is in, no further push is sent at all.
    assert_eq!(guesses.at.len(), 100);
    assert_eq!(guesses.at.last(), Some(&321_910));
    assert_eq!(guesses.locked_at, Some(321_910));

    readme_says(
        "| wrong numbers checked at | 0, 0, 0, 10, 30, 70, 150, 310, 630, 1270, 2550, 5110 s, then one an hour |",
    );
    readme_says("| in the first hour | 11 | 18 |");
    readme_says("| in the first day | 34 | 100, then locked |");
    readme_says("| each day after | 24 |");
    readme_says(
        "| the 100th (then locked) | at 321 910 s (3 d 17 h 25 min) | at 76 623 s (21 h 17 min) |",
    );
}

#[test]
fn with_the_push_cap_off_the_throttle_bounds_guessing() {
    let policy = PushPolicy {
        free_pushes: u32::MAX,
        ..policy()
    };
    let guesses = guess_as_fast_as_allowed(policy, 5 * DAY);
    assert_eq!(
        guesses.too_soon, 0,
        "no answer is throttled: the push is held back first"
    );
    assert!(guesses.held_back > 0, "now the throttle holds pushes back");
    // 5 free failures, then 1 s doubling to 15 minutes.
    assert_eq!(
        guesses.at[..18],
        [
            0, 0, 0, 0, 0, 0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1923, 2823
        ]
    );
    assert!(guesses.at.windows(2).skip(15).all(|w| w[1] - w[0] == 900));
    assert_eq!(guesses.before(HOUR), 18);
    assert_eq!(guesses.at.len(), 100);
    assert_eq!(guesses.at.last(), Some(&76_623));
    assert_eq!(guesses.before(DAY), 100);
    assert!(guesses.locked_at.is_some_and(|at| at < DAY));

    readme_says(
        "| wrong numbers checked at | 0, 0, 0, 10, 30, 70, 150, 310, 630, 1270, 2550, 5110 s, then one an hour | 0 (six times), 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023 s, then one every 15 minutes |",
    );
}
