//! `mfa`: every factor of the mfa workspace from a shell.
//!
//! Exit codes, for every subcommand: 0 accepted or done, 1 rejected (a verification said no),
//! 2 bad usage or malformed input (one line on stderr).
#![forbid(unsafe_code)]

mod account;
mod audit;
mod backup;
mod files;
mod mds;
mod oob;
mod otp;
mod outcome;
mod policy;
mod push;
mod stores;
mod webauthn;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::outcome::Failure;

/// Multi-factor authentication from the command line: authenticator-app codes, backup codes,
/// push approval with number matching, security keys and passkeys, conditional-access policies.
#[derive(Debug, Parser)]
#[command(name = "mfa", version, propagate_version = true)]
#[command(after_help = "Exit status: 0 accepted, 1 rejected, 2 bad usage or malformed input.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Authenticator-app codes: HOTP/TOTP (RFC 4226/6238), otpauth:// URIs, QR enrollment.
    #[command(subcommand)]
    Otp(otp::OtpCommand),
    /// Backup codes: issue a printable set, redeem one once, check what is left.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Push approval with number matching: enroll a phone, challenge, answer and verify (both
    /// the service's and the phone's half), with the fatigue defences; `mfa push demo` shows it all.
    #[command(subcommand)]
    Push(push::PushCommand),
    /// Security keys and passkeys: check WebAuthn registrations and assertions.
    #[command(subcommand)]
    Webauthn(webauthn::WebauthnCommand),
    /// SMS and voice codes: send one (printed as the phone would show it), verify it, enroll
    /// numbers; send limits and the failure throttle kept in the store.
    #[command(subcommand)]
    Oob(oob::OobCommand),
    /// Conditional-access policies: check native or Microsoft Entra files, evaluate a sign-in
    /// ("what if": allow, step up or block, with the trace).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// A user's security info: methods (list, rename, remove, default), the help desk's reset,
    /// temporary access passes, app passwords, sign out everywhere, remembered devices.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// The sign-in log of a database store: recent sign-ins of an account, retention purge.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Otp(command) => otp::run(command),
        Command::Backup(command) => backup::run(command),
        Command::Webauthn(command) => webauthn::run(command),
        Command::Push(command) => push::run(command),
        Command::Policy(command) => policy::run(command),
        Command::Oob(command) => oob::run(command),
        Command::Audit(command) => audit::run(command),
        Command::Account(command) => account::run(command),
    }
}

fn main() -> ExitCode {
    outcome::install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return outcome::clap_exit(&error),
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
