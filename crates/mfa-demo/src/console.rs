//! The temporary access pass sign-in, the recent sign-ins page (the audit log), the policy page
//! with its what-if form, the admin page (phishing-resistant MFA through the policy) and the
//! operator page (issue a pass, reset a user).

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use mfa_account::{Operator, TapOptions};
use mfa_core::{AuditResult, Evidence, Method};
use mfa_policy::{Decision, PolicyOutcome, RiskLevel, SignInContext, UserAction};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{App, AppState};
use crate::pages::{attempt_message, audit_result, redirect_for};
use crate::password;
use crate::session::{Access, Session, Target, access, begin_registration_session, show_time};
use crate::web::{PageError, render, render_status, see_other, url_encode};

type Shared = State<AppState>;
type Page = Result<Response, PageError>;

/// The operator id recorded with what the operator page does.
const OPERATOR_ID: &str = "demo-operator";

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin/tap", get(tap_page).post(tap_signin))
        .route("/activity", get(activity))
        .route("/policy", get(policy))
        .route("/admin", get(admin))
        .route("/operator", get(operator_page).post(operator))
}

async fn tap_page(State(app): Shared, session: Session) -> Page {
    Ok(render(&app, &session, "tap.html", json!({})).await)
}

#[derive(Deserialize)]
struct TapForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    tap: String,
}

async fn tap_signin(State(app): Shared, session: Session, Form(form): Form<TapForm>) -> Page {
    let account = password::normalize_username(&form.username).unwrap_or_default();
    let redeemed =
        mfa_account::redeem_tap_async(&app.store, &app.events(), &account, &form.tap, app.now())
            .await;
    let evidence = redeemed.as_ref().ok().and_then(|verified| {
        verified
            .credential()
            .evidence_for(UserAction::RegisterSecurityInfo)
    });
    match (redeemed, evidence) {
        (Ok(_), Some(evidence)) => {
            begin_registration_session(&app, &session, &account, evidence).await?;
            session
                .flash(
                    &app,
                    "Signed in with a Temporary Access Pass: add a sign-in method.",
                )
                .await?;
            Ok(see_other("/security-info"))
        }
        (Ok(_), None) => Err(PageError::internal(
            "the pass gave no registration evidence",
        )),
        (Err(error), _) => {
            app.audit_attempt(
                &account,
                Method::TemporaryAccessPass,
                audit_result(&error),
                Some(error.reason()),
                session.client(),
            )
            .await;
            Ok(render_status(
                &app,
                &session,
                StatusCode::UNAUTHORIZED,
                "tap.html",
                json!({ "error": attempt_message(&error), "username": form.username }),
            )
            .await)
        }
    }
}

async fn activity(State(app): Shared, session: Session) -> Page {
    let access = access(&app, &session, Target::Demo).await?;
    if let Some(response) = redirect_for(&access) {
        return Ok(response);
    }
    let Some(account) = session.account() else {
        return Ok(see_other("/signin"));
    };
    let page = app.audit.recent(&account, 50).await?;
    let rows: Vec<Value> = page
        .events
        .iter()
        .map(|event| {
            let success = event.result() == AuditResult::Success;
            json!({
                "time": show_time(event.at()),
                "ip": event.ip().unwrap_or("-"),
                "method": event.method().map_or("-", Method::as_str),
                "result": if success { "success" } else { "failure" },
                "outcome": event.result().as_str(),
                "reason": event.reason().unwrap_or(""),
            })
        })
        .collect();
    Ok(render(&app, &session, "activity.html", json!({ "rows": rows })).await)
}

/// The what-if form's evidence choices: the form value and the method.
const EVIDENCE_CHOICES: [(&str, Method); 6] = [
    ("password", Method::Password),
    ("totp", Method::Totp),
    ("push", Method::Push),
    ("sms", Method::Sms),
    ("passkey", Method::WebAuthn),
    ("backup", Method::BackupCode),
];

