//! Identifiers and the two small secrets of the protocol: device and challenge ids (public),
//! the enrollment token and the number to match (secret: zeroized on drop, redacted in `Debug`,
//! compared in constant time).

use core::fmt;

use mfa_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::b64;
use crate::error::PushError;

/// Bytes of randomness in a challenge id: 128 bits.
pub const CHALLENGE_ID_BYTES: usize = 16;
/// Bytes of randomness in an enrollment token: 128 bits.
pub const ENROLLMENT_TOKEN_BYTES: usize = 16;
/// The longest number to match: 8 digits.
pub const MAX_NUMBER_DIGITS: usize = 8;

/// A device's id: the [RFC 7638] JWK thumbprint of its P-256 public key (SHA-256 over
/// `{"crv":"P-256","kty":"EC","x":"…","y":"…"}`), in unpadded base64url: 43 characters.
///
/// The phone computes it itself from its own key, so it knows it without a round trip; it is the
/// `kid` of the device's responses and requests, and the opaque `handle` in push payloads (an app
/// holding several accounts picks the key by it). It is not secret and carries no user data.
///
/// [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

impl DeviceId {
    /// Reads a device id: canonical unpadded base64url of 32 bytes.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if it is not.
    pub fn parse(text: &str) -> Result<Self, PushError> {
        b64::decode_array::<32>(text)
            .map(|_| Self(text.to_owned()))
            .ok_or(PushError::Malformed(
                "device id is not 32 bytes of base64url",
            ))
    }

    pub(crate) fn from_digest(digest: [u8; 32]) -> Self {
        Self(b64::encode(&digest))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeviceId {
    type Error = PushError;
    fn try_from(text: String) -> Result<Self, PushError> {
        Self::parse(&text)
    }
}

impl From<DeviceId> for String {
    fn from(id: DeviceId) -> Self {
        id.0
    }
}

impl From<&DeviceId> for mfa_core::CredentialId {
    fn from(id: &DeviceId) -> Self {
        Self::new(id.as_str())
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.0)
    }
}

/// A challenge's id: 128 random bits in unpadded base64url (22 characters). Travels in the push
/// payload, the device's response and requests; not secret (answering needs the device key).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChallengeId(String);

impl ChallengeId {
    /// A fresh id from `rng`.
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0_u8; CHALLENGE_ID_BYTES];
        rng.fill_bytes(&mut bytes);
        Self(b64::encode(&bytes))
    }

    /// Reads a challenge id: canonical unpadded base64url of 16 bytes.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if it is not.
    pub fn parse(text: &str) -> Result<Self, PushError> {
        b64::decode_array::<CHALLENGE_ID_BYTES>(text)
            .map(|_| Self(text.to_owned()))
            .ok_or(PushError::Malformed(
                "challenge id is not 16 bytes of base64url",
            ))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChallengeId {
    type Error = PushError;
    fn try_from(text: String) -> Result<Self, PushError> {
        Self::parse(&text)
    }
}

impl From<ChallengeId> for String {
    fn from(id: ChallengeId) -> Self {
        id.0
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({})", self.0)
    }
}

/// The one-time secret that binds a device registration to the signed-in user who asked for it:
/// 128 random bits, carried in the enrollment URI (the QR code) and in the registration message.
///
/// The store never holds it: the enrollment record is found by [`record_id`](Self::record_id), its
/// SHA-256. Zeroized on drop; `Debug` does not show it; compare through the record lookup only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EnrollmentToken([u8; ENROLLMENT_TOKEN_BYTES]);

impl EnrollmentToken {
    /// A fresh token from `rng`.
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut token = Self([0; ENROLLMENT_TOKEN_BYTES]);
        rng.fill_bytes(&mut token.0);
        token
    }

    /// Reads a token: canonical unpadded base64url of 16 bytes.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if it is not.
    pub fn parse(text: &str) -> Result<Self, PushError> {
        let bytes = Zeroizing::new(b64::decode_array::<ENROLLMENT_TOKEN_BYTES>(text).ok_or(
            PushError::Malformed("enrollment token is not 16 bytes of base64url"),
        )?);
        Ok(Self(*bytes))
    }

    /// The token as base64url text (a secret: for the URI and the registration message only).
    #[must_use]
    pub fn expose_b64url(&self) -> Zeroizing<String> {
        Zeroizing::new(b64::encode(&self.0))
    }

    /// The id of the enrollment record: SHA-256 of the token's 16 bytes, in base64url. What the
    /// store keeps instead of the token.
    #[must_use]
    pub fn record_id(&self) -> String {
        b64::encode(&Sha256::digest(self.0))
    }
}

