//! The browser session: a random cookie whose hash names a record in the store, holding the
//! account, what has been proven (the evidence list), the CSRF token, pending ceremony ids and
//! mfa-account's session epoch. The [`session_layer`] middleware loads it for every page, checks
//! `Origin` and the CSRF token of every POST, and sets the cookie.
//!
//! Also here: what the policy needs now ([`policy_need`]), who may see which page ([`access`]),
//! and the step after any factor succeeds ([`complete_factor`]).

use core::fmt;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_core::{AuditResult, Change, Evidence, Method, RecordKey, StoreError, UnixTime};
use mfa_policy::{Decision, SignInContext, UserAction};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::app::{App, AppState};
use crate::web::PageError;

/// The store kind of session records.
pub const SESSION_KIND: &str = "demo_session";
/// The session cookie.
pub const SESSION_COOKIE: &str = "mfa_demo_session";
/// The remembered-device cookie (mfa-account's token).
pub const DEVICE_COOKIE: &str = "mfa_demo_device";
/// How long a session lives.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long "Don't ask again on this device" lasts.
pub const REMEMBER_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// The largest form or JSON body read (a WebAuthn response is at most 64 KiB).
pub const MAX_BODY: usize = mfa_webauthn::response::MAX_RESPONSE_JSON_LEN + 16 * 1024;

/// What a session record holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionData {
    /// The CSRF token (random, base64url): every form's `csrf` field and every JSON POST's
    /// `X-CSRF-Token` header.
    pub csrf: String,
    /// The signed-in account (after a first factor: password, passkey or temporary access pass).
    pub account: Option<String>,
    /// mfa-account's revocation epoch when the session signed in (`check_session`).
    pub epoch: u64,
    /// What has been proven in this session.
    pub evidence: Vec<Evidence>,
    /// Signed in for registering methods only (a temporary access pass, or a new account).
    pub registration_only: bool,
    /// Signed in with a backup code: security info shows the recovery banner.
    pub recovery: bool,
    /// Where to go once the policy is satisfied (`/admin`).
    pub next: Option<String>,
    /// A message for the next page (`#notice`).
    pub flash: Option<String>,
    /// Ids of ceremonies in progress (TOTP enrolment, pending methods, push challenges …), by name.
    pub pending: BTreeMap<String, String>,
    /// A temporary access pass's evidence, good for registering methods only (never shown to the
    /// sign-in policy: `TapGrant::evidence_for(RegisterSecurityInfo)`).
    pub registration_evidence: Option<Evidence>,
    /// The operator key was given in this session (the operator page).
    pub operator: bool,
}

/// Where a request comes from (for the policy and the sign-in log).
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The peer's IP address (from the socket).
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header, shortened.
    pub user_agent: Option<String>,
}

struct Inner {
    /// The cookie value (secret).
    cookie: Zeroizing<String>,
    /// The last known contents.
    data: SessionData,
    /// Whether the cookie must be (re)sent with this response.
    send_cookie: bool,
    /// Whether the session has been cleared (sign out): the cookie is deleted.
    ended: bool,
}

/// The current request's session (cheap to clone; every clone is the same session).
#[derive(Clone)]
pub struct Session {
    inner: Arc<Mutex<Inner>>,
    client: ClientInfo,
    device_token: Option<Arc<Zeroizing<String>>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("account", &self.data().account)
            .finish_non_exhaustive()
    }
}

/// A fresh random token: 256 bits, base64url.
#[must_use]
pub fn random_token() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0_u8; 32]);
    rand::rng().fill(&mut bytes[..]);
    Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes[..]))
}

/// The store key of the session whose cookie is `cookie`: the record is named by the cookie's
/// SHA-256, so the store never holds a usable cookie.
fn record_key(cookie: &str) -> RecordKey {
    let digest = Sha256::digest(cookie.as_bytes());
    RecordKey::new(SESSION_KIND, "", URL_SAFE_NO_PAD.encode(digest))
}

/// The value of cookie `name` in the request's `Cookie` headers.
#[must_use]
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<Zeroizing<String>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| Zeroizing::new(value.to_owned()))
}

