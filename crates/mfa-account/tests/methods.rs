//! Security info: adding (confirmed by a first check), renaming, the default, last use, and
//! removal guarded by the policy engine and by NIST's no-weakening rule.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod methods_support;

use std::sync::{Arc, Barrier};
use std::thread;

use methods_support::*;
use mfa_account::{
    AccountChange, AccountError, AccountEvent, AccountPolicy, Actor, AuditingSink, Confirmation,
    EventLog, FactorRef, MethodEntry, MethodId, MethodKind, NoEvents, PendingMethod, ProviderNames,
    RemovalGuard, add_backup_codes, begin_add, confirm_add, enrolled_methods, record_use, remove,
    rename, security_info, set_default,
};
use mfa_core::{
    AttemptError, Evidence, ManualClock, MemoryAuditSink, MemoryStore, Method, RecentQuery,
    StoreError,
};

const ALICE: &str = "alice";

fn rejected<T: core::fmt::Debug>(result: Result<T, AttemptError<AccountError>>) -> AccountError {
    match result {
        Err(AttemptError::Rejected(error)) => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Begins a method for Alice under the default policy, named after its kind.
fn begin(
    store: &MemoryStore,
    kind: MethodKind,
    now: mfa_core::UnixTime,
    seed: u64,
) -> PendingMethod {
    begin_add(
        store,
        &AccountPolicy::default(),
        ALICE,
        kind,
        kind.name(),
        now,
        &mut rng(seed),
    )
    .unwrap()
}

/// Confirms Alice's pending method with no provider names and no one listening.
fn confirm(
    store: &MemoryStore,
    policy: &AccountPolicy,
    pending_id: &MethodId,
    factor: &FactorRef,
    proof: &Evidence,
    now: mfa_core::UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    let confirmation = Confirmation {
        pending_id,
        factor,
        proof,
        providers: None,
    };
    confirm_add(store, policy, &NoEvents, ALICE, confirmation, now)
}

fn totp_factor(id: &str) -> FactorRef {
    FactorRef::Totp {
        credential_id: id.to_owned(),
    }
}

// ---- adding ----

#[test]
fn a_confirmed_method_is_listed_as_default_and_announced() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let events = EventLog::new();
    let pending = begin_add(
        &store,
        &policy,
        ALICE,
        MethodKind::Totp,
        "  Work phone ",
        at(0),
        &mut rng(1),
    )
    .unwrap();
    assert_eq!(pending.name, "Work phone");
    assert_eq!(pending.expires_at, at(15 * 60));
    let proof = Evidence::new(Method::Totp, at(30), "phone");
    let entry = confirm_add(
        &store,
        &policy,
        &events,
        ALICE,
        Confirmation {
            pending_id: &pending.id,
            factor: &totp_factor("phone"),
            proof: &proof,
            providers: None,
        },
        at(40),
    )
    .unwrap();
    assert_eq!(entry.id, pending.id);
    assert_eq!(entry.created_at, at(40));
    assert_eq!(entry.last_used_at, None);
    assert_eq!(entry.properties, proof.properties);

    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.methods, vec![entry.clone()]);
    assert_eq!(info.default_method.as_ref(), Some(&entry.id));
    assert_eq!(info.default_entry(), Some(&entry));
    assert_eq!(
        events.take(),
        vec![AccountEvent {
            account: ALICE.into(),
            actor: Actor::User,
            at: at(40),
            change: AccountChange::MethodAdded {
                method_id: entry.id.to_string(),
                kind: MethodKind::Totp,
            },
        }]
    );
    assert!(security_info(&store, "bob").unwrap().methods.is_empty());
}

#[test]
fn a_pending_method_does_not_count_until_confirmed() {
    let store = MemoryStore::new();
    begin_add(
        &store,
        &AccountPolicy::default(),
        ALICE,
        MethodKind::Sms,
        "Mobile",
        at(0),
        &mut rng(1),
    )
    .unwrap();
    assert!(security_info(&store, ALICE).unwrap().methods.is_empty());
}

#[test]
fn names_are_checked() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    for name in ["", "   ", "tab\there", &"x".repeat(65)] {
        assert_eq!(
            rejected(begin_add(
                &store,
                &policy,
                ALICE,
                MethodKind::Totp,
                name,
                at(0),
                &mut rng(1)
            )),
            AccountError::InvalidName
        );
    }
}

struct Attempt {
    kind: MethodKind,
    factor: FactorRef,
    proof: Evidence,
    now_secs: u64,
}

