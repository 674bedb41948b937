//! Number-matching modes and drawing the numbers.

use core::fmt;
use core::str::FromStr;

use mfa_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::error::PushError;
use crate::ids::MatchNumber;

/// How the user proves on the phone that they see the sign-in page.
///
/// | mode | the sign-in page shows | on the phone the user | meets NIST SP 800-63B-4 |
/// |---|---|---|---|
/// | `Typed { digits: 6..=8 }` (default 6) | a 6- to 8-digit number | types it | **yes** ([§3.1.3]: ≥ 6 digits typed and sent back) |
/// | `Typed { digits: 2 }` | a 2-digit number | types it | no (Microsoft Authenticator style) |
/// | `Typed { digits: 3 }` | a 3-digit number | types it | no (Duo style) |
/// | `PickOne { choices: 3 }` | a 2-digit number | picks it among 3 | no (Okta Verify style) |
///
/// Evidence from a mode that meets rev 4 is marked
/// [`number_match_meets_rev4`](mfa_core::AuthenticatorProperties::number_match_meets_rev4); the
/// others only [`number_matched`](mfa_core::AuthenticatorProperties::number_matched), so a policy
/// can refuse them. Any other digit or choice count is refused
/// ([`validate`](Self::validate)). Numbers are uniform (no modulo bias) and fixed-width: leading
/// zeros are kept and must be typed.
///
/// Text forms ([`FromStr`], [`Display`](fmt::Display)): `typed6`, `typed7`, `typed8`, `typed2`,
/// `typed3`, `pick3`; serialized as that text too.
///
/// [§3.1.3]: https://pages.nist.gov/800-63-4/sp800-63b.html#out-of-band
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum NumberMatch {
    /// The user types the number shown: 6, 7 or 8 digits meet rev 4; 2 or 3 are vendor-compatible.
    Typed {
        /// How many digits.
        digits: u8,
    },
    /// The user picks the number shown among `choices` two-digit numbers on the phone
    /// (vendor-compatible; does not meet rev 4). Only 3 is supported.
    PickOne {
        /// How many numbers the phone offers.
        choices: u8,
    },
}

impl Default for NumberMatch {
    /// `Typed { digits: 6 }`: meets NIST SP 800-63B-4.
    fn default() -> Self {
        Self::Typed { digits: 6 }
    }
}

/// How many digits each pick-one choice has.
const PICK_ONE_DIGITS: u8 = 2;

impl NumberMatch {
    /// Every supported mode, the rev-4 ones first.
    pub const ALL: [Self; 6] = [
        Self::Typed { digits: 6 },
        Self::Typed { digits: 7 },
        Self::Typed { digits: 8 },
        Self::Typed { digits: 2 },
        Self::Typed { digits: 3 },
        Self::PickOne { choices: 3 },
    ];

    /// Checks the mode is one of [`ALL`](Self::ALL).
    ///
    /// # Errors
    /// [`PushError::InvalidRequest`] for another digit or choice count.
    pub fn validate(self) -> Result<(), PushError> {
        if Self::ALL.contains(&self) {
            Ok(())
        } else {
            Err(PushError::InvalidRequest(
                "number matching is typed with 2, 3, 6, 7 or 8 digits, or pick one of 3",
            ))
        }
    }

    /// Whether a success in this mode meets NIST SP 800-63B-4's rule for push: at least 6
    /// digits typed on the device and sent back.
    #[must_use]
    pub fn meets_rev4(self) -> bool {
        matches!(self, Self::Typed { digits } if digits >= 6)
    }

    /// How many digits the number shown has.
    #[must_use]
    pub fn digits(self) -> u8 {
        match self {
            Self::Typed { digits } => digits,
            Self::PickOne { .. } => PICK_ONE_DIGITS,
        }
    }

    /// The number to show and, for pick-one, the choices the phone offers (the number among
    /// them, at a uniformly random place). The mode must be valid.
    pub(crate) fn draw<R: CryptoRng + ?Sized>(self, rng: &mut R) -> (MatchNumber, Vec<String>) {
        let digits = self.digits();
        let bound = 10_u32.pow(u32::from(digits));
        let width = usize::from(digits);
        match self {
            Self::Typed { .. } => (
                MatchNumber::from_value(uniform_below(rng, bound), width),
                Vec::new(),
            ),
            Self::PickOne { choices } => {
                let mut values: Vec<u32> = Vec::with_capacity(usize::from(choices));
                while values.len() < usize::from(choices) {
                    let value = uniform_below(rng, bound);
                    if !values.contains(&value) {
                        values.push(value);
                    }
                }
                let shown = uniform_below(rng, u32::from(choices));
                let number = values
                    .get(usize::try_from(shown).unwrap_or(0))
                    .copied()
                    .unwrap_or_default();
                let choices = values
                    .iter()
                    .map(|value| {
                        MatchNumber::from_value(*value, width)
                            .expose_digits()
                            .to_owned()
                    })
                    .collect();
                (MatchNumber::from_value(number, width), choices)
            }
        }
    }
}

