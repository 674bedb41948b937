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
    OOB_SENDS_KIND, SentCode, list_phones, list_phones_async, oob_account_key, oob_code_key,
    remove_phone, remove_phone_async, send_code, send_code_async, verify_code, verify_code_async,
};
