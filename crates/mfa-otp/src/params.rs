//! Parameters shared by HOTP and TOTP: the hash algorithm and the code format.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::OtpError;

/// The HMAC hash function ([RFC 6238 §1.2](https://www.rfc-editor.org/rfc/rfc6238#section-1.2)).
///
/// SHA-1 is the default and the only one every authenticator app supports; HMAC-SHA-1 is not
/// affected by SHA-1 collisions
/// ([RFC 4226 appendix B.2](https://www.rfc-editor.org/rfc/rfc4226#appendix-B.2)).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// HMAC-SHA-1.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name in a key URI's `algorithm` parameter: `SHA1`, `SHA256`, `SHA512`.
    #[must_use]
    pub const fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri_name())
    }
}

impl FromStr for Algorithm {
    type Err = OtpError;

    /// Accepts `sha1`, `sha256`, `sha512` in any case, with or without a hyphen (`SHA-256`).
    fn from_str(text: &str) -> Result<Self, OtpError> {
        let normalized: String = text
            .chars()
            .filter(|&c| c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match normalized.as_str() {
            "sha1" => Ok(Self::Sha1),
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            _ => Err(OtpError::InvalidParameter(
                "algorithm must be SHA1, SHA256 or SHA512",
            )),
        }
    }
}

/// The number of decimal digits of a code: 6 to 10
/// ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3) allows 6 to 8; 9 and 10
/// use the same 31-bit truncated value, as oathtool and pyotp do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Digits(u8);

impl Digits {
    /// Six digits: the default, and what every authenticator app shows.
    pub const SIX: Self = Self(6);
    /// Seven digits.
    pub const SEVEN: Self = Self(7);
    /// Eight digits.
    pub const EIGHT: Self = Self(8);
    /// The fewest digits allowed.
    pub const MIN: u8 = 6;
    /// The most digits allowed.
    pub const MAX: u8 = 10;

    /// Validates a digit count.
    ///
    /// # Errors
    /// [`OtpError::InvalidParameter`] outside 6 to 10.
    pub const fn new(digits: u8) -> Result<Self, OtpError> {
        if digits < Self::MIN || digits > Self::MAX {
            return Err(OtpError::InvalidParameter("digits must be 6 to 10"));
        }
        Ok(Self(digits))
    }

    /// The count.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for Digits {
    fn default() -> Self {
        Self::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = OtpError;

    fn try_from(digits: u8) -> Result<Self, OtpError> {
        Self::new(digits)
    }
}

impl From<Digits> for u8 {
    fn from(digits: Digits) -> Self {
        digits.0
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a code looks like.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeFormat {
    /// Decimal digits ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)).
    Decimal(Digits),
    /// Steam Guard: five characters from `23456789BCDFGHJKMNPQRTVWXY`, taken from the same 31-bit
    /// truncated value (Steam uses SHA-1 and 30-second steps).
    Steam,
}

impl Default for CodeFormat {
    fn default() -> Self {
        Self::Decimal(Digits::SIX)
    }
}

impl CodeFormat {
    /// How many characters a code has.
    #[must_use]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Self::Decimal(digits) => usize::from(digits.0),
            Self::Steam => STEAM_LEN,
        }
    }
}

/// Length of a Steam Guard code.
pub(crate) const STEAM_LEN: usize = 5;
/// The Steam Guard alphabet.
pub(crate) const STEAM_ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";
