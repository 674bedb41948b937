//! Attestation statement verification ([WebAuthn L3 §8]): `none`, `packed`, `fido-u2f`, `tpm`,
//! `android-key`, `apple`.
//!
//! [`verify_attestation`] runs the verification procedure of the statement's format and returns
//! the attestation type and the `x5c` chain. Whether that chain leads to a root the relying party
//! trusts is a separate policy decision ([WebAuthn L3 §7.1] steps 23–24): pass an
//! [`AttestationTrust`] to [`verify_attestation_with_trust`] to make it; plain
//! [`verify_attestation`] accepts any chain and leaves the decision to the caller.
//!
//! [WebAuthn L3 §8]: https://www.w3.org/TR/webauthn-3/#sctn-defined-attestation-formats
//! [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential

use core::fmt;

use ciborium::Value;
use mfa_core::UnixTime;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::cose::CoseKey;
use crate::crypto::{SignatureAlgorithm, SignatureVerifier};
use crate::metadata::{Aaguid, AuthenticatorStatus, CertificationLevel, KeyIdentifier, MdsDate};

mod android_key;
mod apple;
mod fido_u2f;
mod none;
mod packed;
mod tpm;
pub mod x509;

/// Everything a format's verification procedure needs from the registration response
/// ([WebAuthn L3 §6.5]).
///
/// [WebAuthn L3 §6.5]: https://www.w3.org/TR/webauthn-3/#sctn-attestation
#[derive(Debug)]
pub struct AttestationInput<'a> {
    /// `fmt` from the attestation object.
    pub format: &'a str,
    /// `attStmt` from the attestation object.
    pub statement: &'a ciborium::Value,
    /// The raw authenticatorData bytes (signed by most formats).
    pub authenticator_data: &'a [u8],
    /// SHA-256 of the clientDataJSON bytes.
    pub client_data_hash: &'a [u8; 32],
    /// rpIdHash from the authenticator data.
    pub rp_id_hash: &'a [u8; 32],
    /// AAGUID from the attested credential data.
    pub aaguid: &'a [u8; 16],
    /// The credential id from the attested credential data.
    pub credential_id: &'a [u8],
    /// The credential public key from the attested credential data.
    pub credential_public_key: &'a CoseKey,
}

impl AttestationInput<'_> {
    /// `authenticatorData ‖ clientDataHash`, what most formats sign.
    fn signed_data(&self) -> Vec<u8> {
        signed_message(self.authenticator_data, self.client_data_hash)
    }
}

/// `authenticatorData ‖ clientDataHash`: what an assertion signature covers
/// ([WebAuthn L3 §7.2](https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion) step 21), and
/// what most attestation formats sign.
pub(crate) fn signed_message(authenticator_data: &[u8], client_data_hash: &[u8; 32]) -> Vec<u8> {
    let mut data = Vec::with_capacity(
        authenticator_data
            .len()
            .saturating_add(client_data_hash.len()),
    );
    data.extend_from_slice(authenticator_data);
    data.extend_from_slice(client_data_hash);
    data
}

/// The attestation statement format ([WebAuthn L3 §8], IANA "WebAuthn Attestation Statement
/// Format Identifiers").
///
/// [WebAuthn L3 §8]: https://www.w3.org/TR/webauthn-3/#sctn-defined-attestation-formats
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationFormat {
    /// `none`.
    None,
    /// `packed`.
    Packed,
    /// `fido-u2f`.
    FidoU2f,
    /// `tpm`.
    Tpm,
    /// `android-key`.
    AndroidKey,
    /// `apple`.
    Apple,
}

impl AttestationFormat {
    /// The format identifier as it appears in `fmt`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Packed => "packed",
            Self::FidoU2f => "fido-u2f",
            Self::Tpm => "tpm",
            Self::AndroidKey => "android-key",
            Self::Apple => "apple",
        }
    }

    /// The format for a `fmt` identifier, if supported.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "none" => Self::None,
            "packed" => Self::Packed,
            "fido-u2f" => Self::FidoU2f,
            "tpm" => Self::Tpm,
            "android-key" => Self::AndroidKey,
            "apple" => Self::Apple,
            _ => return None,
        })
    }
}

/// The attestation type ([WebAuthn L3 §6.5.4]) a verified statement establishes.
///
/// [WebAuthn L3 §6.5.4]: https://www.w3.org/TR/webauthn-3/#sctn-attestation-types
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationType {
    /// No attestation (`none`).
    None,
    /// Self attestation: signed by the credential key itself.
    SelfAttestation,
    /// Basic attestation with an attestation certificate.
    Basic,
    /// Attestation CA (TPM).
    AttCa,
    /// Anonymization CA (Apple).
    AnonCa,
}

