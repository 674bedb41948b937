//! Example: a minimal web service (axum + tokio) with every factor of the workspace, the way a
//! service would wire them: TOTP enrollment confirmed by a first code, then sign-in; backup
//! codes; passkeys registered and used with and without a username. Accounts, credentials and
//! ceremony state live in one `mfa_core` store (here a `MemoryStore` behind an `Arc`; a durable
//! backend has the same traits). Errors map to HTTP statuses with `Retry-After`.
//!
//! Run with `cargo run -p mfa-examples --bin web -- --listen 127.0.0.1:3000`; it prints
//! `listening on http://ADDRESS` and serves JSON:
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /totp/enroll` | `{account}` | `{uri, secret}` to show as a QR code (pending until confirmed) |
//! | `POST /totp/confirm` | `{account, code}` | the first code makes it the account's authenticator |
//! | `POST /totp/verify` | `{account, code}` | sign-in with a code |
//! | `POST /backup/issue` | `{account}` | `{codes}`: shown once, stored hashed |
//! | `POST /backup/redeem` | `{account, code}` | `{remaining}` |
//! | `POST /passkey/register/start` | `{session, account}` | `PublicKeyCredentialCreationOptionsJSON` |
//! | `POST /passkey/register/finish` | `{session, account, response}` | the new passkey's id |
//! | `POST /passkey/login/start` | `{session, account?}` | `PublicKeyCredentialRequestOptionsJSON` (no account: any passkey) |
//! | `POST /passkey/login/finish` | `{session, response}` | `{account}` the passkey belongs to |
//! | `GET /methods/{account}` | | the account's methods ("security info") |
//!
//! Each sign-in answers `{"account", "method", "evidence"}`. A failure answers
//! `{"error": reason}` with the status of `AttemptError::http_status`: 401 for any "no" (one
//! answer, so a caller cannot tell a wrong code from an unknown account), 429 with `Retry-After`
//! while throttled, 423 when locked, 409 for a duplicate, 503 when the store fails.
//!
//! The `session` field stands for the browser session a real service keeps in a cookie: the
//! pending passkey ceremony is stored under it and taken (used once) when the response arrives.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mfa_core::{
    AttemptError, Change, Clock as _, Evidence, MemoryStore, RecordKey, Rejection, StoreError,
    SystemClock, ThrottlePolicy, UnixTime,
};
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, Base64UrlBytes,
    DefaultVerifier, RegistrationRequest, RegistrationResponse, RelyingParty, StoredCredential,
    UserEntity,
};
use rand::rngs::StdRng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// What every handler shares.
struct App {
    store: MemoryStore,
    throttle: ThrottlePolicy,
}

type Shared = State<Arc<App>>;

/// The current time, read once per request and passed to every check.
fn now() -> UnixTime {
    SystemClock.now()
}

/// A fresh crypto RNG per request. `rand::rng()` (a `ThreadRng`) is not `Send`, so it cannot be
/// held across an `.await` in a handler (axum then reports an opaque `Handler` trait error);
/// a `StdRng` seeded from the operating system can.
fn rng() -> StdRng {
    rand::make_rng()
}

/// An error as the client sees it: a status, a stable reason, and `Retry-After` when throttled.
struct ApiError {
    status: StatusCode,
    reason: &'static str,
    retry_after_secs: Option<u64>,
}

impl<E: Rejection> From<AttemptError<E>> for ApiError {
    fn from(error: AttemptError<E>) -> Self {
        // Log the operator's reason; the client gets the status and the stable reason only.
        eprintln!("refused: {} ({error})", error.reason());
        Self {
            status: StatusCode::from_u16(error.http_status())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            reason: error.reason(),
            // Whole seconds, rounded up, as Retry-After wants.
            retry_after_secs: error
                .retry_after()
                .map(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        AttemptError::<std::convert::Infallible>::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.reason }))).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

type Answer = Result<Json<Value>, ApiError>;

/// A JSON body, or one `{"error": "malformed_request"}` answer (with axum's status: 400, 415 or
/// 422) when it is not the JSON the route expects, so every error has the same shape.
struct Input<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError {
                status: rejection.status(),
                reason: "malformed_request",
                retry_after_secs: None,
            }),
        }
    }
}

/// What a successful sign-in step answers.
fn signed_in(account: &str, evidence: &Evidence) -> Json<Value> {
    Json(json!({
        "account": account,
        "method": evidence.method.as_str(),
        "evidence": evidence,
    }))
}

#[derive(Deserialize)]
struct AccountBody {
    account: String,
}

#[derive(Deserialize)]
struct CodeBody {
    account: String,
    code: String,
}

// ---- authenticator app (TOTP) ---------------------------------------------------------------

/// Every account has one authenticator app here, under this credential id.
const TOTP_ID: &str = "app";

/// Begins enrolling an authenticator app: a fresh secret, shown as an `otpauth://` URI (a QR
/// code in a real page), pending until the first code confirms it.
async fn totp_enroll(State(app): Shared, Input(body): Input<AccountBody>) -> Answer {
    let pending = mfa_otp::begin_totp_enrollment_async(
        &app.store,
        &body.account,
        TOTP_ID,
        &mfa_otp::TotpEnrollmentPolicy::default(),
        &mut rng(),
        now(),
    )
    .await?;
    let uri = pending
        .key_uri(Some("Example"), &body.account)
        .map_err(AttemptError::Rejected)?;
    // Both carry the secret: shown to this user once, over TLS, never logged.
    Ok(Json(json!({
        "uri": uri.to_uri().as_str(),
        "secret": pending.secret().to_base32().as_str(),
        "expires_at": pending.expires_at(),
    })))
}

