//! OTP secrets: generation, lenient base32 decoding, length rules.

use core::fmt;
use std::sync::Arc;

use mfa_core::{CryptoRng, SecretBytes};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::{OtpError, SecretProblem};

/// The shortest secret accepted at all: 80 bits, what Google, Microsoft 365 and GitHub issue.
pub const MIN_SECRET_BITS: usize = 80;
/// The longest secret accepted: 512 bits, so that every key fits one HMAC block.
pub const MAX_SECRET_BITS: usize = 512;
/// The length of a generated secret: 160 bits, as
/// [RFC 4226 §4](https://www.rfc-editor.org/rfc/rfc4226#section-4) recommends.
pub const GENERATED_SECRET_BITS: usize = 160;

const MIN_LEN: usize = MIN_SECRET_BITS / 8;
const MAX_LEN: usize = MAX_SECRET_BITS / 8;
const GENERATED_LEN: usize = GENERATED_SECRET_BITS / 8;
/// Longer base32 input than this is rejected before looking at it.
const MAX_TEXT_LEN: usize = 1024;

/// The shared secret of an HOTP/TOTP credential, 80 to 512 bits
/// ([RFC 4226 §4](https://www.rfc-editor.org/rfc/rfc4226#section-4)).
///
/// Zeroized on drop, `Debug` prints `..`, equality is constant-time. Serializes like
/// [`SecretBytes`] (base64url in JSON); deserializing checks the length again.
///
/// Clones share one copy of the key (reference-counted), which is wiped when the last clone is
/// dropped; so the credential a successful verification returns costs no copy of the key.
///
/// Every constructor enforces the 80-bit floor for *imported* secrets. New enrollments should
/// also pass [`SecretPolicy::check_new`] (128 bits by default); [`OtpSecret::generate`] always does.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpSecret(Arc<SecretBytes>);

impl OtpSecret {
    /// Draws a new 160-bit secret from `rng`.
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(Arc::new(SecretBytes::random(rng, GENERATED_LEN)))
    }

    /// Wraps raw key bytes.
    ///
    /// # Errors
    /// [`OtpError::SecretTooShort`] below 80 bits, [`OtpError::MalformedSecret`] above 512.
    pub fn from_bytes(bytes: SecretBytes) -> Result<Self, OtpError> {
        check_len(bytes.len())?;
        Ok(Self(Arc::new(bytes)))
    }

    /// Decodes a base32 secret the way real secrets arrive: upper or lower case, with or
    /// without `=` padding, with spaces or hyphens between groups (`jbsw y3dp-ehpk 3pxp`); tabs
    /// and line breaks are ignored like spaces.
    ///
    /// Leftover bits of a last partial character are ignored, as authenticator apps do.
    ///
    /// # Errors
    /// [`OtpError::MalformedSecret`] for anything else (with the position of a bad character),
    /// [`OtpError::SecretTooShort`] below 80 bits.
    pub fn from_base32(text: &str) -> Result<Self, OtpError> {
        let bytes = decode_base32(text)?;
        Self::from_bytes(SecretBytes::new(bytes.to_vec()))
    }

    /// The secret in canonical base32: upper case, no padding, no spaces (what key URIs carry).
    #[must_use]
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32::encode(
            base32::Alphabet::Rfc4648 { padding: false },
            self.0.expose_secret(),
        ))
    }

    /// The raw key bytes.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The length in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.0.len().saturating_mul(8)
    }
}

fn check_len(len: usize) -> Result<(), OtpError> {
    if len < MIN_LEN {
        return Err(OtpError::SecretTooShort {
            bits: len.saturating_mul(8),
            min_bits: MIN_SECRET_BITS,
        });
    }
    if len > MAX_LEN {
        return Err(OtpError::MalformedSecret(SecretProblem::TooLong));
    }
    Ok(())
}

impl fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OtpSecret").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for OtpSecret {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl Serialize for OtpSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OtpSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = SecretBytes::deserialize(deserializer)?;
        Self::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

/// How long secrets must be.
///
/// New enrollments need at least 128 bits by default
/// ([RFC 4226 §4](https://www.rfc-editor.org/rfc/rfc4226#section-4)); secrets imported from
/// elsewhere may be as short as 80 bits, because real services issue them. Neither minimum can be
/// set below the 80-bit floor that [`OtpSecret`] itself enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretPolicy {
    min_new_bits: usize,
    min_imported_bits: usize,
}

impl Default for SecretPolicy {
    fn default() -> Self {
        Self {
            min_new_bits: 128,
            min_imported_bits: MIN_SECRET_BITS,
        }
    }
}

