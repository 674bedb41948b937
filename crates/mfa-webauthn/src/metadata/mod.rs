//! Authenticator metadata from the FIDO Metadata Service ([FIDO MDS3]): the entries of a verified
//! metadata BLOB, indexed by AAGUID (FIDO2) and by attestation certificate key identifier (U2F).
//!
//! The library never fetches anything: the service downloads the BLOB (production:
//! `https://mds3.fidoalliance.org/`), verifies it against the root it trusts (production: the
//! GlobalSign Root CA - R3), keeps the `no` it had and fetches again after
//! [`Metadata::next_update`].
//!
//! [FIDO MDS3]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html

use core::fmt;
use core::str::FromStr;
use std::collections::HashMap;

use mfa_core::UnixTime;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use sha2::Digest as _;

mod blob;
pub use blob::{
    BlobOptions, MAX_BLOB_LEN, MAX_HEADER_LEN, MAX_PEM_BLOCKS, MAX_PEM_LEN, MAX_X5C_CERTIFICATES,
    certificates_from_pem, crls_from_pem, fuzz_metadata_blob,
};
pub mod names;
pub mod trust;

/// Most entries accepted in one BLOB (the production BLOB has a few thousand).
pub const MAX_ENTRIES: usize = 50_000;

/// Most status reports accepted for one entry.
pub const MAX_STATUS_REPORTS: usize = 256;

/// Most attestation root certificates accepted in one metadata statement.
pub const MAX_ROOT_CERTIFICATES: usize = 32;

/// The all-zero AAGUID: the authenticator does not disclose its model (U2F authenticators and
/// many `none` attestations).
pub const UNDISCLOSED_AAGUID: Aaguid = Aaguid([0; 16]);

/// `Serialize` as its `Display` text and `Deserialize` through its `FromStr`.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(de::Error::custom)
            }
        }
    };
}

// --- identifiers --------------------------------------------------------------------------------

/// An authenticator model's AAGUID ([WebAuthn L3 §6.5.2]), written as a UUID
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, read in either case, written in lower case).
///
/// [WebAuthn L3 §6.5.2]: https://www.w3.org/TR/webauthn-3/#aaguid
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aaguid(pub [u8; 16]);

impl Aaguid {
    /// Whether this is the all-zero AAGUID ("not disclosed").
    #[must_use]
    pub fn is_undisclosed(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Aaguid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Aaguid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aaguid({self})")
    }
}

impl FromStr for Aaguid {
    type Err = IdentifierError;

    fn from_str(text: &str) -> Result<Self, IdentifierError> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return Err(IdentifierError("an AAGUID is 36 characters"));
        }
        let mut out = [0_u8; 16];
        let mut digits = Vec::with_capacity(32);
        for (i, &c) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return Err(IdentifierError("an AAGUID has hyphens at 8, 13, 18 and 23"));
                }
            } else {
                digits.push(hex_value(c).ok_or(IdentifierError("an AAGUID is hexadecimal"))?);
            }
        }
        for (slot, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            if let [high, low] = pair {
                *slot = (high << 4) | low;
            }
        }
        Ok(Self(out))
    }
}

serde_as_text!(Aaguid);

/// An attestation certificate key identifier ([FIDO MDS3 §3.1.1], for U2F authenticators): the
/// SHA-1 of the certificate's `subjectPublicKey` bit string value (RFC 5280 §4.2.1.2 method 1),
/// written as 40 hexadecimal digits (read in either case, written in lower case).
///
/// [FIDO MDS3 §3.1.1]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#metadata-blob-payload-entry-dictionary
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyIdentifier(pub [u8; 20]);

impl KeyIdentifier {
    /// The key identifier of a DER certificate: SHA-1 over its `subjectPublicKey` bits.
    ///
    /// # Errors
    /// [`IdentifierError`] if `certificate_der` is not a certificate this library parses.
    pub fn of_certificate(certificate_der: &[u8]) -> Result<Self, IdentifierError> {
        let cert = crate::attestation::x509::Cert::parse(certificate_der)
            .map_err(|_| IdentifierError("not a DER X.509 certificate"))?;
        let key = cert
            .cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        Ok(Self(sha1::Sha1::digest(key).into()))
    }
}