/// The first code from the app: the pending enrollment becomes the account's credential.
async fn totp_confirm(State(app): Shared, Input(body): Input<CodeBody>) -> Answer {
    let verified = mfa_otp::confirm_totp_enrollment_async(
        &app.store,
        &body.account,
        TOTP_ID,
        &app.throttle,
        &body.code,
        now(),
    )
    .await?;
    Ok(signed_in(&body.account, verified.evidence()))
}

/// Sign-in with a code: throttled, and a code is accepted once.
async fn totp_verify(State(app): Shared, Input(body): Input<CodeBody>) -> Answer {
    let key = mfa_otp::totp_record_key(&body.account, TOTP_ID);
    let verified =
        mfa_otp::verify_totp_async(&app.store, &key, &app.throttle, &body.code, now()).await?;
    Ok(signed_in(&body.account, verified.evidence()))
}

// ---- backup codes ---------------------------------------------------------------------------

/// Issues (or regenerates) the account's backup codes. The 19 MiB Argon2id hashes run on the
/// blocking pool, never on the async workers.
async fn backup_issue(State(app): Shared, Input(body): Input<AccountBody>) -> Answer {
    let key = mfa_backup::record_key(&body.account);
    let policy = mfa_backup::IssuePolicy::default();
    let issued = mfa_backup::issue_async(&app.store, &key, &policy, now(), &mut rng(), |job| {
        tokio::task::spawn_blocking(move || job.run())
    })
    .await?;
    let codes: Vec<&str> = issued
        .codes
        .iter()
        .map(|code| code.expose_secret())
        .collect();
    Ok(Json(json!({ "codes": codes })))
}

async fn backup_redeem(State(app): Shared, Input(body): Input<CodeBody>) -> Answer {
    let key = mfa_backup::record_key(&body.account);
    let redeemed = mfa_backup::redeem_async(
        &app.store,
        &key,
        &app.throttle,
        &body.code,
        now(),
        &mut rng(),
        |job| tokio::task::spawn_blocking(move || job.run()),
    )
    .await?;
    let mut answer = signed_in(&body.account, redeemed.verified.evidence());
    answer["remaining"] = json!(redeemed.remaining);
    Ok(answer)
}

