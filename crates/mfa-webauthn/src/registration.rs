//! Registration: verifying a new credential ([WebAuthn L3 §7.1]).
//!
//! [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential

use mfa_core::UnixTime;

use crate::attestation::{
    AcceptAnyAttestation, AttestationInput, AttestationOptions, AttestationTrust, TrustDecision,
    VerifiedAttestation, verify_attestation_and_decide,
};
use crate::authenticator_data::AuthenticatorData;
use crate::checks;
use crate::client_data::ClientDataType;
use crate::credential::{StoredCredential, aaguid_string};
use crate::crypto::SignatureVerifier;
use crate::error::WebAuthnError;
use crate::extensions::ClientExtensionResults;
use crate::options::RegistrationState;
use crate::response::{AttestationObject, RegistrationResponse};

/// A verified registration ([WebAuthn L3 §7.1]): the credential to store and what the
/// attestation established.
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegisteredCredential {
    /// The credential record to store.
    pub credential: StoredCredential,
    /// The verified attestation statement (format, type, certificates for a trust decision).
    pub attestation: VerifiedAttestation,
    /// Whether the client reported the credential as discoverable (`credProps.rk`): the same
    /// as `client_extension_results.discoverable()`.
    pub discoverable: Option<bool>,
    /// The client extension outputs of the response (`credProps`, `prf.enabled`,
    /// `largeBlob.supported`, …), as the client sent them: unsigned, see
    /// [`extensions`](crate::extensions).
    pub client_extension_results: ClientExtensionResults,
    /// Why the attestation was trusted ([`AttestationTrust::decide`]): the metadata entry that
    /// matched, if any, and whether the key is hardware-backed.
    pub trust: TrustDecision,
}

impl RegistrationState {
    /// Verifies a registration response by the steps of [WebAuthn L3 §7.1], in its order:
    /// ceremony not expired; client data type `webauthn.create`, challenge, origin,
    /// cross-origin/top-origin; attestation object; rpIdHash; UP; UV if required; BS only with
    /// BE; attested credential data present; algorithm among those offered; credential id not
    /// excluded and equal to `rawId`; attestation statement per its format (with `verifier`).
    ///
    /// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
    ///
    /// Every verified attestation is accepted ([`AcceptAnyAttestation`]); its certificates are
    /// returned in [`RegisteredCredential::attestation`] for the caller's trust decision, or use
    /// [`verify_with_trust`](Self::verify_with_trust).
    ///
    /// # Errors
    /// [`WebAuthnError`], naming the first check that failed.
    ///
    /// The state is consumed: a ceremony answers one response. In a server, keep it in a store
    /// and finish through [`crate::finish_registration`], which takes it first.
    pub fn verify(
        self,
        response: &RegistrationResponse,
        now: UnixTime,
        verifier: &dyn SignatureVerifier,
        attestation: &AttestationOptions,
    ) -> Result<RegisteredCredential, WebAuthnError> {
        self.verify_with_trust(response, now, verifier, attestation, &AcceptAnyAttestation)
    }

    /// Like [`verify`](Self::verify), then asks `trust` whether the verified attestation is
    /// acceptable ([WebAuthn L3 §7.1] steps 23–24), e.g. a chain to the caller's roots with
    /// [`x509::ChainTrust`](crate::attestation::x509::ChainTrust) or FIDO metadata with
    /// [`MetadataTrust`](crate::metadata::trust::MetadataTrust), at `now` unless
    /// [`AttestationOptions::at`] names another instant. The decision
    /// ([`AttestationTrust::decide`]) is returned in [`RegisteredCredential::trust`]; the stored
    /// credential is [`hardware_backed`](StoredCredential::hardware_backed) when the decision
    /// says so and the credential is not backup-eligible.
    ///
    /// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
    ///
    /// # Errors
    /// [`WebAuthnError`], naming the first check that failed; a trust refusal is
    /// [`WebAuthnError::AttestationInvalid`].
    pub fn verify_with_trust(
        self,
        response: &RegistrationResponse,
        now: UnixTime,
        verifier: &dyn SignatureVerifier,
        attestation: &AttestationOptions,
        trust: &dyn AttestationTrust,
    ) -> Result<RegisteredCredential, WebAuthnError> {
        let common = &self.common;
        common.check_not_expired(now)?;
        checks::client_data(common, &response.client_data_json, ClientDataType::Create)?;
        let client_data_hash = checks::sha256(&response.client_data_json);

        let object = AttestationObject::from_cbor(&response.attestation_object)?;
        let auth_data = AuthenticatorData::parse(&object.authenticator_data)?;
        if !checks::rp_id_hash_allowed(&auth_data.rp_id_hash, &common.rp_ids) {
            return Err(WebAuthnError::RpIdMismatch);
        }
        checks::flags(common, &auth_data)?;
        let attested =
            auth_data
                .attested_credential_data
                .as_ref()
                .ok_or(WebAuthnError::Malformed(
                    "registration without attested credential data",
                ))?;
        let alg = attested.public_key.algorithm().id();
        if !self.algorithms.contains(&alg) {
            return Err(WebAuthnError::UnsupportedAlgorithm(alg));
        }
        if attested.credential_id != response.credential_id {
            return Err(WebAuthnError::Malformed(
                "credential id differs from the attested credential id",
            ));
        }
        if self.exclude_credentials.contains(&attested.credential_id) {
            return Err(WebAuthnError::CredentialExcluded);
        }

        let input = AttestationInput {
            format: &object.format,
            statement: &object.statement,
            authenticator_data: &object.authenticator_data,
            client_data_hash: &client_data_hash,
            rp_id_hash: &auth_data.rp_id_hash,
            aaguid: &attested.aaguid,
            credential_id: attested.credential_id.as_bytes(),
            credential_public_key: &attested.public_key,
        };
        let validation_time = attestation.validation_time.unwrap_or(now);
        let (verified, decision) =
            verify_attestation_and_decide(&input, verifier, validation_time, trust)?;

        let flags = auth_data.flags;
        // A backup-eligible credential's key can leave the authenticator (a synced passkey),
        // whatever hardware the model has.
        let hardware_backed = decision.hardware_backed && !flags.backup_eligible();
        let credential = StoredCredential {
            id: attested.credential_id.clone(),
            public_key_cose: attested.public_key.clone(),
            alg,
            sign_count: auth_data.sign_count,
            fmt: Some(verified.format),
            backup_eligible: Some(flags.backup_eligible()),
            backup_state: Some(flags.backup_state()),
            aaguid: Some(aaguid_string(&attested.aaguid)),
            transports: response.transports.clone(),
            user_handle: (!self.user_handle.as_bytes().is_empty()).then_some(self.user_handle),
            user_verified: Some(flags.user_verified()),
            created_at: Some(now),
            last_used_at: None,
            possible_clone: false,
            hardware_backed,
        };
        Ok(RegisteredCredential {
            credential,
            attestation: verified,
            discoverable: response.client_extension_results.discoverable(),
            client_extension_results: response.client_extension_results.clone(),
            trust: decision,
        })
    }
}
