//! FIDO Metadata Service BLOBs (`mds/…`): verifying a 4 MiB BLOB (`Metadata::from_blob`: JWS
//! shape and header, `x5c` chain to the root, the ES256 or RS256 signature over the whole
//! signing input, base64url and JSON decoding of the 3 MiB payload, indexing its 1,000+
//! production-shaped entries), and one lookup by AAGUID in the verified metadata.
//!
//! Baselines measured in the same run:
//! - `baseline: base64url decode + serde_json::Value parse`: the part of the work any reader of
//!   the BLOB must do (decode and parse the payload into untyped JSON), with no signature, chain
//!   or typed entries;
//! - `baseline: HashMap<[u8; 16], usize> get`: a bare hash-map probe, against which the lookup's
//!   own cost shows.
#![allow(missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mfa_core::UnixTime;
use mfa_webauthn::metadata::{BlobOptions, MdsDate, Metadata};
use mfa_webauthn::testing::mds::{
    BlobBuilder, MdsSigner, synthetic_aaguid, synthetic_entries_of_size,
};
use mfa_webauthn::testing::pki::JwsAlgorithm;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use std::collections::HashMap;
use std::hint::black_box;

const FROM: UnixTime = UnixTime::from_secs(1_700_000_000);
const TO: UnixTime = UnixTime::from_secs(2_000_000_000);
const AT: UnixTime = UnixTime::from_secs(1_800_000_000);
/// The payload's JSON size: about the production BLOB's.
const PAYLOAD_LEN: usize = 3 * 1024 * 1024;

struct Fixture {
    blob: Vec<u8>,
    options: BlobOptions,
}

impl Fixture {
    fn new(algorithm: JwsAlgorithm) -> Self {
        let mut rng = StdRng::seed_from_u64(17);
        let signer = MdsSigner::new(&mut rng, algorithm, FROM, TO);
        let next_update = MdsDate::new(2027, 2, 1).expect("a date");
        let blob = BlobBuilder::new(42, next_update)
            .entries(synthetic_entries_of_size(PAYLOAD_LEN))
            .sign(&signer);
        let options = BlobOptions::new(signer.root_der().to_vec(), AT).after(41);
        Self { blob, options }
    }

    fn payload_b64(&self) -> &[u8] {
        self.blob.split(|&b| b == b'.').nth(1).expect("three parts")
    }
}

fn verify_blob(c: &mut Criterion) {
    let mut group = c.benchmark_group("mds/verify_4mb_blob");
    group.sample_size(20);
    for algorithm in [JwsAlgorithm::Es256, JwsAlgorithm::Rs256] {
        let fixture = Fixture::new(algorithm);
        let metadata = Metadata::from_blob(&fixture.blob, &fixture.options).expect("verifies");
        assert!(
            fixture.blob.len() >= 4 * 1024 * 1024,
            "{}",
            fixture.blob.len()
        );
        assert!(metadata.entries().len() > 1000);
        group.throughput(Throughput::Bytes(
            u64::try_from(fixture.blob.len()).expect("fits"),
        ));
        group.bench_function(format!("Metadata::from_blob ({})", algorithm.name()), |b| {
            b.iter(|| Metadata::from_blob(black_box(&fixture.blob), &fixture.options));
        });
        if algorithm == JwsAlgorithm::Es256 {
            group.bench_function(
                "baseline: base64url decode + serde_json::Value parse",
                |b| {
                    b.iter(|| {
                        let json = URL_SAFE_NO_PAD
                            .decode(black_box(fixture.payload_b64()))
                            .expect("base64url");
                        serde_json::from_slice::<serde_json::Value>(&json).expect("JSON")
                    });
                },
            );
        }
    }
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let fixture = Fixture::new(JwsAlgorithm::Es256);
    let metadata = Metadata::from_blob(&fixture.blob, &fixture.options).expect("verifies");
    let count = metadata.entries().len();
    let wanted = synthetic_aaguid(count / 2);
    assert!(metadata.by_aaguid(&wanted).is_some());
    let bare: HashMap<[u8; 16], usize> = (0..count).map(|i| (synthetic_aaguid(i).0, i)).collect();

    let mut group = c.benchmark_group("mds/lookup");
    group.throughput(Throughput::Elements(1));
    group.bench_function("Metadata::by_aaguid", |b| {
        b.iter(|| {
            metadata
                .by_aaguid(black_box(&wanted))
                .map(|entry| entry.description())
        });
    });
    group.bench_function("baseline: HashMap<[u8; 16], usize> get", |b| {
        b.iter(|| bare.get(black_box(&wanted.0)).copied());
    });
    group.finish();
}

criterion_group!(benches, verify_blob, lookup);
criterion_main!(benches);
