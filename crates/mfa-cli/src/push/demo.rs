//! `mfa push demo`: the service and the phone in one process, on a manual clock, narrated.
//!
//! Everything goes through mfa-push as a service and a phone app would use it, over an
//! in-memory store; only the clock is moved by hand (the fatigue attack spans two minutes).
//! Without `--interactive` it reads nothing, so it runs in a test with no terminal; each step
//! checks that the library answered as the narration says, and the demo exits 1 if not.

use std::io::{self, BufRead as _, Read as _};
use std::time::Duration;

use mfa_core::{
    AttemptError, Clock as _, ManualClock, MemoryStore, Rejection as _, UnixTime, Verified,
};
use mfa_push::{
    Answer, ChallengeContext, ChallengeRequest, DeviceKey, EventLog, IgnoreEvents, Platform,
    PushApproval, PushError, PushEvent, PushEventSink, PushOutcome, PushPolicy, StartedChallenge,
};

use super::{DemoArgs, at};
use crate::outcome::{Failure, print_line};

const ACCOUNT: &str = "alice@example.com";
const DEVICE_NAME: &str = "Alice's phone";
/// How long the attacker keeps trying, one sign-in attempt a second.
const ATTACK: Duration = Duration::from_secs(120);

/// The demo's world: one service (store, policy, clock) and one phone.
struct Demo {
    store: MemoryStore,
    clock: ManualClock,
    policy: PushPolicy,
    interactive: bool,
    transactions: u32,
}

/// Runs the demo.
pub(super) fn run(args: &DemoArgs) -> Result<(), Failure> {
    let clock = ManualClock::new(at(args.time));
    let mut demo = Demo {
        store: MemoryStore::with_clock(clock.clone()),
        clock,
        policy: PushPolicy::new("Example"),
        interactive: args.interactive,
        transactions: 0,
    };
    say("mfa push demo: a service and Alice's phone in one process, on a manual clock.")?;
    let phone = demo.enroll()?;
    demo.sign_in(&phone)?;
    demo.fatigue_attack(&phone)?;
    demo.wrong_number(&phone)?;
    say("")?;
    say("Done: every answer was checked against the number, the device key and the clock.")
}

fn say(line: &str) -> Result<(), Failure> {
    print_line(line)
}

fn heading(title: &str) -> Result<(), Failure> {
    say("")?;
    say(&format!("== {title} =="))
}

/// The demo went off its script: a bug in mfa-push or in the demo.
fn unexpected(what: &str) -> Failure {
    Failure::Rejected(format!("the demo did not go as expected: {what}"))
}

/// `message (reason)` for a refusal.
fn refusal(error: &AttemptError<PushError>) -> String {
    match error {
        AttemptError::Rejected(inner) => format!("{inner} ({})", inner.reason()),
        other => format!("{other} ({})", other.reason()),
    }
}

/// Checks that `result` was refused for `reason`, and narrates it.
fn expect_refused<T>(
    result: Result<T, AttemptError<PushError>>,
    reason: &str,
    narration: &str,
) -> Result<(), Failure> {
    match result {
        Err(error) if error.reason() == reason => {
            say(&format!("{narration}: refused, {}", refusal(&error)))
        }
        Err(error) => Err(unexpected(&format!(
            "{narration}: expected {reason}, got {}",
            refusal(&error)
        ))),
        Ok(_) => Err(unexpected(&format!(
            "{narration}: expected {reason}, got a success"
        ))),
    }
}

impl Demo {
    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// `+N s` since `since`.
    fn elapsed(&self, since: UnixTime) -> String {
        format!("+{} s", self.now().saturating_since(since).as_secs())
    }

