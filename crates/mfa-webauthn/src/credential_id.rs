//! The credential id ([WebAuthn L3 §4], "Credential ID"): one type wherever an id appears.
//!
//! [WebAuthn L3 §4]: https://www.w3.org/TR/webauthn-3/#credential-id

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::authenticator_data::MAX_CREDENTIAL_ID_LEN;
use crate::base64url;
use crate::error::WebAuthnError;

/// A WebAuthn credential id ([WebAuthn L3 §4], "Credential ID"): 1 to
/// [`CredentialId::MAX_LEN`] (1023) bytes the authenticator chose. Public, not a secret: it
/// travels in `allowCredentials` and in every response.
///
/// The one type for every credential id on the WebAuthn side: the responses'
/// [`credential_id`](crate::AuthenticationResponse::credential_id),
/// [`StoredCredential::id`](crate::StoredCredential::id),
/// [`CredentialDescriptor::id`](crate::CredentialDescriptor::id), the attested credential data,
/// [`record_key`](crate::record_key) and [`find_credential`](crate::find_credential).
///
/// Serializes as unpadded base64url (as `PublicKeyCredential.toJSON()` and the stored record
/// write it); deserializes base64url with or without `=` padding, refusing an empty or over-long
/// id. `Display` and `Debug` print the base64url text.
///
/// Not to be confused with [`mfa_core::CredentialId`], the factor-neutral text identifier an
/// [`mfa_core::Evidence`] carries: `mfa_core::CredentialId::from(&id)` converts (to the
/// base64url text), which is what a verified assertion's evidence holds.
///
/// ```
/// use mfa_webauthn::CredentialId;
///
/// let id = CredentialId::from_b64url("AQI=")?; // with or without padding
/// assert_eq!(id, CredentialId::from_b64url("AQI")?);
/// assert_eq!(id.as_bytes(), [1, 2]);
/// assert_eq!(id.to_string(), "AQI");
/// assert_eq!(mfa_core::CredentialId::from(&id).as_str(), "AQI");
/// assert!(CredentialId::new(Vec::new()).is_err());
/// assert!(CredentialId::new(vec![0; 1024]).is_err());
/// # Ok::<(), mfa_webauthn::WebAuthnError>(())
/// ```
///
/// [WebAuthn L3 §4]: https://www.w3.org/TR/webauthn-3/#credential-id
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(Vec<u8>);

impl CredentialId {
    /// The longest credential id ([WebAuthn L3 §7.1]: "Verify that the credentialId is ≤ 1023
    /// bytes").
    ///
    /// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
    pub const MAX_LEN: usize = MAX_CREDENTIAL_ID_LEN;

    /// A credential id from its bytes.
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if `bytes` is empty or longer than [`Self::MAX_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, WebAuthnError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(WebAuthnError::Malformed("empty credential id"));
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(WebAuthnError::Malformed(
                "credential id longer than 1023 bytes",
            ));
        }
        Ok(Self(bytes))
    }

    /// A fixed-size id; the size is checked when the program is compiled.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn from_array<const N: usize>(bytes: [u8; N]) -> Self {
        const { assert!(N > 0 && N <= MAX_CREDENTIAL_ID_LEN) };
        Self(bytes.to_vec())
    }

    /// Decodes base64url text, with or without `=` padding (the standard alphabet's `+` and `/`
    /// are accepted too, as in [`base64url::decode`]).
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the text is not base64url of 1 to [`Self::MAX_LEN`]
    /// bytes.
    pub fn from_b64url(text: &str) -> Result<Self, WebAuthnError> {
        let bytes = base64url::decode(text, Self::MAX_LEN).map_err(|_| {
            WebAuthnError::Malformed("credential id is not base64url of at most 1023 bytes")
        })?;
        Self::new(bytes)
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The unpadded base64url text (also what `Display` prints, and the record id under
    /// [`record_key`](crate::record_key)).
    #[must_use]
    pub fn to_b64url(&self) -> String {
        base64url::encode(&self.0)
    }

    /// The bytes, owned.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialId({})", self.to_b64url())
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_b64url())
    }
}

impl FromStr for CredentialId {
    type Err = WebAuthnError;

    /// As [`CredentialId::from_b64url`].
    fn from_str(text: &str) -> Result<Self, WebAuthnError> {
        Self::from_b64url(text)
    }
}

impl TryFrom<Vec<u8>> for CredentialId {
    type Error = WebAuthnError;

    fn try_from(bytes: Vec<u8>) -> Result<Self, WebAuthnError> {
        Self::new(bytes)
    }
}

impl TryFrom<&[u8]> for CredentialId {
    type Error = WebAuthnError;

    fn try_from(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        Self::new(bytes)
    }
}

impl AsRef<[u8]> for CredentialId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The evidence form: the id as base64url text.
impl From<&CredentialId> for mfa_core::CredentialId {
    fn from(id: &CredentialId) -> Self {
        Self::new(id.to_b64url())
    }
}

/// The evidence form: the id as base64url text.
impl From<CredentialId> for mfa_core::CredentialId {
    fn from(id: CredentialId) -> Self {
        Self::from(&id)
    }
}

impl Serialize for CredentialId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_b64url())
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = CredentialId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a credential id: base64url of 1 to 1023 bytes")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<CredentialId, E> {
                CredentialId::from_b64url(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_forms() {
        assert!(CredentialId::new(vec![7; 1023]).is_ok());
        assert!(CredentialId::new(vec![7; 1024]).is_err());
        assert!(CredentialId::new(Vec::new()).is_err());
        assert!(CredentialId::from_b64url("").is_err());
        assert!(CredentialId::from_b64url(&base64url::encode(&[7; 1024])).is_err());
        let id = CredentialId::from_b64url("AQI=").unwrap();
        assert_eq!(id, CredentialId::from_b64url("AQI").unwrap());
        assert_eq!(id, CredentialId::from_array([1, 2]));
        assert_eq!(format!("{id} {id:?}"), "AQI CredentialId(AQI)");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""AQI""#);
        assert_eq!(
            serde_json::from_str::<CredentialId>(r#""AQI=""#).unwrap(),
            id
        );
        assert!(serde_json::from_str::<CredentialId>(r#""""#).is_err());
        assert!(serde_json::from_str::<CredentialId>("[1,2]").is_err());
    }
}
