//! `mfa otp`: authenticator-app codes (HOTP/TOTP, RFC 4226/6238) from a shell, like `oathtool`.
//!
//! `code` and `verify` are stateless: they take the secret on the command line (or `-` to read it
//! from stdin, which keeps it out of the process list) and keep no record of used steps or
//! failures. Replay protection and throttling need stored state: they are the service's job,
//! through `mfa_otp::Totp::check` and `mfa-core`'s store helpers.

use std::io::{self, BufRead, Read as _, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use mfa_core::{Clock, Rejection, SystemClock, UnixTime};
use mfa_otp::{
    Algorithm, CodeFormat, Digits, Hotp, HotpParams, KeyUri, OtpError, OtpKind, OtpSecret, Period,
    Totp, TotpCredential, TotpParams, Window,
};
use serde_json::json;

use crate::files::write_atomically;
use crate::outcome::{Failure, print_line};

/// The longest line `--secret -` reads from stdin, newline included: 4 KiB, the same as the
/// longest `otpauth://` URI (`mfa_otp::MAX_URI_LEN`). A base32 secret is at most 1024 characters
/// (mfa-otp refuses more), so this leaves room for spacing and nothing else.
const MAX_SECRET_LINE: u64 = 4096;

/// Subcommands of `mfa otp`.
#[derive(Debug, Subcommand)]
pub(crate) enum OtpCommand {
    /// Print the TOTP code at a time (default now), or with --counter the HOTP code.
    ///
    /// Nothing but the code is printed on stdout.
    Code(CodeArgs),
    /// Check a code: print the matched time step (TOTP) or counter (HOTP) and exit 0, or exit 1.
    ///
    /// Stateless: it cannot tell a replayed code from a fresh one.
    Verify(VerifyArgs),
    /// Enroll: generate a 160-bit secret, print it, its otpauth:// URI and a QR code to scan.
    New(NewArgs),
    /// otpauth:// key URIs.
    #[command(subcommand)]
    Uri(UriCommand),
}

/// Subcommands of `mfa otp uri`.
#[derive(Debug, Subcommand)]
pub(crate) enum UriCommand {
    /// Print the parameters of an otpauth:// URI as JSON (the secret in canonical base32).
    Parse {
        /// The URI, e.g. `otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example`.
        uri: String,
    },
}

/// Hash algorithms by their CLI names.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum AlgorithmArg {
    /// HMAC-SHA-1 (the default; every authenticator app supports it).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(algorithm: AlgorithmArg) -> Self {
        match algorithm {
            AlgorithmArg::Sha1 => Self::Sha1,
            AlgorithmArg::Sha256 => Self::Sha256,
            AlgorithmArg::Sha512 => Self::Sha512,
        }
    }
}

/// How codes are computed: shared by `code` and `verify`.
#[derive(Debug, Args)]
pub(crate) struct CodeOptions {
    /// The shared secret in base32: any case, `=` padding optional, spaces and hyphens ignored;
    /// `-` reads it from the first line of stdin (at most 4 KiB).
    #[arg(long, value_name = "B32")]
    secret: String,
    /// The HMAC hash.
    #[arg(long, value_enum, default_value = "sha1")]
    algorithm: AlgorithmArg,
    /// Code length, 6 to 10 digits.
    #[arg(long, value_name = "N", default_value_t = 6,
          value_parser = clap::value_parser!(u8).range(6..=10))]
    digits: u8,
    /// Steam Guard codes (5 characters) instead of digits.
    #[arg(long, conflicts_with = "digits")]
    steam: bool,
    /// TOTP time step in seconds, 1 to 600.
    #[arg(long, value_name = "S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(Period::MIN..=Period::MAX))]
    period: u64,
    /// TOTP epoch T0 (Unix seconds).
    #[arg(long, value_name = "UNIX", default_value_t = 0)]
    t0: u64,
    /// The time (Unix seconds) for TOTP; default now.
    #[arg(long, value_name = "UNIX", conflicts_with = "counter")]
    time: Option<u64>,
    /// Use HOTP with this counter instead of TOTP.
    #[arg(long, value_name = "N")]
    counter: Option<u64>,
}

/// Arguments of `mfa otp code`.
#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    #[command(flatten)]
    options: CodeOptions,
}