impl fmt::Display for KeyIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for KeyIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIdentifier({self})")
    }
}

impl FromStr for KeyIdentifier {
    type Err = IdentifierError;

    fn from_str(text: &str) -> Result<Self, IdentifierError> {
        let bytes = text.as_bytes();
        if bytes.len() != 40 {
            return Err(IdentifierError("a key identifier is 40 hexadecimal digits"));
        }
        let mut out = [0_u8; 20];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let [high, low] = pair else {
                return Err(IdentifierError("a key identifier is 40 hexadecimal digits"));
            };
            let (Some(high), Some(low)) = (hex_value(*high), hex_value(*low)) else {
                return Err(IdentifierError("a key identifier is hexadecimal"));
            };
            *slot = (high << 4) | low;
        }
        Ok(Self(out))
    }
}

serde_as_text!(KeyIdentifier);

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Why an AAGUID or key identifier did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentifierError(&'static str);

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for IdentifierError {}

// --- dates --------------------------------------------------------------------------------------

/// A calendar date as MDS3 writes them (`YYYY-MM-DD`, ISO 8601), meaning 00:00 UTC that day.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MdsDate {
    year: u16,
    month: u8,
    day: u8,
}

impl MdsDate {
    /// The date `year-month-day`, if it exists (years 1970 to 9999).
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1970..=9999).contains(&year) && (1..=days_in_month).contains(&day)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// The UTC day that contains `time`.
    #[must_use]
    pub fn containing(time: UnixTime) -> Self {
        let days = i64::try_from(time.as_secs() / 86_400).unwrap_or(i64::MAX);
        // Civil-from-days (proleptic Gregorian), valid for every u64 seconds value we can reach.
        let z = days.saturating_add(719_468);
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: u16::try_from(year.clamp(1970, 9999)).unwrap_or(9999),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// 00:00:00 UTC on this date.
    #[must_use]
    pub fn start(&self) -> UnixTime {
        let (year, month, day) = (
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        // Days-from-civil (proleptic Gregorian).
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        UnixTime::from_secs(u64::try_from(days).unwrap_or(0).saturating_mul(86_400))
    }
}

impl fmt::Display for MdsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for MdsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MdsDate({self})")
    }
}

impl FromStr for MdsDate {
    type Err = IdentifierError;

    fn from_str(text: &str) -> Result<Self, IdentifierError> {
        const SHAPE: IdentifierError = IdentifierError("a date is YYYY-MM-DD");
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(SHAPE);
        }
        let number = |range: core::ops::Range<usize>| -> Result<u16, IdentifierError> {
            let digits = text.get(range).ok_or(SHAPE)?;
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SHAPE);
            }
            digits.parse().map_err(|_| SHAPE)
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        Self::new(
            year,
            u8::try_from(month).map_err(|_| SHAPE)?,
            u8::try_from(day).map_err(|_| SHAPE)?,
        )
        .ok_or(IdentifierError("no such date (or before 1970)"))
    }
}

serde_as_text!(MdsDate);

// --- statuses -----------------------------------------------------------------------------------

