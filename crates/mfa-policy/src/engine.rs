//! [`Engine`]: a compiled, indexed [`PolicySet`], and its evaluation of a [`SignInContext`].

use std::collections::HashMap;

use crate::conditions::{Conditions, Failed, Interner, Probe};
use crate::context::{ClientApp, PerUserMfa, SignInContext, UserAction};
use crate::decision::{
    BlockReason, ControlSet, Decision, Evaluation, EvidenceRefs, MetRef, SessionOutcome, StepUp,
    Stored, StrengthMet, Trace,
};
use crate::error::PolicyError;
use crate::policy::{
    ALL_APPLICATIONS, Assignment, Control, Grant, LocationRef, NamedLocation, Operator, PolicySet,
    PolicyState, SessionControls,
};
use crate::strength::{
    AuthenticationStrength, BUILTIN_STRENGTHS, FactorRequirement, MAX_COMBINATION_LEN, assign,
    evidence_satisfies,
};

/// The name under which the per-user MFA state appears in decisions and traces.
pub const PER_USER_MFA_POLICY: &str = "per_user_mfa";

/// How far in the future evidence may be dated (the caller's clocks may disagree a little).
const CLOCK_SKEW: core::time::Duration = core::time::Duration::from_secs(5 * 60);

/// At most this many pieces of evidence are considered, the most recent ones (the end of the list).
pub const MAX_EVIDENCE: usize = 64;

/// A location reference resolved to an index.
#[derive(Clone, Copy, Debug)]
enum Place {
    Any,
    AllTrusted,
    Named(usize),
}

#[derive(Clone, Debug)]
enum CompiledGrant {
    Nothing,
    Block,
    Require {
        strength: Option<usize>,
        controls: Vec<Control>,
        operator: Operator,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledPolicy {
    pub(crate) name: String,
    pub(crate) state: PolicyState,
    all_applications: bool,
    include_applications: Vec<String>,
    exclude_applications: Vec<String>,
    user_actions: Vec<UserAction>,
    include_places: Vec<Place>,
    exclude_places: Vec<Place>,
    grant: CompiledGrant,
    session: SessionControls,
}

impl CompiledPolicy {
    pub(crate) fn application_matches(&self, application: &str) -> bool {
        (self.all_applications || self.include_applications.iter().any(|a| a == application))
            && !self.exclude_applications.iter().any(|a| a == application)
    }
}

/// Policy indices per user action: slot `UserAction::index()`, and slot 4 for "any action".
type ActionBuckets = [Vec<u32>; 5];
const ANY_ACTION: usize = 4;

/// A compiled policy set, ready to evaluate sign-ins.
///
/// Compiling resolves every strength and location name (an unknown one is an error, not a
/// silently inert policy) and indexes policies by application and user action, the assignments
/// that exclude most, so a sign-in only examines the policies that can apply to its target.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) policies: Vec<CompiledPolicy>,
    pub(crate) locations: Vec<NamedLocation>,
    pub(crate) strengths: Vec<AuthenticationStrength>,
    any_application: ActionBuckets,
    by_application: HashMap<String, ActionBuckets>,
    per_user: CompiledPolicy,
    /// The user ids, groups and roles the policies name.
    interner: Interner,
    /// Each policy's users, user actions, client apps, platforms, risks and devices, compiled;
    /// beside the policies, so that ruling a policy out reads a hundred contiguous bytes.
    conditions: Vec<Conditions>,
}

fn invalid(item: &str, field: &'static str, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        item: item.to_owned(),
        field,
        problem: problem.into(),
    }
}