/// Begins a `kind` method at `at(100)` and confirms it with the attempt's factor and proof.
fn try_confirm(store: &MemoryStore, attempt: &Attempt) -> Result<(), AccountError> {
    let policy = AccountPolicy::default();
    let pending = begin_add(
        store,
        &policy,
        ALICE,
        attempt.kind,
        "new",
        at(100),
        &mut rng(attempt.now_secs),
    )
    .unwrap();
    confirm(
        store,
        &policy,
        &pending.id,
        &attempt.factor,
        &attempt.proof,
        at(attempt.now_secs),
    )
    .map(drop)
    .map_err(|error| match error {
        AttemptError::Rejected(error) => error,
        other => panic!("{other:?}"),
    })
}

#[test]
fn a_proof_must_be_a_recent_check_of_that_credential() {
    let store = MemoryStore::new();
    let cases = [
        // Another method's evidence.
        (
            Attempt {
                kind: MethodKind::Totp,
                factor: totp_factor("phone"),
                proof: Evidence::new(Method::Hotp, at(110), "phone"),
                now_secs: 120,
            },
            AccountError::ProofMismatch,
        ),
        // Another credential.
        (
            Attempt {
                kind: MethodKind::Totp,
                factor: totp_factor("phone"),
                proof: Evidence::new(Method::Totp, at(110), "tablet"),
                now_secs: 120,
            },
            AccountError::ProofMismatch,
        ),
        // A check from before the method was begun.
        (
            Attempt {
                kind: MethodKind::Totp,
                factor: totp_factor("phone"),
                proof: Evidence::new(Method::Totp, at(99), "phone"),
                now_secs: 120,
            },
            AccountError::ProofMismatch,
        ),
        // A factor of another kind than the pending one.
        (
            Attempt {
                kind: MethodKind::Sms,
                factor: FactorRef::Phone {
                    phone_id: "mobile".into(),
                    voice: true,
                },
                proof: Evidence::new(Method::Sms, at(110), "mobile"),
                now_secs: 120,
            },
            AccountError::ProofMismatch,
        ),
        // Backup codes are added by issuing them, not by a proof.
        (
            Attempt {
                kind: MethodKind::BackupCodes,
                factor: FactorRef::BackupCodes,
                proof: Evidence::new(Method::BackupCode, at(110), "set"),
                now_secs: 120,
            },
            AccountError::ProofMismatch,
        ),
        // Older than the ten-minute confirmation window (the pending lives 15 minutes).
        (
            Attempt {
                kind: MethodKind::Totp,
                factor: totp_factor("phone"),
                proof: Evidence::new(Method::Totp, at(101), "phone"),
                now_secs: 101 + 10 * 60 + 1,
            },
            AccountError::ProofStale,
        ),
    ];
    for (attempt, expected) in &cases {
        assert_eq!(try_confirm(&store, attempt).as_ref(), Err(expected));
    }
    // Exactly at the edge of the window it still counts.
    let edge = Attempt {
        kind: MethodKind::Totp,
        factor: totp_factor("phone"),
        proof: Evidence::new(Method::Totp, at(101), "phone"),
        now_secs: 101 + 10 * 60,
    };
    assert_eq!(try_confirm(&store, &edge), Ok(()));
    assert_eq!(security_info(&store, ALICE).unwrap().methods.len(), 1);
}

#[test]
fn a_refused_proof_spends_the_pending_method() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let pending = begin(&store, MethodKind::Totp, at(0), 1);
    let confirm = |proof: &Evidence| {
        confirm(
            &store,
            &policy,
            &pending.id,
            &totp_factor("phone"),
            proof,
            at(20),
        )
    };
    assert_eq!(
        rejected(confirm(&Evidence::new(Method::Totp, at(10), "other"))),
        AccountError::ProofMismatch
    );
    assert_eq!(
        rejected(confirm(&Evidence::new(Method::Totp, at(10), "phone"))),
        AccountError::PendingNotFound
    );
}

#[test]
fn a_pending_method_expires() {
    let clock = ManualClock::new(at(0));
    let store = MemoryStore::with_clock(clock.clone());
    let policy = AccountPolicy::default();
    let pending = begin(&store, MethodKind::Totp, at(0), 1);
    let late = at(15 * 60);
    clock.set(late);
    let result = confirm(
        &store,
        &policy,
        &pending.id,
        &totp_factor("phone"),
        &Evidence::new(Method::Totp, late, "phone"),
        late,
    );
    assert_eq!(rejected(result), AccountError::PendingNotFound);
}

