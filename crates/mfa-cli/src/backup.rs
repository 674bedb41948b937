//! `mfa backup`: issue a set of backup codes into a store, redeem one once, show what is left.
//!
//! `--store` is a JSON file (as below) or a database (`sqlite:PATH`, `postgres://…`; see
//! [`crate::stores`]), where the set is the record `("backup", ACCOUNT, "codes")` of mfa-backup,
//! written with one atomic compare-and-swap, and every redemption is appended to the sign-in log.
//!
//! A JSON file holds the hashed set (`mfa_backup::BackupCodeSet` as JSON: salted hashes only, never a
//! code). Every change is written to a temporary file in the same directory and renamed over the
//! old one, so a reader sees the old set or the new one, never half of either; an OS lock on a
//! file next to it (`FILE.lock`, left in place, released by the kernel even when `mfa` is killed)
//! makes concurrent `mfa backup` processes take turns, so a code redeemed twice at the same moment
//! is accepted once.
//!
//! Codes are shown before they take effect: `issue`, and `redeem` of a saved recovery code, write
//! the new codes to stdout (and check that the write succeeded) *before* the store is replaced,
//! under the lock. If stdout is closed or full, the command exits 2 and the store is untouched:
//! the old codes stay valid, rather than a new set that nobody ever saw.
//!
//! Guessing is throttled (NIST SP 800-63B-4 §3.2.2) through `mfa-core`'s [`ThrottlePolicy`] with
//! its default limits: five failed codes in a row cost nothing, each further one doubles the wait
//! before the next attempt (1 s, 2 s, 4 s … up to 15 minutes), and 100 lock the set until a new
//! one is issued. A refused attempt exits 1 with `throttled` and the wait, or `locked_out`, and
//! the code is not even checked: a right code is refused too until the wait is over. A success
//! clears the count. The count lives in the same store as the set, so a shell loop cannot guess
//! without limit: in a database, mfa-core's throttle record for the set; in a JSON file, a
//! `throttle` member beside the set's own members, read and written with the set under the
//! file's lock in one atomic replacement. (Failures that say nothing about what was typed, such
//! as a set of another account or a broken file, are not counted.) `--time T` runs the command
//! at a fixed time, so a script or a test can step past a wait without sleeping.

use core::fmt;
use std::fs;
use std::io;
use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use mfa_backup::{
    Argon2idParams, BackupCode, BackupCodeError, BackupCodeSet, CodeFormat, HashParams,
    IssuePolicy, Pbkdf2Params, RecoveryMode, render_sheet,
};
use mfa_core::{
    AttemptError, AuditEvent, AuditResult, Clock, ManualClock, MemoryStore, Method, Rejection,
    Store, StoreError, SystemClock, ThrottlePolicy, ThrottleState, Throttled, UnixTime,
};
use serde::{Deserialize, Serialize};

use crate::files::{StoreLock, write_atomically};
use crate::outcome::{Failure, print_line, print_lines_strict};
use crate::stores::{self, AuditContext, StoreSpec};

/// The account a set belongs to when `--account` is not given.
const DEFAULT_ACCOUNT: &str = "default";

/// Subcommands of `mfa backup`.
#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// Create a new set: print the codes (one per line), write the hashed set to FILE as JSON.
    ///
    /// An existing set FILE is replaced, which invalidates every code of the old set (a file that
    /// is not a set is left alone: exit 2). The codes are
    /// printed first: if stdout cannot take them (closed, full), FILE is left as it was (exit 2).
    Issue(IssueArgs),
    /// Redeem one code: prints the number of codes left (exit 0), or the reason it was rejected
    /// on stderr (exit 1). The code is spent in FILE atomically. A saved recovery code's
    /// replacement is printed before the code is spent: if stdout cannot take it, nothing changes
    /// (exit 2).
    ///
    /// Throttled, with the count kept in the store beside the set: after 5 failed codes in a row
    /// each attempt must wait (1 s, doubling up to 15 minutes), and 100 lock the set until a new
    /// one is issued. Meanwhile every attempt, even with the right code, exits 1 with
    /// `throttled` and the wait (or `locked_out`). A success clears the count.
    Redeem(RedeemArgs),
    /// Show the remaining count (and more) as JSON.
    Status(StatusArgs),
}

