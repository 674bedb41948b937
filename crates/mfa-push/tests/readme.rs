//! The README's example messages are produced here, with a fixed key (RFC 7515 Appendix A.3's)
//! and a counting RNG, and verified by the server side: the README cannot drift from the code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_core::{ManualClock, MemoryStore, UnixTime};
use mfa_push::{
    Answer, ChallengeContext, ChallengeRequest, DeviceKey, IgnoreEvents, Platform, PushOutcome,
    PushPolicy, begin_enrollment, register_device, start_challenge, take_outcome, verify_response,
};
use p256::pkcs8::EncodePrivateKey as _;

const README: &str = include_str!("../README.md");
const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

/// Fills bytes with 0, 1, 2 …; every 32-bit draw is 42 817.
struct Counting(u8);

impl rand_core::TryRng for Counting {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(42_817)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(42_817)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            *byte = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Counting {}

/// The RFC 7515 A.3 key as a device key.
fn rfc7515_device() -> DeviceKey {
    let d = URL_SAFE_NO_PAD
        .decode("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")
        .expect("base64url");
    let key = p256::ecdsa::SigningKey::from_slice(&d).expect("a P-256 scalar");
    let der = key.to_pkcs8_der().expect("encodes");
    DeviceKey::from_pkcs8_der(der.as_bytes()).expect("decodes")
}

fn decoded(part: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("UTF-8")
}

/// What the README must show, checked at the end (all missing pieces printed at once, to paste).
#[derive(Default)]
struct Shown(Vec<String>);

impl Shown {
    fn check(&mut self, what: &str, text: &str) {
        if !README.contains(text) {
            self.0
                .push(format!("the README should show the {what}:\n{text}\n"));
        }
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        if !self.0.is_empty() && !std::thread::panicking() {
            panic!("{}", self.0.join("\n"));
        }
    }
}

#[test]
fn readme_examples_are_what_the_code_produces() {
    let mut readme = Shown::default();
    let mut shown = |what: &str, text: &str| readme.check(what, text);
    let store = MemoryStore::with_clock(ManualClock::new(NOW));
    let policy = PushPolicy::new("Example");
    let mut rng = Counting(0);
    let phone = rfc7515_device();
    shown("device id", phone.device_id().as_str());

    let offer = begin_enrollment(&store, &policy, "alice@example.com", NOW, &mut rng).unwrap();
    shown("enrollment URI", &offer.uri.to_uri());
    let registration = phone
        .registration_message(
            &offer.uri,
            "Alice's iPhone",
            Platform::Ios,
            Some("a1b2c3d4"),
            NOW,
        )
        .unwrap();
    let [header, payload, _] = registration
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    shown("registration message", &registration);
    shown("registration header", &decoded(header));
    shown("registration payload", &decoded(payload));
    register_device(&store, &policy, &registration, NOW).unwrap();

    let context = ChallengeContext {
        application: Some("Payroll".into()),
        ip_address: Some("203.0.113.7".into()),
        location: Some("Lyon, France".into()),
        browser: Some("Firefox on Linux".into()),
    };
    let request = ChallengeRequest::new("alice@example.com", "sign-in-7").with_context(context);
    let started = start_challenge(&store, &policy, &request, NOW, &mut rng, &IgnoreEvents).unwrap();
    assert_eq!(started.number.expose_digits(), "042817");
    shown("push payload", &started.pushes[0].payload.to_json());

    let context_request = phone.request_context(&started.id, NOW).unwrap();
    let [header, payload, _] = context_request
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    shown("request header", &decoded(header));
    shown("request payload", &decoded(payload));
    let view = mfa_push::challenge_context(&store, &policy, &context_request, NOW).unwrap();
    shown("challenge view", &serde_json::to_string(&view).unwrap());

    let later = NOW.saturating_add(std::time::Duration::from_secs(9));
    let response = phone
        .respond(&started.id, &Answer::approve("042817").unwrap(), later)
        .unwrap();
    let [header, payload, signature] = response.split('.').collect::<Vec<_>>().try_into().unwrap();
    shown("response message", &response);
    shown("response header", &decoded(header));
    shown("response payload", &decoded(payload));
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 64);
    let for_the_phone = verify_response(&store, &policy, &response, later, &IgnoreEvents).unwrap();
    assert_eq!(for_the_phone.credential().challenge, started.id);
    let outcome =
        take_outcome(&store, "alice@example.com", &started.id, "sign-in-7", later).unwrap();
    assert!(matches!(outcome, PushOutcome::Approved(_)));
    drop(readme);
}
