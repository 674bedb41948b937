//! App passwords: shape, legacy clients only, the policy switch, every password compared, last
//! use, revocation one by one and all at once, the per-account limit, and the async path.

mod secrets_support;

use mfa_account::{
    AccountChange, AccountError, AccountPolicy, Actor, CreatedAppPassword, EventLog,
    MIN_APP_PASSWORD_CHARS, NoEvents, check_app_password, create_app_password, list_app_passwords,
    revoke_all_app_passwords, revoke_app_password,
};
use mfa_core::{MemoryStore, Method};
use mfa_policy::ClientApp;
use rand::rngs::StdRng;
use secrets_support::{
    NOW, THREADS, at, changes, race, rejected, rng, store, with_last_symbol_changed,
};

fn create(store: &MemoryStore, name: &str, rng: &mut StdRng) -> CreatedAppPassword {
    create_app_password(
        store,
        &AccountPolicy::default(),
        &NoEvents,
        "alice",
        name,
        NOW,
        rng,
    )
    .expect("created")
}

fn check(
    store: &MemoryStore,
    typed: &str,
    client: ClientApp,
    now: mfa_core::UnixTime,
) -> Result<mfa_core::Verified<mfa_account::AppPasswordUse>, mfa_core::AttemptError<AccountError>> {
    check_app_password(
        store,
        &AccountPolicy::default(),
        "alice",
        typed,
        client,
        now,
    )
}

#[test]
fn an_app_password_is_100_random_bits_in_lower_case_groups_shown_once() {
    let store = store();
    let log = EventLog::new();
    let created = create_app_password(
        &store,
        &AccountPolicy::default(),
        &log,
        "alice",
        "  Thunderbird ",
        NOW,
        &mut rng(1),
    )
    .unwrap();
    assert_eq!(created.name, "Thunderbird");
    let groups: Vec<&str> = created.password.split(' ').collect();
    assert_eq!(groups.len(), 5);
    for group in &groups {
        assert_eq!(group.len(), 4);
        assert!(
            group
                .bytes()
                .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b))
        );
    }
    assert!(!format!("{created:?}").contains(groups[0]));
    let listed = list_app_passwords(&store, "alice").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].id.as_str(),
            listed[0].name.as_str(),
            listed[0].created_at,
            listed[0].last_used_at
        ),
        (created.id.as_str(), "Thunderbird", NOW, None)
    );
    let json = serde_json::to_string(&listed).unwrap();
    assert!(groups.iter().all(|group| !json.contains(group)));
    assert_eq!(
        changes(&log),
        [AccountChange::AppPasswordCreated {
            id: created.id.clone(),
            name: "Thunderbird".into()
        }]
    );

    // A policy asking for fewer symbols still gets 100 bits.
    let mut weak = AccountPolicy::default();
    weak.app_password_chars = 8;
    let short =
        create_app_password(&store, &weak, &NoEvents, "bob", "mutt", NOW, &mut rng(2)).unwrap();
    assert_eq!(
        short.password.replace(' ', "").len(),
        MIN_APP_PASSWORD_CHARS
    );
}

#[test]
fn a_legacy_client_signs_in_with_it_and_its_last_use_is_kept() {
    let store = store();
    let created = create(&store, "Thunderbird", &mut rng(3));
    let first = check(&store, &created.password, ClientApp::Legacy, at(10)).expect("accepted");
    assert_eq!(first.evidence().method, Method::Password);
    assert_eq!(first.evidence().credential.as_str(), created.id);
    assert_eq!(
        (first.credential().id(), first.credential().name()),
        (created.id.as_str(), "Thunderbird")
    );
    assert_eq!(first.credential().previously_used_at(), None);
    assert_eq!(
        list_app_passwords(&store, "alice").unwrap()[0].last_used_at,
        Some(at(10))
    );

    // Typed in upper case, without the spaces.
    let typed = created.password.replace(' ', "").to_ascii_uppercase();
    let second = check(&store, &typed, ClientApp::Legacy, at(20)).expect("accepted");
    assert_eq!(second.credential().previously_used_at(), Some(at(10)));
    assert_eq!(
        list_app_passwords(&store, "alice").unwrap()[0].last_used_at,
        Some(at(20))
    );
}

#[test]
fn only_legacy_clients_may_use_app_passwords_and_that_is_checked_first() {
    let store = store();
    let created = create(&store, "Thunderbird", &mut rng(4));
    for client in [ClientApp::Browser, ClientApp::MobileDesktop] {
        assert_eq!(
            rejected(check(&store, &created.password, client, NOW)),
            AccountError::NotLegacyClient
        );
        // Before the secret: a wrong password from a browser gets the same answer.
        assert_eq!(
            rejected(check(&store, "wrong", client, NOW)),
            AccountError::NotLegacyClient
        );
    }
    assert_eq!(
        list_app_passwords(&store, "alice").unwrap()[0].last_used_at,
        None
    );
}

#[test]
fn a_policy_without_app_passwords_refuses_creating_and_using_them() {
    let store = store();
    let created = create(&store, "Thunderbird", &mut rng(5));
    let mut off = AccountPolicy::default();
    off.app_passwords = false;
    assert_eq!(
        rejected(create_app_password(
            &store,
            &off,
            &NoEvents,
            "alice",
            "mutt",
            NOW,
            &mut rng(6)
        )),
        AccountError::AppPasswordsDisabled
    );
    assert_eq!(
        rejected(check_app_password(
            &store,
            &off,
            "alice",
            &created.password,
            ClientApp::Legacy,
            NOW
        )),
        AccountError::AppPasswordsDisabled
    );
    assert_eq!(list_app_passwords(&store, "alice").unwrap().len(), 1);
}

