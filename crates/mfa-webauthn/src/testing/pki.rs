//! A test PKI built in code (feature `testing`): keys, X.509 v3 certificates ([RFC 5280]) and
//! v2 CRLs ([RFC 5280 §5]), for attestation and metadata tests that need a root, an
//! intermediate and a leaf of their own rather than captured vectors.
//!
//! Everything is DER written directly: certificates carry exactly the fields and extensions a
//! [`CertificateSpec`] asks for (basic constraints, key usage, subject and authority key
//! identifiers, and optionally the FIDO AAGUID extension and a CRL distribution point), signed
//! with ecdsa-with-SHA256 (P-256 issuers) or sha256WithRSAEncryption (RSA-2048 issuers).
//! **Test keys only**: the private keys live in memory and RSA signing is unblinded.
//!
//! ```
//! use mfa_core::UnixTime;
//! use mfa_webauthn::testing::pki::{CertificateSpec, TestKey, TestPki};
//!
//! let mut rng: rand::rngs::StdRng = rand::make_rng();
//! let (from, to) = (UnixTime::from_secs(1_700_000_000), UnixTime::from_secs(2_000_000_000));
//! let pki = TestPki::new(&mut rng, from, to);
//! let leaf = pki.leaf(&CertificateSpec::leaf("Test Leaf", from, to), TestKey::generate_p256(&mut rng));
//! assert!(leaf.pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
//! assert_eq!(pki.x5c(&leaf), vec![leaf.der().to_vec(), pki.intermediate.der().to_vec()]);
//! ```
//!
//! [RFC 5280]: https://www.rfc-editor.org/rfc/rfc5280
//! [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5

use core::convert::Infallible;
use core::fmt;
use std::sync::OnceLock;

use der::DateTime;
use der::asn1::ObjectIdentifier;
use mfa_core::{CryptoRng, UnixTime};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use rsa::pkcs8::EncodePublicKey as _;
use rsa::{Pkcs1v15Sign, PrivateKey, Pss};
use sha2::{Digest as _, Sha256};

use super::SoftwareAttestation;
use crate::attestation::x509::{
    OID_BASIC_CONSTRAINTS, OID_COMMON_NAME, OID_COUNTRY, OID_FIDO_GEN_CE_AAGUID, OID_ORGANIZATION,
    OID_ORGANIZATIONAL_UNIT,
};

// --- keys ----------------------------------------------------------------------------------------

/// A JWS signature algorithm ([RFC 7518 §3.1]) a [`TestKey`] can sign with.
///
/// [RFC 7518 §3.1]: https://www.rfc-editor.org/rfc/rfc7518#section-3.1
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    /// `ES256`: ECDSA P-256 with SHA-256, signature as raw `r ‖ s` (64 bytes).
    Es256,
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// `PS256`: RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt.
    Ps256,
}

impl JwsAlgorithm {
    /// The `alg` header value (`"ES256"`, `"RS256"`, `"PS256"`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }
}

/// What kind of key a [`TestKey`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TestKeyKind {
    /// ECDSA on P-256.
    P256,
    /// RSA with a 2048-bit modulus and exponent 65537.
    Rsa2048,
}

#[derive(Clone)]
enum KeyPair {
    P256(SigningKey),
    Rsa(PrivateKey),
}

/// A private key for test certificates, attestation statements and JWS signatures: ECDSA P-256
/// or RSA-2048. `Debug` shows only the kind and the key identifier.
#[derive(Clone)]
pub struct TestKey {
    pair: KeyPair,
    spki: Vec<u8>,
    key_identifier: [u8; 20],
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("kind", &self.kind())
            .field("key_identifier", &hex(&self.key_identifier))
            .finish_non_exhaustive()
    }
}

/// The one RSA key [`TestKey::shared_rsa2048`] hands out.
static SHARED_RSA: OnceLock<TestKey> = OnceLock::new();

