//! One push response checked end to end (`push/verify_response`): split and decode the compact
//! JWS, find the device by `kid` in the store, verify the ES256 signature, parse the payload,
//! then the throttled take-then-check of the challenge and the atomic commit of the approval and
//! its outcome, all on the in-memory store, with a fresh challenge for every iteration (started
//! and answered outside the timing), beside the raw P-256 verify of the same signing input and
//! signature (`push/p256_verify_raw`: point and signature parsed per call, as any verifier
//! must).
//!
//! Our overhead is the difference: store round trips (device lookup, throttle record, take,
//! state commit), JSON and base64, SHA-256 for the thumbprint check.
#![allow(missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mfa_core::{ManualClock, MemoryStore, UnixTime};
use mfa_push::{
    Answer, ChallengeRequest, DeviceKey, IgnoreEvents, Platform, PushPolicy, begin_enrollment,
    register_device, start_challenge, verify_response,
};
use p256::ecdsa::signature::Verifier as _;
use rand::SeedableRng as _;
use rand::rngs::StdRng;

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

fn verify(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(11);
    // The store judges record expiry by NOW, not by the system clock (challenges expire).
    let store = MemoryStore::with_clock(ManualClock::new(NOW));
    // No push cap in the way: every iteration starts a challenge.
    let policy = PushPolicy {
        free_pushes: u32::MAX,
        ..PushPolicy::new("Example")
    };
    let offer = begin_enrollment(&store, &policy, "alice", NOW, &mut rng).expect("offer");
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(&offer.uri, "phone", Platform::Ios, None, NOW)
        .expect("message");
    let device = register_device(&store, &policy, &message, NOW).expect("registered");

    // A fresh challenge and its signed answer, made outside the timing.
    let mut fresh = || {
        let request = ChallengeRequest::new("alice", "sign-in");
        let started = start_challenge(&store, &policy, &request, NOW, &mut rng, &IgnoreEvents)
            .expect("started");
        let answer = Answer::approve(started.number.expose_digits()).expect("digits");
        phone.respond(&started.id, &answer, NOW).expect("signed")
    };
    // The raw inputs, from one such response.
    let sample = fresh();
    let (signing_input, signature_b64) = sample.rsplit_once('.').expect("three parts");
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).expect("base64url");
    let point = device.public_key.verifying_key().to_sec1_point(false);
    let sec1 = point.as_bytes().to_vec();
    // Both must accept before we time them.
    assert!(verify_response(&store, &policy, &sample, NOW, &IgnoreEvents).is_ok());
    let raw = || {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("point");
        let signature = p256::ecdsa::Signature::from_slice(&signature).expect("r ‖ s");
        key.verify(signing_input.as_bytes(), &signature)
            .expect("valid");
    };
    raw();

    let mut group = c.benchmark_group("push");
    group.throughput(Throughput::Elements(1));
    group.bench_function("p256_verify_raw", |b| b.iter(raw));
    // One at a time: a new challenge supersedes the previous one, so inputs cannot be batched.
    group.bench_function("verify_response", |b| {
        b.iter_batched(
            &mut fresh,
            |response| {
                verify_response(&store, &policy, &response, NOW, &IgnoreEvents).expect("approved")
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