/// An authenticator status ([FIDO MDS3 §3.1.4] `AuthenticatorStatus`). Values this library does
/// not know are kept as [`Other`](Self::Other).
///
/// [FIDO MDS3 §3.1.4]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#authenticatorstatus-enum
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuthenticatorStatus {
    /// `NOT_FIDO_CERTIFIED`.
    NotFidoCertified,
    /// `FIDO_CERTIFIED` (functional certification, the level before L1 existed).
    FidoCertified,
    /// `USER_VERIFICATION_BYPASS`: malware can bypass user verification.
    UserVerificationBypass,
    /// `ATTESTATION_KEY_COMPROMISE`: an attestation key of this model has been compromised.
    AttestationKeyCompromise,
    /// `USER_KEY_REMOTE_COMPROMISE`: user keys can be extracted remotely.
    UserKeyRemoteCompromise,
    /// `USER_KEY_PHYSICAL_COMPROMISE`: user keys can be extracted with physical access.
    UserKeyPhysicalCompromise,
    /// `UPDATE_AVAILABLE`: a firmware update is available.
    UpdateAvailable,
    /// `REVOKED`: the FIDO Alliance revoked the certification or the model.
    Revoked,
    /// `SELF_ASSERTION_SUBMITTED`: the vendor submitted a self-assessment.
    SelfAssertionSubmitted,
    /// `FIDO_CERTIFIED_L1`.
    FidoCertifiedL1,
    /// `FIDO_CERTIFIED_L1plus`.
    FidoCertifiedL1Plus,
    /// `FIDO_CERTIFIED_L2`.
    FidoCertifiedL2,
    /// `FIDO_CERTIFIED_L2plus`.
    FidoCertifiedL2Plus,
    /// `FIDO_CERTIFIED_L3`.
    FidoCertifiedL3,
    /// `FIDO_CERTIFIED_L3plus`.
    FidoCertifiedL3Plus,
    /// A status this library does not know, as written.
    Other(String),
}

impl AuthenticatorStatus {
    const NAMES: [(&'static str, Self); 15] = [
        ("NOT_FIDO_CERTIFIED", Self::NotFidoCertified),
        ("FIDO_CERTIFIED", Self::FidoCertified),
        ("USER_VERIFICATION_BYPASS", Self::UserVerificationBypass),
        ("ATTESTATION_KEY_COMPROMISE", Self::AttestationKeyCompromise),
        ("USER_KEY_REMOTE_COMPROMISE", Self::UserKeyRemoteCompromise),
        (
            "USER_KEY_PHYSICAL_COMPROMISE",
            Self::UserKeyPhysicalCompromise,
        ),
        ("UPDATE_AVAILABLE", Self::UpdateAvailable),
        ("REVOKED", Self::Revoked),
        ("SELF_ASSERTION_SUBMITTED", Self::SelfAssertionSubmitted),
        ("FIDO_CERTIFIED_L1", Self::FidoCertifiedL1),
        ("FIDO_CERTIFIED_L1plus", Self::FidoCertifiedL1Plus),
        ("FIDO_CERTIFIED_L2", Self::FidoCertifiedL2),
        ("FIDO_CERTIFIED_L2plus", Self::FidoCertifiedL2Plus),
        ("FIDO_CERTIFIED_L3", Self::FidoCertifiedL3),
        ("FIDO_CERTIFIED_L3plus", Self::FidoCertifiedL3Plus),
    ];

    /// The status as MDS3 writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        if let Self::Other(name) = self {
            return name;
        }
        Self::NAMES
            .iter()
            .find(|(_, status)| status == self)
            .map_or("", |(name, _)| name)
    }

    /// The status for an MDS3 name (unknown names become [`Other`](Self::Other)).
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map_or_else(
                || Self::Other(name.to_owned()),
                |(_, status)| status.clone(),
            )
    }

    /// The certification level this status grants, if it is a certification status
    /// (`FIDO_CERTIFIED` counts as [`CertificationLevel::Functional`]).
    #[must_use]
    pub fn certification_level(&self) -> Option<CertificationLevel> {
        Some(match self {
            Self::FidoCertified => CertificationLevel::Functional,
            Self::FidoCertifiedL1 => CertificationLevel::L1,
            Self::FidoCertifiedL1Plus => CertificationLevel::L1Plus,
            Self::FidoCertifiedL2 => CertificationLevel::L2,
            Self::FidoCertifiedL2Plus => CertificationLevel::L2Plus,
            Self::FidoCertifiedL3 => CertificationLevel::L3,
            Self::FidoCertifiedL3Plus => CertificationLevel::L3Plus,
            _ => return None,
        })
    }
}

