//! `mfa webauthn`: check WebAuthn registrations and assertions (W3C WebAuthn Level 3 §7.1, §7.2).
//!
//! Both subcommands read the browser's JSON (`PublicKeyCredential.toJSON()`) on stdin. Success
//! prints JSON and exits 0; a refusal prints `{"verified": false, "error": KIND, "message": …}`
//! on stdout and exits 1; bad flags, an unreadable credential file or input that is not a
//! response exit 2 with one `mfa: …` line on stderr.
//!
//! Where the line between 1 and 2 runs for the input: exit 2 when stdin is not a WebAuthn
//! response JSON of the ceremony at all (not JSON, larger than 64 KiB, a required member such as
//! `clientDataJSON` or `signature` missing, a member that is not base64url or is too long, `id`
//! and `rawId` differing); exit 1 (`malformed` or a more specific kind) when it is one and its
//! content is refused, even when that content is structurally broken (client data that is not
//! JSON, an attestation object or authenticator data that does not parse).
//!
//! `register` prints the credential record to store, the JSON `--credential` reads, with two
//! more members beside it that the credential reader ignores: `attestation` (`format`, `type`
//! and `certificates`, the `x5c` chain as base64url DER, leaf first, for the caller's trust
//! decision) and `discoverable` (`credProps.rk` as the client reported it, or `null`).
//!
//! `authenticate` prints `{"verified": true, …, "credential": …}`, the updated credential inside.
//! With `--update` it also writes that credential over the `--credential` file (atomically, mode
//! 0600), holding a lock on the file from reading it to writing it: of several runs with one
//! assertion, the first moves the signature counter on and the others are refused
//! (`counter_not_increased`). An authenticator that does not count (counter 0, like synced
//! passkeys) gives no such protection: a challenge used once is what stops a replay there.
//!
//! `register --user-handle B64URL` records the `user.id` of the creation options as the
//! credential's owner; without it the credential has no owner (a note on stderr says so), and
//! username-less sign-in, which finds the user by that handle, refuses it.
//! `authenticate --user-handle B64URL` names the user identified beforehand: a credential that
//! another user owns is refused (exit 1).
//!
//! `--alg NAME|ID` (repeatable; `es256`, `eddsa`, `es384`, `es512`, `ps256`, `rs256` or a COSE
//! number such as `-7`) limits the algorithms accepted, default all six: at registration the
//! new key must use one of them, at authentication the stored credential must; otherwise the
//! ceremony is refused with `unsupported_algorithm` (exit 1). An unknown name exits 2.
//!
//! `register --store STORE --account A` also stores the credential in a store (a JSON records
//! file, `sqlite:PATH`, `postgres://…`) as mfa-webauthn's record `("webauthn", A, ID)`; a
//! credential id registered already (to anyone) is refused (exit 1).
//! `authenticate --store STORE --account A` reads that record instead of `--credential FILE` and
//! commits the updated credential with one atomic compare-and-swap (no `--update` needed); on a
//! database store every outcome is appended to the sign-in log.
//!
//! Without `--mds`, attestation certificate chains are not judged (no trust roots are given), so
//! their validity periods are not enforced either; the format's signatures and rules are.
//! `register --mds BLOB --mds-root PEM` verifies a FIDO metadata BLOB at the ceremony's time
//! (a BLOB that does not verify, or unreadable files, exit 2) and applies
//! `mfa_webauthn::metadata::trust::MetadataTrust` to the attestation: strict by default (an
//! authenticator the BLOB does not list is refused, exit 1 `attestation_invalid`),
//! `--mds-permissive` lets unlisted ones through. The printed credential then carries
//! `"authenticator": {"name": …}` (the statement's description) and `"trust"` (the matched entry,
//! `hardware_backed`, and the reason), and `hardware_backed: true` when the model keeps keys in
//! hardware and the credential is not backup-eligible. `mfa webauthn mds verify|show` check a
//! BLOB alone (see `mds.rs`).

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mfa_core::{AttemptError, AuditEvent, Clock as _, Method, Rejection as _, SystemClock};
use mfa_webauthn::attestation::{AttestationType, TrustDecision};
use mfa_webauthn::metadata::trust::MetadataTrust;
use mfa_webauthn::response::MAX_USER_HANDLE_LEN;
use mfa_webauthn::{
    AttestationFormat, AttestationOptions, AuthenticationRequest, AuthenticationResponse,
    Base64UrlBytes, Challenge, CoseAlgorithm, CredentialDescriptor, CrossOrigin, DefaultVerifier,
    RegisteredCredential, RegistrationRequest, RegistrationResponse, RelyingParty, SignCountPolicy,
    StoredCredential, UserEntity, UserVerification, WebAuthnError, base64url,
};
use serde::Serialize;
use serde_json::json;

