//! Temporary access passes: lifetime bounds, start and expiry, single use under contention,
//! multi-use, scope, one live pass per account, revocation, and the async path.

mod secrets_support;

use std::time::Duration;

use mfa_account::{
    AccountChange, AccountError, AccountPolicy, Actor, EventLog, MIN_TAP_CHARS, NoEvents, Operator,
    TapOptions, issue_tap, list_taps, redeem_tap, revoke_tap,
};
use mfa_core::{Evidence, MemoryStore, Method, UnixTime};
use mfa_policy::{Decision, Engine, SignInContext, UserAction};
use secrets_support::{
    DAY, HOUR, MINUTE, NOW, THREADS, at, changes, race, rejected, rng, store, store_at,
    with_last_symbol_changed,
};

fn operator() -> Operator {
    Operator::new("helpdesk-7").expect("a valid operator id")
}

fn issue(store: &MemoryStore, options: TapOptions, seed: u64) -> mfa_account::IssuedTap {
    issue_tap(
        store,
        &AccountPolicy::default(),
        &NoEvents,
        "alice",
        &operator(),
        options,
        NOW,
        &mut rng(seed),
    )
    .expect("issued")
}

fn one_hour_once() -> TapOptions {
    TapOptions::one_time(Duration::from_secs(HOUR))
}

#[test]
fn lifetime_must_be_within_the_policy_bounds() {
    let store = store();
    let policy = AccountPolicy::default();
    let rng = std::cell::RefCell::new(rng(1));
    let try_issue = |options: TapOptions| {
        issue_tap(
            &store,
            &policy,
            &NoEvents,
            "alice",
            &operator(),
            options,
            NOW,
            &mut *rng.borrow_mut(),
        )
    };
    let min = policy.tap_min_lifetime;
    let max = policy.tap_max_lifetime;
    assert_eq!(min, Duration::from_secs(10 * MINUTE));
    assert_eq!(max, Duration::from_secs(30 * DAY));
    for bad in [
        Duration::ZERO,
        min - Duration::from_secs(1),
        max + Duration::from_secs(1),
    ] {
        assert_eq!(
            rejected(try_issue(TapOptions::one_time(bad))),
            AccountError::InvalidLifetime,
            "{bad:?}"
        );
    }
    for good in [min, max] {
        let issued = try_issue(TapOptions::multi_use(good)).expect("within bounds");
        assert_eq!(issued.starts_at, NOW);
        assert_eq!(issued.expires_at, NOW.saturating_add(good));
    }
    // A start further ahead than the longest lifetime is refused too.
    let too_late =
        TapOptions::one_time(min).starting_at(NOW.saturating_add(max + Duration::from_secs(1)));
    assert_eq!(rejected(try_issue(too_late)), AccountError::InvalidLifetime);
    // A start in the past means now.
    let past = TapOptions::one_time(min).starting_at(UnixTime::from_secs(NOW.as_secs() - HOUR));
    assert_eq!(try_issue(past).unwrap().starts_at, NOW);
}

#[test]
fn a_pass_has_enough_random_symbols_grouped_by_four_and_is_never_shown_again() {
    let store = store();
    let issued = issue(&store, one_hour_once(), 2);
    let groups: Vec<&str> = issued.pass.split('-').collect();
    assert_eq!(groups.len(), 5);
    for group in &groups {
        assert_eq!(group.len(), 4);
        assert!(
            group
                .bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
        );
    }
    assert!(!format!("{issued:?}").contains(groups[0]));
    let listed = serde_json::to_string(&list_taps(&store, "alice").unwrap()).unwrap();
    for group in &groups {
        assert!(
            !listed.contains(group),
            "the listing shows no part of the pass"
        );
    }

    // A policy asking for fewer symbols still gets 65 bits.
    let mut weak = AccountPolicy::default();
    weak.tap_chars = 4;
    let short = issue_tap(
        &store,
        &weak,
        &NoEvents,
        "bob",
        &operator(),
        one_hour_once(),
        NOW,
        &mut rng(3),
    )
    .unwrap();
    assert_eq!(short.pass.replace('-', "").len(), MIN_TAP_CHARS);
}