/// Arguments of `mfa otp verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    options: CodeOptions,
    /// The code to check (spaces are ignored).
    #[arg(long, value_name = "C")]
    code: String,
    /// TOTP: steps accepted either side of the current one (default 1, at most 100).
    /// HOTP: counters accepted after --counter (default 10, at most 1000).
    #[arg(long, value_name = "K")]
    window: Option<u32>,
}

/// Arguments of `mfa otp new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The service name shown in the authenticator app.
    #[arg(long, value_name = "I")]
    issuer: String,
    /// The account name (e.g. an e-mail address).
    #[arg(long, value_name = "A")]
    account: String,
    /// The HMAC hash (many apps support only SHA-1).
    #[arg(long, value_enum, default_value = "sha1")]
    algorithm: AlgorithmArg,
    /// Code length, 6 to 10 digits (many apps support only 6 and 8).
    #[arg(long, value_name = "N", default_value_t = 6,
          value_parser = clap::value_parser!(u8).range(6..=10))]
    digits: u8,
    /// Time step in seconds, 1 to 600 (many apps support only 30).
    #[arg(long, value_name = "S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(Period::MIN..=Period::MAX))]
    period: u64,
    /// Also write the QR code as SVG to this file, readable only by its owner (0600); an existing
    /// file is replaced.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

/// Runs one `mfa otp` subcommand.
pub(crate) fn run(command: OtpCommand) -> Result<(), Failure> {
    match command {
        OtpCommand::Code(args) => code(&args.options),
        OtpCommand::Verify(args) => verify(&args),
        OtpCommand::New(args) => new(&args),
        OtpCommand::Uri(UriCommand::Parse { uri }) => parse_uri(&uri),
    }
}

/// A library error as a CLI failure: a code that does not check out (wrong, replayed, or not
/// even code-shaped) is a rejection (exit 1); anything else (secret, parameters, URI) is
/// malformed input (exit 2).
fn failure(error: &OtpError) -> Failure {
    let message = format!("{error} ({})", error.reason());
    match error {
        OtpError::CodeMismatch | OtpError::Replayed | OtpError::MalformedCode => {
            Failure::Rejected(message)
        }
        _ => Failure::Usage(message),
    }
}

fn digits(n: u8) -> Result<Digits, Failure> {
    Digits::new(n).map_err(|e| failure(&e))
}

/// The `--period` value; clap already refuses what is out of range, and so does the library.
fn period(seconds: u64) -> Result<Period, Failure> {
    Period::new(seconds).map_err(|e| failure(&e))
}

/// Reads the first line of stdin, refusing a line longer than [`MAX_SECRET_LINE`] (exit 2)
/// rather than holding whatever is piped in. Reading stops at the first newline, so a secret typed
/// at a terminal needs no end-of-file.
fn read_secret_line() -> Result<String, Failure> {
    let mut line = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_SECRET_LINE.saturating_add(1))
        .read_until(b'\n', &mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the secret from stdin: {e}")))?;
    if u64::try_from(line.len()).map_or(true, |len| len > MAX_SECRET_LINE) {
        return Err(Failure::Usage(format!(
            "the secret on stdin is longer than {MAX_SECRET_LINE} bytes"
        )));
    }
    String::from_utf8(line)
        .map_err(|_| Failure::Usage("the secret on stdin is not UTF-8 text".into()))
}

impl CodeOptions {
    fn secret(&self) -> Result<OtpSecret, Failure> {
        let text = if self.secret == "-" {
            read_secret_line()?
        } else {
            self.secret.clone()
        };
        OtpSecret::from_base32(&text).map_err(|e| failure(&e))
    }

    fn format(&self) -> Result<CodeFormat, Failure> {
        if self.steam {
            Ok(CodeFormat::Steam)
        } else {
            Ok(CodeFormat::Decimal(digits(self.digits)?))
        }
    }

    fn totp(&self) -> Result<TotpParams, Failure> {
        Ok(TotpParams::default()
            .with_algorithm(self.algorithm.into())
            .with_format(self.format()?)
            .with_period(period(self.period)?)
            .with_t0(self.t0))
    }

