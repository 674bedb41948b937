//! The sign-in log in SQLite: [`SqliteAuditSink`], an [`AuditSink`] in the same file as the
//! records (table `mfa_audit_events`, created by the store's migrations).
//!
//! Every field of an [`AuditEvent`] is a column of its own, so the log can also be read with
//! plain SQL. "Recent sign-ins of this account, newest first" is an index range scan on
//! `(account, at, seq)` with a keyset cursor (no `OFFSET`: page 100 costs what page 1 costs), and
//! the retention purge is a range delete on the `at` index.

use core::fmt;
use std::path::Path;
use std::sync::Arc;

use mfa_core::{
    AuditCursor, AuditEvent, AuditPage, AuditSink, Method, RecentQuery, StoreError, UnixTime,
};
use rusqlite::params;

use crate::audit_row::{AuditRow, sequence_number};

use crate::sqlite::{Database, DbError, SqliteOptions, SqliteStore, millis};

/// An [`AuditSink`] in an SQLite file; see the [module docs](self).
///
/// ```
/// use mfa_core::{AuditEvent, AuditResult, AuditSink, Method, RecentQuery, UnixTime};
/// use mfa_store::{SqliteAuditSink, SqliteStore};
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("mfa.sqlite3"))?;
/// let log = SqliteAuditSink::for_store(&store); // same file, same connections
/// let at = UnixTime::from_secs(1_700_000_000);
/// log.record(&AuditEvent::new(at, "alice", AuditResult::Success).with_method(Method::Totp))?;
/// let page = log.recent("alice", &RecentQuery::first(20))?;
/// assert_eq!(page.events.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteAuditSink {
    database: Arc<Database>,
}

impl SqliteAuditSink {
    /// The log in the same file as `store`, sharing its connections.
    #[must_use]
    pub fn for_store(store: &SqliteStore) -> Self {
        Self {
            database: Arc::clone(store.database()),
        }
    }

    /// Opens (creating and migrating if needed) the log in the SQLite file at `path`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// As [`open`](Self::open), with `options`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        Ok(Self::for_store(&SqliteStore::open_with(path, options)?))
    }
}

impl fmt::Debug for SqliteAuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteAuditSink").finish_non_exhaustive()
    }
}

impl AuditSink for SqliteAuditSink {
    fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.database.with_connection(|connection| {
            connection
                .prepare_cached(
                    "INSERT INTO mfa_audit_events (at, account, method, credential_id, result,
                         reason, ip, user_agent, country, device, policy_decision_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    millis(event.at()),
                    event.account(),
                    event.method().map(Method::as_str),
                    event.credential_id(),
                    event.result().as_str(),
                    event.reason(),
                    event.ip(),
                    event.user_agent(),
                    event.country(),
                    event.device(),
                    event.policy_decision_id(),
                ])?;
            Ok(())
        })
    }

    fn recent(&self, account: &str, query: &RecentQuery) -> Result<AuditPage, StoreError> {
        let limit = query.clamped_limit();
        // One more than asked: whether it exists says if there is a next page.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let rows: Vec<(i64, AuditRow)> = self.database.with_connection(|connection| {
            const COLUMNS: &str = "seq, at, account, method, credential_id, result, reason, ip,
                                   user_agent, country, device, policy_decision_id";
            let rows = match query.before {
                None => {
                    let mut statement = connection.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM mfa_audit_events WHERE account = ?1
                         ORDER BY at DESC, seq DESC LIMIT ?2"
                    ))?;
                    statement
                        .query_map(params![account, fetch], audit_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
                Some(cursor) => {
                    let seq = i64::try_from(cursor.seq).unwrap_or(i64::MAX);
                    let mut statement = connection.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM mfa_audit_events
                         WHERE account = ?1 AND (at < ?2 OR (at = ?2 AND seq < ?3))
                         ORDER BY at DESC, seq DESC LIMIT ?4"
                    ))?;
                    statement
                        .query_map(params![account, millis(cursor.at), seq, fetch], audit_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
            };
            Ok::<_, DbError>(rows)
        })?;
        let more = rows.len() > limit;
        let mut events = Vec::with_capacity(limit);
        let mut next = None;
        for (seq, row) in rows.into_iter().take(limit) {
            let event = row.into_event()?;
            next = Some(AuditCursor {
                at: event.at(),
                seq: sequence_number(seq)?,
            });
            events.push(event);
        }
        Ok(AuditPage {
            events,
            next: if more { next } else { None },
        })
    }

    fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError> {
        let deleted = self.database.with_connection(|connection| {
            Ok(connection
                .prepare_cached("DELETE FROM mfa_audit_events WHERE at < ?1")?
                .execute(params![millis(cutoff)])?)
        })?;
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }
}

/// Reads `seq` and the event's columns, in `recent`'s order.
fn audit_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, AuditRow)> {
    Ok((
        row.get(0)?,
        AuditRow {
            at: row.get(1)?,
            account: row.get(2)?,
            method: row.get(3)?,
            credential_id: row.get(4)?,
            result: row.get(5)?,
            reason: row.get(6)?,
            ip: row.get(7)?,
            user_agent: row.get(8)?,
            country: row.get(9)?,
            device: row.get(10)?,
            policy_decision_id: row.get(11)?,
        },
    ))
}
