//! Security info: the methods a user has registered, how one is added (confirmed by a first
//! successful check), renamed, made the default, used and removed.
//!
//! # Records
//!
//! Each method is an [`MethodEntry`] record ([`METHOD_KIND`]); the
//! account's [`AccountProfile::method_ids`] lists the ones that are registered. A method counts
//! only when both exist: the profile's list is the authority, the record holds the details.
//!
//! # Why the profile decides
//!
//! Whether a method may be removed depends on the *other* methods (is it the last one that meets
//! the policy's strength?). Two removals that each leave one strong method can together leave
//! none, so each must be judged against the set the other left, not the set it read. Every change
//! to the set is therefore one compare-and-swap of the profile record
//! ([`mfa_core::update`]): a removal reads the profile and the method records, asks the policy,
//! and then commits the new list **only if the profile still lists exactly the methods it judged**;
//! if anyone added or removed a method in between, it reads again and judges again. Of two
//! concurrent removals of the last two strong methods, the first to commit wins and the second
//! is judged against one method and refused. An add commits its id through the same record, which
//! is also where [`AccountPolicy::max_methods`] is enforced, atomically.
//!
//! The factor's own state (a TOTP secret, a passkey, a push device, a phone) is deleted only
//! after the profile no longer lists the method, so a removal that is refused never touches it.
//! A crash between the two leaves a factor record that no registered method points to; the
//! help desk's [`require_reregistration`](crate::require_reregistration) clears every factor
//! record of the account, and a method record not listed in the profile is never shown.

use core::fmt;

use mfa_core::{
    AsyncStore, AttemptError, AuthenticatorProperties, BlockingStore, Change, CryptoRng, Evidence,
    Method, RecordKey, Store, StoreError, ThrottlePolicy, UnixTime, block_on, insert_new_async,
    insert_new_until_async, list_async, load_async, take_async, update_async,
};
use mfa_policy::{
    Decision, Engine, EnrolledMethod, NistAal, PerUserMfa, SignInContext, UserAction, nist_permits,
};
use serde::{Deserialize, Serialize};

use crate::events::{AccountChange, AccountEvent, AccountEventSink, Actor};
use crate::profile::AccountProfile;
use crate::providers::ProviderNames;
use crate::store::{METHOD_KIND, method_key, pending_key, profile_key};
use crate::{AccountError, AccountPolicy, MethodKind};

/// The name a set of backup codes gets when it is registered ([`add_backup_codes`]); the user
/// can [`rename`] it.
pub const BACKUP_CODES_NAME: &str = "Backup codes";

/// Our id of a registered method: random, 128 bits in unpadded base64url (not secret; in audit
/// events and URLs).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MethodId(String);

impl MethodId {
    /// Longest id accepted by [`parse`](Self::parse).
    pub const MAX_LEN: usize = 64;

    /// A fresh random id.
    pub(crate) fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(crate::secret::random_id(rng))
    }

    /// Reads an id a client sent back (a URL segment, a CLI argument).
    ///
    /// # Errors
    /// [`AccountError::MethodNotFound`] when empty, longer than [`Self::MAX_LEN`] or not
    /// base64url: no method can have such an id.
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let well_formed = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(AccountError::MethodNotFound)
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MethodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MethodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MethodId({})", self.0)
    }
}

impl core::str::FromStr for MethodId {
    type Err = AccountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Where the factor crate keeps a method's own state, so that a check of it can be matched to
/// the method and removing the method can delete that state.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "factor", rename_all = "snake_case")]
pub enum FactorRef {
    /// An `mfa-otp` TOTP credential ([`mfa_otp::totp_record_key`]).
    Totp {
        /// The credential id (as in its evidence).
        credential_id: String,
    },
    /// An `mfa-otp` HOTP credential ([`mfa_otp::hotp_record_key`]).
    Hotp {
        /// The credential id (as in its evidence).
        credential_id: String,
    },
    /// The account's `mfa-backup` set ([`mfa_backup::record_key`]: one per account).
    BackupCodes,
    /// An `mfa-webauthn` credential ([`mfa_webauthn::record_key`]).
    #[serde(rename = "webauthn")]
    WebAuthn {
        /// The credential id, unpadded base64url (as in its evidence).
        credential_id: String,
        /// The authenticator's AAGUID as a UUID string, from registration, when known: names the
        /// passkey provider ([`ProviderNames`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        aaguid: Option<String>,
    },
    /// An `mfa-push` device ([`mfa_push::device_key`]).
    Push {
        /// The device id (as in its evidence).
        device_id: String,
    },
    /// An `mfa-oob` phone ([`mfa_oob::oob_account_key`]), used for SMS or voice codes.
    Phone {
        /// The phone's id within the account (as in its evidence).
        phone_id: String,
        /// Voice calls (`true`) or SMS (`false`).
        voice: bool,
    },
}

impl FactorRef {
    /// The factor state a successful check of a `kind` method names, read from the check's
    /// evidence, so the credential id is written once (by the factor crate): TOTP and HOTP take
    /// the `mfa-otp` credential id, push the `mfa-push` device id, SMS and voice the `mfa-oob`
    /// phone id, WebAuthn the base64url credential id (with no AAGUID: use
    /// [`FactorRef::webauthn`] to name the passkey's provider).
    ///
    /// # Errors
    /// [`AccountError::ProofMismatch`] when the evidence is of another method than `kind`'s,
    /// names no credential, or `kind` is [`MethodKind::BackupCodes`] (a set of backup codes is
    /// registered by [`add_backup_codes`], not confirmed by a check).
    pub fn from_evidence(kind: MethodKind, evidence: &Evidence) -> Result<Self, AccountError> {
        let credential_id = evidence.credential.as_str();
        if evidence.method != kind.method() || credential_id.is_empty() {
            return Err(AccountError::ProofMismatch);
        }
        let credential_id = credential_id.to_owned();
        Ok(match kind {
            MethodKind::Totp => Self::Totp { credential_id },
            MethodKind::Hotp => Self::Hotp { credential_id },
            MethodKind::WebAuthn => Self::WebAuthn {
                credential_id,
                aaguid: None,
            },
            MethodKind::Push => Self::Push {
                device_id: credential_id,
            },
            MethodKind::Sms | MethodKind::Voice => Self::Phone {
                phone_id: credential_id,
                voice: kind == MethodKind::Voice,
            },
            MethodKind::BackupCodes => return Err(AccountError::ProofMismatch),
        })
    }

