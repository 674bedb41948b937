//! Starting a challenge (with the fatigue defences), and what the phone may read about it.

use core::fmt;
use core::time::Duration;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, Store, ThrottleStatus, UnixTime,
    block_on, load_async, put_until_async, take_async, update_async,
};
use serde::{Deserialize, Serialize};

use crate::context::ChallengeContext;
use crate::error::PushError;
use crate::events::{PushEvent, PushEventSink};
use crate::ids::{ChallengeId, DeviceId, MatchNumber};
use crate::number::NumberMatch;
use crate::policy::{MAX_CHALLENGE_LIFETIME, PushPolicy};
use crate::state::{PushState, Refused};
use crate::store::{
    PushDevice, challenge_key, from_registered_device, list_devices_async, state_key,
};
use crate::wire::{Platform, PushPayload, RequestOp, SignedRequest};

/// The longest transaction id, in bytes.
pub const MAX_TRANSACTION_LEN: usize = 256;

/// What the service asks for: a challenge for `account`'s sign-in `transaction`.
///
/// The transaction is the sign-in attempt's own id (a random value the sign-in page holds, or
/// its session id): [`take_outcome`](crate::take_outcome) hands the phone's answer only to the
/// same transaction. It never reaches the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeRequest {
    /// The account signing in.
    pub account: String,
    /// The sign-in transaction (1 to [`MAX_TRANSACTION_LEN`] bytes).
    pub transaction: String,
    /// How the number is matched. Default [`NumberMatch::default`] (6 typed digits).
    pub mode: NumberMatch,
    /// What the phone shows about the sign-in.
    pub context: ChallengeContext,
}

impl ChallengeRequest {
    /// A challenge for `account`'s `transaction`, 6 typed digits, no context.
    #[must_use]
    pub fn new(account: impl Into<String>, transaction: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            transaction: transaction.into(),
            mode: NumberMatch::default(),
            context: ChallengeContext::default(),
        }
    }

    /// With another number-matching mode.
    #[must_use]
    pub fn with_mode(mut self, mode: NumberMatch) -> Self {
        self.mode = mode;
        self
    }

    /// With context for the phone to show.
    #[must_use]
    pub fn with_context(mut self, context: ChallengeContext) -> Self {
        self.context = context;
        self
    }
}

/// A challenge as stored until it is answered (or superseded, or expires).
#[derive(Serialize, Deserialize)]
pub(crate) struct ChallengeRecord {
    pub(crate) transaction: String,
    pub(crate) mode: NumberMatch,
    pub(crate) number: MatchNumber,
    pub(crate) choices: Vec<String>,
    pub(crate) context: ChallengeContext,
    pub(crate) created_at: UnixTime,
    pub(crate) expires_at: UnixTime,
}

/// A push to send to one device: where (the platform and push-service token) and what (the
/// [`PushPayload`]: ids only). `Debug` does not show the push token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct DevicePush {
    /// The device.
    pub device_id: DeviceId,
    /// Its platform (APNs for iOS, FCM for Android).
    pub platform: Platform,
    /// The push-service token, absent for a device in poll mode (nothing to send then: the
    /// device finds the challenge with [`pending_challenges`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_token: Option<String>,
    /// The payload: `{"v":1,"challenge":…,"handle":…}`.
    pub payload: PushPayload,
}

impl fmt::Debug for DevicePush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevicePush")
            .field("device_id", &self.device_id)
            .field("platform", &self.platform)
            .field("has_push_token", &self.push_token.is_some())
            .field("payload", &self.payload)
            .finish()
    }
}