impl TestKey {
    /// A fresh P-256 key from `rng`.
    #[must_use]
    pub fn generate_p256(rng: &mut impl CryptoRng) -> Self {
        Self::from_p256(random_p256(rng))
    }

    /// A test key wrapping an existing P-256 signing key.
    #[must_use]
    pub fn from_p256(key: SigningKey) -> Self {
        let point = key.verifying_key().to_sec1_point(false);
        let point = point.as_bytes();
        let algorithm = tlv(
            TAG_SEQUENCE,
            &[oid(OID_EC_PUBLIC_KEY), oid(OID_PRIME256V1)].concat(),
        );
        let spki = tlv(TAG_SEQUENCE, &[algorithm, bit_string(point)].concat());
        Self {
            pair: KeyPair::P256(key),
            spki,
            key_identifier: sha1(point),
        }
    }

    /// A fresh RSA-2048 key from `rng`. Key generation is slow (about a second even optimised);
    /// prefer [`TestKey::shared_rsa2048`] when the test does not need a key of its own.
    ///
    /// # Panics
    /// Never in practice: 2048 bits with exponent 65537 is a size the `rsa` crate supports.
    #[must_use]
    pub fn generate_rsa2048(rng: &mut impl CryptoRng) -> Self {
        let key = PrivateKey::new(rng, 2048).expect("RSA-2048 key generation");
        Self::from_rsa(key)
    }

    /// One RSA-2048 key per process, generated on first use from a fixed seed (so every run uses
    /// the same key) and cloned: for tests that need *an* RSA key and not a fresh one.
    #[must_use]
    pub fn shared_rsa2048() -> Self {
        SHARED_RSA
            .get_or_init(|| {
                let mut rng = HashRng::new(b"mfa-webauthn testing::pki shared RSA-2048 key");
                Self::generate_rsa2048(&mut rng)
            })
            .clone()
    }

    /// A test key wrapping an existing RSA private key (any size the `rsa` crate accepts; the
    /// name [`TestKeyKind::Rsa2048`] is kept for it).
    ///
    /// # Panics
    /// If the public key cannot be DER-encoded, which does not happen for a valid key.
    #[must_use]
    pub fn from_rsa(key: PrivateKey) -> Self {
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .expect("an RSA public key encodes")
            .into_vec();
        let key_identifier = subject_public_key_bits(&spki).map_or([0; 20], sha1);
        Self {
            pair: KeyPair::Rsa(key),
            spki,
            key_identifier,
        }
    }

    /// P-256 or RSA.
    #[must_use]
    pub fn kind(&self) -> TestKeyKind {
        match self.pair {
            KeyPair::P256(_) => TestKeyKind::P256,
            KeyPair::Rsa(_) => TestKeyKind::Rsa2048,
        }
    }

    /// The P-256 signing key, if this is one.
    #[must_use]
    pub fn p256(&self) -> Option<&SigningKey> {
        match &self.pair {
            KeyPair::P256(key) => Some(key),
            KeyPair::Rsa(_) => None,
        }
    }

    /// The RSA private key, if this is one.
    #[must_use]
    pub fn rsa(&self) -> Option<&PrivateKey> {
        match &self.pair {
            KeyPair::Rsa(key) => Some(key),
            KeyPair::P256(_) => None,
        }
    }

    /// The DER SubjectPublicKeyInfo ([RFC 5280 §4.1.2.7]).
    ///
    /// [RFC 5280 §4.1.2.7]: https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.7
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// SHA-1 of the subjectPublicKey BIT STRING's bytes ([RFC 5280 §4.2.1.2] method 1): the
    /// certificates' subject key identifier, and the `attestationCertificateKeyIdentifiers`
    /// value FIDO metadata lists for a U2F authenticator whose attestation certificate has this
    /// key (lower-case hex of it: [`TestKey::key_identifier_hex`]).
    ///
    /// [RFC 5280 §4.2.1.2]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.2
    #[must_use]
    pub fn key_identifier(&self) -> [u8; 20] {
        self.key_identifier
    }

