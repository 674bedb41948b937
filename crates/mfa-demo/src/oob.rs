//! Codes by text message or voice call (mfa-oob): adding a phone number (a code confirms it) and
//! signing in with a code sent to it. The "gateway" is the console sender below: it writes the
//! message to the server log (the one log line that holds a secret, standing for the SMS
//! provider) and keeps it in the `/messages` outbox.
//!
//! Every code is bound to a random transaction kept in the session that asked for it, so a code
//! typed into another browser is refused; mfa-oob's send limits (per account, per number, per
//! country, growing gaps between resends) show as clear errors.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use mfa_account::{MethodId, MethodKind};
use mfa_core::{AttemptError, Method, StoreError};
use mfa_oob::{
    AsyncSender, Channel, CodeOutcome, CodeRequest, CodeTarget, DeliveryError, Destination,
    Message, Messages, OobError, OobPolicy, PhoneNumber,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{App, AppState, OutboxMessage};
use crate::pages::{attempt_message, redirect_for, refuse_step_saying, show_verify};
use crate::session::{Session, Target, access, complete_factor};
use crate::web::{PageError, render_status, see_other};
use crate::webauthn::{
    random_id, registering_account, rng, set_pending, step_account, take_pending,
};

type Shared = State<AppState>;
type Page = Result<Response, PageError>;

/// The session's `pending` entries of a phone being added.
const ADD_METHOD: &str = "oob_add_method";
const ADD_TRANSACTION: &str = "oob_add_transaction";
const ADD_TO: &str = "oob_add_to";
const ADD_CHANNEL: &str = "oob_add_channel";
/// The session's `pending` entry of a sign-in code: its transaction.
const SIGNIN_TRANSACTION: &str = "oob_transaction";

/// The region a number typed without `+` is read in.
const DEFAULT_REGION: &str = "US";

/// mfa-oob's settings: its defaults (6 digits, 5 minutes; 5 codes an hour and 10 a day per
/// account and per number, resends 30 s, 60 s, 120 s … apart), the service named "mfa demo".
fn policy() -> Result<&'static OobPolicy, PageError> {
    static POLICY: OnceLock<Result<OobPolicy, String>> = OnceLock::new();
    POLICY
        .get_or_init(|| {
            Messages::new("mfa demo")
                .map(OobPolicy::new)
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|error| PageError::internal(format!("the SMS settings are refused: {error}")))
}

/// This factor's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/security-info/phone", get(add_page))
        .route("/security-info/phone/send", post(add_send))
        .route("/security-info/phone/confirm", post(add_confirm))
        .route("/signin/oob/send", post(signin_send))
        .route("/signin/oob/verify", post(signin_verify))
}

/// The console gateway: one log line per message (`sms to +1 201…: your code is 123456`), and
/// the message in the `/messages` outbox.
struct ConsoleGateway<'a>(&'a App);

impl AsyncSender for ConsoleGateway<'_> {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let app = self.0;
        let to = match message.to() {
            Destination::Phone(number) => number.e164().to_owned(),
            other => other.masked(),
        };
        let channel = message.channel().as_str();
        let code = message
            .code()
            .map(|code| code.expose_secret().to_owned())
            .unwrap_or_default();
        // Deliberately the code: this line stands for the SMS provider (see the README).
        app.log(&format!("{channel} to {to}: your code is {code}"));
        app.outbox.push(OutboxMessage {
            sent_at: app.now(),
            to,
            channel: channel.to_owned(),
            text: message.body().to_owned(),
            code,
        });
        Ok(())
    }
}

/// The channel named `text` (`sms`, `voice`).
fn channel(text: &str) -> Option<Channel> {
    match text {
        "sms" => Some(Channel::Sms),
        "voice" => Some(Channel::Voice),
        _ => None,
    }
}

/// The method kind of a channel.
fn kind_of(channel: Channel) -> MethodKind {
    if channel == Channel::Voice {
        MethodKind::Voice
    } else {
        MethodKind::Sms
    }
}