impl fmt::Display for AuthenticatorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuthenticatorStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthenticatorStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from_name(&text))
    }
}

/// FIDO certification levels, ordered ([FIDO MDS3 §3.1.4]): functional certification
/// (`FIDO_CERTIFIED`) below L1, L1 below L1+, and so on up to L3+.
///
/// [FIDO MDS3 §3.1.4]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#authenticatorstatus-enum
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CertificationLevel {
    /// `FIDO_CERTIFIED`: functional certification only.
    Functional,
    /// `FIDO_CERTIFIED_L1`.
    L1,
    /// `FIDO_CERTIFIED_L1plus`.
    L1Plus,
    /// `FIDO_CERTIFIED_L2`.
    L2,
    /// `FIDO_CERTIFIED_L2plus`.
    L2Plus,
    /// `FIDO_CERTIFIED_L3`.
    L3,
    /// `FIDO_CERTIFIED_L3plus`.
    L3Plus,
}

/// One status report of an entry ([FIDO MDS3 §3.1.3] `StatusReport`).
///
/// [FIDO MDS3 §3.1.3]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#statusreport-dictionary
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusReport {
    /// The status.
    pub status: AuthenticatorStatus,
    /// From when the status applies (`None`: it always has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<MdsDate>,
    /// The authenticator (firmware) version the report is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_version: Option<u64>,
    /// A certificate the status is about (e.g. a compromised attestation certificate), base64
    /// DER as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Where more information is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The certified product's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_descriptor: Option<String>,
    /// The certificate number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_number: Option<String>,
    /// The certification policy version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_policy_version: Option<String>,
    /// The certification requirements version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_requirements_version: Option<String>,
}

impl StatusReport {
    /// A report of `status` effective from `effective_date` (other fields empty).
    #[must_use]
    pub fn new(status: AuthenticatorStatus, effective_date: Option<MdsDate>) -> Self {
        Self {
            status,
            effective_date,
            authenticator_version: None,
            certificate: None,
            url: None,
            certification_descriptor: None,
            certificate_number: None,
            certification_policy_version: None,
            certification_requirements_version: None,
        }
    }

    /// Whether the report applies at `at`: it has no effective date, or its date has begun.
    #[must_use]
    pub fn is_effective_at(&self, at: UnixTime) -> bool {
        self.effective_date.is_none_or(|date| date.start() <= at)
    }
}

// --- statements and entries ---------------------------------------------------------------------

/// The parts of a metadata statement ([FIDO Metadata Statement §4]) this library uses; other
/// members are ignored.
///
/// [FIDO Metadata Statement §4]: https://fidoalliance.org/specs/mds/fido-metadata-statement-v3.0-ps-20210518.html#metadata-keys
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MetadataStatement {
    /// The model's description in English, e.g. "YubiKey 5 Series with NFC".
    #[serde(default)]
    pub description: String,
    /// Descriptions in other languages, by IETF language tag.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub alternative_descriptions: HashMap<String, String>,
    /// The FIDO2 AAGUID, if a FIDO2 authenticator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<Aaguid>,
    /// The U2F attestation certificate key identifiers, if a U2F authenticator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_certificate_key_identifiers: Vec<KeyIdentifier>,
    /// The firmware version the statement describes.
    #[serde(default)]
    pub authenticator_version: u64,
    /// `uaf`, `u2f` or `fido2`.
    #[serde(default)]
    pub protocol_family: String,
    /// The statement schema version (3 for MDS3).
    #[serde(default)]
    pub schema: u64,
    /// Attestation types the model produces: `basic_full`, `basic_surrogate`, `ecdaa`, `attca`,
    /// `anonca`, `none` ([FIDO Registry §3.6.3]).
    ///
    /// [FIDO Registry §3.6.3]: https://fidoalliance.org/specs/common-specs/fido-registry-v2.2-ps-20220523.html#authenticator-attestation-types
    #[serde(default)]
    pub attestation_types: Vec<String>,
    /// How keys are protected: `software`, `hardware`, `tee`, `secure_element`, `remote_handle`
    /// ([FIDO Registry §3.2]).
    ///
    /// [FIDO Registry §3.2]: https://fidoalliance.org/specs/common-specs/fido-registry-v2.2-ps-20220523.html#key-protection-types
    #[serde(default)]
    pub key_protection: Vec<String>,
    /// How the matcher (PIN/biometric) is protected: `software`, `tee`, `on_chip`.
    #[serde(default)]
    pub matcher_protection: Vec<String>,
    /// How the authenticator attaches: `internal`, `external`, `wired`, `wireless`, `nfc`, …
    #[serde(default)]
    pub attachment_hint: Vec<String>,
    /// Trust anchors for the model's attestation certificates: base64 (not base64url) DER.
    #[serde(default)]
    pub attestation_root_certificates: Vec<String>,
    /// The model's icon, a `data:` URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
}

