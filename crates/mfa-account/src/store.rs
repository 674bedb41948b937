//! Where account state lives in any mfa-core store: record kinds and keys.

use mfa_core::RecordKey;

/// The account's profile: MFA state, revocation epoch, registration campaign, default method.
pub const PROFILE_KIND: &str = "account_profile";
/// One registered method (id = method id).
pub const METHOD_KIND: &str = "account_method";
/// A method begun but not yet confirmed by a first check (id = pending id; expires).
pub const PENDING_KIND: &str = "account_pending";
/// A temporary access pass (id = pass id; expires with the pass).
pub const TAP_KIND: &str = "account_tap";
/// An app password (id = its id).
pub const APP_PASSWORD_KIND: &str = "account_app_password";
/// A remembered device (id = token id; expires).
pub const REMEMBERED_KIND: &str = "account_remembered";

/// The key of `account`'s profile.
#[must_use]
pub fn profile_key(account: &str) -> RecordKey {
    RecordKey::new(PROFILE_KIND, account, "profile")
}

/// The key of one of `account`'s methods.
#[must_use]
pub fn method_key(account: &str, method_id: &str) -> RecordKey {
    RecordKey::new(METHOD_KIND, account, method_id)
}

/// The key of one of `account`'s pending methods.
#[must_use]
pub fn pending_key(account: &str, pending_id: &str) -> RecordKey {
    RecordKey::new(PENDING_KIND, account, pending_id)
}

/// The key of one of `account`'s temporary access passes.
#[must_use]
pub fn tap_key(account: &str, pass_id: &str) -> RecordKey {
    RecordKey::new(TAP_KIND, account, pass_id)
}

/// The key of one of `account`'s app passwords.
#[must_use]
pub fn app_password_key(account: &str, id: &str) -> RecordKey {
    RecordKey::new(APP_PASSWORD_KIND, account, id)
}

/// The key of one of `account`'s remembered devices.
#[must_use]
pub fn remembered_key(account: &str, id: &str) -> RecordKey {
    RecordKey::new(REMEMBERED_KIND, account, id)
}
