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
//! Attempt throttling is the service's job (through `mfa_backup::redeem` and `mfa-core`'s
//! `ThrottlePolicy`); this command checks one code per invocation and keeps no failure count.

use std::fs;
use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use mfa_backup::{
    Argon2idParams, BackupCode, BackupCodeError, BackupCodeSet, CodeFormat, HashParams,
    IssuePolicy, Pbkdf2Params, RecoveryMode, Redeemed, render_sheet,
};
use mfa_core::{
    AuditEvent, AuditResult, Clock, Method, Rejection, Store, StoreError, SwapOutcome, SystemClock,
    UnixTime,
};

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
    /// An existing FILE is replaced, which invalidates every code of the old set. The codes are
    /// printed first: if stdout cannot take them (closed, full), FILE is left as it was (exit 2).
    Issue(IssueArgs),
    /// Redeem one code: prints the number of codes left (exit 0), or the reason it was rejected
    /// on stderr (exit 1). The code is spent in FILE atomically. A saved recovery code's
    /// replacement is printed before the code is spent: if stdout cannot take it, nothing changes
    /// (exit 2).
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
    #[arg(long, default_value = DEFAULT_ACCOUNT)]
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
}

/// Arguments of `mfa backup redeem`.
#[derive(Debug, Args)]
pub(crate) struct RedeemArgs {
    /// Where the hashed set is: a JSON file, or `sqlite:PATH` / `postgres://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Whose set (a database holds many; default `default`). With a JSON file, the set's own
    /// account unless given, and then it must match.
    #[arg(long, value_name = "A")]
    account: Option<String>,
    /// The code as typed (case, spaces and hyphens do not matter).
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    code: String,
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
    #[arg(long, value_name = "A")]
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
    let now = SystemClock.now();
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
            let json = encode(&issued.set)?;
            let lock = StoreLock::acquire(path)?;
            show()?;
            write_atomically(lock.store(), json.as_bytes())
        }
        database => {
            let store = stores::open(database)?;
            show()?;
            mfa_core::put(&*store, &mfa_backup::record_key(&args.account), &issued.set)
                .map_err(|error| store_failure(database, &error))
        }
    }
}

fn redeem(args: &RedeemArgs) -> Result<(), Failure> {
    match &args.store {
        StoreSpec::JsonFile(path) => redeem_in_file(args, path),
        database => redeem_in_database(args, database),
    }
}

fn redeem_in_file(args: &RedeemArgs, path: &Path) -> Result<(), Failure> {
    let now = SystemClock.now();
    let lock = StoreLock::acquire(path)?;
    let set = read_set(lock.store())?;
    let account = args.account.as_deref().unwrap_or(set.account());
    let redeemed = set
        .redeem(account, &args.code, now, &mut rand::rng())
        .map_err(rejection)?;
    let json = encode(redeemed.verified.credential())?;
    let remaining = redeemed.remaining.to_string();
    match &redeemed.replacement {
        // A saved recovery code: the replacement must reach the user before the redemption is
        // committed; if it cannot be shown, the code just typed stays valid.
        Some(replacement) => {
            print_lines_strict([remaining.as_str(), replacement.expose_secret()])?;
            write_atomically(lock.store(), json.as_bytes())
        }
        // Nothing secret to show: commit, then report what is left.
        None => {
            write_atomically(lock.store(), json.as_bytes())?;
            drop(lock);
            print_line(&remaining)
        }
    }
}

/// Redeems in a database: the set is read, the code checked (and a saved recovery code's
/// replacement printed) and the spent set committed by a compare-and-swap on the version read,
/// so of concurrent redemptions of one code exactly one succeeds. Each outcome is logged.
fn redeem_in_database(args: &RedeemArgs, spec: &StoreSpec) -> Result<(), Failure> {
    let store = stores::open(spec)?;
    let account = args.account.as_deref().unwrap_or(DEFAULT_ACCOUNT);
    let now = SystemClock.now();
    let outcome = redeem_once(&*store, spec, account, &args.code, now);
    let event = match &outcome {
        Ok(set_id) => AuditEvent::new(now, account, AuditResult::Success)
            .with_method(Method::BackupCode)
            .with_credential_id(set_id.as_str()),
        Err(Logged { result, reason, .. }) => AuditEvent::new(now, account, *result)
            .with_method(Method::BackupCode)
            .with_reason(reason),
    };
    stores::record_audit(spec, &args.context.apply(event));
    outcome.map(|_| ()).map_err(|logged| logged.failure)
}

