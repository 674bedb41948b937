//! Ceremonies through a store: the state is kept as a short-lived record and *taken* (atomically
//! loaded and deleted, [`mfa_core::take`]) before the response is checked, so each ceremony
//! answers at most one response even when it is replayed concurrently against many servers.
//! The signature counter cannot be the replay guard: synced passkeys keep it at 0.
//!
//! WebAuthn failures are not throttled: a signature cannot be guessed, so counting bad ones
//! would only let anyone who knows a credential id (it is public, in `allowCredentials`) lock
//! its owner out. See [`WebAuthnError`]'s `counts_as_failure`.
//!
//! Credentials live under [`record_key`]`(account, id)`: [`register_credential`] stores a new one
//! (refusing an id that any account holds already), [`list_credentials`] lists an account's
//! ("my passkeys", `allowCredentials`, `excludeCredentials`), and [`find_credential`] finds one
//! by the id an assertion carries, whoever holds it (username-less sign-in).

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, RecordKey, Store, StoreError,
    UnixTime, Verified, block_on, insert_new_async, list_async, load_async, put_async, take_async,
    update_async, verify_challenge_and_commit_async,
};

use crate::attestation::{AcceptAnyAttestation, AttestationOptions, AttestationTrust};
use crate::credential::StoredCredential;
use crate::credential_id::CredentialId;
use crate::crypto::SignatureVerifier;
use crate::error::WebAuthnError;
use crate::options::{
    AuthenticationRequest, AuthenticationState, CreationOptions, RegistrationRequest,
    RegistrationState, RelyingParty, RequestOptions, UserEntity,
};
use crate::registration::RegisteredCredential;
use crate::response::{AuthenticationResponse, RegistrationResponse};

/// The record kind of stored credentials ([`StoredCredential`]).
pub const CREDENTIAL_KIND: &str = "webauthn";

/// The record kind of pending ceremonies.
pub const CEREMONY_KIND: &str = "webauthn_ceremony";

/// Where `account`'s credential with this id is stored: kind [`CREDENTIAL_KIND`], the id in
/// unpadded base64url ([`CredentialId::to_b64url`]).
#[must_use]
pub fn record_key(account: &str, credential_id: &CredentialId) -> RecordKey {
    RecordKey::new(CREDENTIAL_KIND, account, credential_id.to_b64url())
}

/// Where the pending registration of `session` (any id the service gives a browser session or a
/// signed-in user) is kept. One pending registration per session: a new one replaces it.
#[must_use]
pub fn registration_key(session: &str) -> RecordKey {
    RecordKey::new(CEREMONY_KIND, session, "registration")
}

/// Where the pending authentication of `session` is kept. One per session: a new one replaces it.
#[must_use]
pub fn authentication_key(session: &str) -> RecordKey {
    RecordKey::new(CEREMONY_KIND, session, "authentication")
}

/// Finds the credential with this id, whoever holds it: the lookup behind username-less sign-in
/// (start an authentication with no `allowCredentials`, then look up the id the assertion
/// carries). The account is the key's [`RecordKey::account`]; pass the key to
/// [`finish_authentication`], which checks the assertion (and that its user handle is the
/// credential's owner) and commits the updated credential.
///
/// `None` if no account holds it (answer as for a failed sign-in: the id is not enough to
/// say more).
///
/// # Errors
/// [`StoreError::Corrupt`] if more than one account holds the id (it was registered twice,
/// which [`register_credential`] refuses) or the record holds another id; other
/// [`StoreError`]s if the store fails.
pub fn find_credential<S: Store + ?Sized>(
    store: &S,
    credential_id: &CredentialId,
) -> Result<Option<(RecordKey, StoredCredential)>, StoreError> {
    block_on(find_credential_async(&BlockingStore(store), credential_id))
}

/// Async [`find_credential`].
///
/// # Errors
/// As [`find_credential`].
pub async fn find_credential_async<S: AsyncStore + ?Sized>(
    store: &S,
    credential_id: &CredentialId,
) -> Result<Option<(RecordKey, StoredCredential)>, StoreError> {
    let keys = store
        .find_by_id(CREDENTIAL_KIND, &credential_id.to_b64url())
        .await?;
    let Some(key) = the_only(keys)? else {
        return Ok(None);
    };
    let credential = load_async(store, &key).await?;
    found(key, credential, credential_id)
}