/// A verified attestation statement ([WebAuthn L3 §6.5.4]): the format's verification procedure
/// succeeded. Trust in [`certificates`](Self::certificates) is a separate decision
/// ([`AttestationTrust`]).
///
/// [WebAuthn L3 §6.5.4]: https://www.w3.org/TR/webauthn-3/#sctn-attestation-types
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAttestation {
    /// The statement's format.
    pub format: AttestationFormat,
    /// The attestation type it establishes.
    pub attestation_type: AttestationType,
    /// The `x5c` certificates (DER, leaf first), for the caller's trust decision; empty if none.
    pub certificates: Vec<Vec<u8>>,
}

/// Options for attestation verification in a registration ([WebAuthn L3 §7.1] steps 21–24).
///
/// The default judges certificates at the ceremony's own `now` (the one given to
/// [`RegistrationState::verify`](crate::RegistrationState::verify) or
/// [`finish_registration`](crate::finish_registration)): what a live registration wants.
/// [`AttestationOptions::at`] judges them at another instant instead (a captured registration
/// verified later, test vectors pinned to a past date).
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttestationOptions {
    /// When an [`AttestationTrust`] judges certificate validity; `None` (the default): at the
    /// ceremony's `now`. Format verification itself does not look at validity periods, since
    /// some genuine chains, e.g. Apple's and Android's, are short-lived.
    pub validation_time: Option<UnixTime>,
}

impl AttestationOptions {
    /// Judge attestation certificates at `time` rather than at the ceremony's `now`.
    #[must_use]
    pub const fn at(time: UnixTime) -> Self {
        Self {
            validation_time: Some(time),
        }
    }
}

/// The relying party's trust decision over a verified attestation ([WebAuthn L3 §7.1] steps 23
/// and 24): for example, validate [`VerifiedAttestation::certificates`] up to roots from FIDO
/// metadata for the AAGUID, at `now`. One method, object-safe.
///
/// [`x509::ChainTrust`] is a ready-made implementation for a fixed set of root certificates.
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
pub trait AttestationTrust: Send + Sync + fmt::Debug {
    /// Accepts or rejects `attestation` of a credential whose authenticator reports `aaguid`.
    ///
    /// # Errors
    /// [`AttestationError::Untrusted`] (or another variant) to reject the attestation.
    fn check(
        &self,
        attestation: &VerifiedAttestation,
        aaguid: &[u8; 16],
        now: UnixTime,
    ) -> Result<(), AttestationError>;

    /// Accepts `attestation` with the reasons why, or rejects it: what registration calls
    /// ([`verify_attestation_and_decide`],
    /// [`RegistrationState::verify_with_trust`](crate::RegistrationState::verify_with_trust)).
    ///
    /// The provided method runs [`check`](Self::check) and, if it passes, returns a decision that
    /// says only which trust accepted it (its type name): no metadata, not hardware-backed.
    /// [`MetadataTrust`](crate::metadata::trust::MetadataTrust) overrides it with the matched
    /// metadata entry and the rules that passed.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    fn decide(
        &self,
        attestation: &VerifiedAttestation,
        aaguid: &[u8; 16],
        now: UnixTime,
    ) -> Result<TrustDecision, AttestationError> {
        self.check(attestation, aaguid, now)?;
        Ok(TrustDecision::accepted(format!(
            "accepted by {}",
            core::any::type_name::<Self>()
        )))
    }
}

/// Why an attestation was accepted ([`AttestationTrust::decide`]): the metadata entry that
/// vouched for it, if any, and what that lets the relying party conclude. Kept in
/// [`RegisteredCredential::trust`](crate::RegisteredCredential::trust); serializes to JSON for
/// logs and the CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TrustDecision {
    /// The metadata entry that matched the authenticator, if the trust consulted metadata and
    /// found one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataMatch>,
    /// The authenticator is not in the metadata and was accepted only because the trust is
    /// permissive ([`MetadataTrust::permissive`](crate::metadata::trust::MetadataTrust::permissive)).
    pub unknown_authenticator_permitted: bool,
    /// The attestation chain was validated to the metadata statement's roots and the statement
    /// says the model keeps keys in hardware (`hardware`, `tee` or `secure_element`, not
    /// `software`). Never true for `none` or self attestation, whose AAGUID no certificate
    /// vouches for.
    pub hardware_backed: bool,
    /// A one-line explanation for logs, e.g. `YubiKey 5 (aaguid …): basic_full chain to a
    /// metadata root, FIDO_CERTIFIED_L1 since 2021-01-02`.
    pub reason: String,
}

