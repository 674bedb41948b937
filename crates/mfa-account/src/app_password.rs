//! App passwords: generated passwords for clients that cannot do a second factor (IMAP, POP3,
//! SMTP, scripts using basic authentication), after Microsoft's app passwords
//! (<https://learn.microsoft.com/en-us/entra/identity/authentication/howto-mfa-app-passwords>).
//!
//! - **Generated**, never chosen: [`AccountPolicy::app_password_chars`] symbols of lower-case
//!   Crockford base32 (20 = 100 bits by default, never fewer than [`MIN_APP_PASSWORD_CHARS`]),
//!   grouped by four with spaces (`abcd efgh jkmn pqrs tvwx`), shown once, stored only as a
//!   salted SHA-256, one per application, named by the user.
//! - **Legacy clients only**: [`check_app_password`] refuses any client but
//!   [`ClientApp::Legacy`] before it looks at the password. On success the caller marks the
//!   sign-in context with `.client_app(ClientApp::Legacy).app_password(true)`, and the policy
//!   engine decides (per-user MFA `enforced` accepts legacy sign-ins only with an app password).
//! - **The policy can forbid them** ([`AccountPolicy::app_passwords`]): creating and checking
//!   are then refused, and existing ones stop working.
//! - **Checked against every app password of the account** in constant time, and the last use
//!   kept. Not throttled: 100 random bits cannot be guessed online, and counting failures would
//!   let anyone who knows a user's name lock their mail client out.

use core::fmt;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, Evidence, Method, Store,
    StoreError, UnixTime, Verified, block_on, insert_new_async, list_async, update_async,
};
use mfa_policy::{ClientApp, SignInContext};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AccountPolicy;
use crate::error::AccountError;
use crate::events::{AccountChange, AccountEventSink, Actor};
use crate::hashed::{
    MAX_SECRET_CHARS, delete_all_async, delete_async, emit, find_match, without_separators,
};
use crate::secret::{CROCKFORD_LOWER, SecretHash, generate_grouped, normalize, random_id};
use crate::store::{APP_PASSWORD_KIND, app_password_key};

/// Fewest symbols in an app password, whatever the policy says: 20 × 5 = 100 bits (at least 96).
pub const MIN_APP_PASSWORD_CHARS: usize = 20;

/// Domain separation of app-password hashes.
const APP_PASSWORD_DOMAIN: &str = "mfa-account/app_password";

/// An app password just created: show [`password`](Self::password) once, for the user to paste
/// into the application. `Debug` does not show the password.
#[derive(Clone)]
pub struct CreatedAppPassword {
    /// Its id (for listing and revoking; not secret).
    pub id: String,
    /// The application it is for.
    pub name: String,
    /// The password, lower case, grouped by four with spaces. Accepted with or without the
    /// spaces, in either case.
    pub password: Zeroizing<String>,
    /// When it was created.
    pub created_at: UnixTime,
}

impl fmt::Debug for CreatedAppPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedAppPassword")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// An app password as stored under [`app_password_key`]: the hash, never the password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct AppPasswordRecord {
    name: String,
    hash: SecretHash,
    created_at: UnixTime,
    last_used_at: Option<UnixTime>,
}

/// An app password as listed: everything but the secret.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppPasswordInfo {
    /// Its id.
    pub id: String,
    /// The application it is for.
    pub name: String,
    /// When it was created. JSON: Unix milliseconds.
    pub created_at: UnixTime,
    /// When it was last accepted. JSON: Unix milliseconds.
    pub last_used_at: Option<UnixTime>,
}

