//! Sending and verifying codes through the store with a manual clock: enrollment, sign-in,
//! expiry, single use, the transaction binding, replacement by a new code, the throttle (not
//! reset by a resend), removed phones, e-mail, delivery failures, and the async twins.
#![allow(clippy::unwrap_used, reason = "tests unwrap fixed test data")]

mod common;

use std::time::Duration;

use common::{Bench, DE_MOBILE, UK_MOBILE, US_NUMBER, example_messages, number, other_code};
use mfa_core::{AttemptError, Method, RecordKey, Store, ThrottlePolicy, ThrottleStatus, Throttled};
use mfa_oob::{
    Channel, CodeOutcome, CodePolicy, CodeRequest, CodeTarget, Destination, EmailAddress,
    InMemorySender, OOB_CODE_KIND, OobError, OobPolicy, SendLimitScope, list_phones,
    oob_account_key, oob_code_key, pending_code, remove_phone, send_code_async, verify_code_async,
};
use proptest::prelude::*;

#[test]
fn enrollment_then_sign_in_gives_restricted_sms_evidence() {
    let mut bench = Bench::new();
    let uk = number(UK_MOBILE);
    let sent = bench
        .send(
            "alice",
            "enroll-1",
            Channel::Sms,
            CodeTarget::NewPhone {
                id: "mobile",
                number: &uk,
            },
        )
        .unwrap();
    assert_eq!(sent.to(), "+44 ••• ••• ••56");
    assert_eq!(sent.channel(), Channel::Sms);
    assert_eq!(
        sent.expires_at(),
        bench.now().saturating_add(Duration::from_secs(300))
    );
    assert_eq!(
        sent.resend_at(),
        bench.now().saturating_add(Duration::from_secs(30))
    );
    // Nothing is enrolled until the code comes back.
    assert!(list_phones(&bench.store, "alice").unwrap().is_empty());
    let message = bench.sender.last().unwrap();
    assert_eq!(message.to(), &Destination::Phone(uk.clone()));
    let pending = pending_code(&bench.store, "alice").unwrap().unwrap();
    assert_eq!(pending.channel(), Channel::Sms);
    assert_eq!(pending.to(), "+44 ••• ••• ••56");
    assert_eq!(pending.phone_id(), Some("mobile"));
    assert!(pending.is_enrollment());
    assert_eq!(pending.expires_at(), sent.expires_at());
    assert_eq!(pending.sent_at(), bench.now());

    let code = bench.last_code();
    bench.advance(20);
    let enrolled = bench.verify("alice", "enroll-1", &code).unwrap();
    assert_eq!(enrolled.evidence().method, Method::Sms);
    assert!(enrolled.evidence().properties.restricted);
    assert_eq!(enrolled.evidence().credential.as_str(), "mobile");
    let CodeOutcome::Enrolled(phone) = enrolled.credential() else {
        panic!("an enrollment code enrolls: {enrolled:?}");
    };
    assert_eq!(phone.number(), &uk);
    assert_eq!(phone.created_at(), bench.now());
    assert_eq!(
        list_phones(&bench.store, "alice").unwrap(),
        std::slice::from_ref(phone)
    );

    // Sign in later by voice.
    bench.advance(3600);
    bench
        .send_to_mobile("alice", "sign-in-7", Channel::Voice)
        .unwrap();
    let code = bench.last_code();
    let signed_in = bench.verify("alice", "sign-in-7", &code).unwrap();
    assert_eq!(signed_in.evidence().method, Method::Voice);
    assert!(signed_in.evidence().properties.restricted);
    assert_eq!(signed_in.evidence().verified_at, bench.now());
    let CodeOutcome::SignedIn(phone) = signed_in.credential() else {
        panic!("a sign-in code signs in: {signed_in:?}");
    };
    assert_eq!(phone.last_used_at(), Some(bench.now()));
    assert_eq!(
        list_phones(&bench.store, "alice").unwrap()[0].last_used_at(),
        Some(bench.now())
    );
}

