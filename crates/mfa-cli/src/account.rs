//! `mfa account`: a user's security info (mfa-account) from a shell, against a store (`--store`:
//! a JSON records file, `sqlite:PATH`, `postgres://…`, `redis://…`).
//!
//! `methods` lists and changes the registered methods (security info); `reset` is the help desk's
//! "require re-registration". Methods are added by the factor's own enrollment and first check
//! (a service's job: `mfa_account::begin_add` / `confirm_add`), so there is no `methods add`.
//!
//! Every subcommand prints one JSON line on stdout (times in Unix seconds). Those that create a
//! secret (`tap issue`, `app-password create`, `remember add`) print it alone on the line before,
//! once: it is stored hashed and cannot be shown again. Secrets to check are read from the first
//! line of stdin (`tap redeem`, `app-password check`, `remember check`), so they stay out of argv
//! and `ps`; `--pass`, `--password` and `--token` take them as arguments for scripts.
//!
//! Every change lists the account events it caused (`"events": ["tap_issued", …]`, the names of
//! `mfa_account::AccountChange`) and, in a database store, writes them to its sign-in log
//! (`mfa audit recent`), with the operator when `--operator` names one. Checks that refuse exit 1
//! with the reason (`tap_invalid`, `session_revoked` …); malformed input, a lifetime or name out of
//! bounds, and store failures exit 2.

use core::time::Duration;
use std::io::{self, BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use mfa_account::{
    AccountError, AccountEvent, AccountEventSink, AccountPolicy, Actor, EventLog, MethodEntry,
    MethodId, Operator, RegistrationStep, RemovalGuard, SecurityInfo, TapOptions,
    check_app_password, check_remembered, check_session, create_app_password, forget_device,
    format_lifetime, issue_tap, list_app_passwords, list_remembered, list_taps, parse_lifetime,
    redeem_tap, registration_step, remember_device, remove, rename, require_reregistration,
    revoke_all_app_passwords, revoke_app_password, revoke_tap, security_info, set_default,
    sign_out_everywhere,
};
use mfa_core::{
    AttemptError, AuditEvent, Clock as _, Evidence, ManualClock, Method, Rejection as _, Store,
    StoreError, SystemClock, UnixTime,
};
use mfa_policy::{ClientApp, Engine, SignInContext};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::outcome::{Failure, print_line, print_lines_strict};
use crate::stores::{self, StoreSpec};

/// The longest line read from stdin for a secret.
const MAX_SECRET_LINE: u64 = 1024;
/// The longest account name taken.
const MAX_ACCOUNT_LEN: usize = 256;
/// Most pieces of evidence a `--session` file may list.
const MAX_SESSION_EVIDENCE: usize = 32;
/// The application of the default removal probe: the security-info page itself.
const SECURITY_INFO_APPLICATION: &str = "security-info";
/// The policy removals are judged by without `--policy`: every sign-in needs a second factor.
const DEFAULT_REMOVAL_POLICY: &str = r#"
[[policies]]
name = "MFA for every sign-in"
grant = { authentication_strength = "mfa" }
"#;

/// Subcommands of `mfa account`.
#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Security info: the account's registered methods; rename, remove, choose the default.
    #[command(subcommand)]
    Methods(MethodsCommand),
    /// Help desk: require re-registration. Removes every method (and the factors' state), signs
    /// the account out everywhere, forgets remembered devices, revokes app passwords, and sends
    /// the next sign-in straight to registration. Recorded with the operator.
    Reset(ResetArgs),
    /// Temporary access passes: a time-limited pass an operator gives a user who has no usable
    /// method, good for registering methods only.
    #[command(subcommand)]
    Tap(TapCommand),
    /// App passwords for clients that cannot do MFA (IMAP, SMTP, scripts): legacy clients only.
    #[command(subcommand)]
    AppPassword(AppPasswordCommand),
    /// Sign out everywhere: end every session and forget every remembered device of the account.
    /// Prints the new revocation epoch.
    SignoutAll(SignoutArgs),
    /// Sessions: whether a session issued under a revocation epoch is still valid.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Remembered devices: browsers not asked for a second factor until the token expires.
    #[command(subcommand)]
    Remember(RememberCommand),
}

/// Subcommands of `mfa account methods`.
#[derive(Debug, Subcommand)]
pub(crate) enum MethodsCommand {
    /// List the account's methods, oldest first, with the default and whether the next sign-in
    /// must (or may) register one.
    List(AccountArgs),
    /// Rename a method. Exit 1 when the account has no such method.
    Rename(RenameArgs),
    /// Remove a method ("I lost my phone"), with the factor's own state. Exit 1 when the session
    /// is weaker than the method (weakens_assurance) or the policy could no longer be met
    /// (last_strong_method).
    Remove(RemoveArgs),
    /// Make a method the one offered first at sign-in. Exit 1 when the account has no such
    /// method.
    Default(MethodIdArgs),
}

