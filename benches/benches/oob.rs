//! One SMS-code verification through the store (`mfa_oob::verify_code` on a `MemoryStore`),
//! with the right code and with a wrong one, beside a baseline measured in the same run.
//!
//! - `verify_code: match` / `mismatch`: the whole path a sign-in takes: read the typed code,
//!   the throttle's admission (a compare-and-swap on the throttle record), *take* the pending
//!   code (load + delete), load the account, compare in constant time, and for a match commit the
//!   account (the phone's last use) and clear the throttle; for a mismatch give nothing back (the
//!   failure stays counted). A fresh code is sent before each measured call (not timed:
//!   `BatchSize::PerIteration`, since each new code replaces the pending one).
//! - `baseline: throttled toy challenge`: `mfa_core`'s `ThrottlePolicy::verify_challenge_and_commit`
//!   with a `u32` challenge and a `u32` credential: the same store operations with the smallest
//!   records and a trivial check, i.e. the floor the store machinery sets.
//! - `send_code`: sending one code (limits of account, number and country, storing the code,
//!   rendering the SMS) to a sender that drops it, for scale.
#![allow(missing_docs)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mfa_core::{
    Evidence, ManualClock, MemoryStore, Method, RecordKey, ThrottlePolicy, UnixTime, Verified,
    insert_new, put,
};
use mfa_oob::{
    Channel, CodeRequest, CodeTarget, DeliveryError, InMemorySender, Message, Messages, OobPolicy,
    PhoneNumber, ResendGaps, SendLimits, Sender, WindowLimits, send_code, verify_code,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_795_000_000;

/// A sender that delivers nowhere (keeps the bench's memory flat).
struct Discard;

impl Sender for Discard {
    fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        black_box(message.body().len());
        Ok(())
    }
}

/// Limits and a throttle that never get in the way of a benchmark loop on a frozen clock.
fn unlimited_policy() -> OobPolicy {
    let limits = SendLimits {
        per_account: WindowLimits::new(u32::MAX, u32::MAX),
        per_number: WindowLimits::new(u32::MAX, u32::MAX),
        per_country: WindowLimits::new(u32::MAX, u32::MAX),
        resend_gaps: ResendGaps {
            first: Duration::ZERO,
            max: Duration::ZERO,
            quiet_period: Duration::from_secs(3600),
        },
        ..SendLimits::default()
    };
    let throttle = ThrottlePolicy {
        free_failures: u32::MAX,
        max_consecutive_failures: u32::MAX,
        ..ThrottlePolicy::default()
    };
    let messages = Messages::new("Example")
        .expect("a valid name")
        .with_webotp_host("example.com")
        .expect("a valid host");
    OobPolicy::new(messages)
        .with_limits(limits)
        .expect("valid limits")
        .with_throttle(throttle)
}

struct Bench {
    store: MemoryStore,
    policy: OobPolicy,
    sender: InMemorySender,
    rng: RefCell<StdRng>,
    now: UnixTime,
}

impl Bench {
    /// An account with one enrolled phone.
    fn new(account: &str) -> Self {
        let clock = ManualClock::new(UnixTime::from_secs(NOW));
        let bench = Self {
            store: MemoryStore::with_clock(clock),
            policy: unlimited_policy(),
            sender: InMemorySender::new(),
            rng: RefCell::new(StdRng::seed_from_u64(1)),
            now: UnixTime::from_secs(NOW),
        };
        let number = PhoneNumber::parse("+44 7911 123456", None).expect("a valid number");
        bench.send(
            account,
            CodeTarget::NewPhone {
                id: "mobile",
                number: &number,
            },
        );
        let code = bench.last_code();
        let enrolled = verify_code(&bench.store, &bench.policy, account, "t", &code, bench.now)
            .expect("the enrollment code");
        assert_eq!(enrolled.evidence().method, Method::Sms);
        bench
    }

