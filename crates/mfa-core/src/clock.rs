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

    /// The UTC calendar date, `YYYY-MM-DD` (proleptic Gregorian calendar).
    #[must_use]
    pub fn utc_date(self) -> String {
        let (year, month, day) = civil_from_days(self.as_secs() / 86_400);
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// The UTC date and time to the second, `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339).
    #[must_use]
    pub fn utc_date_time(self) -> String {
        let of_day = self.as_secs() % 86_400;
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            self.utc_date(),
            of_day / 3_600,
            of_day % 3_600 / 60,
            of_day % 60
        )
    }
}

/// The calendar date `days` after 1970-01-01: Howard Hinnant's days-to-civil algorithm
/// ("chrono-Compatible Low-Level Date Algorithms"), for non-negative day counts. The epoch is
/// shifted to 0000-03-01 so that leap days fall at the end of each 400-year era.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
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
    fn utc_dates_match_known_instants() {
        // Instants whose calendar dates are well known (not computed by this code).
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ];
        for (secs, text) in cases {
            assert_eq!(UnixTime::from_secs(secs).utc_date_time(), text);
        }
        assert_eq!(UnixTime::from_secs(951_782_400).utc_date(), "2000-02-29");
        // The far future neither panics nor wraps.
        let _far = UnixTime::from_secs(u64::MAX).utc_date_time();
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
