//! The `none` attestation statement format ([WebAuthn L3 §8.7]).
//!
//! [WebAuthn L3 §8.7]: https://www.w3.org/TR/webauthn-3/#sctn-none-attestation

use super::{
    AttestationError, AttestationFormat, AttestationType, Statement, VerifiedAttestation, malformed,
};

/// `attStmt` must be an empty map; the result is attestation type None.
pub(super) fn verify(statement: &Statement<'_>) -> Result<VerifiedAttestation, AttestationError> {
    if !statement.is_empty() {
        return Err(malformed("none attestation statement must be empty"));
    }
    Ok(VerifiedAttestation {
        format: AttestationFormat::None,
        attestation_type: AttestationType::None,
        certificates: Vec::new(),
    })
}
