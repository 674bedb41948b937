//! The embedded default: a [`Store`] in one SQLite file, safe for many threads and many processes.
//!
//! - **Atomicity.** Every compare-and-swap is one `BEGIN IMMEDIATE` transaction: it takes
//!   SQLite's write lock *before* reading the current version, so no other connection, thread or
//!   process can commit in between. Reads are single statements.
//! - **Durability.** The file runs in WAL mode with `synchronous = FULL`: a committed
//!   compare-and-swap is on disk before it returns, so a redeem that was acknowledged survives a
//!   killed process (tested with `SIGKILL`, see `tests/crash.rs`) and a power cut.
//! - **Concurrency.** A small pool of connections (default 8) serves the threads of one process;
//!   other processes open the same file with their own pools. Writers take turns on SQLite's lock:
//!   a waiter backs off as SQLite's own busy handler does, but after a quarter of a second it
//!   tries every 2 ms instead of every 100 ms (so that busier writers do not win every handover
//!   until it times out), up to the busy timeout (default 5 s) before a
//!   [`StoreError::Unavailable`]. Several processes may open and migrate a new file at once.
//! - **Versions** come from one counter row incremented inside the same transaction, so a version
//!   is never reused, not even after a record is deleted and created again.
//! - **Expiry** is stored in whole milliseconds and judged by the store's [`Clock`]; expired rows
//!   read as absent at once and are deleted for good by [`Store::purge_expired`] (an indexed range
//!   delete).
//! - **Schema** is created and migrated on open: numbered migrations, recorded in the table
//!   `mfa_schema_migrations`. A file migrated by a newer build is refused rather than misread.
//!   Every table is prefixed `mfa_`, so the store can share a database file with an application.
//!
//! SQLite's API is blocking, so [`SqliteStore`] implements [`Store`], not [`AsyncStore`]. Inside
//! an async runtime, call the blocking helpers (`mfa_core::verify_and_commit` …) from the
//! runtime's blocking pool (`tokio::task::spawn_blocking` with an `Arc<SqliteStore>`), or drive
//! the `_async` helpers through [`mfa_core::BlockingStore`] there: a redeem is two short local
//! statements, but an fsync is still I/O that must not stall a runtime worker.
//!
//! [`AsyncStore`]: mfa_core::AsyncStore

use core::fmt;
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use mfa_core::{
    Clock, NewRecord, RecordKey, Store, StoreError, StoredRecord, SwapOutcome, SystemClock,
    UnixTime, Version,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};
use zeroize::Zeroizing;

/// The numbered schema migrations, applied in order, each once, inside one transaction each.
/// Never edit a released migration: add the next number.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE mfa_records (
             kind       TEXT    NOT NULL,
             account    TEXT    NOT NULL,
             id         TEXT    NOT NULL,
             version    INTEGER NOT NULL,
             value      BLOB    NOT NULL,
             expires_at INTEGER,
             PRIMARY KEY (kind, account, id)
         ) WITHOUT ROWID;
         CREATE INDEX mfa_records_by_id ON mfa_records (kind, id);
         CREATE INDEX mfa_records_by_expiry ON mfa_records (expires_at)
             WHERE expires_at IS NOT NULL;
         CREATE TABLE mfa_version_counter (
             only INTEGER PRIMARY KEY CHECK (only = 1),
             last INTEGER NOT NULL
         );
         INSERT INTO mfa_version_counter (only, last) VALUES (1, 0);",
    ),
    (
        2,
        // AUTOINCREMENT: a sequence number is never reused, even after a purge, so a page cursor
        // handed out earlier never points at a different event.
        "CREATE TABLE mfa_audit_events (
             seq                INTEGER PRIMARY KEY AUTOINCREMENT,
             at                 INTEGER NOT NULL,
             account            TEXT    NOT NULL,
             method             TEXT,
             credential_id      TEXT,
             result             TEXT    NOT NULL,
             reason             TEXT,
             ip                 TEXT,
             user_agent         TEXT,
             country            TEXT,
             device             TEXT,
             policy_decision_id TEXT
         );
         CREATE INDEX mfa_audit_events_recent ON mfa_audit_events (account, at, seq);
         CREATE INDEX mfa_audit_events_by_time ON mfa_audit_events (at);",
    ),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 2;

