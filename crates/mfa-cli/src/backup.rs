//! `mfa backup`: filled in by the backup factor's issue.

use clap::Subcommand;

use crate::outcome::Failure;

/// Subcommands of `mfa backup`.
#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// Not available yet.
    Pending,
}

/// Runs one `mfa backup` subcommand.
pub(crate) fn run(command: BackupCommand) -> Result<(), Failure> {
    match command {
        BackupCommand::Pending => Err(Failure::Usage("`mfa backup` is not available yet".into())),
    }
}