#[test]
fn a_code_is_accepted_once_and_its_record_is_gone() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    assert!(bench.verify("alice", "t1", &code).is_ok());
    assert!(
        Store::load(&bench.store, &oob_code_key("alice"))
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        bench.verify("alice", "t1", &code),
        Err(AttemptError::ChallengeNotFound)
    ));
}

#[test]
fn an_expired_code_is_refused_and_not_counted() {
    let mut bench = Bench::with_policy(
        OobPolicy::new(example_messages())
            .with_code(CodePolicy::new(8, Duration::from_secs(120)).unwrap()),
    );
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    assert_eq!(code.len(), 8);
    // Accepted one second before the end of its two minutes …
    bench.advance(119);
    assert!(bench.verify("alice", "t1", &code).is_ok());
    bench.send_to_mobile("alice", "t2", Channel::Sms).unwrap();
    let code = bench.last_code();
    bench.advance(120);
    // … refused from the instant it expires.
    assert!(matches!(
        bench.verify("alice", "t2", &code),
        Err(AttemptError::Rejected(OobError::Expired))
    ));
    let status = bench.throttle_status("alice");
    assert_eq!(status, ThrottleStatus::Open { failures: 0 });
}

#[test]
fn a_code_is_bound_to_its_transaction() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench
        .send_to_mobile("alice", "sign-in-A", Channel::Sms)
        .unwrap();
    let code = bench.last_code();
    // The right code carried into another session is refused, and uses the code up.
    assert!(matches!(
        bench.verify("alice", "sign-in-B", &code),
        Err(AttemptError::Rejected(OobError::WrongTransaction))
    ));
    assert!(matches!(
        bench.verify("alice", "sign-in-A", &code),
        Err(AttemptError::ChallengeNotFound)
    ));
    // It is not a guess: the throttle did not count it.
    let status = bench.throttle_status("alice");
    assert_eq!(status, ThrottleStatus::Open { failures: 0 });
}

#[test]
fn a_new_code_replaces_the_old_one() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let first = bench.last_code();
    bench.advance(30);
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let second = bench.last_code();
    assert_ne!(first, second, "the seeded RNG draws two different codes");
    assert!(matches!(
        bench.verify("alice", "t1", &first),
        Err(AttemptError::Rejected(OobError::CodeMismatch))
    ));
    // The wrong answer used up the pending (second) code as well: one guess per code.
    assert!(matches!(
        bench.verify("alice", "t1", &second),
        Err(AttemptError::ChallengeNotFound)
    ));
}

#[test]
fn the_newest_code_works_after_a_resend() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    bench.advance(30);
    bench.send_to_mobile("alice", "t1", Channel::Voice).unwrap();
    let second = bench.last_code();
    let verified = bench.verify("alice", "t1", &second).unwrap();
    assert_eq!(verified.evidence().method, Method::Voice);
}

#[test]
fn a_malformed_code_keeps_the_pending_code() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    for typo in ["12345", "12345x", "", "123 456 7890 1"] {
        assert!(matches!(
            bench.verify("alice", "t1", typo),
            Err(AttemptError::Rejected(OobError::MalformedCode))
        ));
    }
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert!(bench.verify("alice", "t1", &spaced).is_ok());
}

#[test]
fn a_resend_does_not_reset_the_failure_count() {
    let throttle = ThrottlePolicy {
        free_failures: 2,
        ..ThrottlePolicy::default()
    };
    let mut bench = Bench::alice_with_throttle(throttle);
    let mut gap = 30;
    for failures in 1..=3_u32 {
        bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
        let wrong = other_code(&bench.last_code());
        assert!(matches!(
            bench.verify("alice", "t1", &wrong),
            Err(AttemptError::Rejected(OobError::CodeMismatch))
        ));
        assert_eq!(
            bench.throttle_status("alice"),
            if failures <= 2 {
                ThrottleStatus::Open { failures }
            } else {
                ThrottleStatus::Throttled(Throttled::TooSoon {
                    retry_after: Duration::from_secs(1),
                })
            },
            "after {failures} failures, each on a fresh code"
        );
        bench.advance(gap);
        gap *= 2;
    }
    // A fourth code, right code this time: success clears the count.
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    assert!(bench.verify("alice", "t1", &code).is_ok());
    assert_eq!(
        bench.throttle_status("alice"),
        ThrottleStatus::Open { failures: 0 }
    );
}

