//! Versioned records with an atomic compare-and-swap: the one place single use is enforced.
//!
//! # Sync and async
//!
//! Two small traits carry the same two operations: [`Store`] (blocking) and [`AsyncStore`]
//! (`async`, returning `Send` futures, usable from tokio or any runtime without blocking it). A
//! backend implements whichever fits its I/O: an embedded SQLite store is naturally blocking, a
//! Redis client naturally async; [`MemoryStore`] implements both. The verification logic is
//! written once ([`crate::commit`]) and driven by either trait, and the closures that verify are
//! plain synchronous code, because checking a code is CPU work, not I/O.
//!
//! We did not make the store async-only: a CLI, a test or a synchronous web framework should not
//! need a runtime to redeem a backup code. We did not make it sync-only either: calling a blocking
//! store from an async handler stalls a runtime worker for the duration of a network round trip.

use core::fmt;
use core::future::Future;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock, UnixTime};

/// Identifies one record: what kind of state, whose, and which credential.
///
/// For example `("totp", "alice", "phone")` or `("throttle", "alice", "totp/phone")`. None of the
/// parts is secret; they may appear in logs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    kind: String,
    account: String,
    id: String,
}

impl RecordKey {
    /// A key for the record of `kind` held by `account` under `id`.
    #[must_use]
    pub fn new(kind: impl Into<String>, account: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            account: account.into(),
            id: id.into(),
        }
    }

    /// The kind of state (`"totp"`, `"backup"`, `"throttle"` …).
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The account the record belongs to.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The credential or record id within the account.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One flat string for key-value backends: the three parts joined by `/`, with `%` and `/`
    /// inside a part percent-encoded so that distinct keys never collide.
    #[must_use]
    pub fn flat(&self) -> String {
        join_escaped(&[&self.kind, &self.account, &self.id])
    }
}

/// Joins `parts` with `/`, percent-encoding `%` and `/` inside each part, so that distinct lists
/// of parts never give the same string.
pub(crate) fn join_escaped(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for c in part.chars() {
            match c {
                '%' => out.push_str("%25"),
                '/' => out.push_str("%2F"),
                other => out.push(other),
            }
        }
    }
    out
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.flat())
    }
}

/// The version of a stored record. A backend gives every successful write a version that the
/// same key never had before (deleting and re-creating a record must not reuse a version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version(u64);

impl Version {
    /// Wraps a backend's version number.
    #[must_use]
    pub const fn new(version: u64) -> Self {
        Self(version)
    }

    /// The backend's version number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A record as loaded: its version, its encoded value (zeroized on drop, since credential
/// state may hold secrets) and when it expires.
#[derive(Clone)]
pub struct StoredRecord {
    /// The version to pass back to [`Store::compare_and_swap`].
    pub version: Version,
    /// The encoded value.
    pub value: Zeroizing<Vec<u8>>,
    /// When the record stops existing (`None`: never). A backend never returns a record whose
    /// expiry has passed (see [`is_live`]).
    pub expires_at: Option<UnixTime>,
}

impl fmt::Debug for StoredRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredRecord")
            .field("version", &self.version)
            .field("len", &self.value.len())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a compare-and-swap writes: the encoded value and, optionally, when the record expires.
///
/// ```
/// use mfa_core::{NewRecord, UnixTime};
///
/// let forever = NewRecord::new(b"enrolled credential");
/// let expiry = UnixTime::from_secs(1_700_000_060);
/// let challenge = NewRecord::new(b"challenge").with_expiry(Some(expiry));
/// assert_eq!(forever.expires_at, None);
/// assert_eq!(challenge.expires_at, Some(expiry));
/// ```
#[derive(Clone, Copy)]
pub struct NewRecord<'a> {
    /// The encoded value.
    pub value: &'a [u8],
    /// When the record stops existing (`None`: never). From that instant on, every backend reads
    /// it as absent.
    pub expires_at: Option<UnixTime>,
}

impl<'a> NewRecord<'a> {
    /// A record that never expires.
    #[must_use]
    pub const fn new(value: &'a [u8]) -> Self {
        Self {
            value,
            expires_at: None,
        }
    }

