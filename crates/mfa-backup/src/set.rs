//! The stored set of hashed codes: issue, redeem once, count what is left.

use core::fmt;

use mfa_core::{Evidence, Method, UnixTime, Verified};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::BackupCodeError;
use crate::format::{BackupCode, CanonicalCode, CodeFormat};
use crate::hash::{DIGEST_LEN, HashParams, SALT_LEN, hash_bounded, hash_input, hex_array};
use crate::permits::HashPermits;

/// The most codes one set may hold.
pub const MAX_CODES: usize = 100;

/// Version of the stored layout ([`BackupCodeSet`]'s `v` field).
const LAYOUT_VERSION: u32 = 1;

/// What happens to a slot once its code is redeemed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryMode {
    /// The code is spent; the set shrinks until it is regenerated (the usual backup-code sheet).
    #[default]
    SingleUse,
    /// NIST SP 800-63B-4's *saved recovery code*: each redemption spends the code and issues a
    /// replacement ([`Redeemed::replacement`]) with a [`BackupEvent::ReplacementIssued`] the
    /// service turns into a notification to the account's contact addresses.
    ReplaceAfterUse,
}

/// How a new set is issued. `Default` gives 10 codes of the default format, hashed with
/// Argon2id (m = 19 MiB, t = 2, p = 1), "running low" at 3 or fewer, single use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuePolicy {
    /// Codes per set, 1 ..= [`MAX_CODES`]. Default 10.
    pub count: usize,
    /// How codes look. Default [`CodeFormat::Grouped10`] (`xxxxx-xxxxx`, 50 bits).
    pub format: CodeFormat,
    /// The hasher and its parameters. Default Argon2id, m = 19 MiB, t = 2, p = 1.
    pub hasher: HashParams,
    /// "Running low" when this many or fewer codes are left. Default 3.
    pub low_watermark: usize,
    /// Single use, or replace after use. Default single use.
    pub mode: RecoveryMode,
}

impl Default for IssuePolicy {
    fn default() -> Self {
        Self {
            count: 10,
            format: CodeFormat::default(),
            hasher: HashParams::default(),
            low_watermark: 3,
            mode: RecoveryMode::default(),
        }
    }
}

