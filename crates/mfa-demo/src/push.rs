//! Push approval with number matching (mfa-push): the enrolment offer on the security-info page
//! (a QR code of the enrolment URI), the phone page that plays the authenticator app (its
//! script, `static/phone.js`, talks to the signed JSON API under `/phone/api/`), and the sign-in
//! step: the page shows the number, the phone types it, the page moves on by itself.
//!
//! The phone's messages carry no cookie: each is a compact JWS signed by the device key, checked
//! by mfa-push before anything is touched. What grants the sign-in is the sign-in page's own
//! [`mfa_push::take_outcome`], asked with a random transaction only its session knows.

use std::sync::OnceLock;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use mfa_account::{MethodId, MethodKind};
use mfa_core::{AttemptError, Evidence, Method, RecordKey, StoreError};
use mfa_push::{
    ChallengeContext, ChallengeId, ChallengeRequest, MAX_CONTEXT_FIELD_CHARS, NumberMatch,
    PushError, PushEvent, PushEventSink, PushOutcome, PushPolicy,
};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::{App, AppState};
use crate::pages::{attempt_message, audit_result, redirect_for, show_verify};
use crate::session::{Session, Target, access, complete_factor};
use crate::web::{PageError, render, render_status, see_other, url_encode};
use crate::webauthn::{
    api_error, attempt_error, random_id, registering_account, rng, step_account, store_error,
    take_pending,
};

type Shared = State<AppState>;
type Page = Result<Response, PageError>;

/// The session's `pending` entries of a push sign-in.
const CHALLENGE: &str = "push_challenge";
const TRANSACTION: &str = "push_transaction";
const NUMBER: &str = "push_number";
const REMEMBER: &str = "push_remember";
const ERROR: &str = "push_error";

/// Where the pending push method of an account waits for its phone to register (the phone's
/// request has no session): the mfa-account pending method id.
const PENDING_KIND: &str = "demo_push_enrolment";

/// How the number is matched: mfa-push's default, 6 typed digits (meets NIST SP 800-63B-4).
const MODE: NumberMatch = NumberMatch::Typed { digits: 6 };

/// The push settings: mfa-push's defaults (60 s challenges, 3 free pushes, then growing waits;
/// 3 denials lock push for an hour; a fraud report locks it until an operator unlocks).
fn policy() -> &'static PushPolicy {
    static POLICY: OnceLock<PushPolicy> = OnceLock::new();
    POLICY.get_or_init(|| PushPolicy::new("mfa demo"))
}

/// This factor's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/security-info/push", get(add_page))
        .route("/phone", get(phone_page))
        .route("/phone/api/register", post(api_register))
        .route("/phone/api/pending", post(api_pending))
        .route("/phone/api/respond", post(api_respond))
        .route("/signin/push/start", post(start))
        .route("/signin/push", get(wait_page))
        .route("/signin/push/status", get(status))
        .route("/signin/push/check", post(check))
}

/// Extra values for the push verify partial: the number of phones that will be asked.
pub(crate) async fn verify_context(app: &App, account: &str, _method: &str) -> Value {
    match mfa_push::list_devices_async(&app.store, account).await {
        Ok(devices) => json!({ "devices": devices.len() }),
        Err(_) => Value::Null,
    }
}

/// Extra values for the push part of the security-info page: the registered phones.
pub(crate) async fn security_info_context(app: &App, account: &str) -> Value {
    match mfa_push::list_devices_async(&app.store, account).await {
        Ok(devices) => json!({ "devices": devices.len() }),
        Err(_) => Value::Null,
    }
}

/// Push events (fraud reports, caps reached, denials) as log lines. They hold ids, never a
/// number or a key.
struct LogPushEvents<'a>(&'a App);

impl PushEventSink for LogPushEvents<'_> {
    fn record(&self, event: PushEvent) {
        let line = match &event {
            PushEvent::FraudReported(report) => format!(
                "push: FRAUD REPORTED by {:?} on device {} (push locked until an operator unlocks)",
                report.account,
                report.device_id.as_str()
            ),
            other => format!("push: {other:?}"),
        };
        self.0.log(&line);
    }
}

