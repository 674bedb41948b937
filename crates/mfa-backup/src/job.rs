//! A redemption split around its one expensive step.
//!
//! Checking a backup code costs one password hash (19 MiB and ~15 ms with the default Argon2id
//! parameters): too long for an async executor's thread, where it would stall every other task.
//! So the store helpers split a redemption in three:
//!
//! 1. load the set and parse the input (cheap; async in [`redeem_async`](crate::redeem_async));
//! 2. [`RedeemJob::run`]: the hash, CPU-heavy and blocking, under a [`HashPermits`] permit;
//!    the async helpers hand the job to the caller, who runs it where blocking is allowed
//!    (`tokio::task::spawn_blocking`);
//! 3. commit through `mfa-core`'s throttled compare-and-swap with only a constant-time
//!    comparison of the precomputed digest; if the set was regenerated in between (another set
//!    id, salt, hasher or format), the digest is refused as [`BackupCodeError::StaleDigest`] and
//!    the helpers start again: a digest is never accepted against a set it was not computed for.

use core::fmt;

use mfa_core::UnixTime;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::BackupCodeError;
use crate::format::{CanonicalCode, MAX_INPUT_LEN};
use crate::hash::{DIGEST_LEN, HashParams, dummy_hash};
use crate::permits::HashPermits;
use crate::set::{BackupCodeSet, RecoveryMode, Redeemed};

/// One redemption attempt with its password hash still to compute: the CPU-heavy, blocking step
/// of [`redeem_async`](crate::redeem_async), handed to its `offload` closure.
///
/// [`run`](Self::run) computes one hash (two on a match in
/// [`RecoveryMode::ReplaceAfterUse`]: the replacement code's; more with
/// [`redeem_with_lookup_async`](crate::redeem_with_lookup_async) after a mismatch), each under a
/// permit of [`HashPermits`]. Run it where blocking is allowed, such as
/// `tokio::task::spawn_blocking`, never on an async executor's thread.
///
/// When no set is stored for the account, the job computes a dummy hash with the default
/// parameters all the same, and when the input cannot be a code of the set's format, a dummy
/// hash with the set's parameters: so the time an attempt takes does not tell whether the
/// account has backup codes, or what format they are in.
#[must_use = "the attempt is checked only once the job has run and its result is committed"]
pub struct RedeemJob {
    account: String,
    /// What was typed, kept only for the lookup of other sets.
    input: Zeroizing<String>,
    target: Target,
    other_sets: Vec<BackupCodeSet>,
}

enum Target {
    /// No set was stored when the attempt was prepared.
    NotEnrolled,
    /// The set as loaded, the input parsed in its format, and in replace-after-use mode the
    /// replacement code drawn (cheap) in case the input matches.
    Set {
        snapshot: BackupCodeSet,
        code: Result<CanonicalCode, BackupCodeError>,
        replacement: Option<CanonicalCode>,
    },
}

/// The result of [`RedeemJob::run`]: the input's digest for the set it was computed against,
/// ready to be committed without another hash. Opaque; hand it back to the helper that made
/// the job.
#[must_use = "nothing is redeemed until the helper commits this"]
pub struct HashedRedemption {
    account: String,
    outcome: Outcome,
}

enum Outcome {
    /// No set was stored (a dummy hash was computed).
    NotEnrolled,
    /// Decided without a usable digest (malformed input, a hashing failure, a corrupt set).
    Failed {
        snapshot: BackupCodeSet,
        error: BackupCodeError,
    },
    /// The input's digest for `snapshot`'s id, salt and hasher.
    Hashed {
        snapshot: BackupCodeSet,
        digest: Zeroizing<[u8; DIGEST_LEN]>,
        /// On a match against the snapshot in replace-after-use mode: the replacement and its
        /// digest.
        replacement: Option<(CanonicalCode, Zeroizing<[u8; DIGEST_LEN]>)>,
        /// What a mismatch is reported as: [`BackupCodeError::WrongCode`], or
        /// [`BackupCodeError::CodeOfAnotherAccount`] if the lookup found the code elsewhere.
        mismatch: BackupCodeError,
    },
}

impl RedeemJob {
    /// Prepares the attempt of `account` to redeem `input` against `loaded` (the set as just
    /// loaded, if any). Cheap: parses the input and, in replace-after-use mode, draws the
    /// replacement code from `rng`.
    pub(crate) fn new<R: CryptoRng + ?Sized>(
        account: &str,
        input: &str,
        loaded: Option<BackupCodeSet>,
        rng: &mut R,
        other_sets: &[BackupCodeSet],
    ) -> Self {
        let target = match loaded {
            None => Target::NotEnrolled,
            Some(snapshot) => {
                let code = snapshot.format().normalize(input);
                let replacement = (code.is_ok()
                    && snapshot.mode() == RecoveryMode::ReplaceAfterUse)
                    .then(|| snapshot.format().generate(rng));
                Target::Set {
                    snapshot,
                    code,
                    replacement,
                }
            }
        };
        // The lookup needs the input as typed (each other set parses it in its own format);
        // longer input is malformed in every format.
        let keep_input = !other_sets.is_empty() && input.len() <= MAX_INPUT_LEN;
        Self {
            account: account.to_owned(),
            input: Zeroizing::new(if keep_input {
                input.to_owned()
            } else {
                String::new()
            }),
            target,
            other_sets: other_sets.to_vec(),
        }
    }