// ---- passkeys (WebAuthn) ----------------------------------------------------------------------

/// The relying party: this site's RP ID and origin, as the browser reports it.
fn relying_party() -> RelyingParty {
    RelyingParty::new("localhost", "Example", ORIGIN)
}

/// The origin browsers use for this example (`--listen` may differ; a real service sets its own).
const ORIGIN: &str = "http://localhost:3000";

/// The account's WebAuthn user handle: random, made once, the same for all its passkeys.
async fn user_handle(store: &MemoryStore, account: &str) -> Result<Base64UrlBytes, StoreError> {
    let key = RecordKey::new("webauthn_user", account, "handle");
    let fresh = UserEntity::random(&mut rng(), account, account).id;
    mfa_core::update_async(
        store,
        &key,
        |current: Option<&Base64UrlBytes>| match current {
            Some(handle) => (Change::Keep, handle.clone()),
            None => (Change::Put(fresh.clone()), fresh.clone()),
        },
    )
    .await
}

#[derive(Deserialize)]
struct RegisterStart {
    session: String,
    account: String,
}

/// Registration options for the browser; the ceremony waits in the store under the session.
async fn passkey_register_start(State(app): Shared, Input(body): Input<RegisterStart>) -> Answer {
    let handle = user_handle(&app.store, &body.account).await?;
    let user = UserEntity {
        id: handle,
        name: body.account.clone(),
        display_name: body.account.clone(),
    };
    // The account's passkeys are excluded, so an authenticator does not register twice.
    let request = RegistrationRequest {
        exclude_credentials: mfa_webauthn::list_credentials_async(&app.store, &body.account)
            .await?
            .iter()
            .map(StoredCredential::descriptor)
            .collect(),
        ..RegistrationRequest::default()
    };
    let options = mfa_webauthn::start_registration_async(
        &app.store,
        &relying_party(),
        &mut rng(),
        now(),
        &body.session,
        user,
        request,
    )
    .await?;
    Ok(Json(json!(options)))
}

#[derive(Deserialize)]
struct RegisterFinish {
    session: String,
    account: String,
    /// `RegistrationResponseJSON`, parsed with the crate's limits by serde.
    response: RegistrationResponse,
}

/// Takes the session's ceremony (once), verifies the new passkey and stores it; an id that any
/// account already holds is a 409.
async fn passkey_register_finish(State(app): Shared, Input(body): Input<RegisterFinish>) -> Answer {
    let registered = mfa_webauthn::finish_registration_async(
        &app.store,
        &body.session,
        &body.response,
        now(),
        &DefaultVerifier,
        &AttestationOptions::default(),
    )
    .await?;
    let key =
        mfa_webauthn::register_credential_async(&app.store, &body.account, &registered.credential)
            .await?;
    Ok(Json(
        json!({ "account": body.account, "credential_id": key.id() }),
    ))
}

#[derive(Deserialize)]
struct LoginStart {
    session: String,
    /// Absent: a username-less sign-in, any of the user's passkeys (discoverable credentials).
    account: Option<String>,
}

async fn passkey_login_start(State(app): Shared, Input(body): Input<LoginStart>) -> Answer {
    let request = match &body.account {
        Some(account) => AuthenticationRequest {
            allow_credentials: mfa_webauthn::list_credentials_async(&app.store, account)
                .await?
                .iter()
                .map(StoredCredential::descriptor)
                .collect(),
            user_handle: Some(user_handle(&app.store, account).await?),
            ..AuthenticationRequest::default()
        },
        None => AuthenticationRequest::default(),
    };
    let options = mfa_webauthn::start_authentication_async(
        &app.store,
        &relying_party(),
        &mut rng(),
        now(),
        &body.session,
        request,
    )
    .await?;
    Ok(Json(json!(options)))
}

#[derive(Deserialize)]
struct LoginFinish {
    session: String,
    response: AuthenticationResponse,
}