/// A failed redemption, with what the sign-in log says about it.
struct Logged {
    failure: Failure,
    result: AuditResult,
    reason: &'static str,
}

impl Logged {
    fn error(failure: Failure, reason: &'static str) -> Self {
        Self {
            failure,
            result: AuditResult::Error,
            reason,
        }
    }
}

/// One redemption against the database; on success, the set's id (printed output done).
fn redeem_once(
    store: &dyn Store,
    spec: &StoreSpec,
    account: &str,
    code: &str,
    now: UnixTime,
) -> Result<String, Logged> {
    let key = mfa_backup::record_key(account);
    let stored = store
        .load(&key)
        .map_err(|error| Logged::error(store_failure(spec, &error), "store_unavailable"))?;
    let Some(stored) = stored else {
        return Err(Logged {
            failure: Failure::Rejected(format!("no backup codes are issued for {account}")),
            result: AuditResult::Failure,
            reason: "not_enrolled",
        });
    };
    let set: BackupCodeSet = mfa_core::decode(&key, &stored.value)
        .map_err(|error| Logged::error(store_failure(spec, &error), "store_unavailable"))?;
    let redeemed: Redeemed = set
        .redeem(account, code, now, &mut rand::rng())
        .map_err(|error| Logged {
            reason: error.reason(),
            result: AuditResult::Failure,
            failure: rejection(error),
        })?;
    let remaining = redeemed.remaining.to_string();
    // A saved recovery code's replacement reaches the user before the redemption is committed.
    if let Some(replacement) = &redeemed.replacement {
        print_lines_strict([remaining.as_str(), replacement.expose_secret()])
            .map_err(|failure| Logged::error(failure, "output_failed"))?;
    }
    let bytes = mfa_core::encode(&key, redeemed.verified.credential())
        .map_err(|error| Logged::error(store_failure(spec, &error), "store_unavailable"))?;
    let new = mfa_core::NewRecord::new(&bytes).with_expiry(stored.expires_at);
    match store.compare_and_swap(&key, Some(stored.version), Some(new)) {
        Ok(SwapOutcome::Committed(_)) => {}
        Ok(SwapOutcome::Conflict) => {
            // Another redemption committed first: this one did not happen (try again).
            return Err(Logged::error(
                Failure::Usage(
                    "the set changed while redeeming (another redemption committed first); \
                     nothing was spent, try again"
                        .into(),
                ),
                "contention",
            ));
        }
        Err(error) => {
            return Err(Logged::error(
                store_failure(spec, &error),
                "store_unavailable",
            ));
        }
    }
    if redeemed.replacement.is_none() {
        print_line(&remaining).map_err(|failure| Logged::error(failure, "output_failed"))?;
    }
    Ok(redeemed.verified.credential().id().to_owned())
}

fn store_failure(spec: &StoreSpec, error: &StoreError) -> Failure {
    Failure::Usage(format!("{spec}: {error}"))
}

fn status(args: &StatusArgs) -> Result<(), Failure> {
    let set = match &args.store {
        StoreSpec::JsonFile(path) => read_set(path)?,
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

fn encode(set: &BackupCodeSet) -> Result<String, Failure> {
    let mut json = serde_json::to_string_pretty(set)
        .map_err(|e| Failure::Usage(format!("cannot encode the set: {e}")))?;
    json.push('\n');
    Ok(json)
}

fn read_set(path: &Path) -> Result<BackupCodeSet, Failure> {
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{} is not a backup-code set: {e}", path.display())))
}
