//! Time, injected: a [`Clock`] trait, the [`SystemClock`] for production and a [`ManualClock`] for tests.
//!
//! Factor crates never read the system time themselves; the caller passes a [`UnixTime`] (usually
//! `clock.now()`), so every verification is deterministic under test.

use core::fmt;
use core::time::Duration;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, measured from the Unix epoch (1970-01-01T00:00:00Z), ignoring leap seconds.
///
/// Times past 2^32 seconds (year 2106) are represented exactly, as RFC 6238 §4.2 asks of TOTP.
/// Serialized (serde) as whole milliseconds in a `u64`, which covers 584 million years.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(Duration);

impl UnixTime {
    /// The Unix epoch itself.
    pub const EPOCH: Self = Self(Duration::ZERO);

    /// The time `secs` whole seconds after the epoch.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// The time `millis` milliseconds after the epoch.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// The time `since_epoch` after the epoch.
    #[must_use]
    pub const fn from_duration(since_epoch: Duration) -> Self {
        Self(since_epoch)
    }

    /// Whole seconds since the epoch (rounded down).
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// Whole milliseconds since the epoch, saturating at `u64::MAX`.
    #[must_use]
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// The duration since the epoch.
    #[must_use]
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// `self + by`, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, by: Duration) -> Option<Self> {
        self.0.checked_add(by).map(Self)
    }

    /// `self + by`, saturating at the largest representable time.
    #[must_use]
    pub fn saturating_add(self, by: Duration) -> Self {
        Self(self.0.saturating_add(by))
    }

    /// How long after `earlier` this time is; zero if `earlier` is later.
    #[must_use]
    pub fn saturating_since(self, earlier: Self) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0.as_secs(), self.0.subsec_millis())
    }
}

impl Serialize for UnixTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.as_millis())
    }
}

impl<'de> Deserialize<'de> for UnixTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Self::from_millis)
    }
}

/// A source of the current time.
///
/// Object-safe, so it can be swapped at run time (`Arc<dyn Clock>`), and implemented for references,
/// boxes and `Arc`s of clocks.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// The operating system's wall clock.
///
/// A system clock set before 1970 reads as the epoch rather than failing.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        )
    }
}

/// A clock that moves only when told to: for tests and simulations.
///
/// Clones share the same time, so a test can hand one clone to the code under test and move time
/// forward with another.
///
/// ```
/// use core::time::Duration;
/// use mfa_core::{Clock, ManualClock, UnixTime};
///
/// let clock = ManualClock::new(UnixTime::from_secs(59));
/// let seen_by_code = clock.clone();
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(seen_by_code.now(), UnixTime::from_secs(89));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<Mutex<UnixTime>>);

impl ManualClock {
    /// A clock that reads `start` until moved.
    #[must_use]
    pub fn new(start: UnixTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Sets the time (it may move backwards, as real clocks sometimes do).
    pub fn set(&self, to: UnixTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// Moves the time forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > UnixTime::from_secs(1_577_836_800));
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new(UnixTime::from_secs(10));
        let other = clock.clone();
        other.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), UnixTime::from_millis(11_500));
        clock.set(UnixTime::from_secs(3));
        assert_eq!(other.now().as_secs(), 3);
    }

    #[test]
    fn clock_works_as_trait_object() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(UnixTime::from_secs(1)));
        assert_eq!(clock.now(), UnixTime::from_secs(1));
    }

    #[test]
    fn times_beyond_2_pow_32_are_exact() {
        let t = UnixTime::from_secs(1 << 40);
        assert_eq!(t.as_secs(), 1 << 40);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<UnixTime>(&json).unwrap(), t);
    }

    #[test]
    fn arithmetic_saturates() {
        let t = UnixTime::from_secs(5);
        assert_eq!(t.saturating_since(UnixTime::from_secs(9)), Duration::ZERO);
        assert_eq!(
            t.saturating_since(UnixTime::from_secs(2)),
            Duration::from_secs(3)
        );
        assert!(
            UnixTime::from_duration(Duration::MAX)
                .checked_add(Duration::from_secs(1))
                .is_none()
        );
        assert_eq!(t.to_string(), "5.000");
    }
}
