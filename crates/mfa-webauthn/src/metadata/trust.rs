//! [`MetadataTrust`]: an [`AttestationTrust`] that decides from FIDO metadata ([FIDO MDS3]
//! §3.1.1, [WebAuthn L3 §7.1] steps 23–24) whether an authenticator's attestation is trusted.
//!
//! For each registration, in this order (each refusal an [`AttestationError::Untrusted`] naming
//! the entry and the rule):
//!
//! 1. **Find the entry** ([`Metadata::for_attestation`]): by AAGUID, or, when the AAGUID is all
//!    zero (U2F), by the key identifier of the `x5c` leaf. Not found: refused, unless the trust
//!    is [`permissive`](MetadataTrust::permissive), which accepts it and says so
//!    ([`TrustDecision::unknown_authenticator_permitted`]). An entry without a metadata statement
//!    cannot vouch for anything and is refused.
//! 2. **Attestation type**: the statement must list the type the attestation established
//!    (`basic_full`, `basic_surrogate` for self attestation, `attca`, `anonca`, `none`).
//! 3. **Chain**: for types with certificates (`basic_full`, `attca`, `anonca`), the `x5c` chain
//!    must lead to one of the statement's `attestationRootCertificates`, every certificate valid
//!    at the decision's time ([`ChainTrust`]). An entry without roots cannot vouch for a chain.
//! 4. **Status reports** in force at that time (no `effectiveDate`, or one that has begun) whose
//!    status the [`StatusPolicy`] refuses. A report that names a `certificate` (say, one
//!    compromised batch attestation key) applies only when that certificate is in the
//!    attestation's chain.
//! 5. **Certification**: the level in force must reach the configured minimum
//!    ([`MetadataTrust::with_min_certification`]), if any.
//!
//! `none` and self attestation (`basic_surrogate`) carry no certificate, so nothing vouches for
//! the AAGUID they report: they are accepted only when the claimed model's statement lists that
//! type, never count as certified for a minimum level, and are never hardware-backed.
//!
//! [FIDO MDS3]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html
//! [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential

use core::fmt;
use std::sync::Arc;

use base64::Engine as _;
use mfa_core::UnixTime;

use super::{
    Aaguid, AuthenticatorStatus, CertificationLevel, KeyIdentifier, MdsDate, Metadata,
    MetadataEntry, MetadataStatement, StatusReport,
};
use crate::attestation::x509::ChainTrust;
use crate::attestation::{
    AttestationError, AttestationTrust, AttestationType, MetadataMatch, TrustDecision,
    VerifiedAttestation,
};

/// Which authenticator statuses ([FIDO MDS3 §3.1.4]) refuse a registration when a report with
/// that status is in force.
///
/// | status | default |
/// |---|---|
/// | `REVOKED` | refused |
/// | `ATTESTATION_KEY_COMPROMISE` | refused |
/// | `USER_VERIFICATION_BYPASS` | refused |
/// | `USER_KEY_REMOTE_COMPROMISE` | refused |
/// | `USER_KEY_PHYSICAL_COMPROMISE` | refused |
/// | `UPDATE_AVAILABLE`, `SELF_ASSERTION_SUBMITTED`, `NOT_FIDO_CERTIFIED`, `FIDO_CERTIFIED*`, statuses this library does not know | accepted |
///
/// Change it with [`refuse`](Self::refuse) and [`allow`](Self::allow). A refused report counts
/// even when a later report (say `UPDATE_AVAILABLE` or a new certification) follows it: MDS
/// reports concern firmware versions, and an attestation does not say which firmware the
/// authenticator runs. A future-dated report does not count until its `effectiveDate`.
/// Certification is judged separately ([`MetadataTrust::with_min_certification`]).
///
/// [FIDO MDS3 §3.1.4]: https://fidoalliance.org/specs/mds/fido-metadata-service-v3.0-ps-20210518.html#authenticatorstatus-enum
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusPolicy {
    refused: Vec<AuthenticatorStatus>,
}