    /// [`TestKey::key_identifier`] as lower-case hex (40 characters).
    #[must_use]
    pub fn key_identifier_hex(&self) -> String {
        hex(&self.key_identifier)
    }

    /// The COSE algorithm a WebAuthn attestation statement signed by this key declares:
    /// -7 (ES256) for P-256, -257 (RS256) for RSA.
    #[must_use]
    pub fn cose_algorithm(&self) -> i64 {
        match self.pair {
            KeyPair::P256(_) => -7,
            KeyPair::Rsa(_) => -257,
        }
    }

    /// Signs `message` the way a JWS carries it ([RFC 7518 §3]): ES256 as raw `r ‖ s`
    /// (64 bytes), RS256 as PKCS#1 v1.5, PS256 as PSS with a salt derived deterministically from
    /// the key and the message (so runs repeat; verifiers cannot tell).
    ///
    /// # Panics
    /// When `alg` does not fit the key (ES256 needs P-256; RS256 and PS256 need RSA).
    ///
    /// [RFC 7518 §3]: https://www.rfc-editor.org/rfc/rfc7518#section-3
    #[must_use]
    pub fn sign(&self, alg: JwsAlgorithm, message: &[u8]) -> Vec<u8> {
        match (&self.pair, alg) {
            (KeyPair::P256(key), JwsAlgorithm::Es256) => {
                let signature: Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
            (KeyPair::Rsa(key), JwsAlgorithm::Rs256) => rsa_pkcs1_sha256(key, message),
            (KeyPair::Rsa(key), JwsAlgorithm::Ps256) => {
                let digest = Sha256::digest(message);
                let mut rng = HashRng::new(&[self.spki.as_slice(), message].concat());
                key.sign_with_rng(&mut rng, Pss::<Sha256>::new(), &digest)
                    .expect("RSA-PSS signing with a key of at least 2048 bits")
            }
            (_, alg) => panic!("{} does not fit a {:?} key", alg.name(), self.kind()),
        }
    }

    /// Signs `message` the way X.509 certificates, CRLs and WebAuthn attestation statements
    /// carry it: ECDSA P-256 / SHA-256 as a DER `Ecdsa-Sig-Value`, RSA as PKCS#1 v1.5 / SHA-256.
    #[must_use]
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        match &self.pair {
            KeyPair::P256(key) => {
                let signature: Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            KeyPair::Rsa(key) => rsa_pkcs1_sha256(key, message),
        }
    }

    /// The DER AlgorithmIdentifier of [`TestKey::sign_der`]'s signatures: ecdsa-with-SHA256 or
    /// sha256WithRSAEncryption.
    #[must_use]
    pub fn signature_algorithm_der(&self) -> Vec<u8> {
        match self.pair {
            KeyPair::P256(_) => tlv(TAG_SEQUENCE, &oid(OID_ECDSA_WITH_SHA256)),
            KeyPair::Rsa(_) => tlv(
                TAG_SEQUENCE,
                &[oid(OID_SHA256_WITH_RSA), vec![0x05, 0x00]].concat(),
            ),
        }
    }

    /// `tbs` wrapped as a signed structure: `SEQUENCE { tbs, signatureAlgorithm, BIT STRING }`.
    fn sign_structure(&self, tbs: &[u8]) -> Vec<u8> {
        let signature = self.sign_der(tbs);
        tlv(
            TAG_SEQUENCE,
            &[
                tbs.to_vec(),
                self.signature_algorithm_der(),
                bit_string(&signature),
            ]
            .concat(),
        )
    }
}

/// A fresh P-256 signing key from `rng`.
pub(super) fn random_p256(rng: &mut impl CryptoRng) -> SigningKey {
    loop {
        let mut scalar = [0u8; 32];
        rng.fill_bytes(&mut scalar);
        // All but a negligible fraction of 32-byte strings are valid scalars.
        if let Ok(key) = SigningKey::from_slice(&scalar) {
            return key;
        }
    }
}

/// PKCS#1 v1.5 / SHA-256 signature (unblinded: test keys only).
fn rsa_pkcs1_sha256(key: &PrivateKey, message: &[u8]) -> Vec<u8> {
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
        .expect("RSA PKCS#1 v1.5 signing with a key of at least 2048 bits")
}

/// A deterministic SHA-256 counter-mode byte stream: the fixed-seed RNG behind
/// [`TestKey::shared_rsa2048`] and PS256 salts. Not a CSPRNG for anything but tests.
struct HashRng {
    seed: [u8; 32],
    counter: u64,
    buffer: Vec<u8>,
}

impl HashRng {
    fn new(seed: &[u8]) -> Self {
        Self {
            seed: Sha256::digest(seed).into(),
            counter: 0,
            buffer: Vec::new(),
        }
    }
}

impl rand_core::TryRng for HashRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            if self.buffer.is_empty() {
                let block = Sha256::new()
                    .chain_update(self.seed)
                    .chain_update(self.counter.to_be_bytes())
                    .finalize();
                self.counter = self.counter.wrapping_add(1);
                self.buffer = block.to_vec();
            }
            *byte = self.buffer.pop().unwrap_or_default();
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for HashRng {}

// --- certificates --------------------------------------------------------------------------------

/// What to put in a test certificate ([RFC 5280 §4.1]). The constructors fill in sensible
/// names; every field is public to change before issuing.
///
/// [RFC 5280 §4.1]: https://www.rfc-editor.org/rfc/rfc5280#section-4.1
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSpec {
    /// Subject CN (UTF8String).
    pub common_name: String,
    /// Subject O (UTF8String), if any.
    pub organization: Option<String>,
    /// Subject OU (UTF8String), if any.
    pub organizational_unit: Option<String>,
    /// Subject C (PrintableString, an ISO 3166 code such as `"US"`), if any.
    pub country: Option<String>,
    /// The serial number (encoded as a positive INTEGER).
    pub serial: u64,
    /// Start of validity (UTCTime before 2050, GeneralizedTime from then on).
    pub not_before: UnixTime,
    /// End of validity, inclusive.
    pub not_after: UnixTime,
    /// Basic Constraints `cA` (the extension is always present and critical; a CA also gets
    /// key usage keyCertSign and cRLSign, a leaf digitalSignature).
    pub ca: bool,
    /// Basic Constraints `pathLenConstraint` (only meaningful with `ca`).
    pub path_len: Option<u8>,
    /// The id-fido-gen-ce-aaguid extension (1.3.6.1.4.1.45724.1.1.4): an OCTET STRING holding
    /// the 16-byte AAGUID, non-critical ([WebAuthn L3 §8.2.1]).
    ///
    /// [WebAuthn L3 §8.2.1]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation-cert-requirements
    pub aaguid: Option<[u8; 16]>,
    /// A CRL distribution point URI (the cRLDistributionPoints extension, fullName URI).
    pub crl_distribution_point: Option<String>,
}

impl CertificateSpec {
    /// A CA certificate: CN `common_name`, O "mfa test PKI", C "US", serial 1, no path length
    /// limit.
    #[must_use]
    pub fn ca(common_name: &str, not_before: UnixTime, not_after: UnixTime) -> Self {
        Self {
            common_name: common_name.to_owned(),
            organization: Some("mfa test PKI".to_owned()),
            organizational_unit: None,
            country: Some("US".to_owned()),
            serial: 1,
            not_before,
            not_after,
            ca: true,
            path_len: None,
            aaguid: None,
            crl_distribution_point: None,
        }
    }