impl MetadataStatement {
    /// Whether the statement lists `name` among its attestation types.
    #[must_use]
    pub fn lists_attestation_type(&self, name: &str) -> bool {
        self.attestation_types.iter().any(|listed| listed == name)
    }

    /// The attestation root certificates, decoded (base64 with or without padding).
    ///
    /// # Errors
    /// [`MetadataError::InvalidEntry`] if one is not base64 or there are more than
    /// [`MAX_ROOT_CERTIFICATES`].
    pub fn root_certificates_der(&self) -> Result<Vec<Vec<u8>>, MetadataError> {
        use base64::Engine as _;
        if self.attestation_root_certificates.len() > MAX_ROOT_CERTIFICATES {
            return Err(MetadataError::InvalidEntry(
                "too many attestation root certificates".to_owned(),
            ));
        }
        self.attestation_root_certificates
            .iter()
            .map(|text| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text.trim_end_matches('='))
                    .map_err(|_| {
                        MetadataError::InvalidEntry(
                            "attestation root certificate is not base64".to_owned(),
                        )
                    })
            })
            .collect()
    }
}

/// One entry of a metadata BLOB ([FIDO MDS3 §3.1.1] `MetadataBLOBPayloadEntry`): an
/// authenticator model, its statement and its status reports.
///
/// [FIDO MDS3 §3.1.1]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#metadata-blob-payload-entry-dictionary
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MetadataEntry {
    /// The UAF AAID, for UAF authenticators (not used by WebAuthn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaid: Option<String>,
    /// The FIDO2 AAGUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<Aaguid>,
    /// U2F attestation certificate key identifiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_certificate_key_identifiers: Vec<KeyIdentifier>,
    /// The metadata statement, if the entry has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_statement: Option<MetadataStatement>,
    /// Status reports, oldest first as published.
    #[serde(default)]
    pub status_reports: Vec<StatusReport>,
    /// When a status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_of_last_status_change: Option<MdsDate>,
}

impl MetadataEntry {
    /// An entry for a FIDO2 model (no U2F key identifiers).
    #[must_use]
    pub fn fido2(
        aaguid: Aaguid,
        statement: MetadataStatement,
        status_reports: Vec<StatusReport>,
    ) -> Self {
        Self {
            aaid: None,
            aaguid: Some(aaguid),
            attestation_certificate_key_identifiers: Vec::new(),
            metadata_statement: Some(statement),
            status_reports,
            time_of_last_status_change: None,
        }
    }

    /// An entry for a U2F model, found by its attestation certificates' key identifiers.
    #[must_use]
    pub fn u2f(
        key_identifiers: Vec<KeyIdentifier>,
        statement: MetadataStatement,
        status_reports: Vec<StatusReport>,
    ) -> Self {
        Self {
            aaid: None,
            aaguid: None,
            attestation_certificate_key_identifiers: key_identifiers,
            metadata_statement: Some(statement),
            status_reports,
            time_of_last_status_change: None,
        }
    }

