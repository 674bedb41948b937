//! What every handler shares: the store, the sign-in log, the policy engine, the account rules,
//! the relying party, the clock, the operator key, the message outbox, the log and the templates.

use core::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use mfa_account::{AccountEvent, AccountEventSink, AccountPolicy};
use mfa_core::{AuditEvent, AuditResult, Clock, Method, StoreError, ThrottlePolicy, UnixTime};
use mfa_policy::Engine;
use mfa_webauthn::RelyingParty;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::session::ClientInfo;
use crate::store::{DemoAudit, DemoStore, StoreSpec};
use crate::web::Templates;

/// The policy the demo runs when `--policy` is not given.
pub const DEFAULT_POLICY: &str = include_str!("../policy.toml");

/// The shared application state handlers receive.
pub type AppState = Arc<App>;

/// Where log lines go: stderr in the binary, a buffer in tests. One line per event, never a
/// secret (the console SMS gateway's line is the one deliberate exception, see [`Outbox`]).
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// A log that writes to stderr.
#[must_use]
pub fn stderr_log() -> LogFn {
    Arc::new(|line: &str| eprintln!("{line}"))
}

/// How to build an [`App`].
pub struct AppOptions {
    /// Where the records live.
    pub store: StoreSpec,
    /// Redis for the short-lived records (with PostgreSQL).
    pub redis: Option<String>,
    /// The site's origin as the browser sees it (`http://localhost:8080`): the WebAuthn origin,
    /// the RP id (its host), the `Origin` every POST must carry, `Secure` cookies when https.
    pub origin: String,
    /// The operator page's key.
    pub operator_key: Zeroizing<String>,
    /// The native mfa-policy TOML source.
    pub policy_source: String,
    /// The clock (system time in the binary, a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Where log lines go.
    pub log: LogFn,
}

