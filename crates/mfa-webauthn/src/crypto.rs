//! Signature verification behind one small trait, pure Rust by default.
//!
//! INTERFACE STUB: owned by the crypto/attestation helper, who replaces the bodies.

use core::fmt;

use crate::cose::CoseKey;

/// Verifies a signature made with a credential's key. One method, object-safe, so a faster
/// backend can be swapped in at run time.
pub trait SignatureVerifier: Send + Sync + fmt::Debug {
    /// Checks `signature` over `message` with `key` (the algorithm is the key's).
    ///
    /// # Errors
    /// [`SignatureError`] if the signature does not verify or cannot be checked.
    fn verify(&self, key: &CoseKey, message: &[u8], signature: &[u8])
    -> Result<(), SignatureError>;
}

/// The default backend: RustCrypto (`p256`, `p384`, `p521`, `ed25519-dalek`, `rsa`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoVerifier;

impl SignatureVerifier for RustCryptoVerifier {
    fn verify(
        &self,
        key: &CoseKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let _ = (key, message, signature);
        Err(SignatureError::Invalid)
    }
}

/// Why a signature was not accepted.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature does not verify.
    Invalid,
    /// The signature is not well-formed for its algorithm (e.g. bad DER).
    Malformed,
    /// This backend cannot check this algorithm.
    UnsupportedAlgorithm(i64),
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("signature does not verify"),
            Self::Malformed => f.write_str("signature is malformed"),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported signature algorithm {id}"),
        }
    }
}

impl std::error::Error for SignatureError {}
