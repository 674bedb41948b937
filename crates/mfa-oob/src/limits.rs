//! Send limits: how many codes may go out per hour and per day to an account, to a number and to
//! a country calling code, and the growing wait between resends.
//!
//! Each scope keeps one small record ([`SendHistory`]), changed with one compare-and-swap per
//! send, so the limits hold across any number of servers sharing the store. Counting uses a
//! *sliding window counter* per window length: the count of the current fixed window plus the
//! previous window's count weighted by how much of it still overlaps the last hour (or day). It
//! needs two counters per window instead of a log of every send, and unlike a bare fixed window
//! it does not let a burst through on each side of a window boundary.

use core::time::Duration;
use std::collections::BTreeMap;

use mfa_core::UnixTime;
use serde::{Deserialize, Serialize};

use crate::error::OobError;

/// One hour.
const HOUR: Duration = Duration::from_secs(3600);
/// One day.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Sends allowed per sliding hour and per sliding day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimits {
    /// At most this many sends in any hour.
    pub per_hour: u32,
    /// At most this many sends in any 24 hours.
    pub per_day: u32,
}

impl WindowLimits {
    /// `per_hour` per hour and `per_day` per day.
    #[must_use]
    pub const fn new(per_hour: u32, per_day: u32) -> Self {
        Self { per_hour, per_day }
    }

    /// No sends at all: a country switched off.
    pub const BLOCKED: Self = Self::new(0, 0);

    fn is_blocked(self) -> bool {
        self.per_hour == 0 || self.per_day == 0
    }
}

/// The growing wait between the sends of one streak: the second send of a streak waits
/// [`first`](Self::first) after the first, the third twice that after the second, and so on,
/// up to [`max`](Self::max). A streak ends with a successful verification (for the account) or
/// after [`quiet_period`](Self::quiet_period) without a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResendGaps {
    /// The wait before the first resend. Default 30 s.
    pub first: Duration,
    /// The longest wait between two sends. Default 10 minutes.
    pub max: Duration,
    /// A send this long after the previous one starts a new streak. Default 1 hour.
    pub quiet_period: Duration,
}

impl Default for ResendGaps {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(30),
            max: Duration::from_secs(10 * 60),
            quiet_period: HOUR,
        }
    }
}

impl ResendGaps {
    /// The wait required before the next send when `streak` sends were made in this streak.
    #[must_use]
    pub fn gap_after(&self, streak: u32) -> Duration {
        let Some(doublings) = streak.checked_sub(1) else {
            return Duration::ZERO;
        };
        let factor = 1_u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// Every send limit. `Default`:
///
/// | scope | per hour | per day | resend gaps |
/// |---|---|---|---|
/// | account | 5 | 10 | 30 s, 60 s, 120 s … up to 10 min |
/// | destination number | 5 | 10 | the same |
/// | each country calling code | 1000 | 10 000 | none |
///
/// The country budget is for all accounts together, against SMS pumping fraud (bots requesting
/// codes to many premium numbers of one country to collect a share of the termination fees). Set
/// [`per_country`](Self::per_country) to what the service's real traffic needs, lower
/// [`country_overrides`](Self::country_overrides) for destinations it has no users in, and use
/// [`WindowLimits::BLOCKED`] to switch a country off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendLimits {
    /// Limits per account.
    pub per_account: WindowLimits,
    /// Limits per destination number.
    pub per_number: WindowLimits,
    /// The growing wait between resends, per account and per number.
    pub resend_gaps: ResendGaps,
    /// The budget of each country calling code not in the overrides.
    pub per_country: WindowLimits,
    /// Budgets of particular country calling codes (`44` for the United Kingdom …).
    pub country_overrides: BTreeMap<u16, WindowLimits>,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            per_account: WindowLimits::new(5, 10),
            per_number: WindowLimits::new(5, 10),
            resend_gaps: ResendGaps::default(),
            per_country: WindowLimits::new(1000, 10_000),
            country_overrides: BTreeMap::new(),
        }
    }
}

