//! Pages: the templates (minijinja, HTML auto-escaping, embedded), rendering with the layout's
//! common values, errors as pages, the security headers every response carries, and the
//! embedded static files.

use core::fmt;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mfa_core::StoreError;
use minijinja::{AutoEscape, Environment};
use serde_json::{Map, Value};

use crate::app::{App, AppState};
use crate::session::{Access, Session, Target};

/// Every template, embedded: `(name, source)`. The factor pages' templates (passkey, push, phone)
/// are listed here too, so their owners only edit the files.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("signup.html", include_str!("../templates/signup.html")),
    ("signin.html", include_str!("../templates/signin.html")),
    ("tap.html", include_str!("../templates/tap.html")),
    ("verify.html", include_str!("../templates/verify.html")),
    (
        "verify_totp.html",
        include_str!("../templates/verify_totp.html"),
    ),
    (
        "verify_backup.html",
        include_str!("../templates/verify_backup.html"),
    ),
    (
        "verify_passkey.html",
        include_str!("../templates/verify_passkey.html"),
    ),
    (
        "verify_push.html",
        include_str!("../templates/verify_push.html"),
    ),
    (
        "verify_sms.html",
        include_str!("../templates/verify_sms.html"),
    ),
    (
        "verify_voice.html",
        include_str!("../templates/verify_voice.html"),
    ),
    (
        "push_wait.html",
        include_str!("../templates/push_wait.html"),
    ),
    (
        "security_info.html",
        include_str!("../templates/security_info.html"),
    ),
    (
        "security_info_passkey.html",
        include_str!("../templates/security_info_passkey.html"),
    ),
    (
        "security_info_push.html",
        include_str!("../templates/security_info_push.html"),
    ),
    (
        "security_info_phone.html",
        include_str!("../templates/security_info_phone.html"),
    ),
    ("push_add.html", include_str!("../templates/push_add.html")),
    (
        "phone_add.html",
        include_str!("../templates/phone_add.html"),
    ),
    ("phone.html", include_str!("../templates/phone.html")),
    ("totp_add.html", include_str!("../templates/totp_add.html")),
    (
        "backup_codes.html",
        include_str!("../templates/backup_codes.html"),
    ),
    ("activity.html", include_str!("../templates/activity.html")),
    ("policy.html", include_str!("../templates/policy.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    ("operator.html", include_str!("../templates/operator.html")),
    ("messages.html", include_str!("../templates/messages.html")),
    (
        "verify_oob.html",
        include_str!("../templates/verify_oob.html"),
    ),
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Compiles every template. A template that does not compile is a bug caught by the tests;
    /// it renders as an error page rather than stopping the app.
    #[must_use]
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                eprintln!("template {name} does not compile: {error}");
            }
        }
        Self { env }
    }

    /// Renders `name` with `context`.
    ///
    /// # Errors
    /// [`PageError`] (500) when the template fails.
    pub fn render(&self, name: &str, context: &Value) -> Result<String, PageError> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(minijinja::value::Serde(context)))
            .map_err(|error| PageError::internal(format!("template {name}: {error:#}")))
    }
}

/// Renders page `name` in the layout with status 200. `page` is a JSON object of the page's
/// values; the layout adds `csrf`, `whoami` (the signed-in account), `notice` (the flash
/// message, taken) unless `page` sets them, and `error` when `page` has one.
pub async fn render(app: &App, session: &Session, name: &str, page: Value) -> Response {
    render_status(app, session, StatusCode::OK, name, page).await
}

/// As [`render`] with another status (a form shown again with `#error`: 400, 401, 429 …).
pub async fn render_status(
    app: &App,
    session: &Session,
    status: StatusCode,
    name: &str,
    page: Value,
) -> Response {
    let mut context = match page {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    context
        .entry("csrf")
        .or_insert_with(|| Value::from(session.csrf()));
    if !context.contains_key("whoami") {
        // The header says "Signed in as …" only once the policy is met (or for registering
        // methods); half-way through a sign-in it says "Signing in as …" with a Cancel button.
        let (whoami, signing_in) = match crate::session::access(app, session, Target::Demo).await {
            Ok(Access::Full(account) | Access::Registration(account)) => (Some(account), None),
            Ok(Access::NeedsStep(account) | Access::Blocked(account, _)) => (None, Some(account)),
            Ok(Access::SignedOut) => (None, None),
            Err(error) => return PageError::store(error).into_response(),
        };
        context.insert("whoami".into(), whoami.map_or(Value::Null, Value::from));
        context.insert(
            "signing_in".into(),
            signing_in.map_or(Value::Null, Value::from),
        );
    }
    if !context.contains_key("notice") {
        match session.take_flash(app).await {
            Ok(notice) => {
                context.insert("notice".into(), notice.map_or(Value::Null, Value::from));
            }
            Err(error) => return PageError::store(error).into_response(),
        }
    }
    context.insert("page".into(), Value::from(name.trim_end_matches(".html")));
    match app.templates.render(name, &Value::Object(context)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            app.log(&format!("error: {}", error.message));
            error.into_response()
        }
    }
}