    /// An `mfa-webauthn` credential, by its id (written in the base64url form its evidence
    /// carries) and the AAGUID its registration reported
    /// ([`StoredCredential::aaguid`](mfa_webauthn::StoredCredential::aaguid)), which names the
    /// passkey provider through [`ProviderNames`].
    #[must_use]
    pub fn webauthn(credential_id: &mfa_webauthn::CredentialId, aaguid: Option<String>) -> Self {
        Self::WebAuthn {
            credential_id: credential_id.to_b64url(),
            aaguid,
        }
    }

    /// The kind of method this factor state serves.
    #[must_use]
    pub fn kind(&self) -> MethodKind {
        match self {
            Self::Totp { .. } => MethodKind::Totp,
            Self::Hotp { .. } => MethodKind::Hotp,
            Self::BackupCodes => MethodKind::BackupCodes,
            Self::WebAuthn { .. } => MethodKind::WebAuthn,
            Self::Push { .. } => MethodKind::Push,
            Self::Phone { voice: false, .. } => MethodKind::Sms,
            Self::Phone { voice: true, .. } => MethodKind::Voice,
        }
    }

    /// The credential id a check of it names in its [`Evidence`]; `None` for backup codes (the
    /// evidence names the set, which is replaced on every regeneration).
    #[must_use]
    pub fn credential_id(&self) -> Option<&str> {
        match self {
            Self::Totp { credential_id }
            | Self::Hotp { credential_id }
            | Self::WebAuthn { credential_id, .. } => Some(credential_id),
            Self::Push { device_id } => Some(device_id),
            Self::Phone { phone_id, .. } => Some(phone_id),
            Self::BackupCodes => None,
        }
    }

    /// Whether both refer to the same factor record (an SMS and a voice method of one phone
    /// share it).
    fn same_state(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Phone { phone_id: a, .. }, Self::Phone { phone_id: b, .. }) => a == b,
            _ => self == other,
        }
    }
}

/// One registered method, as the security-info page shows it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodEntry {
    /// Our id.
    pub id: MethodId,
    /// What kind of method.
    pub kind: MethodKind,
    /// The user's name for it ("Work phone", "YubiKey 5C").
    pub name: String,
    /// Where the factor crate keeps it.
    pub factor: FactorRef,
    /// What a check of it proves, as its first successful check showed.
    pub properties: AuthenticatorProperties,
    /// When it was added. JSON: Unix milliseconds.
    pub created_at: UnixTime,
    /// When it was last used to sign in ([`record_use`]).
    pub last_used_at: Option<UnixTime>,
    /// The passkey provider's name, from the authenticator's AAGUID, when known.
    pub provider: Option<String>,
}

impl MethodEntry {
    /// The credential id the policy engine and evidence know it by: the factor's credential id,
    /// or our method id for backup codes.
    #[must_use]
    pub fn credential_id(&self) -> &str {
        self.factor.credential_id().unwrap_or(self.id.as_str())
    }

    /// The method as the policy engine sees it ([`mfa_policy::UserInfo::methods`]).
    #[must_use]
    pub fn enrolled_method(&self) -> EnrolledMethod {
        EnrolledMethod::new(self.kind.method(), self.credential_id())
            .with_properties(self.properties)
    }

    /// The highest NIST SP 800-63B-4 assurance level a check of this method can count toward,
    /// as [`mfa_policy::nist_permits`] reads the revision (`None`: none, such as push without
    /// rev-4 number matching).
    #[must_use]
    pub fn nist_level(&self) -> Option<NistAal> {
        [NistAal::Aal3, NistAal::Aal2, NistAal::Aal1]
            .into_iter()
            .find(|level| nist_permits(*level, self.kind.method(), &self.properties))
    }
}

/// A method begun with [`begin_add`] and waiting for its first successful check
/// ([`confirm_add`]); it expires after [`AccountPolicy::pending_lifetime`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMethod {
    /// The id the method will have (pass it to [`confirm_add`]).
    pub id: MethodId,
    /// What kind of method is being added.
    pub kind: MethodKind,
    /// The name the user gave it.
    pub name: String,
    /// When it was begun: the confirming check must be at least as recent.
    pub created_at: UnixTime,
    /// When it stops being confirmable.
    pub expires_at: UnixTime,
}

/// A user's security info: their registered methods, oldest first, and the default one.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityInfo {
    /// Registered methods, by creation time (then id).
    pub methods: Vec<MethodEntry>,
    /// The method offered first at sign-in.
    pub default_method: Option<MethodId>,
    /// The per-user MFA state ([`AccountProfile::mfa_state`]), for the policy engine.
    #[serde(default)]
    pub mfa_state: PerUserMfa,
}

impl SecurityInfo {
    /// Fills in what the policy engine needs to know about the account: `user.methods` (the
    /// registered methods, as [`enrolled_methods`]) and `user.mfa_state`. Everything else in
    /// `context` (the session's evidence, client, network, device) is left as it is.
    pub fn apply_to(&self, context: &mut SignInContext) {
        fill_user(context, self.mfa_state, &self.methods);
    }

    /// The registered method a successful check proved, to record its use ([`record_use`]):
    /// the one whose kind's method is the evidence's and whose factor credential id is the
    /// evidence's credential (the `mfa-otp` credential id, the base64url WebAuthn credential id,
    /// the `mfa-push` device id, the `mfa-oob` phone id, which SMS and voice tell apart by
    /// method). Backup-code evidence names `mfa-backup`'s set, not our method, and an account has
    /// one set: it matches the backup-codes method by kind. `None` for anything else (a
    /// password, a temporary access pass, a credential not registered here).
    #[must_use]
    pub fn method_for(&self, evidence: &Evidence) -> Option<&MethodEntry> {
        self.methods.iter().find(|entry| {
            entry.kind.method() == evidence.method
                && (entry.kind == MethodKind::BackupCodes
                    || entry.factor.credential_id() == Some(evidence.credential.as_str()))
        })
    }

