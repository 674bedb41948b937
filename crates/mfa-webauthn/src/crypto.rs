//! Signature verification behind one small trait, with two backends: `RingVerifier` (feature
//! `ring`, on by default) and [`RustCryptoVerifier`] (pure Rust, always there).
//! [`DefaultVerifier`] is the fastest one the build has; with `default-features = false` it is
//! pure Rust (for WASM targets, and audits that want no C or assembly). Both backends accept
//! exactly the same keys and signatures, so the feature changes speed, never a decision.
//!
//! WebAuthn signatures ([WebAuthn L3 §6.5.6]) are checked over the exact bytes signed; ECDSA
//! signatures are ASN.1 DER ([RFC 3279 §2.2.3]) parsed strictly, Ed25519 is verified strictly
//! (canonical `S` and `R`, no small-order keys), RSA keys must have a 2048- to 8192-bit modulus
//! (the range *ring* accepts, so both backends agree) and an odd public exponent of at least 3
//! and at most 33 bits.
//!
//! [WebAuthn L3 §6.5.6]: https://www.w3.org/TR/webauthn-3/#sctn-signature-attestation-types
//! [RFC 3279 §2.2.3]: https://www.rfc-editor.org/rfc/rfc3279#section-2.2.3

use core::fmt;

use der::asn1::ObjectIdentifier;
use der::{Decode as _, Tagged as _};
use p256::ecdsa::signature::Verifier as _;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::cose::{CoseAlgorithm, CoseKey};

/// Smallest RSA modulus accepted, in bits.
pub const RSA_MIN_MODULUS_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const RSA_MAX_MODULUS_BITS: usize = 8192;
/// Largest RSA public exponent accepted, in bits (as *ring* and `rsa` do).
const RSA_MAX_EXPONENT_BITS: usize = 33;

/// Verifies a signature made with a credential's key. One method, object-safe, so a faster
/// backend can be swapped in at run time ([WebAuthn L3 §7.2] step 21, [§7.1] attestation).
///
/// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
/// [§7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
pub trait SignatureVerifier: Send + Sync + fmt::Debug {
    /// Checks `signature` over `message` with `key` (the algorithm is the key's).
    ///
    /// # Errors
    /// [`SignatureError`] if the signature does not verify or cannot be checked.
    fn verify(&self, key: &CoseKey, message: &[u8], signature: &[u8])
    -> Result<(), SignatureError>;
}

/// The backend to use unless you have a reason to pick one: `RingVerifier` when the `ring`
/// feature is on (the default), [`RustCryptoVerifier`] when it is off
/// (`default-features = false`). Both accept the same keys and signatures, so code written
/// against this type decides the same way in either build, only faster with *ring*
/// ([WebAuthn L3 §7.2] step 21).
///
/// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultVerifier;

impl DefaultVerifier {
    /// The backend this build uses: `"ring"` or `"RustCrypto"` (for logs and benchmark labels).
    pub const BACKEND: &'static str = if cfg!(feature = "ring") {
        "ring"
    } else {
        "RustCrypto"
    };
}

impl SignatureVerifier for DefaultVerifier {
    fn verify(
        &self,
        key: &CoseKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        #[cfg(feature = "ring")]
        let backend = RingVerifier;
        #[cfg(not(feature = "ring"))]
        let backend = RustCryptoVerifier;
        backend.verify(key, message, signature)
    }
}

/// The pure-Rust backend: RustCrypto (`p256`, `p384`, `p521`, `ed25519-dalek`, `rsa`), covering
/// every [`CoseAlgorithm`] ([WebAuthn L3 §5.8.5]). What [`DefaultVerifier`] uses with
/// `default-features = false`.
///
/// [WebAuthn L3 §5.8.5]: https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoVerifier;

impl SignatureVerifier for RustCryptoVerifier {
    fn verify(
        &self,
        key: &CoseKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        verify_material(
            key.material(),
            SignatureAlgorithm::from(key.algorithm()),
            message,
            signature,
        )
    }
}

