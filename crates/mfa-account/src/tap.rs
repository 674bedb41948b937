//! Temporary Access Pass: a time-limited pass an operator issues so a user with no usable
//! method can sign in to register one (onboarding, or recovery after losing every factor).
//!
//! Modelled on Microsoft Entra's Temporary Access Pass
//! (<https://learn.microsoft.com/en-us/entra/identity/authentication/howto-authentication-temporary-access-pass>)
//! and on account recovery in NIST SP 800-63B-4 (<https://pages.nist.gov/800-63-4/sp800-63b.html>):
//!
//! - **Lifetime** between [`AccountPolicy::tap_min_lifetime`] and
//!   [`AccountPolicy::tap_max_lifetime`] (10 minutes to 30 days by default), optionally starting
//!   later than now (at most `tap_max_lifetime` ahead).
//! - **One live pass per account**, as in Entra: issuing a pass revokes every pass issued before
//!   it. Each pass is numbered one more than the highest its issuer saw; when operators issue
//!   passes for one account at the same moment (same number), the one with the greatest pass id
//!   survives, and the issuers of the others get [`StoreError::Contention`] (their passes are
//!   deleted).
//! - **Secret**: [`AccountPolicy::tap_chars`] symbols of Crockford base32 (20 = 100 bits by
//!   default, never fewer than [`MIN_TAP_CHARS`] = 65 bits), grouped by four with `-`, shown once
//!   and stored only as a salted SHA-256.
//! - **Redeeming** compares the typed pass against every pass of the account in constant time. A
//!   one-time pass is *taken* (atomically loaded and deleted) so that of any number of concurrent
//!   redemptions exactly one succeeds; a multi-use pass stays until it expires and counts its uses.
//! - **Scope**: the pass proves a strong sign-in *for registering security info only*.
//!   `mfa-policy`'s built-in `mfa` strength accepts a temporary access pass on its own, so the
//!   scope is enforced here: [`TapGrant::evidence_for`] hands out the evidence only for
//!   [`UserAction::RegisterSecurityInfo`]. Never put [`Verified::evidence`] of a redemption into
//!   a sign-in context yourself.
//! - **Not throttled**: a pass of at least 65 random bits cannot be guessed online, and counting
//!   failures would let anyone who knows the user's name lock the help desk's pass out.
//!
//! An expired pass stays in the store for a day after its end (so presenting it answers
//! [`AccountError::TapExpired`]), then the store drops it and it reads as unknown
//! ([`AccountError::TapInvalid`]).

use core::fmt;
use core::time::Duration;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, Evidence, Method, Store,
    StoreError, UnixTime, Verified, block_on, insert_new_until_async, list_async, take_async,
    update_async,
};
use mfa_policy::UserAction;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::AccountError;
use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::hashed::{
    EXPIRED_KEPT_FOR, MAX_SECRET_CHARS, delete_async, emit, find_match, without_separators,
};
use crate::secret::{CROCKFORD_UPPER, SecretHash, generate_grouped, normalize, random_id};
use crate::store::{TAP_KIND, tap_key};
use crate::{AccountPolicy, Operator};

/// Fewest symbols in a pass, whatever the policy says: 13 × 5 = 65 bits.
pub const MIN_TAP_CHARS: usize = 13;

/// Domain separation of pass hashes.
const TAP_DOMAIN: &str = "mfa-account/tap";

/// What an operator asks for when issuing a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapOptions {
    /// How long the pass works from its start.
    pub lifetime: Duration,
    /// Whether the pass works once (then it is gone) or until it expires.
    pub one_time: bool,
    /// When the pass starts working (`None`, or a time before now: now).
    pub starts_at: Option<UnixTime>,
}

impl TapOptions {
    /// A pass that works once, from now, for `lifetime`.
    #[must_use]
    pub const fn one_time(lifetime: Duration) -> Self {
        Self {
            lifetime,
            one_time: true,
            starts_at: None,
        }
    }

    /// A pass that works any number of times, from now, for `lifetime`.
    #[must_use]
    pub const fn multi_use(lifetime: Duration) -> Self {
        Self {
            lifetime,
            one_time: false,
            starts_at: None,
        }
    }

    /// The same pass, starting at `starts_at`.
    #[must_use]
    pub const fn starting_at(self, starts_at: UnixTime) -> Self {
        Self {
            starts_at: Some(starts_at),
            ..self
        }
    }
}

