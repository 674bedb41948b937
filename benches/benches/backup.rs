//! One backup-code redemption against a full set of 10 with the default hasher (Argon2id,
//! m = 19 MiB, t = 2, p = 1), beside the raw cost of the one hash it must compute.
//!
//! - `wrong code`, `match in first slot`, `match in last slot`: each iteration redeems against a
//!   fresh clone of the set (cloned outside the timed part), so the matching slot is unused.
//!   First and last slot must take the same time: the digest is compared with every slot in
//!   constant time, with no early exit.
//! - `baseline: one raw argon2id hash`: the floor; a redemption should cost about one of these.
//! - The same for PBKDF2-HMAC-SHA-256 (100 000 iterations), the FIPS-minded choice.
//! - `backup/redeem-cheap-hash`: the same with Argon2id at its minimum cost (8 KiB, t = 1), so the
//!   slot scan is a larger share of the time and a slot-dependent difference would show.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mfa_backup::{Argon2idParams, CodeHasher, DIGEST_LEN, HashParams, IssuePolicy, Pbkdf2Params};
use mfa_core::UnixTime;
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

fn group_for(c: &mut Criterion, name: &str, hasher: HashParams, samples: usize) {
    let mut rng = StdRng::seed_from_u64(7);
    let policy = IssuePolicy {
        hasher,
        ..IssuePolicy::default()
    };
    let issued = policy.issue("alice", NOW, &mut rng).expect("issue");
    assert_eq!(issued.set.remaining(), 10);
    let first = issued.codes[0].expose_secret().to_owned();
    let last = issued.codes[9].expose_secret().to_owned();

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(samples);

    let salt = [0x5a_u8; mfa_backup::SALT_LEN];
    let input = [0x42_u8; 64];
    group.bench_function("baseline: one raw hash", |b| {
        b.iter(|| {
            let mut out = [0_u8; DIGEST_LEN];
            hasher.hash_into(&input, &salt, &mut out).expect("hash");
            out
        });
    });
    for (label, code, accepted) in [
        ("wrong code", "zzzzz-zzzzz", false),
        ("match in first slot", first.as_str(), true),
        ("match in last slot", last.as_str(), true),
    ] {
        group.bench_function(label, |b| {
            b.iter_batched(
                || issued.set.clone(),
                |set| {
                    let result = set.redeem("alice", code, NOW, &mut rng);
                    assert_eq!(result.is_ok(), accepted);
                    result
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn redeem(c: &mut Criterion) {
    group_for(c, "backup/redeem", HashParams::default(), 20);
    group_for(
        c,
        "backup/redeem-pbkdf2",
        HashParams::Pbkdf2Sha256(Pbkdf2Params::DEFAULT),
        20,
    );
    let cheap = Argon2idParams::new(8, 1, 1).expect("valid parameters");
    group_for(
        c,
        "backup/redeem-cheap-hash",
        HashParams::Argon2id(cheap),
        50,
    );
}

criterion_group!(benches, redeem);
criterion_main!(benches);
