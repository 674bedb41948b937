//! Authenticator data ([WebAuthn L3 §6.1]) and attested credential data ([§6.5.2]).
//!
//! [WebAuthn L3 §6.1]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-data
//! [§6.5.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data

use ciborium::Value;

use crate::cose::{CborLimits, CoseKey, decode_cbor_prefix};
use crate::credential_id::CredentialId;
use crate::error::WebAuthnError;

/// The largest authenticator data accepted, in bytes.
pub const MAX_AUTHENTICATOR_DATA_LEN: usize = 16 * 1024;

/// The longest credential id allowed ([WebAuthn L3 §7.1] step "credentialId ≤ 1023 bytes").
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// Limits for the extensions map in authenticator data.
const EXTENSION_LIMITS: CborLimits = CborLimits {
    max_depth: 8,
    max_items: 256,
};

/// The flags byte of authenticator data ([WebAuthn L3 §6.1], `flags`).
///
/// [WebAuthn L3 §6.1]: https://www.w3.org/TR/webauthn-3/#authdata-flags
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthenticatorFlags(u8);

impl AuthenticatorFlags {
    /// Bit 0: user present.
    pub const UP: u8 = 0x01;
    /// Bit 2: user verified.
    pub const UV: u8 = 0x04;
    /// Bit 3: backup eligible.
    pub const BE: u8 = 0x08;
    /// Bit 4: backup state.
    pub const BS: u8 = 0x10;
    /// Bit 6: attested credential data included.
    pub const AT: u8 = 0x40;
    /// Bit 7: extension data included.
    pub const ED: u8 = 0x80;

    /// Wraps a flags byte.
    #[must_use]
    pub fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// The raw byte.
    #[must_use]
    pub fn bits(self) -> u8 {
        self.0
    }

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// UP: the user was present.
    #[must_use]
    pub fn user_present(self) -> bool {
        self.has(Self::UP)
    }

    /// UV: the user was verified.
    #[must_use]
    pub fn user_verified(self) -> bool {
        self.has(Self::UV)
    }

    /// BE: the credential may be backed up (synced passkey).
    #[must_use]
    pub fn backup_eligible(self) -> bool {
        self.has(Self::BE)
    }

    /// BS: the credential is currently backed up.
    #[must_use]
    pub fn backup_state(self) -> bool {
        self.has(Self::BS)
    }

    /// AT: attested credential data follows.
    #[must_use]
    pub fn attested_credential_data(self) -> bool {
        self.has(Self::AT)
    }

    /// ED: extensions follow.
    #[must_use]
    pub fn extension_data(self) -> bool {
        self.has(Self::ED)
    }
}

/// Attested credential data ([WebAuthn L3 §6.5.2]).
///
/// [WebAuthn L3 §6.5.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredentialData {
    /// The authenticator's AAGUID.
    pub aaguid: [u8; 16],
    /// The credential id (1 to [`MAX_CREDENTIAL_ID_LEN`] bytes).
    pub credential_id: CredentialId,
    /// The credential public key.
    pub public_key: CoseKey,
}

/// Parsed authenticator data ([WebAuthn L3 §6.1]).
///
/// [WebAuthn L3 §6.1]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-data
#[derive(Clone, Debug, PartialEq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID (or AppID) the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// The flags.
    pub flags: AuthenticatorFlags,
    /// The signature counter.
    pub sign_count: u32,
    /// Present when AT is set.
    pub attested_credential_data: Option<AttestedCredentialData>,
    /// The authenticator extension outputs (a CBOR map), present when ED is set.
    pub extensions: Option<Value>,
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], WebAuthnError> {
    let (head, tail) = rest
        .split_at_checked(n)
        .ok_or(WebAuthnError::Malformed("authenticator data truncated"))?;
    *rest = tail;
    Ok(head)
}

fn take_array<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], WebAuthnError> {
    take(rest, N)?
        .try_into()
        .map_err(|_| WebAuthnError::Malformed("authenticator data truncated"))
}

