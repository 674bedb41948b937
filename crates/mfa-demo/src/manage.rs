//! Managing security info: add an authenticator app, backup codes, rename / default / remove,
//! app passwords, remembered devices, sign out everywhere. Adding is allowed in a
//! registration-only session; everything else needs the policy satisfied.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mfa_account::{AccountError, Actor, MethodId, MethodKind, RemovalGuard};
use mfa_core::{AttemptError, Evidence, Method};
use mfa_policy::SignInContext;
use serde::Deserialize;
use serde_json::json;

use crate::app::{App, AppState};
use crate::pages::{attempt_message, redirect_for, show_security_info};
use crate::session::{Access, Session, Target, access};
use crate::web::{PageError, render, render_status, see_other};

type Shared = State<AppState>;
type Page = Result<Response, PageError>;

/// Session keys of the authenticator app being added.
const PENDING_TOTP_METHOD: &str = "totp_method";
const PENDING_TOTP_CREDENTIAL: &str = "totp_credential";
/// The issuer the authenticator app shows.
const ISSUER: &str = "mfa demo";

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/security-info/totp", get(totp_page).post(totp_confirm))
        .route("/security-info/backup", post(backup_issue))
        .route("/security-info/methods/rename", post(rename))
        .route("/security-info/methods/default", post(make_default))
        .route("/security-info/methods/remove", post(remove))
        .route("/security-info/app-passwords", post(app_password_create))
        .route(
            "/security-info/app-passwords/revoke",
            post(app_password_revoke),
        )
        .route("/security-info/devices/forget", post(device_forget))
        .route("/signout-all", post(signout_all))
}

/// The account, when the session may add methods (policy satisfied, or registration-only).
async fn may_add(app: &App, session: &Session) -> Result<Result<String, Response>, PageError> {
    let access = access(app, session, Target::Demo).await?;
    if let Some(response) = redirect_for(&access) {
        return Ok(Err(response));
    }
    match access {
        Access::Full(account) | Access::Registration(account) => Ok(Ok(account)),
        _ => Ok(Err(see_other("/signin"))),
    }
}

/// The account, when the policy is satisfied (managing existing methods).
async fn may_manage(app: &App, session: &Session) -> Result<Result<String, Response>, PageError> {
    match access(app, session, Target::Demo).await? {
        Access::Full(account) => Ok(Ok(account)),
        Access::Registration(_) => Err(PageError::forbidden(
            "This session may only add sign-in methods: sign in with one to manage them.",
        )),
        other => Ok(Err(
            redirect_for(&other).unwrap_or_else(|| see_other("/signin"))
        )),
    }
}

/// Shows security info again with `#error`.
async fn refused(app: &App, session: &Session, account: &str, message: String) -> Page {
    show_security_info(app, session, account, true, json!({ "error": message })).await
}

/// After a change: a flash message and back to security info, or the page again with `#error`.
async fn finish<T>(
    app: &App,
    session: &Session,
    account: &str,
    result: Result<T, AttemptError<AccountError>>,
    notice: impl FnOnce(T) -> String,
) -> Page {
    match result {
        Ok(value) => {
            session.flash(app, notice(value)).await?;
            Ok(see_other("/security-info"))
        }
        Err(error) => refused(app, session, account, attempt_message(&error)).await,
    }
}

fn random_id(prefix: &str) -> String {
    let token = crate::session::random_token();
    format!("{prefix}-{}", token.get(..10).unwrap_or("x"))
}

async fn totp_page(State(app): Shared, session: Session) -> Page {
    let account = account_or_return!(may_add(&app, &session));
    show_totp_enrolment(&app, &session, &account, None).await
}

