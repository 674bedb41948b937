//! COSE keys and algorithms (RFC 9052/9053, IANA COSE registries) as WebAuthn uses them.
//!
//! INTERFACE STUB: owned by the crypto/attestation helper, who replaces the bodies. The
//! signatures below are the contract the ceremony code is written against; extend, don't break.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A COSE signature algorithm that WebAuthn credentials use.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoseAlgorithm {
    /// ECDSA P-256 with SHA-256 (-7).
    Es256,
    /// ECDSA P-384 with SHA-384 (-35).
    Es384,
    /// ECDSA P-521 with SHA-512 (-36).
    Es512,
    /// EdDSA with Ed25519 (-8).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (-257).
    Rs256,
    /// RSASSA-PSS with SHA-256 (-37).
    Ps256,
}

impl CoseAlgorithm {
    /// The algorithm for a COSE identifier, if supported.
    #[must_use]
    pub fn from_id(id: i64) -> Option<Self> {
        match id {
            -7 => Some(Self::Es256),
            -35 => Some(Self::Es384),
            -36 => Some(Self::Es512),
            -8 => Some(Self::EdDsa),
            -257 => Some(Self::Rs256),
            -37 => Some(Self::Ps256),
            _ => None,
        }
    }

    /// The COSE identifier.
    #[must_use]
    pub fn id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
            Self::EdDsa => -8,
            Self::Rs256 => -257,
            Self::Ps256 => -37,
        }
    }
}

/// A credential public key in COSE_Key form, parsed and checked, keeping its original bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseKey {
    algorithm: CoseAlgorithm,
    cbor: Vec<u8>,
}

impl CoseKey {
    /// Parses a COSE_Key that must span all of `bytes`.
    ///
    /// # Errors
    /// [`CoseError`] if the bytes are not a supported, well-formed COSE_Key.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, CoseError> {
        let (key, used) = Self::parse_prefix(bytes)?;
        if used != bytes.len() {
            return Err(CoseError::Malformed("trailing bytes after COSE key"));
        }
        Ok(key)
    }

    /// Parses a COSE_Key at the start of `bytes` (as in attested credential data, where
    /// extensions may follow) and returns it with the number of bytes it spans.
    ///
    /// # Errors
    /// [`CoseError`] if the bytes do not start with a supported, well-formed COSE_Key.
    pub fn parse_prefix(bytes: &[u8]) -> Result<(Self, usize), CoseError> {
        let _ = bytes;
        Err(CoseError::Malformed("COSE parsing not implemented yet"))
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> CoseAlgorithm {
        self.algorithm
    }

    /// The COSE_Key bytes exactly as received (what a relying party stores).
    #[must_use]
    pub fn as_cbor(&self) -> &[u8] {
        &self.cbor
    }
}

/// Why a COSE key could not be used.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoseError {
    /// Not well-formed CBOR or not a valid COSE_Key.
    Malformed(&'static str),
    /// A valid key with an algorithm or key type we do not support.
    UnsupportedAlgorithm(i64),
}

impl fmt::Display for CoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed COSE key: {why}"),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported COSE algorithm {id}"),
        }
    }
}

impl std::error::Error for CoseError {}
