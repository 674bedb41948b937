//! The sign-in log: what happened at each step of a sign-in, for the person who reviews it.
//!
//! An [`AuditEvent`] says when, whose account, which method and credential, the result and its
//! stable reason, and where from (IP address, user agent, country, device, the policy decision
//! that asked for the step). It never holds a secret or what the user typed: the reason is a
//! `&'static str` (a factor's [`Rejection::reason`], never input), and there is no field for a
//! code. Free-text context fields are cut to [`MAX_FIELD_LEN`] bytes, so a hostile user agent
//! cannot bloat the log.
//!
//! An [`AuditSink`] (blocking) or [`AsyncAuditSink`] keeps events and answers the query behind a
//! "recent sign-ins" page — one account's events, newest first, a page at a time — and deletes
//! events past their retention. [`MemoryAuditSink`] is the in-memory one for tests; `mfa-store`
//! has SQL sinks.
//!
//! ```
//! use mfa_core::{
//!     AuditEvent, AuditResult, AuditSink, MemoryAuditSink, Method, RecentQuery, UnixTime,
//! };
//!
//! let sink = MemoryAuditSink::new();
//! let at = UnixTime::from_secs(1_700_000_000);
//! sink.record(&AuditEvent::new(at, "alice", AuditResult::Failure)
//!     .with_method(Method::Totp)
//!     .with_credential_id("phone")
//!     .with_reason("code_mismatch")
//!     .with_ip("203.0.113.7")
//!     .with_country("NZ"))?;
//! sink.record(&AuditEvent::new(at, "alice", AuditResult::Success).with_method(Method::Totp))?;
//!
//! let page = sink.recent("alice", &RecentQuery::first(10))?;
//! assert_eq!(page.events[0].result(), AuditResult::Success); // newest first
//! assert_eq!(page.events[1].country(), Some("NZ"));
//! assert!(page.next.is_none()); // nothing older
//! # Ok::<(), mfa_core::StoreError>(())
//! ```

use core::fmt;
use core::future::Future;
use core::str::FromStr;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::commit::AttemptError;
use crate::error::Rejection;
use crate::evidence::{Method, Verified};
use crate::store::StoreError;
use crate::throttle::Throttled;

/// The longest free-text field of an [`AuditEvent`], in bytes; longer values are cut at a
/// character boundary.
pub const MAX_FIELD_LEN: usize = 512;

/// The most events one [`RecentQuery`] returns.
pub const MAX_PAGE: usize = 1_000;

/// How a sign-in step ended.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    /// The factor was verified.
    Success,
    /// The factor's check said no (wrong code, replay, bad signature …).
    Failure,
    /// Refused before checking: too many recent failures, wait.
    Throttled,
    /// Refused before checking: the authenticator is locked.
    LockedOut,
    /// The user declined (a push denied).
    Denied,
    /// The user reported the attempt as fraud.
    FraudReported,
    /// The policy blocked the sign-in.
    Blocked,
    /// Nothing was decided: the store or another dependency failed.
    Error,
}

impl AuditResult {
    /// Every result, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Success,
        Self::Failure,
        Self::Throttled,
        Self::LockedOut,
        Self::Denied,
        Self::FraudReported,
        Self::Blocked,
        Self::Error,
    ];

    /// The stable `snake_case` name, as serialized and stored.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Throttled => "throttled",
            Self::LockedOut => "locked_out",
            Self::Denied => "denied",
            Self::FraudReported => "fraud_reported",
            Self::Blocked => "blocked",
            Self::Error => "error",
        }
    }

    /// The result named `name` (as [`as_str`](Self::as_str) spells it).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|result| result.as_str() == name)
    }
}

impl fmt::Display for AuditResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a sign-in, as the log keeps it. Built with [`AuditEvent::new`] and the setters;
/// see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    at: UnixTime,
    account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<Method>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
    result: AuditResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_decision_id: Option<String>,
}

/// Cuts `text` to at most [`MAX_FIELD_LEN`] bytes at a character boundary.
fn bounded(text: impl Into<String>) -> String {
    let mut text = text.into();
    if text.len() > MAX_FIELD_LEN {
        let mut end = MAX_FIELD_LEN;
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
    }
    text
}

impl AuditEvent {
    /// An event at `at` for `account` with `result`, and nothing else yet.
    #[must_use]
    pub fn new(at: UnixTime, account: impl Into<String>, result: AuditResult) -> Self {
        Self {
            at,
            account: bounded(account),
            method: None,
            credential_id: None,
            result,
            reason: None,
            ip: None,
            user_agent: None,
            country: None,
            device: None,
            policy_decision_id: None,
        }
    }