/// Code formats by their CLI names.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FormatArg {
    /// `xxxxx-xxxxx`, 50 bits.
    Default,
    /// `xxxx-xxxx-xxxx-xxxx`, 80 bits.
    Long,
    /// 8 digits, 26.5 bits.
    Digits8,
    /// 10 digits, 33.2 bits.
    Digits10,
}

impl From<FormatArg> for CodeFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Default => Self::Grouped10,
            FormatArg::Long => Self::Grouped16,
            FormatArg::Digits8 => Self::Digits8,
            FormatArg::Digits10 => Self::Digits10,
        }
    }
}

/// Password hashers by their CLI names.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum HasherArg {
    /// Argon2id, m = 19 MiB, t = 2, p = 1.
    Argon2id,
    /// PBKDF2-HMAC-SHA-256, 100 000 iterations.
    Pbkdf2,
}

/// Arguments of `mfa backup issue`.
#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// Where to write the hashed set: a JSON file, or `sqlite:PATH` / `postgres://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// How many codes (1 to 100).
    #[arg(long, default_value_t = 10, value_name = "N")]
    count: usize,
    /// The code format.
    #[arg(long, value_enum, default_value = "default")]
    format: FormatArg,
    /// The account the set belongs to (bound into every hash).
    #[arg(long, value_parser = crate::account::parse_account, default_value = DEFAULT_ACCOUNT)]
    account: String,
    /// The password hash for the stored set.
    #[arg(long, value_enum, default_value = "argon2id")]
    hasher: HasherArg,
    /// NIST "saved recovery code" mode: each redemption prints a replacement code.
    #[arg(long)]
    replace_after_use: bool,
    /// Print a printable sheet (issuer, account, date, codes) instead of bare codes.
    #[arg(long)]
    sheet: bool,
    /// The issuer named on the sheet.
    #[arg(long, default_value = "mfa")]
    issuer: String,
    /// For tests only: the cheapest hash parameters (still the real algorithm). Never in production.
    #[arg(long, hide = true)]
    danger_low_cost: bool,
    /// Act at this time (Unix seconds) instead of now: the set's issue date.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
}

/// Arguments of `mfa backup redeem`.
#[derive(Debug, Args)]
pub(crate) struct RedeemArgs {
    /// Where the hashed set is: a JSON file, or `sqlite:PATH` / `postgres://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Whose set (a database holds many; default `default`). With a JSON file, the set's own
    /// account unless given, and then it must match.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: Option<String>,
    /// The code as typed (case, spaces and hyphens do not matter).
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    code: String,
    /// Act at this time (Unix seconds) instead of now: the throttle's waits are judged by it.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
    #[command(flatten)]
    context: AuditContext,
}

/// Arguments of `mfa backup status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Where the hashed set is: a JSON file, or `sqlite:PATH` / `postgres://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Whose set (a database holds many; default `default`).
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: Option<String>,
}

/// Runs one `mfa backup` subcommand.
pub(crate) fn run(command: BackupCommand) -> Result<(), Failure> {
    match command {
        BackupCommand::Issue(args) => issue(&args),
        BackupCommand::Redeem(args) => redeem(&args),
        BackupCommand::Status(args) => status(&args),
    }
}

