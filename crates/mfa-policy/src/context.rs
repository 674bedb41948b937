//! [`SignInContext`]: everything the engine knows about one sign-in, and its builder.

use core::fmt;
use std::net::IpAddr;

use mfa_core::{AuthenticatorProperties, CredentialId, Evidence, Method, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

/// The per-user MFA state an administrator set, as in Microsoft Entra's legacy per-user MFA
/// (disabled / enabled / enforced).
///
/// As we read Microsoft's documentation (not a specification): `enabled` and `enforced` both
/// require multi-factor authentication for modern (browser, mobile and desktop) sign-ins; they
/// differ for legacy protocols, where `enabled` still accepts the password alone and `enforced`
/// accepts only an app password. A device on which MFA is remembered satisfies the requirement.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerUserMfa {
    /// No per-user requirement (policies alone decide).
    #[default]
    Disabled,
    /// MFA for modern sign-ins; legacy protocols still accept the password.
    Enabled,
    /// MFA for modern sign-ins; legacy protocols only with an app password.
    Enforced,
}

/// Whether the user belongs to the organisation or is a guest (an external, invited user).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// A member of the organisation.
    #[default]
    Member,
    /// A guest or other external user.
    Guest,
}

/// What the user is doing. The sensitive actions are the ones the OWASP Authentication and
/// Multifactor Authentication cheat sheets ask to protect with re-authentication or step-up.
#[non_exhaustive]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    /// Signing in to the target application.
    #[default]
    SignIn,
    /// Adding or changing authentication methods ("register security info").
    RegisterSecurityInfo,
    /// Changing the password.
    ChangePassword,
    /// Activating an administrative role ("become admin").
    BecomeAdmin,
}

impl UserAction {
    /// Every action, in declaration order.
    pub const ALL: [Self; 4] = [
        Self::SignIn,
        Self::RegisterSecurityInfo,
        Self::ChangePassword,
        Self::BecomeAdmin,
    ];

    /// The `snake_case` name, as serialized.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::RegisterSecurityInfo => "register_security_info",
            Self::ChangePassword => "change_password",
            Self::BecomeAdmin => "become_admin",
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Self::SignIn => 0,
            Self::RegisterSecurityInfo => 1,
            Self::ChangePassword => 2,
            Self::BecomeAdmin => 3,
        }
    }
}

impl fmt::Display for UserAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of client signing in.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientApp {
    /// A web browser.
    #[default]
    Browser,
    /// A mobile or desktop application using modern authentication (OAuth 2.0 / OpenID Connect).
    MobileDesktop,
    /// A legacy protocol (IMAP, POP3, SMTP, basic authentication) that cannot do a second factor.
    Legacy,
}

/// A device platform.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Microsoft Windows.
    Windows,
    /// Apple macOS.
    #[serde(rename = "macos")]
    MacOs,
    /// Linux.
    Linux,
    /// Apple iOS and iPadOS.
    #[serde(rename = "ios")]
    IOs,
    /// Android.
    Android,
    /// Anything else that was identified.
    Other,
}

/// A risk level, from an identity-protection signal (lowest first, so levels are ordered).
#[non_exhaustive]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// No risk detected.
    #[default]
    None,
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
}

/// Whether an enrolled method can be used right now.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodStatus {
    /// Usable.
    #[default]
    Usable,
    /// Temporarily throttled after failed attempts (NIST SP 800-63B-4 §3.2.2): not offered.
    Throttled,
    /// Locked or suspended (too many failures, administrator action): not offered.
    Locked,
}

/// An authentication method the user has enrolled, and what it would prove.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolledMethod {
    /// The method.
    pub method: Method,
    /// Which credential.
    pub credential: CredentialId,
    /// What a check of it proves; `None` means the method's
    /// [baseline](Method::baseline_properties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<AuthenticatorProperties>,
    /// Whether it can be used now.
    #[serde(default)]
    pub status: MethodStatus,
}

