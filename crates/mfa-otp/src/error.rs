//! The one error type of this crate.

use core::fmt;

use mfa_core::Rejection;

/// Why an OTP operation failed.
///
/// Verification failures ([`CodeMismatch`](Self::CodeMismatch), [`Replayed`](Self::Replayed),
/// [`MalformedCode`](Self::MalformedCode)) are for operators and logs: show the end user one opaque
/// message ("that code didn't work"). No message ever contains a secret, a code, or what the user
/// typed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OtpError {
    /// The code matches no step (TOTP) or counter (HOTP) of the window.
    CodeMismatch,
    /// The code matches a step that is not newer than the last accepted one: a replay
    /// ([RFC 6238 §5.2](https://www.rfc-editor.org/rfc/rfc6238#section-5.2)).
    Replayed,
    /// The typed code has the wrong length or characters that cannot appear in a code.
    MalformedCode,
    /// A base32 secret could not be decoded.
    MalformedSecret(SecretProblem),
    /// The secret is shorter than the policy allows.
    SecretTooShort {
        /// The secret's length in bits.
        bits: usize,
        /// The least the policy accepts.
        min_bits: usize,
    },
    /// An `otpauth://` URI could not be parsed.
    MalformedUri(UriProblem),
    /// The URI's label prefix and its `issuer` parameter name different issuers.
    IssuerMismatch,
    /// A parameter is out of range; the text says which and what is allowed.
    InvalidParameter(&'static str),
    /// The time is before the TOTP epoch `T0`, so there is no time step.
    BeforeEpoch,
    /// The HOTP counter cannot advance any further (it reached `u64::MAX`).
    CounterExhausted,
    /// The URI is too long to fit in a QR code.
    QrCodeTooLarge,
    /// A begun TOTP enrollment was not confirmed in time
    /// ([`TotpEnrollmentPolicy::expires_after`](crate::TotpEnrollmentPolicy::expires_after)):
    /// begin again, and show the user the new QR code.
    EnrollmentExpired,
}

/// What is wrong with a base32 secret. Positions count characters of the input from 0; the
/// character itself is never reported.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretProblem {
    /// There is no secret (only spaces, hyphens or padding).
    Empty,
    /// A character that is not base32 (`A`–`Z`, `2`–`7`, either case), a space, a hyphen or
    /// trailing `=` padding. `0`, `1`, `8` and `9` are not base32.
    InvalidCharacter {
        /// Where, counting characters from 0.
        position: usize,
    },
    /// The number of base32 characters cannot encode whole bytes (1, 3 or 6 characters left over
    /// after the last group of 8).
    InvalidLength,
    /// `=` padding in the middle, or more or less of it than completes the last group of 8.
    InvalidPadding,
    /// Longer than 512 bits (the largest key that fits one HMAC block for every algorithm).
    TooLong,
}

/// What is wrong with an `otpauth://` URI.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriProblem {
    /// It does not start with `otpauth://`.
    NotOtpauth,
    /// The type is not `totp`, `hotp` or `steam`.
    UnknownType,
    /// The label (account name) is missing or empty.
    MissingLabel,
    /// The issuer contains a colon, which the Key URI format forbids.
    ColonInIssuer,
    /// The account name contains a colon (after the one that ends the issuer prefix), which the
    /// Key URI format forbids and which would make the label ambiguous.
    ColonInAccount,
    /// A `%` escape is malformed, or the decoded text is not UTF-8.
    BadEncoding,
    /// A parameter appears twice.
    DuplicateParameter(&'static str),
    /// A required parameter (`secret`; `counter` for HOTP) is missing.
    MissingParameter(&'static str),
    /// A parameter's value is not allowed.
    InvalidParameter(&'static str),
    /// Longer than 4096 bytes.
    TooLong,
    /// The issuer or account name is longer than 256 bytes, or the image URL longer than 512
    /// (limits that keep every URI this crate builds within the 4096 bytes it parses).
    FieldTooLong(&'static str),
}

impl fmt::Display for OtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CodeMismatch => f.write_str("the code does not match"),
            Self::Replayed => f.write_str("the code was already used (replay)"),
            Self::MalformedCode => f.write_str("the code has the wrong length or characters"),
            Self::MalformedSecret(problem) => write!(f, "malformed base32 secret: {problem}"),
            Self::SecretTooShort { bits, min_bits } => {
                write!(
                    f,
                    "the secret has {bits} bits; at least {min_bits} are required"
                )
            }
            Self::MalformedUri(problem) => write!(f, "malformed otpauth URI: {problem}"),
            Self::IssuerMismatch => f.write_str(
                "the otpauth URI's label prefix and issuer parameter name different issuers",
            ),
            Self::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
            Self::BeforeEpoch => f.write_str("the time is before the TOTP epoch T0"),
            Self::CounterExhausted => f.write_str("the HOTP counter is exhausted"),
            Self::QrCodeTooLarge => f.write_str("the URI is too long for a QR code"),
            Self::EnrollmentExpired => {
                f.write_str("the enrollment expired before it was confirmed; begin again")
            }
        }
    }
}

