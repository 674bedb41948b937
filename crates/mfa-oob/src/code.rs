//! One-time codes: drawn uniformly, held as secrets, compared in constant time.

use core::fmt;
use core::time::Duration;

use mfa_core::{CryptoRng, SecretBytes};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::OobError;

/// The fewest digits a code may have: 6 (NIST SP 800-63B-4 §3.1.3.1 asks at least 20 bits of
/// entropy of an out-of-band secret; 10^6 is 19.9 bits, the conventional reading of it).
pub const MIN_CODE_DIGITS: u8 = 6;
/// The most digits a code may have: 10.
pub const MAX_CODE_DIGITS: u8 = 10;
/// The longest a code may live: 10 minutes (NIST SP 800-63B-4 §3.1.3.1).
pub const MAX_CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The shortest a code may live: 1 minute (an SMS can take that long to arrive).
pub const MIN_CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a code lives by default: 5 minutes.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// The longest typed input [`verify_code`](crate::verify_code) reads, in bytes.
const MAX_TYPED_LEN: usize = 64;

/// How codes are made: how many digits, and how long they live.
///
/// `Default`: 6 digits, 5 minutes.
///
/// ```
/// use core::time::Duration;
/// use mfa_oob::CodePolicy;
///
/// let policy = CodePolicy::new(8, Duration::from_secs(120))?;
/// assert_eq!(policy.digits(), 8);
/// assert!(CodePolicy::new(4, Duration::from_secs(120)).is_err()); // too guessable
/// assert!(CodePolicy::new(6, Duration::from_secs(3600)).is_err()); // lives too long
/// # Ok::<(), mfa_oob::OobError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodePolicy {
    digits: u8,
    lifetime: Duration,
}

impl CodePolicy {
    /// A policy of `digits` digits ([`MIN_CODE_DIGITS`]..=[`MAX_CODE_DIGITS`]) living `lifetime`
    /// ([`MIN_CODE_LIFETIME`]..=[`MAX_CODE_LIFETIME`]).
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] when either is out of range.
    pub fn new(digits: u8, lifetime: Duration) -> Result<Self, OobError> {
        if !(MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&digits) {
            return Err(OobError::InvalidParameter("a code has 6 to 10 digits"));
        }
        if !(MIN_CODE_LIFETIME..=MAX_CODE_LIFETIME).contains(&lifetime) {
            return Err(OobError::InvalidParameter(
                "a code lives 1 to 10 minutes (NIST SP 800-63B-4 §3.1.3.1)",
            ));
        }
        Ok(Self { digits, lifetime })
    }

    /// How many digits a code has.
    #[must_use]
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// How long a code is accepted after it is sent.
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Draws a code, uniform over all `10^digits` values (leading zeros kept).
    pub(crate) fn generate<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> OobCode {
        OobCode::generate(self.digits, rng)
    }
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            digits: MIN_CODE_DIGITS,
            lifetime: DEFAULT_CODE_LIFETIME,
        }
    }
}

/// A one-time code: ASCII digits, held in [`SecretBytes`] (zeroized on drop, compared in
/// constant time).
///
/// - `Debug` prints `OobCode(..)`; there is no `Display`. The message text that carries a code to
///   the phone is a copy the [`Sender`](crate::Sender) holds;
/// - `==` runs in time that depends only on the lengths ([`subtle::ConstantTimeEq`]).
///
/// Stored in the clear inside the pending-code record: hashing a 6-digit code protects nothing
/// (all 10^6 candidates hash in well under a second), so the protection at rest is the store's
/// (a cipher layer over it) and the code's short life.
#[derive(Clone, PartialEq, Eq)]
pub struct OobCode(SecretBytes);

impl OobCode {
    /// Draws `digits` uniform decimal digits: rejection sampling over 64-bit draws, so no value
    /// is more likely than another (no modulo bias).
    pub(crate) fn generate<R: CryptoRng + ?Sized>(digits: u8, rng: &mut R) -> Self {
        let space = 10_u64.pow(u32::from(digits));
        // The largest multiple of `space` that fits: draws at or above it are redrawn.
        let zone = u64::MAX - (u64::MAX % space);
        let mut bytes = Zeroizing::new([0_u8; 8]);
        let value = loop {
            rng.fill_bytes(bytes.as_mut_slice());
            let draw = Zeroizing::new(u64::from_le_bytes(*bytes));
            if *draw < zone {
                break Zeroizing::new(*draw % space);
            }
        };
        let width = usize::from(digits);
        let text = Zeroizing::new(format!("{:0width$}", *value));
        Self(SecretBytes::from_slice(text.as_bytes()))
    }