    fn send(&self, account: &str, target: CodeTarget<'_>) {
        let request = CodeRequest {
            account,
            transaction: "t",
            channel: Channel::Sms,
            language: "en",
        };
        send_code(
            &self.store,
            &self.sender,
            &self.policy,
            &request,
            target,
            self.now,
            &mut *self.rng.borrow_mut(),
        )
        .expect("no limit in the way");
    }

    fn last_code(&self) -> String {
        let message = self.sender.last().expect("a message");
        message.code().expect("a code").expose_secret().to_owned()
    }

    /// Sends a fresh sign-in code and returns it (and a wrong one), clearing the sender.
    fn fresh_code(&self, account: &str) -> (String, String) {
        self.send(account, CodeTarget::Phone("mobile"));
        let right = self.last_code();
        self.sender.clear();
        let wrong: String = right
            .chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect();
        (right, wrong)
    }
}

fn verify(c: &mut Criterion) {
    let matching = Bench::new("alice");
    let mismatching = Bench::new("bob");
    let (right, wrong) = matching.fresh_code("alice");
    assert!(
        verify_code(
            &matching.store,
            &matching.policy,
            "alice",
            "t",
            &right,
            matching.now
        )
        .is_ok()
    );
    assert!(
        verify_code(
            &matching.store,
            &matching.policy,
            "alice",
            "t",
            &wrong,
            matching.now
        )
        .is_err()
    );

    let mut group = c.benchmark_group("oob/verify_code");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_code: match", |b| {
        b.iter_batched(
            || matching.fresh_code("alice").0,
            |code| {
                verify_code(
                    &matching.store,
                    &matching.policy,
                    black_box("alice"),
                    black_box("t"),
                    black_box(&code),
                    matching.now,
                )
                .expect("the right code")
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("verify_code: mismatch", |b| {
        b.iter_batched(
            || mismatching.fresh_code("bob").1,
            |code| {
                verify_code(
                    &mismatching.store,
                    &mismatching.policy,
                    black_box("bob"),
                    black_box("t"),
                    black_box(&code),
                    mismatching.now,
                )
                .expect_err("a wrong code")
            },
            BatchSize::PerIteration,
        );
    });

    // The floor: the same throttled take-then-commit with the smallest records.
    let toy = MemoryStore::new();
    let throttle = unlimited_policy().throttle().clone();
    let credential = RecordKey::new("toy", "carol", "phone");
    let challenge = RecordKey::new("toy_challenge", "carol", "");
    insert_new(&toy, &credential, &0_u32).expect("a fresh store");
    let now = UnixTime::from_secs(NOW);
    group.bench_function("baseline: throttled toy challenge", |b| {
        b.iter_batched(
            || put(&toy, &challenge, &123_456_u32).expect("a fresh challenge"),
            |()| {
                throttle
                    .verify_challenge_and_commit(
                        &toy,
                        &challenge,
                        &credential,
                        now,
                        |shown: u32, _: &u32| {
                            if shown == black_box(123_456) {
                                Ok(())
                            } else {
                                Err(mfa_oob::OobError::CodeMismatch)
                            }
                        },
                        |(): &(), uses: &u32| {
                            let evidence = Evidence::new(Method::Sms, now, "phone");
                            Ok(Verified::new(evidence, uses.wrapping_add(1)))
                        },
                    )
                    .expect("the toy answer")
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let sending = Bench::new("dave");
    let mut group = c.benchmark_group("oob/send_code");
    group.throughput(Throughput::Elements(1));
    let request = CodeRequest {
        account: "dave",
        transaction: "t",
        channel: Channel::Sms,
        language: "de-AT",
    };
    group.bench_function("send_code: sms to an enrolled phone", |b| {
        b.iter(|| {
            send_code(
                &sending.store,
                &Discard,
                &sending.policy,
                black_box(&request),
                CodeTarget::Phone("mobile"),
                sending.now,
                &mut *sending.rng.borrow_mut(),
            )
            .expect("no limit in the way")
        });
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
