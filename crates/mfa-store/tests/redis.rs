//! The Redis backend against a real server: the shared suite (also through the cipher), and
//! what only this backend has (prefixes, version floor, native TTLs, index clean-up, tampered
//! entries). Needs `MFA_REDIS_URL`; without it every test passes without running, after a
//! notice. Run them with `bash .ci/services cargo test -p mfa-store`.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap; tests may unwrap (STYLE.md)"
)]

#[macro_use]
mod suite;
mod servers;

use std::sync::Arc;

use mfa_core::{
    AsyncStore, ManualClock, NewRecord, RecordKey, Store, StoreError, SwapOutcome, UnixTime,
    Version,
};
use mfa_store::blocking::Blocking;
use mfa_store::cipher::StoreCipher;
use mfa_store::redis::{RedisOptions, RedisStore};
use rand::rngs::StdRng;
use servers::{fresh_name, runtime};
use suite::{Fixture, START};

fn url() -> Option<String> {
    servers::url("MFA_REDIS_URL", "Redis")
}

/// A key prefix no other test or run uses.
fn fresh_prefix(test: &str) -> String {
    format!("{}:", fresh_name(test))
}

fn options(test: &str) -> RedisOptions {
    RedisOptions::default().prefix(fresh_prefix(test))
}

fn blocking_store(url: String, options: RedisOptions) -> Blocking<RedisStore> {
    Blocking::open(async move { RedisStore::connect_with(&url, options).await }).unwrap()
}

/// A fresh key prefix on the server, judged by a manual clock: the shared suite's fixture.
fn fixture() -> Option<Fixture<Blocking<RedisStore>>> {
    let url = url()?;
    let clock = ManualClock::new(START);
    let store = blocking_store(url, options("suite").clock(clock.clone()));
    Some(Fixture {
        store,
        clock,
        namespace: "redis".to_owned(),
        keep: None,
    })
}

conformance_tests!(fixture);

/// The same suite through the cipher layer.
mod through_the_cipher {
    use super::*;

    fn fixture() -> Option<Fixture<StoreCipher<Blocking<RedisStore>, StdRng>>> {
        servers::through_the_cipher(super::fixture())
    }

    conformance_tests!(fixture);
}

/// Runs one raw command on the server, beside the store (to tamper with or inspect its keys).
fn raw<T: redis::FromRedisValue + Send + 'static>(
    store: &Blocking<RedisStore>,
    url: &str,
    command: &mut redis::Cmd,
) -> T {
    let (url, command) = (url.to_owned(), command.clone());
    store
        .block_on(move |_| async move {
            let client = redis::Client::open(url).unwrap();
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            Ok(command.query_async(&mut connection).await.unwrap())
        })
        .unwrap()
}

/// Many tokio tasks on one multiplexed connection (no blocking adapter) take one record at
/// once: one wins each round.
#[test]
fn concurrent_async_takers_have_one_winner() {
    let Some(url) = url() else { return };
    runtime().block_on(async {
        let store = RedisStore::connect_with(&url, options("async_take"))
            .await
            .unwrap();
        servers::async_takers_have_one_winner(Arc::new(store)).await;
    });
}

/// Prefixes are separate stores: the same key under two of them is two records.
#[test]
fn prefixes_do_not_share_records() {
    let Some(url) = url() else { return };
    let first = blocking_store(url.clone(), options("tenant_a"));
    let second = blocking_store(url, options("tenant_b"));
    let key = RecordKey::new("challenge", "alice", "c1");
    mfa_core::insert_new(&first, &key, &"a").unwrap();
    assert!(second.load(&key).unwrap().is_none());
    assert!(second.list("challenge", "alice").unwrap().is_empty());
    assert!(second.find_by_id("challenge", "c1").unwrap().is_empty());
    mfa_core::insert_new(&second, &key, &"b").unwrap();
    assert_eq!(
        mfa_core::load::<_, String>(&first, &key)
            .unwrap()
            .as_deref(),
        Some("a")
    );
}