    /// An end-entity certificate: CN `common_name`, O "mfa test PKI", C "US", serial 1,
    /// `cA` false.
    #[must_use]
    pub fn leaf(common_name: &str, not_before: UnixTime, not_after: UnixTime) -> Self {
        Self {
            ca: false,
            ..Self::ca(common_name, not_before, not_after)
        }
    }

    /// A `packed` attestation certificate meeting [WebAuthn L3 §8.2.1]: C "US",
    /// O "mfa test authenticators", OU "Authenticator Attestation", CN "Test Packed
    /// Attestation", `cA` false, the AAGUID extension with `aaguid`; serial 1.
    ///
    /// [WebAuthn L3 §8.2.1]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation-cert-requirements
    #[must_use]
    pub fn packed_attestation(aaguid: [u8; 16], not_before: UnixTime, not_after: UnixTime) -> Self {
        Self {
            organization: Some("mfa test authenticators".to_owned()),
            organizational_unit: Some("Authenticator Attestation".to_owned()),
            aaguid: Some(aaguid),
            ..Self::leaf("Test Packed Attestation", not_before, not_after)
        }
    }

    /// The same spec with serial number `serial`.
    #[must_use]
    pub fn with_serial(self, serial: u64) -> Self {
        Self { serial, ..self }
    }