/// The one key a credential id may have.
fn the_only(keys: Vec<RecordKey>) -> Result<Option<RecordKey>, StoreError> {
    let count = keys.len();
    let mut keys = keys.into_iter();
    match (keys.next(), count) {
        (None, _) => Ok(None),
        (Some(key), 1) => Ok(Some(key)),
        (Some(key), _) => Err(StoreError::Corrupt {
            key: key.flat(),
            reason: format!("one credential id is registered to {count} accounts"),
        }),
    }
}

fn found(
    key: RecordKey,
    credential: Option<StoredCredential>,
    credential_id: &CredentialId,
) -> Result<Option<(RecordKey, StoredCredential)>, StoreError> {
    match credential {
        // Deleted since it was found.
        None => Ok(None),
        Some(credential) if credential.id != *credential_id => Err(StoreError::Corrupt {
            key: key.flat(),
            reason: "the record holds another credential id".to_owned(),
        }),
        Some(credential) => Ok(Some((key, credential))),
    }
}

/// Stores a newly registered credential (from [`finish_registration`]) as `account`'s, under
/// [`record_key`], and returns that key.
///
/// Refuses a credential id that is registered already, to `account` or to any other: a relying
/// party must not register one credential id for two users ([WebAuthn L3 §7.1]: "Verify that
/// the credentialId is not yet registered for any user"), and username-less sign-in finds the
/// account by that id. Two registrations of one id racing each other can both pass that check;
/// each then sees the other after writing, and one that is not alone withdraws its record and is
/// refused, so at most one stays (should a withdrawal fail, [`find_credential`] reports the
/// duplicate as [`StoreError::Corrupt`] rather than pick one).
///
/// The record is stored as given: `created_at` is set by the registration ceremony,
/// `last_used_at` by each sign-in.
///
/// [WebAuthn L3 §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
///
/// # Errors
/// [`StoreError::AlreadyExists`] (naming the record that holds it) if the credential id is
/// registered already; other [`StoreError`]s if the store fails.
pub fn register_credential<S: Store + ?Sized>(
    store: &S,
    account: &str,
    credential: &StoredCredential,
) -> Result<RecordKey, StoreError> {
    block_on(register_credential_async(
        &BlockingStore(store),
        account,
        credential,
    ))
}

/// Async [`register_credential`].
///
/// # Errors
/// As [`register_credential`].
pub async fn register_credential_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    credential: &StoredCredential,
) -> Result<RecordKey, StoreError> {
    let id = credential.id.to_b64url();
    if let Some(holder) = store.find_by_id(CREDENTIAL_KIND, &id).await?.first() {
        return Err(already_registered(holder));
    }
    let key = record_key(account, &credential.id);
    insert_new_async(store, &key, credential).await?;
    let holders = store.find_by_id(CREDENTIAL_KIND, &id).await?;
    if let Some(other) = holders.iter().find(|holder| **holder != key) {
        update_async(store, &key, withdraw).await?;
        return Err(already_registered(other));
    }
    Ok(key)
}

fn already_registered(holder: &RecordKey) -> StoreError {
    StoreError::AlreadyExists { key: holder.flat() }
}

fn withdraw(_: Option<&StoredCredential>) -> (Change<StoredCredential>, ()) {
    (Change::Delete, ())
}

/// Every credential `account` holds, in key order: for a "my passkeys" page, for
/// `allowCredentials` when the user is known before signing in, and for `excludeCredentials`
/// when they register another authenticator ([`StoredCredential::descriptor`] makes each entry).
///
/// # Errors
/// [`StoreError`] if the store fails or a record cannot be decoded.
pub fn list_credentials<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<StoredCredential>, StoreError> {
    block_on(list_credentials_async(&BlockingStore(store), account))
}

/// Async [`list_credentials`].
///
/// # Errors
/// As [`list_credentials`].
pub async fn list_credentials_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<StoredCredential>, StoreError> {
    let listed = list_async(store, CREDENTIAL_KIND, account).await?;
    Ok(listed
        .into_iter()
        .map(|(_, credential)| credential)
        .collect())
}

