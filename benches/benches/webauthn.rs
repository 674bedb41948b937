//! One ES256 assertion check (`webauthn/assertion_es256`): our whole §7.2 verification — parse
//! the `AuthenticationResponseJSON`, client data and authenticator data, every check, the
//! signature over `authenticatorData ‖ SHA-256(clientDataJSON)`, the updated credential and the
//! evidence — beside the raw signature verify of the same message and signature from the same
//! stored bytes (SEC 1 point and DER signature parsed per call, as any verifier must):
//!
//! - `mfa-webauthn default (DefaultVerifier: ring)` vs `baseline: raw ring verify`: what a user
//!   of the crate with default features gets (feature `ring`, on by default);
//! - `mfa-webauthn pure Rust (RustCryptoVerifier)` vs `baseline: raw p256 verify`: what
//!   `default-features = false` gets (`RustCryptoVerifier` is the same code in either build).
//!
//! - `backend only: …`: the signature backend alone through the `SignatureVerifier` trait, to
//!   tell the ceremony's own cost (parsing, checks, hashing) from the backend's.
//!
//! - `ceremony only (signature not checked)`: the whole check with a backend that accepts any
//!   signature: our own cost in absolute terms, which is robust to the noise of a shared machine
//!   (overhead = this / the raw verify).
//!
//! Targets: the pure-Rust row within 1.1x of the raw p256 verify; the default row faster than
//! py_webauthn's `verify_authentication_response` on an equivalent assertion
//! (`benches/peers/py_webauthn_es256.py`, run beside this bench).
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mfa_webauthn::crypto::RingVerifier;
use mfa_webauthn::{DefaultVerifier, RustCryptoVerifier, SignatureVerifier};

#[path = "setup/webauthn.rs"]
mod setup;

use setup::AssertionFixture;

/// A backend that accepts every signature: timing the ceremony with it gives our own cost
/// (parsing, checks, hashing, the updated record) apart from any signature arithmetic.
#[derive(Debug)]
struct AcceptEverySignature;

impl SignatureVerifier for AcceptEverySignature {
    fn verify(
        &self,
        _key: &mfa_webauthn::CoseKey,
        _message: &[u8],
        _signature: &[u8],
    ) -> Result<(), mfa_webauthn::crypto::SignatureError> {
        Ok(())
    }
}

fn assertion_es256(c: &mut Criterion) {
    let fixture = AssertionFixture::new();
    // Verifying consumes a ceremony state, so each timed run gets a fresh one with the same
    // challenge, built outside the timing (`iter_batched`).
    let fresh_state = || fixture.fresh_state();
    let ours = |state, verifier: &dyn SignatureVerifier| fixture.verify(state, verifier);
    let (credential, message, signature) =
        (&fixture.credential, &fixture.message, &fixture.signature);
    // Every backend must accept before we time them.
    let _ = ours(fresh_state(), &RustCryptoVerifier);
    let _ = ours(fresh_state(), &RingVerifier);
    let _ = ours(fresh_state(), &DefaultVerifier);

    let mut group = c.benchmark_group("webauthn/assertion_es256");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ceremony only (signature not checked)", |b| {
        b.iter_batched(
            fresh_state,
            |state| ours(state, &AcceptEverySignature),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("baseline: raw p256 verify", |b| {
        b.iter(|| fixture.raw_p256());
    });
    group.bench_function("backend only: RustCryptoVerifier", |b| {
        b.iter(|| {
            RustCryptoVerifier
                .verify(&credential.public_key_cose, message, signature)
                .expect("valid");
        });
    });
    group.bench_function("mfa-webauthn pure Rust (RustCryptoVerifier)", |b| {
        b.iter_batched(
            fresh_state,
            |state| ours(state, &RustCryptoVerifier),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("baseline: raw ring verify", |b| {
        b.iter(|| fixture.raw_ring());
    });
    group.bench_function("backend only: RingVerifier", |b| {
        b.iter(|| {
            RingVerifier
                .verify(&credential.public_key_cose, message, signature)
                .expect("valid");
        });
    });
    let default_row = format!(
        "mfa-webauthn default (DefaultVerifier: {})",
        DefaultVerifier::BACKEND
    );
    group.bench_function(default_row, |b| {
        b.iter_batched(
            fresh_state,
            |state| ours(state, &DefaultVerifier),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, assertion_es256);
criterion_main!(benches);