/// Why a signature was not accepted ([WebAuthn L3 §6.5.6]).
///
/// [WebAuthn L3 §6.5.6]: https://www.w3.org/TR/webauthn-3/#sctn-signature-attestation-types
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature does not verify.
    Invalid,
    /// The signature is not well-formed for its algorithm (e.g. bad DER).
    Malformed,
    /// This backend cannot check this algorithm.
    UnsupportedAlgorithm(i64),
    /// The public key is unusable: malformed, of an unsupported type, or out of bounds.
    BadKey,
    /// The signature algorithm cannot be used with this key (e.g. ES384 with a P-256 key).
    AlgorithmMismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("signature does not verify"),
            Self::Malformed => f.write_str("signature is malformed"),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported signature algorithm {id}"),
            Self::BadKey => f.write_str("public key is unusable"),
            Self::AlgorithmMismatch => f.write_str("signature algorithm does not fit the key"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// A signature algorithm as attestation statements name it (`alg`, a COSE identifier from the
/// [IANA COSE Algorithms] registry): the credential algorithms of [`CoseAlgorithm`] plus the
/// SHA-384/512 RSA variants and, for TPM attestation only, RS1 ([WebAuthn L3 §8.3]).
///
/// [IANA COSE Algorithms]: https://www.iana.org/assignments/cose/cose.xhtml#algorithms
/// [WebAuthn L3 §8.3]: https://www.w3.org/TR/webauthn-3/#sctn-tpm-attestation
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// ECDSA P-256 with SHA-256, DER signature (ES256, -7).
    EcdsaP256Sha256,
    /// ECDSA P-384 with SHA-384, DER signature (ES384, -35).
    EcdsaP384Sha384,
    /// ECDSA P-521 with SHA-512, DER signature (ES512, -36).
    EcdsaP521Sha512,
    /// Ed25519 (EdDSA, -8).
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-1 (RS1, -65535): legacy, accepted for TPM attestation only.
    RsaPkcs1Sha1,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RS256, -257).
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RS384, -258).
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (RS512, -259).
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, salt length 32 (PS256, -37).
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, salt length 48 (PS384, -38).
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, salt length 64 (PS512, -39).
    RsaPssSha512,
}

impl SignatureAlgorithm {
    /// The algorithm for a COSE identifier, if supported.
    #[must_use]
    pub fn from_cose_id(id: i64) -> Option<Self> {
        Some(match id {
            -7 => Self::EcdsaP256Sha256,
            -35 => Self::EcdsaP384Sha384,
            -36 => Self::EcdsaP521Sha512,
            -8 => Self::Ed25519,
            -65535 => Self::RsaPkcs1Sha1,
            -257 => Self::RsaPkcs1Sha256,
            -258 => Self::RsaPkcs1Sha384,
            -259 => Self::RsaPkcs1Sha512,
            -37 => Self::RsaPssSha256,
            -38 => Self::RsaPssSha384,
            -39 => Self::RsaPssSha512,
            _ => return None,
        })
    }

    /// The COSE identifier.
    #[must_use]
    pub fn cose_id(self) -> i64 {
        match self {
            Self::EcdsaP256Sha256 => -7,
            Self::EcdsaP384Sha384 => -35,
            Self::EcdsaP521Sha512 => -36,
            Self::Ed25519 => -8,
            Self::RsaPkcs1Sha1 => -65535,
            Self::RsaPkcs1Sha256 => -257,
            Self::RsaPkcs1Sha384 => -258,
            Self::RsaPkcs1Sha512 => -259,
            Self::RsaPssSha256 => -37,
            Self::RsaPssSha384 => -38,
            Self::RsaPssSha512 => -39,
        }
    }
}

impl From<CoseAlgorithm> for SignatureAlgorithm {
    fn from(alg: CoseAlgorithm) -> Self {
        match alg {
            CoseAlgorithm::Es256 => Self::EcdsaP256Sha256,
            CoseAlgorithm::Es384 => Self::EcdsaP384Sha384,
            CoseAlgorithm::Es512 => Self::EcdsaP521Sha512,
            CoseAlgorithm::EdDsa => Self::Ed25519,
            CoseAlgorithm::Rs256 => Self::RsaPkcs1Sha256,
            CoseAlgorithm::Ps256 => Self::RsaPssSha256,
        }
    }
}

/// Verifies `signature` over `message` with the public key in an X.509 `SubjectPublicKeyInfo`
/// (DER), as attestation formats with `x5c` require ([WebAuthn L3 §8.2]–[§8.4]). Supports EC
/// P-256/P-384/P-521, Ed25519 and RSA (PKCS #1 v1.5 with SHA-1/256/384/512, PSS with
/// SHA-256/384/512).
///
/// [WebAuthn L3 §8.2]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation
/// [§8.4]: https://www.w3.org/TR/webauthn-3/#sctn-android-key-attestation
///
/// # Errors
/// [`SignatureError::BadKey`] if the SPKI is unusable, [`SignatureError::AlgorithmMismatch`] if
/// `algorithm` does not fit its key, [`SignatureError::Malformed`] or
/// [`SignatureError::Invalid`] if the signature is malformed or does not verify.
pub fn verify_with_spki(
    spki_der: &[u8],
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let material = PublicKeyMaterial::from_spki_der(spki_der)?;
    verify_material(&material, algorithm, message, signature)
}