/// Subcommands of `mfa account tap`.
#[derive(Debug, Subcommand)]
pub(crate) enum TapCommand {
    /// Issue a pass (replacing the account's previous one). Prints the pass once, then JSON.
    Issue(TapIssueArgs),
    /// Sign in with a pass, read from stdin (or --pass). Exit 1 when it is wrong, used up,
    /// revoked (tap_invalid) or outside its validity (tap_expired).
    Redeem(TapRedeemArgs),
    /// List the account's passes (never the pass itself).
    List(AccountArgs),
    /// Revoke a pass by its id. Exit 1 when the account has no such pass.
    Revoke(RevokeArgs),
}

/// Subcommands of `mfa account app-password`.
#[derive(Debug, Subcommand)]
pub(crate) enum AppPasswordCommand {
    /// Create an app password for one app. Prints the password once, then JSON.
    Create(AppPasswordCreateArgs),
    /// List the account's app passwords: id, name, created, last used.
    List(AccountArgs),
    /// Revoke one app password (--id) or all of them (--all). Exit 1 for an unknown id.
    Revoke(AppPasswordRevokeArgs),
    /// Check an app password, read from stdin (or --password), as a client of the given type
    /// would present it. Exit 1 when refused: wrong or revoked, or not a legacy client.
    Check(AppPasswordCheckArgs),
}

/// Subcommands of `mfa account session`.
#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Exit 0 when a session issued under --epoch is still valid, 1 when the account has been
    /// signed out everywhere (or reset) since.
    Check(SessionCheckArgs),
}

/// Subcommands of `mfa account remember`.
#[derive(Debug, Subcommand)]
pub(crate) enum RememberCommand {
    /// Remember a device after a multi-factor sign-in. Prints the token once, then JSON.
    Add(RememberAddArgs),
    /// Check a remembered-device token, read from stdin (or --token): prints until when the
    /// device is remembered; exit 1 when unknown, forgotten, signed out or expired.
    Check(RememberCheckArgs),
    /// List the account's remembered devices.
    List(AccountArgs),
    /// Forget one remembered device by its id. Exit 1 when the account has no such device.
    Forget(RevokeArgs),
}

/// The store, account and time every subcommand works with.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// The store: a JSON records file, `sqlite:PATH`, `postgres://…` or `redis://…`.
    #[arg(long, value_name = "STORE", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// The account.
    #[arg(long, value_name = "A", value_parser = parse_account)]
    account: String,
    /// Act at this time (Unix seconds) instead of now; the store judges expiry by it too.
    #[arg(long, value_name = "T")]
    time: Option<u64>,
}

/// Arguments naming one method.
#[derive(Debug, Args)]
pub(crate) struct MethodIdArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The method's id, as `methods list` shows it.
    #[arg(long, value_name = "ID", value_parser = parse_method_id, allow_hyphen_values = true)]
    id: MethodId,
}

/// Arguments of `mfa account methods rename`.
#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    #[command(flatten)]
    method: MethodIdArgs,
    /// The new name, at most 64 characters.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    name: String,
}

/// Arguments of `mfa account methods remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    #[command(flatten)]
    method: MethodIdArgs,
    /// The service's policy, native TOML or JSON (as `mfa policy` reads it): a removal that would
    /// leave the probe sign-in unable to meet it is refused. Default: every sign-in needs MFA.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The user's usual sign-in, as a `SignInContext` JSON (as `mfa policy eval` reads it).
    /// Default: a browser sign-in of the account to the application `security-info` with a
    /// password.
    #[arg(long, value_name = "CONTEXT.json")]
    context: Option<PathBuf>,
    /// What the session removing the method has proved: a JSON array of evidence
    /// (`[{"method": "password", "verified_at": MILLIS, "credential": "…", "properties": {…}}]`).
    /// Default: a password and the account's default method, checked now.
    #[arg(long, value_name = "EVIDENCE.json")]
    session: Option<PathBuf>,
}

/// Arguments of `mfa account reset`.
#[derive(Debug, Args)]
pub(crate) struct ResetArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The help-desk operator requiring re-registration (recorded).
    #[arg(long, value_name = "ID", value_parser = parse_operator)]
    operator: Operator,
}

/// Who acts, when it is not the account holder.
#[derive(Debug, Args)]
pub(crate) struct ActorArgs {
    /// An operator (help desk, administrator) acting for the account, recorded in the events.
    #[arg(long, value_name = "ID", value_parser = parse_operator)]
    operator: Option<Operator>,
}

impl ActorArgs {
    fn actor(&self) -> Actor {
        self.operator.as_ref().map_or(Actor::User, |operator| {
            Actor::Operator(operator.id().to_owned())
        })
    }
}