impl AppPasswordInfo {
    fn from_record(id: &str, record: AppPasswordRecord) -> Self {
        Self {
            id: id.to_owned(),
            name: record.name,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// Which app password a legacy client presented. Built only by [`check_app_password`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPasswordUse {
    id: String,
    name: String,
    previously_used_at: Option<UnixTime>,
    evidence: Evidence,
}

impl AppPasswordUse {
    /// The app password's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The application it is for.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it was accepted before this use (`None`: first use).
    #[must_use]
    pub fn previously_used_at(&self) -> Option<UnixTime> {
        self.previously_used_at
    }

    /// Marks a policy context as this legacy sign-in: client [`ClientApp::Legacy`],
    /// `app_password` set, and the check's evidence (a [`Method::Password`] naming the app
    /// password's id) added. The policy engine then decides (per-user MFA `enforced` accepts a
    /// legacy sign-in only with an app password; a policy can block app passwords).
    pub fn apply_to(&self, context: &mut SignInContext) {
        context.client_app = ClientApp::Legacy;
        context.app_password = true;
        context.add_evidence(self.evidence.clone());
    }
}

/// Creates an app password named `name` for `account`. Emits
/// [`AppPasswordCreated`](AccountChange::AppPasswordCreated) by [`Actor::User`].
///
/// The count is checked after the new record is written: of concurrent creations that would
/// exceed [`AccountPolicy::max_app_passwords`], the surplus ones are removed again and refused.
///
/// # Errors
/// [`AccountError::AppPasswordsDisabled`] when the policy forbids app passwords;
/// [`AccountError::InvalidName`] for an empty, too long or unprintable name;
/// [`AccountError::TooManyAppPasswords`] at the policy's limit; [`AttemptError::Store`] when the
/// store fails.
pub fn create_app_password<S: Store + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    name: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<CreatedAppPassword, AttemptError<AccountError>> {
    block_on(create_app_password_async(
        &BlockingStore(store),
        policy,
        events,
        account,
        name,
        now,
        rng,
    ))
}

/// Async [`create_app_password`].
///
/// # Errors
/// As [`create_app_password`].
pub async fn create_app_password_async<S: AsyncStore + ?Sized, R: CryptoRng + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    events: &dyn AccountEventSink,
    account: &str,
    name: &str,
    now: UnixTime,
    rng: &mut R,
) -> Result<CreatedAppPassword, AttemptError<AccountError>> {
    if !policy.app_passwords {
        return Err(AttemptError::Rejected(AccountError::AppPasswordsDisabled));
    }
    let name = policy.check_name(name).map_err(AttemptError::Rejected)?;
    let too_many = || {
        AttemptError::Rejected(AccountError::TooManyAppPasswords {
            max: policy.max_app_passwords,
        })
    };
    if count_async(store, account).await? >= policy.max_app_passwords {
        return Err(too_many());
    }

    let chars = policy
        .app_password_chars
        .clamp(MIN_APP_PASSWORD_CHARS, MAX_SECRET_CHARS);
    let password = generate_grouped(rng, CROCKFORD_LOWER, chars, 4, ' ');
    // Hashed in the form `normalize` gives typed input: upper case.
    let symbols = without_separators(&password.to_ascii_uppercase());
    let id = random_id(rng);
    let key = app_password_key(account, &id);
    let record = AppPasswordRecord {
        name: name.clone(),
        hash: SecretHash::new(rng, APP_PASSWORD_DOMAIN, &symbols),
        created_at: now,
        last_used_at: None,
    };
    insert_new_async(store, &key, &record).await?;

    // Concurrent creations may each have seen room for one more: whoever finds the account over
    // its limit now takes its own password back.
    if count_async(store, account).await? > policy.max_app_passwords {
        delete_async::<_, AppPasswordRecord>(store, &key).await?;
        return Err(too_many());
    }

    emit(
        events,
        account,
        Actor::User,
        now,
        AccountChange::AppPasswordCreated {
            id: id.clone(),
            name: name.clone(),
        },
    );
    Ok(CreatedAppPassword {
        id,
        name,
        password,
        created_at: now,
    })
}

/// Checks an app password a legacy client presented for `account`, and records its use.
///
/// In order: the client must be [`ClientApp::Legacy`]; the policy must allow app passwords;
/// the typed password is compared against every app password of the account in constant time;
/// the match's last use is set to `now` through an atomic update. The evidence is
/// [`Method::Password`] with the app password's id as credential.
///
/// Then tell the policy engine: [`AppPasswordUse::apply_to`] marks the sign-in context
/// (client [`ClientApp::Legacy`], `app_password`, the evidence).
///
/// ```
/// use mfa_account::{AccountPolicy, NoEvents, check_app_password, create_app_password};
/// use mfa_core::{MemoryStore, UnixTime};
/// use mfa_policy::{ClientApp, Decision, Engine, PerUserMfa, PolicySet, SignInContext};
/// use rand::SeedableRng;
///
/// let (store, policy) = (MemoryStore::new(), AccountPolicy::default());
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let now = UnixTime::from_secs(1_800_000_000);
/// let created = create_app_password(&store, &policy, &NoEvents, "alice", "Thunderbird", now, &mut rng)?;
///
/// // Per-user MFA `enforced`: legacy clients need an app password.
/// let engine = Engine::new(PolicySet::new())?;
/// let plain_imap = SignInContext::builder("alice", "mail", now)
///     .mfa_state(PerUserMfa::Enforced)
///     .client_app(ClientApp::Legacy)
///     .build();
/// let used = check_app_password(&store, &policy, "alice", &created.password, ClientApp::Legacy, now)?;
/// assert_eq!(used.credential().name(), "Thunderbird");
/// let mut imap = plain_imap.clone();
/// used.credential().apply_to(&mut imap);
/// assert!(imap.app_password);
/// assert!(engine.evaluate(&imap).decision.is_allow());
/// assert!(matches!(engine.evaluate(&plain_imap).decision, Decision::Block { .. }));
///
/// // A browser cannot use it.
/// assert!(check_app_password(&store, &policy, "alice", &created.password, ClientApp::Browser, now).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`AccountError::NotLegacyClient`] for any other client; [`AccountError::AppPasswordsDisabled`]
/// when the policy forbids app passwords; [`AccountError::AppPasswordInvalid`] when none matches
/// (wrong, revoked, or not in the password alphabet); [`AttemptError::Store`] when the store
/// fails.
pub fn check_app_password<S: Store + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    account: &str,
    typed: &str,
    client: ClientApp,
    now: UnixTime,
) -> Result<Verified<AppPasswordUse>, AttemptError<AccountError>> {
    block_on(check_app_password_async(
        &BlockingStore(store),
        policy,
        account,
        typed,
        client,
        now,
    ))
}

