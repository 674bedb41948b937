//! Backup codes on an `mfa-core` store: issue (or regenerate), redeem once, throttled.

use core::convert::Infallible;
use core::future::ready;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, RecordKey, Store, StoreError, ThrottlePolicy,
    ThrottleStatus, UnixTime, Verified, block_on, load, load_async, update_async,
};
use rand_core::CryptoRng;

use crate::error::BackupCodeError;
use crate::format::BackupCode;
use crate::job::{HashedRedemption, RedeemJob};
use crate::set::{BackupCodeSet, BackupEvent, IssueJob, IssuePolicy, IssuedCodes, Redeemed};

/// The record kind backup-code sets are stored under.
pub const RECORD_KIND: &str = "backup";

/// The record key of `account`'s backup-code set: `("backup", account, "codes")`.
#[must_use]
pub fn record_key(account: &str) -> RecordKey {
    RecordKey::new(RECORD_KIND, account, "codes")
}

/// How many times a redemption starts again (load, hash, commit) when the set is regenerated
/// under it before giving up with [`BackupCodeError::StaleDigest`].
const MAX_HASH_ROUNDS: u32 = 3;

/// Issues a new set for `key.account()` and stores it, replacing (and so invalidating) any set
/// stored there before: this is also how a set is **regenerated**. Returns the plain-text codes,
/// to be shown once.
///
/// Hashes the codes on the calling thread (blocking; one hash at a time under
/// [`HashPermits::global`](crate::HashPermits::global)).
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
    block_on(issue_async(
        &BlockingStore(store),
        key,
        policy,
        now,
        rng,
        |job| ready(Ok::<_, Infallible>(job.run())),
    ))
}

/// Async [`issue`], over an [`AsyncStore`]. The codes are drawn here (cheap); hashing them is
/// handed to `offload` as an [`IssueJob`], to run where blocking is allowed: with tokio,
/// `|job| tokio::task::spawn_blocking(move || job.run())` (see the
/// [crate example](crate#async-the-hash-off-the-executor)).
///
/// `offload` may fail (a task that panicked or was cancelled): that is reported as
/// [`BackupCodeError::Hashing`].
///
/// # Errors
/// As [`issue`].
pub async fn issue_async<S, R, O, F, E>(
    store: &S,
    key: &RecordKey,
    policy: &IssuePolicy,
    now: UnixTime,
    rng: &mut R,
    offload: O,
) -> Result<IssuedCodes, AttemptError<BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
    O: FnOnce(IssueJob) -> F,
    F: Future<Output = Result<Result<IssuedCodes, BackupCodeError>, E>>,
{
    let job = policy
        .prepare(key.account(), now, rng)
        .map_err(AttemptError::Rejected)?;
    let issued = offload(job)
        .await
        .map_err(|_| AttemptError::Rejected(BackupCodeError::Hashing))?
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

/// Async [`load_set`].
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub async fn load_set_async<S: AsyncStore + ?Sized>(
    store: &S,
    key: &RecordKey,
) -> Result<Option<BackupCodeSet>, StoreError> {
    load_async(store, key).await
}

/// Redeems `input` against the set at `key` for `key.account()`: throttled (NIST SP 800-63B-4
/// §3.2.2 through [`ThrottlePolicy`]), checked with one hash ([`BackupCodeSet::redeem`]'s
/// rules), and committed with a compare-and-swap, so of any number of concurrent redemptions of
/// one code exactly one succeeds. The returned [`Redeemed`] is already committed.
///
/// The hash runs on the calling thread (blocking), under a permit of [`HashPermits::global`](crate::HashPermits::global).
/// Every attempt that is not throttled costs one hash: for an account with **no set stored**, a
/// dummy hash with the default parameters is computed before [`AttemptError::NotEnrolled`] is
/// returned, and input that cannot be a code is hashed (as a dummy) too, so the time an answer
/// takes does not tell who has backup codes. (A set issued with other than the default
/// parameters takes the time of its own parameters.)
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
    // The async helper over the blocking store, with the job run right here.
    block_on(redeem_with_lookup_async(
        &BlockingStore(store),
        key,
        throttle,
        input,
        now,
        rng,
        other_sets,
        |job| ready(Ok::<_, Infallible>(job.run())),
    ))
}