/// How a [`SqliteStore`] is opened: clock, busy timeout, pool size.
///
/// ```
/// use core::time::Duration;
/// use mfa_core::{ManualClock, UnixTime};
/// use mfa_store::{SqliteOptions, SqliteStore};
///
/// let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open_with(
///     dir.path().join("mfa.sqlite3"),
///     SqliteOptions::new()
///         .clock(clock.clone())
///         .busy_timeout(Duration::from_secs(10))
///         .max_connections(4),
/// )?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    clock: Arc<dyn Clock>,
    busy_timeout: Duration,
    max_connections: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
        }
    }
}

impl SqliteOptions {
    /// The defaults: the system clock, a 5 s busy timeout, at most 8 connections.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Judge expiry by `clock` (a [`ManualClock`](mfa_core::ManualClock) in tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a statement waits for another connection's write lock (trying again every 2 ms
    /// once it has waited a quarter of a second) before giving up with
    /// [`StoreError::Unavailable`].
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The most connections this process keeps open to the file (at least 1); threads beyond
    /// that wait for a free one.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }
}

/// A [`Store`] in one SQLite file; see the [module docs](self).
///
/// ```
/// use mfa_core::{RecordKey, Store, insert_new, take};
/// use mfa_store::SqliteStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("mfa.sqlite3"))?;
/// let key = RecordKey::new("challenge", "alice", "c1");
/// insert_new(&store, &key, &"nonce")?;
/// assert_eq!(take::<_, String>(&store, &key)?.as_deref(), Some("nonce"));
/// assert!(store.load(&key)?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    database: Arc<Database>,
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite file at `path` with the default
    /// [`SqliteOptions`], and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the file cannot be opened or migrated (not a database,
    /// read-only, locked beyond the busy timeout, or migrated by a newer build).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the SQLite file at `path` with `options`, and brings its
    /// schema up to date.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        Ok(Self {
            database: Arc::new(Database::open(path.as_ref(), options)?),
        })
    }

    /// The file this store lives in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.database.path
    }

    /// The clock the store judges expiry by.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.database.clock
    }

    /// The schema version of the file (the newest migration applied).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the database cannot be read.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.database
            .with_connection(|connection| Ok(current_schema_version(connection)?))
    }

    /// Runs SQLite's `PRAGMA integrity_check` over the whole file.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] with SQLite's report if the file is damaged;
    /// [`StoreError::Unavailable`] if it cannot be read at all.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let report: Vec<String> = self.database.with_connection(|connection| {
            let mut statement = connection.prepare("PRAGMA integrity_check")?;
            let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        if report.len() == 1 && report.first().is_some_and(|line| line == "ok") {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                key: self.database.path.display().to_string(),
                reason: format!("integrity_check: {}", report.join("; ")),
            })
        }
    }

    fn now_millis(&self) -> i64 {
        millis(self.database.clock.now())
    }

    /// The shared database (pool and clock), for the audit sink on the same file.
    pub(crate) fn database(&self) -> &Arc<Database> {
        &self.database
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.database.path)
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let now = self.now_millis();
        let row = self.database.with_connection(|connection| {
            Ok(connection
                .prepare_cached(
                    "SELECT version, value, expires_at FROM mfa_records
                     WHERE kind = ?1 AND account = ?2 AND id = ?3
                       AND (expires_at IS NULL OR expires_at > ?4)",
                )?
                .query_row(
                    params![key.kind(), key.account(), key.id(), now],
                    RawRecord::from_row,
                )
                .optional()?)
        })?;
        row.map(|raw| raw.into_record(key)).transpose()
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let now = self.now_millis();
        self.database.with_connection(|connection| {
            // IMMEDIATE: the write lock is taken before the read, so nobody commits in between.
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<ValueRefOwned> = transaction
                .prepare_cached(
                    "SELECT version FROM mfa_records
                     WHERE kind = ?1 AND account = ?2 AND id = ?3
                       AND (expires_at IS NULL OR expires_at > ?4)",
                )?
                .query_row(params![key.kind(), key.account(), key.id(), now], |row| {
                    ValueRefOwned::from_ref(row.get_ref(0)?)
                })
                .optional()?;
            let current = current
                .map(|value| value.as_version())
                .transpose()
                .map_err(|reason| StoreError::Corrupt {
                    key: key.flat(),
                    reason,
                })?;
            if current != expected {
                // Dropping the transaction rolls it back: nothing was written.
                return Ok(SwapOutcome::Conflict);
            }
            let next: i64 = transaction
                .prepare_cached("UPDATE mfa_version_counter SET last = last + 1 RETURNING last")?
                .query_row([], |row| row.get(0))?;
            match new {
                Some(new) => {
                    let expires_at = new.expires_at.map(millis);
                    transaction
                        .prepare_cached(
                            "INSERT INTO mfa_records (kind, account, id, version, value, expires_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                             ON CONFLICT (kind, account, id) DO UPDATE SET
                                 version = excluded.version,
                                 value = excluded.value,
                                 expires_at = excluded.expires_at",
                        )?
                        .execute(params![
                            key.kind(),
                            key.account(),
                            key.id(),
                            next,
                            new.value,
                            expires_at
                        ])?;
                }
                None => {
                    // Also removes an expired row left behind: it was absent already.
                    transaction
                        .prepare_cached(
                            "DELETE FROM mfa_records WHERE kind = ?1 AND account = ?2 AND id = ?3",
                        )?
                        .execute(params![key.kind(), key.account(), key.id()])?;
                }
            }
            transaction.commit()?;
            // The counter starts at 0 and only grows: never negative.
            Ok(SwapOutcome::Committed(Version::new(
                u64::try_from(next).unwrap_or_default(),
            )))
        })
    }

    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        let now = self.now_millis();
        let rows: Vec<(String, RawRecord)> = self.database.with_connection(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, version, value, expires_at FROM mfa_records
                 WHERE kind = ?1 AND account = ?2
                   AND (expires_at IS NULL OR expires_at > ?3)
                 ORDER BY id",
            )?;
            let rows = statement.query_map(params![kind, account, now], |row| {
                Ok((row.get::<_, String>(0)?, RawRecord::from_row_at(row, 1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        rows.into_iter()
            .map(|(id, raw)| {
                let key = RecordKey::new(kind, account, id);
                raw.into_record(&key).map(|record| (key, record))
            })
            .collect()
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let now = self.now_millis();
        let accounts: Vec<String> = self.database.with_connection(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT account FROM mfa_records
                 WHERE kind = ?1 AND id = ?2
                   AND (expires_at IS NULL OR expires_at > ?3)
                 ORDER BY account",
            )?;
            let rows = statement.query_map(params![kind, id, now], |row| row.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        Ok(accounts
            .into_iter()
            .map(|account| RecordKey::new(kind, account, id))
            .collect())
    }

    fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.now_millis();
        let deleted = self.database.with_connection(|connection| {
            Ok(connection
                .prepare_cached(
                    "DELETE FROM mfa_records WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                )?
                .execute(params![now])?)
        })?;
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }
}

/// A row as read, before its columns are checked (a damaged or hand-edited row must be an
/// error, never a panic or a silently wrong version).
struct RawRecord {
    version: ValueRefOwned,
    value: ValueRefOwned,
    expires_at: ValueRefOwned,
}

impl RawRecord {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Self::from_row_at(row, 0)
    }

    /// Reads `version, value, expires_at` starting at column `first`.
    fn from_row_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            version: ValueRefOwned::from_ref(row.get_ref(first)?)?,
            value: ValueRefOwned::from_ref(row.get_ref(first.saturating_add(1))?)?,
            expires_at: ValueRefOwned::from_ref(row.get_ref(first.saturating_add(2))?)?,
        })
    }

    fn into_record(self, key: &RecordKey) -> Result<StoredRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            key: key.flat(),
            reason,
        };
        let version = self.version.as_version().map_err(corrupt)?;
        let ValueRefOwned::Blob(value) = self.value else {
            return Err(corrupt("the value column is not a BLOB".into()));
        };
        let expires_at = match self.expires_at {
            ValueRefOwned::Null => None,
            ValueRefOwned::Integer(millis) => Some(UnixTime::from_millis(
                u64::try_from(millis)
                    .map_err(|_| corrupt("the expiry is before the Unix epoch".into()))?,
            )),
            _ => return Err(corrupt("the expiry column is not an INTEGER".into())),
        };
        Ok(StoredRecord {
            version,
            value,
            expires_at,
        })
    }
}

