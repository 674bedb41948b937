//! Verifying a downloaded metadata BLOB ([FIDO MDS3 §3.2]): a JWS in compact serialization
//! ([RFC 7515 §7.1]) whose `x5c` header carries the signing certificate chain.
//!
//! The checks run in this order, and nothing of the payload is read before the signature
//! verified:
//!
//! 1. the size ([`MAX_BLOB_LEN`]), then the shape: three base64url parts, a JSON object header;
//! 2. the header: `alg` must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384,
//!    ES512 (`none`, HMAC and everything else: [`MetadataError::UnsupportedAlgorithm`]); `x5u`,
//!    `jku` and `jwk` are refused ([`MetadataError::CertificateSource`]: the library fetches
//!    nothing and trusts no key the BLOB brings by itself), as is any `crit`
//!    ([`MetadataError::Malformed`]); `x5c` must hold 1 to [`MAX_X5C_CERTIFICATES`] base64 DER
//!    certificates, leaf first;
//! 3. the chain, at [`BlobOptions`]' time: every certificate valid then (the root included), each
//!    signed by the next, issuers CAs, ending at one of the given roots (which may or may not be
//!    the last `x5c` element); then the supplied CRLs ([`BlobOptions::with_crls`]);
//! 4. the JWS signature over `header '.' payload` (the base64url text, as sent) with the leaf's
//!    key (ECDSA signatures are the JWS raw `r ‖ s`, [RFC 7518 §3.4]);
//! 5. the payload (`MetadataBLOBPayload`, [`Metadata::from_payload_json`]) and its `no` against
//!    the one accepted before ([`BlobOptions::after`]).
//!
//! [FIDO MDS3 §3.2]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#metadata-blob-object-processing-rules
//! [RFC 7515 §7.1]: https://www.rfc-editor.org/rfc/rfc7515#section-7.1
//! [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use mfa_core::UnixTime;
use serde_json::{Map, Value};

use super::{Metadata, MetadataError};
use crate::attestation::AttestationError;
use crate::attestation::x509::{Cert, Crl, MAX_CERTIFICATE_LEN, RevocationLists, validate_chain};
use crate::crypto::{SignatureAlgorithm, verify_material};

/// Largest BLOB accepted, in bytes (the production BLOB is a few MB).
pub const MAX_BLOB_LEN: usize = 32 * 1024 * 1024;

/// Most certificates accepted in the `x5c` header.
pub const MAX_X5C_CERTIFICATES: usize = 8;

/// Largest encoded JWS header accepted, in bytes (room for [`MAX_X5C_CERTIFICATES`] large
/// certificates).
pub const MAX_HEADER_LEN: usize = 256 * 1024;

/// Largest input [`certificates_from_pem`] and [`crls_from_pem`] read, in bytes.
pub const MAX_PEM_LEN: usize = 16 * 1024 * 1024;

/// Most certificates or CRLs [`certificates_from_pem`] and [`crls_from_pem`] return.
pub const MAX_PEM_BLOCKS: usize = 64;

/// Base64 (standard alphabet) as `x5c` and PEM use it; padding optional.
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What [`Metadata::from_blob`] trusts and when: the root certificates, the time the chain must
/// be valid at, the CRLs to check it against, and the `no` of the BLOB accepted before.
///
/// ```
/// # use mfa_core::UnixTime;
/// # use mfa_webauthn::metadata::BlobOptions;
/// # let (root_der, crls, last_no) = (Vec::new(), Vec::new(), 41);
/// let options = BlobOptions::new(root_der, UnixTime::from_secs(1_800_000_000))
///     .with_crls(crls)
///     .after(last_no);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct BlobOptions {
    roots: Vec<Vec<u8>>,
    at: UnixTime,
    crls: Vec<Vec<u8>>,
    require_crls: bool,
    previous_no: Option<u64>,
}

impl BlobOptions {
    /// Trusts BLOBs whose `x5c` chain leads to `root_der` (a DER certificate; production: the
    /// GlobalSign Root CA - R3) at time `at`.
    pub fn new(root_der: Vec<u8>, at: UnixTime) -> Self {
        Self {
            roots: vec![root_der],
            at,
            crls: Vec::new(),
            require_crls: false,
            previous_no: None,
        }
    }

    /// Trusts one more root certificate (DER).
    pub fn with_root(mut self, root_der: Vec<u8>) -> Self {
        self.roots.push(root_der);
        self
    }

