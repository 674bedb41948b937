//! The one error type of this crate: what failed, for the operator.

use core::fmt;
use core::time::Duration;

use mfa_core::Rejection;

use crate::events::FraudReport;

/// Why a push message, enrollment, challenge or answer was refused.
///
/// [`Rejection::reason`] gives a stable `snake_case` kind for logs, metrics and the `mfa push`
/// CLI. Messages never contain the number, a token or anything the user typed; show end users one
/// opaque message ("that didn't work") and keep the variant for logs and support.
///
/// Only [`WrongNumber`](Self::WrongNumber) counts toward throttling (see
/// [`counts_as_failure`](Rejection::counts_as_failure)).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The message is not well-formed: not three base64url parts, bad JSON, a missing or unknown
    /// field, a value out of range, too large (`malformed`).
    Malformed(&'static str),
    /// The JWS `alg` is not `ES256` (`none` included) (`unsupported_algorithm`).
    UnsupportedAlgorithm,
    /// The JWS `typ` names another message (a response sent where a registration is expected …):
    /// the domain separation at work (`wrong_message_type`).
    WrongMessageType,
    /// The payload's `v` is not a version this library reads (`unsupported_version`).
    UnsupportedVersion,
    /// No enrolled device has the message's `kid` (`unknown_device`).
    UnknownDevice,
    /// The signature does not verify with the device's key, or, for a registration, with the key
    /// the message carries (proof of possession failed) (`bad_signature`).
    BadSignature,
    /// The message's `iat` is further from the server's clock than the allowed skew
    /// (`clock_skew`).
    ClockSkew,
    /// No enrollment has that token: never issued, already used, or removed
    /// (`enrollment_not_found`).
    EnrollmentNotFound,
    /// The enrollment token expired before the device registered (`enrollment_expired`).
    EnrollmentExpired,
    /// A device with this key (device id) is registered already, to this account or another
    /// (`device_already_registered`).
    DeviceAlreadyRegistered,
    /// The account has as many devices as the policy allows (`too_many_devices`).
    TooManyDevices {
        /// The policy's limit.
        max: usize,
    },
    /// A newer challenge replaced this one: at most one is pending per account (`superseded`).
    Superseded,
    /// The challenge expired before it was answered (`expired`).
    Expired,
    /// The number typed (or picked) on the phone is not the one shown (`wrong_number`). The only
    /// failure that counts toward throttling.
    WrongNumber,
    /// The user denied the sign-in on the phone (`denied`).
    Denied,
    /// The user reported the sign-in as fraud; push is locked for the account until
    /// [`unlock`](crate::unlock). The report is for the service to alert on (`fraud_reported`).
    FraudReported(Box<FraudReport>),
    /// The outcome was asked for with another transaction than the challenge was started for
    /// (`transaction_mismatch`).
    TransactionMismatch,
    /// Push is locked for the account after a fraud report, until [`unlock`](crate::unlock)
    /// (`fraud_locked`).
    FraudLocked,
    /// Too many denials since the last approval: no push until `retry_after` has passed
    /// (`denial_cap`).
    DenialCapReached {
        /// How long until a push may be sent again.
        retry_after: Duration,
    },
    /// Too many pushes since the last approval: the next one must wait (`push_cap`).
    PushCapReached {
        /// How long until a push may be sent again.
        retry_after: Duration,
    },
    /// The service asked for something this library does not do (an unsupported number-matching
    /// mode, a context field too long, a lifetime out of range …) (`invalid_request`).
    InvalidRequest(&'static str),
}

impl PushError {
    /// Whether the input was not a well-formed message of the expected kind (what the CLI answers
    /// with exit status 2), as opposed to a well-formed one that was refused.
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Self::Malformed(_)
                | Self::UnsupportedAlgorithm
                | Self::WrongMessageType
                | Self::UnsupportedVersion
        )
    }

    /// How long to wait before starting another challenge, for the refusals that lift by
    /// themselves (the value for an HTTP `Retry-After` header, rounded up by the caller).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::DenialCapReached { retry_after } | Self::PushCapReached { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The fraud report, when the user reported the sign-in as fraud.
    #[must_use]
    pub fn fraud_report(&self) -> Option<&FraudReport> {
        match self {
            Self::FraudReported(report) => Some(report),
            _ => None,
        }
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed push message: {why}"),
            Self::UnsupportedAlgorithm => f.write_str("JWS algorithm is not ES256"),
            Self::WrongMessageType => f.write_str("JWS typ names another kind of push message"),
            Self::UnsupportedVersion => f.write_str("push message version is not supported"),
            Self::UnknownDevice => f.write_str("no enrolled device has this key id"),
            Self::BadSignature => f.write_str("signature does not verify with the device key"),
            Self::ClockSkew => f.write_str("message time is too far from the server's clock"),
            Self::EnrollmentNotFound => {
                f.write_str("no such enrollment: never issued, already used, or removed")
            }
            Self::EnrollmentExpired => f.write_str("enrollment token has expired"),
            Self::DeviceAlreadyRegistered => f.write_str("this device key is registered already"),
            Self::TooManyDevices { max } => {
                write!(
                    f,
                    "the account already has the maximum of {max} push devices"
                )
            }
            Self::Superseded => f.write_str("a newer challenge replaced this one"),
            Self::Expired => f.write_str("challenge has expired"),
            Self::WrongNumber => f.write_str("the number entered on the device does not match"),
            Self::Denied => f.write_str("the user denied the sign-in"),
            Self::FraudReported(_) => f.write_str("the user reported the sign-in as fraud"),
            Self::TransactionMismatch => {
                f.write_str("the challenge belongs to another sign-in transaction")
            }
            Self::FraudLocked => {
                f.write_str("push is locked for this account after a fraud report")
            }
            Self::DenialCapReached { retry_after } => write!(
                f,
                "too many denied pushes; retry after {} s",
                retry_after.as_secs_f64().ceil()
            ),
            Self::PushCapReached { retry_after } => write!(
                f,
                "too many pushes without an approval; retry after {} s",
                retry_after.as_secs_f64().ceil()
            ),
            Self::InvalidRequest(why) => write!(f, "invalid push request: {why}"),
        }
    }
}

