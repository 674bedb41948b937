//! Client data ([WebAuthn L3 §5.8.1] `CollectedClientData`), parsed from the exact
//! `clientDataJSON` bytes the authenticator's signature covers.
//!
//! [WebAuthn L3 §5.8.1]: https://www.w3.org/TR/webauthn-3/#dictdef-collectedclientdata

use serde::Deserialize;

use crate::base64url;
use crate::error::WebAuthnError;

/// The largest `clientDataJSON` accepted, in bytes.
pub const MAX_CLIENT_DATA_LEN: usize = 4 * 1024;

/// The largest challenge accepted in client data, in bytes.
pub const MAX_CHALLENGE_LEN: usize = 1024;

/// The longest origin accepted, in bytes.
const MAX_ORIGIN_LEN: usize = 1024;

/// The ceremony a piece of client data belongs to (`type`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientDataType {
    /// `webauthn.create`: registration ([§7.1](https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential)).
    Create,
    /// `webauthn.get`: authentication ([§7.2](https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion)).
    Get,
}

impl ClientDataType {
    /// The `type` string.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "webauthn.create",
            Self::Get => "webauthn.get",
        }
    }
}

/// Parsed client data ([WebAuthn L3 §5.8.1]).
///
/// [WebAuthn L3 §5.8.1]: https://www.w3.org/TR/webauthn-3/#dictdef-collectedclientdata
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectedClientData {
    /// `type`, as sent (checked against the ceremony later).
    pub type_: String,
    /// `challenge`, decoded from base64url.
    pub challenge: Vec<u8>,
    /// `origin`.
    pub origin: String,
    /// `crossOrigin` (absent means `false`).
    pub cross_origin: bool,
    /// `topOrigin`, if present.
    pub top_origin: Option<String>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(rename = "type")]
    type_: String,
    #[serde(borrow)]
    challenge: std::borrow::Cow<'a, str>,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

impl CollectedClientData {
    /// Parses `clientDataJSON` (JSON per [WebAuthn L3 §5.8.1.2]; unknown members are ignored,
    /// duplicate members rejected).
    ///
    /// [WebAuthn L3 §5.8.1.2]: https://www.w3.org/TR/webauthn-3/#clientdatajson-verification
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the bytes are too long, not JSON, or miss a member.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        if bytes.len() > MAX_CLIENT_DATA_LEN {
            return Err(WebAuthnError::Malformed("clientDataJSON too long"));
        }
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|_| WebAuthnError::Malformed("clientDataJSON is not valid client data"))?;
        if raw.origin.len() > MAX_ORIGIN_LEN
            || raw
                .top_origin
                .as_ref()
                .is_some_and(|o| o.len() > MAX_ORIGIN_LEN)
        {
            return Err(WebAuthnError::Malformed("origin too long"));
        }
        let challenge = base64url::decode(&raw.challenge, MAX_CHALLENGE_LEN)
            .map_err(|_| WebAuthnError::Malformed("client data challenge is not base64url"))?;
        Ok(Self {
            type_: raw.type_,
            challenge,
            origin: raw.origin,
            cross_origin: raw.cross_origin.unwrap_or(false),
            top_origin: raw.top_origin,
        })
    }
}

/// Fuzzing entry point: parses arbitrary bytes as `clientDataJSON`; must never panic.
#[doc(hidden)]
pub fn fuzz_client_data(data: &[u8]) {
    if let Ok(parsed) = CollectedClientData::parse(data) {
        assert!(data.len() <= MAX_CLIENT_DATA_LEN);
        assert!(parsed.challenge.len() <= MAX_CHALLENGE_LEN);
        let _ =
            crate::origin::origin_allowed(&parsed.origin, core::slice::from_ref(&parsed.origin));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_shape() {
        let c = CollectedClientData::parse(
            br#"{"type":"webauthn.get","challenge":"AQID","origin":"https://example.org","crossOrigin":false,"extra":{"a":[1]}}"#,
        )
        .unwrap();
        assert_eq!(c.challenge, [1, 2, 3]);
        assert!(!c.cross_origin);
        assert_eq!(c.top_origin, None);
    }

    #[test]
    fn rejects_duplicates_and_bad_types() {
        assert!(
            CollectedClientData::parse(
                br#"{"type":"webauthn.get","type":"webauthn.create","challenge":"AQID","origin":"o"}"#
            )
            .is_err()
        );
        assert!(
            CollectedClientData::parse(
                br#"{"type":"webauthn.get","challenge":"AQID","origin":"o","crossOrigin":"yes"}"#
            )
            .is_err()
        );
        assert!(CollectedClientData::parse(b"[]").is_err());
        assert!(CollectedClientData::parse(&[b' '; MAX_CLIENT_DATA_LEN + 1]).is_err());
    }
}
