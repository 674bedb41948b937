#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod engine;
mod error;
mod hotp;
mod params;
mod qr;
mod secret;
mod store;
mod totp;
mod uri;

pub use engine::OtpCode;
pub use error::{OtpError, SecretProblem, UriProblem};
pub use hotp::{Hotp, HotpCredential, HotpParams};
pub use params::{Algorithm, CodeFormat, Digits};
pub use secret::{
    GENERATED_SECRET_BITS, MAX_SECRET_BITS, MIN_SECRET_BITS, OtpSecret, SecretPolicy,
};
pub use store::{
    DEFAULT_ENROLLMENT_TTL, HOTP_RECORD_KIND, PendingTotp, TOTP_PENDING_RECORD_KIND,
    TOTP_RECORD_KIND, TotpEnrollmentPolicy, begin_totp_enrollment, begin_totp_enrollment_async,
    confirm_totp_enrollment, confirm_totp_enrollment_async, hotp_record_key,
    totp_pending_record_key, totp_record_key, verify_hotp, verify_hotp_async, verify_totp,
    verify_totp_async,
};
pub use totp::{DEFAULT_PERIOD, Period, Totp, TotpCredential, TotpParams, Window};
pub use uri::{KeyUri, MAX_IMAGE_LEN, MAX_NAME_LEN, MAX_URI_LEN, OtpKind};

/// Fuzz entry point (`fuzz/fuzz_targets/otp_uri.rs`): parsing never panics, and whatever parses
/// builds back to a URI that parses to the same value.
#[doc(hidden)]
pub fn fuzz_uri(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = KeyUri::parse(text) {
        let rebuilt = parsed.to_uri();
        let reparsed = KeyUri::parse(&rebuilt);
        assert_eq!(reparsed.as_ref(), Ok(&parsed), "round trip of a parsed URI");
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/otp_secret.rs`): decoding never panics, and a decoded
/// secret re-encodes to canonical base32 that decodes to the same bytes.
#[doc(hidden)]
pub fn fuzz_secret(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(secret) = OtpSecret::from_base32(text) {
        let canonical = secret.to_base32();
        let again = OtpSecret::from_base32(&canonical);
        assert_eq!(
            again.as_ref(),
            Ok(&secret),
            "round trip of a decoded secret"
        );
        // Every decoded secret can compute codes.
        let _code = TotpParams::default().code_for_step(&secret, 0);
    }
}
