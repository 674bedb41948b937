//! The SQLite backend: the shared conformance suite on a file in a temporary directory, plus what
//! only SQLite has (migrations, purge, many processes on one file, damaged rows).
#![cfg(feature = "sqlite")]

#[macro_use]
mod suite;

use core::time::Duration;

use mfa_core::{
    AuditEvent, AuditResult, AuditSink, ManualClock, NewRecord, RecentQuery, RecordKey, Store,
    StoreError, SwapOutcome, UnixTime,
};
use mfa_store::sqlite::SCHEMA_VERSION;
use mfa_store::{SqliteAuditSink, SqliteOptions, SqliteStore};
use suite::{Fixture, START};

fn open(dir: &tempfile::TempDir, clock: &ManualClock) -> SqliteStore {
    SqliteStore::open_with(
        dir.path().join("mfa.sqlite3"),
        SqliteOptions::new().clock(clock.clone()),
    )
    .expect("open")
}

/// A fresh file in a fresh temporary directory for each check.
fn fixture() -> Option<Fixture<SqliteStore>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(START);
    let store = open(&dir, &clock);
    Some(Fixture {
        store,
        clock,
        namespace: "sqlite".to_owned(),
        keep: Some(Box::new(dir)),
    })
}

conformance_tests!(fixture);

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

/// Eight openers (each `SqliteStore::open` has connections of its own, so they contend for the
/// file's locks as separate processes do) open one new file at the same moment, 40 times over:
/// every open succeeds, and the schema is migrated once. Opening a new file switches it to WAL,
/// which takes SQLite's exclusive lock by upgrading a read lock: SQLite answers a contended
/// upgrade with `SQLITE_BUSY` at once, without waiting out the busy timeout.
#[test]
fn many_openers_of_one_new_file_all_succeed() {
    const OPENERS: usize = 8;
    const ROUNDS: usize = 40;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfa.sqlite3");
        let barrier = std::sync::Barrier::new(OPENERS);
        let opened: Vec<Result<SqliteStore, StoreError>> = std::thread::scope(|scope| {
            let openers: Vec<_> = (0..OPENERS)
                .map(|_| {
                    let (path, barrier) = (&path, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        SqliteStore::open(path)
                    })
                })
                .collect();
            openers
                .into_iter()
                .map(|opener| opener.join().unwrap())
                .collect()
        });
        for store in &opened {
            let store = store
                .as_ref()
                .unwrap_or_else(|error| panic!("round {round}: open failed: {error}"));
            assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        }
        let migrations: i64 = raw(&dir)
            .query_row("SELECT COUNT(*) FROM mfa_schema_migrations", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(migrations, SCHEMA_VERSION, "round {round}: migrated once");
    }
}

/// Four stores on one file (four processes' worth of connections), eight threads each, released
/// by one barrier: every thread increments a counter of its own and one shared by all, 25 times
/// each. Every update commits (none is handed "database is locked") and no increment is lost.
///
/// SQLite queues no one for its write lock: a waiter gets it only by trying first after a holder
/// lets go. The busy timeout here is 2 s, not the default 5 s, so that a writer that keeps losing
/// those races (with SQLite's own busy handler, which slows to a try every 100 ms, one always
/// did) fails within this short run instead of after it.
#[test]
fn busy_writers_of_many_stores_on_one_file_all_commit() {
    const STORES: usize = 4;
    const THREADS: usize = 8;
    const UPDATES: u64 = 25;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let stores: Vec<SqliteStore> = (0..STORES)
        .map(|_| {
            SqliteStore::open_with(
                dir.path().join("mfa.sqlite3"),
                SqliteOptions::new()
                    .clock(clock.clone())
                    .busy_timeout(Duration::from_secs(2)),
            )
            .unwrap()
        })
        .collect();
    let shared = RecordKey::new("counter", "shared", "n");
    let own =
        |store: usize, thread: usize| RecordKey::new("counter", "own", format!("{store}-{thread}"));
    let barrier = std::sync::Barrier::new(STORES * THREADS);
    std::thread::scope(|scope| {
        for (s, store) in stores.iter().enumerate() {
            for t in 0..THREADS {
                let (own, shared, barrier) = (own(s, t), &shared, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for _ in 0..UPDATES {
                        increment(store, &own);
                        increment(store, shared);
                    }
                });
            }
        }
    });
    let store = &stores[0];
    for s in 0..STORES {
        for t in 0..THREADS {
            assert_eq!(
                mfa_core::load::<_, u64>(store, &own(s, t)).unwrap(),
                Some(UPDATES)
            );
        }
    }
    assert_eq!(
        mfa_core::load::<_, u64>(store, &shared).unwrap(),
        Some(UPDATES * u64::try_from(STORES * THREADS).unwrap())
    );
    store.integrity_check().unwrap();
}

