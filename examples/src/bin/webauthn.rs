//! Example: a security key (the crate's software authenticator) registers, signs in, and a
//! cloned key is caught by its signature counter.
//!
//! Run with `cargo run -p mfa-examples --bin webauthn`. Prints the JSON that would travel to
//! and from the browser, the credential record, and each decision.

use mfa_core::{
    AttemptError, Clock as _, MemoryStore, RecordKey, Rejection as _, SystemClock, ThrottlePolicy,
    insert_new,
};
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, CredentialDescriptor,
    RegistrationRequest, RegistrationResponse, RelyingParty, RustCryptoVerifier, StoredCredential,
    UserEntity, UserVerification,
};

const ORIGIN: &str = "https://login.example.com";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = rand::rng();
    let now = SystemClock.now();
    let rp = RelyingParty::new("example.com", "Example Corp", ORIGIN);
    let mut key = SoftwareAuthenticator::new(&mut rng);

    // 1. Registration.
    let user = UserEntity::random(&mut rng, "alice@example.com", "Alice");
    let request = RegistrationRequest {
        user_verification: UserVerification::Required,
        ..RegistrationRequest::default()
    };
    let (options, state) = rp.start_registration(&mut rng, now, user, request);
    println!(
        "creation options → browser:\n{}\n",
        serde_json::to_string_pretty(&options)?
    );
    let response_json = key.register(&options, ORIGIN);
    println!(
        "registration response ← browser:\n{}\n",
        String::from_utf8_lossy(&response_json)
    );
    let response = RegistrationResponse::from_json(&response_json)?;
    let registered = state.verify(
        &response,
        now,
        &RustCryptoVerifier,
        &AttestationOptions { now },
    )?;
    println!(
        "registered ({} attestation, {:?}):\n{}\n",
        registered.attestation.format.as_str(),
        registered.attestation.attestation_type,
        serde_json::to_string_pretty(&registered.credential)?
    );

    // 2. The credential goes into the store; sign-ins go through the atomic, throttled helper.
    let store = MemoryStore::new();
    let record = RecordKey::new("webauthn", "alice", registered.credential.id.to_b64url());
    insert_new(&store, &record, &registered.credential)?;
    let throttle = ThrottlePolicy::default();

    let sign_in = |key: &mut SoftwareAuthenticator, rng: &mut rand::rngs::ThreadRng| {
        let credential: &StoredCredential = &registered.credential;
        let request = AuthenticationRequest {
            allow_credentials: vec![CredentialDescriptor::new(
                credential.id.as_bytes().to_vec(),
                credential.transports.clone(),
            )],
            user_verification: UserVerification::Required,
            ..AuthenticationRequest::default()
        };
        let (options, state) = rp.start_authentication(rng, now, request);
        let response = AuthenticationResponse::from_json(&key.authenticate(&options, ORIGIN))
            .expect("the software authenticator writes valid JSON");
        throttle.verify_and_commit(&store, &record, now, |stored: &StoredCredential| {
            state.verify(stored, &response, now, &RustCryptoVerifier)
        })
    };

    // 3. Two sign-ins: accepted, the counter advances in the store.
    for _ in 0..2 {
        let verified = sign_in(&mut key, &mut rng)?;
        println!(
            "signed in: counter {}, evidence {:?}",
            verified.credential().sign_count,
            verified.evidence().properties
        );
    }

    // 4. A clone of the key, with an older counter, is refused.
    key.set_sign_count(0);
    match sign_in(&mut key, &mut rng) {
        Err(AttemptError::Rejected(error)) => {
            println!("clone refused: {} ({error})", error.reason())
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    Ok(())
}
