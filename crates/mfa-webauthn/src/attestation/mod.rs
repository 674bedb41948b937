//! Attestation statement verification (WebAuthn L3 §8): `none`, `packed`, `fido-u2f`, `tpm`,
//! `android-key`, `apple`.
//!
//! INTERFACE STUB: owned by the crypto/attestation helper, who replaces the bodies.

use core::fmt;

use mfa_core::UnixTime;
use serde::{Deserialize, Serialize};

use crate::cose::CoseKey;
use crate::crypto::SignatureVerifier;

/// Everything a format's verification procedure needs from the registration response.
#[derive(Debug)]
pub struct AttestationInput<'a> {
    /// `fmt` from the attestation object.
    pub format: &'a str,
    /// `attStmt` from the attestation object.
    pub statement: &'a ciborium::Value,
    /// The raw authenticatorData bytes (signed by most formats).
    pub authenticator_data: &'a [u8],
    /// SHA-256 of the clientDataJSON bytes.
    pub client_data_hash: &'a [u8; 32],
    /// rpIdHash from the authenticator data.
    pub rp_id_hash: &'a [u8; 32],
    /// AAGUID from the attested credential data.
    pub aaguid: &'a [u8; 16],
    /// The credential id from the attested credential data.
    pub credential_id: &'a [u8],
    /// The credential public key from the attested credential data.
    pub credential_public_key: &'a CoseKey,
}

/// The attestation statement format.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationFormat {
    /// `none`.
    None,
    /// `packed`.
    Packed,
    /// `fido-u2f`.
    FidoU2f,
    /// `tpm`.
    Tpm,
    /// `android-key`.
    AndroidKey,
    /// `apple`.
    Apple,
}

impl AttestationFormat {
    /// The format identifier as it appears in `fmt`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Packed => "packed",
            Self::FidoU2f => "fido-u2f",
            Self::Tpm => "tpm",
            Self::AndroidKey => "android-key",
            Self::Apple => "apple",
        }
    }
}

/// The attestation type (WebAuthn L3 §6.5.4) a verified statement establishes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationType {
    /// No attestation (`none`).
    None,
    /// Self attestation: signed by the credential key itself.
    SelfAttestation,
    /// Basic attestation with an attestation certificate.
    Basic,
    /// Attestation CA (TPM).
    AttCa,
    /// Anonymization CA (Apple).
    AnonCa,
}

/// A verified attestation statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAttestation {
    /// The statement's format.
    pub format: AttestationFormat,
    /// The attestation type it establishes.
    pub attestation_type: AttestationType,
    /// The `x5c` certificates (DER, leaf first), for the caller's trust decision; empty if none.
    pub certificates: Vec<Vec<u8>>,
}

/// Options for attestation verification.
#[derive(Clone, Debug)]
pub struct AttestationOptions {
    /// The time against which certificate validity is judged.
    pub now: UnixTime,
}

/// Verifies an attestation statement by its format's procedure.
///
/// # Errors
/// [`AttestationError`] if the statement is malformed, unsupported or does not verify.
pub fn verify_attestation(
    input: &AttestationInput<'_>,
    verifier: &dyn SignatureVerifier,
    options: &AttestationOptions,
) -> Result<VerifiedAttestation, AttestationError> {
    let _ = (verifier, options);
    Err(AttestationError::UnsupportedFormat(input.format.to_owned()))
}

/// Why an attestation statement was not accepted.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttestationError {
    /// A `fmt` this library does not know.
    UnsupportedFormat(String),
    /// The statement is missing fields or has fields of the wrong type.
    Malformed(String),
    /// The attestation signature does not verify.
    BadSignature,
    /// The statement is well-formed but breaks a rule of its format (certificate requirements,
    /// nonce mismatch, key mismatch …).
    Invalid(String),
    /// The statement's algorithm is not supported.
    UnsupportedAlgorithm(i64),
}

impl fmt::Display for AttestationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedFormat(format) => {
                write!(f, "unsupported attestation format {format:?}")
            }
            Self::Malformed(why) => write!(f, "malformed attestation statement: {why}"),
            Self::BadSignature => f.write_str("attestation signature does not verify"),
            Self::Invalid(why) => write!(f, "attestation statement rejected: {why}"),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported attestation algorithm {id}"),
        }
    }
}

impl std::error::Error for AttestationError {}
