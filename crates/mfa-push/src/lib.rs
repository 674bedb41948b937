#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod b64;
mod context;
#[cfg(feature = "device")]
mod device;
mod error;
mod events;
mod ids;
mod jwk;
mod number;
mod uri;
mod wire;

pub use context::{ChallengeContext, MAX_CONTEXT_FIELD_CHARS};
#[cfg(feature = "device")]
pub use device::DeviceKey;
pub use error::PushError;
pub use events::{EventLog, FraudReport, IgnoreEvents, PushEvent, PushEventSink};
pub use ids::{
    CHALLENGE_ID_BYTES, ChallengeId, DeviceId, ENROLLMENT_TOKEN_BYTES, EnrollmentToken,
    MAX_NUMBER_DIGITS, MatchNumber,
};
pub use jwk::PublicJwk;
pub use number::NumberMatch;
pub use uri::{
    ENROLLMENT_URI_PREFIX, EnrollmentUri, MAX_ACCOUNT_CHARS, MAX_ENROLLMENT_URI_LEN,
    MAX_ISSUER_CHARS, MAX_URL_LEN,
};
pub use wire::{
    ALGORITHM, Answer, MAX_DEVICE_NAME_CHARS, MAX_HEADER_LEN, MAX_MESSAGE_LEN, MAX_PAYLOAD_LEN,
    MAX_PUSH_PAYLOAD_LEN, MAX_PUSH_TOKEN_LEN, MessageType, PROTOCOL_VERSION, Platform, PushPayload,
    Registration,
};

#[doc(hidden)]
pub use uri::fuzz_enrollment_uri;
#[doc(hidden)]
pub use wire::{fuzz_registration, fuzz_response};
