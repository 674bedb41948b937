//! `mfa webauthn mds`: check a FIDO Metadata Service (MDS3) BLOB and look authenticators up in it.
//!
//! The BLOB is the JWS the service downloads (production: `https://mds3.fidoalliance.org/`); the
//! root is the certificate it trusts for the BLOB's `x5c` chain, PEM or DER (production: the
//! GlobalSign Root CA - R3). Nothing is fetched: CRLs are given with `--crl` when wanted.
//!
//! `verify` prints `{"verified": true, "no": N, "next_update": "YYYY-MM-DD", "entries": N,
//! "current": BOOL}` and exits 0, or prints `{"verified": false, "error": KIND, "message": …}`
//! and exits 1 when the BLOB is refused: its signature, certificate chain, a CRL, its algorithm,
//! an `x5u` header, a `no` lower than `--after`. `show` prints one entry as JSON (exit 0), or
//! `{"found": false, …}` (exit 1) when no entry matches, or the refusal as `verify` does (exit 1).
//!
//! Exit 2, one `mfa: …` line on stderr: input that cannot be read as what it should be — a file
//! that cannot be read or is over its size limit, a BLOB that is not a JWS of an MDS3 payload
//! at all (not three base64url parts, a header or payload that is not the JSON MDS3 describes),
//! a root or CRL file holding no certificate or CRL, a bad `--at` or identifier. The line
//! between 1 and 2 is the one `mfa webauthn` draws for responses: what parses and is refused
//! exits 1, what does not parse exits 2.
//!
//! `--at` takes Unix seconds or a date (`YYYY-MM-DD`, 00:00 UTC); the default is now.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use mfa_core::{Clock as _, SystemClock, UnixTime};
use mfa_webauthn::metadata::{
    Aaguid, BlobOptions, KeyIdentifier, MAX_BLOB_LEN, MdsDate, Metadata, MetadataEntry,
    MetadataError, certificates_from_pem, crls_from_pem,
};
use serde_json::json;

use crate::files::read_file_limited;
use crate::outcome::{Failure, print_line};

/// The largest root certificate or CRL file read.
const MAX_PKI_FILE: u64 = 1 << 20;

/// Subcommands of `mfa webauthn mds`.
#[derive(Debug, Subcommand)]
pub(crate) enum MdsCommand {
    /// Verify a metadata BLOB; print its `no`, `nextUpdate` and entry count.
    Verify(BlobArgs),
    /// Print the entry for an AAGUID (FIDO2) or an attestation key identifier (U2F) as JSON.
    Show(ShowArgs),
}

/// Where the BLOB and its trust anchor come from.
#[derive(Debug, Args)]
pub(crate) struct BlobArgs {
    /// The metadata BLOB (the JWS as downloaded).
    #[arg(long, value_name = "FILE")]
    blob: PathBuf,
    /// The root certificate the BLOB's chain must lead to (PEM or DER).
    #[arg(long, value_name = "PEM")]
    root: PathBuf,
    /// Judge certificates, CRLs and status reports at this time: Unix seconds or YYYY-MM-DD
    /// (default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<UnixTime>,
    /// A CRL (PEM or DER) for the BLOB's certificate chain; repeat for several.
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// The `no` of the BLOB accepted before: refuse a BLOB with a lower one.
    #[arg(long, value_name = "NO")]
    after: Option<u64>,
}

/// Arguments of `mfa webauthn mds show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    blob: BlobArgs,
    /// An AAGUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) or a U2F attestation certificate key
    /// identifier (40 hexadecimal digits).
    #[arg(value_name = "AAGUID")]
    identifier: String,
}

/// Runs one `mfa webauthn mds` subcommand.
pub(crate) fn run(command: MdsCommand) -> Result<(), Failure> {
    match command {
        MdsCommand::Verify(args) => verify(&args),
        MdsCommand::Show(args) => show(&args),
    }
}

/// Unix seconds or `YYYY-MM-DD`.
pub(crate) fn parse_time(text: &str) -> Result<UnixTime, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(UnixTime::from_secs(seconds));
    }
    text.parse::<MdsDate>()
        .map(|date| date.start())
        .map_err(|e| format!("{text:?} is neither Unix seconds nor a date YYYY-MM-DD: {e}"))
}

