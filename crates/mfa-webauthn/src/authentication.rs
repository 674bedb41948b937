//! Authentication: verifying an assertion ([WebAuthn L3 §7.2]).
//!
//! [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion

use mfa_core::{Evidence, Method, UnixTime, Verified};

use crate::attestation::signed_message;
use crate::authenticator_data::{AuthenticatorData, AuthenticatorFlags};
use crate::checks;
use crate::client_data::ClientDataType;
use crate::cose::CoseKey;
use crate::credential::StoredCredential;
use crate::credential_id::CredentialId;
use crate::crypto::SignatureVerifier;
use crate::error::WebAuthnError;
use crate::extensions::ClientExtensionResults;
use crate::options::{AuthenticationState, SignCountPolicy};
use crate::response::AuthenticationResponse;

/// What an assertion proved, before it is applied to the stored credential: returned by
/// [`AuthenticationState::check`], which consumes the ceremony state, and turned into the updated
/// credential by [`apply`](Self::apply), which may run again on a fresher copy of the credential
/// if another sign-in committed in between (as [`mfa_core::verify_challenge_and_commit`] does).
#[derive(Clone, Debug)]
#[must_use]
pub struct VerifiedAssertion {
    credential_id: CredentialId,
    public_key: CoseKey,
    sign_count: u32,
    flags: AuthenticatorFlags,
    policy: SignCountPolicy,
    now: UnixTime,
    client_extension_results: ClientExtensionResults,
}

impl AuthenticationState {
    /// Verifies an assertion by the steps of [WebAuthn L3 §7.2], in its order, and applies it to
    /// `credential`: [`check`](Self::check) then [`VerifiedAssertion::apply`].
    ///
    /// The state is consumed: a ceremony answers one assertion. In a server, keep the state in a
    /// store and finish through [`crate::finish_authentication`], which *takes* it (atomically
    /// loads and deletes it) first, so a replayed assertion finds no ceremony even when the
    /// authenticator's counter stays at 0 (synced passkeys).
    ///
    /// On success returns the updated credential (new counter, BS, last use; to persist) and
    /// [`Evidence`]: WebAuthn, phishing-resistant, user-verified per UV, device-bound unless BE,
    /// hardware-backed as recorded at registration ([`StoredCredential::hardware_backed`]).
    ///
    /// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
    ///
    /// # Errors
    /// [`WebAuthnError`], naming the first check that failed.
    pub fn verify(
        self,
        credential: &StoredCredential,
        response: &AuthenticationResponse,
        now: UnixTime,
        verifier: &dyn SignatureVerifier,
    ) -> Result<Verified<StoredCredential>, WebAuthnError> {
        self.check(credential, response, now, verifier)?
            .apply(credential)
    }

    /// The checks of [WebAuthn L3 §7.2] up to and including the signature, in its order:
    /// ceremony not expired; credential allowed and the one stored, with a known owner when the
    /// ceremony names a user or none is identified beforehand; user handle; client data type
    /// `webauthn.get`, challenge, origin, cross-origin/top-origin; rpIdHash (SHA-256 of an
    /// allowed RP ID, or of the AppID when the client reports `appid: true`); UP; UV if
    /// required; BS only with BE and BE unchanged; signature over
    /// `authenticatorData ‖ SHA-256(clientDataJSON)`. The signature counter is left to
    /// [`VerifiedAssertion::apply`].
    ///
    /// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
    ///
    /// # Errors
    /// [`WebAuthnError`], naming the first check that failed.
    pub fn check(
        self,
        credential: &StoredCredential,
        response: &AuthenticationResponse,
        now: UnixTime,
        verifier: &dyn SignatureVerifier,
    ) -> Result<VerifiedAssertion, WebAuthnError> {
        let common = &self.common;
        common.check_not_expired(now)?;

        // Steps 5-7: the credential must be allowed and be the one we hold for this user.
        let id = &response.credential_id;
        if !self.allow_credentials.is_empty() && !self.allow_credentials.contains(id) {
            return Err(WebAuthnError::UnknownCredential);
        }
        if credential.id != *id {
            return Err(WebAuthnError::UnknownCredential);
        }
        // A user identified beforehand must own the credential, and so must the user a
        // username-less response names: a credential whose owner is unknown proves neither.
        let discoverable = self.allow_credentials.is_empty() && self.user_handle.is_none();
        match (&self.user_handle, &credential.user_handle) {
            (Some(expected), Some(owner)) if expected != owner => {
                return Err(WebAuthnError::UnknownCredential);
            }
            (Some(_), None) => return Err(WebAuthnError::UnknownCredential),
            (None, None) if discoverable => return Err(WebAuthnError::UnknownCredential),
            _ => {}
        }
        // Step 6: the user handle, when returned, must be the owner's; for a discoverable
        // ceremony (no allow list, user not known beforehand) it must be returned.
        match (&response.user_handle, &credential.user_handle) {
            (Some(returned), Some(owner)) if returned.as_slice() != owner.as_bytes() => {
                return Err(WebAuthnError::UserHandleMismatch);
            }
            (None, _) if discoverable => return Err(WebAuthnError::UserHandleMismatch),
            _ => {}
        }

        checks::client_data(common, &response.client_data_json, ClientDataType::Get)?;

        let auth_data = AuthenticatorData::parse(&response.authenticator_data)?;
        let rp_ok = if response.client_extension_results.appid == Some(true) {
            // §10.1.1: the client used the AppID, so only its hash is acceptable.
            self.appid
                .as_ref()
                .is_some_and(|appid| checks::sha256(appid.as_bytes()) == auth_data.rp_id_hash)
        } else {
            checks::rp_id_hash_allowed(&auth_data.rp_id_hash, &common.rp_ids)
        };
        if !rp_ok {
            return Err(WebAuthnError::RpIdMismatch);
        }
        checks::flags(common, &auth_data)?;
        check_backup_eligibility(credential, auth_data.flags)?;

        let client_data_hash = checks::sha256(&response.client_data_json);
        let message = signed_message(&response.authenticator_data, &client_data_hash);
        verifier.verify(&credential.public_key_cose, &message, &response.signature)?;

        Ok(VerifiedAssertion {
            credential_id: id.clone(),
            public_key: credential.public_key_cose.clone(),
            sign_count: auth_data.sign_count,
            flags: auth_data.flags,
            policy: self.sign_count,
            now,
            client_extension_results: response.client_extension_results.clone(),
        })
    }
}

