#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod b64;
mod challenge;
mod context;
#[cfg(feature = "device")]
mod device;
mod enrollment;
mod error;
mod events;
mod ids;
mod jwk;
mod number;
mod policy;
mod sender;
mod state;
mod store;
mod uri;
mod verify;
mod wire;

pub use challenge::{
    ChallengeRequest, ChallengeView, DevicePush, MAX_TRANSACTION_LEN, StartedChallenge,
    challenge_context, challenge_context_async, pending_challenges, pending_challenges_async,
    start_challenge, start_challenge_async,
};
pub use context::{ChallengeContext, MAX_CONTEXT_FIELD_CHARS};
#[cfg(feature = "device")]
pub use device::DeviceKey;
pub use enrollment::{
    EnrollmentOffer, begin_enrollment, begin_enrollment_async, register_device,
    register_device_async,
};
pub use error::PushError;
pub use events::{EventLog, FraudReport, IgnoreEvents, PushEvent, PushEventSink};
pub use ids::{
    CHALLENGE_ID_BYTES, ChallengeId, DeviceId, ENROLLMENT_TOKEN_BYTES, EnrollmentToken,
    MAX_NUMBER_DIGITS, MatchNumber,
};
pub use jwk::PublicJwk;
pub use number::NumberMatch;
pub use policy::{MAX_CHALLENGE_LIFETIME, PushPolicy};
pub use sender::{
    AsyncPushSender, InMemorySender, PushSender, SendError, SentChallenge, start_and_send,
    start_and_send_async,
};
pub use store::{
    CHALLENGE_KIND, DEVICE_KIND, ENROLLMENT_KIND, PushDevice, STATE_KIND, challenge_key,
    device_key, find_device, find_device_async, list_devices, list_devices_async, remove_device,
    remove_device_async, state_key,
};
pub use uri::{
    ENROLLMENT_URI_PREFIX, EnrollmentUri, MAX_ACCOUNT_CHARS, MAX_ENROLLMENT_URI_LEN,
    MAX_ISSUER_CHARS, MAX_URL_LEN,
};
pub use verify::{
    PushApproval, PushOutcome, take_outcome, take_outcome_async, unlock, unlock_async,
    verify_response, verify_response_async,
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
