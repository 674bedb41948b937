//! Authentication strengths: which combinations of [`Evidence`] satisfy a requirement.

use core::fmt;

use mfa_core::{AuthenticatorProperties, Evidence, Method};
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

/// The most requirements one [`Combination`] may list.
pub const MAX_COMBINATION_LEN: usize = 8;

/// An authenticator assurance level of NIST SP 800-63B-4 (§2.1–§2.3), serialized as `1`, `2`, `3`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum NistAal {
    /// AAL1 (§2.1): single- or multi-factor.
    Aal1,
    /// AAL2 (§2.2): two distinct factors; a phishing-resistant option must be offered.
    Aal2,
    /// AAL3 (§2.3): phishing-resistant, with a non-exportable (hardware-bound) key.
    Aal3,
}

impl TryFrom<u8> for NistAal {
    type Error = &'static str;

    fn try_from(level: u8) -> Result<Self, Self::Error> {
        match level {
            1 => Ok(Self::Aal1),
            2 => Ok(Self::Aal2),
            3 => Ok(Self::Aal3),
            _ => Err("a NIST AAL is 1, 2 or 3"),
        }
    }
}

impl From<NistAal> for u8 {
    fn from(level: NistAal) -> Self {
        match level {
            NistAal::Aal1 => 1,
            NistAal::Aal2 => 2,
            NistAal::Aal3 => 3,
        }
    }
}

impl fmt::Display for NistAal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AAL{}", u8::from(*self))
    }
}

/// Whether SP 800-63B-4 lets this evidence count toward `level` at all.
///
/// Our reading of the revision (check it against the text before relying on it):
///
/// * e-mail is not an authenticator: §3.1.3.1 forbids methods that do not prove possession of a
///   device, naming e-mail, for out-of-band authentication. It never counts at any level.
/// * a temporary access pass is an administrative bootstrap, not an SP 800-63B authenticator type,
///   so it never counts toward a NIST level (the Microsoft-style strengths accept it).
/// * push counts only when its number matching met rev 4's rule (`number_match_meets_rev4`: at
///   least 6 digits typed on the phone and sent back, §3.1.3): a bare "approve" tap is open to
///   push fatigue, and the vendor modes (2 or 3 digits, pick one of 3) are too short.
/// * restricted authenticators (SMS, voice: §3.2.9) may count at AAL1 and AAL2, never at AAL3.
/// * at AAL3 every non-password piece must be phishing-resistant, hardware-backed and bound to
///   one device (§2.3: a non-exportable private key).
#[must_use]
pub fn nist_permits(level: NistAal, method: Method, properties: &AuthenticatorProperties) -> bool {
    match method {
        Method::Email | Method::TemporaryAccessPass => return false,
        Method::Push if !properties.number_match_meets_rev4 => return false,
        _ => {}
    }
    match level {
        NistAal::Aal1 | NistAal::Aal2 => true,
        NistAal::Aal3 => {
            method == Method::Password
                || (!properties.restricted
                    && properties.phishing_resistant
                    && properties.hardware_backed
                    && properties.device_bound)
        }
    }
}

/// One piece of a [`Combination`]: a method, and the properties its evidence must show.
///
/// In TOML: `{ method = "webauthn", user_verified = true }`. A property left out is not required.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorRequirement {
    /// The method.
    pub method: Method,
    /// Evidence must be phishing-resistant.
    #[serde(default, skip_serializing_if = "is_false")]
    pub phishing_resistant: bool,
    /// Evidence must show user verification (PIN or biometric on the authenticator).
    #[serde(default, skip_serializing_if = "is_false")]
    pub user_verified: bool,
    /// Evidence must come from a device-bound key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub device_bound: bool,
    /// Evidence must come from a hardware-backed key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hardware_backed: bool,
    /// Push evidence must show number matching (any mode, vendor-style included).
    #[serde(default, skip_serializing_if = "is_false")]
    pub number_matched: bool,
    /// Push evidence must show number matching that met NIST SP 800-63B-4 (at least 6 typed
    /// digits sent back).
    #[serde(default, skip_serializing_if = "is_false")]
    pub number_match_meets_rev4: bool,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

impl FactorRequirement {
    /// Any evidence of `method`.
    #[must_use]
    pub const fn method(method: Method) -> Self {
        Self {
            method,
            phishing_resistant: false,
            user_verified: false,
            device_bound: false,
            hardware_backed: false,
            number_matched: false,
            number_match_meets_rev4: false,
        }
    }

