//! What an account change tells the service: an [`AccountEvent`] for the audit trail and, when
//! [`notifies_user`](AccountEvent::notifies_user), a "your security info changed" message to the
//! user (e-mail, push, an in-app banner: the service's choice of channel).

use std::sync::{Mutex, PoisonError};

use mfa_core::{AuditEvent, AuditResult, Method, UnixTime};
use serde::{Deserialize, Serialize};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// The account holder, in a signed-in session.
    User,
    /// An authorised operator (help desk, administrator), by the id the service gave them.
    Operator(String),
    /// The library itself (an automatic consequence, such as removing methods during a reset).
    System,
}

/// One change to an account's security info, or a recovery sign-in. No secret inside: never a
/// pass, password, token or code; method ids and names only.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AccountChange {
    /// A method was added (after its first successful check).
    MethodAdded {
        /// Our method id.
        method_id: String,
        /// What kind.
        kind: crate::MethodKind,
    },
    /// A method was renamed.
    MethodRenamed {
        /// Our method id.
        method_id: String,
    },
    /// A method was removed (and the factor's state with it).
    MethodRemoved {
        /// Our method id.
        method_id: String,
        /// What kind.
        kind: crate::MethodKind,
    },
    /// The default method changed.
    DefaultMethodChanged {
        /// Our method id.
        method_id: String,
    },
    /// The user postponed registering a method.
    RegistrationSkipped {
        /// Skips used so far.
        skips_used: u32,
    },
    /// A help desk cleared every method, signed the account out everywhere and requires a new
    /// registration at the next sign-in.
    ReRegistrationRequired {
        /// How many methods were removed.
        methods_removed: usize,
    },
    /// A temporary access pass was issued.
    TapIssued {
        /// The pass's id (not the pass).
        pass_id: String,
        /// When it stops working. JSON: Unix milliseconds.
        expires_at: UnixTime,
    },
    /// A temporary access pass was used to sign in.
    TapRedeemed {
        /// The pass's id.
        pass_id: String,
    },
    /// A temporary access pass was revoked.
    TapRevoked {
        /// The pass's id.
        pass_id: String,
    },
    /// An app password was created.
    AppPasswordCreated {
        /// Its id.
        id: String,
        /// The app it is for.
        name: String,
    },
    /// An app password was revoked.
    AppPasswordRevoked {
        /// Its id.
        id: String,
    },
    /// Every app password was revoked.
    AppPasswordsRevokedAll {
        /// How many.
        count: usize,
    },
    /// A device was remembered (no second factor there until it expires).
    DeviceRemembered {
        /// The remembered device's id.
        id: String,
    },
    /// A remembered device was forgotten.
    RememberedDeviceForgotten {
        /// Its id.
        id: String,
    },
    /// Every session and remembered device issued before now was revoked.
    SignedOutEverywhere {
        /// The new revocation epoch.
        epoch: u64,
    },
    /// A sign-in used a recovery method (backup code, temporary access pass): NIST SP 800-63B-4
    /// asks that the user be told after every recovery.
    RecoverySignIn {
        /// The method used.
        method: Method,
    },
    /// The per-user MFA state changed (an administrator enabled or enforced MFA, or turned it
    /// off): with `enabled` or `enforced` and no method, the next sign-in offers registration.
    MfaStateChanged {
        /// The new state.
        state: mfa_policy::PerUserMfa,
    },
}