/// A `Set-Cookie` value with the demo's attributes: `HttpOnly; SameSite=Strict; Path=/`, and
/// `Secure` behind https. `max_age` `Some(0)` deletes the cookie.
#[must_use]
pub fn cookie_header(app: &App, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if app.secure_cookies {
        cookie.push_str("; Secure");
    }
    // The value is base64url or a token of mfa-account's alphabet: always a valid header.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl Session {
    fn new(cookie: Zeroizing<String>, data: SessionData, client: ClientInfo) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                cookie,
                data,
                send_cookie: false,
                ended: false,
            })),
            client,
            device_token: None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the session's contents.
    #[must_use]
    pub fn data(&self) -> SessionData {
        self.lock().data.clone()
    }

    /// The CSRF token for forms and `<meta name="csrf-token">`.
    #[must_use]
    pub fn csrf(&self) -> String {
        self.lock().data.csrf.clone()
    }

    /// The signed-in account, if any (MFA may still be pending: see [`access`]).
    #[must_use]
    pub fn account(&self) -> Option<String> {
        self.lock().data.account.clone()
    }

    /// Where the request comes from.
    #[must_use]
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The remembered-device cookie's token, if the browser sent one.
    #[must_use]
    pub fn device_token(&self) -> Option<&str> {
        self.device_token.as_deref().map(|token| token.as_str())
    }

    /// Changes the session atomically in the store (mfa-core's `update`: a concurrent request's
    /// change is never lost) and returns what `change` returned.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn update<R>(
        &self,
        app: &App,
        mut change: impl FnMut(&mut SessionData) -> R,
    ) -> Result<R, StoreError> {
        // A session whose record is gone (signed out in another tab, expired) starts again
        // anonymous: it is never brought back signed in.
        let (key, fallback) = {
            let inner = self.lock();
            let anonymous = SessionData {
                csrf: inner.data.csrf.clone(),
                ..SessionData::default()
            };
            (record_key(&inner.cookie), anonymous)
        };
        let expires = app.now().saturating_add(SESSION_LIFETIME);
        let (data, result) =
            mfa_core::update_async(&app.store, &key, |current: Option<&SessionData>| {
                let mut data = current.cloned().unwrap_or_else(|| fallback.clone());
                let result = change(&mut data);
                (Change::PutUntil(data.clone(), expires), (data, result))
            })
            .await?;
        self.lock().data = data;
        Ok(result)
    }

    /// Issues a new cookie for this session (at every sign-in step, against session fixation):
    /// the old record is deleted, the contents move to the new one, `change` is applied, and a
    /// fresh CSRF token is made.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn rotate(
        &self,
        app: &App,
        change: impl FnOnce(&mut SessionData),
    ) -> Result<(), StoreError> {
        self.rotate_inner(app, false, change).await.map(|_| ())
    }

    /// As [`rotate`](Self::rotate), for a session that continues (a further factor): when its
    /// record is gone (signed out meanwhile) nothing is written and the answer is `false`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn rotate_existing(
        &self,
        app: &App,
        change: impl FnOnce(&mut SessionData),
    ) -> Result<bool, StoreError> {
        self.rotate_inner(app, true, change).await
    }

    async fn rotate_inner(
        &self,
        app: &App,
        require_existing: bool,
        change: impl FnOnce(&mut SessionData),
    ) -> Result<bool, StoreError> {
        let (old_key, known) = {
            let inner = self.lock();
            (record_key(&inner.cookie), inner.data.clone())
        };
        // Taken: the old cookie stops working at once.
        let taken: Option<SessionData> = mfa_core::take_async(&app.store, &old_key).await?;
        let mut data = match taken {
            Some(current) => current,
            None if require_existing => return Ok(false),
            None => known,
        };
        change(&mut data);
        data.csrf = random_token().to_string();
        let cookie = random_token();
        let expires = app.now().saturating_add(SESSION_LIFETIME);
        mfa_core::put_until_async(&app.store, &record_key(&cookie), &data, expires).await?;
        let mut inner = self.lock();
        inner.cookie = cookie;
        inner.data = data;
        inner.send_cookie = true;
        inner.ended = false;
        Ok(true)
    }

    /// Ends the session: the record is deleted and the cookie cleared.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn end(&self, app: &App) -> Result<(), StoreError> {
        let key = record_key(&self.lock().cookie);
        let _taken: Option<SessionData> = mfa_core::take_async(&app.store, &key).await?;
        let mut inner = self.lock();
        inner.data = SessionData::default();
        inner.ended = true;
        Ok(())
    }

    /// Takes the flash message (shown once).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn take_flash(&self, app: &App) -> Result<Option<String>, StoreError> {
        if self.lock().data.flash.is_none() {
            return Ok(None);
        }
        self.update(app, |data| data.flash.take()).await
    }

    /// Sets the flash message for the next page.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn flash(&self, app: &App, message: impl Into<String>) -> Result<(), StoreError> {
        let message = message.into();
        self.update(app, |data| data.flash = Some(message.clone()))
            .await
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _app: &AppState) -> Result<Self, PageError> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| PageError::internal("no session on this route"))
    }
}