impl EnrolledMethod {
    /// A usable method with its baseline properties.
    #[must_use]
    pub fn new(method: Method, credential: impl Into<CredentialId>) -> Self {
        Self {
            method,
            credential: credential.into(),
            properties: None,
            status: MethodStatus::Usable,
        }
    }

    /// Sets what a check of it proves.
    #[must_use]
    pub fn with_properties(mut self, properties: AuthenticatorProperties) -> Self {
        self.properties = Some(properties);
        self
    }

    /// Sets whether it can be used now.
    #[must_use]
    pub fn with_status(mut self, status: MethodStatus) -> Self {
        self.status = status;
        self
    }

    /// What a check of it proves.
    #[must_use]
    pub fn effective_properties(&self) -> AuthenticatorProperties {
        self.properties
            .unwrap_or_else(|| self.method.baseline_properties())
    }
}

/// Who is signing in.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInfo {
    /// A stable user id.
    pub id: String,
    /// Group ids the user belongs to (transitively, as the directory reports them).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Directory role ids or names the user holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Member or guest.
    #[serde(default)]
    pub kind: UserKind,
    /// The per-user MFA state.
    #[serde(default)]
    pub mfa_state: PerUserMfa,
    /// Enrolled authentication methods.
    #[serde(default)]
    pub methods: Vec<EnrolledMethod>,
}

/// The device signing in, as far as it is known.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    /// The platform, when identified.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Managed (joined to or registered with the organisation's device management).
    #[serde(default)]
    pub managed: bool,
    /// Marked compliant by device management.
    #[serde(default)]
    pub compliant: bool,
    /// Until when an earlier multi-factor sign-in is remembered on this device, if it is.
    #[serde(default)]
    pub remembered_until: Option<UnixTime>,
}

/// Everything the engine knows about one sign-in: user, target, client, network, device, risk,
/// time, and the evidence the session has gathered so far.
///
/// Read from JSON with [`SignInContext::from_json`], or built in code with
/// [`SignInContext::builder`]:
///
/// ```
/// use mfa_core::{Evidence, Method, UnixTime};
/// use mfa_policy::{ClientApp, EnrolledMethod, SignInContext};
///
/// let now = UnixTime::from_secs(1_800_000_000);
/// let context = SignInContext::builder("alice", "mail", now)
///     .group("staff")
///     .client_app(ClientApp::Browser)
///     .ip("198.51.100.7".parse()?)
///     .country("NL")
///     .enrolled(EnrolledMethod::new(Method::Totp, "phone-app"))
///     .evidence(Evidence::new(Method::Password, now, "pw"))
///     .build();
/// assert_eq!(context.user.groups, ["staff"]);
/// let json = serde_json::to_string(&context)?;
/// assert_eq!(SignInContext::from_json(&json)?, context);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInContext {
    /// Who.
    pub user: UserInfo,
    /// The target application's id.
    pub application: String,
    /// What the user is doing.
    #[serde(default)]
    pub action: UserAction,
    /// The kind of client.
    #[serde(default)]
    pub client_app: ClientApp,
    /// The client presented an app password (legacy protocols).
    #[serde(default)]
    pub app_password: bool,
    /// The client's IP address, if known.
    #[serde(default)]
    pub ip: Option<IpAddr>,
    /// The client's country (ISO 3166-1 alpha-2, compared without regard to case), if known.
    #[serde(default)]
    pub country: Option<String>,
    /// The device.
    #[serde(default)]
    pub device: DeviceInfo,
    /// Risk of this sign-in.
    #[serde(default)]
    pub sign_in_risk: RiskLevel,
    /// Risk that the account is compromised.
    #[serde(default)]
    pub user_risk: RiskLevel,
    /// Now, as the caller's clock says.
    pub now: UnixTime,
    /// What this session has proved so far.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

