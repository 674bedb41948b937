//! TOTP enrollment that must be confirmed (issue 9, item 8), and the one-clock store helpers
//! (item 4): begin, confirm with a code from the app, throttling, expiry, replay, concurrency,
//! recovery after a failure half-way, and the async twins.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Duration;

use mfa_core::{
    AttemptError, Clock, ManualClock, MemoryStore, Method, NewRecord, RecordKey, Store, StoreError,
    StoredRecord, SwapOutcome, ThrottlePolicy, ThrottleStatus, Throttled, UnixTime, Version,
    insert_new, list, load,
};
use mfa_otp::{
    DEFAULT_ENROLLMENT_TTL, HotpCredential, HotpParams, OtpError, OtpSecret, PendingTotp,
    TOTP_PENDING_RECORD_KIND, TOTP_RECORD_KIND, TotpCredential, TotpEnrollmentPolicy, TotpParams,
    begin_totp_enrollment, begin_totp_enrollment_async, confirm_totp_enrollment,
    confirm_totp_enrollment_async, hotp_record_key, totp_pending_record_key, totp_record_key,
    verify_hotp_async, verify_totp, verify_totp_async,
};

const ACCOUNT: &str = "alice";
const ID: &str = "phone";
const START: u64 = 1_800_000_000;

/// The code the user's app shows for `pending` at `now`.
fn app_code(pending: &PendingTotp, now: UnixTime) -> String {
    pending
        .params()
        .code_at(pending.secret(), now)
        .unwrap()
        .as_str()
        .to_owned()
}

/// A code that no step of the ±1 window around `now` has.
fn wrong_code(pending: &PendingTotp, now: UnixTime) -> String {
    let window: Vec<String> = [-30_i64, 0, 30]
        .iter()
        .map(|offset| {
            app_code(
                pending,
                UnixTime::from_secs(now.as_secs().saturating_add_signed(*offset)),
            )
        })
        .collect();
    (0..10_u32)
        .map(|digit| digit.to_string().repeat(6))
        .find(|candidate| !window.contains(candidate))
        .unwrap()
}

fn pending_key() -> RecordKey {
    totp_pending_record_key(ACCOUNT, ID)
}

fn credential_key() -> RecordKey {
    totp_record_key(ACCOUNT, ID)
}

fn pending_throttle_key() -> RecordKey {
    ThrottlePolicy::key_for(&pending_key())
}

fn begin(store: &impl Store, now: UnixTime) -> PendingTotp {
    begin_totp_enrollment(
        store,
        ACCOUNT,
        ID,
        &TotpEnrollmentPolicy::default(),
        &mut rand::rng(),
        now,
    )
    .unwrap()
}

fn exists(store: &impl Store, key: &RecordKey) -> bool {
    store.load(key).unwrap().is_some()
}

#[test]
fn record_keys_and_kinds() {
    assert_eq!(TOTP_RECORD_KIND, "totp");
    assert_eq!(TOTP_PENDING_RECORD_KIND, "totp_pending");
    assert_eq!(credential_key(), RecordKey::new("totp", "alice", "phone"));
    assert_eq!(
        pending_key(),
        RecordKey::new("totp_pending", "alice", "phone")
    );
    assert_eq!(
        hotp_record_key("alice", "token"),
        RecordKey::new("hotp", "alice", "token")
    );
    // The pending enrollment is throttled on a record of its own, not the credential's.
    assert_ne!(
        pending_throttle_key(),
        ThrottlePolicy::key_for(&credential_key())
    );
}

