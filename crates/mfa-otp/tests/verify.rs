//! Verification against a naive reference model (proptest), replay safety, HOTP look-ahead and
//! resynchronisation, Steam Guard codes, and counters and times beyond 2^32.
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use hmac::{Hmac, KeyInit, Mac};
use mfa_core::{SecretBytes, UnixTime};
use mfa_otp::{
    Algorithm, CodeFormat, Digits, Hotp, HotpCredential, HotpParams, OtpError, OtpSecret, Period,
    Totp, TotpCredential, TotpParams, Window,
};
use proptest::prelude::*;

/// HOTP the way RFC 4226 §5.3 reads, with no care for constant time or speed.
fn naive_hotp(key: &[u8], algorithm: Algorithm, format: CodeFormat, counter: u64) -> String {
    let message = counter.to_be_bytes();
    let mac: Vec<u8> = match algorithm {
        Algorithm::Sha1 => Hmac::<sha1::Sha1>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha256 => Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        _ => Hmac::<sha2::Sha512>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
    };
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let value =
        u64::from(u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff);
    match format {
        CodeFormat::Steam => {
            let alphabet = b"23456789BCDFGHJKMNPQRTVWXY";
            let mut rest = value;
            (0..5)
                .map(|_| {
                    let c = alphabet[usize::try_from(rest % 26).unwrap()];
                    rest /= 26;
                    char::from(c)
                })
                .collect()
        }
        CodeFormat::Decimal(digits) => {
            let width = usize::from(digits.get());
            let modulus = 10_u64.pow(u32::from(digits.get()));
            format!("{:0width$}", value % modulus)
        }
        _ => unreachable!(),
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn format() -> impl Strategy<Value = CodeFormat> {
    prop_oneof![
        8 => (6_u8..=10).prop_map(|d| CodeFormat::Decimal(Digits::new(d).unwrap())),
        1 => Just(CodeFormat::Steam),
    ]
}

fn secret(key: &[u8]) -> OtpSecret {
    OtpSecret::from_bytes(SecretBytes::from_slice(key)).unwrap()
}

/// What the verifier must answer, by brute force over the window.
fn model_verdict(
    key: &[u8],
    params: &TotpParams,
    now: u64,
    window: Window,
    last: Option<u64>,
    typed: &str,
) -> Result<u64, OtpError> {
    let step = (now - params.t0) / params.period.get();
    let lo = step.saturating_sub(u64::from(window.past()));
    let hi = step.saturating_add(u64::from(window.future()));
    let matching: Vec<u64> = (lo..=hi)
        .filter(|&s| naive_hotp(key, params.algorithm, params.format, s) == typed)
        .collect();
    match matching.iter().find(|&&s| last.is_none_or(|l| s > l)) {
        Some(&s) => Ok(s),
        None if !matching.is_empty() => Err(OtpError::Replayed),
        None => Err(OtpError::CodeMismatch),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Accepts exactly the codes of the window's steps that are newer than the last accepted one,
    /// says `Replayed` for codes of older steps in the window, and records the matched step.
    #[test]
    fn totp_verify_accepts_exactly_the_window(
        key in proptest::collection::vec(any::<u8>(), 10..=64),
        algorithm in algorithm(),
        format in format(),
        period in 1_u64..=300,
        t0 in 0_u64..=1_000,
        since_t0 in 0_u64..(1 << 42),
        past in 0_u32..=3,
        future in 0_u32..=3,
        last_offset in proptest::option::of(-6_i64..=6),
        typed_offset in -6_i64..=6,
        random_typed in proptest::option::weighted(0.2, 0_u64..10_000_000_000),
    ) {
        let params = TotpParams::default()
            .with_algorithm(algorithm)
            .with_format(format)
            .with_period(Period::new(period).unwrap())
            .with_t0(t0);
        let now = t0 + since_t0;
        let step = since_t0 / period;
        let window = Window::new(past, future).unwrap();
        let last = last_offset.and_then(|o| step.checked_add_signed(o));
        let typed = match (random_typed, format) {
            (Some(n), CodeFormat::Decimal(d)) => {
                let width = usize::from(d.get());
                let n = n % 10_u64.pow(u32::from(d.get()));
                format!("{n:0width$}")
            }
            _ => match step.checked_add_signed(typed_offset) {
                Some(s) => naive_hotp(&key, algorithm, format, s),
                None => naive_hotp(&key, algorithm, format, 0),
            },
        };
        let mut credential = TotpCredential::new("c", secret(&key), params);
        if let Some(last) = last {
            // Reach a credential with this last step the only way there is: by verifying.
            let at = UnixTime::from_secs(t0 + last.saturating_mul(period).min(u64::MAX - t0));
            if let Ok(v) = Totp::new().with_window(Window::EXACT).verify(
                &credential,
                &naive_hotp(&key, algorithm, format, last),
                at,
            ) {
                credential = v.credential().clone();
            }
        }
        let last = credential.last_step();
        let expected = model_verdict(&key, &params, now, window, last, &typed);
        let got = Totp::new()
            .with_window(window)
            .verify(&credential, &typed, UnixTime::from_secs(now))
            .map(|v| v.credential().last_step().unwrap());
        prop_assert_eq!(got, expected);
    }

    /// A sequence of submissions never accepts a step twice, nor one older than the last.
    #[test]
    fn totp_never_accepts_a_replayed_step(
        key in proptest::collection::vec(any::<u8>(), 10..=32),
        start in 0_u64..(1 << 40),
        moves in proptest::collection::vec((0_u64..=45, -2_i64..=2), 1..30),
    ) {
        let params = TotpParams::default();
        let mut credential = TotpCredential::new("c", secret(&key), params);
        let totp = Totp::new();
        let mut now = start;
        let mut accepted: Vec<u64> = Vec::new();
        for (advance, offset) in moves {
            now += advance;
            let Some(step) = (now / 30).checked_add_signed(offset) else { continue };
            let code = naive_hotp(&key, Algorithm::Sha1, CodeFormat::default(), step);
            match totp.verify(&credential, &code, UnixTime::from_secs(now)) {
                Ok(verified) => {
                    let got = verified.credential().last_step().unwrap();
                    prop_assert!(accepted.last().is_none_or(|&prev| got > prev));
                    accepted.push(got);
                    credential = verified.credential().clone();
                    // Submitting it again is always refused.
                    prop_assert_eq!(
                        totp.verify(&credential, &code, UnixTime::from_secs(now)).err(),
                        Some(OtpError::Replayed)
                    );
                }
                Err(error) => prop_assert!(matches!(error, OtpError::Replayed | OtpError::CodeMismatch)),
            }
        }
    }

    /// HOTP accepts exactly the codes of the counter and its look-ahead, and moves past the match.
    #[test]
    fn hotp_verify_accepts_exactly_the_look_ahead(
        key in proptest::collection::vec(any::<u8>(), 10..=64),
        algorithm in algorithm(),
        format in format(),
        counter in prop_oneof![0_u64..1000, (1_u64 << 32) - 5..(1_u64 << 32) + 5, u64::MAX - 20..=u64::MAX],
        look_ahead in 0_u32..=12,
        typed_offset in -3_i64..=15,
    ) {
        let params = HotpParams::default().with_algorithm(algorithm).with_format(format);
        let credential = HotpCredential::new("t", secret(&key), params, counter);
        let typed_counter = counter.checked_add_signed(typed_offset).unwrap_or(counter);
        let typed = naive_hotp(&key, algorithm, format, typed_counter);
        let hi = counter.saturating_add(u64::from(look_ahead));
        let expected = (counter..=hi)
            .find(|&c| naive_hotp(&key, algorithm, format, c) == typed)
            .ok_or(OtpError::CodeMismatch)
            .and_then(|c| c.checked_add(1).ok_or(OtpError::CounterExhausted));
        let got = Hotp::new()
            .with_look_ahead(look_ahead)
            .unwrap()
            .verify(&credential, &typed, UnixTime::EPOCH)
            .map(|v| v.credential().counter());
        prop_assert_eq!(got, expected);
    }

    /// Library codes equal the model's, for any counter.
    #[test]
    fn codes_match_the_model(
        key in proptest::collection::vec(any::<u8>(), 10..=64),
        algorithm in algorithm(),
        format in format(),
        counter in any::<u64>(),
    ) {
        let params = HotpParams::default().with_algorithm(algorithm).with_format(format);
        let code = params.code(&secret(&key), counter);
        prop_assert_eq!(code.as_str(), naive_hotp(&key, algorithm, format, counter));
    }
}

const RFC_KEY: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn malformed_codes_are_typed_errors() {
    let credential = TotpCredential::new(
        "c",
        OtpSecret::from_base32(RFC_KEY).unwrap(),
        TotpParams::default(),
    );
    let now = UnixTime::from_secs(59);
    for bad in ["", "28708", "2870822", "28708a", "２８７０８２"] {
        assert_eq!(
            Totp::new().verify(&credential, bad, now),
            Err(OtpError::MalformedCode),
            "{bad:?}"
        );
    }
    assert!(Totp::new().verify(&credential, " 287 082 ", now).is_ok());
    let early = TotpCredential::new(
        "c",
        OtpSecret::from_base32(RFC_KEY).unwrap(),
        TotpParams::default().with_t0(1000),
    );
    assert_eq!(
        Totp::new().verify(&early, "287082", now),
        Err(OtpError::BeforeEpoch)
    );
}

#[test]
fn replay_of_an_older_step_in_the_window_is_refused() {
    let credential = TotpCredential::new(
        "c",
        OtpSecret::from_base32(RFC_KEY).unwrap(),
        TotpParams::default(),
    );
    let totp = Totp::new();
    let t = 1_111_111_111; // step 0x23523ED
    let previous = credential.code_at(UnixTime::from_secs(t - 30)).unwrap();
    let current = credential.code_at(UnixTime::from_secs(t)).unwrap();
    let after_current = totp
        .verify(&credential, current.as_str(), UnixTime::from_secs(t))
        .unwrap();
    // The previous step's code is still inside the window but older than the accepted step.
    assert_eq!(
        totp.verify(
            after_current.credential(),
            previous.as_str(),
            UnixTime::from_secs(t)
        ),
        Err(OtpError::Replayed)
    );
    // The next step's code is fine.
    let next = credential.code_at(UnixTime::from_secs(t + 30)).unwrap();
    let v = totp
        .verify(
            after_current.credential(),
            next.as_str(),
            UnixTime::from_secs(t + 30),
        )
        .unwrap();
    assert_eq!(v.credential().last_step(), Some(0x23523EE));
}

#[test]
fn asymmetric_windows() {
    let credential = TotpCredential::new(
        "c",
        OtpSecret::from_base32(RFC_KEY).unwrap(),
        TotpParams::default(),
    );
    let now = UnixTime::from_secs(3000); // step 100
    let code = |step: u64| credential.params().code_for_step(credential.secret(), step);
    let past_only = Totp::new().with_window(Window::new(2, 0).unwrap());
    assert!(
        past_only
            .verify(&credential, code(98).as_str(), now)
            .is_ok()
    );
    assert!(
        past_only
            .verify(&credential, code(101).as_str(), now)
            .is_err()
    );
    let future_only = Totp::new().with_window(Window::new(0, 2).unwrap());
    assert!(
        future_only
            .verify(&credential, code(99).as_str(), now)
            .is_err()
    );
    assert_eq!(
        future_only
            .verify(&credential, code(102).as_str(), now)
            .unwrap()
            .credential()
            .last_step(),
        Some(102)
    );
}

#[test]
fn hotp_resynchronises_from_two_consecutive_codes() {
    let secret = OtpSecret::from_base32(RFC_KEY).unwrap();
    let params = HotpParams::default();
    let credential = HotpCredential::new("token", secret.clone(), params, 0);
    let hotp = Hotp::new();
    let now = UnixTime::EPOCH;
    // The token was pressed 50 times without use: beyond the look-ahead.
    let at = |c: u64| params.code(&secret, c);
    assert_eq!(
        hotp.verify(&credential, at(50).as_str(), now),
        Err(OtpError::CodeMismatch)
    );
    // Two codes that are not consecutive do not resynchronise.
    assert_eq!(
        hotp.resync(&credential, at(50).as_str(), at(52).as_str(), now),
        Err(OtpError::CodeMismatch)
    );
    assert_eq!(
        hotp.resync(&credential, at(51).as_str(), at(50).as_str(), now),
        Err(OtpError::CodeMismatch)
    );
    let resynced = hotp
        .resync(&credential, at(50).as_str(), at(51).as_str(), now)
        .unwrap();
    assert_eq!(resynced.credential().counter(), 52);
    // Beyond the resynchronisation window, nothing.
    assert_eq!(
        hotp.resync(&credential, at(150).as_str(), at(151).as_str(), now),
        Err(OtpError::CodeMismatch)
    );
    // After resynchronising, the next code verifies and old ones do not.
    let next = hotp
        .verify(resynced.credential(), at(52).as_str(), now)
        .unwrap();
    assert_eq!(next.credential().counter(), 53);
    assert_eq!(
        hotp.verify(next.credential(), at(51).as_str(), now),
        Err(OtpError::CodeMismatch)
    );
    // The window's last pair (100, 101) is found.
    let edge = hotp
        .resync(&credential, at(100).as_str(), at(101).as_str(), now)
        .unwrap();
    assert_eq!(edge.credential().counter(), 102);
}

#[test]
fn hotp_counter_at_the_end_of_its_range() {
    let secret = OtpSecret::from_base32(RFC_KEY).unwrap();
    let params = HotpParams::default();
    let credential = HotpCredential::new("token", secret.clone(), params, u64::MAX - 1);
    let hotp = Hotp::new();
    let verified = hotp
        .verify(
            &credential,
            params.code(&secret, u64::MAX - 1).as_str(),
            UnixTime::EPOCH,
        )
        .unwrap();
    assert_eq!(verified.credential().counter(), u64::MAX);
    assert_eq!(
        hotp.verify(
            verified.credential(),
            params.code(&secret, u64::MAX).as_str(),
            UnixTime::EPOCH
        ),
        Err(OtpError::CounterExhausted)
    );
}

#[test]
fn steam_guard_codes() {
    let secret = OtpSecret::from_base32(RFC_KEY).unwrap();
    let credential = TotpCredential::new("steam", secret, TotpParams::steam());
    let now = UnixTime::from_secs(1_700_000_000);
    let code = credential.code_at(now).unwrap();
    assert_eq!(code.as_str().len(), 5);
    assert!(
        code.as_str()
            .bytes()
            .all(|c| b"23456789BCDFGHJKMNPQRTVWXY".contains(&c))
    );
    let lower = code.as_str().to_ascii_lowercase();
    assert!(Totp::new().verify(&credential, &lower, now).is_ok());
    assert_eq!(
        Totp::new().verify(&credential, "12345", now),
        Err(OtpError::MalformedCode)
    );
}
