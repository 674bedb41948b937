//! The cost of the shared commit helper: one `verify_and_commit` on the in-memory store, beside a
//! bare load + compare-and-swap of the same record (the floor any helper must pay).
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mfa_core::{
    Evidence, MemoryStore, Method, NewRecord, RecordKey, Store, SwapOutcome, UnixTime, Verified,
    insert_new, verify_and_commit,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Counter {
    last_step: u64,
}

fn commit_helper(c: &mut Criterion) {
    let store = MemoryStore::new();
    let key = RecordKey::new("bench", "alice", "counter");
    insert_new(&store, &key, &Counter { last_step: 0 }).expect("insert");

    let mut group = c.benchmark_group("core/commit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: raw load + compare_and_swap", |b| {
        b.iter(|| {
            let record = store.load(&key).expect("load").expect("present");
            let outcome = store
                .compare_and_swap(
                    &key,
                    Some(record.version),
                    Some(NewRecord::new(&record.value)),
                )
                .expect("cas");
            assert!(matches!(outcome, SwapOutcome::Committed(_)));
        });
    });
    group.bench_function("verify_and_commit (accepted)", |b| {
        b.iter(|| {
            let verified = verify_and_commit(&store, &key, |c: &Counter| {
                let evidence = Evidence::new(Method::Totp, UnixTime::EPOCH, "counter");
                Ok::<_, ()>(Verified::new(
                    evidence,
                    Counter {
                        last_step: c.last_step + 1,
                    },
                ))
            });
            assert!(verified.is_ok());
        });
    });
    group.bench_function("verify_and_commit (rejected)", |b| {
        b.iter(|| {
            let rejected =
                verify_and_commit(&store, &key, |_: &Counter| Err::<Verified<Counter>, _>(()));
            assert!(rejected.is_err());
        });
    });
    group.finish();
}

criterion_group!(benches, commit_helper);
criterion_main!(benches);