    /// The description of the statement, if it has one that is not empty.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.metadata_statement
            .as_ref()
            .map(|statement| statement.description.as_str())
            .filter(|text| !text.is_empty())
    }

    /// The reports that apply at `at`, in published order.
    pub fn effective_reports(&self, at: UnixTime) -> impl Iterator<Item = &StatusReport> {
        self.status_reports
            .iter()
            .filter(move |report| report.is_effective_at(at))
    }

    /// The highest certification level among the reports effective at `at`, unless a later
    /// effective `NOT_FIDO_CERTIFIED` or `REVOKED` report withdrew it (reports are ordered by
    /// effective date, then as published).
    #[must_use]
    pub fn certification_level(&self, at: UnixTime) -> Option<CertificationLevel> {
        let mut reports: Vec<&StatusReport> = self.effective_reports(at).collect();
        reports.sort_by_key(|report| report.effective_date);
        let mut level = None;
        for report in reports {
            match &report.status {
                AuthenticatorStatus::NotFidoCertified | AuthenticatorStatus::Revoked => {
                    level = None;
                }
                status => {
                    if let Some(granted) = status.certification_level() {
                        level = level.max(Some(granted));
                    }
                }
            }
        }
        level
    }
}

// --- the index ----------------------------------------------------------------------------------

/// Verified authenticator metadata: the entries of one metadata BLOB with its serial number and
/// next-update date, indexed for lookups by AAGUID and by key identifier.
///
/// Build it from a downloaded BLOB ([`from_blob`](Self::from_blob), which checks the JWS
/// signature and its certificate chain), or from entries the service trusts by other means
/// ([`from_entries`](Self::from_entries)). When two entries claim the same AAGUID or key
/// identifier, the first one is found.
#[derive(Clone, Debug)]
pub struct Metadata {
    no: u64,
    next_update: MdsDate,
    legal_header: Option<String>,
    entries: Vec<MetadataEntry>,
    by_aaguid: HashMap<Aaguid, usize>,
    by_key_identifier: HashMap<KeyIdentifier, usize>,
}