/// Async [`redeem`], over an [`AsyncStore`] (for example a networked store in an async server),
/// with the password hash **off the async path**: the store is read and written here, and the
/// hash is handed to `offload` as a [`RedeemJob`] to run where blocking is allowed: with tokio,
/// `|job| tokio::task::spawn_blocking(move || job.run())` (see the
/// [crate example](crate#async-the-hash-off-the-executor)).
///
/// `offload` is called once per attempt, or again if the set was regenerated between the hash
/// and the commit (the digest would not fit the new set; it is never accepted against it). It
/// may fail (a task that panicked or was cancelled): that is reported as
/// [`BackupCodeError::Hashing`]. Like [`redeem`], every attempt that is not throttled costs one
/// hash, a dummy one for an account with no set, which is also computed through `offload`.
///
/// Steps: the throttle is checked (a throttled attempt costs no hash), the set loaded and the
/// input parsed; the job hashes it; then `mfa-core`'s throttled compare-and-swap commits, with
/// only a constant-time comparison of the precomputed digest inside it.
///
/// # Errors
/// As [`redeem`].
pub async fn redeem_async<S, R, O, F, E>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    input: &str,
    now: UnixTime,
    rng: &mut R,
    offload: O,
) -> Result<Redeemed, AttemptError<BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
    O: FnMut(RedeemJob) -> F,
    F: Future<Output = Result<HashedRedemption, E>>,
{
    redeem_with_lookup_async(store, key, throttle, input, now, rng, &[], offload).await
}

/// Async [`redeem_with_lookup`]; the lookup's hashes run in the job too.
///
/// # Errors
/// As [`redeem`].
#[expect(
    clippy::too_many_arguments,
    reason = "redeem_with_lookup's, plus offload"
)]
pub async fn redeem_with_lookup_async<S, R, O, F, E>(
    store: &S,
    key: &RecordKey,
    throttle: &ThrottlePolicy,
    input: &str,
    now: UnixTime,
    rng: &mut R,
    other_sets: &[BackupCodeSet],
    mut offload: O,
) -> Result<Redeemed, AttemptError<BackupCodeError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
    O: FnMut(RedeemJob) -> F,
    F: Future<Output = Result<HashedRedemption, E>>,
{
    for _ in 0..MAX_HASH_ROUNDS {
        admit(throttle.status_async(store, key, now).await)?;
        let loaded = load_async(store, key).await.map_err(AttemptError::Store)?;
        let job = RedeemJob::new(key.account(), input, loaded, rng, other_sets);
        let hashed = offload(job)
            .await
            .map_err(|_| AttemptError::Rejected(BackupCodeError::Hashing))?;
        let mut commit = Commit::new(&hashed, now);
        let verified = throttle
            .verify_and_commit_async(store, key, now, |set: &BackupCodeSet| commit.check(set))
            .await;
        match commit.finish(verified) {
            Err(AttemptError::Rejected(BackupCodeError::StaleDigest)) => {}
            done => return done,
        }
    }
    Err(AttemptError::Rejected(BackupCodeError::StaleDigest))
}

/// A throttle check before any hashing: a throttled attempt costs nothing. (The throttled
/// commit checks again, atomically; this only spares the hash.)
fn admit(status: Result<ThrottleStatus, StoreError>) -> Result<(), AttemptError<BackupCodeError>> {
    match status.map_err(AttemptError::Store)? {
        ThrottleStatus::Open { .. } => Ok(()),
        ThrottleStatus::Throttled(throttled) => Err(AttemptError::Throttled(throttled)),
    }
}

/// The commit of one hashed attempt, shared by the blocking and async helpers.
///
/// The check may run more than once (write conflicts); the extras of the last run, whose state
/// is the one committed, are what the caller gets.
struct Commit<'a> {
    hashed: &'a HashedRedemption,
    now: UnixTime,
    extras: Option<Extras>,
}

impl<'a> Commit<'a> {
    fn new(hashed: &'a HashedRedemption, now: UnixTime) -> Self {
        Self {
            hashed,
            now,
            extras: None,
        }
    }

    /// No hash here: a constant-time comparison of the precomputed digest.
    fn check(&mut self, set: &BackupCodeSet) -> Result<Verified<BackupCodeSet>, BackupCodeError> {
        self.extras = None;
        let redeemed = self.hashed.check(set, self.now)?;
        self.extras = Some(Extras {
            replacement: redeemed.replacement,
            remaining: redeemed.remaining,
            running_low: redeemed.running_low,
            events: redeemed.events,
        });
        Ok(redeemed.verified)
    }

    fn finish(
        self,
        verified: Result<Verified<BackupCodeSet>, AttemptError<BackupCodeError>>,
    ) -> Result<Redeemed, AttemptError<BackupCodeError>> {
        let verified = verified?;
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

struct Extras {
    replacement: Option<BackupCode>,
    remaining: usize,
    running_low: bool,
    events: Vec<BackupEvent>,
}