impl Engine {
    /// Compiles and indexes a policy set.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] for an empty or duplicate name, a custom strength that reuses a
    /// built-in name or fails [`AuthenticationStrength::validate`], a grant that blocks and
    /// requires at once, a reference to an unknown strength or location, or a
    /// `remember_device_days` outside 1 to 365.
    pub fn new(set: PolicySet) -> Result<Self, PolicyError> {
        let PolicySet {
            locations,
            strengths: custom,
            policies,
        } = set;
        for (i, location) in locations.iter().enumerate() {
            if location.name.is_empty() || location.name == "any" || location.name == "all_trusted"
            {
                return Err(invalid(
                    &location.name,
                    "name",
                    "a location needs a name other than `any` and `all_trusted`",
                ));
            }
            if locations
                .iter()
                .take(i)
                .any(|earlier| earlier.name == location.name)
            {
                return Err(invalid(
                    &location.name,
                    "name",
                    "another location has this name",
                ));
            }
        }
        let mut strengths: Vec<AuthenticationStrength> = BUILTIN_STRENGTHS
            .iter()
            .filter_map(|name| AuthenticationStrength::builtin(name))
            .collect();
        for strength in custom {
            if strengths.iter().any(|known| known.name == strength.name) {
                return Err(invalid(
                    &strength.name,
                    "name",
                    "a built-in or earlier strength has this name",
                ));
            }
            strength.validate()?;
            strengths.push(strength);
        }
        // Evaluation stores strength indices as `u32` (a few bytes per policy outcome).
        if u32::try_from(strengths.len()).is_err() {
            return Err(invalid("", "strengths", "too many strengths"));
        }
        let mut compiled = Vec::with_capacity(policies.len());
        let mut interner = Interner::default();
        let mut all_conditions = Vec::with_capacity(compiled.capacity());
        for (i, policy) in policies.into_iter().enumerate() {
            if policy.name.is_empty() {
                return Err(invalid(
                    "",
                    "name",
                    format!("policy #{} has no name", i.saturating_add(1)),
                ));
            }
            if compiled
                .iter()
                .any(|earlier: &CompiledPolicy| earlier.name == policy.name)
            {
                return Err(invalid(
                    &policy.name,
                    "name",
                    "another policy has this name",
                ));
            }
            let grant = compile_grant(&policy.name, &policy.grant, &strengths)?;
            if let Some(days) = policy.session.remember_device_days
                && !(1..=365).contains(&days)
            {
                return Err(invalid(
                    &policy.name,
                    "remember_device_days",
                    "must be 1 to 365",
                ));
            }
            let resolve = |refs: &[LocationRef]| -> Result<Vec<Place>, PolicyError> {
                refs.iter()
                    .map(|reference| match reference {
                        LocationRef::Any => Ok(Place::Any),
                        LocationRef::AllTrusted => Ok(Place::AllTrusted),
                        LocationRef::Named(name) => locations
                            .iter()
                            .position(|location| &location.name == name)
                            .map(Place::Named)
                            .ok_or_else(|| {
                                invalid(
                                    &policy.name,
                                    "locations",
                                    format!("no location is named `{name}`"),
                                )
                            }),
                    })
                    .collect()
            };
            let assignments = policy.assignments;
            let include_places = resolve(&assignments.locations.include)?;
            let exclude_places = resolve(&assignments.locations.exclude)?;
            let all_applications = assignments
                .applications
                .include
                .iter()
                .any(|app| app == ALL_APPLICATIONS);
            let mut include_applications: Vec<String> = assignments
                .applications
                .include
                .into_iter()
                .filter(|app| app != ALL_APPLICATIONS)
                .collect();
            include_applications.sort();
            include_applications.dedup();
            let mut user_actions = assignments.user_actions;
            user_actions.sort();
            user_actions.dedup();
            let mut conditions = Conditions::new(
                &mut interner,
                (&assignments.users.include, &assignments.users.exclude),
                &user_actions,
                &assignments.client_apps,
                &assignments.platforms,
                &assignments.sign_in_risk,
                &assignments.user_risk,
                &assignments.devices,
            );
            conditions.excludes_applications = !assignments.applications.exclude.is_empty();
            conditions.has_locations = !include_places.is_empty() || !exclude_places.is_empty();
            all_conditions.push(conditions);
            compiled.push(CompiledPolicy {
                name: policy.name,
                state: policy.state,
                all_applications,
                include_applications,
                exclude_applications: assignments.applications.exclude,
                user_actions,
                include_places,
                exclude_places,
                grant,
                session: policy.session,
            });
        }
        let mut any_application: ActionBuckets = Default::default();
        let mut by_application: HashMap<String, ActionBuckets> = HashMap::new();
        for (i, policy) in compiled.iter().enumerate() {
            if policy.state == PolicyState::Off {
                continue;
            }
            let index = u32::try_from(i)
                .map_err(|_| invalid(&policy.name, "policies", "too many policies"))?;
            let slots: Vec<usize> = if policy.user_actions.is_empty() {
                vec![ANY_ACTION]
            } else {
                policy
                    .user_actions
                    .iter()
                    .map(|action| action.index())
                    .collect()
            };
            let file = |buckets: &mut ActionBuckets| {
                for &slot in &slots {
                    if let Some(bucket) = buckets.get_mut(slot) {
                        bucket.push(index);
                    }
                }
            };
            if policy.all_applications {
                file(&mut any_application);
            } else {
                for application in &policy.include_applications {
                    file(by_application.entry(application.clone()).or_default());
                }
            }
        }
        let mfa = strengths.iter().position(|strength| strength.name == "mfa");
        let per_user = CompiledPolicy {
            name: PER_USER_MFA_POLICY.to_owned(),
            state: PolicyState::On,
            all_applications: true,
            include_applications: Vec::new(),
            exclude_applications: Vec::new(),
            user_actions: Vec::new(),
            include_places: Vec::new(),
            exclude_places: Vec::new(),
            grant: CompiledGrant::Require {
                strength: mfa,
                controls: Vec::new(),
                operator: Operator::And,
            },
            session: SessionControls::default().remember_device_days(365),
        };
        Ok(Self {
            policies: compiled,
            locations,
            strengths,
            any_application,
            by_application,
            per_user,
            conditions: all_conditions,
            interner,
        })
    }

