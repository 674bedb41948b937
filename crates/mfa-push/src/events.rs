//! What the push factor tells the service, to alert on or audit: [`PushEvent`]s through a small
//! [`PushEventSink`], and the [`FraudReport`] a "report fraud" answer carries.

use std::sync::{Mutex, PoisonError};

use mfa_core::UnixTime;
use serde::{Deserialize, Serialize};

use crate::context::ChallengeContext;
use crate::ids::{ChallengeId, DeviceId};

/// A user's "this was not me" on the phone: what the service's security team needs to act on it.
/// No secret inside (not the number, not the transaction).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FraudReport {
    /// The account whose sign-in was reported.
    pub account: String,
    /// The device that reported it.
    pub device_id: DeviceId,
    /// The device's name.
    pub device_name: String,
    /// The challenge reported.
    pub challenge: ChallengeId,
    /// The sign-in's context as the phone showed it (application, IP address, location,
    /// browser).
    pub context: ChallengeContext,
    /// When the challenge was started (the sign-in attempt).
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub started_at: UnixTime,
    /// When the report arrived.
    /// JSON: Unix time in **milliseconds** (mfa-core's [`UnixTime`](mfa_core::UnixTime), as
    /// everywhere on the server side).
    pub reported_at: UnixTime,
}

/// Something a service may want to alert on or audit. No secret inside. JSON: tagged by
/// `"event"` (`"fraud_reported"`, …), times in Unix **milliseconds**.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PushEvent {
    /// The user reported a sign-in as fraud; push is locked for the account until
    /// [`unlock`](crate::unlock). Alert on this one.
    FraudReported(FraudReport),
    /// A denial brought the account to the denial cap (or, after a lock ran out, back to it): no
    /// push until `locked_until`. Often a fatigue attack being cut off.
    DenialCapReached {
        /// The account.
        account: String,
        /// Denials since the last approval.
        denials: u32,
        /// When pushes may start again (another denial after that locks again). JSON: Unix
        /// time in **milliseconds**.
        locked_until: UnixTime,
    },
    /// A push was refused by the push cap (too many without an approval).
    PushCapReached {
        /// The account.
        account: String,
        /// Pushes since the last approval.
        pushes: u32,
        /// When the next push is allowed. JSON: Unix time in **milliseconds**.
        next_push_at: UnixTime,
    },
    /// A new challenge replaced a pending one (at most one is pending per account).
    Superseded {
        /// The account.
        account: String,
        /// The replaced challenge.
        challenge: ChallengeId,
        /// The new challenge.
        by: ChallengeId,
    },
    /// The user denied a sign-in on the phone.
    Denied {
        /// The account.
        account: String,
        /// The device that denied it.
        device_id: DeviceId,
        /// The challenge denied.
        challenge: ChallengeId,
    },
}

/// Where [`PushEvent`]s go: a log, an alerting pipeline, a queue. One method; closures
/// `Fn(PushEvent)` are sinks, [`IgnoreEvents`] drops them, [`EventLog`] keeps them.
///
/// Called while a store helper runs, after its state is committed: keep it quick (hand the
/// event to a channel rather than send mail from it).
pub trait PushEventSink: Send + Sync {
    /// Takes one event.
    fn record(&self, event: PushEvent);
}

impl<F: Fn(PushEvent) + Send + Sync> PushEventSink for F {
    fn record(&self, event: PushEvent) {
        self(event);
    }
}

/// A sink that drops every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoreEvents;

impl PushEventSink for IgnoreEvents {
    fn record(&self, _event: PushEvent) {}
}

/// A sink that keeps events in memory, for tests, the CLI and small services.
#[derive(Debug, Default)]
pub struct EventLog(Mutex<Vec<PushEvent>>);

impl EventLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the events recorded so far, oldest first.
    #[must_use]
    pub fn take(&self) -> Vec<PushEvent> {
        core::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl PushEventSink for EventLog {
    fn record(&self, event: PushEvent) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }
}
