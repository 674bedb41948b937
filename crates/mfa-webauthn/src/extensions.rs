//! Client extensions ([WebAuthn L3 §9], [§10]): what a ceremony asks for in its options
//! (`AuthenticationExtensionsClientInputsJSON`) and what the client answers in
//! `clientExtensionResults` (`AuthenticationExtensionsClientOutputsJSON`).
//!
//! | extension | input (options) | output (response) |
//! |---|---|---|
//! | `appid` ([§10.1.1]) | [`RequestExtensions::appid`](crate::RequestExtensions), from [`RelyingParty::with_appid`](crate::RelyingParty::with_appid) | [`ClientExtensionResults::appid`] |
//! | `credProps` ([§10.1.3]) | [`CreationExtensions::cred_props`](crate::CreationExtensions) (on by default) | [`ClientExtensionResults::cred_props`] |
//! | `prf` ([§10.1.4]) | [`PrfCreationInputs`], [`PrfRequestInputs`] | [`ClientExtensionResults::prf`] |
//! | `largeBlob` ([§10.1.5]) | [`LargeBlobCreationInputs`], [`LargeBlobRequestInputs`] | [`ClientExtensionResults::large_blob`] |
//!
//! **Outputs are unsigned.** `clientExtensionResults` sits outside the authenticator's
//! signature: a script in the page or a modified client can write anything there. The verifier
//! parses them within bounds and returns them as the client sent them
//! ([`RegisteredCredential::client_extension_results`](crate::RegisteredCredential),
//! [`VerifiedAssertion::client_extension_results`](crate::VerifiedAssertion::client_extension_results));
//! it does not refuse a correctly signed response because an output does not match what was
//! asked (for example `largeBlob.written` without a `write`, or PRF results without `eval`).
//! Such a check would not make the outputs trustworthy, and would turn a client's quirk into a
//! failed sign-in. Treat each output as the client's claim. The one output the verifier acts on
//! is `appid`, and only within the RP's own configuration: `appid: true` lets the AppID's hash
//! stand in for the RP ID's, and only when the ceremony asked for that AppID.
//!
//! **PRF results are secrets.** [`PrfOutput`] is zeroized on drop, compared in constant time,
//! its `Debug` prints only its length, and it has neither `Display` nor `Serialize`; read it with
//! [`PrfOutput::expose_secret`].
//!
//! [WebAuthn L3 §9]: https://www.w3.org/TR/webauthn-3/#sctn-extensions
//! [§10]: https://www.w3.org/TR/webauthn-3/#sctn-defined-extensions
//! [§10.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-appid-extension
//! [§10.1.3]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-credential-properties-extension
//! [§10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
//! [§10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension

use core::fmt;
use std::borrow::Cow;
use std::collections::BTreeMap;

use mfa_core::SecretBytes;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};

use crate::base64url::{self, Base64UrlBytes};
use crate::credential_id::CredentialId;
use crate::error::WebAuthnError;

/// The longest PRF output accepted, in bytes. The PRF extension's outputs are 32 bytes
/// (HMAC-SHA-256 through CTAP2 `hmac-secret`); anything up to 64 is accepted, so a future
/// 64-byte PRF still parses.
pub const MAX_PRF_OUTPUT_LEN: usize = 64;

/// The longest `largeBlob.blob` accepted, in bytes: 32 KiB, so that its base64url text (43,691
/// characters) fits beside the rest of an assertion within
/// [`MAX_RESPONSE_JSON_LEN`](crate::response::MAX_RESPONSE_JSON_LEN). Authenticators store far
/// less (CTAP 2.1 asks for at least 1,024 bytes of large-blob storage in all).
pub const MAX_LARGE_BLOB_LEN: usize = 32 * 1024;

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

/// Client extension outputs (`clientExtensionResults`, [WebAuthn L3 §9], in the
/// `AuthenticationExtensionsClientOutputsJSON` form). Absent members are `None`; members of
/// extensions this library does not know are ignored.
///
/// Unsigned: see the [module docs](crate::extensions) for what that means for their use.
///
/// [WebAuthn L3 §9]: https://www.w3.org/TR/webauthn-3/#sctn-extensions
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientExtensionResults {
    /// `appid` ([§10.1.1]): `true` when the client used the FIDO AppID instead of the RP ID.
    ///
    /// [§10.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-appid-extension
    pub appid: Option<bool>,
    /// `credProps` ([§10.1.3]): properties of a new credential, at registration.
    ///
    /// [§10.1.3]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-credential-properties-extension
    pub cred_props: Option<CredentialProperties>,
    /// `prf` ([§10.1.4]): whether the credential supports the PRF, and its results.
    ///
    /// [§10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
    pub prf: Option<PrfOutputs>,
    /// `largeBlob` ([§10.1.5]): support at registration, the blob read or whether a write
    /// succeeded at authentication.
    ///
    /// [§10.1.5]: https://www.w3.org/TR/webauthn-3/#sctn-large-blob-extension
    pub large_blob: Option<LargeBlobOutputs>,
}

