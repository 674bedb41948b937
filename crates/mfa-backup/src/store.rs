//! Backup codes on an `mfa-core` store: issue (or regenerate), redeem once, throttled.

use mfa_core::{
    AsyncStore, AttemptError, Change, RecordKey, Store, StoreError, ThrottlePolicy, UnixTime,
    Verified, load, update, update_async,
};
use rand_core::CryptoRng;

use crate::error::BackupCodeError;
use crate::format::BackupCode;
use crate::set::{BackupCodeSet, BackupEvent, IssuePolicy, IssuedCodes, Redeemed};

/// The record kind backup-code sets are stored under.
pub const RECORD_KIND: &str = "backup";

/// The record key of `account`'s backup-code set: `("backup", account, "codes")`.
#[must_use]
pub fn record_key(account: &str) -> RecordKey {
    RecordKey::new(RECORD_KIND, account, "codes")
}

/// Issues a new set for `key.account()` and stores it, replacing (and so invalidating) any set
/// stored there before: this is also how a set is **regenerated**. Returns the plain-text codes,
/// to be shown once.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`BackupCodeError::InvalidConfig`] or
/// [`BackupCodeError::Hashing`] if the set cannot be issued; [`AttemptError::Store`] if the store
/// fails.
#[doc(alias = "regenerate")]
pub fn issue<S, R>(
    store: &S,
    key: &RecordKey,
    policy: &IssuePolicy,
    now: UnixTime,
    rng: &mut R,
) -> Result<IssuedCodes, AttemptError<BackupCodeError>>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    let issued = policy
        .issue(key.account(), now, rng)
        .map_err(AttemptError::Rejected)?;
    update(store, key, |_: Option<&BackupCodeSet>| {
        (Change::Put(issued.set.clone()), ())
    })
    .map_err(AttemptError::Store)?;
    Ok(issued)
}

/// Async [`issue`], over an [`AsyncStore`].
///
/// # Errors
/// As [`issue`].
pub async fn issue_async<S, R>(
    store: &S,
    key: &RecordKey,
    policy: &IssuePolicy,
    now: UnixTime,
    rng: &mut R,
) -> Result<IssuedCodes, AttemptError<BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
{
    let issued = policy
        .issue(key.account(), now, rng)
        .map_err(AttemptError::Rejected)?;
    update_async(store, key, |_: Option<&BackupCodeSet>| {
        (Change::Put(issued.set.clone()), ())
    })
    .await
    .map_err(AttemptError::Store)?;
    Ok(issued)
}

/// Loads `key`'s set, if any.
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub fn load_set<S: Store + ?Sized>(
    store: &S,
    key: &RecordKey,
) -> Result<Option<BackupCodeSet>, StoreError> {
    load(store, key)
}

/// Redeems `input` against the set at `key` for `key.account()`: throttled (NIST SP 800-63B-4
/// §3.2.2 through [`ThrottlePolicy`]), checked with one hash ([`BackupCodeSet::redeem`]), and
/// committed with a compare-and-swap, so of any number of concurrent redemptions of one code
/// exactly one succeeds. The returned [`Redeemed`] is already committed.
///
/// On a write conflict the check runs again on the fresh set (one more hash).
///
/// # Errors
/// [`AttemptError::Rejected`] with the [`BackupCodeError`] (wrong, used, malformed …),
/// [`AttemptError::Throttled`], [`AttemptError::NotEnrolled`] if no set is stored,
/// [`AttemptError::Store`] if the store fails or stays contended.
pub fn redeem<S, R>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    input: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<Redeemed, AttemptError<BackupCodeError>>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    redeem_with_lookup(store, key, throttle, input, now, rng, &[])
}