impl TrustDecision {
    /// An acceptance with `reason` and nothing else: no metadata, not hardware-backed. For
    /// [`AttestationTrust`] implementations outside this crate.
    #[must_use]
    pub fn accepted(reason: impl Into<String>) -> Self {
        Self {
            metadata: None,
            unknown_authenticator_permitted: false,
            hardware_backed: false,
            reason: reason.into(),
        }
    }

    /// The same decision, stating whether the authenticator keeps keys in hardware (only when
    /// the trust verified that claim).
    #[must_use]
    pub fn with_hardware_backed(mut self, yes: bool) -> Self {
        self.hardware_backed = yes;
        self
    }
}

/// The metadata entry ([FIDO MDS3 §3.1.1]) a [`TrustDecision`] rests on, as seen at the
/// decision's time.
///
/// [FIDO MDS3 §3.1.1]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#metadata-blob-payload-entry-dictionary
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MetadataMatch {
    /// The AAGUID the entry was found by (FIDO2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<Aaguid>,
    /// The attestation certificate key identifier the entry was found by (U2F).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_identifier: Option<KeyIdentifier>,
    /// The statement's description, e.g. "YubiKey 5 Series with NFC".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The attestation type as the statement names it (`basic_full`, `basic_surrogate`,
    /// `attca`, `anonca`, `none`).
    pub attestation_type: String,
    /// The certification level in force at the decision's time, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_level: Option<CertificationLevel>,
    /// The effective date of the report that granted that level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_since: Option<MdsDate>,
    /// The statuses of every report in force at the decision's time that applies to this
    /// attestation (a report about another certificate does not), in published order.
    pub statuses: Vec<AuthenticatorStatus>,
}

/// The permissive policy [`RegistrationState::verify`](crate::RegistrationState::verify) uses
/// (like plain [`verify_attestation`]): every verified attestation is accepted and
/// the chain is returned for the caller to judge ([WebAuthn L3 §7.1] step 24, "acceptable").
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAnyAttestation;

impl AttestationTrust for AcceptAnyAttestation {
    fn check(
        &self,
        _attestation: &VerifiedAttestation,
        _aaguid: &[u8; 16],
        _now: UnixTime,
    ) -> Result<(), AttestationError> {
        Ok(())
    }

    fn decide(
        &self,
        _attestation: &VerifiedAttestation,
        _aaguid: &[u8; 16],
        _now: UnixTime,
    ) -> Result<TrustDecision, AttestationError> {
        Ok(TrustDecision::accepted(
            "attestation accepted without a trust decision (AcceptAnyAttestation)",
        ))
    }
}

