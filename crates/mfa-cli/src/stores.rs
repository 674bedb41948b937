//! Where `--store` points: the one place the CLI opens a store.
//!
//! | `--store` | what it is |
//! |---|---|
//! | `FILE.json` (any path without a scheme) | a JSON file: the subcommand's own format where it has one (`mfa backup`: the hashed set), otherwise [`JsonFileStore`] (every record in one file) |
//! | `sqlite:PATH` | an SQLite database ([`mfa_store::SqliteStore`]): every record kind in one file, safe for many processes, with the sign-in log |
//! | `postgres://…`, `postgresql://…` | PostgreSQL (needs the `postgres` cargo feature) |
//! | `redis://…`, `rediss://…` | Redis (needs the `redis` cargo feature) |
//!
//! [`StoreSpec::parse`] reads the flag (a clap value parser); [`open`] turns it into a boxed
//! [`Store`] (a JSON path becomes a [`JsonFileStore`]), [`open_audit`] into the sign-in log that
//! lives with it (SQLite and PostgreSQL only).

use core::fmt;
use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_core::{
    AuditEvent, AuditSink, Clock, NewRecord, RecordKey, Store, StoreError, StoredRecord,
    SwapOutcome, SystemClock, UnixTime, Version, is_live,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::files::{StoreLock, write_atomically};
use crate::outcome::Failure;

/// A parsed `--store` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreSpec {
    /// A JSON file (no scheme): the legacy per-subcommand format, or a [`JsonFileStore`].
    JsonFile(PathBuf),
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, the URL as given.
    Postgres(String),
    /// `redis://…` or `rediss://…`, the URL as given.
    Redis(String),
}

impl StoreSpec {
    /// Reads a `--store` value (usable as a clap `value_parser`).
    ///
    /// # Errors
    /// A message for clap when the value is empty or names a scheme with nothing after it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let empty = |scheme: &str| format!("{scheme} needs a path or URL after it");
        if text.is_empty() {
            return Err("the store must not be empty".into());
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            // `sqlite://PATH` is a common spelling too.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(empty("sqlite:"));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        for scheme in ["postgres://", "postgresql://"] {
            if let Some(rest) = text.strip_prefix(scheme) {
                if rest.is_empty() {
                    return Err(empty(scheme));
                }
                return Ok(Self::Postgres(text.to_owned()));
            }
        }
        for scheme in ["redis://", "rediss://"] {
            if let Some(rest) = text.strip_prefix(scheme) {
                if rest.is_empty() {
                    return Err(empty(scheme));
                }
                return Ok(Self::Redis(text.to_owned()));
            }
        }
        Ok(Self::JsonFile(PathBuf::from(text)))
    }

    /// Whether the store is a database (SQLite, PostgreSQL, Redis) rather than a JSON file.
    pub(crate) fn is_database(&self) -> bool {
        !matches!(self, Self::JsonFile(_))
    }
}

impl fmt::Display for StoreSpec {
    /// The store as the user would name it, without a URL's password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::JsonFile(path) => write!(f, "{}", path.display()),
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) | Self::Redis(url) => f.write_str(&mfa_store::redact_url(url)),
        }
    }
}

/// Opens the store `spec` names as a boxed [`Store`]: a JSON path becomes a [`JsonFileStore`].
///
/// # Errors
/// [`Failure::Usage`] when the store cannot be opened, or this build lacks its backend.
pub(crate) fn open(spec: &StoreSpec) -> Result<Box<dyn Store>, Failure> {
    open_with_clock(spec, SystemClock)
}

/// As [`open`], with every backend judging record expiry by `clock` (a command's `--time`).
///
/// # Errors
/// As [`open`].
pub(crate) fn open_with_clock(
    spec: &StoreSpec,
    clock: impl Clock + 'static,
) -> Result<Box<dyn Store>, Failure> {
    let cannot = |error: StoreError| Failure::Usage(format!("cannot open {spec}: {error}"));
    match spec {
        StoreSpec::JsonFile(path) => Ok(Box::new(
            JsonFileStore::open_with_clock(path, clock).map_err(cannot)?,
        )),
        StoreSpec::Sqlite(path) => Ok(Box::new(
            mfa_store::SqliteStore::open_with(path, mfa_store::SqliteOptions::new().clock(clock))
                .map_err(cannot)?,
        )),
        StoreSpec::Postgres(url) => remote::open_postgres(url, clock).map_err(cannot),
        StoreSpec::Redis(url) => remote::open_redis(url, clock).map_err(cannot),
    }
}

