//! Metadata BLOBs built in code (feature `testing`): a signer with its own test root,
//! intermediate and leaf ([`MdsSigner`]), and a builder ([`BlobBuilder`]) that writes a
//! `MetadataBLOBPayload` ([FIDO MDS3 §3.1.6]) and signs it as a JWS the way the FIDO Metadata
//! Service does, with knobs to break each rule [`Metadata::from_blob`](crate::metadata::Metadata::from_blob)
//! enforces.
//!
//! ```
//! use mfa_core::UnixTime;
//! use mfa_webauthn::metadata::{BlobOptions, Metadata, MdsDate};
//! use mfa_webauthn::testing::mds::{BlobBuilder, MdsSigner, synthetic_entries};
//! use mfa_webauthn::testing::pki::JwsAlgorithm;
//!
//! let mut rng: rand::rngs::StdRng = rand::make_rng();
//! let (from, to) = (UnixTime::from_secs(1_700_000_000), UnixTime::from_secs(2_000_000_000));
//! let signer = MdsSigner::new(&mut rng, JwsAlgorithm::Es256, from, to);
//! let blob = BlobBuilder::new(7, MdsDate::new(2027, 1, 1).unwrap())
//!     .entries(synthetic_entries(3))
//!     .sign(&signer);
//! let options = BlobOptions::new(signer.root_der().to_vec(), UnixTime::from_secs(1_800_000_000));
//! let metadata = Metadata::from_blob(&blob, &options).unwrap();
//! assert_eq!((metadata.no(), metadata.entries().len()), (7, 3));
//! ```
//!
//! [FIDO MDS3 §3.1.6]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#metadata-blob-payload-dictionary

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mfa_core::{CryptoRng, UnixTime};
use serde_json::{Map, Value, json};

use super::pki::{CertificateSpec, JwsAlgorithm, TestCertificate, TestKey, TestPki};
use crate::metadata::{
    Aaguid, AuthenticatorStatus, MdsDate, MetadataEntry, MetadataStatement, StatusReport,
};

/// The BLOB signer of a test: a [`TestPki`] (P-256 root and intermediate) and a leaf the
/// intermediate issued (CN "Test MDS BLOB Signer", serial 3), with a P-256 key for ES256 or
/// the shared RSA-2048 test key for RS256 and PS256.
#[derive(Clone, Debug)]
pub struct MdsSigner {
    /// The root and intermediate.
    pub pki: TestPki,
    /// The signing certificate.
    pub leaf: TestCertificate,
    /// The JWS algorithm the BLOB is signed with.
    pub algorithm: JwsAlgorithm,
}

impl MdsSigner {
    /// A fresh PKI and signer, every certificate valid from `not_before` to `not_after`.
    #[must_use]
    pub fn new(
        rng: &mut impl CryptoRng,
        algorithm: JwsAlgorithm,
        not_before: UnixTime,
        not_after: UnixTime,
    ) -> Self {
        let pki = TestPki::new(rng, not_before, not_after);
        Self::with_pki(rng, pki, algorithm, not_before, not_after)
    }

    /// A signer under an existing PKI, its leaf valid from `not_before` to `not_after` (which
    /// may differ from the PKI's, to test an expired or not-yet-valid signer).
    #[must_use]
    pub fn with_pki(
        rng: &mut impl CryptoRng,
        pki: TestPki,
        algorithm: JwsAlgorithm,
        not_before: UnixTime,
        not_after: UnixTime,
    ) -> Self {
        let key = match algorithm {
            JwsAlgorithm::Es256 => TestKey::generate_p256(rng),
            JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256 => TestKey::shared_rsa2048(),
        };
        let spec =
            CertificateSpec::leaf("Test MDS BLOB Signer", not_before, not_after).with_serial(3);
        let leaf = pki.leaf(&spec, key);
        Self {
            pki,
            leaf,
            algorithm,
        }
    }

    /// The root certificate (DER), for [`BlobOptions::new`](crate::metadata::BlobOptions::new).
    #[must_use]
    pub fn root_der(&self) -> &[u8] {
        self.pki.root.der()
    }

    /// The `x5c` chain: `[leaf, intermediate]` (DER).
    #[must_use]
    pub fn x5c(&self) -> Vec<Vec<u8>> {
        self.pki.x5c(&self.leaf)
    }

