//! Ceremony options in the WebAuthn L3 JSON form browsers accept
//! (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`,
//! [WebAuthn L3 §5.1.9], [§5.1.10]), the relying-party configuration they come from, and the
//! server-side ceremony state kept until the response arrives.
//!
//! [WebAuthn L3 §5.1.9]: https://www.w3.org/TR/webauthn-3/#sctn-parseCreationOptionsFromJSON
//! [§5.1.10]: https://www.w3.org/TR/webauthn-3/#sctn-parseRequestOptionsFromJSON

use core::fmt;
use core::time::Duration;

use mfa_core::{CryptoRng, UnixTime};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::base64url::Base64UrlBytes;
use crate::cose::CoseAlgorithm;
use crate::credential_id::CredentialId;
use crate::error::WebAuthnError;
use crate::extensions::{
    LargeBlobCreationInputs, LargeBlobRequestInputs, LargeBlobSupport, PrfCreationInputs,
    PrfRequestInputs, PrfValues,
};

/// Bytes of fresh randomness in every challenge ([WebAuthn L3 §13.4.3]: at least 16; we use 32).
///
/// [WebAuthn L3 §13.4.3]: https://www.w3.org/TR/webauthn-3/#sctn-cryptographic-challenges
pub const CHALLENGE_LEN: usize = 32;

/// The default ceremony timeout: 5 minutes (the spec recommends 300 s to 600 s when UV is
/// discouraged, [WebAuthn L3 §15.1]).
///
/// [WebAuthn L3 §15.1]: https://www.w3.org/TR/webauthn-3/#sctn-timeout-recommended-range
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A ceremony challenge ([WebAuthn L3 §13.4.3]). Compared in constant time; `Debug` does not
/// print it. Serialized as base64url.
///
/// [WebAuthn L3 §13.4.3]: https://www.w3.org/TR/webauthn-3/#sctn-cryptographic-challenges
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Challenge(Base64UrlBytes);

impl Challenge {
    /// A fresh random challenge of [`CHALLENGE_LEN`] bytes.
    #[must_use]
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; CHALLENGE_LEN];
        rng.fill_bytes(&mut bytes);
        Self(Base64UrlBytes::new(bytes.to_vec()))
    }

    /// A challenge issued elsewhere (for example by a CLI caller or a test vector). Prefer
    /// [`Challenge::random`]; a challenge must be unpredictable and used once.
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the challenge is empty or longer than 1024 bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, WebAuthnError> {
        let bytes = bytes.into();
        if bytes.is_empty() || bytes.len() > crate::client_data::MAX_CHALLENGE_LEN {
            return Err(WebAuthnError::Malformed(
                "challenge must be 1 to 1024 bytes",
            ));
        }
        Ok(Self(Base64UrlBytes::new(bytes)))
    }

    /// The challenge bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Constant-time comparison with the challenge a client echoed (lengths are checked first;
    /// a length mismatch returns early, which reveals only the length).
    #[must_use]
    pub fn matches(&self, received: &[u8]) -> bool {
        let ours = self.as_bytes();
        !ours.is_empty() && ours.len() == received.len() && bool::from(ours.ct_eq(received))
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge").finish_non_exhaustive()
    }
}

/// `userVerification` ([WebAuthn L3 §5.8.6]).
///
/// [WebAuthn L3 §5.8.6]: https://www.w3.org/TR/webauthn-3/#enumdef-userverificationrequirement
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// UV must be set in the response.
    Required,
    /// Ask for UV, accept without.
    #[default]
    Preferred,
    /// Do not ask for UV.
    Discouraged,
}

/// `residentKey` ([WebAuthn L3 §5.4.6]).
///
/// [WebAuthn L3 §5.4.6]: https://www.w3.org/TR/webauthn-3/#enumdef-residentkeyrequirement
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentKey {
    /// No discoverable credential wanted.
    Discouraged,
    /// A discoverable credential if possible (passkeys).
    #[default]
    Preferred,
    /// A discoverable credential or failure.
    Required,
}

