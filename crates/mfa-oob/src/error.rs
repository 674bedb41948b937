//! The one error type of this crate.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use mfa_core::Rejection;

use crate::message::Channel;
use crate::phone::{NumberKind, PhoneProblem};

/// Why sending or checking a one-time code failed.
///
/// Verification failures ([`CodeMismatch`](Self::CodeMismatch), [`Expired`](Self::Expired),
/// [`WrongTransaction`](Self::WrongTransaction) …) are for operators and logs: show the end user
/// one opaque message ("that code didn't work"). Send refusals ([`SendLimited`](Self::SendLimited)
/// …) may be shown ("you've reached our limit on verification texts; try again in 10 minutes").
/// No message ever contains a code, what the user typed, or a whole phone number.
///
/// [`http_status`](Self::http_status) maps each variant to the answer a web service gives.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum OobError {
    /// The code does not match the one sent. The code is used up: the user asks for a new one.
    CodeMismatch,
    /// The typed code is not 6 to 10 digits (spaces and hyphens aside). Checked before the
    /// store is touched, so a typo does not use up the code.
    MalformedCode,
    /// The code's lifetime ([`CodePolicy::lifetime`](crate::CodePolicy::lifetime)) is over.
    Expired,
    /// The code was sent for another sign-in (transaction) than the one it was typed into: a
    /// code relayed from one session to another. The code is used up.
    WrongTransaction,
    /// The phone the code was sent to was removed from the account (or changed) before the code
    /// came back.
    PhoneRemoved,
    /// No phone with that id is enrolled for the account.
    UnknownPhone,
    /// The account already has this number (or a phone with this id) enrolled.
    AlreadyEnrolled,
    /// The account has as many phones enrolled as the policy allows.
    TooManyPhones {
        /// The policy's maximum.
        max: usize,
    },
    /// The destination is not a usable phone number.
    InvalidNumber(PhoneProblem),
    /// The destination e-mail address is not usable (empty, too long, not `local@domain`).
    InvalidEmailAddress,
    /// The number's kind may not receive codes on this channel under the
    /// [`NumberPolicy`](crate::NumberPolicy): VoIP, premium-rate, toll-free … for SMS and voice,
    /// or a fixed line for SMS.
    NumberRefused {
        /// What the metadata says the number is.
        kind: NumberKind,
        /// The channel that was asked for.
        channel: Channel,
    },
    /// The channel cannot carry an authentication code under this policy: e-mail, unless
    /// opted into with [`OobPolicy::danger_allow_email_codes`](crate::OobPolicy::danger_allow_email_codes),
    /// or a channel that does not fit the destination.
    ChannelRefused(Channel),
    /// Sending to this country calling code is switched off (a budget of 0).
    CountryRefused {
        /// The country calling code.
        calling_code: u16,
    },
    /// A send limit was reached: wait `retry_after`.
    SendLimited {
        /// Which limit: the account's, the number's, or the country's budget.
        scope: SendLimitScope,
        /// How long until a send in this scope is allowed again.
        retry_after: Duration,
    },
    /// The [`Sender`](crate::Sender) could not deliver the message. The code was stored before
    /// the attempt and stays valid (a provider that timed out may still have delivered it); the
    /// send counts toward the limits (the provider may have charged for it).
    Delivery(DeliveryError),
    /// A parameter is out of range; the text says which and what is allowed.
    InvalidParameter(&'static str),
}

/// Which send limit refused a send ([`OobError::SendLimited`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendLimitScope {
    /// The account's own limits: sends per hour and per day, and the growing wait between
    /// resends.
    Account,
    /// The destination number's limits (several accounts may share a number, and an attacker may
    /// make up accounts to flood one phone).
    Number,
    /// The budget of all sends to one country calling code (against SMS pumping fraud, which
    /// spreads sends over many numbers of expensive destinations).
    Country {
        /// The country calling code.
        calling_code: u16,
    },
}

impl fmt::Display for SendLimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Account => f.write_str("the account"),
            Self::Number => f.write_str("the phone number"),
            Self::Country { calling_code } => write!(f, "country code +{calling_code}"),
        }
    }
}

/// A [`Sender`](crate::Sender) could not deliver a message.
///
/// Carries the transport's error (a provider's HTTP status, a timeout). A sender must not put the
/// message text (which holds the code) or the full number into it.
#[derive(Clone, Debug)]
pub struct DeliveryError(Arc<dyn std::error::Error + Send + Sync>);

