//! `mfa push`: push approval with number matching, both halves of the protocol from a shell.
//!
//! The service's half works on a store (`--store`: a JSON records file, `sqlite:PATH`, …; see
//! [`crate::stores`]): `enroll`, `register`, `challenge`, `verify`, `outcome`, `pending`,
//! `context`, `devices`, `remove`, `unlock`. The phone's half works on a key file
//! (`mfa push device init | respond | poll | context`; the format is in [`key_file`]). Messages
//! travel on stdin and stdout, one line each, so the halves pipe into each other:
//!
//! ```sh
//! mfa push enroll --store s.json --account alice --svg qr.svg > uri.txt
//! mfa push device init --enrollment - --key-file phone.json < uri.txt | mfa push register --store s.json
//! mfa push challenge --store s.json --account alice > challenge.json    # shows "number"
//! jq -c '.pushes[0].payload' challenge.json \
//!   | mfa push device respond --key-file phone.json --approve 123456 \
//!   | mfa push verify --store s.json                                      # exit 0: approved
//! ```
//!
//! Exit status: 0 done or approved; 1 refused, with `message (reason)` on stderr, `reason` being
//! the library's stable `snake_case` kind (`wrong_number`, `challenge_not_found`, `push_cap` …);
//! 2 bad usage, input that is not a message of the expected kind (or is larger than one can be),
//! or a store that cannot be used. Events the service would alert on (a fraud report, the push
//! or denial cap reached, a superseded challenge) are written to stderr as
//! `mfa: event: {json}` lines.
//!
//! `--time T` (Unix seconds) stands for "now" everywhere it matters: the `iat` of the phone's
//! messages, the server's expiry and clock-skew checks, the fatigue back-off, and the store's
//! own expiry, so a scenario can be replayed with a manual clock.

mod demo;
mod key_file;

use std::io::{self, Write as _};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use mfa_core::{
    AttemptError, AuditEvent, AuditResult, Clock as _, ManualClock, Method, Store, SystemClock,
    ThrottlePolicy, UnixTime, Verified,
};
use mfa_push::{
    Answer, ChallengeContext, ChallengeId, ChallengeRequest, ChallengeView, DeviceId, DeviceKey,
    EnrollmentUri, EventLog, MAX_MESSAGE_LEN, MAX_PUSH_PAYLOAD_LEN, NumberMatch, Platform,
    PushApproval, PushDevice, PushError, PushOutcome, PushPayload, PushPolicy, StartedChallenge,
};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::outcome::{Failure, print_line};
use crate::stores::{self, AuditContext, StoreSpec};

/// Room for whitespace around a message on stdin (a trailing newline, `\r\n`, indentation).
const STDIN_SLACK: usize = 64;

