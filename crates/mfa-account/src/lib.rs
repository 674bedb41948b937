#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod app_password;
pub mod campaign;
mod error;
mod events;
mod hashed;
pub mod methods;
mod parse;
mod profile;
mod providers;
mod remembered;
pub mod reset;
mod secret;
mod sessions;
pub mod store;
mod tap;

use core::time::Duration;

use mfa_core::Method;
use serde::{Deserialize, Serialize};

pub use app_password::{
    AppPasswordInfo, AppPasswordUse, CreatedAppPassword, MIN_APP_PASSWORD_CHARS,
    check_app_password, check_app_password_async, create_app_password, create_app_password_async,
    list_app_passwords, list_app_passwords_async, revoke_all_app_passwords,
    revoke_all_app_passwords_async, revoke_app_password, revoke_app_password_async,
};
pub use campaign::{
    RegistrationReason, RegistrationStep, registration_step, registration_step_async,
    set_mfa_state, set_mfa_state_async, skip_registration, skip_registration_async,
};
pub use campaign::{account_profile, account_profile_async};
pub use error::AccountError;
pub use events::{
    AccountChange, AccountEvent, AccountEventSink, Actor, AuditingSink, EventLog, NoEvents,
};
#[doc(hidden)]
pub use hashed::FindMatchForTiming;
pub use methods::{
    BACKUP_CODES_NAME, Confirmation, FactorRef, MethodEntry, MethodId, PendingMethod, RemovalGuard,
    SecurityInfo, add_backup_codes, add_backup_codes_async, begin_add, begin_add_async,
    confirm_add, confirm_add_async, enrolled_methods, record_use, record_use_async, remove,
    remove_async, rename, rename_async, security_info, security_info_async, set_default,
    set_default_async,
};
pub use methods::{
    confirm_add_with_proof, confirm_add_with_proof_async, may_register, record_use_of,
    record_use_of_async,
};
pub use parse::{MAX_LIFETIME, format_lifetime, fuzz_inputs, parse_lifetime};
pub use profile::{AccountProfile, ResetRecord};
pub use providers::{
    MAX_PROVIDER_FILE_LEN, MAX_PROVIDER_NAME_CHARS, MAX_PROVIDERS, ProviderNames,
    ProviderNamesError, fuzz_provider_names,
};
pub use remembered::{
    REMEMBERED_SECRET_CHARS, RememberedInfo, RememberedToken, check_remembered,
    check_remembered_async, forget_device, forget_device_async, list_remembered,
    list_remembered_async, remember_device, remember_device_async,
};
pub use reset::{
    ResetOutcome, is_recovery_method, record_recovery, require_reregistration,
    require_reregistration_async,
};
pub use reset::{redeem_backup_code, redeem_backup_code_async};
pub use sessions::{
    check_session, check_session_async, current_epoch, current_epoch_async, sign_out_everywhere,
    sign_out_everywhere_async,
};
pub use tap::{
    IssuedTap, MIN_TAP_CHARS, TapGrant, TapInfo, TapOptions, issue_tap, issue_tap_async, list_taps,
    list_taps_async, redeem_tap, redeem_tap_async, revoke_tap, revoke_tap_async,
};

/// The kinds of method a user can have in their security info.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// An authenticator app (RFC 6238), through `mfa-otp`.
    Totp,
    /// A counter-based token (RFC 4226), through `mfa-otp`.
    Hotp,
    /// A set of printed backup codes, through `mfa-backup`.
    BackupCodes,
    /// A security key or passkey (W3C WebAuthn), through `mfa-webauthn`.
    WebAuthn,
    /// A phone that approves pushes with number matching, through `mfa-push`.
    Push,
    /// A phone number receiving codes by SMS, through `mfa-oob`.
    Sms,
    /// A phone number receiving codes by voice call, through `mfa-oob`.
    Voice,
}