/// Verifies an attestation statement by its format's procedure ([WebAuthn L3 §8.2]–[§8.8]),
/// without a trust decision over the certificate chain (see [`verify_attestation_with_trust`]).
///
/// [WebAuthn L3 §8.2]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation
/// [§8.8]: https://www.w3.org/TR/webauthn-3/#sctn-apple-anonymous-attestation
///
/// Format verification reads no clock: certificate validity periods are part of the trust
/// decision.
///
/// # Errors
/// [`AttestationError`] if the statement is malformed, unsupported or does not verify.
pub fn verify_attestation(
    input: &AttestationInput<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<VerifiedAttestation, AttestationError> {
    let format = AttestationFormat::from_name(input.format)
        .ok_or_else(|| AttestationError::UnsupportedFormat(input.format.to_owned()))?;
    let statement = Statement::new(input.statement)?;
    match format {
        AttestationFormat::None => none::verify(&statement),
        AttestationFormat::Packed => packed::verify(input, &statement, verifier),
        AttestationFormat::FidoU2f => fido_u2f::verify(input, &statement),
        AttestationFormat::Tpm => tpm::verify(input, &statement),
        AttestationFormat::AndroidKey => android_key::verify(input, &statement),
        AttestationFormat::Apple => apple::verify(input, &statement),
    }
}

/// Verifies an attestation statement by its format's procedure ([`verify_attestation`]), then
/// asks `trust` whether the result is acceptable at `now` ([WebAuthn L3 §7.1] steps 21–24).
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
///
/// # Errors
/// [`AttestationError`] if the statement is malformed, unsupported, does not verify, or `trust`
/// rejects it.
pub fn verify_attestation_with_trust(
    input: &AttestationInput<'_>,
    verifier: &dyn SignatureVerifier,
    now: UnixTime,
    trust: &dyn AttestationTrust,
) -> Result<VerifiedAttestation, AttestationError> {
    verify_attestation_and_decide(input, verifier, now, trust).map(|(verified, _)| verified)
}

/// Like [`verify_attestation_with_trust`], also returning `trust`'s [`TrustDecision`] (which
/// entry vouched for the authenticator and why; [`AttestationTrust::decide`]).
///
/// # Errors
/// As [`verify_attestation_with_trust`].
pub fn verify_attestation_and_decide(
    input: &AttestationInput<'_>,
    verifier: &dyn SignatureVerifier,
    now: UnixTime,
    trust: &dyn AttestationTrust,
) -> Result<(VerifiedAttestation, TrustDecision), AttestationError> {
    let verified = verify_attestation(input, verifier)?;
    let decision = trust.decide(&verified, input.aaguid, now)?;
    Ok((verified, decision))
}

/// Why an attestation statement was not accepted ([WebAuthn L3 §8], [§7.1] steps 21–24).
///
/// [WebAuthn L3 §8]: https://www.w3.org/TR/webauthn-3/#sctn-defined-attestation-formats
/// [§7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttestationError {
    /// A `fmt` this library does not know.
    UnsupportedFormat(String),
    /// The statement is missing fields or has fields of the wrong type.
    Malformed(String),
    /// The attestation signature does not verify.
    BadSignature,
    /// The statement is well-formed but breaks a rule of its format (certificate requirements,
    /// nonce mismatch, key mismatch …).
    Invalid(String),
    /// The statement's algorithm is not supported.
    UnsupportedAlgorithm(i64),
    /// The statement verified, but the relying party's [`AttestationTrust`] rejected it.
    Untrusted(String),
}

impl fmt::Display for AttestationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedFormat(format) => {
                write!(f, "unsupported attestation format {format:?}")
            }
            Self::Malformed(why) => write!(f, "malformed attestation statement: {why}"),
            Self::BadSignature => f.write_str("attestation signature does not verify"),
            Self::Invalid(why) => write!(f, "attestation statement rejected: {why}"),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported attestation algorithm {id}"),
            Self::Untrusted(why) => write!(f, "attestation not trusted: {why}"),
        }
    }
}

impl std::error::Error for AttestationError {}

fn malformed(why: &str) -> AttestationError {
    AttestationError::Malformed(why.to_owned())
}

fn invalid(why: &str) -> AttestationError {
    AttestationError::Invalid(why.to_owned())
}

// --- attStmt access ------------------------------------------------------------------------------

/// Most certificates accepted in `x5c`.
const MAX_X5C_CERTS: usize = 8;

/// The `attStmt` map with text keys, each at most once.
struct Statement<'a> {
    entries: &'a [(Value, Value)],
}

impl<'a> Statement<'a> {
    fn new(value: &'a Value) -> Result<Self, AttestationError> {
        let Value::Map(entries) = value else {
            return Err(malformed("attStmt is not a map"));
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            if !matches!(key, Value::Text(_)) {
                return Err(malformed("attStmt key is not text"));
            }
            if entries
                .iter()
                .skip(i.saturating_add(1))
                .any(|(other, _)| other == key)
            {
                return Err(malformed("duplicate attStmt key"));
            }
        }
        Ok(Self { entries })
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Rejects keys outside `allowed`.
    fn only(&self, allowed: &[&str]) -> Result<(), AttestationError> {
        for (key, _) in self.entries {
            if let Value::Text(key) = key
                && !allowed.contains(&key.as_str())
            {
                return Err(AttestationError::Malformed(format!(
                    "unexpected attStmt key {key:?}"
                )));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|(key, _)| matches!(key, Value::Text(k) if k == name))
            .map(|(_, value)| value)
    }

    fn bytes(&self, name: &str) -> Result<&'a [u8], AttestationError> {
        match self.get(name) {
            Some(Value::Bytes(bytes)) => Ok(bytes),
            Some(_) => Err(AttestationError::Malformed(format!(
                "{name} is not a byte string"
            ))),
            None => Err(AttestationError::Malformed(format!("missing {name}"))),
        }
    }

    fn text(&self, name: &str) -> Result<&'a str, AttestationError> {
        match self.get(name) {
            Some(Value::Text(text)) => Ok(text),
            Some(_) => Err(AttestationError::Malformed(format!(
                "{name} is not a text string"
            ))),
            None => Err(AttestationError::Malformed(format!("missing {name}"))),
        }
    }