impl AccountChange {
    /// A stable `snake_case` name (the JSON tag), also the audit event's reason.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::MethodAdded { .. } => "method_added",
            Self::MethodRenamed { .. } => "method_renamed",
            Self::MethodRemoved { .. } => "method_removed",
            Self::DefaultMethodChanged { .. } => "default_method_changed",
            Self::RegistrationSkipped { .. } => "registration_skipped",
            Self::ReRegistrationRequired { .. } => "re_registration_required",
            Self::TapIssued { .. } => "tap_issued",
            Self::TapRedeemed { .. } => "tap_redeemed",
            Self::TapRevoked { .. } => "tap_revoked",
            Self::AppPasswordCreated { .. } => "app_password_created",
            Self::AppPasswordRevoked { .. } => "app_password_revoked",
            Self::AppPasswordsRevokedAll { .. } => "app_passwords_revoked_all",
            Self::DeviceRemembered { .. } => "device_remembered",
            Self::RememberedDeviceForgotten { .. } => "remembered_device_forgotten",
            Self::SignedOutEverywhere { .. } => "signed_out_everywhere",
            Self::RecoverySignIn { .. } => "recovery_sign_in",
            Self::MfaStateChanged { .. } => "mfa_state_changed",
        }
    }

    fn subject(&self) -> Option<&str> {
        match self {
            Self::MethodAdded { method_id, .. }
            | Self::MethodRenamed { method_id }
            | Self::MethodRemoved { method_id, .. }
            | Self::DefaultMethodChanged { method_id } => Some(method_id),
            Self::TapIssued { pass_id, .. }
            | Self::TapRedeemed { pass_id }
            | Self::TapRevoked { pass_id } => Some(pass_id),
            Self::AppPasswordCreated { id, .. }
            | Self::AppPasswordRevoked { id }
            | Self::DeviceRemembered { id }
            | Self::RememberedDeviceForgotten { id } => Some(id),
            Self::RegistrationSkipped { .. }
            | Self::ReRegistrationRequired { .. }
            | Self::AppPasswordsRevokedAll { .. }
            | Self::SignedOutEverywhere { .. }
            | Self::RecoverySignIn { .. }
            | Self::MfaStateChanged { .. } => None,
        }
    }

    fn method(&self) -> Option<Method> {
        match self {
            Self::MethodAdded { kind, .. } | Self::MethodRemoved { kind, .. } => {
                Some(kind.method())
            }
            Self::TapIssued { .. } | Self::TapRedeemed { .. } | Self::TapRevoked { .. } => {
                Some(Method::TemporaryAccessPass)
            }
            Self::RecoverySignIn { method } => Some(*method),
            _ => None,
        }
    }
}

impl core::fmt::Display for Actor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::User => f.write_str("the account holder"),
            Self::Operator(id) => write!(f, "operator {id}"),
            Self::System => f.write_str("the system"),
        }
    }
}

/// A per-user MFA state in words.
fn mfa_state_words(state: mfa_policy::PerUserMfa) -> &'static str {
    match state {
        mfa_policy::PerUserMfa::Disabled => "disabled",
        mfa_policy::PerUserMfa::Enabled => "enabled",
        mfa_policy::PerUserMfa::Enforced => "enforced",
        _ => "a new state",
    }
}

/// A sentence for the user's notice or an operator's log: ids, kinds, application names and
/// times only (no secret is ever in a change).
impl core::fmt::Display for AccountChange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::MethodAdded { method_id, kind } => {
                write!(f, "a {kind} method was added ({method_id})")
            }
            Self::MethodRenamed { method_id } => write!(f, "method {method_id} was renamed"),
            Self::MethodRemoved { method_id, kind } => {
                write!(f, "a {kind} method was removed ({method_id})")
            }
            Self::DefaultMethodChanged { method_id } => {
                write!(f, "method {method_id} became the default")
            }
            Self::RegistrationSkipped { skips_used } => write!(
                f,
                "registering a method was postponed ({skips_used} postponement{} so far)",
                if *skips_used == 1 { "" } else { "s" }
            ),
            Self::ReRegistrationRequired { methods_removed } => write!(
                f,
                "every method was removed ({methods_removed}) and a new registration is required"
            ),
            Self::TapIssued {
                pass_id,
                expires_at,
            } => write!(
                f,
                "temporary access pass {pass_id} was issued, valid until {}",
                expires_at.utc_date_time()
            ),
            Self::TapRedeemed { pass_id } => {
                write!(f, "temporary access pass {pass_id} was used to sign in")
            }
            Self::TapRevoked { pass_id } => {
                write!(f, "temporary access pass {pass_id} was revoked")
            }
            Self::AppPasswordCreated { id, name } => {
                write!(f, "an app password for \"{name}\" was created ({id})")
            }
            Self::AppPasswordRevoked { id } => write!(f, "app password {id} was revoked"),
            Self::AppPasswordsRevokedAll { count } => {
                write!(f, "every app password was revoked ({count})")
            }
            Self::DeviceRemembered { id } => write!(f, "a device was remembered ({id})"),
            Self::RememberedDeviceForgotten { id } => {
                write!(f, "remembered device {id} was forgotten")
            }
            Self::SignedOutEverywhere { epoch } => write!(
                f,
                "every session and remembered device was signed out (revocation epoch {epoch})"
            ),
            Self::RecoverySignIn { method } => {
                write!(f, "someone signed in with a recovery method ({method})")
            }
            Self::MfaStateChanged { state } => write!(
                f,
                "multi-factor authentication was set to {}",
                mfa_state_words(*state)
            ),
        }
    }
}

