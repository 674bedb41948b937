//! `mfa push`: the whole protocol through the binary, both halves, with a manual clock
//! (`--time`), and every refusal with its exit status and reason.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::{fs, thread};

use serde_json::Value;

/// The scenario's "now" (Unix seconds): every command gets an explicit `--time`.
const T0: u64 = 1_900_000_000;

fn mfa_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mfa binary runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // A command may refuse before reading all of it (oversized input): a closed pipe is fine.
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().expect("mfa finishes")
}

fn mfa(args: &[&str]) -> Output {
    mfa_with_stdin(args, b"")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("stdout is JSON")
}

/// Asserts a refusal: exit `code`, `(reason)` on stderr, nothing on stdout.
fn assert_refused(out: &Output, code: i32, reason: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected {reason}; stdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains(&format!("({reason})")),
        "expected ({reason}) on stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    stderr
}

fn time(t: u64) -> String {
    t.to_string()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mfa-cli-push-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }

    fn file(&self, name: &str) -> String {
        path(&self.0.join(name)).to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// A service store and the scenario's helpers over it.
struct Service {
    dir: TempDir,
    store: String,
}

/// A phone: its key file and, once registered, its device id.
struct Phone {
    key_file: String,
    device_id: String,
}

impl Service {
    fn new(name: &str) -> Self {
        let dir = TempDir::new(name);
        let store = dir.file("push.json");
        Self { dir, store }
    }

    fn sqlite(name: &str) -> Self {
        let dir = TempDir::new(name);
        let store = format!("sqlite:{}", dir.file("push.db"));
        Self { dir, store }
    }

    /// Runs a service command on the store at `t`.
    fn run(&self, command: &str, t: u64, extra: &[&str], stdin: &[u8]) -> Output {
        let t = time(t);
        let mut args = vec!["push", command, "--store", &self.store, "--time", &t];
        args.extend_from_slice(extra);
        mfa_with_stdin(&args, stdin)
    }

    fn enroll(&self, account: &str, t: u64) -> String {
        ok(&self.run("enroll", t, &["--account", account], b""))
    }

    /// Creates a key file `name` from `uri` at `t`; returns the registration message.
    fn init_phone(&self, name: &str, uri: &str, t: u64) -> (Phone, String) {
        let key_file = self.dir.file(name);
        let t = time(t);
        let message = ok(&mfa(&[
            "push",
            "device",
            "init",
            "--enrollment",
            uri,
            "--key-file",
            &key_file,
            "--name",
            name,
            "--platform",
            "ios",
            "--time",
            &t,
        ]));
        let phone = Phone {
            key_file,
            device_id: String::new(),
        };
        (phone, message)
    }

    /// Enrolls and registers a phone for `account` at `t`.
    fn phone(&self, account: &str, name: &str, t: u64) -> Phone {
        let uri = self.enroll(account, t);
        let (mut phone, message) = self.init_phone(name, &uri, t);
        let device = json(&self.run("register", t, &[], message.as_bytes()));
        phone.device_id = device["device_id"]
            .as_str()
            .expect("a device id")
            .to_owned();
        phone
    }

    /// A service with Alice's phone registered at `T0`.
    fn with_phone(name: &str) -> (Self, Phone) {
        let service = Self::new(name);
        let phone = service.phone("alice", "phone", T0);
        (service, phone)
    }

    /// Asserts `verify` refuses `response` at `t` (exit 1) for `reason`; returns stderr.
    fn refuses(&self, response: &str, t: u64, reason: &str) -> String {
        assert_refused(&self.verify(response, t, &[]), 1, reason)
    }

    /// Poll mode: the phone's signed request at `t`, answered by the service.
    fn pending(&self, key_file: &str, t: u64) -> Value {
        let request = ok(&mfa(&[
            "push",
            "device",
            "poll",
            "--key-file",
            key_file,
            "--time",
            &time(t),
        ]));
        json(&self.run("pending", t, &[], request.as_bytes()))
    }

    fn remove(&self, account: &str, device_id: &str) -> Output {
        mfa(&[
            "push",
            "remove",
            "--store",
            &self.store,
            "--account",
            account,
            "--device",
            device_id,
        ])
    }

    fn devices(&self, account: &str) -> Value {
        json(&mfa(&[
            "push",
            "devices",
            "--store",
            &self.store,
            "--account",
            account,
        ]))
    }

    fn challenge(&self, account: &str, t: u64, extra: &[&str]) -> Output {
        let mut args = vec!["--account", account];
        args.extend_from_slice(extra);
        self.run("challenge", t, &args, b"")
    }

    fn started(&self, account: &str, t: u64, extra: &[&str]) -> Value {
        json(&self.challenge(account, t, extra))
    }

    fn verify(&self, response: &str, t: u64, extra: &[&str]) -> Output {
        self.run("verify", t, extra, response.as_bytes())
    }

    fn outcome(&self, challenge: &Value, t: u64) -> Output {
        self.run(
            "outcome",
            t,
            &[
                "--account",
                challenge["account"].as_str().expect("an account"),
                "--challenge",
                challenge["challenge"].as_str().expect("a challenge id"),
                "--transaction",
                challenge["transaction"].as_str().expect("a transaction"),
            ],
            b"",
        )
    }
}

fn payload(challenge: &Value) -> String {
    challenge["pushes"][0]["payload"].to_string()
}

fn number(challenge: &Value) -> String {
    challenge["number"].as_str().expect("a number").to_owned()
}

/// The phone's `device respond` with `answer` flags at `t`, on `payload`.
fn respond_to(phone: &Phone, payload: &str, answer: &[&str], t: u64) -> Output {
    let t = time(t);
    let mut args = vec![
        "push",
        "device",
        "respond",
        "--key-file",
        &phone.key_file,
        "--time",
        &t,
    ];
    args.extend_from_slice(answer);
    mfa_with_stdin(&args, payload.as_bytes())
}

fn respond(phone: &Phone, challenge: &Value, answer: &[&str], t: u64) -> String {
    ok(&respond_to(phone, &payload(challenge), answer, t))
}

fn approve(phone: &Phone, challenge: &Value, t: u64) -> String {
    respond(phone, challenge, &["--approve", &number(challenge)], t)
}

/// `number` with its first digit changed.
fn wrong(number: &str) -> String {
    let mut digits: Vec<u32> = number
        .chars()
        .map(|c| c.to_digit(10).expect("digits"))
        .collect();
    digits[0] = (digits[0] + 1) % 10;
    digits.iter().map(u32::to_string).collect()
}

#[cfg(unix)]
fn mode_of(file: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(file)
        .expect("the file exists")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_whole_round_trip() {
    let service = Service::new("round-trip");
    let svg = service.dir.file("qr.svg");
    let uri = ok(&service.run(
        "enroll",
        T0,
        &[
            "--account",
            "alice@example.com",
            "--issuer",
            "Example",
            "--url",
            "https://example.com/push/register",
            "--svg",
            &svg,
        ],
        b"",
    ));
    assert!(uri.starts_with("mfa-push://enroll?"), "{uri}");
    assert!(uri.contains("issuer=Example") && uri.contains("account=alice%40example.com"));
    assert!(uri.contains("token="), "{uri}");
    let drawing = fs::read_to_string(&svg).unwrap();
    assert!(drawing.starts_with("<?xml") && drawing.contains("<svg"));
    #[cfg(unix)]
    assert_eq!(mode_of(&svg), 0o600, "the QR code carries the token");

    // The phone's half: the key file, then the registration message on stdin of the service.
    let key_file = service.dir.file("phone.json");
    let message = ok(&mfa_with_stdin(
        &[
            "push",
            "device",
            "init",
            "--enrollment",
            "-",
            "--key-file",
            &key_file,
            "--name",
            "Alice's phone",
            "--platform",
            "android",
            "--time",
            &time(T0 + 5),
        ],
        uri.as_bytes(),
    ));
    assert_eq!(message.split('.').count(), 3, "a compact JWS: {message}");
    #[cfg(unix)]
    assert_eq!(
        mode_of(&key_file),
        0o600,
        "the key file holds the private key"
    );
    let key: Value = serde_json::from_str(&fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(key["format"], "mfa-push-device/1");
    assert_eq!(key["issuer"], "Example");
    assert_eq!(key["account"], "alice@example.com");
    assert_eq!(key["registration_url"], "https://example.com/push/register");
    assert_eq!(key["platform"], "android");
    assert!(key["private_key"].as_str().unwrap().len() > 100);

    let device = json(&service.run("register", T0 + 6, &[], message.as_bytes()));
    assert_eq!(device["account"], "alice@example.com");
    assert_eq!(device["name"], "Alice's phone");
    assert_eq!(device["platform"], "android");
    assert_eq!(device["device_id"], key["device_id"]);
    assert_eq!(device["created_at"], T0 + 6);
    let listed = service.devices("alice@example.com");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["device_id"], device["device_id"]);

    // A sign-in.
    let challenge = service.started(
        "alice@example.com",
        T0 + 100,
        &[
            "--transaction",
            "signin-42",
            "--app",
            "Example Mail",
            "--ip",
            "203.0.113.7",
            "--location",
            "Lyon, France",
            "--browser",
            "Firefox on Linux",
        ],
    );
    let shown = number(&challenge);
    assert_eq!(shown.len(), 6);
    assert!(shown.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(challenge["mode"], "typed6");
    assert_eq!(challenge["meets_rev4"], true);
    assert_eq!(challenge["transaction"], "signin-42");
    assert_eq!(challenge["expires_at"], T0 + 160);
    assert_eq!(challenge["pushes"].as_array().unwrap().len(), 1);
    let payload = payload(&challenge);
    assert!(
        !payload.contains(&shown),
        "the push never carries the number"
    );
    assert!(!payload.contains("alice"), "nor user data: {payload}");

    // The phone fetches the context with a signed request.
    let request = ok(&mfa_with_stdin(
        &[
            "push",
            "device",
            "context",
            "--key-file",
            &key_file,
            "--time",
            &time(T0 + 101),
        ],
        payload.as_bytes(),
    ));
    let view = json(&service.run("context", T0 + 101, &[], request.as_bytes()));
    assert_eq!(view["challenge"], challenge["challenge"]);
    assert_eq!(view["context"]["application"], "Example Mail");
    assert_eq!(view["context"]["ip_address"], "203.0.113.7");
    assert_eq!(view["context"]["location"], "Lyon, France");
    assert_eq!(view["digits"], 6);
    assert!(!view.to_string().contains(&shown), "{view}");

    // Poll mode finds the same challenge.
    let pending = service.pending(&key_file, T0 + 102);
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["challenge"], challenge["challenge"]);
    assert!(!pending.to_string().contains(&shown));

    // The sign-in page asks before the phone answered: pending (exit 1, not granted).
    assert_refused(&service.outcome(&challenge, T0 + 103), 1, "pending");

    let phone = Phone {
        key_file: key_file.clone(),
        device_id: device["device_id"].as_str().unwrap().to_owned(),
    };
    let response = approve(&phone, &challenge, T0 + 110);
    let approved = json(&service.verify(&response, T0 + 111, &[]));
    assert_eq!(approved["approved"], true);
    assert_eq!(approved["account"], "alice@example.com");
    assert_eq!(approved["device_name"], "Alice's phone");
    assert_eq!(approved["challenge"], challenge["challenge"]);
    assert_eq!(approved["meets_rev4"], true);
    assert_eq!(approved["approved_at"], T0 + 111);

    // The sign-in page takes the outcome with its transaction: this grants the sign-in, once.
    let granted = json(&service.outcome(&challenge, T0 + 112));
    assert_eq!(granted["approved"], true);
    assert_eq!(granted["evidence"]["device_bound"], true);
    assert_eq!(granted["evidence"]["number_match_meets_rev4"], true);
    assert_refused(
        &service.outcome(&challenge, T0 + 113),
        1,
        "challenge_not_found",
    );

    // Nothing pending any more; the device was used.
    let pending = service.pending(&key_file, T0 + 114);
    assert_eq!(pending, Value::Array(Vec::new()));
    let listed = service.devices("alice@example.com");
    assert_eq!(listed[0]["last_used_at"], T0 + 111);
}

#[test]
fn the_outcome_needs_the_sign_ins_own_transaction() {
    let (service, phone) = Service::with_phone("transaction");
    let challenge = service.started("alice", T0 + 1, &[]);
    let transaction = challenge["transaction"].as_str().unwrap();
    assert!(
        transaction.len() >= 22,
        "a fresh random transaction: {transaction}"
    );
    ok(&service.verify(&approve(&phone, &challenge, T0 + 2), T0 + 2, &[]));
    let out = service.run(
        "outcome",
        T0 + 3,
        &[
            "--account",
            "alice",
            "--challenge",
            challenge["challenge"].as_str().expect("a challenge id"),
            "--transaction",
            "another-sign-in",
        ],
        b"",
    );
    assert_refused(&out, 1, "transaction_mismatch");
}

#[test]
fn a_replayed_response_is_refused() {
    let (service, phone) = Service::with_phone("replay");
    let challenge = service.started("alice", T0 + 1, &[]);
    let response = approve(&phone, &challenge, T0 + 2);
    ok(&service.verify(&response, T0 + 2, &[]));
    service.refuses(&response, T0 + 3, "challenge_not_found");
}

#[test]
fn many_concurrent_answers_to_one_challenge_one_wins() {
    let (service, phone) = Service::with_phone("concurrent");
    let challenge = service.started("alice", T0 + 1, &[]);
    let response = Arc::new(approve(&phone, &challenge, T0 + 2));
    let store = Arc::new(service.store.clone());
    let racers = 8;
    let barrier = Arc::new(Barrier::new(racers));
    let handles: Vec<_> = (0..racers)
        .map(|_| {
            let (barrier, response, store) = (barrier.clone(), response.clone(), store.clone());
            thread::spawn(move || {
                barrier.wait();
                let t = time(T0 + 2);
                mfa_with_stdin(
                    &["push", "verify", "--store", &store, "--time", &t],
                    response.as_bytes(),
                )
            })
        })
        .collect();
    let outputs: Vec<Output> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = outputs
        .iter()
        .filter(|out| out.status.code() == Some(0))
        .count();
    assert_eq!(winners, 1, "exactly one answer is accepted");
    for out in outputs.iter().filter(|out| out.status.code() != Some(0)) {
        assert_refused(out, 1, "challenge_not_found");
    }
}

#[test]
fn a_wrong_number_is_refused_and_ends_the_challenge() {
    let (service, phone) = Service::with_phone("wrong-number");
    let challenge = service.started("alice", T0 + 1, &[]);
    let typo = wrong(&number(&challenge));
    let response = respond(&phone, &challenge, &["--approve", &typo], T0 + 2);
    service.refuses(&response, T0 + 2, "wrong_number");
    // The sign-in page learns it, and the right number cannot follow.
    assert_refused(&service.outcome(&challenge, T0 + 3), 1, "wrong_number");
    let right = approve(&phone, &challenge, T0 + 3);
    service.refuses(&right, T0 + 3, "challenge_not_found");
}

#[test]
fn an_expired_challenge_is_refused() {
    let (service, phone) = Service::with_phone("expired");
    let challenge = service.started("alice", T0, &[]);
    // Live for 60 s: still fine at 59, gone at 60.
    let late = approve(&phone, &challenge, T0 + 60);
    service.refuses(&late, T0 + 60, "expired");
    let challenge = service.started("alice", T0 + 100, &["--challenge-lifetime", "10"]);
    let in_time = approve(&phone, &challenge, T0 + 109);
    ok(&service.verify(&in_time, T0 + 109, &[]));
}

#[test]
fn a_superseded_challenge_is_refused() {
    let (service, phone) = Service::with_phone("superseded");
    let first = service.started("alice", T0 + 1, &[]);
    let out = service.challenge("alice", T0 + 2, &[]);
    assert!(
        text(&out.stderr).contains("\"event\":\"superseded\""),
        "{}",
        text(&out.stderr)
    );
    let second = json(&out);
    assert_eq!(second["superseded"], first["challenge"]);
    let stale = approve(&phone, &first, T0 + 3);
    service.refuses(&stale, T0 + 3, "superseded");
    ok(&service.verify(&approve(&phone, &second, T0 + 4), T0 + 4, &[]));
}

#[test]
fn a_denial_is_refused_and_the_denial_cap_locks_push() {
    let (service, phone) = Service::with_phone("deny");
    for n in 0..3 {
        let challenge = service.started("alice", T0 + n, &[]);
        let response = respond(&phone, &challenge, &["--deny"], T0 + n);
        let stderr = service.refuses(&response, T0 + n, "denied");
        assert!(stderr.contains("\"event\":\"denied\""), "{stderr}");
        if n == 2 {
            assert!(
                stderr.contains("\"event\":\"denial_cap_reached\""),
                "{stderr}"
            );
        }
        assert_refused(&service.outcome(&challenge, T0 + n), 1, "denied");
    }
    let stderr = assert_refused(&service.challenge("alice", T0 + 3, &[]), 1, "denial_cap");
    assert!(stderr.contains("retry after 3599 s"), "{stderr}");
    json(&service.challenge("alice", T0 + 2 + 3600, &[]));
}

#[test]
fn a_fraud_report_locks_push_until_unlocked() {
    let (service, phone) = Service::with_phone("fraud");
    let challenge = service.started("alice", T0 + 1, &["--ip", "198.51.100.23"]);
    let response = respond(&phone, &challenge, &["--fraud"], T0 + 2);
    let stderr = service.refuses(&response, T0 + 2, "fraud_reported");
    assert!(stderr.contains("\"event\":\"fraud_reported\""), "{stderr}");
    assert!(
        stderr.contains("198.51.100.23"),
        "the alert carries the context: {stderr}"
    );
    assert_refused(&service.outcome(&challenge, T0 + 3), 1, "fraud_reported");
    // Locked however long the attacker waits.
    assert_refused(&service.challenge("alice", T0 + 10, &[]), 1, "fraud_locked");
    assert_refused(
        &service.challenge("alice", T0 + 86_400, &[]),
        1,
        "fraud_locked",
    );
    let unlocked = json(&mfa(&[
        "push",
        "unlock",
        "--store",
        &service.store,
        "--account",
        "alice",
    ]));
    assert_eq!(unlocked["unlocked"], true);
    let challenge = service.started("alice", T0 + 86_401, &[]);
    ok(&service.verify(&approve(&phone, &challenge, T0 + 86_402), T0 + 86_402, &[]));
}

#[test]
fn a_response_signed_by_another_key_is_refused() {
    let (service, phone) = Service::with_phone("wrong-key");
    // A second key file that was never registered (its registration message is dropped).
    let uri = service.enroll("alice", T0);
    let (stranger, _) = service.init_phone("stranger", &uri, T0);
    let challenge = service.started("alice", T0 + 1, &[]);
    let stray = respond_to(
        &stranger,
        &payload(&challenge),
        &["--approve", &number(&challenge)],
        T0 + 2,
    );
    assert!(
        text(&stray.stderr).contains("this push is for device"),
        "the CLI notes the payload names another device"
    );
    let stray = ok(&stray);
    service.refuses(&stray, T0 + 2, "unknown_device");
    // The registered phone's header and payload with the stranger's signature.
    let genuine = approve(&phone, &challenge, T0 + 2);
    let (signed, _) = genuine.rsplit_once('.').unwrap();
    let (_, forged_signature) = stray.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{forged_signature}");
    service.refuses(&forged, T0 + 2, "bad_signature");
    // Neither spent the challenge.
    ok(&service.verify(&genuine, T0 + 3, &[]));
}

#[test]
fn an_enrollment_token_registers_one_device_once() {
    let service = Service::new("reuse");
    let uri = service.enroll("alice", T0);
    let (_, message) = service.init_phone("first", &uri, T0);
    ok(&service.run("register", T0 + 1, &[], message.as_bytes()));
    assert_refused(
        &service.run("register", T0 + 2, &[], message.as_bytes()),
        1,
        "enrollment_not_found",
    );
    let (_, other) = service.init_phone("second", &uri, T0 + 3);
    assert_refused(
        &service.run("register", T0 + 3, &[], other.as_bytes()),
        1,
        "enrollment_not_found",
    );
    // An enrollment not used in time expires (10 minutes by default).
    let uri = service.enroll("alice", T0 + 10);
    let (_, late) = service.init_phone("late", &uri, T0 + 610);
    assert_refused(
        &service.run("register", T0 + 610, &[], late.as_bytes()),
        1,
        "enrollment_expired",
    );
}

#[test]
fn wrong_numbers_are_throttled() {
    let (service, phone) = Service::with_phone("throttle");
    // With no free failures, each wrong number makes the account wait (1 s, then 2 s …).
    let policy = ["--free-failures", "0"];
    let first = service.started("alice", T0 + 1, &[]);
    let typo = respond(
        &phone,
        &first,
        &["--approve", &wrong(&number(&first))],
        T0 + 1,
    );
    assert_refused(&service.verify(&typo, T0 + 1, &policy), 1, "wrong_number");
    let second = service.started("alice", T0 + 1, &[]);
    let guess = respond(
        &phone,
        &second,
        &["--approve", &wrong(&number(&second))],
        T0 + 1,
    );
    let stderr = assert_refused(&service.verify(&guess, T0 + 1, &policy), 1, "throttled");
    assert!(stderr.contains("retry after 1 s"), "{stderr}");
    // The throttle refused before taking the challenge: after the wait, the right number works,
    // and an approval clears the count.
    let right = approve(&phone, &second, T0 + 2);
    ok(&service.verify(&right, T0 + 2, &policy));
}

#[test]
fn a_push_storm_is_cut_off_by_the_back_off() {
    let service = Service::new("fatigue");
    service.phone("alice", "phone", T0);
    for _ in 0..3 {
        json(&service.challenge("alice", T0 + 10, &[]));
    }
    let stderr = assert_refused(&service.challenge("alice", T0 + 10, &[]), 1, "push_cap");
    assert!(stderr.contains("retry after 10 s"), "{stderr}");
    assert!(
        stderr.contains("\"event\":\"push_cap_reached\""),
        "{stderr}"
    );
    let stderr = assert_refused(&service.challenge("alice", T0 + 19, &[]), 1, "push_cap");
    assert!(stderr.contains("retry after 1 s"), "{stderr}");
    json(&service.challenge("alice", T0 + 20, &[]));
    // The wait doubles.
    let stderr = assert_refused(&service.challenge("alice", T0 + 20, &[]), 1, "push_cap");
    assert!(stderr.contains("retry after 20 s"), "{stderr}");
    json(&service.challenge("alice", T0 + 40, &[]));
    let stderr = assert_refused(&service.challenge("alice", T0 + 40, &[]), 1, "push_cap");
    assert!(stderr.contains("retry after 40 s"), "{stderr}");
}

#[test]
fn an_approval_resets_the_back_off() {
    let (service, phone) = Service::with_phone("reset");
    for _ in 0..2 {
        json(&service.challenge("alice", T0 + 1, &[]));
    }
    let third = service.started("alice", T0 + 1, &[]);
    assert_refused(&service.challenge("alice", T0 + 2, &[]), 1, "push_cap");
    ok(&service.verify(&approve(&phone, &third, T0 + 2), T0 + 2, &[]));
    json(&service.challenge("alice", T0 + 2, &[]));
}

#[test]
fn vendor_modes_work_and_are_marked_as_not_meeting_rev4() {
    let (service, phone) = Service::with_phone("modes");
    let pick = service.started("alice", T0 + 1, &["--mode", "pick3"]);
    let choices = pick["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&pick["number"]));
    assert_eq!(pick["meets_rev4"], false);
    let approved = json(&service.verify(&approve(&phone, &pick, T0 + 2), T0 + 2, &[]));
    assert_eq!(
        (approved["mode"].as_str(), &approved["meets_rev4"]),
        (Some("pick3"), &Value::Bool(false))
    );
    for (mode, digits) in [("typed2", 2), ("typed3", 3), ("typed8", 8)] {
        let challenge = service.started("alice", T0 + 3, &["--mode", mode]);
        assert_eq!(number(&challenge).len(), digits);
        assert_eq!(challenge["meets_rev4"], digits >= 6);
        let approved = json(&service.verify(&approve(&phone, &challenge, T0 + 3), T0 + 3, &[]));
        assert_eq!(approved["meets_rev4"], digits >= 6, "{mode}");
    }
    let out = service.challenge("alice", T0 + 4, &["--mode", "typed4"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn challenges_for_an_account_without_a_phone_are_refused() {
    let (service, phone) = Service::with_phone("not-enrolled");
    assert_refused(&service.challenge("bob", T0, &[]), 1, "not_enrolled");
    let removed = json(&service.remove("alice", &phone.device_id));
    assert_eq!(removed["device_id"], phone.device_id.as_str());
    assert_refused(&service.challenge("alice", T0 + 1, &[]), 1, "not_enrolled");
    let again = service.remove("alice", &phone.device_id);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn malformed_input_on_stdin_exits_2() {
    let (service, phone) = Service::with_phone("malformed");
    let challenge = service.started("alice", T0 + 1, &[]);
    let response = approve(&phone, &challenge, T0 + 2);
    let registration = {
        let uri = service.enroll("alice", T0);
        service.init_phone("other", &uri, T0).1
    };
    for (command, input) in [
        ("verify", &b"not a response"[..]),
        ("verify", &b""[..]),
        ("verify", &b"a.b.c"[..]),
        ("verify", &b"\xff\xfe"[..]),
        ("verify", registration.as_bytes()),
        ("register", &b"{}"[..]),
        ("register", response.as_bytes()),
        ("pending", &b"x.y.z"[..]),
        ("context", response.as_bytes()),
    ] {
        let out = service.run(command, T0 + 2, &[], input);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command} {input:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stderr).lines().count(),
            1,
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
    for bad_payload in [
        "",
        "{}",
        "not json",
        r#"{"v":2,"challenge":"x","handle":"y"}"#,
    ] {
        let out = respond_to(&phone, bad_payload, &["--deny"], T0 + 2);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad_payload}: {}",
            text(&out.stderr)
        );
    }
    let out = respond_to(
        &phone,
        &payload(&challenge),
        &["--approve", "12a456"],
        T0 + 2,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = respond_to(
        &phone,
        &payload(&challenge),
        &["--approve", "1", "--deny"],
        T0 + 2,
    );
    assert_eq!(out.status.code(), Some(2), "one answer only");
    // None of it spent the challenge.
    ok(&service.verify(&response, T0 + 3, &[]));
}

#[test]
fn oversized_input_on_stdin_exits_2() {
    let (service, phone) = Service::with_phone("oversized");
    let huge = vec![b'a'; 1 << 20];
    for command in ["verify", "register", "pending", "context"] {
        let out = service.run(command, T0, &[], &huge);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("larger than"),
            "{}",
            text(&out.stderr)
        );
    }
    let just_over = vec![b'a'; 4096 + 65];
    let out = service.run("verify", T0, &[], &just_over);
    assert_eq!(out.status.code(), Some(2));
    let out = respond_to(&phone, &"x".repeat(1 << 16), &["--deny"], T0);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("larger than"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_key_file_is_never_overwritten_and_a_broken_one_is_refused() {
    let service = Service::new("key-file");
    let uri = service.enroll("alice", T0);
    let (phone, _) = service.init_phone("phone", &uri, T0);
    let before = fs::read(&phone.key_file).unwrap();
    let uri = service.enroll("alice", T0);
    let out = mfa(&[
        "push",
        "device",
        "init",
        "--enrollment",
        &uri,
        "--key-file",
        &phone.key_file,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("never overwritten"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&phone.key_file).unwrap(), before);

    // A key file whose device id does not match its key (edited by hand) is refused.
    let mut edited: Value = serde_json::from_slice(&before).unwrap();
    edited["device_id"] = Value::from("EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg");
    let edited_file = service.dir.file("edited.json");
    fs::write(&edited_file, edited.to_string()).unwrap();
    let out = mfa(&["push", "device", "poll", "--key-file", &edited_file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("thumbprint"),
        "{}",
        text(&out.stderr)
    );
    // A bad enrollment URI creates nothing.
    let nothing = service.dir.file("nothing.json");
    let out = mfa(&[
        "push",
        "device",
        "init",
        "--enrollment",
        "otpauth://totp/x?secret=AAAA",
        "--key-file",
        &nothing,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!Path::new(&nothing).exists());
}

#[test]
fn a_message_far_from_the_service_clock_is_refused() {
    let (service, phone) = Service::with_phone("skew");
    let challenge = service.started("alice", T0 + 1, &[]);
    // Signed ten minutes in the future (a phone with a wrong clock, or a pre-computed answer).
    let response = approve(&phone, &challenge, T0 + 601);
    service.refuses(&response, T0 + 2, "clock_skew");
    ok(&service.verify(&approve(&phone, &challenge, T0 + 3), T0 + 3, &[]));
}

#[test]
fn the_protocol_works_on_sqlite_and_the_outcome_is_logged() {
    let service = Service::sqlite("sqlite");
    let phone = service.phone("alice", "phone", T0);
    let challenge = service.started("alice", T0 + 1, &[]);
    ok(&service.verify(&approve(&phone, &challenge, T0 + 2), T0 + 2, &[]));
    ok(&service.outcome(&challenge, T0 + 3));
    let denied = service.started("alice", T0 + 4, &[]);
    let response = respond(&phone, &denied, &["--deny"], T0 + 5);
    service.refuses(&response, T0 + 5, "denied");
    assert_refused(&service.outcome(&denied, T0 + 6), 1, "denied");
    let log = json(&mfa(&[
        "audit",
        "recent",
        "--store",
        &service.store,
        "--account",
        "alice",
        "--json",
    ]));
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{log}");
    let results: Vec<&str> = events
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["denied", "success"], "newest first: {log}");
    assert_eq!(events[1]["credential_id"], phone.device_id.as_str());
    assert_eq!(events[1]["method"], "push");
}

#[test]
fn the_demo_runs_to_completion_without_a_terminal() {
    let out = mfa_with_stdin(&["push", "demo", "--time", &time(T0)], b"");
    let stdout = ok(&out);
    for step in [
        "== 1. Enrollment ==",
        "(enrollment_not_found)",
        "approved by \"Alice's phone\"",
        "signed in with push evidence",
        "(challenge_not_found)",
        "== 4. A fatigue attack ==",
        "(push_cap)",
        "(superseded)",
        "(fraud_reported)",
        "(fraud_locked)",
        "(wrong_number)",
        "Done",
    ] {
        assert!(stdout.contains(step), "the demo lacks {step:?}:\n{stdout}");
    }
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn the_interactive_demo_reads_the_number_typed() {
    // A wrong number typed: the sign-in is refused, the demo goes on.
    let out = mfa_with_stdin(
        &["push", "demo", "--interactive", "--time", &time(T0)],
        b"1\n",
    );
    let stdout = ok(&out);
    assert!(stdout.contains("Type the 6-digit number"), "{stdout}");
    assert!(stdout.contains("Alice types 1 on the phone"), "{stdout}");
    assert!(stdout.contains("refused"), "{stdout}");
    let out = mfa_with_stdin(&["push", "demo", "--interactive"], b"");
    assert_eq!(out.status.code(), Some(2), "no number typed");
}

#[test]
fn ids_that_start_with_a_hyphen_are_values_not_flags() {
    // Base64url ids start with `-` one time in 64.
    let service = Service::new("hyphen");
    service.phone("alice", "phone", T0);
    let out = service.run(
        "outcome",
        T0,
        &[
            "--account",
            "alice",
            "--challenge",
            "-AAAAAAAAAAAAAAAAAAAAA",
            "--transaction",
            "-x",
        ],
        b"",
    );
    assert_refused(&out, 1, "challenge_not_found");
    let out = service.remove("alice", "-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no push device"),
        "{}",
        text(&out.stderr)
    );
}
