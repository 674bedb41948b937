//! What the server backends' test files (`tests/postgres.rs`, `tests/redis.rs`) share: the
//! server's URL or a notice, fresh names, the shared suite through the cipher, and the checks
//! that drive the async trait directly. Include it with `mod servers;` after `mod suite;`.

#![allow(dead_code, unreachable_pub, clippy::missing_panics_doc)]

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use mfa_core::{AsyncStore, RecordKey, Store, put_async, take_async};
use mfa_store::cipher::{CipherKey, StoreCipher};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

use crate::suite::Fixture;

/// The URL in `variable`, or `None` when the tests should pass without running: said once per
/// test binary, on stderr itself (the harness swallows what a passing test prints).
pub fn url(variable: &str, server: &str) -> Option<String> {
    static NOTICE: Once = Once::new();
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "notice: {variable} is not set, so the {server} tests pass without running \
                     (run `bash .ci/services cargo test -p mfa-store`)"
                );
            });
            None
        }
    }
}

/// A name no other test or run uses, of `[a-z0-9_]` only (a PostgreSQL schema, a Redis prefix).
pub fn fresh_name(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("t_{test}_{}_{nanos}_{n}", std::process::id())
}

/// A multi-thread runtime for tests that drive the async trait themselves.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// `fixture`'s store behind [`StoreCipher`]: the suite as a service keeping sealed secrets on
/// that server runs it.
pub fn through_the_cipher<S: Store>(
    fixture: Option<Fixture<S>>,
) -> Option<Fixture<StoreCipher<S, StdRng>>> {
    let Fixture {
        store,
        clock,
        namespace,
        keep,
    } = fixture?;
    Some(Fixture {
        store: StoreCipher::new(store, CipherKey::new(1, &[7; 32]), StdRng::seed_from_u64(1)),
        clock,
        namespace: format!("{namespace}-cipher"),
        keep,
    })
}

/// 32 tokio tasks (no blocking adapter) take one record at once, 5 rounds: one wins each round.
pub async fn async_takers_have_one_winner<S: AsyncStore + 'static>(store: Arc<S>) {
    const TASKS: usize = 32;
    for round in 0..5_u32 {
        let key = RecordKey::new("challenge", "alice", format!("r{round}"));
        put_async(&*store, &key, &round).await.expect("put");
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (store, key, barrier) = (Arc::clone(&store), key.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    take_async::<_, u32>(&*store, &key).await.expect("take")
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.expect("a taker task") == Some(round) {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}: exactly one taker wins");
    }
}