use crate::files::{StoreLock, write_atomically};
use crate::outcome::{Failure, print_line};
use crate::stores::{self, AuditContext, StoreSpec};

/// The largest input read from stdin or a credential file (the library refuses more anyway).
const MAX_INPUT: u64 = 64 * 1024;

/// Subcommands of `mfa webauthn`.
#[derive(Debug, Subcommand)]
pub(crate) enum WebauthnCommand {
    /// Verify a registration (RegistrationResponseJSON on stdin); print the credential to store.
    Register(RegisterArgs),
    /// Verify an assertion (AuthenticationResponseJSON on stdin) against a stored credential.
    Authenticate(AuthenticateArgs),
    /// FIDO Metadata Service (MDS3) BLOBs: verify one, look an authenticator up.
    #[command(subcommand)]
    Mds(crate::mds::MdsCommand),
}

/// What both ceremonies are checked against.
#[derive(Debug, Args)]
pub(crate) struct Ceremony {
    /// RP ID the credential must be scoped to (repeat to allow several).
    #[arg(long = "rp-id", value_name = "ID", required = true)]
    rp_ids: Vec<String>,
    /// Allowed origin (repeat for several; `android:apk-key-hash:…` origins work too).
    #[arg(long = "origin", value_name = "O", required = true)]
    origins: Vec<String>,
    /// The challenge the server issued, base64url.
    #[arg(long, value_name = "B64URL", allow_hyphen_values = true)]
    challenge: String,
    /// Require the UV (user verified) flag.
    #[arg(long)]
    require_uv: bool,
    /// Accept `crossOrigin: true` / a `topOrigin` (any top origin unless --top-origin is given).
    #[arg(long)]
    allow_cross_origin: bool,
    /// With --allow-cross-origin, the only top-level origins accepted (repeatable).
    #[arg(long = "top-origin", value_name = "O", requires = "allow_cross_origin")]
    top_origins: Vec<String>,
    /// Accept only this signature algorithm (repeat for several, in preference order): es256,
    /// eddsa, es384, es512, ps256, rs256, or its COSE number (-7). Default: all of them.
    #[arg(
        long = "alg",
        value_name = "NAME|ID",
        value_parser = parse_algorithm,
        allow_hyphen_values = true
    )]
    algorithms: Vec<CoseAlgorithm>,
}

/// Arguments of `mfa webauthn register`.
#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    #[command(flatten)]
    ceremony: Ceremony,
    /// The user handle (`user.id` of the creation options, base64url of 1 to 64 bytes),
    /// recorded as the credential's owner.
    #[arg(long, value_name = "B64URL", allow_hyphen_values = true)]
    user_handle: Option<String>,
    /// Also store the credential here (a JSON records file, `sqlite:PATH`, `postgres://…`).
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse, requires = "account")]
    store: Option<StoreSpec>,
    /// With --store: the account the credential belongs to.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A", requires = "store")]
    account: Option<String>,
    /// Judge the attestation with this FIDO metadata BLOB (MDS3 JWS, verified now against
    /// --mds-root): the authenticator must be listed, its attestation chain must lead to its
    /// statement's roots, and no refused status (revoked, compromised, UV bypass) may apply.
    #[arg(long, value_name = "FILE", requires = "mds_root")]
    mds: Option<PathBuf>,
    /// With --mds: the root certificate of the BLOB's chain (PEM or DER).
    #[arg(long = "mds-root", value_name = "PEM", requires = "mds")]
    mds_root: Option<PathBuf>,
    /// With --mds: accept an authenticator the BLOB does not list (the output says so).
    #[arg(long, requires = "mds")]
    mds_permissive: bool,
}