/// Opens the sign-in log that lives with the store `spec` names: `None` for a JSON file (no
/// log) and for Redis (short-lived records only: the log belongs in SQL).
///
/// # Errors
/// [`Failure::Usage`] when the database cannot be opened, or this build lacks its backend.
pub(crate) fn open_audit(spec: &StoreSpec) -> Result<Option<Box<dyn AuditSink>>, Failure> {
    let cannot = |error: StoreError| Failure::Usage(format!("cannot open {spec}: {error}"));
    match spec {
        StoreSpec::JsonFile(_) | StoreSpec::Redis(_) => Ok(None),
        StoreSpec::Sqlite(path) => Ok(Some(Box::new(
            mfa_store::SqliteAuditSink::open(path).map_err(cannot)?,
        ))),
        StoreSpec::Postgres(url) => remote::open_postgres_audit(url).map(Some).map_err(cannot),
    }
}

/// Appends `event` to the sign-in log of `spec` if it has one. A log that cannot be written is
/// reported on stderr but does not change the outcome: what was verified is already committed.
pub(crate) fn record_audit(spec: &StoreSpec, event: &AuditEvent) {
    let written = open_audit(spec).and_then(|sink| match sink {
        Some(sink) => sink
            .record(event)
            .map_err(|error| Failure::Usage(error.to_string())),
        None => Ok(()),
    });
    if let Err(Failure::Usage(message) | Failure::Rejected(message)) = written {
        let _ignored = writeln!(
            io::stderr(),
            "mfa: warning: the sign-in log of {spec} was not written: {message}"
        );
    }
}

/// Where a sign-in came from, for the log (`--ip`, `--user-agent`, `--country`, `--device`).
#[derive(Clone, Debug, Default, clap::Args)]
pub(crate) struct AuditContext {
    /// For the sign-in log (database stores): the client's IP address.
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// For the sign-in log: the client's user agent.
    #[arg(long, value_name = "UA")]
    user_agent: Option<String>,
    /// For the sign-in log: the country the client's address maps to (e.g. NZ).
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    /// For the sign-in log: the device, as the service names it.
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
}

impl AuditContext {
    /// `event` with this context added.
    pub(crate) fn apply(&self, mut event: AuditEvent) -> AuditEvent {
        if let Some(ip) = &self.ip {
            event = event.with_ip(ip.as_str());
        }
        if let Some(user_agent) = &self.user_agent {
            event = event.with_user_agent(user_agent.as_str());
        }
        if let Some(country) = &self.country {
            event = event.with_country(country.as_str());
        }
        if let Some(device) = &self.device {
            event = event.with_device(device.as_str());
        }
        event
    }
}

/// PostgreSQL and Redis: the delegation point the network backends plug into.
mod remote {
    use mfa_core::{AuditSink, Clock, Store, StoreError};

    /// Opens the sign-in log in a PostgreSQL database.
    #[cfg(not(feature = "postgres"))]
    pub(super) fn open_postgres_audit(_url: &str) -> Result<Box<dyn AuditSink>, StoreError> {
        Err(StoreError::Unavailable(
            "this mfa was built without PostgreSQL support (cargo feature `postgres`)".into(),
        ))
    }

    /// Opens the sign-in log in a PostgreSQL database (schema `public`, created or migrated
    /// if needed), behind a blocking adapter: the CLI is synchronous.
    #[cfg(feature = "postgres")]
    pub(super) fn open_postgres_audit(url: &str) -> Result<Box<dyn AuditSink>, StoreError> {
        let store = connect_postgres(url, mfa_core::SystemClock)?;
        let log = mfa_store::PostgresAuditSink::for_store(store.get_ref());
        Ok(Box::new(store.wrap(log)))
    }

    /// Opens a PostgreSQL store (schema `public`, created or migrated if needed) behind a
    /// blocking adapter: the CLI is synchronous.
    #[cfg(not(feature = "postgres"))]
    pub(super) fn open_postgres(
        _url: &str,
        _clock: impl Clock + 'static,
    ) -> Result<Box<dyn Store>, StoreError> {
        Err(StoreError::Unavailable(
            "this mfa was built without PostgreSQL support (cargo feature `postgres`)".into(),
        ))
    }

