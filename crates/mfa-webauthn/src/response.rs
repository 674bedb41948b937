//! The credential responses a browser sends back, in the WebAuthn L3 JSON form
//! ([WebAuthn L3 §5.1.8] `RegistrationResponseJSON`, `AuthenticationResponseJSON`), and the
//! attestation object ([§6.5]).
//!
//! Every binary member is base64url (with or without `=` padding); the whole JSON is at most
//! [`MAX_RESPONSE_JSON_LEN`] bytes and each member has its own bound, `clientExtensionResults`
//! included (typed as [`ClientExtensionResults`]; see [`extensions`](crate::extensions)).
//!
//! Both responses parse with `from_json` or through `serde::Deserialize` (`axum::Json<…>`, any
//! serde format): one implementation, the same rules and per-member bounds, and an over-long
//! member is an error before it is decoded. Only the bound on the whole document differs: a
//! deserializer never sees the document's size, so behind a framework extractor the framework's
//! body limit is that bound. Set it to [`MAX_RESPONSE_JSON_LEN`] on the WebAuthn routes (axum:
//! `DefaultBodyLimit::max(MAX_RESPONSE_JSON_LEN)`; its default is 2 MB).
//!
//! [WebAuthn L3 §5.1.8]: https://www.w3.org/TR/webauthn-3/#dictdef-registrationresponsejson
//! [§6.5]: https://www.w3.org/TR/webauthn-3/#sctn-attestation

use std::borrow::Cow;

use ciborium::Value;
use serde::Deserialize;

use crate::authenticator_data::{MAX_AUTHENTICATOR_DATA_LEN, MAX_CREDENTIAL_ID_LEN};
use crate::base64url;
use crate::client_data::MAX_CLIENT_DATA_LEN;
use crate::cose::{CborLimits, decode_cbor_prefix};
use crate::credential_id::CredentialId;
use crate::error::WebAuthnError;
pub use crate::extensions::ClientExtensionResults;
use crate::extensions::RawClientExtensionResults;

/// The largest response JSON accepted, in bytes.
pub const MAX_RESPONSE_JSON_LEN: usize = 64 * 1024;

/// The largest attestation object accepted, in bytes.
pub const MAX_ATTESTATION_OBJECT_LEN: usize = 32 * 1024;

/// The largest assertion signature accepted (an RSA-8192 signature is 1 KiB).
const MAX_SIGNATURE_LEN: usize = 2048;

/// The longest user handle allowed ([WebAuthn L3 §5.4.3]: at most 64 bytes).
///
/// [WebAuthn L3 §5.4.3]: https://www.w3.org/TR/webauthn-3/#dom-publickeycredentialuserentity-id
pub const MAX_USER_HANDLE_LEN: usize = 64;

const ATTESTATION_OBJECT_LIMITS: CborLimits = CborLimits {
    max_depth: 8,
    max_items: 512,
};

/// A parsed `AuthenticationResponseJSON` ([WebAuthn L3 §5.1.8]).
///
/// Parse it with [`from_json`](Self::from_json), or deserialize it (`axum::Json<Self>`): the
/// same rules and per-member bounds. `from_json` also refuses a document over
/// [`MAX_RESPONSE_JSON_LEN`]; through `Deserialize` that bound is the framework's body limit
/// (see the [module docs](crate::response)).
///
/// [WebAuthn L3 §5.1.8]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationresponsejson
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticationResponse {
    /// The credential id (`rawId`, equal to the decoded `id`).
    pub credential_id: CredentialId,
    /// `response.clientDataJSON`, the exact signed bytes.
    pub client_data_json: Vec<u8>,
    /// `response.authenticatorData`, the exact signed bytes.
    pub authenticator_data: Vec<u8>,
    /// `response.signature`.
    pub signature: Vec<u8>,
    /// `response.userHandle`, if the authenticator returned one.
    pub user_handle: Option<Vec<u8>>,
    /// `clientExtensionResults`.
    pub client_extension_results: ClientExtensionResults,
}

