//! An account's push state: the pending challenge, the fatigue counters, the fraud lock, and the
//! answers waiting for the sign-in page. One record per account, changed only by
//! compare-and-swap, so every transition below is atomic.
//!
//! The record never expires: it is created by mfa-core's `update` with `Change::Put` (a record
//! created that way has no expiry) and only ever rewritten by `update` with `Change::Put` or by
//! `verify_and_commit` (through the wrong-number throttle), which both keep the record's expiry:
//! none. Its counters, fraud lock and remembered ids must outlive any challenge; what in it is
//! short-lived (outcomes, superseded ids) is bounded and pruned here. Never write it with
//! `put`, `put_until` or `Change::PutUntil`.

use core::time::Duration;

use mfa_core::{Evidence, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::PushError;
use crate::events::FraudReport;
use crate::ids::ChallengeId;
use crate::number::NumberMatch;
use crate::policy::PushPolicy;

/// How many superseded challenge ids are remembered (to answer `superseded` rather than
/// `challenge_not_found`).
const SUPERSEDED_KEPT: usize = 8;
/// How many answers wait for the sign-in page at most.
const OUTCOMES_KEPT: usize = 4;
/// How long an answer waits for the sign-in page.
const OUTCOME_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The stored state of one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PushState {
    /// The pending challenge, if any: at most one.
    pub(crate) current: Option<ChallengeId>,
    /// When the pending challenge stops accepting answers. Kept here because the store drops the
    /// challenge's own record after its grace, and the sign-in page must still learn `expired`.
    /// (Absent in records written before it existed.)
    #[serde(default)]
    pub(crate) current_expires_at: Option<UnixTime>,
    /// Recently superseded challenges, oldest first.
    pub(crate) superseded: Vec<ChallengeId>,
    /// Pushes since the last approval.
    pub(crate) pushes: u32,
    pub(crate) last_push_at: Option<UnixTime>,
    /// Denials since the last approval.
    pub(crate) denials: u32,
    pub(crate) last_denial_at: Option<UnixTime>,
    /// Set by a fraud report, cleared only by `unlock`.
    pub(crate) fraud_locked_at: Option<UnixTime>,
    /// Answers not yet taken by the sign-in page, oldest first.
    pub(crate) outcomes: Vec<Outcome>,
}

/// A challenge's answer, waiting for the sign-in page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub(crate) challenge: ChallengeId,
    pub(crate) transaction: String,
    pub(crate) at: UnixTime,
    pub(crate) result: OutcomeResult,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OutcomeResult {
    Approved {
        evidence: Evidence,
        approval: crate::verify::PushApproval,
    },
    Rejected(OutcomeReason),
}

/// The final rejections a taken challenge can end in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OutcomeReason {
    WrongNumber,
    Expired,
    Superseded,
    Denied,
    Fraud(Box<FraudReport>),
}

impl OutcomeReason {
    /// The reason for a rejection that ends a taken challenge, if it is one.
    pub(crate) fn of(error: &PushError) -> Option<Self> {
        Some(match error {
            PushError::WrongNumber => Self::WrongNumber,
            PushError::Expired => Self::Expired,
            PushError::Superseded => Self::Superseded,
            PushError::Denied => Self::Denied,
            PushError::FraudReported(report) => Self::Fraud(report.clone()),
            _ => return None,
        })
    }

    pub(crate) fn into_error(self) -> PushError {
        match self {
            Self::WrongNumber => PushError::WrongNumber,
            Self::Expired => PushError::Expired,
            Self::Superseded => PushError::Superseded,
            Self::Denied => PushError::Denied,
            Self::Fraud(report) => PushError::FraudReported(report),
        }
    }
}

/// What a push refused by the fatigue defences tells the caller.
pub(crate) struct Refused {
    pub(crate) error: PushError,
    pub(crate) next_push_at: Option<UnixTime>,
}

impl PushState {
    /// Whether a push may be sent at `now`, by the fraud lock, the denial cap and the push cap.
    pub(crate) fn admit(&self, policy: &PushPolicy, now: UnixTime) -> Result<(), Refused> {
        if self.fraud_locked_at.is_some() {
            return Err(Refused {
                error: PushError::FraudLocked,
                next_push_at: None,
            });
        }
        if self.denials >= policy.max_denials
            && let Some(last) = self.last_denial_at
        {
            let until = last.saturating_add(policy.denial_lock);
            if now < until {
                return Err(Refused {
                    error: PushError::DenialCapReached {
                        retry_after: until.saturating_since(now),
                    },
                    next_push_at: Some(until),
                });
            }
        }
        if let Some(last) = self.last_push_at {
            let next = last.saturating_add(policy.push_delay_after(self.pushes));
            if now < next {
                return Err(Refused {
                    error: PushError::PushCapReached {
                        retry_after: next.saturating_since(now),
                    },
                    next_push_at: Some(next),
                });
            }
        }
        Ok(())
    }