/// Arguments of `mfa webauthn authenticate`.
#[derive(Debug, Args)]
pub(crate) struct AuthenticateArgs {
    #[command(flatten)]
    ceremony: Ceremony,
    /// The stored credential (JSON as `register` prints it; `id`, `public_key_cose` and
    /// `sign_count` are required).
    #[arg(long, value_name = "FILE", required_unless_present = "store")]
    credential: Option<PathBuf>,
    /// Instead of --credential: the store `register --store` wrote the credential to; the
    /// assertion's credential id picks the record, and the update is committed atomically.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse,
          conflicts_with_all = ["credential", "update"], requires = "account")]
    store: Option<StoreSpec>,
    /// With --store: whose credential.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A", requires = "store")]
    account: Option<String>,
    #[command(flatten)]
    context: AuditContext,
    /// The user identified beforehand (base64url user handle): the credential must be theirs.
    #[arg(long, value_name = "B64URL", allow_hyphen_values = true)]
    user_handle: Option<String>,
    /// The FIDO AppID the request carried (extension `appid`, for old U2F credentials).
    #[arg(long, value_name = "URL")]
    appid: Option<String>,
    /// Accept a signature counter that did not increase, flagging a possible clone in the
    /// printed (and with --update, written) credential, instead of rejecting it.
    #[arg(long)]
    flag_counter_regression: bool,
    /// Write the updated credential over the --credential FILE (atomically, mode 0600), locking
    /// the file from reading to writing so one assertion cannot succeed twice.
    #[arg(long)]
    update: bool,
}

/// Runs one `mfa webauthn` subcommand.
pub(crate) fn run(command: WebauthnCommand) -> Result<(), Failure> {
    match command {
        WebauthnCommand::Register(args) => register(&args),
        WebauthnCommand::Authenticate(args) => authenticate(&args),
        WebauthnCommand::Mds(command) => crate::mds::run(command),
    }
}