#[test]
fn confirming_is_single_use_under_concurrency() {
    const THREADS: usize = 8;
    for round in 0..10_u64 {
        let store = Arc::new(MemoryStore::new());
        let pending = begin(&store, MethodKind::Totp, at(0), round);
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (store, barrier, id) = (store.clone(), barrier.clone(), pending.id.clone());
                thread::spawn(move || {
                    let proof = Evidence::new(Method::Totp, at(5), "phone");
                    barrier.wait();
                    confirm(
                        &store,
                        &AccountPolicy::default(),
                        &id,
                        &totp_factor("phone"),
                        &proof,
                        at(10),
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(
            r,
            Err(AttemptError::Rejected(AccountError::PendingNotFound))
        )));
        assert_eq!(security_info(&*store, ALICE).unwrap().methods.len(), 1);
    }
}

#[test]
fn a_credential_is_registered_once() {
    let store = MemoryStore::new();
    add_method(
        &store,
        ALICE,
        totp_factor("phone"),
        &Evidence::new(Method::Totp, at(0), "phone"),
        at(0),
    );
    let policy = AccountPolicy::default();
    let pending = begin(&store, MethodKind::Totp, at(1), 2);
    let again = confirm(
        &store,
        &policy,
        &pending.id,
        &totp_factor("phone"),
        &Evidence::new(Method::Totp, at(2), "phone"),
        at(3),
    );
    assert!(matches!(
        again,
        Err(AttemptError::Store(StoreError::AlreadyExists { .. }))
    ));
    assert_eq!(security_info(&store, ALICE).unwrap().methods.len(), 1);
}

#[test]
fn the_method_limit_holds_at_begin_and_at_confirm() {
    let store = MemoryStore::new();
    let mut policy = AccountPolicy::default();
    policy.max_methods = 1;
    let begin = |n: u64| {
        begin_add(
            &store,
            &policy,
            ALICE,
            MethodKind::Totp,
            "app",
            at(n),
            &mut rng(n),
        )
    };
    let first = begin(1).unwrap();
    let second = begin(2).unwrap();
    let confirm = |id: &MethodId, credential: &str| {
        confirm(
            &store,
            &policy,
            id,
            &totp_factor(credential),
            &Evidence::new(Method::Totp, at(5), credential),
            at(6),
        )
    };
    confirm(&first.id, "one").unwrap();
    assert_eq!(
        rejected(confirm(&second.id, "two")),
        AccountError::TooManyMethods { max: 1 }
    );
    assert_eq!(rejected(begin(3)), AccountError::TooManyMethods { max: 1 });
    assert_eq!(security_info(&store, ALICE).unwrap().methods.len(), 1);
    // The refused method left no record behind.
    let records =
        mfa_core::list::<_, MethodEntry>(&store, mfa_account::store::METHOD_KIND, ALICE).unwrap();
    assert_eq!(records.len(), 1);
}

#[test]
fn a_passkey_is_named_after_its_provider() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let providers = ProviderNames::from_json(
        r#"{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "Example Vault"}}"#,
    )
    .unwrap();
    let add = |aaguid: Option<&str>, n: u8| {
        let pending = begin_add(
            &store,
            &policy,
            ALICE,
            MethodKind::WebAuthn,
            "key",
            at(0),
            &mut rng(u64::from(n)),
        )
        .unwrap();
        let credential_id = passkey_id(n);
        confirm_add(
            &store,
            &policy,
            &NoEvents,
            ALICE,
            Confirmation {
                pending_id: &pending.id,
                factor: &FactorRef::WebAuthn {
                    credential_id: credential_id.clone(),
                    aaguid: aaguid.map(str::to_owned),
                },
                proof: &synced_key_evidence(&credential_id, at(1)),
                providers: Some(&providers),
            },
            at(2),
        )
        .unwrap()
    };
    let known = add(Some("0EA242B4-43C4-4A1B-8B17-DD6D0B6BAEC6"), 1);
    assert_eq!(known.provider.as_deref(), Some("Example Vault"));
    let unknown = add(Some("11111111-2222-3333-4444-555555555555"), 2);
    assert_eq!(unknown.provider, None);
    let undisclosed = add(None, 3);
    assert_eq!(undisclosed.provider, None);
}

// ---- rename, default, last use ----