/// A pass just issued: give [`pass`](Self::pass) to the user (it is shown once and never stored).
/// `Debug` does not show the pass.
#[derive(Clone)]
pub struct IssuedTap {
    /// The pass's id (for listing and revoking; not secret).
    pub pass_id: String,
    /// The pass, grouped by four with `-` (`ABCD-EFGH-…`). Typed case-insensitively, with or
    /// without the dashes; `I`/`L` read as `1` and `O` as `0`.
    pub pass: Zeroizing<String>,
    /// When it starts working.
    pub starts_at: UnixTime,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// Whether it works once.
    pub one_time: bool,
}

impl fmt::Debug for IssuedTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTap")
            .field("pass_id", &self.pass_id)
            .field("pass", &"<redacted>")
            .field("starts_at", &self.starts_at)
            .field("expires_at", &self.expires_at)
            .field("one_time", &self.one_time)
            .finish()
    }
}

/// A pass as stored under [`tap_key`]: the hash, never the pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct TapRecord {
    hash: SecretHash,
    issued_by: String,
    issued_at: UnixTime,
    /// Orders the account's passes: one more than the highest the issuer saw.
    sequence: u64,
    starts_at: UnixTime,
    expires_at: UnixTime,
    one_time: bool,
    uses: u32,
    last_used_at: Option<UnixTime>,
}

/// A pass as listed: everything but the secret.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TapInfo {
    /// The pass's id.
    pub pass_id: String,
    /// The operator who issued it.
    pub issued_by: String,
    /// When it was issued. JSON: Unix milliseconds.
    pub issued_at: UnixTime,
    /// When it starts working. JSON: Unix milliseconds.
    pub starts_at: UnixTime,
    /// When it stops working. JSON: Unix milliseconds.
    pub expires_at: UnixTime,
    /// Whether it works once.
    pub one_time: bool,
    /// How often it has been used (a one-time pass is gone after its use).
    pub uses: u32,
    /// When it was last used. JSON: Unix milliseconds.
    pub last_used_at: Option<UnixTime>,
}

impl TapInfo {
    /// Whether the pass works at `now` (started, not expired).
    #[must_use]
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        self.starts_at <= now && now < self.expires_at
    }

    fn from_record(pass_id: &str, record: TapRecord) -> Self {
        Self {
            pass_id: pass_id.to_owned(),
            issued_by: record.issued_by,
            issued_at: record.issued_at,
            starts_at: record.starts_at,
            expires_at: record.expires_at,
            one_time: record.one_time,
            uses: record.uses,
            last_used_at: record.last_used_at,
        }
    }
}

/// What redeeming a pass grants: a strong sign-in for registering security info, and nothing
/// else. Built only by [`redeem_tap`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapGrant {
    pass_id: String,
    one_time: bool,
    uses: u32,
    expires_at: UnixTime,
    evidence: Evidence,
}

impl TapGrant {
    /// The evidence to add to the sign-in context for `action`: `Some` only for
    /// [`UserAction::RegisterSecurityInfo`]. A temporary access pass lets the user enroll new
    /// methods; signing in to applications, changing the password or becoming an administrator
    /// need a registered method (`mfa-policy`'s `mfa` strength would accept the pass alone, which
    /// is why the scope is kept here).
    #[must_use]
    pub fn evidence_for(&self, action: UserAction) -> Option<Evidence> {
        (action == UserAction::RegisterSecurityInfo).then(|| self.evidence.clone())
    }

    /// The redeemed pass's id.
    #[must_use]
    pub fn pass_id(&self) -> &str {
        &self.pass_id
    }

    /// Whether the pass was a one-time pass (now gone).
    #[must_use]
    pub fn one_time(&self) -> bool {
        self.one_time
    }

    /// How often the pass has been used, this time included.
    #[must_use]
    pub fn uses(&self) -> u32 {
        self.uses
    }

    /// When the pass stops working: the registration session should not outlive it.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

/// Issues a temporary access pass for `account`, on behalf of `operator`, and revokes every pass
/// the account had before (one live pass per account). Emits
/// [`TapIssued`](AccountChange::TapIssued) (and [`TapRevoked`](AccountChange::TapRevoked) for
/// each pass replaced), by [`Actor::Operator`].
///
/// # Errors
/// [`AccountError::InvalidLifetime`] when `options.lifetime` is outside the policy's bounds or
/// the start is more than [`AccountPolicy::tap_max_lifetime`] ahead; [`AttemptError::Store`] when
/// the store fails, and with [`StoreError::Contention`] when another operator issued a newer
/// pass for the account at the same moment (this one is then deleted: issue again if it should
/// win).
#[expect(
    clippy::too_many_arguments,
    reason = "store, policy, events, whose, by whom, what, clock and randomness are all needed"
)]
pub fn issue_tap<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    operator: &Operator,
    options: TapOptions,
    now: UnixTime,
    rng: &mut R,
) -> Result<IssuedTap, AttemptError<AccountError>> {
    block_on(issue_tap_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        operator,
        options,
        now,
        rng,
    ))
}