/// A uniform value in `0..bound` (`bound > 0`): rejection sampling on 32-bit draws, so no value
/// is likelier than another.
fn uniform_below<R: CryptoRng + ?Sized>(rng: &mut R, bound: u32) -> u32 {
    let bound = bound.max(1);
    // The largest multiple of `bound` that fits: draws at or above it are redrawn.
    let limit = (u32::MAX / bound) * bound;
    loop {
        let draw = rng.next_u32();
        if draw < limit {
            return draw % bound;
        }
    }
}

impl fmt::Display for NumberMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Typed { digits } => write!(f, "typed{digits}"),
            Self::PickOne { choices } => write!(f, "pick{choices}"),
        }
    }
}

impl From<NumberMatch> for String {
    fn from(mode: NumberMatch) -> Self {
        mode.to_string()
    }
}

impl TryFrom<String> for NumberMatch {
    type Error = PushError;
    fn try_from(text: String) -> Result<Self, PushError> {
        text.parse()
    }
}

impl FromStr for NumberMatch {
    type Err = PushError;

    /// `typed6`, `typed7`, `typed8`, `typed2`, `typed3` or `pick3`.
    fn from_str(text: &str) -> Result<Self, PushError> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.to_string() == text)
            .ok_or(PushError::InvalidRequest(
                "mode is one of typed6, typed7, typed8, typed2, typed3, pick3",
            ))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn modes_and_names() {
        for mode in NumberMatch::ALL {
            assert!(mode.validate().is_ok());
            assert_eq!(mode.to_string().parse::<NumberMatch>(), Ok(mode));
        }
        assert_eq!(NumberMatch::default(), NumberMatch::Typed { digits: 6 });
        let rev4: Vec<_> = NumberMatch::ALL
            .into_iter()
            .filter(|m| m.meets_rev4())
            .collect();
        assert_eq!(rev4, NumberMatch::ALL[..3]);
        for bad in [0, 1, 4, 5, 9, 200] {
            assert!(NumberMatch::Typed { digits: bad }.validate().is_err());
        }
        for bad in [0, 2, 4] {
            assert!(NumberMatch::PickOne { choices: bad }.validate().is_err());
        }
        assert!("typed4".parse::<NumberMatch>().is_err());
        assert_eq!(
            serde_json::to_string(&NumberMatch::PickOne { choices: 3 }).unwrap(),
            r#""pick3""#
        );
    }

    #[test]
    fn numbers_are_fixed_width_and_choices_distinct() {
        let mut rng = StdRng::seed_from_u64(1);
        for mode in NumberMatch::ALL {
            for _ in 0..200 {
                let (number, choices) = mode.draw(&mut rng);
                let digits = number.expose_digits();
                assert_eq!(digits.len(), usize::from(mode.digits()));
                assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                if let NumberMatch::PickOne { choices: n } = mode {
                    assert_eq!(choices.len(), usize::from(n));
                    assert!(choices.iter().any(|c| c == digits));
                    let mut unique = choices.clone();
                    unique.dedup();
                    unique.sort();
                    unique.dedup();
                    assert_eq!(unique.len(), choices.len());
                } else {
                    assert!(choices.is_empty());
                }
            }
        }
    }

    /// A generator that replays fixed 32-bit draws.
    struct Scripted(Vec<u32>);

    impl rand_core::TryRng for Scripted {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.0.remove(0))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::from(self.try_next_u32()?))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0);
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for Scripted {}

    /// Against the naive model `draw % bound`: the top `2^32 mod bound` draws would make the
    /// small values likelier, so they are redrawn. For 100, the draws 4 294 967 200 and up
    /// (naively 0 to 95) are refused and the next draw is used.
    #[test]
    fn uniform_below_redraws_the_biased_tail() {
        let mut rng = Scripted(vec![4_294_967_200, u32::MAX, 4_294_967_199]);
        assert_eq!(uniform_below(&mut rng, 100), 99);
        assert!(rng.0.is_empty());
        // 10^6 leaves a tail of 2^32 mod 10^6 = 967 296 draws.
        let tail_start = u32::MAX - 967_295;
        let mut rng = Scripted(vec![tail_start, tail_start - 1]);
        assert_eq!(uniform_below(&mut rng, 1_000_000), 999_999);
        // A bound that divides 2^32 - 1 (3 does) refuses only u32::MAX.
        let mut rng = Scripted(vec![u32::MAX, u32::MAX - 1]);
        assert_eq!(uniform_below(&mut rng, 3), (u32::MAX - 1) % 3);
        // Leading zeros are kept.
        let mut rng = Scripted(vec![7]);
        let (number, _) = NumberMatch::Typed { digits: 8 }.draw(&mut rng);
        assert_eq!(number.expose_digits(), "00000007");
    }
}