    /// Checks the chain against these CRLs (DER) too (added to any given before).
    ///
    /// A CRL counts for a certificate of the chain when its issuer name is the certificate's
    /// issuer name. Such a CRL must verify with the issuing certificate's key, be current at the
    /// options' time (`thisUpdate` ≤ time ≤ `nextUpdate`; a CRL without `nextUpdate` is never
    /// current) and use no critical extension, or the BLOB is refused
    /// ([`MetadataError::Untrusted`]); a certificate it lists is refused as revoked. CRLs naming
    /// another issuer are ignored, so a bundle of CRLs can be passed as is. A certificate no CRL
    /// counts for is accepted, unless [`require_crls`](Self::require_crls) was asked. The root
    /// itself is never checked against a CRL.
    pub fn with_crls(mut self, crls_der: Vec<Vec<u8>>) -> Self {
        self.crls.extend(crls_der);
        self
    }

    /// Refuses a chain with a certificate (other than the root) that no supplied CRL counts for.
    pub fn require_crls(mut self) -> Self {
        self.require_crls = true;
        self
    }

    /// Refuses a BLOB whose `no` is lower than `previous_no`, the one accepted before
    /// ([`MetadataError::SerialRegressed`]). An equal `no` is accepted: the same BLOB fetched
    /// again.
    pub fn after(mut self, previous_no: u64) -> Self {
        self.previous_no = Some(previous_no);
        self
    }

    /// The time the chain must be valid at.
    #[must_use]
    pub fn at(&self) -> UnixTime {
        self.at
    }
}

/// A JWS `alg` this library verifies: the signature algorithm, and for ECDSA the length of the
/// raw `r ‖ s` signature.
fn jws_algorithm(name: &str) -> Option<(SignatureAlgorithm, Option<usize>)> {
    use SignatureAlgorithm as A;
    Some(match name {
        "ES256" => (A::EcdsaP256Sha256, Some(64)),
        "ES384" => (A::EcdsaP384Sha384, Some(96)),
        "ES512" => (A::EcdsaP521Sha512, Some(132)),
        "RS256" => (A::RsaPkcs1Sha256, None),
        "RS384" => (A::RsaPkcs1Sha384, None),
        "RS512" => (A::RsaPkcs1Sha512, None),
        "PS256" => (A::RsaPssSha256, None),
        "PS384" => (A::RsaPssSha384, None),
        "PS512" => (A::RsaPssSha512, None),
        _ => return None,
    })
}

/// A JWS ECDSA signature (`r ‖ s`, each the curve's field length) as the ASN.1 DER
/// `Ecdsa-Sig-Value` the verifiers take; `None` if it is not one.
fn ecdsa_raw_to_der(algorithm: SignatureAlgorithm, raw: &[u8]) -> Option<Vec<u8>> {
    Some(match algorithm {
        SignatureAlgorithm::EcdsaP256Sha256 => p256::ecdsa::Signature::from_slice(raw)
            .ok()?
            .to_der()
            .as_bytes()
            .to_vec(),
        SignatureAlgorithm::EcdsaP384Sha384 => p384::ecdsa::Signature::from_slice(raw)
            .ok()?
            .to_der()
            .as_bytes()
            .to_vec(),
        SignatureAlgorithm::EcdsaP521Sha512 => p521::ecdsa::Signature::from_slice(raw)
            .ok()?
            .to_der()
            .as_bytes()
            .to_vec(),
        _ => return None,
    })
}

fn malformed(why: impl Into<String>) -> MetadataError {
    MetadataError::Malformed(why.into())
}

fn from_chain_error(error: AttestationError) -> MetadataError {
    match error {
        AttestationError::Malformed(why) => malformed(format!("x5c: {why}")),
        AttestationError::Untrusted(why) | AttestationError::Invalid(why) => {
            MetadataError::Untrusted(why)
        }
        other => MetadataError::Untrusted(other.to_string()),
    }
}

/// The checked JWS header: the algorithm and the `x5c` chain (DER, leaf first).
struct Header {
    algorithm: SignatureAlgorithm,
    raw_ecdsa_len: Option<usize>,
    chain: Vec<Vec<u8>>,
}