    /// Opens a PostgreSQL store (schema `public`, created or migrated if needed) behind a
    /// blocking adapter: the CLI is synchronous.
    #[cfg(feature = "postgres")]
    pub(super) fn open_postgres(
        url: &str,
        clock: impl Clock + 'static,
    ) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(connect_postgres(url, clock)?))
    }

    #[cfg(feature = "postgres")]
    fn connect_postgres(
        url: &str,
        clock: impl Clock + 'static,
    ) -> Result<mfa_store::Blocking<mfa_store::PostgresStore>, StoreError> {
        let url = url.to_owned();
        let options = mfa_store::PostgresOptions::default().clock(clock);
        mfa_store::Blocking::open(async move {
            mfa_store::PostgresStore::connect_with(&url, options).await
        })
        .map_err(|error| named("PostgreSQL", error))
    }

    /// Opens a Redis store (behind a blocking adapter: the CLI is synchronous).
    #[cfg(not(feature = "redis"))]
    pub(super) fn open_redis(
        _url: &str,
        _clock: impl Clock + 'static,
    ) -> Result<Box<dyn Store>, StoreError> {
        Err(StoreError::Unavailable(
            "this mfa was built without Redis support (cargo feature `redis`)".into(),
        ))
    }

    /// Opens a Redis store (key prefix `mfa:`) behind a blocking adapter: the CLI is
    /// synchronous. One connection attempt: a command-line tool fails fast.
    #[cfg(feature = "redis")]
    pub(super) fn open_redis(
        url: &str,
        clock: impl Clock + 'static,
    ) -> Result<Box<dyn Store>, StoreError> {
        let url = url.to_owned();
        let options = mfa_store::RedisOptions::default()
            .connect_retries(0)
            .clock(clock);
        let store = mfa_store::Blocking::open(async move {
            mfa_store::RedisStore::connect_with(&url, options).await
        })
        .map_err(|error| named("Redis", error))?;
        Ok(Box::new(store))
    }

    /// Says which server failed to open (the driver's own message does not).
    #[cfg(any(feature = "postgres", feature = "redis"))]
    fn named(server: &str, error: StoreError) -> StoreError {
        match error {
            StoreError::Unavailable(cause) => {
                StoreError::Unavailable(format!("{server}: {cause}").into())
            }
            other => other,
        }
    }
}

/// The largest JSON store file read (a CLI's records, not a service's).
const MAX_JSON_STORE: u64 = 16 * 1024 * 1024;

/// Every record in one JSON file: a [`Store`] for the CLI without a database.
///
/// Each compare-and-swap takes the file's [`StoreLock`] (an OS lock on `FILE.lock`, released even
/// when the process is killed), reads the file, and replaces it atomically (a 0600 temporary file
/// renamed over it): concurrent `mfa` processes take turns, and a reader sees the old file or the
/// new one. Reads take no lock. A missing file is an empty store; versions come from a counter in
/// the file, so they are never reused while the file lives. Expiry is judged by the store's clock.
///
/// Values are stored base64url-encoded (they are CBOR, and may hold secrets: the file is
/// created 0600, but it is not encrypted).
pub(crate) struct JsonFileStore {
    path: PathBuf,
    clock: Arc<dyn Clock>,
}

/// The file's contents.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile {
    /// Always [`JSON_STORE_FORMAT`]: tells this file from a subcommand's own JSON.
    format: String,
    /// The last version handed out.
    last_version: u64,
    /// The records, in key order.
    records: Vec<JsonRecord>,
}

/// The `format` member of a [`JsonFileStore`] file.
const JSON_STORE_FORMAT: &str = "mfa-records/1";

/// One record in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord {
    kind: String,
    account: String,
    id: String,
    version: u64,
    /// Base64url (no padding) of the encoded value.
    value: String,
    /// Milliseconds since the Unix epoch, if the record expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

impl JsonRecord {
    fn key(&self) -> RecordKey {
        RecordKey::new(&self.kind, &self.account, &self.id)
    }

    fn is_live(&self, now: UnixTime) -> bool {
        is_live(self.expires_at_ms.map(UnixTime::from_millis), now)
    }

    fn to_stored(&self) -> Result<StoredRecord, StoreError> {
        let value = URL_SAFE_NO_PAD
            .decode(&self.value)
            .map_err(|error| StoreError::Corrupt {
                key: self.key().flat(),
                reason: format!("the value is not base64url: {error}"),
            })?;
        Ok(StoredRecord {
            version: Version::new(self.version),
            value: Zeroizing::new(value),
            expires_at: self.expires_at_ms.map(UnixTime::from_millis),
        })
    }

