//! Every rule of the backup factor: issue, storage, normalisation, single use, error kinds,
//! running low, regeneration, saved recovery codes, throttling, concurrency.

mod common;

use std::convert::Infallible;
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use common::{ScriptedRng, cheap_hasher, cheap_policy, seeded};
use mfa_backup::{
    Argon2idParams, BackupCodeError, BackupCodeSet, BackupEvent, CodeFormat, HashParams,
    IssuePolicy, Pbkdf2Params, RecoveryMode, record_key, redeem, redeem_with_lookup,
};
use mfa_core::{
    AttemptError, Clock, ManualClock, MemoryStore, Method, Rejection, ThrottlePolicy,
    ThrottleStatus, Throttled, UnixTime, insert_new,
};

const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

/// A throttle that never gets in the way of tests about something else.
fn no_throttle() -> ThrottlePolicy {
    ThrottlePolicy {
        max_consecutive_failures: u32::MAX,
        free_failures: u32::MAX,
        ..ThrottlePolicy::default()
    }
}

fn rejected(
    result: Result<mfa_backup::Redeemed, AttemptError<BackupCodeError>>,
) -> BackupCodeError {
    match result {
        Err(AttemptError::Rejected(error)) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn defaults_are_ten_codes_of_fifty_bits_hashed_with_argon2id() {
    let policy = IssuePolicy::default();
    assert_eq!(policy.count, 10);
    assert_eq!(policy.format, CodeFormat::Grouped10);
    assert_eq!(policy.low_watermark, 3);
    assert_eq!(policy.mode, RecoveryMode::SingleUse);
    assert_eq!(
        policy.hasher,
        HashParams::Argon2id(Argon2idParams::new(19 * 1024, 2, 1).unwrap())
    );
    assert!((CodeFormat::Grouped10.entropy_bits() - 50.0).abs() < 1e-9);
    assert!(CodeFormat::Grouped10.entropy_bits() >= 50.0);
    for format in CodeFormat::ALL {
        assert!(format.entropy_bits() >= 20.0, "{format}");
        assert_eq!(format.name().parse::<CodeFormat>().unwrap(), format);
    }
    assert!((CodeFormat::Digits8.entropy_bits() - 26.575).abs() < 0.01);
    assert!("digits6".parse::<CodeFormat>().is_err());
}

#[test]
fn the_real_default_parameters_issue_and_redeem() {
    // Slow in debug builds (19 MiB Argon2id); one code keeps it to three hashes.
    let policy = IssuePolicy {
        count: 1,
        ..IssuePolicy::default()
    };
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(1);
    let issued = mfa_backup::issue(&store, &key, &policy, NOW, &mut rng).unwrap();
    assert_eq!(issued.set.hasher(), HashParams::default());
    let code = issued.codes[0].expose_secret();
    let redeemed = redeem(&store, &key, &no_throttle(), code, NOW, &mut rng).unwrap();
    assert_eq!(redeemed.remaining, 0);
    assert!(redeemed.running_low);
    assert_eq!(
        rejected(redeem(&store, &key, &no_throttle(), code, NOW, &mut rng)),
        BackupCodeError::AlreadyUsed
    );
}

#[test]
fn codes_have_the_documented_shape_and_are_distinct() {
    let mut rng = seeded(2);
    for (format, pattern) in [
        (CodeFormat::Grouped10, "xxxxx-xxxxx"),
        (CodeFormat::Grouped16, "xxxx-xxxx-xxxx-xxxx"),
        (CodeFormat::Digits8, "dddd dddd"),
        (CodeFormat::Digits10, "ddddd ddddd"),
    ] {
        let policy = IssuePolicy {
            format,
            count: 25,
            ..cheap_policy()
        };
        let issued = policy.issue("alice", NOW, &mut rng).unwrap();
        assert_eq!(issued.codes.len(), 25);
        assert_eq!(issued.set.total(), 25);
        let mut seen = std::collections::HashSet::new();
        for code in &issued.codes {
            let code = code.expose_secret();
            assert_eq!(code.len(), pattern.len(), "{format}: {code}");
            for (c, p) in code.chars().zip(pattern.chars()) {
                match p {
                    'x' => assert!(
                        c.is_ascii_digit() || (c.is_ascii_lowercase() && !"ilou".contains(c)),
                        "{format}: {code}"
                    ),
                    'd' => assert!(c.is_ascii_digit(), "{format}: {code}"),
                    sep => assert_eq!(c, sep, "{format}: {code}"),
                }
            }
            assert!(seen.insert(code.to_owned()), "duplicate code in a set");
        }
    }
}

#[test]
fn bad_issue_options_are_errors() {
    let mut rng = seeded(3);
    for count in [0, mfa_backup::MAX_CODES + 1] {
        let policy = IssuePolicy {
            count,
            ..cheap_policy()
        };
        assert!(matches!(
            policy.issue("alice", NOW, &mut rng),
            Err(BackupCodeError::InvalidConfig(_))
        ));
    }
    assert!(matches!(
        cheap_policy().issue("", NOW, &mut rng),
        Err(BackupCodeError::InvalidConfig(_))
    ));
}

#[test]
fn the_stored_set_contains_none_of_the_codes() {
    let mut rng = seeded(4);
    for format in CodeFormat::ALL {
        for hasher in [
            cheap_hasher(),
            HashParams::Pbkdf2Sha256(Pbkdf2Params::new(10).unwrap()),
        ] {
            let policy = IssuePolicy {
                format,
                hasher,
                ..cheap_policy()
            };
            let issued = policy.issue("alice", NOW, &mut rng).unwrap();
            let json = serde_json::to_string(&issued.set).unwrap();
            let debug = format!("{issued:?}");
            for code in &issued.codes {
                let shown = code.expose_secret();
                let bare: String = shown.chars().filter(char::is_ascii_alphanumeric).collect();
                for form in [shown.to_owned(), bare.clone(), bare.to_uppercase()] {
                    assert!(!json.contains(&form), "{format}: stored JSON holds a code");
                    assert!(!debug.contains(&form), "{format}: Debug shows a code");
                }
            }
            // And it round-trips through serde unchanged.
            let back: BackupCodeSet = serde_json::from_str(&json).unwrap();
            assert_eq!(back, issued.set);
        }
    }
}

#[test]
fn the_same_codes_issued_twice_hash_differently() {
    // Same code stream, same set id, different salt: the codes are identical, no digest is.
    let script: Vec<u8> = (0..33).collect();
    let issue_with_salt = |salt_byte: u8| {
        let mut prefix = vec![salt_byte; 16];
        prefix.extend([9_u8; 16]);
        let mut rng = ScriptedRng::new(prefix, script.clone());
        cheap_policy().issue("alice", NOW, &mut rng).unwrap()
    };
    let first = issue_with_salt(1);
    let second = issue_with_salt(2);
    assert_eq!(first.set.id(), second.set.id());
    let codes = |issued: &mfa_backup::IssuedCodes| -> Vec<String> {
        issued
            .codes
            .iter()
            .map(|c| c.expose_secret().to_owned())
            .collect()
    };
    assert_eq!(codes(&first), codes(&second));

    let digests = |set: &BackupCodeSet| -> Vec<String> {
        let json = serde_json::to_value(set).unwrap();
        json["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|slot| slot["digest"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (digests(&first.set), digests(&second.set));
    assert_eq!(a.len(), 10);
    for digest in &a {
        assert!(!b.contains(digest));
    }
    let salt = |set: &BackupCodeSet| serde_json::to_value(set).unwrap()["salt"].clone();
    assert_eq!(salt(&first.set).as_str().unwrap().len(), 32, "128-bit salt");
    assert_ne!(salt(&first.set), salt(&second.set));
}

#[test]
fn a_code_works_once_and_errors_say_what_failed() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(5);
    let issued = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    let throttle = no_throttle();
    let code = issued.codes[4].expose_secret();

    let redeemed = redeem(&store, &key, &throttle, code, NOW, &mut rng).unwrap();
    assert_eq!(redeemed.remaining, 9);
    assert!(!redeemed.running_low);
    assert!(redeemed.replacement.is_none());
    let evidence = redeemed.verified.evidence();
    assert_eq!(evidence.method, Method::BackupCode);
    assert_eq!(evidence.verified_at, NOW);
    assert_eq!(evidence.credential.as_str(), issued.set.id());
    assert_eq!(
        redeemed.events,
        vec![BackupEvent::CodeRedeemed {
            account: "alice".into(),
            set_id: issued.set.id().into(),
            remaining: 9
        }]
    );

    let cases = [
        (code.to_owned(), BackupCodeError::AlreadyUsed, "replayed"),
        (
            "zzzzz-zzzzz".to_owned(),
            BackupCodeError::WrongCode,
            "code_mismatch",
        ),
        (
            "zzzzz-zzzz".to_owned(),
            BackupCodeError::Malformed,
            "malformed_code",
        ),
        (
            "zzzzz-zzzzu".to_owned(),
            BackupCodeError::Malformed,
            "malformed_code",
        ),
        (String::new(), BackupCodeError::Malformed, "malformed_code"),
        (
            "z".repeat(10_000),
            BackupCodeError::Malformed,
            "malformed_code",
        ),
    ];
    for (input, expected, reason) in cases {
        let error = rejected(redeem(&store, &key, &throttle, &input, NOW, &mut rng));
        assert_eq!(error, expected);
        assert_eq!(error.reason(), reason);
        assert!(error.counts_as_failure());
        // No message carries what was typed.
        assert!(!error.to_string().contains(&input[..input.len().min(5)]) || input.is_empty());
    }
    // The other nine still work.
    for (i, code) in issued.codes.iter().enumerate().filter(|(i, _)| *i != 4) {
        let redeemed = redeem(&store, &key, &throttle, code.expose_secret(), NOW, &mut rng);
        assert!(redeemed.is_ok(), "code {i}");
    }
}

#[test]
fn codes_of_another_account_never_match_and_can_be_told_apart() {
    let store = MemoryStore::new();
    let mut rng = seeded(6);
    let alice = record_key("alice");
    let bob = record_key("bob");
    let alice_codes = mfa_backup::issue(&store, &alice, &cheap_policy(), NOW, &mut rng).unwrap();
    let bob_codes = mfa_backup::issue(&store, &bob, &cheap_policy(), NOW, &mut rng).unwrap();
    let throttle = no_throttle();
    let bobs_code = bob_codes.codes[0].expose_secret();

    // Plainly: bob's code is just wrong for alice.
    assert_eq!(
        rejected(redeem(&store, &alice, &throttle, bobs_code, NOW, &mut rng)),
        BackupCodeError::WrongCode
    );
    // With the operator's lookup of other sets, it is named for what it is.
    let error = rejected(redeem_with_lookup(
        &store,
        &alice,
        &throttle,
        bobs_code,
        NOW,
        &mut rng,
        std::slice::from_ref(&bob_codes.set),
    ));
    assert_eq!(error, BackupCodeError::CodeOfAnotherAccount);
    assert_eq!(error.reason(), "code_of_another_account");
    // A genuinely wrong code stays wrong with the lookup.
    assert_eq!(
        rejected(redeem_with_lookup(
            &store,
            &alice,
            &throttle,
            "zzzzz-zzzzz",
            NOW,
            &mut rng,
            std::slice::from_ref(&bob_codes.set),
        )),
        BackupCodeError::WrongCode
    );
    // Bob's code still works for bob, and alice's for alice.
    assert!(redeem(&store, &bob, &throttle, bobs_code, NOW, &mut rng).is_ok());
    assert!(
        redeem(
            &store,
            &alice,
            &throttle,
            alice_codes.codes[0].expose_secret(),
            NOW,
            &mut rng
        )
        .is_ok()
    );

    // Bob's set copied into alice's record: even bob's valid code is refused.
    let mallory = record_key("mallory");
    insert_new(&store, &mallory, &bob_codes.set).unwrap();
    let error = rejected(redeem(
        &store,
        &mallory,
        &throttle,
        bob_codes.codes[1].expose_secret(),
        NOW,
        &mut rng,
    ));
    assert_eq!(error, BackupCodeError::SetOfAnotherAccount);
    assert!(!error.counts_as_failure());
    // The pure check says the same, and binding the account means no code could match anyway.
    assert_eq!(
        bob_codes
            .set
            .redeem("mallory", bob_codes.codes[2].expose_secret(), NOW, &mut rng)
            .unwrap_err(),
        BackupCodeError::SetOfAnotherAccount
    );
}

#[test]
fn input_is_normalised_case_spaces_hyphens_and_confusables() {
    // A code stream of 0s and 1s: codes full of the characters that have look-alikes.
    let mut rng = ScriptedRng::new(vec![7; 32], vec![0, 1, 1, 0, 1]);
    let policy = IssuePolicy {
        count: 2,
        ..cheap_policy()
    };
    let issued = policy.issue("alice", NOW, &mut rng).unwrap();
    let code = issued.codes[0].expose_secret().to_owned();
    assert!(code.chars().all(|c| "01-".contains(c)), "{code}");
    let variants = [
        code.to_uppercase(),
        code.replace('-', ""),
        code.replace('-', " "),
        format!("  {}  ", code.replace('-', " - ")),
        code.replace('0', "O").replace('1', "I"),
        code.replace('0', "o").replace('1', "l"),
        code.replace('1', "L").replace('-', "\u{2013}"),
        code.chars().flat_map(|c| [c, ' ']).collect(),
    ];
    for variant in variants {
        let mut set = issued.set.clone();
        let redeemed = set.redeem("alice", &variant, NOW, &mut rng);
        assert!(redeemed.is_ok(), "{variant:?} was not accepted");
        set = redeemed.unwrap().verified.into_parts().1;
        assert_eq!(
            set.redeem("alice", &code, NOW, &mut rng).unwrap_err(),
            BackupCodeError::AlreadyUsed
        );
    }
}

#[test]
fn every_format_and_both_hashers_redeem_every_code() {
    let mut rng = seeded(8);
    for format in CodeFormat::ALL {
        for hasher in [
            cheap_hasher(),
            HashParams::Pbkdf2Sha256(Pbkdf2Params::new(10).unwrap()),
        ] {
            let policy = IssuePolicy {
                format,
                hasher,
                count: 4,
                ..cheap_policy()
            };
            let issued = policy.issue("alice", NOW, &mut rng).unwrap();
            let mut set = issued.set;
            for code in &issued.codes {
                let typed = code.expose_secret().to_uppercase();
                set = set
                    .redeem("alice", &typed, NOW, &mut rng)
                    .unwrap()
                    .verified
                    .into_parts()
                    .1;
            }
            assert_eq!(set.remaining(), 0);
        }
    }
}

#[test]
fn remaining_count_and_running_low() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(9);
    let issued = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    assert_eq!(issued.set.remaining(), 10);
    assert!(!issued.set.is_running_low());
    for (i, code) in issued.codes.iter().enumerate() {
        let redeemed = redeem(
            &store,
            &key,
            &no_throttle(),
            code.expose_secret(),
            NOW,
            &mut rng,
        )
        .unwrap();
        let left = 9 - i;
        assert_eq!(redeemed.remaining, left);
        assert_eq!(redeemed.running_low, left <= 3, "{left} left");
        let low_event = redeemed
            .events
            .iter()
            .any(|e| matches!(e, BackupEvent::RunningLow { remaining, .. } if *remaining == left));
        assert_eq!(low_event, left <= 3);
        let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
        assert_eq!(stored.remaining(), left);
        assert_eq!(stored.total(), 10);
    }
}

#[test]
fn regenerating_replaces_the_set_and_invalidates_every_old_code() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(10);
    let old = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    assert!(
        redeem(
            &store,
            &key,
            &no_throttle(),
            old.codes[0].expose_secret(),
            NOW,
            &mut rng
        )
        .is_ok()
    );
    let new = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    assert_ne!(old.set.id(), new.set.id());
    let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
    assert_eq!(stored.id(), new.set.id());
    assert_eq!(stored.remaining(), 10);
    for code in &old.codes {
        assert_eq!(
            rejected(redeem(
                &store,
                &key,
                &no_throttle(),
                code.expose_secret(),
                NOW,
                &mut rng
            )),
            BackupCodeError::WrongCode
        );
    }
    assert!(
        redeem(
            &store,
            &key,
            &no_throttle(),
            new.codes[0].expose_secret(),
            NOW,
            &mut rng
        )
        .is_ok()
    );
}

#[test]
fn saved_recovery_code_mode_replaces_each_used_code_and_says_so() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(11);
    let policy = IssuePolicy {
        count: 1,
        mode: RecoveryMode::ReplaceAfterUse,
        ..cheap_policy()
    };
    let issued = mfa_backup::issue(&store, &key, &policy, NOW, &mut rng).unwrap();
    let mut current = issued.codes[0].clone();
    let mut spent = Vec::new();
    for round in 0..5 {
        let redeemed = redeem(
            &store,
            &key,
            &no_throttle(),
            current.expose_secret(),
            NOW,
            &mut rng,
        )
        .unwrap();
        assert_eq!(redeemed.remaining, 1, "round {round}");
        let replacement = redeemed.replacement.expect("a replacement code");
        assert_ne!(replacement.expose_secret(), current.expose_secret());
        assert!(redeemed.events.contains(&BackupEvent::ReplacementIssued {
            account: "alice".into(),
            set_id: issued.set.id().into(),
        }));
        assert!(format!("{:?}", redeemed.events).len() > 10);
        assert!(!format!("{:?}", redeemed.events).contains(replacement.expose_secret()));
        spent.push(current);
        current = replacement;
    }
    for code in &spent {
        assert_eq!(
            rejected(redeem(
                &store,
                &key,
                &no_throttle(),
                code.expose_secret(),
                NOW,
                &mut rng
            )),
            BackupCodeError::AlreadyUsed
        );
    }
    let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
    assert_eq!(stored.remaining(), 1);
    let json = serde_json::to_string(&stored).unwrap();
    assert!(!json.contains(current.expose_secret()));
}