/// A page that could not be served: a status and a message in words (never a secret).
#[derive(Debug)]
pub struct PageError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What the user reads.
    pub message: String,
}

impl PageError {
    /// A 500 for a bug.
    #[must_use]
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    /// A 503 for a store failure (the details go to the log).
    #[must_use]
    pub fn store(error: StoreError) -> Self {
        eprintln!("store error: {error}");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "The store is unavailable; try again.".to_owned(),
        }
    }

    /// A 401 when the page needs a signed-in session.
    #[must_use]
    pub fn signed_out() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: "You are not signed in.".to_owned(),
        }
    }

    /// A 403 with a reason.
    #[must_use]
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// A 400 with a reason.
    #[must_use]
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A 404.
    #[must_use]
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: "There is no such page.".to_owned(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        Self::store(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mfa demo: error</title>\
             <link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><header><a href=\"/\" class=\"brand\">mfa demo</a></header>\
             <main><h1>Something went wrong</h1><p id=\"error\" role=\"alert\">{}</p><p><a href=\"/\">Home</a></p></main></body></html>\n",
            escape_html(&self.message)
        );
        (self.status, Html(html)).into_response()
    }
}

/// `text` safe inside HTML text and attribute values.
#[must_use]
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(ch),
        }
    }
    escaped
}

/// `text` percent-encoded for a query value (everything but unreserved characters).
#[must_use]
pub fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A 303 See Other to `location` (a local path).
#[must_use]
pub fn see_other(location: &str) -> Response {
    // Only local paths are ever redirected to (`next` is checked where it is read).
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Whether `next` is a local page to return to (no scheme, no `//`, no backslash).
#[must_use]
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 200
        && next.chars().all(|ch| ch.is_ascii_graphic())
}

/// The `Content-Security-Policy` of every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the security headers to every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: under it Chromium sends `Origin: null` on the app's own POSTs
        // (Fetch: a request's origin is serialized as null when its referrer policy is
        // no-referrer), which the Origin check must refuse. `same-origin` keeps the full URL
        // (which may hold an enrolment token) from ever leaving the site.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The embedded static files under `/static/`.
pub fn static_routes() -> Router<AppState> {
    fn file(content_type: &'static str, body: &'static str) -> Response {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    }
    Router::new()
        .route(
            "/static/style.css",
            get(|| async {
                file(
                    "text/css; charset=utf-8",
                    include_str!("../static/style.css"),
                )
            }),
        )
        .route(
            "/static/webauthn.js",
            get(|| async {
                file(
                    "text/javascript; charset=utf-8",
                    include_str!("../static/webauthn.js"),
                )
            }),
        )
        .route(
            "/static/phone.js",
            get(|| async {
                file(
                    "text/javascript; charset=utf-8",
                    include_str!("../static/phone.js"),
                )
            }),
        )
        .route(
            "/static/print.js",
            get(|| async {
                file(
                    "text/javascript; charset=utf-8",
                    include_str!("../assets/print.js"),
                )
            }),
        )
        .route(
            "/static/live.js",
            get(|| async {
                file(
                    "text/javascript; charset=utf-8",
                    include_str!("../static/live.js"),
                )
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::{escape_html, is_local_path, url_encode};

    #[test]
    fn only_local_paths_are_returned_to() {
        assert!(is_local_path("/admin"));
        assert!(is_local_path("/signin/verify?method=totp"));
        for outside in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "admin",
            "",
            "/a b",
        ] {
            assert!(!is_local_path(outside), "{outside}");
        }
    }

    #[test]
    fn escaping_and_encoding() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_encode("/admin?x=1&y"), "/admin%3Fx%3D1%26y");
    }
}
