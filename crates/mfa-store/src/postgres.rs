//! PostgreSQL: durable state shared by many nodes.
//!
//! [`PostgresStore`] implements [`AsyncStore`] over a pool of [`tokio_postgres`] connections
//! ([`deadpool_postgres`]); wrap it in [`Blocking`](crate::blocking::Blocking) where a blocking
//! [`Store`](mfa_core::Store) is wanted. Every compare-and-swap is **one statement**, atomic on
//! the server without an explicit transaction:
//!
//! | expected | new | statement |
//! |---|---|---|
//! | `None` | a value | `INSERT … ON CONFLICT (key) DO UPDATE … WHERE` the old row has expired |
//! | `Some(v)` | a value | `UPDATE … WHERE key = … AND version = v AND` not expired |
//! | `Some(v)` | delete | `DELETE … WHERE key = … AND version = v AND` not expired |
//! | `None` | delete | `SELECT nextval(…) WHERE NOT EXISTS` a live row |
//!
//! Versions come from a sequence (`mfa_record_version`), so a version is never given twice, even
//! to a record deleted and created again. Expiry is judged by the store's [`Clock`] (passed as a
//! parameter to every statement, so tests can move time), and
//! [`purge_expired`](AsyncStore::purge_expired) deletes expired rows through an index.
//! [`PostgresAuditSink`] keeps the sign-in log in the same database.
//!
//! The SQL is PostgreSQL's common dialect (`ON CONFLICT`, sequences, identity columns, partial
//! indexes, `RETURNING`), which Postgres-compatible distributed databases also speak; it was
//! tested against PostgreSQL 15.18 only. The crate creates and migrates its tables itself
//! (numbered migrations recorded in `mfa_schema_migrations`), in the schema named in
//! [`PostgresOptions::schema`].

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use mfa_core::{
    AsyncAuditSink, AsyncStore, AuditCursor, AuditEvent, AuditPage, Clock, NewRecord, RecentQuery,
    RecordKey, StoreError, StoredRecord, SwapOutcome, SystemClock, UnixTime, Version,
};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use zeroize::Zeroizing;

use crate::audit_row::{self, AuditRow};

/// The numbered schema migrations (as SQLite's), applied in order, each once, inside one
/// transaction each; `{schema}` stands for the configured schema. Never edit a released
/// migration: add the next number.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        // Records, their version sequence, and the indexes behind `find_by_id` and purging.
        "CREATE SEQUENCE {schema}.mfa_record_version;
         CREATE TABLE {schema}.mfa_records (
             kind       TEXT   NOT NULL,
             account    TEXT   NOT NULL,
             id         TEXT   NOT NULL,
             version    BIGINT NOT NULL,
             value      BYTEA  NOT NULL,
             expires_at BIGINT,
             PRIMARY KEY (kind, account, id)
         );
         CREATE INDEX mfa_records_by_id ON {schema}.mfa_records (kind, id);
         CREATE INDEX mfa_records_by_expiry ON {schema}.mfa_records (expires_at)
             WHERE expires_at IS NOT NULL;",
    ),
    (
        2,
        // The sign-in log (`PostgresAuditSink`). An identity column: a sequence number is never
        // reused, even after a purge, so a page cursor handed out earlier never points at a
        // different event.
        "CREATE TABLE {schema}.mfa_audit_events (
             seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             at                 BIGINT NOT NULL,
             account            TEXT   NOT NULL,
             method             TEXT,
             credential_id      TEXT,
             result             TEXT   NOT NULL,
             reason             TEXT,
             ip                 TEXT,
             user_agent         TEXT,
             country            TEXT,
             device             TEXT,
             policy_decision_id TEXT
         );
         CREATE INDEX mfa_audit_events_recent ON {schema}.mfa_audit_events (account, at, seq);
         CREATE INDEX mfa_audit_events_by_time ON {schema}.mfa_audit_events (at);",
    ),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 2;