/// Async [`check_app_password`].
///
/// # Errors
/// As [`check_app_password`].
pub async fn check_app_password_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &AccountPolicy,
    account: &str,
    typed: &str,
    client: ClientApp,
    now: UnixTime,
) -> Result<Verified<AppPasswordUse>, AttemptError<AccountError>> {
    if client != ClientApp::Legacy {
        return Err(AttemptError::Rejected(AccountError::NotLegacyClient));
    }
    if !policy.app_passwords {
        return Err(AttemptError::Rejected(AccountError::AppPasswordsDisabled));
    }
    let invalid = || AttemptError::Rejected(AccountError::AppPasswordInvalid);
    let normalized = normalize(typed).ok_or_else(invalid)?;
    let passwords = list_async::<_, AppPasswordRecord>(store, APP_PASSWORD_KIND, account).await?;
    let (key, matched) = find_match(
        &passwords,
        |record| &record.hash,
        APP_PASSWORD_DOMAIN,
        &normalized,
    )
    .ok_or_else(invalid)?;
    let used = update_async(store, key, |current: Option<&AppPasswordRecord>| {
        match current {
            Some(current) if current.hash == matched.hash => {
                let previously_used_at = current.last_used_at;
                let mut record = current.clone();
                record.last_used_at = Some(now);
                (Change::Put(record), Some(previously_used_at))
            }
            // Revoked since it was listed.
            _ => (Change::Keep, None),
        }
    })
    .await?;
    let previously_used_at = used.ok_or_else(invalid)?;
    let evidence = Evidence::new(Method::Password, now, key.id());
    Ok(Verified::new(
        evidence.clone(),
        AppPasswordUse {
            id: key.id().to_owned(),
            name: matched.name.clone(),
            previously_used_at,
            evidence,
        },
    ))
}