/// Arguments of `mfa account tap issue`.
#[derive(Debug, Args)]
pub(crate) struct TapIssueArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The operator issuing the pass (recorded).
    #[arg(long, value_name = "ID", value_parser = parse_operator)]
    operator: Operator,
    /// How long the pass lasts from its start: 10m to 30d (`90s`, `10m`, `1h`, `30d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_lifetime_arg, default_value = "1h")]
    lifetime: Duration,
    /// The pass works once (the default).
    #[arg(long, conflicts_with = "multi_use")]
    one_time: bool,
    /// The pass works any number of times until it expires.
    #[arg(long)]
    multi_use: bool,
    /// The pass starts working at this time (Unix seconds; default: now).
    #[arg(long, value_name = "T")]
    start: Option<u64>,
}

/// Arguments of `mfa account tap redeem`.
#[derive(Debug, Args)]
pub(crate) struct TapRedeemArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The pass, for scripts (visible to other users in `ps`); default: the first line of stdin.
    #[arg(long, value_name = "PASS", allow_hyphen_values = true)]
    pass: Option<String>,
}

/// Arguments of `tap revoke` and `remember forget`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The id, as `list` shows it.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    id: String,
    #[command(flatten)]
    actor: ActorArgs,
}

/// Arguments of `mfa account app-password create`.
#[derive(Debug, Args)]
pub(crate) struct AppPasswordCreateArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The app it is for ("Thunderbird on the laptop"), at most 64 characters.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    name: String,
}

/// Arguments of `mfa account app-password revoke`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all"])))]
pub(crate) struct AppPasswordRevokeArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The app password's id, as `list` shows it.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    id: Option<String>,
    /// Revoke every app password of the account.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    actor: ActorArgs,
}

/// Client types, as the policy engine knows them.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ClientArg {
    /// IMAP, POP3, SMTP, basic authentication: the only clients app passwords are for.
    Legacy,
    /// A web browser.
    Browser,
    /// A mobile or desktop app with modern authentication.
    MobileDesktop,
}

impl From<ClientArg> for ClientApp {
    fn from(client: ClientArg) -> Self {
        match client {
            ClientArg::Legacy => Self::Legacy,
            ClientArg::Browser => Self::Browser,
            ClientArg::MobileDesktop => Self::MobileDesktop,
        }
    }
}

/// Arguments of `mfa account app-password check`.
#[derive(Debug, Args)]
pub(crate) struct AppPasswordCheckArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The password, for scripts (visible to other users in `ps`); default: the first line of
    /// stdin.
    #[arg(long, value_name = "PASSWORD", allow_hyphen_values = true)]
    password: Option<String>,
    /// The type of client presenting it.
    #[arg(long, value_enum, default_value = "legacy")]
    client: ClientArg,
}

/// Arguments of `mfa account signout-all`.
#[derive(Debug, Args)]
pub(crate) struct SignoutArgs {
    #[command(flatten)]
    account: AccountArgs,
    #[command(flatten)]
    actor: ActorArgs,
}

/// Arguments of `mfa account session check`.
#[derive(Debug, Args)]
pub(crate) struct SessionCheckArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The revocation epoch the session was issued under (0 before any sign-out everywhere).
    #[arg(long, value_name = "N")]
    epoch: u64,
}

/// Arguments of `mfa account remember add`.
#[derive(Debug, Args)]
pub(crate) struct RememberAddArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// What the user will recognise the device by ("Firefox on the laptop").
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    label: String,
    /// How long to remember it: at most 90d.
    #[arg(long, value_name = "DURATION", value_parser = parse_lifetime_arg, default_value = "30d")]
    lifetime: Duration,
}

/// Arguments of `mfa account remember check`.
#[derive(Debug, Args)]
pub(crate) struct RememberCheckArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The token, for scripts (visible to other users in `ps`); default: the first line of stdin.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    token: Option<String>,
}