    /// Also requires phishing resistance.
    #[must_use]
    pub const fn phishing_resistant(mut self) -> Self {
        self.phishing_resistant = true;
        self
    }

    /// Also requires user verification.
    #[must_use]
    pub const fn user_verified(mut self) -> Self {
        self.user_verified = true;
        self
    }

    /// Also requires a device-bound key.
    #[must_use]
    pub const fn device_bound(mut self) -> Self {
        self.device_bound = true;
        self
    }

    /// Also requires a hardware-backed key.
    #[must_use]
    pub const fn hardware_backed(mut self) -> Self {
        self.hardware_backed = true;
        self
    }

    /// Also requires number matching (push, any mode).
    #[must_use]
    pub const fn number_matched(mut self) -> Self {
        self.number_matched = true;
        self
    }

    /// Also requires number matching that met NIST SP 800-63B-4 (push, at least 6 typed digits).
    #[must_use]
    pub const fn number_match_meets_rev4(mut self) -> Self {
        self.number_match_meets_rev4 = true;
        self
    }

    /// Whether evidence of `method` with `properties` meets this requirement (the NIST rules of
    /// the strength are applied separately, see [`nist_permits`]).
    #[must_use]
    pub fn accepts(&self, method: Method, properties: &AuthenticatorProperties) -> bool {
        method == self.method
            && (!self.phishing_resistant || properties.phishing_resistant)
            && (!self.user_verified || properties.user_verified)
            && (!self.device_bound || properties.device_bound)
            && (!self.hardware_backed || properties.hardware_backed)
            && (!self.number_matched || properties.number_matched)
            && (!self.number_match_meets_rev4 || properties.number_match_meets_rev4)
    }
}

impl fmt::Display for FactorRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method.as_str())?;
        for (set, name) in [
            (self.phishing_resistant, "phishing-resistant"),
            (self.user_verified, "user-verified"),
            (self.device_bound, "device-bound"),
            (self.hardware_backed, "hardware-backed"),
            (self.number_matched, "number-matched"),
            (self.number_match_meets_rev4, "number-matched per rev 4"),
        ] {
            if set {
                write!(f, " ({name})")?;
            }
        }
        Ok(())
    }
}

/// Pieces of evidence that together satisfy a strength: each requirement met by a different
/// piece of evidence. In TOML, an array of requirements.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Combination(pub Vec<FactorRequirement>);

impl Combination {
    /// A combination of these requirements.
    #[must_use]
    pub fn of(requirements: impl IntoIterator<Item = FactorRequirement>) -> Self {
        Self(requirements.into_iter().collect())
    }

    /// The requirements.
    #[must_use]
    pub fn requirements(&self) -> &[FactorRequirement] {
        &self.0
    }
}

impl fmt::Display for Combination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// An authentication strength: a name and the method combinations that satisfy it.
///
/// Six are built in ([`AuthenticationStrength::builtin`]); a policy file may define more:
///
/// ```toml
/// [[strengths]]
/// name = "key_or_app"
/// nist_aal = 2            # optional: also apply SP 800-63B-4's rules for AAL2
/// combinations = [
///   [{ method = "webauthn", user_verified = true }],
///   [{ method = "password" }, { method = "totp" }],
/// ]
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticationStrength {
    /// The name policies refer to.
    pub name: String,
    /// When set, evidence counts only if [`nist_permits`] it at this level, and combinations are
    /// checked to fit the level when the strength is compiled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nist_aal: Option<NistAal>,
    /// The acceptable combinations, in order of preference.
    pub combinations: Vec<Combination>,
}

/// Names of the built-in strengths.
pub const BUILTIN_STRENGTHS: [&str; 6] = [
    "mfa",
    "passwordless_mfa",
    "phishing_resistant_mfa",
    "aal1",
    "aal2",
    "aal3",
];