async fn policy(
    State(app): Shared,
    session: Session,
    Query(query): Query<Vec<(String, String)>>,
) -> Page {
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
    };
    let chosen: Vec<String> = query
        .iter()
        .filter(|(key, _)| key == "evidence")
        .map(|(_, value)| value.clone())
        .collect();
    let form = json!({
        "user": value("user").unwrap_or_else(|| session.account().unwrap_or_default()),
        "app": value("app").unwrap_or_else(|| "demo".to_owned()),
        "ip": value("ip").unwrap_or_default(),
        "device": value("device").unwrap_or_else(|| "unmanaged".to_owned()),
        "risk": value("risk").unwrap_or_else(|| "none".to_owned()),
        "evidence": if query.is_empty() { vec!["password".to_owned()] } else { chosen.clone() },
    });
    let result = if query.is_empty() {
        Value::Null
    } else {
        match what_if(&app, &query, &chosen).await {
            Ok(result) => result,
            Err(message) => json!({ "error": message }),
        }
    };
    Ok(render(
        &app,
        &session,
        "policy.html",
        json!({ "source": app.policy_source, "form": form, "result": result }),
    )
    .await)
}

/// Evaluates the what-if form: the decision in words and the policies that applied.
async fn what_if(
    app: &App,
    query: &[(String, String)],
    evidence: &[String],
) -> Result<Value, String> {
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .unwrap_or_default()
    };
    let user = password::normalize_username(value("user")).unwrap_or_else(|_| "someone".into());
    let application = match value("app") {
        "admin" => "admin",
        _ => "demo",
    };
    let now = app.now();
    let mut builder = SignInContext::builder(user.as_str(), application, now);
    if !value("ip").is_empty() {
        let ip: IpAddr = value("ip")
            .parse()
            .map_err(|_| format!("{} is not an IP address", value("ip")))?;
        builder = builder.ip(ip);
    }
    builder = match value("device") {
        "compliant" => builder.managed(true).compliant(true),
        "remembered" => {
            builder.remembered_until(now.saturating_add(Duration::from_secs(29 * 24 * 3600)))
        }
        _ => builder,
    };
    builder = builder.sign_in_risk(match value("risk") {
        "low" => RiskLevel::Low,
        "medium" => RiskLevel::Medium,
        "high" => RiskLevel::High,
        _ => RiskLevel::None,
    });
    for (name, method) in EVIDENCE_CHOICES {
        if evidence.iter().any(|chosen| chosen == name) {
            let mut proof = Evidence::new(method, now, format!("what-if-{name}"));
            if method == Method::WebAuthn {
                proof.properties.user_verified = true;
                proof.properties.phishing_resistant = true;
            }
            builder = builder.evidence(proof);
        }
    }
    let mut context = builder.build();
    // The user's real methods, when the user exists: what "sign in another way" would offer.
    if let Ok(info) = mfa_account::security_info_async(&app.store, &user).await {
        info.apply_to(&mut context);
    }
    let evaluation = app.engine.evaluate(&context);
    let (kind, words) = match &evaluation.decision {
        Decision::Allow { .. } => ("allow", "Allow: the sign-in may proceed.".to_owned()),
        Decision::Block { policy, reason } => (
            "block",
            format!("Block by \u{201c}{policy}\u{201d}: {reason}."),
        ),
        Decision::StepUp(step) => (
            "step_up",
            format!(
                "Step up: \u{201c}{}\u{201d} needs {} ({}).",
                step.policy,
                crate::session::strength_heading(step.strength),
                step.acceptable
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ),
        _ => ("block", "Refused.".to_owned()),
    };
    let rules: Vec<Value> = evaluation
        .trace
        .entries()
        .map(|entry| {
            let outcome = match &entry.outcome {
                PolicyOutcome::Off => "off".to_owned(),
                PolicyOutcome::NotApplied { excluded_by } => {
                    format!("does not apply ({excluded_by})")
                }
                PolicyOutcome::Blocks { reason } => format!("blocks: {reason}"),
                PolicyOutcome::Satisfied(_) => "applies: satisfied".to_owned(),
                PolicyOutcome::Unsatisfied(_) => "applies: not satisfied yet".to_owned(),
                _ => "applies".to_owned(),
            };
            json!({ "policy": entry.policy, "state": entry.state.to_string(), "outcome": outcome })
        })
        .collect();
    Ok(json!({ "kind": kind, "words": words, "rules": rules }))
}

async fn admin(State(app): Shared, session: Session) -> Page {
    match access(&app, &session, Target::Admin).await? {
        Access::Full(account) => {
            Ok(render(&app, &session, "admin.html", json!({ "account": account })).await)
        }
        Access::SignedOut => Ok(see_other("/signin?next=/admin")),
        Access::Blocked(_, reason) => Err(PageError::forbidden(format!(
            "The sign-in policy refuses the admin page ({reason})."
        ))),
        Access::NeedsStep(_) | Access::Registration(_) => {
            session
                .update(&app, |data| data.next = Some("/admin".to_owned()))
                .await?;
            Ok(see_other(&format!(
                "/signin/verify?next={}",
                url_encode("/admin")
            )))
        }
    }
}