    /// The DER subject Name: C, O, OU, CN, one attribute per RDN, the absent ones left out.
    fn subject_der(&self) -> Vec<u8> {
        let attributes = [
            (OID_COUNTRY, self.country.as_deref(), TAG_PRINTABLE_STRING),
            (
                OID_ORGANIZATION,
                self.organization.as_deref(),
                TAG_UTF8_STRING,
            ),
            (
                OID_ORGANIZATIONAL_UNIT,
                self.organizational_unit.as_deref(),
                TAG_UTF8_STRING,
            ),
            (
                OID_COMMON_NAME,
                Some(self.common_name.as_str()),
                TAG_UTF8_STRING,
            ),
        ];
        let rdns: Vec<u8> = attributes
            .into_iter()
            .filter_map(|(attribute, value, tag)| {
                let value = value?;
                let atv = tlv(
                    TAG_SEQUENCE,
                    &[oid(attribute), tlv(tag, value.as_bytes())].concat(),
                );
                Some(tlv(TAG_SET, &atv))
            })
            .flatten()
            .collect();
        tlv(TAG_SEQUENCE, &rdns)
    }
}

/// A DER certificate with its private key, able to issue certificates and CRLs.
#[derive(Clone, Debug)]
pub struct TestCertificate {
    der: Vec<u8>,
    key: TestKey,
    subject: Vec<u8>,
    serial: u64,
}

impl TestCertificate {
    /// A self-signed certificate for `key` (a root when `spec.ca`).
    #[must_use]
    pub fn self_signed(spec: &CertificateSpec, key: TestKey) -> Self {
        Self::build(spec, key, None)
    }

    /// A certificate for `key` issued (signed) by this one. Nothing checks that this one is a
    /// CA or that the validity periods nest: tests may build broken chains on purpose.
    #[must_use]
    pub fn issue(&self, spec: &CertificateSpec, key: TestKey) -> Self {
        Self::build(spec, key, Some(self))
    }

    /// A certificate for `key` signed by `issuer`, or self-signed without one.
    fn build(spec: &CertificateSpec, key: TestKey, issuer: Option<&Self>) -> Self {
        let subject = spec.subject_der();
        let der = match issuer {
            Some(issuer) => {
                build_certificate(spec, &key, &issuer.subject, &issuer.key, Some(&issuer.key))
            }
            None => build_certificate(spec, &key, &subject, &key, None),
        };
        Self {
            der,
            key,
            subject,
            serial: spec.serial,
        }
    }

    /// The DER certificate.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate in PEM (`-----BEGIN CERTIFICATE-----`, base64 in 64-character lines,
    /// a final newline).
    #[must_use]
    pub fn pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// The certified key (with its private half).
    #[must_use]
    pub fn key(&self) -> &TestKey {
        &self.key
    }

