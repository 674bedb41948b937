//! The conformance suite every mfa-store backend runs: memory (`tests/memory.rs`), SQLite
//! (`tests/sqlite.rs`), the cipher layer over both (`tests/cipher.rs`), PostgreSQL and Redis
//! (their own files). Include it with `#[macro_use] mod suite;` and generate one `#[test]` per
//! check with [`conformance_tests!`], given a function that opens a fresh [`Fixture`] (or `None`
//! when the backend is not available here, e.g. no server URL: the tests then print a notice and
//! pass without checking anything).
//!
//! Every check works under its own namespace (an account-name prefix), so a shared server can run
//! them side by side; each passes the store only through the `Store` trait and the mfa-core,
//! mfa-backup, mfa-otp and mfa-webauthn helpers a service would use.

#![allow(dead_code, unreachable_pub, clippy::missing_panics_doc)]

use core::fmt;
use core::time::Duration;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;

use mfa_backup::{Argon2idParams, BackupCodeError, HashParams, IssuePolicy};
use mfa_core::conformance::THREADS;
use mfa_core::{
    AttemptError, Change, Clock, Evidence, ManualClock, Method, NewRecord, RecordKey, Rejection,
    Store, StoreError, SwapOutcome, ThrottlePolicy, ThrottleStatus, UnixTime, Verified, insert_new,
    list, load, put, take, update, verify_and_commit,
};
use mfa_otp::{OtpError, TotpCredential, TotpParams};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// A store under test, the clock it judges expiry by, and a namespace no other check uses.
pub struct Fixture<S> {
    /// The store (dropped first).
    pub store: S,
    /// The clock the store reads; checks move it forward only.
    pub clock: ManualClock,
    /// Prefix for every account name a check uses.
    pub namespace: String,
    /// Whatever must outlive the store (a temporary directory).
    pub keep: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// Where every fixture's clock starts.
pub const START: UnixTime = UnixTime::from_secs(1_700_000_000);

/// A namespace unique to this process and call (for backends shared between runs).
pub fn unique_namespace(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One `#[test]` per check of this suite, each on a fresh fixture from `$open` (a function
/// returning `Option<Fixture<S>>`).
macro_rules! conformance_tests {
    ($open:path) => {
        conformance_tests!(@each $open;
            core_conformance_checks,
            passkey_replays_have_one_winner,
            versions_are_never_reused,
            concurrent_inserts_of_one_key_have_one_winner,
            many_threads_redeeming_one_record_have_one_winner,
            concurrent_updates_lose_nothing,
            writers_on_distinct_records_all_commit,
            throttle_counts_every_concurrent_failure,
            corrupt_values_are_errors_not_panics,
            values_and_keys_round_trip,
            list_and_find_are_in_byte_order,
            backup_code_redeems_once_end_to_end,
            totp_step_is_accepted_once_end_to_end,
        );
    };
    (@each $open:path; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                match $open() {
                    Some(fixture) => suite::$check(&fixture),
                    None => eprintln!(
                        "note: {} skipped: backend not available here",
                        stringify!($check)
                    ),
                }
            }
        )*
    };
}

/// mfa-core's own checks ([`mfa_core::conformance::run_all_with_clock`]): compare-and-swap by
/// version, list and lookup, one winner per take and per challenge, expiry.
pub fn core_conformance_checks<S: Store>(f: &Fixture<S>) {
    mfa_core::conformance::run_all_with_clock(&f.store, &f.clock, &f.namespace);
}

/// mfa-webauthn's check: a synced passkey's assertion submitted by many threads at once is
/// accepted once.
pub fn passkey_replays_have_one_winner<S: Store>(f: &Fixture<S>) {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    mfa_webauthn::testing::concurrent_passkey_replays_have_one_winner(
        &f.store,
        &f.namespace,
        &mut rng,
    );
}

/// Runs `run(i)` for `i` in `0..threads`, each on its own thread, released together by a
/// barrier; the results in thread order.
pub fn race<T: Send>(threads: usize, run: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(threads);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (barrier, run) = (&barrier, &run);
                scope.spawn(move || {
                    barrier.wait();
                    run(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a racing thread panicked"))
            .collect()
    })
}

fn committed(outcome: Result<SwapOutcome, StoreError>) -> mfa_core::Version {
    match outcome {
        Ok(SwapOutcome::Committed(version)) => version,
        other => panic!("expected a commit, got {other:?}"),
    }
}

/// Create, update, delete and re-create one key 50 times, while threads write other keys: every
/// version handed out is new.
pub fn versions_are_never_reused<S: Store>(f: &Fixture<S>) {
    let store = &f.store;
    let key = RecordKey::new("suite_versions", &f.namespace, "cycled");
    let seen = Mutex::new(HashSet::new());
    let record = |version: mfa_core::Version| {
        let fresh = seen.lock().expect("lock").insert(version);
        assert!(fresh, "version {version:?} handed out twice");
    };
    thread::scope(|scope| {
        for t in 0..4 {
            let (record, namespace) = (&record, &f.namespace);
            scope.spawn(move || {
                for i in 0..25 {
                    let other = RecordKey::new("suite_versions", namespace, format!("t{t}-{i}"));
                    record(committed(store.compare_and_swap(
                        &other,
                        None,
                        Some(NewRecord::new(b"x")),
                    )));
                    record(committed(store.compare_and_swap(
                        &other,
                        Some(store.load(&other).expect("load").expect("live").version),
                        None,
                    )));
                }
            });
        }
        for _ in 0..50 {
            let created = committed(store.compare_and_swap(&key, None, Some(NewRecord::new(b"1"))));
            record(created);
            let updated =
                committed(store.compare_and_swap(&key, Some(created), Some(NewRecord::new(b"2"))));
            record(updated);
            record(committed(store.compare_and_swap(&key, Some(updated), None)));
            assert_eq!(
                store
                    .compare_and_swap(&key, Some(updated), Some(NewRecord::new(b"3")))
                    .expect("cas"),
                SwapOutcome::Conflict,
                "the deleted record's version must not match again"
            );
        }
    });
}

/// [`THREADS`] threads enroll the same credential id at once ([`insert_new`]): exactly one
/// succeeds, every other gets [`StoreError::AlreadyExists`], and the winner's value is stored.
pub fn concurrent_inserts_of_one_key_have_one_winner<S: Store>(f: &Fixture<S>) {
    for round in 0..5 {
        let key = RecordKey::new("suite_enroll", &f.namespace, format!("cred-{round}"));
        let results = race(THREADS, |t| (t, insert_new(&f.store, &key, &t)));
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, result)| result.is_ok())
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: one enrollment wins");
        assert!(
            results.iter().all(|(_, result)| matches!(
                result,
                Ok(()) | Err(StoreError::AlreadyExists { .. })
            )),
            "round {round}: the others are AlreadyExists: {results:?}"
        );
        assert_eq!(
            load::<_, usize>(&f.store, &key).expect("load"),
            winners.first().copied()
        );
    }
}