/// The HTTP status of a refused push step: 429 while a limit (the push cap, the denial cap)
/// makes it wait, mfa-core's mapping otherwise.
fn push_status(error: &AttemptError<PushError>) -> StatusCode {
    match error {
        AttemptError::Rejected(rejected) if rejected.retry_after().is_some() => {
            StatusCode::TOO_MANY_REQUESTS
        }
        other => StatusCode::from_u16(other.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
    }
}

/// The words for a refused push step.
fn push_words(error: &AttemptError<PushError>) -> String {
    match error {
        AttemptError::Rejected(PushError::WrongNumber) => {
            "The number typed on the phone did not match the one on this page.".to_owned()
        }
        AttemptError::Rejected(PushError::Denied) => {
            "The sign-in was denied on the phone.".to_owned()
        }
        AttemptError::Rejected(PushError::Expired) => {
            "The phone did not answer in time: send a new request.".to_owned()
        }
        AttemptError::Rejected(PushError::Superseded) => {
            "A newer request replaced this one.".to_owned()
        }
        AttemptError::Rejected(PushError::FraudReported(_) | PushError::FraudLocked) => {
            "Push sign-in is locked for this account after \u{201c}It wasn't me\u{201d} was pressed on the phone: use another method, or ask the operator to unlock it.".to_owned()
        }
        AttemptError::Rejected(PushError::PushCapReached { retry_after }) => format!(
            "You've reached our limit for push requests without an approval: wait {} seconds before sending another.",
            retry_after.as_secs_f64().ceil()
        ),
        AttemptError::Rejected(PushError::DenialCapReached { retry_after }) => format!(
            "Too many requests were denied on the phone: push sign-in is paused for {} minutes.",
            (retry_after.as_secs_f64() / 60.0).ceil()
        ),
        AttemptError::Rejected(PushError::TooManyDevices { max }) => {
            format!("You have the maximum of {max} phones for push already: remove one first.")
        }
        AttemptError::NotEnrolled => "No phone is registered for push on this account.".to_owned(),
        other => attempt_message(other),
    }
}

// ---- enrolment -------------------------------------------------------------------------------

/// What waits for the phone's registration.
#[derive(Serialize, Deserialize)]
struct PendingPushMethod {
    /// The mfa-account pending method.
    method_id: String,
}

fn pending_key(account: &str) -> RecordKey {
    RecordKey::new(PENDING_KIND, account, "")
}

/// The QR code of `text` as an inline SVG document.
fn qr_svg(text: &str) -> Option<String> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .ok()
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build()
        })
}

/// `GET /security-info/push`: a pending push method (mfa-account), a one-time enrolment token in
/// an enrolment URI (mfa-push), shown as a QR code, as text, and as a link to the phone page.
async fn add_page(State(app): Shared, session: Session) -> Page {
    let access = access(&app, &session, Target::Demo).await?;
    if let Some(response) = redirect_for(&access) {
        return Ok(response);
    }
    let Some(account) = registering_account(&app, &session).await? else {
        return Ok(see_other("/signin"));
    };
    let now = app.now();
    let offer = async {
        let pending = mfa_account::begin_add_async(
            &app.store,
            &app.accounts,
            &account,
            MethodKind::Push,
            "Phone (push)",
            now,
            &mut rng(),
        )
        .await
        .map_err(|error| attempt_message(&error))?;
        let offer =
            mfa_push::begin_enrollment_async(&app.store, policy(), &account, now, &mut rng())
                .await
                .map_err(|error| push_words(&error))?;
        mfa_core::put_until_async(
            &app.store,
            &pending_key(&account),
            &PendingPushMethod {
                method_id: pending.id.as_str().to_owned(),
            },
            policy().store_expiry(offer.expires_at),
        )
        .await
        .map_err(|error| attempt_message(&AttemptError::<PushError>::Store(error)))?;
        Ok::<_, String>(offer)
    }
    .await;
    match offer {
        Ok(offer) => {
            let uri = offer.uri.to_uri();
            Ok(render(
                &app,
                &session,
                "push_add.html",
                json!({
                    "uri": uri.as_str(),
                    "qr_svg": qr_svg(&uri),
                    "phone_link": format!("/phone?enroll={}", url_encode(&uri)),
                    "expires_minutes": policy().enrollment_lifetime.as_secs() / 60,
                }),
            )
            .await)
        }
        Err(message) => Ok(render_status(
            &app,
            &session,
            StatusCode::BAD_REQUEST,
            "push_add.html",
            json!({ "error": message }),
        )
        .await),
    }
}