/// Subcommands of `mfa push`.
#[derive(Debug, Subcommand)]
pub(crate) enum PushCommand {
    /// Service: begin enrolling a phone for ACCOUNT; prints the one-time enrollment URI (single
    /// use, valid 10 minutes by default) for its QR code (`--svg FILE` writes the QR code).
    Enroll(EnrollArgs),
    /// The phone's half: create a device key, answer pushes, poll for challenges.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Service: register a phone from its registration message (stdin); prints the device as
    /// JSON (account, device_id, name, platform, created_at).
    Register(ServerArgs),
    /// Service: start a sign-in challenge for ACCOUNT; prints JSON with the challenge id, the
    /// number the sign-in page shows (and, for pick3, the choices the phone offers), and one push
    /// payload per device. Refused (exit 1, the wait on stderr) by the fatigue defences: the push
    /// cap and its back-off, the denial cap, a fraud lock.
    Challenge(ChallengeArgs),
    /// Service: check the phone's signed response (stdin). Exit 0 approved (prints JSON), 1
    /// refused (wrong number, replay, expired, superseded, denied, fraud, unknown device or bad
    /// signature, throttled), 2 not a response. This is the phone's answer; the sign-in itself is
    /// granted by `mfa push outcome`.
    Verify(ServerArgs),
    /// Service, the sign-in page's side: take the answer to CHALLENGE, with the sign-in's own
    /// transaction. Exit 0 approved (prints JSON with the evidence), 1 refused or still pending.
    /// On a database store the result goes to the sign-in log.
    Outcome(OutcomeArgs),
    /// Service, poll mode: answer a phone's signed pending-challenges request (stdin, from
    /// `mfa push device poll`); prints a JSON array of the pending challenges (never the number
    /// in typed modes).
    Pending(ServerArgs),
    /// Service: answer a phone's signed context request (stdin, from `mfa push device context`);
    /// prints what the phone shows: application, IP, location, browser, times.
    Context(ServerArgs),
    /// Service: list ACCOUNT's registered phones as a JSON array.
    Devices(AccountArgs),
    /// Service: remove one of ACCOUNT's phones; prints it (exit 2 if it is not registered).
    Remove(RemoveArgs),
    /// Service, for an operator: clear ACCOUNT's fraud lock, denial and push counters, and
    /// wrong-number throttle.
    Unlock(AccountArgs),
    /// The whole exchange in one terminal, narrated: enrollment, a sign-in approved by typing
    /// the number, a replay and a wrong number refused, a fatigue attack cut off by the back-off,
    /// a fraud report locking push. Runs in memory; nothing is written.
    Demo(DemoArgs),
}

/// Subcommands of `mfa push device` (the phone's half).
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// Scan an enrollment: create a P-256 device key, write it to the key file, print the signed
    /// registration message (for `mfa push register`).
    ///
    /// The key file (JSON, mode 0600, never overwritten) holds "format" ("mfa-push-device/1"),
    /// "issuer", "account" and "registration_url" (from the URI), "device_id" (the RFC 7638
    /// thumbprint of the public key), "name", "platform", and "private_key": the PKCS #8 DER
    /// private key, base64url without padding.
    Init(InitArgs),
    /// Answer a push: read its payload (JSON) on stdin, print the signed response (for
    /// `mfa push verify`).
    Respond(RespondArgs),
    /// Poll mode: print a signed request for this device's pending challenges (for
    /// `mfa push pending`).
    Poll(DeviceArgs),
    /// Read a push payload (stdin) and print a signed request for its sign-in's context (for
    /// `mfa push context`).
    Context(DeviceArgs),
}

/// The service's push settings; each default is mfa-push's.
#[derive(Debug, Args)]
#[command(next_help_heading = "Service policy")]
pub(crate) struct PolicyArgs {
    /// How long an enrollment token stays valid, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = default_policy().enrollment_lifetime.as_secs())]
    enrollment_lifetime: u64,
    /// The most phones one account may register.
    #[arg(long, value_name = "N", default_value_t = default_policy().max_devices)]
    max_devices: usize,
    /// How long a challenge waits for its answer, in seconds (1 to 600).
    #[arg(long, value_name = "SECS", default_value_t = default_policy().challenge_lifetime.as_secs())]
    challenge_lifetime: u64,
    /// Pushes allowed without waiting since the last approval.
    #[arg(long, value_name = "N", default_value_t = default_policy().free_pushes)]
    free_pushes: u32,
    /// The wait before the first push beyond the free ones, in seconds; it doubles each time.
    #[arg(long, value_name = "SECS", default_value_t = default_policy().push_initial_delay.as_secs())]
    push_delay: u64,
    /// The longest wait between pushes, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = default_policy().push_max_delay.as_secs())]
    max_push_delay: u64,
    /// Denials since the last approval that lock push for --denial-lock.
    #[arg(long, value_name = "N", default_value_t = default_policy().max_denials)]
    max_denials: u32,
    /// How long the denial cap locks push, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = default_policy().denial_lock.as_secs())]
    denial_lock: u64,
    /// How far a message's time may be from the service's, either way, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = default_policy().clock_skew.as_secs())]
    clock_skew: u64,
    /// Wrong numbers allowed before the throttle makes the account wait.
    #[arg(long, value_name = "N", default_value_t = default_policy().throttle.free_failures)]
    free_failures: u32,
    /// Consecutive wrong numbers that lock the account until an approval elsewhere or unlock.
    #[arg(long, value_name = "N", default_value_t = default_policy().throttle.max_consecutive_failures)]
    max_failures: u32,
}