    fn enroll(&mut self) -> Result<DeviceKey, Failure> {
        heading("1. Enrollment")?;
        let offer = mfa_push::begin_enrollment(
            &self.store,
            &self.policy,
            ACCOUNT,
            self.now(),
            &mut rand::rng(),
        )
        .map_err(|e| unexpected(&refusal(&e)))?;
        say(&format!(
            "The service, with {ACCOUNT} signed in, shows a QR code of a one-time enrollment URI \
             (valid {} minutes):",
            self.policy.enrollment_lifetime.as_secs() / 60
        ))?;
        say(&format!("  {}", offer.uri.to_uri().as_str()))?;
        let phone = DeviceKey::generate(&mut rand::rng());
        say(&format!(
            "The phone scans it and creates a P-256 key pair; its device id is the key's \
             thumbprint, {}.",
            phone.device_id()
        ))?;
        let message = phone
            .registration_message(&offer.uri, DEVICE_NAME, Platform::Ios, None, self.now())
            .map_err(|e| unexpected(&e.to_string()))?;
        say(&format!(
            "It sends back the token, its public key, a name and its platform, signed with the \
             new key to prove it holds it ({} bytes, a compact JWS).",
            message.len()
        ))?;
        let device = mfa_push::register_device(&self.store, &self.policy, &message, self.now())
            .map_err(|e| unexpected(&refusal(&e)))?;
        say(&format!(
            "The service registers \"{}\" ({}) for {}.",
            device.name,
            device.platform.as_str(),
            device.account
        ))?;
        expect_refused(
            mfa_push::register_device(&self.store, &self.policy, &message, self.now()),
            "enrollment_not_found",
            "The same registration sent again (the token is single use)",
        )?;
        Ok(phone)
    }

    /// Starts a challenge for a sign-in from `context`.
    fn start(
        &mut self,
        context: &ChallengeContext,
        events: &EventLog,
    ) -> Result<StartedChallenge, AttemptError<PushError>> {
        self.transactions = self.transactions.saturating_add(1);
        let request = ChallengeRequest::new(ACCOUNT, format!("sign-in-{}", self.transactions))
            .with_context(context.clone());
        mfa_push::start_challenge(
            &self.store,
            &self.policy,
            &request,
            self.now(),
            &mut rand::rng(),
            events,
        )
    }

    /// The service checks a signed answer now.
    fn verify(
        &self,
        response: &str,
        events: &dyn PushEventSink,
    ) -> Result<Verified<PushApproval>, AttemptError<PushError>> {
        mfa_push::verify_response(&self.store, &self.policy, response, self.now(), events)
    }

    /// The phone's signed answer to `challenge`.
    fn respond(
        &self,
        phone: &DeviceKey,
        challenge: &StartedChallenge,
        answer: &Answer,
    ) -> Result<String, Failure> {
        phone
            .respond(&challenge.id, answer, self.now())
            .map_err(|e| unexpected(&e.to_string()))
    }

    /// A refusal of the number typed: part of the story in interactive mode (a typo), off the
    /// script otherwise (the phone typed the number shown).
    fn refused_as_typed(&self, what: &str, error: &AttemptError<PushError>) -> Result<(), Failure> {
        if self.interactive {
            say(&format!("{what}: refused, {}", refusal(error)))
        } else {
            Err(unexpected(&refusal(error)))
        }
    }