    /// A CRL (DER) from the intermediate, listing `revoked_serials` (revoked at `this_update`),
    /// current from `this_update` to `next_update`. The signer's serial is
    /// [`leaf.serial()`](TestCertificate::serial).
    #[must_use]
    pub fn intermediate_crl(
        &self,
        revoked_serials: &[u64],
        this_update: UnixTime,
        next_update: UnixTime,
    ) -> Vec<u8> {
        let revoked: Vec<(u64, UnixTime)> = revoked_serials
            .iter()
            .map(|&serial| (serial, this_update))
            .collect();
        self.pki
            .intermediate
            .crl(&revoked, this_update, next_update)
    }
}

/// Writes a `MetadataBLOBPayload` and signs it as a compact JWS ([RFC 7515 §7.1]), header
/// `{"alg", "typ": "JWT", "x5c"}` like the production BLOB's. Every knob breaks one thing on
/// purpose.
///
/// [RFC 7515 §7.1]: https://www.rfc-editor.org/rfc/rfc7515#section-7.1
#[derive(Clone, Debug)]
#[must_use]
pub struct BlobBuilder {
    no: u64,
    next_update: MdsDate,
    legal_header: Option<String>,
    entries: Vec<MetadataEntry>,
    header_params: Map<String, Value>,
    x5c: Option<Option<Vec<Vec<u8>>>>,
    alg_name: Option<String>,
    raw_header: Option<Vec<u8>>,
    raw_payload: Option<Vec<u8>>,
}

impl BlobBuilder {
    /// A BLOB number `no`, next update on `next_update`, no entries, the MDS legal header.
    pub fn new(no: u64, next_update: MdsDate) -> Self {
        Self {
            no,
            next_update,
            legal_header: Some(
                "Retrieval and use of this BLOB indicates acceptance of the appropriate agreement \
                 located at https://fidoalliance.org/metadata/metadata-legal-terms/"
                    .to_owned(),
            ),
            entries: Vec::new(),
            header_params: Map::new(),
            x5c: None,
            alg_name: None,
            raw_header: None,
            raw_payload: None,
        }
    }

    /// The entries of the payload.
    pub fn entries(mut self, entries: Vec<MetadataEntry>) -> Self {
        self.entries = entries;
        self
    }

    /// The legal header (`None`: left out).
    pub fn legal_header(mut self, legal_header: Option<String>) -> Self {
        self.legal_header = legal_header;
        self
    }

    /// Adds (or replaces) a header parameter, e.g. `x5u`, `jku`, `crit`.
    pub fn header_param(mut self, name: &str, value: Value) -> Self {
        self.header_params.insert(name.to_owned(), value);
        self
    }

    /// Writes `alg` as `name` (e.g. `"none"`, `"HS256"`) while still signing with the signer's
    /// algorithm.
    pub fn alg_name(mut self, name: &str) -> Self {
        self.alg_name = Some(name.to_owned());
        self
    }

    /// Leaves `x5c` out of the header.
    pub fn without_x5c(mut self) -> Self {
        self.x5c = Some(None);
        self
    }

    /// Uses `chain` (DER, leaf first) as `x5c` instead of the signer's `[leaf, intermediate]`.
    pub fn x5c(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.x5c = Some(Some(chain));
        self
    }

    /// Uses these exact header bytes (before base64url) instead of the JSON header.
    pub fn raw_header(mut self, header: impl Into<Vec<u8>>) -> Self {
        self.raw_header = Some(header.into());
        self
    }