/// `authenticatorAttachment` ([WebAuthn L3 §5.4.5]).
///
/// [WebAuthn L3 §5.4.5]: https://www.w3.org/TR/webauthn-3/#enumdef-authenticatorattachment
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticatorAttachment {
    /// Built into the client device (Windows Hello, Touch ID).
    Platform,
    /// Roaming (a security key, a phone over hybrid).
    CrossPlatform,
}

/// `attestation` conveyance preference ([WebAuthn L3 §5.4.7]).
///
/// [WebAuthn L3 §5.4.7]: https://www.w3.org/TR/webauthn-3/#enumdef-attestationconveyancepreference
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttestationConveyance {
    /// No attestation wanted.
    #[default]
    None,
    /// Attestation the client may anonymize.
    Indirect,
    /// The authenticator's attestation as generated.
    Direct,
    /// Uniquely identifying attestation (managed deployments).
    Enterprise,
}

/// `hints` ([WebAuthn L3 §5.8.7]).
///
/// [WebAuthn L3 §5.8.7]: https://www.w3.org/TR/webauthn-3/#enumdef-publickeycredentialhint
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hint {
    /// A physical security key.
    SecurityKey,
    /// The platform authenticator of the client device.
    ClientDevice,
    /// A phone over the hybrid transport.
    Hybrid,
}

/// How cross-origin embedding (`crossOrigin`, `topOrigin` in client data) is treated
/// ([WebAuthn L3 §7.1] step 10, [§7.2] step 13).
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
/// [§7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "top_origins")]
pub enum CrossOrigin {
    /// Reject any response with `crossOrigin: true` or a `topOrigin` (the default).
    #[default]
    Deny,
    /// Accept cross-origin iframes under any top-level origin.
    AllowAnyTopOrigin,
    /// Accept cross-origin iframes only under these top-level origins. A response with
    /// `crossOrigin: true` and no `topOrigin` (older clients do not send it) is refused, since
    /// it cannot be checked against the list.
    AllowTopOrigins(Vec<String>),
}

/// `PublicKeyCredentialDescriptorJSON` ([WebAuthn L3 §5.10.3]).
///
/// [WebAuthn L3 §5.10.3]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialdescriptorjson
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The credential id.
    pub id: CredentialId,
    /// Transports hints, as stored at registration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

impl CredentialDescriptor {
    /// A `public-key` descriptor. [`StoredCredential::descriptor`](crate::StoredCredential::descriptor)
    /// makes one from a stored credential (for `allowCredentials` / `excludeCredentials`).
    #[must_use]
    pub fn new(id: CredentialId, transports: Vec<String>) -> Self {
        Self {
            type_: "public-key".to_owned(),
            id,
            transports,
        }
    }
}

/// The relying party: its RP ID(s), name, allowed origins and policies. Build once at start-up;
/// each ceremony copies what it needs into its state.
///
/// Several RP IDs (for example after a domain move) and several origins (web, `android:apk-key-hash:…`
/// for Android apps, related origins) can be allowed ([WebAuthn L3 §5.11], [§13.4.9]).
///
/// [WebAuthn L3 §5.11]: https://www.w3.org/TR/webauthn-3/#sctn-related-origins
/// [§13.4.9]: https://www.w3.org/TR/webauthn-3/#sctn-validating-origin
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingParty {
    id: String,
    name: String,
    extra_rp_ids: Vec<String>,
    origins: Vec<String>,
    cross_origin: CrossOrigin,
    appid: Option<String>,
    timeout: Duration,
    sign_count: SignCountPolicy,
    algorithms: Vec<CoseAlgorithm>,
}

/// What to do when the signature counter does not increase ([WebAuthn L3 §6.1.1]).
///
/// Both counters zero is always fine (synced passkeys do not count).
///
/// [WebAuthn L3 §6.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-sign-counter
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignCountPolicy {
    /// Refuse the assertion ([`WebAuthnError::CounterNotIncreased`]); the default.
    #[default]
    Reject,
    /// Accept it and set [`StoredCredential::possible_clone`](crate::StoredCredential) so the
    /// operator can review the credential.
    Flag,
}

