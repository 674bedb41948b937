//! Example: a sign-in walked through the policy engine until it is allowed. Alice signs in with
//! her password from outside the office; the policy asks for a second factor; she types a code
//! from her authenticator app, which is checked through the store; the new evidence joins the
//! session and the policy is asked again.
//!
//! Run with `cargo run -p mfa-examples --bin policy`. The policy is
//! `examples/policies/office_network.toml`.

use mfa_core::{Clock as _, Evidence, ManualClock, MemoryStore, Method, ThrottlePolicy, UnixTime};
use mfa_otp::{TotpEnrollmentPolicy, TotpParams};
use mfa_policy::{Decision, Engine, EnrolledMethod, SignInContext};

const POLICIES: &str = include_str!("../../policies/office_network.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::from_toml(POLICIES)?;
    let clock = ManualClock::new(UnixTime::from_secs(1_800_000_000));
    let mut rng = rand::rng();
    let store = MemoryStore::new();
    let throttle = ThrottlePolicy::default();

    // Earlier: Alice enrolled an authenticator app (confirmed by a first code).
    let pending = mfa_otp::begin_totp_enrollment(
        &store,
        "alice",
        "authenticator-app",
        &TotpEnrollmentPolicy::default(),
        &mut rng,
        clock.now(),
    )?;
    let app = pending.secret().clone();
    let first = TotpParams::default().code_at(&app, clock.now())?;
    let _enrolled = mfa_otp::confirm_totp_enrollment(
        &store,
        "alice",
        "authenticator-app",
        &throttle,
        first.as_str(),
        clock.now(),
    )?;
    clock.advance(core::time::Duration::from_secs(3600));

    // 1. The first factor: her password, from a café (not the office's network).
    let now = clock.now();
    let mut context = SignInContext::builder("alice", "mail", now)
        .ip("198.51.100.7".parse()?)
        .enrolled(EnrolledMethod::new(Method::Totp, "authenticator-app"))
        .evidence(Evidence::new(Method::Password, now, "password"))
        .build();

    // 2. Ask the policy until it allows (or blocks).
    for round in 1.. {
        let evaluation = engine.evaluate(&context);
        println!("round {round}: {}", evaluation.decision);
        match &evaluation.decision {
            Decision::Allow { session } => {
                println!("allowed; session controls: {session:?}");
                println!("trace: {}", serde_json::to_string_pretty(&evaluation)?);
                return Ok(());
            }
            Decision::Block { policy, reason } => {
                return Err(format!("blocked by {policy}: {reason}").into());
            }
            Decision::StepUp(step_up) => {
                println!(
                    "  `{}` needs `{}`; she can complete now: {}",
                    step_up.policy,
                    step_up.strength,
                    serde_json::to_string(&step_up.usable_now)?
                );
                // "Sign in another way" would list the rest of `step_up.acceptable`.
            }
            other => return Err(format!("a decision this example does not know: {other}").into()),
        }
        // 3. She types the code her app shows; it is checked (throttled, single use) and its
        //    evidence joins the session.
        let code = TotpParams::default().code_at(&app, now)?;
        let key = mfa_otp::totp_record_key("alice", "authenticator-app");
        let verified = mfa_otp::verify_totp(&store, &key, &throttle, code.as_str(), now)?;
        println!("  code accepted: {:?}", verified.evidence().method);
        context.add_evidence(verified.evidence().clone());
        if round > 3 {
            return Err("the policy kept asking".into());
        }
    }
    Ok(())
}
