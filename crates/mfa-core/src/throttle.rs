//! Attempt throttling per (account, authenticator), on the same atomic store.
//!
//! NIST SP 800-63B-4 §3.2.2: a verifier limits consecutive failed attempts on one authenticator
//! to no more than 100, may impose growing delays before that, and a success clears the count.
//! [`ThrottlePolicy`] implements exactly that:
//!
//! - the first [`free_failures`](ThrottlePolicy::free_failures) failures cost nothing;
//! - each further failure doubles the wait before the next attempt, from
//!   [`initial_delay`](ThrottlePolicy::initial_delay) up to [`max_delay`](ThrottlePolicy::max_delay);
//! - at [`max_consecutive_failures`](ThrottlePolicy::max_consecutive_failures) the authenticator is
//!   locked until [`reset`](ThrottlePolicy::reset) (after recovery through another method, or by an
//!   administrator);
//! - a success clears the count.
//!
//! An attempt is counted as a failure *before* the factor's check runs and refunded if it succeeds
//! (cleared) or does not count ([`Rejection::counts_as_failure`]). So a burst of concurrent guesses
//! cannot slip past the limit while earlier guesses are still being checked.

use core::fmt;
use core::future::Future;
use core::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::commit::{
    AttemptError, BlockingStore, Change, block_on, load_async, update_async,
    verify_and_commit_async, verify_challenge_and_commit_async,
};
use crate::error::Rejection;
use crate::evidence::Verified;
use crate::store::{AsyncStore, RecordKey, Store, StoreError, join_escaped};

/// Why an attempt was refused before it was checked.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttled {
    /// Too many recent failures: try again after `retry_after`.
    TooSoon {
        /// How long to wait before the next attempt is allowed.
        retry_after: Duration,
    },
    /// The limit of consecutive failures was reached; only a reset unlocks it.
    LockedOut {
        /// The consecutive failures counted.
        failures: u32,
    },
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooSoon { retry_after } => {
                write!(
                    f,
                    "too many failed attempts; retry after {} s",
                    retry_after.as_secs_f64().ceil()
                )
            }
            Self::LockedOut { failures } => {
                write!(f, "locked after {failures} consecutive failed attempts")
            }
        }
    }
}

impl std::error::Error for Throttled {}

/// The stored throttle state of one (account, authenticator).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    /// Consecutive failed attempts (including attempts still being checked).
    pub consecutive_failures: u32,
    /// When the last counted attempt started.
    pub last_attempt_at: Option<UnixTime>,
}

/// Limits on consecutive failed attempts. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures after which the authenticator is locked. Default 100, the NIST SP 800-63B-4 maximum.
    pub max_consecutive_failures: u32,
    /// Failures allowed with no delay. Default 5.
    pub free_failures: u32,
    /// The wait after the first failure beyond the free ones. Default 1 s; it doubles with each
    /// further failure.
    pub initial_delay: Duration,
    /// The longest wait between attempts. Default 15 minutes.
    pub max_delay: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_consecutive_failures: 100,
            free_failures: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
        }
    }
}

/// What [`ThrottlePolicy::status`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleStatus {
    /// An attempt may be made now; `failures` consecutive failures are on record.
    Open {
        /// Consecutive failures so far.
        failures: u32,
    },
    /// No attempt is allowed now.
    Throttled(Throttled),
}