    /// Reads TOML in the native format and compiles it.
    ///
    /// # Errors
    ///
    /// As [`PolicySet::from_toml`] and [`Engine::new`].
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        Self::new(PolicySet::from_toml(text)?)
    }

    /// Reads JSON in the native format and compiles it.
    ///
    /// # Errors
    ///
    /// As [`PolicySet::from_json`] and [`Engine::new`].
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        Self::new(PolicySet::from_json(text)?)
    }

    /// The number of policies (all states).
    #[must_use]
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are no policies.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// A strength by name, built in or custom.
    #[must_use]
    pub fn strength(&self, name: &str) -> Option<&AuthenticationStrength> {
        self.strengths.iter().find(|strength| strength.name == name)
    }

    pub(crate) fn policy(&self, index: u32) -> &CompiledPolicy {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.policies.get(i))
            .unwrap_or(&self.per_user)
    }

    /// Decides a sign-in: every policy whose assignments all hold applies, every applying policy
    /// must be satisfied, and a block wins. Report-only policies are evaluated and traced but not
    /// enforced; disabled ones are skipped. A per-user MFA state of `enabled` or `enforced` acts
    /// as one more policy, [`PER_USER_MFA_POLICY`].
    ///
    /// Only the most recent [`MAX_EVIDENCE`] pieces of evidence are considered.
    #[must_use = "the decision says whether to let the user in"]
    pub fn evaluate<'e>(&'e self, context: &'e SignInContext) -> Evaluation<'e> {
        let evidence_start = context.evidence.len().saturating_sub(MAX_EVIDENCE);
        let evidence = context.evidence.get(evidence_start..).unwrap_or_default();
        let place_hits: Vec<bool> = self
            .locations
            .iter()
            .map(|location| location.contains(context.ip, context.country.as_deref()))
            .collect();
        let trusted_hit = self
            .locations
            .iter()
            .zip(&place_hits)
            .any(|(location, hit)| location.trusted && *hit);
        let scope = Scope {
            engine: self,
            context,
            evidence,
            evidence_start,
            place_hits,
            trusted_hit,
            probe: Probe::new(&self.interner, context),
            strength_cache: core::cell::RefCell::new(Vec::new()),
        };

        let action = context.action.index();
        let empty: &[u32] = &[];
        let pick = |buckets: Option<&'e ActionBuckets>, slot: usize| {
            buckets
                .and_then(|b| b.get(slot))
                .map_or(empty, Vec::as_slice)
        };
        let for_application = self.by_application.get(context.application.as_str());
        let lists = [
            pick(Some(&self.any_application), ANY_ACTION),
            pick(Some(&self.any_application), action),
            pick(for_application, ANY_ACTION),
            pick(for_application, action),
        ];
        let mut evaluated: Vec<(u32, Stored)> = Vec::with_capacity(
            lists
                .iter()
                .map(|list| list.len())
                .sum::<usize>()
                .saturating_add(1),
        );
        for index in Merged::new(lists) {
            let policy = self.policy(index);
            let Some(conditions) = usize::try_from(index)
                .ok()
                .and_then(|i| self.conditions.get(i))
            else {
                continue; // unreachable: the index holds policy indices
            };
            // The index holds no policy that is off. One push per kind of outcome: composing
            // them into one value first costs a store-forwarding stall per policy.
            if let Some(assignment) = scope.excluded_by(policy, conditions) {
                evaluated.push((index, Stored::NotApplied(assignment)));
            } else {
                evaluated.push((index, scope.grant_outcome(policy)));
            }
        }
        if context.user.mfa_state != PerUserMfa::Disabled {
            evaluated.push((u32::MAX, scope.per_user_outcome()));
        }
        let decision = scope.decide(&evaluated);
        let met = scope
            .strength_cache
            .into_inner()
            .into_iter()
            .map(|(_, _, _, met)| met)
            .collect();
        Evaluation {
            decision,
            trace: Trace::new(self, context, evaluated, met),
        }
    }
}

