//! The `tpm` attestation statement format ([WebAuthn L3 §8.3]) with the TPM 2.0 structures it
//! carries ([TPMv2-Part2] §12.2.4 `TPMT_PUBLIC`, §10.12.12 `TPMS_ATTEST`), parsed by hand with
//! every read bounds-checked.
//!
//! [WebAuthn L3 §8.3]: https://www.w3.org/TR/webauthn-3/#sctn-tpm-attestation
//! [TPMv2-Part2]: https://trustedcomputinggroup.org/resource/tpm-library-specification/

use der::asn1::ObjectIdentifier;
use sha2::Digest as _;

use super::x509::{Cert, Der, OID_EXT_KEY_USAGE, OID_SUBJECT_ALT_NAME, TAG_OID, TAG_SEQUENCE};
use super::{
    AttestationError, AttestationFormat, AttestationInput, AttestationType, Statement,
    VerifiedAttestation, hash_for, invalid, malformed,
};
use crate::crypto::{EcCurve, PublicKeyMaterial, SignatureAlgorithm};

const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_SHA1: u16 = 0x0004;
const TPM_ALG_SHA256: u16 = 0x000B;
const TPM_ALG_SHA384: u16 = 0x000C;
const TPM_ALG_SHA512: u16 = 0x000D;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_ECDAA: u16 = 0x001A;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ECC_NIST_P256: u16 = 0x0003;
const TPM_ECC_NIST_P384: u16 = 0x0004;
const TPM_ECC_NIST_P521: u16 = 0x0005;
const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;

/// tcg-kp-AIKCertificate.
const OID_TCG_KP_AIK_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.8.3");
/// tcg-at-tpmManufacturer, tcg-at-tpmModel, tcg-at-tpmVersion.
const OID_TPM_MANUFACTURER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.2.1");
const OID_TPM_MODEL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.2.2");
const OID_TPM_VERSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.2.3");

/// Largest pubArea or certInfo accepted (an 8192-bit RSA key needs about 1.1 KiB).
const MAX_TPM_STRUCTURE_LEN: usize = 4096;

/// Verification procedure of §8.3.
pub(super) fn verify(
    input: &AttestationInput<'_>,
    statement: &Statement<'_>,
) -> Result<VerifiedAttestation, AttestationError> {
    statement.only(&["ver", "alg", "x5c", "sig", "certInfo", "pubArea"])?;
    if statement.text("ver")? != "2.0" {
        return Err(invalid("tpm ver is not \"2.0\""));
    }
    let alg = statement.alg()?;
    if alg == SignatureAlgorithm::Ed25519 {
        return Err(AttestationError::UnsupportedAlgorithm(alg.cose_id()));
    }
    let sig = statement.bytes("sig")?;
    let cert_info = statement.bytes("certInfo")?;
    let pub_area = statement.bytes("pubArea")?;
    if cert_info.len() > MAX_TPM_STRUCTURE_LEN || pub_area.len() > MAX_TPM_STRUCTURE_LEN {
        return Err(malformed("TPM structure too large"));
    }
    let x5c = statement
        .x5c()?
        .ok_or_else(|| invalid("tpm needs x5c (ECDAA is not supported)"))?;

    // pubArea's key must be the credential key.
    let public = parse_pub_area(pub_area)?;
    if public.key != *input.credential_public_key.material() {
        return Err(invalid(
            "pubArea key does not match the credential public key",
        ));
    }

    // certInfo must certify that pubArea, over this ceremony.
    let attest = parse_cert_info(cert_info)?;
    if attest.magic != TPM_GENERATED_VALUE {
        return Err(invalid("certInfo magic is not TPM_GENERATED_VALUE"));
    }
    if attest.kind != TPM_ST_ATTEST_CERTIFY {
        return Err(invalid("certInfo type is not TPM_ST_ATTEST_CERTIFY"));
    }
    if attest.extra_data != hash_for(alg, &input.signed_data())? {
        return Err(invalid(
            "certInfo extraData is not the hash of authData and clientDataHash",
        ));
    }
    if attest.attested_name != name_of(public.name_alg, pub_area)? {
        return Err(invalid("certInfo attested name does not match pubArea"));
    }

    let leaf_der = x5c.first().ok_or_else(|| invalid("empty x5c"))?;
    let aik = Cert::parse(leaf_der)?;
    aik.verify(alg, cert_info, sig)?;
    check_aik_requirements(&aik, input.aaguid)?;
    Ok(VerifiedAttestation {
        format: AttestationFormat::Tpm,
        attestation_type: AttestationType::AttCa,
        certificates: x5c,
    })
}

