//! The demo's one store: every record of every factor crate, the accounts and the sessions, on
//! SQLite (the default, embedded) or PostgreSQL, with Redis optionally holding the short-lived
//! records; and the sign-in log (audit sink) that lives beside it.
//!
//! | `--store` | records | sign-in log |
//! |---|---|---|
//! | `sqlite:PATH` | [`mfa_store::SqliteStore`] (blocking: each call runs on tokio's blocking pool) | [`mfa_store::SqliteAuditSink`] in the same file |
//! | `postgres://…` | [`mfa_store::PostgresStore`] | [`mfa_store::PostgresAuditSink`] in the same database |
//!
//! With `--redis redis://…` (PostgreSQL only), the kinds in [`SHORT_LIVED_KINDS`] (sessions,
//! ceremonies, pending enrolments, push challenges, SMS codes) live in Redis instead.

use core::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use mfa_core::{
    AsyncStore, AuditEvent, AuditPage, AuditSink as _, Clock, NewRecord, RecentQuery, RecordKey,
    Store as _, StoreError, StoredRecord, SwapOutcome, Version,
};
use zeroize::Zeroizing;

use crate::session::SESSION_KIND;

/// The record kinds that are short-lived: with `--redis`, these live in Redis.
pub const SHORT_LIVED_KINDS: &[&str] = &[
    SESSION_KIND,
    mfa_webauthn::CEREMONY_KIND,
    mfa_otp::TOTP_PENDING_RECORD_KIND,
    mfa_account::store::PENDING_KIND,
    mfa_push::ENROLLMENT_KIND,
    mfa_push::CHALLENGE_KIND,
    mfa_oob::OOB_CODE_KIND,
];

/// A parsed `--store` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, the URL as given.
    Postgres(String),
}

impl StoreSpec {
    /// Reads a `--store` value (a clap `value_parser`).
    ///
    /// # Errors
    /// A message when the value is neither `sqlite:PATH` nor a PostgreSQL URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite: needs a path after it".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err("the store is `sqlite:PATH` or `postgres://…`".into())
    }
}

impl fmt::Display for StoreSpec {
    /// The store as the user named it, without a URL's password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&mfa_store::redact_url(url)),
        }
    }
}

/// The durable backend under a [`DemoStore`].
#[derive(Clone)]
enum Durable {
    Sqlite(Arc<mfa_store::SqliteStore>),
    #[cfg(feature = "postgres")]
    Postgres(Arc<mfa_store::PostgresStore>),
}

/// The demo's store: an [`AsyncStore`] over SQLite or PostgreSQL, with the short-lived kinds in
/// Redis when one is configured.
#[derive(Clone)]
pub struct DemoStore {
    durable: Durable,
    #[cfg(feature = "redis")]
    short_lived: Option<Arc<mfa_store::RedisStore>>,
}

impl fmt::Debug for DemoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.durable {
            Durable::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Durable::Postgres(_) => "postgres",
        };
        f.debug_struct("DemoStore")
            .field("backend", &backend)
            .finish_non_exhaustive()
    }
}

/// The sign-in log beside a [`DemoStore`].
#[derive(Clone)]
pub enum DemoAudit {
    /// In the SQLite file (blocking: calls run on tokio's blocking pool).
    Sqlite(Arc<mfa_store::SqliteAuditSink>),
    /// In the PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(Arc<mfa_store::PostgresAuditSink>),
}

impl fmt::Debug for DemoAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DemoAudit")
    }
}

/// Runs blocking store work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Unavailable(format!("store task failed: {error}").into()))?
}

/// Opens the store and its sign-in log.
///
/// # Errors
/// [`StoreError`] when the database or Redis cannot be opened, `--redis` is given with SQLite, or
/// this build lacks the backend.
pub async fn open(
    spec: &StoreSpec,
    redis: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Result<(DemoStore, DemoAudit), StoreError> {
    let (durable, audit) = match spec {
        StoreSpec::Sqlite(path) => {
            if redis.is_some() {
                return Err(StoreError::Unavailable(
                    "--redis goes with a PostgreSQL store (SQLite is one local file)".into(),
                ));
            }
            let path = path.clone();
            let clock = Arc::clone(&clock);
            let store = blocking(move || {
                mfa_store::SqliteStore::open_with(
                    &path,
                    mfa_store::SqliteOptions::new().clock(SharedClock(clock)),
                )
            })
            .await?;
            let audit = mfa_store::SqliteAuditSink::for_store(&store);
            (
                Durable::Sqlite(Arc::new(store)),
                DemoAudit::Sqlite(Arc::new(audit)),
            )
        }
        #[cfg(feature = "postgres")]
        StoreSpec::Postgres(url) => {
            let options = mfa_store::PostgresOptions::default().clock(SharedClock(clock.clone()));
            let store = mfa_store::PostgresStore::connect_with(url, options).await?;
            let audit = mfa_store::PostgresAuditSink::for_store(&store);
            (
                Durable::Postgres(Arc::new(store)),
                DemoAudit::Postgres(Arc::new(audit)),
            )
        }
        #[cfg(not(feature = "postgres"))]
        StoreSpec::Postgres(_) => {
            return Err(StoreError::Unavailable(
                "this build has no PostgreSQL support (cargo feature `postgres`)".into(),
            ));
        }
    };
    #[cfg(feature = "redis")]
    let short_lived = match redis {
        Some(url) => {
            let options = mfa_store::RedisOptions::default()
                .prefix("mfa-demo:")
                .clock(SharedClock(clock));
            Some(Arc::new(
                mfa_store::RedisStore::connect_with(url, options).await?,
            ))
        }
        None => None,
    };
    #[cfg(not(feature = "redis"))]
    if redis.is_some() {
        return Err(StoreError::Unavailable(
            "this build has no Redis support (cargo feature `redis`)".into(),
        ));
    }
    Ok((
        DemoStore {
            durable,
            #[cfg(feature = "redis")]
            short_lived,
        },
        audit,
    ))
}

/// An `Arc<dyn Clock>` as a `Clock + 'static` value for the backends' options.
#[derive(Clone)]
struct SharedClock(Arc<dyn Clock>);

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedClock")
    }
}

