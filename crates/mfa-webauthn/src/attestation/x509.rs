//! X.509 helpers for attestation certificates ([RFC 5280], [WebAuthn L3 §8]): parsing with limits,
//! extension lookup, a small bounds-checked DER reader for the WebAuthn-specific extensions, and
//! [`ChainTrust`], an [`AttestationTrust`] that validates `x5c` up to caller-supplied roots.
//!
//! [RFC 5280]: https://www.rfc-editor.org/rfc/rfc5280
//! [WebAuthn L3 §8]: https://www.w3.org/TR/webauthn-3/#sctn-defined-attestation-formats

use der::Decode as _;
use der::asn1::ObjectIdentifier;
use mfa_core::UnixTime;
use x509_cert::certificate::{CertificateInner, Profile, Version};
use x509_cert::crl::CertificateList;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use super::{AttestationError, AttestationTrust, VerifiedAttestation, invalid, malformed};
use crate::cose::CoseKey;
use crate::crypto::{
    PublicKeyMaterial, SignatureAlgorithm, SignatureError, verify_certificate_signature,
    verify_material,
};

/// Largest certificate accepted, in bytes.
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;

/// A certificate parsed leniently (no RFC 5280 profile checks on serial numbers and times, since
/// real attestation certificates break some of them), keeping its DER.
pub(crate) struct Cert<'a> {
    pub(crate) der: &'a [u8],
    pub(crate) cert: CertificateInner<Lenient>,
}

