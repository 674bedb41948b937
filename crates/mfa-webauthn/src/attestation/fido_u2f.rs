//! The `fido-u2f` attestation statement format ([WebAuthn L3 §8.6]).
//!
//! [WebAuthn L3 §8.6]: https://www.w3.org/TR/webauthn-3/#sctn-fido-u2f-attestation

use super::x509::Cert;
use super::{
    AttestationError, AttestationFormat, AttestationInput, AttestationType, Statement,
    VerifiedAttestation, invalid,
};
use crate::crypto::{EcCurve, PublicKeyMaterial, SignatureAlgorithm};

/// Verification procedure of §8.6: one P-256 attestation certificate whose key signs
/// `0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ publicKeyU2F`.
pub(super) fn verify(
    input: &AttestationInput<'_>,
    statement: &Statement<'_>,
) -> Result<VerifiedAttestation, AttestationError> {
    statement.only(&["sig", "x5c"])?;
    let sig = statement.bytes("sig")?;
    let x5c = statement
        .x5c()?
        .ok_or_else(|| invalid("fido-u2f needs x5c"))?;
    let [leaf_der] = x5c.as_slice() else {
        return Err(invalid("fido-u2f x5c must hold exactly one certificate"));
    };
    let leaf = Cert::parse(leaf_der)?;
    if !matches!(
        leaf.public_key()?,
        PublicKeyMaterial::Ec2 {
            curve: EcCurve::P256,
            ..
        }
    ) {
        return Err(invalid(
            "fido-u2f attestation certificate key is not EC P-256",
        ));
    }
    // publicKeyU2F: the credential key as an uncompressed P-256 point.
    let public_key_u2f = match input.credential_public_key.material() {
        PublicKeyMaterial::Ec2 {
            curve: EcCurve::P256,
            point,
        } => point,
        _ => return Err(invalid("fido-u2f credential key is not EC P-256")),
    };
    let mut data = Vec::with_capacity(
        1usize
            .saturating_add(64)
            .saturating_add(input.credential_id.len())
            .saturating_add(public_key_u2f.len()),
    );
    data.push(0x00);
    data.extend_from_slice(input.rp_id_hash);
    data.extend_from_slice(input.client_data_hash);
    data.extend_from_slice(input.credential_id);
    data.extend_from_slice(public_key_u2f);
    leaf.verify(SignatureAlgorithm::EcdsaP256Sha256, &data, sig)?;
    Ok(VerifiedAttestation {
        format: AttestationFormat::FidoU2f,
        attestation_type: AttestationType::Basic,
        certificates: x5c,
    })
}