/// How a [`PostgresStore`] connects and where it keeps its tables.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    schema: String,
    max_connections: usize,
    connect_timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: "public".to_owned(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

impl PostgresOptions {
    /// The schema the tables live in (default `public`), created if missing: one per tenant or
    /// per test run. A plain lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes),
    /// checked when the store is built.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How many connections the pool holds at most (default 16). A caller waits for a free one
    /// when all are busy.
    #[must_use]
    pub fn max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections.max(1);
        self
    }

    /// How long to wait for a connection (opening one, or a free one from the pool) before
    /// failing with [`StoreError::Unavailable`] (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The clock that judges expiry (default [`SystemClock`]; a
    /// [`ManualClock`](mfa_core::ManualClock) in tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

/// The statements, with the schema filled in once.
struct Sql {
    load: String,
    insert: String,
    update: String,
    delete: String,
    delete_absent: String,
    list: String,
    find_by_id: String,
    purge_expired: String,
}

impl Sql {
    fn new(schema: &str) -> Self {
        let table = format!("{schema}.mfa_records");
        let next_version = format!("nextval('{schema}.mfa_record_version')");
        let live = "(expires_at IS NULL OR expires_at > $4)";
        Self {
            load: format!(
                "SELECT version, value, expires_at FROM {table} \
                 WHERE kind = $1 AND account = $2 AND id = $3 AND {live}"
            ),
            // An expired row counts as absent: the insert takes its place.
            insert: format!(
                "INSERT INTO {table} AS old (kind, account, id, version, value, expires_at) \
                 VALUES ($1, $2, $3, {next_version}, $5, $6) \
                 ON CONFLICT (kind, account, id) DO UPDATE \
                 SET version = EXCLUDED.version, value = EXCLUDED.value, \
                     expires_at = EXCLUDED.expires_at \
                 WHERE old.expires_at IS NOT NULL AND old.expires_at <= $4 \
                 RETURNING version"
            ),
            update: format!(
                "UPDATE {table} SET version = {next_version}, value = $6, expires_at = $7 \
                 WHERE kind = $1 AND account = $2 AND id = $3 AND {live} AND version = $5 \
                 RETURNING version"
            ),
            delete: format!(
                "DELETE FROM {table} \
                 WHERE kind = $1 AND account = $2 AND id = $3 AND {live} AND version = $5 \
                 RETURNING {next_version}"
            ),
            delete_absent: format!(
                "SELECT {next_version} WHERE NOT EXISTS (SELECT 1 FROM {table} \
                 WHERE kind = $1 AND account = $2 AND id = $3 AND {live})"
            ),
            list: format!(
                "SELECT id, version, value, expires_at FROM {table} \
                 WHERE kind = $1 AND account = $2 AND (expires_at IS NULL OR expires_at > $3)"
            ),
            find_by_id: format!(
                "SELECT account FROM {table} \
                 WHERE kind = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $3)"
            ),
            purge_expired: format!("DELETE FROM {table} WHERE expires_at <= $1"),
        }
    }
}

/// A store in PostgreSQL, shared by every node that connects to the same database and schema.
///
/// Cheap to clone (the pool and the statements are shared). See the [module docs](self) for the
/// statements and what was tested.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: Arc<str>,
    sql: Arc<Sql>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or a
    /// `key=value` connection string) with default options, and creates or migrates the tables.
    ///
    /// Connections are unencrypted: for TLS, build a pool with a TLS connector yourself and use
    /// [`from_pool`](Self::from_pool).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the URL is invalid, the server cannot be reached, or the
    /// schema cannot be created or migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects as [`connect`](Self::connect) does, with `options`.
    ///
    /// # Errors
    /// As [`connect`](Self::connect), and if the schema name is not a plain identifier.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(unavailable)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(unavailable)?;
        Self::from_pool(pool, options).await
    }

    /// A store over a pool you built (with TLS, other timeouts or hooks), using
    /// `options`' schema and clock (its pool settings are ignored). Creates or migrates the tables.
    ///
    /// # Errors
    /// As [`connect_with`](Self::connect_with).
    pub async fn from_pool(pool: Pool, options: PostgresOptions) -> Result<Self, StoreError> {
        let schema = checked_schema(&options.schema)?;
        let store = Self {
            pool,
            sql: Arc::new(Sql::new(schema)),
            schema: Arc::from(schema),
            clock: options.clock,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema the tables live in.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The schema version the database is at (the newest migration applied; 0 before any).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the query fails.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = client
            .query_one(
                &format!(
                    "SELECT COALESCE(MAX(version), 0) FROM {}.mfa_schema_migrations",
                    self.schema
                ),
                &[],
            )
            .await
            .map_err(unavailable)?;
        row.try_get(0).map_err(unavailable)
    }

    /// Brings the schema up to [`SCHEMA_VERSION`]: creates the schema and the migrations table if
    /// missing, then applies each migration not yet recorded, each in a transaction of its own.
    /// Safe when several nodes start at once (a migration's row in `mfa_schema_migrations` is
    /// claimed first, so exactly one node applies it and the others wait for its commit). Called
    /// by every constructor.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if a statement fails, or if the database was migrated by a
    /// newer build (a version this one does not know).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        // Two nodes creating the schema at once can collide on PostgreSQL's catalogue (a unique
        // violation on `CREATE … IF NOT EXISTS`); the second try sees the first one's work.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_migrate().await {
                Err(MigrateError::Race(_)) if attempt < 3 => continue,
                Err(MigrateError::Race(error) | MigrateError::Other(error)) => {
                    return Err(unavailable(error));
                }
                Err(MigrateError::Store(error)) => return Err(error),
                Ok(()) => return Ok(()),
            }
        }
    }

    async fn try_migrate(&self) -> Result<(), MigrateError> {
        let schema = &*self.schema;
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| MigrateError::Store(unavailable(e)))?;
        // `CREATE SCHEMA IF NOT EXISTS` needs the CREATE privilege even when the schema exists
        // (`public` for a user who may not create schemas), so look first.
        let exists = client
            .query_opt(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
                &[&schema],
            )
            .await?
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
        }
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {schema}.mfa_schema_migrations (
                     version    BIGINT PRIMARY KEY,
                     applied_at BIGINT NOT NULL
                 )"
            ))
            .await?;
        let current: i64 = client
            .query_one(
                &format!("SELECT COALESCE(MAX(version), 0) FROM {schema}.mfa_schema_migrations"),
                &[],
            )
            .await?
            .try_get(0)?;
        if current > SCHEMA_VERSION {
            return Err(MigrateError::Store(unavailable(Message(format!(
                "the database schema {schema} is version {current}, newer than this build's \
                 {SCHEMA_VERSION}: upgrade mfa-store"
            )))));
        }
        let applied_at = millis(self.clock.now());
        for (number, migration) in MIGRATIONS {
            let transaction = client.transaction().await?;
            let claimed = transaction
                .execute(
                    &format!(
                        "INSERT INTO {schema}.mfa_schema_migrations (version, applied_at) \
                         VALUES ($1, $2) ON CONFLICT DO NOTHING"
                    ),
                    &[number, &applied_at],
                )
                .await?;
            if claimed == 0 {
                // Applied already (by us earlier, or by a node that just committed it).
                transaction.rollback().await?;
                continue;
            }
            transaction
                .batch_execute(&migration.replace("{schema}", schema))
                .await?;
            transaction.commit().await?;
        }
        Ok(())
    }
}