#[test]
fn begin_then_confirm_makes_the_credential() {
    let store = MemoryStore::new();
    let begun = UnixTime::from_secs(START);
    let pending = begin(&store, begun);
    assert_eq!(pending.credential_id(), ID);
    assert_eq!(
        pending.expires_at(),
        begun.saturating_add(DEFAULT_ENROLLMENT_TTL)
    );
    assert_eq!(pending.secret().bits(), 160);
    let uri = pending
        .key_uri(Some("Example"), "alice@example.com")
        .unwrap();
    assert!(
        uri.to_uri()
            .starts_with("otpauth://totp/Example:alice@example.com?secret=")
    );
    assert_eq!(uri.secret(), pending.secret());
    assert!(!format!("{pending:?}").contains(pending.secret().to_base32().as_str()));
    // Until confirmed, there is nothing to sign in with.
    assert!(exists(&store, &pending_key()));
    assert!(!exists(&store, &credential_key()));
    let throttle = ThrottlePolicy::default();
    let now = begun.saturating_add(Duration::from_secs(40));
    let early = verify_totp(
        &store,
        &credential_key(),
        &throttle,
        &app_code(&pending, now),
        now,
    );
    assert!(matches!(early, Err(AttemptError::NotEnrolled)));

    let code = app_code(&pending, now);
    let verified = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now).unwrap();
    assert_eq!(verified.evidence().method, Method::Totp);
    assert_eq!(verified.evidence().verified_at, now);
    assert_eq!(verified.evidence().credential.as_str(), ID);
    let credential = verified.credential();
    assert_eq!(credential.secret(), pending.secret());
    assert_eq!(credential.last_step(), Some(now.as_secs() / 30));
    assert_eq!(credential.created_at(), Some(now));
    assert_eq!(credential.last_used_at(), Some(now));
    let stored: TotpCredential = load(&store, &credential_key()).unwrap().unwrap();
    assert_eq!(&stored, credential);
    // Only the credential is left: no pending enrollment, no throttle record.
    assert!(!exists(&store, &pending_key()));
    assert!(!exists(&store, &pending_throttle_key()));
    assert_eq!(store.len(), 1);

    // The next code signs in, with one clock argument.
    let later = now.saturating_add(Duration::from_secs(30));
    let signed_in = verify_totp(
        &store,
        &credential_key(),
        &throttle,
        &app_code(&pending, later),
        later,
    )
    .unwrap();
    assert_eq!(signed_in.credential().last_used_at(), Some(later));
    assert_eq!(signed_in.credential().created_at(), Some(now));
}

#[test]
fn a_wrong_code_counts_and_leaves_the_enrollment_to_retype() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(UnixTime::from_secs(START));
    let pending = begin(&store, clock.now());
    let throttle = ThrottlePolicy::default();
    let wrong = wrong_code(&pending, clock.now());
    let rejected = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &wrong, clock.now());
    let error = rejected.unwrap_err();
    assert!(matches!(
        error,
        AttemptError::Rejected(OtpError::CodeMismatch)
    ));
    assert_eq!(error.http_status(), 401);
    let malformed = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, "12", clock.now());
    assert!(matches!(
        malformed,
        Err(AttemptError::Rejected(OtpError::MalformedCode))
    ));
    // Both counted, on the pending enrollment's throttle record; the enrollment is still there.
    assert_eq!(
        throttle
            .status(&store, &pending_key(), clock.now())
            .unwrap(),
        ThrottleStatus::Open { failures: 2 }
    );
    assert!(exists(&store, &pending_key()));
    assert!(!exists(&store, &credential_key()));

    clock.advance(Duration::from_secs(20));
    let code = app_code(&pending, clock.now());
    let _confirmed =
        confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, clock.now()).unwrap();
    assert!(exists(&store, &credential_key()));
    assert!(!exists(&store, &pending_key()));
    assert!(!exists(&store, &pending_throttle_key()));
    assert_eq!(store.len(), 1);
}