/// The version counter rolled back (a restart that lost its last writes): new versions still
/// differ from every one given before, because they never fall below the server's clock.
#[test]
fn versions_are_not_reused_after_the_counter_rolls_back() {
    let Some(url) = url() else { return };
    let prefix = fresh_prefix("rollback");
    let counter = format!("{prefix}version");
    let store = blocking_store(url.clone(), RedisOptions::default().prefix(prefix));
    let key = RecordKey::new("k", "a", "1");
    let mut given = Vec::new();
    let mut current = None;
    for value in 0..20_u8 {
        let SwapOutcome::Committed(version) = store
            .compare_and_swap(&key, current, Some(NewRecord::new(&[value])))
            .unwrap()
        else {
            panic!("write {value} must commit");
        };
        given.push(version);
        current = Some(version);
    }
    let () = raw(&store, &url, redis::cmd("DEL").arg(&counter));
    let deleted = store.compare_and_swap(&key, current, None).unwrap();
    let SwapOutcome::Committed(deleted) = deleted else {
        panic!("delete must commit");
    };
    let SwapOutcome::Committed(recreated) = store
        .compare_and_swap(&key, None, Some(NewRecord::new(b"x")))
        .unwrap()
    else {
        panic!("re-create must commit");
    };
    for version in [deleted, recreated] {
        assert!(
            !given.contains(&version),
            "version {version:?} was given before"
        );
    }
    assert!(recreated > deleted && deleted > *given.last().unwrap());
}

/// Values, versions and index entries that the crate never writes read as typed errors.
#[test]
fn tampered_entries_are_errors() {
    let Some(url) = url() else { return };
    let store = blocking_store(url.clone(), options("tampered"));
    let prefix = store.get_ref().prefix().to_owned();
    let key = RecordKey::new("totp", "alice", "phone");
    mfa_core::insert_new(&store, &key, &7_u32).unwrap();
    let record = format!("{prefix}r:{}", key.flat());
    let () = raw(
        &store,
        &url,
        redis::cmd("HSET").arg(&record).arg("v").arg("not a number"),
    );
    assert!(matches!(store.load(&key), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        store.list("totp", "alice"),
        Err(StoreError::Corrupt { .. })
    ));
    let () = raw(
        &store,
        &url,
        redis::cmd("HSET")
            .arg(&record)
            .arg("v")
            .arg("1")
            .arg("e")
            .arg("soon"),
    );
    assert!(matches!(store.load(&key), Err(StoreError::Corrupt { .. })));
    let () = raw(
        &store,
        &url,
        redis::cmd("HSET")
            .arg(&record)
            .arg("e")
            .arg("")
            .arg("d")
            .arg("\u{ff}garbage"),
    );
    assert!(matches!(
        mfa_core::load::<_, u32>(&store, &key),
        Err(StoreError::Corrupt { .. })
    ));
    // An index member that is no record key.
    let other = RecordKey::new("totp", "bob", "x");
    mfa_core::insert_new(&store, &other, &1_u32).unwrap();
    let index = format!("{prefix}l:{}", RecordKey::new("totp", "bob", "").flat());
    let bogus_record = format!("{prefix}r:not-a-key");
    let () = raw(
        &store,
        &url,
        redis::cmd("HSET")
            .arg(&bogus_record)
            .arg("v")
            .arg("1")
            .arg("d")
            .arg("")
            .arg("e")
            .arg(""),
    );
    let _: u32 = raw(
        &store,
        &url,
        redis::cmd("SADD").arg(&index).arg("not-a-key"),
    );
    assert!(matches!(
        store.list("totp", "bob"),
        Err(StoreError::Corrupt { .. })
    ));
}

/// A record that vanished behind the store's back (its TTL ran out) drops out of the indexes.
#[test]
fn index_entries_of_vanished_records_are_dropped() {
    let Some(url) = url() else { return };
    let store = blocking_store(url.clone(), options("vanished"));
    let prefix = store.get_ref().prefix().to_owned();
    let kept = RecordKey::new("push", "alice", "kept");
    let gone = RecordKey::new("push", "alice", "gone");
    mfa_core::insert_new(&store, &kept, &1_u8).unwrap();
    mfa_core::insert_new(&store, &gone, &2_u8).unwrap();
    let _: u32 = raw(
        &store,
        &url,
        redis::cmd("DEL").arg(format!("{prefix}r:{}", gone.flat())),
    );
    let listed: Vec<RecordKey> = store
        .list("push", "alice")
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(listed, [kept.clone()].as_slice());
    assert!(store.find_by_id("push", "gone").unwrap().is_empty());
    let index = format!("{prefix}l:{}", RecordKey::new("push", "alice", "").flat());
    let members: Vec<String> = raw(&store, &url, redis::cmd("SMEMBERS").arg(&index));
    assert_eq!(members, [kept.flat()]);
}