impl AsyncStore for PostgresStore {
    async fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let now = millis(self.clock.now());
        let (kind, account, id) = (key.kind(), key.account(), key.id());
        let expected = match expected {
            // No row can hold a version a BIGINT cannot: that is a plain mismatch.
            Some(version) => match i64::try_from(version.get()) {
                Ok(version) => Some(version),
                Err(_) => return Ok(SwapOutcome::Conflict),
            },
            None => None,
        };
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = match (expected, new) {
            (None, Some(NewRecord { value, expires_at })) => {
                let expires_at = expires_at.map(millis);
                let params: [&(dyn ToSql + Sync); 6] =
                    [&kind, &account, &id, &now, &value, &expires_at];
                query_opt(&client, &self.sql.insert, &params).await?
            }
            (Some(expected), Some(NewRecord { value, expires_at })) => {
                let expires_at = expires_at.map(millis);
                let params: [&(dyn ToSql + Sync); 7] =
                    [&kind, &account, &id, &now, &expected, &value, &expires_at];
                query_opt(&client, &self.sql.update, &params).await?
            }
            (Some(expected), None) => {
                let params: [&(dyn ToSql + Sync); 5] = [&kind, &account, &id, &now, &expected];
                query_opt(&client, &self.sql.delete, &params).await?
            }
            (None, None) => {
                let params: [&(dyn ToSql + Sync); 4] = [&kind, &account, &id, &now];
                query_opt(&client, &self.sql.delete_absent, &params).await?
            }
        };
        match row {
            None => Ok(SwapOutcome::Conflict),
            Some(row) => {
                let version: i64 = row.try_get(0).map_err(|error| corrupt(key, &error))?;
                Ok(SwapOutcome::Committed(version_from_db(key, version)?))
            }
        }
    }

    async fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let now = millis(self.clock.now());
        let client = self.pool.get().await.map_err(unavailable)?;
        let params: [&(dyn ToSql + Sync); 4] = [&key.kind(), &key.account(), &key.id(), &now];
        match query_opt(&client, &self.sql.load, &params).await? {
            None => Ok(None),
            Some(row) => record_from_row(key, &row, 0).map(Some),
        }
    }

    async fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        let now = millis(self.clock.now());
        let client = self.pool.get().await.map_err(unavailable)?;
        let params: [&(dyn ToSql + Sync); 3] = [&kind, &account, &now];
        let rows = query(&client, &self.sql.list, &params).await?;
        let mut records = rows
            .iter()
            .map(|row| {
                let id: String = row
                    .try_get(0)
                    .map_err(|error| corrupt(&RecordKey::new(kind, account, "?"), &error))?;
                let key = RecordKey::new(kind, account, id);
                let record = record_from_row(&key, row, 1)?;
                Ok((key, record))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Sorted here, not by the database: key order is Rust's string order (bytes), which a
        // text column's collation need not follow.
        records.sort_by(|(a, _), (b, _)| a.cmp(b));
        Ok(records)
    }

    async fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let now = millis(self.clock.now());
        let client = self.pool.get().await.map_err(unavailable)?;
        let params: [&(dyn ToSql + Sync); 3] = [&kind, &id, &now];
        let rows = query(&client, &self.sql.find_by_id, &params).await?;
        let mut keys = rows
            .iter()
            .map(|row| {
                row.try_get::<_, String>(0)
                    .map(|account| RecordKey::new(kind, account, id))
                    .map_err(|error| corrupt(&RecordKey::new(kind, "?", id), &error))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        keys.sort();
        Ok(keys)
    }

    /// One indexed `DELETE` of every expired row.
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = millis(self.clock.now());
        let client = self.pool.get().await.map_err(unavailable)?;
        let statement = client
            .prepare_cached(&self.sql.purge_expired)
            .await
            .map_err(unavailable)?;
        client
            .execute(&statement, &[&now])
            .await
            .map_err(unavailable)
    }
}