#[test]
fn a_throttled_attempt_leaves_the_code_in_place() {
    let throttle = ThrottlePolicy {
        free_failures: 0,
        initial_delay: Duration::from_secs(60),
        ..ThrottlePolicy::default()
    };
    let mut bench = Bench::alice_with_throttle(throttle);
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let wrong = other_code(&bench.last_code());
    assert!(matches!(
        bench.verify("alice", "t1", &wrong),
        Err(AttemptError::Rejected(OobError::CodeMismatch))
    ));
    bench.advance(30);
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    // One failure: wait a minute after it. The new code is not taken meanwhile …
    let throttled = bench.verify("alice", "t1", &code);
    let Err(AttemptError::Throttled(Throttled::TooSoon { retry_after })) = throttled else {
        panic!("expected TooSoon, got {throttled:?}");
    };
    assert_eq!(retry_after, Duration::from_secs(30));
    // … so it still works once the wait is over.
    bench.advance(30);
    assert!(bench.verify("alice", "t1", &code).is_ok());
}

#[test]
fn a_locked_account_gets_no_more_codes_until_reset() {
    let throttle = ThrottlePolicy {
        max_consecutive_failures: 2,
        ..ThrottlePolicy::default()
    };
    let mut bench = Bench::alice_with_throttle(throttle);
    for _ in 0..2 {
        bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
        let wrong = other_code(&bench.last_code());
        assert!(matches!(
            bench.verify("alice", "t1", &wrong),
            Err(AttemptError::Rejected(OobError::CodeMismatch))
        ));
        bench.advance(600);
    }
    let sent_before = bench.sender.len();
    assert!(matches!(
        bench.send_to_mobile("alice", "t1", Channel::Sms),
        Err(AttemptError::Throttled(Throttled::LockedOut {
            failures: 2
        }))
    ));
    assert_eq!(bench.sender.len(), sent_before);
    // Recovery through another method (or an administrator) resets it.
    bench
        .policy
        .throttle()
        .reset(&bench.store, &oob_account_key("alice"))
        .unwrap();
    assert!(bench.send_to_mobile("alice", "t1", Channel::Sms).is_ok());
}

#[test]
fn a_code_sent_to_a_removed_phone_is_refused() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.enroll("alice", "desk", &number(US_NUMBER));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    let removed = remove_phone(&bench.store, "alice", "mobile")
        .unwrap()
        .unwrap();
    assert_eq!(removed.id(), "mobile");
    assert_eq!(remove_phone(&bench.store, "alice", "mobile").unwrap(), None);
    assert!(matches!(
        bench.verify("alice", "t1", &code),
        Err(AttemptError::Rejected(OobError::PhoneRemoved))
    ));
    assert!(matches!(
        bench.send_to_mobile("alice", "t2", Channel::Sms),
        Err(AttemptError::Rejected(OobError::UnknownPhone))
    ));
    let left: Vec<String> = list_phones(&bench.store, "alice")
        .unwrap()
        .iter()
        .map(|phone| phone.id().to_owned())
        .collect();
    assert_eq!(left, ["desk"]);
}

#[test]
fn enrollment_refuses_duplicates_and_too_many_phones() {
    let mut bench = Bench::with_policy(
        OobPolicy::new(example_messages())
            .with_max_phones(2)
            .unwrap(),
    );
    let uk = number(UK_MOBILE);
    bench.enroll("alice", "mobile", &uk);
    for (id, number) in [("mobile", number(DE_MOBILE)), ("other", uk.clone())] {
        assert!(matches!(
            bench.send(
                "alice",
                "t",
                Channel::Sms,
                CodeTarget::NewPhone {
                    id,
                    number: &number
                }
            ),
            Err(AttemptError::Rejected(OobError::AlreadyEnrolled))
        ));
    }
    bench.enroll("alice", "desk", &number(US_NUMBER));
    let de = number(DE_MOBILE);
    assert!(matches!(
        bench.send(
            "alice",
            "t",
            Channel::Sms,
            CodeTarget::NewPhone {
                id: "third",
                number: &de
            }
        ),
        Err(AttemptError::Rejected(OobError::TooManyPhones { max: 2 }))
    ));
}

