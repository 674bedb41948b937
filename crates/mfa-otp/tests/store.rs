//! Through mfa-core's store helpers: one winner among concurrent submissions of a code,
//! throttling with a manual clock, and the stored form of credentials.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use ciborium::Value;
use mfa_core::{
    AttemptError, Clock, ManualClock, MemoryStore, NewRecord, RecordKey, Store, StoreError,
    SwapOutcome, ThrottlePolicy, ThrottleStatus, Throttled, UnixTime, insert_new, load,
    verify_and_commit,
};
use mfa_otp::{
    Hotp, HotpCredential, HotpParams, OtpError, OtpSecret, Totp, TotpCredential, TotpParams,
    hotp_record_key, totp_record_key, verify_hotp, verify_totp,
};
use serde::Serialize;

const KEY_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn enrolled(store: &MemoryStore, name: &str) -> (RecordKey, TotpCredential) {
    let credential = TotpCredential::new(
        name,
        OtpSecret::from_base32(KEY_B32).unwrap(),
        TotpParams::default(),
    );
    let key = totp_record_key("alice", name);
    insert_new(store, &key, &credential).unwrap();
    (key, credential)
}

#[test]
fn many_threads_submit_one_code_exactly_one_wins() {
    const THREADS: usize = 16;
    let totp = Totp::new();
    for round in 0..10_u64 {
        let store = MemoryStore::new();
        let (key, credential) = enrolled(&store, &format!("app-{round}"));
        let now = UnixTime::from_secs(1_700_000_000 + 30 * round);
        let code = credential.code_at(now).unwrap();
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        verify_and_commit(&store, &key, totp.check(code.as_str(), now))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let replays = results
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::Rejected(OtpError::Replayed))))
            .count();
        assert_eq!(wins, 1, "round {round}");
        assert_eq!(replays, THREADS - 1, "round {round}");
        let stored: TotpCredential = load(&store, &key).unwrap().unwrap();
        assert_eq!(
            stored.last_step(),
            Some(credential.params().step_at(now).unwrap())
        );
    }
}

#[test]
fn many_threads_submit_one_hotp_code_exactly_one_wins() {
    const THREADS: usize = 16;
    let store = MemoryStore::new();
    let secret = OtpSecret::from_base32(KEY_B32).unwrap();
    let credential = HotpCredential::new("token", secret.clone(), HotpParams::default(), 5);
    let key = RecordKey::new("hotp", "alice", "token");
    insert_new(&store, &key, &credential).unwrap();
    let code = HotpParams::default().code(&secret, 7);
    let hotp = Hotp::new();
    let barrier = Barrier::new(THREADS);
    let results: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    verify_and_commit(&store, &key, hotp.check(code.as_str(), UnixTime::EPOCH))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let stored: HotpCredential = load(&store, &key).unwrap().unwrap();
    assert_eq!(stored.counter(), 8);
}

#[test]
fn wrong_codes_are_throttled_and_a_success_clears_the_count() {
    let store = MemoryStore::new();
    let (key, credential) = enrolled(&store, "app");
    let clock = ManualClock::new(UnixTime::from_secs(1_800_000_000));
    let policy = ThrottlePolicy::default(); // five free failures, then 1 s, 2 s, 4 s …
    let right = credential.code_at(clock.now()).unwrap();
    let wrong = if right.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    for attempt in 0..6 {
        let result = verify_totp(&store, &key, &policy, wrong, clock.now());
        let Err(error) = result else {
            panic!("attempt {attempt} accepted a wrong code")
        };
        assert_eq!(error.reason(), "code_mismatch");
    }
    // Now even the right code must wait.
    let early = verify_totp(&store, &key, &policy, right.as_str(), clock.now());
    assert!(matches!(
        early,
        Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) if retry_after == Duration::from_secs(1)
    ));
    // A malformed code counts too, once admitted.
    clock.advance(Duration::from_secs(1));
    let malformed = verify_totp(&store, &key, &policy, "12", clock.now());
    assert!(matches!(
        malformed,
        Err(AttemptError::Rejected(OtpError::MalformedCode))
    ));
    assert_eq!(
        policy.status(&store, &key, clock.now()).unwrap(),
        ThrottleStatus::Throttled(Throttled::TooSoon {
            retry_after: Duration::from_secs(2)
        })
    );
    clock.advance(Duration::from_secs(2));
    let code = credential.code_at(clock.now()).unwrap();
    let verified = verify_totp(&store, &key, &policy, code.as_str(), clock.now()).unwrap();
    assert_eq!(verified.evidence().credential.as_str(), "app");
    assert_eq!(
        policy.status(&store, &key, clock.now()).unwrap(),
        ThrottleStatus::Open { failures: 0 }
    );
    // The replay is a counted failure as well.
    let replay = verify_totp(&store, &key, &policy, code.as_str(), clock.now());
    assert_eq!(replay.unwrap_err().reason(), "replayed");
    assert_eq!(
        policy.status(&store, &key, clock.now()).unwrap(),
        ThrottleStatus::Open { failures: 1 }
    );
}