    /// The method with this id.
    #[must_use]
    pub fn method(&self, id: &MethodId) -> Option<&MethodEntry> {
        self.methods.iter().find(|entry| &entry.id == id)
    }

    /// The default method's entry.
    #[must_use]
    pub fn default_entry(&self) -> Option<&MethodEntry> {
        self.default_method.as_ref().and_then(|id| self.method(id))
    }
}

/// The registered methods as the policy engine's `user.methods`, to build a
/// [`SignInContext`] for a sign-in.
#[must_use]
pub fn enrolled_methods(info: &SecurityInfo) -> Vec<EnrolledMethod> {
    info.methods
        .iter()
        .map(MethodEntry::enrolled_method)
        .collect()
}

/// Sets the account's part of a policy context: per-user MFA state and enrolled methods.
fn fill_user(context: &mut SignInContext, mfa_state: PerUserMfa, methods: &[MethodEntry]) {
    context.user.mfa_state = mfa_state;
    context.user.methods = methods.iter().map(MethodEntry::enrolled_method).collect();
}

/// What [`confirm_add`] needs to turn a pending method into a registered one.
#[derive(Clone, Copy, Debug)]
pub struct Confirmation<'a> {
    /// The pending method ([`PendingMethod::id`]).
    pub pending_id: &'a MethodId,
    /// Where the factor crate stored the new credential.
    pub factor: &'a FactorRef,
    /// The evidence of the factor's first successful check of it ([`mfa_core::Verified`]'s).
    pub proof: &'a Evidence,
    /// Passkey provider names, to name a WebAuthn method's provider from its AAGUID.
    pub providers: Option<&'a ProviderNames>,
}

/// The policy question a removal must not break: the user's usual sign-in, asked with the
/// methods they have now and with the methods they would have left.
///
/// `probe` is a sign-in context as the service builds it for this user (application, client,
/// network, device; the user's groups and roles). Of its evidence only the password is kept: the
/// question is what the user can reach with their registered methods, not what this session
/// holds. `user.methods` and `user.mfa_state` are filled in from the account.
#[derive(Clone, Debug)]
pub struct RemovalGuard<'a> {
    /// The service's policy engine.
    pub engine: &'a Engine,
    /// The user's usual sign-in context, with password evidence.
    pub probe: SignInContext,
}

impl<'a> RemovalGuard<'a> {
    /// A guard asking `engine` about `probe`.
    #[must_use]
    pub fn new(engine: &'a Engine, probe: SignInContext) -> Self {
        Self { engine, probe }
    }

