//! Shared set-up of the security-info, campaign and reset tests: real factor enrollments where a
//! test needs the factor to stop verifying, evidence built as the factor crates build it, and a
//! policy engine from TOML.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use core::time::Duration;
use std::sync::atomic::{AtomicU64, Ordering};

use mfa_account::{AccountPolicy, Confirmation, EventLog, FactorRef, MethodEntry, confirm_add};
use mfa_core::{Evidence, Method, Store, ThrottlePolicy, UnixTime};
use mfa_policy::{Engine, SignInContext};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The start of every test's timeline.
pub const T0: UnixTime = UnixTime::from_secs(1_800_000_000);

/// Seconds after [`T0`].
pub fn at(secs: u64) -> UnixTime {
    T0.saturating_add(Duration::from_secs(secs))
}

/// A deterministic RNG.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Only a phishing-resistant strength lets anyone in (a passkey after the password).
pub const PHISHING_RESISTANT: &str = r#"
[[policies]]
name = "Phishing-resistant for everyone"
grant = { authentication_strength = "phishing_resistant_mfa" }
"#;

/// Any second factor after the password.
pub const ANY_MFA: &str = r#"
[[policies]]
name = "MFA for everyone"
grant = { authentication_strength = "mfa" }
"#;

/// A compiled engine.
pub fn engine(toml: &str) -> Engine {
    Engine::from_toml(toml).expect("test policy compiles")
}

/// The user's usual sign-in: a browser, the mail app, a password.
pub fn probe(account: &str, now: UnixTime) -> SignInContext {
    SignInContext::builder(account, "mail", now)
        .evidence(Evidence::new(Method::Password, now, "password"))
        .build()
}

/// A session that signed in with a password and a backup code (recovery, AAL2).
pub fn recovery_session(now: UnixTime) -> Vec<Evidence> {
    vec![
        Evidence::new(Method::Password, now, "password"),
        Evidence::new(Method::BackupCode, now, "backup-set"),
    ]
}

/// A session that signed in with a password and a hardware-bound passkey (AAL3).
pub fn strong_session(now: UnixTime) -> Vec<Evidence> {
    vec![
        Evidence::new(Method::Password, now, "password"),
        hardware_key_evidence("c3Ryb25nLXNlc3Npb24ta2V5", now),
    ]
}

/// The evidence of a WebAuthn check of a hardware-bound (device-bound, attested) key.
pub fn hardware_key_evidence(credential_id: &str, now: UnixTime) -> Evidence {
    Evidence::new(Method::WebAuthn, now, credential_id)
        .user_verified(true)
        .hardware_backed(true)
        .device_bound(true)
}

/// The evidence of a WebAuthn check of a synced passkey.
pub fn synced_key_evidence(credential_id: &str, now: UnixTime) -> Evidence {
    Evidence::new(Method::WebAuthn, now, credential_id).user_verified(true)
}

/// A base64url credential id of 16 bytes, distinct per `n`.
pub fn passkey_id(n: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([n; 16])
}

/// Begins and confirms a method of `factor`'s kind, named after the kind.
pub fn add_method(
    store: &impl Store,
    account: &str,
    factor: FactorRef,
    proof: &Evidence,
    now: UnixTime,
) -> MethodEntry {
    static SEED: AtomicU64 = AtomicU64::new(1 << 32); // apart from the seeds tests pass
    let policy = AccountPolicy::default();
    let kind = factor.kind();
    let seed = SEED.fetch_add(1, Ordering::Relaxed);
    let pending = mfa_account::begin_add(
        store,
        &policy,
        account,
        kind,
        kind.name(),
        now,
        &mut rng(seed),
    )
    .unwrap();
    confirm_add(
        store,
        &policy,
        &EventLog::new(),
        account,
        Confirmation {
            pending_id: &pending.id,
            factor: &factor,
            proof,
            providers: None,
        },
        now,
    )
    .unwrap()
}

/// Adds a passkey (a WebAuthn record is stored under the factor's key, as `mfa-webauthn`
/// would, so removal can be seen to delete it).
pub fn add_passkey(
    store: &impl Store,
    account: &str,
    n: u8,
    hardware: bool,
    now: UnixTime,
) -> MethodEntry {
    let credential_id = passkey_id(n);
    mfa_core::insert_new(store, &passkey_record_key(account, n), &"stored credential").unwrap();
    let proof = if hardware {
        hardware_key_evidence(&credential_id, now)
    } else {
        synced_key_evidence(&credential_id, now)
    };
    add_method(
        store,
        account,
        FactorRef::WebAuthn {
            credential_id,
            aaguid: None,
        },
        &proof,
        now,
    )
}

