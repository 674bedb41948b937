#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod code;
mod error;
mod message;
mod phone;
mod sender;

pub use code::{
    CodePolicy, DEFAULT_CODE_LIFETIME, MAX_CODE_DIGITS, MAX_CODE_LIFETIME, MIN_CODE_DIGITS,
    MIN_CODE_LIFETIME, OobCode,
};
pub use error::{DeliveryError, OobError, SendLimitScope};
pub use message::{
    Channel, Destination, EmailAddress, MAX_EMAIL_LEN, MAX_SERVICE_NAME_CHARS, Message, Messages,
    Templates,
};
pub use phone::{
    MAX_PHONE_INPUT_DIGITS, MAX_PHONE_INPUT_LEN, NumberKind, PhoneNumber, PhoneProblem,
};
pub use sender::{AsyncSender, ConsoleSender, InMemorySender, Sender};