impl Default for StatusPolicy {
    fn default() -> Self {
        Self {
            refused: vec![
                AuthenticatorStatus::Revoked,
                AuthenticatorStatus::AttestationKeyCompromise,
                AuthenticatorStatus::UserVerificationBypass,
                AuthenticatorStatus::UserKeyRemoteCompromise,
                AuthenticatorStatus::UserKeyPhysicalCompromise,
            ],
        }
    }
}

impl StatusPolicy {
    /// Also refuse `status`.
    #[must_use]
    pub fn refuse(mut self, status: AuthenticatorStatus) -> Self {
        if !self.refused.contains(&status) {
            self.refused.push(status);
        }
        self
    }

    /// Accept `status` (for example `USER_VERIFICATION_BYPASS` for a service that never relies
    /// on user verification).
    #[must_use]
    pub fn allow(mut self, status: AuthenticatorStatus) -> Self {
        self.refused.retain(|refused| *refused != status);
        self
    }

    /// Whether a report of `status` refuses a registration.
    #[must_use]
    pub fn refuses(&self, status: &AuthenticatorStatus) -> bool {
        self.refused.contains(status)
    }
}

/// An [`AttestationTrust`] backed by verified FIDO metadata: see the [module
/// documentation](self) for the rules and their order. Strict by default (unknown
/// authenticators refused), with the default [`StatusPolicy`] and no minimum certification.
///
/// Cheap to clone and share (`Arc<Metadata>`); build a new one when a new BLOB is verified.
///
/// ```
/// # use std::sync::Arc;
/// use mfa_webauthn::metadata::trust::{MetadataTrust, StatusPolicy};
/// use mfa_webauthn::metadata::{AuthenticatorStatus, CertificationLevel, Metadata};
///
/// # let metadata = Arc::new(Metadata::from_entries(1, "2030-01-01".parse()?, Vec::new())?);
/// let trust = MetadataTrust::new(metadata)
///     .with_min_certification(CertificationLevel::L1)
///     .with_status_policy(StatusPolicy::default().refuse(AuthenticatorStatus::UpdateAvailable));
/// // state.verify_with_trust(&response, now, &verifier, &options, &trust)?
/// # let _ = trust;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MetadataTrust {
    metadata: Arc<Metadata>,
    permissive: bool,
    status_policy: StatusPolicy,
    min_certification: Option<CertificationLevel>,
}

impl fmt::Debug for MetadataTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataTrust")
            .field("metadata_no", &self.metadata.no())
            .field("entries", &self.metadata.entries().len())
            .field("permissive", &self.permissive)
            .field("status_policy", &self.status_policy)
            .field("min_certification", &self.min_certification)
            .finish()
    }
}

impl MetadataTrust {
    /// Strict trust in `metadata`: unknown authenticators are refused.
    #[must_use]
    pub fn new(metadata: Arc<Metadata>) -> Self {
        Self {
            metadata,
            permissive: false,
            status_policy: StatusPolicy::default(),
            min_certification: None,
        }
    }

    /// Accept authenticators the metadata does not know, saying so in the decision
    /// ([`TrustDecision::unknown_authenticator_permitted`]). Known authenticators are still
    /// judged by every rule.
    #[must_use]
    pub fn permissive(mut self) -> Self {
        self.permissive = true;
        self
    }

    /// Judge status reports by `policy` instead of [`StatusPolicy::default`].
    #[must_use]
    pub fn with_status_policy(mut self, policy: StatusPolicy) -> Self {
        self.status_policy = policy;
        self
    }

    /// Require the certification level in force to be at least `level` (judged only for
    /// attestations whose chain was validated: a `none` or self attestation cannot prove which
    /// model it is, so it never meets a minimum).
    #[must_use]
    pub fn with_min_certification(mut self, level: CertificationLevel) -> Self {
        self.min_certification = Some(level);
        self
    }

    /// The metadata this trust decides from.
    #[must_use]
    pub fn metadata(&self) -> &Arc<Metadata> {
        &self.metadata
    }
}

impl AttestationTrust for MetadataTrust {
    fn check(
        &self,
        attestation: &VerifiedAttestation,
        aaguid: &[u8; 16],
        now: UnixTime,
    ) -> Result<(), AttestationError> {
        self.decide(attestation, aaguid, now).map(|_| ())
    }