impl AuthenticationStrength {
    /// A custom strength.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        combinations: impl IntoIterator<Item = Combination>,
    ) -> Self {
        Self {
            name: name.into(),
            nist_aal: None,
            combinations: combinations.into_iter().collect(),
        }
    }

    /// Applies SP 800-63B-4's rules for `level` to this strength.
    #[must_use]
    pub fn with_nist_aal(mut self, level: NistAal) -> Self {
        self.nist_aal = Some(level);
        self
    }

    /// A built-in strength by name (see [`BUILTIN_STRENGTHS`]).
    ///
    /// * `mfa`, `passwordless_mfa`, `phishing_resistant_mfa` follow the three strengths Microsoft
    ///   Entra ships, as we understand its documentation, mapped onto our methods: `mfa` is a
    ///   password plus any second factor (e-mail excepted), a user-verifying WebAuthn credential,
    ///   or a temporary access pass; `passwordless_mfa` a user-verifying WebAuthn credential;
    ///   `phishing_resistant_mfa` WebAuthn, user-verifying or after a password.
    /// * `aal1`, `aal2`, `aal3` follow NIST SP 800-63B-4 (§2.1–§2.3) with [`nist_permits`]
    ///   applied: AAL3 needs phishing-resistant, hardware-backed, device-bound WebAuthn.
    #[must_use]
    pub fn builtin(name: &str) -> Option<Self> {
        use FactorRequirement as R;
        use Method as M;
        let password = R::method(M::Password);
        let second_factors = [
            R::method(M::Totp),
            R::method(M::Hotp),
            R::method(M::Push),
            R::method(M::Sms),
            R::method(M::Voice),
            R::method(M::BackupCode),
            R::method(M::WebAuthn),
        ];
        let uv_key = R::method(M::WebAuthn).user_verified();
        let strength = match name {
            "mfa" => {
                let mut combinations: Vec<Combination> = vec![Combination::of([uv_key])];
                combinations.extend(
                    second_factors
                        .iter()
                        .map(|second| Combination::of([password, *second])),
                );
                combinations.push(Combination::of([R::method(M::TemporaryAccessPass)]));
                Self::new(name, combinations)
            }
            "passwordless_mfa" => Self::new(name, [Combination::of([uv_key])]),
            "phishing_resistant_mfa" => {
                let key = R::method(M::WebAuthn).phishing_resistant();
                Self::new(
                    name,
                    [
                        Combination::of([key.user_verified()]),
                        Combination::of([password, key]),
                    ],
                )
            }
            "aal1" => {
                let mut combinations = vec![Combination::of([password])];
                combinations.extend(
                    second_factors
                        .iter()
                        .map(|single| Combination::of([*single])),
                );
                Self::new(name, combinations).with_nist_aal(NistAal::Aal1)
            }
            "aal2" => {
                let mut combinations: Vec<Combination> = vec![Combination::of([uv_key])];
                combinations.extend(
                    second_factors
                        .iter()
                        .map(|second| Combination::of([password, *second])),
                );
                Self::new(name, combinations).with_nist_aal(NistAal::Aal2)
            }
            "aal3" => {
                let key = R::method(M::WebAuthn)
                    .phishing_resistant()
                    .hardware_backed()
                    .device_bound();
                Self::new(
                    name,
                    [
                        Combination::of([key.user_verified()]),
                        Combination::of([password, key]),
                    ],
                )
                .with_nist_aal(NistAal::Aal3)
            }
            _ => return None,
        };
        Some(strength)
    }

    /// Checks the strength makes sense: a name, at least one combination, none empty or longer
    /// than [`MAX_COMBINATION_LEN`], and at AAL2 or AAL3 combinations that can reach the level.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] naming the strength and the problem.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |field: &'static str, problem: String| PolicyError::Invalid {
            item: self.name.clone(),
            field,
            problem,
        };
        if self.name.is_empty() {
            return Err(invalid("name", "a strength needs a name".to_owned()));
        }
        if self.combinations.is_empty() {
            return Err(invalid(
                "combinations",
                "no combination is listed".to_owned(),
            ));
        }
        for combination in &self.combinations {
            let len = combination.0.len();
            if len == 0 || len > MAX_COMBINATION_LEN {
                return Err(invalid(
                    "combinations",
                    format!(
                        "a combination lists 1 to {MAX_COMBINATION_LEN} requirements, not {len}"
                    ),
                ));
            }
            let distinct_methods = combination
                .0
                .iter()
                .enumerate()
                .filter(|(i, requirement)| {
                    !combination
                        .0
                        .iter()
                        .take(*i)
                        .any(|earlier| earlier.method == requirement.method)
                })
                .count();
            let multi_factor_alone = len == 1 && combination.0.iter().all(|r| r.user_verified);
            match self.nist_aal {
                Some(NistAal::Aal2 | NistAal::Aal3)
                    if distinct_methods < 2 && !multi_factor_alone =>
                {
                    return Err(invalid(
                        "combinations",
                        format!(
                            "`{combination}` is one factor; AAL2 and AAL3 need two (or a user-verifying authenticator)"
                        ),
                    ));
                }
                Some(NistAal::Aal3)
                    if !combination
                        .0
                        .iter()
                        .any(|r| r.phishing_resistant && r.hardware_backed && r.device_bound) =>
                {
                    return Err(invalid(
                        "combinations",
                        format!(
                            "`{combination}` has no phishing-resistant, hardware-backed, device-bound authenticator, which AAL3 needs"
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether evidence may count toward this strength at all (its NIST level's rules).
    #[must_use]
    pub fn permits(&self, method: Method, properties: &AuthenticatorProperties) -> bool {
        self.nist_aal
            .is_none_or(|level| nist_permits(level, method, properties))
    }
}

/// The most candidates (pieces of evidence, enrolled methods) one matching looks at.
pub(crate) const MAX_CANDIDATES: usize = 128;

const UNMATCHED: u8 = u8::MAX;

/// Assigns a distinct candidate to each requirement of `combination` (a bipartite matching, by
/// Kuhn's augmenting paths: at most requirements² × candidates steps, never exponential);
/// `chosen` receives the candidate indices. Candidates past [`MAX_CANDIDATES`] are not used.
pub(crate) fn assign(
    combination: &[FactorRequirement],
    candidates: usize,
    fits: &impl Fn(&FactorRequirement, usize) -> bool,
    chosen: &mut [usize; MAX_COMBINATION_LEN],
) -> bool {
    let candidates = candidates.min(MAX_CANDIDATES);
    if combination.len() > MAX_COMBINATION_LEN || combination.len() > candidates {
        return false;
    }
    // owner[c]: the requirement candidate c is matched to.
    let mut owner = [UNMATCHED; MAX_CANDIDATES];
    for requirement in 0..combination.len() {
        let mut visited = 0_u128;
        if !augment(
            combination,
            requirement,
            candidates,
            fits,
            &mut owner,
            &mut visited,
        ) {
            return false;
        }
    }
    for (candidate, requirement) in owner.iter().enumerate().take(candidates) {
        if let Some(slot) = chosen.get_mut(usize::from(*requirement)) {
            *slot = candidate;
        }
    }
    true
}

fn augment(
    combination: &[FactorRequirement],
    requirement: usize,
    candidates: usize,
    fits: &impl Fn(&FactorRequirement, usize) -> bool,
    owner: &mut [u8; MAX_CANDIDATES],
    visited: &mut u128,
) -> bool {
    let (Some(wanted), Ok(requirement_id)) =
        (combination.get(requirement), u8::try_from(requirement))
    else {
        return false;
    };
    for candidate in 0..candidates {
        let bit = u32::try_from(candidate)
            .ok()
            .and_then(|shift| 1_u128.checked_shl(shift))
            .unwrap_or(0);
        if bit == 0 || *visited & bit != 0 || !fits(wanted, candidate) {
            continue;
        }
        *visited |= bit;
        let current = owner.get(candidate).copied().unwrap_or(UNMATCHED);
        // Recursion depth is bounded by the number of requirements (each level re-matches a
        // different requirement), so at most MAX_COMBINATION_LEN.
        if current == UNMATCHED
            || augment(
                combination,
                usize::from(current),
                candidates,
                fits,
                owner,
                visited,
            )
        {
            if let Some(slot) = owner.get_mut(candidate) {
                *slot = requirement_id;
            }
            return true;
        }
    }
    false
}

/// Whether `evidence` (already filtered for freshness by `fresh`) satisfies `combination` under
/// `strength`'s rules; `chosen` receives the evidence indices.
pub(crate) fn evidence_satisfies(
    strength: &AuthenticationStrength,
    combination: &Combination,
    evidence: &[Evidence],
    fresh: &impl Fn(&Evidence) -> bool,
    chosen: &mut [usize; MAX_COMBINATION_LEN],
) -> bool {
    let fits = |requirement: &FactorRequirement, index: usize| {
        evidence.get(index).is_some_and(|piece| {
            fresh(piece)
                && requirement.accepts(piece.method, &piece.properties)
                && strength.permits(piece.method, &piece.properties)
        })
    };
    assign(&combination.0, evidence.len(), &fits, chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_valid() {
        for name in BUILTIN_STRENGTHS {
            let strength = AuthenticationStrength::builtin(name).unwrap();
            strength.validate().unwrap();
            assert_eq!(strength.name, name);
        }
        assert!(AuthenticationStrength::builtin("nope").is_none());
    }

    #[test]
    fn nist_rules_table() {
        let p = |f: fn(&mut AuthenticatorProperties)| {
            let mut properties = AuthenticatorProperties::default();
            f(&mut properties);
            properties
        };
        let hardware_key = p(|x| {
            x.phishing_resistant = true;
            x.hardware_backed = true;
            x.device_bound = true;
        });
        let synced_passkey = p(|x| x.phishing_resistant = true);
        let sms = Method::Sms.baseline_properties();
        let push_plain = Method::Push.baseline_properties();
        let push_matched = p(|x| x.number_matched = true);
        let push_matched_rev4 = p(|x| {
            x.number_matched = true;
            x.number_match_meets_rev4 = true;
        });
        let cases: &[(NistAal, Method, AuthenticatorProperties, bool)] = &[
            (
                NistAal::Aal1,
                Method::Email,
                AuthenticatorProperties::default(),
                false,
            ),
            (
                NistAal::Aal2,
                Method::Email,
                AuthenticatorProperties::default(),
                false,
            ),
            (NistAal::Aal2, Method::Sms, sms, true),
            (NistAal::Aal3, Method::Sms, sms, false),
            (
                NistAal::Aal3,
                Method::Voice,
                Method::Voice.baseline_properties(),
                false,
            ),
            (NistAal::Aal2, Method::Push, push_plain, false),
            (NistAal::Aal2, Method::Push, push_matched, false),
            (NistAal::Aal2, Method::Push, push_matched_rev4, true),
            (NistAal::Aal1, Method::Push, push_matched_rev4, true),
            (NistAal::Aal3, Method::Push, push_matched_rev4, false),
            (NistAal::Aal3, Method::WebAuthn, hardware_key, true),
            (NistAal::Aal3, Method::WebAuthn, synced_passkey, false),
            (
                NistAal::Aal3,
                Method::Password,
                AuthenticatorProperties::default(),
                true,
            ),
            (
                NistAal::Aal2,
                Method::TemporaryAccessPass,
                AuthenticatorProperties::default(),
                false,
            ),
        ];
        for (level, method, properties, expected) in cases {
            assert_eq!(
                nist_permits(*level, *method, properties),
                *expected,
                "{level} {method}"
            );
        }
    }

    #[test]
    fn custom_aal_strengths_are_checked() {
        let one_factor = AuthenticationStrength::new(
            "weak",
            [Combination::of([FactorRequirement::method(Method::Totp)])],
        )
        .with_nist_aal(NistAal::Aal2);
        assert!(one_factor.validate().is_err());
        let no_hardware = AuthenticationStrength::new(
            "weak3",
            [Combination::of([
                FactorRequirement::method(Method::Password),
                FactorRequirement::method(Method::WebAuthn).phishing_resistant(),
            ])],
        )
        .with_nist_aal(NistAal::Aal3);
        assert!(no_hardware.validate().is_err());
        let empty = AuthenticationStrength::new("empty", []);
        assert!(empty.validate().is_err());
    }

    #[test]
    fn matching_uses_distinct_evidence_and_reorders_when_needed() {
        use FactorRequirement as R;
        // The first requirement fits both candidates, the second only the first: a greedy choice
        // would fail, augmenting paths do not.
        let combination = [
            R::method(Method::WebAuthn),
            R::method(Method::WebAuthn).user_verified(),
        ];
        let properties = [
            AuthenticatorProperties {
                user_verified: true,
                ..Default::default()
            },
            AuthenticatorProperties::default(),
        ];
        let fits = |r: &FactorRequirement, i: usize| {
            properties
                .get(i)
                .is_some_and(|p| r.accepts(Method::WebAuthn, p))
        };
        let mut chosen = [0; MAX_COMBINATION_LEN];
        assert!(assign(&combination, 2, &fits, &mut chosen));
        assert_eq!(&chosen[..2], &[1, 0]);
        assert!(!assign(&combination, 1, &fits, &mut chosen));
        // Eight identical requirements over 128 candidates that fit none but the last seven:
        // fails quickly instead of exploring permutations.
        let many = [R::method(Method::Totp); MAX_COMBINATION_LEN];
        let fits_few = |_: &FactorRequirement, i: usize| i >= 121;
        assert!(!assign(&many, MAX_CANDIDATES, &fits_few, &mut chosen));
    }
}