impl ClientExtensionResults {
    /// `credProps.rk`: whether the client reports the credential as discoverable (a passkey),
    /// `None` if it did not say.
    #[must_use]
    pub fn discoverable(&self) -> Option<bool> {
        self.cred_props.and_then(|props| props.rk)
    }
}

/// `CredentialPropertiesOutput` ([WebAuthn L3 §10.1.3]).
///
/// [WebAuthn L3 §10.1.3]: https://www.w3.org/TR/webauthn-3/#dictdef-credentialpropertiesoutput
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialProperties {
    /// `rk`: whether the credential is discoverable (client-side discoverable, "resident"), if
    /// the client knows.
    pub rk: Option<bool>,
}

/// `AuthenticationExtensionsPRFOutputs` ([WebAuthn L3 §10.1.4]).
///
/// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionsprfoutputs
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrfOutputs {
    /// `enabled`: at registration, whether the new credential supports the PRF.
    pub enabled: Option<bool>,
    /// `results`: the PRF evaluated on the salts the ceremony sent (`eval` or
    /// `evalByCredential`). Secret.
    pub results: Option<PrfResults>,
}

/// `AuthenticationExtensionsPRFValues` as output ([WebAuthn L3 §10.1.4]): one result per salt.
///
/// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionsprfvalues
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrfResults {
    /// The PRF of the first salt.
    pub first: PrfOutput,
    /// The PRF of the second salt, when one was sent.
    pub second: Option<PrfOutput>,
}

/// One PRF result ([WebAuthn L3 §10.1.4]): secret key material (for example a key that
/// decrypts the user's data).
///
/// Zeroized on drop (best effort: the response JSON it was decoded from is the caller's
/// buffer), compared in constant time ([`subtle::ConstantTimeEq`]; lengths are not secret),
/// `Debug` prints the length only, no `Display`, no `Serialize`. 1 to [`MAX_PRF_OUTPUT_LEN`]
/// bytes.
///
/// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#prf-extension
#[derive(Clone)]
pub struct PrfOutput(SecretBytes);

impl PrfOutput {
    /// Wraps bytes (taking ownership, no copy), for example to compare with an output.
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if `bytes` is empty or longer than [`MAX_PRF_OUTPUT_LEN`]
    /// (the bytes are zeroized before the error returns).
    pub fn new(bytes: Vec<u8>) -> Result<Self, WebAuthnError> {
        let output = Self(SecretBytes::new(bytes));
        if output.0.is_empty() || output.0.len() > MAX_PRF_OUTPUT_LEN {
            return Err(WebAuthnError::Malformed("prf result must be 1 to 64 bytes"));
        }
        Ok(output)
    }

    /// The secret bytes. Keep what you do with them short-lived, and never log them.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Length in bytes (not secret).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: an output has at least one byte.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn from_b64url(text: &str) -> Result<Self, WebAuthnError> {
        let bytes = base64url::decode(text, MAX_PRF_OUTPUT_LEN)
            .map_err(|_| WebAuthnError::Malformed("prf result too long or not base64url"))?;
        Self::new(bytes)
    }
}

impl fmt::Debug for PrfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrfOutput")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl ConstantTimeEq for PrfOutput {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for PrfOutput {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PrfOutput {}

/// `AuthenticationExtensionsLargeBlobOutputs` ([WebAuthn L3 §10.1.5]). `Debug` prints the
/// blob's length, not its contents.
///
/// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionslargebloboutputs
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LargeBlobOutputs {
    /// `supported`: at registration, whether the new credential can store a large blob.
    pub supported: Option<bool>,
    /// `blob`: at authentication after `read`, the blob stored with the credential (at most
    /// [`MAX_LARGE_BLOB_LEN`] bytes).
    pub blob: Option<Vec<u8>>,
    /// `written`: at authentication after `write`, whether the blob was stored.
    pub written: Option<bool>,
}

impl fmt::Debug for LargeBlobOutputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LargeBlobOutputs")
            .field("supported", &self.supported)
            .field("blob_len", &self.blob.as_ref().map(Vec::len))
            .field("written", &self.written)
            .finish()
    }
}

