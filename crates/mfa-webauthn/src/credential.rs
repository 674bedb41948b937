//! The credential record a relying party stores ([WebAuthn L3 §4] "credential record").
//!
//! [WebAuthn L3 §4]: https://www.w3.org/TR/webauthn-3/#credential-record

use mfa_core::UnixTime;
use serde::{Deserialize, Serialize};

use crate::attestation::AttestationFormat;
use crate::base64url::Base64UrlBytes;
use crate::cose::CoseKey;
use crate::credential_id::CredentialId;
use crate::options::CredentialDescriptor;

/// A registered credential as the relying party stores it ([WebAuthn L3 §4], credential
/// record): produced by [`RegistrationState::verify`](crate::RegistrationState::verify),
/// updated by each [`AuthenticationState::verify`](crate::AuthenticationState::verify).
///
/// JSON form (what `mfa webauthn register` prints and `--credential` reads):
/// `{"id": b64url, "public_key_cose": b64url, "alg": -7, "sign_count": 0, "fmt": "packed",
/// "backup_eligible": false, "backup_state": false, "aaguid": "…", "transports": […],
/// "user_handle": b64url, "created_at": ms, "last_used_at": ms, "possible_clone": false,
/// "hardware_backed": true}`. Only `id`, `public_key_cose` and `sign_count` are required when
/// reading; `alg`, if present, must match the key; `hardware_backed` is written only when true
/// and read as false when absent (records from before it existed).
///
/// [WebAuthn L3 §4]: https://www.w3.org/TR/webauthn-3/#credential-record
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCredential")]
pub struct StoredCredential {
    /// The credential id.
    pub id: CredentialId,
    /// The credential public key, COSE_Key bytes as received.
    pub public_key_cose: CoseKey,
    /// The key's COSE algorithm identifier.
    pub alg: i64,
    /// The last signature counter seen.
    pub sign_count: u32,
    /// The attestation statement format at registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fmt: Option<AttestationFormat>,
    /// BE at registration (`None`: unknown, not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_eligible: Option<bool>,
    /// BS at the last ceremony (`None`: unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_state: Option<bool>,
    /// The authenticator's AAGUID, as a UUID string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// Transports reported at registration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
    /// The owner's user handle (checked against `userHandle` in assertions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<Base64UrlBytes>,
    /// Whether UV was performed at registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_verified: Option<bool>,
    /// When it was registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<UnixTime>,
    /// When it last authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<UnixTime>,
    /// Set when a signature counter did not increase under
    /// [`SignCountPolicy::Flag`](crate::SignCountPolicy::Flag): the credential may have been
    /// cloned.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub possible_clone: bool,
    /// The key is kept in authenticator hardware, as established at registration by a metadata
    /// trust decision ([`TrustDecision::hardware_backed`](crate::attestation::TrustDecision::hardware_backed))
    /// for a credential that is not backup-eligible (a synced passkey's key leaves the device).
    /// Carried into each assertion's [`Evidence`](mfa_core::Evidence), so a policy can require
    /// AAL3.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub hardware_backed: bool,
}

impl StoredCredential {
    /// A credential record from its id, key and counter (other fields unknown), e.g. for
    /// credentials imported from another system.
    #[must_use]
    pub fn new(id: CredentialId, public_key_cose: CoseKey, sign_count: u32) -> Self {
        Self {
            id,
            alg: public_key_cose.algorithm().id(),
            public_key_cose,
            sign_count,
            fmt: None,
            backup_eligible: None,
            backup_state: None,
            aaguid: None,
            transports: Vec::new(),
            user_handle: None,
            user_verified: None,
            created_at: None,
            last_used_at: None,
            possible_clone: false,
            hardware_backed: false,
        }
    }

    /// This credential as a `PublicKeyCredentialDescriptorJSON` (its id and transports), for
    /// `allowCredentials` when signing its owner in and `excludeCredentials` when they register
    /// another authenticator.
    #[must_use]
    pub fn descriptor(&self) -> CredentialDescriptor {
        CredentialDescriptor::new(self.id.clone(), self.transports.clone())
    }
}

#[derive(Deserialize)]
struct RawCredential {
    id: CredentialId,
    public_key_cose: CoseKey,
    #[serde(default)]
    alg: Option<i64>,
    sign_count: u32,
    #[serde(default)]
    fmt: Option<AttestationFormat>,
    #[serde(default)]
    backup_eligible: Option<bool>,
    #[serde(default)]
    backup_state: Option<bool>,
    #[serde(default)]
    aaguid: Option<String>,
    #[serde(default)]
    transports: Vec<String>,
    #[serde(default)]
    user_handle: Option<Base64UrlBytes>,
    #[serde(default)]
    user_verified: Option<bool>,
    #[serde(default)]
    created_at: Option<UnixTime>,
    #[serde(default)]
    last_used_at: Option<UnixTime>,
    #[serde(default)]
    possible_clone: bool,
    #[serde(default)]
    hardware_backed: bool,
}

impl TryFrom<RawCredential> for StoredCredential {
    type Error = String;

    fn try_from(raw: RawCredential) -> Result<Self, String> {
        let key_alg = raw.public_key_cose.algorithm().id();
        if raw.alg.is_some_and(|alg| alg != key_alg) {
            return Err(format!(
                "alg does not match the COSE key's algorithm {key_alg}"
            ));
        }
        Ok(Self {
            id: raw.id,
            public_key_cose: raw.public_key_cose,
            alg: key_alg,
            sign_count: raw.sign_count,
            fmt: raw.fmt,
            backup_eligible: raw.backup_eligible,
            backup_state: raw.backup_state,
            aaguid: raw.aaguid,
            transports: raw.transports,
            user_handle: raw.user_handle,
            user_verified: raw.user_verified,
            created_at: raw.created_at,
            last_used_at: raw.last_used_at,
            possible_clone: raw.possible_clone,
            hardware_backed: raw.hardware_backed,
        })
    }
}

/// Formats an AAGUID as a UUID string (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
pub(crate) fn aaguid_string(aaguid: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in aaguid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}
