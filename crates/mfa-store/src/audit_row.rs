//! What the SQL audit sinks ([`SqliteAuditSink`](crate::SqliteAuditSink), and
//! `PostgresAuditSink` with the `postgres` feature) share: one row of `mfa_audit_events` as read,
//! and its checked conversion back into an [`AuditEvent`].

use mfa_core::{AuditEvent, AuditResult, Method, StoreError, StoredAuditEvent, UnixTime};

/// A row of `mfa_audit_events` as read (the columns after `seq`), names not yet checked.
pub(crate) struct AuditRow {
    pub(crate) at: i64,
    pub(crate) account: String,
    pub(crate) method: Option<String>,
    pub(crate) credential_id: Option<String>,
    pub(crate) result: String,
    pub(crate) reason: Option<String>,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) device: Option<String>,
    pub(crate) policy_decision_id: Option<String>,
}

impl AuditRow {
    /// The event, or [`StoreError::Corrupt`] for a method or result this build does not know, or
    /// a time before the epoch.
    pub(crate) fn into_event(self) -> Result<AuditEvent, StoreError> {
        let method = match self.method.as_deref() {
            None => None,
            Some(name) => Some(
                Method::ALL
                    .into_iter()
                    .find(|method| method.as_str() == name)
                    .ok_or_else(|| corrupt("an unknown method"))?,
            ),
        };
        let result =
            AuditResult::from_name(&self.result).ok_or_else(|| corrupt("an unknown result"))?;
        let at = u64::try_from(self.at).map_err(|_| corrupt("a time before the Unix epoch"))?;
        Ok(AuditEvent::from_stored(StoredAuditEvent {
            at: UnixTime::from_millis(at),
            account: self.account,
            method,
            credential_id: self.credential_id,
            result,
            reason: self.reason,
            ip: self.ip,
            user_agent: self.user_agent,
            country: self.country,
            device: self.device,
            policy_decision_id: self.policy_decision_id,
        }))
    }
}

/// A sequence number as stored, checked.
pub(crate) fn sequence_number(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| corrupt("a negative sequence number"))
}

/// An unusable row of `mfa_audit_events`.
pub(crate) fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: "mfa_audit_events".into(),
        reason: reason.into(),
    }
}