/// `clientExtensionResults` as it arrives; strings are borrowed from the input where they have
/// no escapes. Turned into [`ClientExtensionResults`] by [`Self::into_results`], which applies
/// the bounds.
#[derive(Deserialize)]
pub(crate) struct RawClientExtensionResults<'a> {
    #[serde(default)]
    appid: Option<bool>,
    #[serde(rename = "credProps", default)]
    cred_props: Option<RawCredProps>,
    #[serde(default, borrow)]
    prf: Option<RawPrfOutputs<'a>>,
    #[serde(rename = "largeBlob", default, borrow)]
    large_blob: Option<RawLargeBlobOutputs<'a>>,
}

#[derive(Deserialize)]
struct RawCredProps {
    #[serde(default)]
    rk: Option<bool>,
}

#[derive(Deserialize)]
struct RawPrfOutputs<'a> {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default, borrow)]
    results: Option<RawPrfValues<'a>>,
}

#[derive(Deserialize)]
struct RawPrfValues<'a> {
    #[serde(borrow)]
    first: Cow<'a, str>,
    #[serde(default, borrow)]
    second: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawLargeBlobOutputs<'a> {
    #[serde(default)]
    supported: Option<bool>,
    #[serde(default, borrow)]
    blob: Option<Cow<'a, str>>,
    #[serde(default)]
    written: Option<bool>,
}