impl IssuePolicy {
    /// Issues a new set for `account` at `now`, drawing the codes, the salt and the set id from
    /// `rng`. The returned codes are the only plain-text copy: show or print them once.
    ///
    /// Issuing again for the same account (regenerating) gives a new salt, set id and codes;
    /// storing the new set in place of the old one invalidates every old code.
    ///
    /// Hashes every code on the calling thread (blocking, one at a time under a permit of
    /// [`HashPermits::global`]). From async code, [`prepare`](Self::prepare) here and run the
    /// [`IssueJob`] where blocking is allowed (or use [`issue_async`](crate::issue_async)).
    ///
    /// # Errors
    /// [`BackupCodeError::InvalidConfig`] if `count` is 0 or above [`MAX_CODES`], or `account`
    /// is empty or longer than 1024 bytes; [`BackupCodeError::Hashing`] if the hasher fails.
    pub fn issue<R: CryptoRng + ?Sized>(
        &self,
        account: &str,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<IssuedCodes, BackupCodeError> {
        self.prepare(account, now, rng)?.run()
    }

    /// The cheap half of [`issue`](Self::issue): checks the options and draws the codes, the
    /// salt and the set id from `rng`; [`IssueJob::run`] then hashes the codes.
    ///
    /// # Errors
    /// As [`issue`](Self::issue), except that hashing errors come from [`IssueJob::run`].
    pub fn prepare<R: CryptoRng + ?Sized>(
        &self,
        account: &str,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<IssueJob, BackupCodeError> {
        if self.count == 0 || self.count > MAX_CODES {
            return Err(BackupCodeError::InvalidConfig("count must be 1 to 100"));
        }
        if account.is_empty() || account.len() > 1024 {
            return Err(BackupCodeError::InvalidConfig(
                "account must be 1 to 1024 bytes",
            ));
        }
        let mut salt = [0_u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut id = [0_u8; 16];
        rng.fill_bytes(&mut id);
        let set = BackupCodeSet {
            v: LAYOUT_VERSION,
            id: hex_array::encode(&id),
            account: account.to_owned(),
            issued_at: now,
            format: self.format,
            hasher: self.hasher,
            salt,
            low_watermark: self.low_watermark,
            mode: self.mode,
            slots: Vec::with_capacity(self.count),
        };
        let mut codes: Vec<CanonicalCode> = Vec::with_capacity(self.count);
        while codes.len() < self.count {
            let code = self.format.generate(rng);
            // Duplicates are possible in the short formats; draw again (issue time, not secret-timed).
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        Ok(IssueJob { set, codes })
    }
}

/// A set being issued, its codes drawn but not yet hashed: the CPU-heavy, blocking half of
/// issuing (one password hash per code, ~19 MiB and ~15 ms each with the default Argon2id
/// parameters). Made by [`IssuePolicy::prepare`] or handed to the `offload` closure of
/// [`issue_async`](crate::issue_async); run it where blocking is allowed
/// (`tokio::task::spawn_blocking`), never on an async executor's thread.
#[must_use = "a prepared set is issued only once the job has run"]
pub struct IssueJob {
    /// The set with no slots yet.
    set: BackupCodeSet,
    /// The drawn codes, in slot order.
    codes: Vec<CanonicalCode>,
}

impl IssueJob {
    /// Hashes the codes (one at a time, each under a permit of [`HashPermits::global`]).
    ///
    /// # Errors
    /// [`BackupCodeError::Hashing`] if the hasher fails.
    pub fn run(self) -> Result<IssuedCodes, BackupCodeError> {
        self.run_with(HashPermits::global())
    }

    /// [`run`](Self::run), under the caller's own `permits`.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_with(self, permits: &HashPermits) -> Result<IssuedCodes, BackupCodeError> {
        let Self { mut set, codes } = self;
        for code in &codes {
            let digest = set.digest(&set.account, code, permits)?;
            set.slots.push(Slot {
                digest: *digest,
                used_at: None,
            });
        }
        Ok(IssuedCodes {
            codes: codes.iter().map(CanonicalCode::display).collect(),
            set,
        })
    }
}

impl fmt::Debug for IssueJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssueJob")
            .field("set", &self.set)
            .field("codes", &self.codes.len())
            .finish_non_exhaustive()
    }
}

/// A freshly issued set: the stored form and the plain-text codes (shown once, then dropped).
#[derive(Debug)]
pub struct IssuedCodes {
    /// The form to store: salted hashes only.
    pub set: BackupCodeSet,
    /// The codes, in slot order, as shown to the user. Zeroized on drop.
    pub codes: Vec<BackupCode>,
}

/// One code's stored state: its digest, and when it was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Slot {
    #[serde(with = "hex_array")]
    digest: [u8; DIGEST_LEN],
    /// Set once redeemed; the digest is kept so a replay is told apart from a wrong code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    used_at: Option<UnixTime>,
}

/// A set of backup codes as stored: **no code in the clear**, only salted password hashes.
///
/// - One random 128-bit salt per set (new on every issue or regeneration), and the account and
///   set id bound into every hash input, so a redemption costs one hash computation however many
///   codes are left. The hash is then compared against every slot in constant time (see
///   [`redeem`](Self::redeem)).
/// - The hasher and its parameters are stored too, so they can be raised for future sets.
///
/// Serialized with serde (JSON shown):
/// `{"v":1,"id":"…","account":"alice","issued_at":…,"format":"default","hasher":{"alg":"argon2id",…},"salt":"…","low_watermark":3,"mode":"single_use","slots":[{"digest":"…"},{"digest":"…","used_at":…}]}`
///
/// Implements NIST SP 800-63B-4 §3.1.2 (look-up secrets).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupCodeSet {
    v: u32,
    id: String,
    account: String,
    issued_at: UnixTime,
    format: CodeFormat,
    hasher: HashParams,
    #[serde(with = "hex_array")]
    salt: [u8; SALT_LEN],
    low_watermark: usize,
    mode: RecoveryMode,
    slots: Vec<Slot>,
}