impl SecretPolicy {
    /// A policy with these minimums (in bits), each raised to at least 80.
    #[must_use]
    pub fn new(min_new_bits: usize, min_imported_bits: usize) -> Self {
        Self {
            min_new_bits: min_new_bits.max(MIN_SECRET_BITS),
            min_imported_bits: min_imported_bits.max(MIN_SECRET_BITS),
        }
    }

    /// The minimum for new enrollments, in bits.
    #[must_use]
    pub fn min_new_bits(&self) -> usize {
        self.min_new_bits
    }

    /// The minimum for imported secrets, in bits.
    #[must_use]
    pub fn min_imported_bits(&self) -> usize {
        self.min_imported_bits
    }

    /// Checks a secret for a new enrollment.
    ///
    /// # Errors
    /// [`OtpError::SecretTooShort`] if it is shorter than [`min_new_bits`](Self::min_new_bits).
    pub fn check_new(&self, secret: &OtpSecret) -> Result<(), OtpError> {
        check_min(secret, self.min_new_bits)
    }

    /// Checks a secret imported from another service.
    ///
    /// # Errors
    /// [`OtpError::SecretTooShort`] if it is shorter than
    /// [`min_imported_bits`](Self::min_imported_bits).
    pub fn check_imported(&self, secret: &OtpSecret) -> Result<(), OtpError> {
        check_min(secret, self.min_imported_bits)
    }
}

fn check_min(secret: &OtpSecret, min_bits: usize) -> Result<(), OtpError> {
    if secret.bits() < min_bits {
        return Err(OtpError::SecretTooShort {
            bits: secret.bits(),
            min_bits,
        });
    }
    Ok(())
}

/// The value of a base32 character, computed without branching on the character (best effort:
/// the decoder's control flow depends only on where separators and invalid characters are).
/// Returns 0xff for a character that is not base32.
fn base32_value(c: u8) -> u8 {
    let c = u16::from(c);
    // Each range contributes (value + 1) when `c` is inside it, 0 otherwise.
    let in_range = |lo: u16, hi: u16| -> u16 {
        // 0xffff when lo <= c <= hi: both subtractions stay non-negative only then.
        let below = c.wrapping_sub(lo) >> 15; // 1 if c < lo (c < 0x100, so no wrap past 0x8000)
        let above = hi.wrapping_sub(c) >> 15; // 1 if c > hi
        ((below | above) ^ 1).wrapping_neg()
    };
    let upper = in_range(0x41, 0x5a) & c.wrapping_sub(0x41).wrapping_add(1);
    let lower = in_range(0x61, 0x7a) & c.wrapping_sub(0x61).wrapping_add(1);
    let digit = in_range(0x32, 0x37) & c.wrapping_sub(0x32).wrapping_add(27);
    let plus_one = upper | lower | digit;
    plus_one.wrapping_sub(1).to_le_bytes()[0]
}