/// Set in a child process of [`many_processes_share_one_file`]: the directory of the shared file.
const CHILD_DIR: &str = "MFA_STORE_TEST_SQLITE_CHILD_DIR";
const PROCESSES: usize = 4;
const ROUNDS: usize = 20;
const INCREMENTS: u64 = 50;

/// Four processes open one new file at the same moment (so they also race to migrate it), then
/// each increments a shared counter 50 times and tries to redeem each of 20 single-use records:
/// the counter ends at exactly 200, each record is redeemed by exactly one process, the schema is
/// migrated once, and the file passes `integrity_check`.
///
/// The children are this test binary run again on this test alone, told by [`CHILD_DIR`] to
/// play the child's part.
#[test]
fn many_processes_share_one_file() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        return child_process(std::path::Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<std::process::Child> = (0..PROCESSES)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "many_processes_share_one_file", "--nocapture"])
                .args(["--test-threads", "1"])
                .env(CHILD_DIR, dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Let them go at once.
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let mut wins = vec![0_usize; ROUNDS];
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // libtest's own "test … " may share a line with the first report.
        for line in stdout.lines() {
            if let Some((_, round)) = line.split_once("@won ") {
                wins[round.trim().parse::<usize>().unwrap()] += 1;
            }
        }
    }
    assert_eq!(
        wins,
        vec![1; ROUNDS],
        "each record redeemed by exactly one process"
    );
    let clock = ManualClock::new(START);
    let store = open(&dir, &clock);
    assert_eq!(
        mfa_core::load::<_, u64>(&store, &RecordKey::new("counter", "shared", "n")).unwrap(),
        Some(INCREMENTS * u64::try_from(PROCESSES).unwrap())
    );
    let migrations: i64 = raw(&dir)
        .query_row("SELECT COUNT(*) FROM mfa_schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(migrations, SCHEMA_VERSION, "migrated once");
    store.integrity_check().unwrap();
}

/// The child's part of [`many_processes_share_one_file`]: prints `@won N` for each record it
/// redeemed.
fn child_process(dir: &std::path::Path) {
    // Wait (bounded) for the parent's signal, so that all children start together.
    let go = dir.join("go");
    for _ in 0..10_000 {
        if go.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(go.exists(), "the parent never said go");
    let store = SqliteStore::open(dir.join("mfa.sqlite3")).expect("open");
    let counter = RecordKey::new("counter", "shared", "n");
    for round in 0..ROUNDS {
        let key = RecordKey::new("oneshot", "shared", format!("r{round}"));
        match mfa_core::insert_new(&store, &key, &false) {
            Ok(()) | Err(StoreError::AlreadyExists { .. }) => {}
            Err(error) => panic!("insert: {error}"),
        }
        let redeemed = mfa_core::verify_and_commit(&store, &key, |used: &bool| {
            if *used {
                return Err("used");
            }
            let evidence = mfa_core::Evidence::new(mfa_core::Method::BackupCode, START, "oneshot");
            Ok(mfa_core::Verified::new(evidence, true))
        });
        match redeemed {
            Ok(_) => println!("@won {round}"),
            Err(mfa_core::AttemptError::Rejected("used")) => {}
            Err(error) => panic!("redeem: {error}"),
        }
        for _ in 0..INCREMENTS / u64::try_from(ROUNDS).expect("small") {
            increment(&store, &counter);
        }
    }
    for _ in 0..INCREMENTS % u64::try_from(ROUNDS).expect("small") {
        increment(&store, &counter);
    }
}

fn increment(store: &SqliteStore, key: &RecordKey) {
    loop {
        match mfa_core::update(store, key, |n: Option<&u64>| {
            (mfa_core::Change::Put(n.copied().unwrap_or(0) + 1), ())
        }) {
            Ok(()) => return,
            Err(StoreError::Contention { .. }) => {}
            Err(error) => panic!("update: {error}"),
        }
    }
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

#[test]
fn audit_sink_passes_the_audit_conformance_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, &ManualClock::new(START));
    let sink = SqliteAuditSink::for_store(&store);
    mfa_core::conformance::audit_sink_checks(&sink, "sqlite", START);
    store.integrity_check().unwrap();
}

