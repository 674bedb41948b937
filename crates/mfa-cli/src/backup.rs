//! `mfa backup`: issue a set of backup codes into a JSON file, redeem one once, show what is left.
//!
//! The file holds the hashed set (`mfa_backup::BackupCodeSet` as JSON: salted hashes only, never a
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
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use mfa_backup::{
    Argon2idParams, BackupCode, BackupCodeError, BackupCodeSet, CodeFormat, HashParams,
    IssuePolicy, Pbkdf2Params, RecoveryMode, render_sheet,
};
use mfa_core::{Clock, Rejection, SystemClock};

use crate::files::{StoreLock, write_atomically};
use crate::outcome::{Failure, print_line, print_lines_strict};

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
    /// The JSON file to write the hashed set to.
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
    /// How many codes (1 to 100).
    #[arg(long, default_value_t = 10, value_name = "N")]
    count: usize,
    /// The code format.
    #[arg(long, value_enum, default_value = "default")]
    format: FormatArg,
    /// The account the set belongs to (bound into every hash).
    #[arg(long, default_value = "default")]
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
    /// The JSON file holding the hashed set.
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
    /// The code as typed (case, spaces and hyphens do not matter).
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    code: String,
}

/// Arguments of `mfa backup status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The JSON file holding the hashed set.
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
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
    let json = encode(&issued.set)?;
    let lock = StoreLock::acquire(&args.store)?;
    // Shown first: the new set may replace the old one only once the user has its codes.
    if args.sheet {
        let sheet = render_sheet(&args.issuer, &args.account, now, &issued.codes);
        print_lines_strict([sheet.trim_end()])?;
    } else {
        print_lines_strict(issued.codes.iter().map(BackupCode::expose_secret))?;
    }
    write_atomically(lock.store(), json.as_bytes())
}

fn redeem(args: &RedeemArgs) -> Result<(), Failure> {
    let now = SystemClock.now();
    let lock = StoreLock::acquire(&args.store)?;
    let set = read_set(lock.store())?;
    let redeemed = set
        .redeem(set.account(), &args.code, now, &mut rand::rng())
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

fn status(args: &StatusArgs) -> Result<(), Failure> {
    let set = read_set(&args.store)?;
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