    /// Whether the probe can still be satisfied with `remaining` if it can with `current`.
    fn check(
        &self,
        profile: &AccountProfile,
        current: &[MethodEntry],
        remaining: &[MethodEntry],
    ) -> Result<(), AccountError> {
        let mut probe = self.probe.clone();
        probe
            .evidence
            .retain(|evidence| evidence.method == Method::Password);
        fill_user(&mut probe, profile.mfa_state, current);
        let satisfiable_before = match self.engine.evaluate(&probe).decision {
            Decision::Allow { .. } => true,
            Decision::StepUp(step_up) => !step_up.usable_now.is_empty(),
            _ => false,
        };
        if !satisfiable_before {
            return Ok(());
        }
        fill_user(&mut probe, profile.mfa_state, remaining);
        match self.engine.evaluate(&probe).decision {
            Decision::StepUp(step_up) if step_up.usable_now.is_empty() => {
                Err(AccountError::LastStrongMethod {
                    strength: step_up.strength.to_owned(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// The NIST levels asked of a session, as policies of one engine (one application each).
const SESSION_LEVELS: &str = r#"
[[policies]]
name = "aal3"
assignments.applications.include = ["aal3"]
grant = { authentication_strength = "aal3" }

[[policies]]
name = "aal2"
assignments.applications.include = ["aal2"]
grant = { authentication_strength = "aal2" }

[[policies]]
name = "aal1"
assignments.applications.include = ["aal1"]
grant = { authentication_strength = "aal1" }
"#;

/// The highest NIST SP 800-63B-4 level `session` reaches at `now`, as `mfa-policy`'s built-in
/// `aal1` … `aal3` strengths judge it; `None` when it reaches none, or (never expected) when
/// those strengths do not compile, which fails closed.
pub(crate) fn session_level(session: &[Evidence], now: UnixTime) -> Option<NistAal> {
    use std::sync::OnceLock;
    static LEVELS: OnceLock<Option<Engine>> = OnceLock::new();
    let engine = LEVELS
        .get_or_init(|| Engine::from_toml(SESSION_LEVELS).ok())
        .as_ref()?;
    [
        (NistAal::Aal3, "aal3"),
        (NistAal::Aal2, "aal2"),
        (NistAal::Aal1, "aal1"),
    ]
    .into_iter()
    .find(|(_, application)| {
        let mut context = SignInContext::builder("session", *application, now).build();
        context.evidence = session.to_vec();
        engine.evaluate(&context).decision.is_allow()
    })
    .map(|(level, _)| level)
}

/// NIST SP 800-63B-4: no weakening without re-proofing. A session may remove a method only if
/// its evidence reaches the highest level the method reaches.
fn check_assurance(
    entry: &MethodEntry,
    session: &[Evidence],
    now: UnixTime,
) -> Result<(), AccountError> {
    let Some(needed) = entry.nist_level() else {
        return Ok(());
    };
    match session_level(session, now) {
        Some(reached) if reached >= needed => Ok(()),
        _ => Err(AccountError::WeakensAssurance),
    }
}

fn rejected<T>(error: AccountError) -> Result<T, AttemptError<AccountError>> {
    Err(AttemptError::Rejected(error))
}

/// The account's profile, or the default when it has none.
pub(crate) async fn load_profile_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<AccountProfile, StoreError> {
    Ok(load_async(store, &profile_key(account))
        .await?
        .unwrap_or_default())
}

/// Every method record of the account, registered or not.
pub(crate) async fn all_entries_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<MethodEntry>, StoreError> {
    Ok(list_async::<_, MethodEntry>(store, METHOD_KIND, account)
        .await?
        .into_iter()
        .map(|(_, entry)| entry)
        .collect())
}

/// The profile and the registered entries (listed in the profile and present), oldest first.
pub(crate) async fn snapshot_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<(AccountProfile, Vec<MethodEntry>), StoreError> {
    let profile = load_profile_async(store, account).await?;
    let mut entries: Vec<MethodEntry> = all_entries_async(store, account)
        .await?
        .into_iter()
        .filter(|entry| profile.method_ids.iter().any(|id| id == entry.id.as_str()))
        .collect();
    entries.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok((profile, entries))
}

/// The account's security info (async).
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode.
pub async fn security_info_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<SecurityInfo, StoreError> {
    let (profile, methods) = snapshot_async(store, account).await?;
    let default_method = profile
        .default_method
        .filter(|id| methods.iter().any(|entry| entry.id.as_str() == id))
        .map(MethodId);
    Ok(SecurityInfo {
        methods,
        default_method,
        mfa_state: profile.mfa_state,
    })
}

/// The account's security info: registered methods oldest first, the default, and the
/// per-user MFA state ([`SecurityInfo::apply_to`] puts the last two into a policy context).
///
/// # Errors
/// As [`security_info_async`].
pub fn security_info<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<SecurityInfo, StoreError> {
    block_on(security_info_async(&BlockingStore(store), account))
}

/// Begins adding a method of `kind` named `name` (async); see [`begin_add`].
///
/// # Errors
/// As [`begin_add`].
pub async fn begin_add_async<S: AsyncStore + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    account: &str,
    kind: MethodKind,
    name: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<PendingMethod, AttemptError<AccountError>> {
    let name = policy.check_name(name).map_err(AttemptError::Rejected)?;
    let profile = load_profile_async(store, account)
        .await
        .map_err(AttemptError::Store)?;
    if profile.method_ids.len() >= policy.max_methods {
        return rejected(AccountError::TooManyMethods {
            max: policy.max_methods,
        });
    }
    let pending = PendingMethod {
        id: MethodId::random(rng),
        kind,
        name,
        created_at: now,
        expires_at: now.saturating_add(policy.pending_lifetime),
    };
    insert_new_until_async(
        store,
        &pending_key(account, pending.id.as_str()),
        &pending,
        pending.expires_at,
    )
    .await
    .map_err(AttemptError::Store)?;
    Ok(pending)
}

/// Begins adding a method of `kind` named `name`: a pending record that expires after
/// [`AccountPolicy::pending_lifetime`]. Then run the factor's enrollment and its first check,
/// and pass that check's evidence to [`confirm_add`]; until then the method does not count.
///
/// **Who may call it.** It takes no session: the service decides who is registering. Call it
/// (and [`confirm_add`]) only for a session that `mfa-policy` allows to
/// [`UserAction::RegisterSecurityInfo`] ([`may_register`] asks the engine). A temporary access
/// pass counts toward that only through
/// [`TapGrant::evidence_for`](crate::TapGrant::evidence_for), which gives its evidence for this
/// action and no other.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::InvalidName`], or
/// [`AccountError::TooManyMethods`] when the account is full already (checked again, atomically,
/// on confirmation); [`AttemptError::Store`] if the store fails.
pub fn begin_add<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    account: &str,
    kind: MethodKind,
    name: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<PendingMethod, AttemptError<AccountError>> {
    block_on(begin_add_async(
        &BlockingStore(store),
        policy,
        account,
        kind,
        name,
        now,
        rng,
    ))
}

/// Whether the session behind `context` may register security info ([`begin_add`],
/// [`confirm_add`], [`add_backup_codes`]): `engine` is asked about `context` with its action set
/// to [`UserAction::RegisterSecurityInfo`], and only [`Decision::Allow`] lets it.
///
/// Build `context` as for any sign-in ([`SecurityInfo::apply_to`] fills in the account), with
/// the session's evidence. A temporary access pass counts only through
/// [`TapGrant::evidence_for`](crate::TapGrant::evidence_for)`(UserAction::RegisterSecurityInfo)`,
/// which is exactly the action asked about here; never add a redemption's evidence otherwise.
///
/// # Errors
/// [`AccountError::RegistrationNotAllowed`] with the decision's kind (`step_up`: ask for a
/// second factor first, or `block`).
pub fn may_register(engine: &Engine, context: &SignInContext) -> Result<(), AccountError> {
    let mut context = context.clone();
    context.action = UserAction::RegisterSecurityInfo;
    let decision = engine.evaluate(&context).decision;
    if decision.is_allow() {
        Ok(())
    } else {
        Err(AccountError::RegistrationNotAllowed {
            decision: decision.kind(),
        })
    }
}

/// Checks that `proof` is a recent first check of the pending method's credential.
fn check_proof(
    policy: &AccountPolicy,
    pending: &PendingMethod,
    confirmation: &Confirmation<'_>,
    now: UnixTime,
) -> Result<(), AccountError> {
    let proof = confirmation.proof;
    let factor = confirmation.factor;
    let same_credential = factor
        .credential_id()
        .is_some_and(|id| id == proof.credential.as_str());
    if now >= pending.expires_at {
        return Err(AccountError::PendingNotFound);
    }
    if factor.kind() != pending.kind
        || proof.method != pending.kind.method()
        || !same_credential
        || proof.verified_at < pending.created_at
    {
        return Err(AccountError::ProofMismatch);
    }
    if now.saturating_since(proof.verified_at) > policy.confirm_window {
        return Err(AccountError::ProofStale);
    }
    Ok(())
}

/// Whether `a` and `b` list the same ids (in any order).
fn same_ids(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|id| b.contains(id))
}

/// Adds `entry` to the profile's list (replacing the ids in `replaces`), unless that would
/// exceed `max`; clears the registration campaign. Returns whether it was committed.
async fn commit_added_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    entry: &MethodEntry,
    replaces: &[String],
    max: usize,
) -> Result<Result<(), AccountError>, StoreError> {
    update_async(
        store,
        &profile_key(account),
        |current: Option<&AccountProfile>| {
            let mut profile = current.cloned().unwrap_or_default();
            let id = entry.id.as_str().to_owned();
            profile.method_ids.retain(|kept| !replaces.contains(kept));
            if profile.method_ids.len() >= max {
                return (Change::Keep, Err(AccountError::TooManyMethods { max }));
            }
            profile.method_ids.push(id.clone());
            let default_gone = profile
                .default_method
                .as_ref()
                .is_none_or(|default| !profile.method_ids.contains(default));
            if default_gone {
                profile.default_method = Some(id);
            }
            profile.must_register = false;
            profile.registration_skips = 0;
            profile.registration_snoozed_until = None;
            (Change::Put(profile), Ok(()))
        },
    )
    .await
}

/// Stores `entry` and registers it in the profile; on refusal removes the record again.
async fn register_entry_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    entry: &MethodEntry,
    replaces: &[String],
    max: usize,
) -> Result<(), AttemptError<AccountError>> {
    let key = method_key(account, entry.id.as_str());
    insert_new_async(store, &key, entry)
        .await
        .map_err(AttemptError::Store)?;
    match commit_added_async(store, account, entry, replaces, max).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refused)) => {
            discard_async(store, &key)
                .await
                .map_err(AttemptError::Store)?;
            rejected(refused)
        }
        Err(error) => {
            // Best effort: the record is not listed, so it does not count either way.
            let _ = discard_async(store, &key).await;
            Err(AttemptError::Store(error))
        }
    }
}

/// Confirms a pending method with the evidence of its first successful check (async); see
/// [`confirm_add`].
///
/// # Errors
/// As [`confirm_add`].
pub async fn confirm_add_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    confirmation: Confirmation<'_>,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    let pending = take_pending_async(store, account, confirmation.pending_id).await?;
    register_confirmed_async(store, policy, events, account, pending, confirmation, now).await
}

