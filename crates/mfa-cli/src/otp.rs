//! `mfa otp`: filled in by the otp factor's issue.

use clap::Subcommand;

use crate::outcome::Failure;

/// Subcommands of `mfa otp`.
#[derive(Debug, Subcommand)]
pub(crate) enum OtpCommand {
    /// Not available yet.
    Pending,
}

/// Runs one `mfa otp` subcommand.
pub(crate) fn run(command: OtpCommand) -> Result<(), Failure> {
    match command {
        OtpCommand::Pending => Err(Failure::Usage("`mfa otp` is not available yet".into())),
    }
}
