//! The one error type of this crate: what failed in a ceremony, for the operator.

use core::fmt;

use mfa_core::Rejection;

use crate::attestation::AttestationError;
use crate::cose::CoseError;
use crate::crypto::SignatureError;

/// Why a WebAuthn registration or authentication was refused ([WebAuthn L3 §7.1], [§7.2]).
///
/// [`Rejection::reason`] gives a stable `snake_case` kind for logs, metrics and the `mfa webauthn`
/// CLI. Messages never contain the challenge or other ceremony secrets.
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
/// [§7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebAuthnError {
    /// The response, client data, authenticator data or a CBOR structure is not well-formed, is
    /// too large, or breaks a structural rule (`malformed`).
    Malformed(&'static str),
    /// `clientDataJSON.type` is not the one this ceremony expects (`malformed`).
    TypeMismatch,
    /// The challenge in the client data is not the one issued (`challenge_mismatch`).
    ChallengeMismatch,
    /// The origin in the client data is not allowed (`origin_mismatch`).
    OriginMismatch,
    /// `crossOrigin` or `topOrigin` is present but not allowed (`cross_origin_not_allowed`).
    CrossOriginNotAllowed,
    /// The rpIdHash is not the hash of an allowed RP ID or AppID (`rp_id_mismatch`).
    RpIdMismatch,
    /// The UP flag is not set (`user_presence_required`).
    UserPresenceRequired,
    /// The ceremony required user verification and the UV flag is not set
    /// (`user_verification_required`).
    UserVerificationRequired,
    /// BS is set without BE, or BE differs from the registered value (`backup_flags_invalid`).
    BackupFlagsInvalid,
    /// The credential is not one this ceremony allows or the user owns (`unknown_credential`).
    UnknownCredential,
    /// The user handle does not belong to the credential's owner (`user_handle_mismatch`).
    UserHandleMismatch,
    /// The assertion signature does not verify (`bad_signature`).
    BadSignature,
    /// The signature counter did not increase and the policy rejects that
    /// (`counter_not_increased`).
    CounterNotIncreased {
        /// The counter stored for the credential.
        stored: u32,
        /// The counter in the authenticator data.
        received: u32,
    },
    /// A COSE algorithm that is not supported or not allowed for this ceremony
    /// (`unsupported_algorithm`).
    UnsupportedAlgorithm(i64),
    /// An attestation statement format this library does not know
    /// (`unsupported_attestation_format`).
    UnsupportedAttestationFormat(String),
    /// The attestation statement is malformed, breaks its format's rules or does not verify
    /// (`attestation_invalid`).
    AttestationInvalid(String),
    /// The credential id is on the ceremony's exclude list (`credential_excluded`).
    CredentialExcluded,
    /// The ceremony state is older than its timeout (`expired`).
    Expired,
}

impl fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed response: {why}"),
            Self::TypeMismatch => f.write_str("client data type does not match the ceremony"),
            Self::ChallengeMismatch => f.write_str("challenge does not match the one issued"),
            Self::OriginMismatch => f.write_str("origin is not an expected origin"),
            Self::CrossOriginNotAllowed => {
                f.write_str("cross-origin use or top origin is not allowed")
            }
            Self::RpIdMismatch => f.write_str("rpIdHash does not match an expected RP ID"),
            Self::UserPresenceRequired => f.write_str("user presence flag is not set"),
            Self::UserVerificationRequired => {
                f.write_str("user verification was required but the UV flag is not set")
            }
            Self::BackupFlagsInvalid => f.write_str("backup eligibility/state flags are invalid"),
            Self::UnknownCredential => f.write_str("credential is not allowed for this user"),
            Self::UserHandleMismatch => f.write_str("user handle does not match the credential"),
            Self::BadSignature => f.write_str("assertion signature does not verify"),
            Self::CounterNotIncreased { stored, received } => write!(
                f,
                "signature counter {received} did not increase over stored {stored}"
            ),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported COSE algorithm {id}"),
            Self::UnsupportedAttestationFormat(format) => {
                write!(f, "unsupported attestation format {format:?}")
            }
            Self::AttestationInvalid(why) => write!(f, "attestation rejected: {why}"),
            Self::CredentialExcluded => f.write_str("credential is already registered"),
            Self::Expired => f.write_str("ceremony has expired"),
        }
    }
}

impl std::error::Error for WebAuthnError {}

impl Rejection for WebAuthnError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::TypeMismatch => "malformed",
            Self::ChallengeMismatch => "challenge_mismatch",
            Self::OriginMismatch => "origin_mismatch",
            Self::CrossOriginNotAllowed => "cross_origin_not_allowed",
            Self::RpIdMismatch => "rp_id_mismatch",
            Self::UserPresenceRequired => "user_presence_required",
            Self::UserVerificationRequired => "user_verification_required",
            Self::BackupFlagsInvalid => "backup_flags_invalid",
            Self::UnknownCredential => "unknown_credential",
            Self::UserHandleMismatch => "user_handle_mismatch",
            Self::BadSignature => "bad_signature",
            Self::CounterNotIncreased { .. } => "counter_not_increased",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::UnsupportedAttestationFormat(_) => "unsupported_attestation_format",
            Self::AttestationInvalid(_) => "attestation_invalid",
            Self::CredentialExcluded => "credential_excluded",
            Self::Expired => "expired",
        }
    }

    /// None: nothing in a WebAuthn response can be guessed. A signature over a fresh challenge
    /// cannot be produced without the private key, and every other failure (malformed input,
    /// wrong origin, expired ceremony, unknown credential) is equally out of reach of guessing.
    /// Counting them would only let anyone who knows a credential id (public: it travels in
    /// `allowCredentials`) lock the owner out. The user-verification PIN is guessed against
    /// the authenticator, which limits it itself (CTAP 2.1: 8 tries).
    fn counts_as_failure(&self) -> bool {
        false
    }
}

impl From<CoseError> for WebAuthnError {
    fn from(error: CoseError) -> Self {
        match error {
            CoseError::UnsupportedAlgorithm(id) => Self::UnsupportedAlgorithm(id),
            _ => Self::Malformed("credential public key is not a valid COSE key"),
        }
    }
}

impl From<SignatureError> for WebAuthnError {
    fn from(error: SignatureError) -> Self {
        match error {
            SignatureError::UnsupportedAlgorithm(id) => Self::UnsupportedAlgorithm(id),
            // A signature that is not even well-formed does not verify either.
            _ => Self::BadSignature,
        }
    }
}

impl From<AttestationError> for WebAuthnError {
    fn from(error: AttestationError) -> Self {
        match error {
            AttestationError::UnsupportedFormat(format) => {
                Self::UnsupportedAttestationFormat(format)
            }
            AttestationError::UnsupportedAlgorithm(id) => Self::UnsupportedAlgorithm(id),
            other => Self::AttestationInvalid(other.to_string()),
        }
    }
}