    fn matches(&self, key: &RecordKey) -> bool {
        self.kind == key.kind() && self.account == key.account() && self.id == key.id()
    }
}

impl JsonFileStore {
    /// A store in the JSON file at `path` (created on the first write), judging expiry by `clock`.
    ///
    /// # Errors
    /// [`StoreError`] when the file exists but is not a store file.
    pub(crate) fn open_with_clock(
        path: &Path,
        clock: impl Clock + 'static,
    ) -> Result<Self, StoreError> {
        let store = Self {
            path: path.to_path_buf(),
            clock: Arc::new(clock),
        };
        // Refuse a file that is something else (a backup-code set) now, not at the first write.
        let _contents = store.read(&store.path)?;
        Ok(store)
    }

    fn read(&self, path: &Path) -> Result<JsonFile, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            key: self.path.display().to_string(),
            reason,
        };
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(JsonFile {
                    format: JSON_STORE_FORMAT.to_owned(),
                    ..JsonFile::default()
                });
            }
            Err(error) => return Err(StoreError::Unavailable(Box::new(error))),
        };
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_JSON_STORE.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|error| StoreError::Unavailable(Box::new(error)))?;
        if u64::try_from(bytes.len()).map_or(true, |len| len > MAX_JSON_STORE) {
            return Err(corrupt(format!("larger than {MAX_JSON_STORE} bytes")));
        }
        let contents: JsonFile = serde_json::from_slice(&bytes)
            .map_err(|error| corrupt(format!("not a store file ({JSON_STORE_FORMAT}): {error}")))?;
        if contents.format != JSON_STORE_FORMAT {
            return Err(corrupt(format!(
                "format {:?}, expected {JSON_STORE_FORMAT:?}",
                contents.format
            )));
        }
        Ok(contents)
    }

    fn write(path: &Path, contents: &JsonFile) -> Result<(), StoreError> {
        let mut json = Zeroizing::new(serde_json::to_vec_pretty(contents).map_err(|error| {
            StoreError::Unavailable(format!("cannot encode the store: {error}").into())
        })?);
        json.push(b'\n');
        write_atomically(path, &json).map_err(failure_to_store_error)
    }
}

/// A file-level failure (lock, write) as the store error a caller of [`Store`] expects.
fn failure_to_store_error(failure: Failure) -> StoreError {
    let message = match failure {
        Failure::Usage(message) | Failure::Rejected(message) => message,
    };
    StoreError::Unavailable(message.into())
}