impl DeliveryError {
    /// Wraps the transport's error.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(Arc::from(cause.into()))
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the message could not be delivered: {}", self.0)
    }
}

impl std::error::Error for DeliveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

impl OobError {
    /// How long to wait before sending again, for [`SendLimited`](Self::SendLimited).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::SendLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The HTTP status a web service should answer with:
    ///
    /// | error | status |
    /// |---|---|
    /// | [`CodeMismatch`](Self::CodeMismatch), [`Expired`](Self::Expired), [`WrongTransaction`](Self::WrongTransaction), [`PhoneRemoved`](Self::PhoneRemoved) | 401 Unauthorized (one answer for every wrong code) |
    /// | [`MalformedCode`](Self::MalformedCode), [`InvalidNumber`](Self::InvalidNumber), [`InvalidEmailAddress`](Self::InvalidEmailAddress), [`InvalidParameter`](Self::InvalidParameter) | 400 Bad Request |
    /// | [`UnknownPhone`](Self::UnknownPhone) | 404 Not Found |
    /// | [`AlreadyEnrolled`](Self::AlreadyEnrolled), [`TooManyPhones`](Self::TooManyPhones) | 409 Conflict |
    /// | [`NumberRefused`](Self::NumberRefused), [`ChannelRefused`](Self::ChannelRefused), [`CountryRefused`](Self::CountryRefused) | 422 Unprocessable Content |
    /// | [`SendLimited`](Self::SendLimited) | 429 Too Many Requests, with `Retry-After` from [`retry_after`](Self::retry_after) |
    /// | [`Delivery`](Self::Delivery) | 502 Bad Gateway |
    ///
    /// Inside an [`AttemptError`](mfa_core::AttemptError), use this for
    /// [`AttemptError::Rejected`](mfa_core::AttemptError::Rejected) and
    /// [`AttemptError::http_status`](mfa_core::AttemptError::http_status) for the rest.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Self::CodeMismatch | Self::Expired | Self::WrongTransaction | Self::PhoneRemoved => 401,
            Self::MalformedCode
            | Self::InvalidNumber(_)
            | Self::InvalidEmailAddress
            | Self::InvalidParameter(_) => 400,
            Self::UnknownPhone => 404,
            Self::AlreadyEnrolled | Self::TooManyPhones { .. } => 409,
            Self::NumberRefused { .. } | Self::ChannelRefused(_) | Self::CountryRefused { .. } => {
                422
            }
            Self::SendLimited { .. } => 429,
            Self::Delivery(_) => 502,
        }
    }
}

impl fmt::Display for OobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CodeMismatch => f.write_str("the code does not match"),
            Self::MalformedCode => f.write_str("the code is not 6 to 10 digits"),
            Self::Expired => f.write_str("the code has expired; ask for a new one"),
            Self::WrongTransaction => {
                f.write_str("the code was sent for another sign-in than this one")
            }
            Self::PhoneRemoved => {
                f.write_str("the phone the code was sent to is no longer enrolled")
            }
            Self::UnknownPhone => f.write_str("no phone with that id is enrolled"),
            Self::AlreadyEnrolled => f.write_str("that phone is already enrolled"),
            Self::TooManyPhones { max } => {
                write!(f, "the account already has {max} phones enrolled")
            }
            Self::InvalidNumber(problem) => write!(f, "invalid phone number: {problem}"),
            Self::InvalidEmailAddress => f.write_str("invalid e-mail address"),
            Self::NumberRefused { kind, channel } => write!(
                f,
                "{channel} codes are not sent to {} numbers",
                kind.as_str().replace('_', " ")
            ),
            Self::ChannelRefused(Channel::Email) => f.write_str(
                "authentication codes are not sent by e-mail (NIST SP 800-63B-4 does not accept it)",
            ),
            Self::ChannelRefused(channel) => {
                write!(f, "{channel} cannot carry a code to that destination")
            }
            Self::CountryRefused { calling_code } => {
                write!(f, "codes are not sent to country code +{calling_code}")
            }
            Self::SendLimited { scope, retry_after } => write!(
                f,
                "send limit of {scope} reached; retry after {} s",
                retry_after.as_secs_f64().ceil()
            ),
            Self::Delivery(error) => error.fmt(f),
            Self::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
        }
    }
}

