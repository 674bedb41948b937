//! `mfa oob`: SMS and voice codes (mfa-oob) from a shell, against a store (`--store`: a JSON
//! records file, `sqlite:PATH`, …).
//!
//! `send` prints the message through the console sender, as the phone would show it (the code is
//! visible there: this is a tool for developers and tests, not a delivery path), followed by one
//! JSON line about the send. A number the account has not enrolled gets an enrollment code (its
//! answer enrolls it); an enrolled one gets a sign-in code. `verify` checks the account's pending
//! code. Both take `--time T` (Unix seconds) to run at a fixed time: the store then judges expiry
//! by the same time. Send limits, the resend gap and the failure throttle are the library's,
//! kept in the store, so they hold across invocations: a resend too soon exits 1 with the wait.
//!
//! Every code is bound to a transaction (`--transaction`, default `cli`): a code sent for one is
//! refused with another.

use std::io::{self, BufRead as _, Read as _, Write as _};

use clap::{Args, Subcommand, ValueEnum};
use mfa_core::{
    AttemptError, AuditEvent, AuditResult, Clock, ManualClock, MemoryStore, Rejection, Store,
    SystemClock, UnixTime, Verified,
};
use mfa_oob::{
    Channel, CodeOutcome, CodeRequest, CodeTarget, ConsoleSender, EnrolledPhone, Messages,
    OobError, OobPolicy, PhoneNumber, SentCode, list_phones, pending_code, remove_phone, send_code,
    verify_code,
};
use serde_json::json;

use crate::outcome::{Failure, print_line};
use crate::stores::{self, AuditContext, StoreSpec};

/// The transaction a code is bound to when `--transaction` is not given.
const DEFAULT_TRANSACTION: &str = "cli";
/// The longest line `demo` reads for the code.
const MAX_CODE_LINE: u64 = 256;

/// Subcommands of `mfa oob`.
#[derive(Debug, Subcommand)]
pub(crate) enum OobCommand {
    /// Send a code to a number: an enrollment code if the account has not enrolled it, else a
    /// sign-in code. Prints the message as the phone would show it, then a JSON line.
    ///
    /// Exit 1 when a send limit says no (with the wait), or the number may not receive codes
    /// (VoIP, premium rate …); 2 for a number that is not a phone number.
    Send(SendArgs),
    /// Check the account's pending code: print what it proved as JSON (exit 0), or the reason it
    /// was refused on stderr (exit 1). A code that is not 6 to 10 digits exits 2 and keeps the
    /// pending code.
    Verify(VerifyArgs),
    /// List the account's enrolled phones as JSON (numbers masked).
    Phones(AccountArgs),
    /// Remove one of the account's phones (a code already sent to it stops working).
    Remove(RemoveArgs),
    /// Run one exchange interactively: send a code, read it from stdin, check it. Uses a store in
    /// memory unless --store is given.
    Demo(DemoArgs),
}

/// Channels by their CLI names.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ChannelArg {
    /// A text message.
    Sms,
    /// A voice call reading the code out.
    Voice,
}

impl From<ChannelArg> for Channel {
    fn from(channel: ChannelArg) -> Self {
        match channel {
            ChannelArg::Sms => Self::Sms,
            ChannelArg::Voice => Self::Voice,
        }
    }
}

/// The store and account every subcommand works on.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// The store: a JSON records file, `sqlite:PATH`, `postgres://…`, `redis://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// The account.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A")]
    account: String,
    /// Run at this time (Unix seconds) instead of now; the store judges expiry by it too.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
}

/// How a code is sent.
#[derive(Debug, Args)]
pub(crate) struct Delivery {
    /// The number, as typed (`+44 7911 123456`, or national with --region).
    #[arg(long, value_name = "NUMBER", allow_hyphen_values = true)]
    to: String,
    /// How the code travels.
    #[arg(long, value_enum, default_value = "sms")]
    channel: ChannelArg,
    /// The country whose numbering plan a number without `+` follows (ISO 3166-1, e.g. US).
    #[arg(long, value_name = "CC")]
    region: Option<String>,
    /// The language of the message (BCP 47: en, de-AT, fr …; others fall back to English).
    #[arg(long, value_name = "TAG", default_value = "en")]
    language: String,
    /// The service name the message gives.
    #[arg(long, value_name = "NAME", default_value = "mfa")]
    service: String,
    /// End every SMS with the origin-bound line `@HOST #CODE` (WebOTP autofill on HOST).
    #[arg(long, value_name = "HOST")]
    webotp_host: Option<String>,
    /// The id a newly enrolled phone gets (default: phone-1, phone-2 …).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// The transaction (sign-in) the code is for.
    #[arg(long, value_name = "TX", default_value = DEFAULT_TRANSACTION)]
    transaction: String,
}

/// Arguments of `mfa oob send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    account: AccountArgs,
    #[command(flatten)]
    delivery: Delivery,
}