impl Header {
    fn parse(header_b64: &str) -> Result<Self, MetadataError> {
        if header_b64.len() > MAX_HEADER_LEN {
            return Err(malformed("JWS header too large"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| malformed("JWS header is not base64url"))?;
        let header: Map<String, Value> = serde_json::from_slice(&json)
            .map_err(|_| malformed("JWS header is not a JSON object"))?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg,
            Some(_) => return Err(malformed("JWS alg is not a string")),
            None => return Err(malformed("JWS header has no alg")),
        };
        let (algorithm, raw_ecdsa_len) =
            jws_algorithm(alg).ok_or_else(|| MetadataError::UnsupportedAlgorithm(alg.clone()))?;
        if header.contains_key("crit") {
            return Err(malformed(
                "JWS header has crit parameters, none are supported",
            ));
        }
        for (name, why) in [
            ("x5u", "x5u is refused: the library fetches no certificate"),
            ("jku", "jku is refused: the library fetches no key"),
            (
                "jwk",
                "jwk is refused: the key must come from a certificate chain",
            ),
        ] {
            if header.contains_key(name) {
                return Err(MetadataError::CertificateSource(why));
            }
        }
        let x5c = match header.get("x5c") {
            Some(Value::Array(x5c)) => x5c,
            Some(_) => return Err(malformed("x5c is not an array")),
            None => {
                return Err(MetadataError::CertificateSource(
                    "the JWS header has no x5c",
                ));
            }
        };
        if x5c.is_empty() {
            return Err(MetadataError::CertificateSource("x5c is empty"));
        }
        if x5c.len() > MAX_X5C_CERTIFICATES {
            return Err(MetadataError::CertificateSource(
                "x5c has more than 8 certificates",
            ));
        }
        let chain = x5c
            .iter()
            .map(|item| {
                let Value::String(text) = item else {
                    return Err(malformed("x5c holds something other than a string"));
                };
                let der = BASE64_STANDARD
                    .decode(text)
                    .map_err(|_| malformed("x5c certificate is not base64"))?;
                if der.len() > MAX_CERTIFICATE_LEN {
                    return Err(malformed("x5c certificate too large"));
                }
                Ok(der)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            algorithm,
            raw_ecdsa_len,
            chain,
        })
    }

    /// Verifies `signature` over `signing_input` with the leaf certificate's key.
    fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), MetadataError> {
        let leaf = self
            .chain
            .first()
            .ok_or(MetadataError::CertificateSource("x5c is empty"))?;
        let key = Cert::parse(leaf)
            .and_then(|cert| cert.public_key())
            .map_err(from_chain_error)?;
        let der_signature;
        let signature = match self.raw_ecdsa_len {
            Some(len) => {
                if signature.len() != len {
                    return Err(MetadataError::BadSignature);
                }
                der_signature = ecdsa_raw_to_der(self.algorithm, signature)
                    .ok_or(MetadataError::BadSignature)?;
                der_signature.as_slice()
            }
            None => signature,
        };
        verify_material(&key, self.algorithm, signing_input, signature)
            .map_err(|_| MetadataError::BadSignature)
    }
}

impl Metadata {
    /// Verifies a downloaded metadata BLOB ([FIDO MDS3 §3.2]) and indexes its entries: the
    /// size, the JWS shape and header, the `x5c` chain to one of `options`' roots at its time
    /// (and its CRLs), the signature with the leaf key, then the payload and its `no`, in that
    /// order. Nothing is kept from a refused BLOB.
    ///
    /// Schedule the next download at [`next_update`](Self::next_update), and pass this BLOB's
    /// [`no`](Self::no) to the next call's [`BlobOptions::after`].
    ///
    /// [FIDO MDS3 §3.2]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#metadata-blob-object-processing-rules
    ///
    /// # Errors
    /// [`MetadataError::TooLarge`] over [`MAX_BLOB_LEN`]; [`MetadataError::Malformed`] for a
    /// JWS, header or payload that does not parse (or uses `crit`);
    /// [`MetadataError::UnsupportedAlgorithm`] for an `alg` not listed above;
    /// [`MetadataError::CertificateSource`] for `x5u`, `jku`, `jwk`, or no (or too many) `x5c`
    /// certificates; [`MetadataError::Untrusted`] for a chain that does not lead to a root at
    /// the given time, is revoked, or is not covered by the CRLs as
    /// [`BlobOptions::with_crls`] describes; [`MetadataError::BadSignature`];
    /// [`MetadataError::SerialRegressed`]; and the errors of
    /// [`from_payload_json`](Self::from_payload_json).
    pub fn from_blob(blob: &[u8], options: &BlobOptions) -> Result<Metadata, MetadataError> {
        if blob.len() > MAX_BLOB_LEN {
            return Err(MetadataError::TooLarge {
                len: blob.len(),
                limit: MAX_BLOB_LEN,
            });
        }
        let text = core::str::from_utf8(blob)
            .map_err(|_| malformed("not a JWS compact serialization (not ASCII)"))?;
        // Tolerate the line break a file or an HTTP body may end with.
        let text = text.trim_end_matches(['\r', '\n']);
        let mut parts = text.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "not a JWS compact serialization (three parts separated by dots)",
            ));
        };
        let header = Header::parse(header_b64)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| malformed("JWS signature is not base64url"))?;

        let revocation = RevocationLists::parse(&options.crls, options.require_crls)
            .map_err(|e| MetadataError::Untrusted(format!("a supplied CRL is unusable: {e}")))?;
        validate_chain(&header.chain, &options.roots, options.at, Some(&revocation))
            .map_err(from_chain_error)?;

        let signed_len = header_b64
            .len()
            .checked_add(1)
            .and_then(|len| len.checked_add(payload_b64.len()))
            .ok_or_else(|| malformed("JWS too large"))?;
        let signing_input = text
            .as_bytes()
            .get(..signed_len)
            .ok_or_else(|| malformed("JWS too short"))?;
        header.verify(signing_input, &signature)?;

        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| malformed("JWS payload is not base64url"))?;
        let metadata = Self::from_payload_json(&payload)?;
        if let Some(previous) = options.previous_no
            && metadata.no() < previous
        {
            return Err(MetadataError::SerialRegressed {
                previous,
                received: metadata.no(),
            });
        }
        Ok(metadata)
    }
}

