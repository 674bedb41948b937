//! The pages that are not WebAuthn, push or SMS/voice: home, sign up, sign in (password, TOTP,
//! backup code, temporary access pass), the verify page, sign out, security info, and the
//! console gateway's messages.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use mfa_account::{MethodKind, RegistrationStep};
use mfa_core::{AttemptError, AuditResult, Method, Rejection};
use mfa_policy::UserAction;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{App, AppState};
use crate::password::{self, PasswordError};
use crate::session::{
    Access, Need, Session, Target, access, begin_sign_in, complete_factor, kind_name, policy_need,
    show_time, sign_in_context,
};
use crate::web::{PageError, is_local_path, render, render_status, see_other};

type Shared = State<AppState>;
type Page = Result<Response, PageError>;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signup", get(signup_page).post(signup))
        .route("/signin", get(signin_page).post(signin))
        .route("/signin/verify", get(verify_page))
        .route("/signin/totp", post(signin_totp))
        .route("/signin/backup", post(signin_backup))
        .route("/signout", post(signout))
        .route("/security-info", get(security_info))
        .route("/messages", get(messages))
        .merge(crate::manage::routes())
        .merge(crate::console::routes())
}

/// A user-facing sentence for a refused attempt: the library's reason in words.
#[must_use]
pub(crate) fn attempt_message<E: Rejection>(error: &AttemptError<E>) -> String {
    match error {
        AttemptError::Throttled(throttled) => format!("Too many attempts: {throttled}"),
        AttemptError::ChallengeNotFound => {
            "That request expired or was already answered: start again".to_owned()
        }
        AttemptError::NotEnrolled => "That method is not set up for this account".to_owned(),
        AttemptError::Store(_) => "The store is unavailable; try again".to_owned(),
        AttemptError::Rejected(rejection) => reason_words(rejection.reason())
            .map_or_else(|| capitalize(&rejection.to_string()), str::to_owned),
        _ => "That did not work; try again".to_owned(),
    }
}

/// Words for the reasons the pages show most.
#[must_use]
pub(crate) fn reason_words(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "code_mismatch" => "Wrong code",
        "replayed" => "That code was already used",
        "malformed_code" => "That is not a code: check what you typed",
        "code_expired" | "expired" => "That code expired: ask for a new one",
        "enrollment_expired" => "The setup expired: start again",
        "wrong_password" => "Wrong username or password",
        "tap_invalid" => "That temporary access pass is not valid",
        "tap_expired" => "That temporary access pass expired",
        "last_strong_method" => "That is your last strong method: add another before removing it",
        "weakens_assurance" => {
            "This session is weaker than that method: sign in with a method as strong first"
        }
        "invalid_name" => "A name is 1 to 64 characters",
        _ => return None,
    })
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Refuses pages that need a signed-in session: where to send the browser instead.
pub(crate) fn redirect_for(access: &Access) -> Option<Response> {
    match access {
        Access::SignedOut => Some(see_other("/signin")),
        Access::NeedsStep(_) => Some(see_other("/signin/verify")),
        Access::Blocked(_, _) => Some(see_other("/signin")),
        Access::Full(_) | Access::Registration(_) => None,
    }
}

async fn home(State(app): Shared, session: Session) -> Page {
    match access(&app, &session, Target::Demo).await? {
        Access::Full(_) | Access::Registration(_) => Ok(see_other("/security-info")),
        _ => Ok(render(&app, &session, "home.html", json!({})).await),
    }
}

