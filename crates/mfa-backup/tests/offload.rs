//! Where the password hash runs: never on an async executor's thread, never more at once than
//! the permits allow, and once for every attempt, whether or not the account has codes.
//!
//! Structural, not timed: `hashes_on_this_thread` counts the hashes each thread computed.

mod common;

use std::sync::{Arc, Barrier, Mutex};
use std::thread::{self, ThreadId};

use common::{cheap_policy, seeded};
use mfa_backup::{
    Argon2idParams, BackupCodeError, HashParams, HashPermits, HashedRedemption, IssuePolicy,
    RecoveryMode, RedeemJob, hashes_on_this_thread, record_key, redeem,
};
use mfa_core::{AttemptError, MemoryStore, ThrottlePolicy, UnixTime};
use tokio::runtime::{Builder, Runtime};
use tokio::task::{JoinError, JoinHandle};

const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

fn no_throttle() -> ThrottlePolicy {
    ThrottlePolicy {
        max_consecutive_failures: u32::MAX,
        free_failures: u32::MAX,
        ..ThrottlePolicy::default()
    }
}

/// A current-thread runtime: every future runs on the test's own thread.
fn runtime() -> Runtime {
    Builder::new_current_thread().build().expect("a runtime")
}

/// Which threads ran jobs, and how many hashes each job computed.
#[derive(Clone, Default)]
struct JobLog(Arc<Mutex<Vec<(ThreadId, u64)>>>);

impl JobLog {
    /// The `offload` closure: runs the job with `spawn_blocking` and records where and how many.
    fn offload(&self) -> impl FnMut(RedeemJob) -> JoinHandle<HashedRedemption> + use<> {
        let log = self.clone();
        move |job| {
            let log = log.clone();
            tokio::task::spawn_blocking(move || {
                let before = hashes_on_this_thread();
                let hashed = job.run();
                let hashes = hashes_on_this_thread() - before;
                log.0
                    .lock()
                    .expect("the log")
                    .push((thread::current().id(), hashes));
                hashed
            })
        }
    }

    fn jobs(&self) -> Vec<(ThreadId, u64)> {
        self.0.lock().expect("the log").clone()
    }
}

/// Runs `future` on a current-thread runtime and checks that the runtime's thread (this one)
/// computed no hash meanwhile.
fn on_runtime_without_hashing<T>(future: impl Future<Output = T>) -> T {
    let before = hashes_on_this_thread();
    let out = runtime().block_on(future);
    assert_eq!(
        hashes_on_this_thread(),
        before,
        "a hash ran on the runtime's thread"
    );
    out
}

#[test]
fn item8_async_redeem_hashes_off_the_runtime_thread() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(1);
    let issued = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    let throttle = no_throttle();
    let here = thread::current().id();

    for (input, expected_ok) in [
        (issued.codes[0].expose_secret(), true),
        (issued.codes[0].expose_secret(), false), // replay
        ("zzzzz-zzzzz", false),                   // wrong
        ("not a code", false),                    // malformed: a dummy hash
    ] {
        let log = JobLog::default();
        let result = on_runtime_without_hashing(mfa_backup::redeem_async(
            &store,
            &key,
            &throttle,
            input,
            NOW,
            &mut rng,
            log.offload(),
        ));
        assert_eq!(result.is_ok(), expected_ok, "{input}: {result:?}");
        let jobs = log.jobs();
        assert_eq!(jobs.len(), 1, "{input}");
        assert_ne!(jobs[0].0, here, "the job ran on the runtime's thread");
        assert_eq!(jobs[0].1, 1, "{input}: one hash per attempt");
    }
}

