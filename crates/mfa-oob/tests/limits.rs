//! Send limits through the store with a manual clock: per account, per destination number (shared
//! by accounts), per country calling code, growing gaps between resends, daily caps, and the
//! counts given back when a later limit refuses.
#![allow(clippy::unwrap_used, reason = "tests unwrap fixed test data")]

mod common;

use std::time::Duration;

use common::{Bench, DE_MOBILE, UK_MOBILE, US_NUMBER, example_messages, number};
use mfa_core::AttemptError;
use mfa_oob::{
    Channel, CodeTarget, OobError, OobPolicy, ResendGaps, SendLimitScope, SendLimits, WindowLimits,
};

/// The scope and wait of a refused send.
fn limited(
    result: Result<mfa_oob::SentCode, AttemptError<OobError>>,
) -> (SendLimitScope, Duration) {
    match result {
        Err(AttemptError::Rejected(OobError::SendLimited { scope, retry_after })) => {
            (scope, retry_after)
        }
        other => panic!("expected a send limit, got {other:?}"),
    }
}

/// Resend gaps of one second: out of the way, to see the hourly and daily counts alone.
fn one_second_gaps() -> ResendGaps {
    ResendGaps {
        first: Duration::from_secs(1),
        max: Duration::from_secs(1),
        ..ResendGaps::default()
    }
}

fn policy_with(limits: SendLimits) -> OobPolicy {
    OobPolicy::new(example_messages())
        .with_limits(limits)
        .unwrap()
}

#[test]
fn resends_wait_30_60_120_240_seconds() {
    // Hourly counts high enough to see the gaps alone.
    let limits = SendLimits {
        per_account: WindowLimits::new(10, 20),
        per_number: WindowLimits::new(10, 20),
        ..SendLimits::default()
    };
    let mut bench = Bench::with_policy(policy_with(limits));
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.send_to_mobile("alice", "t", Channel::Sms).unwrap();
    for gap in [30_u64, 60, 120, 240] {
        bench.advance(gap - 1);
        let (scope, wait) = limited(bench.send_to_mobile("alice", "t", Channel::Sms));
        assert_eq!(scope, SendLimitScope::Account);
        assert_eq!(
            wait,
            Duration::from_secs(1),
            "one second before the {gap} s gap ends"
        );
        bench.advance(1);
        let sent = bench.send_to_mobile("alice", "t", Channel::Sms).unwrap();
        assert_eq!(
            sent.resend_at(),
            bench.now().saturating_add(Duration::from_secs(gap * 2)),
        );
    }
}

#[test]
fn the_account_may_send_five_an_hour() {
    // Gaps out of the way, to see the hourly count alone.
    let limits = SendLimits {
        resend_gaps: one_second_gaps(),
        ..SendLimits::default()
    };
    let mut bench = Bench::with_policy(policy_with(limits));
    // Five enrollment codes (to five numbers, so the number limit stays out of it).
    let numbers = [
        "+44 7911 123456",
        "+44 7911 123457",
        "+44 7911 123458",
        "+44 7911 123459",
        "+44 7911 123460",
        "+44 7911 123461",
    ]
    .map(number);
    // Start at the beginning of an hour window, so the previous window is empty.
    bench.advance_to_window_start(3600);
    for (i, n) in numbers[..5].iter().enumerate() {
        bench
            .send(
                "alice",
                "t",
                Channel::Sms,
                CodeTarget::NewPhone { id: "x", number: n },
            )
            .unwrap_or_else(|e| panic!("send {i}: {e:?}"));
        bench.advance(1);
    }
    let (scope, wait) = limited(bench.send(
        "alice",
        "t",
        Channel::Sms,
        CodeTarget::NewPhone {
            id: "x",
            number: &numbers[5],
        },
    ));
    assert_eq!(scope, SendLimitScope::Account);
    // The five sends fill this hour window; the next has room once the weight of this one
    // drops: 5 × (3600 − e) / 3600 + 1 ≤ 5 at e = 720 s into the next window.
    let until_next_window = 3600 - 5;
    assert_eq!(wait, Duration::from_secs(until_next_window + 720));
    bench.advance(until_next_window + 720);
    assert!(
        bench
            .send(
                "alice",
                "t",
                Channel::Sms,
                CodeTarget::NewPhone {
                    id: "x",
                    number: &numbers[5]
                }
            )
            .is_ok()
    );
}

#[test]
fn the_daily_cap_holds_when_the_hourly_limit_would_not() {
    let limits = SendLimits {
        per_account: WindowLimits::new(100, 3),
        resend_gaps: one_second_gaps(),
        ..SendLimits::default()
    };
    let mut bench = Bench::with_policy(policy_with(limits));
    bench.advance_to_window_start(86_400);
    let uk = number(UK_MOBILE);
    for _ in 0..3 {
        bench
            .send(
                "alice",
                "t",
                Channel::Sms,
                CodeTarget::NewPhone {
                    id: "x",
                    number: &uk,
                },
            )
            .unwrap();
        bench.advance(2 * 3600);
    }
    let (scope, wait) = limited(bench.send(
        "alice",
        "t",
        Channel::Sms,
        CodeTarget::NewPhone {
            id: "x",
            number: &uk,
        },
    ));
    assert_eq!(scope, SendLimitScope::Account);
    // Six hours into the day: wait for the next day window plus the weighted part of this one:
    // 3 × (86 400 − e) / 86 400 + 1 ≤ 3 at e = 28 800 s.
    assert_eq!(wait, Duration::from_secs(86_400 - 6 * 3600 + 28_800));
}