/// Finds the passkey by its id (which names the account), then takes the session's ceremony
/// and checks the assertion: a replayed assertion finds no ceremony.
async fn passkey_login_finish(State(app): Shared, Input(body): Input<LoginFinish>) -> Answer {
    let id = &body.response.credential_id;
    // An unknown id still spends the ceremony (and is then "not enrolled").
    let key = match mfa_webauthn::find_credential_async(&app.store, id).await? {
        Some((key, _)) => key,
        None => mfa_webauthn::record_key("", id),
    };
    let verified = mfa_webauthn::finish_authentication_async(
        &app.store,
        &body.session,
        &key,
        &body.response,
        now(),
        &DefaultVerifier,
    )
    .await?;
    Ok(signed_in(key.account(), verified.evidence()))
}

// ---- security info --------------------------------------------------------------------------

async fn methods(State(app): Shared, Path(account): Path<String>) -> Answer {
    let apps: Vec<(RecordKey, mfa_otp::TotpCredential)> =
        mfa_core::list_async(&app.store, mfa_otp::TOTP_RECORD_KIND, &account).await?;
    let apps: Vec<Value> = apps
        .iter()
        .map(|(key, credential)| {
            json!({
                "id": key.id(),
                "created_at": credential.created_at(),
                "last_used_at": credential.last_used_at(),
            })
        })
        .collect();
    let passkeys: Vec<Value> = mfa_webauthn::list_credentials_async(&app.store, &account)
        .await?
        .iter()
        .map(|passkey| {
            json!({
                "id": passkey.id.to_b64url(),
                "synced": passkey.backup_eligible,
                "created_at": passkey.created_at,
                "last_used_at": passkey.last_used_at,
            })
        })
        .collect();
    let backup = mfa_backup::load_set_async(&app.store, &mfa_backup::record_key(&account))
        .await?
        .map(|set| {
            json!({
                "remaining": set.remaining(),
                "issued_at": set.issued_at(),
                "last_used_at": set.last_used_at(),
            })
        });
    Ok(Json(json!({
        "account": account,
        "authenticator_apps": apps,
        "passkeys": passkeys,
        "backup_codes": backup,
    })))
}

fn app(state: Arc<App>) -> Router {
    Router::new()
        .route("/totp/enroll", post(totp_enroll))
        .route("/totp/confirm", post(totp_confirm))
        .route("/totp/verify", post(totp_verify))
        .route("/passkey/register/start", post(passkey_register_start))
        .route("/passkey/register/finish", post(passkey_register_finish))
        .route("/passkey/login/start", post(passkey_login_start))
        .route("/passkey/login/finish", post(passkey_login_finish))
        .route("/backup/issue", post(backup_issue))
        .route("/backup/redeem", post(backup_redeem))
        .route("/methods/{account}", get(methods))
        // A WebAuthn response is at most 64 KiB (the crate's bound on a response document); the
        // rest of a body here is a few short fields.
        .layer(DefaultBodyLimit::max(
            mfa_webauthn::response::MAX_RESPONSE_JSON_LEN + 4096,
        ))
        .with_state(state)
}

/// The command line: `[--listen ADDRESS:PORT] [--first-delay SECONDS]` (the throttle's wait
/// after the free failures; default 1 s, doubling from there).
struct Options {
    listen: SocketAddr,
    throttle: ThrottlePolicy,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        throttle: ThrottlePolicy::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => {
                options.listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e}"))?;
            }
            "--first-delay" => {
                let seconds: u64 = value.parse().map_err(|e| format!("--first-delay: {e}"))?;
                options.throttle.initial_delay = std::time::Duration::from_secs(seconds);
            }
            _ => return Err("usage: web [--listen ADDRESS:PORT] [--first-delay SECONDS]".into()),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let state = Arc::new(App {
        store: MemoryStore::new(),
        throttle: options.throttle,
    });
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(state)).await?;
    Ok(())
}