/// A parsed `RegistrationResponseJSON` ([WebAuthn L3 §5.1.8]).
///
/// Parse it with [`from_json`](Self::from_json), or deserialize it (`axum::Json<Self>`): the
/// same rules and per-member bounds. `from_json` also refuses a document over
/// [`MAX_RESPONSE_JSON_LEN`]; through `Deserialize` that bound is the framework's body limit
/// (see the [module docs](crate::response)).
///
/// [WebAuthn L3 §5.1.8]: https://www.w3.org/TR/webauthn-3/#dictdef-registrationresponsejson
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// The credential id (`rawId`, equal to the decoded `id`).
    pub credential_id: CredentialId,
    /// `response.clientDataJSON`, the exact bytes.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`, the exact bytes.
    pub attestation_object: Vec<u8>,
    /// `response.transports` (or a top-level `transports`, as some libraries send).
    pub transports: Vec<String>,
    /// `clientExtensionResults`.
    pub client_extension_results: ClientExtensionResults,
}

// Strings are borrowed from the input where they have no escapes (they never do in base64url).
#[derive(Deserialize)]
struct RawAssertion<'a> {
    #[serde(rename = "clientDataJSON", borrow)]
    client_data_json: Cow<'a, str>,
    #[serde(rename = "authenticatorData", borrow)]
    authenticator_data: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(rename = "userHandle", default, borrow)]
    user_handle: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawAttestation<'a> {
    #[serde(rename = "clientDataJSON", borrow)]
    client_data_json: Cow<'a, str>,
    #[serde(rename = "attestationObject", borrow)]
    attestation_object: Cow<'a, str>,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawCredential<'a, R> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "rawId", default, borrow)]
    raw_id: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    type_: Option<Cow<'a, str>>,
    response: R,
    #[serde(rename = "clientExtensionResults", default, borrow)]
    client_extension_results: Option<RawClientExtensionResults<'a>>,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

const MAX_TRANSPORTS: usize = 16;

/// The first step of [`AuthenticationResponse::from_json`] and [`RegistrationResponse::from_json`]:
/// the whole-document bound, then the JSON shape. The rules on the members are
/// [`RawCredential::into_envelope`] and the `from_raw` functions, shared with `Deserialize`.
fn parse_json<'a, R: Deserialize<'a>>(
    json: &'a [u8],
) -> Result<RawCredential<'a, R>, WebAuthnError> {
    if json.len() > MAX_RESPONSE_JSON_LEN {
        return Err(WebAuthnError::Malformed("response JSON too long"));
    }
    serde_json::from_slice(json)
        .map_err(|_| WebAuthnError::Malformed("response is not a PublicKeyCredential JSON"))
}

/// What both responses share, checked: `type`, `id` = `rawId`, `clientExtensionResults`; and
/// what is left for each response's own rules.
struct Envelope<R> {
    credential_id: CredentialId,
    response: R,
    client_extension_results: ClientExtensionResults,
    transports: Option<Vec<String>>,
}

impl<R> RawCredential<'_, R> {
    fn into_envelope(self) -> Result<Envelope<R>, WebAuthnError> {
        if self.type_.as_deref().is_some_and(|t| t != "public-key") {
            return Err(WebAuthnError::Malformed(
                "credential type is not public-key",
            ));
        }
        let id = CredentialId::from_b64url(&self.id)?;
        if let Some(raw_id) = &self.raw_id {
            let raw_id = base64url::decode(raw_id, MAX_CREDENTIAL_ID_LEN)?;
            if raw_id != id.as_bytes() {
                return Err(WebAuthnError::Malformed("id and rawId differ"));
            }
        }
        let client_extension_results = self
            .client_extension_results
            .map(RawClientExtensionResults::into_results)
            .transpose()?
            .unwrap_or_default();
        Ok(Envelope {
            credential_id: id,
            response: self.response,
            client_extension_results,
            transports: self.transports,
        })
    }
}

