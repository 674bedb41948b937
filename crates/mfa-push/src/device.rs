//! The phone's half (feature `device`): a P-256 key that registers and answers.
//!
//! For authenticator apps written in Rust, the `mfa push device` CLI and tests. A Swift or Kotlin
//! app does the same with its platform's crypto (see the crate README's wire format); this module
//! is the reference those apps are tested against.

use core::fmt;

use mfa_core::{CryptoRng, UnixTime};
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use zeroize::Zeroizing;

use crate::error::PushError;
use crate::ids::{ChallengeId, DeviceId};
use crate::jwk::PublicJwk;
use crate::uri::EnrollmentUri;
use crate::wire::{Answer, Platform, RequestOp, encode};

/// A device's P-256 signing key, with its device id.
///
/// The private key is zeroized on drop and `Debug` shows only the device id. On a phone the key
/// would live in the Secure Enclave or Android Keystore; here it is in memory, and
/// [`to_pkcs8_der`](Self::to_pkcs8_der) exports it (PKCS #8, as the CLI's key file keeps it).
/// Signatures are deterministic ([RFC 6979]), so signing needs no randomness.
///
/// [RFC 6979]: https://www.rfc-editor.org/rfc/rfc6979
#[derive(Clone)]
pub struct DeviceKey {
    key: SigningKey,
    device_id: DeviceId,
}

impl DeviceKey {
    /// A fresh key from `rng`.
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_signing_key(SigningKey::generate_from_rng(rng))
    }

    /// Reads a PKCS #8 (DER) P-256 private key.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if it is not one.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PushError> {
        SigningKey::from_pkcs8_der(der)
            .map(Self::from_signing_key)
            .map_err(|_| PushError::Malformed("not a PKCS #8 P-256 private key"))
    }

    /// The private key as PKCS #8 (DER), wiped when dropped.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if it cannot be encoded (does not happen with a valid key).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PushError> {
        self.key
            .to_pkcs8_der()
            .map(|document| Zeroizing::new(document.as_bytes().to_vec()))
            .map_err(|_| PushError::Malformed("key cannot be encoded as PKCS #8"))
    }

    fn from_signing_key(key: SigningKey) -> Self {
        let device_id = PublicJwk::from_key(key.verifying_key()).thumbprint();
        Self { key, device_id }
    }

    /// The device id: the RFC 7638 thumbprint of the public key.
    #[must_use]
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    /// The public key as a JWK.
    #[must_use]
    pub fn public_jwk(&self) -> PublicJwk {
        PublicJwk::from_key(self.key.verifying_key())
    }

    /// The registration message for the enrollment in `enrollment` (the scanned QR code): the
    /// public key in the header, the token, `name`, `platform` and the push-service token in the
    /// payload, signed with this key (proof of possession). Post it to
    /// [`EnrollmentUri::url`], where the service calls [`register_device`](crate::register_device).
    ///
    /// # Errors
    /// [`PushError::Malformed`] if `name` is empty, longer than 64 characters or has a control
    /// character, or `push_token` is empty, longer than 512 bytes or not printable ASCII.
    pub fn registration_message(
        &self,
        enrollment: &EnrollmentUri,
        name: &str,
        platform: Platform,
        push_token: Option<&str>,
        now: UnixTime,
    ) -> Result<String, PushError> {
        encode::registration(
            &self.key,
            enrollment.token(),
            name,
            platform,
            push_token,
            now,
        )
    }

    /// The signed answer to `challenge` (from the push payload or a pending request).
    ///
    /// # Errors
    /// [`PushError::Malformed`] only if the message cannot be encoded (does not happen).
    pub fn respond(
        &self,
        challenge: &ChallengeId,
        answer: &Answer,
        now: UnixTime,
    ) -> Result<String, PushError> {
        encode::response(&self.key, &self.device_id, challenge, answer, now)
    }

    /// The signed request for this device's pending challenges (poll mode; see
    /// [`pending_challenges`](crate::pending_challenges)).
    ///
    /// # Errors
    /// As [`respond`](Self::respond).
    pub fn request_pending(&self, now: UnixTime) -> Result<String, PushError> {
        encode::request(&self.key, &self.device_id, RequestOp::Pending, None, now)
    }

    /// The signed request for `challenge`'s context (see
    /// [`challenge_context`](crate::challenge_context)).
    ///
    /// # Errors
    /// As [`respond`](Self::respond).
    pub fn request_context(
        &self,
        challenge: &ChallengeId,
        now: UnixTime,
    ) -> Result<String, PushError> {
        encode::request(
            &self.key,
            &self.device_id,
            RequestOp::Context,
            Some(challenge),
            now,
        )
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}