impl<'a> Cert<'a> {
    /// Parses a DER certificate.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, AttestationError> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(malformed("certificate too large"));
        }
        let cert = CertificateInner::<Lenient>::from_der(der)
            .map_err(|_| malformed("certificate is not valid DER X.509"))?;
        let this = Self { der, cert };
        // Each extension at most once (RFC 5280 §4.2).
        let exts = this.extensions();
        for (i, ext) in exts.iter().enumerate() {
            if exts
                .iter()
                .skip(i.saturating_add(1))
                .any(|other| other.extn_id == ext.extn_id)
            {
                return Err(malformed("certificate repeats an extension"));
            }
        }
        Ok(this)
    }

    fn extensions(&self) -> &[Extension] {
        self.cert
            .tbs_certificate()
            .extensions()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The extension with `oid`, if present.
    pub(crate) fn extension(&self, oid: ObjectIdentifier) -> Option<&Extension> {
        self.extensions().iter().find(|ext| ext.extn_id == oid)
    }

    /// Checks X.509 version 3.
    pub(crate) fn require_v3(&self) -> Result<(), AttestationError> {
        if self.cert.tbs_certificate().version() == Version::V3 {
            Ok(())
        } else {
            Err(invalid("attestation certificate is not X.509 version 3"))
        }
    }

    /// The subject public key, validated.
    pub(crate) fn public_key(&self) -> Result<PublicKeyMaterial, AttestationError> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|any| any.decode_as::<ObjectIdentifier>().ok());
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed("subject public key is not whole bytes"))?;
        PublicKeyMaterial::from_spki_parts(spki.algorithm.oid, curve, key)
            .map_err(|_| invalid("unsupported or invalid certificate public key"))
    }

    /// Verifies `signature` over `message` with this certificate's key.
    pub(crate) fn verify(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AttestationError> {
        let key = self.public_key()?;
        verify_material(&key, alg, message, signature).map_err(|e| match e {
            SignatureError::AlgorithmMismatch => {
                invalid("alg does not fit the attestation certificate key")
            }
            SignatureError::UnsupportedAlgorithm(id) => AttestationError::UnsupportedAlgorithm(id),
            _ => AttestationError::BadSignature,
        })
    }

    /// Checks the certificate's key is the credential public key.
    pub(crate) fn require_key(&self, key: &CoseKey) -> Result<(), AttestationError> {
        if self.public_key()? == *key.material() {
            Ok(())
        } else {
            Err(invalid(
                "credential public key does not match the certificate",
            ))
        }
    }

    /// Basic Constraints `cA` (false when the extension is absent).
    pub(crate) fn is_ca(&self) -> Result<bool, AttestationError> {
        let Some(ext) = self.extension(OID_BASIC_CONSTRAINTS) else {
            return Ok(false);
        };
        let mut seq = Der::new(ext.extn_value.as_bytes()).only(TAG_SEQUENCE)?;
        match seq.peek_tag() {
            Some(TAG_BOOLEAN) => {
                let value = seq.expect(TAG_BOOLEAN)?;
                match value {
                    [0x00] => Ok(false),
                    [0xff] => Ok(true),
                    _ => Err(malformed("basicConstraints cA is not a DER boolean")),
                }
            }
            _ => Ok(false),
        }
    }

    /// Checks the id-fido-gen-ce-aaguid extension, if present, is non-critical and equals
    /// `aaguid` ([WebAuthn L3 §8.2.1]).
    ///
    /// [WebAuthn L3 §8.2.1]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation-cert-requirements
    pub(crate) fn check_aaguid_extension(&self, aaguid: &[u8; 16]) -> Result<(), AttestationError> {
        let Some(ext) = self.extension(OID_FIDO_GEN_CE_AAGUID) else {
            return Ok(());
        };
        if ext.critical {
            return Err(invalid("id-fido-gen-ce-aaguid extension is critical"));
        }
        let value = Der::new(ext.extn_value.as_bytes()).only_value(TAG_OCTET_STRING)?;
        if value == aaguid {
            Ok(())
        } else {
            Err(invalid(
                "certificate AAGUID does not match authenticator data",
            ))
        }
    }

    /// The string values of the subject attributes with `oid`.
    pub(crate) fn subject_values(&self, oid: ObjectIdentifier) -> Vec<String> {
        self.cert
            .tbs_certificate()
            .subject()
            .iter()
            .filter(|atv| atv.oid == oid)
            .filter_map(|atv| {
                core::str::from_utf8(atv.value.value())
                    .ok()
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Whether the subject is an empty name.
    pub(crate) fn subject_is_empty(&self) -> bool {
        self.cert.tbs_certificate().subject().is_empty()
    }

    /// Whether `now` is within the validity period.
    fn valid_at(&self, now: UnixTime) -> bool {
        let validity = self.cert.tbs_certificate().validity();
        let now = now.since_epoch();
        validity.not_before.to_unix_duration() <= now
            && now <= validity.not_after.to_unix_duration()
    }

    /// The exact TBSCertificate bytes (first element of the outer SEQUENCE).
    fn tbs_bytes(&self) -> Result<&'a [u8], AttestationError> {
        signed_part(self.der)
    }

    /// Verifies this certificate's signature with `issuer`'s key.
    fn verify_issued_by(&self, issuer: &Cert<'_>) -> Result<(), AttestationError> {
        let signature = self
            .cert
            .signature()
            .as_bytes()
            .ok_or_else(|| malformed("certificate signature is not whole bytes"))?;
        verify_signed(
            self.tbs_bytes()?,
            self.cert.signature_algorithm().oid,
            signature,
            issuer,
        )
        .map_err(|_| AttestationError::Untrusted("certificate signature does not verify".into()))
    }
}

/// The first element of a signed DER structure (`SEQUENCE { tbs, algorithm, signature }`): the
/// exact bytes the signature covers.
fn signed_part(der: &[u8]) -> Result<&[u8], AttestationError> {
    let mut outer = Der::new(der).only(TAG_SEQUENCE)?;
    let tbs = outer
        .next()?
        .ok_or_else(|| malformed("signed structure without its signed part"))?;
    Ok(tbs.full)
}

/// Verifies an X.509 signature (algorithm `algorithm_oid`) over `tbs` with `issuer`'s key.
fn verify_signed(
    tbs: &[u8],
    algorithm_oid: ObjectIdentifier,
    signature: &[u8],
    issuer: &Cert<'_>,
) -> Result<(), AttestationError> {
    use crate::crypto::{CertHash, CertSignatureAlgorithm as C};
    let alg = match algorithm_oid {
        OID_ECDSA_SHA256 => C::Ecdsa(CertHash::Sha256),
        OID_ECDSA_SHA384 => C::Ecdsa(CertHash::Sha384),
        OID_ECDSA_SHA512 => C::Ecdsa(CertHash::Sha512),
        OID_RSA_SHA256 => C::RsaPkcs1(CertHash::Sha256),
        OID_RSA_SHA384 => C::RsaPkcs1(CertHash::Sha384),
        OID_RSA_SHA512 => C::RsaPkcs1(CertHash::Sha512),
        OID_ED25519_SIG => C::Ed25519,
        _ => {
            return Err(AttestationError::Untrusted(
                "unsupported certificate signature algorithm".into(),
            ));
        }
    };
    verify_certificate_signature(&issuer.public_key()?, alg, tbs, signature)
        .map_err(|_| AttestationError::Untrusted("signature does not verify".into()))
}

/// The RFC 5280 profile without its serial-number length check (some attestation certificates
/// carry long or odd serials) and without re-encoding times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Lenient;

impl Profile for Lenient {
    fn check_serial_number(_serial: &SerialNumber<Self>) -> der::Result<()> {
        Ok(())
    }

    fn time_encoding(time: Time) -> der::Result<Time> {
        Ok(time)
    }
}

// --- OIDs ----------------------------------------------------------------------------------------

pub(crate) const OID_BASIC_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.19");
pub(crate) const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub(crate) const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(crate) const OID_FIDO_GEN_CE_AAGUID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.45724.1.1.4");
pub(crate) const OID_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
pub(crate) const OID_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
pub(crate) const OID_ORGANIZATIONAL_UNIT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.4.11");
pub(crate) const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_ED25519_SIG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

// --- a small DER reader --------------------------------------------------------------------------

/// A DER tag: class (0 universal, 1 application, 2 context, 3 private), constructed bit, number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) class: u8,
    pub(crate) constructed: bool,
    pub(crate) number: u32,
}

pub(crate) const TAG_BOOLEAN: Tag = Tag::universal(1, false);
pub(crate) const TAG_INTEGER: Tag = Tag::universal(2, false);
pub(crate) const TAG_OCTET_STRING: Tag = Tag::universal(4, false);
pub(crate) const TAG_OID: Tag = Tag::universal(6, false);
pub(crate) const TAG_ENUMERATED: Tag = Tag::universal(10, false);
pub(crate) const TAG_SEQUENCE: Tag = Tag::universal(16, true);
pub(crate) const TAG_SET: Tag = Tag::universal(17, true);

impl Tag {
    const fn universal(number: u32, constructed: bool) -> Self {
        Self {
            class: 0,
            constructed,
            number,
        }
    }

    /// A constructed context-specific tag `[number]` (EXPLICIT tagging).
    pub(crate) const fn context(number: u32) -> Self {
        Self {
            class: 2,
            constructed: true,
            number,
        }
    }
}

/// One TLV: its tag, contents and the full encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: Tag,
    pub(crate) value: &'a [u8],
    pub(crate) full: &'a [u8],
}