fn issue(args: &IssueArgs) -> Result<(), Failure> {
    let hasher = match (args.hasher, args.danger_low_cost) {
        (HasherArg::Argon2id, false) => HashParams::Argon2id(Argon2idParams::DEFAULT),
        (HasherArg::Pbkdf2, false) => HashParams::Pbkdf2Sha256(Pbkdf2Params::DEFAULT),
        (HasherArg::Argon2id, true) => {
            HashParams::Argon2id(Argon2idParams::new(8, 1, 1).map_err(usage)?)
        }
        (HasherArg::Pbkdf2, true) => HashParams::Pbkdf2Sha256(Pbkdf2Params::new(1).map_err(usage)?),
    };
    let policy = IssuePolicy {
        count: args.count,
        format: args.format.into(),
        hasher,
        mode: if args.replace_after_use {
            RecoveryMode::ReplaceAfterUse
        } else {
            RecoveryMode::SingleUse
        },
        ..IssuePolicy::default()
    };
    let now = at(args.time);
    let issued = policy
        .issue(&args.account, now, &mut rand::rng())
        .map_err(usage)?;
    let show = || {
        // Shown first: the new set may replace the old one only once the user has its codes.
        if args.sheet {
            let sheet = render_sheet(&args.issuer, &args.account, now, &issued.codes);
            print_lines_strict([sheet.trim_end()])
        } else {
            print_lines_strict(issued.codes.iter().map(BackupCode::expose_secret))
        }
    };
    match &args.store {
        StoreSpec::JsonFile(path) => {
            let json = encode(&SetFile {
                set: issued.set.clone(),
                throttle: None,
            })?;
            let lock = StoreLock::acquire(path)?;
            refuse_to_replace_other_files(lock.store())?;
            show()?;
            write_atomically(lock.store(), json.as_bytes())
        }
        database => {
            let store = stores::open(database)?;
            show()?;
            // A new set starts with no failures counted, as in a JSON file.
            let key = mfa_backup::record_key(&args.account);
            mfa_core::put(&*store, &key, &issued.set)
                .and_then(|()| ThrottlePolicy::default().reset(&*store, &key))
                .map_err(|error| store_failure(database, &error))
        }
    }
}

fn redeem(args: &RedeemArgs) -> Result<(), Failure> {
    let now = at(args.time);
    match &args.store {
        StoreSpec::JsonFile(path) => redeem_in_file(args, path, now),
        database => redeem_in_database(args, database, now),
    }
}

/// Redeems in a JSON file, under its lock from reading to writing: the set and its throttle
/// record are loaded into a store in memory, the throttled redemption runs there, and what it
/// changed (the spent code, the failure count) replaces the file in one atomic write.
fn redeem_in_file(args: &RedeemArgs, path: &Path, now: UnixTime) -> Result<(), Failure> {
    let lock = StoreLock::acquire(path)?;
    let file = read_set_file(lock.store())?;
    let account = args.account.as_deref().unwrap_or(file.set.account());
    let key = mfa_backup::record_key(account);
    let throttle_key = ThrottlePolicy::key_for(&key);
    let memory = MemoryStore::new();
    let loaded = mfa_core::put(&memory, &key, &file.set).and_then(|()| match &file.throttle {
        Some(state) => mfa_core::put(&memory, &throttle_key, state),
        None => Ok(()),
    });
    loaded.map_err(|error| Failure::Usage(format!("{}: {error}", path.display())))?;
    let outcome = redeem_throttled(&memory, account, &args.code, now);
    let kept = SetFile {
        set: mfa_core::load(&memory, &key)
            .ok()
            .flatten()
            .unwrap_or_else(|| file.set.clone()),
        throttle: mfa_core::load(&memory, &throttle_key).ok().flatten(),
    };
    if kept != file {
        write_atomically(lock.store(), encode(&kept)?.as_bytes())?;
    }
    drop(lock);
    match outcome {
        Ok(done) if !done.printed => print_line(&done.remaining.to_string()),
        Ok(_) => Ok(()),
        Err(refused) => Err(refused.failure),
    }
}

/// Redeems in a database: the throttled compare-and-swap of mfa-core on the set's record, so of
/// concurrent redemptions of one code exactly one succeeds, and the failure count is kept in the
/// throttle record beside it. Each outcome goes to the sign-in log.
fn redeem_in_database(args: &RedeemArgs, spec: &StoreSpec, now: UnixTime) -> Result<(), Failure> {
    let store = stores::open_with_clock(spec, ManualClock::new(now))?;
    let account = args.account.as_deref().unwrap_or(DEFAULT_ACCOUNT);
    let outcome = redeem_throttled(&*store, account, &args.code, now).and_then(|done| {
        if !done.printed {
            print_line(&done.remaining.to_string())
                .map_err(|failure| Refused::error(failure, "output_failed"))?;
        }
        Ok(done)
    });
    let event = match &outcome {
        Ok(done) => AuditEvent::new(now, account, AuditResult::Success)
            .with_method(Method::BackupCode)
            .with_credential_id(done.set_id.as_str()),
        Err(Refused { result, reason, .. }) => AuditEvent::new(now, account, *result)
            .with_method(Method::BackupCode)
            .with_reason(reason),
    };
    stores::record_audit(spec, &args.context.apply(event));
    outcome.map(|_| ()).map_err(|refused| refused.failure)
}

