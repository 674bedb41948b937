//! The account layer's atomic rules on durable stores, not just `MemoryStore`: a one-time
//! temporary access pass is accepted once when many processes (SQLite handles on one file) or
//! many machines (tasks on PostgreSQL and Redis connections) redeem it at the same moment, and
//! concurrent sign-outs everywhere lose no epoch bump.
//!
//! PostgreSQL and Redis run when `MFA_POSTGRES_URL` / `MFA_REDIS_URL` are set (`.ci/test` starts
//! both); otherwise those tests print a notice and pass.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write as _;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use mfa_account::{
    AccountError, AccountPolicy, Actor, EventLog, NoEvents, Operator, TapOptions, current_epoch,
    current_epoch_async, issue_tap, issue_tap_async, redeem_tap, redeem_tap_async,
    sign_out_everywhere, sign_out_everywhere_async,
};
use mfa_core::{AsyncStore, AttemptError, UnixTime};
use mfa_store::SqliteStore;
use mfa_store::postgres::{PostgresOptions, PostgresStore};
use mfa_store::redis::{RedisOptions, RedisStore};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

const REDEEMERS: usize = 8;
const ROUNDS: u64 = 5;

fn now() -> UnixTime {
    UnixTime::from_secs(1_800_000_000)
}

fn helpdesk() -> Operator {
    Operator::new("helpdesk-1").unwrap()
}

fn server_url(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "notice: {variable} is not set, so this test passes without running \
                 (run `bash .ci/services cargo test -p mfa-account`)"
            );
            None
        }
    }
}

fn fresh_name(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    format!("t_account_{test}_{}_{nanos}", std::process::id())
}

/// Counts the outcomes of concurrent redemptions: exactly one success, and every other one is
/// refused as an invalid pass (taken), never a store failure.
fn assert_one_winner(outcomes: &[Result<(), AttemptError<AccountError>>]) {
    let wins = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|outcome| matches!(
            outcome,
            Ok(()) | Err(AttemptError::Rejected(AccountError::TapInvalid))
        )),
        "{outcomes:?}"
    );
}

#[test]
fn a_one_time_pass_is_redeemed_once_by_many_sqlite_handles() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("account.db");
    let policy = AccountPolicy::default();
    for round in 0..ROUNDS {
        let account = format!("alice-{round}");
        let issuer = SqliteStore::open(&path).unwrap();
        let pass = issue_tap(
            &issuer,
            &policy,
            &NoEvents,
            &account,
            &helpdesk(),
            TapOptions::one_time(Duration::from_secs(3600)),
            now(),
            &mut StdRng::seed_from_u64(round),
        )
        .unwrap()
        .pass;
        let barrier = Arc::new(Barrier::new(REDEEMERS));
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..REDEEMERS)
                .map(|_| {
                    let (barrier, path, pass, account) =
                        (Arc::clone(&barrier), &path, pass.as_str(), account.as_str());
                    scope.spawn(move || {
                        // One handle per thread: as separate processes would open the file.
                        let store = SqliteStore::open(path).unwrap();
                        barrier.wait();
                        redeem_tap(&store, &NoEvents, account, pass, now()).map(|_| ())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        assert_one_winner(&outcomes);
    }
}

#[test]
fn concurrent_sign_outs_on_sqlite_lose_no_bump() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("account.db");
    let barrier = Arc::new(Barrier::new(REDEEMERS));
    let epochs: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..REDEEMERS)
            .map(|_| {
                let (barrier, path) = (Arc::clone(&barrier), &path);
                scope.spawn(move || {
                    let store = SqliteStore::open(path).unwrap();
                    barrier.wait();
                    sign_out_everywhere(&store, &NoEvents, "alice", Actor::User, now()).unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let mut sorted = epochs;
    sorted.sort_unstable();
    let expected: Vec<u64> = (1..=u64::try_from(REDEEMERS).unwrap()).collect();
    assert_eq!(sorted, expected, "every sign-out got its own epoch");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        current_epoch(&store, "alice").unwrap(),
        u64::try_from(REDEEMERS).unwrap()
    );
}

/// The same race through the async API: `REDEEMERS` tasks on a multi-thread runtime, each with
/// its own connection (as separate machines would have).
async fn async_race<S, F, Fut>(connect: F)
where
    S: AsyncStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let policy = AccountPolicy::default();
    let events = Arc::new(EventLog::new());
    for round in 0..ROUNDS {
        let account = format!("alice-{round}");
        let issuer = connect().await;
        let pass = issue_tap_async(
            &issuer,
            &policy,
            &*events,
            &account,
            &helpdesk(),
            TapOptions::one_time(Duration::from_secs(3600)),
            now(),
            &mut StdRng::seed_from_u64(round),
        )
        .await
        .unwrap()
        .pass;
        let barrier = Arc::new(tokio::sync::Barrier::new(REDEEMERS));
        let mut tasks = Vec::new();
        for _ in 0..REDEEMERS {
            let store = connect().await;
            let (barrier, events, account) =
                (Arc::clone(&barrier), Arc::clone(&events), account.clone());
            let pass = pass.to_string();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                redeem_tap_async(&store, &*events, &account, &pass, now())
                    .await
                    .map(|_| ())
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        assert_one_winner(&outcomes);
    }
    // The sign-out race on the same server.
    let mut tasks = Vec::new();
    for _ in 0..REDEEMERS {
        let store = connect().await;
        tasks.push(tokio::spawn(async move {
            sign_out_everywhere_async(&store, &NoEvents, "bob", Actor::User, now())
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let store = connect().await;
    assert_eq!(
        current_epoch_async(&store, "bob").await.unwrap(),
        u64::try_from(REDEEMERS).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_pass_is_redeemed_once_on_postgres() {
    let Some(url) = server_url("MFA_POSTGRES_URL") else {
        return;
    };
    let options = PostgresOptions::default().schema(fresh_name("tap"));
    async_race(|| {
        let (url, options) = (url.clone(), options.clone());
        async move { PostgresStore::connect_with(&url, options).await.unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_pass_is_redeemed_once_on_redis() {
    let Some(url) = server_url("MFA_REDIS_URL") else {
        return;
    };
    let options = RedisOptions::default().prefix(fresh_name("tap"));
    async_race(|| {
        let (url, options) = (url.clone(), options.clone());
        async move { RedisStore::connect_with(&url, options).await.unwrap() }
    })
    .await;
}