impl fmt::Display for SecretProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::InvalidCharacter { position } => write!(
                f,
                "character {position} is not base32 (A-Z, 2-7; spaces and hyphens are ignored)"
            ),
            Self::InvalidLength => f.write_str("its length cannot encode whole bytes"),
            Self::InvalidPadding => f.write_str("its '=' padding is misplaced or the wrong length"),
            Self::TooLong => f.write_str("it is longer than 512 bits"),
        }
    }
}

impl fmt::Display for UriProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOtpauth => f.write_str("it does not start with otpauth://"),
            Self::UnknownType => f.write_str("the type is not totp or hotp"),
            Self::MissingLabel => f.write_str("the account name is missing"),
            Self::ColonInIssuer => f.write_str("the issuer contains a colon"),
            Self::ColonInAccount => f.write_str("the account name contains a colon"),
            Self::BadEncoding => f.write_str("bad percent-encoding or not UTF-8"),
            Self::DuplicateParameter(name) => write!(f, "parameter `{name}` appears twice"),
            Self::MissingParameter(name) => write!(f, "parameter `{name}` is missing"),
            Self::InvalidParameter(name) => write!(f, "parameter `{name}` has an invalid value"),
            Self::TooLong => f.write_str("it is longer than 4096 bytes"),
            Self::FieldTooLong(name) => write!(f, "the {name} is too long"),
        }
    }
}

impl std::error::Error for OtpError {}

impl Rejection for OtpError {
    fn reason(&self) -> &'static str {
        match self {
            Self::CodeMismatch => "code_mismatch",
            Self::Replayed => "replayed",
            Self::MalformedCode => "malformed_code",
            Self::MalformedSecret(_) => "malformed_secret",
            Self::SecretTooShort { .. } => "secret_too_short",
            Self::MalformedUri(_) => "malformed_uri",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::InvalidParameter(_) => "invalid_parameter",
            Self::BeforeEpoch => "before_epoch",
            Self::CounterExhausted => "counter_exhausted",
            Self::QrCodeTooLarge => "qr_code_too_large",
            Self::EnrollmentExpired => "enrollment_expired",
        }
    }

    /// Only what a guesser controls counts toward throttling, because only a guess can be
    /// repeated to search the code space:
    ///
    /// - counts: [`CodeMismatch`](OtpError::CodeMismatch) (a wrong code),
    ///   [`Replayed`](OtpError::Replayed) (a code already used: an observed code replayed, or a
    ///   guess that landed on an old step) and [`MalformedCode`](OtpError::MalformedCode) (typed
    ///   input that is not code-shaped; it is still an attempt, and counting it means the shape of
    ///   a guess cannot buy free tries);
    /// - does not count: [`MalformedSecret`](OtpError::MalformedSecret),
    ///   [`SecretTooShort`](OtpError::SecretTooShort), [`MalformedUri`](OtpError::MalformedUri),
    ///   [`IssuerMismatch`](OtpError::IssuerMismatch),
    ///   [`InvalidParameter`](OtpError::InvalidParameter) (configuration and enrollment input),
    ///   [`BeforeEpoch`](OtpError::BeforeEpoch) (the server's clock is before `T0`),
    ///   [`CounterExhausted`](OtpError::CounterExhausted) (stored state at its end),
    ///   [`QrCodeTooLarge`](OtpError::QrCodeTooLarge) and
    ///   [`EnrollmentExpired`](OtpError::EnrollmentExpired) (the clock ran out, no code was
    ///   judged). These say nothing about the person signing in, and counting them would lock
    ///   out users for the operator's mistake or for being slow.
    ///
    /// The match is exhaustive on purpose: a new variant must be placed on one side.
    fn counts_as_failure(&self) -> bool {
        match self {
            Self::CodeMismatch | Self::Replayed | Self::MalformedCode => true,
            Self::MalformedSecret(_)
            | Self::SecretTooShort { .. }
            | Self::MalformedUri(_)
            | Self::IssuerMismatch
            | Self::InvalidParameter(_)
            | Self::BeforeEpoch
            | Self::CounterExhausted
            | Self::QrCodeTooLarge
            | Self::EnrollmentExpired => false,
        }
    }
}

impl From<SecretProblem> for OtpError {
    fn from(problem: SecretProblem) -> Self {
        Self::MalformedSecret(problem)
    }
}

impl From<UriProblem> for OtpError {
    fn from(problem: UriProblem) -> Self {
        Self::MalformedUri(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_guessable_failures_count_toward_throttling() {
        for counted in [
            OtpError::CodeMismatch,
            OtpError::Replayed,
            OtpError::MalformedCode,
        ] {
            assert!(counted.counts_as_failure(), "{counted:?}");
        }
        for not_counted in [
            OtpError::MalformedSecret(SecretProblem::Empty),
            OtpError::SecretTooShort {
                bits: 64,
                min_bits: 80,
            },
            OtpError::MalformedUri(UriProblem::TooLong),
            OtpError::IssuerMismatch,
            OtpError::InvalidParameter("digits must be 6 to 10"),
            OtpError::BeforeEpoch,
            OtpError::CounterExhausted,
            OtpError::QrCodeTooLarge,
            OtpError::EnrollmentExpired,
        ] {
            assert!(!not_counted.counts_as_failure(), "{not_counted:?}");
        }
    }
}