impl ThrottlePolicy {
    /// The wait required after `failures` consecutive failures before the next attempt.
    #[must_use]
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(beyond_free) = failures.checked_sub(self.free_failures).filter(|n| *n > 0) else {
            return Duration::ZERO;
        };
        let doublings = beyond_free.saturating_sub(1).min(63);
        let factor = 1_u64.checked_shl(doublings).unwrap_or(u64::MAX);
        let factor = u32::try_from(factor).unwrap_or(u32::MAX);
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }

    /// The throttle record that guards the credential at `credential_key`: kind `"throttle"`, the
    /// same account, and an id that joins the credential's kind and id with `/`, each
    /// percent-encoded as in [`RecordKey::flat`], so distinct credentials never share a record.
    #[must_use]
    pub fn key_for(credential_key: &RecordKey) -> RecordKey {
        RecordKey::new(
            "throttle",
            credential_key.account(),
            join_escaped(&[credential_key.kind(), credential_key.id()]),
        )
    }

    /// Whether an attempt would be allowed now.
    fn judge(&self, state: &ThrottleState, now: UnixTime) -> Result<(), Throttled> {
        if state.consecutive_failures >= self.max_consecutive_failures {
            return Err(Throttled::LockedOut {
                failures: state.consecutive_failures,
            });
        }
        let delay = self.delay_after(state.consecutive_failures);
        if let Some(last) = state.last_attempt_at {
            let allowed_at = last.saturating_add(delay);
            if now < allowed_at {
                return Err(Throttled::TooSoon {
                    retry_after: allowed_at.saturating_since(now),
                });
            }
        }
        Ok(())
    }

    /// Reports whether an attempt on the credential at `credential_key` is allowed at `now` (async).
    ///
    /// # Errors
    /// [`StoreError`] if the store fails.
    pub async fn status_async<S: AsyncStore + ?Sized>(
        &self,
        store: &S,
        credential_key: &RecordKey,
        now: UnixTime,
    ) -> Result<ThrottleStatus, StoreError> {
        let state: ThrottleState = load_async(store, &Self::key_for(credential_key))
            .await?
            .unwrap_or_default();
        Ok(match self.judge(&state, now) {
            Ok(()) => ThrottleStatus::Open {
                failures: state.consecutive_failures,
            },
            Err(throttled) => ThrottleStatus::Throttled(throttled),
        })
    }

    /// Blocking [`status_async`](Self::status_async).
    ///
    /// # Errors
    /// [`StoreError`] if the store fails.
    pub fn status<S: Store + ?Sized>(
        &self,
        store: &S,
        credential_key: &RecordKey,
        now: UnixTime,
    ) -> Result<ThrottleStatus, StoreError> {
        block_on(self.status_async(&BlockingStore(store), credential_key, now))
    }

    /// Clears the failure count of the credential at `credential_key` (async): after the user
    /// recovered through another method, or by an administrator.
    ///
    /// # Errors
    /// [`StoreError`] if the store fails.
    pub async fn reset_async<S: AsyncStore + ?Sized>(
        &self,
        store: &S,
        credential_key: &RecordKey,
    ) -> Result<(), StoreError> {
        update_async(
            store,
            &Self::key_for(credential_key),
            |_: Option<&ThrottleState>| (Change::Delete, ()),
        )
        .await
    }

    /// Blocking [`reset_async`](Self::reset_async).
    ///
    /// # Errors
    /// [`StoreError`] if the store fails.
    pub fn reset<S: Store + ?Sized>(
        &self,
        store: &S,
        credential_key: &RecordKey,
    ) -> Result<(), StoreError> {
        block_on(self.reset_async(&BlockingStore(store), credential_key))
    }

    /// Runs `attempt` behind the throttle: refuses it if throttled, counts it before it runs,
    /// clears the count on success and refunds what does not count.
    ///
    /// Nothing is written for a key with no credential: a made-up account name costs the store
    /// nothing. A refund gives back the attempt and its time (so failures that do not count never
    /// delay the owner), and removes a throttle record that it brings back to nothing.
    async fn guard<S, T, E, F>(
        &self,
        store: &S,
        credential_key: &RecordKey,
        now: UnixTime,
        attempt: F,
    ) -> Result<Verified<T>, AttemptError<E>>
    where
        S: AsyncStore + ?Sized,
        E: Rejection,
        F: Future<Output = Result<Verified<T>, AttemptError<E>>>,
    {
        match store.load(credential_key).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(AttemptError::NotEnrolled),
            Err(store_error) => return Err(AttemptError::Store(store_error)),
        }
        let throttle_key = Self::key_for(credential_key);
        // The time as the store keeps it (whole milliseconds), so the refund below recognises
        // its own attempt even when the clock has finer precision.
        let stamp = UnixTime::from_millis(now.as_millis());
        let admitted = update_async(store, &throttle_key, |state: Option<&ThrottleState>| {
            let state = state.copied().unwrap_or_default();
            match self.judge(&state, now) {
                Err(throttled) => (Change::Keep, Err(throttled)),
                Ok(()) => {
                    let counted = ThrottleState {
                        consecutive_failures: state.consecutive_failures.saturating_add(1),
                        last_attempt_at: Some(stamp),
                    };
                    (Change::Put(counted), Ok(state.last_attempt_at))
                }
            }
        })
        .await;
        let previous_attempt_at = match admitted {
            Err(store_error) => return Err(AttemptError::Store(store_error)),
            Ok(Err(throttled)) => return Err(AttemptError::Throttled(throttled)),
            Ok(Ok(previous)) => previous,
        };

        let outcome = attempt.await;
        let refund = match &outcome {
            Ok(_) => {
                let _best_effort = self.reset_async(store, credential_key).await;
                false
            }
            Err(AttemptError::Rejected(rejection)) => !rejection.counts_as_failure(),
            Err(_) => true,
        };
        if refund {
            // Best effort, as above: a failed refund errs on the side of caution.
            let _best_effort = update_async(
                store,
                &throttle_key,
                |state: Option<&ThrottleState>| match state {
                    Some(state) => {
                        let refunded = ThrottleState {
                            consecutive_failures: state.consecutive_failures.saturating_sub(1),
                            // Our attempt's time goes too, unless a later attempt counted since.
                            last_attempt_at: if state.last_attempt_at == Some(stamp) {
                                previous_attempt_at
                            } else {
                                state.last_attempt_at
                            },
                        };
                        if refunded == ThrottleState::default() {
                            (Change::Delete, ())
                        } else {
                            (Change::Put(refunded), ())
                        }
                    }
                    None => (Change::Keep, ()),
                },
            )
            .await;
        }
        outcome
    }

    /// [`verify_and_commit_async`] behind the throttle: refuses the attempt if throttled, counts it,
    /// and clears the count on success.
    ///
    /// Use it for factors whose secret can be guessed (codes, numbers, PINs). Only failures whose
    /// [`Rejection::counts_as_failure`] is `true` stay counted; a key with no credential is
    /// answered [`AttemptError::NotEnrolled`] without writing anything.
    ///
    /// Clearing the count after a success is best effort: the credential is already committed, so a
    /// store failure at that point leaves one extra failure on record rather than losing the success.
    ///
    /// # Errors
    /// [`AttemptError::Throttled`] when refused before checking; otherwise as
    /// [`verify_and_commit_async`].
    pub async fn verify_and_commit_async<S, T, E>(
        &self,
        store: &S,
        credential_key: &RecordKey,
        now: UnixTime,
        verify: impl FnMut(&T) -> Result<Verified<T>, E>,
    ) -> Result<Verified<T>, AttemptError<E>>
    where
        S: AsyncStore + ?Sized,
        T: Serialize + DeserializeOwned,
        E: Rejection,
    {
        self.guard(
            store,
            credential_key,
            now,
            verify_and_commit_async(store, credential_key, verify),
        )
        .await
    }

    /// [`verify_challenge_and_commit_async`] behind the throttle, for challenges whose answer can
    /// be guessed (a number typed on a phone, an SMS code): refused when throttled (the challenge
    /// is then left in place), counted, cleared on success.
    ///
    /// # Errors
    /// [`AttemptError::Throttled`] when refused before checking; otherwise as
    /// [`verify_challenge_and_commit_async`].
    pub async fn verify_challenge_and_commit_async<S, C, P, T, E>(
        &self,
        store: &S,
        challenge_key: &RecordKey,
        credential_key: &RecordKey,
        now: UnixTime,
        check: impl FnOnce(C, &T) -> Result<P, E>,
        apply: impl FnMut(&P, &T) -> Result<Verified<T>, E>,
    ) -> Result<Verified<T>, AttemptError<E>>
    where
        S: AsyncStore + ?Sized,
        C: DeserializeOwned,
        T: Serialize + DeserializeOwned,
        E: Rejection,
    {
        self.guard(
            store,
            credential_key,
            now,
            verify_challenge_and_commit_async(store, challenge_key, credential_key, check, apply),
        )
        .await
    }

    /// Blocking [`verify_challenge_and_commit_async`](Self::verify_challenge_and_commit_async).
    ///
    /// # Errors
    /// As [`verify_challenge_and_commit_async`](Self::verify_challenge_and_commit_async).
    pub fn verify_challenge_and_commit<S, C, P, T, E>(
        &self,
        store: &S,
        challenge_key: &RecordKey,
        credential_key: &RecordKey,
        now: UnixTime,
        check: impl FnOnce(C, &T) -> Result<P, E>,
        apply: impl FnMut(&P, &T) -> Result<Verified<T>, E>,
    ) -> Result<Verified<T>, AttemptError<E>>
    where
        S: Store + ?Sized,
        C: DeserializeOwned,
        T: Serialize + DeserializeOwned,
        E: Rejection,
    {
        block_on(self.verify_challenge_and_commit_async(
            &BlockingStore(store),
            challenge_key,
            credential_key,
            now,
            check,
            apply,
        ))
    }

    /// Blocking [`verify_and_commit_async`](Self::verify_and_commit_async).
    ///
    /// # Errors
    /// As [`verify_and_commit_async`](Self::verify_and_commit_async).
    pub fn verify_and_commit<S, T, E>(
        &self,
        store: &S,
        credential_key: &RecordKey,
        now: UnixTime,
        verify: impl FnMut(&T) -> Result<Verified<T>, E>,
    ) -> Result<Verified<T>, AttemptError<E>>
    where
        S: Store + ?Sized,
        T: Serialize + DeserializeOwned,
        E: Rejection,
    {
        block_on(self.verify_and_commit_async(&BlockingStore(store), credential_key, now, verify))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::thread;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::commit::insert_new;
    use crate::evidence::{Evidence, Method};
    use crate::store::MemoryStore;

    /// A toy factor: the credential is the right answer; any other guess is wrong.
    #[derive(Debug, PartialEq)]
    enum ToyError {
        Wrong,
        Disabled,
    }

    impl fmt::Display for ToyError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                Self::Wrong => "wrong answer",
                Self::Disabled => "disabled",
            })
        }
    }

    impl std::error::Error for ToyError {}

    impl Rejection for ToyError {
        fn reason(&self) -> &'static str {
            match self {
                Self::Wrong => "wrong",
                Self::Disabled => "disabled",
            }
        }
        fn counts_as_failure(&self) -> bool {
            matches!(self, Self::Wrong)
        }
    }

    fn guess(answer: u32) -> impl FnMut(&u32) -> Result<Verified<u32>, ToyError> {
        move |stored: &u32| {
            if *stored == answer {
                Ok(Verified::new(
                    Evidence::new(Method::Totp, UnixTime::EPOCH, "toy"),
                    *stored,
                ))
            } else {
                Err(ToyError::Wrong)
            }
        }
    }

    fn setup() -> (MemoryStore, RecordKey, ManualClock) {
        let store = MemoryStore::new();
        let key = RecordKey::new("toy", "alice", "1");
        insert_new(&store, &key, &7_u32).unwrap();
        (store, key, ManualClock::new(UnixTime::from_secs(1_000_000)))
    }

    #[test]
    fn delays_grow_then_cap() {
        let policy = ThrottlePolicy::default();
        assert_eq!(policy.delay_after(0), Duration::ZERO);
        assert_eq!(policy.delay_after(5), Duration::ZERO);
        assert_eq!(policy.delay_after(6), Duration::from_secs(1));
        assert_eq!(policy.delay_after(7), Duration::from_secs(2));
        assert_eq!(policy.delay_after(10), Duration::from_secs(16));
        assert_eq!(policy.delay_after(40), Duration::from_secs(900));
        assert_eq!(policy.delay_after(u32::MAX), Duration::from_secs(900));
    }

    #[test]
    fn free_failures_then_retry_after_then_success_clears() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy::default();
        for _ in 0..6 {
            let result = policy.verify_and_commit(&store, &key, clock.now(), guess(1));
            assert!(matches!(
                result,
                Err(AttemptError::Rejected(ToyError::Wrong))
            ));
        }
        // Six failures: the seventh attempt must wait 1 s.
        let result = policy.verify_and_commit(&store, &key, clock.now(), guess(7));
        match result {
            Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) => {
                assert_eq!(retry_after, Duration::from_secs(1));
            }
            other => panic!("expected TooSoon, got {other:?}"),
        }
        assert_eq!(
            policy.status(&store, &key, clock.now()).unwrap(),
            ThrottleStatus::Throttled(Throttled::TooSoon {
                retry_after: Duration::from_secs(1)
            })
        );
        clock.advance(Duration::from_millis(400));
        let Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) =
            policy.verify_and_commit(&store, &key, clock.now(), guess(7))
        else {
            panic!("still too soon");
        };
        assert_eq!(retry_after, Duration::from_millis(600));
        clock.advance(Duration::from_millis(600));
        // A wrong guess now makes it 7 failures: the next wait is 2 s.
        assert!(
            policy
                .verify_and_commit(&store, &key, clock.now(), guess(3))
                .is_err()
        );
        clock.advance(Duration::from_secs(2));
        // The right answer succeeds and clears the count.
        assert!(
            policy
                .verify_and_commit(&store, &key, clock.now(), guess(7))
                .is_ok()
        );
        assert_eq!(
            policy.status(&store, &key, clock.now()).unwrap(),
            ThrottleStatus::Open { failures: 0 }
        );
    }

    #[test]
    fn locks_at_the_limit_until_reset() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy {
            max_consecutive_failures: 10,
            free_failures: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        };
        for _ in 0..10 {
            clock.advance(Duration::from_secs(60));
            assert!(matches!(
                policy.verify_and_commit(&store, &key, clock.now(), guess(0)),
                Err(AttemptError::Rejected(ToyError::Wrong))
            ));
        }
        clock.advance(Duration::from_secs(86_400));
        // Even the right answer is refused once locked.
        let locked = policy.verify_and_commit(&store, &key, clock.now(), guess(7));
        assert!(matches!(
            locked,
            Err(AttemptError::Throttled(Throttled::LockedOut {
                failures: 10
            }))
        ));
        assert_eq!(locked.unwrap_err().reason(), "locked_out");
        policy.reset(&store, &key).unwrap();
        assert!(
            policy
                .verify_and_commit(&store, &key, clock.now(), guess(7))
                .is_ok()
        );
    }

    #[test]
    fn failures_that_do_not_count_are_refunded() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy::default();
        for _ in 0..20 {
            let result = policy.verify_and_commit(
                &store,
                &key,
                clock.now(),
                |_: &u32| -> Result<Verified<u32>, _> { Err(ToyError::Disabled) },
            );
            assert!(matches!(
                result,
                Err(AttemptError::Rejected(ToyError::Disabled))
            ));
        }
        let missing = RecordKey::new("toy", "alice", "not-there");
        for _ in 0..20 {
            assert!(matches!(
                policy.verify_and_commit(&store, &missing, clock.now(), guess(7)),
                Err(AttemptError::NotEnrolled)
            ));
        }
        assert_eq!(
            policy.status(&store, &key, clock.now()).unwrap(),
            ThrottleStatus::Open { failures: 0 }
        );
    }

    #[test]
    fn a_refund_at_sub_millisecond_time_leaves_no_record() {
        // The store keeps whole milliseconds; a clock with finer precision (the system clock)
        // must still find its own attempt when it gives it back.
        let (store, key, _) = setup();
        let policy = ThrottlePolicy::default();
        let now = UnixTime::from_millis(1_800_000_000_123)
            .saturating_add(core::time::Duration::from_nanos(456_789));
        let result =
            policy.verify_and_commit(&store, &key, now, |_: &u32| -> Result<Verified<u32>, _> {
                Err(ToyError::Disabled)
            });
        assert!(matches!(
            result,
            Err(AttemptError::Rejected(ToyError::Disabled))
        ));
        assert!(
            Store::load(&store, &ThrottlePolicy::key_for(&key))
                .unwrap()
                .is_none(),
            "the refunded attempt left a throttle record behind"
        );
    }

    #[test]
    fn throttles_are_per_authenticator() {
        let (store, key, clock) = setup();
        let other = RecordKey::new("toy", "alice", "2");
        insert_new(&store, &other, &7_u32).unwrap();
        let policy = ThrottlePolicy {
            max_consecutive_failures: 2,
            ..ThrottlePolicy::default()
        };
        for _ in 0..2 {
            assert!(
                policy
                    .verify_and_commit(&store, &key, clock.now(), guess(0))
                    .is_err()
            );
        }
        assert!(matches!(
            policy.verify_and_commit(&store, &key, clock.now(), guess(7)),
            Err(AttemptError::Throttled(_))
        ));
        assert!(
            policy
                .verify_and_commit(&store, &other, clock.now(), guess(7))
                .is_ok()
        );
    }

    #[test]
    fn a_concurrent_burst_cannot_exceed_the_limit() {
        const THREADS: usize = 64;
        const LIMIT: u32 = 20;
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy {
            max_consecutive_failures: LIMIT,
            free_failures: LIMIT,
            ..ThrottlePolicy::default()
        };
        let now = clock.now();
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        // Retry store contention (not a verdict) so every thread gets an answer.
                        loop {
                            match policy.verify_and_commit(&store, &key, now, guess(0)) {
                                Err(AttemptError::Store(_)) => continue,
                                other => return other,
                            }
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let checked = results
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::Rejected(_))))
            .count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::Throttled(Throttled::LockedOut { .. }))))
            .count();
        assert_eq!(checked, usize::try_from(LIMIT).unwrap());
        assert_eq!(refused, THREADS - checked);
    }

    /// Review item 3: made-up account names leave nothing behind, and a refund that brings a
    /// throttle record back to nothing deletes it.
    #[test]
    fn item3_no_throttle_record_for_keys_without_a_credential() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy::default();
        let records_before = store.len();
        for n in 0..1_000 {
            let made_up = RecordKey::new("toy", format!("nobody-{n}"), "1");
            assert!(matches!(
                policy.verify_and_commit(&store, &made_up, clock.now(), guess(7)),
                Err(AttemptError::NotEnrolled)
            ));
        }
        assert_eq!(store.len(), records_before, "no record for unknown keys");
        // A failure that does not count is refunded to nothing: the record goes.
        let result = policy.verify_and_commit(
            &store,
            &key,
            clock.now(),
            |_: &u32| -> Result<Verified<u32>, _> { Err(ToyError::Disabled) },
        );
        assert!(matches!(
            result,
            Err(AttemptError::Rejected(ToyError::Disabled))
        ));
        assert_eq!(store.len(), records_before, "refunded record is removed");
        assert!(
            Store::load(&store, &ThrottlePolicy::key_for(&key))
                .unwrap()
                .is_none()
        );
    }

    /// Review item 12: two different credential keys never share a throttle record.
    #[test]
    fn item12_throttle_keys_of_distinct_credentials_never_collide() {
        let a = ThrottlePolicy::key_for(&RecordKey::new("a/b", "alice", "c"));
        let b = ThrottlePolicy::key_for(&RecordKey::new("a", "alice", "b/c"));
        assert_ne!(a, b);
        let c = ThrottlePolicy::key_for(&RecordKey::new("a%2Fb", "alice", "c"));
        assert_ne!(a, c);
        // Plain keys keep the readable form earlier versions stored.
        assert_eq!(
            ThrottlePolicy::key_for(&RecordKey::new("totp", "alice", "phone")).id(),
            "totp/phone"
        );
        // And locking one does not lock the other.
        let store = MemoryStore::new();
        let first = RecordKey::new("a/b", "alice", "c");
        let second = RecordKey::new("a", "alice", "b/c");
        insert_new(&store, &first, &7_u32).unwrap();
        insert_new(&store, &second, &7_u32).unwrap();
        let policy = ThrottlePolicy {
            max_consecutive_failures: 1,
            ..ThrottlePolicy::default()
        };
        let now = UnixTime::from_secs(1_000);
        assert!(
            policy
                .verify_and_commit(&store, &first, now, guess(0))
                .is_err()
        );
        assert!(
            policy
                .verify_and_commit(&store, &second, now, guess(7))
                .is_ok()
        );
    }

    /// Review item 14 (first half): failures that do not count are refunded with their time, so
    /// an attacker sending them cannot keep the owner waiting.
    #[test]
    fn item14_refunded_attempts_do_not_delay_the_owner() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy::default();
        for _ in 0..6 {
            assert!(
                policy
                    .verify_and_commit(&store, &key, clock.now(), guess(1))
                    .is_err()
            );
        }
        // Six failures: the owner must wait 1 s.
        clock.advance(Duration::from_secs(1));
        // The attacker keeps sending failures that do not count, every second.
        for _ in 0..10 {
            let result = policy.verify_and_commit(
                &store,
                &key,
                clock.now(),
                |_: &u32| -> Result<Verified<u32>, _> { Err(ToyError::Disabled) },
            );
            assert!(matches!(
                result,
                Err(AttemptError::Rejected(ToyError::Disabled))
            ));
            assert_eq!(
                policy.status(&store, &key, clock.now()).unwrap(),
                ThrottleStatus::Open { failures: 6 },
                "the owner may try right away"
            );
        }
        assert!(
            policy
                .verify_and_commit(&store, &key, clock.now(), guess(7))
                .is_ok()
        );
    }

    /// Guessable challenges go through the throttle too; a throttled attempt leaves the challenge.
    #[test]
    fn throttled_challenge_answers_leave_the_challenge_in_place() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy {
            max_consecutive_failures: 1,
            ..ThrottlePolicy::default()
        };
        let challenge = RecordKey::new("toy_challenge", "alice", "c1");
        let answer = |typed: u32| {
            policy.verify_challenge_and_commit(
                &store,
                &challenge,
                &key,
                clock.now(),
                move |shown: u32, _: &u32| {
                    if shown == typed {
                        Ok(())
                    } else {
                        Err(ToyError::Wrong)
                    }
                },
                |(): &(), stored: &u32| {
                    Ok(Verified::new(
                        Evidence::new(Method::Push, UnixTime::EPOCH, "toy"),
                        *stored,
                    ))
                },
            )
        };
        crate::commit::put(&store, &challenge, &12_u32).unwrap();
        assert!(matches!(
            answer(11),
            Err(AttemptError::Rejected(ToyError::Wrong))
        ));
        // The wrong answer spent the challenge.
        crate::commit::put(&store, &challenge, &12_u32).unwrap();
        assert!(matches!(answer(12), Err(AttemptError::Throttled(_))));
        assert!(Store::load(&store, &challenge).unwrap().is_some());
        policy.reset(&store, &key).unwrap();
        assert!(answer(12).is_ok());
        assert!(matches!(answer(12), Err(AttemptError::ChallengeNotFound)));
    }

    #[test]
    fn memory_store_passes_the_conformance_suite() {
        crate::conformance::run_all(&MemoryStore::new(), "memory");
    }

    /// Issue 9: errors map to HTTP statuses, with `Retry-After` for a delay.
    #[test]
    fn attempt_errors_map_to_http_statuses() {
        let (store, key, clock) = setup();
        let policy = ThrottlePolicy {
            free_failures: 1,
            max_consecutive_failures: 3,
            ..ThrottlePolicy::default()
        };
        let wrong = policy
            .verify_and_commit(&store, &key, clock.now(), guess(1))
            .unwrap_err();
        assert_eq!((wrong.http_status(), wrong.retry_after()), (401, None));
        let _second = policy.verify_and_commit(&store, &key, clock.now(), guess(1));
        let too_soon = policy
            .verify_and_commit(&store, &key, clock.now(), guess(7))
            .unwrap_err();
        assert_eq!(too_soon.http_status(), 429);
        assert_eq!(too_soon.retry_after(), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        let _third = policy.verify_and_commit(&store, &key, clock.now(), guess(1));
        let locked = policy
            .verify_and_commit(&store, &key, clock.now(), guess(7))
            .unwrap_err();
        assert_eq!((locked.http_status(), locked.retry_after()), (423, None));
        let missing = RecordKey::new("toy", "nobody", "1");
        let not_enrolled = policy
            .verify_and_commit(&store, &missing, clock.now(), guess(7))
            .unwrap_err();
        assert_eq!(not_enrolled.http_status(), 401);
        let duplicate: AttemptError<ToyError> =
            insert_new(&store, &key, &1_u32).unwrap_err().into();
        assert_eq!(
            (duplicate.http_status(), duplicate.reason()),
            (409, "already_exists")
        );
    }

    /// Issue 9: an `Arc` of an async store is an async store (shared state in a web server).
    #[test]
    fn an_arc_of_an_async_store_is_an_async_store() {
        let store = std::sync::Arc::new(MemoryStore::new());
        let key = RecordKey::new("toy", "alice", "1");
        let policy = ThrottlePolicy::default();
        crate::commit::block_on(async {
            crate::commit::insert_new_async(&store, &key, &7_u32)
                .await
                .unwrap();
            let listed: Vec<(RecordKey, u32)> = crate::commit::list_async(&store, "toy", "alice")
                .await
                .unwrap();
            assert_eq!(listed, [(key.clone(), 7)]);
            assert!(
                policy
                    .verify_and_commit_async(&store, &key, UnixTime::EPOCH, guess(7))
                    .await
                    .is_ok()
            );
        });
    }
}