#[test]
fn a_bad_url_or_unreachable_server_is_an_error() {
    assert!(matches!(
        Blocking::open(async { RedisStore::connect("not a url").await }),
        Err(StoreError::Unavailable(_))
    ));
    // Port 1 on localhost: nothing listens there.
    let options = RedisOptions::default()
        .timeout(core::time::Duration::from_secs(2))
        .connect_retries(0);
    assert!(matches!(
        Blocking::open(
            async move { RedisStore::connect_with("redis://127.0.0.1:1/", options).await }
        ),
        Err(StoreError::Unavailable(_))
    ));
}

/// A version that was never given conflicts, whatever its size.
#[test]
fn unknown_versions_conflict() {
    let Some(url) = url() else { return };
    let store = blocking_store(url, options("unknown"));
    let key = RecordKey::new("k", "a", "1");
    assert_eq!(
        store
            .compare_and_swap(
                &key,
                Some(Version::new(u64::MAX)),
                Some(NewRecord::new(b"x"))
            )
            .unwrap(),
        SwapOutcome::Conflict
    );
    let loaded = store
        .block_on(move |store| async move { AsyncStore::load(&*store, &key).await })
        .unwrap();
    assert!(loaded.is_none());
}

/// Redis's own TTLs follow the logical expiry (remaining lifetime plus a second's grace); an
/// index set lives as long as its longest-lived member, and for ever once a member does.
#[test]
fn native_ttls_follow_the_logical_expiry() {
    let Some(url) = url() else { return };
    let clock = ManualClock::new(START);
    let store = blocking_store(url.clone(), options("ttl").clock(clock));
    let prefix = store.get_ref().prefix().to_owned();
    let in_secs = |secs: u64| UnixTime::from_secs(START.as_secs() + secs);
    let pttl = |key: &str| -> i64 { raw(&store, &url, redis::cmd("PTTL").arg(key)) };
    let index = format!("{prefix}l:{}", RecordKey::new("sms", "alice", "").flat());
    let first = RecordKey::new("sms", "alice", "c1");
    mfa_core::put_until(&store, &first, &1_u8, in_secs(60)).unwrap();
    let record_ttl = pttl(&format!("{prefix}r:{}", first.flat()));
    assert!((60_000..=61_000).contains(&record_ttl), "{record_ttl}");
    assert!((60_000..=61_000).contains(&pttl(&index)));
    // A longer-lived member stretches the index's TTL; a shorter one leaves it.
    let second = RecordKey::new("sms", "alice", "c2");
    mfa_core::put_until(&store, &second, &2_u8, in_secs(300)).unwrap();
    assert!((300_000..=301_000).contains(&pttl(&index)));
    let third = RecordKey::new("sms", "alice", "c3");
    mfa_core::put_until(&store, &third, &3_u8, in_secs(10)).unwrap();
    assert!(pttl(&index) > 290_000);
    // A record without expiry makes its record and the index permanent.
    mfa_core::put(&store, &first, &4_u8).unwrap();
    assert_eq!(pttl(&format!("{prefix}r:{}", first.flat())), -1);
    assert_eq!(pttl(&index), -1);
}

/// An expiry beyond any TTL Redis takes is kept and judged like any other.
#[test]
fn a_far_expiry_is_kept() {
    let Some(url) = url() else { return };
    let store = blocking_store(url, options("far"));
    let key = RecordKey::new("challenge", "alice", "far");
    let far = UnixTime::from_millis(u64::MAX);
    mfa_core::put_until(&store, &key, &1_u8, far).unwrap();
    let record = store.load(&key).unwrap().expect("live");
    assert_eq!(record.expires_at, Some(far));
}