#[test]
fn each_password_is_found_among_all_of_the_account_and_nowhere_else() {
    let store = store();
    let mut rng = rng(7);
    let created: Vec<CreatedAppPassword> = ["mail", "calendar", "backup script"]
        .iter()
        .map(|name| create(&store, name, &mut rng))
        .collect();
    for password in &created {
        let used = check(&store, &password.password, ClientApp::Legacy, NOW).unwrap();
        assert_eq!(used.credential().id(), password.id);
    }
    assert_eq!(
        rejected(check_app_password(
            &store,
            &AccountPolicy::default(),
            "bob",
            &created[0].password,
            ClientApp::Legacy,
            NOW
        )),
        AccountError::AppPasswordInvalid
    );
    let wrong = with_last_symbol_changed(&created[0].password);
    let too_long = "a".repeat(1_000);
    for typed in ["", "not-a-password!", wrong.as_str(), too_long.as_str()] {
        assert_eq!(
            rejected(check(&store, typed, ClientApp::Legacy, NOW)),
            AccountError::AppPasswordInvalid
        );
    }
}

#[test]
fn names_are_checked() {
    let store = store();
    for name in ["", "   ", "tab\there", &"x".repeat(65)] {
        assert_eq!(
            rejected(create_app_password(
                &store,
                &AccountPolicy::default(),
                &NoEvents,
                "alice",
                name,
                NOW,
                &mut rng(8)
            )),
            AccountError::InvalidName,
            "{name:?}"
        );
    }
}

#[test]
fn revoking_one_leaves_the_others_and_revoking_all_leaves_none() {
    let store = store();
    let log = EventLog::new();
    let mut rng = rng(9);
    let mail = create(&store, "mail", &mut rng);
    let calendar = create(&store, "calendar", &mut rng);
    let script = create(&store, "script", &mut rng);

    revoke_app_password(&store, &log, "alice", &mail.id, Actor::User, NOW).unwrap();
    assert_eq!(
        changes(&log),
        [AccountChange::AppPasswordRevoked {
            id: mail.id.clone()
        }]
    );
    assert_eq!(
        rejected(check(&store, &mail.password, ClientApp::Legacy, NOW)),
        AccountError::AppPasswordInvalid
    );
    let _used =
        check(&store, &calendar.password, ClientApp::Legacy, NOW).expect("others still work");
    assert_eq!(
        rejected(revoke_app_password(
            &store,
            &log,
            "alice",
            &mail.id,
            Actor::User,
            NOW
        )),
        AccountError::AppPasswordInvalid
    );
    // Another account cannot revoke it by id.
    assert_eq!(
        rejected(revoke_app_password(
            &store,
            &log,
            "bob",
            &calendar.id,
            Actor::User,
            NOW
        )),
        AccountError::AppPasswordInvalid
    );

    let operator = Actor::Operator("helpdesk-7".into());
    assert_eq!(
        revoke_all_app_passwords(&store, &log, "alice", operator.clone(), NOW).unwrap(),
        2
    );
    let events = log.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, operator);
    assert_eq!(
        events[0].change,
        AccountChange::AppPasswordsRevokedAll { count: 2 }
    );
    for password in [&calendar, &script] {
        assert_eq!(
            rejected(check(&store, &password.password, ClientApp::Legacy, NOW)),
            AccountError::AppPasswordInvalid
        );
    }
    assert!(list_app_passwords(&store, "alice").unwrap().is_empty());
}

#[test]
fn the_account_limit_holds_even_under_concurrent_creation() {
    let store = store();
    let mut policy = AccountPolicy::default();
    policy.max_app_passwords = 2;
    let mut rng1 = rng(10);
    for name in ["one", "two"] {
        create_app_password(&store, &policy, &NoEvents, "alice", name, NOW, &mut rng1).unwrap();
    }
    assert_eq!(
        rejected(create_app_password(
            &store, &policy, &NoEvents, "alice", "three", NOW, &mut rng1
        )),
        AccountError::TooManyAppPasswords { max: 2 }
    );

    policy.max_app_passwords = 3;
    let results = race(|n| {
        create_app_password(
            &store,
            &policy,
            &NoEvents,
            "carol",
            "racer",
            NOW,
            &mut rng(300 + u64::try_from(n).unwrap()),
        )
    });
    let created = results.iter().filter(|result| result.is_ok()).count();
    let stored = list_app_passwords(&store, "carol").unwrap().len();
    assert!(stored <= 3, "{stored} stored of {THREADS} racing");
    assert_eq!(
        created, stored,
        "every success is stored, every refusal rolled back"
    );
    for result in results.into_iter().filter_map(Result::err) {
        assert!(matches!(
            result,
            mfa_core::AttemptError::Rejected(AccountError::TooManyAppPasswords { max: 3 })
        ));
    }
}

#[tokio::test]
async fn the_async_helpers_create_check_and_revoke() {
    let store = store();
    let policy = AccountPolicy::default();
    let created = mfa_account::create_app_password_async(
        &store,
        &policy,
        &NoEvents,
        "alice",
        "mail",
        NOW,
        &mut rng(11),
    )
    .await
    .unwrap();
    let used = mfa_account::check_app_password_async(
        &store,
        &policy,
        "alice",
        &created.password,
        ClientApp::Legacy,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(used.credential().id(), created.id);
    let revoked =
        mfa_account::revoke_all_app_passwords_async(&store, &NoEvents, "alice", Actor::User, NOW)
            .await
            .unwrap();
    assert_eq!(revoked, 1);
    assert!(
        mfa_account::list_app_passwords_async(&store, "alice")
            .await
            .unwrap()
            .is_empty()
    );
}