/// Reads consecutive DER TLVs from a slice; definite lengths only, every access bounds-checked.
#[derive(Clone, Debug)]
pub(crate) struct Der<'a> {
    rest: &'a [u8],
}

fn der_err() -> AttestationError {
    malformed("bad DER in certificate extension")
}

impl<'a> Der<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn byte(&mut self) -> Result<u8, AttestationError> {
        let (&b, rest) = self.rest.split_first().ok_or_else(der_err)?;
        self.rest = rest;
        Ok(b)
    }

    fn peek_tag(&self) -> Option<Tag> {
        self.clone().read_tag().ok()
    }

    fn read_tag(&mut self) -> Result<Tag, AttestationError> {
        let first = self.byte()?;
        let class = first >> 6;
        let constructed = first & 0x20 != 0;
        let mut number = u32::from(first & 0x1f);
        if number == 0x1f {
            number = 0;
            for i in 0..5 {
                let b = self.byte()?;
                if i == 0 && b == 0x80 {
                    return Err(der_err()); // non-minimal
                }
                number = number
                    .checked_mul(128)
                    .and_then(|n| n.checked_add(u32::from(b & 0x7f)))
                    .ok_or_else(der_err)?;
                if b & 0x80 == 0 {
                    return Ok(Tag {
                        class,
                        constructed,
                        number,
                    });
                }
            }
            return Err(der_err());
        }
        Ok(Tag {
            class,
            constructed,
            number,
        })
    }

    fn read_len(&mut self) -> Result<usize, AttestationError> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(usize::from(first));
        }
        let count = first & 0x7f;
        if count == 0 || count > 4 {
            return Err(der_err()); // indefinite or absurd
        }
        let mut len = 0usize;
        for i in 0..count {
            let b = self.byte()?;
            if i == 0 && b == 0 {
                return Err(der_err()); // leading zero: not minimal
            }
            len = len
                .checked_mul(256)
                .and_then(|l| l.checked_add(usize::from(b)))
                .ok_or_else(der_err)?;
        }
        if len < 0x80 {
            return Err(der_err()); // long form for a short length: not DER
        }
        Ok(len)
    }

    /// The next TLV, or `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<Tlv<'a>>, AttestationError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let start = self.rest;
        let tag = self.read_tag()?;
        let len = self.read_len()?;
        let (value, rest) = self.rest.split_at_checked(len).ok_or_else(der_err)?;
        self.rest = rest;
        let used = start.len().checked_sub(rest.len()).ok_or_else(der_err)?;
        let full = start.get(..used).ok_or_else(der_err)?;
        Ok(Some(Tlv { tag, value, full }))
    }

    /// The next TLV, which must have `tag`; returns its contents.
    pub(crate) fn expect(&mut self, tag: Tag) -> Result<&'a [u8], AttestationError> {
        match self.next()? {
            Some(tlv) if tlv.tag == tag => Ok(tlv.value),
            _ => Err(der_err()),
        }
    }

    /// The whole input must be one TLV with `tag`; returns a reader over its contents.
    pub(crate) fn only(mut self, tag: Tag) -> Result<Der<'a>, AttestationError> {
        let value = self.expect(tag)?;
        if !self.is_empty() {
            return Err(der_err());
        }
        Ok(Der::new(value))
    }

    /// The whole input must be one TLV with `tag`; returns its contents.
    pub(crate) fn only_value(mut self, tag: Tag) -> Result<&'a [u8], AttestationError> {
        let value = self.expect(tag)?;
        if !self.is_empty() {
            return Err(der_err());
        }
        Ok(value)
    }
}