/// Reads and verifies a BLOB at `at` (or `args.at`, or now). A BLOB that does not verify is
/// `Err(Ok(error))` for the caller to report; unreadable input is `Err(Err(failure))`.
pub(crate) fn load(
    blob: &Path,
    root: &Path,
    crls: &[PathBuf],
    after: Option<u64>,
    at: UnixTime,
) -> Result<Result<Metadata, MetadataError>, Failure> {
    let max_blob = u64::try_from(MAX_BLOB_LEN).unwrap_or(u64::MAX);
    let blob = read_file_limited(blob, max_blob, "the metadata BLOB")?;
    let root_file = read_file_limited(root, MAX_PKI_FILE, "the root certificate")?;
    let roots = certificates_from_pem(&root_file)
        .map_err(|e| Failure::Usage(format!("{} is not a certificate: {e}", root.display())))?;
    let mut roots = roots.into_iter();
    let first = roots
        .next()
        .ok_or_else(|| Failure::Usage(format!("{} holds no certificate", root.display())))?;
    let mut options = roots.fold(BlobOptions::new(first, at), BlobOptions::with_root);
    let mut crl_ders = Vec::new();
    for path in crls {
        let file = read_file_limited(path, MAX_PKI_FILE, "the CRL")?;
        crl_ders.extend(
            crls_from_pem(&file)
                .map_err(|e| Failure::Usage(format!("{} is not a CRL: {e}", path.display())))?,
        );
    }
    if !crls.is_empty() && crl_ders.is_empty() {
        return Err(Failure::Usage("the --crl files hold no CRL".to_owned()));
    }
    if !crl_ders.is_empty() {
        options = options.with_crls(crl_ders);
    }
    if let Some(previous) = after {
        options = options.after(previous);
    }
    match Metadata::from_blob(&blob, &options) {
        Err(error @ (MetadataError::Malformed(_) | MetadataError::TooLarge { .. })) => Err(
            Failure::Usage(format!("--blob is not a metadata BLOB: {error}")),
        ),
        verified => Ok(verified),
    }
}

/// Prints a BLOB's refusal and returns the matching failure (exit 1).
fn refuse(error: &MetadataError) -> Failure {
    let line = json!({"verified": false, "error": error.kind(), "message": error.to_string()});
    match print_line(&line.to_string()) {
        Ok(()) => Failure::Rejected(error.to_string()),
        Err(failure) => failure,
    }
}

fn verify(args: &BlobArgs) -> Result<(), Failure> {
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    let metadata =
        load(&args.blob, &args.root, &args.crls, args.after, at)?.map_err(|e| refuse(&e))?;
    let line = json!({
        "verified": true,
        "no": metadata.no(),
        "next_update": metadata.next_update().to_string(),
        "entries": metadata.entries().len(),
        "current": metadata.is_current_at(at),
    });
    print_line(&line.to_string())
}

fn show(args: &ShowArgs) -> Result<(), Failure> {
    let text = args.identifier.trim();
    let key = if text.len() == 40 {
        Lookup::KeyIdentifier(
            text.parse::<KeyIdentifier>()
                .map_err(|e| Failure::Usage(format!("{text:?} is not a key identifier: {e}")))?,
        )
    } else {
        Lookup::Aaguid(
            text.parse::<Aaguid>()
                .map_err(|e| Failure::Usage(format!("{text:?} is not an AAGUID: {e}")))?,
        )
    };
    let at = args.blob.at.unwrap_or_else(|| SystemClock.now());
    let b = &args.blob;
    let metadata = load(&b.blob, &b.root, &b.crls, b.after, at)?.map_err(|e| refuse(&e))?;
    let found = match &key {
        Lookup::Aaguid(aaguid) => metadata.by_aaguid(aaguid),
        Lookup::KeyIdentifier(id) => metadata.by_key_identifier(id),
    };
    let Some(entry) = found else {
        let line = json!({"found": false, "identifier": key.to_string()});
        print_line(&line.to_string())?;
        return Err(Failure::Rejected(format!("no metadata entry for {key}")));
    };
    print_line(&entry_json(entry, at).to_string())
}

enum Lookup {
    Aaguid(Aaguid),
    KeyIdentifier(KeyIdentifier),
}

impl core::fmt::Display for Lookup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Aaguid(aaguid) => aaguid.fmt(f),
            Self::KeyIdentifier(id) => id.fmt(f),
        }
    }
}

/// An entry as `show` prints it: identity, description, certification, statuses.
fn entry_json(entry: &MetadataEntry, at: UnixTime) -> serde_json::Value {
    let statement = entry.metadata_statement.as_ref();
    let effective: Vec<&str> = entry
        .effective_reports(at)
        .map(|report| report.status.as_str())
        .collect();
    json!({
        "found": true,
        "aaguid": entry.aaguid.or_else(|| statement.and_then(|s| s.aaguid)),
        "attestation_certificate_key_identifiers": entry.attestation_certificate_key_identifiers,
        "description": entry.description(),
        "protocol_family": statement.map(|s| s.protocol_family.as_str()),
        "authenticator_version": statement.map(|s| s.authenticator_version),
        "attestation_types": statement.map(|s| s.attestation_types.as_slice()),
        "key_protection": statement.map(|s| s.key_protection.as_slice()),
        "certification_level": entry.certification_level(at),
        "effective_statuses": effective,
        "status_reports": entry.status_reports,
        "time_of_last_status_change": entry.time_of_last_status_change,
    })
}

/// Loads the BLOB for `register --mds` (at the ceremony's time); a BLOB that is refused or
/// unreadable is a usage error there (exit 2): the response was never judged.
pub(crate) fn load_for_registration(
    blob: &Path,
    root: &Path,
    at: UnixTime,
) -> Result<Arc<Metadata>, Failure> {
    load(blob, root, &[], None, at)?
        .map(Arc::new)
        .map_err(|e| Failure::Usage(format!("--mds {}: {e}", blob.display())))
}