/// BE must stay what it was at registration ([WebAuthn L3 §7.2] step 18).
///
/// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
fn check_backup_eligibility(
    credential: &StoredCredential,
    flags: AuthenticatorFlags,
) -> Result<(), WebAuthnError> {
    if credential
        .backup_eligible
        .is_some_and(|be| be != flags.backup_eligible())
    {
        return Err(WebAuthnError::BackupFlagsInvalid);
    }
    Ok(())
}

impl VerifiedAssertion {
    /// The client extension outputs of the verified assertion (`prf` results, `largeBlob`
    /// blob or `written`, `appid`), as the client sent them: unsigned, see
    /// [`extensions`](crate::extensions).
    ///
    /// [`crate::finish_authentication`] returns the updated credential only; after it succeeds
    /// these are the `client_extension_results` of the [`AuthenticationResponse`] passed to it
    /// (the same value).
    #[must_use]
    pub fn client_extension_results(&self) -> &ClientExtensionResults {
        &self.client_extension_results
    }

    /// Applies the verified assertion to the credential as currently stored ([WebAuthn L3 §7.2]
    /// steps 21–22): the signature counter per the ceremony's policy (both zero is fine), BS,
    /// last use. Refuses a credential that is not the one the signature was checked against.
    ///
    /// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
    ///
    /// # Errors
    /// [`WebAuthnError::UnknownCredential`] for another credential or key,
    /// [`WebAuthnError::BackupFlagsInvalid`] if BE no longer matches,
    /// [`WebAuthnError::CounterNotIncreased`] per the counter policy.
    pub fn apply(
        &self,
        current: &StoredCredential,
    ) -> Result<Verified<StoredCredential>, WebAuthnError> {
        if current.id != self.credential_id || current.public_key_cose != self.public_key {
            return Err(WebAuthnError::UnknownCredential);
        }
        check_backup_eligibility(current, self.flags)?;
        let mut updated = current.clone();
        let (stored, received) = (current.sign_count, self.sign_count);
        if received > stored {
            updated.sign_count = received;
        } else if stored != 0 || received != 0 {
            match self.policy {
                SignCountPolicy::Flag => updated.possible_clone = true,
                _ => return Err(WebAuthnError::CounterNotIncreased { stored, received }),
            }
        }
        updated.backup_eligible = Some(self.flags.backup_eligible());
        updated.backup_state = Some(self.flags.backup_state());
        updated.last_used_at = Some(self.now);

        let evidence = Evidence::new(
            Method::WebAuthn,
            self.now,
            mfa_core::CredentialId::from(&current.id),
        )
        .user_verified(self.flags.user_verified())
        .device_bound(!self.flags.backup_eligible())
        .hardware_backed(current.hardware_backed);
        Ok(Verified::new(evidence, updated))
    }
}