/// Every app password of `account`, oldest first, without secrets.
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode.
pub fn list_app_passwords<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<AppPasswordInfo>, StoreError> {
    block_on(list_app_passwords_async(&BlockingStore(store), account))
}

/// Async [`list_app_passwords`].
///
/// # Errors
/// As [`list_app_passwords`].
pub async fn list_app_passwords_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<AppPasswordInfo>, StoreError> {
    let mut passwords: Vec<AppPasswordInfo> =
        list_async::<_, AppPasswordRecord>(store, APP_PASSWORD_KIND, account)
            .await?
            .into_iter()
            .map(|(key, record)| AppPasswordInfo::from_record(key.id(), record))
            .collect();
    passwords.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(passwords)
}

/// Revokes `account`'s app password `id`. Emits
/// [`AppPasswordRevoked`](AccountChange::AppPasswordRevoked) by `actor`.
///
/// # Errors
/// [`AccountError::AppPasswordInvalid`] when the account has no such app password;
/// [`AttemptError::Store`] when the store fails.
pub fn revoke_app_password<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    id: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    block_on(revoke_app_password_async(
        &BlockingStore(store),
        events,
        account,
        id,
        actor,
        now,
    ))
}

/// Async [`revoke_app_password`].
///
/// # Errors
/// As [`revoke_app_password`].
pub async fn revoke_app_password_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    id: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<(), AttemptError<AccountError>> {
    if !delete_async::<_, AppPasswordRecord>(store, &app_password_key(account, id)).await? {
        return Err(AttemptError::Rejected(AccountError::AppPasswordInvalid));
    }
    emit(
        events,
        account,
        actor,
        now,
        AccountChange::AppPasswordRevoked { id: id.to_owned() },
    );
    Ok(())
}

/// Revokes every app password of `account` and says how many there were. Emits
/// [`AppPasswordsRevokedAll`](AccountChange::AppPasswordsRevokedAll) by `actor` (also when there
/// were none: the user asked).
///
/// # Errors
/// [`StoreError`] if the store fails or a record does not decode; the passwords deleted before
/// the failure stay deleted.
pub fn revoke_all_app_passwords<S: Store + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<usize, StoreError> {
    block_on(revoke_all_app_passwords_async(
        &BlockingStore(store),
        events,
        account,
        actor,
        now,
    ))
}

/// Async [`revoke_all_app_passwords`].
///
/// # Errors
/// As [`revoke_all_app_passwords`].
pub async fn revoke_all_app_passwords_async<S: AsyncStore + ?Sized>(
    store: &S,
    events: &dyn AccountEventSink,
    account: &str,
    actor: Actor,
    now: UnixTime,
) -> Result<usize, StoreError> {
    let count = delete_all_app_passwords_async(store, account).await?;
    emit(
        events,
        account,
        actor,
        now,
        AccountChange::AppPasswordsRevokedAll { count },
    );
    Ok(count)
}

/// Deletes every app password of `account` without an event of its own (the help desk's reset
/// reports it); how many there were.
pub(crate) async fn delete_all_app_passwords_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<usize, StoreError> {
    delete_all_async::<_, AppPasswordRecord>(store, APP_PASSWORD_KIND, account).await
}

/// How many app passwords `account` has.
async fn count_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<usize, StoreError> {
    Ok(
        list_async::<_, AppPasswordRecord>(store, APP_PASSWORD_KIND, account)
            .await?
            .len(),
    )
}