impl std::error::Error for OobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidNumber(problem) => Some(problem),
            Self::Delivery(error) => Some(error),
            _ => None,
        }
    }
}

impl Rejection for OobError {
    fn reason(&self) -> &'static str {
        match self {
            Self::CodeMismatch => "code_mismatch",
            Self::MalformedCode => "malformed_code",
            Self::Expired => "expired",
            Self::WrongTransaction => "wrong_transaction",
            Self::PhoneRemoved => "phone_removed",
            Self::UnknownPhone => "unknown_phone",
            Self::AlreadyEnrolled => "already_enrolled",
            Self::TooManyPhones { .. } => "too_many_phones",
            Self::InvalidNumber(_) => "invalid_number",
            Self::InvalidEmailAddress => "invalid_email_address",
            Self::NumberRefused { .. } => "number_refused",
            Self::ChannelRefused(_) => "channel_refused",
            Self::CountryRefused { .. } => "country_refused",
            Self::SendLimited { .. } => "send_limited",
            Self::Delivery(_) => "delivery_failed",
            Self::InvalidParameter(_) => "invalid_parameter",
        }
    }

    /// Only a wrong code counts toward throttling: it is the one failure a guesser controls.
    ///
    /// - counts: [`CodeMismatch`](OobError::CodeMismatch);
    /// - does not count: [`Expired`](OobError::Expired) (the clock ran out; the code is checked
    ///   all the same, but a guess at a dead code wins nothing),
    ///   [`WrongTransaction`](OobError::WrongTransaction) (the *right* code, relayed into another
    ///   session: worth an alert, not a lock-out of the owner), [`PhoneRemoved`](OobError::PhoneRemoved),
    ///   [`MalformedCode`](OobError::MalformedCode) (refused before the store is touched), and
    ///   every send-side or configuration error.
    ///
    /// The match is exhaustive on purpose: a new variant must be placed on one side.
    fn counts_as_failure(&self) -> bool {
        match self {
            Self::CodeMismatch => true,
            Self::MalformedCode
            | Self::Expired
            | Self::WrongTransaction
            | Self::PhoneRemoved
            | Self::UnknownPhone
            | Self::AlreadyEnrolled
            | Self::TooManyPhones { .. }
            | Self::InvalidNumber(_)
            | Self::InvalidEmailAddress
            | Self::NumberRefused { .. }
            | Self::ChannelRefused(_)
            | Self::CountryRefused { .. }
            | Self::SendLimited { .. }
            | Self::Delivery(_)
            | Self::InvalidParameter(_) => false,
        }
    }
}

impl From<PhoneProblem> for OobError {
    fn from(problem: PhoneProblem) -> Self {
        Self::InvalidNumber(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wrong_code_counts_toward_throttling() {
        assert!(OobError::CodeMismatch.counts_as_failure());
        for not_counted in [
            OobError::MalformedCode,
            OobError::Expired,
            OobError::WrongTransaction,
            OobError::PhoneRemoved,
            OobError::UnknownPhone,
            OobError::AlreadyEnrolled,
            OobError::TooManyPhones { max: 5 },
            OobError::InvalidNumber(PhoneProblem::TooShort),
            OobError::InvalidEmailAddress,
            OobError::NumberRefused {
                kind: NumberKind::Voip,
                channel: Channel::Sms,
            },
            OobError::ChannelRefused(Channel::Email),
            OobError::CountryRefused { calling_code: 882 },
            OobError::SendLimited {
                scope: SendLimitScope::Account,
                retry_after: Duration::from_secs(30),
            },
            OobError::Delivery(DeliveryError::new("provider said 503")),
            OobError::InvalidParameter("digits must be 6 to 10"),
        ] {
            assert!(!not_counted.counts_as_failure(), "{not_counted:?}");
        }
    }

    #[test]
    fn send_limits_map_to_429_with_retry_after() {
        let limited = OobError::SendLimited {
            scope: SendLimitScope::Country { calling_code: 44 },
            retry_after: Duration::from_millis(1_500),
        };
        assert_eq!(limited.http_status(), 429);
        assert_eq!(limited.retry_after(), Some(Duration::from_millis(1_500)));
        assert_eq!(
            limited.to_string(),
            "send limit of country code +44 reached; retry after 2 s"
        );
        assert_eq!(OobError::CodeMismatch.http_status(), 401);
        assert_eq!(OobError::CodeMismatch.retry_after(), None);
    }
}