    /// Computes the hash(es) of this attempt, each under a permit of [`HashPermits::global`].
    /// Blocking and CPU-heavy: see the [type docs](Self).
    pub fn run(self) -> HashedRedemption {
        self.run_with(HashPermits::global())
    }

    /// [`run`](Self::run), under the caller's own `permits`.
    pub fn run_with(self, permits: &HashPermits) -> HashedRedemption {
        let Self {
            account,
            input,
            target,
            other_sets,
        } = self;
        let outcome = match target {
            Target::NotEnrolled => {
                dummy_hash(&HashParams::default(), permits);
                Outcome::NotEnrolled
            }
            Target::Set {
                snapshot,
                code,
                replacement,
            } => hash_against(
                &account,
                &input,
                snapshot,
                code,
                replacement,
                &other_sets,
                permits,
            ),
        };
        HashedRedemption { account, outcome }
    }
}

/// The hashing of [`RedeemJob::run_with`] when a set was loaded.
fn hash_against(
    account: &str,
    input: &str,
    snapshot: BackupCodeSet,
    code: Result<CanonicalCode, BackupCodeError>,
    replacement: Option<CanonicalCode>,
    other_sets: &[BackupCodeSet],
    permits: &HashPermits,
) -> Outcome {
    if let Err(error) = snapshot.check_layout() {
        return Outcome::Failed { snapshot, error };
    }
    let code = match code {
        Ok(code) => code,
        Err(error) => {
            // Input that cannot be a code costs what a wrong code costs.
            dummy_hash(&snapshot.hasher(), permits);
            return Outcome::Failed { snapshot, error };
        }
    };
    let digest = match snapshot.digest(account, &code, permits) {
        Ok(digest) => digest,
        Err(error) => return Outcome::Failed { snapshot, error },
    };
    let scan = snapshot.scan(&digest);
    let replacement = match replacement {
        Some(new_code) if scan.matched_unused() => {
            match snapshot.digest(account, &new_code, permits) {
                Ok(new_digest) => Some((new_code, new_digest)),
                Err(error) => return Outcome::Failed { snapshot, error },
            }
        }
        _ => None,
    };
    let mismatch = if scan.matched_any() {
        BackupCodeError::WrongCode
    } else {
        classify_mismatch(input, other_sets, permits)
    };
    Outcome::Hashed {
        snapshot,
        digest,
        replacement,
        mismatch,
    }
}

/// `WrongCode`, or `CodeOfAnotherAccount` if one of `other_sets` holds the code.
fn classify_mismatch(
    input: &str,
    other_sets: &[BackupCodeSet],
    permits: &HashPermits,
) -> BackupCodeError {
    let mut found = false;
    for set in other_sets {
        // Every candidate is checked (no early exit), each with its own account binding.
        found |= set.contains_code_with(input, permits).unwrap_or(false);
    }
    if found {
        BackupCodeError::CodeOfAnotherAccount
    } else {
        BackupCodeError::WrongCode
    }
}

impl HashedRedemption {
    /// Checks the precomputed digest against `fresh`, the set as stored now, without hashing:
    /// a constant-time comparison with every slot ([`BackupCodeSet::redeem`]'s rules).
    ///
    /// # Errors
    /// As [`BackupCodeSet::redeem`], and [`BackupCodeError::StaleDigest`] if `fresh` is not the
    /// set the digest was computed for (or no set was stored then), or in replace-after-use
    /// mode when no usable replacement was precomputed for it.
    pub(crate) fn check(
        &self,
        fresh: &BackupCodeSet,
        now: UnixTime,
    ) -> Result<Redeemed, BackupCodeError> {
        match &self.outcome {
            Outcome::NotEnrolled => Err(BackupCodeError::StaleDigest),
            Outcome::Failed { snapshot, error } => Err(if fresh.hashes_like(snapshot) {
                *error
            } else {
                BackupCodeError::StaleDigest
            }),
            Outcome::Hashed {
                snapshot,
                digest,
                replacement,
                mismatch,
            } => {
                if !fresh.hashes_like(snapshot) {
                    return Err(BackupCodeError::StaleDigest);
                }
                let redeemed =
                    fresh.redeem_digest(&self.account, digest, now, |set| match replacement {
                        Some((code, new_digest)) if !set.holds_digest_vartime(new_digest) => {
                            Ok((code.clone(), new_digest.clone()))
                        }
                        _ => Err(BackupCodeError::StaleDigest),
                    });
                match redeemed {
                    Err(BackupCodeError::WrongCode) => Err(*mismatch),
                    other => other,
                }
            }
        }
    }
}

impl fmt::Debug for RedeemJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = match &self.target {
            Target::NotEnrolled => None,
            Target::Set { snapshot, .. } => Some(snapshot),
        };
        f.debug_struct("RedeemJob")
            .field("account", &self.account)
            .field("set", &set)
            .field("other_sets", &self.other_sets.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for HashedRedemption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match &self.outcome {
            Outcome::NotEnrolled => "not_enrolled",
            Outcome::Failed { .. } => "failed",
            Outcome::Hashed { .. } => "hashed",
        };
        f.debug_struct("HashedRedemption")
            .field("account", &self.account)
            .field("outcome", &outcome)
            .finish_non_exhaustive()
    }
}