/// Takes the pending method `pending_id` (spent from here on, whatever follows).
async fn take_pending_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    pending_id: &MethodId,
) -> Result<PendingMethod, AttemptError<AccountError>> {
    match take_async(store, &pending_key(account, pending_id.as_str())).await {
        Ok(Some(pending)) => Ok(pending),
        Ok(None) => rejected(AccountError::PendingNotFound),
        Err(error) => Err(AttemptError::Store(error)),
    }
}

/// Checks the proof of a taken pending method and registers it.
async fn register_confirmed_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    pending: PendingMethod,
    confirmation: Confirmation<'_>,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    check_proof(policy, &pending, &confirmation, now).map_err(AttemptError::Rejected)?;
    let registered = all_entries_async(store, account)
        .await
        .map_err(AttemptError::Store)?;
    if let Some(existing) = registered
        .iter()
        .find(|entry| entry.factor == *confirmation.factor)
    {
        return Err(AttemptError::Store(StoreError::AlreadyExists {
            key: method_key(account, existing.id.as_str()).flat(),
        }));
    }
    let provider = match confirmation.factor {
        FactorRef::WebAuthn {
            aaguid: Some(aaguid),
            ..
        } => confirmation
            .providers
            .and_then(|names| names.name(aaguid))
            .map(str::to_owned),
        _ => None,
    };
    let entry = MethodEntry {
        id: pending.id,
        kind: pending.kind,
        name: pending.name,
        factor: confirmation.factor.clone(),
        properties: confirmation.proof.properties,
        created_at: now,
        last_used_at: None,
        provider,
    };
    register_entry_async(store, account, &entry, &[], policy.max_methods).await?;
    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::MethodAdded {
            method_id: entry.id.to_string(),
            kind: entry.kind,
        },
    );
    Ok(entry)
}

/// Confirms a pending method with the evidence of its first successful check, and registers it.
/// As for [`begin_add`], call it only for a session allowed to register security info
/// ([`may_register`]; a temporary access pass counts only through
/// [`TapGrant::evidence_for`](crate::TapGrant::evidence_for)).
///
/// The pending record is taken first (whatever follows, it is spent: of concurrent confirmations
/// one at most succeeds). Then the proof must match: its method is the pending kind's, its
/// credential is the factor's, it was verified no earlier than the method was begun and no longer
/// than [`AccountPolicy::confirm_window`] ago. The method is registered (at most
/// [`AccountPolicy::max_methods`], atomically), becomes the default if there was none, ends the
/// registration campaign (a help desk's "must register" and any postponement), and emits
/// [`AccountChange::MethodAdded`]. A WebAuthn method gets its provider's name from
/// `confirmation.providers` when its AAGUID is listed.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::PendingNotFound`] (never begun, used, expired),
/// [`AccountError::ProofMismatch`], [`AccountError::ProofStale`] or
/// [`AccountError::TooManyMethods`]; [`AttemptError::Store`] with [`StoreError::AlreadyExists`]
/// if the factor's credential is registered already, or another [`StoreError`] if the store fails.
pub fn confirm_add<S: Store + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    confirmation: Confirmation<'_>,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    block_on(confirm_add_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        confirmation,
        now,
    ))
}

/// Confirms a pending method with only its first check's evidence (async); see
/// [`confirm_add_with_proof`].
///
/// # Errors
/// As [`confirm_add_with_proof`].
pub async fn confirm_add_with_proof_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    pending_id: &MethodId,
    proof: &Evidence,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    let pending = take_pending_async(store, account, pending_id).await?;
    let factor = FactorRef::from_evidence(pending.kind, proof).map_err(AttemptError::Rejected)?;
    let confirmation = Confirmation {
        pending_id,
        factor: &factor,
        proof,
        providers: None,
    };
    register_confirmed_async(store, policy, events, account, pending, confirmation, now).await
}

/// [`confirm_add`] with the factor state read from the proof ([`FactorRef::from_evidence`] of
/// the pending method's kind): the pending id and the first check's evidence are all it needs.
/// A WebAuthn method registered this way has no AAGUID, hence no provider name; to name it,
/// use [`confirm_add`] with [`FactorRef::webauthn`] and [`Confirmation::providers`].
///
/// The same rules as [`confirm_add`]: the pending method is taken first (a refused proof spends
/// it), and the proof must be a recent check of the pending kind's method.
///
/// # Errors
/// As [`confirm_add`]; [`AccountError::ProofMismatch`] also when the proof names no credential
/// or the pending method is of backup codes (see [`add_backup_codes`]).
pub fn confirm_add_with_proof<S: Store + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    pending_id: &MethodId,
    proof: &Evidence,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    block_on(confirm_add_with_proof_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        pending_id,
        proof,
        now,
    ))
}