// --- Key material shared by COSE keys and certificates -----------------------------------------

/// A NIST curve WebAuthn uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    /// Bytes of one field element (coordinate).
    pub(crate) fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            OID_SECP256R1 => Some(Self::P256),
            OID_SECP384R1 => Some(Self::P384),
            OID_SECP521R1 => Some(Self::P521),
            _ => None,
        }
    }
}

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A public key in a normal form, whether it came from a COSE_Key or an X.509 SPKI, so the two
/// can be compared and used with the same verification code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PublicKeyMaterial {
    /// SEC 1 uncompressed point `0x04 ‖ x ‖ y`.
    Ec2 { curve: EcCurve, point: Vec<u8> },
    /// Ed25519 public key.
    Ed25519([u8; 32]),
    /// RSA modulus and exponent, big-endian without leading zero bytes.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Bit length of a big-endian unsigned integer without leading zero bytes.
fn bit_len(be: &[u8]) -> Option<usize> {
    let Some(&first) = be.first() else {
        return Some(0);
    };
    let top = usize::try_from(8u32.checked_sub(first.leading_zeros())?).ok()?;
    be.len().checked_sub(1)?.checked_mul(8)?.checked_add(top)
}

impl PublicKeyMaterial {
    /// An RSA key from big-endian components (leading zeros are dropped).
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Self {
        Self::Rsa {
            n: strip_leading_zeros(n).to_vec(),
            e: strip_leading_zeros(e).to_vec(),
        }
    }

    /// Checks the key is usable: EC points on their curve, Ed25519 points valid and not of small
    /// order, RSA within our bounds.
    pub(crate) fn validate(&self) -> Result<(), SignatureError> {
        match self {
            Self::Ec2 { curve, point } => {
                let expected = curve.field_len().saturating_mul(2).saturating_add(1);
                if point.len() != expected || point.first() != Some(&0x04) {
                    return Err(SignatureError::BadKey);
                }
                let ok = match curve {
                    EcCurve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
                    EcCurve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
                    EcCurve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
                };
                if ok {
                    Ok(())
                } else {
                    Err(SignatureError::BadKey)
                }
            }
            Self::Ed25519(key) => {
                let vk = ed25519_dalek::VerifyingKey::from_bytes(key)
                    .map_err(|_| SignatureError::BadKey)?;
                if vk.is_weak() {
                    return Err(SignatureError::BadKey);
                }
                Ok(())
            }
            Self::Rsa { n, e } => {
                let n_bits = bit_len(n).ok_or(SignatureError::BadKey)?;
                let e_bits = bit_len(e).ok_or(SignatureError::BadKey)?;
                let n_odd = n.last().is_some_and(|b| b & 1 == 1);
                let e_odd = e.last().is_some_and(|b| b & 1 == 1);
                // e >= 3: odd and more than one bit.
                if !(RSA_MIN_MODULUS_BITS..=RSA_MAX_MODULUS_BITS).contains(&n_bits)
                    || !n_odd
                    || !e_odd
                    || !(2..=RSA_MAX_EXPONENT_BITS).contains(&e_bits)
                {
                    return Err(SignatureError::BadKey);
                }
                Ok(())
            }
        }
    }

    /// Parses and validates a DER `SubjectPublicKeyInfo`.
    pub(crate) fn from_spki_der(spki_der: &[u8]) -> Result<Self, SignatureError> {
        let spki =
            SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| SignatureError::BadKey)?;
        let params = match spki.algorithm.parameters {
            Some(any) if any.tag() == der::Tag::ObjectIdentifier => Some(
                any.decode_as::<ObjectIdentifier>()
                    .map_err(|_| SignatureError::BadKey)?,
            ),
            _ => None,
        };
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or(SignatureError::BadKey)?;
        Self::from_spki_parts(spki.algorithm.oid, params, key)
    }

    /// Builds and validates a key from the parts of an SPKI: algorithm OID, named-curve
    /// parameter (EC only) and the subject public key bits.
    pub(crate) fn from_spki_parts(
        algorithm: ObjectIdentifier,
        curve: Option<ObjectIdentifier>,
        key: &[u8],
    ) -> Result<Self, SignatureError> {
        let material = match algorithm {
            OID_EC_PUBLIC_KEY => {
                let curve = curve
                    .and_then(EcCurve::from_oid)
                    .ok_or(SignatureError::BadKey)?;
                Self::Ec2 {
                    curve,
                    point: key.to_vec(),
                }
            }
            OID_RSA_ENCRYPTION => {
                let rsa = rsa::pkcs1::RsaPublicKeyRef::from_der(key)
                    .map_err(|_| SignatureError::BadKey)?;
                Self::rsa(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
            }
            OID_ED25519 => Self::Ed25519(key.try_into().map_err(|_| SignatureError::BadKey)?),
            _ => return Err(SignatureError::BadKey),
        };
        material.validate()?;
        Ok(material)
    }
}