impl AuthenticatorData {
    /// Parses authenticator data; every byte must be accounted for (no trailing data).
    ///
    /// # Errors
    /// [`WebAuthnError::Malformed`] if the data is truncated, too long, has trailing bytes, a
    /// credential id that is empty or longer than 1023 bytes, or an extensions field that is not a CBOR map;
    /// [`WebAuthnError::UnsupportedAlgorithm`] for a credential key of an unsupported algorithm.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        if bytes.len() > MAX_AUTHENTICATOR_DATA_LEN {
            return Err(WebAuthnError::Malformed("authenticator data too long"));
        }
        let mut rest = bytes;
        let rp_id_hash = take_array::<32>(&mut rest)?;
        let [flags] = take_array::<1>(&mut rest)?;
        let flags = AuthenticatorFlags(flags);
        let sign_count = u32::from_be_bytes(take_array::<4>(&mut rest)?);

        let attested_credential_data = if flags.attested_credential_data() {
            let aaguid = take_array::<16>(&mut rest)?;
            let id_len = usize::from(u16::from_be_bytes(take_array::<2>(&mut rest)?));
            if id_len > MAX_CREDENTIAL_ID_LEN {
                return Err(WebAuthnError::Malformed(
                    "credential id longer than 1023 bytes",
                ));
            }
            let credential_id = CredentialId::new(take(&mut rest, id_len)?)?;
            let (public_key, used) = CoseKey::parse_prefix(rest)?;
            take(&mut rest, used)?;
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                public_key,
            })
        } else {
            None
        };

        let extensions = if flags.extension_data() {
            let (value, used) = decode_cbor_prefix(rest, EXTENSION_LIMITS)
                .map_err(|_| WebAuthnError::Malformed("authenticator extensions are not CBOR"))?;
            if !matches!(value, Value::Map(_)) {
                return Err(WebAuthnError::Malformed(
                    "authenticator extensions are not a map",
                ));
            }
            take(&mut rest, used)?;
            Some(value)
        } else {
            None
        };

        if !rest.is_empty() {
            return Err(WebAuthnError::Malformed(
                "trailing bytes after authenticator data",
            ));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential_data,
            extensions,
        })
    }
}

/// Fuzzing entry point: parses arbitrary bytes as authenticator data; must never panic.
#[doc(hidden)]
pub fn fuzz_authenticator_data(data: &[u8]) {
    if let Ok(parsed) = AuthenticatorData::parse(data) {
        assert_eq!(
            parsed.attested_credential_data.is_some(),
            parsed.flags.attested_credential_data()
        );
        assert_eq!(parsed.extensions.is_some(), parsed.flags.extension_data());
        if let Some(attested) = &parsed.attested_credential_data {
            assert!(attested.credential_id.as_bytes().len() <= MAX_CREDENTIAL_ID_LEN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(flags: u8) -> Vec<u8> {
        let mut v = vec![7u8; 32];
        v.push(flags);
        v.extend_from_slice(&5u32.to_be_bytes());
        v
    }

    #[test]
    fn minimal() {
        let d = AuthenticatorData::parse(&base(0x05)).unwrap();
        assert!(d.flags.user_present() && d.flags.user_verified());
        assert_eq!(d.sign_count, 5);
        assert!(AuthenticatorData::parse(&base(0x05)[..36]).is_err());
        let mut trailing = base(0x01);
        trailing.push(0);
        assert!(AuthenticatorData::parse(&trailing).is_err());
    }

    #[test]
    fn extensions_must_be_a_map() {
        let mut d = base(0x81);
        d.extend_from_slice(&[0xa1, 0x61, 0x61, 0xf5]); // {"a": true}
        assert!(AuthenticatorData::parse(&d).unwrap().extensions.is_some());
        let mut d = base(0x81);
        d.push(0x01);
        assert!(AuthenticatorData::parse(&d).is_err());
        assert!(AuthenticatorData::parse(&base(0x81)).is_err());
    }

    #[test]
    fn attested_data_truncations_fail() {
        let mut d = base(0x41);
        d.extend_from_slice(&[0u8; 16]);
        d.extend_from_slice(&[0x04, 0x00]); // 1024-byte id
        assert!(AuthenticatorData::parse(&d).is_err());
    }
}