/// Arguments of `mfa oob verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The code as typed (spaces and hyphens do not matter).
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    code: String,
    /// The transaction (sign-in) the code is typed into.
    #[arg(long, value_name = "TX", default_value = DEFAULT_TRANSACTION)]
    transaction: String,
    #[command(flatten)]
    context: AuditContext,
}

/// Arguments of `mfa oob remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The phone's id (as `mfa oob phones` lists it).
    #[arg(long, value_name = "ID")]
    phone: String,
}

/// Arguments of `mfa oob demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// A store to keep the exchange in (default: memory, gone when the demo ends).
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: Option<StoreSpec>,
    /// The account.
    #[arg(long, value_parser = crate::account::parse_account, value_name = "A", default_value = "demo")]
    account: String,
    #[command(flatten)]
    delivery: Delivery,
}

/// Runs one `mfa oob` subcommand.
pub(crate) fn run(command: OobCommand) -> Result<(), Failure> {
    match command {
        OobCommand::Send(args) => {
            let (now, store) = open(&args.account)?;
            send(&*store, &args.account.account, &args.delivery, now).map(drop)
        }
        OobCommand::Verify(args) => verify(&args),
        OobCommand::Phones(args) => phones(&args),
        OobCommand::Remove(args) => remove(&args),
        OobCommand::Demo(args) => demo(&args),
    }
}

/// The time to run at, and the store opened to judge expiry by it.
fn open(args: &AccountArgs) -> Result<(UnixTime, Box<dyn Store>), Failure> {
    let Some(seconds) = args.time else {
        return Ok((SystemClock.now(), stores::open(&args.store)?));
    };
    let now = UnixTime::from_secs(seconds);
    let store = stores::open_with_clock(&args.store, ManualClock::new(now))?;
    Ok((now, store))
}

/// The policy of every subcommand: the library's defaults, with the message options of `send`.
fn policy(delivery: Option<&Delivery>) -> Result<OobPolicy, Failure> {
    let service = delivery.map_or("mfa", |d| d.service.as_str());
    let mut messages =
        Messages::new(service).map_err(|e| Failure::Usage(format!("--service: {e}")))?;
    if let Some(host) = delivery.and_then(|d| d.webotp_host.as_deref()) {
        messages = messages
            .with_webotp_host(host)
            .map_err(|e| Failure::Usage(format!("--webotp-host: {e}")))?;
    }
    Ok(OobPolicy::new(messages))
}

/// `send`: an enrollment code for a number the account has not enrolled, a sign-in code for
/// one it has.
fn send(
    store: &dyn Store,
    account: &str,
    delivery: &Delivery,
    now: UnixTime,
) -> Result<SentCode, Failure> {
    let policy = policy(Some(delivery))?;
    let number = PhoneNumber::parse(&delivery.to, delivery.region.as_deref())
        .map_err(|problem| Failure::Usage(format!("--to: {problem}")))?;
    let phones = list_phones(store, account).map_err(store_failure)?;
    let enrolled = phones.iter().find(|phone| phone.number() == &number);
    let new_id = match (&delivery.id, enrolled) {
        (_, Some(_)) => String::new(),
        (Some(id), None) => id.clone(),
        (None, None) => next_phone_id(&phones),
    };
    let target = match enrolled {
        Some(phone) => CodeTarget::Phone(phone.id()),
        None => CodeTarget::NewPhone {
            id: &new_id,
            number: &number,
        },
    };
    let request = CodeRequest {
        account,
        transaction: &delivery.transaction,
        channel: delivery.channel.into(),
        language: &delivery.language,
    };
    let console = ConsoleSender::stdout();
    let sent = send_code(
        store,
        &console,
        &policy,
        &request,
        target,
        now,
        &mut rand::rng(),
    )
    .map_err(failure)?;
    let line = json!({
        "sent": true,
        "channel": sent.channel(),
        "to": sent.to(),
        "phone": enrolled.map_or(new_id.as_str(), EnrolledPhone::id),
        "enrollment": enrolled.is_none(),
        "expires_at": sent.expires_at().as_secs(),
        "resend_at": sent.resend_at().as_secs(),
    });
    print_line(&line.to_string())?;
    Ok(sent)
}

/// `phone-N` for the smallest N no phone of the account has.
fn next_phone_id(phones: &[EnrolledPhone]) -> String {
    (1_usize..)
        .map(|n| format!("phone-{n}"))
        .find(|id| phones.iter().all(|phone| phone.id() != id))
        .unwrap_or_default()
}

fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let (now, store) = open(&args.account)?;
    let account = &args.account.account;
    let policy = policy(None)?;
    // For the sign-in log: which channel and phone the pending code went to (read before the
    // code is taken).
    let pending = if args.account.store.is_database() {
        pending_code(&*store, account).ok().flatten()
    } else {
        None
    };
    let outcome = verify_code(
        &*store,
        &policy,
        account,
        &args.transaction,
        &args.code,
        now,
    );
    if args.account.store.is_database() {
        let event = match (&pending, &outcome) {
            (Some(info), _) => AuditEvent::for_attempt(
                now,
                account.as_str(),
                info.channel().method(),
                info.phone_id().unwrap_or_default(),
                &outcome,
            ),
            // A success names its method and phone itself.
            (None, Ok(verified)) => {
                let method = verified.evidence().method;
                AuditEvent::for_attempt(now, account.as_str(), method, "", &outcome)
            }
            // No code was pending: which channel it would have been is unknown.
            (None, Err(error)) => AuditEvent::new(now, account.as_str(), AuditResult::Failure)
                .with_reason(error.reason()),
        };
        stores::record_audit(&args.account.store, &args.context.apply(event));
    }
    print_verified(outcome.map_err(failure)?)
}

fn print_verified(verified: Verified<CodeOutcome>) -> Result<(), Failure> {
    let (evidence, outcome) = verified.into_parts();
    let (result, phone) = match &outcome {
        CodeOutcome::SignedIn(phone) => ("signed_in", Some(phone)),
        CodeOutcome::Enrolled(phone) => ("enrolled", Some(phone)),
        _ => ("confirmed", None),
    };
    let line = json!({
        "verified": true,
        "result": result,
        "phone": phone.map(EnrolledPhone::id),
        "to": phone.map(|phone| phone.number().masked()),
        "method": evidence.method,
        "restricted": evidence.properties.restricted,
        "verified_at": evidence.verified_at.as_secs(),
    });
    print_line(&line.to_string())
}

fn phones(args: &AccountArgs) -> Result<(), Failure> {
    let (_, store) = open(args)?;
    let phones = list_phones(&*store, &args.account).map_err(store_failure)?;
    let listed: Vec<_> = phones.iter().map(phone_json).collect();
    print_line(&serde_json::Value::Array(listed).to_string())
}

fn phone_json(phone: &EnrolledPhone) -> serde_json::Value {
    json!({
        "id": phone.id(),
        "number": phone.number().masked(),
        "kind": phone.number().kind(),
        "created_at": phone.created_at().as_secs(),
        "last_used_at": phone.last_used_at().map(UnixTime::as_secs),
    })
}

fn remove(args: &RemoveArgs) -> Result<(), Failure> {
    let (_, store) = open(&args.account)?;
    match remove_phone(&*store, &args.account.account, &args.phone).map_err(store_failure)? {
        Some(removed) => print_line(&phone_json(&removed).to_string()),
        None => Err(Failure::Rejected(format!(
            "the account has no phone {:?}",
            args.phone
        ))),
    }
}

fn demo(args: &DemoArgs) -> Result<(), Failure> {
    let now = SystemClock.now();
    let store: Box<dyn Store> = match &args.store {
        Some(spec) => stores::open(spec)?,
        None => Box::new(MemoryStore::new()),
    };
    send(&*store, &args.account, &args.delivery, now)?;
    let mut prompt = io::stderr().lock();
    let _ignored = write!(prompt, "Type the code you received: ").and_then(|()| prompt.flush());
    let mut line = String::new();
    io::stdin()
        .lock()
        .take(MAX_CODE_LINE)
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the code from stdin: {e}")))?;
    let policy = policy(Some(&args.delivery))?;
    let outcome = verify_code(
        &*store,
        &policy,
        &args.account,
        &args.delivery.transaction,
        line.trim_end_matches(['\r', '\n']),
        SystemClock.now(),
    );
    print_verified(outcome.map_err(failure)?)
}

/// How a refusal ends the command: 1 when a check or a limit said no, 2 for input that is not
/// what was asked for (a malformed code or number) and for a store or output that failed.
fn failure(error: AttemptError<OobError>) -> Failure {
    match error {
        AttemptError::Rejected(
            rejection @ (OobError::MalformedCode
            | OobError::InvalidNumber(_)
            | OobError::InvalidEmailAddress
            | OobError::InvalidParameter(_)
            | OobError::Delivery(_)),
        ) => Failure::Usage(rejection.to_string()),
        AttemptError::Rejected(rejection) => {
            Failure::Rejected(format!("{rejection} ({})", rejection.reason()))
        }
        AttemptError::ChallengeNotFound => Failure::Rejected(
            "no code is pending for this account: never sent, already used, or replaced (challenge_not_found)"
                .into(),
        ),
        AttemptError::NotEnrolled => Failure::Rejected(
            "no code was ever sent to this account (not_enrolled)".into(),
        ),
        throttled @ AttemptError::Throttled(_) => {
            Failure::Rejected(format!("{throttled} ({})", throttled.reason()))
        }
        AttemptError::Store(error) => store_failure(error),
        other => Failure::Usage(other.to_string()),
    }
}

fn store_failure(error: mfa_core::StoreError) -> Failure {
    Failure::Usage(format!("store: {error}"))
}