fn relying_party(c: &Ceremony) -> Result<RelyingParty, Failure> {
    let (first_id, more_ids) = c
        .rp_ids
        .split_first()
        .ok_or_else(|| Failure::Usage("--rp-id is required".into()))?;
    let (first_origin, more_origins) = c
        .origins
        .split_first()
        .ok_or_else(|| Failure::Usage("--origin is required".into()))?;
    let mut rp = RelyingParty::new(first_id.clone(), first_id.clone(), first_origin.clone());
    for id in more_ids {
        rp = rp.with_rp_id(id.clone());
    }
    for origin in more_origins {
        rp = rp.with_origin(origin.clone());
    }
    if !c.algorithms.is_empty() {
        let mut algorithms: Vec<CoseAlgorithm> = Vec::new();
        for &alg in &c.algorithms {
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        rp = rp.with_algorithms(algorithms);
    }
    if c.allow_cross_origin {
        rp = rp.with_cross_origin(if c.top_origins.is_empty() {
            CrossOrigin::AllowAnyTopOrigin
        } else {
            CrossOrigin::AllowTopOrigins(c.top_origins.clone())
        });
    }
    Ok(rp)
}

/// An `--alg` value: a name (any case) or a COSE algorithm number.
fn parse_algorithm(text: &str) -> Result<CoseAlgorithm, String> {
    let by_name = match text.to_ascii_lowercase().as_str() {
        "es256" => Some(CoseAlgorithm::Es256),
        "eddsa" => Some(CoseAlgorithm::EdDsa),
        "es384" => Some(CoseAlgorithm::Es384),
        "es512" => Some(CoseAlgorithm::Es512),
        "ps256" => Some(CoseAlgorithm::Ps256),
        "rs256" => Some(CoseAlgorithm::Rs256),
        _ => None,
    };
    by_name
        .or_else(|| text.parse().ok().and_then(CoseAlgorithm::from_id))
        .ok_or_else(|| {
            "expected es256, eddsa, es384, es512, ps256, rs256 or one's COSE number (-7, -8, \
             -35, -36, -37, -257)"
                .to_owned()
        })
}

/// With --alg, the stored credential's algorithm must be one of those given.
fn check_credential_algorithm(c: &Ceremony, credential: &StoredCredential) -> Result<(), Failure> {
    if c.algorithms.is_empty() || c.algorithms.iter().any(|alg| alg.id() == credential.alg) {
        Ok(())
    } else {
        Err(reject(&WebAuthnError::UnsupportedAlgorithm(credential.alg)))
    }
}

fn challenge(c: &Ceremony) -> Result<Challenge, Failure> {
    base64url::decode(&c.challenge, 1024)
        .and_then(Challenge::from_bytes)
        .map_err(|_| Failure::Usage("--challenge must be base64url of 1 to 1024 bytes".into()))
}

fn user_verification(c: &Ceremony) -> UserVerification {
    if c.require_uv {
        UserVerification::Required
    } else {
        UserVerification::Preferred
    }
}

fn user_handle(text: Option<&str>) -> Result<Option<Base64UrlBytes>, Failure> {
    let Some(text) = text else {
        return Ok(None);
    };
    match base64url::decode(text, MAX_USER_HANDLE_LEN) {
        Ok(bytes) if !bytes.is_empty() => Ok(Some(Base64UrlBytes::new(bytes))),
        _ => Err(Failure::Usage(format!(
            "--user-handle must be base64url of 1 to {MAX_USER_HANDLE_LEN} bytes"
        ))),
    }
}

fn read_stdin() -> Result<Vec<u8>, Failure> {
    crate::files::read_stdin_limited(MAX_INPUT, "the response")
}

/// Prints the refusal JSON and returns the matching failure (exit 1).
fn reject(error: &WebAuthnError) -> Failure {
    let line = json!({
        "verified": false,
        "error": error.reason(),
        "message": error.to_string(),
    });
    match print_line(&line.to_string()) {
        Ok(()) => Failure::Rejected(error.to_string()),
        Err(failure) => failure,
    }
}

/// Input that is not a response of the ceremony at all: a usage error (exit 2), not a refusal.
fn not_a_response(what: &str, error: &WebAuthnError) -> Failure {
    Failure::Usage(format!("stdin is not {what}: {error}"))
}

fn to_json(value: &impl Serialize) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| Failure::Usage(format!("cannot encode JSON: {e}")))
}

/// What `register` prints: the credential record, with what the attestation established and
/// `credProps.rk` as extra members (ignored when the output is read back as `--credential`).
#[derive(Serialize)]
struct PrintedRegistration<'a> {
    #[serde(flatten)]
    credential: &'a StoredCredential,
    attestation: PrintedAttestation,
    discoverable: Option<bool>,
    /// With `--mds`: the matched authenticator's name from its metadata statement (`null` for
    /// an unlisted one that `--mds-permissive` let through).
    #[serde(skip_serializing_if = "Option::is_none")]
    authenticator: Option<PrintedAuthenticator<'a>>,
    /// With `--mds`: why the attestation was trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    trust: Option<&'a TrustDecision>,
}

#[derive(Serialize)]
struct PrintedAuthenticator<'a> {
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct PrintedAttestation {
    format: AttestationFormat,
    #[serde(rename = "type")]
    attestation_type: AttestationType,
    /// The `x5c` chain, base64url DER, leaf first.
    certificates: Vec<String>,
}

impl<'a> PrintedRegistration<'a> {
    fn new(registered: &'a RegisteredCredential, with_trust: bool) -> Self {
        let attestation = &registered.attestation;
        Self {
            credential: &registered.credential,
            attestation: PrintedAttestation {
                format: attestation.format,
                attestation_type: attestation.attestation_type,
                certificates: attestation
                    .certificates
                    .iter()
                    .map(|der| base64url::encode(der))
                    .collect(),
            },
            discoverable: registered.discoverable,
            authenticator: with_trust.then(|| PrintedAuthenticator {
                name: registered
                    .trust
                    .metadata
                    .as_ref()
                    .and_then(|found| found.description.as_deref()),
            }),
            trust: with_trust.then_some(&registered.trust),
        }
    }
}

