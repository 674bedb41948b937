//! Transport: a small trait the service implements over APNs or FCM, an in-memory sender for
//! tests, and a helper that starts a challenge and sends its pushes.

use core::fmt;
use core::future::Future;
use std::sync::{Mutex, PoisonError};

use mfa_core::{AsyncStore, AttemptError, CryptoRng, Store, UnixTime};

use crate::challenge::{
    ChallengeRequest, DevicePush, StartedChallenge, start_challenge, start_challenge_async,
};
use crate::error::PushError;
use crate::events::PushEventSink;
use crate::ids::DeviceId;
use crate::policy::PushPolicy;

/// A push service failed to take a push (unreachable, token expired, …). Holds the
/// transport's own error.
#[derive(Debug)]
pub struct SendError(Box<dyn std::error::Error + Send + Sync>);

impl SendError {
    /// Wraps a transport error.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "push not sent: {}", self.0)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Sends one push through the device's push service (blocking). APNs and FCM clients are the
/// service's: send [`DevicePush::payload`]'s JSON ([`PushPayload::to_json`]) as the
/// notification's data to [`DevicePush::push_token`].
///
/// [`PushPayload::to_json`]: crate::PushPayload::to_json
pub trait PushSender: Send + Sync {
    /// Sends `push`. Only called for devices with a push token.
    ///
    /// # Errors
    /// [`SendError`] if the push service did not take it.
    fn send(&self, push: &DevicePush) -> Result<(), SendError>;
}

/// The async twin of [`PushSender`]; futures are `Send`.
pub trait AsyncPushSender: Send + Sync {
    /// Sends `push`. Only called for devices with a push token.
    ///
    /// # Errors
    /// [`SendError`] if the push service did not take it.
    fn send(&self, push: &DevicePush) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// A sender that keeps what it is given, for tests and examples.
#[derive(Debug, Default)]
pub struct InMemorySender(Mutex<Vec<DevicePush>>);

impl InMemorySender {
    /// An empty sender.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the pushes sent so far, oldest first.
    #[must_use]
    pub fn take(&self) -> Vec<DevicePush> {
        core::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl PushSender for InMemorySender {
    fn send(&self, push: &DevicePush) -> Result<(), SendError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(push.clone());
        Ok(())
    }
}

impl AsyncPushSender for InMemorySender {
    async fn send(&self, push: &DevicePush) -> Result<(), SendError> {
        PushSender::send(self, push)
    }
}

/// A started challenge and how sending its pushes went.
#[derive(Debug)]
pub struct SentChallenge {
    /// The challenge (show its number on the sign-in page).
    pub challenge: StartedChallenge,
    /// The devices whose push failed. The challenge stands: those devices can still find it
    /// by polling ([`pending_challenges`](crate::pending_challenges)).
    pub failures: Vec<(DeviceId, SendError)>,
}

/// [`start_challenge`](crate::start_challenge), then sends the push to every device that has a
/// push token (devices in poll mode have none and find the challenge by polling).
///
/// # Errors
/// As [`start_challenge`](crate::start_challenge); a failed send is not an error but an entry in
/// [`SentChallenge::failures`].
pub fn start_and_send<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &ChallengeRequest,
    now: UnixTime,
    rng: &mut R,
    events: &dyn PushEventSink,
    sender: &dyn PushSender,
) -> Result<SentChallenge, AttemptError<PushError>> {
    let challenge = start_challenge(store, policy, request, now, rng, events)?;
    let failures = deliverable(&challenge)
        .filter_map(|push| {
            sender
                .send(push)
                .err()
                .map(|error| (push.device_id.clone(), error))
        })
        .collect();
    Ok(SentChallenge {
        challenge,
        failures,
    })
}

/// Async [`start_and_send`]; pushes are sent one after the other.
///
/// # Errors
/// As [`start_and_send`].
pub async fn start_and_send_async<S, R, P>(
    store: &S,
    policy: &PushPolicy,
    request: &ChallengeRequest,
    now: UnixTime,
    rng: &mut R,
    events: &dyn PushEventSink,
    sender: &P,
) -> Result<SentChallenge, AttemptError<PushError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
    P: AsyncPushSender + ?Sized,
{
    let challenge = start_challenge_async(store, policy, request, now, rng, events).await?;
    let mut failures = Vec::new();
    for push in deliverable(&challenge) {
        if let Err(error) = sender.send(push).await {
            failures.push((push.device_id.clone(), error));
        }
    }
    Ok(SentChallenge {
        challenge,
        failures,
    })
}

fn deliverable(challenge: &StartedChallenge) -> impl Iterator<Item = &DevicePush> {
    challenge
        .pushes
        .iter()
        .filter(|push| push.push_token.is_some())
}
