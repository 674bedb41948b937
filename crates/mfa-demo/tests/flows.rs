//! The demo's pages driven in-process on an SQLite store in a temporary directory: sign up,
//! CSRF and Origin refusals, password sign-in and the policy's next step, TOTP enrolment and
//! sign-in (a replay refused), backup codes (each once), security headers, cookie attributes,
//! the admin page's step-up, the operator's pass, and no secret in the log.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{NowTime as _, OPERATOR_KEY, TestApp, add_totp, sign_up, totp_code};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn sign_up_signs_in_and_offers_setup() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "alice", PASSWORD).await;
    let page = browser.get("/security-info").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("whoami").as_deref(), Some("alice"));
    assert!(page.has_id("setup-banner"), "{}", page.body);
    assert!(page.body.contains("Set up your sign-in methods"));
    assert!(page.has_id("mfa-state"));
    // The home page sends a signed-in user to security info.
    let home = browser.get("/").await;
    assert_eq!(home.location(), Some("/security-info"));
}

#[tokio::test]
async fn sign_up_refuses_a_taken_name_a_short_password_and_a_mismatch() {
    let app = TestApp::sqlite().await;
    sign_up(&app, "alice", PASSWORD).await;
    let mut browser = app.browser();
    browser.get("/signup").await;
    for (fields, expected) in [
        (
            [
                ("username", "alice"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            "That username is taken",
        ),
        (
            [
                ("username", "bob"),
                ("password", "short"),
                ("confirm", "short"),
            ],
            "at least 8 characters",
        ),
        (
            [
                ("username", "bob"),
                ("password", PASSWORD),
                ("confirm", "something else"),
            ],
            "The two passwords differ",
        ),
    ] {
        let page = browser.post("/signup", &fields).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        let error = page.text_of("error").expect("#error");
        assert!(error.contains(expected), "{error}");
    }
}

#[tokio::test]
async fn a_post_without_the_csrf_token_or_from_another_origin_is_refused() {
    let app = TestApp::sqlite().await;
    let mut browser = app.browser();
    browser.get("/signup").await;
    let fields = [
        ("username", "mallory"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ];
    let no_token = browser
        .post_raw("/signup", &common::form(&fields), Some(common::ORIGIN))
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let mut with_wrong = vec![("csrf", "not-the-token")];
    with_wrong.extend_from_slice(&fields);
    let wrong_token = browser
        .post_raw("/signup", &common::form(&with_wrong), Some(common::ORIGIN))
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
    let csrf = browser.csrf.clone().expect("token");
    let mut with_token = vec![("csrf", csrf.as_str())];
    with_token.extend_from_slice(&fields);
    let cross_origin = browser
        .post_raw(
            "/signup",
            &common::form(&with_token),
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(cross_origin.status, StatusCode::FORBIDDEN);
    // No session cookie at all: refused too.
    let mut stranger = app.browser();
    let no_session = stranger
        .post_raw("/signup", &common::form(&with_token), Some(common::ORIGIN))
        .await;
    assert_eq!(no_session.status, StatusCode::FORBIDDEN);
    // None of them made the account.
    let mut browser = app.browser();
    browser.get("/signin").await;
    let page = browser
        .post(
            "/signin",
            &[("username", "mallory"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_and_a_replayed_code_is_refused() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "alice", PASSWORD).await;
    let secret = add_totp(&app, &mut browser).await;
    let page = browser.get("/security-info").await;
    assert!(page.body.contains("data-kind=\"totp\""), "{}", page.body);
    assert!(page.body.contains("default-badge"));
    let signout = browser.post("/signout", &[]).await;
    assert_eq!(signout.location(), Some("/"));
    assert!(!browser.cookies.contains_key("mfa_demo_session"));

    // Password first: the policy wants a second factor.
    app.clock.advance(Duration::from_secs(60));
    let mut browser = app.browser();
    browser.get("/signin").await;
    let page = browser
        .post("/signin", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin/verify"));
    // Not yet in.
    let early = browser.get("/security-info").await;
    assert_eq!(early.location(), Some("/signin/verify"));
    let verify = browser.get("/signin/verify").await;
    assert_eq!(
        verify.text_of("required-step").as_deref(),
        Some("Multifactor authentication")
    );
    assert!(verify.has_id("totp-code"));
    assert!(verify.has_id("remember-device"));
    assert!(verify.has_id("lost-phone"));
    // Half-way: the header says "Signing in as", not "Signed in as", and offers Cancel.
    assert!(!verify.has_id("whoami"));
    assert_eq!(verify.text_of("signing-in").as_deref(), Some("alice"));

    let code = totp_code(&secret, app.clock.now_time());
    let page = browser.post("/signin/totp", &[("code", &code)]).await;
    assert_eq!(page.location(), Some("/security-info"), "{}", page.body);
    let page = browser.get("/security-info").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("whoami").as_deref(), Some("alice"));

    // The same code again, in another sign-in: refused as a replay.
    let mut again = app.browser();
    again.get("/signin").await;
    again
        .post("/signin", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    again.get("/signin/verify").await;
    let page = again.post("/signin/totp", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.text_of("error").as_deref(),
        Some("That code was already used")
    );
    // A wrong code is "Wrong code".
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let page = again.post("/signin/totp", &[("code", wrong)]).await;
    assert_eq!(page.text_of("error").as_deref(), Some("Wrong code"));

    // The sign-in log has the attempts, with results and reasons.
    let activity = browser.get("/activity").await;
    assert!(activity.has_id("sign-ins"));
    assert!(activity.body.contains("data-result=\"failure\""));
    assert!(activity.body.contains("data-result=\"success\""));
    assert!(activity.body.contains("replayed"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::sqlite().await;
    sign_up(&app, "alice", PASSWORD).await;
    let mut browser = app.browser();
    browser.get("/signin").await;
    let wrong = browser
        .post(
            "/signin",
            &[("username", "alice"), ("password", "not the password")],
        )
        .await;
    let unknown = browser
        .post(
            "/signin",
            &[("username", "nobody"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(wrong.text_of("error"), unknown.text_of("error"));
    assert_eq!(
        wrong.text_of("error").as_deref(),
        Some("Wrong username or password")
    );
}

#[tokio::test]
async fn a_backup_code_works_once_and_shows_the_recovery_banner() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "carol", PASSWORD).await;
    add_totp(&app, &mut browser).await;
    browser.get("/security-info").await;
    let page = browser.post("/security-info/backup", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let codes = page.list_items("backup-codes");
    assert_eq!(codes.len(), 10, "{}", page.body);
    let code = codes[0].clone();
    browser.get("/security-info").await;
    browser.post("/signout", &[]).await;

    // "I lost my phone": password, then a backup code.
    let mut browser = app.browser();
    browser.get("/signin").await;
    browser
        .post("/signin", &[("username", "carol"), ("password", PASSWORD)])
        .await;
    let verify = browser.get("/signin/verify").await;
    assert!(
        verify
            .body
            .contains("href=\"/signin/verify?method=backup\"")
    );
    let backup_form = browser.get("/signin/verify?method=backup").await;
    assert!(backup_form.has_id("backup-code"), "{}", backup_form.body);
    let page = browser.post("/signin/backup", &[("code", &code)]).await;
    assert_eq!(page.location(), Some("/security-info"), "{}", page.body);
    let info = browser.get("/security-info").await;
    assert!(info.has_id("recovery-banner"), "{}", info.body);

    // The lost phone is removed (backup codes still meet the policy) and a new one added.
    let totp_id = info
        .body
        .split("data-method-id=\"")
        .skip(1)
        .find(|row| row.contains("data-kind=\"totp\""))
        .and_then(|row| row.split('"').next())
        .expect("the TOTP row")
        .to_owned();
    let removed = browser
        .post("/security-info/methods/remove", &[("id", &totp_id)])
        .await;
    assert_eq!(
        removed.location(),
        Some("/security-info"),
        "{}",
        removed.body
    );
    let info = browser.get("/security-info").await;
    assert!(!info.body.contains("data-kind=\"totp\""));
    add_totp(&app, &mut browser).await;
    browser.post("/signout", &[]).await;

    // The same backup code again: refused.
    let mut again = app.browser();
    again.get("/signin").await;
    again
        .post("/signin", &[("username", "carol"), ("password", PASSWORD)])
        .await;
    again.get("/signin/verify?method=backup").await;
    let page = again.post("/signin/backup", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.text_of("error").as_deref(),
        Some("That code was already used")
    );
}

#[tokio::test]
async fn every_response_has_the_security_headers_and_the_cookie_its_attributes() {
    let app = TestApp::sqlite().await;
    let mut browser = app.browser();
    for path in [
        "/",
        "/signin",
        "/static/style.css",
        "/policy",
        "/no-such-page",
    ] {
        let page = browser.get(path).await;
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(mfa_demo::web::CONTENT_SECURITY_POLICY),
            "{path}"
        );
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            header("cross-origin-opener-policy").as_deref(),
            Some("same-origin")
        );
    }
    assert_eq!(
        browser.get("/no-such-page").await.status,
        StatusCode::NOT_FOUND
    );
    let mut fresh = app.browser();
    let page = fresh.get("/").await;
    let cookies = page.set_cookies();
    let session = cookies
        .iter()
        .find(|cookie| cookie.starts_with("mfa_demo_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "http origin: {session}");
    // 256 bits, base64url: 43 characters.
    let value = session
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value)
        .expect("value");
    assert_eq!(value.len(), 43);
    // Signing in issues a new cookie (no session fixation).
    let before = fresh.cookies.get("mfa_demo_session").cloned();
    sign_up(&app, "dave", PASSWORD).await;
    fresh.get("/signup").await;
    fresh
        .post(
            "/signup",
            &[
                ("username", "erin"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_ne!(fresh.cookies.get("mfa_demo_session").cloned(), before);
}

#[tokio::test]
async fn remembering_the_device_skips_the_second_step_next_time() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "frank", PASSWORD).await;
    let secret = add_totp(&app, &mut browser).await;
    browser.get("/security-info").await;
    browser.post("/signout", &[]).await;
    app.clock.advance(Duration::from_secs(60));
    browser.get("/signin").await;
    browser
        .post("/signin", &[("username", "frank"), ("password", PASSWORD)])
        .await;
    browser.get("/signin/verify").await;
    let code = totp_code(&secret, app.clock.now_time());
    let page = browser
        .post("/signin/totp", &[("code", &code), ("remember", "1")])
        .await;
    let device = page
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.starts_with("mfa_demo_device="))
        .expect("a remembered-device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Strict"));
    browser.get("/security-info").await;
    browser.post("/signout", &[]).await;

    app.clock.advance(Duration::from_secs(3600));
    browser.get("/signin").await;
    let page = browser
        .post("/signin", &[("username", "frank"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.location(), Some("/security-info"));
}

#[tokio::test]
async fn the_admin_page_wants_phishing_resistant_mfa() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "grace", PASSWORD).await;
    add_totp(&app, &mut browser).await;
    // Password + TOTP: enough for the demo, not for admin.
    let page = browser.get("/admin").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin/verify?next=/admin"));
    let verify = browser.follow(page).await;
    assert_eq!(
        verify.text_of("required-step").as_deref(),
        Some("Phishing-resistant MFA")
    );
    assert!(!verify.body.contains("data-method=\"totp\""));
    assert!(!verify.has_id("totp-code"));
    // Signed out: to the sign-in page, coming back to /admin.
    let mut stranger = app.browser();
    let page = stranger.get("/admin").await;
    assert_eq!(page.location(), Some("/signin?next=/admin"));
}

#[tokio::test]
async fn the_operator_issues_a_pass_that_signs_in_for_registration_only() {
    let app = TestApp::sqlite().await;
    let mut user = sign_up(&app, "heidi", PASSWORD).await;
    add_totp(&app, &mut user).await;

    let mut operator = app.browser();
    operator.get("/operator").await;
    let refused = operator
        .post(
            "/operator",
            &[("key", "wrong"), ("username", "heidi"), ("action", "issue")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.has_id("tap-code"));
    let page = operator
        .post(
            "/operator",
            &[
                ("key", OPERATOR_KEY),
                ("username", "heidi"),
                ("lifetime", "60"),
                ("one_time", "1"),
                ("action", "issue"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let pass = page.text_of("tap-code").expect("#tap-code");

    let mut browser = app.browser();
    browser.get("/signin/tap").await;
    let page = browser
        .post("/signin/tap", &[("username", "heidi"), ("tap", &pass)])
        .await;
    assert_eq!(page.location(), Some("/security-info"), "{}", page.body);
    let info = browser.get("/security-info").await;
    assert_eq!(info.status, StatusCode::OK);
    assert!(!info.has_id("app-passwords"), "registration only");
    // Adding a method is allowed; managing is not; the admin page is not.
    add_totp(&app, &mut browser).await;
    browser.get("/security-info").await;
    let page = browser
        .post("/security-info/app-passwords", &[("name", "IMAP")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The pass works once.
    let mut again = app.browser();
    again.get("/signin/tap").await;
    let page = again
        .post("/signin/tap", &[("username", "heidi"), ("tap", &pass)])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);

    // Reset: the user's methods go, and their session with them.
    let page = operator
        .post("/operator", &[("username", "heidi"), ("action", "reset")])
        .await;
    assert!(page.has_id("reset-done"), "{}", page.body);
    let after = user.get("/security-info").await;
    assert_eq!(after.location(), Some("/signin"));
}

#[tokio::test]
async fn the_policy_page_answers_what_if() {
    let app = TestApp::sqlite().await;
    let mut browser = app.browser();
    let page = browser.get("/policy").await;
    assert!(page.has_id("policy-source"));
    assert!(page.body.contains("Admin: phishing-resistant MFA"));
    let page = browser
        .get("/policy?user=zoe&app=admin&ip=203.0.113.7&device=unmanaged&risk=none&evidence=password&evidence=totp")
        .await;
    assert!(page.has_id("what-if-result"));
    assert!(
        page.body.contains("data-decision=\"step_up\""),
        "{}",
        page.body
    );
    let page = browser
        .get("/policy?user=zoe&app=demo&device=remembered&risk=none&evidence=password")
        .await;
    assert!(
        page.body.contains("data-decision=\"allow\""),
        "{}",
        page.body
    );
    let page = browser
        .get("/policy?user=zoe&app=demo&risk=high&evidence=password&evidence=passkey")
        .await;
    assert!(
        page.body.contains("data-decision=\"block\""),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn app_passwords_are_shown_once_and_sign_out_everywhere_ends_sessions() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "ivan", PASSWORD).await;
    add_totp(&app, &mut browser).await;
    browser.get("/security-info").await;
    let page = browser
        .post("/security-info/app-passwords", &[("name", "Thunderbird")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown = page.text_of("new-app-password").expect("#new-app-password");
    assert!(shown.len() >= 20);
    let later = browser.get("/security-info").await;
    assert!(!later.body.contains(&shown));
    assert!(later.body.contains("Thunderbird"));
    let page = browser.post("/signout-all", &[]).await;
    assert_eq!(page.location(), Some("/"));
    let after = browser.get("/security-info").await;
    assert_eq!(after.location(), Some("/signin"));
}

#[tokio::test]
async fn the_log_never_holds_a_secret() {
    let app = TestApp::sqlite().await;
    let mut browser = sign_up(&app, "judy", PASSWORD).await;
    let secret = add_totp(&app, &mut browser).await;
    browser.get("/security-info").await;
    let codes = browser
        .post("/security-info/backup", &[])
        .await
        .list_items("backup-codes");
    browser.get("/security-info").await;
    let app_password = browser
        .post("/security-info/app-passwords", &[("name", "IMAP")])
        .await
        .text_of("new-app-password")
        .expect("app password");
    let session_cookie = browser
        .cookies
        .get("mfa_demo_session")
        .cloned()
        .expect("cookie");
    browser.post("/signout", &[]).await;
    app.clock.advance(Duration::from_secs(60));
    browser.get("/signin").await;
    browser
        .post(
            "/signin",
            &[("username", "judy"), ("password", "a wrong password")],
        )
        .await;
    browser
        .post("/signin", &[("username", "judy"), ("password", PASSWORD)])
        .await;
    browser.get("/signin/verify").await;
    let code = totp_code(&secret, app.clock.now_time());
    browser.post("/signin/totp", &[("code", &code)]).await;
    let mut operator = app.browser();
    operator.get("/operator").await;
    let tap = operator
        .post(
            "/operator",
            &[
                ("key", OPERATOR_KEY),
                ("username", "judy"),
                ("action", "issue"),
            ],
        )
        .await
        .text_of("tap-code")
        .expect("pass");

    let lines = app.log_lines();
    assert!(lines.iter().any(|line| line.contains("judy")), "{lines:?}");
    let mut secrets = vec![
        PASSWORD.to_owned(),
        "a wrong password".to_owned(),
        secret,
        code,
        app_password,
        session_cookie,
        tap,
        OPERATOR_KEY.to_owned(),
    ];
    secrets.extend(codes);
    for line in &lines {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "{line:?} holds a secret");
        }
    }
}

#[tokio::test]
async fn an_old_cookie_is_worthless_after_sign_in_and_sign_out() {
    let app = TestApp::sqlite().await;
    let mut browser = app.browser();
    browser.get("/signup").await;
    let anonymous_cookie = browser.cookies.get("mfa_demo_session").cloned();
    browser
        .post(
            "/signup",
            &[
                ("username", "kim"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    // The pre-sign-in cookie (which an attacker could have planted) is not signed in.
    let mut planted = app.browser();
    if let Some(cookie) = anonymous_cookie {
        planted.cookies.insert("mfa_demo_session".into(), cookie);
    }
    assert_eq!(
        planted.get("/security-info").await.location(),
        Some("/signin")
    );
    // A second tab with the signed-in cookie; the first signs out; the second is out too,
    // and its stale form is refused.
    let page = browser.get("/security-info").await;
    assert_eq!(page.status, StatusCode::OK);
    let mut other_tab = app.browser();
    other_tab.cookies = browser.cookies.clone();
    other_tab.csrf = browser.csrf.clone();
    browser.post("/signout", &[]).await;
    let refused = other_tab
        .post("/security-info/app-passwords", &[("name", "IMAP")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        other_tab.get("/security-info").await.location(),
        Some("/signin")
    );
}

#[tokio::test]
async fn password_guesses_are_throttled_per_account() {
    let app = TestApp::sqlite().await;
    sign_up(&app, "liam", PASSWORD).await;
    sign_up(&app, "mia", PASSWORD).await;
    let mut browser = app.browser();
    browser.get("/signin").await;
    let free = mfa_core::ThrottlePolicy::default().free_failures;
    for _ in 0..=free {
        let page = browser
            .post(
                "/signin",
                &[("username", "liam"), ("password", "guess-guess")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits.
    let page = browser
        .post("/signin", &[("username", "liam"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(
        page.text_of("error")
            .is_some_and(|error| error.starts_with("Too many attempts"))
    );
    // Another account is not affected.
    let page = browser
        .post("/signin", &[("username", "mia"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    // After the wait, the right password works.
    app.clock.advance(Duration::from_secs(60));
    let mut later = app.browser();
    later.get("/signin").await;
    let page = later
        .post("/signin", &[("username", "liam"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}
