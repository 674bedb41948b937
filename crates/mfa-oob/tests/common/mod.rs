//! A store on a manual clock, an in-memory sender and a seeded RNG: the shared test bench.
#![allow(
    clippy::unwrap_used,
    dead_code,
    unreachable_pub,
    reason = "test helpers unwrap fixed test data; not every test file uses every helper"
)]

use std::time::Duration;

use mfa_core::{
    AttemptError, Clock, ManualClock, MemoryStore, ThrottlePolicy, ThrottleStatus, UnixTime,
    Verified,
};
use mfa_oob::{
    Channel, CodeOutcome, CodeRequest, CodeTarget, EnrolledPhone, InMemorySender, Messages,
    OobError, OobPolicy, PhoneNumber, SentCode, oob_account_key, send_code, verify_code,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub const START: u64 = 1_800_000_000;

/// A parsed number (the test data is valid).
pub fn number(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text, None).unwrap()
}

/// A UK mobile, a US number, a German mobile: the numbers most tests use.
pub const UK_MOBILE: &str = "+44 7911 123456";
pub const US_NUMBER: &str = "+1 201 555 0123";
pub const DE_MOBILE: &str = "+49 151 23456789";

pub fn example_messages() -> Messages {
    Messages::new("Example")
        .unwrap()
        .with_webotp_host("example.com")
        .unwrap()
}

pub struct Bench {
    pub store: MemoryStore,
    pub clock: ManualClock,
    pub sender: InMemorySender,
    pub policy: OobPolicy,
    pub rng: StdRng,
}

impl Bench {
    pub fn new() -> Self {
        Self::with_policy(OobPolicy::new(example_messages()))
    }

    /// The default policy with `throttle`, and alice's phone "mobile" (UK_MOBILE) enrolled.
    pub fn alice_with_throttle(throttle: ThrottlePolicy) -> Self {
        let mut bench =
            Self::with_policy(OobPolicy::new(example_messages()).with_throttle(throttle));
        bench.enroll("alice", "mobile", &number(UK_MOBILE));
        bench
    }

    pub fn with_policy(policy: OobPolicy) -> Self {
        let clock = ManualClock::new(UnixTime::from_secs(START));
        Self {
            store: MemoryStore::with_clock(clock.clone()),
            clock,
            sender: InMemorySender::new(),
            policy,
            rng: StdRng::seed_from_u64(13),
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// Sends a code by `channel` for `transaction`, in English.
    pub fn send(
        &mut self,
        account: &str,
        transaction: &str,
        channel: Channel,
        target: CodeTarget<'_>,
    ) -> Result<SentCode, AttemptError<OobError>> {
        let request = CodeRequest {
            account,
            transaction,
            channel,
            language: "en",
        };
        let now = self.now();
        send_code(
            &self.store,
            &self.sender,
            &self.policy,
            &request,
            target,
            now,
            &mut self.rng,
        )
    }

    pub fn verify(
        &self,
        account: &str,
        transaction: &str,
        code: &str,
    ) -> Result<Verified<CodeOutcome>, AttemptError<OobError>> {
        verify_code(
            &self.store,
            &self.policy,
            account,
            transaction,
            code,
            self.now(),
        )
    }

    /// Sends a sign-in code by `channel` to the enrolled phone "mobile" for `transaction`.
    pub fn send_to_mobile(
        &mut self,
        account: &str,
        transaction: &str,
        channel: Channel,
    ) -> Result<SentCode, AttemptError<OobError>> {
        self.send(account, transaction, channel, CodeTarget::Phone("mobile"))
    }

    /// Sends an enrollment code by SMS to `number` under the phone id "m".
    pub fn send_new(
        &mut self,
        account: &str,
        transaction: &str,
        number: &PhoneNumber,
    ) -> Result<SentCode, AttemptError<OobError>> {
        let target = CodeTarget::NewPhone { id: "m", number };
        self.send(account, transaction, Channel::Sms, target)
    }

    /// What the throttle says of `account`'s out-of-band codes now.
    pub fn throttle_status(&self, account: &str) -> ThrottleStatus {
        self.policy
            .throttle()
            .status(&self.store, &oob_account_key(account), self.now())
            .unwrap()
    }

    /// Moves the clock to the next multiple of `seconds` since the epoch (the start of an hour
    /// or day window), so the previous window is empty.
    pub fn advance_to_window_start(&self, seconds: u64) {
        let into = self.now().as_secs() % seconds;
        self.advance(seconds - into);
    }

    /// The code of the last message the sender delivered.
    pub fn last_code(&self) -> String {
        self.sender
            .last()
            .unwrap()
            .code()
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// Enrolls `number` for `account` under `id` by SMS (send, then answer the code), and lets
    /// the resend gap pass.
    pub fn enroll(&mut self, account: &str, id: &str, number: &PhoneNumber) -> EnrolledPhone {
        let transaction = format!("enroll-{account}-{id}");
        self.send(
            account,
            &transaction,
            Channel::Sms,
            CodeTarget::NewPhone { id, number },
        )
        .unwrap();
        let code = self.last_code();
        let verified = self.verify(account, &transaction, &code).unwrap();
        self.advance(3600);
        verified.credential().phone().unwrap().clone()
    }
}

/// Runs `run(i)` on `threads` threads released together by a barrier; the results in thread order.
pub fn race<T: Send>(threads: usize, run: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (barrier, run) = (&barrier, &run);
                scope.spawn(move || {
                    barrier.wait();
                    run(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A code of the same length that differs from `code` in every digit.
pub fn other_code(code: &str) -> String {
    code.chars()
        .map(|c| {
            let digit = c.to_digit(10).unwrap();
            char::from_digit((digit + 1) % 10, 10).unwrap()
        })
        .collect()
}