#[test]
fn a_number_shared_by_accounts_has_its_own_limit() {
    let mut bench = Bench::new();
    let uk = number(UK_MOBILE);
    bench.send_new("alice", "t", &uk).unwrap();
    // Another account (made up, perhaps, to flood this phone) must wait the number's gap.
    let (scope, wait) = limited(bench.send_new("mallory", "t", &uk));
    assert_eq!(scope, SendLimitScope::Number);
    assert_eq!(wait, Duration::from_secs(30));
    // Mallory's account count was given back: another number goes out at once.
    let de = number(DE_MOBILE);
    assert!(bench.send_new("mallory", "t", &de).is_ok());
}

#[test]
fn many_accounts_cannot_flood_one_number() {
    let limits = SendLimits {
        resend_gaps: one_second_gaps(),
        ..SendLimits::default()
    };
    let mut bench = Bench::with_policy(policy_with(limits));
    bench.advance_to_window_start(3600);
    let uk = number(UK_MOBILE);
    let mut delivered = 0;
    for account in 0..20 {
        match bench.send_new(&format!("account-{account}"), "t", &uk) {
            Ok(_) => delivered += 1,
            Err(AttemptError::Rejected(OobError::SendLimited {
                scope: SendLimitScope::Number,
                ..
            })) => {}
            Err(other) => panic!("{other:?}"),
        }
        bench.advance(2);
    }
    assert_eq!(delivered, 5);
    assert_eq!(bench.sender.len(), 5);
}

#[test]
fn the_country_budget_spans_all_accounts_and_numbers() {
    let mut limits = SendLimits::default();
    limits
        .country_overrides
        .insert(44, WindowLimits::new(3, 10));
    let mut bench = Bench::with_policy(policy_with(limits));
    bench.advance_to_window_start(3600);
    for i in 0..3 {
        let n = number(&format!("+44 7911 12345{i}"));
        bench.send_new(&format!("a{i}"), "t", &n).unwrap();
    }
    let n = number("+44 7911 123459");
    let (scope, _) = limited(bench.send_new("a9", "t", &n));
    assert_eq!(scope, SendLimitScope::Country { calling_code: 44 });
    // Other countries keep their own budget.
    let us = number(US_NUMBER);
    assert!(
        bench
            .send(
                "a9",
                "t",
                Channel::Voice,
                CodeTarget::NewPhone {
                    id: "m",
                    number: &us
                }
            )
            .is_ok()
    );
    // The refused send gave its number's count back: once the country has room, that number
    // goes out without waiting for its own gap. (The next hour window has room once the three
    // sends weigh ≤ 2: 3 × (3600 − e) / 3600 ≤ 2 at e = 1200 s.)
    bench.advance(3600 + 1200);
    assert!(bench.send_new("a10", "t", &n).is_ok());
}

#[test]
fn a_blocked_country_is_refused_before_anything_is_counted() {
    let mut limits = SendLimits::default();
    limits.country_overrides.insert(49, WindowLimits::BLOCKED);
    let mut bench = Bench::with_policy(policy_with(limits));
    let de = number(DE_MOBILE);
    let refused = bench.send_new("alice", "t", &de);
    let Err(AttemptError::Rejected(error @ OobError::CountryRefused { calling_code: 49 })) =
        refused
    else {
        panic!("expected CountryRefused, got {refused:?}");
    };
    assert_eq!(error.http_status(), 422);
    assert!(bench.store.is_empty());
    // And the account may send elsewhere at once.
    let uk = number(UK_MOBILE);
    assert!(bench.send_new("alice", "t", &uk).is_ok());
}

#[test]
fn a_successful_code_ends_the_accounts_resend_streak() {
    let mut bench = Bench::new();
    bench.enroll("alice", "mobile", &number(UK_MOBILE));
    bench.enroll("alice", "desk", &number(US_NUMBER));
    bench.send_to_mobile("alice", "t1", Channel::Sms).unwrap();
    // Without an answer, the desk phone waits the account's gap …
    let (scope, _) = limited(bench.send("alice", "t1", Channel::Voice, CodeTarget::Phone("desk")));
    assert_eq!(scope, SendLimitScope::Account);
    let code = bench.last_code();
    assert!(bench.verify("alice", "t1", &code).is_ok());
    // … after the answer, the next code (another sign-in) is not a resend.
    assert!(
        bench
            .send("alice", "t2", Channel::Voice, CodeTarget::Phone("desk"))
            .is_ok()
    );
}

#[test]
fn limits_must_allow_a_send() {
    let limits = SendLimits {
        per_number: WindowLimits::BLOCKED,
        ..SendLimits::default()
    };
    assert!(matches!(
        OobPolicy::new(example_messages()).with_limits(limits),
        Err(OobError::InvalidParameter(_))
    ));
}
