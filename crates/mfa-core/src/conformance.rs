//! Checks every store backend must pass, written against the [`Store`] trait so that each
//! backend's test suite (memory here; SQLite, PostgreSQL, Redis in `mfa-store`) runs the same
//! ones. Each check panics with a message naming the broken rule, as a test assertion does.
//!
//! ```
//! let store = mfa_core::MemoryStore::new();
//! mfa_core::conformance::run_all(&store, "conformance-doc");
//!
//! // With a clock the checks can move, expiry too.
//! let clock = mfa_core::ManualClock::new(mfa_core::UnixTime::from_secs(1_700_000_000));
//! let store = mfa_core::MemoryStore::with_clock(clock.clone());
//! mfa_core::conformance::run_all_with_clock(&store, &clock, "conformance-doc");
//! ```

use core::time::Duration;
use std::sync::Barrier;
use std::thread;

use crate::audit::{AuditEvent, AuditResult, AuditSink, RecentQuery};
use crate::clock::{Clock, ManualClock, UnixTime};
use crate::commit::{
    AttemptError, Change, insert_new, insert_new_until, load, put, put_until, take, update,
    verify_and_commit, verify_challenge_and_commit,
};
use crate::evidence::{Evidence, Method, Verified};
use crate::store::{NewRecord, RecordKey, Store, SwapOutcome};

/// How many threads the concurrency checks start at once.
pub const THREADS: usize = 16;

/// Runs every check below, with keys under the account `namespace` (use a fresh one per run on
/// a shared backend).
///
/// # Panics
/// When the store breaks one of the rules.
pub fn run_all<S: Store>(store: &S, namespace: &str) {
    compare_and_swap_follows_versions(store, namespace);
    list_and_find_by_id_see_exactly_the_live_records(store, namespace);
    concurrent_takes_have_one_winner(store, namespace);
    concurrent_answers_to_one_challenge_have_one_winner(store, namespace);
}

/// [`run_all`], then the checks that need to move the store's clock ([`expiry_hides_records`]):
/// `store` must judge expiry by `clock`.
///
/// # Panics
/// When the store breaks one of the rules.
pub fn run_all_with_clock<S: Store>(store: &S, clock: &ManualClock, namespace: &str) {
    run_all(store, namespace);
    expiry_hides_records(store, clock, namespace);
}

/// Insert-if-absent, update at the current version, refusal of a stale version, delete, and a
/// fresh version on re-creation.
///
/// # Panics
/// When the store breaks one of those rules (or fails).
pub fn compare_and_swap_follows_versions<S: Store>(store: &S, namespace: &str) {
    let key = RecordKey::new("conformance_cas", namespace, "1");
    let committed = |outcome| match outcome {
        Ok(SwapOutcome::Committed(version)) => version,
        other => panic!("expected a commit, got {other:?}"),
    };
    assert!(
        store.load(&key).expect("load").is_none(),
        "fresh key must be empty"
    );
    let v1 = committed(store.compare_and_swap(&key, None, Some(NewRecord::new(b"one"))));
    assert_eq!(
        store
            .compare_and_swap(&key, None, Some(NewRecord::new(b"dup")))
            .expect("cas"),
        SwapOutcome::Conflict,
        "insert-if-absent over an existing record must conflict"
    );
    let v2 = committed(store.compare_and_swap(&key, Some(v1), Some(NewRecord::new(b"two"))));
    assert_ne!(v1, v2, "every write gets a new version");
    assert_eq!(
        store
            .compare_and_swap(&key, Some(v1), Some(NewRecord::new(b"stale")))
            .expect("cas"),
        SwapOutcome::Conflict,
        "a stale version must conflict"
    );
    let loaded = store.load(&key).expect("load").expect("record");
    assert_eq!(loaded.value.as_slice(), b"two");
    assert_eq!(loaded.version, v2);
    let _deleted = committed(store.compare_and_swap(&key, Some(v2), None));
    assert!(
        store.load(&key).expect("load").is_none(),
        "deleted record must be gone"
    );
    let v3 = committed(store.compare_and_swap(&key, None, Some(NewRecord::new(b"three"))));
    assert!(
        v3 != v1 && v3 != v2,
        "a re-created record must not reuse a version"
    );
    let _cleanup = store.compare_and_swap(&key, Some(v3), None);
}