    /// The digits. Keep what you do with them short-lived, and never log them.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        // Only ASCII digits are ever stored (generated, typed or decoded through the checks here).
        core::str::from_utf8(self.0.expose_secret()).unwrap_or_default()
    }

    /// The digits separated by spaces, for a voice to read out one by one: `"4 2 7 1 9 3"`.
    #[must_use]
    pub fn spoken(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(self.len().saturating_mul(2)));
        for (index, digit) in self.expose_secret().chars().enumerate() {
            if index > 0 {
                out.push(' ');
            }
            out.push(digit);
        }
        out
    }

    /// How many digits.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no digits (never, for a generated code).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads what a person typed: digits, with spaces and hyphens ignored.
    ///
    /// # Errors
    /// [`OobError::MalformedCode`] when the input is longer than 64 bytes, has another
    /// character, or has fewer than 6 or more than 10 digits.
    pub(crate) fn from_typed(input: &str) -> Result<Self, OobError> {
        if input.len() > MAX_TYPED_LEN {
            return Err(OobError::MalformedCode);
        }
        let mut digits = Zeroizing::new(Vec::with_capacity(usize::from(MAX_CODE_DIGITS)));
        for byte in input.bytes() {
            match byte {
                b'0'..=b'9' if digits.len() < usize::from(MAX_CODE_DIGITS) => digits.push(byte),
                b' ' | b'-' | b'\t' => {}
                _ => return Err(OobError::MalformedCode),
            }
        }
        if digits.len() < usize::from(MIN_CODE_DIGITS) {
            return Err(OobError::MalformedCode);
        }
        Ok(Self(SecretBytes::from_slice(&digits)))
    }
}

impl fmt::Debug for OobCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OobCode").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for OobCode {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl Serialize for OobCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl<'de> Deserialize<'de> for OobCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        let digits = usize::from(MIN_CODE_DIGITS)..=usize::from(MAX_CODE_DIGITS);
        if !digits.contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom("a stored code is 6 to 10 digits"));
        }
        Ok(Self(SecretBytes::from_slice(text.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn generated_codes_have_the_width_and_only_digits() {
        let mut rng = StdRng::seed_from_u64(7);
        for digits in MIN_CODE_DIGITS..=MAX_CODE_DIGITS {
            for _ in 0..200 {
                let code = OobCode::generate(digits, &mut rng);
                assert_eq!(code.len(), usize::from(digits));
                assert!(code.expose_secret().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    /// An "RNG" that plays back fixed 64-bit values.
    struct Script(Vec<u64>);

    impl rand_core::TryRng for Script {
        type Error = core::convert::Infallible;

        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::try_from(self.try_next_u64()? >> 32).unwrap())
        }

        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(self.0.remove(0))
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            let bytes = self.try_next_u64()?.to_le_bytes();
            dst.copy_from_slice(&bytes[..dst.len()]);
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for Script {}

    #[test]
    fn draws_in_the_biased_tail_are_redrawn() {
        // 2^64 = 18 446 744 073 709 551 616: the last 551 616 values (from 18 446 744 073 709
        // 000 000 on) would make codes 000000 to 551615 more likely than the rest, so they are
        // drawn again; the value just below them is the last accepted one, and gives 999999.
        let tail_start = u64::MAX - u64::MAX % 1_000_000;
        let mut rng = Script(vec![u64::MAX, tail_start, tail_start - 1]);
        let code = OobCode::generate(6, &mut rng);
        assert_eq!(code.expose_secret(), "999999");
        assert!(rng.0.is_empty());
    }

    #[test]
    fn typed_codes_ignore_spaces_and_hyphens_and_refuse_the_rest() {
        assert_eq!(
            OobCode::from_typed("123 456").unwrap().expose_secret(),
            "123456"
        );
        assert_eq!(OobCode::from_typed("12-34-56-78").unwrap().len(), 8);
        for bad in [
            "12345",
            "12345a",
            "",
            "１２３４５６",
            "12345678901",
            &"1".repeat(65),
        ] {
            assert!(
                matches!(OobCode::from_typed(bad), Err(OobError::MalformedCode)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn spoken_form_separates_every_digit() {
        let code = OobCode::from_typed("427193").unwrap();
        assert_eq!(code.spoken().as_str(), "4 2 7 1 9 3");
    }

    #[test]
    fn debug_hides_the_digits() {
        let code = OobCode::from_typed("427193").unwrap();
        assert_eq!(format!("{code:?}"), "OobCode(..)");
    }
}