/// Whether `path` is outside the session (static files, the phone's signed API).
fn without_session(path: &str) -> bool {
    path.starts_with("/static/") || path.starts_with("/phone/api/")
}

/// A 403 for a refused POST.
fn forbidden(app: &App, why: &'static str, path: &str) -> Response {
    app.log(&format!("refused POST {path}: {why}"));
    (StatusCode::FORBIDDEN, format!("Forbidden: {why}\n")).into_response()
}

/// The `csrf` field of an `application/x-www-form-urlencoded` body. Tokens are base64url, which
/// browsers never percent-encode, so the raw value is compared.
fn form_csrf(body: &[u8]) -> Option<&[u8]> {
    body.split(|byte| *byte == b'&').find_map(|pair| {
        let mut parts = pair.splitn(2, |byte| *byte == b'=');
        match (parts.next(), parts.next()) {
            (Some(b"csrf"), Some(value)) => Some(value),
            _ => None,
        }
    })
}

/// The session middleware: loads (or starts) the session, checks every POST's `Origin` and
/// CSRF token, and sets the cookie on the response.
pub async fn session_layer(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if without_session(&path) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let client = ClientInfo {
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(200).collect()),
    };
    let stored = match cookie_value(&parts.headers, SESSION_COOKIE) {
        Some(cookie) if cookie.len() <= 64 => {
            match mfa_core::load_async::<_, SessionData>(&app.store, &record_key(&cookie)).await {
                Ok(Some(data)) => Some((cookie, data)),
                Ok(None) => None,
                Err(error) => return PageError::store(error).into_response(),
            }
        }
        _ => None,
    };
    let is_post = parts.method == HttpMethod::POST;
    let mut body = body;
    if is_post {
        if let Some(origin) = parts.headers.get(header::ORIGIN)
            && origin.as_bytes() != app.origin.as_bytes()
        {
            return forbidden(&app, "cross-origin request", &path);
        }
        let Some((_, data)) = &stored else {
            return forbidden(&app, "no session (reload the page)", &path);
        };
        let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large\n").into_response();
            }
        };
        let typed = match parts.headers.get("x-csrf-token") {
            Some(header) => Some(header.as_bytes()),
            None => form_csrf(&bytes),
        };
        let valid = typed.is_some_and(|typed| bool::from(typed.ct_eq(data.csrf.as_bytes())));
        if !valid {
            return forbidden(&app, "missing or wrong CSRF token", &path);
        }
        body = Body::from(bytes);
    }
    let (session, is_new) = match stored {
        Some((cookie, data)) => (Session::new(cookie, data, client), false),
        None => {
            let data = SessionData {
                csrf: random_token().to_string(),
                ..SessionData::default()
            };
            let cookie = random_token();
            let expires = app.now().saturating_add(SESSION_LIFETIME);
            if let Err(error) =
                mfa_core::put_until_async(&app.store, &record_key(&cookie), &data, expires).await
            {
                return PageError::store(error).into_response();
            }
            (Session::new(cookie, data, client), true)
        }
    };
    let session = Session {
        device_token: cookie_value(&parts.headers, DEVICE_COOKIE)
            .filter(|token| token.len() <= 256)
            .map(Arc::new),
        ..session
    };
    if is_new {
        session.lock().send_cookie = true;
    }
    parts.extensions.insert(session.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let inner = session.lock();
    let set = if inner.ended {
        Some(cookie_header(&app, SESSION_COOKIE, "", Some(0)))
    } else if inner.send_cookie {
        Some(cookie_header(&app, SESSION_COOKIE, &inner.cookie, None))
    } else {
        None
    };
    if let Some(value) = set {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Which policy target a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The demo app itself (`demo`): MFA.
    Demo,
    /// The admin page (`admin`): phishing-resistant MFA.
    Admin,
}

impl Target {
    /// The application name the policy sees.
    #[must_use]
    pub fn app_name(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Admin => "admin",
        }
    }

    /// The target a `next` page belongs to.
    #[must_use]
    pub fn for_next(next: Option<&str>) -> Self {
        match next {
            Some(next) if next == "/admin" || next.starts_with("/admin?") => Self::Admin,
            _ => Self::Demo,
        }
    }
}