/// A bounds-checked big-endian reader over a TPM structure.
struct Reader<'a> {
    rest: &'a [u8],
}

fn truncated() -> AttestationError {
    malformed("truncated TPM structure")
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AttestationError> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or_else(truncated)?;
        self.rest = tail;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, AttestationError> {
        let (head, tail) = self.rest.split_first_chunk::<2>().ok_or_else(truncated)?;
        self.rest = tail;
        Ok(u16::from_be_bytes(*head))
    }

    fn u32(&mut self) -> Result<u32, AttestationError> {
        let (head, tail) = self.rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        self.rest = tail;
        Ok(u32::from_be_bytes(*head))
    }

    /// A `TPM2B_*`: a 16-bit size and that many bytes.
    fn tpm2b(&mut self) -> Result<&'a [u8], AttestationError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    fn finish(&self) -> Result<(), AttestationError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed("trailing bytes in TPM structure"))
        }
    }
}

/// What we need from `TPMT_PUBLIC`.
struct Public {
    name_alg: u16,
    key: PublicKeyMaterial,
}

fn parse_pub_area(bytes: &[u8]) -> Result<Public, AttestationError> {
    let mut r = Reader { rest: bytes };
    let kind = r.u16()?;
    let name_alg = r.u16()?;
    let _object_attributes = r.u32()?;
    let _auth_policy = r.tpm2b()?;
    // TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless TPM_ALG_NULL.
    if r.u16()? != TPM_ALG_NULL {
        r.take(4)?;
    }
    // TPMT_RSA_SCHEME / TPMT_ECC_SCHEME: scheme, then its hash (and count for ECDAA).
    let scheme = r.u16()?;
    if scheme == TPM_ALG_ECDAA {
        r.take(4)?;
    } else if scheme != TPM_ALG_NULL {
        r.take(2)?;
    }
    let key = match kind {
        TPM_ALG_RSA => {
            let _key_bits = r.u16()?;
            let exponent = match r.u32()? {
                0 => 65_537,
                e => e,
            };
            let n = r.tpm2b()?;
            PublicKeyMaterial::rsa(n, &exponent.to_be_bytes())
        }
        TPM_ALG_ECC => {
            let curve = match r.u16()? {
                TPM_ECC_NIST_P256 => EcCurve::P256,
                TPM_ECC_NIST_P384 => EcCurve::P384,
                TPM_ECC_NIST_P521 => EcCurve::P521,
                _ => return Err(invalid("pubArea curve is not supported")),
            };
            // TPMT_KDF_SCHEME.
            if r.u16()? != TPM_ALG_NULL {
                r.take(2)?;
            }
            let x = r.tpm2b()?;
            let y = r.tpm2b()?;
            let size = curve.field_len();
            let mut point = vec![0x04];
            for coordinate in [x, y] {
                let pad = size
                    .checked_sub(coordinate.len())
                    .ok_or_else(|| malformed("pubArea coordinate too long"))?;
                point.extend(core::iter::repeat_n(0u8, pad));
                point.extend_from_slice(coordinate);
            }
            PublicKeyMaterial::Ec2 { curve, point }
        }
        _ => return Err(invalid("pubArea type is neither RSA nor ECC")),
    };
    r.finish()?;
    Ok(Public { name_alg, key })
}

/// What we need from `TPMS_ATTEST`.
struct Attest<'a> {
    magic: u32,
    kind: u16,
    extra_data: &'a [u8],
    attested_name: &'a [u8],
}