/// Runs one `mfa account` subcommand.
pub(crate) fn run(command: AccountCommand) -> Result<(), Failure> {
    match command {
        AccountCommand::Methods(MethodsCommand::List(args)) => methods_list(&args),
        AccountCommand::Methods(MethodsCommand::Rename(args)) => methods_rename(&args),
        AccountCommand::Methods(MethodsCommand::Remove(args)) => methods_remove(&args),
        AccountCommand::Methods(MethodsCommand::Default(args)) => methods_default(&args),
        AccountCommand::Reset(args) => reset(&args),
        AccountCommand::Tap(TapCommand::Issue(args)) => tap_issue(&args),
        AccountCommand::Tap(TapCommand::Redeem(args)) => tap_redeem(&args),
        AccountCommand::Tap(TapCommand::List(args)) => tap_list(&args),
        AccountCommand::Tap(TapCommand::Revoke(args)) => revoke_by_id(
            &args.account,
            &args.id,
            &args.actor,
            revoke_tap::<dyn Store>,
        ),
        AccountCommand::AppPassword(AppPasswordCommand::Create(args)) => app_password_create(&args),
        AccountCommand::AppPassword(AppPasswordCommand::List(args)) => app_password_list(&args),
        AccountCommand::AppPassword(AppPasswordCommand::Revoke(args)) => app_password_revoke(&args),
        AccountCommand::AppPassword(AppPasswordCommand::Check(args)) => app_password_check(&args),
        AccountCommand::SignoutAll(args) => signout_all(&args),
        AccountCommand::Session(SessionCommand::Check(args)) => session_check(&args),
        AccountCommand::Remember(RememberCommand::Add(args)) => remember_add(&args),
        AccountCommand::Remember(RememberCommand::Check(args)) => remember_check(&args),
        AccountCommand::Remember(RememberCommand::List(args)) => remember_list(&args),
        AccountCommand::Remember(RememberCommand::Forget(args)) => revoke_by_id(
            &args.account,
            &args.id,
            &args.actor,
            forget_device::<dyn Store>,
        ),
    }
}

/// An account opened for one command: its store (judging expiry by the command's time), the
/// time, and the events the command's changes emit.
struct Opened<'a> {
    spec: &'a StoreSpec,
    account: &'a str,
    now: UnixTime,
    store: Box<dyn Store>,
    events: EventLog,
}

impl<'a> Opened<'a> {
    fn new(args: &'a AccountArgs) -> Result<Self, Failure> {
        let now = args
            .time
            .map_or_else(|| SystemClock.now(), UnixTime::from_secs);
        Ok(Self {
            spec: &args.store,
            account: &args.account,
            now,
            store: stores::open_with_clock(&args.store, ManualClock::new(now))?,
            events: EventLog::new(),
        })
    }

    /// Writes the events emitted so far to the sign-in log (database stores) and gives their
    /// names for the output.
    fn record_events(&self) -> Vec<&'static str> {
        let events = self.events.take();
        if self.spec.is_database() {
            for event in &events {
                stores::record_audit(self.spec, &event.audit_event());
            }
        }
        events.iter().map(event_name).collect()
    }

    /// Writes one attempt (a check that changes no security info) to the sign-in log of a
    /// database store.
    fn record_attempt(&self, event: &AuditEvent) {
        if self.spec.is_database() {
            stores::record_audit(self.spec, event);
        }
    }
}

fn event_name(event: &AccountEvent) -> &'static str {
    event.change.name()
}

/// Prints a secret shown only once and the JSON about it, and makes sure both were written:
/// when they were not, `undo` takes the secret back (it would be stored but unknown to anyone)
/// and the command fails.
fn print_secret_once(
    opened: &Opened<'_>,
    secret: &str,
    line: &Value,
    undo: impl FnOnce(&Opened<'_>) -> Result<(), AttemptError<AccountError>>,
) -> Result<(), Failure> {
    let line = line.to_string();
    let Err(failure) = print_lines_strict([secret, line.as_str()]) else {
        return Ok(());
    };
    let undone = undo(opened);
    let _recorded = opened.record_events();
    match undone {
        Ok(()) => Err(failure),
        Err(error) => Err(Failure::Usage(format!(
            "the secret could not be shown and could not be revoked either ({}); revoke it by its id",
            message(&refusal(error))
        ))),
    }
}

fn methods_list(args: &AccountArgs) -> Result<(), Failure> {
    let opened = Opened::new(args)?;
    let info = security_info(&*opened.store, opened.account).map_err(store_failure)?;
    let step = registration_step(
        &*opened.store,
        &AccountPolicy::default(),
        opened.account,
        opened.now,
    )
    .map_err(store_failure)?;
    let line = json!({
        "methods": info.methods.iter().map(|entry| method_json(&info, entry)).collect::<Vec<_>>(),
        "default_method": info.default_method.as_ref().map(MethodId::as_str),
        "registration": registration_json(&step)?,
    });
    print_line(&line.to_string())
}

/// One method, as `methods list` and `methods remove` show it.
fn method_json(info: &SecurityInfo, entry: &MethodEntry) -> Value {
    json!({
        "id": entry.id.as_str(),
        "kind": entry.kind,
        "name": entry.name,
        "default": info.default_method.as_ref() == Some(&entry.id),
        "created_at": entry.created_at.as_secs(),
        "last_used_at": entry.last_used_at.map(UnixTime::as_secs),
        "provider": entry.provider,
        "aal": entry.nist_level(),
        "phishing_resistant": entry.properties.phishing_resistant,
    })
}

/// The registration step, with its time in Unix seconds like every other time here.
fn registration_json(step: &RegistrationStep) -> Result<Value, Failure> {
    let mut value = serde_json::to_value(step)
        .map_err(|e| Failure::Usage(format!("cannot encode JSON: {e}")))?;
    if let RegistrationStep::Offered {
        postponed_until_if_skipped,
        ..
    } = step
        && let Some(object) = value.as_object_mut()
    {
        object.insert(
            "postponed_until_if_skipped".to_owned(),
            json!(postponed_until_if_skipped.as_secs()),
        );
    }
    Ok(value)
}

fn methods_rename(args: &RenameArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.method.account)?;
    rename(
        &*opened.store,
        &AccountPolicy::default(),
        &opened.events,
        opened.account,
        &args.method.id,
        &args.name,
        opened.now,
    )
    .map_err(refusal)?;
    changed_method(&opened, &args.method.id)
}