impl AuthenticationResponse {
    /// Parses an `AuthenticationResponseJSON` (the output of `PublicKeyCredential.toJSON()`),
    /// at most [`MAX_RESPONSE_JSON_LEN`] bytes. The same as deserializing with
    /// `serde_json`, plus that whole-document bound.
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the JSON is too long, not of that shape, a member is not
    /// base64url or exceeds its bound, or `id` and `rawId` differ.
    pub fn from_json(json: &[u8]) -> Result<Self, WebAuthnError> {
        Self::from_raw(parse_json(json)?)
    }

    fn from_raw(raw: RawCredential<'_, RawAssertion<'_>>) -> Result<Self, WebAuthnError> {
        let Envelope {
            credential_id,
            response: r,
            client_extension_results,
            transports: _,
        } = raw.into_envelope()?;
        let user_handle =
            match r.user_handle.as_deref() {
                None => None,
                // An empty user handle is how some clients say "none".
                Some("") => None,
                Some(text) => Some(base64url::decode(text, MAX_USER_HANDLE_LEN).map_err(|_| {
                    WebAuthnError::Malformed("user handle too long or not base64url")
                })?),
            };
        Ok(Self {
            credential_id,
            client_data_json: base64url::decode(&r.client_data_json, MAX_CLIENT_DATA_LEN)?,
            authenticator_data: base64url::decode(
                &r.authenticator_data,
                MAX_AUTHENTICATOR_DATA_LEN,
            )?,
            signature: base64url::decode(&r.signature, MAX_SIGNATURE_LEN)?,
            user_handle,
            client_extension_results,
        })
    }
}

impl RegistrationResponse {
    /// Parses a `RegistrationResponseJSON` (the output of `PublicKeyCredential.toJSON()`), at
    /// most [`MAX_RESPONSE_JSON_LEN`] bytes. The same as deserializing with `serde_json`, plus
    /// that whole-document bound.
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the JSON is too long, not of that shape, a member is not
    /// base64url or exceeds its bound, or `id` and `rawId` differ.
    pub fn from_json(json: &[u8]) -> Result<Self, WebAuthnError> {
        Self::from_raw(parse_json(json)?)
    }

    fn from_raw(raw: RawCredential<'_, RawAttestation<'_>>) -> Result<Self, WebAuthnError> {
        let Envelope {
            credential_id,
            response: r,
            client_extension_results,
            transports: outer_transports,
        } = raw.into_envelope()?;
        let mut transports = r.transports.or(outer_transports).unwrap_or_default();
        if transports.len() > MAX_TRANSPORTS || transports.iter().any(|t| t.len() > 32) {
            return Err(WebAuthnError::Malformed("too many or too long transports"));
        }
        transports.dedup();
        Ok(Self {
            credential_id,
            client_data_json: base64url::decode(&r.client_data_json, MAX_CLIENT_DATA_LEN)?,
            attestation_object: base64url::decode(
                &r.attestation_object,
                MAX_ATTESTATION_OBJECT_LEN,
            )?,
            transports,
            client_extension_results,
        })
    }
}

/// The same rules and per-member bounds as [`AuthenticationResponse::from_json`] (a refusal is a
/// deserialization error whose message is the [`WebAuthnError`]'s), except the bound on the
/// whole document, which a deserializer cannot see: behind a framework extractor such as
/// `axum::Json`, the framework's body limit applies. Set it to [`MAX_RESPONSE_JSON_LEN`].
impl<'de> Deserialize<'de> for AuthenticationResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawCredential::<RawAssertion>::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

/// The same rules and per-member bounds as [`RegistrationResponse::from_json`] (a refusal is a
/// deserialization error whose message is the [`WebAuthnError`]'s), except the bound on the
/// whole document, which a deserializer cannot see: behind a framework extractor such as
/// `axum::Json`, the framework's body limit applies. Set it to [`MAX_RESPONSE_JSON_LEN`].
impl<'de> Deserialize<'de> for RegistrationResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawCredential::<RawAttestation>::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