    fn sign_in(&mut self, phone: &DeviceKey) -> Result<(), Failure> {
        heading("2. A sign-in with number matching")?;
        let context = ChallengeContext {
            application: Some("Example Mail".into()),
            ip_address: Some("203.0.113.7".into()),
            location: Some("Lyon, France".into()),
            browser: Some("Firefox on Linux".into()),
        };
        say(&format!(
            "{ACCOUNT} types her password at Example Mail; the policy asks for push."
        ))?;
        let challenge = self
            .start(&context, &EventLog::new())
            .map_err(|e| unexpected(&refusal(&e)))?;
        say(&format!(
            "The sign-in page shows the number {} (six digits: NIST SP 800-63B-4's rule).",
            challenge.number.expose_digits()
        ))?;
        let payload = challenge
            .pushes
            .first()
            .map(|push| push.payload.to_json())
            .ok_or_else(|| unexpected("no push for the registered phone"))?;
        say(&format!(
            "The push through APNs carries ids only, never the number: {payload}"
        ))?;
        let request = phone
            .request_context(&challenge.id, self.now())
            .map_err(|e| unexpected(&e.to_string()))?;
        let view = mfa_push::challenge_context(&self.store, &self.policy, &request, self.now())
            .map_err(|e| unexpected(&refusal(&e)))?;
        say(&format!(
            "The phone fetches the sign-in's details with a signed request and shows: {} from {}, \
             near {}, {}.",
            view.context.application.as_deref().unwrap_or("?"),
            view.context.ip_address.as_deref().unwrap_or("?"),
            view.context.location.as_deref().unwrap_or("?"),
            view.context.browser.as_deref().unwrap_or("?"),
        ))?;
        let typed = if self.interactive {
            type_number(view.digits)?
        } else {
            challenge.number.expose_digits().to_owned()
        };
        say(&format!(
            "Alice types {typed} on the phone and taps approve."
        ))?;
        let answer = Answer::approve(&typed).map_err(|e| Failure::Usage(e.to_string()))?;
        self.clock.advance(Duration::from_secs(4));
        let response = self.respond(phone, &challenge, &answer)?;
        match self.verify(&response, &IgnoreEvents) {
            Ok(approved) => say(&format!(
                "The service checks the signed answer (device key, challenge, expiry, number in \
                 constant time): approved by \"{}\".",
                approved.credential().device_name
            ))?,
            Err(error) => self.refused_as_typed("The service checks the signed answer", &error)?,
        }
        match mfa_push::take_outcome(
            &self.store,
            ACCOUNT,
            &challenge.id,
            &format!("sign-in-{}", self.transactions),
            self.now(),
        ) {
            Ok(PushOutcome::Approved(verified)) => say(&format!(
                "The sign-in page, polling, takes the outcome: signed in with push evidence \
                 (device-bound: {}, meets rev 4's number rule: {}).",
                verified.evidence().properties.device_bound,
                verified.evidence().properties.number_match_meets_rev4
            ))?,
            Ok(PushOutcome::Pending) => return Err(unexpected("the outcome is still pending")),
            Err(error) => self.refused_as_typed("The sign-in page takes the outcome", &error)?,
        }

        heading("3. A replayed answer")?;
        self.clock.advance(Duration::from_secs(2));
        expect_refused(
            self.verify(&response, &IgnoreEvents),
            "challenge_not_found",
            "The same signed answer, captured and sent again",
        )
    }