#[test]
fn rename_default_and_last_use() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let events = EventLog::new();
    let app = add_method(
        &store,
        ALICE,
        totp_factor("app"),
        &Evidence::new(Method::Totp, at(0), "app"),
        at(0),
    );
    let key = add_passkey(&store, ALICE, 1, true, at(10));

    rename(
        &store,
        &policy,
        &events,
        ALICE,
        &key.id,
        " YubiKey ",
        at(20),
    )
    .unwrap();
    assert_eq!(
        rejected(rename(&store, &policy, &events, ALICE, &key.id, "", at(20))),
        AccountError::InvalidName
    );
    let unknown = MethodId::parse("nope").unwrap();
    assert_eq!(
        rejected(rename(
            &store,
            &policy,
            &events,
            ALICE,
            &unknown,
            "x",
            at(20)
        )),
        AccountError::MethodNotFound
    );

    set_default(&store, &events, ALICE, &key.id, at(30)).unwrap();
    set_default(&store, &events, ALICE, &key.id, at(31)).unwrap(); // no change, no event
    assert_eq!(
        rejected(set_default(&store, &events, ALICE, &unknown, at(32))),
        AccountError::MethodNotFound
    );
    // Another account's method is not this account's.
    assert_eq!(
        rejected(set_default(&store, &events, "bob", &key.id, at(32))),
        AccountError::MethodNotFound
    );

    record_use(&store, ALICE, &app.id, at(50)).unwrap();
    record_use(&store, ALICE, &app.id, at(40)).unwrap(); // never moves back
    assert_eq!(
        rejected(record_use(&store, ALICE, &unknown, at(50))),
        AccountError::MethodNotFound
    );

    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(
        info.methods
            .iter()
            .map(|m| m.id.clone())
            .collect::<Vec<_>>(),
        vec![app.id.clone(), key.id.clone()],
        "oldest first"
    );
    assert_eq!(info.method(&key.id).unwrap().name, "YubiKey");
    assert_eq!(info.method(&app.id).unwrap().last_used_at, Some(at(50)));
    assert_eq!(info.default_method.as_ref(), Some(&key.id));
    let changes: Vec<_> = events.take().into_iter().map(|e| e.change).collect();
    assert_eq!(
        changes,
        vec![
            AccountChange::MethodRenamed {
                method_id: key.id.to_string()
            },
            AccountChange::DefaultMethodChanged {
                method_id: key.id.to_string()
            },
        ]
    );
}

#[test]
fn events_reach_the_audit_log_without_secrets() {
    let store = MemoryStore::new();
    let audit = MemoryAuditSink::new();
    let notices = EventLog::new();
    let sink = AuditingSink {
        audit: &audit,
        next: &notices,
    };
    let key = add_passkey(&store, ALICE, 1, false, at(0));
    rename(
        &store,
        &AccountPolicy::default(),
        &sink,
        ALICE,
        &key.id,
        "Laptop",
        at(1),
    )
    .unwrap();
    let recorded = mfa_core::AuditSink::recent(&audit, ALICE, &RecentQuery::first(10))
        .unwrap()
        .events;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].reason(), Some("method_renamed"));
    assert_eq!(recorded[0].credential_id(), Some(key.id.as_str()));
    assert_eq!(recorded[0].at(), at(1));
    assert_eq!(notices.take().len(), 1);
}

#[test]
fn enrolled_methods_carry_what_each_check_proves() {
    let store = MemoryStore::new();
    let key = add_passkey(&store, ALICE, 1, true, at(0));
    let enrolled = enrolled_methods(&security_info(&store, ALICE).unwrap());
    assert_eq!(enrolled.len(), 1);
    assert_eq!(enrolled[0].method, Method::WebAuthn);
    assert_eq!(enrolled[0].credential.as_str(), passkey_id(1));
    assert_eq!(enrolled[0].properties, Some(key.properties));
}

// ---- removal ----

#[test]
fn the_last_method_that_meets_the_policy_cannot_be_removed() {
    let store = MemoryStore::new();
    let engine = engine(PHISHING_RESISTANT);
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    let session = strong_session(at(100));
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    let key = add_passkey(&store, ALICE, 1, true, at(0));

    let refused = remove(&store, &NoEvents, ALICE, &key.id, &session, &guard, at(100));
    assert_eq!(
        rejected(refused),
        AccountError::LastStrongMethod {
            strength: "phishing_resistant_mfa".into()
        }
    );
    // The TOTP app does not meet this policy: removing it changes nothing the policy needs.
    remove(&store, &NoEvents, ALICE, &app.id, &session, &guard, at(100)).unwrap();
    // With a second passkey, the first may go.
    let second = add_passkey(&store, ALICE, 2, true, at(110));
    remove(&store, &NoEvents, ALICE, &key.id, &session, &guard, at(120)).unwrap();
    let left = security_info(&store, ALICE).unwrap();
    assert_eq!(left.methods.len(), 1);
    assert_eq!(left.methods[0].id, second.id);
}

#[test]
fn the_guard_counts_methods_not_the_sessions_evidence() {
    // A probe carrying the session's passkey evidence must not make the last passkey removable.
    let store = MemoryStore::new();
    let engine = engine(PHISHING_RESISTANT);
    let key = add_passkey(&store, ALICE, 1, true, at(0));
    let mut context = probe(ALICE, at(100));
    context.add_evidence(hardware_key_evidence(&passkey_id(1), at(100)));
    let guard = RemovalGuard::new(&engine, context);
    let refused = remove(
        &store,
        &NoEvents,
        ALICE,
        &key.id,
        &strong_session(at(100)),
        &guard,
        at(100),
    );
    assert!(matches!(
        rejected(refused),
        AccountError::LastStrongMethod { .. }
    ));
}