fn methods_default(args: &MethodIdArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.account)?;
    set_default(
        &*opened.store,
        &opened.events,
        opened.account,
        &args.id,
        opened.now,
    )
    .map_err(refusal)?;
    changed_method(&opened, &args.id)
}

/// The output of a change to one method: the method as it is now, and the events.
fn changed_method(opened: &Opened<'_>, id: &MethodId) -> Result<(), Failure> {
    let info = security_info(&*opened.store, opened.account).map_err(store_failure)?;
    let method = info.method(id).map(|entry| method_json(&info, entry));
    let line = json!({ "method": method, "events": opened.record_events() });
    print_line(&line.to_string())
}

fn methods_remove(args: &RemoveArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.method.account)?;
    let engine = match &args.policy {
        Some(path) => policy_file(path)?,
        None => Engine::from_toml(DEFAULT_REMOVAL_POLICY)
            .map_err(|e| Failure::Usage(format!("the default removal policy: {e}")))?,
    };
    let probe = match &args.context {
        Some(path) => SignInContext::from_json(&read_text(path)?)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?,
        None => SignInContext::builder(opened.account, SECURITY_INFO_APPLICATION, opened.now)
            .evidence(password_evidence(opened.now))
            .build(),
    };
    let session = match &args.session {
        Some(path) => session_file(path)?,
        None => {
            let info = security_info(&*opened.store, opened.account).map_err(store_failure)?;
            default_session(&info, opened.now)
        }
    };
    let removed = remove(
        &*opened.store,
        &opened.events,
        opened.account,
        &args.method.id,
        &session,
        &RemovalGuard::new(&engine, probe),
        opened.now,
    )
    .map_err(refusal)?;
    let line = json!({
        "removed": method_json(&SecurityInfo::default(), &removed),
        "session": session.iter().map(|evidence| evidence.method).collect::<Vec<_>>(),
        "events": opened.record_events(),
    });
    print_line(&line.to_string())
}

fn password_evidence(now: UnixTime) -> Evidence {
    Evidence::new(Method::Password, now, "password")
}

/// The session `methods remove` assumes without `--session`: a password and the default method,
/// both checked now.
fn default_session(info: &SecurityInfo, now: UnixTime) -> Vec<Evidence> {
    let mut session = vec![password_evidence(now)];
    if let Some(entry) = info.default_entry() {
        session.push(
            Evidence::new(entry.kind.method(), now, entry.credential_id())
                .with_properties(entry.properties),
        );
    }
    session
}

/// A native policy file (TOML, or JSON when it starts with `{`), compiled.
fn policy_file(path: &Path) -> Result<Engine, Failure> {
    let text = read_text(path)?;
    let engine = if text.trim_start().starts_with('{') {
        Engine::from_json(&text)
    } else {
        Engine::from_toml(&text)
    };
    engine.map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
}

/// A `--session` file: a JSON array of at most 32 pieces of evidence.
fn session_file(path: &Path) -> Result<Vec<Evidence>, Failure> {
    let session: Vec<Evidence> = serde_json::from_str(&read_text(path)?).map_err(|e| {
        Failure::Usage(format!(
            "{}: not a JSON array of evidence: {e}",
            path.display()
        ))
    })?;
    if session.len() > MAX_SESSION_EVIDENCE {
        return Err(Failure::Usage(format!(
            "{}: more than {MAX_SESSION_EVIDENCE} pieces of evidence",
            path.display()
        )));
    }
    Ok(session)
}

/// A UTF-8 file, bounded as `mfa policy` bounds its input, without a byte-order mark.
fn read_text(path: &Path) -> Result<String, Failure> {
    let text = String::from_utf8(crate::policy::read(path)?)
        .map_err(|_| Failure::Usage(format!("{} is not UTF-8", path.display())))?;
    Ok(text.trim_start_matches('\u{feff}').to_owned())
}

fn reset(args: &ResetArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.account)?;
    let outcome = require_reregistration(
        &*opened.store,
        &opened.events,
        opened.account,
        &args.operator,
        opened.now,
    )
    .map_err(refusal)?;
    let step = registration_step(
        &*opened.store,
        &AccountPolicy::default(),
        opened.account,
        opened.now,
    )
    .map_err(store_failure)?;
    let line = json!({
        "operator": args.operator.id(),
        "methods_removed": outcome.methods_removed,
        "remembered_removed": outcome.remembered_removed,
        "app_passwords_revoked": outcome.app_passwords_revoked,
        "epoch": outcome.epoch,
        "registration": registration_json(&step)?,
        "events": opened.record_events(),
    });
    print_line(&line.to_string())
}