    /// The serial number.
    #[must_use]
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The DER subject Name (the issuer Name of what this certificate issues).
    #[must_use]
    pub fn subject_der(&self) -> &[u8] {
        &self.subject
    }

    /// A DER X.509 v2 CRL ([RFC 5280 §5]) issued by this certificate's key: issuer this
    /// certificate's subject, `revoked` as (serial, revocation date) entries (the
    /// revokedCertificates field left out when empty), thisUpdate, nextUpdate, and the
    /// extensions authorityKeyIdentifier and cRLNumber (thisUpdate in seconds, so later
    /// CRLs get larger numbers).
    ///
    /// [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5
    #[must_use]
    pub fn crl(
        &self,
        revoked: &[(u64, UnixTime)],
        this_update: UnixTime,
        next_update: UnixTime,
    ) -> Vec<u8> {
        let mut tbs = Vec::new();
        tbs.extend(integer(&[1])); // v2
        tbs.extend(self.key.signature_algorithm_der());
        tbs.extend_from_slice(&self.subject);
        tbs.extend(time(this_update));
        tbs.extend(time(next_update));
        if !revoked.is_empty() {
            let entries: Vec<u8> = revoked
                .iter()
                .flat_map(|&(serial, date)| {
                    tlv(
                        TAG_SEQUENCE,
                        &[integer(&serial.to_be_bytes()), time(date)].concat(),
                    )
                })
                .collect();
            tbs.extend(tlv(TAG_SEQUENCE, &entries));
        }
        let extensions = [
            extension(
                OID_AUTHORITY_KEY_IDENTIFIER,
                false,
                &authority_key_identifier(&self.key),
            ),
            extension(
                OID_CRL_NUMBER,
                false,
                &integer(&this_update.as_secs().to_be_bytes()),
            ),
        ]
        .concat();
        tbs.extend(tlv(0xa0, &tlv(TAG_SEQUENCE, &extensions)));
        self.key.sign_structure(&tlv(TAG_SEQUENCE, &tbs))
    }
}

/// Encodes and signs a v3 certificate.
fn build_certificate(
    spec: &CertificateSpec,
    subject_key: &TestKey,
    issuer_name: &[u8],
    issuer_key: &TestKey,
    authority: Option<&TestKey>,
) -> Vec<u8> {
    let mut basic_constraints = Vec::new();
    if spec.ca {
        basic_constraints.extend(tlv(TAG_BOOLEAN, &[0xff]));
        if let Some(path_len) = spec.path_len {
            basic_constraints.extend(integer(&[path_len]));
        }
    }
    // KeyUsage BIT STRING: keyCertSign (5) + cRLSign (6), or digitalSignature (0).
    let key_usage = if spec.ca {
        [0x03, 0x02, 0x01, 0x06]
    } else {
        [0x03, 0x02, 0x07, 0x80]
    };
    let mut extensions = vec![
        extension(
            OID_BASIC_CONSTRAINTS,
            true,
            &tlv(TAG_SEQUENCE, &basic_constraints),
        ),
        extension(OID_KEY_USAGE, true, &key_usage),
        extension(
            OID_SUBJECT_KEY_IDENTIFIER,
            false,
            &tlv(TAG_OCTET_STRING, &subject_key.key_identifier),
        ),
    ];
    if let Some(authority) = authority {
        extensions.push(extension(
            OID_AUTHORITY_KEY_IDENTIFIER,
            false,
            &authority_key_identifier(authority),
        ));
    }
    if let Some(aaguid) = spec.aaguid {
        extensions.push(extension(
            OID_FIDO_GEN_CE_AAGUID,
            false,
            &tlv(TAG_OCTET_STRING, &aaguid),
        ));
    }
    if let Some(uri) = &spec.crl_distribution_point {
        // CRLDistributionPoints { DistributionPoint { [0] fullName [0] { [6] URI } } }
        let full_name = tlv(0xa0, &tlv(0xa0, &tlv(0x86, uri.as_bytes())));
        extensions.push(extension(
            OID_CRL_DISTRIBUTION_POINTS,
            false,
            &tlv(TAG_SEQUENCE, &tlv(TAG_SEQUENCE, &full_name)),
        ));
    }
    let validity = tlv(
        TAG_SEQUENCE,
        &[time(spec.not_before), time(spec.not_after)].concat(),
    );
    let tbs = tlv(
        TAG_SEQUENCE,
        &[
            tlv(0xa0, &integer(&[2])), // v3
            integer(&spec.serial.to_be_bytes()),
            issuer_key.signature_algorithm_der(),
            issuer_name.to_vec(),
            validity,
            spec.subject_der(),
            subject_key.spki.clone(),
            tlv(0xa3, &tlv(TAG_SEQUENCE, &extensions.concat())),
        ]
        .concat(),
    );
    issuer_key.sign_structure(&tbs)
}

/// AuthorityKeyIdentifier `SEQUENCE { [0] keyIdentifier }` for certificates `issuer` signs.
fn authority_key_identifier(issuer: &TestKey) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &tlv(0x80, &issuer.key_identifier))
}

