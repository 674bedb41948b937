//! The device's P-256 public key as a JSON Web Key ([RFC 7517], EC parameters per
//! [RFC 7518 §6.2.1]) and its [RFC 7638] thumbprint, the device id.
//!
//! [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517
//! [RFC 7518 §6.2.1]: https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1
//! [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638

use core::fmt;

use p256::ecdsa::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::b64;
use crate::error::PushError;
use crate::ids::DeviceId;

/// A P-256 public key as a JWK: exactly `{"kty":"EC","crv":"P-256","x":…,"y":…}`, with `x` and `y`
/// the 32-byte big-endian affine coordinates in unpadded base64url ([RFC 7518 §6.2.1]).
///
/// Parsing refuses any other member (`d` above all: a private key has no business here), any
/// other curve, coordinates that are not exactly 32 bytes, and points not on the curve.
///
/// [RFC 7518 §6.2.1]: https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JwkMembers", into = "JwkMembers")]
pub struct PublicJwk {
    x: [u8; 32],
    y: [u8; 32],
    key: VerifyingKey,
}

/// The JSON members, in the order this crate writes them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwkMembers {
    kty: String,
    crv: String,
    x: String,
    y: String,
}

impl PublicJwk {
    /// The JWK of a P-256 verifying key.
    #[must_use]
    pub fn from_key(key: &VerifyingKey) -> Self {
        let point = key.to_sec1_point(false);
        let (mut x, mut y) = ([0_u8; 32], [0_u8; 32]);
        // An uncompressed SEC 1 point is 0x04 ‖ x ‖ y, 65 bytes.
        if let Some((_tag, coordinates)) = point.as_bytes().split_first()
            && let Some((px, py)) = coordinates.split_at_checked(32)
        {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        Self { x, y, key: *key }
    }

    /// Builds the key from its coordinates.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if the point is not on the curve.
    pub fn from_coordinates(x: [u8; 32], y: [u8; 32]) -> Result<Self, PushError> {
        let mut sec1 = [0_u8; 65];
        sec1[0] = 0x04;
        sec1[1..33].copy_from_slice(&x);
        sec1[33..].copy_from_slice(&y);
        let key = VerifyingKey::from_sec1_bytes(&sec1)
            .map_err(|_| PushError::Malformed("jwk is not a point on P-256"))?;
        Ok(Self { x, y, key })
    }

    /// The key, to verify signatures with.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The x coordinate in base64url.
    #[must_use]
    pub fn x_b64url(&self) -> String {
        b64::encode(&self.x)
    }

    /// The y coordinate in base64url.
    #[must_use]
    pub fn y_b64url(&self) -> String {
        b64::encode(&self.y)
    }

    /// The key's [RFC 7638] thumbprint, which is its device id: SHA-256 over the required members
    /// in lexicographic order with no whitespace, `{"crv":"P-256","kty":"EC","x":"…","y":"…"}`.
    ///
    /// [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638#section-3.2
    #[must_use]
    pub fn thumbprint(&self) -> DeviceId {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x_b64url(),
            self.y_b64url()
        );
        DeviceId::from_digest(Sha256::digest(canonical.as_bytes()).into())
    }
}

impl TryFrom<JwkMembers> for PublicJwk {
    type Error = PushError;
    fn try_from(members: JwkMembers) -> Result<Self, PushError> {
        if members.kty != "EC" || members.crv != "P-256" {
            return Err(PushError::Malformed("jwk is not an EC P-256 key"));
        }
        let coordinate = |text: &str| {
            b64::decode_array::<32>(text).ok_or(PushError::Malformed(
                "jwk coordinate is not 32 bytes of base64url",
            ))
        };
        Self::from_coordinates(coordinate(&members.x)?, coordinate(&members.y)?)
    }
}

impl From<PublicJwk> for JwkMembers {
    fn from(jwk: PublicJwk) -> Self {
        Self {
            kty: "EC".to_owned(),
            crv: "P-256".to_owned(),
            x: jwk.x_b64url(),
            y: jwk.y_b64url(),
        }
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("x", &self.x_b64url())
            .field("y", &self.y_b64url())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A published EC thumbprint: transmute-industries/jwt.vc, `src/services/test-key.ts` ("the
    /// correct thumbprint", hex), which Python's hashlib reproduces.
    #[test]
    fn thumbprint_matches_a_published_value() {
        let jwk: PublicJwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256",
                "x":"V8ctRWc2deLSjfOjqQm7-m33SinduQbKJVgSHFj7ZxQ",
                "y":"svjg0e-iAe5zElQhfqqagr4-S8k3WWgzz6JDPmRE_bk"}"#,
        )
        .unwrap();
        let hex = "1235335bd15b2c75f3e84f4c681d85cbc059c00d7910d1bad0690a2af566aaf8";
        let expected: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(jwk.thumbprint().as_str(), b64::encode(&expected));
        // Tampered twin: one coordinate bit flipped is another key (or none at all).
        let tampered: Result<PublicJwk, _> = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256",
                "x":"V8ctRWc2deLSjfOjqQm7-m33SinduQbKJVgSHFj7ZxQ",
                "y":"svjg0e-iAe5zElQhfqqagr4-S8k3WWgzz6JDPmRE_bg"}"#,
        );
        assert!(tampered.is_err_and(|e| e.to_string().contains("not a point on P-256")));
    }

    #[test]
    fn only_public_p256_jwks_parse() {
        let base = r#""x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
        let ok = format!(r#"{{"kty":"EC","crv":"P-256",{base}}}"#);
        let jwk: PublicJwk = serde_json::from_str(&ok).unwrap();
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            format!(r#"{{"kty":"EC","crv":"P-256",{base}}}"#).replace(' ', "")
        );
        for bad in [
            format!(r#"{{"kty":"EC","crv":"P-384",{base}}}"#),
            format!(r#"{{"kty":"RSA","crv":"P-256",{base}}}"#),
            format!(
                r#"{{"kty":"EC","crv":"P-256",{base},"d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}}"#
            ),
            format!(r#"{{"kty":"EC","crv":"P-256",{base},"kty":"EC"}}"#),
            r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#.to_owned(),
        ] {
            assert!(serde_json::from_str::<PublicJwk>(&bad).is_err(), "{bad}");
        }
    }
}
