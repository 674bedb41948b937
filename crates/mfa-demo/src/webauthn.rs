//! Passkeys and security keys (mfa-webauthn): registration from the security-info page, and
//! sign-in with them as a first factor (with or without a username: discoverable credentials,
//! autofill) or as a further factor (the verify page, the admin page's step-up).
//!
//! The JSON routes of demo-spec.md, called by `static/webauthn.js`. Each ceremony's state is
//! kept in the store under a random ceremony id that only this session knows
//! (`SessionData::pending`), and is *taken* (used once) when the browser's answer arrives.
//!
//! Also here: what the three factor modules share (JSON errors, the session's account for a
//! sign-in step or for adding a method, random ids, the crypto RNG).

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_account::{Confirmation, FactorRef, MethodId, MethodKind};
use mfa_core::{AttemptError, Change, Evidence, Method, RecordKey, Rejection, StoreError};
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, Base64UrlBytes,
    DefaultVerifier, RegistrationRequest, RegistrationResponse, ResidentKey, StoredCredential,
    UserEntity, UserVerification,
};
use rand::RngExt as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::{App, AppState};
use crate::pages::{attempt_message, audit_result};
use crate::session::{Access, Session, Target, access, begin_sign_in, complete_factor};

type Shared = State<AppState>;
/// A JSON route's answer: the success, or `{"error", "message"}` with a 4xx/5xx.
type Api = Result<Response, Response>;

/// The session's `pending` entry holding the registration ceremony's id.
const REGISTER_CEREMONY: &str = "webauthn_register";
/// The session's `pending` entry holding the pending passkey method (mfa-account).
const REGISTER_METHOD: &str = "webauthn_method";
/// The session's `pending` entry holding the authentication ceremony's id.
const AUTH_CEREMONY: &str = "webauthn_auth";
/// The session's `pending` entry saying what the authentication is for (`signin`, `verify`).
const AUTH_MODE: &str = "webauthn_mode";
/// Where each account's WebAuthn user handle is kept (random, made once).
const USER_HANDLE_KIND: &str = "demo_webauthn_user";

/// This factor's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webauthn/register/options", post(register_options))
        .route("/webauthn/register/finish", post(register_finish))
        .route("/webauthn/authenticate/options", post(authenticate_options))
        .route("/webauthn/authenticate/finish", post(authenticate_finish))
}

/// Extra values for the passkey verify partial: none (the button does it all).
pub(crate) async fn verify_context(_app: &App, _account: &str, _method: &str) -> Value {
    Value::Null
}

/// Extra values for the passkey part of the security-info page: how many the account holds.
pub(crate) async fn security_info_context(app: &App, account: &str) -> Value {
    match mfa_webauthn::list_credentials_async(&app.store, account).await {
        Ok(passkeys) => json!({ "count": passkeys.len() }),
        Err(_) => Value::Null,
    }
}

// ---- shared by the factor modules ----------------------------------------------------------

/// A JSON error: `{"error": reason, "message": words}` with a 4xx (or 5xx) status.
pub(crate) fn api_error(status: StatusCode, reason: &str, message: &str) -> Response {
    (status, Json(json!({ "error": reason, "message": message }))).into_response()
}

/// A refused attempt as a JSON error: the library's reason, its words, its HTTP status.
pub(crate) fn attempt_error<E: Rejection>(error: &AttemptError<E>) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    api_error(status, error.reason(), &attempt_message(error))
}

/// A store failure as a JSON error.
pub(crate) fn store_error(error: StoreError) -> Response {
    attempt_error(&AttemptError::<std::convert::Infallible>::Store(error))
}

/// A fresh random id (128 bits, base64url) for a ceremony or a transaction.
pub(crate) fn random_id() -> String {
    let mut bytes = [0_u8; 16];
    rand::rng().fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A crypto RNG that may be held across an `.await` (`rand::rng()` may not).
pub(crate) fn rng() -> rand::rngs::StdRng {
    rand::make_rng()
}

/// The account of a session that may add methods (fully signed in, or signed in to register
/// only), or `None`.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub(crate) async fn registering_account(
    app: &App,
    session: &Session,
) -> Result<Option<String>, StoreError> {
    Ok(match access(app, session, Target::Demo).await? {
        Access::Full(account) | Access::Registration(account) => Some(account),
        _ => None,
    })
}