/// A started challenge: show [`number`](Self::number) on the sign-in page, send each of
/// [`pushes`](Self::pushes) through its push service, then poll
/// [`take_outcome`](crate::take_outcome) until the phone has answered or
/// [`expires_at`](Self::expires_at) has passed.
///
/// Serializes (for the CLI and for a sign-in page's script) with the number in clear: it is for
/// the sign-in page. `Debug` does not show it. Its times are [`UnixTime`]s: **milliseconds**
/// since the epoch in JSON (a script can pass them to `new Date(…)` as they are), unlike the
/// phone-facing [`ChallengeView`], which gives the same times in seconds.
#[derive(Clone, Debug, Serialize)]
pub struct StartedChallenge {
    /// The challenge's id.
    pub id: ChallengeId,
    /// The account.
    pub account: String,
    /// How the number is matched (`"typed6"` …).
    pub mode: NumberMatch,
    /// The number to show on the sign-in page (never sent to the phone in typed modes).
    pub number: MatchNumber,
    /// Pick-one mode: the numbers the phone offers (the sign-in page shows only
    /// [`number`](Self::number)); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// When it was started.
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub created_at: UnixTime,
    /// When it stops accepting answers.
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub expires_at: UnixTime,
    /// One push per registered device.
    pub pushes: Vec<DevicePush>,
    /// The challenge this one replaced, if one was pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded: Option<ChallengeId>,
}

/// Starts a push challenge for a sign-in (see the README's flow).
///
/// In order: the request is checked (a supported mode, context within its limits, a
/// transaction of 1 to 256 bytes, a challenge lifetime of 1 s to 10 minutes); the account must
/// have a device; then, in one atomic update of the account's state, the fatigue defences decide
/// (a fraud lock refuses until [`unlock`](crate::unlock); the denial cap and the push cap refuse
/// with a `retry_after`) and, if the push may go, the new challenge becomes the pending one and
/// the push is counted. The challenge (number, transaction, context, expiry) is stored with a
/// store expiry of [`PushPolicy::store_expiry`] (its `expires_at` plus the clock-skew grace), so
/// the store drops it by itself if nobody answers; the one it supersedes, if any, is removed. The
/// number is uniform, fixed-width.
///
/// `events` receives [`PushEvent::Superseded`] and [`PushEvent::PushCapReached`].
///
/// # Errors
/// [`AttemptError::NotEnrolled`] if the account has no device; [`AttemptError::Rejected`] with
/// [`PushError::FraudLocked`], [`PushError::DenialCapReached`], [`PushError::PushCapReached`]
/// (these two with [`PushError::retry_after`]) or [`PushError::InvalidRequest`];
/// [`AttemptError::Throttled`] while wrong numbers keep the account's answers throttled (no push
/// is sent that could not be approved); [`AttemptError::Store`] if the store fails.
pub fn start_challenge<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &ChallengeRequest,
    now: UnixTime,
    rng: &mut R,
    events: &dyn PushEventSink,
) -> Result<StartedChallenge, AttemptError<PushError>> {
    block_on(start_challenge_async(
        &BlockingStore(store),
        policy,
        request,
        now,
        rng,
        events,
    ))
}

/// Async [`start_challenge`]. The future is `Send` when the RNG is.
///
/// # Errors
/// As [`start_challenge`].
pub async fn start_challenge_async<S: AsyncStore + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &ChallengeRequest,
    now: UnixTime,
    rng: &mut R,
    events: &dyn PushEventSink,
) -> Result<StartedChallenge, AttemptError<PushError>> {
    check_request(request, policy).map_err(AttemptError::Rejected)?;
    let account = request.account.as_str();
    let devices = list_devices_async(store, account).await?;
    if devices.is_empty() {
        return Err(AttemptError::NotEnrolled);
    }
    // While wrong numbers keep the account's answers throttled, a push could not be approved:
    // sending one would only disturb the user. Say when answers are accepted again instead.
    if let ThrottleStatus::Throttled(throttled) = policy
        .throttle
        .status_async(store, &state_key(account), now)
        .await?
    {
        return Err(AttemptError::Throttled(throttled));
    }
    let id = ChallengeId::generate(rng);
    let (number, choices) = request.mode.draw(rng);
    let expires_at = now.saturating_add(policy.challenge_lifetime);

    let admitted = update_async(store, &state_key(account), |state: Option<&PushState>| {
        let state = state.cloned().unwrap_or_default();
        match state.admit(policy, now) {
            Err(refused) => (Change::Keep, Err((refused, state.pushes))),
            Ok(()) => {
                let (next, superseded) = state.pushed(&id, now, expires_at);
                (Change::Put(next), Ok(superseded))
            }
        }
    })
    .await?;
    let superseded = match admitted {
        Ok(superseded) => superseded,
        Err((
            Refused {
                error,
                next_push_at,
            },
            pushes,
        )) => {
            if let (PushError::PushCapReached { .. }, Some(next_push_at)) = (&error, next_push_at) {
                events.record(PushEvent::PushCapReached {
                    account: account.to_owned(),
                    pushes,
                    next_push_at,
                });
            }
            return Err(AttemptError::Rejected(error));
        }
    };

    let record = ChallengeRecord {
        transaction: request.transaction.clone(),
        mode: request.mode,
        number: number.clone(),
        choices: choices.clone(),
        context: request.context.clone(),
        created_at: now,
        expires_at,
    };
    // Left unanswered, it leaves the store by itself once its grace has passed.
    put_until_async(
        store,
        &challenge_key(account, &id),
        &record,
        policy.store_expiry(expires_at),
    )
    .await?;
    if let Some(previous) = &superseded {
        // Best effort: the state already names the new challenge, so an answer to the old one
        // fails as superseded whether or not its record is still there.
        let _removed =
            take_async::<_, ChallengeRecord>(store, &challenge_key(account, previous)).await;
        events.record(PushEvent::Superseded {
            account: account.to_owned(),
            challenge: previous.clone(),
            by: id.clone(),
        });
    }
    Ok(StartedChallenge {
        pushes: devices.iter().map(|device| push_for(device, &id)).collect(),
        id,
        account: account.to_owned(),
        mode: request.mode,
        number,
        choices,
        created_at: now,
        expires_at,
        superseded,
    })
}