/// An account change with who, whom and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEvent {
    /// The account changed.
    pub account: String,
    /// Who changed it.
    pub actor: Actor,
    /// When. JSON: Unix milliseconds.
    pub at: UnixTime,
    /// What changed.
    pub change: AccountChange,
}

impl AccountEvent {
    /// Whether the user should be told ("security info changed", "someone signed in with a
    /// recovery method"): every change except a postponed registration.
    #[must_use]
    pub fn notifies_user(&self) -> bool {
        !matches!(self.change, AccountChange::RegistrationSkipped { .. })
    }

    /// The audit-trail entry for this change: result `success`, the change's name as reason,
    /// its method and the id of the method, pass, password or device concerned (never a
    /// secret); an operator's id as the device field is not used, the operator goes into the
    /// policy-decision field as `operator:<id>`.
    #[must_use]
    pub fn audit_event(&self) -> AuditEvent {
        let mut event = AuditEvent::new(self.at, self.account.clone(), AuditResult::Success)
            .with_reason(self.change.name());
        if let Some(method) = self.change.method() {
            event = event.with_method(method);
        }
        if let Some(subject) = self.change.subject() {
            event = event.with_credential_id(subject);
        }
        if let Actor::Operator(operator) = &self.actor {
            event = event.with_policy_decision_id(format!("operator:{operator}"));
        }
        event
    }
}

/// One line for a log or a notice: when (UTC), whose account, what, and by whom, as in
/// `2027-01-15T08:00:00Z alice: a totp method was added (…), by the account holder`.
impl core::fmt::Display for AccountEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} {}: {}, by {}",
            self.at.utc_date_time(),
            self.account,
            self.change,
            self.actor
        )
    }
}

/// Where account events go: the service forwards them to its audit sink and its user
/// notifications. Called after the change is committed; must not fail the change.
pub trait AccountEventSink: Send + Sync {
    /// Takes one event.
    fn emit(&self, event: &AccountEvent);
}

/// Drops every event (for callers who record nothing; tests should use [`EventLog`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl AccountEventSink for NoEvents {
    fn emit(&self, _event: &AccountEvent) {}
}

/// Keeps events in memory, for tests, examples and the CLI.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Mutex<Vec<AccountEvent>>,
}

impl EventLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes and returns every event so far, oldest first.
    pub fn take(&self) -> Vec<AccountEvent> {
        core::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl AccountEventSink for EventLog {
    fn emit(&self, event: &AccountEvent) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    }
}

/// Forwards every event's [`audit_event`](AccountEvent::audit_event) to a blocking audit sink
/// (a store error is dropped: the change is already committed), and passes the event on.
pub struct AuditingSink<'a, A: mfa_core::AuditSink + ?Sized, N: AccountEventSink + ?Sized> {
    /// The sign-in log.
    pub audit: &'a A,
    /// Where user notifications go.
    pub next: &'a N,
}

impl<A: mfa_core::AuditSink + ?Sized, N: AccountEventSink + ?Sized> AccountEventSink
    for AuditingSink<'_, A, N>
{
    fn emit(&self, event: &AccountEvent) {
        let _ = self.audit.record(&event.audit_event());
        self.next.emit(event);
    }
}
