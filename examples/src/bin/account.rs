//! Example: a user's security info over time, with `mfa-account` over the real factor crates.
//!
//! 1. Alice signs up: she registers an authenticator app (confirmed by its first code) and prints
//!    backup codes; the policy lets her sign in with the app.
//! 2. Her phone is lost: she signs in with a backup code (she is told about the recovery),
//!    removes the old phone, which stops verifying at once, and adds a new one.
//! 3. The removals the account refuses: one that would weaken it, and the last strong method.
//! 4. The help desk makes her register again; a temporary access pass lets her do it, and
//!    nothing else, once.
//! 5. An app password for an IMAP client, and "sign out everywhere".
//!
//! Everything lives in one `MemoryStore` (any `mfa_core::Store` will do), the time comes from a
//! `ManualClock`, and the secrets from the operating system's RNG. Run with
//! `cargo run -p mfa-examples --bin account`.

use std::error::Error;
use std::time::Duration;

use mfa_account::{
    AccountError, AccountPolicy, Actor, EventLog, MethodEntry, MethodKind, Operator,
    RegistrationStep, RemovalGuard, SecurityInfo, TapOptions,
};
use mfa_backup::BackupCode;
use mfa_core::{
    AttemptError, Clock as _, Evidence, ManualClock, MemoryStore, Method, Rejection,
    ThrottlePolicy, UnixTime,
};
use mfa_otp::{TotpCredential, TotpEnrollmentPolicy};
use mfa_policy::{ClientApp, Decision, Engine, SignInContext, UserAction};

/// The service's policy: a second factor for browser and app sign-ins (the built-in `mfa`
/// strength), and legacy clients (IMAP, SMTP) only with an app password.
const POLICY: &str = r#"
[[policies]]
name = "MFA for browser and app sign-ins"
assignments.client_apps = { include = ["browser", "mobile_desktop"] }
grant = { authentication_strength = "mfa" }

[[policies]]
name = "Legacy clients only with an app password"
assignments.client_apps = { include = ["legacy"], exclude = ["app_password"] }
grant = { block = true }
"#;

/// The application everyone signs in to.
const APP: &str = "mail";

type Failure = Box<dyn Error>;

/// What a service keeps around: its store, limits, policy, event sink and clock.
struct Service {
    store: MemoryStore,
    accounts: AccountPolicy,
    engine: Engine,
    /// In a service: forwarded to the audit log and the user's notifications.
    events: EventLog,
    throttle: ThrottlePolicy,
    clock: ManualClock,
}

fn main() -> Result<(), Failure> {
    let service = Service {
        store: MemoryStore::new(),
        accounts: AccountPolicy::default(),
        engine: Engine::from_toml(POLICY)?,
        events: EventLog::new(),
        throttle: ThrottlePolicy::default(),
        clock: ManualClock::new(UnixTime::from_secs(1_800_000_000)),
    };
    let (phone, sheet) = sign_up(&service)?;
    let (session_epoch, new_phone) = lose_the_phone(&service, &phone, &sheet)?;
    refused_removals(&service, &new_phone)?;
    help_desk_reset(&service, session_epoch)?;
    app_password_and_sign_out(&service)?;
    println!("\ndone");
    Ok(())
}