fn register(args: &RegisterArgs) -> Result<(), Failure> {
    let c = &args.ceremony;
    let rp = relying_party(c)?;
    let challenge = challenge(c)?;
    let owner = user_handle(args.user_handle.as_deref())?;
    let input = read_stdin()?;
    let now = SystemClock.now();
    let user = UserEntity {
        id: owner.unwrap_or_default(),
        name: String::new(),
        display_name: String::new(),
    };
    let request = RegistrationRequest {
        user_verification: user_verification(c),
        ..RegistrationRequest::default()
    };
    let (_, state) = rp.registration_with_challenge(challenge, now, user, request);
    // Without --mds no trust roots are given, so certificate validity is not judged (see the
    // module docs); with it, at `now`.
    let options = AttestationOptions::default();
    let response = RegistrationResponse::from_json(&input)
        .map_err(|e| not_a_response("a registration (RegistrationResponseJSON)", &e))?;
    let verified = match (&args.mds, &args.mds_root) {
        (Some(blob), Some(root)) => {
            let metadata = crate::mds::load_for_registration(blob, root, now)?;
            let mut trust = MetadataTrust::new(metadata);
            if args.mds_permissive {
                trust = trust.permissive();
            }
            state.verify_with_trust(&response, now, &DefaultVerifier, &options, &trust)
        }
        _ => state.verify(&response, now, &DefaultVerifier, &options),
    };
    let registered = verified.map_err(|e| reject(&e))?;
    if let (Some(spec), Some(account)) = (&args.store, &args.account) {
        let store = stores::open(spec)?;
        match mfa_webauthn::register_credential(&*store, account, &registered.credential) {
            Ok(_) => {}
            Err(mfa_core::StoreError::AlreadyExists { key }) => {
                return Err(Failure::Rejected(format!(
                    "the credential id is registered already ({key}); nothing was stored"
                )));
            }
            Err(error) => return Err(Failure::Usage(format!("{spec}: {error}"))),
        }
    }
    print_line(&to_json(&PrintedRegistration::new(
        &registered,
        args.mds.is_some(),
    ))?)?;
    if registered.credential.user_handle.is_none() {
        let _ignored = writeln!(
            io::stderr(),
            "mfa: note: without --user-handle the credential has no owner, and username-less \
             sign-in will refuse it"
        );
    }
    Ok(())
}

fn authenticate(args: &AuthenticateArgs) -> Result<(), Failure> {
    let c = &args.ceremony;
    let mut rp = relying_party(c)?;
    if let Some(appid) = &args.appid {
        rp = rp.with_appid(appid.clone());
    }
    if args.flag_counter_regression {
        rp = rp.with_sign_count_policy(SignCountPolicy::Flag);
    }
    let challenge = challenge(c)?;
    let owner = user_handle(args.user_handle.as_deref())?;
    let input = read_stdin()?;
    let response = AuthenticationResponse::from_json(&input)
        .map_err(|e| not_a_response("an assertion (AuthenticationResponseJSON)", &e))?;
    if let (Some(spec), Some(account)) = (&args.store, &args.account) {
        return authenticate_in_store(args, rp, challenge, owner, &response, spec, account);
    }
    let Some(credential_file) = &args.credential else {
        return Err(Failure::Usage(
            "--credential FILE or --store is required".into(),
        ));
    };
    // With --update, no other `mfa` run reads the credential until the updated one is written
    // (the lock is released when `lock` drops, at return).
    let lock = if args.update {
        Some(StoreLock::acquire(credential_file)?)
    } else {
        None
    };
    // Read and write through the path the lock resolved, so every spelling is one file.
    let credential_path = lock
        .as_ref()
        .map_or(credential_file.as_path(), StoreLock::store);
    let credential = read_credential(credential_path)?;
    check_credential_algorithm(c, &credential)?;
    let now = SystemClock.now();
    let request = single_credential_request(c, &credential, owner);
    let (_, state) = rp.authentication_with_challenge(challenge, now, request);
    let verified = state
        .verify(&credential, &response, now, &DefaultVerifier)
        .map_err(|e| reject(&e))?;
    let (evidence, updated) = verified.into_parts();
    if args.update {
        let mut bytes = to_json(&updated)?.into_bytes();
        bytes.push(b'\n');
        write_atomically(credential_path, &bytes)?;
    }
    print_verified(&evidence, &updated)
}