impl RelyingParty {
    /// A relying party with one RP ID, a human-readable name and its first allowed origin.
    /// Defaults: no cross-origin use, 5-minute timeout, counter regressions rejected, algorithms
    /// ES256, EdDSA, ES384, ES512, PS256, RS256 (in that preference order).
    #[must_use]
    pub fn new(id: impl Into<String>, name: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            extra_rp_ids: Vec::new(),
            origins: vec![origin.into()],
            cross_origin: CrossOrigin::Deny,
            appid: None,
            timeout: DEFAULT_TIMEOUT,
            sign_count: SignCountPolicy::Reject,
            algorithms: vec![
                CoseAlgorithm::Es256,
                CoseAlgorithm::EdDsa,
                CoseAlgorithm::Es384,
                CoseAlgorithm::Es512,
                CoseAlgorithm::Ps256,
                CoseAlgorithm::Rs256,
            ],
        }
    }

    /// Also allows this origin.
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Also accepts credentials scoped to this RP ID (its SHA-256 as rpIdHash).
    #[must_use]
    pub fn with_rp_id(mut self, rp_id: impl Into<String>) -> Self {
        self.extra_rp_ids.push(rp_id.into());
        self
    }

    /// Sets the cross-origin policy.
    #[must_use]
    pub fn with_cross_origin(mut self, policy: CrossOrigin) -> Self {
        self.cross_origin = policy;
        self
    }

    /// Requests the FIDO AppID extension ([WebAuthn L3 §10.1.1]) for credentials registered
    /// with the U2F API under this AppID.
    ///
    /// [WebAuthn L3 §10.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-appid-extension
    #[must_use]
    pub fn with_appid(mut self, appid: impl Into<String>) -> Self {
        self.appid = Some(appid.into());
        self
    }

    /// Sets the ceremony timeout (sent to the browser, enforced on the response).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the signature-counter policy.
    #[must_use]
    pub fn with_sign_count_policy(mut self, policy: SignCountPolicy) -> Self {
        self.sign_count = policy;
        self
    }

    /// Replaces the accepted algorithms (`pubKeyCredParams`, in preference order).
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: Vec<CoseAlgorithm>) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// The primary RP ID.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The allowed origins, as configured (web and non-web). The
    /// [`RelatedOriginsBuilder`](crate::RelatedOriginsBuilder) starts from the web ones.
    #[must_use]
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    fn rp_ids(&self) -> Vec<String> {
        let mut ids = vec![self.id.clone()];
        ids.extend(self.extra_rp_ids.iter().cloned());
        ids
    }

    fn timeout_ms(&self) -> u64 {
        u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX)
    }

    fn common(&self, challenge: Challenge, now: UnixTime, uv: UserVerification) -> CeremonyCommon {
        CeremonyCommon {
            challenge,
            rp_ids: self.rp_ids(),
            origins: self.origins.clone(),
            cross_origin: self.cross_origin.clone(),
            user_verification: uv,
            created_at: now,
            timeout_ms: self.timeout_ms(),
        }
    }

    /// Starts a registration: fresh challenge from `rng`, the options to send to the browser
    /// (`PublicKeyCredentialCreationOptionsJSON`) and the state to keep.
    #[must_use]
    pub fn start_registration(
        &self,
        rng: &mut impl CryptoRng,
        now: UnixTime,
        user: UserEntity,
        request: RegistrationRequest,
    ) -> (CreationOptions, RegistrationState) {
        self.registration_with_challenge(Challenge::random(rng), now, user, request)
    }

    /// Like [`start_registration`](Self::start_registration) with a challenge issued elsewhere
    /// (the CLI, test vectors). The challenge must still be unpredictable and single-use.
    #[must_use]
    pub fn registration_with_challenge(
        &self,
        challenge: Challenge,
        now: UnixTime,
        user: UserEntity,
        request: RegistrationRequest,
    ) -> (CreationOptions, RegistrationState) {
        let options = CreationOptions {
            rp: RpEntity {
                id: self.id.clone(),
                name: self.name.clone(),
            },
            user: user.clone(),
            challenge: challenge.0.clone(),
            pub_key_cred_params: self
                .algorithms
                .iter()
                .map(|alg| CredentialParameters {
                    type_: "public-key".to_owned(),
                    alg: alg.id(),
                })
                .collect(),
            timeout: self.timeout_ms(),
            exclude_credentials: request.exclude_credentials.clone(),
            authenticator_selection: AuthenticatorSelection {
                authenticator_attachment: request.authenticator_attachment,
                resident_key: request.resident_key,
                require_resident_key: request.resident_key == ResidentKey::Required,
                user_verification: request.user_verification,
            },
            hints: request.hints.clone(),
            attestation: request.attestation,
            extensions: request.extensions.clone(),
        };
        let state = RegistrationState {
            common: self.common(challenge, now, request.user_verification),
            user_handle: user.id,
            algorithms: self.algorithms.iter().map(|a| a.id()).collect(),
            exclude_credentials: request
                .exclude_credentials
                .into_iter()
                .map(|d| d.id)
                .collect(),
        };
        (options, state)
    }

    /// Starts an authentication: fresh challenge from `rng`, the options to send to the browser
    /// (`PublicKeyCredentialRequestOptionsJSON`) and the state to keep.
    #[must_use]
    pub fn start_authentication(
        &self,
        rng: &mut impl CryptoRng,
        now: UnixTime,
        request: AuthenticationRequest,
    ) -> (RequestOptions, AuthenticationState) {
        self.authentication_with_challenge(Challenge::random(rng), now, request)
    }

    /// Like [`start_authentication`](Self::start_authentication) with a challenge issued
    /// elsewhere (the CLI, test vectors). The challenge must still be unpredictable and
    /// single-use.
    #[must_use]
    pub fn authentication_with_challenge(
        &self,
        challenge: Challenge,
        now: UnixTime,
        request: AuthenticationRequest,
    ) -> (RequestOptions, AuthenticationState) {
        let options = RequestOptions {
            challenge: challenge.0.clone(),
            timeout: self.timeout_ms(),
            rp_id: self.id.clone(),
            allow_credentials: request.allow_credentials.clone(),
            user_verification: request.user_verification,
            hints: request.hints.clone(),
            extensions: request
                .extensions
                .for_options(self.appid.clone(), &request.allow_credentials),
        };
        let state = AuthenticationState {
            common: self.common(challenge, now, request.user_verification),
            allow_credentials: request
                .allow_credentials
                .into_iter()
                .map(|d| d.id)
                .collect(),
            user_handle: request.user_handle,
            appid: self.appid.clone(),
            sign_count: self.sign_count,
        };
        (options, state)
    }
}

