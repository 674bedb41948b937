//! Remembered devices: the token, its lifetime and expiry, the revocation epoch, the account it
//! is bound to, forgetting, and that no input makes the token parser panic.

mod secrets_support;

use std::time::Duration;

use mfa_account::{
    AccountChange, AccountError, AccountPolicy, AccountProfile, Actor, EventLog, NoEvents,
    REMEMBERED_SECRET_CHARS, RememberedToken, check_remembered, forget_device, list_remembered,
    remember_device, sign_out_everywhere, store::profile_key,
};
use mfa_core::{Change, MemoryStore, update};
use mfa_policy::{Engine, SignInContext};
use proptest::prelude::*;
use secrets_support::{DAY, NOW, at, changes, rejected, rng, store, store_at};

fn remember(store: &MemoryStore, account: &str, days: u64, seed: u64) -> RememberedToken {
    remember_device(
        store,
        &AccountPolicy::default(),
        &NoEvents,
        account,
        "Firefox on the office laptop",
        Duration::from_secs(days * DAY),
        NOW,
        &mut rng(seed),
    )
    .expect("remembered")
}

#[test]
fn a_remembered_device_is_recognised_until_it_expires() {
    let store = store();
    let log = EventLog::new();
    let token = remember_device(
        &store,
        &AccountPolicy::default(),
        &log,
        "alice",
        "Firefox",
        Duration::from_secs(30 * DAY),
        NOW,
        &mut rng(1),
    )
    .unwrap();
    assert_eq!(token.expires_at, at(30 * DAY));
    let (id, secret) = token.token.split_once('.').expect("id.secret");
    assert_eq!(id, token.id);
    assert_eq!(secret.len(), REMEMBERED_SECRET_CHARS);
    assert!(!format!("{token:?}").contains(secret));
    assert_eq!(
        changes(&log),
        [AccountChange::DeviceRemembered {
            id: token.id.clone()
        }]
    );
    assert_eq!(
        check_remembered(&store, "alice", &token.token, at(DAY)).expect("recognised"),
        token.expires_at
    );

    let listed = list_remembered(&store, "alice").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].id.as_str(),
            listed[0].label.as_str(),
            listed[0].created_at,
            listed[0].expires_at
        ),
        (token.id.as_str(), "Firefox", NOW, token.expires_at)
    );
    assert!(!serde_json::to_string(&listed).unwrap().contains(secret));
}

#[test]
fn the_until_it_returns_lets_the_policy_skip_the_second_factor() {
    let store = store();
    let token = remember(&store, "alice", 7, 2);
    let until = check_remembered(&store, "alice", &token.token, NOW).unwrap();
    let engine = Engine::from_toml(
        r#"
[[policies]]
name = "MFA, remembered for 7 days"
grant = { authentication_strength = "mfa" }
session = { remember_device_days = 7 }
"#,
    )
    .unwrap();
    let remembered = SignInContext::builder("alice", "mail", NOW)
        .remembered_until(until)
        .build();
    assert!(engine.evaluate(&remembered).decision.is_allow());
    let unknown = SignInContext::builder("alice", "mail", NOW).build();
    assert!(!engine.evaluate(&unknown).decision.is_allow());
}

#[test]
fn the_lifetime_is_bounded_by_the_policy() {
    let store = store();
    let policy = AccountPolicy::default();
    assert_eq!(policy.remember_max_lifetime, Duration::from_secs(90 * DAY));
    for bad in [
        Duration::ZERO,
        policy.remember_max_lifetime + Duration::from_secs(1),
    ] {
        assert_eq!(
            rejected(remember_device(
                &store,
                &policy,
                &NoEvents,
                "alice",
                "Firefox",
                bad,
                NOW,
                &mut rng(3)
            )),
            AccountError::InvalidLifetime
        );
    }
    let longest = remember_device(
        &store,
        &policy,
        &NoEvents,
        "alice",
        "Firefox",
        policy.remember_max_lifetime,
        NOW,
        &mut rng(4),
    )
    .unwrap();
    assert_eq!(longest.expires_at, at(90 * DAY));
    assert_eq!(
        rejected(remember_device(
            &store,
            &policy,
            &NoEvents,
            "alice",
            "",
            Duration::from_secs(DAY),
            NOW,
            &mut rng(5)
        )),
        AccountError::InvalidName
    );
}

#[test]
fn an_expired_token_says_so_for_a_day_then_is_unknown() {
    let (store, clock) = store_at(NOW);
    let token = remember(&store, "alice", 1, 6);
    let _until =
        check_remembered(&store, "alice", &token.token, at(DAY - 1)).expect("a second before");
    clock.set(at(DAY));
    assert_eq!(
        rejected(check_remembered(&store, "alice", &token.token, at(DAY))),
        AccountError::RememberedExpired
    );
    clock.set(at(2 * DAY));
    assert_eq!(
        rejected(check_remembered(&store, "alice", &token.token, at(2 * DAY))),
        AccountError::RememberedInvalid
    );
    assert!(list_remembered(&store, "alice").unwrap().is_empty());
}