/// Lenient RFC 4648 base32 decoding; see [`OtpSecret::from_base32`].
pub(crate) fn decode_base32(text: &str) -> Result<Zeroizing<Vec<u8>>, SecretProblem> {
    if text.len() > MAX_TEXT_LEN {
        return Err(SecretProblem::TooLong);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len().saturating_mul(5) / 8));
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    let mut chars: usize = 0;
    let mut padding: usize = 0;
    for (position, ch) in text.chars().enumerate() {
        let Ok(byte) = u8::try_from(ch) else {
            return Err(SecretProblem::InvalidCharacter { position });
        };
        match byte {
            b' ' | b'-' | b'\t' | b'\r' | b'\n' => continue,
            b'=' => {
                padding = padding.saturating_add(1);
                continue;
            }
            _ => {}
        }
        let value = base32_value(byte);
        if value == 0xff {
            return Err(SecretProblem::InvalidCharacter { position });
        }
        if padding > 0 {
            return Err(SecretProblem::InvalidPadding);
        }
        chars = chars.saturating_add(1);
        buffer = (buffer << 5) | u32::from(value);
        bits = bits.saturating_add(5);
        if bits >= 8 {
            bits = bits.saturating_sub(8);
            out.push((buffer >> bits).to_le_bytes()[0]);
            buffer &= (1_u32 << bits).wrapping_sub(1);
        }
    }
    if chars == 0 {
        return Err(SecretProblem::Empty);
    }
    let leftover = chars % 8;
    if matches!(leftover, 1 | 3 | 6) {
        return Err(SecretProblem::InvalidLength);
    }
    if padding != 0 && (leftover == 0 || padding.saturating_add(leftover) != 8) {
        return Err(SecretProblem::InvalidPadding);
    }
    if out.len() > MAX_LEN {
        return Err(SecretProblem::TooLong);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Vec<u8>, SecretProblem> {
        decode_base32(text).map(|bytes| bytes.to_vec())
    }

    #[test]
    fn base32_values_match_a_table() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        for c in 0..=255_u8 {
            let expected = alphabet
                .iter()
                .position(|&a| a == c.to_ascii_uppercase())
                .map_or(0xff, |p| u8::try_from(p).unwrap());
            assert_eq!(base32_value(c), expected, "char {c}");
        }
    }

    #[test]
    fn rfc4648_vectors() {
        for (text, plain) in [
            ("MY======", "f"),
            ("MZXQ====", "fo"),
            ("MZXW6===", "foo"),
            ("MZXW6YQ=", "foob"),
            ("MZXW6YTB", "fooba"),
            ("MZXW6YTBOI======", "foobar"),
        ] {
            assert_eq!(decode(text).unwrap(), plain.as_bytes(), "{text}");
            let unpadded = text.trim_end_matches('=');
            assert_eq!(decode(unpadded).unwrap(), plain.as_bytes());
            assert_eq!(decode(&unpadded.to_lowercase()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn real_world_spellings() {
        let canonical = decode("JBSWY3DPEHPK3PXP").unwrap();
        for text in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp",
            "  JBSWY3DPEHPK3PXP \n",
            "JbSw y3Dp eHpK 3pXp",
        ] {
            assert_eq!(decode(text).unwrap(), canonical, "{text:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_base32() {
        assert_eq!(decode(""), Err(SecretProblem::Empty));
        assert_eq!(decode(" - = "), Err(SecretProblem::Empty));
        assert_eq!(
            decode("JBSWY3DPEHPK3PX0"),
            Err(SecretProblem::InvalidCharacter { position: 15 })
        );
        assert_eq!(
            decode("JBSW_Y3DP"),
            Err(SecretProblem::InvalidCharacter { position: 4 })
        );
        assert_eq!(
            decode("JBSWY3DPé"),
            Err(SecretProblem::InvalidCharacter { position: 8 })
        );
        assert_eq!(decode("A"), Err(SecretProblem::InvalidLength));
        assert_eq!(decode("ABC"), Err(SecretProblem::InvalidLength));
        assert_eq!(decode("ABCDEF"), Err(SecretProblem::InvalidLength));
        assert_eq!(decode("MY======"), Ok(b"f".to_vec()));
        assert_eq!(decode("MY==="), Err(SecretProblem::InvalidPadding));
        assert_eq!(decode("MY==MY=="), Err(SecretProblem::InvalidPadding));
        assert_eq!(
            decode("MZXW6YTB========"),
            Err(SecretProblem::InvalidPadding)
        );
        assert_eq!(decode(&"A".repeat(2000)), Err(SecretProblem::TooLong));
        assert_eq!(decode(&"A".repeat(112)), Err(SecretProblem::TooLong));
        assert_eq!(decode(&"A".repeat(103)).unwrap().len(), 64);
        assert_eq!(decode(&"A".repeat(104)), Err(SecretProblem::TooLong));
    }

    #[test]
    fn length_rules() {
        // 80 bits (16 characters) is the import floor; 72 bits is refused.
        assert_eq!(
            OtpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap().bits(),
            80
        );
        assert_eq!(
            OtpSecret::from_base32("JBSWY3DPEHPK3"),
            Err(OtpError::SecretTooShort {
                bits: 64,
                min_bits: 80
            })
        );
        assert!(OtpSecret::from_base32(&"A".repeat(103)).is_ok());
        assert_eq!(
            OtpSecret::from_base32(&"A".repeat(104)),
            Err(OtpError::MalformedSecret(SecretProblem::TooLong))
        );
        let policy = SecretPolicy::default();
        let short = OtpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert!(policy.check_imported(&short).is_ok());
        assert_eq!(
            policy.check_new(&short),
            Err(OtpError::SecretTooShort {
                bits: 80,
                min_bits: 128
            })
        );
        assert_eq!(SecretPolicy::new(8, 8), SecretPolicy::new(80, 80));
        let generated = OtpSecret::generate(&mut rand::rng());
        assert_eq!(generated.bits(), 160);
        assert!(policy.check_new(&generated).is_ok());
        assert!(SecretPolicy::new(256, 80).check_new(&generated).is_err());
    }

    #[test]
    fn secrets_are_redacted_and_round_trip() {
        let secret = OtpSecret::from_base32("jbsw y3dp ehpk 3pxp").unwrap();
        assert_eq!(format!("{secret:?}"), "OtpSecret(..)");
        assert_eq!(secret.to_base32().as_str(), "JBSWY3DPEHPK3PXP");
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(serde_json::from_str::<OtpSecret>(&json).unwrap(), secret);
        assert!(serde_json::from_str::<OtpSecret>("\"AAAA\"").is_err());
    }
}