/// `PublicKeyCredentialUserEntityJSON` ([WebAuthn L3 §5.4.3]).
///
/// [WebAuthn L3 §5.4.3]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialuserentityjson
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntity {
    /// The user handle: random, at most 64 bytes, no personal data.
    pub id: Base64UrlBytes,
    /// The account name (e.g. an e-mail address), shown by the authenticator.
    pub name: String,
    /// A friendly name.
    #[serde(rename = "displayName")]
    pub display_name: String,
}

impl UserEntity {
    /// A user entity with a fresh random 32-byte handle from `rng`.
    #[must_use]
    pub fn random(
        rng: &mut impl CryptoRng,
        name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        let mut handle = [0u8; 32];
        rng.fill_bytes(&mut handle);
        Self {
            id: Base64UrlBytes::new(handle.to_vec()),
            name: name.into(),
            display_name: display_name.into(),
        }
    }
}

/// What a registration asks of the authenticator: the parts of
/// [`PublicKeyCredentialCreationOptions`](https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialcreationoptions)
/// that vary per ceremony.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// Credentials the user already has (the authenticator refuses to create a second one).
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// Platform or roaming, if it matters.
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// Discoverable credential wish.
    pub resident_key: ResidentKey,
    /// UV requirement (enforced on the response when `Required`).
    pub user_verification: UserVerification,
    /// UI hints.
    pub hints: Vec<Hint>,
    /// Attestation conveyance preference.
    pub attestation: AttestationConveyance,
    /// Client extensions to ask for (`credProps` by default); see the `with_…` setters.
    pub extensions: CreationExtensions,
}

impl RegistrationRequest {
    /// Asks whether the new credential supports the PRF extension ([WebAuthn L3 §10.1.4]) and,
    /// with `eval`, for the PRF of those salts where the authenticator can give it at creation.
    /// The answer is in [`ClientExtensionResults::prf`](crate::ClientExtensionResults).
    ///
    /// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
    #[must_use]
    pub fn with_prf(mut self, eval: Option<PrfValues>) -> Self {
        self.extensions.prf = Some(PrfCreationInputs { eval });
        self
    }