fn tap_issue(args: &TapIssueArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.account)?;
    let mut options = if args.multi_use {
        TapOptions::multi_use(args.lifetime)
    } else {
        TapOptions::one_time(args.lifetime)
    };
    if let Some(start) = args.start {
        options = options.starting_at(UnixTime::from_secs(start));
    }
    let policy = AccountPolicy::default();
    let issued = issue_tap(
        &*opened.store,
        &policy,
        &opened.events,
        opened.account,
        &args.operator,
        options,
        opened.now,
        &mut rand::rng(),
    )
    .map_err(lifetime_refusal(format!(
        "a pass lasts {} to {} and starts within {}",
        format_lifetime(policy.tap_min_lifetime),
        format_lifetime(policy.tap_max_lifetime),
        format_lifetime(policy.tap_max_lifetime),
    )))?;
    let line = json!({
        "pass_id": issued.pass_id,
        "one_time": issued.one_time,
        "starts_at": issued.starts_at.as_secs(),
        "expires_at": issued.expires_at.as_secs(),
        "lifetime": format_lifetime(args.lifetime),
        "issued_by": args.operator.id(),
        "events": opened.record_events(),
    });
    print_secret_once(&opened, &issued.pass, &line, |opened| {
        revoke_tap(
            &*opened.store,
            &opened.events,
            opened.account,
            &issued.pass_id,
            Actor::Operator(args.operator.id().to_owned()),
            opened.now,
        )
    })
}

fn tap_redeem(args: &TapRedeemArgs) -> Result<(), Failure> {
    let pass = secret_input(args.pass.as_deref(), "temporary access pass")?;
    let opened = Opened::new(&args.account)?;
    let outcome = redeem_tap(
        &*opened.store,
        &opened.events,
        opened.account,
        &pass,
        opened.now,
    );
    // A success is in the sign-in log through the events it emits (tap_redeemed,
    // recovery_sign_in); a refusal is logged as an attempt.
    if outcome.is_err() {
        opened.record_attempt(&AuditEvent::for_attempt(
            opened.now,
            opened.account,
            Method::TemporaryAccessPass,
            "",
            &outcome,
        ));
    }
    let (evidence, grant) = outcome.map_err(refusal)?.into_parts();
    let line = json!({
        "redeemed": true,
        "pass_id": grant.pass_id(),
        "one_time": grant.one_time(),
        "uses": grant.uses(),
        "expires_at": grant.expires_at().as_secs(),
        "method": evidence.method,
        "verified_at": evidence.verified_at.as_secs(),
        "good_for": ["register_security_info"],
        "events": opened.record_events(),
    });
    print_line(&line.to_string())
}

fn tap_list(args: &AccountArgs) -> Result<(), Failure> {
    print_list(args, list_taps::<dyn Store>, |pass, now| {
        json!({
            "pass_id": pass.pass_id,
            "issued_by": pass.issued_by,
            "issued_at": pass.issued_at.as_secs(),
            "starts_at": pass.starts_at.as_secs(),
            "expires_at": pass.expires_at.as_secs(),
            "one_time": pass.one_time,
            "uses": pass.uses,
            "last_used_at": pass.last_used_at.map(UnixTime::as_secs),
            "valid_now": pass.is_valid_at(now),
        })
    })
}

