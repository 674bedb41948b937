//! The phone's answer, checked in order and committed once; the sign-in page's side of it; and
//! the operator's unlock.

use std::sync::OnceLock;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, RecordKey, Store, StoreError, ThrottlePolicy,
    UnixTime, Verified, block_on, load_async, update_async,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::challenge::ChallengeRecord;
use crate::error::PushError;
use crate::events::{FraudReport, PushEvent, PushEventSink};
use crate::ids::{ChallengeId, DeviceId};
use crate::number::NumberMatch;
use crate::policy::PushPolicy;
use crate::state::{Outcome, OutcomeReason, OutcomeResult, PushState, evidence};
use crate::store::{
    DeviceRecord, PushDevice, challenge_key, device_key, from_registered_device, state_key,
};
use crate::wire::{Answer, SignedResponse};

/// What an approved challenge proves, beside the [`Evidence`](mfa_core::Evidence): which
/// account's sign-in, which device, which challenge and mode. No secret inside.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PushApproval {
    /// The account.
    pub account: String,
    /// The device that approved.
    pub device_id: DeviceId,
    /// Its name.
    pub device_name: String,
    /// The challenge approved.
    pub challenge: ChallengeId,
    /// The number-matching mode it was approved in.
    pub mode: NumberMatch,
    /// When.
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub approved_at: UnixTime,
}

/// What the sign-in page learns from [`take_outcome`].
#[must_use = "an approval must be acted on, a pending answer polled again"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The phone has not answered yet (or its answer is being committed): ask again until the
    /// challenge's `expires_at`.
    Pending,
    /// The phone approved with the right number: grant the sign-in with this evidence.
    Approved(Verified<PushApproval>),
}

/// Checks a device's answer and commits it (see the README's flow). Call it where the phone
/// posts its response.
///
/// In order:
/// 1. size and shape, header (`ES256`, `mfa-push-response+jwt`, a `kid`);
/// 2. the device named by `kid` must be registered ([`PushError::UnknownDevice`]);
/// 3. the signature must verify with its key ([`PushError::BadSignature`]). All of this happens
///    before any state is touched: a forged answer cannot spend a challenge, and a bad signature
///    never counts toward throttling;
/// 4. the payload, strictly; its `iat` within [`PushPolicy::clock_skew`];
/// 5. behind the wrong-number throttle ([`PushPolicy::throttle`], per account), the challenge is
///    *taken* (atomically loaded and deleted: of concurrent answers, one gets it; a replay finds
///    nothing) from the device's own account;
/// 6. a fraud report goes straight to step 7, even for an expired challenge whose record the
///    store still holds; any other answer must still be the pending one
///    ([`PushError::Superseded`]), push must not be fraud-locked ([`PushError::FraudLocked`]), and
///    the challenge not expired
///    ([`PushError::Expired`]; the store keeps the record for a grace of
///    [`PushPolicy::clock_skew`] past its expiry, see [`PushPolicy::store_expiry`], and after
///    that the account's state still tells a pending challenge's late answer `expired`);
/// 7. the decision: a denial is counted toward the denial cap ([`PushError::Denied`]); a fraud
///    report locks push for the account and is returned and sent to `events`
///    ([`PushError::FraudReported`]); an approval's number is compared in constant time
///    ([`PushError::WrongNumber`], which counts as a failed attempt);
/// 8. an approval resets the push and denial counters and the throttle, and records the outcome
///    for [`take_outcome`] in the same atomic write. Every other end of a taken challenge is
///    recorded for it too.
///
/// **The result is for the phone** ("approved" on its screen). It must not grant the sign-in:
/// the sign-in page, in its own session, calls [`take_outcome`] with its transaction.
///
/// `events` receives [`PushEvent::FraudReported`], [`PushEvent::Denied`] and
/// [`PushEvent::DenialCapReached`].
///
/// # Errors
/// [`AttemptError::Rejected`] with the failed check; [`AttemptError::ChallengeNotFound`] for an
/// unknown, already answered (a replay) or removed challenge (a superseded one is
/// [`PushError::Superseded`] and an expired pending one [`PushError::Expired`], even once the
/// store dropped its record); [`AttemptError::Throttled`] after
/// too many wrong numbers; [`AttemptError::Store`] if the store fails.
pub fn verify_response<S: Store + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    response: &str,
    now: UnixTime,
    events: &dyn PushEventSink,
) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
    block_on(verify_response_async(
        &BlockingStore(store),
        policy,
        response,
        now,
        events,
    ))
}