/// Async [`issue_tap`].
///
/// # Errors
/// As [`issue_tap`].
#[expect(clippy::too_many_arguments, reason = "as issue_tap")]
pub async fn issue_tap_async<S: AsyncStore + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    operator: &Operator,
    options: TapOptions,
    now: UnixTime,
    rng: &mut R,
) -> Result<IssuedTap, AttemptError<AccountError>> {
    let invalid = || AttemptError::Rejected(AccountError::InvalidLifetime);
    if options.lifetime < policy.tap_min_lifetime || options.lifetime > policy.tap_max_lifetime {
        return Err(invalid());
    }
    let starts_at = options.starts_at.map_or(now, |start| start.max(now));
    if starts_at.saturating_since(now) > policy.tap_max_lifetime {
        return Err(invalid());
    }
    let expires_at = starts_at
        .checked_add(options.lifetime)
        .ok_or_else(invalid)?;

    let chars = policy.tap_chars.clamp(MIN_TAP_CHARS, MAX_SECRET_CHARS);
    let pass = generate_grouped(rng, CROCKFORD_UPPER, chars, 4, '-');
    let pass_id = random_id(rng);
    let sequence = list_async::<_, TapRecord>(store, TAP_KIND, account)
        .await?
        .iter()
        .map(|(_, older)| older.sequence.saturating_add(1))
        .max()
        .unwrap_or(0);
    let record = TapRecord {
        hash: SecretHash::new(rng, TAP_DOMAIN, &without_separators(&pass)),
        issued_by: operator.id().to_owned(),
        issued_at: now,
        sequence,
        starts_at,
        expires_at,
        one_time: options.one_time,
        uses: 0,
        last_used_at: None,
    };
    insert_new_until_async(
        store,
        &tap_key(account, &pass_id),
        &record,
        expires_at.saturating_add(EXPIRED_KEPT_FOR),
    )
    .await?;

    let actor = Actor::Operator(operator.id().to_owned());
    let replaced = replace_older_passes(store, account, (sequence, &pass_id)).await?;
    for pass_id in replaced {
        emit(
            events,
            account,
            actor.clone(),
            now,
            AccountChange::TapRevoked { pass_id },
        );
    }
    emit(
        events,
        account,
        actor,
        now,
        AccountChange::TapIssued {
            pass_id: pass_id.clone(),
            expires_at,
        },
    );
    Ok(IssuedTap {
        pass_id,
        pass,
        starts_at,
        expires_at,
        one_time: options.one_time,
    })
}

/// Deletes every pass of `account` issued before `mine` (by sequence, then id) and returns
/// their ids; if a pass issued after `mine` exists, deletes `mine` instead and fails.
///
/// Of passes issued concurrently, the one that is newest survives alone: for any two of them,
/// whichever issuer lists second sees both and deletes the older.
async fn replace_older_passes<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    mine: (u64, &str),
) -> Result<Vec<String>, AttemptError<AccountError>> {
    let passes = list_async::<_, TapRecord>(store, TAP_KIND, account).await?;
    let superseded = passes
        .iter()
        .any(|(key, other)| (other.sequence, key.id()) > mine)
        || !passes.iter().any(|(key, _)| key.id() == mine.1);
    if superseded {
        delete_async::<_, TapRecord>(store, &tap_key(account, mine.1)).await?;
        return Err(AttemptError::Store(StoreError::Contention { attempts: 1 }));
    }
    let mut replaced = Vec::new();
    for (key, other) in &passes {
        if (other.sequence, key.id()) < mine && delete_async::<_, TapRecord>(store, key).await? {
            replaced.push(key.id().to_owned());
        }
    }
    Ok(replaced)
}