    /// The same record, expiring at `expires_at` (`None`: never).
    #[must_use]
    pub const fn with_expiry(self, expires_at: Option<UnixTime>) -> Self {
        Self {
            value: self.value,
            expires_at,
        }
    }
}

impl<'a> From<&'a [u8]> for NewRecord<'a> {
    fn from(value: &'a [u8]) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for NewRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRecord")
            .field("len", &self.value.len())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Whether a record expiring at `expires_at` still exists at `now`: the rule every backend
/// applies. A record expires *at* its expiry instant: live while `now < expires_at`.
#[must_use]
pub fn is_live(expires_at: Option<UnixTime>, now: UnixTime) -> bool {
    expires_at.is_none_or(|expiry| now < expiry)
}

/// The outcome of a compare-and-swap.
#[must_use = "a conflict means nothing was written"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapOutcome {
    /// Written (or deleted); the record now has this version (for a delete, the version is
    /// meaningless but unique).
    Committed(Version),
    /// The record's version was not the expected one; nothing was written.
    Conflict,
}

/// A store backend failed or returned something unusable.
#[non_exhaustive]
#[derive(Debug)]
pub enum StoreError {
    /// The backend could not be reached or refused the operation.
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// A stored value could not be decoded (or a value could not be encoded).
    Corrupt {
        /// The record concerned.
        key: String,
        /// What went wrong, without the value itself.
        reason: String,
    },
    /// Other writers kept committing first; gave up after this many tries.
    Contention {
        /// How many times the read-verify-write cycle was tried.
        attempts: u32,
    },
    /// [`insert_new`](crate::insert_new) found a record already there (a second enrollment of
    /// the same credential, a credential id registered twice); nothing was written.
    AlreadyExists {
        /// The record concerned.
        key: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(cause) => write!(f, "store unavailable: {cause}"),
            Self::Corrupt { key, reason } => write!(f, "stored record {key} is unusable: {reason}"),
            Self::Contention { attempts } => {
                write!(f, "gave up after {attempts} conflicting concurrent updates")
            }
            Self::AlreadyExists { key } => write!(f, "a record already exists at {key}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable(cause) => Some(cause.as_ref()),
            _ => None,
        }
    }
}

/// A blocking store of versioned records.
///
/// Two operations; everything else (verify-then-commit, throttling) is built on them in
/// [`crate::commit`] and [`crate::throttle`].
pub trait Store: Send + Sync {
    /// Loads a record, or `None` if there is none (or it has expired).
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError>;

    /// Atomically: if the record's current version is `expected` (`None`: the record must not
    /// exist), replace it with `new` (value and expiry; `None`: delete it) and return the new
    /// version; otherwise change nothing and return [`SwapOutcome::Conflict`].
    ///
    /// An expired record counts as absent: `expected: None` over it commits (with a fresh
    /// version), `expected: Some(_)` conflicts.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails. A version mismatch is not an error.
    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError>;

    /// Every live record of `kind` held by `account` ("list my methods"), in key order.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn list(&self, kind: &str, account: &str)
    -> Result<Vec<(RecordKey, StoredRecord)>, StoreError>;

    /// The keys of every record of `kind` with this `id`, whatever the account, in key order:
    /// the lookup behind username-less sign-in (a WebAuthn credential id names its owner) and
    /// the check that an id is not registered twice. A backend keeps an index for it.
    /// Expired records are left out.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError>;

    /// Deletes every expired record for good and says how many went. Expired records already
    /// read as absent; this only reclaims their space, so call it now and then (a timer, a cron
    /// job), never for correctness. The default removes nothing and returns 0: right for a
    /// backend whose records expire by themselves (Redis TTLs).
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// The async twin of [`Store`], for backends whose I/O is asynchronous. Futures are `Send`, so
/// they can be spawned on a multi-threaded runtime.
pub trait AsyncStore: Send + Sync {
    /// Loads a record, or `None` if there is none.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn load(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<StoredRecord>, StoreError>> + Send;