/// Async [`verify_response`].
///
/// # Errors
/// As [`verify_response`].
pub async fn verify_response_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &PushPolicy,
    response: &str,
    now: UnixTime,
    events: &dyn PushEventSink,
) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
    let (device, response) =
        from_registered_device::<_, SignedResponse>(store, response, policy.clock_skew, now)
            .await?;

    let answering = Answering {
        policy,
        state_key: state_key(&device.account),
        device: &device,
        response: &response,
        now,
        events,
    };
    // What the check learns of the taken challenge: its transaction and mode, for the outcome.
    let taken: OnceLock<(String, NumberMatch)> = OnceLock::new();
    let result = policy
        .throttle
        .verify_challenge_and_commit_async(
            store,
            &challenge_key(&device.account, &response.challenge),
            &answering.state_key,
            now,
            |challenge: ChallengeRecord, state: &PushState| {
                let _first = taken.set((challenge.transaction.clone(), challenge.mode));
                judge(&challenge, state, &answering)
            },
            |mode: &NumberMatch, state: &PushState| {
                let transaction = taken.get().map_or("", |(transaction, _)| transaction);
                approve(state, *mode, transaction, &answering)
            },
        )
        .await;
    match result {
        Ok(verified) => {
            // Cosmetic, best effort: the approval is committed already.
            let _touched = touch_device(store, &device, now).await;
            let mode = taken
                .get()
                .map_or_else(NumberMatch::default, |(_, mode)| *mode);
            Ok(verified.map(|_| answering.approval(mode)))
        }
        Err(AttemptError::Rejected(error)) => {
            if let (Some(reason), Some((transaction, _))) =
                (OutcomeReason::of(&error), taken.into_inner())
            {
                answering
                    .record_rejection(store, transaction, reason)
                    .await?;
            }
            Err(AttemptError::Rejected(error))
        }
        // No challenge to take (no state at all means none was ever started).
        Err(AttemptError::ChallengeNotFound | AttemptError::NotEnrolled) => {
            Err(not_found(store, &answering.state_key, &response.challenge, now).await)
        }
        Err(other) => Err(other),
    }
}

/// One signed answer being checked: what every step needs.
struct Answering<'a> {
    policy: &'a PushPolicy,
    state_key: RecordKey,
    device: &'a PushDevice,
    response: &'a SignedResponse,
    now: UnixTime,
    events: &'a dyn PushEventSink,
}

