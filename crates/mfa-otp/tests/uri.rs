//! Key URI round trip (proptest).
#![allow(clippy::unwrap_used, reason = "test helpers unwrap fixed test data")]

use mfa_core::SecretBytes;
use mfa_otp::{Algorithm, CodeFormat, Digits, HotpParams, KeyUri, OtpSecret, Period, TotpParams};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn build_then_parse_is_the_identity(
        issuer in proptest::option::of("[^:]{1,24}"),
        account in "[^: ][^:]{0,30}",
        key in proptest::collection::vec(any::<u8>(), 10..=64),
        algorithm in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
        format in prop_oneof![(6_u8..=10).prop_map(|d| CodeFormat::Decimal(Digits::new(d).unwrap())), Just(CodeFormat::Steam)],
        period in Period::MIN..=Period::MAX,
        counter in proptest::option::of(any::<u64>()),
        image in proptest::option::of(".{0,40}"),
    ) {
        let secret = OtpSecret::from_bytes(SecretBytes::new(key)).unwrap();
        let mut uri = match counter {
            None => KeyUri::totp(
                issuer.as_deref(),
                &account,
                secret,
                &TotpParams::default()
                    .with_algorithm(algorithm)
                    .with_format(format)
                    .with_period(Period::new(period).unwrap()),
            ),
            Some(counter) => KeyUri::hotp(
                issuer.as_deref(),
                &account,
                secret,
                &HotpParams::default().with_algorithm(algorithm).with_format(format),
                counter,
            ),
        }
        .unwrap();
        if let Some(image) = &image {
            uri = uri.with_image(image).unwrap();
        }
        let text = uri.to_uri();
        prop_assert!(text.is_ascii());
        prop_assert!(!text.contains(' '));
        let parsed = KeyUri::parse(&text).unwrap();
        prop_assert_eq!(&parsed, &uri);
        let again = parsed.to_uri();
        prop_assert_eq!(again.as_str(), text.as_str());
    }

    /// Parsing arbitrary text never panics.
    #[test]
    fn parse_never_panics(text in "otpauth://(totp|hotp|steam)/[ -~]{0,80}") {
        let _ = KeyUri::parse(&text);
    }
}
