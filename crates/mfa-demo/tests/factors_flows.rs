//! The factor flows of the demo, in process through the router: passkeys (mfa-webauthn's
//! software authenticator), push with number matching (mfa-push's device side playing the
//! phone), and SMS codes (read from the `/messages` outbox). Each replay is refused.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use mfa_core::{ManualClock, UnixTime};
use mfa_demo::{App, AppOptions, AppState, DEFAULT_POLICY, StoreSpec};
use mfa_push::{Answer, ChallengeView, DeviceKey, EnrollmentUri, Platform};
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{CreationOptions, RequestOptions};
use rand::SeedableRng as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use zeroize::Zeroizing;

const ORIGIN: &str = "http://localhost:8080";
const PASSWORD: &str = "correct horse battery";

/// The app on a fresh SQLite file, a manual clock, and the log lines.
struct Demo {
    app: AppState,
    router: Router,
    clock: Arc<ManualClock>,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Demo {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_800_000_000)));
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        let app = App::new(AppOptions {
            store: StoreSpec::Sqlite(dir.path().join("demo.sqlite")),
            redis: None,
            origin: ORIGIN.to_owned(),
            operator_key: Zeroizing::new("operator-key-for-the-tests".to_owned()),
            policy_source: DEFAULT_POLICY.to_owned(),
            clock: clock.clone(),
            log: Arc::new(move |line: &str| {
                lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line.to_owned());
            }),
        })
        .await
        .expect("the app starts");
        let app = Arc::new(app);
        Self {
            router: mfa_demo::router(Arc::clone(&app)),
            app,
            clock,
            log,
            _dir: dir,
        }
    }

    fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The phone's side of the API (no cookie, no CSRF: signed messages).
    async fn phone_post(&self, path: &str, message: &str) -> (StatusCode, Value) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(message.to_owned()))
            .expect("a request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }
}