/// Enrolls a real TOTP credential through `mfa-otp` (begin, first code, confirm) and registers
/// it; returns the entry and the credential (to compute later codes with).
pub fn add_totp(
    store: &impl Store,
    account: &str,
    credential_id: &str,
    now: UnixTime,
) -> (MethodEntry, mfa_otp::TotpCredential) {
    let pending_totp = mfa_otp::begin_totp_enrollment(
        store,
        account,
        credential_id,
        &mfa_otp::TotpEnrollmentPolicy::default(),
        &mut rng(7),
        now,
    )
    .unwrap();
    let code = pending_totp
        .params()
        .code_at(pending_totp.secret(), now)
        .unwrap();
    let verified = mfa_otp::confirm_totp_enrollment(
        store,
        account,
        credential_id,
        &ThrottlePolicy::default(),
        code.as_str(),
        now,
    )
    .unwrap();
    let (evidence, credential) = verified.into_parts();
    let entry = add_method(
        store,
        account,
        FactorRef::Totp {
            credential_id: credential_id.to_owned(),
        },
        &evidence,
        now,
    );
    (entry, credential)
}

/// Issue options that hash quickly (tests only).
pub fn cheap_backup_codes() -> mfa_backup::IssuePolicy {
    mfa_backup::IssuePolicy {
        count: 3,
        hasher: mfa_backup::HashParams::Pbkdf2Sha256(mfa_backup::Pbkdf2Params::new(1).unwrap()),
        ..mfa_backup::IssuePolicy::default()
    }
}

/// Whether `mfa-otp` still knows the TOTP credential: a sign-in with the current code.
pub fn totp_verifies(
    store: &impl Store,
    account: &str,
    credential: &mfa_otp::TotpCredential,
    now: UnixTime,
) -> Result<(), mfa_core::AttemptError<mfa_otp::OtpError>> {
    let code = credential.code_at(now).unwrap();
    mfa_otp::verify_totp(
        store,
        &mfa_otp::totp_record_key(account, credential.id().as_str()),
        &ThrottlePolicy::default(),
        code.as_str(),
        now,
    )
    .map(drop)
}

/// Where `mfa-webauthn` keeps `account`'s passkey `n` (see [`passkey_id`]).
pub fn passkey_record_key(account: &str, n: u8) -> mfa_core::RecordKey {
    let id = mfa_webauthn::CredentialId::from_b64url(&passkey_id(n)).unwrap();
    mfa_webauthn::record_key(account, &id)
}

/// Redeems one backup code of `account` (a sign-in with it).
pub fn redeem_backup_code(
    store: &impl Store,
    account: &str,
    code: &mfa_backup::BackupCode,
    now: UnixTime,
) -> Result<mfa_backup::Redeemed, mfa_core::AttemptError<mfa_backup::BackupCodeError>> {
    mfa_backup::redeem(
        store,
        &mfa_backup::record_key(account),
        &ThrottlePolicy::default(),
        code.expose_secret(),
        now,
        &mut rng(now.as_secs()),
    )
}

/// Registers an `mfa-oob` phone as an SMS (`voice: false`) or voice method, confirmed by a
/// check as `mfa-oob` reports it (the phone id as credential).
pub fn add_phone(
    store: &impl Store,
    account: &str,
    phone_id: &str,
    voice: bool,
    now: UnixTime,
) -> MethodEntry {
    let method = if voice { Method::Voice } else { Method::Sms };
    add_method(
        store,
        account,
        FactorRef::Phone {
            phone_id: phone_id.to_owned(),
            voice,
        },
        &Evidence::new(method, now, phone_id),
        now,
    )
}

/// Registers a set of backup codes ([`cheap_backup_codes`]) for `account`, telling no one.
pub fn add_cheap_backup_codes(
    store: &impl Store,
    account: &str,
    now: UnixTime,
) -> (MethodEntry, mfa_backup::IssuedCodes) {
    mfa_account::add_backup_codes(
        store,
        &AccountPolicy::default(),
        &mfa_account::NoEvents,
        account,
        &cheap_backup_codes(),
        now,
        &mut rng(3),
    )
    .unwrap()
}
