//! Drives the `web` example over real HTTP, as a browser and an authenticator app would: TOTP
//! enrollment confirmed with a first code, sign-in, a replayed code, throttling with
//! `Retry-After`; backup codes; passkey registration and sign-in with and without a username,
//! a replayed assertion, and "my methods".
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The example server, stopped when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start() -> Self {
        // A first throttle delay of ten minutes: a throttled answer stays throttled however slowly
        // the test runs.
        let mut child = Command::new(env!("CARGO_BIN_EXE_web"))
            .args(["--listen", "127.0.0.1:0", "--first-delay", "600"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let address = first_line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
            .to_owned();
        Self { child, address }
    }

    /// One HTTP/1.1 request with a JSON body (or none); returns the status, the headers
    /// (lower-cased names) and the JSON body (`Null` when empty).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
        };
        Response {
            status,
            headers,
            json,
        }
    }

    fn post(&self, path: &str, body: Value) -> Response {
        self.call("POST", path, Some(&body))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    json: Value,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{:?}", self.json);
        self.json
    }
}

#[test]
fn backup_codes_over_http() {
    let server = Server::start();
    let codes = server
        .post("/backup/issue", json!({"account": "carol"}))
        .expect(200)["codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes.len(), 10);
    let code = codes[3].as_str().unwrap();
    let redeemed = server
        .post("/backup/redeem", json!({"account": "carol", "code": code}))
        .expect(200);
    assert_eq!(redeemed["remaining"], 9);
    assert_eq!(redeemed["method"], "backup_code");
    // The same code again: refused, one opaque 401 with a reason for logs.
    let again = server
        .post("/backup/redeem", json!({"account": "carol", "code": code}))
        .expect(401);
    assert_eq!(again["error"], "replayed");
    // An account without codes gets the same status.
    let nobody = server
        .post("/backup/redeem", json!({"account": "nobody", "code": code}))
        .expect(401);
    assert_eq!(nobody["error"], "not_enrolled");
    let methods = server.call("GET", "/methods/carol", None).expect(200);
    assert_eq!(methods["backup_codes"]["remaining"], 9);
    assert!(methods["backup_codes"]["last_used_at"].is_number());
}

#[test]
fn wrong_backup_codes_are_throttled_with_retry_after() {
    let server = Server::start();
    let _codes = server
        .post("/backup/issue", json!({"account": "dave"}))
        .expect(200);
    // Five free failures, then a wait that the answer names in Retry-After.
    for _ in 0..5 {
        let wrong = server.post(
            "/backup/redeem",
            json!({"account": "dave", "code": "aaaaa-aaaaa"}),
        );
        assert_eq!(wrong.status, 401);
    }
    let sixth = server.post(
        "/backup/redeem",
        json!({"account": "dave", "code": "aaaaa-aaaaa"}),
    );
    assert_eq!(sixth.status, 401, "the sixth is checked (and fails)");
    let throttled = server.post(
        "/backup/redeem",
        json!({"account": "dave", "code": "aaaaa-aaaaa"}),
    );
    assert_eq!(throttled.status, 429, "{:?}", throttled.json);
    assert_eq!(throttled.json["error"], "throttled");
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((590..=600).contains(&retry_after), "{retry_after}");
}

/// The code an authenticator app holding `secret` shows for the step `offset` steps from now.
fn app_code(secret: &str, offset: u64) -> String {
    use mfa_core::Clock as _;
    let secret = mfa_otp::OtpSecret::from_base32(secret).unwrap();
    let params = mfa_otp::TotpParams::default();
    let step = params.step_at(mfa_core::SystemClock.now()).unwrap() + offset;
    params.code_for_step(&secret, step).as_str().to_owned()
}

/// A six-digit code that is none of the codes the window around now accepts.
fn wrong_code(secret: &str) -> String {
    let window: Vec<String> = (0..3).map(|offset| app_code(secret, offset)).collect();
    (0..4_u32)
        .map(|n| format!("{n:06}"))
        .find(|candidate| !window.contains(candidate) && *candidate != app_code_before(secret))
        .unwrap()
}

/// The code of the step before now (the window's past side).
fn app_code_before(secret: &str) -> String {
    use mfa_core::Clock as _;
    let secret = mfa_otp::OtpSecret::from_base32(secret).unwrap();
    let params = mfa_otp::TotpParams::default();
    let step = params.step_at(mfa_core::SystemClock.now()).unwrap() - 1;
    params.code_for_step(&secret, step).as_str().to_owned()
}

#[test]
fn authenticator_app_enrollment_and_sign_in_over_http() {
    let server = Server::start();
    let enrolled = server
        .post("/totp/enroll", json!({"account": "alice"}))
        .expect(200);
    let uri = enrolled["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Example:alice?"), "{uri}");
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    // Not enrolled until confirmed: a sign-in now finds no credential.
    let early = server.post(
        "/totp/verify",
        json!({"account": "alice", "code": app_code(&secret, 0)}),
    );
    assert_eq!(
        (early.status, &early.json["error"]),
        (401, &json!("not_enrolled"))
    );
    // A mistyped first code counts but leaves the enrollment to retype.
    let typo = server.post(
        "/totp/confirm",
        json!({"account": "alice", "code": wrong_code(&secret)}),
    );
    assert_eq!(typo.status, 401);
    let confirmed = server
        .post(
            "/totp/confirm",
            json!({"account": "alice", "code": app_code(&secret, 0)}),
        )
        .expect(200);
    assert_eq!(confirmed["method"], "totp");
    // The confirming code cannot sign in again; the next one can, once.
    let replay = server.post(
        "/totp/verify",
        json!({"account": "alice", "code": app_code(&secret, 0)}),
    );
    assert_eq!(
        (replay.status, &replay.json["error"]),
        (401, &json!("replayed"))
    );
    let next = app_code(&secret, 1);
    let signed_in = server
        .post("/totp/verify", json!({"account": "alice", "code": next}))
        .expect(200);
    assert_eq!(signed_in["account"], "alice");
    assert_eq!(signed_in["evidence"]["method"], "totp");
    let again = server.post("/totp/verify", json!({"account": "alice", "code": next}));
    assert_eq!(again.status, 401);
    let methods = server.call("GET", "/methods/alice", None).expect(200);
    assert_eq!(methods["authenticator_apps"][0]["id"], "app");
    assert!(methods["authenticator_apps"][0]["last_used_at"].is_number());
}