fn default_policy() -> PushPolicy {
    PushPolicy::default()
}

impl PolicyArgs {
    fn policy(&self) -> PushPolicy {
        let defaults = default_policy();
        PushPolicy {
            enrollment_lifetime: secs(self.enrollment_lifetime),
            max_devices: self.max_devices,
            challenge_lifetime: secs(self.challenge_lifetime),
            free_pushes: self.free_pushes,
            push_initial_delay: secs(self.push_delay),
            push_max_delay: secs(self.max_push_delay),
            max_denials: self.max_denials,
            denial_lock: secs(self.denial_lock),
            clock_skew: secs(self.clock_skew),
            throttle: ThrottlePolicy {
                free_failures: self.free_failures,
                max_consecutive_failures: self.max_failures,
                ..defaults.throttle
            },
            ..defaults
        }
    }
}

fn secs(secs: u64) -> std::time::Duration {
    std::time::Duration::from_secs(secs)
}

/// The time to act at (Unix seconds): `--time`, or now.
fn at(time: Option<u64>) -> UnixTime {
    time.map_or_else(|| SystemClock.now(), UnixTime::from_secs)
}

/// What every service command that reads or writes push state takes.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The store: a JSON records file, `sqlite:PATH`, `postgres://…` or `redis://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Act at this time (Unix seconds) instead of now.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
    #[command(flatten)]
    policy: PolicyArgs,
}

impl ServerArgs {
    /// The time, the store (judging expiry by that time) and the policy.
    fn open(&self) -> Result<(UnixTime, Box<dyn Store>, PushPolicy), Failure> {
        let now = at(self.time);
        Ok((now, open_store(&self.store, now)?, self.policy.policy()))
    }
}

/// Opens the store so that it judges record expiry by `now` (the `--time` of the command), not
/// by the system clock: a scenario replayed at another time sees the same records.
fn open_store(spec: &StoreSpec, now: UnixTime) -> Result<Box<dyn Store>, Failure> {
    stores::open_with_clock(spec, ManualClock::new(now))
}

/// Arguments of `mfa push enroll`.
#[derive(Debug, Args)]
pub(crate) struct EnrollArgs {
    /// The signed-in user the phone is enrolled for.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: String,
    /// The service's name, shown in the phone app.
    #[arg(long, value_name = "I", default_value_t = default_policy().issuer)]
    issuer: String,
    /// Where the app posts its registration message (https:// only), carried in the URI.
    #[arg(long, value_name = "U")]
    url: Option<String>,
    /// Also write the QR code as SVG to this file (0600: it carries the one-time token).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `mfa push challenge`.
#[derive(Debug, Args)]
pub(crate) struct ChallengeArgs {
    /// The account signing in.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: String,
    /// Number matching: typed6 (default; typed7, typed8 too) meets NIST SP 800-63B-4; typed2,
    /// typed3 and pick3 (pick one of 3) are the vendor-compatible modes that do not.
    #[arg(long, value_name = "MODE", default_value = "typed6")]
    mode: NumberMatch,
    /// The sign-in transaction the challenge is bound to (`mfa push outcome` must name it);
    /// default a fresh random one, printed.
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    transaction: Option<String>,
    /// Shown on the phone: the application being signed in to.
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Shown on the phone: the signing-in client's IP address.
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// Shown on the phone: an approximate location ("Lyon, France").
    #[arg(long, value_name = "PLACE")]
    location: Option<String>,
    /// Shown on the phone: the browser and operating system.
    #[arg(long, value_name = "UA")]
    browser: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `mfa push outcome`.
#[derive(Debug, Args)]
pub(crate) struct OutcomeArgs {
    /// The store: a JSON records file, `sqlite:PATH`, `postgres://…` or `redis://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// The account signing in.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: String,
    /// The challenge id (`"challenge"` in the output of `mfa push challenge`).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    challenge: String,
    /// The sign-in's transaction, as given to (or printed by) `mfa push challenge`.
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    transaction: String,
    /// Act at this time (Unix seconds) instead of now.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
    #[command(flatten)]
    context: AuditContext,
}

/// Arguments naming a store and an account.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// The store: a JSON records file, `sqlite:PATH`, `postgres://…` or `redis://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// The account.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: String,
}

/// Arguments of `mfa push remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The device id to remove (from `mfa push devices`).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    device: String,
}

