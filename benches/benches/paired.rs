//! The goals of issue 15 as interleaved ratios (`mfa_benches::paired`): every round times a short
//! batch of each contender in a random order, and a ratio is the median of the per-round ratios,
//! so a shared machine's drift (which moves criterion's sequential rows by 10 % and more here)
//! cancels out.
//!
//! - `otp/totp_verify`: `Totp::verify` (right code, wrong code) against the key schedule + 3 raw
//!   HMAC-SHA1 baseline and totp-rs `check` (right, wrong): goal ≤ 1.15× the baseline, faster than
//!   totp-rs on a wrong code, right and wrong within 5 % of each other.
//! - `webauthn/assertion_es256`: the default build (ring) against raw ring, and the pure-Rust
//!   build against raw p256: goal ≤ 1.1× raw p256 for pure Rust.
//!
//! `cargo bench -p mfa-benches --bench paired [-- --rounds N]` prints the table and writes it as
//! JSON to `target/paired/results.json`, which `benches/results` turns into RESULTS.md's table.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use mfa_benches::paired::{Contender, Plan, Report, measure};
use mfa_webauthn::{DefaultVerifier, RustCryptoVerifier};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

#[path = "setup/otp.rs"]
mod otp_setup;
#[path = "setup/webauthn.rs"]
mod webauthn_setup;

/// The ratios reported: (numerator row, denominator row).
const RATIOS: &[(&str, &str, &str)] = &[
    (
        "otp/totp_verify",
        "mfa_otp verify: match",
        "baseline: key schedule + 3 raw HMAC-SHA1",
    ),
    (
        "otp/totp_verify",
        "mfa_otp verify: mismatch",
        "baseline: key schedule + 3 raw HMAC-SHA1",
    ),
    (
        "otp/totp_verify",
        "mfa_otp verify: match",
        "mfa_otp verify: mismatch",
    ),
    (
        "otp/totp_verify",
        "mfa_otp verify: match",
        "totp-rs check: match",
    ),
    (
        "otp/totp_verify",
        "mfa_otp verify: mismatch",
        "totp-rs check: mismatch",
    ),
    (
        "webauthn/assertion_es256",
        "mfa-webauthn default (ring)",
        "baseline: raw ring verify",
    ),
    (
        "webauthn/assertion_es256",
        "mfa-webauthn pure Rust",
        "baseline: raw p256 verify",
    ),
];

fn totp(plan: Plan, rng: &mut StdRng) -> Report {
    let fixture = otp_setup::TotpFixture::new();
    let (totp, credential, now) = (&fixture.totp, &fixture.credential, fixture.now);
    let contenders = vec![
        Contender::simple("mfa_otp verify: match", || {
            totp.verify(
                black_box(credential),
                black_box(&fixture.current),
                black_box(now),
            )
        }),
        Contender::simple("mfa_otp verify: mismatch", || {
            totp.verify(
                black_box(credential),
                black_box(&fixture.wrong),
                black_box(now),
            )
        }),
        Contender::simple("baseline: key schedule + 3 raw HMAC-SHA1", || {
            otp_setup::key_schedule_and_three_hmacs(
                black_box(otp_setup::KEY),
                black_box(fixture.step),
            )
        }),
        Contender::simple("totp-rs check: match", || {
            black_box(&fixture.totp_rs)
                .check(black_box(&fixture.current), black_box(otp_setup::NOW))
        }),
        Contender::simple("totp-rs check: mismatch", || {
            black_box(&fixture.totp_rs).check(black_box(&fixture.wrong), black_box(otp_setup::NOW))
        }),
    ];
    measure("otp/totp_verify", contenders, plan, rng)
}

fn webauthn(plan: Plan, rng: &mut StdRng) -> Report {
    let fixture = webauthn_setup::AssertionFixture::new();
    let fixture = &fixture;
    let contenders = vec![
        Contender::with_setup(
            "mfa-webauthn default (ring)",
            || fixture.fresh_state(),
            |state| fixture.verify(state, &DefaultVerifier),
        ),
        Contender::simple("baseline: raw ring verify", || fixture.raw_ring()),
        Contender::with_setup(
            "mfa-webauthn pure Rust",
            || fixture.fresh_state(),
            |state| fixture.verify(state, &RustCryptoVerifier),
        ),
        Contender::simple("baseline: raw p256 verify", || fixture.raw_p256()),
    ];
    measure("webauthn/assertion_es256", contenders, plan, rng)
}

fn main() {
    // `cargo bench` passes `--bench`; the only option of our own is `--rounds N`.
    let mut rounds = 2_000_u32;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .expect("--rounds takes a positive number");
        }
    }
    let mut rng = StdRng::seed_from_u64(15);
    let reports = [
        totp(
            Plan {
                rounds,
                batch_time: Duration::from_micros(200),
            },
            &mut rng,
        ),
        webauthn(
            Plan {
                rounds: rounds / 4,
                batch_time: Duration::from_millis(2),
            },
            &mut rng,
        ),
    ];
    let mut ratios = Vec::new();
    for report in &reports {
        println!("{} ({} rounds)", report.group, report.rounds);
        for row in &report.rows {
            let t = row.ns_per_call;
            println!(
                "  {:<45} {:>12.1} ns per call (quartiles {:.1} .. {:.1}; {} per batch)",
                row.name, t.median, t.p25, t.p75, row.batch
            );
        }
        for (group, top, bottom) in RATIOS.iter().filter(|(g, _, _)| *g == report.group) {
            let ratio = report.ratio(top, bottom).expect("rows of this group");
            println!(
                "  ratio {top} / {bottom}: {:.3} (quartiles {:.3} .. {:.3})",
                ratio.median, ratio.p25, ratio.p75
            );
            ratios.push(serde_json::json!({
                "group": group, "numerator": top, "denominator": bottom, "ratio": ratio,
            }));
        }
    }
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        )
        .join("paired");
    std::fs::create_dir_all(&out).expect("target/paired");
    let json = serde_json::json!({ "reports": reports, "ratios": ratios });
    let path = out.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write");
    println!("wrote {}", path.display());
}