/// Issue 9, item 4: an HOTP sign-in is one call, with one clock argument; the counter moves on,
/// the same code again is a (counted) mismatch, and a success clears the count.
#[test]
fn hotp_sign_in_is_one_throttled_call() {
    let store = MemoryStore::new();
    let secret = OtpSecret::from_base32(KEY_B32).unwrap();
    let key = hotp_record_key("alice", "token");
    let credential = HotpCredential::new("token", secret.clone(), HotpParams::default(), 5);
    insert_new(&store, &key, &credential).unwrap();
    let policy = ThrottlePolicy::default();
    let now = UnixTime::from_secs(1_800_000_000);
    let code = HotpParams::default().code(&secret, 6);
    let verified = verify_hotp(&store, &key, &policy, code.as_str(), now).unwrap();
    assert_eq!(verified.evidence().method, mfa_core::Method::Hotp);
    assert_eq!(verified.credential().counter(), 7);
    assert_eq!(verified.credential().last_used_at(), Some(now));
    let again = verify_hotp(&store, &key, &policy, code.as_str(), now);
    assert!(matches!(
        again,
        Err(AttemptError::Rejected(OtpError::CodeMismatch))
    ));
    assert_eq!(
        policy.status(&store, &key, now).unwrap(),
        ThrottleStatus::Open { failures: 1 }
    );
    let next = HotpParams::default().code(&secret, 7);
    let _verified = verify_hotp(&store, &key, &policy, next.as_str(), now).unwrap();
    assert_eq!(
        policy.status(&store, &key, now).unwrap(),
        ThrottleStatus::Open { failures: 0 }
    );
    let stored: HotpCredential = load(&store, &key).unwrap().unwrap();
    assert_eq!(stored.counter(), 8);
    let missing = verify_hotp(
        &store,
        &hotp_record_key("bob", "token"),
        &policy,
        "123456",
        now,
    );
    assert!(matches!(missing, Err(AttemptError::NotEnrolled)));
}

#[test]
fn configuration_failures_do_not_count() {
    let store = MemoryStore::new();
    let credential = TotpCredential::new(
        "future",
        OtpSecret::from_base32(KEY_B32).unwrap(),
        TotpParams::default().with_t0(2_000_000_000),
    );
    let key = totp_record_key("alice", "future");
    insert_new(&store, &key, &credential).unwrap();
    let policy = ThrottlePolicy::default();
    let now = UnixTime::from_secs(1_000);
    for _ in 0..20 {
        let result = verify_totp(&store, &key, &policy, "123456", now);
        assert!(matches!(
            result,
            Err(AttemptError::Rejected(OtpError::BeforeEpoch))
        ));
    }
    assert_eq!(
        policy.status(&store, &key, now).unwrap(),
        ThrottleStatus::Open { failures: 0 }
    );
}

#[test]
fn stored_form_round_trips_and_debug_is_redacted() {
    let credential = TotpCredential::new(
        "app",
        OtpSecret::from_base32(KEY_B32).unwrap(),
        TotpParams::steam().with_t0(7),
    );
    let verified = Totp::new()
        .verify(
            &credential,
            credential
                .code_at(UnixTime::from_secs(1_000))
                .unwrap()
                .as_str(),
            UnixTime::from_secs(1_000),
        )
        .unwrap();
    let json = serde_json::to_string(verified.credential()).unwrap();
    let back: TotpCredential = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, verified.credential());
    assert_eq!(back.last_step(), Some(33));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["params"]["algorithm"], "sha1");
    assert_eq!(value["params"]["format"], "steam");
    assert_eq!(value["params"]["period"], 30);

    let debug = format!("{credential:?} {:?}", credential.secret());
    assert!(
        !debug.contains(KEY_B32) && !debug.contains("JBSW"),
        "{debug}"
    );
    assert!(!debug.contains("72, 101"), "{debug}"); // the bytes "He…"
    let code = credential.code_at(UnixTime::from_secs(1_000)).unwrap();
    assert!(!format!("{code:?}").contains(code.as_str()));

    // Invalid stored state is refused, not trusted.
    let bad_digits = json.replace("\"steam\"", "{\"decimal\":11}");
    assert!(serde_json::from_str::<TotpCredential>(&bad_digits).is_err());
    let bad_period = json.replace("\"period\":30", "\"period\":0");
    assert!(serde_json::from_str::<TotpCredential>(&bad_period).is_err());
    let hotp = HotpCredential::new(
        "t",
        OtpSecret::from_base32(KEY_B32).unwrap(),
        HotpParams::default(),
        1 << 40,
    );
    let json = serde_json::to_string(&hotp).unwrap();
    assert_eq!(serde_json::from_str::<HotpCredential>(&json).unwrap(), hotp);
}