/// An answer: status, `Location`, body.
struct Answered {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Answered {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A browser: keeps cookies and the page's CSRF token.
struct Browser {
    router: Router,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        for (part, text) in [(0, name), (1, value)] {
            if part == 1 {
                out.push('=');
            }
            for byte in text.bytes() {
                if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    }
    out
}

/// Undoes the template's HTML escaping.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The text inside the element with `id` (up to its first child tag or its end).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = html.get(start..)?;
    let open_end = rest.find('>')?;
    let inner = rest.get(open_end + 1..)?;
    let close = inner.find('<')?;
    Some(unescape(inner.get(..close)?.trim()))
}

impl Browser {
    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Answered {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = request;
        if !cookie.is_empty() {
            request = request.header(header::COOKIE, cookie);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("a request"))
            .await
            .expect("infallible");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("an ASCII cookie");
            let pair = text.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().expect("ASCII").to_owned());
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body = String::from_utf8(bytes.to_vec()).expect("UTF-8");
        if let Some(token) = element_attr(&body, "name=\"csrf-token\"", "content") {
            self.csrf = token;
        }
        Answered {
            status,
            location,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Answered {
        self.send(Request::get(path), Body::empty()).await
    }

    async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answered {
        let mut all = vec![("csrf", self.csrf.clone())];
        all.extend(
            fields
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        let borrowed: Vec<(&str, &str)> = all.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, ORIGIN);
        self.send(request, Body::from(form_encode(&borrowed))).await
    }

    async fn post_json(&mut self, path: &str, body: &Value) -> Answered {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .header("x-csrf-token", self.csrf.clone());
        self.send(request, Body::from(body.to_string())).await
    }

    /// A GET, then the redirects it leads to; the last answer.
    async fn follow(&mut self, mut answered: Answered) -> Answered {
        for _ in 0..5 {
            match (answered.status, answered.location.clone()) {
                (StatusCode::SEE_OTHER, Some(location)) => answered = self.get(&location).await,
                _ => break,
            }
        }
        answered
    }

    async fn sign_up(&mut self, username: &str) {
        self.get("/signup").await;
        let answered = self
            .post_form(
                "/signup",
                &[
                    ("username", username),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(answered.location.as_deref(), Some("/security-info"));
        let page = self.follow(answered).await;
        assert_eq!(page.status, StatusCode::OK);
    }

    async fn sign_out(&mut self) {
        let answered = self.post_form("/signout", &[]).await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER);
        self.get("/").await;
    }

    /// Password sign-in; returns where it led.
    async fn sign_in(&mut self, username: &str) -> String {
        self.get("/signin").await;
        let answered = self
            .post_form("/signin", &[("username", username), ("password", PASSWORD)])
            .await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
        answered.location.expect("a redirect")
    }
}

/// The value of `attribute` in the first tag containing `marker`.
fn element_attr(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let at = html.find(marker)?;
    let tag_start = html.get(..at)?.rfind('<')?;
    let tag = html.get(tag_start..)?;
    let tag = tag.get(..tag.find('>')?)?;
    let key = format!("{attribute}=\"");
    let value_start = tag.find(&key)? + key.len();
    let value = tag.get(value_start..)?;
    Some(unescape(value.get(..value.find('"')?)?))
}

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

// ---- passkeys ----------------------------------------------------------------------------------

/// Registers a passkey for the signed-in browser.
async fn register_passkey(browser: &mut Browser, authenticator: &mut SoftwareAuthenticator) {
    let options = browser
        .post_json("/webauthn/register/options", &json!({ "name": "Laptop" }))
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let options = options.json();
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    let creation: CreationOptions =
        serde_json::from_value(options["publicKey"].clone()).expect("creation options");
    let response: Value =
        serde_json::from_slice(&authenticator.register(&creation, ORIGIN)).expect("JSON");
    let finished = browser
        .post_json(
            "/webauthn/register/finish",
            &json!({ "name": "Laptop", "response": response }),
        )
        .await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    assert_eq!(finished.json()["redirect"], "/security-info");
    // The same response again: its ceremony was taken.
    let replay = browser
        .post_json(
            "/webauthn/register/finish",
            &json!({ "name": "Laptop", "response": response }),
        )
        .await;
    assert!(replay.status.is_client_error(), "{}", replay.body);
}

/// A passkey sign-in ceremony in `mode` with `username`: the assertion's JSON and the answer.
async fn passkey_ceremony(
    browser: &mut Browser,
    authenticator: &mut SoftwareAuthenticator,
    username: Option<&str>,
    mode: &str,
) -> (Value, Answered) {
    let options = browser
        .post_json(
            "/webauthn/authenticate/options",
            &json!({ "username": username, "mode": mode }),
        )
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let request: RequestOptions =
        serde_json::from_value(options.json()["publicKey"].clone()).expect("request options");
    let assertion: Value =
        serde_json::from_slice(&authenticator.authenticate(&request, ORIGIN)).expect("JSON");
    let finished = browser
        .post_json(
            "/webauthn/authenticate/finish",
            &json!({ "response": assertion, "remember": false }),
        )
        .await;
    (assertion, finished)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_registers_and_signs_in_with_and_without_a_username() {
    let demo = Demo::start().await;
    let mut browser = demo.browser();
    browser.sign_up("alice").await;
    let mut authenticator = SoftwareAuthenticator::new(&mut rng(1));
    register_passkey(&mut browser, &mut authenticator).await;
    let page = browser.get("/security-info").await;
    assert!(page.body.contains("data-kind=\"passkey\""), "{}", page.body);
    assert!(page.body.contains("Passkey \u{201c}Laptop\u{201d} added."));

    // Excluded from a second registration: the options list it.
    let options = browser
        .post_json("/webauthn/register/options", &json!({ "name": "Again" }))
        .await;
    let excluded = &options.json()["publicKey"]["excludeCredentials"];
    assert_eq!(
        excluded[0]["id"],
        authenticator.credential_id().to_b64url().as_str()
    );

    // Without a username: a discoverable credential names the account.
    browser.sign_out().await;
    browser.get("/signin").await;
    let options = browser
        .post_json(
            "/webauthn/authenticate/options",
            &json!({ "username": null, "mode": "signin" }),
        )
        .await;
    assert_eq!(options.json()["publicKey"]["allowCredentials"], json!([]));
    browser.get("/signin").await;
    let (assertion, finished) =
        passkey_ceremony(&mut browser, &mut authenticator, None, "signin").await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    let redirect = finished.json()["redirect"]
        .as_str()
        .expect("a redirect")
        .to_owned();
    let page = browser.get(&redirect).await;
    assert_eq!(element_text(&page.body, "whoami").as_deref(), Some("alice"));

    // The same assertion again, even in a new ceremony, is refused.
    browser.sign_out().await;
    browser.get("/signin").await;
    browser
        .post_json(
            "/webauthn/authenticate/options",
            &json!({ "username": null, "mode": "signin" }),
        )
        .await;
    let replay = browser
        .post_json(
            "/webauthn/authenticate/finish",
            &json!({ "response": assertion, "remember": false }),
        )
        .await;
    assert!(replay.status.is_client_error(), "{}", replay.body);
    assert!(replay.json()["message"].is_string());
    assert_eq!(
        browser.get("/security-info").await.location.as_deref(),
        Some("/signin")
    );

    // With a username: only that user's passkeys are allowed.
    browser.get("/signin").await;
    let (_, finished) =
        passkey_ceremony(&mut browser, &mut authenticator, Some("alice"), "signin").await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    let page = browser.get("/security-info").await;
    assert_eq!(element_text(&page.body, "whoami").as_deref(), Some("alice"));

    // Another user's name gets allowCredentials without alice's passkey.
    browser.sign_out().await;
    let mut other = demo.browser();
    other.sign_up("bob").await;
    browser.get("/signin").await;
    let options = browser
        .post_json(
            "/webauthn/authenticate/options",
            &json!({ "username": "bob", "mode": "signin" }),
        )
        .await;
    assert_eq!(options.json()["publicKey"]["allowCredentials"], json!([]));

    // As a second factor after the password, and for the admin page.
    let next = browser.sign_in("alice").await;
    assert!(next.starts_with("/signin/verify"), "{next}");
    let page = browser.get("/signin/verify?method=passkey").await;
    assert!(page.body.contains("id=\"passkey-verify\""), "{}", page.body);
    let (_, finished) = passkey_ceremony(&mut browser, &mut authenticator, None, "verify").await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    assert_eq!(finished.json()["redirect"], "/security-info");
    assert!(
        demo.log_lines()
            .iter()
            .any(|line| line.contains("method=webauthn result=success"))
    );
}

// ---- push -----------------------------------------------------------------------------------

async fn pending_views(demo: &Demo, phone: &DeviceKey) -> Vec<ChallengeView> {
    let request = phone.request_pending(demo.app.now()).expect("a request");
    let (status, views) = demo.phone_post("/phone/api/pending", &request).await;
    assert_eq!(status, StatusCode::OK, "{views}");
    serde_json::from_value(views).expect("challenge views")
}

/// The phone approves `view` with `number`: the signed response, and the service's answer.
async fn approve(
    demo: &Demo,
    phone: &DeviceKey,
    view: &ChallengeView,
    number: &str,
) -> (String, StatusCode, Value) {
    let answer = Answer::approve(number).expect("digits");
    let response = phone
        .respond(&view.challenge, &answer, demo.app.now())
        .expect("a response");
    let (status, answered) = demo.phone_post("/phone/api/respond", &response).await;
    (response, status, answered)
}

#[tokio::test(flavor = "multi_thread")]
async fn push_enrols_a_phone_and_signs_in_after_a_wrong_number() {
    let demo = Demo::start().await;
    let mut browser = demo.browser();
    browser.sign_up("carol").await;

    // The offer: a URI for the phone, also as a link to the phone page.
    let page = browser.get("/security-info/push").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let uri = element_text(&page.body, "push-enroll-uri").expect("the enrolment URI");
    let link = element_attr(&page.body, "id=\"open-phone\"", "href").expect("the phone link");
    assert!(link.starts_with("/phone?enroll=mfa-push"), "{link}");
    assert!(page.body.contains("<svg"), "a QR code");
    let phone_page = browser.get(&link).await;
    assert!(phone_page.body.contains("id=\"phone-enroll\""));
    assert!(
        phone_page
            .body
            .contains("type=\"module\" src=\"/static/phone.js\"")
    );

    let mut rng = rng(2);
    let phone = DeviceKey::generate(&mut rng);
    let scanned = EnrollmentUri::parse(&uri).expect("an enrolment URI");
    let registration = phone
        .registration_message(
            &scanned,
            "Carol's phone",
            Platform::Other,
            None,
            demo.app.now(),
        )
        .expect("a registration");
    let (status, answer) = demo.phone_post("/phone/api/register", &registration).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["device_id"], phone.device_id().as_str());
    // The token is spent.
    let (status, answer) = demo.phone_post("/phone/api/register", &registration).await;
    assert!(status.is_client_error(), "{answer}");
    let page = browser.get("/security-info").await;
    assert!(page.body.contains("data-kind=\"push\""), "{}", page.body);

    // Sign in: password, then push.
    browser.sign_out().await;
    let next = browser.sign_in("carol").await;
    assert!(next.starts_with("/signin/verify"), "{next}");
    let page = browser.get("/signin/verify?method=push").await;
    assert!(page.body.contains("id=\"push-send\""), "{}", page.body);
    let started = browser.post_form("/signin/push/start", &[]).await;
    assert_eq!(
        started.location.as_deref(),
        Some("/signin/push"),
        "{}",
        started.body
    );
    let page = browser.get("/signin/push").await;
    let shown = element_text(&page.body, "push-number").expect("the number");
    assert_eq!(shown.len(), 6);
    assert!(
        page.body
            .contains("data-status-url=\"/signin/push/status\"")
    );
    let status = browser.get("/signin/push/status").await;
    assert_eq!(status.json(), json!({ "state": "pending" }));

    // The phone sees the request (never the number) and types a wrong one.
    let views = pending_views(&demo, &phone).await;
    assert_eq!(views.len(), 1);
    let wrong: String = shown
        .chars()
        .filter_map(|digit| digit.to_digit(10))
        .filter_map(|digit| char::from_digit((digit + 1) % 10, 10))
        .collect();
    let (_, status, answer) = approve(&demo, &phone, &views[0], &wrong).await;
    assert!(status.is_client_error());
    assert_eq!(answer["error"], "wrong_number");

    // The sign-in page learns it, and a new request (a new number) goes out.
    let status = browser.get("/signin/push/status").await;
    assert_eq!(
        status.json(),
        json!({ "state": "done", "redirect": "/signin/push" })
    );
    let page = browser.get("/signin/push").await;
    let error = element_text(&page.body, "error").expect("an error");
    assert!(error.contains("did not match"), "{error}");
    let number = element_text(&page.body, "push-number").expect("a new number");
    let views = pending_views(&demo, &phone).await;
    assert_eq!(views.len(), 1);

    // The right number: the phone is told "approved", the page moves on.
    demo.clock.advance(Duration::from_secs(5));
    let (response, status, answer) = approve(&demo, &phone, &views[0], &number).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let status = browser.get("/signin/push/status").await;
    assert_eq!(
        status.json(),
        json!({ "state": "done", "redirect": "/security-info" })
    );
    let page = browser.get("/security-info").await;
    assert_eq!(element_text(&page.body, "whoami").as_deref(), Some("carol"));

    // The same answer again is a replay.
    let (status, answer) = demo.phone_post("/phone/api/respond", &response).await;
    assert!(status.is_client_error(), "{answer}");
    assert_eq!(answer["error"], "challenge_not_found");

    // The push cap: three requests without an approval go out, the fourth must wait.
    browser.sign_out().await;
    browser.sign_in("carol").await;
    browser.get("/signin/verify?method=push").await;
    for _ in 0..3 {
        let started = browser.post_form("/signin/push/start", &[]).await;
        assert_eq!(started.location.as_deref(), Some("/signin/push"));
        browser.get("/signin/push").await;
    }
    let capped = browser.post_form("/signin/push/start", &[]).await;
    assert_eq!(
        capped.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        capped.body
    );
    let error = element_text(&capped.body, "error").expect("an error");
    assert!(error.contains("reached our limit"), "{error}");
}

// ---- SMS ----------------------------------------------------------------------------------------

/// The newest code in the `/messages` outbox.
async fn newest_code(browser: &mut Browser) -> String {
    let page = browser.get("/messages").await;
    let start = page.body.find("class=\"code\"").expect("a message");
    let rest = page.body.get(start..).expect("text");
    let open = rest.find('>').expect("a tag") + 1;
    let close = rest.find("</span>").expect("an end");
    rest.get(open..close).expect("the code").to_owned()
}

/// Adds a phone through its page: the code from the outbox confirms it. Returns that code.
async fn add_phone(browser: &mut Browser, number: &str, channel: &str) -> String {
    browser.get("/security-info/phone").await;
    let sent = browser
        .post_form(
            "/security-info/phone/send",
            &[("phone", number), ("channel", channel)],
        )
        .await;
    assert_eq!(
        sent.location.as_deref(),
        Some("/security-info/phone"),
        "{}",
        sent.body
    );
    let page = browser.get("/security-info/phone").await;
    assert!(page.body.contains("id=\"phone-code\""), "{}", page.body);
    let code = newest_code(browser).await;
    assert_eq!(code.len(), 6);
    let confirmed = browser
        .post_form("/security-info/phone/confirm", &[("code", &code)])
        .await;
    assert_eq!(
        confirmed.location.as_deref(),
        Some("/security-info"),
        "{}",
        confirmed.body
    );
    let page = browser.get("/security-info").await;
    assert!(
        page.body.contains(&format!("data-kind=\"{channel}\"")),
        "{}",
        page.body
    );
    code
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_phone_is_added_and_signs_in_once_per_code() {
    let demo = Demo::start().await;
    let mut browser = demo.browser();
    browser.sign_up("dave").await;
    let code = add_phone(&mut browser, "(201) 555-0123", "sms").await;
    let messages = browser.get("/messages").await;
    assert!(messages.body.contains("data-to=\"+12015550123\""));
    assert!(
        demo.log_lines()
            .iter()
            .any(|line| line == &format!("sms to +12015550123: your code is {code}"))
    );

    // Sign in with a code by SMS (after the number's resend gap since the enrolment code).
    demo.clock.advance(Duration::from_secs(31));
    browser.sign_out().await;
    let next = browser.sign_in("dave").await;
    assert!(next.starts_with("/signin/verify"), "{next}");
    let page = browser.get("/signin/verify?method=sms").await;
    assert!(page.body.contains("id=\"oob-send\""), "{}", page.body);
    assert!(!page.body.contains("id=\"oob-code\""));
    let sent = browser
        .post_form("/signin/oob/send", &[("channel", "sms")])
        .await;
    assert_eq!(
        sent.location.as_deref(),
        Some("/signin/verify?method=sms"),
        "{}",
        sent.body
    );
    let page = browser.get("/signin/verify?method=sms").await;
    assert!(page.body.contains("id=\"oob-code\""), "{}", page.body);

    // "Send again" at once is refused by the resend gap, in words.
    let again = browser
        .post_form("/signin/oob/send", &[("channel", "sms")])
        .await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.body
    );
    let error = element_text(&again.body, "error").expect("an error");
    assert!(error.starts_with("You've reached our limit"), "{error}");

    let code = newest_code(&mut browser).await;
    let verified = browser
        .post_form("/signin/oob/verify", &[("channel", "sms"), ("code", &code)])
        .await;
    assert_eq!(
        verified.location.as_deref(),
        Some("/security-info"),
        "{}",
        verified.body
    );
    let page = browser.get("/security-info").await;
    assert_eq!(element_text(&page.body, "whoami").as_deref(), Some("dave"));

    // The same code again, in a new sign-in: refused.
    browser.sign_out().await;
    browser.sign_in("dave").await;
    browser.get("/signin/verify?method=sms").await;
    let replay = browser
        .post_form("/signin/oob/verify", &[("channel", "sms"), ("code", &code)])
        .await;
    assert!(replay.status.is_client_error(), "{}", replay.body);
    assert!(
        element_text(&replay.body, "error").is_some(),
        "{}",
        replay.body
    );
    assert_eq!(
        browser.get("/security-info").await.location.as_deref(),
        Some("/signin/verify")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voice_phone_is_added_and_signs_in() {
    let demo = Demo::start().await;
    let mut browser = demo.browser();
    browser.sign_up("erin").await;
    browser.get("/security-info/phone").await;
    let refused = browser
        .post_form(
            "/security-info/phone/send",
            &[("phone", "555"), ("channel", "voice")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        element_text(&refused.body, "error").is_some(),
        "{}",
        refused.body
    );
    add_phone(&mut browser, "+44 7911 123456", "voice").await;
    let messages = browser.get("/messages").await;
    assert!(messages.body.contains("data-channel=\"voice\""));

    demo.clock.advance(Duration::from_secs(31));
    browser.sign_out().await;
    browser.sign_in("erin").await;
    let page = browser.get("/signin/verify?method=voice").await;
    assert!(page.body.contains("id=\"oob-send\""), "{}", page.body);
    let sent = browser
        .post_form("/signin/oob/send", &[("channel", "voice")])
        .await;
    assert_eq!(
        sent.location.as_deref(),
        Some("/signin/verify?method=voice"),
        "{}",
        sent.body
    );
    let code = newest_code(&mut browser).await;
    // A wrong code uses the code up.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser
        .post_form(
            "/signin/oob/verify",
            &[("channel", "voice"), ("code", wrong)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    let error = element_text(&refused.body, "error").expect("an error");
    assert!(error.starts_with("Wrong code"), "{error}");
    let used_up = browser
        .post_form(
            "/signin/oob/verify",
            &[("channel", "voice"), ("code", &code)],
        )
        .await;
    assert!(used_up.status.is_client_error(), "{}", used_up.body);
    // A new code (after the resend gap, doubled for the number's third send) signs in.
    demo.clock.advance(Duration::from_secs(61));
    browser.get("/signin/verify?method=voice").await;
    let sent = browser
        .post_form("/signin/oob/send", &[("channel", "voice")])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let code = newest_code(&mut browser).await;
    let verified = browser
        .post_form(
            "/signin/oob/verify",
            &[("channel", "voice"), ("code", &code)],
        )
        .await;
    assert_eq!(
        verified.location.as_deref(),
        Some("/security-info"),
        "{}",
        verified.body
    );
}