fn rsa_public_key(n: &[u8], e: &[u8]) -> Result<rsa::PublicKey, SignatureError> {
    rsa::PublicKey::new_with_size_limits(
        rsa::BoxedUint::from_be_slice_vartime(n),
        rsa::BoxedUint::from_be_slice_vartime(e),
        RSA_MIN_MODULUS_BITS..=RSA_MAX_MODULUS_BITS,
    )
    .map_err(|_| SignatureError::BadKey)
}

fn rsa_pkcs1<D>(key: rsa::PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError>
where
    D: sha2::Digest + der::oid::AssociatedOid,
{
    let signature =
        rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| SignatureError::Malformed)?;
    rsa::pkcs1v15::VerifyingKey::<D>::new(key)
        .verify(message, &signature)
        .map_err(|_| SignatureError::Invalid)
}

fn rsa_pss<D>(key: rsa::PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    let signature =
        rsa::pss::Signature::try_from(signature).map_err(|_| SignatureError::Malformed)?;
    rsa::pss::VerifyingKey::<D>::new(key)
        .verify(message, &signature)
        .map_err(|_| SignatureError::Invalid)
}

/// Verifies with RustCrypto.
pub(crate) fn verify_material(
    material: &PublicKeyMaterial,
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use PublicKeyMaterial as K;
    use SignatureAlgorithm as A;
    match (material, algorithm) {
        (
            K::Ec2 {
                curve: EcCurve::P256,
                point,
            },
            A::EcdsaP256Sha256,
        ) => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SignatureError::BadKey)?;
            let sig = p256::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| SignatureError::Malformed)?;
            key.verify(message, &sig)
                .map_err(|_| SignatureError::Invalid)
        }
        (
            K::Ec2 {
                curve: EcCurve::P384,
                point,
            },
            A::EcdsaP384Sha384,
        ) => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SignatureError::BadKey)?;
            let sig = p384::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| SignatureError::Malformed)?;
            key.verify(message, &sig)
                .map_err(|_| SignatureError::Invalid)
        }
        (
            K::Ec2 {
                curve: EcCurve::P521,
                point,
            },
            A::EcdsaP521Sha512,
        ) => {
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SignatureError::BadKey)?;
            let sig = p521::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| SignatureError::Malformed)?;
            key.verify(message, &sig)
                .map_err(|_| SignatureError::Invalid)
        }
        (K::Ed25519(key), A::Ed25519) => {
            let key =
                ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|_| SignatureError::BadKey)?;
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| SignatureError::Malformed)?;
            key.verify_strict(message, &sig)
                .map_err(|_| SignatureError::Invalid)
        }
        (K::Rsa { n, e }, alg) => {
            let key = rsa_public_key(n, e)?;
            match alg {
                A::RsaPkcs1Sha1 => rsa_pkcs1::<sha1::Sha1>(key, message, signature),
                A::RsaPkcs1Sha256 => rsa_pkcs1::<sha2::Sha256>(key, message, signature),
                A::RsaPkcs1Sha384 => rsa_pkcs1::<sha2::Sha384>(key, message, signature),
                A::RsaPkcs1Sha512 => rsa_pkcs1::<sha2::Sha512>(key, message, signature),
                A::RsaPssSha256 => rsa_pss::<sha2::Sha256>(key, message, signature),
                A::RsaPssSha384 => rsa_pss::<sha2::Sha384>(key, message, signature),
                A::RsaPssSha512 => rsa_pss::<sha2::Sha512>(key, message, signature),
                _ => Err(SignatureError::AlgorithmMismatch),
            }
        }
        _ => Err(SignatureError::AlgorithmMismatch),
    }
}

/// A hash used by an X.509 certificate signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertHash {
    Sha256,
    Sha384,
    Sha512,
}

impl CertHash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Self::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// An X.509 certificate signature algorithm ([RFC 5758 §3.2], [RFC 4055], [RFC 8410]). Unlike
/// WebAuthn's COSE algorithms, X.509 ECDSA does not tie the hash to the curve (Apple's P-384 CA
/// signs with SHA-256).
///
/// [RFC 5758 §3.2]: https://www.rfc-editor.org/rfc/rfc5758#section-3.2
/// [RFC 4055]: https://www.rfc-editor.org/rfc/rfc4055
/// [RFC 8410]: https://www.rfc-editor.org/rfc/rfc8410
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertSignatureAlgorithm {
    Ecdsa(CertHash),
    RsaPkcs1(CertHash),
    Ed25519,
}

