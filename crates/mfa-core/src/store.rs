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

/// A record as loaded: its version and its encoded value (zeroized on drop, since credential
/// state may hold secrets).
#[derive(Clone)]
pub struct StoredRecord {
    /// The version to pass back to [`Store::compare_and_swap`].
    pub version: Version,
    /// The encoded value.
    pub value: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for StoredRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredRecord")
            .field("version", &self.version)
            .field("len", &self.value.len())
            .finish_non_exhaustive()
    }
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
    /// Loads a record, or `None` if there is none.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError>;

    /// Atomically: if the record's current version is `expected` (`None`: the record must not
    /// exist), replace its value with `new_value` (`None`: delete it) and return the new version;
    /// otherwise change nothing and return [`SwapOutcome::Conflict`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails. A version mismatch is not an error.
    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new_value: Option<&[u8]>,
    ) -> Result<SwapOutcome, StoreError>;

    /// Every record of `kind` held by `account` ("list my methods"), in key order.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn list(&self, kind: &str, account: &str)
    -> Result<Vec<(RecordKey, StoredRecord)>, StoreError>;

    /// The keys of every record of `kind` with this `id`, whatever the account, in key order:
    /// the lookup behind username-less sign-in (a WebAuthn credential id names its owner) and
    /// the check that an id is not registered twice. A backend keeps an index for it.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError>;
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
        new_value: Option<&[u8]>,
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
                new_value: Option<&[u8]>,
            ) -> Result<SwapOutcome, StoreError> {
                (**self).compare_and_swap(key, expected, new_value)
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
                new_value: Option<&[u8]>,
            ) -> impl Future<Output = Result<SwapOutcome, StoreError>> + Send {
                (**self).compare_and_swap(key, expected, new_value)
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
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<RecordKey, StoredRecord>>,
    next_version: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records are stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            .finish_non_exhaustive()
    }
}

impl Store for MemoryStore {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(records.get(key).cloned())
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new_value: Option<&[u8]>,
    ) -> Result<SwapOutcome, StoreError> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let current = records.get(key).map(|record| record.version);
        if current != expected {
            return Ok(SwapOutcome::Conflict);
        }
        let version = self.fresh_version();
        match new_value {
            Some(value) => {
                records.insert(
                    key.clone(),
                    StoredRecord {
                        version,
                        value: Zeroizing::new(value.to_vec()),
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
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        // Keys order by kind, then account, then id: one account's records of a kind are a range.
        let start = RecordKey::new(kind, account, "");
        Ok(records
            .range(start..)
            .take_while(|(key, _)| key.kind() == kind && key.account() == account)
            .map(|(key, record)| (key.clone(), record.clone()))
            .collect())
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let start = RecordKey::new(kind, "", "");
        Ok(records
            .range(start..)
            .take_while(|(key, _)| key.kind() == kind)
            .filter(|(key, _)| key.id() == id)
            .map(|(key, _)| key.clone())
            .collect())
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
        new_value: Option<&[u8]>,
    ) -> Result<SwapOutcome, StoreError> {
        Store::compare_and_swap(self, key, expected, new_value)
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
}

/// Encodes a record value as CBOR. The buffer is zeroized on drop.
pub(crate) fn encode<T: Serialize>(
    key: &RecordKey,
    value: &T,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let mut bytes = Zeroizing::new(Vec::new());
    ciborium::into_writer(value, &mut *bytes).map_err(|error| StoreError::Corrupt {
        key: key.flat(),
        reason: format!("cannot encode: {error}"),
    })?;
    Ok(bytes)
}

/// Decodes a CBOR record value.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
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
            Store::compare_and_swap(&store, &key, None, Some(b"one")).unwrap()
        else {
            panic!("first insert must commit");
        };
        // A second "insert if absent" conflicts.
        assert_eq!(
            Store::compare_and_swap(&store, &key, None, Some(b"dup")).unwrap(),
            SwapOutcome::Conflict
        );
        let SwapOutcome::Committed(v2) =
            Store::compare_and_swap(&store, &key, Some(v1), Some(b"two")).unwrap()
        else {
            panic!("update at the current version must commit");
        };
        assert_ne!(v1, v2);
        // A stale version conflicts and writes nothing.
        assert_eq!(
            Store::compare_and_swap(&store, &key, Some(v1), Some(b"stale")).unwrap(),
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
            Store::compare_and_swap(&store, &key, None, Some(b"three")).unwrap()
        else {
            panic!("re-create must commit");
        };
        assert!(v3 != v1 && v3 != v2);
    }

    #[test]
    fn debug_shows_no_values() {
        let store = MemoryStore::new();
        let key = RecordKey::new("k", "a", "1");
        let _ = Store::compare_and_swap(&store, &key, None, Some(b"secret-value")).unwrap();
        let record = Store::load(&store, &key).unwrap().unwrap();
        let shown = format!("{record:?} {store:?}");
        assert!(!shown.contains("secret"));
        assert!(shown.contains("len: 12"));
    }
}
