//! Base64url without padding ([RFC 4648 §5]), as WebAuthn's JSON forms use it
//! ([WebAuthn L3 §5.1.8], "base64url encoding" in [§3 Terminology]).
//!
//! Decoding is tolerant of `=` padding (some libraries send it), of the standard alphabet's `+`
//! and `/` (seen in real captures) and of non-zero trailing bits, and bounded: every caller names
//! the largest decoded length it accepts, and longer input is refused before any decoding.
//!
//! [RFC 4648 §5]: https://www.rfc-editor.org/rfc/rfc4648#section-5
//! [WebAuthn L3 §5.1.8]: https://www.w3.org/TR/webauthn-3/#dictdef-registrationresponsejson
//! [§3 Terminology]: https://www.w3.org/TR/webauthn-3/#base64url-encoding

use core::fmt;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::error::WebAuthnError;

/// Decoding: padding optional, and non-zero trailing bits tolerated (as browsers' `atob` and
/// most WebAuthn libraries do; every comparison is on the decoded bytes, never on the text).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes bytes as base64url without padding.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, with or without `=` padding, refusing anything that would decode to more
/// than `max_len` bytes.
///
/// # Errors
/// [`WebAuthnError::Malformed`] if `text` is too long or not base64url.
pub fn decode(text: &str, max_len: usize) -> Result<Vec<u8>, WebAuthnError> {
    // 4 characters carry 3 bytes; allow up to two padding characters on top.
    let max_chars = max_len.div_ceil(3).saturating_mul(4).saturating_add(2);
    if text.len() > max_chars {
        return Err(WebAuthnError::Malformed("base64url value too long"));
    }
    // Some real captures use the standard alphabet's `+` and `/`; accept them as `-` and `_`.
    let bytes = if text.contains(['+', '/']) {
        LENIENT.decode(text.replace('+', "-").replace('/', "_"))
    } else {
        LENIENT.decode(text)
    }
    .map_err(|_| WebAuthnError::Malformed("not base64url"))?;
    if bytes.len() > max_len {
        return Err(WebAuthnError::Malformed("base64url value too long"));
    }
    Ok(bytes)
}

/// Bytes that travel as base64url in JSON ([WebAuthn L3 §5.1.8] and the `…JSON` dictionaries):
/// credential ids, user handles, challenges in options.
///
/// [WebAuthn L3 §5.1.8]: https://www.w3.org/TR/webauthn-3/#dictdef-registrationresponsejson
///
/// Serializes as unpadded base64url; deserializes padded or unpadded, at most
/// [`Base64UrlBytes::MAX_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Base64UrlBytes(Vec<u8>);

impl Base64UrlBytes {
    /// The largest value accepted when deserializing (64 KiB).
    pub const MAX_LEN: usize = 64 * 1024;

    /// Wraps bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Decodes base64url text (padding tolerated).
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the text is not base64url or longer than
    /// [`Self::MAX_LEN`] bytes decoded.
    pub fn from_b64url(text: &str) -> Result<Self, WebAuthnError> {
        decode(text, Self::MAX_LEN).map(Self)
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The unpadded base64url text.
    #[must_use]
    pub fn to_b64url(&self) -> String {
        encode(&self.0)
    }

    /// The bytes, owned.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Base64UrlBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b64url:{}", self.to_b64url())
    }
}

impl From<Vec<u8>> for Base64UrlBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Base64UrlBytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl AsRef<[u8]> for Base64UrlBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Base64UrlBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_b64url())
    }
}

impl<'de> Deserialize<'de> for Base64UrlBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Base64UrlBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64url string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Base64UrlBytes, E> {
                Base64UrlBytes::from_b64url(v).map_err(|_| E::custom("not base64url"))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_tolerated() {
        assert_eq!(decode("YQ", 8).unwrap(), b"a");
        assert_eq!(decode("YQ==", 8).unwrap(), b"a");
        assert_eq!(encode(b"a"), "YQ");
    }

    #[test]
    fn limits_and_alphabet() {
        assert!(decode("YWJj", 2).is_err());
        assert_eq!(decode("-_8", 8).unwrap(), decode("+/8", 8).unwrap());
        assert!(decode("YW*j", 8).is_err());
        assert!(decode("Y", 8).is_err());
        assert_eq!(decode("", 8).unwrap(), b"");
    }
}
