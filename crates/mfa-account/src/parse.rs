//! Text a person types that is not a secret: lifetimes (`90s`, `10m`, `1h`, `30d`) for temporary
//! access passes and remembered devices, as the `mfa account` CLI and a service's admin forms take
//! them; and the fuzz entry point over every parser of this crate that such input reaches.

use core::time::Duration;

use mfa_core::{AttemptError, Evidence, MemoryStore, UnixTime};
use mfa_policy::ClientApp;

use crate::error::AccountError;
use crate::events::NoEvents;
use crate::{
    AccountPolicy, MethodId, MethodKind, Operator, check_app_password, check_remembered, redeem_tap,
};

/// The longest lifetime [`parse_lifetime`] accepts: ten years (of 365 days). Policies bound
/// lifetimes far lower (a pass lasts at most 30 days by default); this bound only keeps the
/// arithmetic of callers far from overflow.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3650 * DAY_SECS);

/// The longest lifetime text read: nine digits and a unit.
const MAX_LIFETIME_TEXT: usize = 10;

const MINUTE_SECS: u64 = 60;
const HOUR_SECS: u64 = 60 * MINUTE_SECS;
const DAY_SECS: u64 = 24 * HOUR_SECS;

/// Reads a lifetime: a whole number greater than zero followed by one unit, `s` (seconds), `m`
/// (minutes), `h` (hours) or `d` (days), with nothing around it: `90s`, `10m`, `1h`, `30d`.
///
/// Whether the lifetime suits what it is for (a pass: 10 minutes to 30 days by default) is the
/// operation's check, against its [`AccountPolicy`]; this only reads the text.
///
/// ```
/// use core::time::Duration;
/// use mfa_account::parse_lifetime;
///
/// assert_eq!(parse_lifetime("10m")?, Duration::from_secs(600));
/// assert_eq!(parse_lifetime("30d")?, Duration::from_secs(30 * 24 * 60 * 60));
/// assert!(parse_lifetime("1.5h").is_err() && parse_lifetime("10").is_err());
/// # Ok::<(), mfa_account::AccountError>(())
/// ```
///
/// # Errors
/// [`AccountError::InvalidLifetime`] when the text is empty, longer than ten characters, has a
/// sign, a fraction, spaces or another unit, is zero, or exceeds [`MAX_LIFETIME`].
pub fn parse_lifetime(text: &str) -> Result<Duration, AccountError> {
    let invalid = AccountError::InvalidLifetime;
    if text.len() > MAX_LIFETIME_TEXT {
        return Err(invalid);
    }
    let (digits, unit) = text
        .split_at_checked(text.len().saturating_sub(1))
        .ok_or(invalid.clone())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => MINUTE_SECS,
        "h" => HOUR_SECS,
        "d" => DAY_SECS,
        _ => return Err(invalid),
    };
    // `u64::from_str` would take a leading `+`: only digits are a number here.
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid);
    }
    let count: u64 = digits.parse().map_err(|_| invalid.clone())?;
    let secs = count.checked_mul(unit_secs).ok_or(invalid.clone())?;
    let lifetime = Duration::from_secs(secs);
    if lifetime.is_zero() || lifetime > MAX_LIFETIME {
        return Err(invalid);
    }
    Ok(lifetime)
}

/// Writes a lifetime the way [`parse_lifetime`] reads it, in the largest unit that divides it
/// exactly (`3600 s` → `1h`, `90 s` → `90s`). Fractions of a second are dropped.
#[must_use]
pub fn format_lifetime(lifetime: Duration) -> String {
    let secs = lifetime.as_secs();
    let (count, unit) = [(DAY_SECS, 'd'), (HOUR_SECS, 'h'), (MINUTE_SECS, 'm')]
        .into_iter()
        .find(|(unit_secs, _)| secs > 0 && secs.is_multiple_of(*unit_secs))
        .map_or((secs, 's'), |(unit_secs, unit)| (secs / unit_secs, unit));
    format!("{count}{unit}")
}

