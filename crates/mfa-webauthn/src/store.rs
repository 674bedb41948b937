//! Ceremonies through a store: the state is kept as a short-lived record and *taken* (atomically
//! loaded and deleted, [`mfa_core::take`]) before the response is checked, so each ceremony
//! answers at most one response even when it is replayed concurrently against many servers.
//! The signature counter cannot be the replay guard: synced passkeys keep it at 0.
//!
//! WebAuthn failures are not throttled: a signature cannot be guessed, so counting bad ones
//! would only let anyone who knows a credential id (it is public, in `allowCredentials`) lock
//! its owner out. See [`WebAuthnError`]'s `counts_as_failure`.

use mfa_core::{
    AsyncStore, AttemptError, CryptoRng, RecordKey, Store, StoreError, UnixTime, Verified, put,
    put_async, take, take_async, verify_challenge_and_commit, verify_challenge_and_commit_async,
};

use crate::attestation::AttestationOptions;
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
    let (options, state) = rp.start_registration(rng, now, user, request);
    put(store, &registration_key(session), &state)?;
    Ok(options)
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
/// returned credential under [`record_key`] with [`mfa_core::insert_new`] (an existing record
/// means the credential id is already registered).
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
    let state: RegistrationState = taken(take(store, &registration_key(session)))?;
    state
        .verify(response, now, verifier, attestation)
        .map_err(AttemptError::Rejected)
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
    let state: RegistrationState = taken(take_async(store, &registration_key(session)).await)?;
    state
        .verify(response, now, verifier, attestation)
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
    let (options, state) = rp.start_authentication(rng, now, request);
    put(store, &authentication_key(session), &state)?;
    Ok(options)
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
/// `credential_key` (usually [`record_key`] of the account and `response.credential_id`):
/// takes the ceremony state first (so of any number of concurrent submissions of one assertion,
/// at most one succeeds, on any store backend), checks the assertion
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
    verify_challenge_and_commit(
        store,
        &authentication_key(session),
        credential_key,
        |state: AuthenticationState, credential: &StoredCredential| {
            state.check(credential, response, now, verifier)
        },
        |assertion, current| assertion.apply(current),
    )
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