impl SignInContext {
    /// Starts building a context: a member user with no groups, a browser sign-in, no risk.
    pub fn builder(
        user_id: impl Into<String>,
        application: impl Into<String>,
        now: UnixTime,
    ) -> SignInContextBuilder {
        SignInContextBuilder(Self {
            user: UserInfo {
                id: user_id.into(),
                ..UserInfo::default()
            },
            application: application.into(),
            action: UserAction::SignIn,
            client_app: ClientApp::Browser,
            app_password: false,
            ip: None,
            country: None,
            device: DeviceInfo::default(),
            sign_in_risk: RiskLevel::None,
            user_risk: RiskLevel::None,
            now,
            evidence: Vec::new(),
        })
    }

    /// Reads a context from JSON (unknown fields refused).
    ///
    /// # Errors
    ///
    /// [`PolicyError::TooLarge`] over [`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN);
    /// [`PolicyError::TooDeep`] past [`MAX_NESTING`](crate::MAX_NESTING);
    /// [`PolicyError::Syntax`] with line, column and field otherwise.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        crate::format::from_json(text)
    }

    /// Adds a piece of evidence (after a factor's check succeeded).
    pub fn add_evidence(&mut self, evidence: Evidence) {
        self.evidence.push(evidence);
    }
}

/// Builds a [`SignInContext`] step by step; see [`SignInContext::builder`].
#[derive(Clone, Debug)]
#[must_use = "call .build() to get the context"]
pub struct SignInContextBuilder(SignInContext);

impl SignInContextBuilder {
    /// Adds a group.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.0.user.groups.push(group.into());
        self
    }

    /// Adds a role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.0.user.roles.push(role.into());
        self
    }

    /// Sets member or guest.
    pub fn user_kind(mut self, kind: UserKind) -> Self {
        self.0.user.kind = kind;
        self
    }

    /// Sets the per-user MFA state.
    pub fn mfa_state(mut self, state: PerUserMfa) -> Self {
        self.0.user.mfa_state = state;
        self
    }

    /// Adds an enrolled method.
    pub fn enrolled(mut self, method: EnrolledMethod) -> Self {
        self.0.user.methods.push(method);
        self
    }

    /// Sets the user action.
    pub fn action(mut self, action: UserAction) -> Self {
        self.0.action = action;
        self
    }

    /// Sets the client app type.
    pub fn client_app(mut self, client_app: ClientApp) -> Self {
        self.0.client_app = client_app;
        self
    }

    /// Marks the sign-in as made with an app password.
    pub fn app_password(mut self, yes: bool) -> Self {
        self.0.app_password = yes;
        self
    }

    /// Sets the client IP address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.0.ip = Some(ip);
        self
    }

    /// Sets the client country (ISO 3166-1 alpha-2).
    pub fn country(mut self, country: impl Into<String>) -> Self {
        self.0.country = Some(country.into());
        self
    }

    /// Sets the device platform.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.0.device.platform = Some(platform);
        self
    }

    /// Sets whether the device is managed.
    pub fn managed(mut self, yes: bool) -> Self {
        self.0.device.managed = yes;
        self
    }

    /// Sets whether the device is compliant.
    pub fn compliant(mut self, yes: bool) -> Self {
        self.0.device.compliant = yes;
        self
    }

    /// Sets until when MFA is remembered on this device.
    pub fn remembered_until(mut self, until: UnixTime) -> Self {
        self.0.device.remembered_until = Some(until);
        self
    }

    /// Sets the sign-in risk.
    pub fn sign_in_risk(mut self, level: RiskLevel) -> Self {
        self.0.sign_in_risk = level;
        self
    }

    /// Sets the user risk.
    pub fn user_risk(mut self, level: RiskLevel) -> Self {
        self.0.user_risk = level;
        self
    }

    /// Adds evidence the session already holds.
    pub fn evidence(mut self, evidence: Evidence) -> Self {
        self.0.evidence.push(evidence);
        self
    }

    /// The context.
    #[must_use]
    pub fn build(self) -> SignInContext {
        self.0
    }
}