/// The account of a session in the middle of signing in (a first factor done), for a further
/// factor, or `None`.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub(crate) async fn step_account(
    app: &App,
    session: &Session,
) -> Result<Option<String>, StoreError> {
    let target = Target::for_next(session.data().next.as_deref());
    Ok(match access(app, session, target).await? {
        Access::Full(account) | Access::Registration(account) | Access::NeedsStep(account) => {
            Some(account)
        }
        Access::SignedOut | Access::Blocked(_, _) => None,
    })
}

/// Takes the session's `pending` entries `names` (removes them and returns their values).
///
/// # Errors
/// [`StoreError`] when the store fails.
pub(crate) async fn take_pending<const N: usize>(
    app: &App,
    session: &Session,
    names: [&str; N],
) -> Result<[Option<String>; N], StoreError> {
    session
        .update(app, |data| names.map(|name| data.pending.remove(name)))
        .await
}

/// Sets the session's `pending` entries.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub(crate) async fn set_pending(
    app: &App,
    session: &Session,
    entries: &[(&str, &str)],
) -> Result<(), StoreError> {
    session
        .update(app, |data| {
            for (name, value) in entries {
                data.pending.insert((*name).to_owned(), (*value).to_owned());
            }
        })
        .await
}

/// A JSON body, or one `{"error": "malformed_request"}` answer when it is not the JSON the route
/// expects (a WebAuthn response is parsed here, with mfa-webauthn's limits).
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(api_error(
                rejection.status(),
                "malformed_request",
                "The request is not what this page expects: reload it and try again.",
            )),
        }
    }
}

// ---- registration ----------------------------------------------------------------------------

/// The account's WebAuthn user handle: random, made once, the same for all its passkeys.
async fn user_handle(app: &App, account: &str) -> Result<Base64UrlBytes, StoreError> {
    let key = RecordKey::new(USER_HANDLE_KIND, account, "handle");
    let fresh = UserEntity::random(&mut rng(), account, account).id;
    mfa_core::update_async(
        &app.store,
        &key,
        |current: Option<&Base64UrlBytes>| match current {
            Some(handle) => (Change::Keep, handle.clone()),
            None => (Change::Put(fresh.clone()), fresh.clone()),
        },
    )
    .await
}

/// The account's user handle if it has one (never made here: sign-in does not create records).
async fn existing_user_handle(
    app: &App,
    account: &str,
) -> Result<Option<Base64UrlBytes>, StoreError> {
    mfa_core::load_async(
        &app.store,
        &RecordKey::new(USER_HANDLE_KIND, account, "handle"),
    )
    .await
}

#[derive(Deserialize)]
struct RegisterOptionsBody {
    #[serde(default)]
    name: String,
}

/// `POST /webauthn/register/options`: begins adding a passkey (mfa-account's pending method)
/// and answers the creation options: resident key required, user verification preferred, the
/// account's passkeys excluded.
async fn register_options(
    State(app): Shared,
    session: Session,
    JsonBody(body): JsonBody<RegisterOptionsBody>,
) -> Api {
    let (app, session, name) = (&*app, &session, body.name.as_str());
    let account = registering_account(app, session)
        .await
        .map_err(store_error)?
        .ok_or_else(not_signed_in)?;
    let pending = mfa_account::begin_add_async(
        &app.store,
        &app.accounts,
        &account,
        MethodKind::WebAuthn,
        name,
        app.now(),
        &mut rng(),
    )
    .await
    .map_err(|error| attempt_error(&error))?;
    let user = UserEntity {
        id: user_handle(app, &account).await.map_err(store_error)?,
        name: account.clone(),
        display_name: account.clone(),
    };
    let request = RegistrationRequest {
        exclude_credentials: mfa_webauthn::list_credentials_async(&app.store, &account)
            .await
            .map_err(store_error)?
            .iter()
            .map(StoredCredential::descriptor)
            .collect(),
        resident_key: ResidentKey::Required,
        user_verification: UserVerification::Preferred,
        ..RegistrationRequest::default()
    };
    let ceremony = random_id();
    let options = mfa_webauthn::start_registration_async(
        &app.store,
        &app.relying_party,
        &mut rng(),
        app.now(),
        &ceremony,
        user,
        request,
    )
    .await
    .map_err(store_error)?;
    set_pending(
        app,
        session,
        &[
            (REGISTER_CEREMONY, &ceremony),
            (REGISTER_METHOD, pending.id.as_str()),
        ],
    )
    .await
    .map_err(store_error)?;
    Ok(Json(json!({ "publicKey": options })).into_response())
}