impl fmt::Debug for BackupCodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupCodeSet")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("issued_at", &self.issued_at)
            .field("format", &self.format)
            .field("hasher", &self.hasher)
            .field("total", &self.total())
            .field("remaining", &self.remaining())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// What a successful redemption yields, before or after it is committed.
#[must_use = "a redemption must be committed and its evidence recorded"]
#[derive(Debug)]
pub struct Redeemed {
    /// The proof token: the evidence (method `backup_code`, credential = set id) and the updated set.
    pub verified: Verified<BackupCodeSet>,
    /// In [`RecoveryMode::ReplaceAfterUse`], the new code that took the spent one's place: show it
    /// to the user once. `None` in single-use mode.
    pub replacement: Option<BackupCode>,
    /// Codes left after this redemption.
    pub remaining: usize,
    /// Whether the set is now at or below its low watermark.
    pub running_low: bool,
    /// What the service should know about (audit, notifications).
    pub events: Vec<BackupEvent>,
}

/// Something a redemption tells the service, to log or turn into a notification. No secrets.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BackupEvent {
    /// A code was redeemed.
    CodeRedeemed {
        /// The account.
        account: String,
        /// The set's id.
        set_id: String,
        /// Codes left.
        remaining: usize,
    },
    /// The set is at or below its low watermark: suggest regenerating.
    RunningLow {
        /// The account.
        account: String,
        /// The set's id.
        set_id: String,
        /// Codes left.
        remaining: usize,
    },
    /// Saved-recovery-code mode issued a replacement code; notify the account holder through
    /// their other contact addresses (NIST SP 800-63B-4 asks for notice of account recovery).
    ReplacementIssued {
        /// The account.
        account: String,
        /// The set's id.
        set_id: String,
    },
}

/// The outcome of scanning the slots for one digest.
pub(crate) struct Scan {
    matched_unused: Choice,
    matched_used: Choice,
    index: u32,
}

impl Scan {
    /// Whether the digest matched a slot, used or not.
    pub(crate) fn matched_any(&self) -> bool {
        bool::from(self.matched_unused | self.matched_used)
    }

    /// Whether the digest matched an unused slot.
    pub(crate) fn matched_unused(&self) -> bool {
        bool::from(self.matched_unused)
    }
}

impl BackupCodeSet {
    /// The set's id (random, 128 bits, hex): the credential id in [`Evidence`]. Not secret.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The account the set was issued to.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// When the set was issued.
    #[must_use]
    pub fn issued_at(&self) -> UnixTime {
        self.issued_at
    }

    /// When a code of this set was last redeemed, if ever (the latest use among the slots it
    /// still keeps): "last used" on a security-info page.
    #[must_use]
    pub fn last_used_at(&self) -> Option<UnixTime> {
        self.slots.iter().filter_map(|slot| slot.used_at).max()
    }

    /// The codes' format.
    #[must_use]
    pub fn format(&self) -> CodeFormat {
        self.format
    }

    /// The hasher and its parameters.
    #[must_use]
    pub fn hasher(&self) -> HashParams {
        self.hasher
    }

    /// Single use or replace after use.
    #[must_use]
    pub fn mode(&self) -> RecoveryMode {
        self.mode
    }

    /// Number of slots (used or not).
    #[must_use]
    pub fn total(&self) -> usize {
        self.slots.len()
    }