    /// Atomic compare-and-swap, as [`Store::compare_and_swap`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails. A version mismatch is not an error.
    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> impl Future<Output = Result<SwapOutcome, StoreError>> + Send;

    /// Every record of `kind` held by `account`, as [`Store::list`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> impl Future<Output = Result<Vec<(RecordKey, StoredRecord)>, StoreError>> + Send;

    /// The keys of every record of `kind` with this `id`, as [`Store::find_by_id`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn find_by_id(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Vec<RecordKey>, StoreError>> + Send;

    /// Deletes every expired record for good, as [`Store::purge_expired`] (whose default, 0 and
    /// nothing removed, this shares).
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn purge_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
        core::future::ready(Ok(0))
    }
}

macro_rules! forward_store {
    ($($ptr:ty),*) => {$(
        impl<S: Store + ?Sized> Store for $ptr {
            fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
                (**self).load(key)
            }
            fn compare_and_swap(
                &self,
                key: &RecordKey,
                expected: Option<Version>,
                new: Option<NewRecord<'_>>,
            ) -> Result<SwapOutcome, StoreError> {
                (**self).compare_and_swap(key, expected, new)
            }
            fn list(
                &self,
                kind: &str,
                account: &str,
            ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
                (**self).list(kind, account)
            }
            fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
                (**self).find_by_id(kind, id)
            }
            fn purge_expired(&self) -> Result<u64, StoreError> {
                (**self).purge_expired()
            }
        }
    )*};
}
forward_store!(&S, Box<S>, Arc<S>);

macro_rules! forward_async_store {
    ($($ptr:ty),*) => {$(
        impl<S: AsyncStore + ?Sized> AsyncStore for $ptr {
            fn load(
                &self,
                key: &RecordKey,
            ) -> impl Future<Output = Result<Option<StoredRecord>, StoreError>> + Send {
                (**self).load(key)
            }
            fn compare_and_swap(
                &self,
                key: &RecordKey,
                expected: Option<Version>,
                new: Option<NewRecord<'_>>,
            ) -> impl Future<Output = Result<SwapOutcome, StoreError>> + Send {
                (**self).compare_and_swap(key, expected, new)
            }
            fn list(
                &self,
                kind: &str,
                account: &str,
            ) -> impl Future<Output = Result<Vec<(RecordKey, StoredRecord)>, StoreError>> + Send {
                (**self).list(kind, account)
            }
            fn find_by_id(
                &self,
                kind: &str,
                id: &str,
            ) -> impl Future<Output = Result<Vec<RecordKey>, StoreError>> + Send {
                (**self).find_by_id(kind, id)
            }
            fn purge_expired(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
                (**self).purge_expired()
            }
        }
    )*};
}
forward_async_store!(&S, Box<S>, Arc<S>);

/// A store in memory, safe to share between threads: for tests, single-process services and
/// examples. Data is lost when the process ends.
///
/// Operations hold an internal lock only for the map access itself, never across a verification,
/// so it is also fine to use from async code. Listing an account's records is a range scan;
/// [`Store::find_by_id`] scans every record of the kind (fine for tests and small services; the
/// durable backends index it).
///
/// Expiry is judged by the store's clock ([`SystemClock`] unless given another with
/// [`with_clock`](Self::with_clock)); an expired record reads as absent at once and its memory is
/// reclaimed when it is overwritten or by [`Store::purge_expired`].
pub struct MemoryStore {
    records: Mutex<BTreeMap<RecordKey, StoredRecord>>,
    next_version: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_clock(SystemClock)
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that judges expiry by `clock` (a [`ManualClock`](crate::ManualClock) in
    /// tests, so records can expire without waiting).
    ///
    /// ```
    /// use core::time::Duration;
    /// use mfa_core::{ManualClock, MemoryStore, RecordKey, UnixTime, load, put_until};
    ///
    /// let clock = ManualClock::new(UnixTime::from_secs(1_000));
    /// let store = MemoryStore::with_clock(clock.clone());
    /// let key = RecordKey::new("challenge", "alice", "c1");
    /// put_until(&store, &key, &"nonce", UnixTime::from_secs(1_060))?;
    /// assert!(load::<_, String>(&store, &key)?.is_some());
    /// clock.advance(Duration::from_secs(60));
    /// assert!(load::<_, String>(&store, &key)?.is_none()); // expired: reads as absent
    /// # Ok::<(), mfa_core::StoreError>(())
    /// ```
    #[must_use]
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        Self {
            records: Mutex::default(),
            next_version: AtomicU64::new(0),
            clock: Arc::new(clock),
        }
    }

