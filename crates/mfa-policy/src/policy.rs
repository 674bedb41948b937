//! The policy model: [`PolicySet`], [`Policy`], its [`Assignments`], [`Grant`] and
//! [`SessionControls`]. The same types are read from TOML or JSON and built in code.

use core::fmt;
use core::str::FromStr;
use core::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cidr::Cidr;
use crate::context::{ClientApp, Platform, RiskLevel, UserAction};
use crate::error::PolicyError;
use crate::strength::AuthenticationStrength;

/// A whole policy file: named locations, custom strengths, and the policies, in order.
///
/// Read with [`PolicySet::from_toml`] or [`PolicySet::from_json`] (unknown fields are refused),
/// or built in code; compile with [`Engine::new`](crate::Engine::new).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySet {
    /// Named locations policies may refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<NamedLocation>,
    /// Custom authentication strengths (the built-in ones need no definition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strengths: Vec<AuthenticationStrength>,
    /// The policies.
    #[serde(default)]
    pub policies: Vec<Policy>,
}

impl PolicySet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a named location.
    #[must_use]
    pub fn location(mut self, location: NamedLocation) -> Self {
        self.locations.push(location);
        self
    }

    /// Adds a custom strength.
    #[must_use]
    pub fn strength(mut self, strength: AuthenticationStrength) -> Self {
        self.strengths.push(strength);
        self
    }

    /// Adds a policy.
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policies.push(policy);
        self
    }

    /// Reads the native format in TOML.
    ///
    /// # Errors
    ///
    /// [`PolicyError::TooLarge`], [`PolicyError::TooDeep`], or [`PolicyError::Syntax`] with the
    /// line, column and the field the parser complained about. Whether references resolve is
    /// checked by [`Engine::new`](crate::Engine::new).
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        crate::format::from_toml(text)
    }

    /// Reads the native format in JSON.
    ///
    /// # Errors
    ///
    /// As [`PolicySet::from_toml`].
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        crate::format::from_json(text)
    }
}

/// A named location: networks and countries, trusted (such as the office) or not.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedLocation {
    /// The name policies refer to.
    pub name: String,
    /// Marked trusted: part of `all_trusted`.
    #[serde(default)]
    pub trusted: bool,
    /// Networks; a sign-in from an address in any of them is in this location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<Cidr>,
    /// Countries (ISO 3166-1 alpha-2, any case); a sign-in from any of them is in this location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Also contains sign-ins whose country is unknown.
    #[serde(default)]
    pub include_unknown_country: bool,
}

impl NamedLocation {
    /// An empty, untrusted location.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            trusted: false,
            cidrs: Vec::new(),
            countries: Vec::new(),
            include_unknown_country: false,
        }
    }

    /// Marks it trusted.
    #[must_use]
    pub fn trusted(mut self) -> Self {
        self.trusted = true;
        self
    }

    /// Adds a network.
    #[must_use]
    pub fn cidr(mut self, network: Cidr) -> Self {
        self.cidrs.push(network);
        self
    }

    /// Adds a country.
    #[must_use]
    pub fn country(mut self, code: impl Into<String>) -> Self {
        self.countries.push(code.into());
        self
    }

    pub(crate) fn contains(&self, ip: Option<std::net::IpAddr>, country: Option<&str>) -> bool {
        let by_network = ip.is_some_and(|ip| self.cidrs.iter().any(|network| network.contains(ip)));
        let by_country = match country {
            Some(code) => self
                .countries
                .iter()
                .any(|listed| listed.eq_ignore_ascii_case(code)),
            None => self.include_unknown_country,
        };
        by_network || by_country
    }
}

/// Whether a policy is enforced.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyState {
    /// Enforced.
    #[default]
    On,
    /// Skipped.
    Off,
    /// Evaluated and reported in the trace, never enforced ("what if").
    ReportOnly,
}

impl fmt::Display for PolicyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::On => "on",
            Self::Off => "off",
            Self::ReportOnly => "report_only",
        })
    }
}

/// A conditional-access policy: when its [`Assignments`] all hold, its [`Grant`] must be
/// satisfied, and its [`SessionControls`] apply.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// A name unique in its set; decisions and traces name policies by it.
    pub name: String,
    /// On, off, or report-only (default on).
    #[serde(default)]
    pub state: PolicyState,
    /// Whom and what it applies to (default: everyone, everything).
    #[serde(default)]
    pub assignments: Assignments,
    /// What it requires.
    #[serde(default)]
    pub grant: Grant,
    /// Session limits.
    #[serde(default)]
    pub session: SessionControls,
}