impl RawClientExtensionResults<'_> {
    /// Decodes the binary members within their bounds.
    pub(crate) fn into_results(self) -> Result<ClientExtensionResults, WebAuthnError> {
        let prf = match self.prf {
            None => None,
            Some(raw) => Some(PrfOutputs {
                enabled: raw.enabled,
                results: match raw.results {
                    None => None,
                    Some(values) => Some(PrfResults {
                        first: PrfOutput::from_b64url(&values.first)?,
                        second: values
                            .second
                            .as_deref()
                            .map(PrfOutput::from_b64url)
                            .transpose()?,
                    }),
                },
            }),
        };
        let large_blob = match self.large_blob {
            None => None,
            Some(raw) => Some(LargeBlobOutputs {
                supported: raw.supported,
                blob: raw
                    .blob
                    .as_deref()
                    .map(|text| {
                        base64url::decode(text, MAX_LARGE_BLOB_LEN).map_err(|_| {
                            WebAuthnError::Malformed("largeBlob.blob too long or not base64url")
                        })
                    })
                    .transpose()?,
                written: raw.written,
            }),
        };
        Ok(ClientExtensionResults {
            appid: self.appid,
            cred_props: self.cred_props.map(|c| CredentialProperties { rk: c.rk }),
            prf,
            large_blob,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// `AuthenticationExtensionsPRFValues` as input ([WebAuthn L3 §10.1.4]): one or two salts the
/// RP chooses, base64url in JSON. The client hashes each with a WebAuthn-specific prefix before
/// the authenticator sees it. Not secret, but `Debug` prints only their lengths.
///
/// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionsprfvalues
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrfValues {
    /// The first salt.
    pub first: Base64UrlBytes,
    /// An optional second salt (for example to rotate a key: the old and the new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second: Option<Base64UrlBytes>,
}

impl PrfValues {
    /// One salt.
    #[must_use]
    pub fn new(first: impl Into<Vec<u8>>) -> Self {
        Self {
            first: Base64UrlBytes::new(first),
            second: None,
        }
    }

    /// Adds a second salt.
    #[must_use]
    pub fn with_second(mut self, second: impl Into<Vec<u8>>) -> Self {
        self.second = Some(Base64UrlBytes::new(second));
        self
    }
}

impl fmt::Debug for PrfValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrfValues")
            .field("first_len", &self.first.as_bytes().len())
            .field(
                "second_len",
                &self.second.as_ref().map(|s| s.as_bytes().len()),
            )
            .finish()
    }
}

/// The `prf` input at registration ([WebAuthn L3 §10.1.4]): `{}` asks only whether the new
/// credential supports the PRF (`enabled`); `eval` also asks for results where the
/// authenticator can give them at creation. (`evalByCredential` is not allowed at registration,
/// so this type has none.)
///
/// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionsprfinputs
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrfCreationInputs {
    /// Salts to evaluate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<PrfValues>,
}

/// The `prf` input at authentication ([WebAuthn L3 §10.1.4]): `eval` for whichever credential
/// answers, `evalByCredential` per credential id (base64url keys), which takes precedence.
///
/// A client refuses the whole request when an `evalByCredential` key is not in
/// `allowCredentials`, so the options leave such entries out (see
/// [`AuthenticationRequest::with_prf_for_credential`](crate::AuthenticationRequest::with_prf_for_credential),
/// which adds the credential to the allow list).
///
/// [WebAuthn L3 §10.1.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionsprfinputs
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrfRequestInputs {
    /// Salts for any credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<PrfValues>,
    /// Salts per credential id.
    #[serde(
        rename = "evalByCredential",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub eval_by_credential: BTreeMap<CredentialId, PrfValues>,
}

/// `LargeBlobSupport` ([WebAuthn L3 §10.1.5]): whether a registration needs large-blob
/// storage.
///
/// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#enumdef-largeblobsupport
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LargeBlobSupport {
    /// Only an authenticator with large-blob storage may create the credential.
    Required,
    /// Large-blob storage if available; `largeBlob.supported` says whether it was.
    Preferred,
}

/// The `largeBlob` input at registration ([WebAuthn L3 §10.1.5]): `{"support": …}`.
///
/// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionslargeblobinputs
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeBlobCreationInputs {
    /// Required or preferred.
    pub support: LargeBlobSupport,
}

/// The `largeBlob` input at authentication ([WebAuthn L3 §10.1.5]): read the blob, or write
/// one, never both (`{"read": true}` or `{"write": "<base64url>"}`). `Debug` prints a written
/// blob's length only.
///
/// A client refuses `write` unless `allowCredentials` names exactly one credential; see
/// [`AuthenticationRequest::with_large_blob_write`](crate::AuthenticationRequest::with_large_blob_write).
///
/// [WebAuthn L3 §10.1.5]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationextensionslargeblobinputs
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawLargeBlobRequest", into = "RawLargeBlobRequest")]
pub enum LargeBlobRequestInputs {
    /// `{"read": true}`: return the stored blob in `largeBlob.blob`.
    Read,
    /// `{"write": …}`: store this blob; `largeBlob.written` says whether it was.
    Write(Base64UrlBytes),
}

impl fmt::Debug for LargeBlobRequestInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read => f.write_str("Read"),
            Self::Write(blob) => f
                .debug_struct("Write")
                .field("len", &blob.as_bytes().len())
                .finish(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RawLargeBlobRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    write: Option<Base64UrlBytes>,
}

impl TryFrom<RawLargeBlobRequest> for LargeBlobRequestInputs {
    type Error = &'static str;

    fn try_from(raw: RawLargeBlobRequest) -> Result<Self, Self::Error> {
        match (raw.read, raw.write) {
            (Some(true), None) => Ok(Self::Read),
            (None | Some(false), Some(blob)) => Ok(Self::Write(blob)),
            (Some(true), Some(_)) => Err("largeBlob asks to read and write at once"),
            (_, None) => Err("largeBlob asks neither to read nor to write"),
        }
    }
}

impl From<LargeBlobRequestInputs> for RawLargeBlobRequest {
    fn from(input: LargeBlobRequestInputs) -> Self {
        match input {
            LargeBlobRequestInputs::Read => Self {
                read: Some(true),
                write: None,
            },
            LargeBlobRequestInputs::Write(blob) => Self {
                read: None,
                write: Some(blob),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_output_bounds_and_debug() {
        assert!(PrfOutput::new(Vec::new()).is_err());
        assert!(PrfOutput::new(vec![7; MAX_PRF_OUTPUT_LEN + 1]).is_err());
        let output = PrfOutput::new(vec![0xAB; 32]).unwrap();
        assert_eq!(format!("{output:?}"), "PrfOutput { len: 32, .. }");
        assert_eq!(output, PrfOutput::new(vec![0xAB; 32]).unwrap());
        assert_ne!(output, PrfOutput::new(vec![0xAB; 31]).unwrap());
        assert_ne!(output, PrfOutput::new(vec![0xAC; 32]).unwrap());
    }

    #[test]
    fn large_blob_request_json() {
        let read = serde_json::to_value(LargeBlobRequestInputs::Read).unwrap();
        assert_eq!(read, serde_json::json!({"read": true}));
        let write = LargeBlobRequestInputs::Write(Base64UrlBytes::new(b"hi".to_vec()));
        assert_eq!(
            serde_json::to_value(&write).unwrap(),
            serde_json::json!({"write": "aGk"})
        );
        for bad in [
            serde_json::json!({"read": true, "write": "aGk"}),
            serde_json::json!({}),
            serde_json::json!({"read": false}),
        ] {
            assert!(serde_json::from_value::<LargeBlobRequestInputs>(bad).is_err());
        }
    }
}