/// `authenticate --store`: the credential is the record named by the assertion's credential id;
/// the signature is checked once against it, and the new counter committed through mfa-core's
/// `verify_and_commit` (so one assertion succeeds once, however many runs submit it). Each
/// outcome goes to the sign-in log of a database store.
fn authenticate_in_store(
    args: &AuthenticateArgs,
    rp: RelyingParty,
    challenge: Challenge,
    owner: Option<Base64UrlBytes>,
    response: &AuthenticationResponse,
    spec: &StoreSpec,
    account: &str,
) -> Result<(), Failure> {
    let c = &args.ceremony;
    let store = stores::open(spec)?;
    let key = mfa_webauthn::record_key(account, &response.credential_id);
    let now = SystemClock.now();
    let log = |event: AuditEvent| {
        if spec.is_database() {
            stores::record_audit(spec, &args.context.apply(event));
        }
    };
    let outcome = match mfa_core::load::<_, StoredCredential>(&*store, &key) {
        Err(error) => return Err(Failure::Usage(format!("{spec}: {error}"))),
        Ok(None) => Err(AttemptError::NotEnrolled),
        Ok(Some(credential)) => {
            check_credential_algorithm(c, &credential)?;
            let request = single_credential_request(c, &credential, owner);
            let (_, state) = rp.authentication_with_challenge(challenge, now, request);
            match state.check(&credential, response, now, &DefaultVerifier) {
                Ok(proof) => {
                    mfa_core::verify_and_commit(&*store, &key, |current| proof.apply(current))
                }
                Err(rejection) => Err(AttemptError::Rejected(rejection)),
            }
        }
    };
    log(AuditEvent::for_attempt(
        now,
        account,
        Method::WebAuthn,
        key.id(),
        &outcome,
    ));
    let verified = match outcome {
        Ok(verified) => verified,
        Err(AttemptError::Rejected(error)) => return Err(reject(&error)),
        Err(AttemptError::NotEnrolled) => return Err(reject(&WebAuthnError::UnknownCredential)),
        Err(error) => return Err(Failure::Usage(format!("{spec}: {error}"))),
    };
    let (evidence, updated) = verified.into_parts();
    print_verified(&evidence, &updated)
}

/// The request for an assertion by exactly `credential`: the caller named it, so the user is
/// known; with --user-handle (`owner`) only if that user owns it.
fn single_credential_request(
    c: &Ceremony,
    credential: &StoredCredential,
    owner: Option<Base64UrlBytes>,
) -> AuthenticationRequest {
    AuthenticationRequest {
        allow_credentials: vec![CredentialDescriptor::new(credential.id.clone(), Vec::new())],
        user_handle: owner,
        user_verification: user_verification(c),
        ..AuthenticationRequest::default()
    }
}

/// The success line of `authenticate`.
fn print_verified(
    evidence: &mfa_core::Evidence,
    updated: &StoredCredential,
) -> Result<(), Failure> {
    let line = json!({
        "verified": true,
        "sign_count": updated.sign_count,
        "user_verified": evidence.properties.user_verified,
        "backup_eligible": updated.backup_eligible.unwrap_or(false),
        "backup_state": updated.backup_state.unwrap_or(false),
        "possible_clone": updated.possible_clone,
        "credential": updated,
    });
    print_line(&line.to_string())
}

fn read_credential(path: &Path) -> Result<StoredCredential, Failure> {
    let bytes = crate::files::read_file_limited(path, MAX_INPUT, "the credential file")?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a credential (need id, public_key_cose, sign_count): {e}",
            path.display()
        ))
    })
}