impl Answering<'_> {
    fn approval(&self, mode: NumberMatch) -> PushApproval {
        PushApproval {
            account: self.device.account.clone(),
            device_id: self.device.device_id.clone(),
            device_name: self.device.name.clone(),
            challenge: self.response.challenge.clone(),
            mode,
            approved_at: self.now,
        }
    }

    /// Records how a taken challenge ended, with the denial or fraud it may count, in one write;
    /// then tells `events`.
    async fn record_rejection<S: AsyncStore + ?Sized>(
        &self,
        store: &S,
        transaction: String,
        reason: OutcomeReason,
    ) -> Result<(), StoreError> {
        let outcome = Outcome {
            challenge: self.response.challenge.clone(),
            transaction,
            at: self.now,
            result: OutcomeResult::Rejected(reason.clone()),
        };
        let denials = update_async(store, &self.state_key, |state: Option<&PushState>| {
            let next = state.cloned().unwrap_or_default().answered(outcome.clone());
            let denials = next.denials;
            (Change::Put(next), denials)
        })
        .await?;
        match reason {
            OutcomeReason::Fraud(report) => self.events.record(PushEvent::FraudReported(*report)),
            OutcomeReason::Denied => {
                self.events.record(PushEvent::Denied {
                    account: self.device.account.clone(),
                    device_id: self.device.device_id.clone(),
                    challenge: self.response.challenge.clone(),
                });
                if denials >= self.policy.max_denials {
                    self.events.record(PushEvent::DenialCapReached {
                        account: self.device.account.clone(),
                        denials,
                        locked_until: self.now.saturating_add(self.policy.denial_lock),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Steps 6 and 7: pending, not expired, then the decision. Constant time in the number.
fn judge(
    challenge: &ChallengeRecord,
    state: &PushState,
    answering: &Answering<'_>,
) -> Result<NumberMatch, PushError> {
    let Answering {
        device,
        response,
        now,
        ..
    } = *answering;
    let typed = match &response.answer {
        // A push the user did not ask for is a sign of attack whenever it is reported: a fraud
        // report counts even when the challenge has expired (the user saw it late), as long as
        // its record could be taken here.
        Answer::ReportFraud => {
            return Err(PushError::FraudReported(Box::new(FraudReport {
                account: device.account.clone(),
                device_id: device.device_id.clone(),
                device_name: device.name.clone(),
                challenge: response.challenge.clone(),
                context: challenge.context.clone(),
                started_at: challenge.created_at,
                reported_at: now,
            })));
        }
        Answer::Deny => None,
        Answer::Approve(typed) => Some(typed),
    };
    if state.current.as_ref() != Some(&response.challenge) {
        return Err(PushError::Superseded);
    }
    // Defence in depth: push locked for fraud while this challenge was pending (start_challenge
    // refuses new ones), so nothing is approved until an operator unlocks.
    if state.fraud_locked_at.is_some() {
        return Err(PushError::FraudLocked);
    }
    if now >= challenge.expires_at {
        return Err(PushError::Expired);
    }
    match typed {
        None => Err(PushError::Denied),
        Some(typed) if challenge.number.matches(typed) => Ok(challenge.mode),
        Some(_) => Err(PushError::WrongNumber),
    }
}

/// Step 8, on the state as it is at commit time (it may run again if another writer commits
/// first): still pending, so the approval and its outcome go in one write.
fn approve(
    state: &PushState,
    mode: NumberMatch,
    transaction: &str,
    answering: &Answering<'_>,
) -> Result<Verified<PushState>, PushError> {
    if state.current.as_ref() != Some(&answering.response.challenge) {
        return Err(PushError::Superseded);
    }
    if state.fraud_locked_at.is_some() {
        return Err(PushError::FraudLocked);
    }
    let evidence = evidence(mode, answering.now, &answering.device.device_id);
    let outcome = Outcome {
        challenge: answering.response.challenge.clone(),
        transaction: transaction.to_owned(),
        at: answering.now,
        result: OutcomeResult::Approved {
            evidence: evidence.clone(),
            approval: answering.approval(mode),
        },
    };
    Ok(Verified::new(evidence, state.answered(outcome)))
}

/// Why there was no challenge to take: superseded, or still pending but expired and dropped by
/// the store after its grace (the state remembers both), or not found.
async fn not_found<S: AsyncStore + ?Sized>(
    store: &S,
    state_key: &RecordKey,
    challenge: &ChallengeId,
    now: UnixTime,
) -> AttemptError<PushError> {
    match load_async::<_, PushState>(store, state_key).await {
        Ok(Some(state)) if state.superseded.contains(challenge) => {
            AttemptError::Rejected(PushError::Superseded)
        }
        Ok(Some(state)) if state.pending_expired(challenge, now) => {
            AttemptError::Rejected(PushError::Expired)
        }
        Ok(_) => AttemptError::ChallengeNotFound,
        Err(error) => AttemptError::Store(error),
    }
}

async fn touch_device<S: AsyncStore + ?Sized>(
    store: &S,
    device: &PushDevice,
    now: UnixTime,
) -> Result<(), StoreError> {
    update_async(
        store,
        &device_key(&device.account, &device.device_id),
        |record: Option<&DeviceRecord>| match record {
            Some(record) => {
                let mut record = record.clone();
                record.last_used_at = Some(now);
                (Change::Put(record), ())
            }
            None => (Change::Keep, ()),
        },
    )
    .await
}

/// The sign-in page's side: whether the phone has answered challenge `challenge` of `account`,
/// asked with the sign-in's own `transaction` (the one given to
/// [`start_challenge`](crate::start_challenge)). This is what grants the sign-in.
///
/// An answer is *taken*: handed out once, whoever asks. The transaction is compared (in
/// constant time) after taking, so an answer asked for by another transaction is spent and
/// refused.
///
/// # Errors
/// [`AttemptError::Rejected`] with how the challenge ended: [`PushError::Denied`],
/// [`PushError::FraudReported`], [`PushError::WrongNumber`], [`PushError::Expired`] (also when
/// it expired unanswered, before or after the store dropped its record),
/// [`PushError::Superseded`], or [`PushError::TransactionMismatch`];
/// [`AttemptError::ChallengeNotFound`] if there is no such challenge or its answer was taken
/// already; [`AttemptError::Store`] if the store fails.
pub fn take_outcome<S: Store + ?Sized>(
    store: &S,
    account: &str,
    challenge: &ChallengeId,
    transaction: &str,
    now: UnixTime,
) -> Result<PushOutcome, AttemptError<PushError>> {
    block_on(take_outcome_async(
        &BlockingStore(store),
        account,
        challenge,
        transaction,
        now,
    ))
}

/// Async [`take_outcome`].
///
/// # Errors
/// As [`take_outcome`].
pub async fn take_outcome_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    challenge: &ChallengeId,
    transaction: &str,
    now: UnixTime,
) -> Result<PushOutcome, AttemptError<PushError>> {
    let state_key = state_key(account);
    let taken = update_async(store, &state_key, |state: Option<&PushState>| {
        match state.and_then(|state| state.take_outcome(challenge)) {
            Some((next, outcome)) => (Change::Put(next), Some(outcome)),
            None => (Change::Keep, None),
        }
    })
    .await?;
    if let Some(outcome) = taken {
        if !same_transaction(&outcome.transaction, transaction) {
            return Err(AttemptError::Rejected(PushError::TransactionMismatch));
        }
        return match outcome.result {
            OutcomeResult::Approved { evidence, approval } => {
                Ok(PushOutcome::Approved(Verified::new(evidence, approval)))
            }
            OutcomeResult::Rejected(reason) => Err(AttemptError::Rejected(reason.into_error())),
        };
    }
    // Not answered (yet): the challenge tells whether it is still waiting.
    if let Some(record) =
        load_async::<_, ChallengeRecord>(store, &challenge_key(account, challenge)).await?
    {
        if !same_transaction(&record.transaction, transaction) {
            return Err(AttemptError::Rejected(PushError::TransactionMismatch));
        }
        if now >= record.expires_at {
            return Err(AttemptError::Rejected(PushError::Expired));
        }
        return Ok(PushOutcome::Pending);
    }
    match load_async::<_, PushState>(store, &state_key).await? {
        Some(state) if state.superseded.contains(challenge) => {
            Err(AttemptError::Rejected(PushError::Superseded))
        }
        // Still pending, its record dropped by the store after its grace: it expired unanswered.
        Some(state) if state.pending_expired(challenge, now) => {
            Err(AttemptError::Rejected(PushError::Expired))
        }
        // Taken by an answer whose outcome is being written.
        Some(state) if state.current.as_ref() == Some(challenge) => Ok(PushOutcome::Pending),
        _ => Err(AttemptError::ChallengeNotFound),
    }
}

fn same_transaction(stored: &str, given: &str) -> bool {
    stored.len() == given.len() && bool::from(stored.as_bytes().ct_eq(given.as_bytes()))
}

/// For an operator (or after the user recovered through another method): clears `account`'s
/// fraud lock, denial and push counters, and wrong-number throttle (whatever
/// [`PushPolicy::throttle`] it was counted under: clearing does not depend on the policy's
/// numbers). Pending challenges and answers are left as they are.
///
/// # Errors
/// [`StoreError`] if the store fails.
pub fn unlock<S: Store + ?Sized>(store: &S, account: &str) -> Result<(), StoreError> {
    block_on(unlock_async(&BlockingStore(store), account))
}

/// Async [`unlock`].
///
/// # Errors
/// As [`unlock`].
pub async fn unlock_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<(), StoreError> {
    let key = state_key(account);
    update_async(store, &key, |state: Option<&PushState>| match state {
        Some(state) => (Change::Put(state.unlocked()), ()),
        None => (Change::Keep, ()),
    })
    .await?;
    // Not `policy.throttle.reset_async`: `unlock` takes no `PushPolicy`, and needs none. mfa-core's
    // `reset` deletes the record at `ThrottlePolicy::key_for(&key)` (an associated function) and
    // reads none of the policy's numbers, so the default policy's `reset` clears a throttle built
    // under any policy (tests/flow.rs checks it with a non-default one). Adding a policy
    // parameter would change `unlock`'s signature, which mfa-cli calls, for no change in what it
    // does.
    ThrottlePolicy::default().reset_async(store, &key).await
}