    /// The event for the outcome of a verification through the store helpers: success (with the
    /// method and credential from its evidence), or the error's result and stable reason.
    ///
    /// ```
    /// use mfa_core::{AttemptError, AuditEvent, AuditResult, Method, UnixTime, Verified};
    ///
    /// let outcome: Result<Verified<()>, AttemptError<core::convert::Infallible>> =
    ///     Err(AttemptError::NotEnrolled);
    /// let event = AuditEvent::for_attempt(UnixTime::EPOCH, "alice", Method::Totp, "phone", &outcome);
    /// assert_eq!(event.result(), AuditResult::Failure);
    /// assert_eq!(event.reason(), Some("not_enrolled"));
    /// ```
    #[must_use]
    pub fn for_attempt<T, E: Rejection>(
        at: UnixTime,
        account: impl Into<String>,
        method: Method,
        credential_id: impl Into<String>,
        outcome: &Result<Verified<T>, AttemptError<E>>,
    ) -> Self {
        match outcome {
            Ok(verified) => Self::new(at, account, AuditResult::Success)
                .with_method(verified.evidence().method)
                .with_credential_id(verified.evidence().credential.as_str()),
            Err(error) => {
                let result = match error {
                    AttemptError::Throttled(Throttled::TooSoon { .. }) => AuditResult::Throttled,
                    AttemptError::Throttled(Throttled::LockedOut { .. }) => AuditResult::LockedOut,
                    AttemptError::Store(_) => AuditResult::Error,
                    _ => AuditResult::Failure,
                };
                Self::new(at, account, result)
                    .with_method(method)
                    .with_credential_id(credential_id)
                    .with_reason(error.reason())
            }
        }
    }

    /// The method concerned.
    #[must_use]
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// The credential concerned (its id: never secret).
    #[must_use]
    pub fn with_credential_id(mut self, id: impl Into<String>) -> Self {
        self.credential_id = Some(bounded(id));
        self
    }

    /// The stable reason (`"code_mismatch"`, `"replayed"` …): a `&'static str`, so that what a
    /// user typed cannot end up here.
    #[must_use]
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(Cow::Borrowed(reason));
        self
    }

    /// The client's IP address.
    #[must_use]
    pub fn with_ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(bounded(ip));
        self
    }

    /// The client's user agent.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(bounded(user_agent));
        self
    }

    /// The country the IP address maps to (ISO 3166-1 alpha-2, as the service's lookup gives it).
    #[must_use]
    pub fn with_country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(bounded(country));
        self
    }

    /// The device, as the service names it ("Pixel 8", a device id).
    #[must_use]
    pub fn with_device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(bounded(device));
        self
    }

    /// The id of the policy decision that asked for this step.
    #[must_use]
    pub fn with_policy_decision_id(mut self, id: impl Into<String>) -> Self {
        self.policy_decision_id = Some(bounded(id));
        self
    }

    /// When it happened.
    #[must_use]
    pub fn at(&self) -> UnixTime {
        self.at
    }

    /// Whose account.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The method, if one was concerned.
    #[must_use]
    pub fn method(&self) -> Option<Method> {
        self.method
    }

    /// The credential id, if one was concerned.
    #[must_use]
    pub fn credential_id(&self) -> Option<&str> {
        self.credential_id.as_deref()
    }

    /// How it ended.
    #[must_use]
    pub fn result(&self) -> AuditResult {
        self.result
    }

    /// Why, for anything but a success.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The client's IP address.
    #[must_use]
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    /// The client's user agent.
    #[must_use]
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The country.
    #[must_use]
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The device.
    #[must_use]
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// The policy decision id.
    #[must_use]
    pub fn policy_decision_id(&self) -> Option<&str> {
        self.policy_decision_id.as_deref()
    }

    /// An event as a sink stored it, read back (the reason as stored, text fields cut to
    /// [`MAX_FIELD_LEN`] again). For sink implementations: services build events with
    /// [`new`](Self::new) and the `with_` setters.
    #[must_use]
    pub fn from_stored(stored: StoredAuditEvent) -> Self {
        Self {
            at: stored.at,
            account: bounded(stored.account),
            method: stored.method,
            credential_id: stored.credential_id.map(bounded),
            result: stored.result,
            reason: stored.reason.map(|reason| Cow::Owned(bounded(reason))),
            ip: stored.ip.map(bounded),
            user_agent: stored.user_agent.map(bounded),
            country: stored.country.map(bounded),
            device: stored.device.map(bounded),
            policy_decision_id: stored.policy_decision_id.map(bounded),
        }
    }
}