/// One column's value, copied out of SQLite (blobs into zeroizing buffers).
enum ValueRefOwned {
    Null,
    Integer(i64),
    Blob(Zeroizing<Vec<u8>>),
    /// Text or a float: never valid in the columns we read this way.
    Other,
}

impl ValueRefOwned {
    fn from_ref(value: ValueRef<'_>) -> rusqlite::Result<Self> {
        Ok(match value {
            ValueRef::Null => Self::Null,
            ValueRef::Integer(integer) => Self::Integer(integer),
            ValueRef::Blob(bytes) => Self::Blob(Zeroizing::new(bytes.to_vec())),
            ValueRef::Real(_) | ValueRef::Text(_) => Self::Other,
        })
    }

    fn as_version(&self) -> Result<Version, String> {
        match self {
            Self::Integer(version) => u64::try_from(*version)
                .map(Version::new)
                .map_err(|_| "the version is negative".to_owned()),
            _ => Err("the version column is not an INTEGER".to_owned()),
        }
    }
}

/// Milliseconds since the epoch as SQLite stores them (saturating far beyond any real expiry).
pub(crate) fn millis(time: UnixTime) -> i64 {
    i64::try_from(time.as_millis()).unwrap_or(i64::MAX)
}

/// The file, its clock and a pool of connections: shared by the store and the audit sink.
pub(crate) struct Database {
    path: PathBuf,
    clock: Arc<dyn Clock>,
    busy_timeout: Duration,
    max_connections: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

/// Idle connections, and how many exist (idle or in use).
struct Pool {
    idle: Vec<Connection>,
    open: usize,
}

impl Database {
    fn open(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let database = Self {
            path: path.to_path_buf(),
            clock: options.clock,
            busy_timeout: options.busy_timeout,
            max_connections: options.max_connections,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        };
        database.with_connection(migrate)?;
        Ok(database)
    }

