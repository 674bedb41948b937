//! A policy's conditions compiled to integer work: user, group and role names interned to ids,
//! and each enumerable condition (user action, client app, platform, risk, device state) turned
//! into a mask of the sign-in values under which it holds. An evaluation works out its own
//! values once ([`Probe`]), so testing one policy is a few comparisons and no string compares.

use std::collections::HashMap;

use crate::context::{ClientApp, Platform, RiskLevel, SignInContext, UserAction, UserKind};
use crate::policy::{
    ClientAppCondition, ClientAppKind, DeviceCondition, DeviceState, PlatformCondition, UserSet,
};

/// Names (user ids, groups, roles) to ids; the three kinds share one id space, so a policy's
/// set and a sign-in's memberships are each one list.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    users: HashMap<String, u32>,
    groups: HashMap<String, u32>,
    roles: HashMap<String, u32>,
    next: u32,
}

impl Interner {
    fn intern(map: &mut HashMap<String, u32>, next: &mut u32, name: &str) -> u32 {
        if let Some(id) = map.get(name) {
            return *id;
        }
        let id = *next;
        *next = next.saturating_add(1);
        map.insert(name.to_owned(), id);
        id
    }

    /// A set of users compiled against this interner.
    pub(crate) fn compile(&mut self, set: &UserSet) -> IdSet {
        let mut ids: Vec<u32> = Vec::new();
        for user in &set.users {
            ids.push(Self::intern(&mut self.users, &mut self.next, user));
        }
        for group in &set.groups {
            ids.push(Self::intern(&mut self.groups, &mut self.next, group));
        }
        for role in &set.roles {
            ids.push(Self::intern(&mut self.roles, &mut self.next, role));
        }
        ids.sort_unstable();
        ids.dedup();
        IdSet {
            all: set.all,
            guests: set.guests,
            filter: filter(&ids),
            ids: Ids::new(ids),
        }
    }

    /// The ids of the sign-in's user, groups and roles that some policy names, sorted.
    fn memberships(&self, context: &SignInContext) -> Vec<u32> {
        let user = &context.user;
        let mut ids: Vec<u32> = Vec::with_capacity(
            user.groups
                .len()
                .saturating_add(user.roles.len())
                .saturating_add(1),
        );
        ids.extend(self.users.get(&user.id).copied());
        ids.extend(
            user.groups
                .iter()
                .filter_map(|g| self.groups.get(g).copied()),
        );
        ids.extend(user.roles.iter().filter_map(|r| self.roles.get(r).copied()));
        ids.sort_unstable();
        ids
    }
}

/// A one-word summary of a set of ids (bit `id % 64` of each): two sets whose filters share no
/// bit share no id, which rules most policies out without reading their id lists.
fn filter(ids: &[u32]) -> u64 {
    ids.iter().fold(0, |filter, id| {
        filter | 1_u64.checked_shl(id % 64).unwrap_or(0)
    })
}

/// A [`UserSet`] with its names interned.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdSet {
    all: bool,
    guests: bool,
    /// [`filter`] of `ids`.
    filter: u64,
    ids: Ids,
}

/// How many ids an [`IdSet`] holds inline (most sets name a few groups or roles): testing a
/// policy then reads no memory beyond the policy itself.
const INLINE_IDS: usize = 4;

/// A sorted list of ids, inline when short.
#[derive(Clone, Debug)]
enum Ids {
    Inline { ids: [u32; INLINE_IDS], len: u8 },
    Spilled(Box<[u32]>),
}

impl Default for Ids {
    fn default() -> Self {
        Self::Inline {
            ids: [0; INLINE_IDS],
            len: 0,
        }
    }
}