/// Step 1: Alice registers an authenticator app and backup codes, and signs in with the app.
/// Returns the app's method and the backup codes (her printed sheet).
fn sign_up(service: &Service) -> Result<(MethodEntry, Vec<BackupCode>), Failure> {
    println!("== 1. Alice signs up ==");
    let now = service.clock.now();
    mfa_account::set_mfa_state(
        &service.store,
        &service.events,
        "alice",
        mfa_policy::PerUserMfa::Enabled,
        Actor::Operator("admin-1".into()),
        now,
    )?;
    let step = mfa_account::registration_step(&service.store, &service.accounts, "alice", now)?;
    println!("per-user MFA enabled; at her first sign-in the registration campaign: {step}");
    service.print_events();

    let (phone, app) = service.add_authenticator_app("alice", "phone-1", "Phone")?;

    let (codes_method, issued) = mfa_account::add_backup_codes(
        &service.store,
        &service.accounts,
        &service.events,
        "alice",
        &mfa_backup::IssuePolicy::default(),
        service.clock.now(),
        &mut rand::rng(),
    )?;
    println!(
        "she prints \"{}\" (shown once, stored hashed):",
        codes_method.name
    );
    for (n, code) in issued.codes.iter().enumerate() {
        println!("  {:>2}. {}", n.saturating_add(1), code.expose_secret());
    }
    service.print_events();
    service.print_security_info("alice")?;

    // A sign-in a minute later: the password first, then the policy asks for a second factor.
    service.clock.advance(Duration::from_secs(60));
    let now = service.clock.now();
    let mut context = service.sign_in_context("alice", UserAction::SignIn, ClientApp::Browser)?;
    context.add_evidence(password(now));
    println!(
        "sign-in with her password: {}",
        describe(&service.engine, &context)
    );
    let code = app.code_at(now)?;
    let key = mfa_otp::totp_record_key("alice", "phone-1");
    let verified =
        mfa_otp::verify_totp(&service.store, &key, &service.throttle, code.as_str(), now)?;
    mfa_account::record_use_of(&service.store, "alice", verified.evidence(), now)?;
    context.add_evidence(verified.evidence().clone());
    println!(
        "  + the code her app shows: {}",
        describe(&service.engine, &context)
    );
    Ok((phone, issued.codes))
}

/// Step 2: The phone is lost: a backup code, the old phone removed (its codes stop working), a new
/// phone added. Returns the session's revocation epoch and the new phone.
fn lose_the_phone(
    service: &Service,
    old_phone: &MethodEntry,
    sheet: &[BackupCode],
) -> Result<(u64, MethodEntry), Failure> {
    println!("\n== 2. Three weeks later the phone is lost ==");
    service.clock.advance(Duration::from_secs(21 * 24 * 3600));
    let now = service.clock.now();
    // What the finder of the phone can still read off it.
    let old_app = service.totp_credential("alice", "phone-1")?;

    let mut context = service.sign_in_context("alice", UserAction::SignIn, ClientApp::Browser)?;
    context.add_evidence(password(now));
    println!(
        "sign-in with her password: {}",
        describe(&service.engine, &context)
    );
    println!("  \"sign in another way\": she types a backup code from the printed sheet");
    let typed = sheet.first().ok_or("no backup code issued")?;
    // Through the account layer: mfa-backup redeems it, the backup-codes method is marked as
    // used, and (NIST SP 800-63B-4) the account holder is told about the recovery.
    let redeemed = mfa_account::redeem_backup_code(
        &service.store,
        &service.events,
        "alice",
        &service.throttle,
        typed.expose_secret(),
        now,
        &mut rand::rng(),
    )?;
    let backup = redeemed.verified.evidence().clone();
    context.add_evidence(backup.clone());
    println!(
        "  backup code accepted ({} left): {}",
        redeemed.remaining,
        describe(&service.engine, &context)
    );
    service.print_events();
    let session_epoch = mfa_account::current_epoch(&service.store, "alice")?;
    println!("her session is issued under revocation epoch {session_epoch}");

    // Remove the lost phone, from this session: password + backup code.
    let session = [password(now), backup];
    let guard = RemovalGuard::new(&service.engine, service.usual_sign_in("alice", now));
    let removed = mfa_account::remove(
        &service.store,
        &service.events,
        "alice",
        &old_phone.id,
        &session,
        &guard,
        now,
    )?;
    println!(
        "remove \"{}\" with password + backup code: removed (her backup codes still meet `mfa`)",
        removed.name
    );
    service.print_events();

    let finder = old_app.code_at(now)?;
    let key = mfa_otp::totp_record_key("alice", "phone-1");
    match mfa_otp::verify_totp(
        &service.store,
        &key,
        &service.throttle,
        finder.as_str(),
        now,
    ) {
        Err(error @ AttemptError::NotEnrolled) => {
            println!(
                "the finder types the old phone's current code: refused ({})",
                error.reason()
            );
        }
        other => return Err(format!("the old phone still verifies: {other:?}").into()),
    }

    let (new_phone, _app) = service.add_authenticator_app("alice", "phone-2", "New phone")?;
    service.print_security_info("alice")?;
    Ok((session_epoch, new_phone))
}