impl Clock for SharedClock {
    fn now(&self) -> mfa_core::UnixTime {
        self.0.now()
    }
}

impl DemoStore {
    /// The Redis store for `kind`, when the kind is short-lived and Redis is configured.
    #[cfg(feature = "redis")]
    fn redis_for(&self, kind: &str) -> Option<&mfa_store::RedisStore> {
        self.short_lived
            .as_deref()
            .filter(|_| SHORT_LIVED_KINDS.contains(&kind))
    }

    /// Which backend this store keeps its durable records in (`sqlite` or `postgres`).
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match &self.durable {
            Durable::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Durable::Postgres(_) => "postgres",
        }
    }
}

impl AsyncStore for DemoStore {
    async fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis_for(key.kind()) {
            return redis.load(key).await;
        }
        match &self.durable {
            Durable::Sqlite(store) => {
                let (store, key) = (Arc::clone(store), key.clone());
                blocking(move || store.load(&key)).await
            }
            #[cfg(feature = "postgres")]
            Durable::Postgres(store) => store.load(key).await,
        }
    }

    async fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis_for(key.kind()) {
            return redis.compare_and_swap(key, expected, new).await;
        }
        match &self.durable {
            Durable::Sqlite(store) => {
                let (store, key) = (Arc::clone(store), key.clone());
                // The blocking task owns its copy of the value (zeroized when dropped).
                let owned =
                    new.map(|record| (Zeroizing::new(record.value.to_vec()), record.expires_at));
                blocking(move || {
                    let new = owned
                        .as_ref()
                        .map(|(value, expires_at)| NewRecord::new(value).with_expiry(*expires_at));
                    store.compare_and_swap(&key, expected, new)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Durable::Postgres(store) => store.compare_and_swap(key, expected, new).await,
        }
    }

    async fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis_for(kind) {
            return redis.list(kind, account).await;
        }
        match &self.durable {
            Durable::Sqlite(store) => {
                let (store, kind, account) =
                    (Arc::clone(store), kind.to_owned(), account.to_owned());
                blocking(move || store.list(&kind, &account)).await
            }
            #[cfg(feature = "postgres")]
            Durable::Postgres(store) => store.list(kind, account).await,
        }
    }

    async fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis_for(kind) {
            return redis.find_by_id(kind, id).await;
        }
        match &self.durable {
            Durable::Sqlite(store) => {
                let (store, kind, id) = (Arc::clone(store), kind.to_owned(), id.to_owned());
                blocking(move || store.find_by_id(&kind, &id)).await
            }
            #[cfg(feature = "postgres")]
            Durable::Postgres(store) => store.find_by_id(kind, id).await,
        }
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        match &self.durable {
            Durable::Sqlite(store) => {
                let store = Arc::clone(store);
                blocking(move || store.purge_expired()).await
            }
            #[cfg(feature = "postgres")]
            Durable::Postgres(store) => store.purge_expired().await,
        }
    }
}

impl DemoAudit {
    /// Appends `event` to the sign-in log.
    ///
    /// # Errors
    /// [`StoreError`] when the log cannot be written.
    pub async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(sink) => {
                let sink = Arc::clone(sink);
                blocking(move || sink.record(&event)).await
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(sink) => mfa_core::AsyncAuditSink::record(&**sink, &event).await,
        }
    }

    /// The account's most recent sign-in events, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when the log cannot be read.
    pub async fn recent(&self, account: &str, limit: usize) -> Result<AuditPage, StoreError> {
        let query = RecentQuery::first(limit);
        match self {
            Self::Sqlite(sink) => {
                let (sink, account) = (Arc::clone(sink), account.to_owned());
                blocking(move || sink.recent(&account, &query)).await
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(sink) => {
                mfa_core::AsyncAuditSink::recent(&**sink, account, &query).await
            }
        }
    }
}