impl Metadata {
    /// Indexes `entries` as BLOB number `no`, due for renewal on `next_update`.
    ///
    /// # Errors
    /// [`MetadataError::TooManyEntries`] over [`MAX_ENTRIES`];
    /// [`MetadataError::InvalidEntry`] for an entry with more than [`MAX_STATUS_REPORTS`]
    /// reports.
    pub fn from_entries(
        no: u64,
        next_update: MdsDate,
        entries: Vec<MetadataEntry>,
    ) -> Result<Self, MetadataError> {
        if entries.len() > MAX_ENTRIES {
            return Err(MetadataError::TooManyEntries);
        }
        let mut by_aaguid = HashMap::new();
        let mut by_key_identifier = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            if entry.status_reports.len() > MAX_STATUS_REPORTS {
                return Err(MetadataError::InvalidEntry(format!(
                    "entry {index} has more than {MAX_STATUS_REPORTS} status reports"
                )));
            }
            let statement = entry.metadata_statement.as_ref();
            let aaguids = entry
                .aaguid
                .iter()
                .chain(statement.and_then(|s| s.aaguid.as_ref()));
            for aaguid in aaguids {
                if !aaguid.is_undisclosed() {
                    by_aaguid.entry(*aaguid).or_insert(index);
                }
            }
            let key_identifiers = entry.attestation_certificate_key_identifiers.iter().chain(
                statement
                    .map(|s| s.attestation_certificate_key_identifiers.as_slice())
                    .unwrap_or_default(),
            );
            for key_identifier in key_identifiers {
                by_key_identifier.entry(*key_identifier).or_insert(index);
            }
        }
        Ok(Self {
            no,
            next_update,
            legal_header: None,
            entries,
            by_aaguid,
            by_key_identifier,
        })
    }

    /// Parses a BLOB's payload (the JSON inside the JWS) **without checking any signature**:
    /// for callers that verified it already, and for fuzzing. Use [`Metadata::from_blob`] for a
    /// downloaded BLOB.
    ///
    /// # Errors
    /// [`MetadataError::Malformed`] if it is not a `MetadataBLOBPayload`; the errors of
    /// [`from_entries`](Self::from_entries).
    pub fn from_payload_json(payload: &[u8]) -> Result<Self, MetadataError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            #[serde(default)]
            legal_header: Option<String>,
            no: u64,
            next_update: MdsDate,
            entries: Vec<MetadataEntry>,
        }
        let payload: Payload = serde_json::from_slice(payload)
            .map_err(|e| MetadataError::Malformed(format!("payload: {e}")))?;
        let mut metadata = Self::from_entries(payload.no, payload.next_update, payload.entries)?;
        metadata.legal_header = payload.legal_header;
        Ok(metadata)
    }

    /// The BLOB's serial number (`no`): a BLOB with a lower one than the last accepted must be
    /// refused.
    #[must_use]
    pub fn no(&self) -> u64 {
        self.no
    }

    /// When to fetch the next BLOB (`nextUpdate`).
    #[must_use]
    pub fn next_update(&self) -> MdsDate {
        self.next_update
    }

    /// Whether `at` is before [`next_update`](Self::next_update): this BLOB is the current one.
    #[must_use]
    pub fn is_current_at(&self, at: UnixTime) -> bool {
        at < self.next_update.start()
    }

    /// The BLOB's legal header, if any.
    #[must_use]
    pub fn legal_header(&self) -> Option<&str> {
        self.legal_header.as_deref()
    }

    /// Every entry, in BLOB order.
    #[must_use]
    pub fn entries(&self) -> &[MetadataEntry] {
        &self.entries
    }

    /// The entry for a FIDO2 AAGUID (never for the all-zero AAGUID).
    #[must_use]
    pub fn by_aaguid(&self, aaguid: &Aaguid) -> Option<&MetadataEntry> {
        self.by_aaguid
            .get(aaguid)
            .and_then(|&index| self.entries.get(index))
    }

    /// The entry for a U2F attestation certificate key identifier.
    #[must_use]
    pub fn by_key_identifier(&self, key_identifier: &KeyIdentifier) -> Option<&MetadataEntry> {
        self.by_key_identifier
            .get(key_identifier)
            .and_then(|&index| self.entries.get(index))
    }

    /// The entry describing an attested authenticator: by `aaguid` unless it is all zero, else
    /// by the key identifier of the attestation certificate (`x5c` leaf, DER), as MDS3
    /// prescribes for U2F.
    #[must_use]
    pub fn for_attestation(
        &self,
        aaguid: &Aaguid,
        leaf_certificate: Option<&[u8]>,
    ) -> Option<&MetadataEntry> {
        if !aaguid.is_undisclosed() {
            return self.by_aaguid(aaguid);
        }
        let key_identifier = KeyIdentifier::of_certificate(leaf_certificate?).ok()?;
        self.by_key_identifier(&key_identifier)
    }
}

// --- errors -------------------------------------------------------------------------------------

/// Why a metadata BLOB, or an entry of it, was refused. Nothing is kept from a refused BLOB.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataError {
    /// The input is larger than the limit.
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is not a JWS of a `MetadataBLOBPayload`, with the reason.
    Malformed(String),
    /// The JWS header names an algorithm this library does not accept.
    UnsupportedAlgorithm(String),
    /// The JWS header uses `x5u` (fetching a URL is refused) or lacks `x5c`.
    CertificateSource(&'static str),
    /// The JWS certificate chain does not lead to the given root at the given time (expired,
    /// wrong root, not a CA, revoked by a given CRL, …), with the reason.
    Untrusted(String),
    /// The JWS signature does not verify with the chain's leaf key.
    BadSignature,
    /// The BLOB's `no` is lower than the one accepted before.
    SerialRegressed {
        /// The `no` accepted before.
        previous: u64,
        /// The `no` of this BLOB.
        received: u64,
    },
    /// More entries than [`MAX_ENTRIES`].
    TooManyEntries,
    /// An entry breaks a rule, with the reason.
    InvalidEntry(String),
}