async fn operator_page(State(app): Shared, session: Session) -> Page {
    let unlocked = session.data().operator;
    Ok(render(
        &app,
        &session,
        "operator.html",
        json!({ "unlocked": unlocked }),
    )
    .await)
}

#[derive(Deserialize)]
struct OperatorForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    lifetime: String,
    one_time: Option<String>,
    #[serde(default)]
    action: String,
}

async fn operator(State(app): Shared, session: Session, Form(form): Form<OperatorForm>) -> Page {
    let unlocked = session.data().operator || app.is_operator_key(form.key.trim());
    let show = |status: StatusCode, page: Value| {
        let (app, session) = (&app, &session);
        async move { render_status(app, session, status, "operator.html", page).await }
    };
    if !unlocked {
        app.log("operator page: wrong operator key");
        return Ok(show(
            StatusCode::FORBIDDEN,
            json!({ "unlocked": false, "error": "Wrong operator key" }),
        )
        .await);
    }
    if !session.data().operator {
        session.update(&app, |data| data.operator = true).await?;
    }
    if form.action.is_empty() {
        return Ok(show(StatusCode::OK, json!({ "unlocked": true })).await);
    }
    let Ok(account) = password::normalize_username(&form.username) else {
        return Ok(show(
            StatusCode::BAD_REQUEST,
            json!({ "unlocked": true, "error": "Type the user's name" }),
        )
        .await);
    };
    let exists: Option<password::UserRecord> =
        mfa_core::load_async(&app.store, &password::user_key(&account)).await?;
    if exists.is_none() {
        return Ok(show(
            StatusCode::BAD_REQUEST,
            json!({ "unlocked": true, "error": format!("There is no user {account}"), "username": account }),
        )
        .await);
    }
    let operator = Operator::new(OPERATOR_ID)
        .map_err(|_| PageError::internal("the operator id is not valid"))?;
    let now = app.now();
    match form.action.as_str() {
        "issue" => {
            let minutes: u64 = form.lifetime.trim().parse().unwrap_or(60);
            let mut options = TapOptions::one_time(Duration::from_secs(minutes.saturating_mul(60)));
            options.one_time = form.one_time.is_some();
            let mut rng: rand::rngs::StdRng = rand::make_rng();
            match mfa_account::issue_tap_async(
                &app.store,
                &app.accounts,
                &app.events(),
                &account,
                &operator,
                options,
                now,
                &mut rng,
            )
            .await
            {
                Ok(issued) => {
                    app.log(&format!(
                        "operator issued a temporary access pass for {account:?} (until {})",
                        issued.expires_at.utc_date_time()
                    ));
                    // Shown once, on this page only.
                    Ok(show(
                        StatusCode::OK,
                        json!({
                            "unlocked": true,
                            "username": account,
                            "tap": issued.pass.as_str(),
                            "tap_expires": show_time(issued.expires_at),
                            "tap_one_time": issued.one_time,
                        }),
                    )
                    .await)
                }
                Err(error) => Ok(show(
                    StatusCode::BAD_REQUEST,
                    json!({ "unlocked": true, "username": account, "error": attempt_message(&error) }),
                )
                .await),
            }
        }
        "reset" => {
            match mfa_account::require_reregistration_async(
                &app.store,
                &app.events(),
                &account,
                &operator,
                now,
            )
            .await
            {
                Ok(outcome) => {
                    let done = format!(
                        "{account}: {} method(s) removed, {} remembered device(s) forgotten, {} app password(s) revoked; every session signed out. The user must register again.",
                        outcome.methods_removed,
                        outcome.remembered_removed,
                        outcome.app_passwords_revoked
                    );
                    app.log(&format!("operator reset {account:?}"));
                    Ok(show(
                        StatusCode::OK,
                        json!({ "unlocked": true, "username": account, "reset_done": done }),
                    )
                    .await)
                }
                Err(error) => Ok(show(
                    StatusCode::BAD_REQUEST,
                    json!({ "unlocked": true, "username": account, "error": attempt_message(&error) }),
                )
                .await),
            }
        }
        _ => Err(PageError::bad_request("Unknown action.")),
    }
}