#[test]
fn a_policy_that_could_not_be_met_does_not_pin_a_method() {
    // Only a TOTP app under a phishing-resistant policy: nothing satisfies it before, so the
    // removal does not make anything worse.
    let store = MemoryStore::new();
    let engine = engine(PHISHING_RESISTANT);
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    remove(
        &store,
        &NoEvents,
        ALICE,
        &app.id,
        &recovery_session(at(100)),
        &guard,
        at(100),
    )
    .unwrap();
}

#[test]
fn any_second_factor_keeps_an_mfa_policy_satisfiable() {
    let store = MemoryStore::new();
    let engine = engine(ANY_MFA);
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    let session = recovery_session(at(100));
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    let sms = add_phone(&store, ALICE, "mobile", false, at(0));
    remove(&store, &NoEvents, ALICE, &app.id, &session, &guard, at(100)).unwrap();
    assert_eq!(
        rejected(remove(
            &store,
            &NoEvents,
            ALICE,
            &sms.id,
            &session,
            &guard,
            at(100)
        )),
        AccountError::LastStrongMethod {
            strength: "mfa".into()
        }
    );
}

#[test]
fn a_recovery_session_can_remove_a_lost_phone_but_not_a_hardware_key() {
    let store = MemoryStore::new();
    let engine = engine(ANY_MFA);
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    let recovery = recovery_session(at(100));
    let (app, _) = add_totp(&store, ALICE, "app", at(0));
    let key = add_passkey(&store, ALICE, 1, true, at(0));
    let synced = add_passkey(&store, ALICE, 2, false, at(0));
    add_backup_codes(
        &store,
        &AccountPolicy::default(),
        &NoEvents,
        ALICE,
        &cheap_backup_codes(),
        at(0),
        &mut rng(3),
    )
    .unwrap();

    // AAL2 session, AAL3 method: refused (the help desk's reset is the way).
    assert_eq!(
        rejected(remove(
            &store,
            &NoEvents,
            ALICE,
            &key.id,
            &recovery,
            &guard,
            at(100)
        )),
        AccountError::WeakensAssurance
    );
    // A password alone reaches AAL1 only: not even the TOTP app.
    let password_only = [Evidence::new(Method::Password, at(100), "password")];
    assert_eq!(
        rejected(remove(
            &store,
            &NoEvents,
            ALICE,
            &app.id,
            &password_only,
            &guard,
            at(100)
        )),
        AccountError::WeakensAssurance
    );
    // AAL2 methods go with an AAL2 session.
    remove(
        &store,
        &NoEvents,
        ALICE,
        &app.id,
        &recovery,
        &guard,
        at(100),
    )
    .unwrap();
    remove(
        &store,
        &NoEvents,
        ALICE,
        &synced.id,
        &recovery,
        &guard,
        at(100),
    )
    .unwrap();
    // An AAL3 session may remove the hardware key.
    remove(
        &store,
        &NoEvents,
        ALICE,
        &key.id,
        &strong_session(at(100)),
        &guard,
        at(100),
    )
    .unwrap();
}

#[test]
fn removal_deletes_the_factor_state_so_it_stops_verifying() {
    let store = MemoryStore::new();
    let engine = engine(ANY_MFA);
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    let session = strong_session(at(100));
    let events = EventLog::new();
    let (app, credential) = add_totp(&store, ALICE, "app", at(0));
    let key = add_passkey(&store, ALICE, 1, true, at(0));
    let (codes_entry, issued) = add_backup_codes(
        &store,
        &AccountPolicy::default(),
        &NoEvents,
        ALICE,
        &cheap_backup_codes(),
        at(0),
        &mut rng(3),
    )
    .unwrap();
    // Before: the TOTP app verifies.
    assert!(totp_verifies(&store, ALICE, &credential, at(60)).is_ok());

    set_default(&store, &NoEvents, ALICE, &app.id, at(90)).unwrap();
    let removed = remove(&store, &events, ALICE, &app.id, &session, &guard, at(100)).unwrap();
    assert_eq!(removed.id, app.id);
    assert!(matches!(
        totp_verifies(&store, ALICE, &credential, at(120)),
        Err(AttemptError::NotEnrolled)
    ));
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.default_method, None, "the default went with it");
    assert!(info.method(&app.id).is_none());

    remove(
        &store,
        &events,
        ALICE,
        &codes_entry.id,
        &session,
        &guard,
        at(100),
    )
    .unwrap();
    let redeemed = redeem_backup_code(&store, ALICE, &issued.codes[0], at(130));
    assert!(matches!(redeemed, Err(AttemptError::NotEnrolled)));

    let webauthn_key = passkey_record_key(ALICE, 1);
    assert!(
        mfa_core::Store::load(&store, &webauthn_key)
            .unwrap()
            .is_some()
    );
    // The passkey is now the only method; the `mfa` policy still needs a second factor.
    assert!(matches!(
        rejected(remove(
            &store,
            &events,
            ALICE,
            &key.id,
            &session,
            &guard,
            at(100)
        )),
        AccountError::LastStrongMethod { .. }
    ));
    assert!(
        mfa_core::Store::load(&store, &webauthn_key)
            .unwrap()
            .is_some()
    );

    let changes: Vec<_> = events.take().into_iter().map(|e| e.change).collect();
    assert_eq!(
        changes,
        vec![
            AccountChange::MethodRemoved {
                method_id: app.id.to_string(),
                kind: MethodKind::Totp
            },
            AccountChange::MethodRemoved {
                method_id: codes_entry.id.to_string(),
                kind: MethodKind::BackupCodes
            },
        ]
    );
}

