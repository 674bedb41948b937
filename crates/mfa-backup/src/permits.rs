//! How many password hashes may run at once: a small counting semaphore, std only.
//!
//! One Argon2id hash with the default parameters holds 19 MiB for its whole run. A burst of
//! redemptions across many accounts (each on its own blocking thread) would otherwise allocate
//! 19 MiB per request at the same moment; every hash this crate computes first takes a permit,
//! so memory stays bounded by `limit × m` whatever the load, and the rest wait their turn.

use core::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A bound on the password hashes computed at once, shared by whoever holds the same
/// `HashPermits`.
///
/// Every hash this crate computes (issuing, redeeming, the dummy hash for an account without
/// codes, the lookup of other accounts' sets) takes a permit for exactly the duration of that one
/// hash, never two at a time, so waiting cannot deadlock. The blocking functions use
/// [`HashPermits::global`]; the async helpers hand the hash to the caller as a job whose
/// [`run`](crate::RedeemJob::run) uses the global permits too, and whose
/// [`run_with`](crate::RedeemJob::run_with) takes a pool of the caller's own.
///
/// **Memory bound**: `limit` × the memory cost of the sets being checked. With the default
/// limit of [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT) = 4 and the default Argon2id parameters
/// (m = 19 MiB), at most 76 MiB of hash memory are in use at once. A set issued with a larger
/// `m_kib` costs proportionally more per permit (up to
/// [`Argon2idParams::MAX_M_KIB`](crate::Argon2idParams::MAX_M_KIB), 1 GiB). Raise the limit
/// (the knob: [`set_limit`](Self::set_limit)) on machines with more cores and memory to spare;
/// more permits than cores only adds memory, not throughput.
pub struct HashPermits {
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Clone, Copy)]
struct State {
    limit: usize,
    in_use: usize,
    peak: usize,
    granted: u64,
}

/// The permit for one hash: held while the hash runs, returned on drop.
#[must_use = "the permit is returned as soon as it is dropped"]
pub struct HashPermit<'a> {
    permits: &'a HashPermits,
}

/// The process-wide permits used unless a caller passes its own.
static GLOBAL: HashPermits = HashPermits::new(HashPermits::DEFAULT_LIMIT);

impl HashPermits {
    /// The default limit: 4 hashes at once (76 MiB with the default Argon2id parameters).
    pub const DEFAULT_LIMIT: usize = 4;

    /// A pool of `limit` permits (a limit of 0 is taken as 1: hashing must stay possible).
    #[must_use]
    pub const fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                limit: if limit == 0 { 1 } else { limit },
                in_use: 0,
                peak: 0,
                granted: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// The process-wide pool, [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT) permits unless changed
    /// with [`set_limit`](Self::set_limit). The blocking functions of this crate hash under it.
    #[must_use]
    pub fn global() -> &'static Self {
        &GLOBAL
    }

    /// How many hashes may run at once.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// Changes the limit (0 is taken as 1). Hashes already running finish; waiting ones start
    /// as soon as fewer than the new limit are running.
    pub fn set_limit(&self, limit: usize) {
        self.lock().limit = limit.max(1);
        self.freed.notify_all();
    }

    /// The most permits held at once so far: never above the limit in force at the time.
    #[must_use]
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    /// How many permits were granted so far (one per hash computed under this pool).
    #[must_use]
    pub fn granted(&self) -> u64 {
        self.lock().granted
    }

    /// Waits (blocking the calling thread) until fewer than `limit` permits are held, then takes
    /// one. Call only where blocking is allowed: never on an async executor's thread.
    pub fn acquire(&self) -> HashPermit<'_> {
        let mut state = self.lock();
        while state.in_use >= state.limit {
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.in_use = state.in_use.saturating_add(1);
        state.peak = state.peak.max(state.in_use);
        state.granted = state.granted.saturating_add(1);
        HashPermit { permits: self }
    }

    /// The state, even if a thread panicked while holding the lock: the state is a few counters
    /// updated in single steps, never left half-changed.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for HashPermits {
    /// A pool of [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT) permits.
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIMIT)
    }
}

impl fmt::Debug for HashPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = *self.lock();
        f.debug_struct("HashPermits")
            .field("limit", &state.limit)
            .field("in_use", &state.in_use)
            .field("peak", &state.peak)
            .field("granted", &state.granted)
            .finish()
    }
}

impl Drop for HashPermit<'_> {
    fn drop(&mut self) {
        let mut state = self.permits.lock();
        state.in_use = state.in_use.saturating_sub(1);
        drop(state);
        self.permits.freed.notify_one();
    }
}

impl fmt::Debug for HashPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPermit").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::thread;

    use super::*;

    #[test]
    fn permits_bound_the_holders_and_come_back() {
        let permits = HashPermits::new(3);
        let barrier = Barrier::new(12);
        thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    barrier.wait();
                    for _ in 0..50 {
                        let _permit = permits.acquire();
                        thread::yield_now();
                    }
                });
            }
        });
        assert!(permits.peak() <= 3, "{permits:?}");
        assert_eq!(permits.granted(), 600);
        assert_eq!(permits.lock().in_use, 0);
    }

    #[test]
    fn a_zero_limit_is_one_and_the_limit_can_change() {
        let permits = HashPermits::new(0);
        assert_eq!(permits.limit(), 1);
        permits.set_limit(0);
        assert_eq!(permits.limit(), 1);
        permits.set_limit(2);
        let a = permits.acquire();
        let b = permits.acquire();
        assert_eq!(permits.peak(), 2);
        drop((a, b));
        assert_eq!(HashPermits::default().limit(), HashPermits::DEFAULT_LIMIT);
        assert_eq!(HashPermits::global().limit(), HashPermits::DEFAULT_LIMIT);
    }
}