/// Constant time.
impl PartialEq for EnrollmentToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for EnrollmentToken {}

impl fmt::Debug for EnrollmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EnrollmentToken").finish_non_exhaustive()
    }
}

/// The number to match: fixed-width decimal digits (leading zeros kept), shown on the sign-in
/// page and typed or picked on the phone.
///
/// A secret of the sign-in in progress: zeroized on drop, `Debug` does not show it, compared in
/// constant time ([`matches`](Self::matches)). It serializes as its digits, because the sign-in
/// page must show it and the challenge record must keep it.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MatchNumber(String);

impl MatchNumber {
    /// Reads a number as typed: 1 to 8 ASCII digits.
    ///
    /// # Errors
    /// [`PushError::Malformed`] otherwise.
    pub fn parse(digits: &str) -> Result<Self, PushError> {
        if digits.is_empty()
            || digits.len() > MAX_NUMBER_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(PushError::Malformed("number is not 1 to 8 digits"));
        }
        Ok(Self(digits.to_owned()))
    }

    /// `value` written with exactly `digits` digits (leading zeros kept). Callers ensure
    /// `value < 10^digits`.
    pub(crate) fn from_value(value: u32, digits: usize) -> Self {
        Self(format!("{value:0digits$}"))
    }

    /// The digits (a secret of the sign-in: show them on the sign-in page, send them nowhere
    /// else).
    #[must_use]
    pub fn expose_digits(&self) -> &str {
        &self.0
    }

    /// Whether `typed` is this number, in constant time for numbers of the same length (the
    /// length is public: it is the mode's digit count).
    #[must_use]
    pub fn matches(&self, typed: &Self) -> bool {
        self.0.len() == typed.0.len() && bool::from(self.0.as_bytes().ct_eq(typed.0.as_bytes()))
    }
}

/// Constant time for numbers of the same length ([`MatchNumber::matches`]).
impl PartialEq for MatchNumber {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl Eq for MatchNumber {}

impl TryFrom<String> for MatchNumber {
    type Error = PushError;
    fn try_from(mut text: String) -> Result<Self, PushError> {
        let parsed = Self::parse(&text);
        text.zeroize();
        parsed
    }
}

impl From<MatchNumber> for String {
    fn from(number: MatchNumber) -> Self {
        number.0.clone()
    }
}

impl fmt::Debug for MatchNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MatchNumber").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strict() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(ChallengeId::parse(id).unwrap().as_str(), id);
        assert!(
            ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAAB").is_err(),
            "trailing bits"
        );
        assert!(ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAAA==").is_err());
        assert!(DeviceId::parse(id).is_err(), "too short for a device id");
        let thumb = "EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg";
        assert_eq!(DeviceId::parse(thumb).unwrap().to_string(), thumb);
    }

    #[test]
    fn secrets_are_redacted_and_compared_whole() {
        let shown = MatchNumber::from_value(42, 6);
        assert_eq!(shown.expose_digits(), "000042");
        assert!(shown.matches(&MatchNumber::parse("000042").unwrap()));
        assert!(!shown.matches(&MatchNumber::parse("00042").unwrap()));
        assert!(!shown.matches(&MatchNumber::parse("000043").unwrap()));
        assert!(MatchNumber::parse("12a").is_err());
        assert!(MatchNumber::parse("").is_err());
        assert!(MatchNumber::parse("123456789").is_err());
        assert!(!format!("{shown:?}").contains("42"));
        let token = EnrollmentToken::parse("AQIDBAUGBwgJCgsMDQ4PEA").unwrap();
        assert_eq!(token.expose_b64url().as_str(), "AQIDBAUGBwgJCgsMDQ4PEA");
        assert_eq!(format!("{token:?}"), "EnrollmentToken(..)");
        // SHA-256 of the bytes 1 ..= 16, computed with Python's hashlib.
        assert_eq!(
            token.record_id(),
            "Xfur7t8xi_M8CSfEPXYw9RuC81F0AwE1T6PX_FHwEy4"
        );
    }
}