/// [`redeem`], and when the code matches nothing in this account's set, checks it against
/// `other_sets` (sets of other accounts the caller chose, e.g. ones that share a device or a
/// help-desk ticket) and reports [`BackupCodeError::CodeOfAnotherAccount`] instead of
/// [`BackupCodeError::WrongCode`] if one holds it. Such a code is never accepted.
///
/// This costs one more hash per other set, only after a mismatch: a diagnostic for operators,
/// not something to run against every account.
///
/// # Errors
/// As [`redeem`].
pub fn redeem_with_lookup<S, R>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    input: &str,
    now: UnixTime,
    rng: &mut R,
    other_sets: &[BackupCodeSet],
) -> Result<Redeemed, AttemptError<BackupCodeError>>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    let mut attempt = Attempt::new(key, input, now, rng, other_sets);
    let verified =
        throttle.verify_and_commit(store, key, now, |set: &BackupCodeSet| attempt.check(set))?;
    attempt.finish(verified)
}

/// Async [`redeem`], over an [`AsyncStore`] (for example a networked store in an async server).
///
/// # Errors
/// As [`redeem`].
pub async fn redeem_async<S, R>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    input: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<Redeemed, AttemptError<BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
{
    redeem_with_lookup_async(store, key, throttle, input, now, rng, &[]).await
}

/// Async [`redeem_with_lookup`].
///
/// # Errors
/// As [`redeem`].
pub async fn redeem_with_lookup_async<S, R>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    input: &str,
    now: UnixTime,
    rng: &mut R,
    other_sets: &[BackupCodeSet],
) -> Result<Redeemed, AttemptError<BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
{
    let mut attempt = Attempt::new(key, input, now, rng, other_sets);
    let verified = throttle
        .verify_and_commit_async(store, key, now, |set: &BackupCodeSet| attempt.check(set))
        .await?;
    attempt.finish(verified)
}

/// One redemption attempt, shared by the blocking and async helpers.
///
/// The check may run more than once (write conflicts); the extras of the last run, whose state
/// is the one committed, are what the caller gets.
struct Attempt<'a, R: ?Sized> {
    account: &'a str,
    input: &'a str,
    now: UnixTime,
    rng: &'a mut R,
    other_sets: &'a [BackupCodeSet],
    extras: Option<Extras>,
}

impl<'a, R: CryptoRng + ?Sized> Attempt<'a, R> {
    fn new(
        key: &'a RecordKey,
        input: &'a str,
        now: UnixTime,
        rng: &'a mut R,
        other_sets: &'a [BackupCodeSet],
    ) -> Self {
        Self {
            account: key.account(),
            input,
            now,
            rng,
            other_sets,
            extras: None,
        }
    }

    fn check(&mut self, set: &BackupCodeSet) -> Result<Verified<BackupCodeSet>, BackupCodeError> {
        self.extras = None;
        match set.redeem(self.account, self.input, self.now, &mut *self.rng) {
            Ok(redeemed) => {
                self.extras = Some(Extras {
                    replacement: redeemed.replacement,
                    remaining: redeemed.remaining,
                    running_low: redeemed.running_low,
                    events: redeemed.events,
                });
                Ok(redeemed.verified)
            }
            Err(BackupCodeError::WrongCode) => Err(classify_mismatch(self.input, self.other_sets)),
            Err(other) => Err(other),
        }
    }

    fn finish(
        self,
        verified: Verified<BackupCodeSet>,
    ) -> Result<Redeemed, AttemptError<BackupCodeError>> {
        let extras = self
            .extras
            .ok_or(AttemptError::Rejected(BackupCodeError::CorruptSet))?;
        Ok(Redeemed {
            verified,
            replacement: extras.replacement,
            remaining: extras.remaining,
            running_low: extras.running_low,
            events: extras.events,
        })
    }
}

/// `WrongCode`, or `CodeOfAnotherAccount` if one of `other_sets` holds the code.
fn classify_mismatch(input: &str, other_sets: &[BackupCodeSet]) -> BackupCodeError {
    let mut found = false;
    for set in other_sets {
        // Every candidate is checked (no early exit), each with its own account binding.
        found |= set.contains_code(input).unwrap_or(false);
    }
    if found {
        BackupCodeError::CodeOfAnotherAccount
    } else {
        BackupCodeError::WrongCode
    }
}

struct Extras {
    replacement: Option<BackupCode>,
    remaining: usize,
    running_low: bool,
    events: Vec<BackupEvent>,
}