/// The demo's name for a method (`totp`, `backup`, `passkey`, `push`, `sms`, `voice`), as in
/// `data-method` and `?method=`.
#[must_use]
pub fn method_name(method: Method) -> Option<&'static str> {
    match method {
        Method::Totp => Some("totp"),
        Method::BackupCode => Some("backup"),
        Method::WebAuthn => Some("passkey"),
        Method::Push => Some("push"),
        Method::Sms => Some("sms"),
        Method::Voice => Some("voice"),
        _ => None,
    }
}

/// The demo's name for a kind of registered method.
#[must_use]
pub fn kind_name(kind: mfa_account::MethodKind) -> &'static str {
    method_name(kind.method()).unwrap_or("hotp")
}

/// The order methods are offered in ("sign in another way").
pub const METHOD_ORDER: [&str; 6] = ["passkey", "push", "totp", "sms", "voice", "backup"];

/// What the policy says about a session now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing more: let the user in.
    Allow,
    /// A further step: the heading, the strength's name, and the demo's names of the enrolled
    /// methods that would satisfy it (in [`METHOD_ORDER`]); empty when none is enrolled.
    StepUp {
        /// "Multifactor authentication", "Phishing-resistant MFA".
        heading: String,
        /// The strength (`mfa`, `phishing_resistant_mfa`).
        strength: String,
        /// The acceptable enrolled methods.
        methods: Vec<&'static str>,
    },
    /// Refused, with the reason in words.
    Block(String),
}

/// A strength's name as a heading.
#[must_use]
pub fn strength_heading(strength: &str) -> String {
    match strength {
        "mfa" => "Multifactor authentication".to_owned(),
        "phishing_resistant_mfa" => "Phishing-resistant MFA".to_owned(),
        "passwordless_mfa" => "Passwordless MFA".to_owned(),
        other => other.replace('_', " "),
    }
}

/// The sign-in context the policy sees for `account` in this session: the account's methods and
/// MFA state (mfa-account), the app, the action, the IP, the remembered device, the evidence.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn sign_in_context(
    app: &App,
    session: &Session,
    account: &str,
    target: Target,
    action: UserAction,
) -> Result<SignInContext, StoreError> {
    let now = app.now();
    let mut builder = SignInContext::builder(account, target.app_name(), now).action(action);
    if let Some(ip) = session.client().ip {
        builder = builder.ip(ip);
    }
    if let Some(token) = session.device_token()
        && let Ok(until) =
            mfa_account::check_remembered_async(&app.store, account, token, now).await
    {
        builder = builder.remembered_until(until);
    }
    let mut context = builder.build();
    for evidence in session.data().evidence {
        context.add_evidence(evidence);
    }
    mfa_account::security_info_async(&app.store, account)
        .await?
        .apply_to(&mut context);
    Ok(context)
}