    /// After a push of `challenge` at `now`, expiring at `expires_at`: it is the pending one, the
    /// previous one (returned) is superseded, and the push is counted.
    pub(crate) fn pushed(
        &self,
        challenge: &ChallengeId,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> (Self, Option<ChallengeId>) {
        let mut next = self.clone();
        let previous = next.current.replace(challenge.clone());
        next.current_expires_at = Some(expires_at);
        if let Some(previous) = &previous {
            next.superseded.push(previous.clone());
            let excess = next.superseded.len().saturating_sub(SUPERSEDED_KEPT);
            next.superseded.drain(..excess);
        }
        next.pushes = next.pushes.saturating_add(1);
        next.last_push_at = Some(now);
        next.prune_outcomes(now);
        (next, previous)
    }

    /// After `challenge` was taken and answered: it is no longer pending, the answer waits for
    /// the sign-in page, and a denial, a fraud report or an approval changes the counters.
    pub(crate) fn answered(&self, outcome: Outcome) -> Self {
        let mut next = self.clone();
        if next.current.as_ref() == Some(&outcome.challenge) {
            next.current = None;
            next.current_expires_at = None;
        }
        match &outcome.result {
            OutcomeResult::Approved { .. } => {
                next.pushes = 0;
                next.last_push_at = None;
                next.denials = 0;
                next.last_denial_at = None;
            }
            OutcomeResult::Rejected(OutcomeReason::Denied) => {
                next.denials = next.denials.saturating_add(1);
                next.last_denial_at = Some(outcome.at);
            }
            OutcomeResult::Rejected(OutcomeReason::Fraud(_)) => {
                next.fraud_locked_at = Some(outcome.at);
            }
            OutcomeResult::Rejected(_) => {}
        }
        next.prune_outcomes(outcome.at);
        next.outcomes.push(outcome);
        let excess = next.outcomes.len().saturating_sub(OUTCOMES_KEPT);
        next.outcomes.drain(..excess);
        next
    }

    fn prune_outcomes(&mut self, now: UnixTime) {
        self.outcomes
            .retain(|outcome| now < outcome.at.saturating_add(OUTCOME_LIFETIME));
    }

    /// Whether `challenge` is the pending one and has expired by `now` (whether or not the store
    /// still holds its record).
    pub(crate) fn pending_expired(&self, challenge: &ChallengeId, now: UnixTime) -> bool {
        self.current.as_ref() == Some(challenge)
            && self
                .current_expires_at
                .is_some_and(|expires_at| now >= expires_at)
    }

    /// Removes and returns the outcome of `challenge`.
    pub(crate) fn take_outcome(&self, challenge: &ChallengeId) -> Option<(Self, Outcome)> {
        let position = self
            .outcomes
            .iter()
            .position(|outcome| outcome.challenge == *challenge)?;
        let mut next = self.clone();
        let outcome = next.outcomes.remove(position);
        Some((next, outcome))
    }

    /// Clears the fraud lock and the fatigue counters.
    pub(crate) fn unlocked(&self) -> Self {
        Self {
            pushes: 0,
            last_push_at: None,
            denials: 0,
            last_denial_at: None,
            fraud_locked_at: None,
            ..self.clone()
        }
    }
}

/// The evidence a success in `mode` gives: push, device-bound, number-matched, and marked as
/// meeting NIST SP 800-63B-4 only for 6 or more typed digits.
pub(crate) fn evidence(
    mode: NumberMatch,
    now: UnixTime,
    device: &crate::ids::DeviceId,
) -> Evidence {
    let evidence = Evidence::new(mfa_core::Method::Push, now, device).device_bound(true);
    if mode.meets_rev4() {
        evidence.number_match_meets_rev4(true)
    } else {
        evidence.number_matched(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ChallengeId {
        ChallengeId::parse(&crate::b64::encode(&[n; 16])).unwrap()
    }

    const T0: UnixTime = UnixTime::from_secs(1_000_000);

    fn at(secs: u64) -> UnixTime {
        T0.saturating_add(Duration::from_secs(secs))
    }

    #[test]
    fn the_push_cap_grows_and_an_approval_resets_it() {
        let policy = PushPolicy::default();
        let mut state = PushState::default();
        let mut now = T0;
        for n in 0..3 {
            assert!(state.admit(&policy, now).is_ok(), "free push {n}");
            state = state.pushed(&id(n), now, now).0;
        }
        // The fourth waits 10 s, the fifth 20 s more.
        let refused = state.admit(&policy, at(9)).unwrap_err();
        assert_eq!(refused.error.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(refused.next_push_at, Some(at(10)));
        now = at(10);
        assert!(state.admit(&policy, now).is_ok());
        state = state.pushed(&id(3), now, now).0;
        assert!(state.admit(&policy, at(29)).is_err());
        assert!(state.admit(&policy, at(30)).is_ok());
        let approved = Outcome {
            challenge: id(3),
            transaction: "t".into(),
            at: at(30),
            result: OutcomeResult::Approved {
                evidence: evidence(
                    NumberMatch::default(),
                    at(30),
                    &crate::ids::DeviceId::parse("EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg")
                        .unwrap(),
                ),
                approval: crate::verify::PushApproval {
                    account: "a".into(),
                    device_id: crate::ids::DeviceId::parse(
                        "EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg",
                    )
                    .unwrap(),
                    device_name: "p".into(),
                    challenge: id(3),
                    mode: NumberMatch::default(),
                    approved_at: at(30),
                },
            },
        };
        state = state.answered(approved);
        assert_eq!((state.pushes, state.current.as_ref()), (0, None));
        assert!(state.admit(&policy, at(30)).is_ok());
    }

    #[test]
    fn denials_lock_for_an_hour_and_fraud_until_unlocked() {
        let policy = PushPolicy::default();
        let mut state = PushState::default();
        for n in 0..3 {
            state = state.pushed(&id(n), at(0), at(60)).0;
            state = state.answered(Outcome {
                challenge: id(n),
                transaction: "t".into(),
                at: at(u64::from(n)),
                result: OutcomeResult::Rejected(OutcomeReason::Denied),
            });
        }
        let refused = state.admit(&policy, at(100)).unwrap_err();
        assert!(matches!(refused.error, PushError::DenialCapReached { .. }));
        assert_eq!(refused.next_push_at, Some(at(2 + 3600)));
        // The push cap would allow it by then too.
        assert!(state.admit(&policy, at(2 + 3600)).is_ok());
        let fraud = FraudReport {
            account: "a".into(),
            device_id: crate::ids::DeviceId::parse("EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg")
                .unwrap(),
            device_name: "p".into(),
            challenge: id(9),
            context: crate::ChallengeContext::default(),
            started_at: at(0),
            reported_at: at(0),
        };
        state = state.answered(Outcome {
            challenge: id(9),
            transaction: "t".into(),
            at: at(5000),
            result: OutcomeResult::Rejected(OutcomeReason::Fraud(Box::new(fraud))),
        });
        assert!(matches!(
            state.admit(&policy, at(1_000_000)).unwrap_err().error,
            PushError::FraudLocked
        ));
        assert!(state.unlocked().admit(&policy, at(5000)).is_ok());
    }

    #[test]
    fn the_pending_challenge_expires_with_it() {
        let state = PushState::default().pushed(&id(1), at(0), at(60)).0;
        assert!(!state.pending_expired(&id(1), at(59)));
        assert!(state.pending_expired(&id(1), at(60)));
        assert!(
            !state.pending_expired(&id(2), at(60)),
            "not the pending one"
        );
        let answered = state.answered(Outcome {
            challenge: id(1),
            transaction: "t".into(),
            at: at(10),
            result: OutcomeResult::Rejected(OutcomeReason::Denied),
        });
        assert_eq!(
            (answered.current, answered.current_expires_at),
            (None, None)
        );
    }

    /// A state record written before `current_expires_at` existed still reads (as unknown).
    #[test]
    fn an_earlier_state_record_still_decodes() {
        #[derive(Serialize)]
        struct Earlier {
            current: Option<ChallengeId>,
            superseded: Vec<ChallengeId>,
            pushes: u32,
            last_push_at: Option<UnixTime>,
            denials: u32,
            last_denial_at: Option<UnixTime>,
            fraud_locked_at: Option<UnixTime>,
            outcomes: Vec<Outcome>,
        }
        let earlier = Earlier {
            current: Some(id(1)),
            superseded: vec![id(0)],
            pushes: 2,
            last_push_at: Some(at(5)),
            denials: 1,
            last_denial_at: Some(at(3)),
            fraud_locked_at: None,
            outcomes: Vec::new(),
        };
        let key = crate::state_key("a");
        let bytes = mfa_core::encode(&key, &earlier).unwrap();
        let state: PushState = mfa_core::decode(&key, &bytes).unwrap();
        assert_eq!(
            (
                state.current.as_ref(),
                state.current_expires_at,
                state.pushes
            ),
            (Some(&id(1)), None, 2)
        );
        assert!(!state.pending_expired(&id(1), at(1_000_000)));
    }

    #[test]
    fn lists_stay_bounded() {
        let mut state = PushState::default();
        for n in 0..20 {
            state = state.pushed(&id(n), T0, T0).0;
            state = state.answered(Outcome {
                challenge: id(n),
                transaction: "t".into(),
                at: T0,
                result: OutcomeResult::Rejected(OutcomeReason::Expired),
            });
        }
        assert_eq!(state.outcomes.len(), OUTCOMES_KEPT);
        assert_eq!(state.outcomes[0].challenge, id(16));
        let (mut state, previous) = state.pushed(&id(30), T0, T0);
        assert_eq!(previous, None, "answered challenges are not pending");
        for n in 31..45 {
            let (next, previous) = state.pushed(&id(n), T0, T0);
            assert_eq!(previous, Some(id(n - 1)));
            state = next;
        }
        assert_eq!(state.superseded.len(), SUPERSEDED_KEPT);
        assert_eq!(state.superseded.last(), Some(&id(43)));
        // Outcomes nobody took are dropped after ten minutes.
        let state = state.pushed(&id(50), at(600), at(660)).0;
        assert!(state.outcomes.is_empty());
    }
}