    /// Asks for large-blob storage with the new credential ([WebAuthn L3 §10.1.5]); whether
    /// it was granted is `largeBlob.supported` in the results.
    ///
    /// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension
    #[must_use]
    pub fn with_large_blob(mut self, support: LargeBlobSupport) -> Self {
        self.extensions.large_blob = Some(LargeBlobCreationInputs { support });
        self
    }
}

/// What an authentication asks of the authenticator: the parts of
/// [`PublicKeyCredentialRequestOptions`](https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialrequestoptions)
/// that vary per ceremony.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticationRequest {
    /// The user's credentials; empty for a discoverable-credential (passkey, username-less)
    /// sign-in, where the user handle in the response identifies the user.
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// The user handle of the user being authenticated, when known in advance.
    pub user_handle: Option<Base64UrlBytes>,
    /// UV requirement (enforced on the response when `Required`).
    pub user_verification: UserVerification,
    /// UI hints.
    pub hints: Vec<Hint>,
    /// Client extensions to ask for; see the `with_…` setters. `appid` is the relying
    /// party's ([`RelyingParty::with_appid`]) whatever is set here.
    pub extensions: RequestExtensions,
}

impl AuthenticationRequest {
    /// Asks for the PRF ([WebAuthn L3 §10.1.4]) of these salts from whichever credential
    /// answers (`prf.eval`). The results are in
    /// [`ClientExtensionResults::prf`](crate::ClientExtensionResults).
    ///
    /// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
    #[must_use]
    pub fn with_prf(mut self, eval: PrfValues) -> Self {
        self.extensions
            .prf
            .get_or_insert_with(PrfRequestInputs::default)
            .eval = Some(eval);
        self
    }

    /// Asks for the PRF of these salts when `credential` answers (`prf.evalByCredential`,
    /// which takes precedence over [`with_prf`](Self::with_prf)). A client refuses
    /// `evalByCredential` keys that are not in `allowCredentials`, so `credential` is added to
    /// [`allow_credentials`](Self::allow_credentials) if it is not there; entries whose
    /// credential is not allowed when the options are made are left out of them.
    #[must_use]
    pub fn with_prf_for_credential(
        mut self,
        credential: CredentialDescriptor,
        eval: PrfValues,
    ) -> Self {
        let id = credential.id.clone();
        if !self
            .allow_credentials
            .iter()
            .any(|allowed| allowed.id == id)
        {
            self.allow_credentials.push(credential);
        }
        self.extensions
            .prf
            .get_or_insert_with(PrfRequestInputs::default)
            .eval_by_credential
            .insert(id, eval);
        self
    }

    /// Asks to read the credential's large blob ([WebAuthn L3 §10.1.5]); it arrives in
    /// `largeBlob.blob`. Replaces a write.
    ///
    /// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension
    #[must_use]
    pub fn with_large_blob_read(mut self) -> Self {
        self.extensions.large_blob = Some(LargeBlobRequestInputs::Read);
        self
    }

    /// Asks to store `blob` with `credential` ([WebAuthn L3 §10.1.5]); `largeBlob.written` says
    /// whether it was. A client accepts a write only when `allowCredentials` names exactly one
    /// credential, so this sets [`allow_credentials`](Self::allow_credentials) to `credential`
    /// alone; with another allow list when the options are made, the write is left out of
    /// them. Replaces a read.
    ///
    /// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension
    #[must_use]
    pub fn with_large_blob_write(
        mut self,
        credential: CredentialDescriptor,
        blob: impl Into<Vec<u8>>,
    ) -> Self {
        self.allow_credentials = vec![credential];
        self.extensions.large_blob = Some(LargeBlobRequestInputs::Write(Base64UrlBytes::new(blob)));
        self
    }
}

/// `PublicKeyCredentialRpEntity` ([WebAuthn L3 §5.4.2]).
///
/// [WebAuthn L3 §5.4.2]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialrpentity
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpEntity {
    /// The RP ID.
    pub id: String,
    /// The RP's name.
    pub name: String,
}