// --- PEM ----------------------------------------------------------------------------------------

/// The DER contents of every `-----BEGIN {label}-----` block of `text`, or `text` itself when it
/// has no PEM armor at all (one DER item).
fn pem_blocks(text: &[u8], label: &str) -> Result<Vec<Vec<u8>>, MetadataError> {
    if text.len() > MAX_PEM_LEN {
        return Err(MetadataError::TooLarge {
            len: text.len(),
            limit: MAX_PEM_LEN,
        });
    }
    let Ok(text) = core::str::from_utf8(text) else {
        // Not text: one DER item.
        return Ok(vec![text.to_vec()]);
    };
    if !text.contains("-----BEGIN ") {
        return Ok(vec![text.as_bytes().to_vec()]);
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after_begin = rest
            .get(start.saturating_add(begin.len())..)
            .unwrap_or_default();
        let Some(stop) = after_begin.find(&end) else {
            return Err(malformed(format!("PEM {label} block without its END line")));
        };
        let body: String = after_begin
            .get(..stop)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if blocks.len() >= MAX_PEM_BLOCKS {
            return Err(malformed(format!(
                "more than {MAX_PEM_BLOCKS} PEM {label} blocks"
            )));
        }
        blocks.push(
            BASE64_STANDARD
                .decode(body)
                .map_err(|_| malformed(format!("PEM {label} block is not base64")))?,
        );
        rest = after_begin
            .get(stop.saturating_add(end.len())..)
            .unwrap_or_default();
    }
    if blocks.is_empty() {
        return Err(malformed(format!("no PEM {label} block")));
    }
    Ok(blocks)
}

/// The DER certificates of PEM text: every `CERTIFICATE` block in order (other blocks are
/// skipped); input without any PEM armor is taken as one DER certificate. Each must parse as an
/// X.509 certificate, so a file that is not one is told apart from a BLOB that is refused.
///
/// # Errors
/// [`MetadataError::TooLarge`] over [`MAX_PEM_LEN`]; [`MetadataError::Malformed`] for armored
/// text without a `CERTIFICATE` block, a block that is not base64 or has no END line, more
/// than [`MAX_PEM_BLOCKS`] blocks, or one that is not a DER certificate.
pub fn certificates_from_pem(text: &[u8]) -> Result<Vec<Vec<u8>>, MetadataError> {
    let certificates = pem_blocks(text, "CERTIFICATE")?;
    for der in &certificates {
        Cert::parse(der)
            .map_err(|_| MetadataError::Malformed("not a DER X.509 certificate".to_owned()))?;
    }
    Ok(certificates)
}

/// The DER CRLs of PEM text: every `X509 CRL` block in order (other blocks are skipped); input
/// without any PEM armor is taken as one DER CRL.
///
/// # Errors
/// As [`certificates_from_pem`], for `X509 CRL` blocks, each of which must parse as a CRL.
pub fn crls_from_pem(text: &[u8]) -> Result<Vec<Vec<u8>>, MetadataError> {
    let crls = pem_blocks(text, "X509 CRL")?;
    for der in &crls {
        Crl::parse(der).map_err(|_| MetadataError::Malformed("not a DER X.509 CRL".to_owned()))?;
    }
    Ok(crls)
}

// --- fuzzing ------------------------------------------------------------------------------------

/// The production root (GlobalSign Root CA - R3, DER): a fixed root for the fuzz entry point.
const FUZZ_ROOT: &[u8] = include_bytes!("globalsign-root-r3.der");

/// Fuzz entry point: [`Metadata::from_blob`] (against a fixed root, at a fixed time, with and
/// without CRLs) and [`Metadata::from_payload_json`] on arbitrary bytes, and the PEM readers;
/// none may panic.
#[doc(hidden)]
pub fn fuzz_metadata_blob(data: &[u8]) {
    let at = UnixTime::from_secs(1_800_000_000);
    let options = BlobOptions::new(FUZZ_ROOT.to_vec(), at).after(1);
    let _ = Metadata::from_blob(data, &options);
    let _ = Metadata::from_blob(
        data,
        &options
            .clone()
            .with_crls(vec![data.to_vec()])
            .require_crls(),
    );
    let _ = Metadata::from_payload_json(data);
    let _ = certificates_from_pem(data);
    let _ = crls_from_pem(data);
}
