//! `mfa webauthn`: filled in by the webauthn factor's issue.

use clap::Subcommand;

use crate::outcome::Failure;

/// Subcommands of `mfa webauthn`.
#[derive(Debug, Subcommand)]
pub(crate) enum WebauthnCommand {
    /// Not available yet.
    Pending,
}

/// Runs one `mfa webauthn` subcommand.
pub(crate) fn run(command: WebauthnCommand) -> Result<(), Failure> {
    match command {
        WebauthnCommand::Pending => {
            Err(Failure::Usage("`mfa webauthn` is not available yet".into()))
        }
    }
}