/// Arguments of `mfa push demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Type the number yourself at the sign-in step (read from stdin), instead of the phone
    /// typing the right one.
    #[arg(long)]
    interactive: bool,
    /// Start the demo's clock at this time (Unix seconds) instead of now.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
}

/// Platforms by their CLI names.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PlatformArg {
    /// iOS or iPadOS (APNs).
    Ios,
    /// Android (FCM).
    Android,
    /// Anything else, or no push service (poll mode).
    Other,
}

impl From<PlatformArg> for Platform {
    fn from(platform: PlatformArg) -> Self {
        match platform {
            PlatformArg::Ios => Self::Ios,
            PlatformArg::Android => Self::Android,
            PlatformArg::Other => Self::Other,
        }
    }
}

/// Arguments of `mfa push device init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The enrollment URI (`mfa-push://enroll?…`, as scanned), or `-` to read it from stdin
    /// (keeps the one-time token out of the process list).
    #[arg(long, value_name = "URI")]
    enrollment: String,
    /// Where to write the new device key (JSON, 0600; an existing file is never replaced).
    #[arg(long, value_name = "K")]
    key_file: PathBuf,
    /// The device's name, as the user will see it in their list of phones.
    #[arg(long, value_name = "N", default_value = "mfa command line")]
    name: String,
    /// The device's platform.
    #[arg(long, value_enum, default_value = "other")]
    platform: PlatformArg,
    /// The push-service token (APNs/FCM) that reaches the device; none for poll mode.
    #[arg(long, value_name = "TOKEN")]
    push_token: Option<String>,
    /// Sign at this time (Unix seconds) instead of now.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
}

/// What the user answers on the phone: exactly one of these.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct AnswerArgs {
    /// Approve, typing (or picking) the number the sign-in page shows.
    #[arg(long, value_name = "NUMBER")]
    approve: Option<String>,
    /// Deny: "this was not me, or I did not mean to".
    #[arg(long)]
    deny: bool,
    /// Report fraud: "someone else is signing in as me" (locks push for the account).
    #[arg(long)]
    fraud: bool,
}

impl AnswerArgs {
    fn answer(&self) -> Result<Answer, Failure> {
        match (&self.approve, self.deny, self.fraud) {
            (Some(number), _, _) => Answer::approve(number).map_err(|e| push_failure(&e)),
            (None, true, _) => Ok(Answer::Deny),
            (None, false, true) => Ok(Answer::ReportFraud),
            (None, false, false) => Err(Failure::Usage(
                "give --approve NUMBER, --deny or --fraud".into(),
            )),
        }
    }
}

/// Arguments of `mfa push device respond`.
#[derive(Debug, Args)]
pub(crate) struct RespondArgs {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(flatten)]
    answer: AnswerArgs,
}

/// Arguments of the phone's commands that sign with an existing key.
#[derive(Debug, Args)]
pub(crate) struct DeviceArgs {
    /// The device key file written by `mfa push device init`.
    #[arg(long, value_name = "K")]
    key_file: PathBuf,
    /// Sign at this time (Unix seconds) instead of now.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
}