impl SendLimits {
    /// The budget of `calling_code`.
    #[must_use]
    pub fn for_country(&self, calling_code: u16) -> WindowLimits {
        self.country_overrides
            .get(&calling_code)
            .copied()
            .unwrap_or(self.per_country)
    }

    /// Whether sends to `calling_code` are switched off.
    #[must_use]
    pub fn country_blocked(&self, calling_code: u16) -> bool {
        self.for_country(calling_code).is_blocked()
    }

    /// Checks the limits are usable: the account and number limits allow at least one send.
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] otherwise.
    pub fn validate(&self) -> Result<(), OobError> {
        if self.per_account.is_blocked() || self.per_number.is_blocked() {
            return Err(OobError::InvalidParameter(
                "the account and number limits allow at least one send per hour and per day",
            ));
        }
        if self.resend_gaps.max < self.resend_gaps.first {
            return Err(OobError::InvalidParameter(
                "the longest resend gap is at least the first",
            ));
        }
        Ok(())
    }
}

/// A count over a sliding window of fixed length, kept as the counts of the current and the
/// previous aligned window (windows start at multiples of the length since the epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlidingCount {
    /// The index of the current window (`time / length`).
    window: u64,
    /// Sends in the current window.
    current: u32,
    /// Sends in the previous window.
    previous: u32,
}

impl SlidingCount {
    /// Moves the counts forward to the window holding `now`.
    fn roll(&mut self, length: Duration, now: UnixTime) {
        let index = window_index(length, now);
        if index == self.window {
            return;
        }
        self.previous = if index == self.window.saturating_add(1) {
            self.current
        } else {
            0
        };
        self.current = 0;
        self.window = index;
    }

    /// How long after `now` (rolled to `now`) one more send fits under `limit`; zero if it fits
    /// now. `limit` is at least 1.
    ///
    /// The estimated count at `e` ms into the current window of length `w` is
    /// `previous × (w − e) / w + current`; a send fits when the estimate *with it* stays within
    /// `limit`: `previous × (w − e) + (current + 1) × w ≤ limit × w`. Solved exactly in integers.
    fn wait(&self, length: Duration, limit: u32, now: UnixTime) -> Duration {
        let w = u128::from(millis(length).max(1));
        let e = u128::from(millis(now.since_epoch())) % w;
        let limit = u128::from(limit);
        let current = u128::from(self.current);
        let previous = u128::from(self.previous);
        let wait_ms = if current >= limit {
            // Not in this window. In the next one this window's count is the weighted one:
            // current × (w − e′) ≤ (limit − 1) × w, i.e. e′ ≥ w − ⌊(limit − 1)·w / current⌋.
            let room = limit.saturating_sub(1).saturating_mul(w);
            let e_next = w.saturating_sub(room.checked_div(current).unwrap_or(w));
            w.saturating_sub(e).saturating_add(e_next)
        } else {
            // previous × (w − e′) ≤ (limit − current − 1) × w.
            let room = limit
                .saturating_sub(current)
                .saturating_sub(1)
                .saturating_mul(w);
            if previous.saturating_mul(w.saturating_sub(e)) <= room {
                0
            } else {
                let e_fit = w.saturating_sub(room.checked_div(previous).unwrap_or(w));
                e_fit.saturating_sub(e)
            }
        };
        Duration::from_millis(u64::try_from(wait_ms).unwrap_or(u64::MAX))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn window_index(length: Duration, now: UnixTime) -> u64 {
    millis(now.since_epoch()) / millis(length).max(1)
}

/// What one scope's record holds: the hourly and daily counts and the current resend streak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SendHistory {
    hour: SlidingCount,
    day: SlidingCount,
    /// When the last counted send was made.
    last_sent_at: Option<UnixTime>,
    /// Sends in the current streak.
    streak: u32,
}

/// What [`SendHistory::admit`] changed, so a later refusal in another scope can give it back.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Admission {
    at: UnixTime,
    previous_last_sent_at: Option<UnixTime>,
    previous_streak: u32,
}