#[test]
fn a_second_enrollment_replaces_the_pending_one() {
    let mut bench = Bench::new();
    let uk = number(UK_MOBILE);
    // The user changed the phone's name and asked again: only the second enrollment completes.
    bench
        .send(
            "alice",
            "t1",
            Channel::Sms,
            CodeTarget::NewPhone {
                id: "a",
                number: &uk,
            },
        )
        .unwrap();
    bench.advance(30);
    bench
        .send(
            "alice",
            "t1",
            Channel::Sms,
            CodeTarget::NewPhone {
                id: "b",
                number: &uk,
            },
        )
        .unwrap();
    let code = bench.last_code();
    let verified = bench.verify("alice", "t1", &code).unwrap();
    assert_eq!(verified.credential().phone().unwrap().id(), "b");
    assert_eq!(list_phones(&bench.store, "alice").unwrap().len(), 1);
}

#[test]
fn email_codes_are_refused_unless_opted_into_and_never_count_under_rev4() {
    let address = EmailAddress::parse("alice@example.com").unwrap();
    let mut bench = Bench::new();
    assert!(matches!(
        bench.send("alice", "t1", Channel::Email, CodeTarget::Email(&address)),
        Err(AttemptError::Rejected(OobError::ChannelRefused(
            Channel::Email
        )))
    ));
    assert!(bench.sender.is_empty());
    assert!(!Channel::Email.acceptable_under_rev4());

    let mut bench =
        Bench::with_policy(OobPolicy::new(example_messages()).danger_allow_email_codes());
    // Still not to a phone, and not by SMS to a mailbox.
    assert!(matches!(
        bench.send("alice", "t1", Channel::Sms, CodeTarget::Email(&address)),
        Err(AttemptError::Rejected(OobError::ChannelRefused(
            Channel::Sms
        )))
    ));
    let sent = bench
        .send("alice", "t1", Channel::Email, CodeTarget::Email(&address))
        .unwrap();
    assert_eq!(sent.to(), "a•••@example.com");
    let message = bench.sender.last().unwrap();
    assert_eq!(message.subject(), Some("Your Example verification code"));
    let code = bench.last_code();
    let verified = bench.verify("alice", "t1", &code).unwrap();
    assert_eq!(verified.evidence().method, Method::Email);
    assert!(verified.evidence().properties.restricted);
    assert_eq!(
        verified.credential(),
        &CodeOutcome::EmailConfirmed(address.clone())
    );
}

#[test]
fn a_failed_delivery_keeps_the_code_and_the_count() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.sender.fail_next(1);
    let failed = bench.send_to_mobile("alice", "t1", Channel::Sms);
    let Err(AttemptError::Rejected(error @ OobError::Delivery(_))) = failed else {
        panic!("expected a delivery error, got {failed:?}");
    };
    assert_eq!(error.http_status(), 502);
    // The code was stored before the attempt …
    assert!(
        Store::load(&bench.store, &oob_code_key("alice"))
            .unwrap()
            .is_some()
    );
    // … and the send counted: a resend waits the gap.
    assert!(matches!(
        bench.send_to_mobile("alice", "t1", Channel::Sms),
        Err(AttemptError::Rejected(OobError::SendLimited {
            scope: SendLimitScope::Account,
            ..
        }))
    ));
}