/// What the policy needs now for `context`.
#[must_use]
pub fn policy_need(app: &App, context: &SignInContext) -> Need {
    let evaluation = app.engine.evaluate(context);
    match &evaluation.decision {
        Decision::Allow { .. } => Need::Allow,
        Decision::Block { policy, reason } => Need::Block(format!("{policy}: {reason}")),
        Decision::StepUp(step) => {
            let proven: Vec<Method> = context.evidence.iter().map(|e| e.method).collect();
            let wanted: Vec<Method> = step
                .usable_now
                .iter()
                .flat_map(|combination| combination.requirements())
                .map(|requirement| requirement.method)
                .filter(|method| *method != Method::Password && !proven.contains(method))
                .collect();
            let methods = METHOD_ORDER
                .into_iter()
                .filter(|name| {
                    wanted
                        .iter()
                        .any(|method| method_name(*method) == Some(*name))
                })
                .collect();
            Need::StepUp {
                heading: strength_heading(step.strength),
                strength: step.strength.to_owned(),
                methods,
            }
        }
        _ => Need::Block("the policy refused the sign-in".to_owned()),
    }
}

/// Who the session is, for a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nobody signed in.
    SignedOut,
    /// Signed in and the policy for the target is satisfied.
    Full(String),
    /// Signed in to register methods only (a temporary access pass, or an account with no
    /// method yet, as mfa-account's registration campaign offers).
    Registration(String),
    /// Signed in with a first factor; the policy wants more.
    NeedsStep(String),
    /// The policy blocks this sign-in.
    Blocked(String, String),
}

/// What the session may do on a page of `target`. A session from an older epoch (sign out
/// everywhere, a help-desk reset) counts as signed out.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn access(app: &App, session: &Session, target: Target) -> Result<Access, StoreError> {
    let data = session.data();
    let Some(account) = data.account else {
        return Ok(Access::SignedOut);
    };
    if mfa_account::check_session_async(&app.store, &account, data.epoch)
        .await
        .is_err()
    {
        session.end(app).await?;
        return Ok(Access::SignedOut);
    }
    let context = sign_in_context(app, session, &account, target, UserAction::SignIn).await?;
    match policy_need(app, &context) {
        Need::Allow => Ok(Access::Full(account)),
        Need::Block(reason) => Ok(Access::Blocked(account, reason)),
        Need::StepUp { .. } if target == Target::Demo && data.registration_only => {
            Ok(Access::Registration(account))
        }
        Need::StepUp { .. } if target == Target::Demo && context.user.methods.is_empty() => {
            Ok(Access::Registration(account))
        }
        Need::StepUp { .. } => Ok(Access::NeedsStep(account)),
    }
}

/// Where to go after a sign-in step, and the remembered-device cookie to set.
#[derive(Debug)]
pub struct StepOutcome {
    /// The page to go to next.
    pub redirect: String,
    /// A `Set-Cookie` for the remembered device, when the user asked.
    pub set_cookie: Option<HeaderValue>,
}