#[test]
fn attempts_are_throttled_through_mfa_core() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let clock = ManualClock::new(NOW);
    let mut rng = seeded(12);
    let issued = mfa_backup::issue(&store, &key, &cheap_policy(), clock.now(), &mut rng).unwrap();
    let throttle = ThrottlePolicy::default();
    let good = issued.codes[0].expose_secret();

    for _ in 0..6 {
        let error = rejected(redeem(
            &store,
            &key,
            &throttle,
            "zzzzz-zzzzz",
            clock.now(),
            &mut rng,
        ));
        assert_eq!(error, BackupCodeError::WrongCode);
    }
    // Six failures: even the right code must wait a second, and is not spent by the refusal.
    match redeem(&store, &key, &throttle, good, clock.now(), &mut rng) {
        Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) => {
            assert_eq!(retry_after, Duration::from_secs(1));
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    clock.advance(Duration::from_secs(1));
    assert!(redeem(&store, &key, &throttle, good, clock.now(), &mut rng).is_ok());
    assert_eq!(
        throttle.status(&store, &key, clock.now()).unwrap(),
        ThrottleStatus::Open { failures: 0 }
    );

    // A small limit locks the set until reset; a locked set refuses valid codes.
    let strict = ThrottlePolicy {
        max_consecutive_failures: 3,
        free_failures: 3,
        ..ThrottlePolicy::default()
    };
    for _ in 0..3 {
        assert!(redeem(&store, &key, &strict, "zzzzz-zzzzz", clock.now(), &mut rng).is_err());
    }
    let locked = redeem(
        &store,
        &key,
        &strict,
        issued.codes[1].expose_secret(),
        clock.now(),
        &mut rng,
    );
    assert!(matches!(
        locked,
        Err(AttemptError::Throttled(Throttled::LockedOut {
            failures: 3
        }))
    ));
    strict.reset(&store, &key).unwrap();
    assert!(
        redeem(
            &store,
            &key,
            &strict,
            issued.codes[1].expose_secret(),
            clock.now(),
            &mut rng
        )
        .is_ok()
    );

    // Failures that say nothing about the person are refunded.
    let mallory = record_key("mallory");
    insert_new(&store, &mallory, &issued.set).unwrap();
    for _ in 0..10 {
        assert!(redeem(&store, &mallory, &strict, good, clock.now(), &mut rng).is_err());
    }
    assert_eq!(
        strict.status(&store, &mallory, clock.now()).unwrap(),
        ThrottleStatus::Open { failures: 0 }
    );
    assert!(matches!(
        redeem(
            &store,
            &record_key("nobody"),
            &strict,
            good,
            clock.now(),
            &mut rng
        ),
        Err(AttemptError::NotEnrolled)
    ));
}