#[test]
fn a_one_time_pass_works_once_and_proves_a_temporary_access_pass() {
    let store = store();
    let log = EventLog::new();
    let issued = issue_tap(
        &store,
        &AccountPolicy::default(),
        &log,
        "alice",
        &operator(),
        one_hour_once(),
        NOW,
        &mut rng(4),
    )
    .unwrap();
    let events = log.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, Actor::Operator("helpdesk-7".into()));
    assert_eq!(
        events[0].change,
        AccountChange::TapIssued {
            pass_id: issued.pass_id.clone(),
            expires_at: issued.expires_at
        }
    );
    assert_eq!(
        list_taps(&store, "alice").unwrap()[0].issued_by,
        "helpdesk-7"
    );

    let later = at(5 * MINUTE);
    let verified = redeem_tap(&store, &log, "alice", &issued.pass, later).expect("redeemed");
    let evidence = verified.evidence();
    assert_eq!(evidence.method, Method::TemporaryAccessPass);
    assert_eq!(evidence.credential.as_str(), issued.pass_id);
    assert_eq!(evidence.verified_at, later);
    let grant = verified.credential();
    assert_eq!(
        (grant.pass_id(), grant.one_time(), grant.uses()),
        (issued.pass_id.as_str(), true, 1)
    );
    assert_eq!(grant.expires_at(), issued.expires_at);
    let events = log.take();
    assert!(events.iter().all(|event| event.actor == Actor::User));
    assert_eq!(
        events.into_iter().map(|e| e.change).collect::<Vec<_>>(),
        [
            AccountChange::TapRedeemed {
                pass_id: issued.pass_id.clone()
            },
            AccountChange::RecoverySignIn {
                method: Method::TemporaryAccessPass
            }
        ]
    );

    assert_eq!(
        rejected(redeem_tap(&store, &log, "alice", &issued.pass, later)),
        AccountError::TapInvalid
    );
    assert!(list_taps(&store, "alice").unwrap().is_empty());
    assert!(log.take().is_empty(), "a refusal emits nothing");
}

#[test]
fn the_pass_may_be_typed_in_any_case_with_or_without_separators() {
    let store = store();
    let issued = issue(&store, TapOptions::multi_use(Duration::from_secs(HOUR)), 5);
    let bare = issued.pass.replace('-', "");
    for typed in [
        issued.pass.to_string(),
        issued.pass.to_ascii_lowercase(),
        bare.clone(),
        issued.pass.replace('-', " "),
        format!(" {bare} "),
    ] {
        let _grant = redeem_tap(&store, &NoEvents, "alice", &typed, NOW).expect("accepted");
    }
}

#[test]
fn wrong_foreign_or_malformed_passes_are_invalid() {
    let store = store();
    let issued = issue(&store, one_hour_once(), 6);
    let wrong = with_last_symbol_changed(&issued.pass);
    let too_long = "A".repeat(10_000);
    for typed in [
        "",
        "nonsense!",
        "ÄÖÜ-1234",
        wrong.as_str(),
        too_long.as_str(),
    ] {
        assert_eq!(
            rejected(redeem_tap(&store, &NoEvents, "alice", typed, NOW)),
            AccountError::TapInvalid
        );
    }
    // Another account's pass.
    assert_eq!(
        rejected(redeem_tap(&store, &NoEvents, "bob", &issued.pass, NOW)),
        AccountError::TapInvalid
    );
    // None of this spent the pass.
    let _grant = redeem_tap(&store, &NoEvents, "alice", &issued.pass, NOW).expect("still there");
}

#[test]
fn a_pass_does_not_work_before_it_starts() {
    let store = store();
    let start = at(2 * HOUR);
    let issued = issue(&store, one_hour_once().starting_at(start), 7);
    assert_eq!((issued.starts_at, issued.expires_at), (start, at(3 * HOUR)));
    assert!(!list_taps(&store, "alice").unwrap()[0].is_valid_at(NOW));
    assert_eq!(
        rejected(redeem_tap(
            &store,
            &NoEvents,
            "alice",
            &issued.pass,
            at(2 * HOUR - 1)
        )),
        AccountError::TapExpired
    );
    // Trying too early did not spend the one-time pass.
    let _grant =
        redeem_tap(&store, &NoEvents, "alice", &issued.pass, start).expect("works from its start");
}