/// A decoded attestation object ([WebAuthn L3 §6.5.4]): `fmt`, `attStmt` and the raw `authData`.
///
/// [WebAuthn L3 §6.5.4]: https://www.w3.org/TR/webauthn-3/#sctn-generating-an-attestation-object
#[derive(Clone, Debug, PartialEq)]
pub struct AttestationObject {
    /// `fmt`.
    pub format: String,
    /// `attStmt` (a CBOR map).
    pub statement: Value,
    /// `authData`, the exact bytes.
    pub authenticator_data: Vec<u8>,
}

impl AttestationObject {
    /// Decodes an attestation object: one CBOR map with text keys `fmt`, `attStmt`, `authData`,
    /// definite lengths, bounded depth and item count, no duplicates, no trailing bytes.
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if it is not such a map.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        if bytes.len() > MAX_ATTESTATION_OBJECT_LEN {
            return Err(WebAuthnError::Malformed("attestation object too long"));
        }
        let (value, used) = decode_cbor_prefix(bytes, ATTESTATION_OBJECT_LIMITS)
            .map_err(|_| WebAuthnError::Malformed("attestation object is not valid CBOR"))?;
        if used != bytes.len() {
            return Err(WebAuthnError::Malformed(
                "trailing bytes after attestation object",
            ));
        }
        let Value::Map(entries) = value else {
            return Err(WebAuthnError::Malformed("attestation object is not a map"));
        };
        let mut format = None;
        let mut statement = None;
        let mut auth_data = None;
        for (key, value) in entries {
            let Value::Text(key) = key else {
                return Err(WebAuthnError::Malformed(
                    "attestation object key is not text",
                ));
            };
            let slot_taken = match key.as_str() {
                "fmt" => match value {
                    Value::Text(f) => format.replace(f).is_some(),
                    _ => return Err(WebAuthnError::Malformed("fmt is not text")),
                },
                "attStmt" => match value {
                    Value::Map(_) => statement.replace(value).is_some(),
                    _ => return Err(WebAuthnError::Malformed("attStmt is not a map")),
                },
                "authData" => match value {
                    Value::Bytes(b) => auth_data.replace(b).is_some(),
                    _ => return Err(WebAuthnError::Malformed("authData is not a byte string")),
                },
                _ => false,
            };
            if slot_taken {
                return Err(WebAuthnError::Malformed(
                    "duplicate key in attestation object",
                ));
            }
        }
        Ok(Self {
            format: format.ok_or(WebAuthnError::Malformed("attestation object without fmt"))?,
            statement: statement.ok_or(WebAuthnError::Malformed(
                "attestation object without attStmt",
            ))?,
            authenticator_data: auth_data.ok_or(WebAuthnError::Malformed(
                "attestation object without authData",
            ))?,
        })
    }
}

/// Fuzzing entry point: parses arbitrary bytes as registration and authentication response
/// JSON, with `from_json` and through `Deserialize` (which must agree on every input within
/// [`MAX_RESPONSE_JSON_LEN`]), and as much of what they carry as parses; must never panic.
#[doc(hidden)]
pub fn fuzz_response_json(data: &[u8]) {
    let assertion = AuthenticationResponse::from_json(data);
    let registration = RegistrationResponse::from_json(data);
    if data.len() <= MAX_RESPONSE_JSON_LEN {
        let assertion_serde = serde_json::from_slice::<AuthenticationResponse>(data);
        assert_eq!(assertion.as_ref().ok(), assertion_serde.as_ref().ok());
        let registration_serde = serde_json::from_slice::<RegistrationResponse>(data);
        assert_eq!(registration.as_ref().ok(), registration_serde.as_ref().ok());
    }
    if let Ok(response) = assertion {
        let _ = crate::client_data::CollectedClientData::parse(&response.client_data_json);
        let _ = crate::authenticator_data::AuthenticatorData::parse(&response.authenticator_data);
    }
    if let Ok(response) = registration {
        let _ = crate::client_data::CollectedClientData::parse(&response.client_data_json);
        if let Ok(object) = AttestationObject::from_cbor(&response.attestation_object) {
            let _ = crate::authenticator_data::AuthenticatorData::parse(&object.authenticator_data);
        }
    }
}
