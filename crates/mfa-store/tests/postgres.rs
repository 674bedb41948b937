//! The PostgreSQL backend against a real server: the shared suite (also through the cipher),
//! and what only this backend has (migrations, schemas, purge, the audit sink, tampered rows).
//! Needs `MFA_POSTGRES_URL`; without it every test passes without running, after a notice. Run
//! them with `bash .ci/services cargo test -p mfa-store`.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap; tests may unwrap (STYLE.md)"
)]

#[macro_use]
mod suite;
mod servers;

use std::sync::Arc;

use mfa_core::{
    AsyncStore, AuditEvent, AuditResult, AuditSink, ManualClock, Method, NewRecord, RecentQuery,
    RecordKey, Store, StoreError, SwapOutcome, UnixTime,
};
use mfa_store::blocking::Blocking;
use mfa_store::cipher::StoreCipher;
use mfa_store::postgres::{PostgresAuditSink, PostgresOptions, PostgresStore, SCHEMA_VERSION};
use rand::rngs::StdRng;
use servers::{fresh_name, runtime};
use suite::{Fixture, START};

fn url() -> Option<String> {
    servers::url("MFA_POSTGRES_URL", "PostgreSQL")
}

/// A schema of its own for `test`.
fn options(test: &str) -> PostgresOptions {
    PostgresOptions::default().schema(fresh_name(test))
}

fn blocking_store(url: String, options: PostgresOptions) -> Blocking<PostgresStore> {
    Blocking::open(async move { PostgresStore::connect_with(&url, options).await }).unwrap()
}

/// Runs `sql` on the server beside the store (to tamper with its tables).
fn execute(store: &Blocking<PostgresStore>, url: &str, sql: String) {
    let url = url.to_owned();
    store
        .block_on(move |_| async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
            tokio::spawn(connection);
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| StoreError::Unavailable(Box::new(e)))
        })
        .unwrap();
}

/// A fresh schema on the server, judged by a manual clock: the shared suite's fixture.
fn fixture() -> Option<Fixture<Blocking<PostgresStore>>> {
    let url = url()?;
    let clock = ManualClock::new(START);
    let store = blocking_store(url, options("suite").clock(clock.clone()));
    Some(Fixture {
        store,
        clock,
        namespace: "postgres".to_owned(),
        keep: None,
    })
}

conformance_tests!(fixture);

/// The same suite through the cipher layer: what a service keeping sealed TOTP seeds in
/// PostgreSQL runs.
mod through_the_cipher {
    use super::*;

    fn fixture() -> Option<Fixture<StoreCipher<Blocking<PostgresStore>, StdRng>>> {
        servers::through_the_cipher(super::fixture())
    }

    conformance_tests!(fixture);
}

/// Many tokio tasks (no blocking adapter) take one record at once: one wins each round.
#[test]
fn concurrent_async_takers_have_one_winner() {
    let Some(url) = url() else { return };
    runtime().block_on(async {
        let store = PostgresStore::connect_with(&url, options("async_take"))
            .await
            .unwrap();
        servers::async_takers_have_one_winner(Arc::new(store)).await;
    });
}

/// Nodes starting at once on a fresh schema all come up (one applies each migration), and a
/// second start finds the schema current.
#[test]
fn concurrent_first_starts_migrate_once() {
    let Some(url) = url() else { return };
    runtime().block_on(async {
        let options = options("migrate");
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let (url, options) = (url.clone(), options.clone());
                tokio::spawn(async move { PostgresStore::connect_with(&url, options).await })
            })
            .collect();
        let mut stores = Vec::new();
        for start in starts {
            stores.push(start.await.unwrap().unwrap());
        }
        let key = RecordKey::new("k", "a", "1");
        mfa_core::insert_new_async(&stores[0], &key, &1_u8)
            .await
            .unwrap();
        let seen: Option<u8> = mfa_core::load_async(&stores[7], &key).await.unwrap();
        assert_eq!(seen, Some(1));
        let again = PostgresStore::connect_with(&url, options).await.unwrap();
        again.migrate().await.unwrap();
    });
}

/// A database migrated by a newer build is refused rather than written with an old layout.
#[test]
fn refuses_a_schema_newer_than_it_knows() {
    let Some(url) = url() else { return };
    runtime().block_on(async {
        let options = options("newer");
        let store = PostgresStore::connect_with(&url, options.clone())
            .await
            .unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "INSERT INTO {}.mfa_schema_migrations (version, applied_at) VALUES ({}, 0)",
                store.schema(),
                SCHEMA_VERSION + 1
            ))
            .await
            .unwrap();
        let error = PostgresStore::connect_with(&url, options)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("newer than this build's"),
            "{error}"
        );
    });
}

/// Schemas are separate stores: the same key in two of them is two records.
#[test]
fn schemas_do_not_share_records() {
    let Some(url) = url() else { return };
    let first = blocking_store(url.clone(), options("tenant_a"));
    let second = blocking_store(url, options("tenant_b"));
    let key = RecordKey::new("totp", "alice", "phone");
    mfa_core::insert_new(&first, &key, &"a").unwrap();
    assert!(first.load(&key).unwrap().is_some());
    assert!(second.load(&key).unwrap().is_none());
    mfa_core::insert_new(&second, &key, &"b").unwrap();
    assert_eq!(
        mfa_core::load::<_, String>(&first, &key)
            .unwrap()
            .as_deref(),
        Some("a")
    );
}