/// `record` as the store keeps it (CBOR), with the field at `path` replaced by `value`: what a
/// hand-edited, restored or tampered record looks like.
fn tampered_cbor(record: &impl Serialize, path: &[&str], value: Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(record, &mut bytes).unwrap();
    let mut root: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
    let mut slot = &mut root;
    for name in path {
        let Value::Map(entries) = slot else {
            panic!("{name}: not a map")
        };
        slot = entries
            .iter_mut()
            .find_map(|(key, field)| (key.as_text() == Some(name)).then_some(field))
            .unwrap_or_else(|| panic!("no field {name}"));
    }
    *slot = value;
    let mut out = Vec::new();
    ciborium::into_writer(&root, &mut out).unwrap();
    out
}

/// Stores raw bytes under `key`, bypassing every type.
fn put_raw(store: &MemoryStore, key: &RecordKey, bytes: &[u8]) {
    let outcome = store
        .compare_and_swap(key, None, Some(NewRecord::new(bytes)))
        .unwrap();
    assert!(matches!(outcome, SwapOutcome::Committed(_)));
}

/// Review item 5: a stored TOTP or HOTP record whose digits or period is out of range fails to
/// load with [`StoreError::Corrupt`] (and a verification through the store with
/// [`AttemptError::Store`]) instead of being trusted or panicking.
#[test]
fn item5_stored_record_with_out_of_range_parameters_fails_to_load() {
    let secret = OtpSecret::from_base32(KEY_B32).unwrap();
    let totp = TotpCredential::new("app", secret.clone(), TotpParams::default());
    let hotp = HotpCredential::new("token", secret, HotpParams::default(), 3);
    let now = UnixTime::from_secs(1_700_000_000);
    let code = totp.code_at(now).unwrap();

    // In-range values load, so what fails below fails because of the one value changed.
    let store = MemoryStore::new();
    let key = RecordKey::new("totp", "alice", "in-range");
    put_raw(
        &store,
        &key,
        &tampered_cbor(&totp, &["params", "period"], Value::from(600_u64)),
    );
    let loaded: TotpCredential = load(&store, &key).unwrap().unwrap();
    assert_eq!(loaded.params().period.get(), 600);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "period 0",
            tampered_cbor(&totp, &["params", "period"], Value::from(0_u64)),
        ),
        (
            "period 601",
            tampered_cbor(&totp, &["params", "period"], Value::from(601_u64)),
        ),
        (
            "period 2^64-1",
            tampered_cbor(&totp, &["params", "period"], Value::from(u64::MAX)),
        ),
        (
            "period -1",
            tampered_cbor(&totp, &["params", "period"], Value::from(-1_i64)),
        ),
        (
            "TOTP digits 11",
            tampered_cbor(&totp, &["params", "format", "decimal"], Value::from(11_u64)),
        ),
        (
            "TOTP digits 5",
            tampered_cbor(&totp, &["params", "format", "decimal"], Value::from(5_u64)),
        ),
        (
            "TOTP digits 300",
            tampered_cbor(
                &totp,
                &["params", "format", "decimal"],
                Value::from(300_u64),
            ),
        ),
    ];
    for (index, (what, bytes)) in cases.iter().enumerate() {
        let store = MemoryStore::new();
        let key = RecordKey::new("totp", "alice", format!("app-{index}"));
        put_raw(&store, &key, bytes);
        let loaded = load::<_, TotpCredential>(&store, &key);
        assert!(
            matches!(loaded, Err(StoreError::Corrupt { .. })),
            "{what}: {loaded:?}"
        );
        let attempt = verify_and_commit(&store, &key, Totp::new().check(code.as_str(), now));
        assert!(
            matches!(
                attempt,
                Err(AttemptError::Store(StoreError::Corrupt { .. }))
            ),
            "{what}"
        );
    }

    for (what, digits) in [("HOTP digits 11", 11_u64), ("HOTP digits 0", 0)] {
        let store = MemoryStore::new();
        let key = RecordKey::new("hotp", "alice", "token");
        put_raw(
            &store,
            &key,
            &tampered_cbor(&hotp, &["params", "format", "decimal"], Value::from(digits)),
        );
        let loaded = load::<_, HotpCredential>(&store, &key);
        assert!(
            matches!(loaded, Err(StoreError::Corrupt { .. })),
            "{what}: {loaded:?}"
        );
    }
}