/// The example's origin, which the software authenticator reports as a browser would.
const ORIGIN: &str = "http://localhost:3000";

#[test]
fn passkeys_with_and_without_a_username_over_http() {
    use mfa_webauthn::testing::SoftwareAuthenticator;
    use mfa_webauthn::{CreationOptions, RequestOptions};
    use rand::SeedableRng as _;

    let server = Server::start();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut passkey = SoftwareAuthenticator::new(&mut rng);
    passkey.counts_signatures = false; // a synced passkey: its counter stays at 0
    passkey.backup_eligible = true;
    passkey.backup_state = true;

    // Registration: options from the server, the browser's answer back.
    let options = server
        .post(
            "/passkey/register/start",
            json!({"session": "s1", "account": "erin"}),
        )
        .expect(200);
    let options: CreationOptions = serde_json::from_value(options).unwrap();
    assert_eq!(options.rp.id, "localhost");
    let response: Value = serde_json::from_slice(&passkey.register(&options, ORIGIN)).unwrap();
    let finish = json!({"session": "s1", "account": "erin", "response": response});
    let registered = server
        .post("/passkey/register/finish", finish.clone())
        .expect(200);
    assert_eq!(registered["account"], "erin");
    // The ceremony was taken: the same response again finds none.
    let again = server.post("/passkey/register/finish", finish).expect(401);
    assert_eq!(again["error"], "challenge_not_found");

    // Sign-in with a username: the server lists the account's passkeys.
    let options = server
        .post(
            "/passkey/login/start",
            json!({"session": "s2", "account": "erin"}),
        )
        .expect(200);
    let options: RequestOptions = serde_json::from_value(options).unwrap();
    assert_eq!(options.allow_credentials.len(), 1);
    let response: Value = serde_json::from_slice(&passkey.authenticate(&options, ORIGIN)).unwrap();
    let signed_in = server
        .post(
            "/passkey/login/finish",
            json!({"session": "s2", "response": response}),
        )
        .expect(200);
    assert_eq!(signed_in["account"], "erin");
    assert_eq!(signed_in["method"], "webauthn");
    assert_eq!(
        signed_in["evidence"]["properties"]["phishing_resistant"],
        true
    );

    // Username-less: no allow list; the passkey's id names the account.
    let options = server
        .post("/passkey/login/start", json!({"session": "s3"}))
        .expect(200);
    let options: RequestOptions = serde_json::from_value(options).unwrap();
    assert!(options.allow_credentials.is_empty());
    let response: Value = serde_json::from_slice(&passkey.authenticate(&options, ORIGIN)).unwrap();
    let login = json!({"session": "s3", "response": response});
    let signed_in = server
        .post("/passkey/login/finish", login.clone())
        .expect(200);
    assert_eq!(signed_in["account"], "erin");
    // Replayed: its counter (0, like every synced passkey) could not tell; the ceremony can.
    let replay = server.post("/passkey/login/finish", login).expect(401);
    assert_eq!(replay["error"], "challenge_not_found");

    // Not JSON of a response at all: refused before any ceremony is touched.
    let junk = server.post(
        "/passkey/login/finish",
        json!({"session": "s4", "response": {"id": 1}}),
    );
    assert_eq!(junk.status, 422);

    let methods = server.call("GET", "/methods/erin", None).expect(200);
    let passkeys = methods["passkeys"].as_array().unwrap();
    assert_eq!(passkeys.len(), 1);
    assert_eq!(passkeys[0]["synced"], true);
    assert!(passkeys[0]["last_used_at"].is_number());
}
