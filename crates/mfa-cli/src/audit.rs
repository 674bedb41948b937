//! `mfa audit`: the sign-in log of a database store (`sqlite:PATH`, `postgres://…`).
//!
//! `recent` prints one account's events, newest first, a page at a time: a table for a person
//! (time in UTC, result, method, credential, reason, IP, country, device, user agent), or JSON
//! with `--json`. When older events remain, the last line says how to get the next page
//! (`--before CURSOR`). `purge` deletes events past their retention.

use clap::{Args, Subcommand};
use core::time::Duration;
use mfa_core::{AuditCursor, AuditEvent, AuditSink, Clock, RecentQuery, SystemClock, UnixTime};
use serde_json::json;

use crate::outcome::{Failure, print_line};
use crate::stores::{self, StoreSpec};

/// Subcommands of `mfa audit`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print an account's recent sign-ins, newest first.
    Recent(RecentArgs),
    /// Delete events older than the retention period; print how many went.
    Purge(PurgeArgs),
}

/// Arguments of `mfa audit recent`.
#[derive(Debug, Args)]
pub(crate) struct RecentArgs {
    /// The database: `sqlite:PATH` or `postgres://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Whose sign-ins.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: String,
    /// Events per page (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
    /// Continue after a previous page (the cursor its last line gave).
    #[arg(long, value_name = "CURSOR", value_parser = parse_cursor)]
    before: Option<AuditCursor>,
    /// Print `{"events": [...], "next": CURSOR|null}` instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `mfa audit purge`.
#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    /// The database: `sqlite:PATH` or `postgres://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Keep this many days of events; delete older ones.
    #[arg(long, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    older_than_days: u32,
}

/// Runs one `mfa audit` subcommand.
pub(crate) fn run(command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Recent(args) => recent(&args),
        AuditCommand::Purge(args) => purge(&args),
    }
}

fn parse_cursor(text: &str) -> Result<AuditCursor, String> {
    text.parse()
        .map_err(|_| "expected a cursor as printed by a previous page (MILLIS.SEQ)".to_owned())
}

fn sink(spec: &StoreSpec) -> Result<Box<dyn AuditSink>, Failure> {
    stores::open_audit(spec)?.ok_or_else(|| {
        Failure::Usage(format!(
            "{spec} keeps no sign-in log: use a database store (sqlite:PATH or postgres://…)"
        ))
    })
}

fn recent(args: &RecentArgs) -> Result<(), Failure> {
    let sink = sink(&args.store)?;
    let query = RecentQuery {
        limit: usize::from(args.limit),
        before: args.before,
    };
    let page = sink
        .recent(&args.account, &query)
        .map_err(|error| Failure::Usage(format!("{}: {error}", args.store)))?;
    if args.json {
        let value = json!({
            "events": page.events,
            "next": page.next.map(|cursor| cursor.to_string()),
        });
        return print_line(&value.to_string());
    }
    if page.events.is_empty() {
        return print_line(&format!("no sign-ins recorded for {}", args.account));
    }
    print_line(&row([
        "time (UTC)",
        "result",
        "method",
        "credential",
        "reason",
        "ip",
        "country",
        "device",
        "user agent",
    ]))?;
    for event in &page.events {
        print_line(&event_row(event))?;
    }
    if let Some(next) = page.next {
        print_line(&format!("more: --before {next}"))?;
    }
    Ok(())
}

fn purge(args: &PurgeArgs) -> Result<(), Failure> {
    let sink = sink(&args.store)?;
    let retention = Duration::from_secs(u64::from(args.older_than_days).saturating_mul(86_400));
    let now = SystemClock.now();
    let cutoff = UnixTime::from_duration(now.since_epoch().saturating_sub(retention));
    let purged = sink
        .purge_before(cutoff)
        .map_err(|error| Failure::Usage(format!("{}: {error}", args.store)))?;
    print_line(&purged.to_string())
}

/// One table row: fields separated by two spaces, a missing one shown as `-`. Control characters
/// in logged text (a hostile user agent) are replaced, so a row is always one line.
fn row<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    fields
        .into_iter()
        .map(|field| {
            if field.is_empty() {
                "-".to_owned()
            } else {
                field
                    .chars()
                    .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                    .collect()
            }
        })
        .collect::<Vec<_>>()
        .join("  ")
}

fn event_row(event: &AuditEvent) -> String {
    row([
        event.at().utc_date_time().as_str(),
        event.result().as_str(),
        event.method().map(|m| m.as_str()).unwrap_or_default(),
        event.credential_id().unwrap_or_default(),
        event.reason().unwrap_or_default(),
        event.ip().unwrap_or_default(),
        event.country().unwrap_or_default(),
        event.device().unwrap_or_default(),
        event.user_agent().unwrap_or_default(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_stay_on_one_line() {
        assert_eq!(
            row(["a", "", "b\nc\u{1b}[31m"]),
            "a  -  b\u{fffd}c\u{fffd}[31m"
        );
    }
}