/// Runs one `mfa push` subcommand.
pub(crate) fn run(command: PushCommand) -> Result<(), Failure> {
    match command {
        PushCommand::Enroll(args) => enroll(&args),
        PushCommand::Device(DeviceCommand::Init(args)) => device_init(&args),
        PushCommand::Device(DeviceCommand::Respond(args)) => device_respond(&args),
        PushCommand::Device(DeviceCommand::Poll(args)) => device_poll(&args),
        PushCommand::Device(DeviceCommand::Context(args)) => device_context(&args),
        PushCommand::Register(args) => register(&args),
        PushCommand::Challenge(args) => challenge(&args),
        PushCommand::Verify(args) => verify(&args),
        PushCommand::Outcome(args) => outcome(&args),
        PushCommand::Pending(args) => pending(&args),
        PushCommand::Context(args) => context(&args),
        PushCommand::Devices(args) => devices(&args),
        PushCommand::Remove(args) => remove(&args),
        PushCommand::Unlock(args) => unlock(&args),
        PushCommand::Demo(args) => demo::run(&args),
    }
}

fn enroll(args: &EnrollArgs) -> Result<(), Failure> {
    let (now, store, mut policy) = args.server.open()?;
    policy.issuer.clone_from(&args.issuer);
    policy.registration_url.clone_from(&args.url);
    let offer = mfa_push::begin_enrollment(&*store, &policy, &args.account, now, &mut rand::rng())
        .map_err(|e| attempt_failure(&args.server.store, e))?;
    let uri = offer.uri.to_uri();
    if let Some(path) = &args.svg {
        crate::otp::write_svg(path, qr_svg(&uri)?.as_bytes())?;
    }
    print_line(&uri)
}

/// The QR code of an enrollment URI as an SVG document (at least 256 × 256 px, medium error
/// correction, as `mfa otp` draws its URIs). Wiped on drop, best effort (`qrcode`'s own buffers
/// are not).
fn qr_svg(uri: &str) -> Result<Zeroizing<String>, Failure> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| Failure::Usage("the enrollment URI is too long for a QR code".into()))?;
    Ok(Zeroizing::new(
        code.render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .build(),
    ))
}

fn device_init(args: &InitArgs) -> Result<(), Failure> {
    let now = at(args.time);
    let text = if args.enrollment == "-" {
        read_stdin(mfa_push::MAX_ENROLLMENT_URI_LEN, "enrollment URI")?
    } else {
        Zeroizing::new(args.enrollment.clone())
    };
    let enrollment = EnrollmentUri::parse(&text).map_err(|e| push_failure(&e))?;
    let key = DeviceKey::generate(&mut rand::rng());
    let platform = Platform::from(args.platform);
    let message = Zeroizing::new(
        key.registration_message(
            &enrollment,
            &args.name,
            platform,
            args.push_token.as_deref(),
            now,
        )
        .map_err(|e| push_failure(&e))?,
    );
    key_file::create(&args.key_file, &key, &enrollment, &args.name, platform)?;
    print_line(&message)
}

fn device_respond(args: &RespondArgs) -> Result<(), Failure> {
    let now = at(args.device.time);
    let answer = args.answer.answer()?;
    let key = key_file::read(&args.device.key_file)?;
    let payload = read_payload()?;
    warn_if_addressed_elsewhere(&payload, &key);
    let response = Zeroizing::new(
        key.respond(&payload.challenge, &answer, now)
            .map_err(|e| push_failure(&e))?,
    );
    print_line(&response)
}

fn device_poll(args: &DeviceArgs) -> Result<(), Failure> {
    let key = key_file::read(&args.key_file)?;
    let request = key
        .request_pending(at(args.time))
        .map_err(|e| push_failure(&e))?;
    print_line(&request)
}

fn device_context(args: &DeviceArgs) -> Result<(), Failure> {
    let key = key_file::read(&args.key_file)?;
    let payload = read_payload()?;
    warn_if_addressed_elsewhere(&payload, &key);
    let request = key
        .request_context(&payload.challenge, at(args.time))
        .map_err(|e| push_failure(&e))?;
    print_line(&request)
}