/// The sign-in log in PostgreSQL: an [`AsyncAuditSink`] in the same database and schema as a
/// [`PostgresStore`] (table `mfa_audit_events`, created by the store's migrations), with the
/// same query and purge as [`SqliteAuditSink`](crate::SqliteAuditSink): every field a column,
/// "recent sign-ins of this account, newest first" an index range scan on `(account, at, seq)`
/// with a keyset cursor, the retention purge a range delete on `at`. For a blocking
/// [`AuditSink`](mfa_core::AuditSink), wrap it in [`Blocking`](crate::Blocking).
///
/// ```no_run
/// use mfa_core::{AsyncAuditSink, AuditEvent, AuditResult, Method, RecentQuery, UnixTime};
/// use mfa_store::{PostgresAuditSink, PostgresStore};
///
/// # async fn demo() -> Result<(), mfa_core::StoreError> {
/// let store = PostgresStore::connect("postgres://mfa@db.internal/mfa").await?;
/// let log = PostgresAuditSink::for_store(&store); // same pool, same schema
/// let at = UnixTime::from_secs(1_700_000_000);
/// log.record(&AuditEvent::new(at, "alice", AuditResult::Success).with_method(Method::Totp))
///     .await?;
/// let page = log.recent("alice", &RecentQuery::first(20)).await?;
/// assert_eq!(page.events.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresAuditSink {
    pool: Pool,
    schema: Arc<str>,
}

