//! Properties: decoders never panic, a changed byte is never accepted, a number that differs in
//! any digit is refused, enrollment URIs round-trip.

mod common;

use common::{NOW, Scene, policy, rng};
use mfa_core::AttemptError;
use mfa_push::{
    DeviceKey, EnrollmentToken, EnrollmentUri, MatchNumber, Platform, PushError, PushPayload,
    Registration,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        mfa_push::fuzz_response(&data);
        mfa_push::fuzz_registration(&data);
        mfa_push::fuzz_enrollment_uri(&data);
        let text = String::from_utf8_lossy(&data);
        let _ = Registration::verify(&text);
        let _ = EnrollmentUri::parse(&text);
        let _ = PushPayload::from_json(&text);
    }

    #[test]
    fn jws_shaped_noise_never_panics(
        header in "[A-Za-z0-9_-]{0,80}",
        payload in "[A-Za-z0-9_-]{0,120}",
        signature in "[A-Za-z0-9_-]{80,90}",
    ) {
        let message = format!("{header}.{payload}.{signature}");
        mfa_push::fuzz_response(message.as_bytes());
        prop_assert!(Registration::verify(&message).is_err());
    }

    /// Against the naive model (string equality): the constant-time comparison agrees.
    #[test]
    fn numbers_match_exactly_when_equal(a in "[0-9]{1,8}", b in "[0-9]{1,8}") {
        let (x, y) = (MatchNumber::parse(&a).unwrap(), MatchNumber::parse(&b).unwrap());
        prop_assert_eq!(x.matches(&y), a == b);
        prop_assert!(x.matches(&x.clone()));
    }

    #[test]
    fn enrollment_uris_round_trip(
        issuer in "\\PC{1,64}",
        account in "\\PC{1,128}",
        token in any::<[u8; 16]>(),
        path in proptest::option::of("[a-z0-9/._~-]{0,40}"),
    ) {
        let token = EnrollmentToken::parse(&base64url(&token)).unwrap();
        let url = path.map(|path| format!("https://example.com/{path}"));
        let uri = EnrollmentUri::new(&issuer, &account, token, url.as_deref()).unwrap();
        let text = uri.to_uri();
        prop_assert!(text.bytes().all(|b| b.is_ascii_graphic()));
        prop_assert_eq!(EnrollmentUri::parse(&text), Ok(uri));
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A registration with any one byte changed is refused (the signature covers every byte
    /// before the second dot, and every encoding is canonical).
    #[test]
    fn a_changed_byte_is_never_accepted(position in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let phone = DeviceKey::generate(&mut rng(1));
        let enrollment = EnrollmentUri::new("Example", "alice", EnrollmentToken::parse("AQIDBAUGBwgJCgsMDQ4PEA").unwrap(), None).unwrap();
        let message = phone.registration_message(&enrollment, "phone", Platform::Ios, None, NOW).unwrap();
        let mut bytes = message.clone().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let changed = String::from_utf8_lossy(&bytes);
        prop_assert!(Registration::verify(&changed).is_err());
        prop_assert!(Registration::verify(&message).is_ok());
    }

    /// Through the whole store path: a number that differs from the one shown in any one digit is
    /// refused as a wrong number.
    #[test]
    fn a_number_off_by_one_digit_is_refused(position in 0_usize..6, delta in 1_u8..10) {
        let mut scene = Scene::new(policy(), 2);
        let started = scene.start("t", NOW);
        let mut typed: Vec<u8> = started.number.expose_digits().bytes().collect();
        typed[position] = b'0' + (typed[position] - b'0' + delta) % 10;
        let typed = String::from_utf8(typed).unwrap();
        prop_assert_ne!(typed.as_str(), started.number.expose_digits());
        let result = scene.typed(&started, &typed, NOW);
        prop_assert!(matches!(result, Err(AttemptError::Rejected(PushError::WrongNumber))));
    }
}