impl Policy {
    /// A policy that applies to everyone and everything and requires nothing: refine it.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            state: PolicyState::On,
            assignments: Assignments::default(),
            grant: Grant::default(),
            session: SessionControls::default(),
        }
    }

    /// Sets the state.
    #[must_use]
    pub fn state(mut self, state: PolicyState) -> Self {
        self.state = state;
        self
    }

    /// Sets the assignments.
    #[must_use]
    pub fn assignments(mut self, assignments: Assignments) -> Self {
        self.assignments = assignments;
        self
    }

    /// Sets the grant.
    #[must_use]
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    /// Sets the session controls.
    #[must_use]
    pub fn session(mut self, session: SessionControls) -> Self {
        self.session = session;
        self
    }
}

/// Which condition of a policy's assignments did not hold (named as in the native format).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// `users`: the user is not included, or is excluded.
    Users,
    /// `applications`: the target application is not included, or is excluded.
    Applications,
    /// `user_actions`: the user action is not listed.
    UserActions,
    /// `client_apps`.
    ClientApps,
    /// `platforms`.
    Platforms,
    /// `locations`.
    Locations,
    /// `sign_in_risk`.
    SignInRisk,
    /// `user_risk`.
    UserRisk,
    /// `devices`.
    Devices,
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Users => "users",
            Self::Applications => "applications",
            Self::UserActions => "user_actions",
            Self::ClientApps => "client_apps",
            Self::Platforms => "platforms",
            Self::Locations => "locations",
            Self::SignInRisk => "sign_in_risk",
            Self::UserRisk => "user_risk",
            Self::Devices => "devices",
        })
    }
}

/// The conditions under which a policy applies; all must hold. An empty list means "any".
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignments {
    /// Users, groups, roles, guests (default: all users).
    #[serde(default)]
    pub users: UserCondition,
    /// Target applications (default: all).
    #[serde(default)]
    pub applications: ApplicationCondition,
    /// User actions the policy covers (empty: any action).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_actions: Vec<UserAction>,
    /// Client app types.
    #[serde(default)]
    pub client_apps: ClientAppCondition,
    /// Device platforms.
    #[serde(default)]
    pub platforms: PlatformCondition,
    /// Named locations.
    #[serde(default)]
    pub locations: LocationCondition,
    /// Sign-in risk levels the policy covers (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sign_in_risk: Vec<RiskLevel>,
    /// User risk levels the policy covers (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_risk: Vec<RiskLevel>,
    /// Device states.
    #[serde(default)]
    pub devices: DeviceCondition,
}

/// A set of users: everyone, or listed users, groups, roles, and (or) guests.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSet {
    /// Every user.
    #[serde(default)]
    pub all: bool,
    /// Every guest or external user.
    #[serde(default)]
    pub guests: bool,
    /// User ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Group ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Role ids or names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl UserSet {
    /// Every user.
    #[must_use]
    pub fn everyone() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    /// Nobody (add users, groups or roles).
    #[must_use]
    pub fn nobody() -> Self {
        Self::default()
    }

    /// Adds a user id.
    #[must_use]
    pub fn user(mut self, id: impl Into<String>) -> Self {
        self.users.push(id.into());
        self
    }

    /// Adds a group id.
    #[must_use]
    pub fn group(mut self, id: impl Into<String>) -> Self {
        self.groups.push(id.into());
        self
    }

    /// Adds a role.
    #[must_use]
    pub fn role(mut self, id: impl Into<String>) -> Self {
        self.roles.push(id.into());
        self
    }

    /// Adds all guests.
    #[must_use]
    pub fn guests(mut self) -> Self {
        self.guests = true;
        self
    }
}

/// Users a policy includes, minus those it excludes (exclusion wins).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCondition {
    /// Included (default: everyone).
    #[serde(default = "UserSet::everyone")]
    pub include: UserSet,
    /// Excluded (default: nobody).
    #[serde(default)]
    pub exclude: UserSet,
}

impl Default for UserCondition {
    fn default() -> Self {
        Self {
            include: UserSet::everyone(),
            exclude: UserSet::nobody(),
        }
    }
}