/// A DER INTEGER's contents as `i64`, if it fits.
pub(crate) fn der_integer(value: &[u8]) -> Result<i64, AttestationError> {
    if value.is_empty() || value.len() > 8 {
        return Err(der_err());
    }
    let negative = value.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    Ok(value
        .iter()
        .fold(init, |acc, &b| acc.wrapping_shl(8) | i64::from(b)))
}

// --- chain trust ---------------------------------------------------------------------------------

/// An [`AttestationTrust`] that validates the `x5c` chain up to one of a fixed set of root
/// certificates at the injected time ([WebAuthn L3 §7.1] step 24, [RFC 5280 §6] simplified):
/// every certificate, the root included, must be valid at `now`; each certificate must be signed
/// by the next one (the last by a root, or be a root itself); issuing certificates must be CAs.
/// Name chaining, path length, policies and revocation are not checked. Attestations without a
/// certificate chain (`none`, self attestation) are rejected.
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
/// [RFC 5280 §6]: https://www.rfc-editor.org/rfc/rfc5280#section-6
#[derive(Clone, Debug, Default)]
pub struct ChainTrust {
    roots: Vec<Vec<u8>>,
}

impl ChainTrust {
    /// Trusts chains ending at one of `roots` (DER certificates).
    #[must_use]
    pub fn new(roots: Vec<Vec<u8>>) -> Self {
        Self { roots }
    }