    /// Uses these exact payload bytes (before base64url) instead of the JSON payload.
    pub fn raw_payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.raw_payload = Some(payload.into());
        self
    }

    /// The payload JSON this builder writes (or the raw override).
    #[must_use]
    pub fn payload_json(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw_payload {
            return raw.clone();
        }
        let mut payload = Map::new();
        if let Some(legal_header) = &self.legal_header {
            payload.insert("legalHeader".to_owned(), json!(legal_header));
        }
        payload.insert("no".to_owned(), json!(self.no));
        payload.insert("nextUpdate".to_owned(), json!(self.next_update));
        payload.insert("entries".to_owned(), json!(self.entries));
        serde_json::to_vec(&payload).unwrap_or_default()
    }

    /// The header JSON this builder writes for `signer` (or the raw override).
    #[must_use]
    pub fn header_json(&self, signer: &MdsSigner) -> Vec<u8> {
        if let Some(raw) = &self.raw_header {
            return raw.clone();
        }
        let mut header = Map::new();
        let alg = self
            .alg_name
            .clone()
            .unwrap_or_else(|| signer.algorithm.name().to_owned());
        header.insert("alg".to_owned(), json!(alg));
        header.insert("typ".to_owned(), json!("JWT"));
        let x5c = match &self.x5c {
            None => Some(signer.x5c()),
            Some(chain) => chain.clone(),
        };
        if let Some(chain) = x5c {
            let encoded: Vec<String> = chain.iter().map(|der| STANDARD.encode(der)).collect();
            header.insert("x5c".to_owned(), json!(encoded));
        }
        header.extend(self.header_params.clone());
        serde_json::to_vec(&header).unwrap_or_default()
    }

    /// The BLOB: `base64url(header) '.' base64url(payload) '.' base64url(signature)`, signed
    /// by `signer`'s leaf key with its algorithm.
    #[must_use]
    pub fn sign(&self, signer: &MdsSigner) -> Vec<u8> {
        self.sign_with(signer, |input| {
            signer.leaf.key().sign(signer.algorithm, input)
        })
    }

    /// The BLOB with the signature `sign` makes over the signing input (for algorithms
    /// [`JwsAlgorithm`] lacks, such as RS512 with the signer's RSA key, or for a DER ECDSA
    /// signature where JWS wants raw `r ‖ s`); set [`alg_name`](Self::alg_name) to match.
    /// `signer` gives the `x5c` chain and the default `alg`.
    #[must_use]
    pub fn sign_with(&self, signer: &MdsSigner, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(self.header_json(signer)),
            URL_SAFE_NO_PAD.encode(self.payload_json())
        );
        let signature = sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)).into_bytes()
    }
}

/// The AAGUID of synthetic entry `index`: `00000000-0000-4000-` then `index` as 16 hexadecimal
/// digits.
#[must_use]
pub fn synthetic_aaguid(index: usize) -> Aaguid {
    let index = u64::try_from(index).unwrap_or(u64::MAX).to_be_bytes();
    let mut bytes = [0_u8; 16];
    let (high, low) = bytes.split_at_mut(8);
    high.copy_from_slice(&[0, 0, 0, 0, 0, 0, 0x40, 0]);
    low.copy_from_slice(&index);
    Aaguid(bytes)
}

/// `count` FIDO2 entries shaped like production ones (about 2 KB each: a description, an icon,
/// an attestation root, a `FIDO_CERTIFIED_L1` report), AAGUIDs from [`synthetic_aaguid`].
#[must_use]
pub fn synthetic_entries(count: usize) -> Vec<MetadataEntry> {
    let root = STANDARD.encode([0x30_u8; 600]);
    let icon = format!("data:image/png;base64,{}", STANDARD.encode([0x89_u8; 700]));
    let certified = MdsDate::new(2024, 5, 1);
    (0..count)
        .map(|index| {
            let aaguid = synthetic_aaguid(index);
            let statement = MetadataStatement {
                description: format!("Synthetic Authenticator {index}"),
                aaguid: Some(aaguid),
                authenticator_version: 5,
                protocol_family: "fido2".to_owned(),
                schema: 3,
                attestation_types: vec!["basic_full".to_owned()],
                key_protection: vec!["hardware".to_owned(), "secure_element".to_owned()],
                matcher_protection: vec!["on_chip".to_owned()],
                attachment_hint: vec!["external".to_owned(), "wired".to_owned()],
                attestation_root_certificates: vec![root.clone()],
                icon: Some(icon.clone()),
                ..MetadataStatement::default()
            };
            let report = StatusReport::new(AuthenticatorStatus::FidoCertifiedL1, certified);
            MetadataEntry::fido2(aaguid, statement, vec![report])
        })
        .collect()
}

/// Enough [`synthetic_entries`] for a payload of at least `target_len` bytes of JSON.
#[must_use]
pub fn synthetic_entries_of_size(target_len: usize) -> Vec<MetadataEntry> {
    let one = serde_json::to_vec(&synthetic_entries(1))
        .map(|json| json.len())
        .unwrap_or(1)
        .max(1);
    synthetic_entries(target_len.div_ceil(one).saturating_add(1))
}