/// Fuzz entry point (`fuzz/fuzz_targets/account_inputs.rs`): every parser of this crate that text
/// from a person or a file reaches, on the same input. None may panic, and:
///
/// - a lifetime that parses is within bounds and [formats](format_lifetime) back to itself;
/// - a [`MethodKind`] that parses is named exactly as typed, and so is a [`MethodId`];
/// - a name that [`AccountPolicy::check_name`] accepts is accepted again unchanged, and an
///   [`Operator`] keeps its id as typed;
/// - a temporary access pass, an app password and a remembered-device token (each normalized or
///   split before any lookup) are refused by a store that holds none, with the "invalid" reason,
///   never a store error;
/// - session evidence (`Vec<Evidence>` as JSON, what `mfa account methods remove --session`
///   reads) decodes or fails cleanly.
#[doc(hidden)]
pub fn fuzz_inputs(data: &[u8]) {
    // Evidence files are bytes first: UTF-8 is serde_json's check.
    let _ignored = serde_json::from_slice::<Vec<Evidence>>(data);
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };

    if let Ok(lifetime) = parse_lifetime(text) {
        assert!(!lifetime.is_zero() && lifetime <= MAX_LIFETIME, "bounds");
        assert_eq!(
            parse_lifetime(&format_lifetime(lifetime)),
            Ok(lifetime),
            "round trip"
        );
    }
    if let Ok(kind) = text.parse::<MethodKind>() {
        assert_eq!(kind.name(), text, "method kind names");
    }
    if let Ok(id) = MethodId::parse(text) {
        assert_eq!(id.as_str(), text, "method ids");
    }
    let policy = AccountPolicy::default();
    if let Ok(name) = policy.check_name(text) {
        assert_eq!(policy.check_name(&name).as_ref(), Ok(&name), "names settle");
    }
    if let Ok(operator) = Operator::new(text) {
        assert_eq!(operator.id(), text, "operator ids");
    }

    let store = MemoryStore::new();
    let now = UnixTime::from_secs(1_800_000_000);
    assert!(
        matches!(
            redeem_tap(&store, &NoEvents, "fuzz", text, now),
            Err(AttemptError::Rejected(AccountError::TapInvalid))
        ),
        "no pass"
    );
    assert!(
        matches!(
            check_app_password(&store, &policy, "fuzz", text, ClientApp::Legacy, now),
            Err(AttemptError::Rejected(AccountError::AppPasswordInvalid))
        ),
        "no app password"
    );
    assert!(
        matches!(
            check_remembered(&store, "fuzz", text, now),
            Err(AttemptError::Rejected(AccountError::RememberedInvalid))
        ),
        "no remembered device"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lifetimes_read_in_every_unit() {
        let cases = [
            ("90s", 90),
            ("10m", 600),
            ("1h", 3600),
            ("30d", 30 * DAY_SECS),
            ("0001m", 60),
            ("3650d", 3650 * DAY_SECS),
            ("315360000s", 3650 * DAY_SECS),
        ];
        for (text, secs) in cases {
            assert_eq!(
                parse_lifetime(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "m",
            "10",
            "0m",
            "0s",
            "-1h",
            "+1h",
            "1.5h",
            "1 h",
            " 1h",
            "1h ",
            "1H",
            "1w",
            "1h30m",
            "3651d",
            "315360001s",
            "99999999999s",
            "999999999d",
            "１h",
            "1ｍ",
            "1é",
        ] {
            assert_eq!(
                parse_lifetime(text),
                Err(AccountError::InvalidLifetime),
                "{text:?}"
            );
        }
    }

    #[test]
    fn lifetimes_format_in_the_largest_exact_unit() {
        for (secs, text) in [
            (90, "90s"),
            (600, "10m"),
            (3600, "1h"),
            (5400, "90m"),
            (DAY_SECS, "1d"),
            (0, "0s"),
        ] {
            assert_eq!(format_lifetime(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn the_fuzz_entry_point_takes_the_seed_shapes() {
        for seed in [
            &b"10m"[..],
            b"totp",
            b"KK1HKahvRMzsMb-g0yQ2Uw",
            b"Work phone",
            b"ABCD-EFGH-JKMN-PQRS-TVWX",
            b"abcd efgh jkmn pqrs tvwx",
            b"id.0123456789ABCDEFGHJKMNPQ",
            br#"[{"method":"password","verified_at":1800000000000,"credential":"pw"}]"#,
            b"\xff\xfe",
            b"",
        ] {
            fuzz_inputs(seed);
        }
    }

    proptest! {
        /// Against a naive model: the number times the unit, when in bounds.
        #[test]
        fn parsing_matches_a_model(count in 0_u64..20_000_000, unit in prop::sample::select(vec!['s', 'm', 'h', 'd'])) {
            let text = format!("{count}{unit}");
            let unit_secs = match unit { 's' => 1, 'm' => 60, 'h' => 3600, _ => 86_400 };
            let expected = Some(count * unit_secs)
                .filter(|secs| *secs > 0 && *secs <= 3650 * 86_400 && text.len() <= 10)
                .map(Duration::from_secs);
            prop_assert_eq!(parse_lifetime(&text).ok(), expected);
        }

        #[test]
        fn formatting_round_trips(secs in 1_u64..=3650 * 86_400) {
            let lifetime = Duration::from_secs(secs);
            prop_assert_eq!(parse_lifetime(&format_lifetime(lifetime)), Ok(lifetime));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            fuzz_inputs(text.as_bytes());
        }
    }
}