    fn decide(
        &self,
        attestation: &VerifiedAttestation,
        aaguid: &[u8; 16],
        now: UnixTime,
    ) -> Result<TrustDecision, AttestationError> {
        let aaguid = Aaguid(*aaguid);
        let leaf = attestation.certificates.first().map(Vec::as_slice);

        // (a) The entry.
        let Some(entry) = self.metadata.for_attestation(&aaguid, leaf) else {
            let label = unknown_label(&aaguid, leaf);
            if !self.permissive {
                return Err(refused(format!(
                    "{label} is not in the metadata (strict trust refuses unknown authenticators)"
                )));
            }
            let mut decision = TrustDecision::accepted(format!(
                "{label} is not in the metadata; accepted because the trust is permissive"
            ));
            decision.unknown_authenticator_permitted = true;
            return Ok(decision);
        };
        let (found_aaguid, found_key) = if aaguid.is_undisclosed() {
            (
                None,
                leaf.and_then(|der| KeyIdentifier::of_certificate(der).ok()),
            )
        } else {
            (Some(aaguid), None)
        };
        let label = entry_label(entry, found_aaguid.as_ref(), found_key.as_ref());
        let Some(statement) = entry.metadata_statement.as_ref() else {
            return Err(refused(format!(
                "{label}: the entry has no metadata statement, so it cannot vouch for the attestation"
            )));
        };

        // (b) The attestation type must be one the statement lists.
        let type_name = metadata_type_name(attestation.attestation_type);
        if !statement.lists_attestation_type(type_name) {
            return Err(refused(format!(
                "{label}: {type_name} attestation is not among the statement's attestation types [{}]",
                statement.attestation_types.join(", ")
            )));
        }

        // (c) A chain to the statement's roots, for types with certificates.
        let chain_validated = has_certificates(attestation.attestation_type);
        if chain_validated {
            check_chain(statement, attestation, now)
                .map_err(|why| refused(format!("{label}: {why}")))?;
        }

        // (d) Status reports in force that apply to this attestation.
        let applicable: Vec<&StatusReport> = entry
            .effective_reports(now)
            .filter(|report| report_applies(report, &attestation.certificates))
            .collect();
        if let Some(report) = applicable
            .iter()
            .find(|report| self.status_policy.refuses(&report.status))
        {
            let since = report
                .effective_date
                .map_or_else(String::new, |date| format!(" since {date}"));
            let scope = if report.certificate.is_some() {
                " for this attestation certificate"
            } else {
                ""
            };
            return Err(refused(format!(
                "{label}: status {}{since}{scope}, which the status policy refuses",
                report.status
            )));
        }

        // (e) The certification level.
        let level = entry.certification_level(now);
        let since = level.and_then(|level| certified_since(entry, level, now));
        if let Some(minimum) = self.min_certification {
            if !chain_validated {
                return Err(refused(format!(
                    "{label}: a {type_name} attestation does not prove the model, so it cannot meet the minimum certification {minimum:?}"
                )));
            }
            if level.is_none_or(|level| level < minimum) {
                let held =
                    level.map_or_else(|| "no certification".to_owned(), |l| format!("{l:?}"));
                return Err(refused(format!(
                    "{label}: certification in force is {held}, below the minimum {minimum:?}"
                )));
            }
        }

        let hardware_backed = chain_validated && protects_keys_in_hardware(statement);
        let how = if chain_validated {
            format!("{type_name} chain to a metadata root")
        } else {
            format!(
                "{type_name} attestation listed by the statement (AAGUID not vouched for by a certificate)"
            )
        };
        let certification = match (level, &since) {
            (Some(_), Some((status, Some(date)))) => format!("{status} since {date}"),
            (Some(_), Some((status, None))) => status.to_string(),
            _ => "not FIDO certified".to_owned(),
        };
        let keys = if hardware_backed {
            ", keys in hardware"
        } else {
            ""
        };
        Ok(TrustDecision {
            metadata: Some(MetadataMatch {
                aaguid: found_aaguid,
                key_identifier: found_key,
                description: entry.description().map(str::to_owned),
                attestation_type: type_name.to_owned(),
                certification_level: level,
                certified_since: since.and_then(|(_, date)| date),
                statuses: applicable
                    .iter()
                    .map(|report| report.status.clone())
                    .collect(),
            }),
            unknown_authenticator_permitted: false,
            hardware_backed,
            reason: format!("{label}: {how}, {certification}{keys}"),
        })
    }
}