impl MetadataError {
    /// A stable `snake_case` kind for logs, metrics and the CLI.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::CertificateSource(_) => "certificate_source",
            Self::Untrusted(_) => "untrusted",
            Self::BadSignature => "bad_signature",
            Self::SerialRegressed { .. } => "serial_regressed",
            Self::TooManyEntries => "too_many_entries",
            Self::InvalidEntry(_) => "invalid_entry",
        }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, limit } => {
                write!(
                    f,
                    "metadata BLOB of {len} bytes is over the {limit}-byte limit"
                )
            }
            Self::Malformed(why) => write!(f, "malformed metadata BLOB: {why}"),
            Self::UnsupportedAlgorithm(alg) => {
                write!(f, "metadata BLOB signed with unsupported algorithm {alg:?}")
            }
            Self::CertificateSource(why) => write!(f, "metadata BLOB certificates: {why}"),
            Self::Untrusted(why) => write!(f, "metadata BLOB not trusted: {why}"),
            Self::BadSignature => f.write_str("metadata BLOB signature does not verify"),
            Self::SerialRegressed { previous, received } => write!(
                f,
                "metadata BLOB no {received} is lower than the {previous} accepted before"
            ),
            Self::TooManyEntries => {
                write!(f, "metadata BLOB has more than {MAX_ENTRIES} entries")
            }
            Self::InvalidEntry(why) => write!(f, "invalid metadata entry: {why}"),
        }
    }
}

impl std::error::Error for MetadataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_unix_time() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "2100-03-01",
            "9999-12-31",
        ] {
            let date: MdsDate = text.parse().unwrap();
            assert_eq!(date.to_string(), text);
            assert_eq!(MdsDate::containing(date.start()), date);
            let last_second = UnixTime::from_secs(date.start().as_secs() + 86_399);
            assert_eq!(MdsDate::containing(last_second), date);
        }
        // 2021-01-02 is 18,629 days after the epoch (counted by hand: 51 years, 13 leap days).
        let date: MdsDate = "2021-01-02".parse().unwrap();
        assert_eq!(date.start().as_secs(), (51 * 365 + 13 + 1) * 86_400);
    }

    #[test]
    fn impossible_dates_are_refused() {
        for text in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "1969-12-31",
            "2024-1-01",
            "+024-01-01",
        ] {
            assert!(text.parse::<MdsDate>().is_err(), "{text}");
        }
    }

    #[test]
    fn identifiers_parse_in_either_case_and_print_lower_case() {
        let aaguid: Aaguid = "CB69481E-8FF7-4039-93EC-0A2729A154A8".parse().unwrap();
        assert_eq!(aaguid.to_string(), "cb69481e-8ff7-4039-93ec-0a2729a154a8");
        assert!(
            "cb69481e8ff7403993ec0a2729a154a8"
                .parse::<Aaguid>()
                .is_err()
        );
        assert!(
            "cb69481e-8ff7-4039-93ec-0a2729a154ag"
                .parse::<Aaguid>()
                .is_err()
        );
        let key: KeyIdentifier = "923881FE2F214EE465484371AEB72E97F5A58E0A".parse().unwrap();
        assert_eq!(key.to_string(), "923881fe2f214ee465484371aeb72e97f5a58e0a");
        assert!("923881fe".parse::<KeyIdentifier>().is_err());
    }

    #[test]
    fn unknown_statuses_are_kept() {
        let status = AuthenticatorStatus::from_name("FIDO_CERTIFIED_L4");
        assert_eq!(
            status,
            AuthenticatorStatus::Other("FIDO_CERTIFIED_L4".into())
        );
        assert_eq!(status.as_str(), "FIDO_CERTIFIED_L4");
        assert_eq!(
            AuthenticatorStatus::from_name("REVOKED"),
            AuthenticatorStatus::Revoked
        );
    }
}