    fn check_chain(&self, chain: &[Vec<u8>], now: UnixTime) -> Result<(), AttestationError> {
        validate_chain(chain, &self.roots, now, None)
    }
}

/// Validates `chain` (DER, leaf first) up to one of `roots` at `now`, as [`ChainTrust`] documents:
/// every certificate valid at `now`, the root included; each signed by the next; issuers are CAs;
/// the last certificate is a root or is signed by one (the root may or may not end the chain).
/// With `revocation`, every certificate but the root is also checked against the supplied CRLs
/// ([`RevocationLists::check`]).
pub(crate) fn validate_chain(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: UnixTime,
    revocation: Option<&RevocationLists<'_>>,
) -> Result<(), AttestationError> {
    let untrusted = |why: &str| AttestationError::Untrusted(why.to_owned());
    let certs = chain
        .iter()
        .map(|der| Cert::parse(der))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(last) = certs.last() else {
        return Err(untrusted("no certificate chain"));
    };
    for (i, cert) in certs.iter().enumerate() {
        if !cert.valid_at(now) {
            return Err(untrusted("certificate not valid at this time"));
        }
        if let Some(issuer) = certs.get(i.saturating_add(1)) {
            if !issuer.is_ca()? {
                return Err(untrusted("issuing certificate is not a CA"));
            }
            cert.verify_issued_by(issuer)?;
        }
    }
    // The root that issued the last certificate; `None` when the chain ends with a root itself.
    let anchor = if roots.iter().any(|root| root.as_slice() == last.der) {
        None
    } else {
        let issuing_root = roots.iter().find_map(|root_der| {
            let root = Cert::parse(root_der).ok()?;
            (root.valid_at(now)
                && root.is_ca().unwrap_or(false)
                && last.verify_issued_by(&root).is_ok())
            .then_some(root)
        });
        Some(issuing_root.ok_or_else(|| untrusted("chain does not lead to a trusted root"))?)
    };
    if let Some(revocation) = revocation {
        for (i, cert) in certs.iter().enumerate() {
            let issuer = match (certs.get(i.saturating_add(1)), &anchor) {
                (Some(next), _) => next,
                (None, Some(root)) => root,
                // The chain ends with the root itself: a trust anchor is not revoked by a CRL.
                (None, None) => break,
            };
            revocation.check(cert, issuer, now)?;
        }
    }
    Ok(())
}

// --- certificate revocation lists ----------------------------------------------------------------

/// Largest CRL accepted, in bytes.
pub(crate) const MAX_CRL_LEN: usize = 8 * 1024 * 1024;

/// A parsed CRL ([RFC 5280 §5]), keeping its DER.
///
/// [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5
pub(crate) struct Crl<'a> {
    der: &'a [u8],
    crl: CertificateList<Lenient>,
}

