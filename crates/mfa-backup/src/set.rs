//! The stored set of hashed codes: issue, redeem once, count what is left.

use core::fmt;

use mfa_core::{Evidence, Method, UnixTime, Verified};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::BackupCodeError;
use crate::format::{BackupCode, CanonicalCode, CodeFormat};
use crate::hash::{CodeHasher, DIGEST_LEN, HashParams, SALT_LEN, hash_input, hex_array};

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
    /// # Errors
    /// [`BackupCodeError::InvalidConfig`] if `count` is 0 or above [`MAX_CODES`], or `account`
    /// is empty or longer than 1024 bytes; [`BackupCodeError::Hashing`] if the hasher fails.
    pub fn issue<R: CryptoRng + ?Sized>(
        &self,
        account: &str,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<IssuedCodes, BackupCodeError> {
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
        let mut set = BackupCodeSet {
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
        let mut canonical: Vec<CanonicalCode> = Vec::with_capacity(self.count);
        while canonical.len() < self.count {
            let code = self.format.generate(rng);
            // Duplicates are possible in the short formats; draw again (issue time, not secret-timed).
            if !canonical.contains(&code) {
                canonical.push(code);
            }
        }
        for code in &canonical {
            let digest = set.digest(account, code)?;
            set.slots.push(Slot {
                digest: *digest,
                used_at: None,
            });
        }
        Ok(IssuedCodes {
            codes: canonical.iter().map(CanonicalCode::display).collect(),
            set,
        })
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
struct Scan {
    matched_unused: Choice,
    matched_used: Choice,
    index: u32,
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

    /// Hashes a canonical code as it would be stored in this set for `account`.
    fn digest(
        &self,
        account: &str,
        code: &CanonicalCode,
    ) -> Result<Zeroizing<[u8; DIGEST_LEN]>, BackupCodeError> {
        let input = hash_input(account, &self.id, code.symbols())?;
        let mut out = Zeroizing::new([0_u8; DIGEST_LEN]);
        self.hasher.hash_into(&input, &self.salt, &mut out)?;
        Ok(out)
    }

    fn check_layout(&self) -> Result<(), BackupCodeError> {
        if self.v != LAYOUT_VERSION || self.slots.len() > MAX_CODES {
            return Err(BackupCodeError::CorruptSet);
        }
        Ok(())
    }

    /// Compares `digest` against every slot in constant time: no early exit, and the same
    /// operations whichever slot matches, used or not.
    fn scan(&self, digest: &[u8; DIGEST_LEN]) -> Scan {
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
    ) -> Result<Zeroizing<[u8; DIGEST_LEN]>, BackupCodeError> {
        self.check_layout()?;
        let code = self.format.normalize(input)?;
        self.digest(account, &code)
    }

    /// Checks `input` as a code of this set for `account`, and on success returns the updated set
    /// (the slot marked used, and replaced in [`RecoveryMode::ReplaceAfterUse`]) inside a
    /// [`Verified`] proof token. Persist it through the store helper ([`crate::redeem`]), which is
    /// what makes the code single-use under concurrent requests.
    ///
    /// Cost and timing: input that is not well-formed is refused before hashing (the format is
    /// public). Otherwise exactly **one** hash is computed, however many codes are left, and its
    /// digest is compared with every slot in constant time with no early exit; wrong, used and
    /// right codes do the same work. Only a success in replace-after-use mode computes a second
    /// hash (for the replacement).
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
        // The hash binds the *requesting* account: a set copied into another account's record
        // can never match, even before the explicit check below.
        let digest = self.hash_attempt(account, input)?;
        let scan = self.scan(&digest);
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
        let mut replacement = None;
        match self.mode {
            RecoveryMode::ReplaceAfterUse => {
                let code = loop {
                    let code = self.format.generate(rng);
                    let digest = self.digest(account, &code)?;
                    // Never reuse a digest already in the set (vanishingly rare; variable time is fine
                    // here: the new code is not the input being checked).
                    if !self.slots.iter().any(|slot| slot.digest == *digest) {
                        break (code, digest);
                    }
                };
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
                replacement = Some(code.0.display());
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
        if replacement.is_some() {
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
            replacement,
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
        let digest = self.hash_attempt(&self.account, input)?;
        let scan = self.scan(&digest);
        Ok(bool::from(scan.matched_unused | scan.matched_used))
    }
}