impl fmt::Debug for JsonFileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonFileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store for JsonFileStore {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let now = self.clock.now();
        let contents = self.read(&self.path)?;
        contents
            .records
            .iter()
            .find(|record| record.matches(key) && record.is_live(now))
            .map(JsonRecord::to_stored)
            .transpose()
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let lock = StoreLock::acquire(&self.path).map_err(failure_to_store_error)?;
        let now = self.clock.now();
        let mut contents = self.read(lock.store())?;
        let position = contents
            .records
            .iter()
            .position(|record| record.matches(key));
        let current = position
            .and_then(|index| contents.records.get(index))
            .filter(|record| record.is_live(now))
            .map(|record| Version::new(record.version));
        if current != expected {
            return Ok(SwapOutcome::Conflict);
        }
        let version = contents
            .last_version
            .checked_add(1)
            .ok_or_else(|| StoreError::Unavailable("the version counter is exhausted".into()))?;
        contents.last_version = version;
        if let Some(index) = position {
            // An expired record left behind goes too: it was absent already.
            contents.records.remove(index);
        }
        if let Some(new) = new {
            let record = JsonRecord {
                kind: key.kind().to_owned(),
                account: key.account().to_owned(),
                id: key.id().to_owned(),
                version,
                value: URL_SAFE_NO_PAD.encode(new.value),
                expires_at_ms: new.expires_at.map(UnixTime::as_millis),
            };
            let at = contents
                .records
                .partition_point(|existing| existing.key() < *key);
            contents.records.insert(at, record);
        }
        Self::write(lock.store(), &contents)?;
        Ok(SwapOutcome::Committed(Version::new(version)))
    }

    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        let now = self.clock.now();
        let contents = self.read(&self.path)?;
        let mut listed = contents
            .records
            .iter()
            .filter(|record| record.kind == kind && record.account == account)
            .filter(|record| record.is_live(now))
            .map(|record| Ok((record.key(), record.to_stored()?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        listed.sort_by(|(a, _), (b, _)| a.cmp(b));
        Ok(listed)
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let now = self.clock.now();
        let contents = self.read(&self.path)?;
        let mut found: Vec<RecordKey> = contents
            .records
            .iter()
            .filter(|record| record.kind == kind && record.id == id && record.is_live(now))
            .map(JsonRecord::key)
            .collect();
        found.sort();
        Ok(found)
    }

    fn purge_expired(&self) -> Result<u64, StoreError> {
        let lock = StoreLock::acquire(&self.path).map_err(failure_to_store_error)?;
        let now = self.clock.now();
        let mut contents = self.read(lock.store())?;
        let before = contents.records.len();
        contents.records.retain(|record| record.is_live(now));
        let purged = before.saturating_sub(contents.records.len());
        if purged > 0 {
            Self::write(lock.store(), &contents)?;
        }
        Ok(u64::try_from(purged).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use mfa_core::{ManualClock, insert_new, load};

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mfa-cli-stores-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn store_specs_parse() {
        let cases = [
            ("codes.json", StoreSpec::JsonFile("codes.json".into())),
            ("./dir/x", StoreSpec::JsonFile("./dir/x".into())),
            ("sqlite:mfa.db", StoreSpec::Sqlite("mfa.db".into())),
            (
                "sqlite:///var/mfa.db",
                StoreSpec::Sqlite("/var/mfa.db".into()),
            ),
            (
                "postgres://u:p@localhost/mfa",
                StoreSpec::Postgres("postgres://u:p@localhost/mfa".into()),
            ),
            (
                "postgresql://localhost",
                StoreSpec::Postgres("postgresql://localhost".into()),
            ),
            (
                "redis://localhost:6379/0",
                StoreSpec::Redis("redis://localhost:6379/0".into()),
            ),
            ("rediss://h", StoreSpec::Redis("rediss://h".into())),
        ];
        for (text, spec) in cases {
            assert_eq!(StoreSpec::parse(text), Ok(spec), "{text}");
        }
        for bad in ["", "sqlite:", "sqlite://", "postgres://", "redis://"] {
            assert!(StoreSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        let spec = StoreSpec::parse("postgres://mfa:hunter2@db.internal:5432/mfa").unwrap();
        assert_eq!(spec.to_string(), "postgres://mfa:***@db.internal:5432/mfa");
        let spec = StoreSpec::parse("redis://:s3cret@cache/0").unwrap();
        assert!(!spec.to_string().contains("s3cret"));
        let spec = StoreSpec::parse("redis://cache/0").unwrap();
        assert_eq!(spec.to_string(), "redis://cache/0");
    }

    #[test]
    fn json_file_store_passes_the_conformance_checks() {
        let dir = temp_dir("conformance");
        let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
        let store =
            JsonFileStore::open_with_clock(&dir.join("records.json"), clock.clone()).unwrap();
        mfa_core::conformance::run_all_with_clock(&store, &clock, "json");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn json_file_store_survives_reopening_and_refuses_other_json() {
        let dir = temp_dir("reopen");
        let path = dir.join("records.json");
        let key = RecordKey::new("push_device", "alice", "d1");
        insert_new(
            &JsonFileStore::open_with_clock(&path, SystemClock).unwrap(),
            &key,
            &"phone",
        )
        .unwrap();
        let again = JsonFileStore::open_with_clock(&path, SystemClock).unwrap();
        assert_eq!(
            load::<_, String>(&again, &key).unwrap().as_deref(),
            Some("phone")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the file may hold secrets");
        }
        let other = dir.join("codes.json");
        std::fs::write(&other, br#"{"account": "alice", "codes": []}"#).unwrap();
        assert!(matches!(
            JsonFileStore::open_with_clock(&other, SystemClock),
            Err(StoreError::Corrupt { .. })
        ));
        std::fs::write(&other, b"{ not json").unwrap();
        assert!(matches!(
            JsonFileStore::open_with_clock(&other, SystemClock),
            Err(StoreError::Corrupt { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_value_is_corrupt_not_a_panic() {
        let dir = temp_dir("damaged");
        let path = dir.join("records.json");
        std::fs::write(
            &path,
            br#"{"format": "mfa-records/1", "last_version": 1, "records": [
                {"kind": "k", "account": "a", "id": "1", "version": 1, "value": "!!"}]}"#,
        )
        .unwrap();
        let store = JsonFileStore::open_with_clock(&path, SystemClock).unwrap();
        assert!(matches!(
            store.load(&RecordKey::new("k", "a", "1")),
            Err(StoreError::Corrupt { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