/// The HTTP status of a refused send or code: mfa-oob's own mapping (429 for a send limit,
/// 422 for a refused number …), mfa-core's for the rest.
fn oob_status(error: &AttemptError<OobError>) -> StatusCode {
    let code = match error {
        AttemptError::Rejected(rejected) => rejected.http_status(),
        other => other.http_status(),
    };
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// The words for a refused send or code.
fn oob_words(error: &AttemptError<OobError>) -> String {
    match error {
        AttemptError::Rejected(OobError::SendLimited { scope, retry_after }) => {
            let seconds = retry_after.as_secs_f64().ceil();
            let wait = if seconds > 120.0 {
                format!("{} minutes", (seconds / 60.0).ceil())
            } else {
                format!("{seconds} seconds")
            };
            format!("You've reached our limit for codes sent to {scope}: try again in {wait}.")
        }
        AttemptError::Rejected(OobError::CodeMismatch) => {
            "Wrong code: that code is used up, ask for a new one".to_owned()
        }
        AttemptError::Rejected(OobError::WrongTransaction) => {
            "That code was sent for another sign-in: ask for a new one".to_owned()
        }
        AttemptError::Rejected(OobError::AlreadyEnrolled) => {
            "That phone number is already on your account".to_owned()
        }
        AttemptError::Rejected(
            problem @ (OobError::InvalidNumber(_) | OobError::NumberRefused { .. }),
        ) => {
            let text = problem.to_string();
            let mut chars = text.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        }
        other => attempt_message(other),
    }
}

// ---- adding a phone ----------------------------------------------------------------------------

/// `GET /security-info/phone`: the number and channel, or (once a code is sent) the code.
async fn add_page(State(app): Shared, session: Session) -> Page {
    show_add(&app, &session, None, StatusCode::OK, None).await
}

async fn show_add(
    app: &App,
    session: &Session,
    error: Option<String>,
    status: StatusCode,
    typed: Option<(&str, &str)>,
) -> Page {
    let access = access(app, session, Target::Demo).await?;
    if let Some(response) = redirect_for(&access) {
        return Ok(response);
    }
    let data = session.data();
    let sent = data.pending.contains_key(ADD_TRANSACTION);
    Ok(render_status(
        app,
        session,
        status,
        "phone_add.html",
        json!({
            "sent": sent,
            "to": data.pending.get(ADD_TO),
            "channel": data.pending.get(ADD_CHANNEL).map_or("sms", String::as_str),
            "error": error,
            "phone": typed.map(|(phone, _)| phone),
            "typed_channel": typed.map(|(_, channel)| channel),
        }),
    )
    .await)
}

#[derive(Deserialize)]
struct AddSendForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

/// `POST /security-info/phone/send`: begins the method (mfa-account) and sends a code to the new
/// number (mfa-oob), bound to a transaction of this session.
async fn add_send(State(app): Shared, session: Session, Form(form): Form<AddSendForm>) -> Page {
    let Some(account) = registering_account(&app, &session).await? else {
        return Ok(see_other("/signin"));
    };
    let typed = Some((form.phone.as_str(), form.channel.as_str()));
    let Some(channel) = channel(&form.channel) else {
        return show_add(
            &app,
            &session,
            Some("Choose text message or voice call".to_owned()),
            StatusCode::BAD_REQUEST,
            typed,
        )
        .await;
    };
    let number = match PhoneNumber::parse(&form.phone, Some(DEFAULT_REGION)) {
        Ok(number) => number,
        Err(problem) => {
            let error = AttemptError::Rejected(OobError::InvalidNumber(problem));
            return show_add(
                &app,
                &session,
                Some(oob_words(&error)),
                StatusCode::BAD_REQUEST,
                typed,
            )
            .await;
        }
    };
    let now = app.now();
    let name = format!(
        "{} {}",
        if channel == Channel::Voice {
            "Voice"
        } else {
            "SMS"
        },
        number.masked()
    );
    let pending = match mfa_account::begin_add_async(
        &app.store,
        &app.accounts,
        &account,
        kind_of(channel),
        &name,
        now,
        &mut rng(),
    )
    .await
    {
        Ok(pending) => pending,
        Err(error) => {
            return show_add(
                &app,
                &session,
                Some(attempt_message(&error)),
                StatusCode::BAD_REQUEST,
                typed,
            )
            .await;
        }
    };
    let transaction = random_id();
    // The phone's id within the account: the pending method's, so both name the same phone.
    let phone_id = pending.id.as_str().to_owned();
    let request = CodeRequest {
        account: &account,
        transaction: &transaction,
        channel,
        language: "en",
    };
    let target = CodeTarget::NewPhone {
        id: &phone_id,
        number: &number,
    };
    let sent = mfa_oob::send_code_async(
        &app.store,
        &ConsoleGateway(&app),
        policy()?,
        &request,
        target,
        now,
        &mut rng(),
    )
    .await;
    match sent {
        Ok(sent) => {
            set_pending(
                &app,
                &session,
                &[
                    (ADD_METHOD, pending.id.as_str()),
                    (ADD_TRANSACTION, &transaction),
                    (ADD_TO, sent.to()),
                    (ADD_CHANNEL, channel.as_str()),
                ],
            )
            .await?;
            Ok(see_other("/security-info/phone"))
        }
        Err(AttemptError::Store(error)) => Err(PageError::store(error)),
        Err(error) => {
            let status = oob_status(&error);
            show_add(&app, &session, Some(oob_words(&error)), status, typed).await
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /security-info/phone/confirm`: the code enrols the phone (mfa-oob), and its evidence
/// confirms the pending method (mfa-account).
async fn add_confirm(State(app): Shared, session: Session, Form(form): Form<CodeForm>) -> Page {
    let Some(account) = registering_account(&app, &session).await? else {
        return Ok(see_other("/signin"));
    };
    let data = session.data();
    let (Some(method), Some(transaction)) = (
        data.pending
            .get(ADD_METHOD)
            .and_then(|id| MethodId::parse(id).ok()),
        data.pending.get(ADD_TRANSACTION),
    ) else {
        return show_add(
            &app,
            &session,
            Some("Nothing to confirm: send a code first".to_owned()),
            StatusCode::BAD_REQUEST,
            None,
        )
        .await;
    };
    let now = app.now();
    let verified = mfa_oob::verify_code_async(
        &app.store,
        policy()?,
        &account,
        transaction,
        &form.code,
        now,
    )
    .await;
    let verified = match verified {
        Ok(verified) => verified,
        Err(AttemptError::Store(error)) => return Err(PageError::store(error)),
        Err(error) => {
            let used_up = !matches!(error, AttemptError::Rejected(OobError::MalformedCode));
            if used_up {
                take_pending(
                    &app,
                    &session,
                    [ADD_METHOD, ADD_TRANSACTION, ADD_TO, ADD_CHANNEL],
                )
                .await?;
            }
            let status = oob_status(&error);
            return show_add(&app, &session, Some(oob_words(&error)), status, None).await;
        }
    };
    take_pending(
        &app,
        &session,
        [ADD_METHOD, ADD_TRANSACTION, ADD_TO, ADD_CHANNEL],
    )
    .await?;
    let phone_id = match verified.credential() {
        CodeOutcome::Enrolled(phone) => phone.id().to_owned(),
        _ => String::new(),
    };
    let confirmed = mfa_account::confirm_add_with_proof_async(
        &app.store,
        &app.accounts,
        &app.events(),
        &account,
        &method,
        verified.evidence(),
        now,
    )
    .await;
    match confirmed {
        Ok(entry) => {
            session
                .flash(&app, format!("{} added.", entry.name))
                .await?;
            Ok(see_other("/security-info"))
        }
        Err(error) => {
            // Not a method: the phone must not receive sign-in codes.
            mfa_oob::remove_phone_async(&app.store, &account, &phone_id).await?;
            show_add(
                &app,
                &session,
                Some(attempt_message(&error)),
                StatusCode::BAD_REQUEST,
                None,
            )
            .await
        }
    }
}

// ---- signing in ------------------------------------------------------------------------------

/// The account's phones registered for `kind`: `(phone id, masked number)`, oldest first.
async fn phones_for(
    app: &App,
    account: &str,
    kind: MethodKind,
) -> Result<Vec<(String, String)>, StoreError> {
    let info = mfa_account::security_info_async(&app.store, account).await?;
    let enrolled = mfa_oob::list_phones_async(&app.store, account).await?;
    Ok(info
        .methods
        .iter()
        .filter(|entry| entry.kind == kind)
        .filter_map(|entry| {
            let id = entry.credential_id();
            enrolled
                .iter()
                .find(|phone| phone.id() == id)
                .map(|phone| (id.to_owned(), phone.number().masked()))
        })
        .collect())
}

/// Extra values for the SMS / voice verify partial: the phones to choose from, and the code
/// pending for this channel, if any.
pub(crate) async fn verify_context(app: &App, account: &str, method: &str) -> Value {
    let Some(channel) = channel(method) else {
        return Value::Null;
    };
    let phones = phones_for(app, account, kind_of(channel))
        .await
        .unwrap_or_default();
    let pending = mfa_oob::pending_code_async(&app.store, account)
        .await
        .ok()
        .flatten()
        .filter(|info| {
            !info.is_enrollment() && info.channel() == channel && app.now() < info.expires_at()
        });
    json!({
        "channel": channel.as_str(),
        "phones": phones
            .iter()
            .map(|(id, masked)| json!({ "id": id, "masked": masked }))
            .collect::<Vec<_>>(),
        "sent_to": pending.map(|info| info.to().to_owned()),
    })
}

/// Extra values for the phone part of the security-info page: how many numbers are enrolled.
pub(crate) async fn security_info_context(app: &App, account: &str) -> Value {
    match mfa_oob::list_phones_async(&app.store, account).await {
        Ok(phones) => json!({ "phones": phones.len() }),
        Err(_) => Value::Null,
    }
}

#[derive(Deserialize)]
struct SendForm {
    #[serde(default)]
    channel: String,
    phone: Option<String>,
}

/// `POST /signin/oob/send` (`#oob-send`): a sign-in code to one of the account's phones, bound to
/// a new transaction of this session.
async fn signin_send(State(app): Shared, session: Session, Form(form): Form<SendForm>) -> Page {
    let Some(account) = step_account(&app, &session).await? else {
        return Ok(see_other("/signin"));
    };
    let Some(channel) = channel(&form.channel) else {
        return show_verify(
            &app,
            &session,
            None,
            Some("Choose text message or voice call".to_owned()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let method = channel.as_str();
    let phones = phones_for(&app, &account, kind_of(channel)).await?;
    let chosen = match form.phone.as_deref().filter(|id| !id.is_empty()) {
        Some(wanted) => phones.iter().find(|(id, _)| id == wanted),
        None => phones.first(),
    };
    let Some((phone_id, _)) = chosen else {
        return show_verify(
            &app,
            &session,
            Some(method),
            Some("That phone is not registered for this account".to_owned()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let transaction = random_id();
    let request = CodeRequest {
        account: &account,
        transaction: &transaction,
        channel,
        language: "en",
    };
    let sent = mfa_oob::send_code_async(
        &app.store,
        &ConsoleGateway(&app),
        policy()?,
        &request,
        CodeTarget::Phone(phone_id),
        app.now(),
        &mut rng(),
    )
    .await;
    match sent {
        Ok(sent) => {
            set_pending(&app, &session, &[(SIGNIN_TRANSACTION, &transaction)]).await?;
            let how = if channel == Channel::Voice {
                "We are calling"
            } else {
                "We sent a code to"
            };
            session
                .flash(
                    &app,
                    format!("{how} {} (demo: see the Messages page).", sent.to()),
                )
                .await?;
            Ok(see_other(&format!("/signin/verify?method={method}")))
        }
        Err(AttemptError::Store(error)) => Err(PageError::store(error)),
        Err(error) => refused(&app, &session, &account, channel, &error).await,
    }
}

/// A refused sign-in send or code: recorded in the sign-in log, and the verify page again with
/// the reason.
async fn refused(
    app: &App,
    session: &Session,
    account: &str,
    channel: Channel,
    error: &AttemptError<OobError>,
) -> Page {
    let method = if channel == Channel::Voice {
        Method::Voice
    } else {
        Method::Sms
    };
    refuse_step_saying(
        app,
        session,
        account,
        method,
        error,
        oob_words(error),
        oob_status(error),
    )
    .await
}

#[derive(Deserialize)]
struct VerifyForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    channel: String,
    remember: Option<String>,
}

/// `POST /signin/oob/verify`: the code, checked once against this session's transaction.
async fn signin_verify(State(app): Shared, session: Session, Form(form): Form<VerifyForm>) -> Page {
    let Some(account) = step_account(&app, &session).await? else {
        return Ok(see_other("/signin"));
    };
    let channel = channel(&form.channel).unwrap_or(Channel::Sms);
    let transaction = session
        .data()
        .pending
        .get(SIGNIN_TRANSACTION)
        .cloned()
        // No code asked for in this session: a transaction nothing is bound to, so any code
        // typed is refused as for another sign-in (and still counts as an attempt).
        .unwrap_or_else(random_id);
    let verified = mfa_oob::verify_code_async(
        &app.store,
        policy()?,
        &account,
        &transaction,
        &form.code,
        app.now(),
    )
    .await;
    match verified {
        Ok(verified) => {
            take_pending(&app, &session, [SIGNIN_TRANSACTION]).await?;
            let outcome = complete_factor(
                &app,
                &session,
                verified.evidence().clone(),
                form.remember.is_some(),
            )
            .await?;
            Ok(outcome.into_redirect())
        }
        Err(AttemptError::Store(error)) => Err(PageError::store(error)),
        Err(error) => refused(&app, &session, &account, channel, &error).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_builds() {
        assert!(policy().is_ok_and(|policy| policy.messages().service_name() == "mfa demo"));
    }

    #[test]
    fn channels_map_to_method_kinds() {
        assert_eq!(channel("sms").map(kind_of), Some(MethodKind::Sms));
        assert_eq!(channel("voice").map(kind_of), Some(MethodKind::Voice));
        assert_eq!(channel("email"), None);
    }
}