fn taken<T>(taken: Result<Option<T>, StoreError>) -> Result<T, AttemptError<WebAuthnError>> {
    match taken {
        Ok(Some(state)) => Ok(state),
        Ok(None) => Err(AttemptError::ChallengeNotFound),
        Err(error) => Err(AttemptError::Store(error)),
    }
}

/// Starts a registration for `session`: the options to send to the browser; the state is kept
/// in `store` under [`registration_key`] until [`finish_registration`] takes it.
///
/// # Errors
/// [`StoreError`] if the state cannot be stored.
pub fn start_registration<S: Store + ?Sized>(
    store: &S,
    rp: &RelyingParty,
    rng: &mut impl CryptoRng,
    now: UnixTime,
    session: &str,
    user: UserEntity,
    request: RegistrationRequest,
) -> Result<CreationOptions, StoreError> {
    block_on(start_registration_async(
        &BlockingStore(store),
        rp,
        rng,
        now,
        session,
        user,
        request,
    ))
}

/// Async [`start_registration`].
///
/// # Errors
/// [`StoreError`] if the state cannot be stored.
pub async fn start_registration_async<S: AsyncStore + ?Sized>(
    store: &S,
    rp: &RelyingParty,
    rng: &mut impl CryptoRng,
    now: UnixTime,
    session: &str,
    user: UserEntity,
    request: RegistrationRequest,
) -> Result<CreationOptions, StoreError> {
    let (options, state) = rp.start_registration(rng, now, user, request);
    put_async(store, &registration_key(session), &state).await?;
    Ok(options)
}

/// Finishes the registration pending for `session`: takes its state (so the response is
/// checked at most once) and verifies the response ([`RegistrationState::verify`]). Store the
/// returned credential with [`register_credential`], which refuses a credential id that is
/// registered already.
///
/// # Errors
/// [`AttemptError::ChallengeNotFound`] if no registration is pending (never started, already
/// finished, replaced); [`AttemptError::Rejected`] with the failed check;
/// [`AttemptError::Store`] if the store fails.
pub fn finish_registration<S: Store + ?Sized>(
    store: &S,
    session: &str,
    response: &RegistrationResponse,
    now: UnixTime,
    verifier: &dyn SignatureVerifier,
    attestation: &AttestationOptions,
) -> Result<RegisteredCredential, AttemptError<WebAuthnError>> {
    finish_registration_with_trust(
        store,
        session,
        response,
        now,
        verifier,
        attestation,
        &AcceptAnyAttestation,
    )
}

/// Async [`finish_registration`]. The checks are CPU work of well under a millisecond (one
/// signature); they run in the future.
///
/// # Errors
/// As [`finish_registration`].
pub async fn finish_registration_async<S: AsyncStore + ?Sized>(
    store: &S,
    session: &str,
    response: &RegistrationResponse,
    now: UnixTime,
    verifier: &dyn SignatureVerifier,
    attestation: &AttestationOptions,
) -> Result<RegisteredCredential, AttemptError<WebAuthnError>> {
    finish_registration_with_trust_async(
        store,
        session,
        response,
        now,
        verifier,
        attestation,
        &AcceptAnyAttestation,
    )
    .await
}

/// Like [`finish_registration`], with a trust decision over the attestation
/// ([`RegistrationState::verify_with_trust`]), e.g. FIDO metadata with
/// [`MetadataTrust`](crate::metadata::trust::MetadataTrust). The decision is in
/// [`RegisteredCredential::trust`].
///
/// # Errors
/// As [`finish_registration`]; a trust refusal is [`AttemptError::Rejected`] with
/// [`WebAuthnError::AttestationInvalid`].
pub fn finish_registration_with_trust<S: Store + ?Sized>(
    store: &S,
    session: &str,
    response: &RegistrationResponse,
    now: UnixTime,
    verifier: &dyn SignatureVerifier,
    attestation: &AttestationOptions,
    trust: &dyn AttestationTrust,
) -> Result<RegisteredCredential, AttemptError<WebAuthnError>> {
    block_on(finish_registration_with_trust_async(
        &BlockingStore(store),
        session,
        response,
        now,
        verifier,
        attestation,
        trust,
    ))
}