/// A row that breaks the crate's invariants reads as a typed error, not a panic.
#[test]
fn a_tampered_row_is_an_error() {
    let Some(url) = url() else { return };
    let store = blocking_store(url.clone(), options("tampered"));
    let key = RecordKey::new("totp", "alice", "phone");
    mfa_core::insert_new(&store, &key, &7_u32).unwrap();
    let schema = store.get_ref().schema().to_owned();
    execute(
        &store,
        &url,
        format!("UPDATE {schema}.mfa_records SET version = -5"),
    );
    assert!(matches!(store.load(&key), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        store.list("totp", "alice"),
        Err(StoreError::Corrupt { .. })
    ));
    // The value itself is garbage to the decoder too: still an error.
    assert!(matches!(
        mfa_core::load::<_, String>(&store, &key),
        Err(StoreError::Corrupt { .. })
    ));
    // A version no BIGINT holds is a plain conflict.
    assert_eq!(
        store
            .compare_and_swap(
                &key,
                Some(mfa_core::Version::new(u64::MAX)),
                Some(NewRecord::new(b"x"))
            )
            .unwrap(),
        SwapOutcome::Conflict
    );
}

#[test]
fn a_bad_schema_name_or_url_is_an_error() {
    let Some(url) = url() else { return };
    runtime().block_on(async {
        let bad_schema = PostgresOptions::default().schema("Robert'); DROP TABLE students;--");
        assert!(matches!(
            PostgresStore::connect_with(&url, bad_schema).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            PostgresStore::connect("postgres://[").await,
            Err(StoreError::Unavailable(_))
        ));
    });
}

/// The async trait is what the blocking adapter forwards to; both see the same rows.
#[test]
fn blocking_and_async_views_agree() {
    let Some(url) = url() else { return };
    let store = blocking_store(url, options("views"));
    let key = RecordKey::new("k", "a", "1");
    let SwapOutcome::Committed(version) = store
        .compare_and_swap(&key, None, Some(NewRecord::new(b"v")))
        .unwrap()
    else {
        panic!("insert must commit");
    };
    let loaded = store
        .block_on(move |store| async move { AsyncStore::load(&*store, &key).await })
        .unwrap()
        .unwrap();
    assert_eq!(loaded.version, version);
    assert_eq!(loaded.value.as_slice(), b"v");
}

/// `purge_expired` deletes exactly the expired rows, by the store's clock.
#[test]
fn purge_deletes_only_expired_rows() {
    let Some(url) = url() else { return };
    let clock = ManualClock::new(START);
    let store = blocking_store(url, options("purge").clock(clock.clone()));
    let at = |secs: u64| UnixTime::from_secs(START.as_secs() + secs);
    for (id, expiry) in [("a", Some(at(10))), ("b", Some(at(20))), ("c", None)] {
        let key = RecordKey::new("challenge", "alice", id);
        match expiry {
            Some(expiry) => mfa_core::put_until(&store, &key, &id, expiry).unwrap(),
            None => mfa_core::put(&store, &key, &id).unwrap(),
        }
    }
    assert_eq!(store.purge_expired().unwrap(), 0);
    clock.set(at(15));
    assert_eq!(store.purge_expired().unwrap(), 1);
    clock.set(at(1_000));
    assert_eq!(store.purge_expired().unwrap(), 1);
    assert_eq!(store.purge_expired().unwrap(), 0);
    let left: Vec<RecordKey> = store
        .list("challenge", "alice")
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(left, [RecordKey::new("challenge", "alice", "c")]);
}

/// The sign-in log beside the records passes mfa-core's audit sink checks (through the blocking
/// adapter, on the store's runtime).
#[test]
fn audit_sink_passes_the_audit_checks() {
    let Some(url) = url() else { return };
    let store = blocking_store(url, options("audit"));
    let log = store.wrap(PostgresAuditSink::for_store(store.get_ref()));
    mfa_core::conformance::audit_sink_checks(&log, "postgres", START);
}

/// An audit row with a name the crate never writes reads as a typed error.
#[test]
fn a_tampered_audit_row_is_an_error() {
    let Some(url) = url() else { return };
    let store = blocking_store(url.clone(), options("audit_tampered"));
    let log = store.wrap(PostgresAuditSink::for_store(store.get_ref()));
    log.record(&AuditEvent::new(START, "alice", AuditResult::Success).with_method(Method::Totp))
        .unwrap();
    let schema = store.get_ref().schema().to_owned();
    for tamper in [
        "UPDATE {schema}.mfa_audit_events SET result = 'maybe'",
        "UPDATE {schema}.mfa_audit_events SET result = 'success', method = 'carrier_pigeon'",
        "UPDATE {schema}.mfa_audit_events SET method = NULL, at = -1",
    ] {
        execute(&store, &url, tamper.replace("{schema}", &schema));
        assert!(
            matches!(
                log.recent("alice", &RecentQuery::first(10)),
                Err(StoreError::Corrupt { .. })
            ),
            "{tamper}"
        );
    }
}
