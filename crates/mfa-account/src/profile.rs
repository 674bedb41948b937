//! The account's profile record: per-user MFA state, revocation epoch, registration campaign and
//! default method. Shared by every part of the crate; changed only through mfa-core's `update`.

use mfa_core::UnixTime;
use mfa_policy::PerUserMfa;
use serde::{Deserialize, Serialize};

/// What a help desk's reset recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRecord {
    /// The operator who reset the account.
    pub operator: String,
    /// When. JSON: Unix milliseconds.
    pub at: UnixTime,
}

/// One account's profile. A missing record reads as [`AccountProfile::default`].
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProfile {
    /// The per-user MFA state the policy engine reads (`disabled`, `enabled`, `enforced`).
    #[serde(default)]
    pub mfa_state: PerUserMfa,
    /// The revocation epoch: sessions and remembered devices issued under an older epoch are
    /// invalid. Starts at 0; every sign-out everywhere (and reset) adds one.
    #[serde(default)]
    pub epoch: u64,
    /// Set by a help-desk reset: the next sign-in goes straight to registration, without a skip.
    /// Cleared when a method is added.
    #[serde(default)]
    pub must_register: bool,
    /// The last help-desk reset.
    #[serde(default)]
    pub last_reset: Option<ResetRecord>,
    /// The method offered first at sign-in.
    #[serde(default)]
    pub default_method: Option<String>,
    /// How often the user has postponed registering a method.
    #[serde(default)]
    pub registration_skips: u32,
    /// Until when the registration prompt is postponed. JSON: Unix milliseconds.
    #[serde(default)]
    pub registration_snoozed_until: Option<UnixTime>,
    /// The ids of the account's registered methods: the authoritative list (a method record
    /// whose id is not here is not registered). Kept here so that every change to the set of
    /// methods is one compare-and-swap of this record; see [`crate::methods`].
    #[serde(default)]
    pub method_ids: Vec<String>,
}