    fn hotp(&self) -> Result<HotpParams, Failure> {
        Ok(HotpParams::default()
            .with_algorithm(self.algorithm.into())
            .with_format(self.format()?))
    }

    fn time(&self) -> UnixTime {
        self.time
            .map_or_else(|| SystemClock.now(), UnixTime::from_secs)
    }
}

fn code(options: &CodeOptions) -> Result<(), Failure> {
    let secret = options.secret()?;
    let code = match options.counter {
        Some(counter) => options.hotp()?.code(&secret, counter),
        None => options
            .totp()?
            .code_at(&secret, options.time())
            .map_err(|e| failure(&e))?,
    };
    print_line(code.as_str())
}

fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let options = &args.options;
    let secret = options.secret()?;
    let matched = match options.counter {
        Some(counter) => {
            let mut hotp = Hotp::new();
            if let Some(look_ahead) = args.window {
                hotp = hotp.with_look_ahead(look_ahead).map_err(|e| failure(&e))?;
            }
            hotp.matched_counter(&secret, &options.hotp()?, &args.code, counter)
        }
        None => {
            let mut totp = Totp::new();
            if let Some(steps) = args.window {
                totp = totp.with_window(Window::symmetric(steps).map_err(|e| failure(&e))?);
            }
            totp.matched_step(&secret, &options.totp()?, &args.code, options.time(), None)
        }
    }
    .map_err(|e| failure(&e))?;
    print_line(&matched.to_string())
}

fn new(args: &NewArgs) -> Result<(), Failure> {
    let params = TotpParams::default()
        .with_algorithm(args.algorithm.into())
        .with_digits(digits(args.digits)?)
        .with_period(period(args.period)?);
    if !matches!(args.algorithm, AlgorithmArg::Sha1)
        || !matches!(args.digits, 6 | 8)
        || args.period != 30
    {
        // A warning, not an error: the enrollment below is still made.
        let _ignored = writeln!(
            io::stderr(),
            "mfa: note: many authenticator apps support only SHA-1, 6 or 8 digits and 30 s steps"
        );
    }
    let credential = TotpCredential::generate("cli", &mut rand::rng(), params);
    let uri = credential
        .key_uri(Some(&args.issuer), &args.account)
        .map_err(|e| failure(&e))?;
    let qr = uri.qr_terminal().map_err(|e| failure(&e))?;
    if let Some(path) = &args.svg {
        write_svg(path, uri.qr_svg().map_err(|e| failure(&e))?.as_bytes())?;
    }
    print_line(&format!(
        "secret: {}",
        credential.secret().to_base32().as_str()
    ))?;
    print_line(&format!("uri: {}", uri.to_uri().as_str()))?;
    print_line("")?;
    print_line(qr.trim_end())
}

/// Writes the QR code, which carries the secret, as a file only its owner can read (0600 whatever
/// the umask): a new temporary file renamed over `path`, so an existing file is replaced whole and
/// its old permissions are not inherited.
pub(crate) fn write_svg(path: &Path, svg: &[u8]) -> Result<(), Failure> {
    if path.file_name().and_then(|name| name.to_str()).is_none() {
        return Err(Failure::Usage(format!(
            "--svg {} must name a file",
            path.display()
        )));
    }
    write_atomically(path, svg)
}

fn parse_uri(text: &str) -> Result<(), Failure> {
    let uri = KeyUri::parse(text).map_err(|e| failure(&e))?;
    let secret = uri.secret().to_base32();
    let mut value = json!({
        "type": match uri.kind() { OtpKind::Hotp { .. } => "hotp", _ => "totp" },
        "issuer": uri.issuer(),
        "account": uri.account(),
        "secret": secret.as_str(),
        "algorithm": uri.algorithm().uri_name(),
        "digits": uri.format().len(),
        "image": uri.image(),
    });
    if uri.format() == CodeFormat::Steam {
        value["encoder"] = json!("steam");
    }
    match uri.kind() {
        OtpKind::Totp { period } => value["period"] = json!(period.get()),
        OtpKind::Hotp { counter } => value["counter"] = json!(counter),
        _ => {}
    }
    let text = serde_json::to_string(&value)
        .map_err(|e| Failure::Usage(format!("cannot encode JSON: {e}")))?;
    print_line(&text)
}