    /// How many live (unexpired) records are stored.
    #[must_use]
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.lock()
            .values()
            .filter(|record| is_live(record.expires_at, now))
            .count()
    }

    /// Whether the store holds no live record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RecordKey, StoredRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh_version(&self) -> Version {
        // Relaxed suffices: uniqueness, not ordering, is what matters, and the map lock orders writes.
        Version(
            self.next_version
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1),
        )
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Store for MemoryStore {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let now = self.clock.now();
        let records = self.lock();
        Ok(records
            .get(key)
            .filter(|record| is_live(record.expires_at, now))
            .cloned())
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let now = self.clock.now();
        let mut records = self.lock();
        let current = records
            .get(key)
            .filter(|record| is_live(record.expires_at, now))
            .map(|record| record.version);
        if current != expected {
            return Ok(SwapOutcome::Conflict);
        }
        let version = self.fresh_version();
        match new {
            Some(new) => {
                records.insert(
                    key.clone(),
                    StoredRecord {
                        version,
                        value: Zeroizing::new(new.value.to_vec()),
                        expires_at: new.expires_at,
                    },
                );
            }
            None => {
                records.remove(key);
            }
        }
        Ok(SwapOutcome::Committed(version))
    }

    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        let now = self.clock.now();
        let records = self.lock();
        // Keys order by kind, then account, then id: one account's records of a kind are a range.
        let start = RecordKey::new(kind, account, "");
        Ok(records
            .range(start..)
            .take_while(|(key, _)| key.kind() == kind && key.account() == account)
            .filter(|(_, record)| is_live(record.expires_at, now))
            .map(|(key, record)| (key.clone(), record.clone()))
            .collect())
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let now = self.clock.now();
        let records = self.lock();
        let start = RecordKey::new(kind, "", "");
        Ok(records
            .range(start..)
            .take_while(|(key, _)| key.kind() == kind)
            .filter(|(key, record)| key.id() == id && is_live(record.expires_at, now))
            .map(|(key, _)| key.clone())
            .collect())
    }

    fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut records = self.lock();
        let before = records.len();
        records.retain(|_, record| is_live(record.expires_at, now));
        let purged = before.saturating_sub(records.len());
        Ok(u64::try_from(purged).unwrap_or(u64::MAX))
    }
}

impl AsyncStore for MemoryStore {
    async fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        Store::load(self, key)
    }

    async fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        Store::compare_and_swap(self, key, expected, new)
    }

    async fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        Store::list(self, kind, account)
    }

    async fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        Store::find_by_id(self, kind, id)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Store::purge_expired(self)
    }
}

/// Encodes a record value the way every helper of this crate stores it (CBOR, RFC 8949), for
/// code that must write through [`Store::compare_and_swap`] itself (a command that shows a
/// result before committing it). The buffer is zeroized on drop.
///
/// # Errors
/// [`StoreError::Corrupt`] if the value cannot be encoded.
pub fn encode<T: Serialize>(key: &RecordKey, value: &T) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let mut bytes = Zeroizing::new(Vec::new());
    ciborium::into_writer(value, &mut *bytes).map_err(|error| StoreError::Corrupt {
        key: key.flat(),
        reason: format!("cannot encode: {error}"),
    })?;
    Ok(bytes)
}

