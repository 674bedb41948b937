//! The TOTP fixture shared by `otp.rs` (criterion) and `paired.rs` (interleaved ratios): one
//! stored credential (the RFC 6238 SHA-1 seed, 6 digits, 30 s), the codes of its window, a code
//! that matches none of them, and totp-rs configured the same way.
// Each bench target compiles this module on its own and uses part of it.
#![allow(dead_code)]

use hmac::{Hmac, KeyInit, Mac};
use mfa_core::{SecretBytes, UnixTime};
use mfa_otp::{OtpSecret, Totp, TotpCredential, TotpParams};
use sha1::Sha1;

/// The RFC 6238 SHA-1 seed.
pub(crate) const KEY: &[u8; 20] = b"12345678901234567890";
pub(crate) const NOW: u64 = 1_795_000_000;

pub(crate) struct TotpFixture {
    pub(crate) totp: Totp,
    pub(crate) credential: TotpCredential,
    pub(crate) now: UnixTime,
    pub(crate) step: u64,
    /// The codes of steps −1, 0 and +1.
    pub(crate) previous: String,
    pub(crate) current: String,
    pub(crate) next: String,
    /// A code of none of the three steps.
    pub(crate) wrong: String,
    pub(crate) totp_rs: totp_rs::Totp,
}

impl TotpFixture {
    /// Builds the fixture and checks every answer before anything is timed.
    pub(crate) fn new() -> Self {
        let secret = OtpSecret::from_bytes(SecretBytes::from_slice(KEY)).expect("80+ bits");
        let credential = TotpCredential::new("bench", secret, TotpParams::default());
        let now = UnixTime::from_secs(NOW);
        let step = NOW / 30;
        let window: Vec<String> = (step - 1..=step + 1)
            .map(|s| {
                credential
                    .params()
                    .code_for_step(credential.secret(), s)
                    .as_str()
                    .to_owned()
            })
            .collect();
        let [previous, current, next] = <[String; 3]>::try_from(window.clone()).expect("three");
        assert_eq!(current, credential.code_at(now).expect("after T0").as_str());
        let wrong = (0..1_000_000_u32)
            .map(|n| format!("{n:06}"))
            .find(|code| !window.contains(code))
            .expect("a non-matching code");
        let totp = Totp::new();
        for (code, expected) in [(&previous, step - 1), (&current, step), (&next, step + 1)] {
            let verified = totp.verify(&credential, code, now).expect("in the window");
            assert_eq!(verified.credential().last_step(), Some(expected));
        }
        assert!(totp.verify(&credential, &wrong, now).is_err());
        let totp_rs = totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(KEY.to_vec())
            .build()
            .expect("a valid totp-rs configuration");
        assert_eq!(totp_rs.check(&current, NOW), Some(step));
        assert_eq!(totp_rs.check(&wrong, NOW), None);
        Self {
            totp,
            credential,
            now,
            step,
            previous,
            current,
            next,
            wrong,
            totp_rs,
        }
    }
}

/// The floor: HMAC-SHA1 keyed once with `key`, then the three codes' MACs of the window around
/// `step`, with the `hmac` crate directly (each from a clone of the keyed state).
pub(crate) fn key_schedule_and_three_hmacs(key: &[u8], step: u64) -> u8 {
    let keyed = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("any key length");
    let mut acc = 0_u8;
    for counter in step - 1..=step + 1 {
        let mac = keyed.clone().chain_update(counter.to_be_bytes()).finalize();
        acc ^= mac.as_bytes()[19];
    }
    acc
}