/// Step 3: Removals that are refused, and why.
fn refused_removals(service: &Service, new_phone: &MethodEntry) -> Result<(), Failure> {
    println!("\n== 3. Removals the account refuses ==");
    service.clock.advance(Duration::from_secs(3600));
    let now = service.clock.now();

    // Someone who stole only the password cannot strip the account of its second factor.
    let guard = RemovalGuard::new(&service.engine, service.usual_sign_in("alice", now));
    let outcome = mfa_account::remove(
        &service.store,
        &service.events,
        "alice",
        &new_phone.id,
        &[password(now)],
        &guard,
        now,
    );
    print_refusal(
        &format!(
            "a session with only the password removes \"{}\"",
            new_phone.name
        ),
        outcome,
        |error| matches!(error, AccountError::WeakensAssurance),
    )?;

    // Bob's authenticator app is his only second factor: removing it would lock him out of `mfa`.
    let (bobs_app, credential) = service.add_authenticator_app("bob", "bob-phone", "Phone")?;
    service.clock.advance(Duration::from_secs(30));
    let now = service.clock.now();
    let code = credential.code_at(now)?;
    let key = mfa_otp::totp_record_key("bob", "bob-phone");
    let verified =
        mfa_otp::verify_totp(&service.store, &key, &service.throttle, code.as_str(), now)?;
    let session = [password(now), verified.evidence().clone()];
    let guard = RemovalGuard::new(&service.engine, service.usual_sign_in("bob", now));
    let outcome = mfa_account::remove(
        &service.store,
        &service.events,
        "bob",
        &bobs_app.id,
        &session,
        &guard,
        now,
    );
    print_refusal(
        "Bob (password + app) removes his only method",
        outcome,
        |error| matches!(error, AccountError::LastStrongMethod { .. }),
    )?;
    service.print_events();
    Ok(())
}