/// [`Store::list`] returns exactly one account's live records of one kind, in key order, and
/// [`Store::find_by_id`] every account's record of a kind with that id; deleted records vanish
/// from both. Keys are chosen to sit next to each other in any ordering (a prefix of the
/// account, another kind with the same prefix, `/` and `%` in parts).
///
/// # Panics
/// When a listing or lookup is wrong.
pub fn list_and_find_by_id_see_exactly_the_live_records<S: Store>(store: &S, namespace: &str) {
    let kind = "conformance_list";
    let alice = format!("{namespace}-alice");
    let alice_prefix = format!("{namespace}-ali");
    let bob = format!("{namespace}-bob/x%");
    let keys = [
        RecordKey::new(kind, &alice, "b"),
        RecordKey::new(kind, &alice, "a/1"),
        RecordKey::new(kind, &alice_prefix, "a/1"),
        RecordKey::new(kind, &bob, "a/1"),
        RecordKey::new("conformance_list2", &alice, "a/1"),
    ];
    for key in &keys {
        put(store, key, &key.id()).expect("put");
    }
    let listed: Vec<RecordKey> = store
        .list(kind, &alice)
        .expect("list")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        listed,
        [keys[1].clone(), keys[0].clone()],
        "list returns one account's records of one kind, in key order"
    );
    let found = store.find_by_id(kind, "a/1").expect("find");
    let mut expected = vec![keys[1].clone(), keys[2].clone(), keys[3].clone()];
    expected.sort();
    assert_eq!(
        found, expected,
        "find_by_id returns every account's record with that id"
    );
    assert!(
        store.find_by_id(kind, "a").expect("find").is_empty(),
        "ids match exactly"
    );
    for key in &keys {
        let _gone = take::<_, String>(store, key).expect("take");
    }
    assert!(
        store.list(kind, &alice).expect("list").is_empty(),
        "deleted records vanish"
    );
    assert!(
        store.find_by_id(kind, "a/1").expect("find").is_empty(),
        "and from the index"
    );
}

/// [`THREADS`] threads [`take`] one record at once, 10 rounds: exactly one gets it each round.
///
/// # Panics
/// When more or fewer than one taker wins, or the record survives.
pub fn concurrent_takes_have_one_winner<S: Store>(store: &S, namespace: &str) {
    for round in 0..10 {
        let key = RecordKey::new("conformance_take", namespace, format!("round-{round}"));
        put(store, &key, &round).expect("put");
        let barrier = Barrier::new(THREADS);
        let winners: usize = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        take::<_, u32>(store, &key).expect("take")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("taker thread"))
                .filter(|taken| *taken == Some(round))
                .count()
        });
        assert_eq!(winners, 1, "round {round}: exactly one taker must win");
        assert!(
            store.load(&key).expect("load").is_none(),
            "a taken record is gone"
        );
    }
}

/// One challenge, one credential, [`THREADS`] concurrent submissions of the same right answer
/// through [`verify_challenge_and_commit`], 10 rounds: exactly one is accepted, every other finds
/// no challenge, and the credential records one use.
///
/// # Panics
/// When more or fewer than one submission wins.
pub fn concurrent_answers_to_one_challenge_have_one_winner<S: Store>(store: &S, namespace: &str) {
    let credential = RecordKey::new("conformance_credential", namespace, "device");
    insert_new(store, &credential, &0_u32).expect("a fresh namespace has no credential");
    for round in 0..10_u32 {
        let challenge = RecordKey::new("conformance_challenge", namespace, format!("r{round}"));
        put(store, &challenge, &round).expect("put");
        let before: u32 = load(store, &credential).expect("load").expect("credential");
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        verify_challenge_and_commit(
                            store,
                            &challenge,
                            &credential,
                            |issued: u32, _: &u32| {
                                if issued == round {
                                    Ok(())
                                } else {
                                    Err("wrong")
                                }
                            },
                            |(): &(), uses: &u32| {
                                let evidence =
                                    Evidence::new(Method::Push, UnixTime::EPOCH, "device");
                                Ok(Verified::new(evidence, uses.saturating_add(1)))
                            },
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("answer thread"))
                .collect()
        });
        let wins = results.iter().filter(|result| result.is_ok()).count();
        let not_found = results
            .iter()
            .filter(|result| matches!(result, Err(AttemptError::ChallengeNotFound)))
            .count();
        assert_eq!(
            wins, 1,
            "round {round}: exactly one answer must be accepted"
        );
        assert_eq!(
            not_found,
            THREADS - 1,
            "round {round}: the rest find no challenge"
        );
        let after: u32 = load(store, &credential).expect("load").expect("credential");
        assert_eq!(
            after,
            before.saturating_add(1),
            "one use recorded per challenge"
        );
    }
}

