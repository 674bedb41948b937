//! What a successful check proves: [`Method`], [`Evidence`], and the proof token [`Verified`].
//!
//! The policy engine sees only these types, never how a factor checked a code.

use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// A way of authenticating.
///
/// Serialized in `snake_case` (`"backup_code"`, `"web_authn"` is spelled `"webauthn"`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A memorized secret (the first factor in most sign-ins).
    Password,
    /// Time-based one-time password, RFC 6238 (an authenticator app).
    Totp,
    /// Counter-based one-time password, RFC 4226 (a hardware token).
    Hotp,
    /// A single-use backup (recovery) code.
    BackupCode,
    /// Push approval on an enrolled phone, with number matching.
    Push,
    /// A one-time code sent by SMS (a *restricted* authenticator, NIST SP 800-63B-4 §3.1.3.3).
    Sms,
    /// A one-time code read out in a voice call (restricted, like SMS).
    Voice,
    /// A one-time code or link sent by e-mail.
    Email,
    /// A FIDO2 security key or passkey (W3C WebAuthn).
    #[serde(rename = "webauthn")]
    WebAuthn,
    /// A time-limited pass an administrator issued for onboarding or recovery.
    TemporaryAccessPass,
}

impl Method {
    /// Every method, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Password,
        Self::Totp,
        Self::Hotp,
        Self::BackupCode,
        Self::Push,
        Self::Sms,
        Self::Voice,
        Self::Email,
        Self::WebAuthn,
        Self::TemporaryAccessPass,
    ];

    /// The stable `snake_case` name, as serialized.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::Hotp => "hotp",
            Self::BackupCode => "backup_code",
            Self::Push => "push",
            Self::Sms => "sms",
            Self::Voice => "voice",
            Self::Email => "email",
            Self::WebAuthn => "webauthn",
            Self::TemporaryAccessPass => "temporary_access_pass",
        }
    }

    /// The properties a check of this method proves when the factor knows nothing more.
    ///
    /// Factors refine them: WebAuthn sets `user_verified` from the UV flag and clears
    /// `device_bound` for synced passkeys.
    #[must_use]
    pub const fn baseline_properties(self) -> AuthenticatorProperties {
        let none = AuthenticatorProperties {
            phishing_resistant: false,
            user_verified: false,
            device_bound: false,
            hardware_backed: false,
            restricted: false,
            number_matched: false,
            number_match_meets_rev4: false,
        };
        match self {
            Self::Sms | Self::Voice => AuthenticatorProperties {
                restricted: true,
                ..none
            },
            Self::WebAuthn => AuthenticatorProperties {
                phishing_resistant: true,
                ..none
            },
            Self::Push => AuthenticatorProperties {
                device_bound: true,
                ..none
            },
            _ => none,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Properties of the authenticator that a check demonstrated (NIST SP 800-63B-4 vocabulary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuthenticatorProperties {
    /// Resists phishing: the response is bound to the origin (WebAuthn), so a look-alike site
    /// cannot relay it (NIST SP 800-63B-4 §3.2.5).
    pub phishing_resistant: bool,
    /// The authenticator verified the user (PIN or biometric), making it multi-factor by itself.
    pub user_verified: bool,
    /// The key cannot leave the device (not synced, not exportable).
    pub device_bound: bool,
    /// The key is held in hardware (a security key, TPM or secure enclave) as attested.
    pub hardware_backed: bool,
    /// A *restricted* authenticator (SMS, voice: NIST SP 800-63B-4 §3.2.9); policies may refuse it.
    pub restricted: bool,
    /// An out-of-band push approval in which the user *typed* (or picked) the number shown on the
    /// signing-in screen, binding the approval to that session. NIST SP 800-63B-4 (§3.1.3, out-of-band
    /// authenticators) treats a bare "approve" tap as open to push fatigue and wants the secondary
    /// channel bound to the primary one; policies that follow rev 4 count push only when this is set.
    /// Meaningless for methods other than [`Method::Push`]. Absent in stored records written before it
    /// existed, which read as `false` (serde default).
    #[serde(default)]
    pub number_matched: bool,
    /// The number matching met NIST SP 800-63B-4's rule for out-of-band push (§3.1.3): the user
    /// typed a secret of at least 6 digits shown on the primary channel into the device, and it
    /// went back to the verifier. Vendor-style number matching (2 or 3 typed digits, or picking
    /// one of 3 numbers) sets [`number_matched`](Self::number_matched) but not this, so a policy
    /// can tell them apart. Implies `number_matched`. Absent in older records: `false`.
    #[serde(default)]
    pub number_match_meets_rev4: bool,
}

/// An identifier of a credential: a TOTP enrollment, a backup-code set, a WebAuthn credential id
/// (base64url). Not secret; fit for logs.
///
/// Shared, not copied, when cloned: a verification puts the same id into its [`Evidence`] and
/// into the updated credential it returns, and that costs two reference-count increments instead
/// of two allocations on the hot path. Serialized as a plain string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct CredentialId(Arc<str>);

impl CredentialId {
    /// Wraps an identifier.
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self(Arc::from(id.into()))
    }

    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CredentialId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for CredentialId {
    fn from(id: String) -> Self {
        Self(Arc::from(id))
    }
}

impl From<CredentialId> for String {
    fn from(id: CredentialId) -> Self {
        String::from(&*id.0)
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one successful check proves: which method, when, with which credential, and how strong.
///
/// This is the only thing the policy engine consumes. It contains no secret.
///
/// ```
/// use mfa_core::{Evidence, Method, UnixTime};
///
/// let evidence = Evidence::new(Method::Sms, UnixTime::from_secs(1_700_000_000), "phone-1");
/// assert!(evidence.properties.restricted);
/// let evidence = Evidence::new(Method::WebAuthn, UnixTime::from_secs(1_700_000_000), "cred")
///     .user_verified(true);
/// assert!(evidence.properties.phishing_resistant && evidence.properties.user_verified);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Evidence {
    /// The method that was checked.
    pub method: Method,
    /// When the check succeeded.
    pub verified_at: UnixTime,
    /// Which credential answered.
    pub credential: CredentialId,
    /// What the check demonstrated.
    pub properties: AuthenticatorProperties,
}

impl Evidence {
    /// Evidence with the method's [baseline properties](Method::baseline_properties).
    #[must_use]
    pub fn new(method: Method, verified_at: UnixTime, credential: impl Into<CredentialId>) -> Self {
        Self {
            method,
            verified_at,
            credential: credential.into(),
            properties: method.baseline_properties(),
        }
    }

    /// Replaces all properties.
    #[must_use]
    pub fn with_properties(mut self, properties: AuthenticatorProperties) -> Self {
        self.properties = properties;
        self
    }

    /// Sets whether the authenticator verified the user.
    #[must_use]
    pub fn user_verified(mut self, yes: bool) -> Self {
        self.properties.user_verified = yes;
        self
    }

    /// Sets whether the key is bound to one device.
    #[must_use]
    pub fn device_bound(mut self, yes: bool) -> Self {
        self.properties.device_bound = yes;
        self
    }

    /// Sets whether the key is hardware-backed.
    #[must_use]
    pub fn hardware_backed(mut self, yes: bool) -> Self {
        self.properties.hardware_backed = yes;
        self
    }

    /// Sets whether a push approval was bound by typed number matching
    /// (see [`AuthenticatorProperties::number_matched`]).
    #[must_use]
    pub fn number_matched(mut self, yes: bool) -> Self {
        self.properties.number_matched = yes;
        self
    }

    /// Sets whether the push number matching met NIST SP 800-63B-4's rule (at least 6 typed
    /// digits sent back; see [`AuthenticatorProperties::number_match_meets_rev4`]). Setting it
    /// also sets `number_matched`.
    #[must_use]
    pub fn number_match_meets_rev4(mut self, yes: bool) -> Self {
        self.properties.number_match_meets_rev4 = yes;
        if yes {
            self.properties.number_matched = true;
        }
        self
    }
}

/// Proof that a factor's check succeeded: the [`Evidence`] and the credential state to persist.
///
/// Factor crates return it only from a successful verification, and the store helpers
/// ([`verify_and_commit`](crate::verify_and_commit)) hand it back only after that state has been
/// committed, so downstream code holding a `Verified` cannot have skipped either step.
#[must_use = "a verification result must be acted on: persist the credential and record the evidence"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T> {
    evidence: Evidence,
    credential: T,
}

impl<T> Verified<T> {
    /// For factor implementations: call only at the end of a successful check.
    pub fn new(evidence: Evidence, credential: T) -> Self {
        Self {
            evidence,
            credential,
        }
    }

    /// What the check proved.
    #[must_use]
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    /// The updated credential (new last-used step, counter, remaining codes …).
    #[must_use]
    pub fn credential(&self) -> &T {
        &self.credential
    }

    /// Splits into the evidence and the updated credential.
    #[must_use]
    pub fn into_parts(self) -> (Evidence, T) {
        (self.evidence, self.credential)
    }

    /// Transforms the credential, keeping the evidence.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Verified<U> {
        Verified {
            evidence: self.evidence,
            credential: f(self.credential),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_match_serde() {
        for method in Method::ALL {
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{}\"", method.as_str()));
            assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), method);
        }
    }

    #[test]
    fn baseline_properties_follow_nist() {
        assert!(Method::Sms.baseline_properties().restricted);
        assert!(Method::Voice.baseline_properties().restricted);
        assert!(!Method::Totp.baseline_properties().restricted);
        assert!(Method::WebAuthn.baseline_properties().phishing_resistant);
        assert!(!Method::Push.baseline_properties().phishing_resistant);
    }

    #[test]
    fn verified_maps_and_splits() {
        let evidence = Evidence::new(Method::Totp, UnixTime::from_secs(30), "totp-1");
        let verified = Verified::new(evidence.clone(), 41_u64).map(|step| step + 1);
        assert_eq!(*verified.credential(), 42);
        assert_eq!(verified.evidence(), &evidence);
        let (e, c) = verified.into_parts();
        assert_eq!((e, c), (evidence, 42));
    }

    #[test]
    fn evidence_serializes_without_surprises() {
        let evidence = Evidence::new(Method::BackupCode, UnixTime::from_secs(1), "set-1");
        let json = serde_json::to_value(&evidence).unwrap();
        assert_eq!(json["method"], "backup_code");
        assert_eq!(json["verified_at"], 1000);
        assert_eq!(json["credential"], "set-1");
    }

    #[test]
    fn number_matched_defaults_to_false_for_older_records() {
        let old = r#"{"phishing_resistant":false,"user_verified":false,"device_bound":true,"hardware_backed":false,"restricted":false}"#;
        let properties: AuthenticatorProperties = serde_json::from_str(old).unwrap();
        assert!(!properties.number_matched);
        assert!(!Method::Push.baseline_properties().number_matched);
        let evidence =
            Evidence::new(Method::Push, UnixTime::from_secs(1), "phone").number_matched(true);
        assert!(evidence.properties.number_matched);
    }
}