    fn fatigue_attack(&mut self, phone: &DeviceKey) -> Result<(), Failure> {
        heading("4. A fatigue attack")?;
        self.clock.advance(Duration::from_secs(600));
        let attack_started = self.now();
        say(&format!(
            "Ten minutes later, someone with Alice's password starts a sign-in every second for \
             {} s, hoping she taps approve to make it stop.",
            ATTACK.as_secs()
        ))?;
        let attacker = ChallengeContext {
            application: Some("Example Mail".into()),
            ip_address: Some("198.51.100.23".into()),
            location: Some("somewhere Alice has never been".into()),
            browser: Some("Chrome on Windows".into()),
        };
        let mut delivered: Vec<StartedChallenge> = Vec::new();
        let mut refused = 0_u32;
        let mut attempts = 0_u32;
        while self.now().saturating_since(attack_started) < ATTACK {
            attempts = attempts.saturating_add(1);
            match self.start(&attacker, &EventLog::new()) {
                Ok(challenge) => {
                    let count = u32::try_from(delivered.len())
                        .unwrap_or(u32::MAX)
                        .saturating_add(1);
                    let replacing = if count > 1 {
                        ", replacing the one before"
                    } else {
                        ""
                    };
                    say(&format!(
                        "  {:>6}: push {count} reaches the phone{replacing}; the next must wait \
                         {} s",
                        self.elapsed(attack_started),
                        self.policy.push_delay_after(count).as_secs()
                    ))?;
                    delivered.push(challenge);
                }
                Err(AttemptError::Rejected(PushError::PushCapReached { .. })) => {
                    refused = refused.saturating_add(1);
                }
                Err(error) => return Err(unexpected(&refusal(&error))),
            }
            self.clock.advance(Duration::from_secs(1));
        }
        say(&format!(
            "Of {attempts} attempts, {} pushes reached the phone; the back-off refused {refused} \
             with \"too many pushes without an approval; retry after N s\" (push_cap).",
            delivered.len()
        ))?;
        let (Some(first), Some(last)) = (delivered.first(), delivered.last()) else {
            return Err(unexpected("no push was delivered"));
        };
        if delivered.len() < 2 || refused == 0 {
            return Err(unexpected("the back-off did not cut the attack off"));
        }
        let stale = self.respond(phone, first, &Answer::Deny)?;
        expect_refused(
            self.verify(&stale, &IgnoreEvents),
            "superseded",
            "Alice denies the first push she sees",
        )?;
        say(&format!(
            "The phone shows the latest sign-in: {} from {}. Not Alice: she reports fraud.",
            attacker.application.as_deref().unwrap_or("?"),
            attacker.ip_address.as_deref().unwrap_or("?")
        ))?;
        let events = EventLog::new();
        let report = self.respond(phone, last, &Answer::ReportFraud)?;
        expect_refused(
            self.verify(&report, &events),
            "fraud_reported",
            "The service checks the report",
        )?;
        for event in events.take() {
            if let PushEvent::FraudReported(report) = event {
                say(&format!(
                    "The service gets an event to alert on: fraud reported for {} by \"{}\", \
                     sign-in from {}.",
                    report.account,
                    report.device_name,
                    report.context.ip_address.as_deref().unwrap_or("?")
                ))?;
            }
        }
        self.clock.advance(Duration::from_secs(2 * 3600));
        expect_refused(
            self.start(&attacker, &EventLog::new()),
            "fraud_locked",
            "Two hours later the attacker tries again",
        )?;
        mfa_push::unlock(&self.store, ACCOUNT).map_err(|e| unexpected(&e.to_string()))?;
        say("An operator, having reset Alice's password, unlocks push for her account.")
    }

    fn wrong_number(&mut self, phone: &DeviceKey) -> Result<(), Failure> {
        heading("5. A wrong number")?;
        let context = ChallengeContext {
            application: Some("Example Mail".into()),
            ..ChallengeContext::default()
        };
        let challenge = self
            .start(&context, &EventLog::new())
            .map_err(|e| unexpected(&refusal(&e)))?;
        let shown = challenge.number.expose_digits();
        let typo: String = shown
            .chars()
            .enumerate()
            .map(|(i, digit)| match (i, digit.to_digit(10)) {
                (0, Some(d)) => char::from_digit((d + 1) % 10, 10).unwrap_or('0'),
                _ => digit,
            })
            .collect();
        say(&format!(
            "Alice signs in again; the page shows {shown}, she mistypes {typo}."
        ))?;
        let answer = Answer::approve(&typo).map_err(|e| unexpected(&e.to_string()))?;
        let response = self.respond(phone, &challenge, &answer)?;
        expect_refused(
            self.verify(&response, &IgnoreEvents),
            "wrong_number",
            "The service compares the numbers",
        )?;
        say(
            "A wrong number ends the challenge and counts as a failed attempt: guessing is throttled.",
        )
    }
}

/// Reads the number the user types (interactive mode).
fn type_number(digits: u8) -> Result<String, Failure> {
    say(&format!(
        "Type the {digits}-digit number the sign-in page shows, as on the phone's keypad:"
    ))?;
    let mut line = String::new();
    io::stdin()
        .lock()
        .take(64)
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the number from stdin: {e}")))?;
    let typed = line.trim();
    if typed.is_empty() {
        return Err(Failure::Usage("no number was typed".into()));
    }
    Ok(typed.to_owned())
}