// --- a two-level PKI -----------------------------------------------------------------------------

/// A root CA and an intermediate CA (both P-256), for chains `[leaf, intermediate]` that lead
/// to [`TestPki::root`].
#[derive(Clone, Debug)]
pub struct TestPki {
    /// The self-signed root: CN "Test Root", serial 1, valid `not_before..=not_after`.
    pub root: TestCertificate,
    /// The intermediate the root issued: CN "Test Intermediate", serial 2, path length 0,
    /// same validity.
    pub intermediate: TestCertificate,
    not_before: UnixTime,
    not_after: UnixTime,
}

impl TestPki {
    /// A fresh root and intermediate, both valid from `not_before` to `not_after`.
    #[must_use]
    pub fn new(rng: &mut impl CryptoRng, not_before: UnixTime, not_after: UnixTime) -> Self {
        let root = TestCertificate::self_signed(
            &CertificateSpec::ca("Test Root", not_before, not_after),
            TestKey::generate_p256(rng),
        );
        let intermediate = root.issue(
            &CertificateSpec {
                path_len: Some(0),
                ..CertificateSpec::ca("Test Intermediate", not_before, not_after).with_serial(2)
            },
            TestKey::generate_p256(rng),
        );
        Self {
            root,
            intermediate,
            not_before,
            not_after,
        }
    }

    /// A certificate for `key` issued by the intermediate.
    #[must_use]
    pub fn leaf(&self, spec: &CertificateSpec, key: TestKey) -> TestCertificate {
        self.intermediate.issue(spec, key)
    }

    /// The `x5c` array for `leaf`: `[leaf, intermediate]` (DER, leaf first, root left out as
    /// WebAuthn and JWS chains do).
    #[must_use]
    pub fn x5c(&self, leaf: &TestCertificate) -> Vec<Vec<u8>> {
        vec![leaf.der.clone(), self.intermediate.der.clone()]
    }

    /// A `packed` attestation for a [`SoftwareAuthenticator`](super::SoftwareAuthenticator):
    /// a fresh P-256 attestation key, a [`CertificateSpec::packed_attestation`] leaf for
    /// `aaguid` with a random serial and the PKI's validity, issued by the intermediate.
    /// Set the authenticator's [`aaguid`](super::SoftwareAuthenticator::aaguid) to the same
    /// value.
    #[must_use]
    pub fn packed_attestation(
        &self,
        rng: &mut impl CryptoRng,
        aaguid: [u8; 16],
    ) -> SoftwareAttestation {
        let spec = CertificateSpec::packed_attestation(aaguid, self.not_before, self.not_after)
            .with_serial(random_serial(rng));
        let leaf = self.leaf(&spec, TestKey::generate_p256(rng));
        SoftwareAttestation::packed(&leaf, &[&self.intermediate])
    }