#[test]
fn a_pass_stops_at_its_expiry_and_is_forgotten_a_day_later() {
    let (store, clock) = store_at(NOW);
    let issued = issue(&store, TapOptions::multi_use(Duration::from_secs(HOUR)), 8);
    let end = issued.expires_at;
    let _grant = redeem_tap(&store, &NoEvents, "alice", &issued.pass, at(HOUR - 1))
        .expect("a second before its end");

    clock.set(end);
    assert_eq!(
        rejected(redeem_tap(&store, &NoEvents, "alice", &issued.pass, end)),
        AccountError::TapExpired
    );
    assert!(!list_taps(&store, "alice").unwrap()[0].is_valid_at(end));

    let forgotten = end.saturating_add(Duration::from_secs(DAY));
    clock.set(forgotten);
    assert_eq!(
        rejected(redeem_tap(
            &store,
            &NoEvents,
            "alice",
            &issued.pass,
            forgotten
        )),
        AccountError::TapInvalid
    );
    assert!(list_taps(&store, "alice").unwrap().is_empty());
}

#[test]
fn of_many_concurrent_redemptions_of_a_one_time_pass_exactly_one_wins() {
    for round in 0..10 {
        let store = store();
        let issued = issue(&store, one_hour_once(), 100 + round);
        let results = race(|_| redeem_tap(&store, &NoEvents, "alice", &issued.pass, NOW));
        let winners = results.iter().filter(|result| result.is_ok()).count();
        let refused = results
            .into_iter()
            .filter_map(|result| result.err())
            .filter(|error| {
                matches!(
                    error,
                    mfa_core::AttemptError::Rejected(AccountError::TapInvalid)
                )
            })
            .count();
        assert_eq!((winners, refused), (1, THREADS - 1), "round {round}");
    }
}

#[test]
fn a_multi_use_pass_counts_every_use_even_concurrent_ones() {
    let store = store();
    let issued = issue(&store, TapOptions::multi_use(Duration::from_secs(DAY)), 9);
    for expected in 1..=3 {
        let verified = redeem_tap(&store, &NoEvents, "alice", &issued.pass, at(expected)).unwrap();
        assert_eq!(
            verified.credential().uses(),
            u32::try_from(expected).unwrap()
        );
        assert!(!verified.credential().one_time());
    }
    let results = race(|_| redeem_tap(&store, &NoEvents, "alice", &issued.pass, at(10)));
    assert!(results.iter().all(Result::is_ok));
    let mut uses: Vec<u32> = results
        .iter()
        .map(|r| r.as_ref().unwrap().credential().uses())
        .collect();
    uses.sort_unstable();
    let expected: Vec<u32> = (4..4 + u32::try_from(THREADS).unwrap()).collect();
    assert_eq!(uses, expected, "no use lost, none counted twice");
    let listed = &list_taps(&store, "alice").unwrap()[0];
    assert_eq!(
        (listed.uses, listed.last_used_at),
        (3 + u32::try_from(THREADS).unwrap(), Some(at(10)))
    );
}

#[test]
fn the_pass_counts_as_strong_only_for_registering_security_info() {
    let store = store();
    let issued = issue(&store, one_hour_once(), 10);
    let verified = redeem_tap(&store, &NoEvents, "alice", &issued.pass, NOW).unwrap();
    let grant = verified.credential();
    for action in UserAction::ALL {
        let evidence = grant.evidence_for(action);
        if action == UserAction::RegisterSecurityInfo {
            assert_eq!(evidence.as_ref(), Some(verified.evidence()));
        } else {
            assert_eq!(evidence, None, "{action}");
        }
    }

    // With a policy that asks for MFA everywhere: registering is allowed on the pass alone,
    // signing in to an application is not.
    let engine = Engine::from_toml(
        r#"
[[policies]]
name = "MFA for everything"
grant = { authentication_strength = "mfa" }
"#,
    )
    .unwrap();
    let context = |action: UserAction| {
        let mut builder = SignInContext::builder("alice", "portal", NOW)
            .action(action)
            .evidence(Evidence::new(Method::Password, NOW, "password"));
        if let Some(evidence) = grant.evidence_for(action) {
            builder = builder.evidence(evidence);
        }
        builder.build()
    };
    assert!(
        engine
            .evaluate(&context(UserAction::RegisterSecurityInfo))
            .decision
            .is_allow()
    );
    for action in [
        UserAction::SignIn,
        UserAction::ChangePassword,
        UserAction::BecomeAdmin,
    ] {
        assert!(
            matches!(
                engine.evaluate(&context(action)).decision,
                Decision::StepUp(_)
            ),
            "{action}"
        );
    }
}