#[derive(Deserialize)]
struct PhoneQuery {
    enroll: Option<String>,
}

/// `GET /phone`: the authenticator app (its script does everything; no session needed).
async fn phone_page(
    State(app): Shared,
    session: Session,
    Query(query): Query<PhoneQuery>,
) -> Response {
    render(
        &app,
        &session,
        "phone.html",
        json!({ "enroll": query.enroll.filter(|uri| uri.len() <= mfa_push::MAX_ENROLLMENT_URI_LEN) }),
    )
    .await
}

/// A JSON answer to the phone, in the phone's words.
fn phone_error(error: &AttemptError<PushError>) -> Response {
    let status = push_status(error);
    let message = match error {
        AttemptError::Rejected(PushError::WrongNumber) => {
            "Wrong number: that is not the number on the sign-in page. It shows a new one now."
                .to_owned()
        }
        AttemptError::Rejected(PushError::Denied) => "Denied: the sign-in was refused.".to_owned(),
        AttemptError::Rejected(PushError::Expired) => {
            "Too late: this sign-in request has expired.".to_owned()
        }
        AttemptError::ChallengeNotFound => {
            "This sign-in request is no longer waiting for an answer.".to_owned()
        }
        other => push_words(other),
    };
    api_error(status, error.reason(), &message)
}

/// `POST /phone/api/register` (a `mfa-push-register+jwt`): redeems the enrolment token, stores
/// the device, and records it as the account's push method (mfa-account).
async fn api_register(State(app): Shared, body: String) -> Response {
    let now = app.now();
    let device = match mfa_push::register_device_async(&app.store, policy(), &body, now).await {
        Ok(device) => device,
        Err(error) => {
            app.log(&format!("push: registration refused: {}", error.reason()));
            return phone_error(&error);
        }
    };
    let account = device.account.clone();
    let recorded = async {
        let pending: Option<PendingPushMethod> =
            mfa_core::take_async(&app.store, &pending_key(&account)).await?;
        let Some(method) = pending.and_then(|pending| MethodId::parse(&pending.method_id).ok())
        else {
            return Ok(Err(api_error(
                StatusCode::GONE,
                "enrollment_expired",
                "The setup on the security-info page expired: start again there.",
            )));
        };
        // The registration proves possession of the device key; what a check of it proves is
        // what its approvals will prove under this demo's number matching.
        let proof = Evidence::new(Method::Push, now, device.device_id.as_str())
            .number_matched(true)
            .number_match_meets_rev4(MODE.meets_rev4());
        Ok::<_, StoreError>(
            mfa_account::confirm_add_with_proof_async(
                &app.store,
                &app.accounts,
                &app.events(),
                &account,
                &method,
                &proof,
                now,
            )
            .await
            .map_err(|error| attempt_error(&error)),
        )
    }
    .await;
    match recorded {
        Ok(Ok(_)) => {
            app.log(&format!(
                "push: device {} registered for {account:?}",
                device.device_id.as_str()
            ));
            Json(json!({ "ok": true, "device_id": device.device_id.as_str() })).into_response()
        }
        Ok(Err(response)) => {
            let _removed =
                mfa_push::remove_device_async(&app.store, &account, &device.device_id).await;
            response
        }
        Err(error) => {
            let _removed =
                mfa_push::remove_device_async(&app.store, &account, &device.device_id).await;
            store_error(error)
        }
    }
}