/// Applications a policy includes, minus those it excludes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationCondition {
    /// Included application ids; `["all"]` (the default) means every application.
    #[serde(default = "all_applications")]
    pub include: Vec<String>,
    /// Excluded application ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// The application id that means "every application" in [`ApplicationCondition::include`].
pub const ALL_APPLICATIONS: &str = "all";

fn all_applications() -> Vec<String> {
    vec![ALL_APPLICATIONS.to_owned()]
}

impl Default for ApplicationCondition {
    fn default() -> Self {
        Self {
            include: all_applications(),
            exclude: Vec::new(),
        }
    }
}

/// A client app type a policy can name: the context's [`ClientApp`] kinds, and sign-ins made with
/// an app password (which are legacy sign-ins too).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAppKind {
    /// [`ClientApp::Browser`].
    Browser,
    /// [`ClientApp::MobileDesktop`].
    MobileDesktop,
    /// [`ClientApp::Legacy`], with or without an app password.
    Legacy,
    /// Any sign-in that presented an app password.
    AppPassword,
}

impl ClientAppKind {
    pub(crate) fn matches(self, client_app: ClientApp, app_password: bool) -> bool {
        match self {
            Self::Browser => client_app == ClientApp::Browser,
            Self::MobileDesktop => client_app == ClientApp::MobileDesktop,
            Self::Legacy => client_app == ClientApp::Legacy,
            Self::AppPassword => app_password,
        }
    }
}

/// Client app types a policy includes (empty: any) minus those it excludes.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientAppCondition {
    /// Included (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<ClientAppKind>,
    /// Excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<ClientAppKind>,
}

/// Device platforms a policy includes (empty: any; a sign-in whose platform is unknown is then
/// not included) minus those it excludes.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformCondition {
    /// Included (empty: any platform, known or not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<Platform>,
    /// Excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Platform>,
}

/// A reference to locations: `"any"`, `"all_trusted"`, or a [`NamedLocation`]'s name.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocationRef {
    /// Anywhere.
    Any,
    /// Any location marked trusted.
    AllTrusted,
    /// A named location.
    Named(String),
}

impl Serialize for LocationRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            Self::Any => "any",
            Self::AllTrusted => "all_trusted",
            Self::Named(name) => name,
        })
    }
}

impl<'de> Deserialize<'de> for LocationRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(match name.as_str() {
            "any" => Self::Any,
            "all_trusted" => Self::AllTrusted,
            _ => Self::Named(name),
        })
    }
}

/// Locations a policy includes (empty: anywhere) minus those it excludes.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationCondition {
    /// Included (empty: anywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<LocationRef>,
    /// Excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<LocationRef>,
}

/// A device state a policy can name.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Managed by the organisation.
    Managed,
    /// Not managed.
    Unmanaged,
    /// Marked compliant.
    Compliant,
    /// Not marked compliant.
    Noncompliant,
}

impl DeviceState {
    pub(crate) fn holds(self, managed: bool, compliant: bool) -> bool {
        match self {
            Self::Managed => managed,
            Self::Unmanaged => !managed,
            Self::Compliant => compliant,
            Self::Noncompliant => !compliant,
        }
    }
}

/// Device states a policy includes (empty: any; one listed state holding is enough) minus those
/// it excludes (one holding excludes).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCondition {
    /// Included (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<DeviceState>,
    /// Excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<DeviceState>,
}

/// A grant control other than an authentication strength.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// The device is marked compliant.
    CompliantDevice,
    /// The device is managed (Entra's "hybrid Azure AD joined device" maps here).
    ManagedDevice,
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CompliantDevice => "compliant_device",
            Self::ManagedDevice => "managed_device",
        })
    }
}

/// How a grant combines its strength and controls.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// All of them (the default).
    #[default]
    And,
    /// Any one of them.
    Or,
}

/// What an applying policy requires: block, or an authentication strength and (or) controls.
/// An empty grant requires nothing (a policy of session controls only).
///
/// In TOML: `grant = { block = true }`, or
/// `grant = { authentication_strength = "mfa", controls = ["compliant_device"], operator = "or" }`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Block access; nothing else may be set.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub block: bool,
    /// The name of a built-in or custom [`AuthenticationStrength`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_strength: Option<String>,
    /// Further controls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<Control>,
    /// How the strength and controls combine.
    #[serde(default)]
    pub operator: Operator,
}