fn compile_grant(
    policy: &str,
    grant: &Grant,
    strengths: &[AuthenticationStrength],
) -> Result<CompiledGrant, PolicyError> {
    if grant.block {
        if grant.authentication_strength.is_some() || !grant.controls.is_empty() {
            return Err(invalid(
                policy,
                "grant",
                "`block` cannot be combined with a strength or controls",
            ));
        }
        return Ok(CompiledGrant::Block);
    }
    let strength = match &grant.authentication_strength {
        None => None,
        Some(name) => Some(
            strengths
                .iter()
                .position(|strength| &strength.name == name)
                .ok_or_else(|| {
                    invalid(
                        policy,
                        "authentication_strength",
                        format!("no strength is named `{name}`"),
                    )
                })?,
        ),
    };
    if strength.is_none() && grant.controls.is_empty() {
        return Ok(CompiledGrant::Nothing);
    }
    let mut controls = grant.controls.clone();
    controls.dedup();
    Ok(CompiledGrant::Require {
        strength,
        controls,
        operator: grant.operator,
    })
}

/// Merges sorted index lists (each policy is in at most one of them) in policy order.
struct Merged<'a> {
    lists: [&'a [u32]; 4],
}

impl<'a> Merged<'a> {
    fn new(lists: [&'a [u32]; 4]) -> Self {
        Self { lists }
    }
}

impl Iterator for Merged<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (slot, head) = self
            .lists
            .iter()
            .enumerate()
            .filter_map(|(slot, list)| list.first().map(|head| (slot, *head)))
            .min_by_key(|(_, head)| *head)?;
        if let Some(list) = self.lists.get_mut(slot) {
            *list = list.get(1..).unwrap_or_default();
        }
        Some(head)
    }
}

/// The [`Assignment`] a failed compiled condition stands for.
fn assignment(failed: Failed) -> Assignment {
    match failed {
        Failed::ClientApps => Assignment::ClientApps,
        Failed::Platforms => Assignment::Platforms,
        Failed::SignInRisk => Assignment::SignInRisk,
        Failed::UserRisk => Assignment::UserRisk,
        Failed::Devices => Assignment::Devices,
    }
}

/// One evaluation's borrowed inputs.
struct Scope<'e> {
    engine: &'e Engine,
    context: &'e SignInContext,
    evidence: &'e [mfa_core::Evidence],
    evidence_start: usize,
    place_hits: Vec<bool>,
    trusted_hit: bool,
    /// The sign-in's user, groups, roles and other enumerable values, resolved once.
    probe: Probe,
    /// Many policies require the same strength under the same session controls: each
    /// (strength, sign-in frequency, remember-device days) is matched against the evidence once.
    strength_cache: core::cell::RefCell<Vec<StrengthCacheEntry<'e>>>,
}

