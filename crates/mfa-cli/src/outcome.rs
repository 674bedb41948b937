//! Exit codes and error reporting shared by every subcommand.

use std::io::{self, Write};
use std::process::ExitCode;

/// Why a subcommand did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A verification said no: exit 1, the reason on stderr.
    Rejected(String),
    /// Bad usage or malformed input: exit 2, the reason on stderr.
    Usage(String),
}

impl Failure {
    /// Prints the reason (one line) and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        let (code, message) = match self {
            Self::Rejected(message) => (1, message),
            Self::Usage(message) => (2, message),
        };
        if !message.is_empty() {
            let first_line = message.lines().next().unwrap_or_default();
            let _ignored = writeln!(io::stderr(), "mfa: {first_line}");
        }
        ExitCode::from(code)
    }
}

/// Help and version go to stdout with exit 0; any other parse error is one line on stderr, exit 2.
pub(crate) fn clap_exit(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ignored = write!(io::stdout(), "{}", error.render());
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ignored = write!(io::stderr(), "{}", error.render());
            ExitCode::from(2)
        }
        _ => {
            let rendered = error.render().to_string();
            let line = rendered
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or("invalid arguments");
            let line = line.strip_prefix("error: ").unwrap_or(line);
            Failure::Usage(format!("{line} (see `mfa --help`)")).report()
        }
    }
}

/// Writes `text` to stdout followed by a newline. A closed pipe (`mfa … | head -1`) is not an
/// error worth a panic; other write failures are reported as usage errors.
pub(crate) fn print_line(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::Usage(format!("cannot write to stdout: {error}"))),
    }
}

/// Writes each of `lines` to stdout followed by a newline, and flushes: for output the user must
/// have before anything else happens, such as codes that are about to become the only valid ones.
///
/// Unlike [`print_line`], every write failure is an error here, a closed pipe (`EPIPE`) and a
/// full device included: the caller must not go on as if the user had seen the text.
pub(crate) fn print_lines_strict<'a>(
    lines: impl IntoIterator<Item = &'a str>,
) -> Result<(), Failure> {
    write_lines_strict(&mut io::stdout().lock(), lines)
}

/// [`print_lines_strict`] on any writer: the part that decides.
fn write_lines_strict<'a, W: Write>(
    out: &mut W,
    lines: impl IntoIterator<Item = &'a str>,
) -> Result<(), Failure> {
    let written = lines
        .into_iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    written.map_err(|error| {
        Failure::Usage(format!(
            "cannot write to stdout ({error}); nothing was changed"
        ))
    })
}

/// A panic is a bug in `mfa`; report it in one line instead of a backtrace.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let _ignored = writeln!(
            io::stderr(),
            "mfa: internal error ({info}); please report this"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that accepts `room` bytes and then fails with `kind`.
    struct Failing {
        room: usize,
        kind: io::ErrorKind,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(self.kind.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn item4_strict_printing_fails_on_a_closed_pipe_and_a_full_device() {
        for kind in [io::ErrorKind::BrokenPipe, io::ErrorKind::StorageFull] {
            for room in [0, 5] {
                let mut out = Failing { room, kind };
                let result = write_lines_strict(&mut out, ["abcde-fghij", "k7m2q-x9rtw"]);
                assert!(
                    matches!(result, Err(Failure::Usage(_))),
                    "{kind:?} after {room} bytes"
                );
            }
        }
        let mut out = Vec::new();
        assert!(write_lines_strict(&mut out, ["1", "k7m2q-x9rtw"]).is_ok());
        assert_eq!(out, b"1\nk7m2q-x9rtw\n");
    }
}
