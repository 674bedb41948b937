//! The crate's one error type.

use core::fmt;

use mfa_core::Rejection;

/// Why issuing or redeeming backup codes failed.
///
/// For operators: the variant (and [`Rejection::reason`]) says what failed. End users should see
/// one opaque message ("that code didn't work"). No message contains a code or what was typed.
#[must_use]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupCodeError {
    /// The input cannot be a code of the set's format (length, alphabet). Checked before hashing.
    Malformed,
    /// Well-formed, but matches no slot of the set.
    WrongCode,
    /// Matches a slot that was already redeemed.
    AlreadyUsed,
    /// Matches no slot of this account's set, but does match a set of another account that the
    /// caller asked to be checked ([`crate::redeem_with_lookup`]).
    CodeOfAnotherAccount,
    /// The set checked belongs to another account than the one signing in (a mixed-up or copied
    /// record). Never accepted: codes are bound to their account in the hash.
    SetOfAnotherAccount,
    /// The password hash failed (for example, parameters in a stored set are out of range).
    Hashing,
    /// The stored set is inconsistent (too many slots, unknown version).
    CorruptSet,
    /// An issuing option is out of range; the text says which.
    InvalidConfig(&'static str),
    /// The set changed between hashing the input and committing (it was regenerated, or the
    /// replacement code drawn for it collides with one of its codes), so the digest computed
    /// off the async path no longer fits it. Nothing was committed; the store helpers hash
    /// again on the fresh set by themselves, and report this only if the set keeps changing.
    StaleDigest,
}

impl fmt::Display for BackupCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("input is not a well-formed backup code"),
            Self::WrongCode => f.write_str("backup code does not match"),
            Self::AlreadyUsed => f.write_str("backup code was already used"),
            Self::CodeOfAnotherAccount => {
                f.write_str("backup code belongs to another account's set")
            }
            Self::SetOfAnotherAccount => f.write_str("backup-code set belongs to another account"),
            Self::Hashing => f.write_str("backup-code hashing failed"),
            Self::CorruptSet => f.write_str("stored backup-code set is corrupt"),
            Self::InvalidConfig(what) => write!(f, "invalid backup-code option: {what}"),
            Self::StaleDigest => {
                f.write_str("backup-code set changed while the code was being checked")
            }
        }
    }
}

impl std::error::Error for BackupCodeError {}

impl Rejection for BackupCodeError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed_code",
            Self::WrongCode => "code_mismatch",
            Self::AlreadyUsed => "replayed",
            Self::CodeOfAnotherAccount => "code_of_another_account",
            Self::SetOfAnotherAccount => "set_of_another_account",
            Self::Hashing => "hash_failed",
            Self::CorruptSet => "corrupt_set",
            Self::InvalidConfig(_) => "invalid_config",
            Self::StaleDigest => "stale_digest",
        }
    }

    /// Which failures count toward throttling (NIST SP 800-63B-4 §3.2.2): only those where the
    /// person typed something that is not a valid, unused code of their set, because only
    /// those are guesses an attacker could be making.
    ///
    /// Count (`true`):
    /// - [`Malformed`](Self::Malformed): garbage is a guess too, and throttling it costs an honest
    ///   user nothing they would not lose to a typo anyway;
    /// - [`WrongCode`](Self::WrongCode): the guess itself;
    /// - [`AlreadyUsed`](Self::AlreadyUsed): a replayed (stolen, shoulder-surfed) code;
    /// - [`CodeOfAnotherAccount`](Self::CodeOfAnotherAccount): a wrong code, whichever set it
    ///   happens to belong to.
    ///
    /// Do not count (`false`), because they say nothing about what the person knows, and
    /// counting them would let a broken record or a configuration mistake lock the account:
    /// - [`SetOfAnotherAccount`](Self::SetOfAnotherAccount): a mixed-up or copied record;
    /// - [`Hashing`](Self::Hashing), [`CorruptSet`](Self::CorruptSet),
    ///   [`InvalidConfig`](Self::InvalidConfig): failures of the system;
    /// - [`StaleDigest`](Self::StaleDigest): a concurrent change of the set; the attempt is
    ///   checked again on the fresh set, and counted then.
    ///
    /// The match is exhaustive on purpose: a new variant must be placed in one list or the other.
    fn counts_as_failure(&self) -> bool {
        match self {
            Self::Malformed | Self::WrongCode | Self::AlreadyUsed | Self::CodeOfAnotherAccount => {
                true
            }
            Self::SetOfAnotherAccount
            | Self::Hashing
            | Self::CorruptSet
            | Self::InvalidConfig(_)
            | Self::StaleDigest => false,
        }
    }
}
