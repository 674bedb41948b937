//! Shared test fixtures: a store, a seeded RNG, enrolled phones, and a scene with one user.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;

use mfa_core::{AttemptError, ManualClock, MemoryStore, UnixTime, Verified};
use mfa_push::{
    Answer, ChallengeRequest, DeviceKey, EnrollmentUri, EventLog, Platform, PushApproval,
    PushDevice, PushError, PushOutcome, PushPolicy, StartedChallenge,
};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

pub const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A store that judges record expiry by a manual clock standing at `start` (never by the
/// system clock: a test means the same thing whatever the date), and that clock.
pub fn store_at(start: UnixTime) -> (MemoryStore, ManualClock) {
    let clock = ManualClock::new(start);
    (MemoryStore::with_clock(clock.clone()), clock)
}

/// A store whose clock stands at [`NOW`] (for tests that never move it).
pub fn store() -> MemoryStore {
    store_at(NOW).0
}

pub fn policy() -> PushPolicy {
    PushPolicy::new("Example")
}

/// Enrolls a fresh phone for `account`, the way the app would: scan, sign, post.
pub fn enroll(
    store: &MemoryStore,
    policy: &PushPolicy,
    account: &str,
    rng: &mut StdRng,
) -> (DeviceKey, PushDevice) {
    let offer = mfa_push::begin_enrollment(store, policy, account, NOW, rng).expect("enrollment");
    let scanned = EnrollmentUri::parse(&offer.uri.to_uri()).expect("scanned uri");
    let phone = DeviceKey::generate(rng);
    let message = phone
        .registration_message(&scanned, "phone", Platform::Android, Some("fcm-token"), NOW)
        .expect("registration message");
    let device = mfa_push::register_device(store, policy, &message, NOW).expect("registered");
    (phone, device)
}

/// A number as wide as the one `started` shows, but not it.
pub fn wrong_number(started: &StartedChallenge) -> String {
    let shown = started.number.expose_digits();
    let zeros = "0".repeat(shown.len());
    if shown == zeros {
        format!("{}1", &zeros[1..])
    } else {
        zeros
    }
}

/// The rejection in `result`.
pub fn rejection<T: Debug>(result: Result<T, AttemptError<PushError>>) -> PushError {
    match result {
        Err(AttemptError::Rejected(error)) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// One store with "alice" enrolled on one phone; every event goes to `events`. The store's
/// clock is set to the `now` of each call made through the scene, as a server and its store
/// read one clock.
pub struct Scene {
    pub store: MemoryStore,
    /// The store's clock.
    pub clock: ManualClock,
    pub policy: PushPolicy,
    pub rng: StdRng,
    pub phone: DeviceKey,
    pub device: PushDevice,
    pub events: EventLog,
}

impl Scene {
    pub fn new(policy: PushPolicy, seed: u64) -> Self {
        let (store, clock) = store_at(NOW);
        let mut rng = rng(seed);
        let (phone, device) = enroll(&store, &policy, "alice", &mut rng);
        Self {
            store,
            clock,
            policy,
            rng,
            phone,
            device,
            events: EventLog::new(),
        }
    }

    pub fn try_start_with(
        &mut self,
        request: &ChallengeRequest,
        now: UnixTime,
    ) -> Result<StartedChallenge, AttemptError<PushError>> {
        self.clock.set(now);
        mfa_push::start_challenge(
            &self.store,
            &self.policy,
            request,
            now,
            &mut self.rng,
            &self.events,
        )
    }

    pub fn try_start(
        &mut self,
        transaction: &str,
        now: UnixTime,
    ) -> Result<StartedChallenge, AttemptError<PushError>> {
        self.try_start_with(&ChallengeRequest::new("alice", transaction), now)
    }

    pub fn start(&mut self, transaction: &str, now: UnixTime) -> StartedChallenge {
        self.try_start(transaction, now).expect("started")
    }

    pub fn answer_from(
        &self,
        phone: &DeviceKey,
        started: &StartedChallenge,
        answer: &Answer,
        now: UnixTime,
    ) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
        let response = phone.respond(&started.id, answer, now).expect("signed");
        self.clock.set(now);
        mfa_push::verify_response(&self.store, &self.policy, &response, now, &self.events)
    }

    pub fn answer(
        &self,
        started: &StartedChallenge,
        answer: &Answer,
        now: UnixTime,
    ) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
        self.answer_from(&self.phone, started, answer, now)
    }

    /// Approves with the number the sign-in page shows.
    pub fn approve(
        &self,
        started: &StartedChallenge,
        now: UnixTime,
    ) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
        let shown = Answer::approve(started.number.expose_digits()).expect("digits");
        self.answer(started, &shown, now)
    }

    pub fn typed(
        &self,
        started: &StartedChallenge,
        digits: &str,
        now: UnixTime,
    ) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
        self.answer(started, &Answer::approve(digits).expect("digits"), now)
    }

    /// Answers with a wrong number (of the right width).
    pub fn wrong(
        &self,
        started: &StartedChallenge,
        now: UnixTime,
    ) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
        self.typed(started, &wrong_number(started), now)
    }

    pub fn outcome(
        &self,
        started: &StartedChallenge,
        transaction: &str,
        now: UnixTime,
    ) -> Result<PushOutcome, AttemptError<PushError>> {
        self.clock.set(now);
        mfa_push::take_outcome(&self.store, "alice", &started.id, transaction, now)
    }
}
