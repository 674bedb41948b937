//! Checks both ceremonies share: client data ([WebAuthn L3 §7.1] steps 7–11, [§7.2] steps
//! 10–14), rpIdHash and flags ([§7.1] steps 14–18, [§7.2] steps 15–19).
//!
//! [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
//! [§7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion

use sha2::{Digest as _, Sha256};

use crate::authenticator_data::AuthenticatorData;
use crate::client_data::{ClientDataType, CollectedClientData};
use crate::error::WebAuthnError;
use crate::options::{CeremonyCommon, CrossOrigin, UserVerification};
use crate::origin::origin_allowed;

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Type, challenge, origin, then cross-origin/top-origin, in the spec's order.
pub(crate) fn client_data(
    common: &CeremonyCommon,
    client_data_json: &[u8],
    expected: ClientDataType,
) -> Result<CollectedClientData, WebAuthnError> {
    let c = CollectedClientData::parse(client_data_json)?;
    if c.type_ != expected.as_str() {
        return Err(WebAuthnError::TypeMismatch);
    }
    if !common.challenge.matches(&c.challenge) {
        return Err(WebAuthnError::ChallengeMismatch);
    }
    if !origin_allowed(&c.origin, &common.origins) {
        return Err(WebAuthnError::OriginMismatch);
    }
    if c.cross_origin || c.top_origin.is_some() {
        match &common.cross_origin {
            CrossOrigin::Deny => return Err(WebAuthnError::CrossOriginNotAllowed),
            CrossOrigin::AllowAnyTopOrigin => {}
            CrossOrigin::AllowTopOrigins(tops) => {
                // A client that says crossOrigin but names no topOrigin (older browsers) cannot
                // be held to the list, so it is refused.
                if !c
                    .top_origin
                    .as_ref()
                    .is_some_and(|top| origin_allowed(top, tops))
                {
                    return Err(WebAuthnError::CrossOriginNotAllowed);
                }
            }
        }
    }
    Ok(c)
}

/// Whether `hash` is SHA-256 of one of the allowed RP IDs.
pub(crate) fn rp_id_hash_allowed(hash: &[u8; 32], rp_ids: &[String]) -> bool {
    rp_ids.iter().any(|id| sha256(id.as_bytes()) == *hash)
}

/// UP, UV (if required), and BS only with BE.
pub(crate) fn flags(
    common: &CeremonyCommon,
    auth_data: &AuthenticatorData,
) -> Result<(), WebAuthnError> {
    if !auth_data.flags.user_present() {
        return Err(WebAuthnError::UserPresenceRequired);
    }
    if common.user_verification == UserVerification::Required && !auth_data.flags.user_verified() {
        return Err(WebAuthnError::UserVerificationRequired);
    }
    if auth_data.flags.backup_state() && !auth_data.flags.backup_eligible() {
        return Err(WebAuthnError::BackupFlagsInvalid);
    }
    Ok(())
}