#[test]
fn removing_a_passkey_deletes_its_credential() {
    let store = MemoryStore::new();
    let engine = engine(ANY_MFA);
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    add_totp(&store, ALICE, "app", at(0));
    let key = add_passkey(&store, ALICE, 1, false, at(0));
    remove(
        &store,
        &NoEvents,
        ALICE,
        &key.id,
        &strong_session(at(100)),
        &guard,
        at(100),
    )
    .unwrap();
    let webauthn_key = passkey_record_key(ALICE, 1);
    assert!(
        mfa_core::Store::load(&store, &webauthn_key)
            .unwrap()
            .is_none()
    );
}

#[test]
fn sms_and_voice_of_one_phone_share_its_record() {
    // Removing the SMS method keeps the phone for the voice method; removing that removes it.
    let store = MemoryStore::new();
    let engine = engine("");
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    let session = strong_session(at(100));
    let sms = add_phone(&store, ALICE, "mobile", false, at(0));
    let voice = add_phone(&store, ALICE, "mobile", true, at(0));
    remove(&store, &NoEvents, ALICE, &sms.id, &session, &guard, at(100)).unwrap();
    remove(
        &store,
        &NoEvents,
        ALICE,
        &voice.id,
        &session,
        &guard,
        at(100),
    )
    .unwrap();
    assert!(security_info(&store, ALICE).unwrap().methods.is_empty());
    assert_eq!(
        rejected(remove(
            &store,
            &NoEvents,
            ALICE,
            &voice.id,
            &session,
            &guard,
            at(100)
        )),
        AccountError::MethodNotFound
    );
}