impl fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppOptions")
            .field("store", &self.store.to_string())
            .field("origin", &self.origin)
            .field("operator_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Why the app could not start.
#[derive(Debug)]
pub enum StartError {
    /// The store could not be opened.
    Store(StoreError),
    /// The policy file is not a valid policy.
    Policy(String),
    /// The origin is not `http(s)://host[:port]`.
    Origin(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(error) => write!(f, "cannot open the store: {error}"),
            Self::Policy(error) => write!(f, "the policy is not valid: {error}"),
            Self::Origin(error) => write!(f, "the origin is not valid: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A message sent through the console SMS/voice gateway (the `/messages` page shows them).
#[derive(Clone, Debug, serde::Serialize)]
pub struct OutboxMessage {
    /// When it was sent.
    pub sent_at: UnixTime,
    /// The E.164 number it went to.
    pub to: String,
    /// `sms` or `voice`.
    pub channel: String,
    /// The whole text.
    pub text: String,
    /// The code alone.
    pub code: String,
}

/// The console gateway's outbox: every message of the last hour, in this process's memory (a
/// demo stands in for the SMS provider; a second instance has its own outbox).
#[derive(Default)]
pub struct Outbox {
    messages: Mutex<Vec<OutboxMessage>>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Outbox")
    }
}

/// How long the outbox keeps a message.
const OUTBOX_KEEP_SECS: u64 = 3600;

impl Outbox {
    /// Keeps `message` (and forgets those older than an hour).
    pub fn push(&self, message: OutboxMessage) {
        let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        let cutoff = message.sent_at.as_secs().saturating_sub(OUTBOX_KEEP_SECS);
        messages.retain(|kept| kept.sent_at.as_secs() >= cutoff);
        messages.push(message);
    }

    /// The messages of the last hour before `now`, newest first.
    #[must_use]
    pub fn recent(&self, now: UnixTime) -> Vec<OutboxMessage> {
        let messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        let cutoff = now.as_secs().saturating_sub(OUTBOX_KEEP_SECS);
        let mut recent: Vec<OutboxMessage> = messages
            .iter()
            .filter(|message| message.sent_at.as_secs() >= cutoff)
            .cloned()
            .collect();
        recent.reverse();
        recent
    }
}

/// The application.
pub struct App {
    /// Every record: accounts, factors, sessions.
    pub store: DemoStore,
    /// The sign-in log.
    pub audit: DemoAudit,
    /// The conditional-access policy.
    pub engine: Engine,
    /// The policy's source text (the `/policy` page shows it).
    pub policy_source: String,
    /// mfa-account's limits.
    pub accounts: AccountPolicy,
    /// Limits on guessing (passwords, codes).
    pub throttle: ThrottlePolicy,
    /// The WebAuthn relying party (RP id = the origin's host).
    pub relying_party: RelyingParty,
    /// The configured origin (`http://localhost:8080`).
    pub origin: String,
    /// Whether cookies get `Secure` (an https origin).
    pub secure_cookies: bool,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The console SMS/voice gateway's messages.
    pub outbox: Outbox,
    /// The HTML templates.
    pub templates: Templates,
    operator_key: Zeroizing<String>,
    log: LogFn,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Opens the store and builds the app.
    ///
    /// # Errors
    /// [`StartError`] when the store cannot be opened, the policy is invalid, or the origin is
    /// not `http(s)://host[:port]`.
    pub async fn new(options: AppOptions) -> Result<Self, StartError> {
        let engine = Engine::from_toml(&options.policy_source)
            .map_err(|error| StartError::Policy(error.to_string()))?;
        let (rp_id, secure_cookies) = parse_origin(&options.origin)?;
        let (store, audit) = crate::store::open(
            &options.store,
            options.redis.as_deref(),
            Arc::clone(&options.clock),
        )
        .await
        .map_err(StartError::Store)?;
        Ok(Self {
            store,
            audit,
            engine,
            policy_source: options.policy_source,
            accounts: AccountPolicy::default(),
            throttle: ThrottlePolicy::default(),
            relying_party: RelyingParty::new(rp_id, "mfa demo", options.origin.clone()),
            origin: options.origin,
            secure_cookies,
            clock: options.clock,
            outbox: Outbox::default(),
            templates: Templates::new(),
            operator_key: options.operator_key,
            log: options.log,
        })
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Writes one line to the server log. Never pass a secret.
    pub fn log(&self, line: &str) {
        (self.log)(line);
    }

    /// Whether `typed` is the operator key (constant time).
    #[must_use]
    pub fn is_operator_key(&self, typed: &str) -> bool {
        bool::from(typed.as_bytes().ct_eq(self.operator_key.as_bytes()))
    }

    /// The account events sink: every event becomes one log line (events print without secrets).
    #[must_use]
    pub fn events(&self) -> LogEvents<'_> {
        LogEvents(self)
    }

    /// Records a sign-in attempt in the sign-in log and the server log: who, how, the result and
    /// the reason, and where from. A log that cannot be written is reported, not fatal.
    pub async fn audit_attempt(
        &self,
        account: &str,
        method: Method,
        result: AuditResult,
        reason: Option<&'static str>,
        client: &ClientInfo,
    ) {
        let mut event = AuditEvent::new(self.now(), account, result).with_method(method);
        if let Some(reason) = reason {
            event = event.with_reason(reason);
        }
        if let Some(ip) = client.ip {
            event = event.with_ip(ip.to_string());
        }
        if let Some(agent) = &client.user_agent {
            event = event.with_user_agent(agent.as_str());
        }
        self.log(&format!(
            "sign-in {account:?} method={} result={} reason={} ip={}",
            method.as_str(),
            result.as_str(),
            reason.unwrap_or("-"),
            client
                .ip
                .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        ));
        if let Err(error) = self.audit.record(event).await {
            self.log(&format!(
                "warning: the sign-in log was not written: {error}"
            ));
        }
    }
}

/// The RP id (the origin's host) and whether the origin is https.
fn parse_origin(origin: &str) -> Result<(String, bool), StartError> {
    let (secure, rest) = if let Some(rest) = origin.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = origin.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(StartError::Origin(format!(
            "{origin}: not http:// or https://"
        )));
    };
    if rest.contains('/') || rest.is_empty() {
        return Err(StartError::Origin(format!(
            "{origin}: scheme and host only (no path)"
        )));
    }
    let host = if rest.starts_with('[') {
        rest.split_inclusive(']').next().unwrap_or(rest)
    } else {
        rest.split(':').next().unwrap_or(rest)
    };
    Ok((host.to_owned(), secure))
}

/// Account events as log lines.
pub struct LogEvents<'a>(&'a App);

impl AccountEventSink for LogEvents<'_> {
    fn emit(&self, event: &AccountEvent) {
        self.0.log(&format!(
            "account {:?}: {} by {}",
            event.account,
            event.change.name(),
            event.actor
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn the_rp_id_is_the_origin_host() {
        assert_eq!(
            parse_origin("http://localhost:8080").ok(),
            Some(("localhost".to_owned(), false))
        );
        assert_eq!(
            parse_origin("https://demo.example").ok(),
            Some(("demo.example".to_owned(), true))
        );
        assert_eq!(
            parse_origin("http://[::1]:8080").ok(),
            Some(("[::1]".to_owned(), false))
        );
        for bad in ["localhost:8080", "ftp://x", "http://", "http://x/path"] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
