//! The demo on PostgreSQL (and Redis for the short-lived records): two app instances on one
//! database share accounts and sign-ins. Needs `MFA_POSTGRES_URL` (and `MFA_REDIS_URL` for the
//! Redis variant), as mfa-store's tests do; without it each test passes without running, after a
//! notice. Run them with `bash .ci/services cargo test -p mfa-demo --test postgres`.

mod common;

use axum::http::StatusCode;
use common::{NowTime as _, TestApp, add_totp, totp_code};
use mfa_demo::StoreSpec;

const PASSWORD: &str = "correct horse battery";

fn url(variable: &str, server: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("notice: {variable} is not set: the {server} test of mfa-demo did not run");
            None
        }
    }
}

/// A username no earlier run has used (the database outlives the test).
fn fresh_name(prefix: &str) -> String {
    let token = mfa_demo::session::random_token();
    format!(
        "{prefix}-{}",
        token
            .get(..10)
            .unwrap_or("x")
            .to_lowercase()
            .replace('_', "-")
    )
}

/// Signs up on `first`, adds an authenticator app, then signs in on `second`: the account, the
/// method and the replay protection are shared.
async fn two_instances_share_sign_ins(first: &TestApp, second: &TestApp) {
    let name = fresh_name("pg");
    let mut browser = common::sign_up(first, &name, PASSWORD).await;
    let secret = add_totp(first, &mut browser).await;

    let mut elsewhere = second.browser();
    elsewhere.get("/signin").await;
    let page = elsewhere
        .post("/signin", &[("username", &name), ("password", PASSWORD)])
        .await;
    assert_eq!(page.location(), Some("/signin/verify"), "{}", page.body);
    elsewhere.get("/signin/verify").await;
    for app in [first, second] {
        app.clock.advance(std::time::Duration::from_secs(60));
    }
    let code = totp_code(&secret, second.clock.now_time());
    let page = elsewhere.post("/signin/totp", &[("code", &code)]).await;
    assert_eq!(page.location(), Some("/security-info"), "{}", page.body);

    // The same code on the first instance: already used.
    let mut third = first.browser();
    third.get("/signin").await;
    third
        .post("/signin", &[("username", &name), ("password", PASSWORD)])
        .await;
    third.get("/signin/verify").await;
    let page = third.post("/signin/totp", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.text_of("error").as_deref(),
        Some("That code was already used")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_postgres_share_accounts_and_sign_ins() {
    let Some(url) = url("MFA_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let first = TestApp::with_store(StoreSpec::Postgres(url.clone()), None).await;
    let second = TestApp::with_store(StoreSpec::Postgres(url), None).await;
    two_instances_share_sign_ins(&first, &second).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_postgres_and_redis_share_sessions_records() {
    let (Some(url), Some(redis)) = (
        url("MFA_POSTGRES_URL", "PostgreSQL"),
        url("MFA_REDIS_URL", "Redis"),
    ) else {
        return;
    };
    let first = TestApp::with_store(StoreSpec::Postgres(url.clone()), Some(redis.clone())).await;
    let second = TestApp::with_store(StoreSpec::Postgres(url), Some(redis)).await;
    two_instances_share_sign_ins(&first, &second).await;
}