impl Grant {
    /// Blocks access.
    #[must_use]
    pub fn block() -> Self {
        Self {
            block: true,
            ..Self::default()
        }
    }

    /// Requires an authentication strength.
    #[must_use]
    pub fn require(strength: impl Into<String>) -> Self {
        Self {
            authentication_strength: Some(strength.into()),
            ..Self::default()
        }
    }

    /// Adds a control.
    #[must_use]
    pub fn control(mut self, control: Control) -> Self {
        self.controls.push(control);
        self
    }

    /// Any one of the strength and controls is enough.
    #[must_use]
    pub fn any_of(mut self) -> Self {
        self.operator = Operator::Or;
        self
    }
}

/// How long a sign-in's evidence counts: every time, or some hours or days.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignInFrequency {
    /// Fresh evidence each time: only evidence from the last [`EVERY_TIME_TOLERANCE`] counts.
    EveryTime,
    /// Evidence counts for this many hours (1 to 8760).
    Hours(u16),
    /// Evidence counts for this many days (1 to 365).
    Days(u16),
}

/// What "every time" tolerates between a factor's check and the decision: five minutes, the clock
/// skew Microsoft documents for its "every time" sign-in frequency (as we understand it).
pub const EVERY_TIME_TOLERANCE: Duration = Duration::from_secs(5 * 60);

impl SignInFrequency {
    /// How old evidence may be.
    #[must_use]
    pub fn max_age(self) -> Duration {
        match self {
            Self::EveryTime => EVERY_TIME_TOLERANCE,
            Self::Hours(hours) => Duration::from_secs(u64::from(hours).saturating_mul(3600)),
            Self::Days(days) => Duration::from_secs(u64::from(days).saturating_mul(86_400)),
        }
    }
}

impl fmt::Display for SignInFrequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EveryTime => f.write_str("every_time"),
            Self::Hours(hours) => write!(f, "{hours}h"),
            Self::Days(days) => write!(f, "{days}d"),
        }
    }
}

impl FromStr for SignInFrequency {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || PolicyError::InvalidSignInFrequency {
            text: text.chars().take(64).collect(),
        };
        if text == "every_time" {
            return Ok(Self::EveryTime);
        }
        let split = text.len().saturating_sub(1);
        let (digits, unit) = (text.get(..split).ok_or_else(invalid)?, text.get(split..));
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: u16 = digits.parse().map_err(|_| invalid())?;
        match unit {
            Some("h") if (1..=8760).contains(&count) => Ok(Self::Hours(count)),
            Some("d") if (1..=365).contains(&count) => Ok(Self::Days(count)),
            _ => Err(invalid()),
        }
    }
}

impl Serialize for SignInFrequency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SignInFrequency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Session controls of a policy.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionControls {
    /// Evidence older than this does not count toward this policy's grant, and the caller should
    /// end the session after it (`"every_time"`, `"12h"`, `"7d"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_frequency: Option<SignInFrequency>,
    /// The device may remember a multi-factor sign-in for this many days (1 to 365), and a device
    /// remembered (for no longer than that) satisfies this policy's authentication strength.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_device_days: Option<u16>,
}

impl SessionControls {
    /// Sets the sign-in frequency.
    #[must_use]
    pub fn sign_in_frequency(mut self, frequency: SignInFrequency) -> Self {
        self.sign_in_frequency = Some(frequency);
        self
    }

    /// Lets the device be remembered for `days`.
    #[must_use]
    pub fn remember_device_days(mut self, days: u16) -> Self {
        self.remember_device_days = Some(days);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_frequency_table() {
        let cases: &[(&str, Option<SignInFrequency>)] = &[
            ("every_time", Some(SignInFrequency::EveryTime)),
            ("12h", Some(SignInFrequency::Hours(12))),
            ("8760h", Some(SignInFrequency::Hours(8760))),
            ("8761h", None),
            ("1d", Some(SignInFrequency::Days(1))),
            ("365d", Some(SignInFrequency::Days(365))),
            ("366d", None),
            ("0h", None),
            ("h", None),
            ("", None),
            ("12", None),
            ("+1d", None),
            ("1w", None),
            ("é", None),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<SignInFrequency>().ok(), *expected, "{text}");
        }
        assert_eq!(
            SignInFrequency::Hours(12).max_age(),
            Duration::from_secs(43_200)
        );
    }
}