impl<'a> Crl<'a> {
    /// Parses a DER CRL.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, AttestationError> {
        if der.len() > MAX_CRL_LEN {
            return Err(malformed("CRL too large"));
        }
        let crl = CertificateList::<Lenient>::from_der(der)
            .map_err(|_| malformed("CRL is not valid DER X.509"))?;
        Ok(Self { der, crl })
    }

    /// Verifies the CRL's signature with `issuer`'s key.
    fn verify_issued_by(&self, issuer: &Cert<'_>) -> Result<(), AttestationError> {
        let signature = self
            .crl
            .signature
            .as_bytes()
            .ok_or_else(|| malformed("CRL signature is not whole bytes"))?;
        verify_signed(
            signed_part(self.der)?,
            self.crl.signature_algorithm.oid,
            signature,
            issuer,
        )
    }

    /// Whether `now` is within `thisUpdate ..= nextUpdate` (a CRL without `nextUpdate` is never
    /// current: RFC 5280 §5.1.2.5 requires it).
    fn current_at(&self, now: UnixTime) -> bool {
        let tbs = &self.crl.tbs_cert_list;
        let now = now.since_epoch();
        tbs.this_update.to_unix_duration() <= now
            && tbs
                .next_update
                .is_some_and(|next| now <= next.to_unix_duration())
    }

    /// Whether the CRL, or one of its entries, has a critical extension (an issuing distribution
    /// point, a delta-CRL indicator, an indirect entry's certificate issuer …): this library
    /// processes none, so such a CRL cannot be used (RFC 5280 §5.2, §5.3).
    fn has_critical_extension(&self) -> bool {
        let tbs = &self.crl.tbs_cert_list;
        let critical = |exts: &Option<x509_cert::ext::Extensions>| {
            exts.as_ref()
                .is_some_and(|exts| exts.iter().any(|ext| ext.critical))
        };
        critical(&tbs.crl_extensions)
            || tbs
                .revoked_certificates
                .iter()
                .flatten()
                .any(|entry| critical(&entry.crl_entry_extensions))
    }

    /// Whether the CRL lists `serial`.
    fn lists(&self, serial: &[u8]) -> bool {
        self.crl
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .any(|entry| entry.serial_number.as_bytes() == serial)
    }
}

/// CRLs a chain is checked against, and whether every certificate must be covered by one.
pub(crate) struct RevocationLists<'a> {
    crls: Vec<Crl<'a>>,
    require: bool,
}

impl<'a> RevocationLists<'a> {
    /// Parses `crls` (DER); `require`: a certificate no CRL covers is refused.
    pub(crate) fn parse(crls: &'a [Vec<u8>], require: bool) -> Result<Self, AttestationError> {
        let crls = crls
            .iter()
            .map(|der| Crl::parse(der))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { crls, require })
    }

    /// Checks `cert` (issued by `issuer`) against the CRLs. A CRL counts for `cert` when its
    /// issuer name equals `cert`'s issuer name; such a CRL must be signed by `issuer`'s key, be
    /// current at `now` and use no critical extension, or the chain is refused; `cert`'s serial
    /// in it is refused as revoked. CRLs naming another issuer are ignored. A certificate no CRL
    /// counts for is accepted unless `require` is set.
    pub(crate) fn check(
        &self,
        cert: &Cert<'_>,
        issuer: &Cert<'_>,
        now: UnixTime,
    ) -> Result<(), AttestationError> {
        let untrusted = |why: &str| AttestationError::Untrusted(why.to_owned());
        let tbs = cert.cert.tbs_certificate();
        let mut covered = false;
        for crl in self
            .crls
            .iter()
            .filter(|crl| crl.crl.tbs_cert_list.issuer == *tbs.issuer())
        {
            crl.verify_issued_by(issuer).map_err(|_| {
                untrusted("a CRL naming a certificate's issuer is not signed by that issuer")
            })?;
            if !crl.current_at(now) {
                return Err(untrusted("a CRL for the chain is not current at this time"));
            }
            if crl.has_critical_extension() {
                return Err(untrusted(
                    "a CRL for the chain uses a critical extension this library does not process",
                ));
            }
            if crl.lists(tbs.serial_number().as_bytes()) {
                return Err(untrusted(
                    "a certificate of the chain is revoked by its issuer's CRL",
                ));
            }
            covered = true;
        }
        if self.require && !covered {
            return Err(untrusted(
                "no CRL was supplied for a certificate of the chain",
            ));
        }
        Ok(())
    }
}

impl AttestationTrust for ChainTrust {
    fn check(
        &self,
        attestation: &VerifiedAttestation,
        _aaguid: &[u8; 16],
        now: UnixTime,
    ) -> Result<(), AttestationError> {
        self.check_chain(&attestation.certificates, now)
    }
}
