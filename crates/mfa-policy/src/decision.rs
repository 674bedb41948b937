//! What an evaluation returns: a [`Decision`] and its [`Trace`].

use core::fmt;

use mfa_core::CredentialId;
use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use crate::context::SignInContext;
use crate::engine::{Engine, PER_USER_MFA_POLICY};
use crate::policy::{Assignment, Control, Operator, PolicyState, SignInFrequency};
use crate::strength::{Combination, FactorRequirement, MAX_COMBINATION_LEN};

/// The outcome of [`Engine::evaluate`]: the decision, and the trace that explains it.
///
/// Serializes as `{"decision": "allow" | "step_up" | "block", …, "trace": [...]}`.
#[derive(Clone, Debug, Serialize)]
#[must_use = "the decision says whether to let the user in"]
pub struct Evaluation<'e> {
    /// What to do.
    #[serde(flatten)]
    pub decision: Decision<'e>,
    /// Why.
    pub trace: Trace<'e>,
}

/// What to do with the sign-in.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision<'e> {
    /// Every applying policy is satisfied; apply these session limits.
    Allow {
        /// The strictest session controls of the applying policies.
        session: SessionOutcome,
    },
    /// Refused.
    Block {
        /// The policy that blocks (the first in order).
        policy: &'e str,
        /// Why.
        reason: BlockReason,
    },
    /// More evidence is needed: ask for a second factor, then evaluate again.
    StepUp(StepUp<'e>),
}

impl Decision<'_> {
    /// Whether the decision is [`Decision::Allow`].
    #[must_use]
    pub fn is_allow(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }

    /// The name used in JSON: `allow`, `step_up` or `block`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Allow { .. } => "allow",
            Self::Block { .. } => "block",
            Self::StepUp(_) => "step_up",
        }
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow { .. } => f.write_str("allow"),
            Self::Block { policy, reason } => write!(f, "block by `{policy}`: {reason}"),
            Self::StepUp(step_up) => write!(
                f,
                "step up to `{}` for `{}`",
                step_up.strength, step_up.policy
            ),
        }
    }
}

/// Why a sign-in is blocked.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "controls")]
pub enum BlockReason {
    /// The policy's grant is `block`.
    BlockedByPolicy,
    /// The policy requires device controls that do not hold and that no second factor replaces.
    ControlsNotMet(ControlSet),
    /// The policy requires a strength the session lacks, and a legacy-protocol client cannot be
    /// asked for a second factor.
    LegacyClientCannotStepUp,
    /// Per-user MFA is `enforced`, and a legacy-protocol sign-in did not use an app password.
    LegacyWithoutAppPassword,
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BlockedByPolicy => f.write_str("the policy blocks access"),
            Self::ControlsNotMet(controls) => {
                write!(f, "required device controls not met: {controls}")
            }
            Self::LegacyClientCannotStepUp => {
                f.write_str("a second factor is required and a legacy client cannot provide one")
            }
            Self::LegacyWithoutAppPassword => {
                f.write_str("per-user MFA is enforced: legacy clients need an app password")
            }
        }
    }
}

/// A step-up: which strength to reach, how, and what the user can do about it now.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepUp<'e> {
    /// The first enforced policy that needs more evidence (evaluate again afterwards: a later
    /// policy may need more).
    pub policy: &'e str,
    /// The strength it requires.
    pub strength: &'e str,
    /// Every combination that would satisfy it.
    pub acceptable: &'e [Combination],
    /// The combinations the user can complete now, with fresh evidence and enrolled methods that
    /// are neither throttled nor locked: offer these.
    pub usable_now: Vec<&'e Combination>,
    /// When nothing is usable now: the requirements of the combination that needs the fewest new
    /// methods. Enroll first (by a path that does not itself demand them, such as a temporary
    /// access pass): never a dead end.
    pub enroll: Vec<FactorRequirement>,
    /// Enrolled credentials that would help but are throttled or locked now.
    pub unavailable: Vec<&'e CredentialId>,
}

/// Session limits of an allowed sign-in: the strictest of the applying policies.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SessionOutcome {
    /// Ask for a fresh sign-in after this.
    pub sign_in_frequency: Option<SignInFrequency>,
    /// The device may remember this multi-factor sign-in for this many days.
    pub remember_device_days: Option<u16>,
}

/// A small set of [`Control`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ControlSet(u8);

impl ControlSet {
    /// No control.
    pub const EMPTY: Self = Self(0);