/// Expiry, judged by `clock` (the store must read its time from it; the check only moves it
/// forward): a record is live until its expiry instant and absent from then on for
/// [`Store::load`], [`Store::list`], [`Store::find_by_id`] and [`take`]; a compare-and-swap
/// expecting its old version conflicts, while insert-if-absent over it commits with a fresh
/// version; [`update`] and [`verify_and_commit`] keep a record's expiry; [`put`] without one
/// clears it; [`Store::purge_expired`] removes only expired records.
///
/// # Panics
/// When the store breaks one of those rules (or fails).
pub fn expiry_hides_records<S: Store>(store: &S, clock: &ManualClock, namespace: &str) {
    let kind = "conformance_expiry";
    let start = clock.now();
    let at = |secs: u64| start.saturating_add(Duration::from_secs(secs));
    let short = RecordKey::new(kind, namespace, "short");
    let long = RecordKey::new(kind, namespace, "long");
    let forever = RecordKey::new(kind, namespace, "forever");
    put_until(store, &short, &1_u32, at(10)).expect("put_until");
    insert_new_until(store, &long, &2_u32, at(100)).expect("insert_new_until");
    put(store, &forever, &3_u32).expect("put");
    let short_version = store.load(&short).expect("load").expect("live").version;
    assert_eq!(
        store.load(&short).expect("load").and_then(|r| r.expires_at),
        Some(at(10)),
        "a record reports its expiry"
    );

    // One second before expiry everything is there; at the instant of expiry it is gone.
    clock.set(at(9));
    assert_eq!(load::<_, u32>(store, &short).expect("load"), Some(1));
    // An update keeps the expiry, as does a verified commit.
    update(store, &short, |n: Option<&u32>| {
        (Change::Put(n.copied().unwrap_or(0) + 10), ())
    })
    .expect("update");
    let verified = verify_and_commit(store, &short, |n: &u32| {
        let evidence = Evidence::new(Method::BackupCode, at(9), "short");
        Ok::<_, ()>(Verified::new(evidence, n + 100))
    });
    assert!(verified.is_ok(), "verify_and_commit on a live record");
    let record = store.load(&short).expect("load").expect("live");
    assert_eq!(
        record.expires_at,
        Some(at(10)),
        "update and verify_and_commit keep the expiry"
    );
    let short_version_before_expiry = record.version;
    assert_ne!(short_version, short_version_before_expiry);

    clock.set(at(10));
    assert!(
        store.load(&short).expect("load").is_none(),
        "expired at its expiry instant"
    );
    assert_eq!(
        take::<_, u32>(store, &short).expect("take"),
        None,
        "an expired record cannot be taken"
    );
    let listed: Vec<RecordKey> = store
        .list(kind, namespace)
        .expect("list")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        listed,
        [forever.clone(), long.clone()],
        "list leaves expired records out"
    );
    assert!(
        store.find_by_id(kind, "short").expect("find").is_empty(),
        "find_by_id leaves expired records out"
    );
    assert_eq!(
        store.find_by_id(kind, "long").expect("find"),
        std::slice::from_ref(&long)
    );
    assert_eq!(
        store
            .compare_and_swap(
                &short,
                Some(short_version_before_expiry),
                Some(NewRecord::new(b"revived"))
            )
            .expect("cas"),
        SwapOutcome::Conflict,
        "a compare-and-swap expecting an expired record's version conflicts"
    );
    let SwapOutcome::Committed(recreated) = store
        .compare_and_swap(&short, None, Some(NewRecord::new(b"fresh")))
        .expect("cas")
    else {
        panic!("insert-if-absent over an expired record must commit");
    };
    assert!(
        recreated != short_version && recreated != short_version_before_expiry,
        "re-created over an expired record: a fresh version"
    );
    let record = store.load(&short).expect("load").expect("re-created");
    assert_eq!(record.value.as_slice(), b"fresh");
    assert_eq!(
        record.expires_at, None,
        "the new record has its own (no) expiry"
    );

    // An expired enrollment does not block a new one; a live one does.
    insert_new_until(store, &long, &5_u32, at(200))
        .expect_err("a live record blocks insert_new_until");
    clock.set(at(100));
    insert_new_until(store, &long, &6_u32, at(200)).expect("expired: insert_new_until commits");
    assert_eq!(load::<_, u32>(store, &long).expect("load"), Some(6));
    // `put` without an expiry makes the record permanent.
    put(store, &long, &7_u32).expect("put");
    clock.set(at(300));
    assert_eq!(load::<_, u32>(store, &long).expect("load"), Some(7));

    // Purging removes only what has expired.
    put_until(store, &short, &8_u32, at(301)).expect("put_until");
    clock.set(at(400));
    let _purged = store.purge_expired().expect("purge_expired");
    assert!(store.load(&short).expect("load").is_none());
    assert_eq!(load::<_, u32>(store, &long).expect("load"), Some(7));
    assert_eq!(load::<_, u32>(store, &forever).expect("load"), Some(3));
    for key in [&short, &long, &forever] {
        let _gone = take::<_, u32>(store, key).expect("take");
    }
}