/// The fields of an [`AuditEvent`] as a sink reads them back from its storage; see
/// [`AuditEvent::from_stored`].
#[derive(Clone, Debug)]
#[allow(missing_docs)] // Each field is the AuditEvent getter of the same name.
pub struct StoredAuditEvent {
    pub at: UnixTime,
    pub account: String,
    pub method: Option<Method>,
    pub credential_id: Option<String>,
    pub result: AuditResult,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub country: Option<String>,
    pub device: Option<String>,
    pub policy_decision_id: Option<String>,
}

/// Where a page of [`AuditSink::recent`] ended: pass it back in [`RecentQuery::before`] for the
/// next (older) page. Its text form (`Display` / `FromStr`, `MILLIS.SEQ`) is fit for a URL or a
/// command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditCursor {
    /// When the last event shown happened.
    pub at: UnixTime,
    /// The sink's sequence number of that event (breaks ties between events of one instant).
    pub seq: u64,
}

impl fmt::Display for AuditCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.at.as_millis(), self.seq)
    }
}

impl FromStr for AuditCursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::Corrupt {
            key: "audit cursor".into(),
            reason: "expected MILLIS.SEQ (two unsigned integers)".into(),
        };
        let (at, seq) = text.split_once('.').ok_or_else(bad)?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(at) || !digits(seq) {
            return Err(bad());
        }
        Ok(Self {
            at: UnixTime::from_millis(at.parse().map_err(|_| bad())?),
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// Which page of an account's events [`AuditSink::recent`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecentQuery {
    /// At most this many events (1 to [`MAX_PAGE`]; other values are clamped).
    pub limit: usize,
    /// Only events older than this cursor (`None`: start from the newest).
    pub before: Option<AuditCursor>,
}

impl RecentQuery {
    /// The newest `limit` events.
    #[must_use]
    pub const fn first(limit: usize) -> Self {
        Self {
            limit,
            before: None,
        }
    }

    /// The `limit` events just older than `cursor`.
    #[must_use]
    pub const fn after_page(limit: usize, cursor: AuditCursor) -> Self {
        Self {
            limit,
            before: Some(cursor),
        }
    }

    /// The limit clamped to 1 ..= [`MAX_PAGE`].
    #[must_use]
    pub fn clamped_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// One page of an account's events, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<AuditEvent>,
    /// Where to continue for older events; `None` when there are none.
    pub next: Option<AuditCursor>,
}

/// A blocking sign-in log.
pub trait AuditSink: Send + Sync {
    /// Appends `event`.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails; the event is then not recorded.
    fn record(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// One page of `account`'s events, newest first (by time, then by order of recording).
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails or a stored event is unreadable.
    fn recent(&self, account: &str, query: &RecentQuery) -> Result<AuditPage, StoreError>;

    /// Deletes every event that happened before `cutoff` (the retention purge); returns how many.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError>;
}

/// The async twin of [`AuditSink`]: futures are `Send`.
pub trait AsyncAuditSink: Send + Sync {
    /// Appends `event`, as [`AuditSink::record`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn record(&self, event: &AuditEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One page of `account`'s events, newest first, as [`AuditSink::recent`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails or a stored event is unreadable.
    fn recent(
        &self,
        account: &str,
        query: &RecentQuery,
    ) -> impl Future<Output = Result<AuditPage, StoreError>> + Send;

    /// The retention purge, as [`AuditSink::purge_before`].
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    fn purge_before(
        &self,
        cutoff: UnixTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

macro_rules! forward_audit_sink {
    ($($ptr:ty),*) => {$(
        impl<S: AuditSink + ?Sized> AuditSink for $ptr {
            fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
                (**self).record(event)
            }
            fn recent(&self, account: &str, query: &RecentQuery) -> Result<AuditPage, StoreError> {
                (**self).recent(account, query)
            }
            fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError> {
                (**self).purge_before(cutoff)
            }
        }
    )*};
}
forward_audit_sink!(&S, Box<S>, Arc<S>);

/// A sign-in log in memory, for tests and examples. Events are lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<(u64, AuditEvent)>>,
}

impl MemoryAuditSink {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many events are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no event is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the event `(at, seq)` comes after `cursor` in newest-first order (is older).
pub(crate) fn is_older(at: UnixTime, seq: u64, cursor: Option<AuditCursor>) -> bool {
    cursor.is_none_or(|cursor| (at, seq) < (cursor.at, cursor.seq))
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = events.last().map_or(1, |(seq, _)| seq.saturating_add(1));
        events.push((seq, event.clone()));
        Ok(())
    }

    fn recent(&self, account: &str, query: &RecentQuery) -> Result<AuditPage, StoreError> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let mut matching: Vec<&(u64, AuditEvent)> = events
            .iter()
            .filter(|(seq, event)| {
                event.account == account && is_older(event.at, *seq, query.before)
            })
            .collect();
        matching.sort_by(|(a_seq, a), (b_seq, b)| (b.at, b_seq).cmp(&(a.at, a_seq)));
        let limit = query.clamped_limit();
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next = if more {
            matching.last().map(|(seq, event)| AuditCursor {
                at: event.at,
                seq: *seq,
            })
        } else {
            None
        };
        Ok(AuditPage {
            events: matching
                .into_iter()
                .map(|(_, event)| event.clone())
                .collect(),
            next,
        })
    }

    fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError> {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let before = events.len();
        events.retain(|(_, event)| event.at >= cutoff);
        Ok(u64::try_from(before.saturating_sub(events.len())).unwrap_or(u64::MAX))
    }
}

impl AsyncAuditSink for MemoryAuditSink {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        AuditSink::record(self, event)
    }

    async fn recent(&self, account: &str, query: &RecentQuery) -> Result<AuditPage, StoreError> {
        AuditSink::recent(self, account, query)
    }

    async fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError> {
        AuditSink::purge_before(self, cutoff)
    }
}

