//! The `android-key` attestation statement format ([WebAuthn L3 §8.4]) and the Android key
//! attestation extension ([Android key attestation], OID 1.3.6.1.4.1.11129.2.1.17).
//!
//! The authorization checks (`origin`, `purpose`) use the union of `softwareEnforced` and
//! `teeEnforced`, the spec's default; `allApplications` must be absent from both.
//!
//! [WebAuthn L3 §8.4]: https://www.w3.org/TR/webauthn-3/#sctn-android-key-attestation
//! [Android key attestation]: https://source.android.com/docs/security/features/keystore/attestation

use der::asn1::ObjectIdentifier;

use super::x509::{
    Cert, Der, TAG_ENUMERATED, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, TAG_SET, der_integer,
};
use super::{
    AttestationError, AttestationFormat, AttestationInput, AttestationType, Statement,
    VerifiedAttestation, invalid,
};

const OID_ANDROID_KEY_DESCRIPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.1.17");
const TAG_PURPOSE: u32 = 1;
const TAG_ALL_APPLICATIONS: u32 = 600;
const TAG_ORIGIN: u32 = 702;
const KM_ORIGIN_GENERATED: i64 = 0;
const KM_PURPOSE_SIGN: i64 = 2;

/// Verification procedure of §8.4.
pub(super) fn verify(
    input: &AttestationInput<'_>,
    statement: &Statement<'_>,
) -> Result<VerifiedAttestation, AttestationError> {
    statement.only(&["alg", "sig", "x5c"])?;
    let alg = statement.alg()?;
    let sig = statement.bytes("sig")?;
    let x5c = statement
        .x5c()?
        .ok_or_else(|| invalid("android-key needs x5c"))?;
    let leaf_der = x5c.first().ok_or_else(|| invalid("empty x5c"))?;
    let leaf = Cert::parse(leaf_der)?;
    leaf.verify(alg, &input.signed_data(), sig)?;
    leaf.require_key(input.credential_public_key)?;

    let ext = leaf
        .extension(OID_ANDROID_KEY_DESCRIPTION)
        .ok_or_else(|| invalid("certificate has no Android key description"))?;
    let description = parse_key_description(ext.extn_value.as_bytes())?;
    if description.challenge != input.client_data_hash {
        return Err(invalid("attestationChallenge is not the clientDataHash"));
    }
    if description.all_applications {
        return Err(invalid("key is usable by all applications"));
    }
    if description.origins.is_empty()
        || description
            .origins
            .iter()
            .any(|&o| o != KM_ORIGIN_GENERATED)
    {
        return Err(invalid("key origin is not KM_ORIGIN_GENERATED"));
    }
    if description.purposes.is_empty() || description.purposes.iter().any(|&p| p != KM_PURPOSE_SIGN)
    {
        return Err(invalid("key purpose is not KM_PURPOSE_SIGN"));
    }
    Ok(VerifiedAttestation {
        format: AttestationFormat::AndroidKey,
        attestation_type: AttestationType::Basic,
        certificates: x5c,
    })
}

/// What we need from `KeyDescription`, with both authorization lists merged.
#[derive(Default)]
struct KeyDescription<'a> {
    challenge: &'a [u8],
    all_applications: bool,
    origins: Vec<i64>,
    purposes: Vec<i64>,
}

/// `KeyDescription ::= SEQUENCE { attestationVersion INTEGER, attestationSecurityLevel
/// ENUMERATED, keyMintVersion INTEGER, keyMintSecurityLevel ENUMERATED, attestationChallenge
/// OCTET STRING, uniqueId OCTET STRING, softwareEnforced AuthorizationList, hardwareEnforced
/// AuthorizationList }`. Later schema versions append nothing before these fields.
fn parse_key_description(bytes: &[u8]) -> Result<KeyDescription<'_>, AttestationError> {
    let mut seq = Der::new(bytes).only(TAG_SEQUENCE)?;
    seq.expect(TAG_INTEGER)?;
    seq.expect(TAG_ENUMERATED)?;
    seq.expect(TAG_INTEGER)?;
    seq.expect(TAG_ENUMERATED)?;
    let mut description = KeyDescription {
        challenge: seq.expect(TAG_OCTET_STRING)?,
        ..KeyDescription::default()
    };
    seq.expect(TAG_OCTET_STRING)?;
    for _ in 0..2 {
        let list = seq.expect(TAG_SEQUENCE)?;
        read_authorization_list(list, &mut description)?;
    }
    Ok(description)
}

/// `AuthorizationList ::= SEQUENCE { purpose [1] EXPLICIT SET OF INTEGER OPTIONAL, …,
/// allApplications [600] EXPLICIT NULL OPTIONAL, …, origin [702] EXPLICIT INTEGER OPTIONAL, … }`.
fn read_authorization_list<'a>(
    bytes: &'a [u8],
    out: &mut KeyDescription<'a>,
) -> Result<(), AttestationError> {
    let mut list = Der::new(bytes);
    while let Some(tlv) = list.next()? {
        if tlv.tag.class != 2 || !tlv.tag.constructed {
            return Err(invalid(
                "authorization list entry is not an explicit context tag",
            ));
        }
        match tlv.tag.number {
            TAG_PURPOSE => {
                let mut set = Der::new(tlv.value).only(TAG_SET)?;
                while !set.is_empty() {
                    out.purposes.push(der_integer(set.expect(TAG_INTEGER)?)?);
                }
            }
            TAG_ALL_APPLICATIONS => out.all_applications = true,
            TAG_ORIGIN => {
                let value = Der::new(tlv.value).only_value(TAG_INTEGER)?;
                out.origins.push(der_integer(value)?);
            }
            _ => {}
        }
    }
    Ok(())
}