impl StepOutcome {
    /// A 303 to [`redirect`](Self::redirect), with the cookie.
    #[must_use]
    pub fn into_redirect(self) -> Response {
        let mut response = crate::web::see_other(&self.redirect);
        if let Some(cookie) = self.set_cookie {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }

    /// `{"ok": true, "redirect": …}` with the cookie (for the JSON routes).
    #[must_use]
    pub fn into_json(self) -> Response {
        let mut response = axum::Json(serde_json::json!({ "ok": true, "redirect": self.redirect }))
            .into_response();
        if let Some(cookie) = self.set_cookie {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The first factor succeeded for `account` (a password, a passkey used as a first factor):
/// the session is rotated (new cookie, new CSRF token) and starts over with this evidence and
/// the account's current epoch. Then as [`complete_factor`] with no new evidence.
///
/// # Errors
/// [`PageError`] when the store fails.
pub async fn begin_sign_in(
    app: &App,
    session: &Session,
    account: &str,
    evidence: Evidence,
    registration_only: bool,
    remember: bool,
) -> Result<StepOutcome, PageError> {
    let epoch = mfa_account::current_epoch_async(&app.store, account)
        .await
        .map_err(PageError::store)?;
    let method = evidence.method;
    // A method used as the first factor (a passkey) gets its last-used time like any other.
    if method != Method::Password
        && let Err(error) =
            mfa_account::record_use_of_async(&app.store, account, &evidence, app.now()).await
    {
        app.log(&format!("warning: last-used time not recorded: {error}"));
    }
    session
        .rotate(app, |data| {
            let next = data.next.take();
            *data = SessionData {
                account: Some(account.to_owned()),
                epoch,
                evidence: vec![evidence.clone()],
                registration_only,
                next,
                ..SessionData::default()
            };
        })
        .await
        .map_err(PageError::store)?;
    app.audit_attempt(
        account,
        method,
        AuditResult::Success,
        None,
        session.client(),
    )
    .await;
    after_step(app, session, account, remember).await
}

/// A temporary access pass was redeemed for `account`: a new session (new cookie) for
/// registering methods only. The pass's evidence is kept apart from the sign-in evidence, so the
/// policy never counts it as a sign-in.
///
/// # Errors
/// [`PageError`] when the store fails.
pub async fn begin_registration_session(
    app: &App,
    session: &Session,
    account: &str,
    registration_evidence: Evidence,
) -> Result<(), PageError> {
    let epoch = mfa_account::current_epoch_async(&app.store, account)
        .await
        .map_err(PageError::store)?;
    session
        .rotate(app, |data| {
            *data = SessionData {
                account: Some(account.to_owned()),
                epoch,
                registration_only: true,
                registration_evidence: Some(registration_evidence.clone()),
                ..SessionData::default()
            };
        })
        .await
        .map_err(PageError::store)?;
    app.audit_attempt(
        account,
        Method::TemporaryAccessPass,
        AuditResult::Success,
        None,
        session.client(),
    )
    .await;
    Ok(())
}

/// A further factor succeeded in this session (the sign-in's second step, or a step-up): the
/// evidence is added, the method's "last used" is recorded (mfa-account), the attempt goes to
/// the sign-in log, the session gets a new cookie, and the policy is asked again. `remember`:
/// "Don't ask again on this device" (honoured once the policy allows).
///
/// # Errors
/// [`PageError`] when nobody is signed in or the store fails.
pub async fn complete_factor(
    app: &App,
    session: &Session,
    evidence: Evidence,
    remember: bool,
) -> Result<StepOutcome, PageError> {
    let Some(account) = session.account() else {
        return Err(PageError::signed_out());
    };
    let now = app.now();
    if let Err(error) = mfa_account::record_use_of_async(&app.store, &account, &evidence, now).await
    {
        app.log(&format!("warning: last-used time not recorded: {error}"));
    }
    app.audit_attempt(
        &account,
        evidence.method,
        AuditResult::Success,
        None,
        session.client(),
    )
    .await;
    let recovery = evidence.method == Method::BackupCode;
    let continued = session
        .rotate_existing(app, |data| {
            data.evidence.push(evidence);
            data.recovery |= recovery;
        })
        .await
        .map_err(PageError::store)?;
    if !continued {
        return Err(PageError::signed_out());
    }
    after_step(app, session, &account, remember).await
}

/// Asks the policy where the session goes now.
async fn after_step(
    app: &App,
    session: &Session,
    account: &str,
    remember: bool,
) -> Result<StepOutcome, PageError> {
    let data = session.data();
    let target = Target::for_next(data.next.as_deref());
    let context = sign_in_context(app, session, account, target, UserAction::SignIn)
        .await
        .map_err(PageError::store)?;
    let need = policy_need(app, &context);
    let has_methods = !context.user.methods.is_empty();
    match need {
        Need::Allow => {
            let mut set_cookie = None;
            // Only a multi-factor sign-in is remembered.
            if remember && data.evidence.len() > 1 {
                let label = session
                    .client()
                    .user_agent
                    .clone()
                    .unwrap_or_else(|| "a browser".to_owned());
                let label: String = label.chars().take(app.accounts.max_name_chars).collect();
                let mut rng: rand::rngs::StdRng = rand::make_rng();
                match mfa_account::remember_device_async(
                    &app.store,
                    &app.accounts,
                    &app.events(),
                    account,
                    &label,
                    REMEMBER_LIFETIME,
                    app.now(),
                    &mut rng,
                )
                .await
                {
                    Ok(token) => {
                        set_cookie = Some(cookie_header(
                            app,
                            DEVICE_COOKIE,
                            &token.token,
                            Some(REMEMBER_LIFETIME.as_secs()),
                        ));
                    }
                    Err(error) => {
                        app.log(&format!(
                            "warning: device not remembered: {}",
                            error.reason()
                        ));
                    }
                }
            }
            let redirect = session
                .update(app, |data| data.next.take())
                .await
                .map_err(PageError::store)?
                .unwrap_or_else(|| "/security-info".to_owned());
            Ok(StepOutcome {
                redirect,
                set_cookie,
            })
        }
        Need::StepUp { .. }
            if target == Target::Demo && (data.registration_only || !has_methods) =>
        {
            Ok(StepOutcome {
                redirect: "/security-info".to_owned(),
                set_cookie: None,
            })
        }
        Need::StepUp { .. } => Ok(StepOutcome {
            redirect: match &data.next {
                Some(next) => format!("/signin/verify?next={}", crate::web::url_encode(next)),
                None => "/signin/verify".to_owned(),
            },
            set_cookie: None,
        }),
        Need::Block(reason) => {
            app.audit_attempt(
                account,
                Method::Password,
                AuditResult::Blocked,
                Some("blocked_by_policy"),
                session.client(),
            )
            .await;
            session.end(app).await.map_err(PageError::store)?;
            Err(PageError::forbidden(format!(
                "The sign-in policy refuses this sign-in ({reason})."
            )))
        }
    }
}

/// `#[must_use]` helper: the time as the pages show it (`2026-11-28 09:15 UTC`).
#[must_use]
pub fn show_time(time: UnixTime) -> String {
    let text = time.utc_date_time();
    // `2026-11-28T09:15:00Z` → `2026-11-28 09:15 UTC`
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(clock)) => format!("{date} {clock} UTC"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{Target, cookie_value, form_csrf, strength_heading};

    #[test]
    fn the_csrf_field_is_found_in_a_form_body() {
        assert_eq!(form_csrf(b"a=1&csrf=abc-_9&b=2"), Some(&b"abc-_9"[..]));
        assert_eq!(form_csrf(b"csrf=x"), Some(&b"x"[..]));
        assert_eq!(form_csrf(b"xcsrf=1&csrfx=2"), None);
        assert_eq!(form_csrf(b""), None);
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("x_mfa_demo_session=no; mfa_demo_session=yes"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("mfa_demo_device=d"),
        );
        assert_eq!(
            cookie_value(&headers, "mfa_demo_session")
                .as_deref()
                .map(String::as_str),
            Some("yes")
        );
        assert_eq!(
            cookie_value(&headers, "mfa_demo_device")
                .as_deref()
                .map(String::as_str),
            Some("d")
        );
        assert!(cookie_value(&headers, "other").is_none());
    }

    #[test]
    fn targets_and_headings() {
        assert_eq!(Target::for_next(Some("/admin")), Target::Admin);
        assert_eq!(Target::for_next(Some("/admin?x=1")), Target::Admin);
        assert_eq!(Target::for_next(Some("/administrator")), Target::Demo);
        assert_eq!(Target::for_next(None), Target::Demo);
        assert_eq!(
            strength_heading("phishing_resistant_mfa"),
            "Phishing-resistant MFA"
        );
        assert_eq!(strength_heading("mfa"), "Multifactor authentication");
    }
}