#[test]
fn guessing_the_confirmation_is_throttled() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(UnixTime::from_secs(START));
    let pending = begin(&store, clock.now());
    let throttle = ThrottlePolicy::default(); // five free failures, then 1 s, 2 s …
    let wrong = wrong_code(&pending, clock.now());
    for _ in 0..6 {
        let result = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &wrong, clock.now());
        assert!(matches!(
            result,
            Err(AttemptError::Rejected(OtpError::CodeMismatch))
        ));
    }
    let right = app_code(&pending, clock.now());
    let early = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &right, clock.now());
    let error = early.unwrap_err();
    assert!(matches!(
        error,
        AttemptError::Throttled(Throttled::TooSoon { .. })
    ));
    assert_eq!(
        (error.http_status(), error.retry_after()),
        (429, Some(Duration::from_secs(1)))
    );
    // Throttling the enrollment does not touch the credential's own throttle record.
    assert!(!exists(&store, &ThrottlePolicy::key_for(&credential_key())));
    clock.advance(Duration::from_secs(1));
    let right = app_code(&pending, clock.now());
    let _confirmed =
        confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &right, clock.now()).unwrap();
    assert_eq!(store.len(), 1);
}

#[test]
fn an_expired_enrollment_is_refused_without_counting_and_removed() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(UnixTime::from_secs(START));
    let throttle = ThrottlePolicy::default();
    let pending = begin(&store, clock.now());
    // A second enrollment, confirmed one second before its deadline, still works.
    let policy = TotpEnrollmentPolicy {
        expires_after: Duration::from_secs(120),
        ..TotpEnrollmentPolicy::default()
    };
    let tablet = begin_totp_enrollment(
        &store,
        ACCOUNT,
        "tablet",
        &policy,
        &mut rand::rng(),
        clock.now(),
    )
    .unwrap();
    clock.advance(Duration::from_secs(119));
    let code = app_code(&tablet, clock.now());
    let _tablet =
        confirm_totp_enrollment(&store, ACCOUNT, "tablet", &throttle, &code, clock.now()).unwrap();

    clock.set(pending.expires_at());
    let code = app_code(&pending, clock.now());
    let expired = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, clock.now());
    let error = expired.unwrap_err();
    assert!(matches!(
        error,
        AttemptError::Rejected(OtpError::EnrollmentExpired)
    ));
    assert_eq!(
        (error.reason(), error.http_status()),
        ("enrollment_expired", 401)
    );
    // Not counted, and the expired record (which holds a secret) is gone.
    assert!(!exists(&store, &pending_throttle_key()));
    assert!(!exists(&store, &pending_key()));
    assert!(!exists(&store, &credential_key()));
    let again = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, clock.now());
    assert!(matches!(again, Err(AttemptError::ChallengeNotFound)));
    // Beginning again works.
    let fresh = begin(&store, clock.now());
    let code = app_code(&fresh, clock.now());
    let _confirmed =
        confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, clock.now()).unwrap();
}

#[test]
fn the_confirming_code_cannot_then_sign_in() {
    let store = MemoryStore::new();
    let now = UnixTime::from_secs(START);
    let pending = begin(&store, now);
    let throttle = ThrottlePolicy::default();
    let code = app_code(&pending, now);
    let _confirmed = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now).unwrap();
    for seconds in [0, 5, 29] {
        let at = now.saturating_add(Duration::from_secs(seconds));
        let replay = verify_totp(&store, &credential_key(), &throttle, &code, at);
        assert!(
            matches!(replay, Err(AttemptError::Rejected(OtpError::Replayed))),
            "{seconds}"
        );
    }
    // Nor confirm a second time: the enrollment is done.
    let twice = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now);
    assert!(matches!(twice, Err(AttemptError::ChallengeNotFound)));
}

