//! The one error type of this crate: what was refused, for the operator.

use core::fmt;

use mfa_core::Rejection;

/// Why an account operation was refused.
///
/// [`Rejection::reason`] gives a stable `snake_case` kind for logs, metrics and the `mfa account`
/// CLI. Messages never contain a pass, a password, a token or anything the user typed.
///
/// No variant counts toward throttling ([`counts_as_failure`](Rejection::counts_as_failure) is
/// `false` for all): temporary access passes, app passwords and remembered-device tokens carry at
/// least 64 random bits and cannot be guessed online, so counting failures would only let anyone
/// who knows a user's name lock them out.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountError {
    /// No method of the account has that id (`method_not_found`).
    MethodNotFound,
    /// No pending method has that id: never begun, already confirmed, or expired
    /// (`pending_not_found`).
    PendingNotFound,
    /// The proof of a first check does not match the pending method: another method, another
    /// credential, or a check older than the pending method (`proof_mismatch`).
    ProofMismatch,
    /// The proof of a first check is older than the policy's confirmation window (`proof_stale`).
    ProofStale,
    /// The account has as many methods as the policy allows (`too_many_methods`).
    TooManyMethods {
        /// The policy's limit.
        max: usize,
    },
    /// A name is empty, too long or contains control characters (`invalid_name`).
    InvalidName,
    /// Removing the method would leave the user unable to meet the strength the policy requires
    /// (`last_strong_method`). Add another method first, or ask the help desk to reset.
    LastStrongMethod {
        /// The strength that would become unreachable.
        strength: String,
    },
    /// The session proved a lower assurance level than the method it tries to remove: recovery
    /// must not weaken the account without re-proofing (`weakens_assurance`).
    WeakensAssurance,
    /// The account must register methods now; the registration prompt cannot be skipped
    /// (`registration_required`).
    RegistrationRequired,
    /// The registration prompt has been skipped as often as the policy allows (`no_skips_left`).
    NoSkipsLeft,
    /// An operator id is empty or not printable (`invalid_operator`).
    InvalidOperator,
    /// A requested lifetime is outside what the policy allows (`invalid_lifetime`).
    InvalidLifetime,
    /// The temporary access pass is wrong, unknown, used up or revoked (`tap_invalid`).
    TapInvalid,
    /// The temporary access pass is not valid yet or no longer (`tap_expired`).
    TapExpired,
    /// The policy forbids app passwords (`app_passwords_disabled`).
    AppPasswordsDisabled,
    /// The account has as many app passwords as the policy allows (`too_many_app_passwords`).
    TooManyAppPasswords {
        /// The policy's limit.
        max: usize,
    },
    /// No app password of the account matches (`app_password_invalid`).
    AppPasswordInvalid,
    /// App passwords are accepted only from legacy-protocol clients (`not_legacy_client`).
    NotLegacyClient,
    /// The remembered-device token is wrong, unknown, forgotten or from before a sign-out
    /// everywhere (`remembered_invalid`).
    RememberedInvalid,
    /// The remembered-device token has expired (`remembered_expired`).
    RememberedExpired,
    /// The session was issued before the account's last sign-out everywhere or reset
    /// (`session_revoked`).
    SessionRevoked,
    /// A stored record could not be used: it belongs to another account or is inconsistent
    /// (`corrupt_record`).
    CorruptRecord,
    /// A factor crate refused a request made for the account (such as `mfa-backup` refusing
    /// the options to issue backup codes with) (`factor_refused`).
    FactorRefused {
        /// The factor's method.
        method: mfa_core::Method,
        /// The factor's own reason ([`Rejection::reason`]).
        reason: &'static str,
    },
    /// The policy does not (yet) let this session register security info
    /// ([`may_register`](crate::may_register)) (`registration_not_allowed`).
    RegistrationNotAllowed {
        /// The policy's decision for the session: `step_up` (a second factor, or a temporary
        /// access pass, first) or `block`.
        decision: &'static str,
    },
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MethodNotFound => f.write_str("no such method on this account"),
            Self::PendingNotFound => {
                f.write_str("no such pending method (never begun, used or expired)")
            }
            Self::ProofMismatch => f.write_str("the first check does not prove the pending method"),
            Self::ProofStale => f.write_str("the first check is too old to confirm the method"),
            Self::TooManyMethods { max } => {
                write!(f, "the account has the maximum of {max} methods")
            }
            Self::InvalidName => {
                f.write_str("the name is empty, too long or contains control characters")
            }
            Self::LastStrongMethod { strength } => write!(
                f,
                "removing this method would leave no way to meet the required strength `{strength}`"
            ),
            Self::WeakensAssurance => f.write_str(
                "the session is at a lower assurance level than the method it would remove",
            ),
            Self::RegistrationRequired => f.write_str("the account must register a method now"),
            Self::NoSkipsLeft => f.write_str("registration has been postponed as often as allowed"),
            Self::InvalidOperator => f.write_str("the operator id is empty or not printable"),
            Self::InvalidLifetime => f.write_str("the lifetime is outside what the policy allows"),
            Self::TapInvalid => f.write_str("the temporary access pass is not valid"),
            Self::TapExpired => f.write_str("the temporary access pass is not valid at this time"),
            Self::AppPasswordsDisabled => f.write_str("the policy does not allow app passwords"),
            Self::TooManyAppPasswords { max } => {
                write!(f, "the account has the maximum of {max} app passwords")
            }
            Self::AppPasswordInvalid => f.write_str("the app password is not valid"),
            Self::NotLegacyClient => {
                f.write_str("app passwords are accepted only from legacy-protocol clients")
            }
            Self::RememberedInvalid => f.write_str("the remembered-device token is not valid"),
            Self::RememberedExpired => f.write_str("the remembered-device token has expired"),
            Self::SessionRevoked => f.write_str("the session was signed out everywhere"),
            Self::CorruptRecord => f.write_str("a stored account record is inconsistent"),
            Self::FactorRefused { method, reason } => {
                write!(f, "the {method} factor refused the request: {reason}")
            }
            Self::RegistrationNotAllowed { decision } => write!(
                f,
                "the policy does not let this session register security info ({decision})"
            ),
        }
    }
}