#[test]
fn concurrent_removals_of_the_last_two_strong_methods_leave_one() {
    const ROUNDS: u64 = 25;
    for round in 0..ROUNDS {
        let store = Arc::new(MemoryStore::new());
        let first = add_passkey(&*store, ALICE, 1, false, at(0));
        let second = add_passkey(&*store, ALICE, 2, false, at(0));
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [first.id.clone(), second.id.clone()]
            .into_iter()
            .map(|id| {
                let (store, barrier) = (store.clone(), barrier.clone());
                thread::spawn(move || {
                    let engine = engine(PHISHING_RESISTANT);
                    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
                    let session = [
                        Evidence::new(Method::Password, at(100), "password"),
                        synced_key_evidence(&passkey_id(1), at(100)),
                    ];
                    barrier.wait();
                    remove(&*store, &NoEvents, ALICE, &id, &session, &guard, at(100))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        assert!(results.iter().any(|r| matches!(
            r,
            Err(AttemptError::Rejected(
                AccountError::LastStrongMethod { .. }
            ))
        )));
        assert_eq!(security_info(&*store, ALICE).unwrap().methods.len(), 1);
    }
}

// ---- backup codes ----

#[test]
fn backup_codes_count_once_issued_and_a_new_set_replaces_the_entry() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let events = EventLog::new();
    let (first, first_codes) = add_backup_codes(
        &store,
        &policy,
        &events,
        ALICE,
        &cheap_backup_codes(),
        at(0),
        &mut rng(1),
    )
    .unwrap();
    assert_eq!(first.kind, MethodKind::BackupCodes);
    assert_eq!(first.name, mfa_account::BACKUP_CODES_NAME);
    assert_eq!(first_codes.codes.len(), 3);
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.default_method.as_ref(), Some(&first.id));

    let (second, second_codes) = add_backup_codes(
        &store,
        &policy,
        &events,
        ALICE,
        &cheap_backup_codes(),
        at(10),
        &mut rng(2),
    )
    .unwrap();
    let info = security_info(&store, ALICE).unwrap();
    assert_eq!(info.methods, vec![second.clone()]);
    assert_eq!(info.default_method.as_ref(), Some(&second.id));

    assert!(matches!(
        redeem_backup_code(&store, ALICE, &first_codes.codes[0], at(20)),
        Err(AttemptError::Rejected(_))
    ));
    assert!(redeem_backup_code(&store, ALICE, &second_codes.codes[0], at(20)).is_ok());
    assert_eq!(events.take().len(), 2);
}

#[test]
fn backup_code_options_the_factor_refuses_are_reported() {
    let store = MemoryStore::new();
    let refused = add_backup_codes(
        &store,
        &AccountPolicy::default(),
        &NoEvents,
        ALICE,
        &mfa_backup::IssuePolicy {
            count: 0,
            ..cheap_backup_codes()
        },
        at(0),
        &mut rng(1),
    );
    assert!(matches!(
        rejected(refused),
        AccountError::FactorRefused {
            method: Method::BackupCode,
            ..
        }
    ));
    assert!(security_info(&store, ALICE).unwrap().methods.is_empty());
}

// ---- async ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_path_adds_and_removes() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let events = EventLog::new();
    let pending = mfa_account::begin_add_async(
        &store,
        &policy,
        ALICE,
        MethodKind::Push,
        "Phone",
        at(0),
        &mut rng(1),
    )
    .await
    .unwrap();
    // An mfa-push device id: 32 bytes, unpadded base64url.
    let device_id = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([9_u8; 32])
    };
    let proof = Evidence::new(Method::Push, at(5), device_id.as_str());
    let entry = mfa_account::confirm_add_async(
        &store,
        &policy,
        &events,
        ALICE,
        Confirmation {
            pending_id: &pending.id,
            factor: &FactorRef::Push {
                device_id: device_id.clone(),
            },
            proof: &proof,
            providers: None,
        },
        at(6),
    )
    .await
    .unwrap();
    let info = mfa_account::security_info_async(&store, ALICE)
        .await
        .unwrap();
    assert_eq!(info.methods, vec![entry.clone()]);

    let engine = engine("");
    let guard = RemovalGuard::new(&engine, probe(ALICE, at(100)));
    mfa_account::remove_async(
        &store,
        &events,
        ALICE,
        &entry.id,
        &strong_session(at(100)),
        &guard,
        at(100),
    )
    .await
    .unwrap();
    assert!(
        mfa_account::security_info_async(&store, ALICE)
            .await
            .unwrap()
            .methods
            .is_empty()
    );
    assert_eq!(events.take().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_backup_codes_hash_off_the_executor() {
    let store = MemoryStore::new();
    let (entry, issued) = mfa_account::add_backup_codes_async(
        &store,
        &AccountPolicy::default(),
        &NoEvents,
        ALICE,
        &cheap_backup_codes(),
        at(0),
        &mut rng(1),
        |job| tokio::task::spawn_blocking(move || job.run()),
    )
    .await
    .unwrap();
    assert_eq!(issued.codes.len(), 3);
    assert_eq!(
        mfa_account::security_info_async(&store, ALICE)
            .await
            .unwrap()
            .methods,
        vec![entry]
    );
}

// ---- the factor state read from the proof ----

#[test]
fn the_factor_is_read_from_each_kinds_evidence() {
    let now = at(0);
    let cases = [
        (
            MethodKind::Totp,
            Method::Totp,
            FactorRef::Totp {
                credential_id: "cred".into(),
            },
        ),
        (
            MethodKind::Hotp,
            Method::Hotp,
            FactorRef::Hotp {
                credential_id: "cred".into(),
            },
        ),
        (
            MethodKind::WebAuthn,
            Method::WebAuthn,
            FactorRef::WebAuthn {
                credential_id: "cred".into(),
                aaguid: None,
            },
        ),
        (
            MethodKind::Push,
            Method::Push,
            FactorRef::Push {
                device_id: "cred".into(),
            },
        ),
        (
            MethodKind::Sms,
            Method::Sms,
            FactorRef::Phone {
                phone_id: "cred".into(),
                voice: false,
            },
        ),
        (
            MethodKind::Voice,
            Method::Voice,
            FactorRef::Phone {
                phone_id: "cred".into(),
                voice: true,
            },
        ),
    ];
    for (kind, method, expected) in cases {
        let evidence = Evidence::new(method, now, "cred");
        assert_eq!(FactorRef::from_evidence(kind, &evidence), Ok(expected));
        // The kind must be the evidence's.
        let other = if kind == MethodKind::Totp {
            MethodKind::Hotp
        } else {
            MethodKind::Totp
        };
        assert_eq!(
            FactorRef::from_evidence(other, &evidence),
            Err(AccountError::ProofMismatch)
        );
    }
    // No credential, or backup codes (registered by add_backup_codes, not by a check).
    assert_eq!(
        FactorRef::from_evidence(MethodKind::Totp, &Evidence::new(Method::Totp, now, "")),
        Err(AccountError::ProofMismatch)
    );
    assert_eq!(
        FactorRef::from_evidence(
            MethodKind::BackupCodes,
            &Evidence::new(Method::BackupCode, now, "set")
        ),
        Err(AccountError::ProofMismatch)
    );
}

#[test]
fn a_webauthn_factor_is_named_as_its_evidence_names_it() {
    let id = mfa_webauthn::CredentialId::from_b64url(&passkey_id(4)).unwrap();
    let factor = FactorRef::webauthn(&id, Some("ee882879-721c-4913-9775-3dfcce97072a".into()));
    // mfa-webauthn's assertion evidence carries `mfa_core::CredentialId::from(&id)`.
    let evidence = Evidence::new(Method::WebAuthn, at(0), &id);
    assert_eq!(factor.credential_id(), Some(evidence.credential.as_str()));
    assert_eq!(factor.credential_id(), Some(passkey_id(4).as_str()));
    assert!(matches!(
        factor,
        FactorRef::WebAuthn {
            aaguid: Some(ref aaguid),
            ..
        } if aaguid == "ee882879-721c-4913-9775-3dfcce97072a"
    ));
}

#[test]
fn a_method_is_confirmed_by_its_pending_id_and_proof_alone() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let events = EventLog::new();
    // A real TOTP enrollment: mfa-otp's first check is the proof.
    let pending = begin(&store, MethodKind::Totp, at(0), 1);
    let enrollment = mfa_otp::begin_totp_enrollment(
        &store,
        ALICE,
        "app",
        &mfa_otp::TotpEnrollmentPolicy::default(),
        &mut rng(2),
        at(0),
    )
    .unwrap();
    let code = enrollment
        .params()
        .code_at(enrollment.secret(), at(30))
        .unwrap();
    let verified = mfa_otp::confirm_totp_enrollment(
        &store,
        ALICE,
        "app",
        &mfa_core::ThrottlePolicy::default(),
        code.as_str(),
        at(30),
    )
    .unwrap();
    let entry = mfa_account::confirm_add_with_proof(
        &store,
        &policy,
        &events,
        ALICE,
        &pending.id,
        verified.evidence(),
        at(40),
    )
    .unwrap();
    assert_eq!(
        entry.factor,
        FactorRef::Totp {
            credential_id: "app".into()
        }
    );
    assert_eq!(entry.id, pending.id);
    assert_eq!(entry.properties, verified.evidence().properties);
    assert_eq!(
        security_info(&store, ALICE).unwrap().methods,
        vec![entry.clone()]
    );
    assert_eq!(
        events
            .take()
            .into_iter()
            .map(|e| e.change)
            .collect::<Vec<_>>(),
        vec![AccountChange::MethodAdded {
            method_id: entry.id.to_string(),
            kind: MethodKind::Totp
        }]
    );
    // Used once.
    assert_eq!(
        rejected(confirm_by_proof(
            &store,
            &pending.id,
            verified.evidence(),
            at(40)
        )),
        AccountError::PendingNotFound
    );
}

/// Confirms Alice's pending method from its proof alone, under the default policy.
fn confirm_by_proof(
    store: &MemoryStore,
    pending_id: &MethodId,
    proof: &Evidence,
    now: mfa_core::UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    let policy = AccountPolicy::default();
    mfa_account::confirm_add_with_proof(store, &policy, &NoEvents, ALICE, pending_id, proof, now)
}

#[test]
fn a_proof_of_another_kind_spends_the_pending_method() {
    let store = MemoryStore::new();
    let pending = begin(&store, MethodKind::Voice, at(0), 1);
    let sms_check = Evidence::new(Method::Sms, at(10), "mobile");
    assert_eq!(
        rejected(confirm_by_proof(&store, &pending.id, &sms_check, at(10))),
        AccountError::ProofMismatch
    );
    let voice_check = Evidence::new(Method::Voice, at(10), "mobile");
    assert_eq!(
        rejected(confirm_by_proof(&store, &pending.id, &voice_check, at(10))),
        AccountError::PendingNotFound
    );
    // The usual rules hold: a stale proof is refused.
    let pending = begin(&store, MethodKind::Voice, at(0), 2);
    let stale = Evidence::new(Method::Voice, at(0), "mobile");
    assert_eq!(
        rejected(confirm_by_proof(&store, &pending.id, &stale, at(11 * 60))),
        AccountError::ProofStale
    );
    assert!(security_info(&store, ALICE).unwrap().methods.is_empty());
}

#[tokio::test]
async fn a_method_is_confirmed_by_its_proof_alone_async() {
    let store = MemoryStore::new();
    let policy = AccountPolicy::default();
    let pending = begin(&store, MethodKind::Sms, at(0), 1);
    let entry = mfa_account::confirm_add_with_proof_async(
        &store,
        &policy,
        &NoEvents,
        ALICE,
        &pending.id,
        &Evidence::new(Method::Sms, at(5), "mobile"),
        at(5),
    )
    .await
    .unwrap();
    assert_eq!(
        entry.factor,
        FactorRef::Phone {
            phone_id: "mobile".into(),
            voice: false
        }
    );
}