/// Decodes a record value as every helper of this crate reads it (see [`encode`]).
///
/// # Errors
/// [`StoreError::Corrupt`] (naming `key`) if the bytes are not a valid `T`.
pub fn decode<T: serde::de::DeserializeOwned>(
    key: &RecordKey,
    bytes: &[u8],
) -> Result<T, StoreError> {
    ciborium::from_reader(bytes).map_err(|error| StoreError::Corrupt {
        key: key.flat(),
        reason: format!("cannot decode: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keys_do_not_collide() {
        let a = RecordKey::new("totp", "a/b", "c");
        let b = RecordKey::new("totp", "a", "b/c");
        assert_ne!(a.flat(), b.flat());
        assert_eq!(a.flat(), "totp/a%2Fb/c");
        assert_eq!(RecordKey::new("x", "100%", "").flat(), "x/100%25/");
    }

    #[test]
    fn compare_and_swap_follows_versions() {
        let store = MemoryStore::new();
        let key = RecordKey::new("k", "alice", "1");
        assert!(Store::load(&store, &key).unwrap().is_none());
        let SwapOutcome::Committed(v1) =
            Store::compare_and_swap(&store, &key, None, Some(NewRecord::new(b"one"))).unwrap()
        else {
            panic!("first insert must commit");
        };
        // A second "insert if absent" conflicts.
        assert_eq!(
            Store::compare_and_swap(&store, &key, None, Some(NewRecord::new(b"dup"))).unwrap(),
            SwapOutcome::Conflict
        );
        let SwapOutcome::Committed(v2) =
            Store::compare_and_swap(&store, &key, Some(v1), Some(NewRecord::new(b"two"))).unwrap()
        else {
            panic!("update at the current version must commit");
        };
        assert_ne!(v1, v2);
        // A stale version conflicts and writes nothing.
        assert_eq!(
            Store::compare_and_swap(&store, &key, Some(v1), Some(NewRecord::new(b"stale")))
                .unwrap(),
            SwapOutcome::Conflict
        );
        assert_eq!(
            Store::load(&store, &key).unwrap().unwrap().value.as_slice(),
            b"two"
        );
        // Delete, then re-create: the version is new.
        assert!(matches!(
            Store::compare_and_swap(&store, &key, Some(v2), None).unwrap(),
            SwapOutcome::Committed(_)
        ));
        assert!(store.is_empty());
        let SwapOutcome::Committed(v3) =
            Store::compare_and_swap(&store, &key, None, Some(NewRecord::new(b"three"))).unwrap()
        else {
            panic!("re-create must commit");
        };
        assert!(v3 != v1 && v3 != v2);
    }

    #[test]
    fn memory_store_passes_the_conformance_checks_with_expiry() {
        let clock = crate::ManualClock::new(UnixTime::from_secs(1_700_000_000));
        let store = MemoryStore::with_clock(clock.clone());
        crate::conformance::run_all_with_clock(&store, &clock, "memory");
    }

    #[test]
    fn purge_counts_only_expired_records() {
        let clock = crate::ManualClock::new(UnixTime::from_secs(100));
        let store = MemoryStore::with_clock(clock.clone());
        for (id, expiry) in [("a", Some(150)), ("b", Some(200)), ("c", None)] {
            let key = RecordKey::new("k", "alice", id);
            let new = NewRecord::new(b"v").with_expiry(expiry.map(UnixTime::from_secs));
            let _ = Store::compare_and_swap(&store, &key, None, Some(new)).unwrap();
        }
        assert_eq!(Store::purge_expired(&store).unwrap(), 0);
        clock.set(UnixTime::from_secs(150));
        assert_eq!(store.len(), 2, "len counts live records");
        assert_eq!(Store::purge_expired(&store).unwrap(), 1);
        clock.set(UnixTime::from_secs(1_000));
        assert_eq!(Store::purge_expired(&store).unwrap(), 1);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn debug_shows_no_values() {
        let store = MemoryStore::new();
        let key = RecordKey::new("k", "a", "1");
        let _ = Store::compare_and_swap(&store, &key, None, Some(NewRecord::new(b"secret-value")))
            .unwrap();
        let record = Store::load(&store, &key).unwrap().unwrap();
        let shown = format!("{record:?} {store:?}");
        assert!(!shown.contains("secret"));
        assert!(shown.contains("len: 12"));
    }
}
