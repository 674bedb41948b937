//! [`SecretBytes`]: key material that is zeroized on drop, redacted in `Debug` and compared in constant time.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::CryptoRng;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Secret bytes: a shared key, a seed, a code being checked.
///
/// - zeroized when dropped (best effort: copies the program made elsewhere, or that the allocator
///   moved, are out of reach);
/// - `Debug` prints `SecretBytes(..)`, never the contents, and there is no `Display`;
/// - `==` runs in time that depends only on the lengths, via [`subtle::ConstantTimeEq`]. Lengths
///   are not treated as secret.
/// - serde writes base64url (no padding) in human-readable formats and raw bytes otherwise, so a
///   stored credential can hold it; the store is then as sensitive as the secret.
///
/// ```
/// use mfa_core::SecretBytes;
///
/// let key = SecretBytes::from_slice(b"12345678901234567890");
/// assert_eq!(format!("{key:?}"), "SecretBytes(..)");
/// assert_eq!(key, SecretBytes::from_slice(b"12345678901234567890"));
/// assert_eq!(key.expose_secret().len(), 20);
/// ```
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` (no copy is made).
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` into a new secret.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// `len` bytes drawn from a cryptographically secure RNG.
    #[must_use]
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> Self {
        let mut bytes = vec![0_u8; len];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret itself. Keep what you do with it short-lived, and never log it.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretBytes").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for SecretBytes {
    fn ct_eq(&self, other: &Self) -> Choice {
        // subtle returns early on unequal lengths; say so explicitly, lengths are public here.
        if self.0.len() != other.0.len() {
            return Choice::from(0);
        }
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretBytes {}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(&self.0));
            serializer.serialize_str(&encoded)
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        impl Visitor<'_> for SecretVisitor {
            type Value = SecretBytes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64url text or a byte string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<SecretBytes, E> {
                let trimmed = text.trim_end_matches('=');
                URL_SAFE_NO_PAD
                    .decode(trimmed)
                    .map(SecretBytes)
                    .map_err(|_| E::custom("secret is not valid base64url"))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<SecretBytes, E> {
                let text = Zeroizing::new(text);
                self.visit_str(&text)
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<SecretBytes, E> {
                Ok(SecretBytes::from_slice(bytes))
            }

            fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<SecretBytes, E> {
                Ok(SecretBytes(bytes))
            }
        }

        if deserializer.is_human_readable() {
            deserializer.deserialize_str(SecretVisitor)
        } else {
            deserializer.deserialize_bytes(SecretVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn debug_is_redacted() {
        let secret = SecretBytes::from_slice(b"hunter2");
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("104")); // 'h' as a number
        assert!(shown.contains(".."));
    }

    #[test]
    fn zeroize_clears_contents() {
        let mut secret = SecretBytes::from_slice(&[7; 32]);
        secret.zeroize();
        assert!(secret.is_empty());
    }

    #[test]
    fn different_lengths_are_unequal() {
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abcd")
        );
        assert_ne!(SecretBytes::from_slice(b""), SecretBytes::from_slice(b"a"));
        assert_eq!(SecretBytes::default(), SecretBytes::from_slice(b""));
    }

    #[test]
    fn random_draws_from_the_rng() {
        let mut rng = rand::rng();
        let a = SecretBytes::random(&mut rng, 20);
        let b = SecretBytes::random(&mut rng, 20);
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
    }

    #[test]
    fn serde_round_trips_as_base64url_and_accepts_padding() {
        let secret = SecretBytes::from_slice(b"\xff\xfe secret");
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, "\"__4gc2VjcmV0\"");
        assert_eq!(serde_json::from_str::<SecretBytes>(&json).unwrap(), secret);
        assert_eq!(
            serde_json::from_str::<SecretBytes>("\"__4gc2VjcmV0=\"").unwrap(),
            secret
        );
        assert!(serde_json::from_str::<SecretBytes>("\"not base64!\"").is_err());
    }

    #[test]
    fn serde_round_trips_as_cbor_bytes() {
        let secret = SecretBytes::from_slice(&[1, 2, 3]);
        let mut cbor = Vec::new();
        ciborium::into_writer(&secret, &mut cbor).unwrap();
        assert_eq!(cbor, [0x43, 1, 2, 3]);
        let back: SecretBytes = ciborium::from_reader(cbor.as_slice()).unwrap();
        assert_eq!(back, secret);
    }

    proptest! {
        #[test]
        fn equality_matches_naive_model(a in proptest::collection::vec(any::<u8>(), 0..40),
                                        b in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(SecretBytes::from_slice(&a) == SecretBytes::from_slice(&b), a == b);
            prop_assert!(SecretBytes::from_slice(&a) == SecretBytes::from_slice(&a));
        }
    }
}