    /// Codes not yet used.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.used_at.is_none())
            .count()
    }

    /// The threshold at or below which the set is running low.
    #[must_use]
    pub fn low_watermark(&self) -> usize {
        self.low_watermark
    }

    /// Whether [`remaining`](Self::remaining) is at or below the low watermark.
    #[must_use]
    pub fn is_running_low(&self) -> bool {
        self.remaining() <= self.low_watermark
    }

    /// Hashes a canonical code as it would be stored in this set for `account`, under one of
    /// `permits`.
    pub(crate) fn digest(
        &self,
        account: &str,
        code: &CanonicalCode,
        permits: &HashPermits,
    ) -> Result<Zeroizing<[u8; DIGEST_LEN]>, BackupCodeError> {
        let input = hash_input(account, &self.id, code.symbols())?;
        hash_bounded(&self.hasher, &input, &self.salt, permits)
    }

    /// Whether a digest computed for `other` is valid for this set: same set id, salt, hasher
    /// and format. (Redeeming codes changes none of these; only issuing a new set does.)
    pub(crate) fn hashes_like(&self, other: &Self) -> bool {
        self.id == other.id
            && self.salt == other.salt
            && self.hasher == other.hasher
            && self.format == other.format
    }

    /// Whether `digest` is already the digest of a slot (used or not). Variable time: only for
    /// replacement codes, which are not the input being checked.
    pub(crate) fn holds_digest_vartime(&self, digest: &[u8; DIGEST_LEN]) -> bool {
        self.slots.iter().any(|slot| slot.digest == *digest)
    }

    pub(crate) fn check_layout(&self) -> Result<(), BackupCodeError> {
        if self.v != LAYOUT_VERSION || self.slots.len() > MAX_CODES {
            return Err(BackupCodeError::CorruptSet);
        }
        Ok(())
    }

    /// Compares `digest` against every slot in constant time: no early exit, and the same
    /// operations whichever slot matches, used or not.
    pub(crate) fn scan(&self, digest: &[u8; DIGEST_LEN]) -> Scan {
        let mut scan = Scan {
            matched_unused: Choice::from(0),
            matched_used: Choice::from(0),
            index: u32::MAX,
        };
        for (slot, i) in self.slots.iter().zip(0_u32..) {
            let equal = slot.digest[..].ct_eq(&digest[..]);
            let used = Choice::from(u8::from(slot.used_at.is_some()));
            let hit = equal & !used;
            scan.matched_unused |= hit;
            scan.matched_used |= equal & used;
            scan.index.conditional_assign(&i, hit);
        }
        scan
    }

    /// One hash of the input, bound to the requesting account.
    fn hash_attempt(
        &self,
        account: &str,
        input: &str,
        permits: &HashPermits,
    ) -> Result<Zeroizing<[u8; DIGEST_LEN]>, BackupCodeError> {
        self.check_layout()?;
        let code = self.format.normalize(input)?;
        self.digest(account, &code, permits)
    }

    /// Checks `input` as a code of this set for `account`, and on success returns the updated set
    /// (the slot marked used, and replaced in [`RecoveryMode::ReplaceAfterUse`]) inside a
    /// [`Verified`] proof token. Persist it through the store helper ([`crate::redeem`]), which is
    /// what makes the code single-use under concurrent requests.
    ///
    /// Cost and timing: input that is not well-formed is refused before hashing (the format is
    /// public; the store helpers hash a dummy in that case, so their answers take the same time).
    /// Otherwise exactly **one** hash is computed, however many codes are left, and its
    /// digest is compared with every slot in constant time with no early exit; wrong, used and
    /// right codes do the same work. Only a success in replace-after-use mode computes a second
    /// hash (for the replacement). Each hash runs on the calling thread, blocking, under a permit
    /// of [`HashPermits::global`]: call this from a blocking context, not from an async task.
    ///
    /// `rng` is drawn from only in replace-after-use mode.
    ///
    /// # Errors
    /// [`BackupCodeError::Malformed`], [`WrongCode`](BackupCodeError::WrongCode),
    /// [`AlreadyUsed`](BackupCodeError::AlreadyUsed),
    /// [`SetOfAnotherAccount`](BackupCodeError::SetOfAnotherAccount) when `account` is not the
    /// set's, [`Hashing`](BackupCodeError::Hashing) or [`CorruptSet`](BackupCodeError::CorruptSet).
    pub fn redeem<R: CryptoRng + ?Sized>(
        &self,
        account: &str,
        input: &str,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<Redeemed, BackupCodeError> {
        let permits = HashPermits::global();
        // The hash binds the *requesting* account: a set copied into another account's record
        // can never match, even before the explicit check in `redeem_digest`.
        let digest = self.hash_attempt(account, input, permits)?;
        self.redeem_digest(account, &digest, now, |set| {
            loop {
                let code = set.format.generate(rng);
                let digest = set.digest(account, &code, permits)?;
                // Never reuse a digest already in the set (vanishingly rare; variable time is fine
                // here: the new code is not the input being checked).
                if !set.holds_digest_vartime(&digest) {
                    break Ok((code, digest));
                }
            }
        })
    }

    /// The part of [`redeem`](Self::redeem) after the hash: `digest` (the input hashed for
    /// `account` with this set's id, salt and hasher) compared with every slot in constant time,
    /// and on a match the updated set. In [`RecoveryMode::ReplaceAfterUse`], `replacement` gives
    /// the new code and its digest (it is called only on a match).
    ///
    /// # Errors
    /// As [`redeem`](Self::redeem), and whatever `replacement` returns.
    pub(crate) fn redeem_digest(
        &self,
        account: &str,
        digest: &[u8; DIGEST_LEN],
        now: UnixTime,
        replacement: impl FnOnce(
            &Self,
        ) -> Result<
            (CanonicalCode, Zeroizing<[u8; DIGEST_LEN]>),
            BackupCodeError,
        >,
    ) -> Result<Redeemed, BackupCodeError> {
        self.check_layout()?;
        let scan = self.scan(digest);
        if self.account != account {
            return Err(BackupCodeError::SetOfAnotherAccount);
        }
        if bool::from(scan.matched_used) {
            return Err(BackupCodeError::AlreadyUsed);
        }
        if !bool::from(scan.matched_unused) {
            return Err(BackupCodeError::WrongCode);
        }
        let index = usize::try_from(scan.index).map_err(|_| BackupCodeError::CorruptSet)?;

        let mut updated = self.clone();
        let mut replacement_code = None;
        match self.mode {
            RecoveryMode::ReplaceAfterUse => {
                let code = replacement(self)?;
                let slot = updated
                    .slots
                    .get_mut(index)
                    .ok_or(BackupCodeError::CorruptSet)?;
                // The spent slot is kept (marked used) so a replay is still told apart; the
                // replacement takes a fresh slot at the end.
                slot.used_at = Some(now);
                updated.slots.push(Slot {
                    digest: *code.1,
                    used_at: None,
                });
                // Keep the set bounded: forget the oldest used slot beyond MAX_CODES.
                if updated.slots.len() > MAX_CODES
                    && let Some(oldest) = updated.slots.iter().position(|s| s.used_at.is_some())
                {
                    updated.slots.remove(oldest);
                }
                replacement_code = Some(code.0.display());
            }
            RecoveryMode::SingleUse => {
                let slot = updated
                    .slots
                    .get_mut(index)
                    .ok_or(BackupCodeError::CorruptSet)?;
                slot.used_at = Some(now);
            }
        }

        let remaining = updated.remaining();
        let running_low = updated.is_running_low();
        let mut events = vec![BackupEvent::CodeRedeemed {
            account: self.account.clone(),
            set_id: self.id.clone(),
            remaining,
        }];
        if replacement_code.is_some() {
            events.push(BackupEvent::ReplacementIssued {
                account: self.account.clone(),
                set_id: self.id.clone(),
            });
        }
        if running_low {
            events.push(BackupEvent::RunningLow {
                account: self.account.clone(),
                set_id: self.id.clone(),
                remaining,
            });
        }
        let evidence = Evidence::new(Method::BackupCode, now, self.id.as_str());
        Ok(Redeemed {
            verified: Verified::new(evidence, updated),
            replacement: replacement_code,
            remaining,
            running_low,
            events,
        })
    }

    /// Whether `input` matches a slot of this set (used or not), for this set's own account.
    /// One hash. For operator diagnostics ([`crate::redeem_with_lookup`]); never accepts a code.
    ///
    /// # Errors
    /// As [`redeem`](Self::redeem), except that a match is `Ok(true)`.
    pub fn contains_code(&self, input: &str) -> Result<bool, BackupCodeError> {
        self.contains_code_with(input, HashPermits::global())
    }

    /// [`contains_code`](Self::contains_code) under `permits`.
    pub(crate) fn contains_code_with(
        &self,
        input: &str,
        permits: &HashPermits,
    ) -> Result<bool, BackupCodeError> {
        let digest = self.hash_attempt(&self.account, input, permits)?;
        Ok(self.scan(&digest).matched_any())
    }
}