/// A single-use flag, as a factor's stored state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OneShot {
    used: bool,
}

#[derive(Debug, PartialEq)]
struct AlreadyUsed;

fn redeem_one_shot(state: &OneShot) -> Result<Verified<OneShot>, AlreadyUsed> {
    if state.used {
        return Err(AlreadyUsed);
    }
    let evidence = Evidence::new(Method::BackupCode, START, "one-shot");
    Ok(Verified::new(evidence, OneShot { used: true }))
}

/// [`THREADS`] threads redeem one single-use record through [`verify_and_commit`], 10 rounds:
/// exactly one wins each round, every other is rejected by the factor's own rule on the fresh
/// state (or gives up on contention), and the record ends used.
pub fn many_threads_redeeming_one_record_have_one_winner<S: Store>(f: &Fixture<S>) {
    for round in 0..10 {
        let key = RecordKey::new("suite_oneshot", &f.namespace, format!("r{round}"));
        insert_new(&f.store, &key, &OneShot { used: false }).expect("insert");
        let results = race(THREADS, |_| {
            verify_and_commit(&f.store, &key, redeem_one_shot)
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: exactly one redeem wins");
        for result in &results {
            assert!(
                matches!(
                    result,
                    Ok(_)
                        | Err(AttemptError::Rejected(AlreadyUsed))
                        | Err(AttemptError::Store(StoreError::Contention { .. }))
                ),
                "round {round}: {result:?}"
            );
        }
        assert_eq!(
            load::<_, OneShot>(&f.store, &key).expect("load"),
            Some(OneShot { used: true })
        );
    }
}

/// 8 threads × 25 increments of one counter through [`update`] (retrying on contention, as a
/// caller would): the counter ends at exactly 200.
pub fn concurrent_updates_lose_nothing<S: Store>(f: &Fixture<S>) {
    const THREADS_HERE: u64 = 8;
    const EACH: u64 = 25;
    let key = RecordKey::new("suite_counter", &f.namespace, "n");
    race(8, |_| {
        for _ in 0..EACH {
            loop {
                match update(&f.store, &key, |n: Option<&u64>| {
                    (Change::Put(n.copied().unwrap_or(0) + 1), ())
                }) {
                    Ok(()) => break,
                    Err(StoreError::Contention { .. }) => continue,
                    Err(error) => panic!("update failed: {error}"),
                }
            }
        }
    });
    assert_eq!(
        load::<_, u64>(&f.store, &key).expect("load"),
        Some(THREADS_HERE * EACH)
    );
}

/// [`THREADS`] threads each write 20 records of their own at once: every write commits (no
/// spurious busy or unavailable errors under load) and every record reads back.
pub fn writers_on_distinct_records_all_commit<S: Store>(f: &Fixture<S>) {
    race(THREADS, |t| {
        for i in 0..20_u32 {
            let key = RecordKey::new("suite_distinct", &f.namespace, format!("t{t}-{i}"));
            insert_new(&f.store, &key, &i).expect("insert");
            update(&f.store, &key, |n: Option<&u32>| {
                (Change::Put(n.copied().unwrap_or(0) + 1000), ())
            })
            .expect("update");
        }
    });
    for t in 0..THREADS {
        for i in 0..20_u32 {
            let key = RecordKey::new("suite_distinct", &f.namespace, format!("t{t}-{i}"));
            assert_eq!(
                load::<_, u32>(&f.store, &key).expect("load"),
                Some(i + 1000)
            );
        }
    }
}

/// A wrong code: guessable, so it counts toward throttling.
#[derive(Debug)]
struct WrongCode;

impl fmt::Display for WrongCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wrong code")
    }
}