/// Async [`finish_registration_with_trust`].
///
/// # Errors
/// As [`finish_registration_with_trust`].
pub async fn finish_registration_with_trust_async<S: AsyncStore + ?Sized>(
    store: &S,
    session: &str,
    response: &RegistrationResponse,
    now: UnixTime,
    verifier: &dyn SignatureVerifier,
    attestation: &AttestationOptions,
    trust: &dyn AttestationTrust,
) -> Result<RegisteredCredential, AttemptError<WebAuthnError>> {
    let state: RegistrationState = taken(take_async(store, &registration_key(session)).await)?;
    state
        .verify_with_trust(response, now, verifier, attestation, trust)
        .map_err(AttemptError::Rejected)
}

/// Starts an authentication for `session`: the options to send to the browser; the state is
/// kept in `store` under [`authentication_key`] until [`finish_authentication`] takes it.
///
/// # Errors
/// [`StoreError`] if the state cannot be stored.
pub fn start_authentication<S: Store + ?Sized>(
    store: &S,
    rp: &RelyingParty,
    rng: &mut impl CryptoRng,
    now: UnixTime,
    session: &str,
    request: AuthenticationRequest,
) -> Result<RequestOptions, StoreError> {
    block_on(start_authentication_async(
        &BlockingStore(store),
        rp,
        rng,
        now,
        session,
        request,
    ))
}

/// Async [`start_authentication`].
///
/// # Errors
/// [`StoreError`] if the state cannot be stored.
pub async fn start_authentication_async<S: AsyncStore + ?Sized>(
    store: &S,
    rp: &RelyingParty,
    rng: &mut impl CryptoRng,
    now: UnixTime,
    session: &str,
    request: AuthenticationRequest,
) -> Result<RequestOptions, StoreError> {
    let (options, state) = rp.start_authentication(rng, now, request);
    put_async(store, &authentication_key(session), &state).await?;
    Ok(options)
}

/// Finishes the authentication pending for `session` against the credential stored at
/// `credential_key`: [`record_key`] of the account and `response.credential_id` when the user
/// was identified first, or the key [`find_credential`] returns for a username-less sign-in.
/// It takes the ceremony state first (so of any number of concurrent submissions of one
/// assertion, at most one succeeds, on any store backend), checks the assertion
/// ([`AuthenticationState::check`]), and commits the updated credential (counter, BS, last use)
/// with a compare-and-swap ([`crate::VerifiedAssertion::apply`] on the current record).
///
/// # Errors
/// [`AttemptError::ChallengeNotFound`] if no authentication is pending (never started, already
/// finished or replayed, replaced); [`AttemptError::NotEnrolled`] if no credential is stored at
/// `credential_key`; [`AttemptError::Rejected`] with the failed check; [`AttemptError::Store`] if
/// the store fails.
pub fn finish_authentication<S: Store + ?Sized>(
    store: &S,
    session: &str,
    credential_key: &RecordKey,
    response: &AuthenticationResponse,
    now: UnixTime,
    verifier: &dyn SignatureVerifier,
) -> Result<Verified<StoredCredential>, AttemptError<WebAuthnError>> {
    block_on(finish_authentication_async(
        &BlockingStore(store),
        session,
        credential_key,
        response,
        now,
        verifier,
    ))
}

/// Async [`finish_authentication`]. The checks are CPU work of well under a millisecond (one
/// signature); they run in the future.
///
/// # Errors
/// As [`finish_authentication`].
pub async fn finish_authentication_async<S: AsyncStore + ?Sized>(
    store: &S,
    session: &str,
    credential_key: &RecordKey,
    response: &AuthenticationResponse,
    now: UnixTime,
    verifier: &dyn SignatureVerifier,
) -> Result<Verified<StoredCredential>, AttemptError<WebAuthnError>> {
    verify_challenge_and_commit_async(
        store,
        &authentication_key(session),
        credential_key,
        |state: AuthenticationState, credential: &StoredCredential| {
            state.check(credential, response, now, verifier)
        },
        |assertion, current| assertion.apply(current),
    )
    .await
}