#[test]
fn sixteen_threads_confirm_one_enrollment_exactly_one_wins() {
    const THREADS: usize = 16;
    let throttle = ThrottlePolicy::default();
    let mut losers = Vec::new();
    for round in 0..10_u64 {
        // Every store operation takes a little while, so the sixteen really do overlap.
        let store = Flaky::slow(Duration::from_micros(200));
        let now = UnixTime::from_secs(START + 30 * round);
        let pending = begin(&store, now);
        let code = app_code(&pending, now);
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}"
        );
        for result in &results {
            if let Err(error) = result {
                losers.push(error.reason());
            }
            assert!(
                matches!(
                    result,
                    Ok(_)
                        | Err(AttemptError::Rejected(OtpError::Replayed)
                            | AttemptError::Throttled(_)
                            | AttemptError::ChallengeNotFound
                            | AttemptError::Store(StoreError::Contention { .. }))
                ),
                "round {round}: {result:?}"
            );
        }
        let credentials: Vec<(RecordKey, TotpCredential)> =
            list(&store, TOTP_RECORD_KIND, ACCOUNT).unwrap();
        assert_eq!(credentials.len(), 1, "round {round}");
        assert_eq!(credentials[0].1.secret(), pending.secret());
        let pendings: Vec<(RecordKey, serde_json::Value)> =
            list(&store, TOTP_PENDING_RECORD_KIND, ACCOUNT).unwrap();
        assert!(pendings.is_empty(), "round {round}");
        // No throttle record either: the losers' counts went with the enrollment.
        assert!(!exists(&store, &pending_throttle_key()), "round {round}");
        assert_eq!(store.inner.len(), 1, "round {round}");
    }
    // The race was real: some losers got as far as checking the confirmed enrollment.
    assert!(losers.contains(&"replayed"), "{losers:?}");
}

#[test]
fn beginning_again_replaces_the_pending_enrollment() {
    let store = MemoryStore::new();
    let now = UnixTime::from_secs(START);
    let throttle = ThrottlePolicy::default();
    let first = begin(&store, now);
    let second = begin(&store, now);
    assert_ne!(first.secret(), second.secret());
    let stale =
        confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &app_code(&first, now), now);
    assert!(matches!(
        stale,
        Err(AttemptError::Rejected(OtpError::CodeMismatch))
    ));
    let verified =
        confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &app_code(&second, now), now)
            .unwrap();
    assert_eq!(verified.credential().secret(), second.secret());
}

#[test]
fn an_existing_credential_is_a_conflict() {
    let store = MemoryStore::new();
    let now = UnixTime::from_secs(START);
    let throttle = ThrottlePolicy::default();
    // Begun before someone else enrolled a credential under the same id.
    let pending = begin(&store, now);
    let other = TotpCredential::new(
        ID,
        OtpSecret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap(),
        TotpParams::default(),
    );
    insert_new(&store, &credential_key(), &other).unwrap();
    let conflict = confirm_totp_enrollment(
        &store,
        ACCOUNT,
        ID,
        &throttle,
        &app_code(&pending, now),
        now,
    );
    let error = conflict.unwrap_err();
    assert!(matches!(
        error,
        AttemptError::Store(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(
        (error.http_status(), error.reason()),
        (409, "already_exists")
    );
    // The other credential is untouched; the enrollment that can never complete is gone.
    let stored: TotpCredential = load(&store, &credential_key()).unwrap().unwrap();
    assert_eq!(stored, other);
    assert!(!exists(&store, &pending_key()));
    // Beginning again is refused up front.
    let refused = begin_totp_enrollment(
        &store,
        ACCOUNT,
        ID,
        &TotpEnrollmentPolicy::default(),
        &mut rand::rng(),
        now,
    );
    let error: AttemptError<OtpError> = refused.unwrap_err().into();
    assert_eq!(error.http_status(), 409);
    assert!(!exists(&store, &pending_key()));
}

#[test]
fn confirming_nothing_is_challenge_not_found() {
    let store = MemoryStore::new();
    let result = confirm_totp_enrollment(
        &store,
        ACCOUNT,
        ID,
        &ThrottlePolicy::default(),
        "123456",
        UnixTime::from_secs(START),
    );
    let error = result.unwrap_err();
    assert!(matches!(error, AttemptError::ChallengeNotFound));
    assert_eq!(error.http_status(), 401);
    assert!(store.is_empty(), "nothing written for a made-up enrollment");
}

/// Which compare-and-swap of [`Flaky`] fails.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fail {
    Nothing,
    /// Writing a TOTP credential (step 2 of a confirmation).
    CredentialWrite,
    /// Deleting a pending enrollment (step 3).
    PendingDelete,
}

/// A memory store whose chosen writes fail, like a crash half-way through a confirmation, and
/// whose every operation may take a while, like a networked one (so that concurrent requests
/// interleave).
struct Flaky {
    inner: MemoryStore,
    fail: Mutex<Fail>,
    latency: Duration,
}

impl Flaky {
    fn new() -> Self {
        Self::slow(Duration::ZERO)
    }

    fn slow(latency: Duration) -> Self {
        Self {
            inner: MemoryStore::new(),
            fail: Mutex::new(Fail::Nothing),
            latency,
        }
    }

    fn wait(&self) {
        if !self.latency.is_zero() {
            thread::sleep(self.latency);
        }
    }

    fn fail(&self, fail: Fail) {
        *self.fail.lock().unwrap() = fail;
    }
}

impl Store for Flaky {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        self.wait();
        self.inner.load(key)
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new_value: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let failing = match *self.fail.lock().unwrap() {
            Fail::Nothing => false,
            Fail::CredentialWrite => key.kind() == TOTP_RECORD_KIND,
            Fail::PendingDelete => key.kind() == TOTP_PENDING_RECORD_KIND && new_value.is_none(),
        };
        if failing {
            return Err(StoreError::Unavailable("injected failure".into()));
        }
        self.wait();
        self.inner.compare_and_swap(key, expected, new_value)
    }

    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        self.inner.list(kind, account)
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        self.inner.find_by_id(kind, id)
    }
}