/// `record` as CBOR with the top-level fields `names` removed: a record stored by an older
/// version of this crate.
fn cbor_without(record: &impl Serialize, names: &[&str]) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(record, &mut bytes).unwrap();
    let Value::Map(mut entries) = ciborium::from_reader(bytes.as_slice()).unwrap() else {
        panic!("a credential is a map")
    };
    let before = entries.len();
    entries.retain(|(key, _)| !key.as_text().is_some_and(|name| names.contains(&name)));
    assert_eq!(entries.len(), before - names.len(), "every field was there");
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(entries), &mut out).unwrap();
    out
}

/// Issue 9, item 3: credentials say when they were created and last used. The times survive the
/// stored form (CBOR, JSON), every successful verification moves `last_used_at`, and records
/// stored before the fields existed still load, with both `None`.
#[test]
fn created_and_last_used_times_are_stored_and_old_records_still_load() {
    let secret = OtpSecret::from_base32(KEY_B32).unwrap();
    let created = UnixTime::from_secs(1_700_000_000);
    let totp =
        TotpCredential::new("app", secret.clone(), TotpParams::default()).with_created_at(created);
    let hotp = HotpCredential::new("token", secret.clone(), HotpParams::default(), 0)
        .with_created_at(created);
    assert_eq!(
        (totp.created_at(), totp.last_used_at()),
        (Some(created), None)
    );
    assert_eq!(
        (hotp.created_at(), hotp.last_used_at()),
        (Some(created), None)
    );
    let fresh = TotpCredential::generate("new", &mut rand::rng(), TotpParams::default());
    assert_eq!((fresh.created_at(), fresh.last_used_at()), (None, None));

    // Every successful verification records its time; a failed one changes nothing.
    let used = UnixTime::from_secs(1_700_000_100);
    let code = totp.code_at(used).unwrap();
    let totp = Totp::new().verify(&totp, code.as_str(), used).unwrap();
    let totp = totp.credential();
    assert_eq!(
        (totp.created_at(), totp.last_used_at()),
        (Some(created), Some(used))
    );
    let later = UnixTime::from_secs(1_700_000_200);
    let code = totp.code_at(later).unwrap();
    let totp = Totp::new().verify(totp, code.as_str(), later).unwrap();
    assert_eq!(totp.credential().last_used_at(), Some(later));
    let code = HotpParams::default().code(&secret, 0);
    let hotp = Hotp::new().verify(&hotp, code.as_str(), used).unwrap();
    assert_eq!(hotp.credential().last_used_at(), Some(used));
    let (first, second) = (
        HotpParams::default().code(&secret, 40),
        HotpParams::default().code(&secret, 41),
    );
    let resynced = Hotp::new()
        .resync(hotp.credential(), first.as_str(), second.as_str(), later)
        .unwrap();
    assert_eq!(resynced.credential().last_used_at(), Some(later));
    assert_eq!(resynced.credential().created_at(), Some(created));

    // Round trips through the store (CBOR) and JSON keep both times.
    let store = MemoryStore::new();
    let totp_key = RecordKey::new("totp", "alice", "app");
    let hotp_key = RecordKey::new("hotp", "alice", "token");
    insert_new(&store, &totp_key, totp.credential()).unwrap();
    insert_new(&store, &hotp_key, resynced.credential()).unwrap();
    let loaded: TotpCredential = load(&store, &totp_key).unwrap().unwrap();
    assert_eq!(&loaded, totp.credential());
    let loaded: HotpCredential = load(&store, &hotp_key).unwrap().unwrap();
    assert_eq!(&loaded, resynced.credential());
    let json = serde_json::to_string(totp.credential()).unwrap();
    assert_eq!(
        &serde_json::from_str::<TotpCredential>(&json).unwrap(),
        totp.credential()
    );

    // A record from before the fields existed: everything else intact, both times `None`.
    let old_store = MemoryStore::new();
    let stored = totp.credential();
    put_raw(
        &old_store,
        &totp_key,
        &cbor_without(stored, &["created_at", "last_used_at"]),
    );
    let old: TotpCredential = load(&old_store, &totp_key).unwrap().unwrap();
    assert_eq!((old.created_at(), old.last_used_at()), (None, None));
    assert_eq!(old.last_step(), stored.last_step());
    assert_eq!(old.secret(), stored.secret());
    put_raw(
        &old_store,
        &hotp_key,
        &cbor_without(resynced.credential(), &["created_at", "last_used_at"]),
    );
    let old: HotpCredential = load(&old_store, &hotp_key).unwrap().unwrap();
    assert_eq!((old.created_at(), old.last_used_at()), (None, None));
    assert_eq!(old.counter(), 42);
    // …and it verifies, gaining a last use.
    let code = HotpParams::default().code(&secret, 42);
    let verified = verify_and_commit(
        &old_store,
        &hotp_key,
        Hotp::new().check(code.as_str(), later),
    )
    .unwrap();
    assert_eq!(verified.credential().last_used_at(), Some(later));
}