impl SendHistory {
    /// Counts one send at `now` if `limits` (and, with `gaps`, the resend gap) allow it;
    /// otherwise says how long to wait and changes nothing.
    pub(crate) fn admit(
        &mut self,
        limits: WindowLimits,
        gaps: Option<&ResendGaps>,
        now: UnixTime,
    ) -> Result<Admission, Duration> {
        let mut next = *self;
        next.hour.roll(HOUR, now);
        next.day.roll(DAY, now);
        let mut wait = Duration::ZERO;
        if let Some(gaps) = gaps {
            match next.last_sent_at {
                Some(last) if now.saturating_since(last) < gaps.quiet_period => {
                    let allowed_at = last.saturating_add(gaps.gap_after(next.streak));
                    wait = wait.max(allowed_at.saturating_since(now));
                }
                _ => next.streak = 0,
            }
        }
        wait = wait
            .max(next.hour.wait(HOUR, limits.per_hour.max(1), now))
            .max(next.day.wait(DAY, limits.per_day.max(1), now));
        if !wait.is_zero() {
            return Err(wait);
        }
        let admission = Admission {
            at: now,
            previous_last_sent_at: self.last_sent_at,
            previous_streak: next.streak,
        };
        next.hour.current = next.hour.current.saturating_add(1);
        next.day.current = next.day.current.saturating_add(1);
        next.streak = next.streak.saturating_add(1);
        next.last_sent_at = Some(now);
        *self = next;
        Ok(admission)
    }

    /// Gives back a send counted by `admission` (best effort: if the windows moved on since,
    /// only what is still there is given back).
    pub(crate) fn refund(&mut self, admission: &Admission) {
        for (count, length) in [(&mut self.hour, HOUR), (&mut self.day, DAY)] {
            if count.window == window_index(length, admission.at) {
                count.current = count.current.saturating_sub(1);
            }
        }
        if self.last_sent_at == Some(admission.at) {
            self.last_sent_at = admission.previous_last_sent_at;
            self.streak = admission.previous_streak;
        }
    }

    /// Ends the resend streak (after a successful verification).
    pub(crate) fn end_streak(&mut self) {
        self.streak = 0;
    }

    /// When the next send would pass the resend gap (not the hourly or daily counts).
    pub(crate) fn next_send_at(&self, gaps: &ResendGaps) -> Option<UnixTime> {
        self.last_sent_at
            .map(|last| last.saturating_add(gaps.gap_after(self.streak)))
    }
}