impl std::error::Error for PushError {}

impl Rejection for PushError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::WrongMessageType => "wrong_message_type",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnknownDevice => "unknown_device",
            Self::BadSignature => "bad_signature",
            Self::ClockSkew => "clock_skew",
            Self::EnrollmentNotFound => "enrollment_not_found",
            Self::EnrollmentExpired => "enrollment_expired",
            Self::DeviceAlreadyRegistered => "device_already_registered",
            Self::TooManyDevices { .. } => "too_many_devices",
            Self::Superseded => "superseded",
            Self::Expired => "expired",
            Self::WrongNumber => "wrong_number",
            Self::Denied => "denied",
            Self::FraudReported(_) => "fraud_reported",
            Self::TransactionMismatch => "transaction_mismatch",
            Self::FraudLocked => "fraud_locked",
            Self::DenialCapReached { .. } => "denial_cap",
            Self::PushCapReached { .. } => "push_cap",
            Self::InvalidRequest(_) => "invalid_request",
        }
    }

    /// Only [`WrongNumber`](PushError::WrongNumber): the number is the one thing in a push answer
    /// that can be guessed. Signatures cannot be guessed (and a forged answer is refused before it
    /// reaches the challenge), and a denial, a fraud report, an expired or superseded challenge are
    /// the user's real answers or the clock's, not guesses; counting them would let anyone who can
    /// trigger pushes lock the owner out. Denials have their own cap
    /// ([`PushPolicy::max_denials`](crate::PushPolicy::max_denials)).
    fn counts_as_failure(&self) -> bool {
        matches!(self, Self::WrongNumber)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wrong_number_counts() {
        let all = [
            PushError::Malformed("x"),
            PushError::UnsupportedAlgorithm,
            PushError::WrongMessageType,
            PushError::UnsupportedVersion,
            PushError::UnknownDevice,
            PushError::BadSignature,
            PushError::ClockSkew,
            PushError::EnrollmentNotFound,
            PushError::EnrollmentExpired,
            PushError::DeviceAlreadyRegistered,
            PushError::TooManyDevices { max: 1 },
            PushError::Superseded,
            PushError::Expired,
            PushError::WrongNumber,
            PushError::Denied,
            PushError::TransactionMismatch,
            PushError::FraudLocked,
            PushError::DenialCapReached {
                retry_after: Duration::from_secs(1),
            },
            PushError::PushCapReached {
                retry_after: Duration::from_millis(1_500),
            },
            PushError::InvalidRequest("x"),
        ];
        let counted: Vec<_> = all.iter().filter(|e| e.counts_as_failure()).collect();
        assert_eq!(counted, [&PushError::WrongNumber]);
        let mut reasons: Vec<_> = all.iter().map(Rejection::reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), all.len(), "every variant has its own reason");
        assert_eq!(
            all.iter().filter(|e| e.is_malformed()).count(),
            4,
            "format errors"
        );
        assert_eq!(
            all[18].to_string(),
            "too many pushes without an approval; retry after 2 s"
        );
        assert_eq!(all[18].retry_after(), Some(Duration::from_millis(1_500)));
    }
}