/// A redemption that went through.
struct Redemption {
    set_id: String,
    remaining: usize,
    /// Whether the remaining count (and a replacement code) was printed already.
    printed: bool,
}

/// A refused or failed redemption, with what the sign-in log says about it.
struct Refused {
    failure: Failure,
    result: AuditResult,
    reason: &'static str,
}

impl Refused {
    fn error(failure: Failure, reason: &'static str) -> Self {
        Self {
            failure,
            result: AuditResult::Error,
            reason,
        }
    }
}

/// Why the check inside the throttled commit said no.
#[derive(Debug)]
enum CheckError {
    /// The code did not redeem; counted by the throttle when the library says so.
    Code(BackupCodeError),
    /// A saved recovery code's replacement could not be printed: nothing is committed.
    Output(String),
    /// The set changed between reading and committing (another redemption won).
    Contention,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(error) => error.fmt(f),
            Self::Output(message) => f.write_str(message),
            Self::Contention => f.write_str(
                "the set changed while redeeming (another redemption committed first); \
                 nothing was spent, try again",
            ),
        }
    }
}

impl std::error::Error for CheckError {}

impl Rejection for CheckError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Code(error) => error.reason(),
            Self::Output(_) => "output_failed",
            Self::Contention => "contention",
        }
    }

    /// Only what the person typed counts (the library decides which codes); a failed output or
    /// a concurrent change says nothing about the code.
    fn counts_as_failure(&self) -> bool {
        match self {
            Self::Code(error) => error.counts_as_failure(),
            Self::Output(_) | Self::Contention => false,
        }
    }
}

/// One redemption of `code` for `account` on `store`, behind the default [`ThrottlePolicy`]: a
/// throttled attempt is refused before the code is checked; the attempt is counted, and a
/// success clears the count. A saved recovery code's replacement is printed (with the count
/// left) before the spent set is committed: if stdout cannot take it, nothing is spent.
fn redeem_throttled(
    store: &dyn Store,
    account: &str,
    code: &str,
    now: UnixTime,
) -> Result<Redemption, Refused> {
    let key = mfa_backup::record_key(account);
    let mut checks = 0_u32;
    let mut outcome = None;
    let verified =
        ThrottlePolicy::default().verify_and_commit(store, &key, now, |set: &BackupCodeSet| {
            checks = checks.saturating_add(1);
            if checks > 1 {
                // A write conflict: a replacement printed for the first try is not valid.
                return Err(CheckError::Contention);
            }
            let redeemed = set
                .redeem(account, code, now, &mut rand::rng())
                .map_err(CheckError::Code)?;
            let remaining = redeemed.remaining;
            let printed = match &redeemed.replacement {
                Some(replacement) => {
                    let count = remaining.to_string();
                    print_lines_strict([count.as_str(), replacement.expose_secret()]).map_err(
                        |failure| match failure {
                            Failure::Usage(message) | Failure::Rejected(message) => {
                                CheckError::Output(message)
                            }
                        },
                    )?;
                    true
                }
                None => false,
            };
            outcome = Some((remaining, printed));
            Ok(redeemed.verified)
        });
    match verified {
        Ok(verified) => {
            let (remaining, printed) = outcome.unwrap_or_default();
            Ok(Redemption {
                set_id: verified.credential().id().to_owned(),
                remaining,
                printed,
            })
        }
        Err(error) => Err(refusal(account, error)),
    }
}

