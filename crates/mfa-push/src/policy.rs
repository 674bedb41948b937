//! The service's settings for push: who it is, and every limit, with defaults.

use core::time::Duration;

use mfa_core::{ThrottlePolicy, UnixTime};

/// The longest a challenge may live: 10 minutes.
pub const MAX_CHALLENGE_LIFETIME: Duration = Duration::from_secs(600);

/// The service's push settings. `Default` gives the defaults listed on each field; set
/// [`issuer`](Self::issuer) to the service's name.
///
/// The fatigue defences ([README](crate#fatigue-defences)):
///
/// - at most one pending challenge per account: a new one supersedes the old;
/// - the push cap: after [`free_pushes`](Self::free_pushes) pushes without an approval, each
///   further push waits [`push_initial_delay`](Self::push_initial_delay), doubling up to
///   [`push_max_delay`](Self::push_max_delay), after the previous one;
/// - the denial cap: [`max_denials`](Self::max_denials) denials without an approval lock push for
///   [`denial_lock`](Self::denial_lock) (and each further denial locks it again);
/// - a fraud report locks push until [`unlock`](crate::unlock);
/// - a wrong number counts as a failed attempt in [`throttle`](Self::throttle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPolicy {
    /// The service's name, shown in the phone app (the enrollment URI's `issuer`). Default `mfa`.
    pub issuer: String,
    /// Where the app posts its registration message (the enrollment URI's `url`), if the app
    /// does not know already. Default none.
    pub registration_url: Option<String>,
    /// How long an enrollment token stays valid. Default 10 minutes.
    pub enrollment_lifetime: Duration,
    /// The most devices one account may register. Default 10.
    pub max_devices: usize,
    /// How long a challenge waits for its answer. Default 60 s; 1 s to
    /// [`MAX_CHALLENGE_LIFETIME`] (10 minutes).
    pub challenge_lifetime: Duration,
    /// Pushes allowed without waiting since the last approval. Default 3.
    pub free_pushes: u32,
    /// The wait before the first push beyond the free ones. Default 10 s; it doubles with each
    /// further push.
    pub push_initial_delay: Duration,
    /// The longest wait between pushes. Default 1 hour.
    pub push_max_delay: Duration,
    /// Denials since the last approval that lock push for [`denial_lock`](Self::denial_lock).
    /// Default 3.
    pub max_denials: u32,
    /// How long the denial cap locks push. Default 1 hour.
    pub denial_lock: Duration,
    /// How far a message's `iat` may be from the server's clock, either way. Default 5 minutes.
    /// A signed request may be replayed within that window; it only reads again what the device
    /// may read anyway.
    ///
    /// It is also the grace the store keeps a challenge or an enrollment past its expiry before
    /// dropping it ([`store_expiry`](Self::store_expiry)).
    pub clock_skew: Duration,
    /// Failed-attempt throttling for wrong numbers (mfa-core's; per account). Default
    /// [`ThrottlePolicy::default`].
    ///
    /// Each wrong number spends its challenge, so guessing needs a push per guess: under the
    /// defaults the push cap's waits are never shorter than this throttle's, and the throttle
    /// is the second line (its lock at 100 holds either way). It binds when the push cap is
    /// loosened. The numbers are in the
    /// [README](crate#guessing-the-number-the-push-cap-binds-first).
    pub throttle: ThrottlePolicy,
}

impl Default for PushPolicy {
    fn default() -> Self {
        Self {
            issuer: "mfa".to_owned(),
            registration_url: None,
            enrollment_lifetime: Duration::from_secs(10 * 60),
            max_devices: 10,
            challenge_lifetime: Duration::from_secs(60),
            free_pushes: 3,
            push_initial_delay: Duration::from_secs(10),
            push_max_delay: Duration::from_secs(60 * 60),
            max_denials: 3,
            denial_lock: Duration::from_secs(60 * 60),
            clock_skew: Duration::from_secs(5 * 60),
            throttle: ThrottlePolicy::default(),
        }
    }
}

impl PushPolicy {
    /// The default policy for the service named `issuer`.
    #[must_use]
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            ..Self::default()
        }
    }

    /// When the store drops a challenge or an enrollment that stops working at `expires_at`:
    /// [`clock_skew`](Self::clock_skew) later (saturating). Records are written with that store
    /// expiry (mfa-core's `put_until` / `insert_new_until`), so ones nobody answers or redeems
    /// leave the store by themselves, with no sweep and no further call.
    ///
    /// The grace is there for two reasons. An answer (or a registration) that arrives after
    /// `expires_at` but within the grace still finds its record and is told
    /// [`PushError::Expired`](crate::PushError::Expired)
    /// ([`PushError::EnrollmentExpired`](crate::PushError::EnrollmentExpired)), not that there is
    /// no such challenge (enrollment). And a server whose clock is up to `clock_skew` behind the
    /// store's never sees a record vanish before its own clock says it expired.
    ///
    /// After the grace, an answer to a challenge that is still the account's pending one is
    /// still told `expired` (the account's state remembers its expiry); anything else is
    /// `challenge_not_found` (`enrollment_not_found`).
    #[must_use]
    pub fn store_expiry(&self, expires_at: UnixTime) -> UnixTime {
        expires_at.saturating_add(self.clock_skew)
    }

    /// The wait required before the next push when `pushes` have been sent since the last
    /// approval: none for the first [`free_pushes`](Self::free_pushes), then
    /// [`push_initial_delay`](Self::push_initial_delay) doubling up to
    /// [`push_max_delay`](Self::push_max_delay).
    #[must_use]
    pub fn push_delay_after(&self, pushes: u32) -> Duration {
        let Some(beyond_free) = pushes.checked_sub(self.free_pushes) else {
            return Duration::ZERO;
        };
        let factor = 1_u32.checked_shl(beyond_free).unwrap_or(u32::MAX);
        self.push_initial_delay
            .saturating_mul(factor)
            .min(self.push_max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_waits_double_up_to_the_cap() {
        let policy = PushPolicy::default();
        let waits: Vec<u64> = (0..12)
            .map(|n| policy.push_delay_after(n).as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 0, 10, 20, 40, 80, 160, 320, 640, 1280, 2560]);
        assert_eq!(policy.push_delay_after(13).as_secs(), 3600);
        assert_eq!(policy.push_delay_after(u32::MAX).as_secs(), 3600);
    }
}
