#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod code;
mod error;
mod limits;
mod message;
mod phone;
mod policy;
mod sender;
mod store;

pub use code::{
    CodePolicy, DEFAULT_CODE_LIFETIME, MAX_CODE_DIGITS, MAX_CODE_LIFETIME, MIN_CODE_DIGITS,
    MIN_CODE_LIFETIME, OobCode,
};
pub use error::{DeliveryError, OobError, SendLimitScope};
pub use limits::{ResendGaps, SendLimits, WindowLimits};
pub use message::{
    Channel, Destination, EmailAddress, MAX_EMAIL_LEN, MAX_SERVICE_NAME_CHARS, Message, Messages,
    Templates,
};
pub use phone::{
    MAX_PHONE_INPUT_DIGITS, MAX_PHONE_INPUT_LEN, NumberKind, PhoneNumber, PhoneProblem,
};
pub use policy::{DEFAULT_MAX_PHONES, NumberPolicy, OobPolicy};
pub use sender::{AsyncSender, ConsoleSender, InMemorySender, Sender};
pub use store::{
    CodeOutcome, CodeRequest, CodeTarget, EnrolledPhone, OOB_ACCOUNT_KIND, OOB_CODE_KIND,
    OOB_SENDS_KIND, PendingCodeInfo, SentCode, list_phones, list_phones_async, oob_account_key,
    oob_code_key, pending_code, pending_code_async, remove_phone, remove_phone_async, send_code,
    send_code_async, verify_code, verify_code_async,
};

/// Fuzz entry point (`fuzz/fuzz_targets/oob_phone_number.rs`): parsing never panics, and whatever
/// parses is E.164 that parses back to the same number, with a mask that shows only the country
/// code and the last two digits.
///
/// The first byte picks the default region (none, or one of a few with different numbering
/// plans); the rest is the typed text.
#[doc(hidden)]
pub fn fuzz_phone_number(data: &[u8]) {
    const REGIONS: [Option<&str>; 8] = [
        None,
        Some("US"),
        Some("GB"),
        Some("DE"),
        Some("IT"),
        Some("RU"),
        Some("BR"),
        Some("zz"),
    ];
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = core::str::from_utf8(rest) else {
        return;
    };
    let region = REGIONS
        .get(usize::from(*selector) % REGIONS.len())
        .copied()
        .flatten();
    let Ok(number) = PhoneNumber::parse(text, region) else {
        return;
    };
    let e164 = number.e164();
    let digits = e164.strip_prefix('+').unwrap_or_default();
    assert!(
        (5..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
        "E.164 shape"
    );
    assert_eq!(
        PhoneNumber::parse(e164, None).as_ref(),
        Ok(&number),
        "E.164 round trip"
    );
    let masked = number.masked();
    let national_len = digits
        .len()
        .saturating_sub(number.calling_code().to_string().len());
    assert_eq!(
        masked.matches('•').count(),
        national_len.saturating_sub(2),
        "mask"
    );
    assert!(
        digits
            .get(digits.len().saturating_sub(2)..)
            .is_some_and(|last| masked.ends_with(last)),
        "last two digits shown"
    );
}
