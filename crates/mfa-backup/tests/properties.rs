//! Property tests against naive reference models: normalisation, format round trips, and a
//! sequence of redemptions against a model of which codes are spent.

mod common;

use std::collections::HashSet;

use common::{cheap_policy, seeded};
use mfa_backup::{BackupCodeError, CodeFormat, IssuePolicy, normalize_code};
use mfa_core::UnixTime;
use proptest::prelude::*;

const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

/// The naive model of normalisation, written the obvious way: drop whitespace and hyphen-likes,
/// upper-case, map the confusables, then check alphabet and length.
fn model(format: CodeFormat, input: &str) -> Option<String> {
    let alphabet = match format {
        CodeFormat::Digits8 | CodeFormat::Digits10 => "0123456789",
        _ => "0123456789ABCDEFGHJKMNPQRSTVWXYZ",
    };
    if input.len() > mfa_backup::MAX_INPUT_LEN {
        return None;
    }
    let mut out = String::new();
    for c in input.chars() {
        if c.is_whitespace() || "-\u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2212}".contains(c) {
            continue;
        }
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        if !alphabet.contains(c) {
            return None;
        }
        out.push(c);
    }
    (out.chars().count() == format.len()).then_some(out)
}

fn any_format() -> impl Strategy<Value = CodeFormat> {
    prop::sample::select(CodeFormat::ALL.to_vec())
}

/// Text that is often almost a code: symbols, confusables, separators, junk.
fn code_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "0", "1", "7", "9", "a", "B", "k", "Z", "o", "O", "i", "I", "l", "L", "u", "U", "-", " ",
        "\t", "\u{2013}", "\u{00a0}", "é", "ß", "\u{0130}", "_", ".", "\u{ff10}",
    ]);
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

/// The form a person sees: lower case, grouped (as the crate documents it).
fn shown(format: CodeFormat, canonical: &str) -> String {
    let (group, separator) = match format {
        CodeFormat::Grouped10 => (5, '-'),
        CodeFormat::Grouped16 => (4, '-'),
        CodeFormat::Digits8 => (4, ' '),
        _ => (5, ' '),
    };
    let mut out = String::new();
    for (i, c) in canonical.chars().enumerate() {
        if i > 0 && i % group == 0 {
            out.push(separator);
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

proptest! {
    #[test]
    fn normalisation_matches_the_naive_model(format in any_format(), input in code_like()) {
        let got = normalize_code(format, &input).ok().map(|s| s.to_string());
        prop_assert_eq!(got, model(format, &input));
    }

    #[test]
    fn normalisation_never_panics_on_any_text(format in any_format(), input in ".{0,200}") {
        let got = normalize_code(format, &input).ok().map(|s| s.to_string());
        prop_assert_eq!(got, model(format, &input));
    }

    #[test]
    fn normalisation_is_idempotent(format in any_format(), input in code_like()) {
        if let Ok(once) = normalize_code(format, &input) {
            let twice = normalize_code(format, &once).unwrap();
            prop_assert_eq!(once.as_str(), twice.as_str());
        }
    }

    #[test]
    fn shown_forms_round_trip(format in any_format(), seed in any::<u64>()) {
        // Any canonical string of the format, shown, mangled the ways people mangle it, reads back.
        let symbols: Vec<char> = match format {
            CodeFormat::Digits8 | CodeFormat::Digits10 => "0123456789".chars().collect(),
            _ => "0123456789ABCDEFGHJKMNPQRSTVWXYZ".chars().collect(),
        };
        let mut state = seed;
        let canonical: String = (0..format.len())
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                symbols[usize::try_from(state >> 59).unwrap() % symbols.len()]
            })
            .collect();
        let display = shown(format, &canonical);
        for typed in [
            display.clone(),
            display.to_uppercase(),
            display.replace(['-', ' '], ""),
            display.replace('0', "o").replace('1', "l"),
        ] {
            let normalised = normalize_code(format, &typed).unwrap();
            prop_assert_eq!(normalised.as_str(), canonical.as_str());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn issued_codes_round_trip_through_their_shown_form(format in any_format(), seed in any::<u64>()) {
        let policy = IssuePolicy { format, count: 3, ..cheap_policy() };
        let issued = policy.issue("alice", NOW, &mut seeded(seed)).unwrap();
        for code in &issued.codes {
            let canonical = normalize_code(format, code.expose_secret()).unwrap();
            prop_assert_eq!(shown(format, &canonical), code.expose_secret());
        }
    }

    #[test]
    fn redemptions_follow_the_model_of_spent_codes(
        seed in any::<u64>(),
        attempts in prop::collection::vec(0_usize..8, 1..12),
    ) {
        // Slots 0..5 hold real codes; 5..8 stand for wrong codes.
        let policy = IssuePolicy { count: 5, ..cheap_policy() };
        let mut rng = seeded(seed);
        let issued = policy.issue("alice", NOW, &mut rng).unwrap();
        let mut set = issued.set.clone();
        let mut spent = HashSet::new();
        for attempt in attempts {
            let input = issued
                .codes
                .get(attempt)
                .map_or_else(|| format!("wwwww-wwww{attempt}"), |c| c.expose_secret().to_owned());
            let result = set.redeem("alice", &input, NOW, &mut rng);
            let expected = if attempt >= 5 {
                Err(BackupCodeError::WrongCode)
            } else if spent.insert(attempt) {
                Ok(5 - spent.len())
            } else {
                Err(BackupCodeError::AlreadyUsed)
            };
            match result {
                Ok(redeemed) => {
                    prop_assert_eq!(Ok(redeemed.remaining), expected);
                    set = redeemed.verified.into_parts().1;
                }
                Err(error) => prop_assert_eq!(Err(error), expected),
            }
            prop_assert_eq!(set.remaining(), 5 - spent.len());
        }
    }
}