#[test]
fn issuing_a_pass_revokes_the_older_one() {
    let store = store();
    let log = EventLog::new();
    let policy = AccountPolicy::default();
    let mut rng = rng(11);
    let first = issue_tap(
        &store,
        &policy,
        &log,
        "alice",
        &operator(),
        one_hour_once(),
        NOW,
        &mut rng,
    )
    .unwrap();
    let second = issue_tap(
        &store,
        &policy,
        &log,
        "alice",
        &operator(),
        one_hour_once(),
        at(1),
        &mut rng,
    )
    .unwrap();
    let listed: Vec<String> = list_taps(&store, "alice")
        .unwrap()
        .into_iter()
        .map(|t| t.pass_id)
        .collect();
    assert_eq!(listed, [second.pass_id.as_str()]);
    assert_eq!(
        changes(&log),
        [
            AccountChange::TapIssued {
                pass_id: first.pass_id.clone(),
                expires_at: first.expires_at
            },
            AccountChange::TapRevoked {
                pass_id: first.pass_id.clone()
            },
            AccountChange::TapIssued {
                pass_id: second.pass_id.clone(),
                expires_at: second.expires_at
            },
        ]
    );
    assert_eq!(
        rejected(redeem_tap(&store, &NoEvents, "alice", &first.pass, at(2))),
        AccountError::TapInvalid
    );
    let _grant =
        redeem_tap(&store, &NoEvents, "alice", &second.pass, at(2)).expect("the newer pass works");
}

#[test]
fn concurrent_issuers_leave_exactly_one_live_pass() {
    for round in 0..5 {
        let store = store();
        let results = race(|n| {
            issue_tap(
                &store,
                &AccountPolicy::default(),
                &NoEvents,
                "alice",
                &operator(),
                one_hour_once(),
                NOW,
                &mut rng(200 + 100 * round + u64::try_from(n).unwrap()),
            )
        });
        let live = list_taps(&store, "alice").unwrap();
        assert_eq!(live.len(), 1, "round {round}");
        let issued: Vec<_> = results
            .into_iter()
            .filter_map(|result| match result {
                Ok(tap) => Some(tap),
                Err(mfa_core::AttemptError::Store(mfa_core::StoreError::Contention { .. })) => None,
                Err(other) => panic!("unexpected {other:?}"),
            })
            .collect();
        // The survivor is one of the passes whose issue succeeded.
        assert!(issued.iter().any(|tap| tap.pass_id == live[0].pass_id));
        let working = issued
            .iter()
            .filter(|tap| redeem_tap(&store, &NoEvents, "alice", &tap.pass, NOW).is_ok())
            .count();
        assert_eq!(working, 1, "round {round}");
    }
}

#[test]
fn a_revoked_pass_no_longer_works() {
    let store = store();
    let log = EventLog::new();
    let issued = issue(&store, one_hour_once(), 12);
    revoke_tap(
        &store,
        &log,
        "alice",
        &issued.pass_id,
        Actor::Operator("helpdesk-7".into()),
        NOW,
    )
    .unwrap();
    assert_eq!(
        changes(&log),
        [AccountChange::TapRevoked {
            pass_id: issued.pass_id.clone()
        }]
    );
    assert_eq!(
        rejected(redeem_tap(&store, &NoEvents, "alice", &issued.pass, NOW)),
        AccountError::TapInvalid
    );
    assert_eq!(
        rejected(revoke_tap(
            &store,
            &log,
            "alice",
            &issued.pass_id,
            Actor::User,
            NOW
        )),
        AccountError::TapInvalid
    );
    assert!(log.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_helpers_issue_and_redeem_on_a_runtime() {
    let store = std::sync::Arc::new(store());
    let policy = AccountPolicy::default();
    let mut rng = rng(13);
    let issued = mfa_account::issue_tap_async(
        store.as_ref(),
        &policy,
        &NoEvents,
        "alice",
        &operator(),
        one_hour_once(),
        NOW,
        &mut rng,
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, pass) = (store.clone(), issued.pass.clone());
            tokio::spawn(async move {
                mfa_account::redeem_tap_async(store.as_ref(), &NoEvents, "alice", &pass, NOW).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert!(
        mfa_account::list_taps_async(store.as_ref(), "alice")
            .await
            .unwrap()
            .is_empty()
    );
}