/// `PublicKeyCredentialParameters` ([WebAuthn L3 §5.3]).
///
/// [WebAuthn L3 §5.3]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialparameters
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialParameters {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A COSE algorithm identifier.
    pub alg: i64,
}

/// `AuthenticatorSelectionCriteria` ([WebAuthn L3 §5.4.4]).
///
/// [WebAuthn L3 §5.4.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticatorselectioncriteria
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// Platform or roaming.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// Discoverable credential wish.
    pub resident_key: ResidentKey,
    /// Level 1 compatibility: `residentKey == required`.
    pub require_resident_key: bool,
    /// UV requirement.
    pub user_verification: UserVerification,
}

/// Client extensions requested at registration (`AuthenticationExtensionsClientInputsJSON`,
/// [WebAuthn L3 §9]); absent members are left out of the JSON. The default asks for
/// `credProps` only. See the [`extensions`](crate::extensions) module for the outputs.
///
/// [WebAuthn L3 §9]: https://www.w3.org/TR/webauthn-3/#sctn-extensions
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreationExtensions {
    /// `credProps` ([WebAuthn L3 §10.1.3]): `true` by default, so the results say whether the
    /// credential is discoverable.
    ///
    /// [WebAuthn L3 §10.1.3]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-credential-properties-extension
    #[serde(default, skip_serializing_if = "is_false")]
    pub cred_props: bool,
    /// `prf` ([WebAuthn L3 §10.1.4]).
    ///
    /// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<PrfCreationInputs>,
    /// `largeBlob` ([WebAuthn L3 §10.1.5]).
    ///
    /// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_blob: Option<LargeBlobCreationInputs>,
}

impl Default for CreationExtensions {
    fn default() -> Self {
        Self {
            cred_props: true,
            prf: None,
            large_blob: None,
        }
    }
}

// serde's `skip_serializing_if` passes a reference.
fn is_false(value: &bool) -> bool {
    !*value
}

/// Client extensions requested at authentication (`AuthenticationExtensionsClientInputsJSON`,
/// [WebAuthn L3 §9]); absent members are left out of the JSON. See the
/// [`extensions`](crate::extensions) module for the outputs.
///
/// [WebAuthn L3 §9]: https://www.w3.org/TR/webauthn-3/#sctn-extensions
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestExtensions {
    /// `appid` ([WebAuthn L3 §10.1.1]): set from [`RelyingParty::with_appid`].
    ///
    /// [WebAuthn L3 §10.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-appid-extension
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub appid: Option<String>,
    /// `prf` ([WebAuthn L3 §10.1.4]).
    ///
    /// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prf: Option<PrfRequestInputs>,
    /// `largeBlob` ([WebAuthn L3 §10.1.5]): read or write.
    ///
    /// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub large_blob: Option<LargeBlobRequestInputs>,
}

impl RequestExtensions {
    /// What the options carry: the RP's AppID, and only what a client accepts with this allow
    /// list (`evalByCredential` entries for allowed credentials; a write with exactly one).
    fn for_options(&self, appid: Option<String>, allow: &[CredentialDescriptor]) -> Self {
        let allowed = |id: &CredentialId| allow.iter().any(|d| d.id == *id);
        let prf = self.prf.as_ref().map(|prf| PrfRequestInputs {
            eval: prf.eval.clone(),
            eval_by_credential: prf
                .eval_by_credential
                .iter()
                .filter(|(id, _)| allowed(id))
                .map(|(id, values)| (id.clone(), values.clone()))
                .collect(),
        });
        let large_blob = match &self.large_blob {
            Some(LargeBlobRequestInputs::Write(_)) if allow.len() != 1 => None,
            other => other.clone(),
        };
        Self {
            appid,
            prf,
            large_blob,
        }
    }
}

