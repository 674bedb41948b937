//! Example: a security key (the crate's software authenticator) registers, signs in, a replayed
//! assertion finds its ceremony already used, and a cloned key is caught by its signature counter.
//! Then FIDO metadata decides which keys may register: a listed hardware key is named and
//! recorded as hardware-backed, a revoked model is refused (test CAs and a test BLOB stand in for
//! the FIDO Metadata Service and its GlobalSign root).
//!
//! Run with `cargo run -p mfa-examples --bin webauthn`. Prints the JSON that would travel to
//! and from the browser, the credential record, and each decision.

use mfa_core::{AttemptError, Clock as _, MemoryStore, Rejection as _, SystemClock};
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, DefaultVerifier,
    RegistrationRequest, RegistrationResponse, RelyingParty, StoredCredential, UserEntity,
    UserVerification, finish_authentication, register_credential, start_authentication,
};

const ORIGIN: &str = "https://login.example.com";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any rand_core::CryptoRng; StdRng is also Send, as an async handler needs.
    let mut rng: rand::rngs::StdRng = rand::make_rng();
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
        &DefaultVerifier,
        &AttestationOptions::default(),
    )?;
    println!(
        "registered ({} attestation, {:?}):\n{}\n",
        registered.attestation.format.as_str(),
        registered.attestation.attestation_type,
        serde_json::to_string_pretty(&registered.credential)?
    );

    // 2. The credential goes into the store. Each sign-in keeps its ceremony state in the store
    //    too, and finishing *takes* it (atomic load and delete) before checking the assertion.
    let store = MemoryStore::new();
    //    Registering refuses a credential id that any account holds already.
    let record = register_credential(&store, "alice", &registered.credential)?;

    let sign_in = |key: &mut SoftwareAuthenticator, rng: &mut rand::rngs::StdRng| {
        let credential: &StoredCredential = &registered.credential;
        let request = AuthenticationRequest {
            allow_credentials: vec![credential.descriptor()],
            user_verification: UserVerification::Required,
            ..AuthenticationRequest::default()
        };
        let options = start_authentication(&store, &rp, rng, now, "browser-session", request)
            .expect("the memory store does not fail");
        let response = AuthenticationResponse::from_json(&key.authenticate(&options, ORIGIN))
            .expect("the software authenticator writes valid JSON");
        let result = finish_authentication(
            &store,
            "browser-session",
            &record,
            &response,
            now,
            &DefaultVerifier,
        );
        (response, result)
    };

    // 3. Two sign-ins: accepted, the counter advances in the store.
    for _ in 0..2 {
        let verified = sign_in(&mut key, &mut rng).1?;
        println!(
            "signed in: counter {}, evidence {:?}",
            verified.credential().sign_count,
            verified.evidence().properties
        );
    }

    // 4. A captured assertion replayed: its ceremony was taken by the first use.
    let (captured, _) = sign_in(&mut key, &mut rng);
    match finish_authentication(
        &store,
        "browser-session",
        &record,
        &captured,
        now,
        &DefaultVerifier,
    ) {
        Err(AttemptError::ChallengeNotFound) => {
            println!("replay refused: the ceremony was already used (challenge_not_found)")
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // 5. A clone of the key, with an older counter, is refused.
    key.set_sign_count(0);
    match sign_in(&mut key, &mut rng).1 {
        Err(AttemptError::Rejected(error)) => {
            println!("clone refused: {} ({error})", error.reason())
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    metadata_trust(&mut rng, &rp)
}

/// 6. Registration judged by FIDO metadata (MDS3).
fn metadata_trust(
    rng: &mut rand::rngs::StdRng,
    rp: &RelyingParty,
) -> Result<(), Box<dyn std::error::Error>> {
    use base64::Engine as _;
    use mfa_webauthn::metadata::trust::MetadataTrust;
    use mfa_webauthn::metadata::{
        Aaguid, AuthenticatorStatus, BlobOptions, MdsDate, Metadata, MetadataEntry,
        MetadataStatement, StatusReport,
    };
    use mfa_webauthn::testing::mds::{BlobBuilder, MdsSigner};
    use mfa_webauthn::testing::pki::{JwsAlgorithm, TestPki};
    use std::sync::Arc;

    let now = SystemClock.now();
    let (from, to) = (
        mfa_core::UnixTime::from_secs(now.as_secs() - 86_400),
        mfa_core::UnixTime::from_secs(now.as_secs() + 3 * 365 * 86_400),
    );
    // A vendor's attestation CA, and two models it makes: one certified, one revoked.
    let vendor = TestPki::new(rng, from, to);
    let (good, revoked) = ([0x11; 16], [0x22; 16]);
    let entry = |aaguid: [u8; 16], description: &str, status: AuthenticatorStatus| {
        let mut statement = MetadataStatement::default();
        statement.description = description.to_owned();
        statement.attestation_types = vec!["basic_full".to_owned()];
        statement.key_protection = vec!["hardware".to_owned(), "secure_element".to_owned()];
        statement.attestation_root_certificates =
            vec![base64::engine::general_purpose::STANDARD.encode(vendor.root.der())];
        let since = MdsDate::containing(from);
        MetadataEntry::fido2(
            Aaguid(aaguid),
            statement,
            vec![StatusReport::new(status, Some(since))],
        )
    };
    // The BLOB as the service would download it, and its check against the root it trusts.
    let signer = MdsSigner::new(rng, JwsAlgorithm::Es256, from, to);
    let blob = BlobBuilder::new(7, MdsDate::containing(to))
        .entries(vec![
            entry(
                good,
                "Example Key 5 NFC",
                AuthenticatorStatus::FidoCertifiedL1,
            ),
            entry(revoked, "Example Key 1", AuthenticatorStatus::Revoked),
        ])
        .sign(&signer);
    let metadata = Metadata::from_blob(&blob, &BlobOptions::new(signer.root_der().to_vec(), now))?;
    println!(
        "\nmetadata BLOB no {}: {} entries, next update {}",
        metadata.no(),
        metadata.entries().len(),
        metadata.next_update()
    );
    let trust = MetadataTrust::new(Arc::new(metadata));

    for (aaguid, model) in [(good, "certified"), (revoked, "revoked")] {
        let mut key = SoftwareAuthenticator::new(rng);
        key.aaguid = aaguid;
        key.attestation = vendor.packed_attestation(rng, aaguid);
        let user = UserEntity::random(rng, "bob@example.com", "Bob");
        let (options, state) =
            rp.start_registration(rng, now, user, RegistrationRequest::default());
        let response = RegistrationResponse::from_json(&key.register(&options, ORIGIN))?;
        let options = AttestationOptions::default();
        match state.verify_with_trust(&response, now, &DefaultVerifier, &options, &trust) {
            Ok(registered) => println!(
                "{model} model registered: {} (hardware-backed: {})",
                registered.trust.reason, registered.credential.hardware_backed
            ),
            Err(error) => println!("{model} model refused: {} ({error})", error.reason()),
        }
    }
    Ok(())
}
