//! Authentication: verifying an assertion ([WebAuthn L3 §7.2]).
//!
//! [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion

use mfa_core::{CredentialId, Evidence, Method, UnixTime, Verified};

use crate::attestation::signed_message;
use crate::authenticator_data::AuthenticatorData;
use crate::checks;
use crate::client_data::ClientDataType;
use crate::credential::StoredCredential;
use crate::crypto::SignatureVerifier;
use crate::error::WebAuthnError;
use crate::options::{AuthenticationState, SignCountPolicy};
use crate::response::AuthenticationResponse;

impl AuthenticationState {
    /// Verifies an assertion by the steps of [WebAuthn L3 §7.2], in its order: ceremony not
    /// expired; credential allowed and the one stored; user handle; client data type
    /// `webauthn.get`, challenge, origin, cross-origin/top-origin; rpIdHash (SHA-256 of an
    /// allowed RP ID, or of the AppID when the client reports `appid: true`); UP; UV if
    /// required; BS only with BE and BE unchanged; signature over
    /// `authenticatorData ‖ SHA-256(clientDataJSON)`; signature counter per policy.
    ///
    /// On success returns the updated credential (new counter, BS, last use; to persist) and
    /// [`Evidence`]: WebAuthn, phishing-resistant, user-verified per UV, device-bound unless BE.
    ///
    /// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
    ///
    /// # Errors
    /// [`WebAuthnError`], naming the first check that failed.
    pub fn verify(
        &self,
        credential: &StoredCredential,
        response: &AuthenticationResponse,
        now: UnixTime,
        verifier: &dyn SignatureVerifier,
    ) -> Result<Verified<StoredCredential>, WebAuthnError> {
        let common = &self.common;
        common.check_not_expired(now)?;

        // Steps 5-7: the credential must be allowed and be the one we hold for this user.
        let id = response.credential_id.as_slice();
        if !self.allow_credentials.is_empty()
            && !self.allow_credentials.iter().any(|c| c.as_bytes() == id)
        {
            return Err(WebAuthnError::UnknownCredential);
        }
        if credential.id.as_bytes() != id {
            return Err(WebAuthnError::UnknownCredential);
        }
        // A user identified beforehand must own the credential.
        if let (Some(expected), Some(owner)) = (&self.user_handle, &credential.user_handle)
            && expected != owner
        {
            return Err(WebAuthnError::UnknownCredential);
        }
        // Step 6: the user handle, when returned, must be the owner's; for a discoverable
        // ceremony (no allow list, user not known beforehand) it must be returned.
        let owner = credential
            .user_handle
            .as_ref()
            .or(self.user_handle.as_ref());
        match (&response.user_handle, owner) {
            (Some(returned), Some(owner)) if returned.as_slice() != owner.as_bytes() => {
                return Err(WebAuthnError::UserHandleMismatch);
            }
            (None, _) if self.allow_credentials.is_empty() && self.user_handle.is_none() => {
                return Err(WebAuthnError::UserHandleMismatch);
            }
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
        let flags = auth_data.flags;
        if credential
            .backup_eligible
            .is_some_and(|be| be != flags.backup_eligible())
        {
            return Err(WebAuthnError::BackupFlagsInvalid);
        }

        let client_data_hash = checks::sha256(&response.client_data_json);
        let message = signed_message(&response.authenticator_data, &client_data_hash);
        verifier.verify(&credential.public_key_cose, &message, &response.signature)?;

        let mut updated = credential.clone();
        let (stored, received) = (credential.sign_count, auth_data.sign_count);
        if received > stored {
            updated.sign_count = received;
        } else if stored != 0 || received != 0 {
            match self.sign_count {
                SignCountPolicy::Flag => updated.possible_clone = true,
                _ => return Err(WebAuthnError::CounterNotIncreased { stored, received }),
            }
        }
        updated.backup_eligible = Some(flags.backup_eligible());
        updated.backup_state = Some(flags.backup_state());
        updated.last_used_at = Some(now);

        let evidence = Evidence::new(
            Method::WebAuthn,
            now,
            CredentialId::new(credential.id.to_b64url()),
        )
        .user_verified(flags.user_verified())
        .device_bound(!flags.backup_eligible());
        Ok(Verified::new(evidence, updated))
    }
}
