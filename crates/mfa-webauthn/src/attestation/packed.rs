//! The `packed` attestation statement format ([WebAuthn L3 §8.2]).
//!
//! [WebAuthn L3 §8.2]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation

use super::x509::{Cert, OID_COMMON_NAME, OID_COUNTRY, OID_ORGANIZATION, OID_ORGANIZATIONAL_UNIT};
use super::{
    AttestationError, AttestationFormat, AttestationInput, AttestationType, Statement,
    VerifiedAttestation, invalid,
};
use crate::crypto::{SignatureAlgorithm, SignatureError, SignatureVerifier};

/// Verification procedure of §8.2: with `x5c`, a signature by the attestation certificate over
/// `authenticatorData ‖ clientDataHash` and the §8.2.1 certificate requirements; without, self
/// attestation by the credential key with the credential's own algorithm.
pub(super) fn verify(
    input: &AttestationInput<'_>,
    statement: &Statement<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<VerifiedAttestation, AttestationError> {
    statement.only(&["alg", "sig", "x5c"])?;
    let alg_id = statement.alg_id()?;
    let sig = statement.bytes("sig")?;
    let signed = input.signed_data();

    let Some(x5c) = statement.x5c()? else {
        // Self attestation: alg must be the credential key's algorithm.
        if alg_id != input.credential_public_key.algorithm().id() {
            return Err(invalid(
                "self attestation alg differs from the credential key's",
            ));
        }
        verifier
            .verify(input.credential_public_key, &signed, sig)
            .map_err(|e| match e {
                SignatureError::UnsupportedAlgorithm(id) => {
                    AttestationError::UnsupportedAlgorithm(id)
                }
                _ => AttestationError::BadSignature,
            })?;
        return Ok(VerifiedAttestation {
            format: AttestationFormat::Packed,
            attestation_type: AttestationType::SelfAttestation,
            certificates: Vec::new(),
        });
    };

    let alg = SignatureAlgorithm::from_cose_id(alg_id)
        .filter(|alg| *alg != SignatureAlgorithm::RsaPkcs1Sha1)
        .ok_or(AttestationError::UnsupportedAlgorithm(alg_id))?;
    let leaf_der = x5c.first().ok_or_else(|| invalid("empty x5c"))?;
    let leaf = Cert::parse(leaf_der)?;
    leaf.verify(alg, &signed, sig)?;
    check_certificate_requirements(&leaf, input.aaguid)?;
    Ok(VerifiedAttestation {
        format: AttestationFormat::Packed,
        // Basic or AttCA cannot be told apart without metadata; Basic is reported.
        attestation_type: AttestationType::Basic,
        certificates: x5c,
    })
}

/// §8.2.1 Packed attestation statement certificate requirements.
fn check_certificate_requirements(
    leaf: &Cert<'_>,
    aaguid: &[u8; 16],
) -> Result<(), AttestationError> {
    leaf.require_v3()?;
    let one = |oid, what: &str| -> Result<String, AttestationError> {
        let values = leaf.subject_values(oid);
        match values.as_slice() {
            [value] if !value.is_empty() => Ok(value.clone()),
            _ => Err(AttestationError::Invalid(format!(
                "attestation certificate subject needs exactly one {what}"
            ))),
        }
    };
    let country = one(OID_COUNTRY, "C")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            "attestation certificate subject C is not an ISO 3166 code",
        ));
    }
    one(OID_ORGANIZATION, "O")?;
    if one(OID_ORGANIZATIONAL_UNIT, "OU")? != "Authenticator Attestation" {
        return Err(invalid(
            "attestation certificate subject OU is not \"Authenticator Attestation\"",
        ));
    }
    one(OID_COMMON_NAME, "CN")?;
    leaf.check_aaguid_extension(aaguid)?;
    if leaf.is_ca()? {
        return Err(invalid("attestation certificate is a CA"));
    }
    Ok(())
}