#[test]
fn a_newer_epoch_invalidates_tokens_issued_before_it() {
    let store = store();
    let before = remember(&store, "alice", 30, 7);
    // The epoch moves on without the devices being deleted (as a reset elsewhere might do).
    update(
        &store,
        &profile_key("alice"),
        |profile: Option<&AccountProfile>| {
            let mut profile = profile.cloned().unwrap_or_default();
            profile.epoch += 1;
            (Change::Put(profile), ())
        },
    )
    .unwrap();
    assert_eq!(
        rejected(check_remembered(&store, "alice", &before.token, NOW)),
        AccountError::RememberedInvalid
    );
    let after = remember(&store, "alice", 30, 8);
    let _until =
        check_remembered(&store, "alice", &after.token, NOW).expect("issued under the new epoch");

    // Sign out everywhere deletes them as well.
    sign_out_everywhere(&store, &NoEvents, "alice", Actor::User, NOW).unwrap();
    assert_eq!(
        rejected(check_remembered(&store, "alice", &after.token, NOW)),
        AccountError::RememberedInvalid
    );
    assert!(list_remembered(&store, "alice").unwrap().is_empty());
}

#[test]
fn a_token_works_only_for_its_own_account_and_only_unaltered() {
    let store = store();
    let alice = remember(&store, "alice", 30, 9);
    let bob = remember(&store, "bob", 30, 10);
    assert_eq!(
        rejected(check_remembered(&store, "bob", &alice.token, NOW)),
        AccountError::RememberedInvalid
    );
    // Alice's id with Bob's secret, and the reverse.
    let (alice_id, alice_secret) = alice.token.split_once('.').unwrap();
    let (bob_id, bob_secret) = bob.token.split_once('.').unwrap();
    for forged in [
        format!("{alice_id}.{bob_secret}"),
        format!("{bob_id}.{alice_secret}"),
    ] {
        assert_eq!(
            rejected(check_remembered(&store, "alice", &forged, NOW)),
            AccountError::RememberedInvalid
        );
    }
    // Lower case is not the token (cookies are not typed).
    let lowered = format!("{alice_id}.{}", alice_secret.to_ascii_lowercase());
    assert_eq!(
        rejected(check_remembered(&store, "alice", &lowered, NOW)),
        AccountError::RememberedInvalid
    );
}

#[test]
fn a_forgotten_device_is_no_longer_recognised() {
    let store = store();
    let log = EventLog::new();
    let phone = remember(&store, "alice", 30, 11);
    let laptop = remember(&store, "alice", 30, 12);
    forget_device(&store, &log, "alice", &phone.id, Actor::User, NOW).unwrap();
    assert_eq!(
        changes(&log),
        [AccountChange::RememberedDeviceForgotten {
            id: phone.id.clone()
        }]
    );
    assert_eq!(
        rejected(check_remembered(&store, "alice", &phone.token, NOW)),
        AccountError::RememberedInvalid
    );
    let _until = check_remembered(&store, "alice", &laptop.token, NOW).expect("the other stays");
    assert_eq!(
        rejected(forget_device(
            &store,
            &log,
            "alice",
            &phone.id,
            Actor::User,
            NOW
        )),
        AccountError::RememberedInvalid
    );
    assert_eq!(
        rejected(forget_device(
            &store,
            &log,
            "bob",
            &laptop.id,
            Actor::User,
            NOW
        )),
        AccountError::RememberedInvalid
    );
    assert!(log.take().is_empty());
    let listed: Vec<String> = list_remembered(&store, "alice")
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed, [laptop.id.as_str()]);
}

#[tokio::test]
async fn the_async_helpers_remember_check_and_forget() {
    let store = store();
    let token = mfa_account::remember_device_async(
        &store,
        &AccountPolicy::default(),
        &NoEvents,
        "alice",
        "Safari",
        Duration::from_secs(DAY),
        NOW,
        &mut rng(13),
    )
    .await
    .unwrap();
    let until = mfa_account::check_remembered_async(&store, "alice", &token.token, NOW)
        .await
        .unwrap();
    assert_eq!(until, token.expires_at);
    mfa_account::forget_device_async(&store, &NoEvents, "alice", &token.id, Actor::User, NOW)
        .await
        .unwrap();
    assert!(
        mfa_account::list_remembered_async(&store, "alice")
            .await
            .unwrap()
            .is_empty()
    );
}

proptest! {
    #[test]
    fn no_input_makes_the_check_panic_or_succeed(token in any::<String>()) {
        let store = store();
        let _real = remember(&store, "alice", 30, 14);
        let result = check_remembered(&store, "alice", &token, NOW);
        prop_assert!(matches!(
            result,
            Err(mfa_core::AttemptError::Rejected(AccountError::RememberedInvalid))
        ));
    }

    #[test]
    fn token_shaped_input_is_refused_without_panicking(
        id in "[A-Za-z0-9_-]{0,80}",
        dots in "\\.{0,3}",
        secret in "[0-9A-Z]{0,40}",
    ) {
        let store = store();
        let _real = remember(&store, "alice", 30, 15);
        let token = format!("{id}{dots}{secret}");
        prop_assert!(check_remembered(&store, "alice", &token, NOW).is_err());
    }

    #[test]
    fn changing_any_one_character_of_a_token_breaks_it(
        seed in any::<u64>(),
        position in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let store = store();
        let token = remember(&store, "alice", 30, seed);
        let mut characters: Vec<char> = token.token.chars().collect();
        let index = position.index(characters.len());
        prop_assume!(characters[index] != replacement);
        characters[index] = replacement;
        let altered: String = characters.into_iter().collect();
        prop_assert!(check_remembered(&store, "alice", &altered, NOW).is_err());
        let _until = check_remembered(&store, "alice", &token.token, NOW).expect("the real one works");
    }
}