impl MethodKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::Totp,
        Self::Hotp,
        Self::BackupCodes,
        Self::WebAuthn,
        Self::Push,
        Self::Sms,
        Self::Voice,
    ];

    /// The method a check of it proves (what its [`Evidence`](mfa_core::Evidence) says).
    #[must_use]
    pub fn method(self) -> Method {
        match self {
            Self::Totp => Method::Totp,
            Self::Hotp => Method::Hotp,
            Self::BackupCodes => Method::BackupCode,
            Self::WebAuthn => Method::WebAuthn,
            Self::Push => Method::Push,
            Self::Sms => Method::Sms,
            Self::Voice => Method::Voice,
        }
    }

    /// The `snake_case` name (as in JSON and the CLI).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Hotp => "hotp",
            Self::BackupCodes => "backup_codes",
            Self::WebAuthn => "webauthn",
            Self::Push => "push",
            Self::Sms => "sms",
            Self::Voice => "voice",
        }
    }
}

impl core::fmt::Display for MethodKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for MethodKind {
    type Err = AccountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or(AccountError::MethodNotFound)
    }
}

/// An authorised operator (help desk, administrator) acting on someone's account. The service
/// authorises them; this library records who it was.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operator(String);

impl Operator {
    /// Longest operator id accepted.
    pub const MAX_LEN: usize = 128;

    /// An operator by the id the service gave them.
    ///
    /// # Errors
    /// [`AccountError::InvalidOperator`] when empty, longer than [`Self::MAX_LEN`] bytes, or
    /// containing control characters.
    pub fn new(id: impl Into<String>) -> Result<Self, AccountError> {
        let id = id.into();
        if id.is_empty() || id.len() > Self::MAX_LEN || id.chars().any(char::is_control) {
            return Err(AccountError::InvalidOperator);
        }
        Ok(Self(id))
    }

    /// The operator's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.0
    }
}

/// The account layer's limits and defaults. `AccountPolicy::default()` is a sensible start.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPolicy {
    /// Most methods one account may register (default 20).
    pub max_methods: usize,
    /// Longest method, app-password or device name, in characters (default 64).
    pub max_name_chars: usize,
    /// How long a begun method waits for its first successful check (default 15 min).
    pub pending_lifetime: Duration,
    /// How old the first check may be when it confirms a method (default 10 min).
    pub confirm_window: Duration,
    /// How often a user with no method may postpone registering (default 3).
    pub registration_skips: u32,
    /// How long one postponement lasts (default 14 days).
    pub registration_snooze: Duration,
    /// Shortest temporary access pass (default 10 min).
    pub tap_min_lifetime: Duration,
    /// Longest temporary access pass (default 30 days).
    pub tap_max_lifetime: Duration,
    /// Random characters in a temporary access pass, 5 bits each (default 20 = 100 bits; at
    /// least 13 = 65 bits).
    pub tap_chars: usize,
    /// Whether app passwords may be created and used (default true).
    pub app_passwords: bool,
    /// Random characters in an app password, 5 bits each (default 20 = 100 bits; at least 20).
    pub app_password_chars: usize,
    /// Most app passwords per account (default 25).
    pub max_app_passwords: usize,
    /// Longest a device may be remembered (default 90 days).
    pub remember_max_lifetime: Duration,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            max_methods: 20,
            max_name_chars: 64,
            pending_lifetime: Duration::from_secs(15 * 60),
            confirm_window: Duration::from_secs(10 * 60),
            registration_skips: 3,
            registration_snooze: Duration::from_secs(14 * DAY),
            tap_min_lifetime: Duration::from_secs(10 * 60),
            tap_max_lifetime: Duration::from_secs(30 * DAY),
            tap_chars: 20,
            app_passwords: true,
            app_password_chars: 20,
            max_app_passwords: 25,
            remember_max_lifetime: Duration::from_secs(90 * DAY),
        }
    }
}

impl AccountPolicy {
    /// Checks a user-chosen name (method, app password, device): trimmed, non-empty, at most
    /// [`max_name_chars`](Self::max_name_chars) characters, no control characters.
    ///
    /// # Errors
    /// [`AccountError::InvalidName`].
    pub fn check_name(&self, name: &str) -> Result<String, AccountError> {
        let trimmed = name.trim();
        if trimmed.is_empty()
            || trimmed.chars().count() > self.max_name_chars
            || trimmed.chars().any(char::is_control)
        {
            return Err(AccountError::InvalidName);
        }
        Ok(trimmed.to_owned())
    }
}