fn push_for(device: &PushDevice, challenge: &ChallengeId) -> DevicePush {
    DevicePush {
        device_id: device.device_id.clone(),
        platform: device.platform,
        push_token: device.push_token.clone(),
        payload: PushPayload::new(challenge.clone(), device.device_id.clone()),
    }
}

fn check_request(request: &ChallengeRequest, policy: &PushPolicy) -> Result<(), PushError> {
    request.mode.validate()?;
    request.context.validate()?;
    if request.transaction.is_empty() || request.transaction.len() > MAX_TRANSACTION_LEN {
        return Err(PushError::InvalidRequest(
            "the transaction is empty or longer than 256 bytes",
        ));
    }
    if policy.challenge_lifetime < Duration::from_secs(1)
        || policy.challenge_lifetime > MAX_CHALLENGE_LIFETIME
    {
        return Err(PushError::InvalidRequest(
            "the challenge lifetime is not between 1 s and 10 minutes",
        ));
    }
    Ok(())
}

/// What the phone may see of a challenge: enough to show the user what they are approving and
/// to let them answer. Never the number in typed modes; in pick-one mode, the choices (the
/// number among them: that is the mode's weakness).
///
/// JSON for the phone, times in **seconds** since the epoch (like `iat`, the JWT convention; the
/// server side's [`UnixTime`]s, as in [`StartedChallenge`], serialize as milliseconds):
/// `{"challenge":"…","account":"alice","mode":"typed6","digits":6,"context":{…},"created_at":…,"expires_at":…}`
/// with `"choices":["17","42","80"]` in pick-one mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeView {
    /// The challenge's id.
    pub challenge: ChallengeId,
    /// The account signing in.
    pub account: String,
    /// How the number is matched.
    pub mode: NumberMatch,
    /// How many digits to type, or each choice has.
    pub digits: u8,
    /// Pick-one mode: the numbers to offer; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The sign-in's context.
    pub context: ChallengeContext,
    /// When the sign-in started: Unix time in **seconds** (not milliseconds), rounded down.
    pub created_at: u64,
    /// When the challenge stops accepting answers: Unix time in **seconds** (not
    /// milliseconds), rounded down.
    pub expires_at: u64,
}

impl ChallengeView {
    fn of(id: &ChallengeId, account: &str, record: &ChallengeRecord) -> Self {
        Self {
            challenge: id.clone(),
            account: account.to_owned(),
            mode: record.mode,
            digits: record.mode.digits(),
            choices: record.choices.clone(),
            context: record.context.clone(),
            created_at: record.created_at.as_secs(),
            expires_at: record.expires_at.as_secs(),
        }
    }
}