/// Begins adding an authenticator app (a pending method and a pending TOTP secret) and shows the
/// QR code, the secret and the confirm form.
async fn show_totp_enrolment(
    app: &App,
    session: &Session,
    account: &str,
    error: Option<String>,
) -> Page {
    let now = app.now();
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let pending = match mfa_account::begin_add_async(
        &app.store,
        &app.accounts,
        account,
        MethodKind::Totp,
        "Authenticator app",
        now,
        &mut rng,
    )
    .await
    {
        Ok(pending) => pending,
        Err(error) => return refused(app, session, account, attempt_message(&error)).await,
    };
    let credential_id = random_id("app");
    let enrolment = mfa_otp::begin_totp_enrollment_async(
        &app.store,
        account,
        &credential_id,
        &mfa_otp::TotpEnrollmentPolicy::default(),
        &mut rng,
        now,
    )
    .await?;
    let uri = enrolment
        .key_uri(Some(ISSUER), account)
        .map_err(|error| PageError::internal(format!("key URI: {error}")))?;
    let svg = uri
        .qr_svg()
        .map_err(|error| PageError::internal(format!("QR code: {error}")))?;
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(svg.as_bytes())
    );
    let secret = enrolment.secret().to_base32();
    session
        .update(app, |data| {
            data.pending
                .insert(PENDING_TOTP_METHOD.into(), pending.id.as_str().to_owned());
            data.pending
                .insert(PENDING_TOTP_CREDENTIAL.into(), credential_id.clone());
        })
        .await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // The secret goes to this page only (shown once, over the session); never to the log.
    Ok(render_status(
        app,
        session,
        status,
        "totp_add.html",
        json!({ "qr": qr, "secret": secret.as_str(), "error": error }),
    )
    .await)
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn totp_confirm(State(app): Shared, session: Session, Form(form): Form<CodeForm>) -> Page {
    let account = account_or_return!(may_add(&app, &session));
    let data = session.data();
    let (Some(method_id), Some(credential_id)) = (
        data.pending.get(PENDING_TOTP_METHOD),
        data.pending.get(PENDING_TOTP_CREDENTIAL),
    ) else {
        return Ok(see_other("/security-info/totp"));
    };
    let now = app.now();
    let confirmed = mfa_otp::confirm_totp_enrollment_async(
        &app.store,
        &account,
        credential_id,
        &app.throttle,
        &form.code,
        now,
    )
    .await;
    let proof = match confirmed {
        Ok(verified) => verified.into_parts().0,
        Err(error) => {
            app.log(&format!(
                "account {account:?}: authenticator app not confirmed: {}",
                error.reason()
            ));
            let expired = matches!(
                error,
                AttemptError::NotEnrolled | AttemptError::ChallengeNotFound
            );
            if expired {
                return show_totp_enrolment(
                    &app,
                    &session,
                    &account,
                    Some("The setup expired: scan this new code".to_owned()),
                )
                .await;
            }
            return Ok(render_status(
                &app,
                &session,
                StatusCode::BAD_REQUEST,
                "totp_add.html",
                json!({ "error": attempt_message(&error), "retry": true }),
            )
            .await);
        }
    };
    let pending_id = MethodId::parse(method_id)
        .map_err(|_| PageError::bad_request("The pending method is not valid: start again."))?;
    let entry = match mfa_account::confirm_add_with_proof_async(
        &app.store,
        &app.accounts,
        &app.events(),
        &account,
        &pending_id,
        &proof,
        now,
    )
    .await
    {
        Ok(entry) => entry,
        Err(error) => return refused(&app, &session, &account, attempt_message(&error)).await,
    };
    // The first code is a verified factor of this session too.
    session
        .update(&app, |data| {
            data.pending.remove(PENDING_TOTP_METHOD);
            data.pending.remove(PENDING_TOTP_CREDENTIAL);
            data.evidence.push(proof.clone());
            data.flash = Some(format!("Added \u{201c}{}\u{201d}.", entry.name));
        })
        .await?;
    Ok(see_other("/security-info"))
}

async fn backup_issue(State(app): Shared, session: Session) -> Page {
    let account = account_or_return!(may_add(&app, &session));
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let issued = mfa_account::add_backup_codes_async(
        &app.store,
        &app.accounts,
        &app.events(),
        &account,
        &mfa_backup::IssuePolicy::default(),
        app.now(),
        &mut rng,
        |job| tokio::task::spawn_blocking(move || job.run()),
    )
    .await;
    match issued {
        Ok((entry, issued)) => {
            let codes: Vec<&str> = issued
                .codes
                .iter()
                .map(|code| code.expose_secret())
                .collect();
            app.log(&format!(
                "account {account:?}: {} backup codes issued",
                codes.len()
            ));
            // Shown once, on this page only.
            Ok(render(
                &app,
                &session,
                "backup_codes.html",
                json!({ "codes": codes, "name": entry.name }),
            )
            .await)
        }
        Err(error) => refused(&app, &session, &account, attempt_message(&error)).await,
    }
}