/// How long a scope record is worth keeping after its last send: after two days both daily
/// counters are zero and the streak is over.
pub(crate) const HISTORY_RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const T0: u64 = 1_700_006_400; // a multiple of 3600 (and of 86 400)

    fn at(secs: u64) -> UnixTime {
        UnixTime::from_secs(T0 + secs)
    }

    fn admits(history: &mut SendHistory, limits: WindowLimits, now: UnixTime) -> bool {
        history.admit(limits, None, now).is_ok()
    }

    #[test]
    fn gaps_double_up_to_the_cap() {
        let gaps = ResendGaps::default();
        let seconds: Vec<u64> = (0..7).map(|n| gaps.gap_after(n).as_secs()).collect();
        assert_eq!(seconds, [0, 30, 60, 120, 240, 480, 600]);
        assert_eq!(gaps.gap_after(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn hourly_limit_holds_across_a_window_boundary() {
        let limits = WindowLimits::new(5, 100);
        let mut history = SendHistory::default();
        // Five sends at the end of one window …
        for i in 0..5 {
            assert!(admits(&mut history, limits, at(3590 + i)));
        }
        // … leave no room at the start of the next: the previous window still weighs ~5.
        assert!(!admits(&mut history, limits, at(3600 + 10)));
        let wait = history.admit(limits, None, at(3610)).unwrap_err();
        // Fits once 5 × (3600 − e) / 3600 + 1 ≤ 5, i.e. e ≥ 720 s into the window.
        assert_eq!(wait, Duration::from_secs(720 - 10));
        assert!(!admits(
            &mut history,
            limits,
            UnixTime::from_millis((T0 + 3600 + 720) * 1000 - 1)
        ));
        assert!(admits(&mut history, limits, at(3600 + 720)));
    }

    #[test]
    fn a_refund_gives_back_the_send_and_the_streak() {
        let limits = WindowLimits::new(5, 10);
        let gaps = ResendGaps::default();
        let mut history = SendHistory::default();
        let first = history.admit(limits, Some(&gaps), at(0)).unwrap();
        let before = history;
        let second = history.admit(limits, Some(&gaps), at(30)).unwrap();
        history.refund(&second);
        assert_eq!(history, before);
        history.refund(&first);
        assert_eq!(history.last_sent_at, None);
        assert_eq!(history.streak, 0);
        assert_eq!(history.hour.current, 0);
    }

    #[test]
    fn a_quiet_period_ends_the_streak() {
        let limits = WindowLimits::new(100, 100);
        let gaps = ResendGaps::default();
        let mut history = SendHistory::default();
        for (second, allowed) in [(0, true), (29, false), (30, true), (89, false), (90, true)] {
            assert_eq!(
                history.admit(limits, Some(&gaps), at(second)).is_ok(),
                allowed,
                "at {second}"
            );
        }
        assert_eq!(history.streak, 3);
        // An hour later: no gap, a new streak.
        assert!(history.admit(limits, Some(&gaps), at(90 + 3600)).is_ok());
        assert_eq!(history.streak, 1);
    }

    /// A naive model: the sliding estimate with one more send,
    /// `previous × (w − e) / w + current + 1 ≤ limit`, checked
    /// directly at one instant (multiplied out by `w`).
    fn estimate_below_limit(
        count: &SlidingCount,
        length: Duration,
        limit: u32,
        now: UnixTime,
    ) -> bool {
        let mut rolled = *count;
        rolled.roll(length, now);
        let w = u128::from(millis(length));
        let e = u128::from(now.as_millis()) % w;
        u128::from(rolled.previous) * (w - e) + (u128::from(rolled.current) + 1) * w
            <= u128::from(limit) * w
    }

    proptest! {
        /// `wait` is exact: a send fits after the wait, not one millisecond before it.
        #[test]
        fn wait_is_the_first_moment_a_send_fits(
            previous in 0_u32..50,
            current in 0_u32..50,
            limit in 1_u32..40,
            offset_ms in 0_u64..3_600_000,
        ) {
            let window = window_index(HOUR, at(0));
            let count = SlidingCount { window, current, previous };
            let now = UnixTime::from_millis(T0 * 1000 + offset_ms);
            let wait = count.wait(HOUR, limit, now);
            let then = now.saturating_add(wait);
            prop_assert!(estimate_below_limit(&count, HOUR, limit, then));
            if !wait.is_zero() {
                let just_before = UnixTime::from_millis(then.as_millis() - 1);
                prop_assert!(!estimate_below_limit(&count, HOUR, limit, just_before));
            }
        }

        /// Over any sequence of send attempts, no hour (sliding, sampled at each attempt) holds
        /// more admitted sends than the limit allows plus the previous window's rounding.
        #[test]
        fn admitted_sends_never_exceed_the_hourly_limit_in_a_fixed_window(
            steps in proptest::collection::vec(0_u64..900, 1..80),
            limit in 1_u32..8,
        ) {
            let limits = WindowLimits::new(limit, 1000);
            let mut history = SendHistory::default();
            let mut now = T0;
            let mut admitted: Vec<u64> = Vec::new();
            for step in steps {
                now += step;
                if history.admit(limits, None, UnixTime::from_secs(now)).is_ok() {
                    admitted.push(now);
                }
            }
            // A sliding window counter never lets more than `limit` into one aligned hour.
            for start in admitted.iter().map(|t| t / 3600 * 3600) {
                let inside = admitted.iter().filter(|t| **t >= start && **t < start + 3600).count();
                prop_assert!(inside <= usize::try_from(limit).unwrap());
            }
            // Nor more than twice the limit into any sliding hour.
            for first in &admitted {
                let inside = admitted.iter().filter(|t| **t >= *first && **t < first + 3600).count();
                prop_assert!(inside <= 2 * usize::try_from(limit).unwrap());
            }
        }
    }
}