#[test]
fn item8_async_issue_replacement_and_lookup_hash_off_the_runtime_thread() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(2);
    let policy = IssuePolicy {
        count: 3,
        mode: RecoveryMode::ReplaceAfterUse,
        ..cheap_policy()
    };
    let issue_hashes = Arc::new(Mutex::new(0));
    let issued = {
        let issue_hashes = Arc::clone(&issue_hashes);
        on_runtime_without_hashing(mfa_backup::issue_async(
            &store,
            &key,
            &policy,
            NOW,
            &mut rng,
            move |job| {
                tokio::task::spawn_blocking(move || {
                    let before = hashes_on_this_thread();
                    let issued = job.run();
                    *issue_hashes.lock().unwrap() = hashes_on_this_thread() - before;
                    issued
                })
            },
        ))
        .unwrap()
    };
    assert_eq!(
        *issue_hashes.lock().unwrap(),
        3,
        "one hash per code, in the job"
    );

    // A match in replace-after-use mode: the replacement's hash is in the job too.
    let log = JobLog::default();
    let redeemed = on_runtime_without_hashing(mfa_backup::redeem_async(
        &store,
        &key,
        &no_throttle(),
        issued.codes[1].expose_secret(),
        NOW,
        &mut rng,
        log.offload(),
    ))
    .unwrap();
    assert_eq!(log.jobs().iter().map(|job| job.1).collect::<Vec<_>>(), [2]);
    let replacement = redeemed.replacement.expect("a replacement");
    // And it works, once.
    let log = JobLog::default();
    let again = on_runtime_without_hashing(mfa_backup::redeem_async(
        &store,
        &key,
        &no_throttle(),
        replacement.expose_secret(),
        NOW,
        &mut rng,
        log.offload(),
    ));
    assert!(again.is_ok(), "{again:?}");

    // The lookup of another account's set after a mismatch: its hash is in the job too.
    let bob = cheap_policy().issue("bob", NOW, &mut rng).unwrap();
    let log = JobLog::default();
    let result = on_runtime_without_hashing(mfa_backup::redeem_with_lookup_async(
        &store,
        &key,
        &no_throttle(),
        bob.codes[0].expose_secret(),
        NOW,
        &mut rng,
        std::slice::from_ref(&bob.set),
        log.offload(),
    ));
    assert!(matches!(
        result,
        Err(AttemptError::Rejected(
            BackupCodeError::CodeOfAnotherAccount
        ))
    ));
    assert_eq!(log.jobs().iter().map(|job| job.1).collect::<Vec<_>>(), [2]);
}

#[test]
fn item8_a_set_regenerated_during_the_hash_is_never_matched_with_a_stale_digest() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(3);
    let old = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    let new = Mutex::new(None);
    let mut calls = 0;
    let result = runtime().block_on(mfa_backup::redeem_async(
        &store,
        &key,
        &no_throttle(),
        old.codes[0].expose_secret(),
        NOW,
        &mut seeded(4),
        |job: RedeemJob| {
            calls += 1;
            if calls == 1 {
                // The set is regenerated while the first hash (against the old set) runs.
                let issued =
                    mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut seeded(5)).unwrap();
                *new.lock().unwrap() = Some(issued);
            }
            tokio::task::spawn_blocking(move || job.run())
        },
    ));
    // The digest computed for the old set is refused, the code is hashed again for the new
    // set, and there it is simply wrong.
    assert_eq!(calls, 2);
    assert!(
        matches!(
            result,
            Err(AttemptError::Rejected(BackupCodeError::WrongCode))
        ),
        "{result:?}"
    );
    let new = new.lock().unwrap().take().unwrap();
    let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
    assert_eq!(stored.id(), new.set.id());
    assert_eq!(stored.remaining(), 10);
    assert!(
        redeem(
            &store,
            &key,
            &no_throttle(),
            new.codes[0].expose_secret(),
            NOW,
            &mut rng
        )
        .is_ok()
    );
}

#[test]
fn item8_a_failed_offload_is_a_hashing_error_and_commits_nothing() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(6);
    let issued = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    let code = issued.codes[0].expose_secret();
    let result = runtime().block_on(mfa_backup::redeem_async(
        &store,
        &key,
        &no_throttle(),
        code,
        NOW,
        &mut rng,
        |job: RedeemJob| {
            tokio::task::spawn_blocking(move || -> HashedRedemption {
                drop(job);
                panic!("the blocking task dies")
            })
        },
    ));
    assert!(matches!(
        result,
        Err(AttemptError::Rejected(BackupCodeError::Hashing))
    ));
    assert!(redeem(&store, &key, &no_throttle(), code, NOW, &mut rng).is_ok());
}