/// A verified request for `op` from a registered device.
async fn verified_request<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    message: &str,
    op: RequestOp,
    now: UnixTime,
) -> Result<(PushDevice, Option<ChallengeId>), AttemptError<PushError>> {
    let (device, request) =
        from_registered_device::<_, SignedRequest>(store, message, policy.clock_skew, now).await?;
    if request.op != op {
        return Err(AttemptError::Rejected(PushError::Malformed(
            "the request asks for something else",
        )));
    }
    Ok((device, request.challenge))
}

/// Poll mode: the challenges pending for the device that signed `request`
/// (`DeviceKey::request_pending` with feature `device`); at most one, since an
/// account has at most one pending challenge. Works without any push service.
///
/// A request may be replayed within [`PushPolicy::clock_skew`] of its `iat`: it only reads again
/// what the device may read.
///
/// # Errors
/// [`AttemptError::Rejected`] with a format error, [`PushError::UnknownDevice`],
/// [`PushError::BadSignature`] or [`PushError::ClockSkew`]; [`AttemptError::Store`] if the store
/// fails.
pub fn pending_challenges<S: Store + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &str,
    now: UnixTime,
) -> Result<Vec<ChallengeView>, AttemptError<PushError>> {
    block_on(pending_challenges_async(
        &BlockingStore(store),
        policy,
        request,
        now,
    ))
}

/// Async [`pending_challenges`].
///
/// # Errors
/// As [`pending_challenges`].
pub async fn pending_challenges_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &str,
    now: UnixTime,
) -> Result<Vec<ChallengeView>, AttemptError<PushError>> {
    let (device, _) = verified_request(store, policy, request, RequestOp::Pending, now).await?;
    let account = device.account.as_str();
    let state: Option<PushState> = load_async(store, &state_key(account)).await?;
    let Some(current) = state.and_then(|state| state.current) else {
        return Ok(Vec::new());
    };
    let record: Option<ChallengeRecord> =
        load_async(store, &challenge_key(account, &current)).await?;
    Ok(record
        .filter(|record| now < record.expires_at)
        .map(|record| ChallengeView::of(&current, account, &record))
        .into_iter()
        .collect())
}

/// The context of the challenge named in `request`
/// (`DeviceKey::request_context` with feature `device`), for the phone to show
/// before the user answers (what a push notification cannot carry).
///
/// # Errors
/// As [`pending_challenges`], and [`AttemptError::ChallengeNotFound`] if the device's account has
/// no such challenge (answered, or never issued); [`AttemptError::Rejected`] with
/// [`PushError::Superseded`] or [`PushError::Expired`].
pub fn challenge_context<S: Store + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &str,
    now: UnixTime,
) -> Result<ChallengeView, AttemptError<PushError>> {
    block_on(challenge_context_async(
        &BlockingStore(store),
        policy,
        request,
        now,
    ))
}

/// Async [`challenge_context`].
///
/// # Errors
/// As [`challenge_context`].
pub async fn challenge_context_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    request: &str,
    now: UnixTime,
) -> Result<ChallengeView, AttemptError<PushError>> {
    let (device, challenge) =
        verified_request(store, policy, request, RequestOp::Context, now).await?;
    let account = device.account.as_str();
    let challenge = challenge.ok_or(AttemptError::Rejected(PushError::Malformed(
        "a context request names its challenge",
    )))?;
    let state: PushState = load_async(store, &state_key(account))
        .await?
        .unwrap_or_default();
    if state.superseded.contains(&challenge) {
        return Err(AttemptError::Rejected(PushError::Superseded));
    }
    let Some(record) =
        load_async::<_, ChallengeRecord>(store, &challenge_key(account, &challenge)).await?
    else {
        // Dropped by the store after its grace, still pending: it expired.
        return Err(if state.pending_expired(&challenge, now) {
            AttemptError::Rejected(PushError::Expired)
        } else {
            AttemptError::ChallengeNotFound
        });
    };
    if now >= record.expires_at {
        return Err(AttemptError::Rejected(PushError::Expired));
    }
    Ok(ChallengeView::of(&challenge, account, &record))
}