/// Verifies a certificate's signature over its TBSCertificate with the issuer's key.
pub(crate) fn verify_certificate_signature(
    issuer: &PublicKeyMaterial,
    algorithm: CertSignatureAlgorithm,
    tbs: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use PublicKeyMaterial as K;
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    match (issuer, algorithm) {
        (K::Ec2 { curve, point }, CertSignatureAlgorithm::Ecdsa(hash)) => {
            let prehash = hash.digest(tbs);
            let malformed = |_| SignatureError::Malformed;
            let bad_key = |_| SignatureError::BadKey;
            let invalid = |_| SignatureError::Invalid;
            match curve {
                EcCurve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map_err(bad_key)?
                    .verify_prehash(
                        &prehash,
                        &p256::ecdsa::DerSignature::from_bytes(signature).map_err(malformed)?,
                    )
                    .map_err(invalid),
                EcCurve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map_err(bad_key)?
                    .verify_prehash(
                        &prehash,
                        &p384::ecdsa::DerSignature::from_bytes(signature).map_err(malformed)?,
                    )
                    .map_err(invalid),
                EcCurve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map_err(bad_key)?
                    .verify_prehash(
                        &prehash,
                        &p521::ecdsa::DerSignature::from_bytes(signature).map_err(malformed)?,
                    )
                    .map_err(invalid),
            }
        }
        (K::Rsa { .. }, CertSignatureAlgorithm::RsaPkcs1(hash)) => {
            let alg = match hash {
                CertHash::Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
                CertHash::Sha384 => SignatureAlgorithm::RsaPkcs1Sha384,
                CertHash::Sha512 => SignatureAlgorithm::RsaPkcs1Sha512,
            };
            verify_material(issuer, alg, tbs, signature)
        }
        (K::Ed25519(_), CertSignatureAlgorithm::Ed25519) => {
            verify_material(issuer, SignatureAlgorithm::Ed25519, tbs, signature)
        }
        _ => Err(SignatureError::AlgorithmMismatch),
    }
}

/// The fast backend (feature `ring`, on by default; [`DefaultVerifier`] uses it): *ring* 0.17
/// for ES256, ES384, RS256 and PS256. ES512, which *ring* lacks, and EdDSA, which *ring* checks
/// less strictly, go to [`RustCryptoVerifier`]. Both backends accept exactly the same keys and
/// signatures: ECDSA DER is pre-checked with the same strict parser, and key bounds are enforced
/// when the [`CoseKey`] is parsed. (*ring*'s Ed25519 accepts a crafted signature whose `R` is
/// of small order, which `ed25519-dalek`'s `verify_strict` refuses; no honest signer makes one.)
/// ([WebAuthn L3 §5.8.5])
///
/// [WebAuthn L3 §5.8.5]: https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier
#[cfg(feature = "ring")]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingVerifier;

#[cfg(feature = "ring")]
impl SignatureVerifier for RingVerifier {
    fn verify(
        &self,
        key: &CoseKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        use PublicKeyMaterial as K;
        use ring::signature as rs;
        let invalid = |_| SignatureError::Invalid;
        match (key.material(), key.algorithm()) {
            (
                K::Ec2 {
                    curve: EcCurve::P256,
                    point,
                },
                CoseAlgorithm::Es256,
            ) => {
                p256::ecdsa::DerSignature::from_bytes(signature)
                    .map_err(|_| SignatureError::Malformed)?;
                rs::UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, signature)
                    .map_err(invalid)
            }
            (
                K::Ec2 {
                    curve: EcCurve::P384,
                    point,
                },
                CoseAlgorithm::Es384,
            ) => {
                p384::ecdsa::DerSignature::from_bytes(signature)
                    .map_err(|_| SignatureError::Malformed)?;
                rs::UnparsedPublicKey::new(&rs::ECDSA_P384_SHA384_ASN1, point)
                    .verify(message, signature)
                    .map_err(invalid)
            }
            (K::Rsa { n, e }, CoseAlgorithm::Rs256) => rs::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(&rs::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .map_err(invalid),
            (K::Rsa { n, e }, CoseAlgorithm::Ps256) => rs::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(&rs::RSA_PSS_2048_8192_SHA256, message, signature)
            .map_err(invalid),
            _ => RustCryptoVerifier.verify(key, message, signature),
        }
    }
}