/// A failure after the pending enrollment was marked confirmed, before the credential was
/// written: a retry with a newer code completes it; the confirming code stays used.
#[test]
fn a_confirmation_interrupted_before_the_credential_is_written_completes_on_retry() {
    let store = Flaky::new();
    let now = UnixTime::from_secs(START);
    let throttle = ThrottlePolicy::default();
    let pending = begin(&store, now);
    let code = app_code(&pending, now);
    store.fail(Fail::CredentialWrite);
    let failed = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now);
    assert!(matches!(
        failed,
        Err(AttemptError::Store(StoreError::Unavailable(_)))
    ));
    assert!(!exists(&store, &credential_key()));
    assert!(exists(&store, &pending_key()));
    store.fail(Fail::Nothing);

    // The same code again is a replay: it was consumed by the interrupted confirmation.
    let replay = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now);
    assert!(matches!(
        replay,
        Err(AttemptError::Rejected(OtpError::Replayed))
    ));
    let later = now.saturating_add(Duration::from_secs(30));
    let next = app_code(&pending, later);
    let verified = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &next, later).unwrap();
    assert_eq!(
        verified.credential().last_step(),
        Some(later.as_secs() / 30)
    );
    assert_eq!(verified.credential().created_at(), Some(now));
    assert_eq!(store.inner.len(), 1);
    let signed_in = verify_totp(&store, &credential_key(), &throttle, &next, later);
    assert!(matches!(
        signed_in,
        Err(AttemptError::Rejected(OtpError::Replayed))
    ));
}