    const fn bit(control: Control) -> u8 {
        match control {
            Control::CompliantDevice => 1,
            Control::ManagedDevice => 2,
        }
    }

    /// This set and `control`.
    #[must_use]
    pub const fn with(self, control: Control) -> Self {
        Self(self.0 | Self::bit(control))
    }

    /// Whether `control` is in the set.
    #[must_use]
    pub const fn contains(self, control: Control) -> bool {
        self.0 & Self::bit(control) != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The controls in the set.
    pub fn iter(self) -> impl Iterator<Item = Control> {
        [Control::CompliantDevice, Control::ManagedDevice]
            .into_iter()
            .filter(move |control| self.contains(*control))
    }
}

impl fmt::Display for ControlSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, control) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{control}")?;
        }
        Ok(())
    }
}

impl Serialize for ControlSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Indices into [`SignInContext::evidence`] of the pieces that satisfied a combination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EvidenceRefs {
    indices: [u32; MAX_COMBINATION_LEN],
    len: u8,
}

impl EvidenceRefs {
    pub(crate) fn new(indices: impl Iterator<Item = usize>) -> Self {
        let mut refs = Self::default();
        for index in indices {
            // An index is below the context's evidence length, which cannot reach 2^32 in
            // memory (each piece is tens of bytes); saturate rather than wrap all the same.
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            if let Some(slot) = refs.indices.get_mut(usize::from(refs.len)) {
                *slot = index;
                refs.len = refs.len.saturating_add(1);
            }
        }
        refs
    }

    /// The indices.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.as_slice_u32()
            .iter()
            .map(|index| usize::try_from(*index).unwrap_or(usize::MAX))
    }

    fn as_slice_u32(&self) -> &[u32] {
        self.indices
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }
}

impl Serialize for EvidenceRefs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_slice_u32())
    }
}

/// How a policy's authentication strength was met.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum StrengthMet<'e> {
    /// By these pieces of evidence, matching this combination.
    Evidence {
        /// The strength.
        strength: &'e str,
        /// The combination they satisfy.
        combination: &'e Combination,
        /// Indices into the context's evidence, one per requirement, in order.
        evidence: EvidenceRefs,
    },
    /// By a device on which an earlier multi-factor sign-in is remembered.
    RememberedDevice {
        /// The strength.
        strength: &'e str,
    },
    /// By an app password (per-user MFA, legacy clients only).
    AppPassword,
}

/// What satisfied an applying policy.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Satisfaction<'e> {
    /// How its strength was met (`None`: none was required, or another control sufficed).
    pub strength: Option<StrengthMet<'e>>,
    /// The required controls that held.
    pub controls: ControlSet,
}

/// What an applying policy still lacks.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Shortfall<'e> {
    /// The strength not yet met, if one is required and missing.
    pub strength: Option<&'e str>,
    /// Required controls that do not hold.
    pub controls: ControlSet,
    /// Whether any one (`or`) or all (`and`) were needed.
    pub operator: Operator,
}

/// What became of one policy in one evaluation.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PolicyOutcome<'e> {
    /// The policy is off.
    Off,
    /// An assignment did not hold, so the policy does not apply.
    NotApplied {
        /// The first assignment that did not hold.
        excluded_by: Assignment,
    },
    /// The policy applies and blocks (for report-only policies: would block).
    Blocks {
        /// Why.
        reason: BlockReason,
    },
    /// The policy applies and is satisfied.
    Satisfied(Satisfaction<'e>),
    /// The policy applies and is not satisfied (for report-only policies: would require).
    Unsatisfied(Shortfall<'e>),
}

impl PolicyOutcome<'_> {
    /// Whether the policy applied.
    #[must_use]
    pub fn applied(&self) -> bool {
        !matches!(self, Self::Off | Self::NotApplied { .. })
    }
}

/// How a satisfied policy's strength was met, as stored during evaluation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MetRef {
    /// No strength was needed (or another control sufficed).
    Nothing,
    /// The evaluation's memo of strength matches, at this slot.
    Cached(u32),
    /// An app password (per-user MFA, legacy clients).
    AppPassword,
}

/// A [`PolicyOutcome`] as stored during evaluation: a few bytes per policy, so that evaluating a
/// thousand policies does not copy a thousand full outcomes around.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stored {
    NotApplied(Assignment),
    Blocks(BlockReason),
    Satisfied {
        strength: MetRef,
        controls: ControlSet,
    },
    Unsatisfied {
        /// Index of the missing strength in the engine.
        strength: Option<u32>,
        controls: ControlSet,
        operator: Operator,
    },
}