#[cfg(test)]
mod tests {
    use super::{
        AuditCursor, AuditEvent, AuditResult, AuditSink as _, MAX_FIELD_LEN, MemoryAuditSink,
        RecentQuery,
    };
    use crate::clock::UnixTime;

    #[test]
    fn pages_walk_every_event_newest_first_without_repeats() {
        let sink = MemoryAuditSink::new();
        // Three events share each instant, so the cursor must break ties by sequence.
        for i in 0..30_u64 {
            let at = UnixTime::from_secs(1_000 + i / 3);
            let event = AuditEvent::new(at, "alice", AuditResult::Success)
                .with_credential_id(format!("c{i}"));
            sink.record(&event).unwrap();
            sink.record(&AuditEvent::new(at, "bob", AuditResult::Failure))
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut query = RecentQuery::first(7);
        loop {
            let page = sink.recent("alice", &query).unwrap();
            assert!(page.events.len() <= 7);
            seen.extend(
                page.events
                    .iter()
                    .map(|event| event.credential_id().unwrap().to_owned()),
            );
            match page.next {
                Some(cursor) => query = RecentQuery::after_page(7, cursor),
                None => break,
            }
        }
        let expected: Vec<String> = (0..30).rev().map(|i| format!("c{i}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn memory_sink_passes_the_audit_conformance_checks() {
        let sink = MemoryAuditSink::new();
        crate::conformance::audit_sink_checks(&sink, "memory", UnixTime::from_secs(1_000));
    }

    #[test]
    fn purge_removes_only_older_events() {
        let sink = MemoryAuditSink::new();
        for secs in [10, 20, 30] {
            sink.record(&AuditEvent::new(
                UnixTime::from_secs(secs),
                "a",
                AuditResult::Success,
            ))
            .unwrap();
        }
        assert_eq!(sink.purge_before(UnixTime::from_secs(20)).unwrap(), 1);
        assert_eq!(sink.len(), 2);
    }

    #[test]
    fn free_text_is_bounded_and_the_reason_is_static() {
        let long = "é".repeat(MAX_FIELD_LEN);
        let event = AuditEvent::new(UnixTime::EPOCH, "a", AuditResult::Failure)
            .with_user_agent(long)
            .with_reason("code_mismatch");
        let agent = event.user_agent().unwrap();
        assert!(agent.len() <= MAX_FIELD_LEN && agent.chars().all(|c| c == 'é'));
        assert_eq!(event.reason(), Some("code_mismatch"));
        let json = serde_json::to_string(&event).unwrap();
        let back: AuditEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn cursors_round_trip_as_text_and_bad_text_is_an_error() {
        let cursor = AuditCursor {
            at: UnixTime::from_millis(1_700_000_000_123),
            seq: 42,
        };
        assert_eq!(cursor.to_string(), "1700000000123.42");
        assert_eq!("1700000000123.42".parse::<AuditCursor>().unwrap(), cursor);
        for bad in [
            "",
            "1",
            "1.",
            ".1",
            "-1.2",
            "1.2.3",
            "a.b",
            "1.+2",
            "99999999999999999999.1",
        ] {
            assert!(bad.parse::<AuditCursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn results_have_stable_names() {
        for result in AuditResult::ALL {
            assert_eq!(AuditResult::from_name(result.as_str()), Some(result));
            let json = serde_json::to_string(&result).unwrap();
            assert_eq!(json, format!("\"{}\"", result.as_str()));
        }
        assert_eq!(AuditResult::from_name("nope"), None);
    }
}
