//! The SQLite backend: the shared conformance suite on a file in a temporary directory, plus what
//! only SQLite has (migrations, purge, many processes on one file, damaged rows).
#![cfg(feature = "sqlite")]

use core::time::Duration;

use mfa_core::{ManualClock, NewRecord, RecordKey, Store, StoreError, SwapOutcome, UnixTime};
use mfa_store::sqlite::SCHEMA_VERSION;
use mfa_store::{SqliteOptions, SqliteStore};

fn open(dir: &tempfile::TempDir, clock: &ManualClock) -> SqliteStore {
    SqliteStore::open_with(
        dir.path().join("mfa.sqlite3"),
        SqliteOptions::new().clock(clock.clone()),
    )
    .expect("open")
}

#[test]
fn core_conformance_checks_pass() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let store = open(&dir, &clock);
    mfa_core::conformance::run_all_with_clock(&store, &clock, "sqlite");
    store.integrity_check().unwrap();
}

#[test]
fn schema_is_migrated_once_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let store = open(&dir, &clock);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let key = RecordKey::new("k", "alice", "1");
    let _ = store
        .compare_and_swap(&key, None, Some(NewRecord::new(b"kept")))
        .unwrap();
    drop(store);
    // Reopening migrates nothing and keeps the data.
    let store = open(&dir, &clock);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.load(&key).unwrap().unwrap().value.as_slice(), b"kept");
    let migrations: i64 = raw(&dir)
        .query_row("SELECT COUNT(*) FROM mfa_schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(migrations, SCHEMA_VERSION, "one row per migration");
    drop(store);
    // A file from a newer build is refused, not misread.
    raw(&dir)
        .execute(
            "INSERT INTO mfa_schema_migrations (version, applied_at) VALUES (?1, 0)",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    let error = SqliteStore::open(dir.path().join("mfa.sqlite3")).unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    assert!(error.to_string().contains("newer"), "{error}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.sqlite3");
    std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
}

#[test]
fn purge_deletes_expired_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let store = open(&dir, &clock);
    for i in 0..50_u64 {
        let key = RecordKey::new("challenge", "alice", format!("c{i}"));
        let expiry = (i % 2 == 0).then(|| UnixTime::from_secs(1_001 + i));
        let new = NewRecord::new(b"v").with_expiry(expiry);
        assert!(matches!(
            store.compare_and_swap(&key, None, Some(new)).unwrap(),
            SwapOutcome::Committed(_)
        ));
    }
    assert_eq!(store.purge_expired().unwrap(), 0, "nothing has expired yet");
    clock.set(UnixTime::from_secs(1_010));
    // c0, c2, …, c8 expire at 1001..=1009, c10 at 1011: five rows.
    assert_eq!(store.purge_expired().unwrap(), 5);
    assert_eq!(rows(&dir), 45);
    clock.advance(Duration::from_secs(3_600));
    assert_eq!(store.purge_expired().unwrap(), 20);
    assert_eq!(rows(&dir), 25, "the records without expiry stay");
    assert_eq!(store.list("challenge", "alice").unwrap().len(), 25);
}

#[test]
fn purge_uses_the_expiry_index() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let _store = open(&dir, &clock);
    let plan: Vec<String> = raw(&dir)
        .prepare(
            "EXPLAIN QUERY PLAN DELETE FROM mfa_records
             WHERE expires_at IS NOT NULL AND expires_at <= 5",
        )
        .unwrap()
        .query_map([], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter()
            .any(|step| step.contains("mfa_records_by_expiry")),
        "{plan:?}"
    );
}

#[test]
fn damaged_rows_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let store = open(&dir, &clock);
    let damage = [
        "UPDATE mfa_records SET version = -5",
        "UPDATE mfa_records SET version = 'seven'",
        "UPDATE mfa_records SET value = 'text, not a blob'",
        "UPDATE mfa_records SET expires_at = 'soon'",
    ];
    for (i, sql) in damage.iter().enumerate() {
        let key = RecordKey::new("damaged", "alice", format!("{i}"));
        let _ = store
            .compare_and_swap(&key, None, Some(NewRecord::new(b"fine")))
            .unwrap();
        raw(&dir)
            .execute(&format!("{sql} WHERE id = ?1"), [key.id()])
            .unwrap();
        let loaded = store.load(&key);
        let listed = store.list("damaged", "alice");
        assert!(
            matches!(loaded, Err(StoreError::Corrupt { .. })),
            "{sql}: {loaded:?}"
        );
        assert!(
            matches!(listed, Err(StoreError::Corrupt { .. })),
            "{sql}: {listed:?}"
        );
        // Repair it so the next round sees one damaged row at a time.
        let _ = raw(&dir)
            .execute("DELETE FROM mfa_records WHERE id = ?1", [key.id()])
            .unwrap();
    }
    // A damaged version also stops a compare-and-swap instead of being guessed at.
    let key = RecordKey::new("damaged", "alice", "cas");
    let _ = store
        .compare_and_swap(&key, None, Some(NewRecord::new(b"fine")))
        .unwrap();
    raw(&dir)
        .execute("UPDATE mfa_records SET version = -1 WHERE id = 'cas'", [])
        .unwrap();
    assert!(matches!(
        store.compare_and_swap(&key, None, Some(NewRecord::new(b"x"))),
        Err(StoreError::Corrupt { .. })
    ));
}

/// A second, raw connection to the store's file, for inspecting and damaging it.
fn raw(dir: &tempfile::TempDir) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(dir.path().join("mfa.sqlite3")).expect("open");
    connection
        .busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    connection
}

fn rows(dir: &tempfile::TempDir) -> i64 {
    raw(dir)
        .query_row("SELECT COUNT(*) FROM mfa_records", [], |r| r.get(0))
        .expect("count")
}
