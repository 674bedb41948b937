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
use mfa_core::UnixTime;
use mfa_webauthn::crypto::RingVerifier;
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, AuthenticationState,
    Challenge, DefaultVerifier, RegistrationRequest, RegistrationResponse, RelyingParty,
    RustCryptoVerifier, SignatureVerifier, UserEntity,
};
use p256::ecdsa::signature::Verifier as _;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest as _, Sha256};

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

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const ORIGIN: &str = "https://example.com";

fn assertion_es256(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let rp = RelyingParty::new("example.com", "Example", ORIGIN);
    let mut key = SoftwareAuthenticator::new(&mut rng);
    let user = UserEntity::random(&mut rng, "alice", "Alice");
    let (options, state) =
        rp.start_registration(&mut rng, NOW, user, RegistrationRequest::default());
    let response = RegistrationResponse::from_json(&key.register(&options, ORIGIN)).expect("json");
    let credential = state
        .verify(
            &response,
            NOW,
            &RustCryptoVerifier,
            &AttestationOptions::default(),
        )
        .expect("registered")
        .credential;

    let request = AuthenticationRequest {
        allow_credentials: vec![credential.descriptor()],
        ..AuthenticationRequest::default()
    };
    let (options, _first_state) = rp.start_authentication(&mut rng, NOW, request.clone());
    let json = key.authenticate(&options, ORIGIN);
    // Verifying consumes a ceremony state, so each timed run gets a fresh one with the same
    // challenge, built outside the timing (`iter_batched`).
    let challenge =
        Challenge::from_bytes(options.challenge.as_bytes().to_vec()).expect("challenge");
    let fresh_state = || {
        rp.authentication_with_challenge(challenge.clone(), NOW, request.clone())
            .1
    };

    // The raw inputs, taken from the same response.
    let parsed = AuthenticationResponse::from_json(&json).expect("json");
    let mut message = parsed.authenticator_data.clone();
    message.extend_from_slice(&Sha256::digest(&parsed.client_data_json));
    let signature = parsed.signature.clone();
    let point = credential
        .public_key_cose
        .ec2_uncompressed_point()
        .expect("EC2 key");

    let ours = |state: AuthenticationState, verifier: &dyn SignatureVerifier| {
        let response = AuthenticationResponse::from_json(&json).expect("json");
        state
            .verify(&credential, &response, NOW, verifier)
            .expect("verified")
    };
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
        b.iter(|| {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("point");
            let sig = p256::ecdsa::Signature::from_der(&signature).expect("der");
            key.verify(&message, &sig).expect("valid");
        });
    });
    group.bench_function("backend only: RustCryptoVerifier", |b| {
        b.iter(|| {
            RustCryptoVerifier
                .verify(&credential.public_key_cose, &message, &signature)
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
        b.iter(|| {
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_ASN1,
                &point,
            )
            .verify(&message, &signature)
            .expect("valid");
        });
    });
    group.bench_function("backend only: RingVerifier", |b| {
        b.iter(|| {
            RingVerifier
                .verify(&credential.public_key_cose, &message, &signature)
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