/// The push payload on stdin.
fn read_payload() -> Result<PushPayload, Failure> {
    let text = read_stdin(MAX_PUSH_PAYLOAD_LEN, "push payload")?;
    PushPayload::from_json(&text).map_err(|e| push_failure(&e))
}

/// A phone holding several keys picks the one the payload's handle names; this one has only the
/// key file it was given, and answers with it (the service then decides), saying so.
fn warn_if_addressed_elsewhere(payload: &PushPayload, key: &DeviceKey) {
    if payload.handle != *key.device_id() {
        let _ignored = writeln!(
            io::stderr(),
            "mfa: note: this push is for device {}, not {} (the key file's); answering anyway",
            payload.handle,
            key.device_id()
        );
    }
}

fn register(args: &ServerArgs) -> Result<(), Failure> {
    answer_message(
        args,
        "registration message",
        |store, policy, message, now, _| mfa_push::register_device(store, policy, message, now),
        device_json,
    )
}

/// A service command that answers one signed message from the phone, read on stdin: `handle`
/// decides, with the store, policy and time of `args`; `show` prints what it returns. Events go
/// to stderr whatever the outcome.
fn answer_message<T>(
    args: &ServerArgs,
    what: &str,
    handle: impl FnOnce(
        &dyn Store,
        &PushPolicy,
        &str,
        UnixTime,
        &EventLog,
    ) -> Result<T, AttemptError<PushError>>,
    show: impl FnOnce(&T) -> Value,
) -> Result<(), Failure> {
    let (now, store, policy) = args.open()?;
    let message = read_stdin(MAX_MESSAGE_LEN, what)?;
    let events = EventLog::new();
    let answered = handle(&*store, &policy, &message, now, &events);
    report_events(&events);
    let answered = answered.map_err(|e| attempt_failure(&args.store, e))?;
    print_json(&show(&answered))
}

fn challenge(args: &ChallengeArgs) -> Result<(), Failure> {
    let (now, store, policy) = args.server.open()?;
    let mut rng = rand::rng();
    let transaction = match &args.transaction {
        Some(transaction) => transaction.clone(),
        // As random as a challenge id, and printed for `mfa push outcome`.
        None => ChallengeId::generate(&mut rng).to_string(),
    };
    let request = ChallengeRequest::new(&args.account, &transaction)
        .with_mode(args.mode)
        .with_context(ChallengeContext {
            application: args.app.clone(),
            ip_address: args.ip.clone(),
            location: args.location.clone(),
            browser: args.browser.clone(),
        });
    let events = EventLog::new();
    let started = mfa_push::start_challenge(&*store, &policy, &request, now, &mut rng, &events);
    report_events(&events);
    let started = started.map_err(|e| attempt_failure(&args.server.store, e))?;
    print_json(&challenge_json(&started, &transaction))
}

fn verify(args: &ServerArgs) -> Result<(), Failure> {
    answer_message(
        args,
        "response",
        |store, policy, response, now, events| {
            mfa_push::verify_response(store, policy, response, now, events)
        },
        approval_json,
    )
}

fn outcome(args: &OutcomeArgs) -> Result<(), Failure> {
    let now = at(args.time);
    let challenge = ChallengeId::parse(&args.challenge).map_err(|e| push_failure(&e))?;
    let store = open_store(&args.store, now)?;
    let outcome =
        mfa_push::take_outcome(&*store, &args.account, &challenge, &args.transaction, now);
    let logged = match &outcome {
        Ok(PushOutcome::Pending) => None,
        Ok(PushOutcome::Approved(verified)) => Some(
            AuditEvent::new(now, &args.account, AuditResult::Success)
                .with_method(Method::Push)
                .with_credential_id(verified.credential().device_id.as_str()),
        ),
        Err(error) => Some(refusal_event(now, &args.account, error)),
    };
    if let Some(event) = logged {
        stores::record_audit(&args.store, &args.context.apply(event));
    }
    match outcome.map_err(|e| attempt_failure(&args.store, e))? {
        PushOutcome::Approved(verified) => print_json(&approval_json(&verified)),
        PushOutcome::Pending => Err(Failure::Rejected(
            "the phone has not answered yet; ask again before the challenge expires (pending)"
                .into(),
        )),
    }
}