/// One line of a [`Trace`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEntry<'e> {
    /// The policy (or [`PER_USER_MFA_POLICY`]).
    pub policy: &'e str,
    /// Its state: report-only outcomes are reported, never enforced.
    pub state: PolicyState,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: PolicyOutcome<'e>,
}

/// Every policy's outcome in one evaluation, in policy order, then [`PER_USER_MFA_POLICY`] when the
/// user's per-user MFA state is not `disabled`.
///
/// Policies the index ruled out are not stored: their line (off, or not applied by
/// `applications` or `user_actions`) is worked out when the trace is read.
#[derive(Clone, Debug)]
pub struct Trace<'e> {
    engine: &'e Engine,
    application: &'e str,
    evaluated: Vec<(u32, Stored)>,
    met: Vec<Option<StrengthMet<'e>>>,
}

impl<'e> Trace<'e> {
    pub(crate) fn new(
        engine: &'e Engine,
        context: &'e SignInContext,
        evaluated: Vec<(u32, Stored)>,
        met: Vec<Option<StrengthMet<'e>>>,
    ) -> Self {
        Self {
            engine,
            application: &context.application,
            evaluated,
            met,
        }
    }

    fn resolve(&self, stored: Stored) -> PolicyOutcome<'e> {
        match stored {
            Stored::NotApplied(excluded_by) => PolicyOutcome::NotApplied { excluded_by },
            Stored::Blocks(reason) => PolicyOutcome::Blocks { reason },
            Stored::Satisfied { strength, controls } => PolicyOutcome::Satisfied(Satisfaction {
                strength: match strength {
                    MetRef::Nothing => None,
                    MetRef::AppPassword => Some(StrengthMet::AppPassword),
                    MetRef::Cached(slot) => usize::try_from(slot)
                        .ok()
                        .and_then(|slot| self.met.get(slot))
                        .copied()
                        .flatten(),
                },
                controls,
            }),
            Stored::Unsatisfied {
                strength,
                controls,
                operator,
            } => PolicyOutcome::Unsatisfied(Shortfall {
                strength: strength
                    .and_then(|index| usize::try_from(index).ok())
                    .and_then(|index| self.engine.strengths.get(index))
                    .map(|s| s.name.as_str()),
                controls,
                operator,
            }),
        }
    }

    /// Every policy's line, in order.
    pub fn entries(&self) -> impl Iterator<Item = TraceEntry<'e>> + '_ {
        let mut stored = self.evaluated.iter().peekable();
        let engine = self.engine;
        let policies = engine.policies.iter().enumerate().map(move |(i, policy)| {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let outcome = match stored.next_if(|(at, _)| *at == index) {
                Some((_, outcome)) => self.resolve(*outcome),
                None if policy.state == PolicyState::Off => PolicyOutcome::Off,
                None if policy.application_matches(self.application) => PolicyOutcome::NotApplied {
                    excluded_by: Assignment::UserActions,
                },
                None => PolicyOutcome::NotApplied {
                    excluded_by: Assignment::Applications,
                },
            };
            TraceEntry {
                policy: &policy.name,
                state: policy.state,
                outcome,
            }
        });
        let per_user = self
            .evaluated
            .last()
            .filter(|(index, _)| *index == u32::MAX)
            .map(|(_, outcome)| TraceEntry {
                policy: PER_USER_MFA_POLICY,
                state: PolicyState::On,
                outcome: self.resolve(*outcome),
            });
        policies.chain(per_user)
    }

    /// The line of one policy.
    #[must_use]
    pub fn entry(&self, policy: &str) -> Option<TraceEntry<'e>> {
        self.entries().find(|entry| entry.policy == policy)
    }

    /// The lines of the policies that applied.
    pub fn applied(&self) -> impl Iterator<Item = TraceEntry<'e>> + '_ {
        self.entries().filter(|entry| entry.outcome.applied())
    }

    /// The lines of report-only policies: would block, would require, satisfied or not applied.
    pub fn report_only(&self) -> impl Iterator<Item = TraceEntry<'e>> + '_ {
        self.entries()
            .filter(|entry| entry.state == PolicyState::ReportOnly)
    }
}

impl Serialize for Trace<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for entry in self.entries() {
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}