fn parse_cert_info(bytes: &[u8]) -> Result<Attest<'_>, AttestationError> {
    let mut r = Reader { rest: bytes };
    let magic = r.u32()?;
    let kind = r.u16()?;
    let _qualified_signer = r.tpm2b()?;
    let extra_data = r.tpm2b()?;
    // TPMS_CLOCK_INFO (clock u64, resetCount u32, restartCount u32, safe u8), firmwareVersion u64.
    r.take(17)?;
    r.take(8)?;
    // TPMS_CERTIFY_INFO.
    let attested_name = r.tpm2b()?;
    let _qualified_name = r.tpm2b()?;
    r.finish()?;
    Ok(Attest {
        magic,
        kind,
        extra_data,
        attested_name,
    })
}

/// The TPM Name of a public area: `nameAlg ‖ H_nameAlg(pubArea)` ([TPMv2-Part1] §16).
fn name_of(name_alg: u16, pub_area: &[u8]) -> Result<Vec<u8>, AttestationError> {
    let digest = match name_alg {
        TPM_ALG_SHA1 => sha1::Sha1::digest(pub_area).to_vec(),
        TPM_ALG_SHA256 => sha2::Sha256::digest(pub_area).to_vec(),
        TPM_ALG_SHA384 => sha2::Sha384::digest(pub_area).to_vec(),
        TPM_ALG_SHA512 => sha2::Sha512::digest(pub_area).to_vec(),
        _ => return Err(invalid("pubArea nameAlg is not supported")),
    };
    let mut name = name_alg.to_be_bytes().to_vec();
    name.extend_from_slice(&digest);
    Ok(name)
}

/// §8.3.1 TPM attestation statement certificate requirements.
fn check_aik_requirements(aik: &Cert<'_>, aaguid: &[u8; 16]) -> Result<(), AttestationError> {
    aik.require_v3()?;
    if !aik.subject_is_empty() {
        return Err(invalid("AIK certificate subject is not empty"));
    }
    // Subject Alternative Name: a directoryName with TPM manufacturer, model and version
    // ([TPMv2-EK-Profile] §3.2.9).
    let san = aik
        .extension(OID_SUBJECT_ALT_NAME)
        .ok_or_else(|| invalid("AIK certificate has no subject alternative name"))?;
    let mut oids = Vec::new();
    collect_oids(san.extn_value.as_bytes(), 0, &mut oids)?;
    for (oid, what) in [
        (OID_TPM_MANUFACTURER, "manufacturer"),
        (OID_TPM_MODEL, "model"),
        (OID_TPM_VERSION, "version"),
    ] {
        if !oids.contains(&oid.as_bytes()) {
            return Err(AttestationError::Invalid(format!(
                "AIK certificate subject alternative name lacks the TPM {what}"
            )));
        }
    }
    // Extended Key Usage must contain tcg-kp-AIKCertificate.
    let eku = aik
        .extension(OID_EXT_KEY_USAGE)
        .ok_or_else(|| invalid("AIK certificate has no extended key usage"))?;
    let mut purposes = Der::new(eku.extn_value.as_bytes()).only(TAG_SEQUENCE)?;
    let mut found = false;
    while let Some(tlv) = purposes.next()? {
        if tlv.tag == TAG_OID && tlv.value == OID_TCG_KP_AIK_CERTIFICATE.as_bytes() {
            found = true;
        }
    }
    if !found {
        return Err(invalid(
            "AIK certificate extended key usage lacks tcg-kp-AIKCertificate",
        ));
    }
    if aik.is_ca()? {
        return Err(invalid("AIK certificate is a CA"));
    }
    aik.check_aaguid_extension(aaguid)
}

/// Collects the contents of every OBJECT IDENTIFIER nested in constructed DER (bounded depth).
fn collect_oids<'a>(
    bytes: &'a [u8],
    depth: usize,
    out: &mut Vec<&'a [u8]>,
) -> Result<(), AttestationError> {
    if depth > 8 {
        return Err(malformed("subject alternative name nested too deeply"));
    }
    let mut der = Der::new(bytes);
    while let Some(tlv) = der.next()? {
        if tlv.tag == TAG_OID {
            out.push(tlv.value);
        } else if tlv.tag.constructed {
            collect_oids(tlv.value, depth.saturating_add(1), out)?;
        }
    }
    Ok(())
}