/// Step 4: The help desk clears Alice's methods; a one-time temporary access pass lets her register
/// a new one.
fn help_desk_reset(service: &Service, session_epoch: u64) -> Result<(), Failure> {
    println!("\n== 4. Help desk: require re-registration ==");
    service.clock.advance(Duration::from_secs(24 * 3600));
    let now = service.clock.now();
    let operator = Operator::new("helpdesk-7")?;
    let outcome = mfa_account::require_reregistration(
        &service.store,
        &service.events,
        "alice",
        &operator,
        now,
    )?;
    println!(
        "{} resets alice: {} methods removed, {} remembered devices forgotten, {} app passwords revoked, epoch now {}",
        operator.id(),
        outcome.methods_removed,
        outcome.remembered_removed,
        outcome.app_passwords_revoked,
        outcome.epoch
    );
    service.print_events();
    let info = mfa_account::security_info(&service.store, "alice")?;
    println!("security info: {} methods", info.methods.len());
    match mfa_account::check_session(&service.store, "alice", session_epoch) {
        Err(error @ AttemptError::Rejected(AccountError::SessionRevoked)) => println!(
            "her session from step 2 (epoch {session_epoch}): refused ({})",
            error.reason()
        ),
        other => return Err(format!("the old session survived the reset: {other:?}").into()),
    }
    let step = mfa_account::registration_step(&service.store, &service.accounts, "alice", now)?;
    println!("at her next sign-in the registration campaign: {step}");
    if !matches!(step, RegistrationStep::Required { .. }) {
        return Err("a reset must make registration required".into());
    }
    print_refusal(
        "she tries to skip registration",
        mfa_account::skip_registration(
            &service.store,
            &service.accounts,
            &service.events,
            "alice",
            now,
        ),
        |error| matches!(error, AccountError::RegistrationRequired),
    )?;

    let tap = mfa_account::issue_tap(
        &service.store,
        &service.accounts,
        &service.events,
        "alice",
        &operator,
        TapOptions::one_time(Duration::from_secs(3600)),
        now,
        &mut rand::rng(),
    )?;
    println!(
        "{} issues a one-time temporary access pass, valid 1 h, read to her on the phone: {}",
        operator.id(),
        tap.pass.as_str()
    );
    service.print_events();

    service.clock.advance(Duration::from_secs(5 * 60));
    let now = service.clock.now();
    let typed = tap.pass.to_lowercase(); // typed as people type it
    let verified = mfa_account::redeem_tap(&service.store, &service.events, "alice", &typed, now)?;
    let grant = verified.credential();
    println!("she types the pass: accepted");
    service.print_events();
    let show = |evidence: Option<Evidence>| {
        evidence.map_or_else(|| "none".to_owned(), |evidence| evidence.method.to_string())
    };
    println!(
        "  evidence for register_security_info: {}; for sign_in: {}",
        show(grant.evidence_for(UserAction::RegisterSecurityInfo)),
        show(grant.evidence_for(UserAction::SignIn))
    );

    let mut register = service.sign_in_context(
        "alice",
        UserAction::RegisterSecurityInfo,
        ClientApp::Browser,
    )?;
    register.add_evidence(password(now));
    if let Some(evidence) = grant.evidence_for(UserAction::RegisterSecurityInfo) {
        register.add_evidence(evidence);
    }
    let mut sign_in = service.sign_in_context("alice", UserAction::SignIn, ClientApp::Browser)?;
    sign_in.add_evidence(password(now));
    if let Some(evidence) = grant.evidence_for(UserAction::SignIn) {
        sign_in.add_evidence(evidence);
    }
    println!(
        "  policy to register security info: {}",
        describe(&service.engine, &register)
    );
    println!(
        "  policy to sign in to {APP}: {}",
        describe(&service.engine, &sign_in)
    );
    // begin_add / confirm_add take no session: the service asks the policy first.
    mfa_account::may_register(&service.engine, &register)?;
    println!("  may she register security info in this session? yes");
    print_refusal(
        "  may a session with the password alone register?",
        mfa_account::may_register(&service.engine, &sign_in).map_err(AttemptError::Rejected),
        |error| matches!(error, AccountError::RegistrationNotAllowed { .. }),
    )?;

    service.add_authenticator_app("alice", "phone-3", "Replacement phone")?;
    let step = mfa_account::registration_step(&service.store, &service.accounts, "alice", now)?;
    println!("the registration campaign now: {step}");
    print_refusal(
        "the same pass again",
        mfa_account::redeem_tap(&service.store, &service.events, "alice", &typed, now),
        |error| matches!(error, AccountError::TapInvalid),
    )?;
    Ok(())
}

