//! One redeem (load + compare-and-swap of the loaded version) on each store backend: memory,
//! SQLite (a file in the temporary directory, WAL, synchronous FULL), PostgreSQL and Redis. The
//! server backends run only when `MFA_POSTGRES_URL` / `MFA_REDIS_URL` are set (`bash .ci/services
//! cargo bench -p mfa-benches --bench store`); each is measured through its `AsyncStore` on a
//! current-thread runtime and through the blocking adapter, beside a baseline of two bare round
//! trips to the same server (the floor for a load and a write).
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mfa_core::{
    AsyncStore, MemoryStore, NewRecord, RecordKey, Store, StoreError, SwapOutcome, put, put_async,
};
use mfa_store::{Blocking, PostgresOptions, PostgresStore, RedisOptions, RedisStore, SqliteStore};
use tokio::runtime::{Builder, Runtime};

/// One redeem through the blocking trait.
fn redeem<S: Store>(store: &S, key: &RecordKey) {
    let record = store.load(key).expect("load").expect("present");
    let outcome = store
        .compare_and_swap(
            key,
            Some(record.version),
            Some(NewRecord::new(&record.value)),
        )
        .expect("cas");
    assert!(matches!(outcome, SwapOutcome::Committed(_)));
}

/// One redeem through the async trait.
async fn redeem_async<S: AsyncStore>(store: &S, key: &RecordKey) {
    let record = store.load(key).await.expect("load").expect("present");
    let outcome = store
        .compare_and_swap(
            key,
            Some(record.version),
            Some(NewRecord::new(&record.value)),
        )
        .await
        .expect("cas");
    assert!(matches!(outcome, SwapOutcome::Committed(_)));
}

fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn key() -> RecordKey {
    RecordKey::new("bench", "alice", "counter")
}

fn embedded(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/redeem");
    group.throughput(Throughput::Elements(1));

    let memory = MemoryStore::new();
    put(&memory, &key(), &0_u64).expect("put");
    group.bench_function("memory", |b| b.iter(|| redeem(&memory, &key())));

    let dir = std::env::temp_dir().join(format!("mfa-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let sqlite = SqliteStore::open(dir.join("bench.sqlite3")).expect("open SQLite");
    put(&sqlite, &key(), &0_u64).expect("put");
    group.bench_function("sqlite", |b| b.iter(|| redeem(&sqlite, &key())));
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

/// The group of one server backend: `baseline` (two bare round trips), then one redeem through
/// the async store on `runtime`, then one through the blocking adapter `blocking`.
fn server_group<S: AsyncStore + 'static>(
    c: &mut Criterion,
    backend: &str,
    runtime: &Runtime,
    (baseline_name, mut baseline): (&str, impl FnMut()),
    store: &S,
    blocking: &Blocking<S>,
) {
    runtime
        .block_on(put_async(store, &key(), &0_u64))
        .expect("put");
    let mut group = c.benchmark_group(format!("store/redeem/{backend}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("baseline: {baseline_name}"), |b| {
        b.iter(&mut baseline)
    });
    group.bench_function("async", |b| {
        b.iter(|| runtime.block_on(redeem_async(store, &key())));
    });
    group.bench_function("blocking adapter", |b| b.iter(|| redeem(blocking, &key())));
    group.finish();
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("MFA_POSTGRES_URL") else {
        eprintln!("store/redeem/postgres: MFA_POSTGRES_URL is not set, skipped");
        return;
    };
    let runtime = current_thread();
    let schema = format!("bench_{}", std::process::id());
    let store = runtime
        .block_on(PostgresStore::connect_with(
            &url,
            PostgresOptions::default().schema(&schema),
        ))
        .expect("connect");
    let (client, connection) = runtime
        .block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls))
        .expect("connect");
    runtime.spawn(connection);
    let blocking =
        Blocking::open({
            let (url, schema) = (url.clone(), schema.clone());
            async move {
                PostgresStore::connect_with(&url, PostgresOptions::default().schema(schema)).await
            }
        })
        .expect("connect");
    let select_twice = || {
        runtime.block_on(async {
            for _ in 0..2 {
                client.query_one("SELECT 1", &[]).await.expect("select");
            }
        });
    };
    server_group(
        c,
        "postgres",
        &runtime,
        ("two round trips (SELECT 1)", select_twice),
        &store,
        &blocking,
    );
    let dropped: Result<(), StoreError> = runtime.block_on(async {
        client
            .batch_execute(&format!(
                "DROP SCHEMA {} CASCADE",
                blocking.get_ref().schema()
            ))
            .await
            .map_err(|error| StoreError::Unavailable(Box::new(error)))
    });
    dropped.expect("drop the bench schema");
}

fn redis(c: &mut Criterion) {
    let Ok(url) = std::env::var("MFA_REDIS_URL") else {
        eprintln!("store/redeem/redis: MFA_REDIS_URL is not set, skipped");
        return;
    };
    let runtime = current_thread();
    let prefix = format!("bench:{}:", std::process::id());
    let store = runtime
        .block_on(RedisStore::connect_with(
            &url,
            RedisOptions::default().prefix(&prefix),
        ))
        .expect("connect");
    let mut connection = runtime
        .block_on(async {
            redis::Client::open(url.as_str())?
                .get_multiplexed_async_connection()
                .await
        })
        .expect("connect");
    let blocking = Blocking::open({
        let (url, prefix) = (url.clone(), prefix.clone());
        async move { RedisStore::connect_with(&url, RedisOptions::default().prefix(prefix)).await }
    })
    .expect("connect");
    let mut ping = connection.clone();
    let ping_twice = || {
        runtime.block_on(async {
            for _ in 0..2 {
                let _: String = redis::cmd("PING")
                    .query_async(&mut ping)
                    .await
                    .expect("ping");
            }
        });
    };
    server_group(
        c,
        "redis",
        &runtime,
        ("two round trips (PING)", ping_twice),
        &store,
        &blocking,
    );
    // The four keys one record and its indexes take (see mfa_store::redis).
    let key = key();
    let keys = [
        format!("{prefix}r:{}", key.flat()),
        format!(
            "{prefix}l:{}",
            RecordKey::new(key.kind(), key.account(), "").flat()
        ),
        format!(
            "{prefix}i:{}",
            RecordKey::new(key.kind(), "", key.id()).flat()
        ),
        format!("{prefix}version"),
    ];
    let _: u32 = runtime
        .block_on(redis::cmd("DEL").arg(&keys).query_async(&mut connection))
        .expect("delete the bench keys");
}

criterion_group!(benches, embedded, postgres, redis);
criterion_main!(benches);