/// The sign-in log's entry for a refused outcome.
fn refusal_event(now: UnixTime, account: &str, error: &AttemptError<PushError>) -> AuditEvent {
    let result = match error {
        AttemptError::Rejected(PushError::Denied) => AuditResult::Denied,
        AttemptError::Rejected(PushError::FraudReported(_)) => AuditResult::FraudReported,
        AttemptError::Store(_) => AuditResult::Error,
        _ => AuditResult::Failure,
    };
    let event = AuditEvent::new(now, account, result)
        .with_method(Method::Push)
        .with_reason(error.reason());
    match error {
        AttemptError::Rejected(PushError::FraudReported(report)) => {
            event.with_credential_id(report.device_id.as_str())
        }
        _ => event,
    }
}

fn pending(args: &ServerArgs) -> Result<(), Failure> {
    answer_message(
        args,
        "pending-challenges request",
        |store, policy, request, now, _| mfa_push::pending_challenges(store, policy, request, now),
        |views| Value::Array(views.iter().map(view_json).collect()),
    )
}

fn context(args: &ServerArgs) -> Result<(), Failure> {
    answer_message(
        args,
        "context request",
        |store, policy, request, now, _| mfa_push::challenge_context(store, policy, request, now),
        view_json,
    )
}

fn devices(args: &AccountArgs) -> Result<(), Failure> {
    let store = stores::open(&args.store)?;
    let devices = mfa_push::list_devices(&*store, &args.account)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.store)))?;
    print_json(&Value::Array(devices.iter().map(device_json).collect()))
}

fn remove(args: &RemoveArgs) -> Result<(), Failure> {
    let AccountArgs {
        store: spec,
        account,
    } = &args.account;
    let device_id = DeviceId::parse(&args.device).map_err(|e| push_failure(&e))?;
    let store = stores::open(spec)?;
    match mfa_push::remove_device(&*store, account, &device_id)
        .map_err(|e| Failure::Usage(format!("{spec}: {e}")))?
    {
        Some(device) => print_json(&device_json(&device)),
        None => Err(Failure::Usage(format!(
            "{account} has no push device {device_id} in {spec}"
        ))),
    }
}

fn unlock(args: &AccountArgs) -> Result<(), Failure> {
    let store = stores::open(&args.store)?;
    mfa_push::unlock(&*store, &args.account)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.store)))?;
    print_json(&json!({ "account": args.account, "unlocked": true }))
}

/// Reads one message from stdin: at most `limit` bytes besides surrounding whitespace, UTF-8,
/// not empty (exit 2 otherwise). Wiped on drop: it may hold a token or a number.
fn read_stdin(limit: usize, what: &str) -> Result<Zeroizing<String>, Failure> {
    let limit = u64::try_from(limit.saturating_add(STDIN_SLACK)).unwrap_or(u64::MAX);
    let bytes = Zeroizing::new(crate::files::read_stdin_limited(
        limit,
        &format!("the {what}"),
    )?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::Usage(format!("the {what} on stdin is not UTF-8")))?
        .trim();
    if text.is_empty() {
        return Err(Failure::Usage(format!("no {what} on stdin")));
    }
    Ok(Zeroizing::new(text.to_owned()))
}

/// A refusal as the CLI reports it: exit 1 with `message (reason)`, or exit 2 for input that is
/// not a message of the expected kind, a request the library does not serve, or a store failure.
fn attempt_failure(spec: &StoreSpec, error: AttemptError<PushError>) -> Failure {
    match error {
        AttemptError::Rejected(error) => push_failure(&error),
        AttemptError::NotEnrolled => {
            Failure::Rejected("no push device is registered for this account (not_enrolled)".into())
        }
        AttemptError::Store(error) => Failure::Usage(format!("{spec}: {error}")),
        other => Failure::Rejected(format!("{other} ({})", other.reason())),
    }
}