/// Step 5: An app password for a legacy mail client, a remembered browser, and sign out everywhere.
fn app_password_and_sign_out(service: &Service) -> Result<(), Failure> {
    println!("\n== 5. An app password for IMAP; sign out everywhere ==");
    service.clock.advance(Duration::from_secs(3600));
    let now = service.clock.now();
    let created = mfa_account::create_app_password(
        &service.store,
        &service.accounts,
        &service.events,
        "alice",
        "Thunderbird (IMAP)",
        now,
        &mut rand::rng(),
    )?;
    println!(
        "she creates an app password for \"{}\" (shown once): {}",
        created.name,
        created.password.as_str()
    );
    service.print_events();

    let used = mfa_account::check_app_password(
        &service.store,
        &service.accounts,
        "alice",
        &created.password,
        ClientApp::Legacy,
        now,
    )?;
    let mut imap = service.sign_in_context("alice", UserAction::SignIn, ClientApp::Legacy)?;
    used.credential().apply_to(&mut imap); // legacy client, app password, its evidence
    println!(
        "IMAP login with it: accepted as \"{}\"; policy: {}",
        used.credential().name(),
        describe(&service.engine, &imap)
    );
    let mut plain_imap = service.sign_in_context("alice", UserAction::SignIn, ClientApp::Legacy)?;
    plain_imap.add_evidence(password(now));
    println!(
        "IMAP login with her password: {}",
        describe(&service.engine, &plain_imap)
    );
    print_refusal(
        "the app password typed into the browser sign-in",
        mfa_account::check_app_password(
            &service.store,
            &service.accounts,
            "alice",
            &created.password,
            ClientApp::Browser,
            now,
        ),
        |error| matches!(error, AccountError::NotLegacyClient),
    )?;

    let session_epoch = mfa_account::current_epoch(&service.store, "alice")?;
    let cookie = mfa_account::remember_device(
        &service.store,
        &service.accounts,
        &service.events,
        "alice",
        "Firefox on her laptop",
        Duration::from_secs(30 * 24 * 3600),
        now,
        &mut rand::rng(),
    )?;
    let until = mfa_account::check_remembered(&service.store, "alice", &cookie.token, now)?;
    println!("her browser is remembered until {}", until.utc_date_time());
    service.print_events();

    let epoch = mfa_account::sign_out_everywhere(
        &service.store,
        &service.events,
        "alice",
        Actor::User,
        now,
    )?;
    println!("sign out everywhere: epoch now {epoch}");
    service.print_events();
    print_refusal(
        &format!("her browser session (epoch {session_epoch})"),
        mfa_account::check_session(&service.store, "alice", session_epoch),
        |error| matches!(error, AccountError::SessionRevoked),
    )?;
    print_refusal(
        "her remembered browser",
        mfa_account::check_remembered(&service.store, "alice", &cookie.token, now),
        |error| matches!(error, AccountError::RememberedInvalid),
    )?;
    Ok(())
}

impl Service {
    /// Adds an authenticator app the way a "security info" page does: the account layer's pending
    /// method, mfa-otp's enrollment (a QR code), the first code the app shows, and that check's
    /// evidence confirming the method. Returns the method and the app's credential (which the
    /// example uses to compute later codes, as the app would).
    fn add_authenticator_app(
        &self,
        account: &str,
        credential_id: &str,
        name: &str,
    ) -> Result<(MethodEntry, TotpCredential), Failure> {
        let now = self.clock.now();
        let pending = mfa_account::begin_add(
            &self.store,
            &self.accounts,
            account,
            MethodKind::Totp,
            name,
            now,
            &mut rand::rng(),
        )?;
        let enrollment = mfa_otp::begin_totp_enrollment(
            &self.store,
            account,
            credential_id,
            &TotpEnrollmentPolicy::default(),
            &mut rand::rng(),
            now,
        )?;
        let uri = enrollment.key_uri(Some("Example"), &format!("{account}@example.com"))?;
        let uri = uri.to_uri();
        let shown = uri.split('?').next().unwrap_or_default();
        println!("{account} adds an authenticator app \"{name}\": the app scans {shown}?secret=…");

        let code = enrollment.params().code_at(enrollment.secret(), now)?; // what the app shows
        let verified = mfa_otp::confirm_totp_enrollment(
            &self.store,
            account,
            credential_id,
            &self.throttle,
            code.as_str(),
            now,
        )?;
        let (proof, credential) = verified.into_parts();
        // The proof names the credential; the pending method knows the kind.
        let entry = mfa_account::confirm_add_with_proof(
            &self.store,
            &self.accounts,
            &self.events,
            account,
            &pending.id,
            &proof,
            now,
        )?;
        println!(
            "  the first code it shows is checked; that check confirms \"{}\" ({}, counts toward {})",
            entry.name,
            entry.kind,
            entry
                .nist_level()
                .map_or_else(|| "no NIST level".to_owned(), |level| level.to_string())
        );
        self.print_events();
        Ok((entry, credential))
    }

