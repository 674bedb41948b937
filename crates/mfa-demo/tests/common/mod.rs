//! A browser stand-in for the tests: drives the router in-process (tower `oneshot`), keeps
//! cookies, reads the CSRF token from each page, and captures the server's log lines.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use mfa_core::{ManualClock, UnixTime};
use mfa_demo::{App, AppOptions, AppState, DEFAULT_POLICY, StoreSpec};
use tower::ServiceExt as _;
use zeroize::Zeroizing;

pub const ORIGIN: &str = "http://localhost:8080";
pub const OPERATOR_KEY: &str = "operator-key-for-tests";

/// The app under test with its clock and captured log.
pub struct TestApp {
    pub app: AppState,
    pub clock: ManualClock,
    pub log: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// An app on a fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = StoreSpec::Sqlite(dir.path().join("demo.sqlite"));
        let mut app = Self::with_store(spec, None).await;
        app._dir = Some(dir);
        app
    }

    /// An app on `spec`.
    pub async fn with_store(spec: StoreSpec, redis: Option<String>) -> Self {
        let clock = ManualClock::new(UnixTime::from_secs(1_800_000_000));
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let app = App::new(AppOptions {
            store: spec,
            redis,
            origin: ORIGIN.to_owned(),
            operator_key: Zeroizing::new(OPERATOR_KEY.to_owned()),
            policy_source: DEFAULT_POLICY.to_owned(),
            clock: Arc::new(clock.clone()),
            log: Arc::new(move |line: &str| {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line.to_owned());
            }),
        })
        .await
        .expect("app starts");
        Self {
            app: Arc::new(app),
            clock,
            log,
            _dir: None,
        }
    }

    pub fn browser(&self) -> Browser {
        Browser {
            router: mfa_demo::router(Arc::clone(&self.app)),
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One response.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
    }

    /// Whether the body has an element with this id.
    pub fn has_id(&self, id: &str) -> bool {
        self.body.contains(&format!("id=\"{id}\""))
    }

    /// The text of the element with this id (up to its next `<`).
    pub fn text_of(&self, id: &str) -> Option<String> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = self.body.get(start..)?;
        let open = rest.find('>')?;
        let rest = rest.get(open + 1..)?;
        let end = rest.find('<')?;
        Some(rest.get(..end)?.trim().to_owned())
    }

    /// The `<li>` texts of the list with this id.
    pub fn list_items(&self, id: &str) -> Vec<String> {
        let Some(start) = self.body.find(&format!("id=\"{id}\"")) else {
            return Vec::new();
        };
        let rest = &self.body[start..];
        let end = rest
            .find("</ol>")
            .or_else(|| rest.find("</ul>"))
            .unwrap_or(rest.len());
        rest[..end]
            .split("<li>")
            .skip(1)
            .map(|item| item.split('<').next().unwrap_or("").trim().to_owned())
            .collect()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect()
    }
}

/// Form-encodes `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// A cookie jar and the last page's CSRF token.
pub struct Browser {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
}

impl Browser {
    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        for cookie in headers.get_all(header::SET_COOKIE) {
            let cookie = cookie.to_str().expect("ascii cookie");
            let pair = cookie.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        if let Some(start) = body.find("<meta name=\"csrf-token\" content=\"") {
            let rest = &body[start + 33..];
            if let Some(end) = rest.find('"') {
                self.csrf = Some(rest[..end].to_owned());
            }
        }
        Page {
            status,
            headers,
            body,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// Follows 303s from `page` (GETs), as a browser does.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        while page.status == StatusCode::SEE_OTHER {
            let location = page.location().expect("a Location").to_owned();
            page = self.get(&location).await;
        }
        page
    }

    /// POSTs a form with the page's CSRF token and the right Origin.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self
            .csrf
            .clone()
            .expect("a page with a CSRF token was loaded");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &form(&all), Some(ORIGIN)).await
    }

    /// POSTs a raw form body.
    pub async fn post_raw(&mut self, path: &str, body: &str, origin: Option<&str>) -> Page {
        let mut request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let request = request.body(Body::from(body.to_owned())).expect("request");
        self.send(request).await
    }
}

/// Signs up `username` with `password` in a fresh browser; returns the browser, signed in.
pub async fn sign_up(app: &TestApp, username: &str, password: &str) -> Browser {
    let mut browser = app.browser();
    browser.get("/signup").await;
    let page = browser
        .post(
            "/signup",
            &[
                ("username", username),
                ("password", password),
                ("confirm", password),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/security-info"));
    browser
}

/// Adds an authenticator app in `browser`'s session; returns its base32 secret.
pub async fn add_totp(app: &TestApp, browser: &mut Browser) -> String {
    let page = browser.get("/security-info/totp").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = page.text_of("totp-secret").expect("#totp-secret");
    let code = totp_code(&secret, app.clock.now_time());
    let page = browser
        .post("/security-info/totp", &[("code", &code)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    secret
}

/// The RFC 6238 code for `secret` at `now` (30 s, 6 digits, SHA-1), as an app computes it.
pub fn totp_code(secret: &str, now: UnixTime) -> String {
    let secret = mfa_otp::OtpSecret::from_base32(secret).expect("base32 secret");
    mfa_otp::TotpParams::default()
        .code_at(&secret, now)
        .expect("code")
        .as_str()
        .to_owned()
}

pub trait NowTime {
    fn now_time(&self) -> UnixTime;
}

impl NowTime for ManualClock {
    fn now_time(&self) -> UnixTime {
        mfa_core::Clock::now(self)
    }
}