type StrengthCacheEntry<'e> = (
    usize,
    Option<crate::policy::SignInFrequency>,
    Option<u16>,
    Option<StrengthMet<'e>>,
);

impl<'e> Scope<'e> {
    fn place_hit(&self, place: Place) -> bool {
        match place {
            Place::Any => true,
            Place::AllTrusted => self.trusted_hit,
            Place::Named(i) => self.place_hits.get(i).copied().unwrap_or(false),
        }
    }

    /// The first assignment that does not hold, in the order of the native format.
    ///
    /// Only for policies the index selected: they include the sign-in's application and are on.
    fn excluded_by(&self, policy: &CompiledPolicy, conditions: &Conditions) -> Option<Assignment> {
        let probe = &self.probe;
        if !conditions.users_hold(probe) {
            return Some(Assignment::Users);
        }
        if conditions.excludes_applications
            && !policy.application_matches(&self.context.application)
        {
            return Some(Assignment::Applications);
        }
        if !conditions.action_holds(probe) {
            return Some(Assignment::UserActions);
        }
        if let Some(failed) = conditions.client_failure(probe) {
            return Some(assignment(failed));
        }
        if conditions.has_locations
            && ((!policy.include_places.is_empty()
                && !policy
                    .include_places
                    .iter()
                    .any(|place| self.place_hit(*place)))
                || policy
                    .exclude_places
                    .iter()
                    .any(|place| self.place_hit(*place)))
        {
            return Some(Assignment::Locations);
        }
        conditions.risk_failure(probe).map(assignment)
    }

    fn fresh(&self, session: &SessionControls) -> impl Fn(&mfa_core::Evidence) -> bool + use<> {
        let now = self.context.now;
        let latest = now.saturating_add(CLOCK_SKEW);
        let max_age = session
            .sign_in_frequency
            .map(|frequency| frequency.max_age());
        move |piece: &mfa_core::Evidence| {
            piece.verified_at <= latest
                && max_age.is_none_or(|age| now.saturating_since(piece.verified_at) <= age)
        }
    }

    fn remembered(&self, session: &SessionControls) -> bool {
        let now = self.context.now;
        match (
            self.context.device.remembered_until,
            session.remember_device_days,
        ) {
            (Some(until), Some(days)) => {
                let longest = now.saturating_add(core::time::Duration::from_secs(
                    u64::from(days).saturating_mul(86_400),
                ));
                until > now && until <= longest
            }
            _ => false,
        }
    }