    fn lock_pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` on a pooled connection (opening one if none is idle and the pool has room,
    /// waiting for one otherwise); SQLite's errors become [`StoreError::Unavailable`].
    pub(crate) fn with_connection<R>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<R, DbError>,
    ) -> Result<R, StoreError> {
        let mut lease = self.checkout()?;
        let connection = lease.connection.as_mut().ok_or_else(|| {
            StoreError::Unavailable("internal: a leased connection is missing".into())
        })?;
        work(connection).map_err(StoreError::from_db)
    }

    fn checkout(&self) -> Result<Lease<'_>, StoreError> {
        let mut pool = self.lock_pool();
        loop {
            if let Some(connection) = pool.idle.pop() {
                return Ok(Lease {
                    database: self,
                    connection: Some(connection),
                });
            }
            if pool.open < self.max_connections {
                pool.open = pool.open.saturating_add(1);
                drop(pool);
                return match self.connect() {
                    Ok(connection) => Ok(Lease {
                        database: self,
                        connection: Some(connection),
                    }),
                    Err(error) => {
                        let mut pool = self.lock_pool();
                        pool.open = pool.open.saturating_sub(1);
                        drop(pool);
                        self.returned.notify_one();
                        Err(error)
                    }
                };
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut connection = Connection::open_with_flags(&self.path, flags).map_err(unavailable)?;
        configure(&mut connection, self.busy_timeout).map_err(StoreError::from_db)?;
        Ok(connection)
    }
}

/// A connection on loan from the pool; given back on drop (also when the work panicked).
struct Lease<'a> {
    database: &'a Database,
    connection: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut pool = self.database.lock_pool();
        match self.connection.take() {
            // A connection left inside a transaction (a panic mid-way) is not reused.
            Some(connection) if connection.is_autocommit() => pool.idle.push(connection),
            _ => pool.open = pool.open.saturating_sub(1),
        }
        drop(pool);
        self.database.returned.notify_one();
    }
}

/// Per-connection settings: the busy handler first (every later statement may wait for another
/// connection), then WAL and full synchronous commits.
fn configure(connection: &mut Connection, busy_timeout: Duration) -> Result<(), DbError> {
    connection.busy_handler(Some(busy_waiter(busy_timeout)))?;
    switch_to_wal(connection, busy_timeout)?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(())
}

/// The pauses, in milliseconds, before a connection's first tries again for a lock another
/// connection holds: SQLite's own (228 ms in all). A waiter that collides with a writer steps
/// aside, and the writers that are running go on undisturbed.
const EARLY_BUSY_PAUSES_MS: [u64; 11] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50];

/// The pause before every later try.
const LATE_BUSY_PAUSE: Duration = Duration::from_millis(2);

/// The busy handler: try again after [`EARLY_BUSY_PAUSES_MS`], then every [`LATE_BUSY_PAUSE`],
/// until `busy_timeout` has passed since the lock was first refused.
///
/// Nobody queues for SQLite's lock: whoever tries first after a holder lets go gets it. SQLite's
/// own handler (`sqlite3_busy_timeout`) goes on to one try every 100 ms, and a waiter that tries
/// that rarely loses nearly every handover to the writers that are running. Measured with 8 and
/// 64 writer threads on one file for 20 s each (65,000 to 90,000 compare-and-swaps a run): with
/// SQLite's handler 53 and 102 of them waited more than a second for the lock, the longest the
/// whole 5 s (then "database is locked"); with this one, which tries every 2 ms once a waiter has
/// been out-raced for a quarter of a second, none waited more than 0.35 s.
fn busy_waiter(busy_timeout: Duration) -> impl FnMut(i32) -> bool + Send + 'static {
    let mut since = Instant::now();
    move |earlier_tries| {
        if earlier_tries == 0 {
            since = Instant::now();
        }
        let tries = usize::try_from(earlier_tries).unwrap_or(usize::MAX);
        pause_before_retry(since, busy_timeout, tries)
    }
}

/// Sleeps the pause due after `earlier_tries` tries (less if the time is nearly up) and says
/// `true`, or says `false` at once if `busy_timeout` has passed since `since`.
fn pause_before_retry(since: Instant, busy_timeout: Duration, earlier_tries: usize) -> bool {
    let left = busy_timeout.saturating_sub(since.elapsed());
    if left.is_zero() {
        return false;
    }
    let pause = EARLY_BUSY_PAUSES_MS
        .get(earlier_tries)
        .map_or(LATE_BUSY_PAUSE, |millis| Duration::from_millis(*millis));
    std::thread::sleep(pause.min(left));
    true
}

/// Puts the file in WAL mode (a no-op when it is already), waiting up to `busy_timeout` for a
/// concurrent opener.
///
/// On a file not yet in WAL mode (a new file), the switch reads the header under a shared lock
/// and then upgrades to SQLite's exclusive lock to rewrite it. SQLite never calls the busy handler
/// for an upgrade from a held read lock (two upgraders would wait for each other forever): when
/// several connections open a new file at once, all but one get `SQLITE_BUSY` immediately, busy
/// timeout or not. The loser's statement has ended and released its read lock, so the winner
/// finishes; the loser tries again as the busy handler would, and then finds the file in WAL.
fn switch_to_wal(connection: &Connection, busy_timeout: Duration) -> Result<(), DbError> {
    let started = Instant::now();
    let mut tries = 0_usize;
    loop {
        match connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(DbError::Refused(format!(
                    "the database refused WAL mode (journal_mode is {mode})"
                )));
            }
            Err(error) if is_busy(&error) && pause_before_retry(started, busy_timeout, tries) => {
                tries = tries.saturating_add(1);
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Whether SQLite said `SQLITE_BUSY` (any extended code): another connection holds a lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// Applies every migration newer than the file's schema, each in its own IMMEDIATE transaction
/// (so two processes opening a new file at once migrate it once).
fn migrate(connection: &mut Connection) -> Result<(), DbError> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS mfa_schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         );",
    )?;
    for (number, sql) in MIGRATIONS {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = current_schema_version(&transaction)?;
        if current > SCHEMA_VERSION {
            return Err(DbError::Refused(format!(
                "the database schema is version {current}, newer than this build's {SCHEMA_VERSION}: \
                 upgrade mfa-store"
            )));
        }
        if current < *number {
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO mfa_schema_migrations (version, applied_at)
                 VALUES (?1, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
                params![number],
            )?;
        }
        transaction.commit()?;
    }
    Ok(())
}

fn current_schema_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM mfa_schema_migrations",
        [],
        |row| row.get(0),
    )
}

fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// What work on a connection can fail with: SQLite itself, a refusal of ours (a newer schema,
/// no WAL), or a store error with its own meaning (a corrupt row).
pub(crate) enum DbError {
    Sqlite(rusqlite::Error),
    Refused(String),
    Store(StoreError),
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl From<StoreError> for DbError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Turns a [`DbError`] into the [`StoreError`] callers see.
trait FromDb {
    fn from_db(error: DbError) -> Self;
}

impl FromDb for StoreError {
    fn from_db(error: DbError) -> Self {
        match error {
            DbError::Sqlite(error) => unavailable(error),
            DbError::Refused(reason) => Self::Unavailable(reason.into()),
            DbError::Store(error) => error,
        }
    }
}