fn not_signed_in() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "signed_out",
        "You are not signed in (or your sign-in is not finished): sign in again.",
    )
}

fn no_ceremony() -> Response {
    attempt_error(&AttemptError::<std::convert::Infallible>::ChallengeNotFound)
}

#[derive(Deserialize)]
struct RegisterFinishBody {
    /// `RegistrationResponseJSON` (`credential.toJSON()`), parsed with mfa-webauthn's limits.
    response: RegistrationResponse,
}

/// `POST /webauthn/register/finish`: takes the session's ceremony (once), verifies the new
/// credential, stores it, and confirms the pending method with it (mfa-account, with the
/// authenticator's AAGUID).
async fn register_finish(
    State(app): Shared,
    session: Session,
    JsonBody(body): JsonBody<RegisterFinishBody>,
) -> Api {
    let (app, session, response) = (&*app, &session, &body.response);
    let account = registering_account(app, session)
        .await
        .map_err(store_error)?
        .ok_or_else(not_signed_in)?;
    let [ceremony, method] = take_pending(app, session, [REGISTER_CEREMONY, REGISTER_METHOD])
        .await
        .map_err(store_error)?;
    let (Some(ceremony), Some(method)) = (ceremony, method) else {
        return Err(no_ceremony());
    };
    let method = MethodId::parse(&method).map_err(|_| no_ceremony())?;
    let now = app.now();
    let registered = mfa_webauthn::finish_registration_async(
        &app.store,
        &ceremony,
        response,
        now,
        &DefaultVerifier,
        &AttestationOptions::default(),
    )
    .await
    .map_err(|error| {
        app.log(&format!(
            "account {account:?}: passkey registration refused: {}",
            error.reason()
        ));
        attempt_error(&error)
    })?;
    let credential = registered.credential;
    let key = mfa_webauthn::register_credential_async(&app.store, &account, &credential)
        .await
        .map_err(|error| match error {
            StoreError::AlreadyExists { .. } => api_error(
                StatusCode::CONFLICT,
                "already_registered",
                "This passkey is registered already.",
            ),
            other => store_error(other),
        })?;
    // The registration is the credential's first check: what it proved is the method's.
    let proof = Evidence::new(
        Method::WebAuthn,
        now,
        mfa_core::CredentialId::from(&credential.id),
    )
    .user_verified(credential.user_verified.unwrap_or(false))
    .device_bound(!credential.backup_eligible.unwrap_or(false));
    let factor = FactorRef::webauthn(&credential.id, credential.aaguid.clone());
    let confirmed = mfa_account::confirm_add_async(
        &app.store,
        &app.accounts,
        &app.events(),
        &account,
        Confirmation {
            pending_id: &method,
            factor: &factor,
            proof: &proof,
            providers: None,
        },
        now,
    )
    .await;
    match confirmed {
        Ok(entry) => {
            session
                .flash(
                    app,
                    format!("Passkey \u{201c}{}\u{201d} added.", entry.name),
                )
                .await
                .map_err(store_error)?;
            Ok(Json(json!({ "ok": true, "redirect": "/security-info" })).into_response())
        }
        Err(error) => {
            // Not a method: the credential must not sign anyone in.
            let _removed: Option<StoredCredential> = mfa_core::take_async(&app.store, &key)
                .await
                .map_err(store_error)?;
            Err(attempt_error(&error))
        }
    }
}

// ---- authentication ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct AuthenticateOptionsBody {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    mode: String,
}