/// `POST /phone/api/pending` (a signed `pending` request): the device's pending challenges.
async fn api_pending(State(app): Shared, body: String) -> Response {
    match mfa_push::pending_challenges_async(&app.store, policy(), &body, app.now()).await {
        Ok(views) => Json(views).into_response(),
        Err(error) => phone_error(&error),
    }
}

/// `POST /phone/api/respond` (a `mfa-push-response+jwt`): the phone's answer, checked and
/// committed once. This answers the phone only; the sign-in page takes the outcome itself.
async fn api_respond(State(app): Shared, body: String) -> Response {
    let events = LogPushEvents(&app);
    match mfa_push::verify_response_async(&app.store, policy(), &body, app.now(), &events).await {
        Ok(_approved) => Json(json!({ "ok": true })).into_response(),
        Err(error) => phone_error(&error),
    }
}

// ---- sign-in -----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct StartForm {
    remember: Option<String>,
}

/// Starts a challenge for `account` and keeps it in the session; the words when refused.
async fn start_challenge(
    app: &App,
    session: &Session,
    account: &str,
    remember: bool,
) -> Result<Result<(), (String, StatusCode)>, StoreError> {
    let client = session.client();
    let short = |text: String| -> String {
        text.chars()
            .filter(|ch| !ch.is_control())
            .take(MAX_CONTEXT_FIELD_CHARS)
            .collect()
    };
    let context = ChallengeContext {
        application: Some("mfa demo".to_owned()),
        ip_address: client.ip.map(|ip| ip.to_string()),
        browser: client.user_agent.clone().map(short),
        ..ChallengeContext::default()
    };
    let transaction = random_id();
    let request = ChallengeRequest::new(account, transaction.as_str())
        .with_mode(MODE)
        .with_context(context);
    let events = LogPushEvents(app);
    let started = mfa_push::start_challenge_async(
        &app.store,
        policy(),
        &request,
        app.now(),
        &mut rng(),
        &events,
    )
    .await;
    match started {
        Ok(started) => {
            session
                .update(app, |data| {
                    data.pending.remove(ERROR);
                    for (name, value) in [
                        (CHALLENGE, started.id.as_str()),
                        (TRANSACTION, transaction.as_str()),
                        (NUMBER, started.number.expose_digits()),
                        (REMEMBER, if remember { "1" } else { "" }),
                    ] {
                        data.pending.insert(name.to_owned(), value.to_owned());
                    }
                })
                .await?;
            app.log(&format!("push: challenge sent for {account:?}"));
            Ok(Ok(()))
        }
        Err(AttemptError::Store(error)) => Err(error),
        Err(error) => {
            app.audit_attempt(
                account,
                Method::Push,
                audit_result(&error),
                Some(error.reason()),
                client,
            )
            .await;
            let status = push_status(&error);
            Ok(Err((push_words(&error), status)))
        }
    }
}

/// `POST /signin/push/start` (`#push-send`): a challenge to every phone of the account, then the
/// page with the number.
async fn start(State(app): Shared, session: Session, Form(form): Form<StartForm>) -> Page {
    let Some(account) = step_account(&app, &session).await? else {
        return Ok(see_other("/signin"));
    };
    match start_challenge(&app, &session, &account, form.remember.is_some()).await? {
        Ok(()) => Ok(see_other("/signin/push")),
        Err((message, status)) => {
            show_verify(&app, &session, Some("push"), Some(message), status).await
        }
    }
}

/// `GET /signin/push`: the number to type on the phone, and the wait (live.js polls the status;
/// without JavaScript, the `#push-check` button asks once). With no challenge pending, the verify
/// page shows why it ended.
async fn wait_page(State(app): Shared, session: Session) -> Page {
    if step_account(&app, &session).await?.is_none() {
        return Ok(see_other("/signin"));
    }
    let data = session.data();
    let error = if data.pending.contains_key(ERROR) {
        let [error] = take_pending(&app, &session, [ERROR]).await?;
        error
    } else {
        None
    };
    match (data.pending.get(CHALLENGE), data.pending.get(NUMBER)) {
        (Some(_), Some(number)) => Ok(render(
            &app,
            &session,
            "push_wait.html",
            json!({
                "number": number,
                "error": error,
                "seconds": policy().challenge_lifetime.as_secs(),
            }),
        )
        .await),
        _ => match error {
            Some(error) => {
                show_verify(
                    &app,
                    &session,
                    Some("push"),
                    Some(error),
                    StatusCode::UNAUTHORIZED,
                )
                .await
            }
            None => Ok(see_other("/signin/verify?method=push")),
        },
    }
}