/// How a refused redemption ends the command, and what the sign-in log says.
fn refusal(account: &str, error: AttemptError<CheckError>) -> Refused {
    let reason = error.reason();
    match error {
        AttemptError::Rejected(CheckError::Code(error)) => Refused {
            result: AuditResult::Failure,
            reason,
            failure: rejection(error),
        },
        AttemptError::Rejected(other) => Refused::error(Failure::Usage(other.to_string()), reason),
        AttemptError::NotEnrolled => Refused {
            failure: Failure::Rejected(format!("no backup codes are issued for {account}")),
            result: AuditResult::Failure,
            reason,
        },
        AttemptError::Throttled(throttled) => Refused {
            failure: Failure::Rejected(format!("{throttled} ({reason})")),
            result: match throttled {
                Throttled::LockedOut { .. } => AuditResult::LockedOut,
                _ => AuditResult::Throttled,
            },
            reason,
        },
        other => Refused::error(Failure::Usage(other.to_string()), reason),
    }
}

fn store_failure(spec: &StoreSpec, error: &StoreError) -> Failure {
    Failure::Usage(format!("{spec}: {error}"))
}

fn status(args: &StatusArgs) -> Result<(), Failure> {
    let set = match &args.store {
        StoreSpec::JsonFile(path) => read_set_file(path)?.set,
        database => {
            let account = args.account.as_deref().unwrap_or(DEFAULT_ACCOUNT);
            let store = stores::open(database)?;
            mfa_backup::load_set(&*store, &mfa_backup::record_key(account))
                .map_err(|error| store_failure(database, &error))?
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "no backup codes are issued for {account} in {database}"
                    ))
                })?
        }
    };
    let status = serde_json::json!({
        "remaining": set.remaining(),
        "total": set.total(),
        "running_low": set.is_running_low(),
        "format": set.format().name(),
        "account": set.account(),
        "set_id": set.id(),
        "issued_at": set.issued_at(),
    });
    print_line(&status.to_string())
}

/// A verification error: exit 1 with the reason for any code that does not redeem (wrong, used,
/// another account's, or not even code-shaped); exit 2 for a broken store file or configuration.
fn rejection(error: BackupCodeError) -> Failure {
    let message = format!("{error} ({})", error.reason());
    match error {
        BackupCodeError::Malformed
        | BackupCodeError::WrongCode
        | BackupCodeError::AlreadyUsed
        | BackupCodeError::CodeOfAnotherAccount
        | BackupCodeError::SetOfAnotherAccount => Failure::Rejected(message),
        _ => Failure::Usage(message),
    }
}

fn usage(error: BackupCodeError) -> Failure {
    Failure::Usage(error.to_string())
}

/// The time to act at: `--time`, or now.
fn at(time: Option<u64>) -> UnixTime {
    time.map_or_else(|| SystemClock.now(), UnixTime::from_secs)
}

/// A JSON store file: the hashed set (its members at the top level, as `mfa_backup` writes
/// them) and, after failed attempts, the throttle's count in a `throttle` member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SetFile {
    #[serde(flatten)]
    set: BackupCodeSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    throttle: Option<ThrottleState>,
}

fn encode(file: &SetFile) -> Result<String, Failure> {
    let mut json = serde_json::to_string_pretty(file)
        .map_err(|e| Failure::Usage(format!("cannot encode the set: {e}")))?;
    json.push('\n');
    Ok(json)
}

/// The largest set file read: a set holds at most 100 slots, a few KiB.
const MAX_SET_FILE: u64 = 1024 * 1024;

fn read_set_file(path: &Path) -> Result<SetFile, Failure> {
    let cannot = |e: io::Error| Failure::Usage(format!("cannot read {}: {e}", path.display()));
    let file = fs::File::open(path).map_err(cannot)?;
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(file, MAX_SET_FILE + 1), &mut text)
        .map_err(cannot)?;
    if u64::try_from(text.len()).map_or(true, |len| len > MAX_SET_FILE) {
        return Err(Failure::Usage(format!(
            "{} is larger than {MAX_SET_FILE} bytes: not a backup-code set",
            path.display()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{} is not a backup-code set: {e}", path.display())))
}

/// `issue` replaces a set file (that is how a set is regenerated), but never a file that is
/// something else (a records file, a typo'd path to another file, a damaged set): exit 2, and
/// the file is left for a person to look at.
fn refuse_to_replace_other_files(path: &Path) -> Result<(), Failure> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    read_set_file(path).map(|_| ()).map_err(|_| {
        Failure::Usage(format!(
            "{} exists and is not a backup-code set; not replacing it",
            path.display()
        ))
    })
}