async fn signup_page(State(app): Shared, session: Session) -> Page {
    Ok(render(&app, &session, "signup.html", json!({})).await)
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn signup(State(app): Shared, session: Session, Form(form): Form<SignupForm>) -> Page {
    match password::sign_up(&app, &form.username, &form.password, &form.confirm).await {
        Ok(username) => {
            app.log(&format!("account {username:?} created"));
            // The registration campaign offers setup at once (per-user MFA on).
            if let Err(error) = mfa_account::set_mfa_state_async(
                &app.store,
                &app.events(),
                &username,
                mfa_policy::PerUserMfa::Enabled,
                mfa_account::Actor::User,
                app.now(),
            )
            .await
            {
                app.log(&format!("warning: MFA state not set: {}", error.reason()));
            }
            let evidence = mfa_core::Evidence::new(Method::Password, app.now(), "password");
            let outcome = begin_sign_in(&app, &session, &username, evidence, true, false).await?;
            Ok(outcome.into_redirect())
        }
        Err(Ok(error)) => Ok(render_status(
            &app,
            &session,
            StatusCode::BAD_REQUEST,
            "signup.html",
            json!({ "error": error.to_string(), "username": form.username }),
        )
        .await),
        Err(Err(error)) => Err(PageError::store(error)),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn signin_page(State(app): Shared, session: Session, Query(query): Query<NextQuery>) -> Page {
    if let Some(next) = query.next.filter(|next| is_local_path(next)) {
        session
            .update(&app, |data| data.next = Some(next.clone()))
            .await?;
    }
    Ok(render(&app, &session, "signin.html", json!({})).await)
}

#[derive(Deserialize)]
struct SigninForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn signin(State(app): Shared, session: Session, Form(form): Form<SigninForm>) -> Page {
    match password::check(&app, &form.username, &form.password).await {
        Ok((username, evidence)) => {
            let outcome = begin_sign_in(&app, &session, &username, evidence, false, false).await?;
            Ok(outcome.into_redirect())
        }
        Err(error) => {
            let account = password::normalize_username(&form.username).unwrap_or_default();
            let result = audit_result(&error);
            app.audit_attempt(
                &account,
                Method::Password,
                result,
                Some(error.reason()),
                session.client(),
            )
            .await;
            let status = match &error {
                AttemptError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                AttemptError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            let message = match &error {
                AttemptError::Rejected(PasswordError::Wrong) | AttemptError::NotEnrolled => {
                    PasswordError::Wrong.to_string()
                }
                other => attempt_message(other),
            };
            Ok(render_status(
                &app,
                &session,
                status,
                "signin.html",
                json!({ "error": message, "username": form.username }),
            )
            .await)
        }
    }
}

/// The sign-in log's result for a refused attempt.
pub(crate) fn audit_result<E>(error: &AttemptError<E>) -> AuditResult {
    match error {
        AttemptError::Throttled(mfa_core::Throttled::LockedOut { .. }) => AuditResult::LockedOut,
        AttemptError::Throttled(_) => AuditResult::Throttled,
        AttemptError::Store(_) => AuditResult::Error,
        _ => AuditResult::Failure,
    }
}

#[derive(Deserialize)]
struct VerifyQuery {
    method: Option<String>,
    next: Option<String>,
}

async fn verify_page(
    State(app): Shared,
    session: Session,
    Query(query): Query<VerifyQuery>,
) -> Page {
    if let Some(next) = query.next.filter(|next| is_local_path(next)) {
        session
            .update(&app, |data| data.next = Some(next.clone()))
            .await?;
    }
    show_verify(
        &app,
        &session,
        query.method.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The verify page: the step the policy needs, the form of the chosen (or default) method, and
/// "sign in another way". `error` shows in `#error`.
pub(crate) async fn show_verify(
    app: &App,
    session: &Session,
    method: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Page {
    let data = session.data();
    let Some(account) = data.account.clone() else {
        return Ok(see_other("/signin"));
    };
    let target = Target::for_next(data.next.as_deref());
    match access(app, session, target).await? {
        Access::SignedOut => return Ok(see_other("/signin")),
        Access::Full(_) => {
            let next = session
                .update(app, |data| data.next.take())
                .await?
                .unwrap_or_else(|| "/security-info".to_owned());
            return Ok(see_other(&next));
        }
        _ => {}
    }
    let context = sign_in_context(app, session, &account, target, UserAction::SignIn).await?;
    let (heading, methods) = match policy_need(app, &context) {
        Need::StepUp {
            heading, methods, ..
        } => (heading, methods),
        Need::Block(reason) => {
            return Err(PageError::forbidden(format!(
                "The sign-in policy refuses this sign-in ({reason})."
            )));
        }
        Need::Allow => ("Multifactor authentication".to_owned(), Vec::new()),
    };
    let info = mfa_account::security_info_async(&app.store, &account).await?;
    let default = info
        .default_entry()
        .map(|entry| kind_name(entry.kind))
        .filter(|name| methods.contains(name));
    let chosen = method
        .and_then(|wanted| methods.iter().copied().find(|name| *name == wanted))
        .or(default)
        .or_else(|| methods.first().copied());
    let extra = match chosen {
        Some(name @ "passkey") => crate::webauthn::verify_context(app, &account, name).await,
        Some(name @ "push") => crate::push::verify_context(app, &account, name).await,
        Some(name @ ("sms" | "voice")) => crate::oob::verify_context(app, &account, name).await,
        _ => Value::Null,
    };
    Ok(render_status(
        app,
        session,
        status,
        "verify.html",
        json!({
            "heading": heading,
            "methods": methods,
            "method": chosen,
            "username": account,
            "target": target.app_name(),
            "error": error,
            "extra": extra,
        }),
    )
    .await)
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    remember: Option<String>,
}

/// The session's account, for a sign-in step (a first factor done), or where to go instead.
async fn step_account(app: &App, session: &Session) -> Result<Result<String, Response>, PageError> {
    let data = session.data();
    let target = Target::for_next(data.next.as_deref());
    Ok(match access(app, session, target).await? {
        Access::SignedOut | Access::Blocked(_, _) => Err(see_other("/signin")),
        Access::Full(account) | Access::Registration(account) | Access::NeedsStep(account) => {
            Ok(account)
        }
    })
}

async fn signin_totp(State(app): Shared, session: Session, Form(form): Form<CodeForm>) -> Page {
    let account = account_or_return!(step_account(&app, &session));
    let info = mfa_account::security_info_async(&app.store, &account).await?;
    let now = app.now();
    let mut best: Option<AttemptError<mfa_otp::OtpError>> = None;
    // The default app first; each of the user's authenticator apps is tried.
    let mut apps: Vec<_> = info
        .methods
        .iter()
        .filter(|entry| entry.kind == MethodKind::Totp)
        .collect();
    apps.sort_by_key(|entry| info.default_method.as_ref() != Some(&entry.id));
    for entry in apps {
        let key = mfa_otp::totp_record_key(&account, entry.credential_id());
        match mfa_otp::verify_totp_async(&app.store, &key, &app.throttle, &form.code, now).await {
            Ok(verified) => {
                let outcome = complete_factor(
                    &app,
                    &session,
                    verified.evidence().clone(),
                    form.remember.is_some(),
                )
                .await?;
                return Ok(outcome.into_redirect());
            }
            Err(error) => {
                // Keep the most telling failure: a replay or a throttle over a mismatch.
                let rank = |error: &AttemptError<mfa_otp::OtpError>| match error {
                    AttemptError::Rejected(mfa_otp::OtpError::Replayed) => 3,
                    AttemptError::Throttled(_) => 2,
                    AttemptError::Rejected(_) => 1,
                    _ => 0,
                };
                if best.as_ref().is_none_or(|kept| rank(&error) > rank(kept)) {
                    best = Some(error);
                }
            }
        }
    }
    let error = best.unwrap_or(AttemptError::NotEnrolled);
    refuse_step(&app, &session, &account, Method::Totp, &error).await
}

/// A refused sign-in step: the attempt goes to the sign-in log, and the verify page shows the
/// method's form again with the reason in `#error`.
pub(crate) async fn refuse_step<E: Rejection>(
    app: &App,
    session: &Session,
    account: &str,
    method: Method,
    error: &AttemptError<E>,
) -> Page {
    let status = match error {
        AttemptError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        AttemptError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    refuse_step_saying(
        app,
        session,
        account,
        method,
        error,
        attempt_message(error),
        status,
    )
    .await
}

/// As [`refuse_step`], with the factor's own words and status for the refusal.
pub(crate) async fn refuse_step_saying<E: Rejection>(
    app: &App,
    session: &Session,
    account: &str,
    method: Method,
    error: &AttemptError<E>,
    message: String,
    status: StatusCode,
) -> Page {
    app.audit_attempt(
        account,
        method,
        audit_result(error),
        Some(error.reason()),
        session.client(),
    )
    .await;
    show_verify(
        app,
        session,
        crate::session::method_name(method),
        Some(message),
        status,
    )
    .await
}

async fn signin_backup(State(app): Shared, session: Session, Form(form): Form<CodeForm>) -> Page {
    let account = account_or_return!(step_account(&app, &session));
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let redeemed = mfa_account::redeem_backup_code_async(
        &app.store,
        &app.events(),
        &account,
        &app.throttle,
        &form.code,
        app.now(),
        &mut rng,
        |job| tokio::task::spawn_blocking(move || job.run()),
    )
    .await;
    match redeemed {
        Ok(redeemed) => {
            app.log(&format!(
                "account {account:?}: backup code accepted, {} left",
                redeemed.remaining
            ));
            let outcome = complete_factor(
                &app,
                &session,
                redeemed.verified.evidence().clone(),
                form.remember.is_some(),
            )
            .await?;
            Ok(outcome.into_redirect())
        }
        Err(error) => refuse_step(&app, &session, &account, Method::BackupCode, &error).await,
    }
}

async fn signout(State(app): Shared, session: Session) -> Page {
    if let Some(account) = session.account() {
        app.log(&format!("account {account:?} signed out"));
    }
    session.end(&app).await?;
    Ok(see_other("/"))
}

/// One row of the methods table.
fn method_row(entry: &mfa_account::MethodEntry, default: bool) -> Value {
    json!({
        "id": entry.id.as_str(),
        "kind": kind_name(entry.kind),
        "kind_label": kind_label(entry.kind),
        "name": entry.name,
        "created": show_time(entry.created_at),
        "last_used": entry.last_used_at.map(show_time),
        "default": default,
    })
}

/// A kind as the page names it.
fn kind_label(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Totp => "Authenticator app",
        MethodKind::Hotp => "Hardware token",
        MethodKind::BackupCodes => "Backup codes",
        MethodKind::WebAuthn => "Passkey or security key",
        MethodKind::Push => "Phone (push)",
        MethodKind::Sms => "Phone (SMS)",
        MethodKind::Voice => "Phone (voice call)",
    }
}

async fn security_info(State(app): Shared, session: Session) -> Page {
    let access = access(&app, &session, Target::Demo).await?;
    if let Some(response) = redirect_for(&access) {
        return Ok(response);
    }
    let full = matches!(access, Access::Full(_));
    let data = session.data();
    let Some(account) = data.account.clone() else {
        return Ok(see_other("/signin"));
    };
    show_security_info(&app, &session, &account, full, json!({})).await
}

/// The security-info page for `account`; `extra` adds page values (an error, a new app password).
pub(crate) async fn show_security_info(
    app: &App,
    session: &Session,
    account: &str,
    full: bool,
    extra: Value,
) -> Page {
    let now = app.now();
    let info = mfa_account::security_info_async(&app.store, account).await?;
    let methods: Vec<Value> = info
        .methods
        .iter()
        .map(|entry| method_row(entry, info.default_method.as_ref() == Some(&entry.id)))
        .collect();
    let step =
        mfa_account::registration_step_async(&app.store, &app.accounts, account, now).await?;
    let setup = match step {
        RegistrationStep::NotNeeded => None,
        RegistrationStep::Required { reason } => Some(format!("Required: {reason}.")),
        RegistrationStep::Offered { skips_left, .. } => {
            Some(format!("You can postpone this {skips_left} more time(s)."))
        }
        _ => None,
    };
    let app_passwords: Vec<Value> = mfa_account::list_app_passwords_async(&app.store, account)
        .await?
        .iter()
        .map(|entry| {
            json!({
                "id": entry.id,
                "name": entry.name,
                "created": show_time(entry.created_at),
                "last_used": entry.last_used_at.map(show_time),
            })
        })
        .collect();
    let devices: Vec<Value> = mfa_account::list_remembered_async(&app.store, account)
        .await?
        .iter()
        .filter(|device| device.expires_at > now)
        .map(|device| {
            json!({
                "id": device.id,
                "label": device.label,
                "created": show_time(device.created_at),
                "expires": show_time(device.expires_at),
            })
        })
        .collect();
    let mfa_state = if info.methods.is_empty() {
        "No sign-in method yet: add one below.".to_owned()
    } else if full {
        format!(
            "Multifactor authentication is on: {} method(s) registered.",
            info.methods.len()
        )
    } else {
        "Signed in to register methods only.".to_owned()
    };
    let mut page = json!({
        "methods": methods,
        "setup": setup,
        "recovery": session.data().recovery,
        "mfa_state": mfa_state,
        "full": full,
        "app_passwords": app_passwords,
        "devices": devices,
        "extra_webauthn": crate::webauthn::security_info_context(app, account).await,
        "extra_push": crate::push::security_info_context(app, account).await,
        "extra_oob": crate::oob::security_info_context(app, account).await,
    });
    if let (Value::Object(page), Value::Object(extra)) = (&mut page, extra) {
        page.extend(extra);
    }
    let status = if page.get("error").is_some_and(|error| !error.is_null()) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_status(app, session, status, "security_info.html", page).await)
}

async fn messages(State(app): Shared, session: Session) -> Page {
    let messages: Vec<Value> = app
        .outbox
        .recent(app.now())
        .into_iter()
        .map(|message| {
            json!({
                "sent": show_time(message.sent_at),
                "to": message.to,
                "channel": message.channel,
                "text": message.text,
                "code": message.code,
            })
        })
        .collect();
    Ok(render(
        &app,
        &session,
        "messages.html",
        json!({ "messages": messages }),
    )
    .await)
}