    /// A `fido-u2f` attestation for a [`SoftwareAuthenticator`](super::SoftwareAuthenticator):
    /// a fresh P-256 attestation key and a leaf (CN "Test U2F Attestation", random serial, the
    /// PKI's validity) issued by the intermediate. `fido-u2f` carries that one certificate only,
    /// so validating it needs the intermediate as the trust anchor (or issue the leaf from
    /// [`TestPki::root`] yourself and use [`SoftwareAttestation::fido_u2f`]).
    #[must_use]
    pub fn fido_u2f_attestation(&self, rng: &mut impl CryptoRng) -> SoftwareAttestation {
        let spec = CertificateSpec::leaf("Test U2F Attestation", self.not_before, self.not_after)
            .with_serial(random_serial(rng));
        SoftwareAttestation::fido_u2f(&self.leaf(&spec, TestKey::generate_p256(rng)))
    }
}

/// A random serial number in `1..2^63`.
fn random_serial(rng: &mut impl CryptoRng) -> u64 {
    (rng.next_u64() >> 1).max(1)
}

// --- DER and PEM writing -------------------------------------------------------------------------

const TAG_BOOLEAN: u8 = 0x01;
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
const OID_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");

/// One DER TLV with a single-byte tag and a definite, minimal length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match u8::try_from(content.len()) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let len = content.len().to_be_bytes();
            let first = len.iter().position(|&b| b != 0).unwrap_or(len.len());
            let significant = len.get(first..).unwrap_or_default();
            let count = u8::try_from(significant.len()).unwrap_or(0);
            out.push(0x80 | count);
            out.extend_from_slice(significant);
        }
    }
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER from big-endian bytes (leading zeros dropped, one added when the top
/// bit is set).
fn integer(be_bytes: &[u8]) -> Vec<u8> {
    let first = be_bytes.iter().position(|&b| b != 0);
    let significant = first.and_then(|i| be_bytes.get(i..)).unwrap_or(&[0]);
    let mut content = Vec::with_capacity(significant.len().saturating_add(1));
    if significant.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(significant);
    tlv(TAG_INTEGER, &content)
}

fn oid(oid: ObjectIdentifier) -> Vec<u8> {
    tlv(TAG_OID, oid.as_bytes())
}

/// A BIT STRING of whole bytes.
fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(TAG_BIT_STRING, &[&[0u8][..], bytes].concat())
}

/// `Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING }`.
fn extension(id: ObjectIdentifier, critical: bool, value: &[u8]) -> Vec<u8> {
    let mut content = oid(id);
    if critical {
        content.extend(tlv(TAG_BOOLEAN, &[0xff]));
    }
    content.extend(tlv(TAG_OCTET_STRING, value));
    tlv(TAG_SEQUENCE, &content)
}

/// RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050 (§4.1.2.5); instants past
/// year 9999 become 99991231235959Z.
fn time(at: UnixTime) -> Vec<u8> {
    let t = DateTime::from_unix_duration(at.since_epoch()).unwrap_or(DateTime::INFINITY);
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        t.month(),
        t.day(),
        t.hour(),
        t.minutes(),
        t.seconds()
    );
    if t.year() < 2050 {
        let year = format!("{:02}", t.year() % 100);
        tlv(TAG_UTC_TIME, format!("{year}{rest}").as_bytes())
    } else {
        let year = format!("{:04}", t.year());
        tlv(TAG_GENERALIZED_TIME, format!("{year}{rest}").as_bytes())
    }
}

/// PEM with `label`, base64 in 64-character lines.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(core::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The subjectPublicKey BIT STRING's bytes (after the unused-bits byte) of a DER SPKI.
fn subject_public_key_bits(spki: &[u8]) -> Option<&[u8]> {
    use der::Decode as _;
    let info = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki).ok()?;
    info.subject_public_key.as_bytes()
}

fn sha1(bytes: &[u8]) -> [u8; 20] {
    use sha1::Digest as _;
    sha1::Sha1::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