#[test]
fn item8_hash_permits_bound_sixteen_concurrent_hashes() {
    const REDEMPTIONS: usize = 16;
    const LIMIT: usize = 4;
    // Costly enough (2 MiB) that the hashes overlap; the assertion holds either way.
    let policy = IssuePolicy {
        count: 1,
        hasher: HashParams::Argon2id(Argon2idParams::new(2048, 1, 1).unwrap()),
        ..IssuePolicy::default()
    };
    let store = Arc::new(MemoryStore::new());
    let mut codes = Vec::new();
    for i in 0..REDEMPTIONS {
        let key = record_key(&format!("user-{i}"));
        let issued = mfa_backup::issue(&*store, &key, &policy, NOW, &mut seeded(10)).unwrap();
        codes.push((key, issued.codes[0].expose_secret().to_owned()));
    }

    // Async: 16 redemptions across 16 accounts at once, their jobs on 16 blocking threads.
    let permits = Arc::new(HashPermits::new(LIMIT));
    let runtime = runtime();
    let results: Vec<Result<_, JoinError>> = runtime.block_on(async {
        let tasks: Vec<_> = codes
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, (key, code))| {
                let store = Arc::clone(&store);
                let permits = Arc::clone(&permits);
                tokio::spawn(async move {
                    let input = if i % 2 == 0 {
                        code
                    } else {
                        "zzzzz-zzzzz".into()
                    };
                    let mut rng = seeded(20);
                    let offload = move |job: RedeemJob| {
                        let permits = Arc::clone(&permits);
                        tokio::task::spawn_blocking(move || job.run_with(&permits))
                    };
                    let result = mfa_backup::redeem_async(
                        &*store,
                        &key,
                        &no_throttle(),
                        &input,
                        NOW,
                        &mut rng,
                        offload,
                    )
                    .await;
                    result.is_ok() == (i % 2 == 0)
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        results
    });
    assert!(results.into_iter().all(|r| r.unwrap()));
    assert_eq!(permits.granted(), 16, "one hash per redemption");
    assert!(permits.peak() <= LIMIT, "{permits:?}");

    // Blocking: 16 threads at once through the global permits.
    let barrier = Barrier::new(REDEMPTIONS);
    thread::scope(|scope| {
        for (key, _) in &codes {
            let store = &store;
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                let result = redeem(
                    &**store,
                    key,
                    &no_throttle(),
                    "zzzzz-zzzzz",
                    NOW,
                    &mut seeded(30),
                );
                assert!(result.is_err());
            });
        }
    });
    let global = HashPermits::global();
    assert!(global.peak() <= HashPermits::DEFAULT_LIMIT, "{global:?}");
}

#[test]
fn item14_redeem_for_an_unknown_account_computes_one_hash() {
    let store = MemoryStore::new();
    let alice = record_key("alice");
    let mut rng = seeded(40);
    mfa_backup::issue(&store, &alice, &cheap_policy(), NOW, &mut rng).unwrap();
    let throttle = no_throttle();

    // Every attempt costs one hash: an account with codes, and one without.
    for (account, input) in [
        ("alice", "zzzzz-zzzzz"),
        ("alice", "not a code"),
        ("nobody", "zzzzz-zzzzz"),
        ("nobody", "not a code"),
    ] {
        let before = hashes_on_this_thread();
        let result = redeem(
            &store,
            &record_key(account),
            &throttle,
            input,
            NOW,
            &mut rng,
        );
        assert_eq!(hashes_on_this_thread() - before, 1, "{account}, {input:?}");
        match (account, result) {
            ("nobody", Err(AttemptError::NotEnrolled))
            | ("alice", Err(AttemptError::Rejected(_))) => {}
            (account, other) => panic!("{account}: {other:?}"),
        }
    }
}

#[test]
fn item14_async_unknown_account_hashes_once_off_the_runtime_thread() {
    let store = MemoryStore::new();
    let log = JobLog::default();
    let result = on_runtime_without_hashing(mfa_backup::redeem_async(
        &store,
        &record_key("nobody"),
        &no_throttle(),
        "zzzzz-zzzzz",
        NOW,
        &mut seeded(50),
        log.offload(),
    ));
    assert!(
        matches!(result, Err(AttemptError::NotEnrolled)),
        "{result:?}"
    );
    let jobs = log.jobs();
    assert_eq!(jobs.len(), 1);
    assert_ne!(jobs[0].0, thread::current().id());
    assert_eq!(jobs[0].1, 1, "the dummy hash");
}
