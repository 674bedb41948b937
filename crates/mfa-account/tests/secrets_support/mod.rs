//! Fixtures shared by the temporary-access-pass, app-password, remembered-device and session
//! tests: a store judged by a manual clock, a seeded RNG, and a thread race.
#![allow(dead_code, unreachable_pub)]

use std::sync::Barrier;
use std::thread;

use mfa_account::{AccountChange, AccountError, EventLog};
use mfa_core::{AttemptError, ManualClock, MemoryStore, UnixTime};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

pub const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
pub const MINUTE: u64 = 60;
pub const HOUR: u64 = 60 * MINUTE;
pub const DAY: u64 = 24 * HOUR;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A store that judges record expiry by a manual clock standing at `start` (never by the
/// system clock), and that clock.
pub fn store_at(start: UnixTime) -> (MemoryStore, ManualClock) {
    let clock = ManualClock::new(start);
    (MemoryStore::with_clock(clock.clone()), clock)
}

/// A store whose clock stands at [`NOW`].
pub fn store() -> MemoryStore {
    store_at(NOW).0
}

/// `NOW` plus `secs` seconds.
pub fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(NOW.as_secs() + secs)
}

/// The rejection inside an attempt's error; panics on anything else.
pub fn rejected<T: std::fmt::Debug>(result: Result<T, AttemptError<AccountError>>) -> AccountError {
    match result {
        Err(AttemptError::Rejected(error)) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// `secret` with its last symbol replaced by another one of the alphabet: a near miss.
pub fn with_last_symbol_changed(secret: &str) -> String {
    let mut wrong = secret.to_owned();
    let other = if wrong.ends_with('0') { "1" } else { "0" };
    wrong.replace_range(wrong.len() - 1.., other);
    wrong
}

/// The changes logged so far, oldest first.
pub fn changes(log: &EventLog) -> Vec<AccountChange> {
    log.take().into_iter().map(|event| event.change).collect()
}

pub const THREADS: usize = 16;

/// Runs `work` on [`THREADS`] threads released together by a barrier; returns their results.
pub fn race<T: Send>(work: impl Fn(usize) -> T + Sync) -> Vec<T> {
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
            .map(|handle| handle.join().expect("no panic"))
            .collect()
    })
}