/// Where a push sign-in stands.
enum Poll {
    /// The phone has not answered.
    Pending,
    /// Go there (signed in, or back to a page showing why not), with a remembered-device cookie.
    Done(crate::session::StepOutcome),
}

fn done(redirect: &str) -> Poll {
    Poll::Done(crate::session::StepOutcome {
        redirect: redirect.to_owned(),
        set_cookie: None,
    })
}

/// Asks mfa-push whether the phone answered the session's challenge. Approved: the factor is
/// complete. A wrong number spends the challenge: a new one (a new number) is sent at once, within
/// the push limits. Any other end is shown on the push page.
async fn poll(app: &App, session: &Session) -> Result<Poll, PageError> {
    let Some(account) = step_account(app, session).await? else {
        return Ok(done("/signin"));
    };
    let data = session.data();
    let challenge = data
        .pending
        .get(CHALLENGE)
        .and_then(|id| ChallengeId::parse(id).ok());
    let (Some(challenge), Some(transaction)) = (challenge, data.pending.get(TRANSACTION)) else {
        return Ok(done("/signin/push"));
    };
    let remember = data.pending.get(REMEMBER).is_some_and(|value| value == "1");
    let outcome =
        mfa_push::take_outcome_async(&app.store, &account, &challenge, transaction, app.now())
            .await;
    let error = match outcome {
        Ok(PushOutcome::Pending) => return Ok(Poll::Pending),
        Ok(PushOutcome::Approved(approved)) => {
            take_pending(
                app,
                session,
                [CHALLENGE, TRANSACTION, NUMBER, REMEMBER, ERROR],
            )
            .await?;
            let outcome =
                complete_factor(app, session, approved.evidence().clone(), remember).await?;
            return Ok(Poll::Done(outcome));
        }
        Err(AttemptError::Store(error)) => return Err(PageError::store(error)),
        Err(error) => error,
    };
    app.audit_attempt(
        &account,
        Method::Push,
        audit_result(&error),
        Some(error.reason()),
        session.client(),
    )
    .await;
    take_pending(app, session, [CHALLENGE, TRANSACTION, NUMBER, REMEMBER]).await?;
    let mut message = push_words(&error);
    if matches!(error, AttemptError::Rejected(PushError::WrongNumber)) {
        match start_challenge(app, session, &account, remember).await? {
            Ok(()) => {
                message
                    .push_str(" We sent a new request: type the new number below on your phone.");
            }
            Err((refused, _)) => {
                message.push(' ');
                message.push_str(&refused);
            }
        }
    }
    crate::webauthn::set_pending(app, session, &[(ERROR, &message)]).await?;
    Ok(done("/signin/push"))
}

/// `GET /signin/push/status` (live.js, every second): `{"state": "pending"}`, or
/// `{"state": "done", "redirect": …}`.
async fn status(State(app): Shared, session: Session) -> Response {
    match poll(&app, &session).await {
        Ok(Poll::Pending) => Json(json!({ "state": "pending" })).into_response(),
        Ok(Poll::Done(outcome)) => {
            let mut response =
                Json(json!({ "state": "done", "redirect": outcome.redirect })).into_response();
            if let Some(cookie) = outcome.set_cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => api_error(error.status, "refused", &error.message),
    }
}

/// `POST /signin/push/check` (`#push-check`, without JavaScript): as the status, then a 303.
async fn check(State(app): Shared, session: Session) -> Page {
    match poll(&app, &session).await? {
        Poll::Pending => {
            session
                .flash(&app, "The phone has not answered yet.")
                .await?;
            Ok(see_other("/signin/push"))
        }
        Poll::Done(outcome) => Ok(outcome.into_redirect()),
    }
}
