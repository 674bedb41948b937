//! One TOTP verification (±1 step, SHA-1, 6 digits) with a matching and with a non-matching code,
//! beside baselines measured in the same run.
//!
//! - `mfa_otp verify: match (current step)` / `mismatch`: `Totp::verify` on a stored credential.
//!   Both compute and compare all three codes of the window with no early exit, so they should
//!   take the same time (within 5 %). `match (previous step)` / `match (next step)`: the same
//!   with a code from either end of the window, which must cost the same again. `verify` also
//!   builds the updated credential and the evidence whatever the outcome (two small `String`
//!   clones), which is what separates it from `matched_step`.
//! - `mfa_otp matched_step: match` / `mismatch`: the constant-time core alone (parse, key
//!   schedule, three codes, comparisons), without building the updated credential and evidence
//!   that only a success returns.
//! - `baseline: 3 raw HMAC-SHA1, key state precomputed`: the floor, using `hmac` directly with the
//!   keyed state cloned per code. `verify` must also schedule the key once (two more SHA-1
//!   compressions), so it cannot reach this floor: the next baseline includes that.
//! - `baseline: key schedule + 3 raw HMAC-SHA1`: the same plus keying the HMAC once.
//! - `totp-rs check: match` / `mismatch`: `totp_rs::Totp::check` (skew 1). It returns at the first
//!   match and re-keys the HMAC for every code, so its two cases differ.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use mfa_core::{SecretBytes, UnixTime};
use mfa_otp::{OtpSecret, Totp, TotpCredential, TotpParams};
use sha1::Sha1;

/// The RFC 6238 SHA-1 seed.
const KEY: &[u8; 20] = b"12345678901234567890";
const NOW: u64 = 1_795_000_000;

fn totp_verify(c: &mut Criterion) {
    let secret = OtpSecret::from_bytes(SecretBytes::from_slice(KEY)).expect("80+ bits");
    let credential = TotpCredential::new("bench", secret, TotpParams::default());
    let now = UnixTime::from_secs(NOW);
    let step = NOW / 30;
    let right = credential.code_at(now).expect("after T0");
    let right = right.as_str().to_owned();
    let window_codes: Vec<String> = (step - 1..=step + 1)
        .map(|s| {
            credential
                .params()
                .code_for_step(credential.secret(), s)
                .as_str()
                .to_owned()
        })
        .collect();
    let [previous, current, next] =
        <[String; 3]>::try_from(window_codes.clone()).expect("three steps");
    assert_eq!(current, right);
    // A code that matches none of the three steps of the window.
    let wrong = (0..1_000_000_u32)
        .map(|n| format!("{n:06}"))
        .find(|code| !window_codes.contains(code))
        .expect("a non-matching code");
    let totp = Totp::new();
    assert!(totp.verify(&credential, &right, now).is_ok());
    for (code, expected_step) in [(&previous, step - 1), (&next, step + 1)] {
        let verified = totp.verify(&credential, code, now).expect("in the window");
        assert_eq!(verified.credential().last_step(), Some(expected_step));
    }
    assert!(totp.verify(&credential, &wrong, now).is_err());

    let rs = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(KEY.to_vec())
        .build()
        .expect("a valid totp-rs configuration");
    assert_eq!(rs.check(&right, NOW), Some(step));
    assert_eq!(rs.check(&wrong, NOW), None);

    let mut group = c.benchmark_group("otp/totp_verify");
    group.throughput(Throughput::Elements(1));

    group.bench_function("mfa_otp verify: match (current step)", |b| {
        b.iter(|| totp.verify(black_box(&credential), black_box(&right), black_box(now)));
    });
    group.bench_function("mfa_otp verify: mismatch", |b| {
        b.iter(|| totp.verify(black_box(&credential), black_box(&wrong), black_box(now)));
    });
    group.bench_function("mfa_otp verify: match (previous step)", |b| {
        b.iter(|| totp.verify(black_box(&credential), black_box(&previous), black_box(now)));
    });
    group.bench_function("mfa_otp verify: match (next step)", |b| {
        b.iter(|| totp.verify(black_box(&credential), black_box(&next), black_box(now)));
    });

    group.bench_function("mfa_otp matched_step: match", |b| {
        b.iter(|| {
            totp.matched_step(
                black_box(credential.secret()),
                black_box(credential.params()),
                black_box(&right),
                black_box(now),
                None,
            )
        });
    });
    group.bench_function("mfa_otp matched_step: mismatch", |b| {
        b.iter(|| {
            totp.matched_step(
                black_box(credential.secret()),
                black_box(credential.params()),
                black_box(&wrong),
                black_box(now),
                None,
            )
        });
    });

    let keyed = <Hmac<Sha1> as KeyInit>::new_from_slice(KEY).expect("any key length");
    group.bench_function("baseline: 3 raw HMAC-SHA1, key state precomputed", |b| {
        b.iter(|| {
            let mut acc = 0_u8;
            for counter in step - 1..=step + 1 {
                let mac = black_box(&keyed)
                    .clone()
                    .chain_update(counter.to_be_bytes())
                    .finalize();
                acc ^= mac.as_bytes()[19];
            }
            acc
        });
    });
    group.bench_function("baseline: key schedule + 3 raw HMAC-SHA1", |b| {
        b.iter(|| {
            let keyed = <Hmac<Sha1> as KeyInit>::new_from_slice(black_box(KEY)).expect("any");
            let mut acc = 0_u8;
            for counter in step - 1..=step + 1 {
                let mac = keyed.clone().chain_update(counter.to_be_bytes()).finalize();
                acc ^= mac.as_bytes()[19];
            }
            acc
        });
    });

    group.bench_function("totp-rs check: match (current step)", |b| {
        b.iter(|| black_box(&rs).check(black_box(&right), black_box(NOW)));
    });
    group.bench_function("totp-rs check: mismatch", |b| {
        b.iter(|| black_box(&rs).check(black_box(&wrong), black_box(NOW)));
    });
    group.finish();
}

criterion_group!(benches, totp_verify);
criterion_main!(benches);