#[derive(Deserialize)]
struct MethodForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

/// The method id from a form, or a 400.
fn method_id(form: &MethodForm) -> Result<MethodId, PageError> {
    MethodId::parse(&form.id).map_err(|_| PageError::bad_request("No such method."))
}

async fn rename(State(app): Shared, session: Session, Form(form): Form<MethodForm>) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let id = method_id(&form)?;
    let result = mfa_account::rename_async(
        &app.store,
        &app.accounts,
        &app.events(),
        &account,
        &id,
        &form.name,
        app.now(),
    )
    .await;
    finish(&app, &session, &account, result, |()| "Renamed.".to_owned()).await
}

async fn make_default(State(app): Shared, session: Session, Form(form): Form<MethodForm>) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let id = method_id(&form)?;
    let result =
        mfa_account::set_default_async(&app.store, &app.events(), &account, &id, app.now()).await;
    finish(&app, &session, &account, result, |()| {
        "Default method changed.".to_owned()
    })
    .await
}

async fn remove(State(app): Shared, session: Session, Form(form): Form<MethodForm>) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let id = method_id(&form)?;
    let now = app.now();
    // The sign-in the removal must leave possible: the usual one, after the password.
    let usual = SignInContext::builder(account.as_str(), Target::Demo.app_name(), now)
        .evidence(Evidence::new(Method::Password, now, "password"))
        .build();
    let guard = RemovalGuard::new(&app.engine, usual);
    let evidence = session.data().evidence;
    let result = mfa_account::remove_async(
        &app.store,
        &app.events(),
        &account,
        &id,
        &evidence,
        &guard,
        now,
    )
    .await;
    finish(&app, &session, &account, result, |removed| {
        format!("Removed \u{201c}{}\u{201d}.", removed.name)
    })
    .await
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

async fn app_password_create(
    State(app): Shared,
    session: Session,
    Form(form): Form<NameForm>,
) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    match mfa_account::create_app_password_async(
        &app.store,
        &app.accounts,
        &app.events(),
        &account,
        &form.name,
        app.now(),
        &mut rng,
    )
    .await
    {
        // Shown once, on this page only.
        Ok(created) => {
            show_security_info(
                &app,
                &session,
                &account,
                true,
                json!({
                    "new_app_password": created.password.as_str(),
                    "new_app_password_name": created.name,
                    "notice": "App password created: copy it now.",
                }),
            )
            .await
        }
        Err(error) => refused(&app, &session, &account, attempt_message(&error)).await,
    }
}

#[derive(Deserialize)]
struct IdForm {
    #[serde(default)]
    id: String,
}

async fn app_password_revoke(
    State(app): Shared,
    session: Session,
    Form(form): Form<IdForm>,
) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let result = mfa_account::revoke_app_password_async(
        &app.store,
        &app.events(),
        &account,
        &form.id,
        Actor::User,
        app.now(),
    )
    .await;
    finish(&app, &session, &account, result, |()| {
        "App password revoked.".to_owned()
    })
    .await
}

async fn device_forget(State(app): Shared, session: Session, Form(form): Form<IdForm>) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let result = mfa_account::forget_device_async(
        &app.store,
        &app.events(),
        &account,
        &form.id,
        Actor::User,
        app.now(),
    )
    .await;
    finish(&app, &session, &account, result, |()| {
        "Device forgotten.".to_owned()
    })
    .await
}

async fn signout_all(State(app): Shared, session: Session) -> Page {
    let account = account_or_return!(may_manage(&app, &session));
    let epoch = mfa_account::sign_out_everywhere_async(
        &app.store,
        &app.events(),
        &account,
        Actor::User,
        app.now(),
    )
    .await?;
    app.log(&format!(
        "account {account:?} signed out everywhere (epoch {epoch})"
    ));
    session.end(&app).await?;
    Ok(see_other("/"))
}
