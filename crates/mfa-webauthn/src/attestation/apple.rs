//! The `apple` anonymous attestation statement format ([WebAuthn L3 §8.8]).
//!
//! [WebAuthn L3 §8.8]: https://www.w3.org/TR/webauthn-3/#sctn-apple-anonymous-attestation

use der::asn1::ObjectIdentifier;
use sha2::Digest as _;

use super::x509::{Cert, Der, TAG_OCTET_STRING, TAG_SEQUENCE, Tag};
use super::{
    AttestationError, AttestationFormat, AttestationInput, AttestationType, Statement,
    VerifiedAttestation, invalid,
};

/// Apple's nonce extension.
const OID_APPLE_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113635.100.8.2");

/// Verification procedure of §8.8: the leaf certificate's nonce extension holds
/// `SHA-256(authenticatorData ‖ clientDataHash)` and its key is the credential key. There is no
/// signature in the statement.
pub(super) fn verify(
    input: &AttestationInput<'_>,
    statement: &Statement<'_>,
) -> Result<VerifiedAttestation, AttestationError> {
    statement.only(&["x5c"])?;
    let x5c = statement.x5c()?.ok_or_else(|| invalid("apple needs x5c"))?;
    let leaf_der = x5c.first().ok_or_else(|| invalid("empty x5c"))?;
    let leaf = Cert::parse(leaf_der)?;
    let nonce = sha2::Sha256::digest(input.signed_data());
    let ext = leaf
        .extension(OID_APPLE_NONCE)
        .ok_or_else(|| invalid("certificate has no Apple nonce extension"))?;
    // SEQUENCE { [1] EXPLICIT OCTET STRING }
    let mut seq = Der::new(ext.extn_value.as_bytes()).only(TAG_SEQUENCE)?;
    let tagged = seq.expect(Tag::context(1))?;
    let value = Der::new(tagged).only_value(TAG_OCTET_STRING)?;
    if value != nonce.as_slice() {
        return Err(invalid(
            "certificate nonce is not SHA-256(authData ‖ clientDataHash)",
        ));
    }
    leaf.require_key(input.credential_public_key)?;
    Ok(VerifiedAttestation {
        format: AttestationFormat::Apple,
        attestation_type: AttestationType::AnonCa,
        certificates: x5c,
    })
}
