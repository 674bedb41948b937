//! Example: SMS and voice codes end to end, in code. Parses a typed number, enrolls it with an SMS
//! code, signs in with a voice code, and shows what the limits and checks refuse: a VoIP number,
//! a resend too soon, a code typed into another sign-in, a wrong code, a replay.
//!
//! The "phone" is a sender of our own: it prints each message as the phone would show it
//! (through `ConsoleSender`) and remembers it, so the example can type the code back.
//!
//! Run with `cargo run -p mfa-examples --bin oob`.

use std::process::ExitCode;
use std::time::Duration;

use mfa_core::{AttemptError, Clock, ManualClock, MemoryStore, UnixTime};
use mfa_oob::{
    Channel, CodeOutcome, CodeRequest, CodeTarget, ConsoleSender, DeliveryError, InMemorySender,
    Message, Messages, OobError, OobPolicy, PhoneNumber, Sender, send_code, verify_code,
};

/// Prints every message and keeps it: the user's phone, for the example.
struct Phone {
    screen: ConsoleSender<std::io::Stdout>,
    inbox: InMemorySender,
}

impl Sender for Phone {
    fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        self.screen.send(message)?;
        self.inbox.send(message)
    }
}

impl Phone {
    /// The code of the last message, as the user would read it off the screen.
    fn last_code(&self) -> Result<String, String> {
        let message = self.inbox.last().ok_or("no message arrived")?;
        let code = message.code().ok_or("the message has no code")?;
        Ok(code.expose_secret().to_owned())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("oob example failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    // A manual clock, so the example can let time pass; a service passes `SystemClock.now()`.
    let clock = ManualClock::new(UnixTime::from_secs(1_800_000_000));
    let store = MemoryStore::with_clock(clock.clone());
    let messages = Messages::new("Example")
        .and_then(|m| m.with_webotp_host("example.com"))
        .map_err(|e| e.to_string())?;
    let policy = OobPolicy::new(messages);
    let phone = Phone {
        screen: ConsoleSender::stdout(),
        inbox: InMemorySender::new(),
    };
    let mut rng = rand::rng();

    // The number as the user typed it, with the country of their browser as the default region.
    let number = PhoneNumber::parse("(201) 555-0123", Some("US")).map_err(|e| e.to_string())?;
    println!(
        "number: {} ({}), shown as {}",
        number.e164(),
        number.kind(),
        number.masked()
    );

    // A VoIP number is refused before anything is sent or counted.
    let voip = PhoneNumber::parse("+44 56 1234 5678", None).map_err(|e| e.to_string())?;
    let enroll = CodeRequest {
        account: "alice",
        transaction: "enroll-1",
        channel: Channel::Sms,
        language: "en",
    };
    let refused = send_code(
        &store,
        &phone,
        &policy,
        &enroll,
        CodeTarget::NewPhone {
            id: "voip",
            number: &voip,
        },
        clock.now(),
        &mut rng,
    );
    match refused {
        Err(AttemptError::Rejected(error @ OobError::NumberRefused { .. })) => {
            println!("VoIP number refused: {error}");
        }
        other => return Err(format!("a VoIP number must be refused, got {other:?}")),
    }

    // 1. Enroll: an SMS code to the new number; its answer enrolls the phone.
    let target = CodeTarget::NewPhone {
        id: "mobile",
        number: &number,
    };
    let sent = send_code(
        &store,
        &phone,
        &policy,
        &enroll,
        target,
        clock.now(),
        &mut rng,
    )
    .map_err(|e| format!("send: {e}"))?;
    println!("sent to {}, valid until {}", sent.to(), sent.expires_at());
    clock.advance(Duration::from_secs(15));
    let code = phone.last_code()?;
    let enrolled = verify_code(&store, &policy, "alice", "enroll-1", &code, clock.now())
        .map_err(|e| format!("verify: {e}"))?;
    if let CodeOutcome::Enrolled(phone) = enrolled.credential() {
        println!("enrolled {} as {:?}", phone.number(), phone.id());
    }

    // 2. Sign in, by voice this time.
    clock.advance(Duration::from_secs(3600));
    let sign_in = CodeRequest {
        account: "alice",
        transaction: "sign-in-42",
        channel: Channel::Voice,
        language: "en",
    };
    // A sign-in code to the enrolled phone, as `request` says.
    let mut sign_in_code = |request: &CodeRequest<'_>| {
        let now = clock.now();
        send_code(
            &store,
            &phone,
            &policy,
            request,
            CodeTarget::Phone("mobile"),
            now,
            &mut rng,
        )
    };
    sign_in_code(&sign_in).map_err(|e| format!("send: {e}"))?;
    // "Call me again" at once: the growing gap says wait.
    let again = sign_in_code(&sign_in);
    match again {
        Err(AttemptError::Rejected(error)) if error.retry_after().is_some() => {
            println!("resend refused: {error} (HTTP {})", error.http_status());
        }
        other => return Err(format!("a resend this soon must be refused, got {other:?}")),
    }
    let code = phone.last_code()?;
    let verified = verify_code(&store, &policy, "alice", "sign-in-42", &code, clock.now())
        .map_err(|e| format!("verify: {e}"))?;
    let evidence = verified.evidence();
    println!(
        "signed in: method {}, restricted {} (a policy may ask for more)",
        evidence.method, evidence.properties.restricted
    );
    let replay = verify_code(&store, &policy, "alice", "sign-in-42", &code, clock.now());
    println!("the same code again: {}", outcome(&replay));

    // 3. A code typed into another sign-in, and a wrong code: each uses the code up.
    clock.advance(Duration::from_secs(3600));
    let sign_in = CodeRequest {
        channel: Channel::Sms,
        ..sign_in
    };
    for (transaction, wrong) in [("sign-in-666", false), ("sign-in-42", true)] {
        clock.advance(Duration::from_secs(600));
        sign_in_code(&sign_in).map_err(|e| format!("send: {e}"))?;
        let mut code = phone.last_code()?;
        if wrong {
            code = code.chars().rev().collect::<String>() + "0";
        }
        let result = verify_code(&store, &policy, "alice", transaction, &code, clock.now());
        println!("typed into {transaction}: {}", outcome(&result));
    }
    Ok(())
}

/// A verification result in one line.
fn outcome<T>(result: &Result<T, AttemptError<OobError>>) -> String {
    match result {
        Ok(_) => "accepted".to_owned(),
        Err(error) => format!("refused ({})", error.reason()),
    }
}