/// Prints what `list` gives for the account as a JSON array of `to_json(item, now)`.
fn print_list<T>(
    args: &AccountArgs,
    list: fn(&(dyn Store + 'static), &str) -> Result<Vec<T>, StoreError>,
    to_json: impl Fn(&T, UnixTime) -> Value,
) -> Result<(), Failure> {
    let opened = Opened::new(args)?;
    let items = list(&*opened.store, opened.account).map_err(store_failure)?;
    let listed = items.iter().map(|item| to_json(item, opened.now)).collect();
    print_line(&Value::Array(listed).to_string())
}

/// A library function revoking one pass, app password or remembered device by its id.
type RevokeById = fn(
    &(dyn Store + 'static),
    &dyn AccountEventSink,
    &str,
    &str,
    Actor,
    UnixTime,
) -> Result<(), AttemptError<AccountError>>;

/// `tap revoke`, `app-password revoke --id`, `remember forget`: exit 1 for an unknown id.
fn revoke_by_id(
    account: &AccountArgs,
    id: &str,
    actor: &ActorArgs,
    revoke: RevokeById,
) -> Result<(), Failure> {
    let opened = Opened::new(account)?;
    revoke(
        &*opened.store,
        &opened.events,
        opened.account,
        id,
        actor.actor(),
        opened.now,
    )
    .map_err(refusal)?;
    let line = json!({ "revoked": id, "events": opened.record_events() });
    print_line(&line.to_string())
}

fn app_password_create(args: &AppPasswordCreateArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.account)?;
    let created = create_app_password(
        &*opened.store,
        &AccountPolicy::default(),
        &opened.events,
        opened.account,
        &args.name,
        opened.now,
        &mut rand::rng(),
    )
    .map_err(refusal)?;
    let line = json!({
        "id": created.id,
        "name": created.name,
        "created_at": created.created_at.as_secs(),
        "events": opened.record_events(),
    });
    print_secret_once(&opened, &created.password, &line, |opened| {
        revoke_app_password(
            &*opened.store,
            &opened.events,
            opened.account,
            &created.id,
            Actor::System,
            opened.now,
        )
    })
}

fn app_password_list(args: &AccountArgs) -> Result<(), Failure> {
    print_list(args, list_app_passwords::<dyn Store>, |password, _| {
        json!({
            "id": password.id,
            "name": password.name,
            "created_at": password.created_at.as_secs(),
            "last_used_at": password.last_used_at.map(UnixTime::as_secs),
        })
    })
}

fn app_password_revoke(args: &AppPasswordRevokeArgs) -> Result<(), Failure> {
    if let Some(id) = &args.id {
        return revoke_by_id(
            &args.account,
            id,
            &args.actor,
            revoke_app_password::<dyn Store>,
        );
    }
    account_wide(
        &args.account,
        &args.actor,
        "revoked_all",
        revoke_all_app_passwords::<dyn Store>,
    )
}

fn app_password_check(args: &AppPasswordCheckArgs) -> Result<(), Failure> {
    let password = secret_input(args.password.as_deref(), "app password")?;
    let opened = Opened::new(&args.account)?;
    let client = ClientApp::from(args.client);
    let outcome = check_app_password(
        &*opened.store,
        &AccountPolicy::default(),
        opened.account,
        &password,
        client,
        opened.now,
    );
    opened.record_attempt(&AuditEvent::for_attempt(
        opened.now,
        opened.account,
        Method::Password,
        "",
        &outcome,
    ));
    let (evidence, used) = outcome.map_err(refusal)?.into_parts();
    let line = json!({
        "accepted": true,
        "id": used.id(),
        "name": used.name(),
        "previously_used_at": used.previously_used_at().map(UnixTime::as_secs),
        "method": evidence.method,
        "client": client,
        "app_password": true,
    });
    print_line(&line.to_string())
}

fn signout_all(args: &SignoutArgs) -> Result<(), Failure> {
    account_wide(
        &args.account,
        &args.actor,
        "epoch",
        sign_out_everywhere::<dyn Store>,
    )
}

/// A library function changing the whole account on behalf of an actor.
type AccountWide<T> = fn(
    &(dyn Store + 'static),
    &dyn AccountEventSink,
    &str,
    Actor,
    UnixTime,
) -> Result<T, StoreError>;

/// A change to the whole account (`signout-all`, `app-password revoke --all`): prints its result
/// under `key`, and the events.
fn account_wide<T: serde::Serialize>(
    account: &AccountArgs,
    actor: &ActorArgs,
    key: &str,
    change: AccountWide<T>,
) -> Result<(), Failure> {
    let opened = Opened::new(account)?;
    let result = change(
        &*opened.store,
        &opened.events,
        opened.account,
        actor.actor(),
        opened.now,
    )
    .map_err(store_failure)?;
    let mut line = json!({ "events": opened.record_events() });
    if let Some(object) = line.as_object_mut() {
        object.insert(key.to_owned(), json!(result));
    }
    print_line(&line.to_string())
}

fn session_check(args: &SessionCheckArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.account)?;
    check_session(&*opened.store, opened.account, args.epoch).map_err(refusal)?;
    print_line(&json!({ "valid": true, "epoch": args.epoch }).to_string())
}

fn remember_add(args: &RememberAddArgs) -> Result<(), Failure> {
    let opened = Opened::new(&args.account)?;
    let policy = AccountPolicy::default();
    let remembered = remember_device(
        &*opened.store,
        &policy,
        &opened.events,
        opened.account,
        &args.label,
        args.lifetime,
        opened.now,
        &mut rand::rng(),
    )
    .map_err(lifetime_refusal(format!(
        "a device is remembered for at most {}",
        format_lifetime(policy.remember_max_lifetime)
    )))?;
    let line = json!({
        "id": remembered.id,
        "expires_at": remembered.expires_at.as_secs(),
        "events": opened.record_events(),
    });
    print_secret_once(&opened, &remembered.token, &line, |opened| {
        forget_device(
            &*opened.store,
            &opened.events,
            opened.account,
            &remembered.id,
            Actor::System,
            opened.now,
        )
    })
}

fn remember_check(args: &RememberCheckArgs) -> Result<(), Failure> {
    let token = secret_input(args.token.as_deref(), "remembered-device token")?;
    let opened = Opened::new(&args.account)?;
    let until =
        check_remembered(&*opened.store, opened.account, &token, opened.now).map_err(refusal)?;
    let line = json!({ "remembered": true, "remembered_until": until.as_secs() });
    print_line(&line.to_string())
}

fn remember_list(args: &AccountArgs) -> Result<(), Failure> {
    print_list(args, list_remembered::<dyn Store>, |device, _| {
        json!({
            "id": device.id,
            "label": device.label,
            "created_at": device.created_at.as_secs(),
            "expires_at": device.expires_at.as_secs(),
        })
    })
}

/// A secret to check: the argument when given, else the first line of stdin (prompting on
/// stderr when stdin is a terminal). Empty input, a line longer than 1 KiB or one that is not
/// UTF-8 is malformed (exit 2).
fn secret_input(argument: Option<&str>, what: &str) -> Result<Zeroizing<String>, Failure> {
    if let Some(secret) = argument {
        return non_empty(Zeroizing::new(secret.trim().to_owned()), what);
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        let mut prompt = io::stderr().lock();
        let _ignored = write!(prompt, "Type the {what}: ").and_then(|()| prompt.flush());
    }
    let mut line = Zeroizing::new(String::new());
    let read = stdin
        .lock()
        .take(MAX_SECRET_LINE.saturating_add(1))
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the {what} from stdin: {e}")))?;
    if u64::try_from(read).map_or(true, |read| read > MAX_SECRET_LINE) {
        return Err(Failure::Usage(format!(
            "the {what} on stdin is longer than {MAX_SECRET_LINE} bytes"
        )));
    }
    non_empty(Zeroizing::new(line.trim().to_owned()), what)
}

fn non_empty(secret: Zeroizing<String>, what: &str) -> Result<Zeroizing<String>, Failure> {
    if secret.is_empty() {
        return Err(Failure::Usage(format!("no {what} given")));
    }
    Ok(secret)
}

/// `--account`: not empty, at most 256 bytes, no control characters. Every subcommand's
/// `--account` goes through it (a clap value parser), so a name no service would issue is
/// refused (exit 2) before any store is opened or any sign-in is logged.
pub(crate) fn parse_account(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > MAX_ACCOUNT_LEN || text.chars().any(char::is_control) {
        return Err(format!(
            "an account is 1 to {MAX_ACCOUNT_LEN} bytes without control characters"
        ));
    }
    Ok(text.to_owned())
}

/// `--id` of a method: well-formed, or no method can have it.
fn parse_method_id(text: &str) -> Result<MethodId, String> {
    MethodId::parse(text).map_err(|_| "not a method id (as `methods list` shows them)".to_owned())
}

/// `--operator`: an [`Operator`] id.
fn parse_operator(text: &str) -> Result<Operator, String> {
    Operator::new(text).map_err(|error| error.to_string())
}

/// `--lifetime`: `90s`, `10m`, `1h`, `30d`.
fn parse_lifetime_arg(text: &str) -> Result<Duration, String> {
    parse_lifetime(text).map_err(|_| {
        "expected a whole number and a unit: s, m, h or d (90s, 10m, 1h, 30d)".to_owned()
    })
}

/// How a refusal ends the command: exit 1 when a check said no, 2 when the input is out of
/// bounds (a lifetime, name or operator id the library will not take) or the store failed.
fn refusal(error: AttemptError<AccountError>) -> Failure {
    match error {
        AttemptError::Rejected(
            error @ (AccountError::InvalidLifetime
            | AccountError::InvalidName
            | AccountError::InvalidOperator
            | AccountError::CorruptRecord),
        ) => Failure::Usage(format!("{error} ({})", error.reason())),
        AttemptError::Rejected(error) => Failure::Rejected(format!("{error} ({})", error.reason())),
        AttemptError::Store(error) => store_failure(error),
        other => Failure::Rejected(format!("{other} ({})", other.reason())),
    }
}

/// As [`refusal`], explaining a lifetime out of bounds with `bounds`.
fn lifetime_refusal(bounds: String) -> impl FnOnce(AttemptError<AccountError>) -> Failure {
    move |error| match error {
        AttemptError::Rejected(AccountError::InvalidLifetime) => {
            Failure::Usage(format!("{bounds} (invalid_lifetime)"))
        }
        other => refusal(other),
    }
}

fn store_failure(error: StoreError) -> Failure {
    Failure::Usage(format!("store: {error}"))
}

/// The message a failure carries.
fn message(failure: &Failure) -> &str {
    match failure {
        Failure::Rejected(message) | Failure::Usage(message) => message,
    }
}