    /// `alg` as a COSE identifier.
    fn alg_id(&self) -> Result<i64, AttestationError> {
        match self.get("alg") {
            Some(Value::Integer(i)) => i64::try_from(*i).map_err(|_| malformed("alg out of range")),
            Some(_) => Err(malformed("alg is not an integer")),
            None => Err(malformed("missing alg")),
        }
    }

    /// `alg` as a supported signature algorithm.
    fn alg(&self) -> Result<SignatureAlgorithm, AttestationError> {
        let id = self.alg_id()?;
        SignatureAlgorithm::from_cose_id(id).ok_or(AttestationError::UnsupportedAlgorithm(id))
    }

    /// `x5c`, if present: a non-empty array of DER certificates, leaf first.
    fn x5c(&self) -> Result<Option<Vec<Vec<u8>>>, AttestationError> {
        let Some(value) = self.get("x5c") else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(malformed("x5c is not an array"));
        };
        if items.is_empty() || items.len() > MAX_X5C_CERTS {
            return Err(malformed("x5c must hold 1 to 8 certificates"));
        }
        items
            .iter()
            .map(|item| match item {
                Value::Bytes(der) => Ok(der.clone()),
                _ => Err(malformed("x5c element is not a byte string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The hash belonging to a signature algorithm (TPM `extraData`).
fn hash_for(alg: SignatureAlgorithm, data: &[u8]) -> Result<Vec<u8>, AttestationError> {
    use SignatureAlgorithm as A;
    Ok(match alg {
        A::RsaPkcs1Sha1 => sha1::Sha1::digest(data).to_vec(),
        A::EcdsaP256Sha256 | A::RsaPkcs1Sha256 | A::RsaPssSha256 => {
            sha2::Sha256::digest(data).to_vec()
        }
        A::EcdsaP384Sha384 | A::RsaPkcs1Sha384 | A::RsaPssSha384 => {
            sha2::Sha384::digest(data).to_vec()
        }
        A::EcdsaP521Sha512 | A::RsaPkcs1Sha512 | A::RsaPssSha512 => {
            sha2::Sha512::digest(data).to_vec()
        }
        other => return Err(AttestationError::UnsupportedAlgorithm(other.cose_id())),
    })
}

// --- fuzzing -------------------------------------------------------------------------------------

/// Largest attestation object the fuzz entry point looks at.
const FUZZ_MAX_OBJECT_LEN: usize = 64 * 1024;

#[doc(hidden)]
/// Fuzzing entry point: decodes `data` as a CBOR attestation object `{fmt, attStmt, authData}`
/// with limits, parses `authData` (with the ceremony side's parser), and runs
/// [`verify_attestation`] on whatever parses. Must never panic.
pub fn fuzz_attestation_object(data: &[u8]) {
    if data.len() > FUZZ_MAX_OBJECT_LEN {
        return;
    }
    let window = data;
    let limits = crate::cose::CborLimits {
        max_depth: 8,
        max_items: 512,
    };
    let Ok((Value::Map(entries), _)) = crate::cose::decode_cbor_prefix(window, limits) else {
        return;
    };
    let field = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == name))
            .map(|(_, v)| v)
    };
    let (Some(Value::Text(fmt)), Some(statement), Some(Value::Bytes(auth_data))) =
        (field("fmt"), field("attStmt"), field("authData"))
    else {
        return;
    };
    let Ok(parsed) = crate::authenticator_data::AuthenticatorData::parse(auth_data) else {
        return;
    };
    let Some(attested) = parsed.attested_credential_data.as_ref() else {
        return;
    };
    let (rp_id_hash, aaguid, credential_id, key) = (
        &parsed.rp_id_hash,
        &attested.aaguid,
        attested.credential_id.as_bytes(),
        &attested.public_key,
    );
    let client_data_hash: [u8; 32] = sha2::Sha256::digest(fmt.as_bytes()).into();
    let input = AttestationInput {
        format: fmt,
        statement,
        authenticator_data: auth_data,
        client_data_hash: &client_data_hash,
        rp_id_hash,
        aaguid,
        credential_id,
        credential_public_key: key,
    };
    let now = UnixTime::from_secs(1_700_000_000);
    let _ = verify_attestation(&input, &crate::crypto::RustCryptoVerifier);
    let chain = x509::ChainTrust::new(Vec::new());
    let _ = verify_attestation_with_trust(&input, &crate::crypto::RustCryptoVerifier, now, &chain);
}
