#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod audit;
pub mod clock;
pub mod commit;
pub mod conformance;
pub mod error;
pub mod evidence;
pub mod secret;
pub mod store;
pub mod throttle;

pub use audit::{
    AsyncAuditSink, AuditCursor, AuditEvent, AuditPage, AuditResult, AuditSink, MemoryAuditSink,
    RecentQuery, StoredAuditEvent,
};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use commit::{
    AttemptError, BlockingStore, Change, MAX_COMMIT_ATTEMPTS, block_on, insert_new,
    insert_new_async, insert_new_until, insert_new_until_async, list, list_async, load, load_async,
    put, put_async, put_until, put_until_async, take, take_async, update, update_async,
    verify_and_commit, verify_and_commit_async, verify_challenge_and_commit,
    verify_challenge_and_commit_async,
};
pub use error::Rejection;
pub use evidence::{AuthenticatorProperties, CredentialId, Evidence, Method, Verified};
pub use rand_core::CryptoRng;
pub use secret::SecretBytes;
pub use store::{
    AsyncStore, MemoryStore, NewRecord, RecordKey, Store, StoreError, StoredRecord, SwapOutcome,
    Version, decode, encode, is_live,
};
pub use throttle::{ThrottlePolicy, ThrottleState, ThrottleStatus, Throttled};