impl std::error::Error for WrongCode {}

impl Rejection for WrongCode {
    fn reason(&self) -> &'static str {
        "code_mismatch"
    }

    fn counts_as_failure(&self) -> bool {
        true
    }
}

/// [`THREADS`] threads submit a wrong code at once through [`ThrottlePolicy::verify_and_commit`]:
/// the stored failure count equals exactly the number of attempts that were checked and
/// rejected (none lost, none doubled), and a success clears it.
pub fn throttle_counts_every_concurrent_failure<S: Store>(f: &Fixture<S>) {
    let policy = ThrottlePolicy {
        max_consecutive_failures: 1_000,
        free_failures: 1_000,
        ..ThrottlePolicy::default()
    };
    let key = RecordKey::new("suite_throttled", &f.namespace, "code");
    insert_new(&f.store, &key, &0_u32).expect("insert");
    let now = f.clock.now();
    let results = race(THREADS, |_| {
        policy.verify_and_commit(&f.store, &key, now, |_: &u32| {
            Err::<Verified<u32>, _>(WrongCode)
        })
    });
    let rejected = results
        .iter()
        .filter(|r| matches!(r, Err(AttemptError::Rejected(WrongCode))))
        .count();
    let contended = results
        .iter()
        .filter(|r| matches!(r, Err(AttemptError::Store(StoreError::Contention { .. }))))
        .count();
    assert_eq!(rejected + contended, THREADS, "{results:?}");
    assert!(rejected > 0, "some attempts must get through");
    let failures = match policy.status(&f.store, &key, now).expect("status") {
        ThrottleStatus::Open { failures } => failures,
        other => panic!("throttled: {other:?}"),
    };
    assert_eq!(
        usize::try_from(failures).expect("small"),
        rejected,
        "every rejected attempt is counted exactly once"
    );
    let accepted = policy.verify_and_commit(&f.store, &key, now, |n: &u32| {
        let evidence = Evidence::new(Method::Totp, now, "code");
        Ok::<_, WrongCode>(Verified::new(evidence, n + 1))
    });
    assert!(accepted.is_ok());
    assert_eq!(
        policy.status(&f.store, &key, now).expect("status"),
        ThrottleStatus::Open { failures: 0 },
        "a success clears the count"
    );
}