/// Issues a new set of backup codes and registers it (async), with the hashing handed to
/// `offload` (with tokio: `|job| tokio::task::spawn_blocking(move || job.run())`); see
/// [`add_backup_codes`].
///
/// # Errors
/// As [`add_backup_codes`].
#[allow(clippy::too_many_arguments)] // the blocking form's arguments and `offload`
pub async fn add_backup_codes_async<S, R, O, F, E>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    issue: &mfa_backup::IssuePolicy,
    now: UnixTime,
    rng: &mut R,
    offload: O,
) -> Result<(MethodEntry, mfa_backup::IssuedCodes), AttemptError<AccountError>>
where
    S: AsyncStore + ?Sized,
    R: CryptoRng + ?Sized,
    O: FnOnce(mfa_backup::IssueJob) -> F,
    F: Future<Output = Result<Result<mfa_backup::IssuedCodes, mfa_backup::BackupCodeError>, E>>,
{
    let (profile, registered) = snapshot_async(store, account)
        .await
        .map_err(AttemptError::Store)?;
    let replaces: Vec<String> = registered
        .iter()
        .filter(|entry| entry.kind == MethodKind::BackupCodes)
        .map(|entry| entry.id.to_string())
        .collect();
    if profile.method_ids.len().saturating_sub(replaces.len()) >= policy.max_methods {
        return rejected(AccountError::TooManyMethods {
            max: policy.max_methods,
        });
    }
    let id = MethodId::random(rng);
    let issued = mfa_backup::issue_async(
        store,
        &mfa_backup::record_key(account),
        issue,
        now,
        rng,
        offload,
    )
    .await
    .map_err(|error| match error {
        AttemptError::Store(error) => AttemptError::Store(error),
        other => AttemptError::Rejected(AccountError::FactorRefused {
            method: Method::BackupCode,
            reason: other.reason(),
        }),
    })?;
    let entry = MethodEntry {
        id,
        kind: MethodKind::BackupCodes,
        name: BACKUP_CODES_NAME.to_owned(),
        factor: FactorRef::BackupCodes,
        properties: Method::BackupCode.baseline_properties(),
        created_at: now,
        last_used_at: None,
        provider: None,
    };
    register_entry_async(store, account, &entry, &replaces, policy.max_methods).await?;
    for replaced in &replaces {
        // The new set has replaced the old one's factor record already; only our records go.
        let _ = discard_async(store, &method_key(account, replaced)).await;
    }
    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::MethodAdded {
            method_id: entry.id.to_string(),
            kind: entry.kind,
        },
    );
    Ok((entry, issued))
}

/// Issues a new set of backup codes with `mfa-backup` (replacing, and so invalidating, any set
/// the account had) and registers it as a method named [`BACKUP_CODES_NAME`], replacing an
/// existing backup-codes method. Backup codes count as soon as they are issued: the user has seen
/// them, and there is nothing further to check. Show the returned codes once.
///
/// Hashes the codes on the calling thread (blocking; see [`mfa_backup::issue`]).
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::TooManyMethods`], or
/// [`AccountError::FactorRefused`] when `mfa-backup` refuses `issue` (its
/// [`reason`](mfa_core::Rejection::reason)); [`AttemptError::Store`] if the store fails.
pub fn add_backup_codes<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    issue: &mfa_backup::IssuePolicy,
    now: UnixTime,
    rng: &mut R,
) -> Result<(MethodEntry, mfa_backup::IssuedCodes), AttemptError<AccountError>> {
    block_on(add_backup_codes_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        issue,
        now,
        rng,
        |job| core::future::ready(Ok::<_, core::convert::Infallible>(job.run())),
    ))
}

/// Whether `method_id` is registered to the account.
async fn is_registered_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    method_id: &MethodId,
) -> Result<bool, StoreError> {
    let profile = load_profile_async(store, account).await?;
    Ok(profile.method_ids.iter().any(|id| id == method_id.as_str()))
}

/// Changes one field of a registered method's record; `MethodNotFound` when it is not there.
async fn change_entry_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    method_id: &MethodId,
    mut change: impl FnMut(&mut MethodEntry) -> bool,
) -> Result<(), AttemptError<AccountError>> {
    if !is_registered_async(store, account, method_id)
        .await
        .map_err(AttemptError::Store)?
    {
        return rejected(AccountError::MethodNotFound);
    }
    let found = update_async(
        store,
        &method_key(account, method_id.as_str()),
        |current: Option<&MethodEntry>| match current {
            Some(entry) => {
                let mut next = entry.clone();
                if change(&mut next) {
                    (Change::Put(next), true)
                } else {
                    (Change::Keep, true)
                }
            }
            None => (Change::Keep, false),
        },
    )
    .await
    .map_err(AttemptError::Store)?;
    if found {
        Ok(())
    } else {
        rejected(AccountError::MethodNotFound)
    }
}

/// Renames a method (async); see [`rename`].
///
/// # Errors
/// As [`rename`].
pub async fn rename_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    method_id: &MethodId,
    name: &str,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    let name = policy.check_name(name).map_err(AttemptError::Rejected)?;
    change_entry_async(store, account, method_id, |entry| {
        let changed = entry.name != name;
        entry.name.clone_from(&name);
        changed
    })
    .await?;
    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::MethodRenamed {
            method_id: method_id.to_string(),
        },
    );
    Ok(())
}

/// Renames a method and emits [`AccountChange::MethodRenamed`].
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::InvalidName`] or
/// [`AccountError::MethodNotFound`]; [`AttemptError::Store`] if the store fails.
pub fn rename<S: Store + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    method_id: &MethodId,
    name: &str,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(rename_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        method_id,
        name,
        now,
    ))
}

/// Records that a method was just used to sign in (async); see [`record_use`].
///
/// # Errors
/// As [`record_use`].
pub async fn record_use_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    method_id: &MethodId,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    change_entry_async(store, account, method_id, |entry| {
        if entry.last_used_at.is_some_and(|last| last >= now) {
            return false;
        }
        entry.last_used_at = Some(now);
        true
    })
    .await
}