/// Redeems a pass `account`'s user typed: the typed text is compared against every pass of the
/// account in constant time; a one-time pass is taken (exactly one of any number of concurrent
/// redemptions wins), a multi-use pass counts the use. Emits
/// [`TapRedeemed`](AccountChange::TapRedeemed) and [`RecoverySignIn`](AccountChange::RecoverySignIn)
/// (NIST SP 800-63B-4: tell the user after every recovery), by [`Actor::User`].
///
/// The evidence is [`Method::TemporaryAccessPass`] with the pass id as credential; hand it to
/// the policy engine only through [`TapGrant::evidence_for`].
///
/// # Errors
/// [`AccountError::TapInvalid`] when no pass of the account matches (wrong, unknown, used up,
/// revoked, or not in the pass alphabet); [`AccountError::TapExpired`] when the pass matches but
/// has not started or has ended; [`AttemptError::Store`] when the store fails.
pub fn redeem_tap<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    typed: &str,
    now: UnixTime,
) -> Result<Verified<TapGrant>, AttemptError<AccountError>> {
    block_on(redeem_tap_async(
        &BlockingStore(store),
        events,
        account,
        typed,
        now,
    ))
}

/// Async [`redeem_tap`].
///
/// # Errors
/// As [`redeem_tap`].
pub async fn redeem_tap_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    typed: &str,
    now: UnixTime,
) -> Result<Verified<TapGrant>, AttemptError<AccountError>> {
    let invalid = || AttemptError::Rejected(AccountError::TapInvalid);
    let normalized = normalize(typed).ok_or_else(invalid)?;
    let passes = list_async::<_, TapRecord>(store, TAP_KIND, account).await?;
    let (key, pass) =
        find_match(&passes, |pass| &pass.hash, TAP_DOMAIN, &normalized).ok_or_else(invalid)?;
    if now < pass.starts_at || now >= pass.expires_at {
        return Err(AttemptError::Rejected(AccountError::TapExpired));
    }
    let uses = if pass.one_time {
        match take_async::<_, TapRecord>(store, key).await? {
            Some(taken) if taken.hash == pass.hash => taken.uses.saturating_add(1),
            // Taken by a concurrent redemption, or revoked, since it was listed.
            _ => return Err(invalid()),
        }
    } else {
        update_async(store, key, |current: Option<&TapRecord>| match current {
            Some(current) if current.hash == pass.hash => {
                let mut used = current.clone();
                used.uses = used.uses.saturating_add(1);
                used.last_used_at = Some(now);
                let uses = used.uses;
                (Change::Put(used), Some(uses))
            }
            _ => (Change::Keep, None),
        })
        .await?
        .ok_or_else(invalid)?
    };
    let pass_id = key.id().to_owned();
    let evidence = Evidence::new(Method::TemporaryAccessPass, now, pass_id.as_str());
    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::TapRedeemed {
            pass_id: pass_id.clone(),
        },
    );
    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::RecoverySignIn {
            method: Method::TemporaryAccessPass,
        },
    );
    let grant = TapGrant {
        pass_id,
        one_time: pass.one_time,
        uses,
        expires_at: pass.expires_at,
        evidence: evidence.clone(),
    };
    Ok(Verified::new(evidence, grant))
}

/// Every pass `account` has (live, not yet started, or expired within the last day), oldest
/// first, without secrets.
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode.
pub fn list_taps<S: Store + ?Sized>(store: &S, account: &str) -> Result<Vec<TapInfo>, StoreError> {
    block_on(list_taps_async(&BlockingStore(store), account))
}

/// Async [`list_taps`].
///
/// # Errors
/// As [`list_taps`].
pub async fn list_taps_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<TapInfo>, StoreError> {
    let mut passes: Vec<TapInfo> = list_async::<_, TapRecord>(store, TAP_KIND, account)
        .await?
        .into_iter()
        .map(|(key, record)| TapInfo::from_record(key.id(), record))
        .collect();
    passes.sort_by(|a, b| (a.issued_at, &a.pass_id).cmp(&(b.issued_at, &b.pass_id)));
    Ok(passes)
}

/// Revokes `account`'s pass `pass_id`. Emits [`TapRevoked`](AccountChange::TapRevoked) by `actor`.
///
/// # Errors
/// [`AccountError::TapInvalid`] when the account has no such pass; [`AttemptError::Store`] when
/// the store fails.
pub fn revoke_tap<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    pass_id: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(revoke_tap_async(
        &BlockingStore(store),
        events,
        account,
        pass_id,
        actor,
        now,
    ))
}

/// Async [`revoke_tap`].
///
/// # Errors
/// As [`revoke_tap`].
pub async fn revoke_tap_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    pass_id: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    if !delete_async::<_, TapRecord>(store, &tap_key(account, pass_id)).await? {
        return Err(AttemptError::Rejected(AccountError::TapInvalid));
    }
    emit(
        events,
        account,
        actor,
        now,
        AccountChange::TapRevoked {
            pass_id: pass_id.to_owned(),
        },
    );
    Ok(())
}