/// Bytes that are no valid record of any type stay an error on every path: load, list, take
/// (which must leave the record in place), verify-and-commit, and the factor helpers.
pub fn corrupt_values_are_errors_not_panics<S: Store>(f: &Fixture<S>) {
    let garbage: [&[u8]; 4] = [b"", &[0xff, 0x00, 0x13], &[0xbf; 64], &[0x9f, 0x01, 0x02]];
    for (i, bytes) in garbage.iter().enumerate() {
        let key = RecordKey::new("suite_corrupt", &f.namespace, format!("g{i}"));
        committed(
            f.store
                .compare_and_swap(&key, None, Some(NewRecord::new(bytes))),
        );
        assert!(matches!(
            load::<_, OneShot>(&f.store, &key),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            take::<_, OneShot>(&f.store, &key),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(
            f.store.load(&key).expect("load").is_some(),
            "an unreadable record is reported, not destroyed"
        );
        assert!(matches!(
            verify_and_commit(&f.store, &key, redeem_one_shot),
            Err(AttemptError::Store(StoreError::Corrupt { .. }))
        ));
    }
    assert!(matches!(
        list::<_, OneShot>(&f.store, "suite_corrupt", &f.namespace),
        Err(StoreError::Corrupt { .. })
    ));
    // The factor helpers on damaged stored credentials.
    let account = format!("{}-damaged", f.namespace);
    let backup_key = mfa_backup::record_key(&account);
    committed(
        f.store
            .compare_and_swap(&backup_key, None, Some(NewRecord::new(&[0xa1, 0x61]))),
    );
    let mut rng = StdRng::seed_from_u64(1);
    let redeemed = mfa_backup::redeem(
        &f.store,
        &backup_key,
        &ThrottlePolicy::default(),
        "abcde-fghij",
        f.clock.now(),
        &mut rng,
    );
    assert!(
        matches!(
            redeemed,
            Err(AttemptError::Store(StoreError::Corrupt { .. }))
        ),
        "{redeemed:?}"
    );
    let totp_key = mfa_otp::totp_record_key(&account, "phone");
    committed(
        f.store
            .compare_and_swap(&totp_key, None, Some(NewRecord::new(b"\x82\x01"))),
    );
    let verified = mfa_otp::verify_totp(
        &f.store,
        &totp_key,
        &ThrottlePolicy::default(),
        "123456",
        f.clock.now(),
    );
    assert!(
        matches!(
            verified,
            Err(AttemptError::Store(StoreError::Corrupt { .. }))
        ),
        "{verified:?}"
    );
}

/// Values of every size and byte, and keys with separators, quotes and non-ASCII text, come back
/// exactly as written.
pub fn values_and_keys_round_trip<S: Store>(f: &Fixture<S>) {
    let all_bytes: Vec<u8> = (0..=255_u8).cycle().take(256 * 1024).collect();
    let values: [&[u8]; 4] = [b"", b"\x00", &all_bytes, "ünïcødé".as_bytes()];
    let ids = [
        "plain",
        "with/slash",
        "100%",
        "%2F",
        "quote ' \" ; DROP TABLE mfa_records; --",
        "ünïcødé ✓",
        " spaces ",
        "",
    ];
    for (i, id) in ids.iter().enumerate() {
        let key = RecordKey::new("suite_roundtrip", format!("{}/ä%", f.namespace), *id);
        let value = values.get(i % values.len()).copied().unwrap_or_default();
        let version = committed(
            f.store
                .compare_and_swap(&key, None, Some(NewRecord::new(value))),
        );
        let loaded = f.store.load(&key).expect("load").expect("record");
        assert_eq!(loaded.version, version, "{id:?}");
        assert_eq!(loaded.value.as_slice(), value, "{id:?}");
        assert_eq!(loaded.expires_at, None);
        assert_eq!(
            f.store.find_by_id("suite_roundtrip", id).expect("find"),
            std::slice::from_ref(&key),
            "{id:?}"
        );
    }
    let listed = f
        .store
        .list("suite_roundtrip", &format!("{}/ä%", f.namespace))
        .expect("list");
    assert_eq!(listed.len(), ids.len());
}

/// Listing and lookup order is the keys' byte order (Rust's `Ord` on [`RecordKey`]), whatever
/// the insertion order and whatever a database's locale would say (`"B" < "a"`, `"a" < "a/"`).
pub fn list_and_find_are_in_byte_order<S: Store>(f: &Fixture<S>) {
    let ids = [
        "b", "a", "B", "a/", "a0", "A", "ä", "z", "Z", "_", "-", "aa", "a b",
    ];
    for id in ids {
        put(
            &f.store,
            &RecordKey::new("suite_order", &f.namespace, id),
            &id,
        )
        .expect("put");
    }
    let listed: Vec<String> = list::<_, String>(&f.store, "suite_order", &f.namespace)
        .expect("list")
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let mut expected: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected, "list is in byte order");

    let accounts = ["Zed", "alice", "Alice", "bob", "ålice", "al", "al/ice"];
    for account in accounts {
        insert_new(
            &f.store,
            &RecordKey::new(
                "suite_order_find",
                format!("{}-{account}", f.namespace),
                "shared-id",
            ),
            &account,
        )
        .expect("insert");
    }
    let found = f
        .store
        .find_by_id("suite_order_find", "shared-id")
        .expect("find");
    let mine: Vec<RecordKey> = found
        .into_iter()
        .filter(|key| key.account().starts_with(&format!("{}-", f.namespace)))
        .collect();
    let mut expected: Vec<RecordKey> = accounts
        .iter()
        .map(|account| {
            RecordKey::new(
                "suite_order_find",
                format!("{}-{account}", f.namespace),
                "shared-id",
            )
        })
        .collect();
    expected.sort();
    assert_eq!(mine, expected, "find_by_id is in key order");
}

/// The cheapest Argon2id parameters (still the real algorithm): tests only.
fn cheap_backup_policy() -> IssuePolicy {
    IssuePolicy {
        count: 5,
        hasher: HashParams::Argon2id(Argon2idParams::new(8, 1, 1).expect("valid params")),
        ..IssuePolicy::default()
    }
}

/// A backup-code set issued into the store through mfa-backup; [`THREADS`] threads redeem the
/// same code at once: one succeeds, the rest are refused as used; another code still works; a
/// wrong code is refused.
pub fn backup_code_redeems_once_end_to_end<S: Store>(f: &Fixture<S>) {
    let account = format!("{}-backup", f.namespace);
    let key = mfa_backup::record_key(&account);
    let mut rng = StdRng::seed_from_u64(2);
    let now = f.clock.now();
    let issued =
        mfa_backup::issue(&f.store, &key, &cheap_backup_policy(), now, &mut rng).expect("issue");
    let (first, second) = match issued.codes.as_slice() {
        [first, second, ..] => (first.expose_secret(), second.expose_secret()),
        _ => panic!("five codes were issued"),
    };
    let throttle = ThrottlePolicy {
        free_failures: 1_000,
        ..ThrottlePolicy::default()
    };
    let results = race(THREADS, |t| {
        let mut rng = StdRng::seed_from_u64(100 + u64::try_from(t).expect("small"));
        mfa_backup::redeem(&f.store, &key, &throttle, first, now, &mut rng)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "one redeem wins"
    );
    for result in &results {
        assert!(
            matches!(
                result,
                Ok(_)
                    | Err(AttemptError::Rejected(BackupCodeError::AlreadyUsed))
                    | Err(AttemptError::Store(StoreError::Contention { .. }))
            ),
            "{result:?}"
        );
    }
    let set = mfa_backup::load_set(&f.store, &key)
        .expect("load")
        .expect("set");
    assert_eq!(set.remaining(), 4, "exactly one code spent");
    let again = mfa_backup::redeem(&f.store, &key, &throttle, second, now, &mut rng);
    assert_eq!(again.expect("a fresh code redeems").remaining, 3);
    let wrong = mfa_backup::redeem(&f.store, &key, &throttle, "zzzzz-zzzzz", now, &mut rng);
    assert!(
        matches!(
            wrong,
            Err(AttemptError::Rejected(
                BackupCodeError::WrongCode | BackupCodeError::Malformed
            ))
        ),
        "{wrong:?}"
    );
}

/// A TOTP credential stored through the store; [`THREADS`] threads submit the current code at
/// once through mfa-otp: one is accepted, the rest are replays; the next step's code is accepted
/// once the clock moves; a wrong code is refused.
pub fn totp_step_is_accepted_once_end_to_end<S: Store>(f: &Fixture<S>) {
    let account = format!("{}-totp", f.namespace);
    let key = mfa_otp::totp_record_key(&account, "phone");
    let mut rng = StdRng::seed_from_u64(3);
    let credential = TotpCredential::generate("phone", &mut rng, TotpParams::default());
    let now = f.clock.now();
    let code = credential.code_at(now).expect("code");
    insert_new(&f.store, &key, &credential).expect("enroll");
    let throttle = ThrottlePolicy {
        free_failures: 1_000,
        ..ThrottlePolicy::default()
    };
    let results = race(THREADS, |_| {
        mfa_otp::verify_totp(&f.store, &key, &throttle, code.as_str(), now)
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "one submission wins"
    );
    for result in &results {
        assert!(
            matches!(
                result,
                Ok(_)
                    | Err(AttemptError::Rejected(OtpError::Replayed))
                    | Err(AttemptError::Store(StoreError::Contention { .. }))
            ),
            "{result:?}"
        );
    }
    f.clock.advance(Duration::from_secs(30));
    let later = f.clock.now();
    let next = credential.code_at(later).expect("code");
    assert!(mfa_otp::verify_totp(&f.store, &key, &throttle, next.as_str(), later).is_ok());
    let replay = mfa_otp::verify_totp(&f.store, &key, &throttle, next.as_str(), later);
    assert!(matches!(
        replay,
        Err(AttemptError::Rejected(OtpError::Replayed))
    ));
    let wrong_code = if next.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let wrong = mfa_otp::verify_totp(&f.store, &key, &throttle, wrong_code, later);
    assert!(
        matches!(
            wrong,
            Err(AttemptError::Rejected(
                OtpError::CodeMismatch | OtpError::Replayed
            ))
        ),
        "{wrong:?}"
    );
}