fn refused(why: String) -> AttestationError {
    AttestationError::Untrusted(why)
}

/// The attestation type as the FIDO Registry names it (§3.6.3).
fn metadata_type_name(attestation_type: AttestationType) -> &'static str {
    match attestation_type {
        AttestationType::Basic => "basic_full",
        AttestationType::SelfAttestation => "basic_surrogate",
        AttestationType::AttCa => "attca",
        AttestationType::AnonCa => "anonca",
        AttestationType::None => "none",
    }
}

/// Whether the type carries a certificate chain that can vouch for the model.
fn has_certificates(attestation_type: AttestationType) -> bool {
    matches!(
        attestation_type,
        AttestationType::Basic | AttestationType::AttCa | AttestationType::AnonCa
    )
}

fn check_chain(
    statement: &MetadataStatement,
    attestation: &VerifiedAttestation,
    now: UnixTime,
) -> Result<(), String> {
    if attestation.certificates.is_empty() {
        return Err("the attestation carries no certificate chain".to_owned());
    }
    let roots = statement
        .root_certificates_der()
        .map_err(|e| e.to_string())?;
    if roots.is_empty() {
        return Err(
            "the statement lists no attestation root certificates, so it cannot vouch for a chain"
                .to_owned(),
        );
    }
    ChainTrust::new(roots)
        .check(attestation, &[0; 16], now)
        .map_err(|e| {
            format!(
                "the x5c chain does not lead to the statement's attestation roots at {}: {e}",
                MdsDate::containing(now)
            )
        })
}

/// Whether a report concerns this attestation: every report does, except one naming a
/// certificate that is not in the chain. A named certificate that is not base64 applies to
/// every attestation (fail closed).
fn report_applies(report: &StatusReport, chain: &[Vec<u8>]) -> bool {
    let Some(named) = report.certificate.as_deref() else {
        return true;
    };
    let compact: String = named.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=')) {
        Ok(der) => chain.contains(&der),
        Err(_) => true,
    }
}

/// The status and date of the latest report in force granting `level`.
fn certified_since(
    entry: &MetadataEntry,
    level: CertificationLevel,
    now: UnixTime,
) -> Option<(AuthenticatorStatus, Option<MdsDate>)> {
    entry
        .effective_reports(now)
        .filter(|report| report.status.certification_level() == Some(level))
        .max_by_key(|report| report.effective_date)
        .map(|report| (report.status.clone(), report.effective_date))
}

/// `keyProtection` says hardware (`hardware`, `tee` or `secure_element`) and not `software`.
fn protects_keys_in_hardware(statement: &MetadataStatement) -> bool {
    let says = |name: &str| statement.key_protection.iter().any(|p| p == name);
    (says("hardware") || says("tee") || says("secure_element")) && !says("software")
}

fn entry_label(
    entry: &MetadataEntry,
    aaguid: Option<&Aaguid>,
    key_identifier: Option<&KeyIdentifier>,
) -> String {
    let name = entry.description().unwrap_or("unnamed authenticator");
    match (aaguid, key_identifier) {
        (Some(aaguid), _) => format!("{name} (aaguid {aaguid})"),
        (None, Some(key)) => format!("{name} (key identifier {key})"),
        (None, None) => name.to_owned(),
    }
}

fn unknown_label(aaguid: &Aaguid, leaf: Option<&[u8]>) -> String {
    if !aaguid.is_undisclosed() {
        return format!("authenticator aaguid {aaguid}");
    }
    match leaf.and_then(|der| KeyIdentifier::of_certificate(der).ok()) {
        Some(key) => format!("authenticator with attestation key identifier {key}"),
        None => {
            "authenticator with an undisclosed AAGUID and no attestation certificate".to_owned()
        }
    }
}