impl std::error::Error for AccountError {}

impl Rejection for AccountError {
    fn reason(&self) -> &'static str {
        match self {
            Self::MethodNotFound => "method_not_found",
            Self::PendingNotFound => "pending_not_found",
            Self::ProofMismatch => "proof_mismatch",
            Self::ProofStale => "proof_stale",
            Self::TooManyMethods { .. } => "too_many_methods",
            Self::InvalidName => "invalid_name",
            Self::LastStrongMethod { .. } => "last_strong_method",
            Self::WeakensAssurance => "weakens_assurance",
            Self::RegistrationRequired => "registration_required",
            Self::NoSkipsLeft => "no_skips_left",
            Self::InvalidOperator => "invalid_operator",
            Self::InvalidLifetime => "invalid_lifetime",
            Self::TapInvalid => "tap_invalid",
            Self::TapExpired => "tap_expired",
            Self::AppPasswordsDisabled => "app_passwords_disabled",
            Self::TooManyAppPasswords { .. } => "too_many_app_passwords",
            Self::AppPasswordInvalid => "app_password_invalid",
            Self::NotLegacyClient => "not_legacy_client",
            Self::RememberedInvalid => "remembered_invalid",
            Self::RememberedExpired => "remembered_expired",
            Self::SessionRevoked => "session_revoked",
            Self::CorruptRecord => "corrupt_record",
            Self::FactorRefused { .. } => "factor_refused",
            Self::RegistrationNotAllowed { .. } => "registration_not_allowed",
        }
    }

    fn counts_as_failure(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::AccountError;
    use mfa_core::Rejection;

    #[test]
    fn reasons_are_unique_and_nothing_counts() {
        let all = [
            AccountError::MethodNotFound,
            AccountError::PendingNotFound,
            AccountError::ProofMismatch,
            AccountError::ProofStale,
            AccountError::TooManyMethods { max: 1 },
            AccountError::InvalidName,
            AccountError::LastStrongMethod {
                strength: "mfa".into(),
            },
            AccountError::WeakensAssurance,
            AccountError::RegistrationRequired,
            AccountError::NoSkipsLeft,
            AccountError::InvalidOperator,
            AccountError::InvalidLifetime,
            AccountError::TapInvalid,
            AccountError::TapExpired,
            AccountError::AppPasswordsDisabled,
            AccountError::TooManyAppPasswords { max: 1 },
            AccountError::AppPasswordInvalid,
            AccountError::NotLegacyClient,
            AccountError::RememberedInvalid,
            AccountError::RememberedExpired,
            AccountError::SessionRevoked,
            AccountError::CorruptRecord,
            AccountError::FactorRefused {
                method: mfa_core::Method::BackupCode,
                reason: "invalid_config",
            },
            AccountError::RegistrationNotAllowed {
                decision: "step_up",
            },
        ];
        let mut reasons: Vec<_> = all.iter().map(Rejection::reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), all.len());
        assert!(all.iter().all(|error| !error.counts_as_failure()));
        assert!(all.iter().all(|error| !error.to_string().is_empty()));
    }
}