#[test]
fn audit_events_survive_reopening_and_many_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.sqlite3");
    let sink = SqliteAuditSink::open(&path).unwrap();
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        for t in 0..8_u64 {
            let (sink, barrier) = (&sink, &barrier);
            scope.spawn(move || {
                barrier.wait();
                for i in 0..25_u64 {
                    let at = UnixTime::from_secs(1_000 + i);
                    let event = AuditEvent::new(at, "alice", AuditResult::Success)
                        .with_device(format!("t{t}-{i}"));
                    sink.record(&event).unwrap();
                }
            });
        }
    });
    drop(sink);
    let sink = SqliteAuditSink::open(&path).unwrap();
    let all = sink.recent("alice", &RecentQuery::first(1_000)).unwrap();
    assert_eq!(all.events.len(), 200, "no event lost");
    let devices: std::collections::HashSet<&str> =
        all.events.iter().filter_map(AuditEvent::device).collect();
    assert_eq!(devices.len(), 200, "none recorded twice");
}

#[test]
fn recent_sign_ins_use_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let _sink = SqliteAuditSink::open(dir.path().join("mfa.sqlite3")).unwrap();
    for (sql, index) in [
        (
            "SELECT seq FROM mfa_audit_events WHERE account = 'a'
             AND (at < 5 OR (at = 5 AND seq < 3)) ORDER BY at DESC, seq DESC LIMIT 21",
            "mfa_audit_events_recent",
        ),
        (
            "DELETE FROM mfa_audit_events WHERE at < 5",
            "mfa_audit_events_by_time",
        ),
    ] {
        let plan: Vec<String> = raw(&dir)
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains(index)),
            "{sql}: {plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{sql}: no sort step: {plan:?}"
        );
    }
}

#[test]
fn a_damaged_audit_row_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SqliteAuditSink::open(dir.path().join("mfa.sqlite3")).unwrap();
    sink.record(&AuditEvent::new(START, "alice", AuditResult::Success))
        .unwrap();
    for damage in [
        "UPDATE mfa_audit_events SET result = 'maybe'",
        "UPDATE mfa_audit_events SET result = 'success', method = 'telepathy'",
        "UPDATE mfa_audit_events SET method = NULL, at = -1",
    ] {
        raw(&dir).execute(damage, []).unwrap();
        assert!(
            matches!(
                sink.recent("alice", &RecentQuery::first(5)),
                Err(StoreError::Corrupt { .. })
            ),
            "{damage}"
        );
    }
}

#[test]
fn a_file_of_schema_version_1_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let key = RecordKey::new("totp", "alice", "phone");
    mfa_core::insert_new(&open(&dir, &clock), &key, &"enrolled before the upgrade").unwrap();
    // Wind the file back to what version 1 created.
    raw(&dir)
        .execute_batch(
            "DROP TABLE mfa_audit_events;
             DELETE FROM mfa_schema_migrations WHERE version >= 2;",
        )
        .unwrap();
    let store = open(&dir, &clock);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        mfa_core::load::<_, String>(&store, &key)
            .unwrap()
            .as_deref(),
        Some("enrolled before the upgrade")
    );
    let sink = SqliteAuditSink::for_store(&store);
    sink.record(&AuditEvent::new(START, "alice", AuditResult::Success))
        .unwrap();
    assert_eq!(
        sink.recent("alice", &RecentQuery::first(5))
            .unwrap()
            .events
            .len(),
        1
    );
}