    /// Which evidence satisfies a strength under a policy's session controls (memoized).
    fn strength_met(&self, strength_index: usize, session: &SessionControls) -> Option<u32> {
        let key = (
            strength_index,
            session.sign_in_frequency,
            session.remember_device_days,
        );
        let slot = |i: usize, met: &Option<StrengthMet<'e>>| {
            met.as_ref().and_then(|_| u32::try_from(i).ok())
        };
        if let Some((i, hit)) = self
            .strength_cache
            .borrow()
            .iter()
            .enumerate()
            .find(|(_, (index, frequency, days, _))| (*index, *frequency, *days) == key)
        {
            return slot(i, &hit.3);
        }
        let met = self.match_strength(strength_index, session);
        let mut cache = self.strength_cache.borrow_mut();
        let i = cache.len();
        cache.push((key.0, key.1, key.2, met));
        slot(i, &met)
    }

    fn match_strength(
        &self,
        strength_index: usize,
        session: &SessionControls,
    ) -> Option<StrengthMet<'e>> {
        let strength = self.engine.strengths.get(strength_index)?;
        let fresh = self.fresh(session);
        let mut chosen = [0_usize; MAX_COMBINATION_LEN];
        for combination in &strength.combinations {
            if evidence_satisfies(strength, combination, self.evidence, &fresh, &mut chosen) {
                let used = chosen.get(..combination.0.len()).unwrap_or_default();
                return Some(StrengthMet::Evidence {
                    strength: &strength.name,
                    combination,
                    evidence: EvidenceRefs::new(
                        used.iter().map(|i| i.saturating_add(self.evidence_start)),
                    ),
                });
            }
        }
        if self.remembered(session) {
            return Some(StrengthMet::RememberedDevice {
                strength: &strength.name,
            });
        }
        None
    }

    #[inline(always)]
    fn grant_outcome(&self, policy: &'e CompiledPolicy) -> Stored {
        let (strength, controls, operator) = match &policy.grant {
            CompiledGrant::Nothing => {
                return Stored::Satisfied {
                    strength: MetRef::Nothing,
                    controls: ControlSet::EMPTY,
                };
            }
            CompiledGrant::Block => return Stored::Blocks(BlockReason::BlockedByPolicy),
            CompiledGrant::Require {
                strength,
                controls,
                operator,
            } => (*strength, controls, *operator),
        };
        let device = &self.context.device;
        let mut met = ControlSet::EMPTY;
        let mut missing = ControlSet::EMPTY;
        for control in controls {
            let holds = match control {
                Control::CompliantDevice => device.compliant,
                Control::ManagedDevice => device.managed,
            };
            if holds {
                met = met.with(*control);
            } else {
                missing = missing.with(*control);
            }
        }
        let strength_met = strength.and_then(|index| self.strength_met(index, &policy.session));
        let strength_missing = strength.is_some() && strength_met.is_none();
        let satisfied = match operator {
            Operator::And => !strength_missing && missing.is_empty(),
            Operator::Or => strength_met.is_some() || !met.is_empty(),
        };
        if satisfied {
            Stored::Satisfied {
                strength: strength_met.map_or(MetRef::Nothing, MetRef::Cached),
                controls: met,
            }
        } else {
            Stored::Unsatisfied {
                // Below `u32::MAX`: `Engine::new` refuses more strengths.
                strength: strength
                    .filter(|_| strength_missing)
                    .and_then(|index| u32::try_from(index).ok()),
                controls: missing,
                operator,
            }
        }
    }

    fn per_user_outcome(&self) -> Stored {
        let context = self.context;
        if context.client_app == ClientApp::Legacy {
            return match (context.user.mfa_state, context.app_password) {
                (PerUserMfa::Enforced, false) => {
                    Stored::Blocks(BlockReason::LegacyWithoutAppPassword)
                }
                (_, true) => Stored::Satisfied {
                    strength: MetRef::AppPassword,
                    controls: ControlSet::EMPTY,
                },
                _ => Stored::Satisfied {
                    strength: MetRef::Nothing,
                    controls: ControlSet::EMPTY,
                },
            };
        }
        self.grant_outcome(&self.engine.per_user)
    }

    fn decide(&self, evaluated: &[(u32, Stored)]) -> Decision<'e> {
        // The outcome is tested before the policy is looked up: most policies do not apply.
        let enforced = |applies: fn(&Stored) -> bool| {
            evaluated
                .iter()
                .filter(move |(_, outcome)| applies(outcome))
                .map(|(index, outcome)| (self.engine.policy(*index), outcome))
                .filter(|(policy, _)| policy.state == PolicyState::On)
        };
        // Block wins: an explicit block first, then requirements no second factor can meet.
        for (policy, outcome) in enforced(|outcome| matches!(outcome, Stored::Blocks(_))) {
            if let Stored::Blocks(reason) = outcome {
                return Decision::Block {
                    policy: &policy.name,
                    reason: *reason,
                };
            }
        }
        let mut step_up: Option<(&'e CompiledPolicy, &'e str)> = None;
        for (policy, outcome) in enforced(|outcome| matches!(outcome, Stored::Unsatisfied { .. })) {
            let Stored::Unsatisfied {
                strength,
                controls,
                operator,
            } = *outcome
            else {
                continue;
            };
            let strength = strength
                .and_then(|index| usize::try_from(index).ok())
                .and_then(|index| self.engine.strengths.get(index))
                .map(|s| s.name.as_str());
            let strength_would_do =
                strength.is_some() && (operator == Operator::Or || controls.is_empty());
            match strength {
                Some(strength) if strength_would_do => {
                    if self.context.client_app == ClientApp::Legacy {
                        return Decision::Block {
                            policy: &policy.name,
                            reason: BlockReason::LegacyClientCannotStepUp,
                        };
                    }
                    step_up = step_up.or(Some((policy, strength)));
                }
                _ => {
                    return Decision::Block {
                        policy: &policy.name,
                        reason: BlockReason::ControlsNotMet(controls),
                    };
                }
            }
        }
        if let Some((policy, strength_name)) = step_up {
            return Decision::StepUp(self.step_up(policy, strength_name));
        }
        let mut session = SessionOutcome::default();
        for (policy, _) in enforced(|outcome| matches!(outcome, Stored::Satisfied { .. })) {
            if policy.name == PER_USER_MFA_POLICY {
                continue;
            }
            if let Some(frequency) = policy.session.sign_in_frequency {
                let stricter = session
                    .sign_in_frequency
                    .is_none_or(|current| frequency.max_age() < current.max_age());
                if stricter {
                    session.sign_in_frequency = Some(frequency);
                }
            }
            if let Some(days) = policy.session.remember_device_days {
                session.remember_device_days = Some(
                    session
                        .remember_device_days
                        .map_or(days, |current| current.min(days)),
                );
            }
        }
        Decision::Allow { session }
    }

    fn step_up(&self, policy: &'e CompiledPolicy, strength_name: &'e str) -> StepUp<'e> {
        let Some(strength) = self.engine.strength(strength_name) else {
            return StepUp {
                policy: &policy.name,
                strength: strength_name,
                acceptable: &[],
                usable_now: Vec::new(),
                enroll: Vec::new(),
                unavailable: Vec::new(),
            };
        };
        let fresh = self.fresh(&policy.session);
        let methods = &self.context.user.methods;
        let usable: Vec<(mfa_core::Method, mfa_core::AuthenticatorProperties)> = self
            .evidence
            .iter()
            .filter(|piece| fresh(piece))
            .map(|piece| (piece.method, piece.properties))
            .chain(
                methods
                    .iter()
                    .filter(|m| m.status == crate::context::MethodStatus::Usable)
                    .map(|m| (m.method, m.effective_properties())),
            )
            .collect();
        let fits = |requirement: &FactorRequirement, i: usize| {
            usable.get(i).is_some_and(|(method, properties)| {
                requirement.accepts(*method, properties) && strength.permits(*method, properties)
            })
        };
        let mut chosen = [0_usize; MAX_COMBINATION_LEN];
        let usable_now: Vec<_> = strength
            .combinations
            .iter()
            .filter(|combination| assign(&combination.0, usable.len(), &fits, &mut chosen))
            .collect();
        let mut enroll = Vec::new();
        if usable_now.is_empty() {
            let missing_of = |combination: &'e crate::strength::Combination| {
                let missing: Vec<FactorRequirement> = combination
                    .0
                    .iter()
                    .filter(|requirement| !(0..usable.len()).any(|i| fits(requirement, i)))
                    .copied()
                    .collect();
                if missing.is_empty() {
                    combination.0.last().copied().into_iter().collect()
                } else {
                    missing
                }
            };
            if let Some(easiest) = strength
                .combinations
                .iter()
                .map(missing_of)
                .min_by_key(Vec::len)
            {
                enroll = easiest;
            }
        }
        let unavailable = methods
            .iter()
            .filter(|m| m.status != crate::context::MethodStatus::Usable)
            .filter(|m| {
                let properties = m.effective_properties();
                strength.combinations.iter().any(|combination| {
                    combination.0.iter().any(|requirement| {
                        requirement.accepts(m.method, &properties)
                            && strength.permits(m.method, &properties)
                    })
                })
            })
            .map(|m| &m.credential)
            .collect();
        StepUp {
            policy: &policy.name,
            strength: &strength.name,
            acceptable: &strength.combinations,
            usable_now,
            enroll,
            unavailable,
        }
    }
}