/// Redeems, retrying store contention (not a verdict), as a service would.
fn redeem_retrying(
    store: &MemoryStore,
    key: &mfa_core::RecordKey,
    code: &str,
) -> Result<mfa_backup::Redeemed, AttemptError<BackupCodeError>> {
    let mut rng = rand::rng();
    loop {
        match redeem(store, key, &no_throttle(), code, NOW, &mut rng) {
            Err(AttemptError::Store(_)) => continue,
            other => return other,
        }
    }
}

#[test]
fn many_threads_redeeming_one_code_give_exactly_one_success() {
    const THREADS: usize = 16;
    for round in 0..5 {
        let store = MemoryStore::new();
        let key = record_key(format!("alice-{round}").as_str());
        let issued =
            mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut seeded(round)).unwrap();
        let code = issued.codes[usize::try_from(round).unwrap() % 10].expose_secret();
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        redeem_retrying(&store, &key, code)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let replays = results
            .iter()
            .filter(|r| matches!(r, Err(AttemptError::Rejected(BackupCodeError::AlreadyUsed))))
            .count();
        assert_eq!(wins, 1, "round {round}");
        assert_eq!(replays, THREADS - 1, "round {round}");
        let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
        assert_eq!(stored.remaining(), 9);
    }
}

#[test]
fn different_codes_redeemed_concurrently_all_succeed() {
    for round in 0..5_u64 {
        let store = MemoryStore::new();
        let key = record_key("alice");
        let issued =
            mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut seeded(100 + round))
                .unwrap();
        let barrier = Barrier::new(issued.codes.len());
        let results: Vec<_> = thread::scope(|scope| {
            let handles: Vec<_> = issued
                .codes
                .iter()
                .map(|code| {
                    let barrier = &barrier;
                    let store = &store;
                    let key = &key;
                    scope.spawn(move || {
                        barrier.wait();
                        redeem_retrying(store, key, code.expose_secret())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            results.iter().all(Result::is_ok),
            "round {round}: {results:?}"
        );
        let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
        assert_eq!(stored.remaining(), 0);
    }
}

#[test]
fn two_codes_at_once_both_succeed() {
    for round in 0..20_u64 {
        let store = MemoryStore::new();
        let key = record_key("alice");
        let issued =
            mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut seeded(200 + round))
                .unwrap();
        let barrier = Barrier::new(2);
        let (a, b) = thread::scope(|scope| {
            let first = scope.spawn(|| {
                barrier.wait();
                redeem_retrying(&store, &key, issued.codes[0].expose_secret())
            });
            let second = scope.spawn(|| {
                barrier.wait();
                redeem_retrying(&store, &key, issued.codes[9].expose_secret())
            });
            (first.join().unwrap(), second.join().unwrap())
        });
        assert!(a.is_ok() && b.is_ok(), "round {round}");
        let stored = mfa_backup::load_set(&store, &key).unwrap().unwrap();
        assert_eq!(stored.remaining(), 8);
    }
}

#[test]
fn tampered_sets_fail_cleanly() {
    let mut rng = seeded(13);
    let issued = cheap_policy().issue("alice", NOW, &mut rng).unwrap();
    let code = issued.codes[0].expose_secret();
    let json = serde_json::to_value(&issued.set).unwrap();

    let mut huge = json.clone();
    huge["hasher"]["m_kib"] = serde_json::json!(u32::MAX);
    let set: BackupCodeSet = serde_json::from_value(huge).unwrap();
    assert_eq!(
        set.redeem("alice", code, NOW, &mut rng).unwrap_err(),
        BackupCodeError::Hashing
    );

    let mut future = json.clone();
    future["v"] = serde_json::json!(2);
    let set: BackupCodeSet = serde_json::from_value(future).unwrap();
    assert_eq!(
        set.redeem("alice", code, NOW, &mut rng).unwrap_err(),
        BackupCodeError::CorruptSet
    );

    let mut bloated = json.clone();
    let slot = bloated["slots"][0].clone();
    bloated["slots"] = serde_json::Value::Array(vec![slot; mfa_backup::MAX_CODES + 1]);
    let set: BackupCodeSet = serde_json::from_value(bloated).unwrap();
    assert_eq!(
        set.redeem("alice", code, NOW, &mut rng).unwrap_err(),
        BackupCodeError::CorruptSet
    );

    let mut short_salt = json.clone();
    short_salt["salt"] = serde_json::json!("00");
    assert!(serde_json::from_value::<BackupCodeSet>(short_salt).is_err());

    // A flipped digest turns the code into a wrong one; nothing else breaks.
    let mut flipped = json;
    let digest = flipped["slots"][0]["digest"].as_str().unwrap().to_owned();
    let first = if digest.starts_with('0') { "1" } else { "0" };
    flipped["slots"][0]["digest"] = serde_json::json!(format!("{first}{}", &digest[1..]));
    let set: BackupCodeSet = serde_json::from_value(flipped).unwrap();
    assert_eq!(
        set.redeem("alice", code, NOW, &mut rng).unwrap_err(),
        BackupCodeError::WrongCode
    );
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let mut rng = seeded(14);
    let issued = cheap_policy().issue("alice", NOW, &mut rng).unwrap();
    assert_eq!(format!("{:?}", issued.codes[0]), "BackupCode(..)");
    let debug = format!("{:?}", issued.set);
    assert!(debug.contains("remaining: 10"));
    assert!(!debug.contains("digest"));
    let error = issued
        .set
        .redeem("alice", "zzzzz-zzzzz", NOW, &mut rng)
        .unwrap_err();
    assert!(!error.to_string().to_lowercase().contains("zzzzz"));
}

/// Drives a future on this thread (the memory store's futures are ready at once).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        thread::park();
    }
}

#[test]
fn the_async_helpers_agree_with_the_blocking_ones() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(15);
    // This test is about the answers, not about where the hash runs: run the jobs inline.
    let issued = block_on(mfa_backup::issue_async(
        &store,
        &key,
        &cheap_policy(),
        NOW,
        &mut rng,
        |job| async move { Ok::<_, Infallible>(job.run()) },
    ))
    .unwrap();
    let code = issued.codes[2].expose_secret();
    let throttle = no_throttle();
    let inline = |job: mfa_backup::RedeemJob| async move { Ok::<_, Infallible>(job.run()) };
    let redeemed = block_on(mfa_backup::redeem_async(
        &store, &key, &throttle, code, NOW, &mut rng, inline,
    ))
    .unwrap();
    assert_eq!(redeemed.remaining, 9);
    // The blocking helper sees the async commit, and the other way round.
    assert_eq!(
        rejected(redeem(&store, &key, &throttle, code, NOW, &mut rng)),
        BackupCodeError::AlreadyUsed
    );
    assert!(
        redeem(
            &store,
            &key,
            &throttle,
            issued.codes[3].expose_secret(),
            NOW,
            &mut rng
        )
        .is_ok()
    );
    assert_eq!(
        rejected(block_on(mfa_backup::redeem_async(
            &store,
            &key,
            &throttle,
            issued.codes[3].expose_secret(),
            NOW,
            &mut rng,
            inline,
        ))),
        BackupCodeError::AlreadyUsed
    );
}

/// Issue 9: a security-info page shows when the set was issued and last used, and an async
/// service loads it without blocking.
#[test]
fn the_set_knows_when_it_was_issued_and_last_used() {
    let store = MemoryStore::new();
    let key = record_key("alice");
    let mut rng = seeded(9);
    let issued = mfa_backup::issue(&store, &key, &cheap_policy(), NOW, &mut rng).unwrap();
    assert_eq!(issued.set.issued_at(), NOW);
    assert_eq!(issued.set.last_used_at(), None);
    let later = NOW.saturating_add(Duration::from_secs(3600));
    let code = issued.codes[0].expose_secret();
    let _redeemed = redeem(&store, &key, &no_throttle(), code, later, &mut rng).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let stored = runtime
        .block_on(mfa_backup::load_set_async(&store, &key))
        .unwrap()
        .unwrap();
    assert_eq!(stored.issued_at(), NOW);
    assert_eq!(stored.last_used_at(), Some(later));
}