/// `POST /webauthn/authenticate/options`: `signin` / `conditional` starts a first-factor passkey
/// sign-in (no username: any discoverable credential; a username: only that user's passkeys);
/// `verify` asks the signed-in user for one of their passkeys as a further factor.
async fn authenticate_options(
    State(app): Shared,
    session: Session,
    JsonBody(body): JsonBody<AuthenticateOptionsBody>,
) -> Api {
    let (app, session) = (&*app, &session);
    let (mode, account) = match body.mode.as_str() {
        "signin" | "conditional" => {
            let username = body
                .username
                .as_deref()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .and_then(|name| crate::password::normalize_username(name).ok());
            ("signin", username)
        }
        "verify" => {
            let Some(account) = step_account(app, session).await.map_err(store_error)? else {
                return Err(not_signed_in());
            };
            ("verify", Some(account))
        }
        _ => {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "The mode is signin, conditional or verify.",
            ));
        }
    };
    let request = match &account {
        Some(account) => AuthenticationRequest {
            allow_credentials: mfa_webauthn::list_credentials_async(&app.store, account)
                .await
                .map_err(store_error)?
                .iter()
                .map(StoredCredential::descriptor)
                .collect(),
            user_handle: existing_user_handle(app, account)
                .await
                .map_err(store_error)?,
            user_verification: UserVerification::Preferred,
            ..AuthenticationRequest::default()
        },
        None => AuthenticationRequest {
            user_verification: UserVerification::Preferred,
            ..AuthenticationRequest::default()
        },
    };
    if mode == "verify" && request.allow_credentials.is_empty() {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "not_enrolled",
            "You have no passkey yet: add one in your security info.",
        ));
    }
    let ceremony = random_id();
    let options = mfa_webauthn::start_authentication_async(
        &app.store,
        &app.relying_party,
        &mut rng(),
        app.now(),
        &ceremony,
        request,
    )
    .await
    .map_err(store_error)?;
    set_pending(
        app,
        session,
        &[(AUTH_CEREMONY, &ceremony), (AUTH_MODE, mode)],
    )
    .await
    .map_err(store_error)?;
    Ok(Json(json!({ "publicKey": options })).into_response())
}

#[derive(Deserialize)]
struct AuthenticateFinishBody {
    /// `AuthenticationResponseJSON` (`credential.toJSON()`), parsed with mfa-webauthn's limits.
    response: AuthenticationResponse,
    #[serde(default)]
    remember: bool,
}

/// `POST /webauthn/authenticate/finish`: takes the session's ceremony (once) and checks the
/// assertion. A `signin` ceremony finds the account by the credential id and starts the sign-in
/// with it; a `verify` one adds the passkey's evidence to the signed-in session. Either way the
/// policy decides what comes next.
async fn authenticate_finish(
    State(app): Shared,
    session: Session,
    JsonBody(body): JsonBody<AuthenticateFinishBody>,
) -> Api {
    let (app, session) = (&*app, &session);
    let [ceremony, mode] = take_pending(app, session, [AUTH_CEREMONY, AUTH_MODE])
        .await
        .map_err(store_error)?;
    let (Some(ceremony), Some(mode)) = (ceremony, mode) else {
        return Err(no_ceremony());
    };
    let id = &body.response.credential_id;
    let (key, account) = if mode == "verify" {
        let account = step_account(app, session)
            .await
            .map_err(store_error)?
            .ok_or_else(not_signed_in)?;
        (mfa_webauthn::record_key(&account, id), account)
    } else {
        // Username-less: the credential id names the account. An unknown id still spends the
        // ceremony (and is then "not enrolled").
        match mfa_webauthn::find_credential_async(&app.store, id)
            .await
            .map_err(store_error)?
        {
            Some((key, _)) => {
                let account = key.account().to_owned();
                (key, account)
            }
            None => (mfa_webauthn::record_key("", id), String::new()),
        }
    };
    let verified = mfa_webauthn::finish_authentication_async(
        &app.store,
        &ceremony,
        &key,
        &body.response,
        app.now(),
        &DefaultVerifier,
    )
    .await;
    let verified = match verified {
        Ok(verified) => verified,
        Err(error) => {
            app.audit_attempt(
                &account,
                Method::WebAuthn,
                audit_result(&error),
                Some(error.reason()),
                session.client(),
            )
            .await;
            return Err(match error {
                AttemptError::NotEnrolled => api_error(
                    StatusCode::UNAUTHORIZED,
                    "not_enrolled",
                    "This passkey is not registered here (was it removed?).",
                ),
                other => attempt_error(&other),
            });
        }
    };
    let evidence = verified.evidence().clone();
    let outcome = if mode == "verify" {
        complete_factor(app, session, evidence, body.remember).await
    } else {
        begin_sign_in(app, session, &account, evidence, false, body.remember).await
    };
    match outcome {
        Ok(outcome) => Ok(outcome.into_json()),
        Err(error) => Err(api_error(error.status, "refused", &error.message)),
    }
}