#[test]
fn nothing_is_written_for_a_refused_request() {
    let mut bench = Bench::new();
    let voip = number("+44 56 1234 5678");
    for (channel, target) in [
        (Channel::Sms, CodeTarget::Phone("nope")),
        (
            Channel::Sms,
            CodeTarget::NewPhone {
                id: "voip",
                number: &voip,
            },
        ),
        (
            Channel::Sms,
            CodeTarget::NewPhone {
                id: "",
                number: &voip,
            },
        ),
    ] {
        let refused = bench.send("alice", "t1", channel, target);
        assert!(
            matches!(refused, Err(AttemptError::Rejected(_))),
            "{refused:?}"
        );
    }
    for (account, transaction) in [("", "t1"), ("alice", ""), ("alice", "a\nb")] {
        assert!(matches!(
            bench.send(
                account,
                transaction,
                Channel::Sms,
                CodeTarget::Phone("mobile")
            ),
            Err(AttemptError::Rejected(OobError::InvalidParameter(_)))
        ));
    }
    assert!(bench.store.is_empty());
    assert!(bench.sender.is_empty());
    // Verifying for an account that never had a code writes nothing either.
    assert!(matches!(
        bench.verify("alice", "t1", "123456"),
        Err(AttemptError::NotEnrolled)
    ));
    assert!(bench.store.is_empty());
}

#[test]
fn the_stored_records_hold_no_code_except_the_pending_one() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    let code = bench.last_code();
    let account = Store::load(&bench.store, &oob_account_key("alice"))
        .unwrap()
        .unwrap();
    let holds = |haystack: &[u8]| haystack.windows(code.len()).any(|w| w == code.as_bytes());
    assert!(!holds(&account.value));
    let pending = Store::load(&bench.store, &oob_code_key("alice"))
        .unwrap()
        .unwrap();
    assert!(holds(&pending.value));
    // The pending record expires from the store an hour after the code did.
    assert_eq!(
        pending.expires_at,
        Some(bench.now().saturating_add(Duration::from_secs(300 + 3600)))
    );
    assert_eq!(
        oob_code_key("alice"),
        RecordKey::new(OOB_CODE_KIND, "alice", "")
    );
}

#[test]
fn async_twins_give_the_same_answers_on_a_runtime() {
    fn assert_send<F: Future + Send>(future: F) -> F {
        future
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bench = Bench::new();
    let sender = InMemorySender::new();
    let uk = number(UK_MOBILE);
    let now = bench.now();
    runtime.block_on(async {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        let request = CodeRequest {
            account: "bob",
            transaction: "t1",
            channel: Channel::Sms,
            language: "de-CH",
        };
        let target = CodeTarget::NewPhone {
            id: "mobile",
            number: &uk,
        };
        assert_send(send_code_async(
            &bench.store,
            &sender,
            &bench.policy,
            &request,
            target,
            now,
            &mut rng,
        ))
        .await
        .unwrap();
        let message = sender.last().unwrap();
        assert!(message.body().contains("Bestätigungscode"));
        let code = message.code().unwrap().expose_secret().to_owned();
        let verified = assert_send(verify_code_async(
            &bench.store,
            &bench.policy,
            "bob",
            "t1",
            &code,
            now,
        ))
        .await
        .unwrap();
        assert!(matches!(verified.credential(), CodeOutcome::Enrolled(_)));
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A code that differs from the sent one in any digit is refused; the sent one is accepted.
    #[test]
    fn any_other_code_is_refused(position in 0_usize..6, bump in 1_u32..10) {
        let mut bench = Bench::new();
        let uk = number(UK_MOBILE);
        bench.send_new("alice", "t", &uk).unwrap();
        let code = bench.last_code();
        let mut digits: Vec<char> = code.chars().collect();
        let digit = digits[position].to_digit(10).unwrap();
        digits[position] = char::from_digit((digit + bump) % 10, 10).unwrap();
        let wrong: String = digits.into_iter().collect();
        prop_assert!(matches!(
            bench.verify("alice", "t", &wrong),
            Err(AttemptError::Rejected(OobError::CodeMismatch))
        ));
        bench.advance(30);
        bench.send_new("alice", "t", &uk).unwrap();
        let code = bench.last_code();
        prop_assert!(bench.verify("alice", "t", &code).is_ok());
    }
}