    /// The TOTP credential mfa-otp holds (what the phone's app also knows).
    fn totp_credential(
        &self,
        account: &str,
        credential_id: &str,
    ) -> Result<TotpCredential, Failure> {
        mfa_core::load(
            &self.store,
            &mfa_otp::totp_record_key(account, credential_id),
        )?
        .ok_or_else(|| format!("no TOTP credential {credential_id}").into())
    }

    /// A sign-in context for `account` as the service builds it: the registered methods and the
    /// per-user MFA state from the account.
    fn sign_in_context(
        &self,
        account: &str,
        action: UserAction,
        client: ClientApp,
    ) -> Result<SignInContext, Failure> {
        let mut context = SignInContext::builder(account, APP, self.clock.now())
            .action(action)
            .client_app(client)
            .build();
        mfa_account::security_info(&self.store, account)?.apply_to(&mut context);
        Ok(context)
    }

    /// The sign-in a removal must not make impossible: a browser sign-in to the mail app,
    /// after the password.
    fn usual_sign_in(&self, account: &str, now: UnixTime) -> SignInContext {
        SignInContext::builder(account, APP, now)
            .evidence(password(now))
            .build()
    }

    /// Prints the account's methods as a "security info" page lists them.
    fn print_security_info(&self, account: &str) -> Result<(), Failure> {
        let SecurityInfo {
            methods,
            default_method,
            ..
        } = mfa_account::security_info(&self.store, account)?;
        println!("{account}'s security info:");
        for method in &methods {
            let default = if default_method.as_ref() == Some(&method.id) {
                " (default)"
            } else {
                ""
            };
            let last_used = method
                .last_used_at
                .map_or_else(|| "never".to_owned(), UnixTime::utc_date_time);
            println!(
                "  - \"{}\"{default}: {}, added {}, last used {last_used}",
                method.name,
                method.kind,
                method.created_at.utc_date_time()
            );
        }
        Ok(())
    }

    /// Prints (and clears) the account events so far: each goes to the audit log, and most
    /// become a "your security info changed" notice to the user.
    fn print_events(&self) {
        for event in self.events.take() {
            let notice = if event.notifies_user() {
                format!("; {} is notified", event.account)
            } else {
                String::new()
            };
            println!(
                "  [event] {}: {}, by {}{notice}",
                event.change.name(),
                event.change,
                event.actor
            );
        }
    }
}

/// Password evidence, as the service's first factor would record it.
fn password(now: UnixTime) -> Evidence {
    Evidence::new(Method::Password, now, "password")
}

/// The policy's decision in a line.
fn describe(engine: &Engine, context: &SignInContext) -> String {
    let evaluation = engine.evaluate(context);
    match &evaluation.decision {
        Decision::StepUp(step_up) if step_up.usable_now.is_empty() => {
            let enroll: Vec<String> = step_up.enroll.iter().map(ToString::to_string).collect();
            format!(
                "{}; nothing usable now, enroll: {}",
                evaluation.decision,
                enroll.join(" + ")
            )
        }
        Decision::StepUp(step_up) => {
            let usable: Vec<String> = step_up.usable_now.iter().map(ToString::to_string).collect();
            format!(
                "{}; usable now: {}",
                evaluation.decision,
                usable.join(" | ")
            )
        }
        other => other.to_string(),
    }
}

/// Prints an expected refusal, or fails when the outcome was anything else.
fn print_refusal<T: std::fmt::Debug>(
    what: &str,
    outcome: Result<T, AttemptError<AccountError>>,
    expected: impl Fn(&AccountError) -> bool,
) -> Result<(), Failure> {
    match outcome {
        Err(AttemptError::Rejected(error)) if expected(&error) => {
            println!("{what}: refused ({}): {error}", error.reason());
            Ok(())
        }
        other => Err(format!("{what}: expected a refusal, got {other:?}").into()),
    }
}
