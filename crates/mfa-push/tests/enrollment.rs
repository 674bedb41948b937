//! Enrollment and registration through the store: one-time tokens, proof of possession, device
//! limits, one id per device.

mod common;

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use common::{NOW, enroll, policy, rng, store_at};
use mfa_core::{AttemptError, Store, UnixTime};
use mfa_push::{
    DeviceKey, ENROLLMENT_KIND, EnrollmentUri, Platform, PushError, PushPolicy, begin_enrollment,
    device_key, find_device, list_devices, register_device, remove_device,
};

fn rejected(result: Result<mfa_push::PushDevice, AttemptError<PushError>>) -> PushError {
    match result {
        Err(AttemptError::Rejected(error)) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_phone_enrolls_with_the_scanned_code() {
    let store = common::store();
    let policy = PushPolicy {
        registration_url: Some("https://example.com/push/register".into()),
        ..policy()
    };
    let mut rng = rng(1);
    let offer = begin_enrollment(&store, &policy, "alice@example.com", NOW, &mut rng).unwrap();
    assert_eq!(
        offer.expires_at,
        NOW.saturating_add(Duration::from_secs(600))
    );
    let text = offer.uri.to_uri();
    assert!(
        text.starts_with("mfa-push://enroll?v=1&issuer=Example&account=alice%40example.com&token=")
    );
    assert!(text.ends_with("&url=https%3A%2F%2Fexample.com%2Fpush%2Fregister"));
    assert!(!format!("{offer:?}").contains(offer.uri.token().expose_b64url().as_str()));

    let scanned = EnrollmentUri::parse(&text).unwrap();
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(
            &scanned,
            "Alice's Pixel",
            Platform::Android,
            Some("fcm:token"),
            NOW,
        )
        .unwrap();
    let device = register_device(&store, &policy, &message, NOW).unwrap();
    assert_eq!(
        (
            device.account.as_str(),
            &device.device_id,
            device.name.as_str(),
            device.platform
        ),
        (
            "alice@example.com",
            phone.device_id(),
            "Alice's Pixel",
            Platform::Android
        )
    );
    assert_eq!(
        (
            device.push_token.as_deref(),
            device.created_at,
            device.last_used_at
        ),
        (Some("fcm:token"), NOW, None)
    );
    assert_eq!(device.public_key, phone.public_jwk());
    assert!(!format!("{device:?}").contains("fcm:token"));
    assert_eq!(
        list_devices(&store, "alice@example.com").unwrap(),
        std::slice::from_ref(&device)
    );
    assert_eq!(
        find_device(&store, phone.device_id()).unwrap(),
        Some(device)
    );
    // The enrollment is spent: nothing of it is left.
    assert!(
        store
            .list(ENROLLMENT_KIND, "alice@example.com")
            .unwrap()
            .is_empty()
    );
    // The same message again finds no enrollment.
    assert_eq!(
        rejected(register_device(&store, &policy, &message, NOW)),
        PushError::EnrollmentNotFound
    );
}

#[test]
fn the_store_never_holds_the_token() {
    let store = common::store();
    let mut rng = rng(2);
    let offer = begin_enrollment(&store, &policy(), "alice", NOW, &mut rng).unwrap();
    let token = offer.uri.token();
    let listed = store.list(ENROLLMENT_KIND, "alice").unwrap();
    let [(key, record)] = listed.as_slice() else {
        panic!("one enrollment")
    };
    assert_eq!(key.id(), token.record_id());
    let raw = token.expose_b64url();
    assert_ne!(key.id(), raw.as_str());
    assert!(!record.value.windows(raw.len()).any(|w| w == raw.as_bytes()));
}

#[test]
fn a_forged_or_stale_registration_spends_nothing() {
    let store = common::store();
    let policy = policy();
    let mut rng = rng(3);
    let offer = begin_enrollment(&store, &policy, "alice", NOW, &mut rng).unwrap();
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(&offer.uri, "phone", Platform::Ios, None, NOW)
        .unwrap();

    // Someone else's signature under this key's jwk: proof of possession fails.
    let thief = DeviceKey::generate(&mut rng);
    let stolen = thief
        .registration_message(&offer.uri, "phone", Platform::Ios, None, NOW)
        .unwrap();
    let (thief_header, _) = stolen.split_once('.').unwrap();
    let (_, rest) = message.split_once('.').unwrap();
    let spliced = format!("{thief_header}.{rest}");
    assert_eq!(
        rejected(register_device(&store, &policy, &spliced, NOW)),
        PushError::BadSignature
    );
    // Signed too long ago, or in the future.
    let late = NOW.saturating_add(Duration::from_secs(301));
    assert_eq!(
        rejected(register_device(&store, &policy, &message, late)),
        PushError::ClockSkew
    );
    assert_eq!(
        rejected(register_device(
            &store,
            &policy,
            &message,
            UnixTime::from_secs(NOW.as_secs() - 301)
        )),
        PushError::ClockSkew
    );
    // Not a registration at all.
    assert!(rejected(register_device(&store, &policy, "garbage", NOW)).is_malformed());
    // None of that spent the token.
    assert!(register_device(&store, &policy, &message, NOW).is_ok());
}

/// An enrollment stops working at its expiry; the store keeps its record for the clock-skew grace
/// (a late registration is told `enrollment_expired`), then drops it with no call from us.
#[test]
fn expired_enrollments_fail_then_leave_the_store_by_themselves() {
    let (store, clock) = store_at(NOW);
    let policy = PushPolicy {
        enrollment_lifetime: Duration::from_secs(60),
        ..policy()
    };
    assert_eq!(policy.clock_skew, Duration::from_secs(300), "the grace");
    let after = |seconds| NOW.saturating_add(Duration::from_secs(seconds));
    let mut rng = rng(4);
    let late = begin_enrollment(&store, &policy, "alice", NOW, &mut rng).unwrap();
    let unused = begin_enrollment(&store, &policy, "alice", NOW, &mut rng).unwrap();
    assert_eq!(late.expires_at, after(60));
    let stored = store.list(ENROLLMENT_KIND, "alice").unwrap();
    assert_eq!(stored.len(), 2);
    for (_, record) in &stored {
        assert_eq!(record.expires_at, Some(after(60 + 300)));
    }

    // Redeemed at its expiry: refused as expired, and spent.
    clock.set(after(60));
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(&late.uri, "phone", Platform::Ios, None, after(60))
        .unwrap();
    let result = register_device(&store, &policy, &message, after(60));
    assert_eq!(
        result.as_ref().map_err(|e| e.reason()).err(),
        Some("enrollment_expired")
    );
    assert!(list_devices(&store, "alice").unwrap().is_empty());

    // The unused one: still in the store up to the end of the grace …
    clock.set(after(359));
    assert_eq!(store.list(ENROLLMENT_KIND, "alice").unwrap().len(), 1);
    // … then gone from the store, though nothing was called since.
    clock.set(after(360));
    assert!(store.list(ENROLLMENT_KIND, "alice").unwrap().is_empty());
    assert!(store.is_empty());
    assert_eq!(store.purge_expired().unwrap(), 1);
    let message = phone
        .registration_message(&unused.uri, "phone", Platform::Ios, None, after(360))
        .unwrap();
    assert_eq!(
        rejected(register_device(&store, &policy, &message, after(360))),
        PushError::EnrollmentNotFound
    );
}

#[test]
fn one_key_registers_once_across_accounts() {
    let store = common::store();
    let policy = policy();
    let mut rng = rng(5);
    let phone = DeviceKey::generate(&mut rng);
    for (account, expected) in [
        ("alice", None),
        ("alice", Some(PushError::DeviceAlreadyRegistered)),
        ("bob", Some(PushError::DeviceAlreadyRegistered)),
    ] {
        let offer = begin_enrollment(&store, &policy, account, NOW, &mut rng).unwrap();
        let message = phone
            .registration_message(&offer.uri, "phone", Platform::Other, None, NOW)
            .unwrap();
        assert_eq!(
            register_device(&store, &policy, &message, NOW)
                .err()
                .map(|e| match e {
                    AttemptError::Rejected(e) => e,
                    other => panic!("{other:?}"),
                }),
            expected
        );
    }
    assert_eq!(list_devices(&store, "alice").unwrap().len(), 1);
    assert!(list_devices(&store, "bob").unwrap().is_empty());
}

#[test]
fn device_limit_and_removal() {
    let store = common::store();
    let policy = PushPolicy {
        max_devices: 2,
        ..policy()
    };
    let mut rng = rng(6);
    // An offer made while there was room, redeemed once the account is full, is refused too.
    let late_offer = begin_enrollment(&store, &policy, "alice", NOW, &mut rng).unwrap();
    let (_first, first) = enroll(&store, &policy, "alice", &mut rng);
    let (_second, _) = enroll(&store, &policy, "alice", &mut rng);
    let refused = begin_enrollment(&store, &policy, "alice", NOW, &mut rng);
    assert!(matches!(
        refused,
        Err(AttemptError::Rejected(PushError::TooManyDevices { max: 2 }))
    ));
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(&late_offer.uri, "third", Platform::Ios, None, NOW)
        .unwrap();
    assert_eq!(
        rejected(register_device(&store, &policy, &message, NOW)),
        PushError::TooManyDevices { max: 2 }
    );
    assert!(
        store
            .load(&device_key("alice", phone.device_id()))
            .unwrap()
            .is_none()
    );

    // Remove one: room again.
    assert_eq!(
        remove_device(&store, "alice", &first.device_id).unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        remove_device(&store, "alice", &first.device_id).unwrap(),
        None
    );
    assert_eq!(find_device(&store, &first.device_id).unwrap(), None);
    assert_eq!(
        remove_device(&store, "bob", &first.device_id).unwrap(),
        None
    );
    let (_third, _) = enroll(&store, &policy, "alice", &mut rng);
    assert_eq!(list_devices(&store, "alice").unwrap().len(), 2);
}

#[test]
fn issuer_and_account_must_fit_the_uri() {
    let store = common::store();
    let mut rng = rng(7);
    let bad = [
        (PushPolicy::new(""), "alice".to_owned()),
        (policy(), "a".repeat(200)),
        (
            PushPolicy {
                registration_url: Some("http://example.com".into()),
                ..policy()
            },
            "alice".to_owned(),
        ),
    ];
    for (policy, account) in bad {
        let result = begin_enrollment(&store, &policy, &account, NOW, &mut rng);
        assert!(matches!(
            result,
            Err(AttemptError::Rejected(PushError::InvalidRequest(_)))
        ));
    }
    assert!(store.is_empty());
}

/// Sixteen phones race to register with one scanned code: exactly one gets the account.
#[test]
fn one_token_registers_one_device_however_many_race() {
    const THREADS: usize = 16;
    let policy = policy();
    for round in 0..10 {
        let store = common::store();
        let mut rng = rng(100 + round);
        let offer = begin_enrollment(&store, &policy, "alice", NOW, &mut rng).unwrap();
        let messages: Vec<String> = (0..THREADS)
            .map(|_| {
                DeviceKey::generate(&mut rng)
                    .registration_message(&offer.uri, "phone", Platform::Ios, None, NOW)
                    .unwrap()
            })
            .collect();
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = messages
                .iter()
                .map(|message| {
                    let (store, policy, barrier) = (&store, &policy, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        register_device(store, policy, message, NOW)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners = results.iter().filter(|r| r.is_ok()).count();
        let not_found = results
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Err(AttemptError::Rejected(PushError::EnrollmentNotFound))
                )
            })
            .count();
        assert_eq!((winners, not_found), (1, THREADS - 1), "round {round}");
        assert_eq!(list_devices(&store, "alice").unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_helpers_give_the_same_answers() {
    let store = std::sync::Arc::new(common::store());
    let policy = policy();
    let mut rng = rng(8);
    let offer = mfa_push::begin_enrollment_async(&*store, &policy, "carol", NOW, &mut rng)
        .await
        .unwrap();
    let phone = DeviceKey::generate(&mut rng);
    let message = phone
        .registration_message(&offer.uri, "phone", Platform::Ios, None, NOW)
        .unwrap();
    let handle = tokio::spawn({
        let store = store.clone();
        let policy = policy.clone();
        async move { mfa_push::register_device_async(&*store, &policy, &message, NOW).await }
    });
    let device = handle.await.unwrap().unwrap();
    assert_eq!(
        mfa_push::list_devices_async(&*store, "carol")
            .await
            .unwrap(),
        std::slice::from_ref(&device)
    );
    assert_eq!(
        mfa_push::find_device_async(&*store, &device.device_id)
            .await
            .unwrap(),
        Some(device.clone())
    );
    assert_eq!(
        mfa_push::remove_device_async(&*store, "carol", &device.device_id)
            .await
            .unwrap(),
        Some(device)
    );
}