/// `PublicKeyCredentialCreationOptionsJSON` ([WebAuthn L3 §5.4], [§5.1.9]): serialize with
/// `serde_json` and hand to `PublicKeyCredential.parseCreationOptionsFromJSON`.
///
/// [WebAuthn L3 §5.4]: https://www.w3.org/TR/webauthn-3/#dictionary-makecredentialoptions
/// [§5.1.9]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialcreationoptionsjson
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The relying party.
    pub rp: RpEntity,
    /// The user.
    pub user: UserEntity,
    /// The challenge.
    pub challenge: Base64UrlBytes,
    /// Accepted algorithms, in preference order.
    pub pub_key_cred_params: Vec<CredentialParameters>,
    /// Timeout in milliseconds.
    pub timeout: u64,
    /// Credentials the user already has.
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// Authenticator selection.
    pub authenticator_selection: AuthenticatorSelection,
    /// UI hints.
    pub hints: Vec<Hint>,
    /// Attestation conveyance preference.
    pub attestation: AttestationConveyance,
    /// Extensions.
    pub extensions: CreationExtensions,
}

/// `PublicKeyCredentialRequestOptionsJSON` ([WebAuthn L3 §5.5], [§5.1.10]): serialize with
/// `serde_json` and hand to `PublicKeyCredential.parseRequestOptionsFromJSON`.
///
/// [WebAuthn L3 §5.5]: https://www.w3.org/TR/webauthn-3/#dictionary-assertion-options
/// [§5.1.10]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialrequestoptionsjson
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// The challenge.
    pub challenge: Base64UrlBytes,
    /// Timeout in milliseconds.
    pub timeout: u64,
    /// The RP ID.
    pub rp_id: String,
    /// The user's credentials (empty: discoverable credentials).
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// UV requirement.
    pub user_verification: UserVerification,
    /// UI hints.
    pub hints: Vec<Hint>,
    /// Extensions.
    pub extensions: RequestExtensions,
}

/// What both ceremonies keep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CeremonyCommon {
    pub(crate) challenge: Challenge,
    pub(crate) rp_ids: Vec<String>,
    pub(crate) origins: Vec<String>,
    pub(crate) cross_origin: CrossOrigin,
    pub(crate) user_verification: UserVerification,
    pub(crate) created_at: UnixTime,
    pub(crate) timeout_ms: u64,
}

impl CeremonyCommon {
    pub(crate) fn check_not_expired(&self, now: UnixTime) -> Result<(), WebAuthnError> {
        let deadline = self
            .created_at
            .saturating_add(Duration::from_millis(self.timeout_ms));
        if now > deadline {
            Err(WebAuthnError::Expired)
        } else {
            Ok(())
        }
    }
}

/// The server-side state of a registration ([WebAuthn L3 §7.1]): keep it (serde) from
/// [`RelyingParty::start_registration`] until the response arrives, then call
/// [`RegistrationState::verify`](crate::RegistrationState::verify), which consumes it. Not
/// `Clone`: a ceremony answers one response. Kept in a store, it is *taken* before it is used
/// ([`crate::start_registration`], [`crate::finish_registration`]).
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
#[derive(Debug, Serialize, Deserialize)]
pub struct RegistrationState {
    #[serde(flatten)]
    pub(crate) common: CeremonyCommon,
    pub(crate) user_handle: Base64UrlBytes,
    pub(crate) algorithms: Vec<i64>,
    pub(crate) exclude_credentials: Vec<CredentialId>,
}

/// The server-side state of an authentication ([WebAuthn L3 §7.2]): keep it (serde) from
/// [`RelyingParty::start_authentication`] until the response arrives, then call
/// [`AuthenticationState::verify`](crate::AuthenticationState::verify), which consumes it. Not
/// `Clone`: a ceremony answers one assertion. Kept in a store, it is *taken* (atomically loaded
/// and deleted) before it is used ([`crate::start_authentication`],
/// [`crate::finish_authentication`]), so a replayed assertion finds no ceremony; the signature
/// counter cannot be relied on for that (synced passkeys keep it at 0).
///
/// [WebAuthn L3 §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthenticationState {
    #[serde(flatten)]
    pub(crate) common: CeremonyCommon,
    pub(crate) allow_credentials: Vec<CredentialId>,
    pub(crate) user_handle: Option<Base64UrlBytes>,
    pub(crate) appid: Option<String>,
    pub(crate) sign_count: SignCountPolicy,
}

impl RegistrationState {
    /// The user handle this registration is for.
    #[must_use]
    pub fn user_handle(&self) -> &[u8] {
        self.user_handle.as_bytes()
    }
}