/// Records that a method was just used to sign in: its "last used" time becomes `now` (never
/// moves back). Not a change of security info: no event.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::MethodNotFound`]; [`AttemptError::Store`] if
/// the store fails.
pub fn record_use<S: Store + ?Sized>(
    store: &S,
    account: &str,
    method_id: &MethodId,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(record_use_async(
        &BlockingStore(store),
        account,
        method_id,
        now,
    ))
}

/// Records the use of whichever method a successful check proved (async); see
/// [`record_use_of`].
///
/// # Errors
/// As [`record_use_of`].
pub async fn record_use_of_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    evidence: &Evidence,
    now: UnixTime,
) -> Result<Option<MethodId>, AttemptError<AccountError>> {
    let info = security_info_async(store, account)
        .await
        .map_err(AttemptError::Store)?;
    let Some(entry) = info.method_for(evidence) else {
        return Ok(None);
    };
    match record_use_async(store, account, &entry.id, now).await {
        Ok(()) => Ok(Some(entry.id.clone())),
        // Removed since it was read: nothing registered to record.
        Err(AttemptError::Rejected(AccountError::MethodNotFound)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Records that a successful check was a sign-in with one of the account's methods: finds the
/// method the evidence proves ([`SecurityInfo::method_for`]) and sets its "last used" time to
/// `now` ([`record_use`]). Returns the method's id, or `None` (and changes nothing) when no
/// registered method matches: a password, a temporary access pass, a credential enrolled
/// outside this crate, or a method removed meanwhile.
///
/// # Errors
/// [`AttemptError::Store`] if the store fails or a record does not decode.
pub fn record_use_of<S: Store + ?Sized>(
    store: &S,
    account: &str,
    evidence: &Evidence,
    now: UnixTime,
) -> Result<Option<MethodId>, AttemptError<AccountError>> {
    block_on(record_use_of_async(
        &BlockingStore(store),
        account,
        evidence,
        now,
    ))
}

/// Makes a method the default (async); see [`set_default`].
///
/// # Errors
/// As [`set_default`].
pub async fn set_default_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    method_id: &MethodId,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    let entry_exists =
        load_async::<_, MethodEntry>(store, &method_key(account, method_id.as_str()))
            .await
            .map_err(AttemptError::Store)?
            .is_some();
    if !entry_exists {
        return rejected(AccountError::MethodNotFound);
    }
    let changed = update_async(
        store,
        &profile_key(account),
        |current: Option<&AccountProfile>| {
            let Some(profile) = current else {
                return (Change::Keep, Err(AccountError::MethodNotFound));
            };
            if !profile.method_ids.iter().any(|id| id == method_id.as_str()) {
                return (Change::Keep, Err(AccountError::MethodNotFound));
            }
            if profile.default_method.as_deref() == Some(method_id.as_str()) {
                return (Change::Keep, Ok(false));
            }
            let mut next = profile.clone();
            next.default_method = Some(method_id.to_string());
            (Change::Put(next), Ok(true))
        },
    )
    .await
    .map_err(AttemptError::Store)?
    .map_err(AttemptError::Rejected)?;
    if changed {
        emit(
            events,
            account,
            Actor::User,
            now,
            AccountChange::DefaultMethodChanged {
                method_id: method_id.to_string(),
            },
        );
    }
    Ok(())
}

/// Makes a registered method the one offered first at sign-in, and emits
/// [`AccountChange::DefaultMethodChanged`] (nothing when it already was).
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::MethodNotFound`]; [`AttemptError::Store`] if
/// the store fails.
pub fn set_default<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    method_id: &MethodId,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(set_default_async(
        &BlockingStore(store),
        events,
        account,
        method_id,
        now,
    ))
}

/// Removes a method (async); see [`remove`].
///
/// # Errors
/// As [`remove`].
pub async fn remove_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    method_id: &MethodId,
    session: &[Evidence],
    guard: &RemovalGuard<'_>,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    let store_error = AttemptError::Store;
    for _ in 0..mfa_core::MAX_COMMIT_ATTEMPTS {
        let (profile, current) = snapshot_async(store, account).await.map_err(store_error)?;
        let Some(target) = current.iter().find(|entry| &entry.id == method_id).cloned() else {
            return rejected(AccountError::MethodNotFound);
        };
        check_assurance(&target, session, now).map_err(AttemptError::Rejected)?;
        let remaining: Vec<MethodEntry> = current
            .iter()
            .filter(|entry| &entry.id != method_id)
            .cloned()
            .collect();
        guard
            .check(&profile, &current, &remaining)
            .map_err(AttemptError::Rejected)?;
        // Commit only if the profile still lists exactly the methods just judged.
        let judged = profile.method_ids;
        let committed = update_async(
            store,
            &profile_key(account),
            |latest: Option<&AccountProfile>| {
                let Some(latest) = latest else {
                    return (Change::Keep, false);
                };
                if !same_ids(&latest.method_ids, &judged) {
                    return (Change::Keep, false);
                }
                let mut next = latest.clone();
                next.method_ids.retain(|id| id != method_id.as_str());
                if next.default_method.as_deref() == Some(method_id.as_str()) {
                    next.default_method = None;
                }
                (Change::Put(next), true)
            },
        )
        .await
        .map_err(store_error)?;
        if !committed {
            continue;
        }
        if !remaining
            .iter()
            .any(|entry| entry.factor.same_state(&target.factor))
        {
            delete_factor_state_async(store, account, &target.factor).await?;
        }
        discard_async(store, &method_key(account, method_id.as_str()))
            .await
            .map_err(store_error)?;
        emit(
            events,
            account,
            Actor::User,
            now,
            AccountChange::MethodRemoved {
                method_id: method_id.to_string(),
                kind: target.kind,
            },
        );
        return Ok(target);
    }
    Err(AttemptError::Store(StoreError::Contention {
        attempts: mfa_core::MAX_COMMIT_ATTEMPTS,
    }))
}

/// Removes a method ("I lost my phone"), in this order:
///
/// 1. **Assurance** (NIST SP 800-63B-4: no weakening without re-proofing): the `session`'s
///    evidence must reach, as `mfa-policy`'s built-in `aal1` … `aal3` strengths judge it, at
///    least the highest level the method reaches ([`MethodEntry::nist_level`]). A session signed
///    in with a password and a backup code (AAL2) may remove a lost TOTP phone (AAL2) but not a
///    hardware-bound passkey (AAL3): [`AccountError::WeakensAssurance`]. The help desk's
///    [`require_reregistration`](crate::require_reregistration) is the re-proofing path.
/// 2. **Strength** (asked of `mfa-policy`, never decided here): `guard`'s probe is evaluated with
///    the current methods and with the remaining ones; if it could be satisfied before (allow,
///    or a step-up with a combination usable now) and would be a step-up with nothing usable
///    after, the removal is refused with [`AccountError::LastStrongMethod`] naming the strength.
/// 3. The profile's list of methods loses it, in one compare-and-swap that succeeds only if the
///    list is still the one judged in 2 (otherwise 1–3 run again): see the
///    [module docs](self#why-the-profile-decides). The default is cleared if it was this method.
/// 4. The factor's own state is deleted, so the factor stops verifying it (unless another
///    registered method uses the same state: the SMS and voice methods of one phone): the
///    `mfa-otp` credential and its throttle record, the `mfa-backup` set, the `mfa-webauthn`
///    credential, the `mfa-push` device ([`mfa_push::remove_device`]), the `mfa-oob` phone
///    ([`mfa_oob::remove_phone`]). Then the method record goes, and
///    [`AccountChange::MethodRemoved`] is emitted.
///
/// Returns the removed method.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`AccountError::MethodNotFound`],
/// [`AccountError::WeakensAssurance`], [`AccountError::LastStrongMethod`], or
/// [`AccountError::CorruptRecord`] if the factor reference cannot name a record;
/// [`AttemptError::Store`] if the store fails or other changes keep winning.
pub fn remove<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    method_id: &MethodId,
    session: &[Evidence],
    guard: &RemovalGuard<'_>,
    now: UnixTime,
) -> Result<MethodEntry, AttemptError<AccountError>> {
    block_on(remove_async(
        &BlockingStore(store),
        events,
        account,
        method_id,
        session,
        guard,
        now,
    ))
}

/// Deletes whatever record is at `key` (its value unread beyond decoding); whether there was one.
pub(crate) async fn discard_async<S: AsyncStore + ?Sized>(
    store: &S,
    key: &RecordKey,
) -> Result<bool, StoreError> {
    Ok(take_async::<_, serde::de::IgnoredAny>(store, key)
        .await?
        .is_some())
}

/// Deletes a credential record and its throttle record.
async fn discard_with_throttle_async<S: AsyncStore + ?Sized>(
    store: &S,
    key: &RecordKey,
) -> Result<(), StoreError> {
    discard_async(store, key).await?;
    discard_async(store, &ThrottlePolicy::key_for(key)).await?;
    Ok(())
}

/// Deletes the factor crate's state behind `factor`, so the factor stops verifying it.
pub(crate) async fn delete_factor_state_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    factor: &FactorRef,
) -> Result<(), AttemptError<AccountError>> {
    let deleted = match factor {
        FactorRef::Totp { credential_id } => {
            discard_with_throttle_async(store, &mfa_otp::totp_record_key(account, credential_id))
                .await
        }
        FactorRef::Hotp { credential_id } => {
            discard_with_throttle_async(store, &mfa_otp::hotp_record_key(account, credential_id))
                .await
        }
        FactorRef::BackupCodes => {
            discard_with_throttle_async(store, &mfa_backup::record_key(account)).await
        }
        FactorRef::WebAuthn { credential_id, .. } => {
            let id = mfa_webauthn::CredentialId::from_b64url(credential_id)
                .map_err(|_| AttemptError::Rejected(AccountError::CorruptRecord))?;
            discard_with_throttle_async(store, &mfa_webauthn::record_key(account, &id)).await
        }
        FactorRef::Push { device_id } => {
            let id = mfa_push::DeviceId::parse(device_id)
                .map_err(|_| AttemptError::Rejected(AccountError::CorruptRecord))?;
            mfa_push::remove_device_async(store, account, &id)
                .await
                .map(drop)
        }
        FactorRef::Phone { phone_id, .. } => mfa_oob::remove_phone_async(store, account, phone_id)
            .await
            .map(drop),
    };
    deleted.map_err(AttemptError::Store)
}

/// Sends one event.
pub(crate) fn emit(
    events: &dyn AccountEventSink,
    account: &str,
    actor: Actor,
    at: UnixTime,
    change: AccountChange,
) {
    events.emit(&AccountEvent {
        account: account.to_owned(),
        actor,
        at,
        change,
    });
}

/// The keys of every record of `kind` held by `account` (values unread beyond decoding).
pub(crate) async fn record_keys_async<S: AsyncStore + ?Sized>(
    store: &S,
    kind: &str,
    account: &str,
) -> Result<Vec<RecordKey>, StoreError> {
    Ok(list_async::<_, serde::de::IgnoredAny>(store, kind, account)
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_levels_compile_and_rank_sessions() {
        assert!(Engine::from_toml(SESSION_LEVELS).is_ok());
        let now = UnixTime::from_secs(1_800_000_000);
        let password = Evidence::new(Method::Password, now, "pw");
        let totp = Evidence::new(Method::Totp, now, "app");
        let key = Evidence::new(Method::WebAuthn, now, "key")
            .hardware_backed(true)
            .device_bound(true);
        assert_eq!(session_level(&[], now), None);
        assert_eq!(
            session_level(core::slice::from_ref(&password), now),
            Some(NistAal::Aal1)
        );
        assert_eq!(
            session_level(&[password.clone(), totp], now),
            Some(NistAal::Aal2)
        );
        assert_eq!(session_level(&[password, key], now), Some(NistAal::Aal3));
    }

    #[test]
    fn method_ids_parse_only_base64url() {
        assert!(MethodId::parse("abc_DEF-123").is_ok());
        assert_eq!(MethodId::parse(""), Err(AccountError::MethodNotFound));
        assert_eq!(MethodId::parse("a/b"), Err(AccountError::MethodNotFound));
        assert_eq!(
            MethodId::parse(&"a".repeat(MethodId::MAX_LEN + 1)),
            Err(AccountError::MethodNotFound)
        );
    }
}