/// A failure after the credential was written, before the pending enrollment was removed: the
/// confirmation still succeeds (the credential is committed); confirming again with a newer code
/// finds its own credential and moves it forward instead of creating a second one, and a code
/// the credential has already accepted is a replay.
#[test]
fn a_confirmation_interrupted_before_the_cleanup_completes_idempotently() {
    let store = Flaky::new();
    let now = UnixTime::from_secs(START);
    let throttle = ThrottlePolicy::default();
    let pending = begin(&store, now);
    store.fail(Fail::PendingDelete);
    let code = app_code(&pending, now);
    let verified = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &code, now).unwrap();
    assert_eq!(verified.credential().created_at(), Some(now));
    assert!(exists(&store, &pending_key()));
    store.fail(Fail::Nothing);

    // Signing in moves the credential on by one step…
    let second = now.saturating_add(Duration::from_secs(30));
    let second_code = app_code(&pending, second);
    let _signed_in =
        verify_totp(&store, &credential_key(), &throttle, &second_code, second).unwrap();
    // …so confirming with that code now is a replay against the credential, and completes the
    // cleanup.
    let replay = confirm_totp_enrollment(&store, ACCOUNT, ID, &throttle, &second_code, second);
    assert!(matches!(
        replay,
        Err(AttemptError::Rejected(OtpError::Replayed))
    ));
    assert!(!exists(&store, &pending_key()));
    assert_eq!(store.inner.len(), 1);

    // Again, with the retry coming before any sign-in: the credential moves forward.
    let store = Flaky::new();
    let pending = begin(&store, now);
    store.fail(Fail::PendingDelete);
    let _confirmed = confirm_totp_enrollment(
        &store,
        ACCOUNT,
        ID,
        &throttle,
        &app_code(&pending, now),
        now,
    )
    .unwrap();
    store.fail(Fail::Nothing);
    let verified = confirm_totp_enrollment(
        &store,
        ACCOUNT,
        ID,
        &throttle,
        &app_code(&pending, second),
        second,
    )
    .unwrap();
    assert_eq!(
        verified.credential().last_step(),
        Some(second.as_secs() / 30)
    );
    assert_eq!(verified.credential().created_at(), Some(now));
    let stored: TotpCredential = load(&store, &credential_key()).unwrap().unwrap();
    assert_eq!(&stored, verified.credential());
    assert!(!exists(&store, &pending_key()));
    assert_eq!(store.inner.len(), 1);
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// The async twins, on a real executor over an `Arc` of a store (shared state in a web server),
/// with a `Send` RNG so that every future can be spawned.
#[test]
fn async_twins_enroll_confirm_and_sign_in() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = std::sync::Arc::new(MemoryStore::new());
    let throttle = ThrottlePolicy::default();
    let now = UnixTime::from_secs(START);
    runtime.block_on(async {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        let policy = TotpEnrollmentPolicy::default();
        let pending = assert_send(begin_totp_enrollment_async(
            &store, ACCOUNT, ID, &policy, &mut rng, now,
        ))
        .await
        .unwrap();
        let code = app_code(&pending, now);
        let wrong = wrong_code(&pending, now);
        let rejected = assert_send(confirm_totp_enrollment_async(
            &store, ACCOUNT, ID, &throttle, &wrong, now,
        ))
        .await;
        assert!(matches!(
            rejected,
            Err(AttemptError::Rejected(OtpError::CodeMismatch))
        ));
        let verified = assert_send(confirm_totp_enrollment_async(
            &store, ACCOUNT, ID, &throttle, &code, now,
        ))
        .await
        .unwrap();
        assert_eq!(verified.credential().last_step(), Some(now.as_secs() / 30));
        assert_eq!(store.len(), 1);

        let replay = assert_send(verify_totp_async(
            &store,
            &credential_key(),
            &throttle,
            &code,
            now,
        ))
        .await;
        assert!(matches!(
            replay,
            Err(AttemptError::Rejected(OtpError::Replayed))
        ));
        let later = now.saturating_add(Duration::from_secs(30));
        let next = app_code(&pending, later);
        let signed_in = verify_totp_async(&store, &credential_key(), &throttle, &next, later)
            .await
            .unwrap();
        assert_eq!(signed_in.credential().last_used_at(), Some(later));

        // HOTP: one call, the counter moves on, the same code again is a mismatch.
        let secret = OtpSecret::generate(&mut rng);
        let token = HotpCredential::new("token", secret.clone(), HotpParams::default(), 0)
            .with_created_at(now);
        let key = hotp_record_key(ACCOUNT, "token");
        mfa_core::insert_new_async(&store, &key, &token)
            .await
            .unwrap();
        let code = HotpParams::default().code(&secret, 3);
        let verified = assert_send(verify_hotp_async(
            &store,
            &key,
            &throttle,
            code.as_str(),
            later,
        ))
        .await
        .unwrap();
        assert_eq!(verified.credential().counter(), 4);
        assert_eq!(verified.evidence().method, Method::Hotp);
        let again = verify_hotp_async(&store, &key, &throttle, code.as_str(), later).await;
        assert!(matches!(
            again,
            Err(AttemptError::Rejected(OtpError::CodeMismatch))
        ));
    });
}