impl Ids {
    fn new(list: Vec<u32>) -> Self {
        let mut ids = [0; INLINE_IDS];
        match (ids.get_mut(..list.len()), u8::try_from(list.len())) {
            (Some(slots), Ok(len)) => {
                slots.copy_from_slice(&list);
                Self::Inline { ids, len }
            }
            _ => Self::Spilled(list.into_boxed_slice()),
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u32] {
        match self {
            Self::Inline { ids, len } => ids.get(..usize::from(*len)).unwrap_or_default(),
            Self::Spilled(ids) => ids,
        }
    }
}

impl IdSet {
    #[inline]
    fn contains(&self, probe: &Probe) -> bool {
        self.all
            || (self.guests && probe.guest)
            || (self.filter & probe.filter != 0
                && self
                    .ids
                    .as_slice()
                    .iter()
                    .any(|id| probe.memberships.binary_search(id).is_ok()))
    }
}

/// The sign-in values of each enumerable condition (client app with or without an app password,
/// platform or none, risk level, managed and compliant, action), as bit positions.
const CLIENT_APPS: [ClientApp; 3] = [
    ClientApp::Browser,
    ClientApp::MobileDesktop,
    ClientApp::Legacy,
];
const PLATFORMS: [Option<Platform>; 7] = [
    None,
    Some(Platform::Windows),
    Some(Platform::MacOs),
    Some(Platform::Linux),
    Some(Platform::IOs),
    Some(Platform::Android),
    Some(Platform::Other),
];
const RISKS: [RiskLevel; 4] = [
    RiskLevel::None,
    RiskLevel::Low,
    RiskLevel::Medium,
    RiskLevel::High,
];
const DEVICE_STATES: [(bool, bool); 4] =
    [(false, false), (false, true), (true, false), (true, true)];

/// A mask with bit `i` set when `holds(value i)`.
fn mask<T: Copy>(values: impl IntoIterator<Item = T>, holds: impl Fn(T) -> bool) -> u16 {
    values
        .into_iter()
        .zip(0_u32..)
        .filter(|(value, _)| holds(*value))
        .fold(0, |mask, (_, bit)| {
            mask | 1_u16.checked_shl(bit).unwrap_or(0)
        })
}

/// The bit of the first value equal to `value` (0 when none is: every kind is listed above).
fn bit<T: PartialEq>(values: &[T], value: &T) -> u16 {
    values
        .iter()
        .zip(0_u32..)
        .find(|(candidate, _)| *candidate == value)
        .map_or(0, |(_, bit)| 1_u16.checked_shl(bit).unwrap_or(0))
}

/// Include (empty: any) minus exclude, over one kind of value.
fn include_exclude<K: Copy, V: Copy>(
    values: impl IntoIterator<Item = V>,
    include: &[K],
    exclude: &[K],
    matches: impl Fn(K, V) -> bool,
) -> u16 {
    mask(values, |value| {
        (include.is_empty() || include.iter().any(|k| matches(*k, value)))
            && !exclude.iter().any(|k| matches(*k, value))
    })
}

fn client_keys() -> impl Iterator<Item = (ClientApp, bool)> {
    CLIENT_APPS
        .into_iter()
        .flat_map(|app| [(app, false), (app, true)])
}

/// A policy's assignments other than applications and locations, compiled.
#[derive(Clone, Debug)]
pub(crate) struct Conditions {
    include: IdSet,
    exclude: IdSet,
    /// Masks of the values under which each condition holds (every bit set: no condition).
    actions: u16,
    client_apps: u16,
    platforms: u16,
    sign_in_risk: u16,
    user_risk: u16,
    devices: u16,
    /// Whether the policy excludes applications (the index guarantees the inclusion).
    pub(crate) excludes_applications: bool,
    /// Whether the policy has a locations condition.
    pub(crate) has_locations: bool,
}

/// One policy's assignment that did not hold, among those [`Conditions`] tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failed {
    ClientApps,
    Platforms,
    SignInRisk,
    UserRisk,
    Devices,
}