impl fmt::Debug for PostgresAuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresAuditSink")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresAuditSink {
    /// The log beside `store`'s records, sharing its connection pool.
    #[must_use]
    pub fn for_store(store: &PostgresStore) -> Self {
        Self {
            pool: store.pool.clone(),
            schema: Arc::clone(&store.schema),
        }
    }

    /// Connects as [`PostgresStore::connect_with`] does (creating or migrating the tables) and
    /// returns the log of that database and schema.
    ///
    /// # Errors
    /// As [`PostgresStore::connect_with`].
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        Ok(Self::for_store(
            &PostgresStore::connect_with(url, options).await?,
        ))
    }
}

impl AsyncAuditSink for PostgresAuditSink {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let sql = format!(
            "INSERT INTO {}.mfa_audit_events (at, account, method, credential_id, result, \
             reason, ip, user_agent, country, device, policy_decision_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            self.schema
        );
        let statement = client.prepare_cached(&sql).await.map_err(unavailable)?;
        client
            .execute(
                &statement,
                &[
                    &millis(event.at()),
                    &event.account(),
                    &event.method().map(|method| method.as_str()),
                    &event.credential_id(),
                    &event.result().as_str(),
                    &event.reason(),
                    &event.ip(),
                    &event.user_agent(),
                    &event.country(),
                    &event.device(),
                    &event.policy_decision_id(),
                ],
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn recent(&self, account: &str, page: &RecentQuery) -> Result<AuditPage, StoreError> {
        const COLUMNS: &str = "seq, at, account, method, credential_id, result, reason, ip, \
                               user_agent, country, device, policy_decision_id";
        let limit = page.clamped_limit();
        // One more than asked: whether it exists says if there is a next page.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let client = self.pool.get().await.map_err(unavailable)?;
        let table = format!("{}.mfa_audit_events", self.schema);
        let rows = match page.before {
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM {table} WHERE account = $1 \
                     ORDER BY at DESC, seq DESC LIMIT $2"
                );
                let params: [&(dyn ToSql + Sync); 2] = [&account, &fetch];
                query(&client, &sql, &params).await?
            }
            Some(cursor) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM {table} \
                     WHERE account = $1 AND (at < $2 OR (at = $2 AND seq < $3)) \
                     ORDER BY at DESC, seq DESC LIMIT $4"
                );
                let seq = i64::try_from(cursor.seq).unwrap_or(i64::MAX);
                let params: [&(dyn ToSql + Sync); 4] = [&account, &millis(cursor.at), &seq, &fetch];
                query(&client, &sql, &params).await?
            }
        };
        let more = rows.len() > limit;
        let mut events = Vec::with_capacity(limit);
        let mut next = None;
        for row in rows.iter().take(limit) {
            let (seq, event) = audit_event_from_row(row)?;
            next = Some(AuditCursor {
                at: event.at(),
                seq,
            });
            events.push(event);
        }
        Ok(AuditPage {
            events,
            next: if more { next } else { None },
        })
    }

    async fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let sql = format!("DELETE FROM {}.mfa_audit_events WHERE at < $1", self.schema);
        let params: [&(dyn ToSql + Sync); 1] = [&millis(cutoff)];
        let statement = client.prepare_cached(&sql).await.map_err(unavailable)?;
        client
            .execute(&statement, &params)
            .await
            .map_err(unavailable)
    }
}

/// One audit row (columns as `recent` selects them): its sequence number and the event.
fn audit_event_from_row(row: &tokio_postgres::Row) -> Result<(u64, AuditEvent), StoreError> {
    let read = || -> Result<(i64, AuditRow), tokio_postgres::Error> {
        Ok((
            row.try_get(0)?,
            AuditRow {
                at: row.try_get(1)?,
                account: row.try_get(2)?,
                method: row.try_get(3)?,
                credential_id: row.try_get(4)?,
                result: row.try_get(5)?,
                reason: row.try_get(6)?,
                ip: row.try_get(7)?,
                user_agent: row.try_get(8)?,
                country: row.try_get(9)?,
                device: row.try_get(10)?,
                policy_decision_id: row.try_get(11)?,
            },
        ))
    };
    let (seq, row) = read().map_err(|error| audit_row::corrupt(&error.to_string()))?;
    Ok((audit_row::sequence_number(seq)?, row.into_event()?))
}