/// What every [`AuditSink`] must do, on events of accounts under `namespace` (use a fresh one
/// per run on a shared backend): every field comes back as recorded; [`AuditSink::recent`]
/// returns one account's events only, newest first (ties at one instant in the order of
/// recording, reversed), in pages whose cursors walk every event once; the limit is clamped;
/// [`AuditSink::purge_before`] removes exactly the events before the cutoff. Events are dated
/// from `start` on (pick a time later than any other run's events if the backend is shared, so
/// the purge check sees only its own).
///
/// # Panics
/// When the sink breaks one of those rules (or fails).
pub fn audit_sink_checks<A: AuditSink + ?Sized>(sink: &A, namespace: &str, start: UnixTime) {
    let alice = format!("{namespace}-alice");
    let bob = format!("{namespace}-bob");
    let full = AuditEvent::new(start, &alice, AuditResult::Failure)
        .with_method(Method::WebAuthn)
        .with_credential_id("key-1/ä")
        .with_reason("signature_invalid")
        .with_ip("2001:db8::1")
        .with_user_agent("Mozilla/5.0 'quoted' \"twice\"")
        .with_country("NZ")
        .with_device("YubiKey 5")
        .with_policy_decision_id("decision-42");
    sink.record(&full).expect("record");
    let page = sink
        .recent(&alice, &RecentQuery::first(10))
        .expect("recent");
    assert_eq!(page.events, [full], "every field comes back");
    assert_eq!(page.next, None, "nothing older");

    // 25 more events over 9 instants (ties!), interleaved with another account's.
    for i in 0..25_u64 {
        let at = start.saturating_add(Duration::from_secs(1 + i / 3));
        let event = AuditEvent::new(at, &alice, AuditResult::Success)
            .with_method(Method::Totp)
            .with_credential_id(format!("step-{i}"));
        sink.record(&event).expect("record");
        sink.record(&AuditEvent::new(at, &bob, AuditResult::Blocked))
            .expect("record");
    }
    let mut walked: Vec<AuditEvent> = Vec::new();
    let mut query = RecentQuery::first(4);
    for _ in 0..100 {
        let page = sink.recent(&alice, &query).expect("recent");
        assert!(page.events.len() <= 4, "a page holds at most the limit");
        assert!(
            page.events.iter().all(|event| event.account() == alice),
            "one account's events only"
        );
        walked.extend(page.events);
        match page.next {
            Some(cursor) => query = RecentQuery::after_page(4, cursor),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..25).rev().map(|i| format!("step-{i}")).collect();
    expected.push("key-1/ä".to_owned());
    let walked_ids: Vec<&str> = walked
        .iter()
        .map(|event| event.credential_id().unwrap_or_default())
        .collect();
    assert_eq!(
        walked_ids, expected,
        "pages walk every event once, newest first, ties newest-recorded first"
    );
    let times: Vec<UnixTime> = walked.iter().map(AuditEvent::at).collect();
    assert!(
        times.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );

    let zero = sink.recent(&alice, &RecentQuery::first(0)).expect("recent");
    assert_eq!(zero.events.len(), 1, "a limit of 0 is clamped to 1");
    assert!(zero.next.is_some());
    let nobody = sink
        .recent(&format!("{namespace}-nobody"), &RecentQuery::first(10))
        .expect("recent");
    assert!(nobody.events.is_empty() && nobody.next.is_none());

    // Retention: everything before start + 5 s goes (alice: the first event and steps 0..=11;
    // bob: 12 events), the rest stays.
    let purged = sink
        .purge_before(start.saturating_add(Duration::from_secs(5)))
        .expect("purge");
    assert!(
        purged >= 25,
        "purged {purged}, expected at least this run's 25"
    );
    let left = sink
        .recent(&alice, &RecentQuery::first(100))
        .expect("recent");
    assert_eq!(left.events.len(), 13, "steps 12..=24 remain");
    assert!(
        left.events
            .iter()
            .all(|event| event.at() >= start.saturating_add(Duration::from_secs(5)))
    );
    let bob_left = sink.recent(&bob, &RecentQuery::first(100)).expect("recent");
    assert_eq!(bob_left.events.len(), 13);
}