impl Conditions {
    /// Compiles the conditions; `actions` empty means any action.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        interner: &mut Interner,
        users: (&UserSet, &UserSet),
        actions: &[UserAction],
        client_apps: &ClientAppCondition,
        platforms: &PlatformCondition,
        sign_in_risk: &[RiskLevel],
        user_risk: &[RiskLevel],
        devices: &DeviceCondition,
    ) -> Self {
        let risk =
            |levels: &[RiskLevel]| include_exclude(RISKS, levels, &[], |k: RiskLevel, v| k == v);
        Self {
            include: interner.compile(users.0),
            exclude: interner.compile(users.1),
            actions: include_exclude(UserAction::ALL, actions, &[], |k: UserAction, v| k == v),
            client_apps: include_exclude(
                client_keys(),
                &client_apps.include,
                &client_apps.exclude,
                |k: ClientAppKind, (app, password)| k.matches(app, password),
            ),
            platforms: include_exclude(
                PLATFORMS,
                &platforms.include,
                &platforms.exclude,
                |k: Platform, v: Option<Platform>| v == Some(k),
            ),
            sign_in_risk: risk(sign_in_risk),
            user_risk: risk(user_risk),
            devices: include_exclude(
                DEVICE_STATES,
                &devices.include,
                &devices.exclude,
                |k: DeviceState, (managed, compliant)| k.holds(managed, compliant),
            ),
            excludes_applications: true,
            has_locations: true,
        }
    }

    /// Whether the users assignment holds.
    #[inline]
    pub(crate) fn users_hold(&self, probe: &Probe) -> bool {
        self.include.contains(probe) && !self.exclude.contains(probe)
    }

    /// Whether the user actions assignment holds.
    #[inline]
    pub(crate) fn action_holds(&self, probe: &Probe) -> bool {
        self.actions & probe.action != 0
    }

    /// The first of client apps and platforms that does not hold.
    #[inline]
    pub(crate) fn client_failure(&self, probe: &Probe) -> Option<Failed> {
        if self.client_apps & probe.client_app == 0 {
            Some(Failed::ClientApps)
        } else if self.platforms & probe.platform == 0 {
            Some(Failed::Platforms)
        } else {
            None
        }
    }

    /// The first of sign-in risk, user risk and devices that does not hold.
    #[inline]
    pub(crate) fn risk_failure(&self, probe: &Probe) -> Option<Failed> {
        if self.sign_in_risk & probe.sign_in_risk == 0 {
            Some(Failed::SignInRisk)
        } else if self.user_risk & probe.user_risk == 0 {
            Some(Failed::UserRisk)
        } else if self.devices & probe.device == 0 {
            Some(Failed::Devices)
        } else {
            None
        }
    }
}

/// One sign-in's values, worked out once per evaluation.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    guest: bool,
    memberships: Vec<u32>,
    /// [`filter`] of `memberships`.
    filter: u64,
    action: u16,
    client_app: u16,
    platform: u16,
    sign_in_risk: u16,
    user_risk: u16,
    device: u16,
}

impl Probe {
    pub(crate) fn new(interner: &Interner, context: &SignInContext) -> Self {
        let device = &context.device;
        let client_key = (context.client_app, context.app_password);
        let memberships = interner.memberships(context);
        Self {
            guest: context.user.kind == UserKind::Guest,
            filter: filter(&memberships),
            memberships,
            action: bit(&UserAction::ALL, &context.action),
            client_app: client_keys()
                .zip(0_u32..)
                .find(|(key, _)| *key == client_key)
                .map_or(0, |(_, b)| 1_u16.checked_shl(b).unwrap_or(0)),
            platform: bit(&PLATFORMS, &device.platform),
            sign_in_risk: bit(&RISKS, &context.sign_in_risk),
            user_risk: bit(&RISKS, &context.user_risk),
            device: bit(&DEVICE_STATES, &(device.managed, device.compliant)),
        }
    }
}

#[cfg(test)]
mod tests {
    use mfa_core::UnixTime;

    use crate::policy::Assignment;
    use crate::{Engine, PolicyOutcome, SignInContext};

    /// Sets longer than the inline capacity, and ids past 64 (filter bits shared), still match
    /// exactly.
    #[test]
    fn long_sets_and_shared_filter_bits() {
        let groups: Vec<String> = (0..70).map(|i| format!("\"g{i}\"")).collect();
        let text = format!(
            "[[policies]]\nname = \"p\"\nassignments.users = {{ include = {{ groups = [{}] }}, exclude = {{ roles = [\"r1\", \"r2\", \"r3\", \"r4\", \"r5\"] }} }}\ngrant = {{ block = true }}\n",
            groups.join(", ")
        );
        let engine = Engine::from_toml(&text).expect("compiles");
        let now = UnixTime::from_secs(1_800_000_000);
        let outcome = |context: SignInContext| match engine
            .evaluate(&context)
            .trace
            .entry("p")
            .expect("traced")
            .outcome
        {
            PolicyOutcome::NotApplied { excluded_by } => Some(excluded_by),
            _ => None,
        };
        let in_group = SignInContext::builder("u", "app", now).group("g69").build();
        assert_eq!(outcome(in_group), None);
        let first = SignInContext::builder("u", "app", now).group("g0").build();
        assert_eq!(outcome(first), None);
        let excluded = SignInContext::builder("u", "app", now)
            .group("g69")
            .role("r5")
            .build();
        let other = SignInContext::builder("u", "app", now).group("g70").build();
        for context in [excluded, other] {
            assert_eq!(outcome(context), Some(Assignment::Users));
        }
    }
}