fn push_failure(error: &PushError) -> Failure {
    use mfa_core::Rejection as _;
    let message = format!("{error} ({})", error.reason());
    if error.is_malformed() || matches!(error, PushError::InvalidRequest(_)) {
        Failure::Usage(message)
    } else {
        Failure::Rejected(message)
    }
}

/// Writes the events the service would alert on to stderr, one JSON line each.
fn report_events(events: &EventLog) {
    for event in events.take() {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ignored = writeln!(io::stderr(), "mfa: event: {line}");
        }
    }
}

fn print_json(value: &Value) -> Result<(), Failure> {
    print_line(&value.to_string())
}

fn device_json(device: &PushDevice) -> Value {
    let mut value = json!({
        "account": device.account,
        "device_id": device.device_id.as_str(),
        "name": device.name,
        "platform": device.platform.as_str(),
        "created_at": device.created_at.as_secs(),
        "last_used_at": device.last_used_at.map(UnixTime::as_secs),
    });
    if let Some(token) = &device.push_token {
        value["push_token"] = json!(token);
    }
    value
}

fn challenge_json(started: &StartedChallenge, transaction: &str) -> Value {
    let pushes: Vec<Value> = started
        .pushes
        .iter()
        .map(|push| {
            let mut value = json!({
                "device_id": push.device_id.as_str(),
                "platform": push.platform.as_str(),
                "payload": push.payload,
            });
            if let Some(token) = &push.push_token {
                value["push_token"] = json!(token);
            }
            value
        })
        .collect();
    let mut value = json!({
        "challenge": started.id.as_str(),
        "account": started.account,
        "transaction": transaction,
        "mode": started.mode.to_string(),
        "meets_rev4": started.mode.meets_rev4(),
        "number": started.number.expose_digits(),
        "created_at": started.created_at.as_secs(),
        "expires_at": started.expires_at.as_secs(),
        "pushes": pushes,
    });
    if !started.choices.is_empty() {
        value["choices"] = json!(started.choices);
    }
    if let Some(previous) = &started.superseded {
        value["superseded"] = json!(previous.as_str());
    }
    value
}

fn approval_json(verified: &Verified<PushApproval>) -> Value {
    let approval = verified.credential();
    json!({
        "approved": true,
        "account": approval.account,
        "device_id": approval.device_id.as_str(),
        "device_name": approval.device_name,
        "challenge": approval.challenge.as_str(),
        "mode": approval.mode.to_string(),
        "meets_rev4": verified.evidence().properties.number_match_meets_rev4,
        "approved_at": approval.approved_at.as_secs(),
        "evidence": verified.evidence().properties,
    })
}

fn view_json(view: &ChallengeView) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_flags_default_to_the_library_policy() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Probe {
            #[command(flatten)]
            policy: PolicyArgs,
        }
        let parsed = Probe::try_parse_from(["probe"]).unwrap();
        assert_eq!(parsed.policy.policy(), PushPolicy::default());
        let parsed =
            Probe::try_parse_from(["probe", "--free-pushes", "9", "--free-failures", "0"]).unwrap();
        let policy = parsed.policy.policy();
        assert_eq!((policy.free_pushes, policy.throttle.free_failures), (9, 0));
    }

    #[test]
    fn refusals_exit_1_and_malformed_input_exits_2() {
        assert!(matches!(
            push_failure(&PushError::WrongNumber),
            Failure::Rejected(message) if message.ends_with("(wrong_number)")
        ));
        assert!(matches!(
            push_failure(&PushError::Malformed("x")),
            Failure::Usage(_)
        ));
        assert!(matches!(
            push_failure(&PushError::InvalidRequest("x")),
            Failure::Usage(_)
        ));
        let spec = StoreSpec::parse("s.json").unwrap();
        assert!(matches!(
            attempt_failure(&spec, AttemptError::ChallengeNotFound),
            Failure::Rejected(message) if message.ends_with("(challenge_not_found)")
        ));
    }
}
