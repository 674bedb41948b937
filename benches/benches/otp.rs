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
use sha1::Sha1;

#[path = "setup/otp.rs"]
mod setup;

use setup::{KEY, NOW, TotpFixture, key_schedule_and_three_hmacs};

fn totp_verify(c: &mut Criterion) {
    let TotpFixture {
        totp,
        credential,
        now,
        step,
        previous,
        current: right,
        next,
        wrong,
        totp_rs: rs,
    } = TotpFixture::new();

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
        b.iter(|| key_schedule_and_three_hmacs(black_box(KEY), black_box(step)));
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