async fn query_opt(
    client: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<tokio_postgres::Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
    client
        .query_opt(&statement, params)
        .await
        .map_err(unavailable)
}

async fn query(
    client: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
    client.query(&statement, params).await.map_err(unavailable)
}

/// Reads `version, value, expires_at` from `row`, starting at column `first`.
fn record_from_row(
    key: &RecordKey,
    row: &tokio_postgres::Row,
    first: usize,
) -> Result<StoredRecord, StoreError> {
    let version: i64 = row.try_get(first).map_err(|error| corrupt(key, &error))?;
    let value: Vec<u8> = row
        .try_get(first + 1)
        .map_err(|error| corrupt(key, &error))?;
    let expires_at: Option<i64> = row
        .try_get(first + 2)
        .map_err(|error| corrupt(key, &error))?;
    let expires_at = match expires_at.map(u64::try_from) {
        None => None,
        Some(Ok(millis)) => Some(UnixTime::from_millis(millis)),
        Some(Err(_)) => {
            return Err(StoreError::Corrupt {
                key: key.flat(),
                reason: "negative expiry".to_owned(),
            });
        }
    };
    Ok(StoredRecord {
        version: version_from_db(key, version)?,
        value: Zeroizing::new(value),
        expires_at,
    })
}

fn version_from_db(key: &RecordKey, version: i64) -> Result<Version, StoreError> {
    u64::try_from(version)
        .map(Version::new)
        .map_err(|_| StoreError::Corrupt {
            key: key.flat(),
            reason: format!("negative version {version}"),
        })
}

/// Milliseconds since the epoch as a BIGINT (saturating: a time past year 292 million is "never").
fn millis(time: UnixTime) -> i64 {
    i64::try_from(time.as_millis()).unwrap_or(i64::MAX)
}

/// `schema` if it is a plain lower-case identifier PostgreSQL takes unquoted.
fn checked_schema(schema: &str) -> Result<&str, StoreError> {
    let mut chars = schema.chars();
    let plain = chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if plain {
        Ok(schema)
    } else {
        Err(unavailable(Message(format!(
            "schema name {schema:?} is not a plain identifier ([a-z_][a-z0-9_]*, at most 63 bytes)"
        ))))
    }
}

enum MigrateError {
    /// Two nodes created the same catalogue entry at once: try again.
    Race(tokio_postgres::Error),
    Other(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(error: tokio_postgres::Error) -> Self {
        match error.code() {
            Some(code)
                if *code == SqlState::UNIQUE_VIOLATION
                    || *code == SqlState::DUPLICATE_SCHEMA
                    || *code == SqlState::DUPLICATE_TABLE
                    || *code == SqlState::DUPLICATE_OBJECT =>
            {
                Self::Race(error)
            }
            _ => Self::Other(error),
        }
    }
}

/// A failure described in words (a bad setting, a schema too new).
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn corrupt(key: &RecordKey, error: &tokio_postgres::Error) -> StoreError {
    StoreError::Corrupt {
        key: key.flat(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["public", "_t", "tenant_42", &"a".repeat(63)] {
            assert!(checked_schema(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Public",
            "1abc",
            "a-b",
            "a;drop",
            "a.b",
            "\"x\"",
            &"a".repeat(64),
        ] {
            assert!(checked_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_saturate_into_bigint() {
        assert_eq!(millis(UnixTime::from_millis(1_234)), 1_234);
        assert_eq!(millis(UnixTime::from_millis(u64::MAX)), i64::MAX);
    }

    #[test]
    fn negative_versions_are_corrupt() {
        let key = RecordKey::new("k", "a", "1");
        assert_eq!(version_from_db(&key, 7).unwrap(), Version::new(7));
        assert!(matches!(
            version_from_db(&key, -1),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
