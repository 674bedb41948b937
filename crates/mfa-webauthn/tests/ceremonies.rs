//! End-to-end ceremonies with the software authenticator: options JSON, state serde, every
//! §7.1/§7.2 rule with a twin that breaks it, policies (sign count, cross origin, AppID, several
//! RP IDs and origins), store integration, and parsers that never panic on arbitrary input.
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use core::time::Duration;

use mfa_core::{
    AttemptError, MemoryStore, RecordKey, Rejection as _, StoreError, ThrottlePolicy, UnixTime,
    insert_new,
};
use mfa_webauthn::testing::{SoftwareAttestation, SoftwareAuthenticator};
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, AuthenticationState,
    AuthenticatorData, CoseAlgorithm, CredentialDescriptor, CredentialId, CrossOrigin,
    RegistrationRequest, RegistrationResponse, RegistrationState, RelyingParty, RustCryptoVerifier,
    SignCountPolicy, StoredCredential, UserEntity, UserVerification, WebAuthnError, base64url,
};
use mfa_webauthn::{
    Base64UrlBytes, CREDENTIAL_KIND, find_credential, finish_authentication, list_credentials,
    record_key, register_credential, start_authentication, start_registration,
};
use proptest::prelude::*;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::Value;

const ORIGIN: &str = "https://login.example.com";

/// A second copy of a ceremony state, made through serde: states are consumed by `verify` and
/// are not `Clone`, so a test that tries several responses against one ceremony says so here.
fn copy<T: serde::Serialize + serde::de::DeserializeOwned>(state: &T) -> T {
    serde_json::from_str(&serde_json::to_string(state).unwrap()).unwrap()
}
const T0: UnixTime = UnixTime::from_secs(1_800_000_000);

fn rp() -> RelyingParty {
    RelyingParty::new("example.com", "Example", ORIGIN)
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

fn user(rng: &mut StdRng) -> UserEntity {
    UserEntity::random(rng, "alice@example.com", "Alice")
}

fn register_with(
    rp: &RelyingParty,
    rng: &mut StdRng,
    auth: &mut SoftwareAuthenticator,
    request: RegistrationRequest,
) -> Result<StoredCredential, WebAuthnError> {
    let (options, state) = {
        let user = user(rng);
        rp.start_registration(rng, T0, user, request)
    };
    let json = auth.register(&options, ORIGIN);
    finish_registration(&state, &json)
}

fn finish_registration(
    state: &RegistrationState,
    json: &[u8],
) -> Result<StoredCredential, WebAuthnError> {
    let response = RegistrationResponse::from_json(json)?;
    copy(state)
        .verify(
            &response,
            T0,
            &RustCryptoVerifier,
            &AttestationOptions::default(),
        )
        .map(|r| r.credential)
}

fn registered(rp: &RelyingParty, rng: &mut StdRng) -> (SoftwareAuthenticator, StoredCredential) {
    let mut auth = SoftwareAuthenticator::new(rng);
    let credential = register_with(rp, rng, &mut auth, RegistrationRequest::default()).unwrap();
    (auth, credential)
}

fn allow(credential: &StoredCredential) -> AuthenticationRequest {
    AuthenticationRequest {
        allow_credentials: vec![credential.descriptor()],
        ..AuthenticationRequest::default()
    }
}

fn finish(
    state: &AuthenticationState,
    credential: &StoredCredential,
    json: &[u8],
) -> Result<mfa_core::Verified<StoredCredential>, WebAuthnError> {
    let response = AuthenticationResponse::from_json(json)?;
    copy(state).verify(credential, &response, T0, &RustCryptoVerifier)
}

fn kind<T>(r: &Result<T, WebAuthnError>) -> &'static str {
    match r {
        Ok(_) => "valid",
        Err(e) => e.reason(),
    }
}

#[test]
fn register_then_authenticate() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    assert_eq!(credential.alg, -7);
    assert_eq!(credential.fmt.map(|f| f.as_str()), Some("packed"));
    assert_eq!(credential.backup_eligible, Some(false));
    assert_eq!(credential.transports, ["internal"]);
    assert_eq!(
        credential.aaguid.as_deref(),
        Some("00000000-0000-0000-0000-000000000000")
    );

    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let verified = finish(&state, &credential, &auth.authenticate(&options, ORIGIN)).unwrap();
    let evidence = verified.evidence();
    assert!(evidence.properties.phishing_resistant);
    assert!(evidence.properties.user_verified);
    assert!(evidence.properties.device_bound);
    assert_eq!(evidence.method, mfa_core::Method::WebAuthn);
    assert_eq!(verified.credential().sign_count, 1);
    assert_eq!(verified.credential().last_used_at, Some(T0));
}

#[test]
fn none_attestation_registers() {
    let mut rng = rng();
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    auth.attestation = SoftwareAttestation::None;
    let c = register_with(&rp(), &mut rng, &mut auth, RegistrationRequest::default()).unwrap();
    assert_eq!(c.fmt.map(|f| f.as_str()), Some("none"));
}

#[test]
fn options_are_webauthn_l3_json() {
    let mut rng = rng();
    let rp = rp().with_appid("https://example.com/appid.json");
    let request = RegistrationRequest {
        exclude_credentials: vec![CredentialDescriptor::new(
            CredentialId::new(vec![1, 2, 3]).unwrap(),
            vec!["usb".into()],
        )],
        user_verification: UserVerification::Required,
        hints: vec![mfa_webauthn::Hint::SecurityKey],
        attestation: mfa_webauthn::AttestationConveyance::Direct,
        authenticator_attachment: Some(mfa_webauthn::AuthenticatorAttachment::CrossPlatform),
        ..RegistrationRequest::default()
    };
    let (options, _) = {
        let u = user(&mut rng);
        rp.start_registration(&mut rng, T0, u, request)
    };
    let json: Value = serde_json::to_value(&options).unwrap();
    assert_eq!(json["rp"]["id"], "example.com");
    assert_eq!(
        base64url::decode(json["challenge"].as_str().unwrap(), 64)
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        json["pubKeyCredParams"][0],
        serde_json::json!({"type": "public-key", "alg": -7})
    );
    assert_eq!(json["timeout"], 300_000);
    assert_eq!(json["excludeCredentials"][0]["id"], "AQID");
    assert_eq!(json["excludeCredentials"][0]["transports"][0], "usb");
    assert_eq!(
        json["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(json["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(
        json["authenticatorSelection"]["authenticatorAttachment"],
        "cross-platform"
    );
    assert_eq!(json["hints"][0], "security-key");
    assert_eq!(json["attestation"], "direct");
    assert!(json["user"]["id"].is_string() && json["user"]["displayName"] == "Alice");

    let (options, _) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    let json: Value = serde_json::to_value(&options).unwrap();
    assert_eq!(json["rpId"], "example.com");
    assert_eq!(json["allowCredentials"], serde_json::json!([]));
    assert_eq!(json["userVerification"], "preferred");
    assert_eq!(
        json["extensions"]["appid"],
        "https://example.com/appid.json"
    );
    // Fresh challenges.
    let (a, _) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    assert_ne!(a.challenge, options.challenge);
}

#[test]
fn state_and_credential_round_trip_through_serde() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    let text = serde_json::to_string(&credential).unwrap();
    assert_eq!(
        serde_json::from_str::<StoredCredential>(&text).unwrap(),
        credential
    );

    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let stored = serde_json::to_string(&state).unwrap();
    assert!(!stored.is_empty());
    let state: AuthenticationState = serde_json::from_str(&stored).unwrap();
    assert!(finish(&state, &credential, &auth.authenticate(&options, ORIGIN)).is_ok());

    let (options, state) = {
        let u = user(&mut rng);
        rp.start_registration(&mut rng, T0, u, RegistrationRequest::default())
    };
    let state: RegistrationState =
        serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    let mut other = SoftwareAuthenticator::new(&mut rng);
    assert!(finish_registration(&state, &other.register(&options, ORIGIN)).is_ok());

    // A credential file with alg disagreeing with its key is refused.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["alg"] = (-8).into();
    assert!(serde_json::from_value::<StoredCredential>(v).is_err());
}

/// A credential record and a ceremony state as written before credential ids had their own type
/// (`Base64UrlBytes`): both still load, and the record writes back byte for byte.
#[test]
fn item7_records_written_before_credential_id_still_load() {
    const OLD_RECORD: &str = r#"{"id":"ut-nISfhOvjssD64eL8uIA","public_key_cose":"pQECAyYgASFYIBe4ow8Ww5S8nn2ra6EOLVIQfwpxU1gV1RW8nUPg91l8Ilgg-9IogZlBXK5Eaoip1Ug4hqi0n1V6uGzDo7YSVLJB-is","alg":-7,"sign_count":7,"fmt":"packed","backup_eligible":false,"backup_state":false,"aaguid":"00000000-0000-0000-0000-000000000000","transports":["internal"],"user_handle":"eQWaHaGLoFI28uFVU1HgxP5vtbsG4roEYiro5ZCSMU4","user_verified":true,"created_at":1700000000000,"last_used_at":1700000100000}"#;
    const OLD_STATE: &str = r#"{"challenge":"FgxzZ3IxLRCY6yoEfRZ3TSvSoHXhgQkL0ZFbmO4U1VI","rp_ids":["example.com"],"origins":["https://example.com"],"cross_origin":{"mode":"deny"},"user_verification":"preferred","created_at":1700000000000,"timeout_ms":300000,"allow_credentials":["ut-nISfhOvjssD64eL8uIA"],"user_handle":null,"appid":null,"sign_count":"reject"}"#;
    let credential: StoredCredential = serde_json::from_str(OLD_RECORD).unwrap();
    assert_eq!(credential.id.to_b64url(), "ut-nISfhOvjssD64eL8uIA");
    assert_eq!(credential.id.as_bytes().len(), 16);
    assert_eq!(credential.sign_count, 7);
    assert_eq!(
        credential.created_at,
        Some(UnixTime::from_secs(1_700_000_000))
    );
    assert_eq!(
        credential.last_used_at,
        Some(UnixTime::from_secs(1_700_000_100))
    );
    assert_eq!(serde_json::to_string(&credential).unwrap(), OLD_RECORD);
    let state: AuthenticationState = serde_json::from_str(OLD_STATE).unwrap();
    assert_eq!(serde_json::to_string(&state).unwrap(), OLD_STATE);
    // The descriptor a browser gets is unchanged too.
    let descriptor = serde_json::to_value(credential.descriptor()).unwrap();
    assert_eq!(
        descriptor,
        serde_json::json!({"type": "public-key", "id": "ut-nISfhOvjssD64eL8uIA", "transports": ["internal"]})
    );
    // An empty or over-long id never loads.
    for id in [String::new(), base64url::encode(&[1u8; 1024])] {
        let mut v: Value = serde_json::from_str(OLD_RECORD).unwrap();
        v["id"] = Value::String(id);
        assert!(serde_json::from_value::<StoredCredential>(v).is_err());
    }
}

#[test]
fn stale_ceremonies_expire() {
    let mut rng = rng();
    let rp = rp().with_timeout(Duration::from_secs(60));
    let (mut auth, credential) = registered(&rp, &mut rng);
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let json = auth.authenticate(&options, ORIGIN);
    let response = AuthenticationResponse::from_json(&json).unwrap();
    let late = T0.saturating_add(Duration::from_secs(61));
    let r = copy(&state).verify(&credential, &response, late, &RustCryptoVerifier);
    assert_eq!(r.unwrap_err(), WebAuthnError::Expired);
    let on_time = T0.saturating_add(Duration::from_secs(60));
    assert!(
        state
            .verify(&credential, &response, on_time, &RustCryptoVerifier)
            .is_ok()
    );
}

#[test]
fn user_verification_and_presence() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    auth.user_verified = false;
    let request = AuthenticationRequest {
        user_verification: UserVerification::Required,
        ..allow(&credential)
    };
    let (options, state) = rp.start_authentication(&mut rng, T0, request);
    assert_eq!(
        kind(&finish(
            &state,
            &credential,
            &auth.authenticate(&options, ORIGIN)
        )),
        "user_verification_required"
    );
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let v = finish(&state, &credential, &auth.authenticate(&options, ORIGIN)).unwrap();
    assert!(!v.evidence().properties.user_verified);
    auth.user_present = false;
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    assert_eq!(
        kind(&finish(
            &state,
            &credential,
            &auth.authenticate(&options, ORIGIN)
        )),
        "user_presence_required"
    );

    // Registration too.
    let mut fresh = SoftwareAuthenticator::new(&mut rng);
    fresh.user_verified = false;
    let request = RegistrationRequest {
        user_verification: UserVerification::Required,
        ..RegistrationRequest::default()
    };
    assert_eq!(
        kind(&register_with(&rp, &mut rng, &mut fresh, request)),
        "user_verification_required"
    );
}

#[test]
fn backup_flags() {
    let mut rng = rng();
    let rp = rp();
    // A synced passkey: BE=1, BS=1, counter stays zero.
    let mut passkey = SoftwareAuthenticator::new(&mut rng);
    passkey.backup_eligible = true;
    passkey.backup_state = true;
    passkey.counts_signatures = false;
    let credential =
        register_with(&rp, &mut rng, &mut passkey, RegistrationRequest::default()).unwrap();
    assert_eq!(
        (credential.backup_eligible, credential.backup_state),
        (Some(true), Some(true))
    );
    for _ in 0..2 {
        let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
        let v = finish(&state, &credential, &passkey.authenticate(&options, ORIGIN)).unwrap();
        assert!(
            !v.evidence().properties.device_bound,
            "BE=1 is not device-bound"
        );
        assert_eq!(v.credential().sign_count, 0, "both zero is fine");
    }
    // BS may change.
    passkey.backup_state = false;
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let v = finish(&state, &credential, &passkey.authenticate(&options, ORIGIN)).unwrap();
    assert_eq!(v.credential().backup_state, Some(false));
    // BE may not.
    passkey.backup_eligible = false;
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    assert_eq!(
        kind(&finish(
            &state,
            &credential,
            &passkey.authenticate(&options, ORIGIN)
        )),
        "backup_flags_invalid"
    );
    // BS without BE, at registration and authentication.
    let mut odd = SoftwareAuthenticator::new(&mut rng);
    odd.backup_state = true;
    assert_eq!(
        kind(&register_with(
            &rp,
            &mut rng,
            &mut odd,
            RegistrationRequest::default()
        )),
        "backup_flags_invalid"
    );
    let (mut auth, credential) = registered(&rp, &mut rng);
    auth.backup_state = true;
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    assert_eq!(
        kind(&finish(
            &state,
            &credential,
            &auth.authenticate(&options, ORIGIN)
        )),
        "backup_flags_invalid"
    );
}

#[test]
fn sign_count_policies() {
    let mut rng = rng();
    let (mut auth, mut credential) = registered(&rp(), &mut rng);
    credential.sign_count = 10;
    auth.set_sign_count(9); // the next assertion carries 10: not an increase
    let (options, state) = rp().start_authentication(&mut rng, T0, allow(&credential));
    let json = auth.authenticate(&options, ORIGIN);
    let r = finish(&state, &credential, &json);
    assert_eq!(
        r.unwrap_err(),
        WebAuthnError::CounterNotIncreased {
            stored: 10,
            received: 10
        }
    );

    let flagging = rp().with_sign_count_policy(SignCountPolicy::Flag);
    let (options, state) = flagging.start_authentication(&mut rng, T0, allow(&credential));
    auth.set_sign_count(2);
    let v = finish(&state, &credential, &auth.authenticate(&options, ORIGIN)).unwrap();
    assert!(v.credential().possible_clone);
    assert_eq!(
        v.credential().sign_count,
        10,
        "a regression never lowers the stored counter"
    );
    // Increases are accepted and stored.
    auth.set_sign_count(41);
    let (options, state) = rp().start_authentication(&mut rng, T0, allow(&credential));
    assert_eq!(
        finish(&state, &credential, &auth.authenticate(&options, ORIGIN))
            .unwrap()
            .credential()
            .sign_count,
        42
    );
}

#[test]
fn credentials_and_user_handles() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    let (mut other, other_credential) = registered(&rp, &mut rng);
    // A credential not on the allow list.
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    assert_eq!(
        kind(&finish(
            &state,
            &other_credential,
            &other.authenticate(&options, ORIGIN)
        )),
        "unknown_credential"
    );
    // A response for a different credential than the one looked up.
    let (options, state) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    assert_eq!(
        kind(&finish(
            &state,
            &credential,
            &other.authenticate(&options, ORIGIN)
        )),
        "unknown_credential"
    );
    // Discoverable: the user handle must be the owner's.
    let (options, state) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    assert!(finish(&state, &credential, &auth.authenticate(&options, ORIGIN)).is_ok());
    let mut wrong_owner = credential.clone();
    wrong_owner.user_handle = other_credential.user_handle.clone();
    let (options, state) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    assert_eq!(
        kind(&finish(
            &state,
            &wrong_owner,
            &auth.authenticate(&options, ORIGIN)
        )),
        "user_handle_mismatch"
    );
    // Discoverable without a user handle in the response.
    let (options, state) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    let mut v: Value = serde_json::from_slice(&auth.authenticate(&options, ORIGIN)).unwrap();
    v["response"]["userHandle"] = Value::Null;
    assert_eq!(
        kind(&finish(&state, &credential, v.to_string().as_bytes())),
        "user_handle_mismatch"
    );
    // A user identified beforehand must own the credential.
    let request = AuthenticationRequest {
        user_handle: other_credential.user_handle.clone(),
        ..allow(&credential)
    };
    let (options, state) = rp.start_authentication(&mut rng, T0, request);
    assert_eq!(
        kind(&finish(
            &state,
            &credential,
            &auth.authenticate(&options, ORIGIN)
        )),
        "unknown_credential"
    );
    // Excluded at registration.
    let mut again = SoftwareAuthenticator::new(&mut rng);
    let (options, state) = {
        let u = user(&mut rng);
        rp.start_registration(&mut rng, T0, u, RegistrationRequest::default())
    };
    let json = again.register(&options, ORIGIN);
    let excluded = RegistrationRequest {
        exclude_credentials: vec![CredentialDescriptor::new(
            again.credential_id().clone(),
            Vec::new(),
        )],
        ..RegistrationRequest::default()
    };
    let (_, excluding) = rp.registration_with_challenge(
        mfa_webauthn::Challenge::from_bytes(options.challenge.as_bytes().to_vec()).unwrap(),
        T0,
        options.user.clone(),
        excluded,
    );
    assert_eq!(
        kind(&finish_registration(&excluding, &json)),
        "credential_excluded"
    );
    assert!(finish_registration(&state, &json).is_ok());
}

/// Item 4: one clock. Attestation certificates are judged at the ceremony's `now` (the default),
/// or at the instant `AttestationOptions::at` names (a capture verified later, pinned vectors).
#[test]
fn item4_attestation_is_judged_at_the_ceremony_time_unless_told_otherwise() {
    #[derive(Debug, Default)]
    struct RecordingTrust(std::sync::Mutex<Vec<UnixTime>>);
    impl mfa_webauthn::AttestationTrust for RecordingTrust {
        fn check(
            &self,
            _attestation: &mfa_webauthn::VerifiedAttestation,
            _aaguid: &[u8; 16],
            now: UnixTime,
        ) -> Result<(), mfa_webauthn::attestation::AttestationError> {
            self.0.lock().unwrap().push(now);
            Ok(())
        }
    }
    assert_eq!(AttestationOptions::default().validation_time, None);
    let mut rng = rng();
    let rp = rp();
    let trust = RecordingTrust::default();
    let later = T0.saturating_add(Duration::from_secs(30));
    let past = UnixTime::from_secs(1_600_000_000);
    for (options, judged_at) in [
        (AttestationOptions::default(), later),
        (AttestationOptions::at(past), past),
    ] {
        let mut auth = SoftwareAuthenticator::new(&mut rng);
        let (creation, state) = {
            let u = user(&mut rng);
            rp.start_registration(&mut rng, T0, u, RegistrationRequest::default())
        };
        let response = RegistrationResponse::from_json(&auth.register(&creation, ORIGIN)).unwrap();
        let registered = state
            .verify_with_trust(&response, later, &RustCryptoVerifier, &options, &trust)
            .unwrap();
        assert_eq!(trust.0.lock().unwrap().last(), Some(&judged_at));
        assert_eq!(registered.credential.created_at, Some(later));
    }
}

#[test]
fn algorithms_not_offered_are_refused() {
    let mut rng = rng();
    let rp = rp().with_algorithms(vec![CoseAlgorithm::EdDsa]);
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    let r = register_with(&rp, &mut rng, &mut auth, RegistrationRequest::default());
    assert_eq!(r.unwrap_err(), WebAuthnError::UnsupportedAlgorithm(-7));
}

fn with_client_data(auth: &mut SoftwareAuthenticator, rp_id: &str, client_data: &str) -> Vec<u8> {
    auth.assertion_json(rp_id, client_data.as_bytes())
}

#[test]
fn origins_rp_ids_and_cross_origin() {
    let mut rng = rng();
    let android = "android:apk-key-hash:gx7sq_pxhxhrIQdLyfG0pxKwiJ7hOk2DJQ4xvKd438Q";
    let rp = rp().with_origin(android).with_rp_id("example.net");
    let (mut auth, credential) = registered(&rp, &mut rng);
    let cd = |challenge: &[u8], origin: &str, extra: &str| {
        format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{origin}"{extra}}}"#,
            base64url::encode(challenge)
        )
    };
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let ch = options.challenge.as_bytes().to_vec();
    let run = |auth: &mut SoftwareAuthenticator,
               state: &AuthenticationState,
               rp_id: &str,
               text: String| {
        kind(&finish(
            state,
            &credential,
            &with_client_data(auth, rp_id, &text),
        ))
        .to_owned()
    };
    assert_eq!(
        run(&mut auth, &state, "example.com", cd(&ch, android, "")),
        "valid"
    );
    assert_eq!(
        run(&mut auth, &state, "example.net", cd(&ch, ORIGIN, "")),
        "valid"
    );
    assert_eq!(
        run(&mut auth, &state, "example.org", cd(&ch, ORIGIN, "")),
        "rp_id_mismatch"
    );
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(&ch, "https://evil.example", "")
        ),
        "origin_mismatch"
    );
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(&ch, ORIGIN, r#","type":"x""#)
        ),
        "malformed"
    );
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(&ch, ORIGIN, r#","crossOrigin":true"#)
        ),
        "cross_origin_not_allowed"
    );
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(&ch, ORIGIN, r#","topOrigin":"https://a.example""#)
        ),
        "cross_origin_not_allowed"
    );
    let create = format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"{ORIGIN}"}}"#,
        base64url::encode(&ch)
    );
    assert_eq!(run(&mut auth, &state, "example.com", create), "malformed");

    let framed = rp
        .clone()
        .with_cross_origin(CrossOrigin::AllowTopOrigins(vec![
            "https://portal.example/".into(),
        ]));
    let (options, state) = framed.start_authentication(&mut rng, T0, allow(&credential));
    let ch = options.challenge.as_bytes().to_vec();
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(
                &ch,
                ORIGIN,
                r#","crossOrigin":true,"topOrigin":"https://portal.example""#
            )
        ),
        "valid"
    );
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(
                &ch,
                ORIGIN,
                r#","crossOrigin":true,"topOrigin":"https://other.example""#
            )
        ),
        "cross_origin_not_allowed"
    );
    let any = rp.with_cross_origin(CrossOrigin::AllowAnyTopOrigin);
    let (options, state) = any.start_authentication(&mut rng, T0, allow(&credential));
    let ch = options.challenge.as_bytes().to_vec();
    assert_eq!(
        run(
            &mut auth,
            &state,
            "example.com",
            cd(
                &ch,
                ORIGIN,
                r#","crossOrigin":true,"topOrigin":"https://other.example""#
            )
        ),
        "valid"
    );
}

/// Review item 9: with a top-origin allow list, a cross-origin response that names no top
/// origin (older clients) cannot be checked against the list, so it is refused.
#[test]
fn item9_cross_origin_without_top_origin_is_refused_under_a_top_origin_list() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    let framed = rp.with_cross_origin(CrossOrigin::AllowTopOrigins(vec![
        "https://portal.example".into(),
    ]));
    let cross_origin_only = |challenge: &[u8]| {
        format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true}}"#,
            base64url::encode(challenge)
        )
    };
    let (options, state) = framed.start_authentication(&mut rng, T0, allow(&credential));
    let json = with_client_data(
        &mut auth,
        "example.com",
        &cross_origin_only(options.challenge.as_bytes()),
    );
    assert_eq!(
        kind(&finish(&state, &credential, &json)),
        "cross_origin_not_allowed"
    );
    // Allowing any top origin still accepts it.
    let any = framed.with_cross_origin(CrossOrigin::AllowAnyTopOrigin);
    let (options, state) = any.start_authentication(&mut rng, T0, allow(&credential));
    let json = with_client_data(
        &mut auth,
        "example.com",
        &cross_origin_only(options.challenge.as_bytes()),
    );
    assert_eq!(kind(&finish(&state, &credential, &json)), "valid");
}

#[test]
fn appid_extension() {
    let mut rng = rng();
    let appid = "https://example.com/u2f-appid.json";
    let rp = rp().with_appid(appid);
    let (mut auth, credential) = registered(&rp, &mut rng);
    let assert_with = |auth: &mut SoftwareAuthenticator,
                       state: &AuthenticationState,
                       rp_id: &str,
                       output: Option<bool>,
                       challenge: &[u8]| {
        let cd = SoftwareAuthenticator::client_data_json("webauthn.get", challenge, ORIGIN);
        let mut v: Value = serde_json::from_slice(&auth.assertion_json(rp_id, &cd)).unwrap();
        if let Some(o) = output {
            v["clientExtensionResults"] = serde_json::json!({"appid": o});
        }
        kind(&finish(state, &credential, v.to_string().as_bytes())).to_owned()
    };
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let ch = options.challenge.as_bytes().to_vec();
    assert_eq!(
        assert_with(&mut auth, &state, appid, Some(true), &ch),
        "valid"
    );
    assert_eq!(
        assert_with(&mut auth, &state, "example.com", Some(true), &ch),
        "rp_id_mismatch"
    );
    assert_eq!(
        assert_with(&mut auth, &state, appid, None, &ch),
        "rp_id_mismatch"
    );
    assert_eq!(
        assert_with(&mut auth, &state, "example.com", Some(false), &ch),
        "valid"
    );
    // Without an AppID in the ceremony, a client claiming to have used one is refused.
    let (options, state) = self::rp().start_authentication(&mut rng, T0, allow(&credential));
    let ch = options.challenge.as_bytes().to_vec();
    assert_eq!(
        assert_with(&mut auth, &state, appid, Some(true), &ch),
        "rp_id_mismatch"
    );
}

/// A synced passkey: its counter stays at 0, so only the ceremony can stop a replay.
fn passkey(rp: &RelyingParty, rng: &mut StdRng) -> (SoftwareAuthenticator, StoredCredential) {
    let (mut auth, credential) = registered(rp, rng);
    auth.counts_signatures = false;
    auth.set_sign_count(0);
    let mut credential = credential;
    credential.sign_count = 0;
    (auth, credential)
}

/// Review item 1: one assertion of a passkey (counter always 0) submitted twice through the
/// store is accepted once; the second finds no ceremony.
#[test]
fn item1_passkey_assertion_replayed_through_the_store_is_refused() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = passkey(&rp, &mut rng);
    let store = MemoryStore::new();
    let key = record_key("alice", &credential.id);
    insert_new(&store, &key, &credential).unwrap();
    let options =
        start_authentication(&store, &rp, &mut rng, T0, "session-1", allow(&credential)).unwrap();
    let response = AuthenticationResponse::from_json(&auth.authenticate(&options, ORIGIN)).unwrap();
    let first = finish_authentication(
        &store,
        "session-1",
        &key,
        &response,
        T0,
        &RustCryptoVerifier,
    );
    assert_eq!(first.unwrap().credential().sign_count, 0);
    let again = finish_authentication(
        &store,
        "session-1",
        &key,
        &response,
        T0,
        &RustCryptoVerifier,
    );
    assert!(matches!(again, Err(AttemptError::ChallengeNotFound)));
    assert_eq!(again.unwrap_err().reason(), "challenge_not_found");
    // A new ceremony does not accept the old assertion either: its challenge differs.
    let _options =
        start_authentication(&store, &rp, &mut rng, T0, "session-1", allow(&credential)).unwrap();
    let stale = finish_authentication(
        &store,
        "session-1",
        &key,
        &response,
        T0,
        &RustCryptoVerifier,
    );
    assert!(matches!(
        stale,
        Err(AttemptError::Rejected(WebAuthnError::ChallengeMismatch))
    ));
}

/// Review item 1, concurrently: the conformance check every store backend runs.
#[test]
fn item1_concurrent_passkey_replays_have_one_winner() {
    mfa_webauthn::testing::concurrent_passkey_replays_have_one_winner(
        &MemoryStore::new(),
        "mem",
        &mut rng(),
    );
}

/// The counter still catches a cloned security key that counts, through the same helper.
#[test]
fn store_helper_still_applies_the_counter() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    let store = MemoryStore::new();
    let key = record_key("alice", &credential.id);
    insert_new(&store, &key, &credential).unwrap();
    for expected in [Ok(1), Err("counter_not_increased")] {
        if expected.is_err() {
            auth.set_sign_count(0);
        }
        let options =
            start_authentication(&store, &rp, &mut rng, T0, "s", allow(&credential)).unwrap();
        let response =
            AuthenticationResponse::from_json(&auth.authenticate(&options, ORIGIN)).unwrap();
        let result = finish_authentication(&store, "s", &key, &response, T0, &RustCryptoVerifier);
        match expected {
            Ok(count) => assert_eq!(result.unwrap().credential().sign_count, count),
            Err(reason) => assert_eq!(result.unwrap_err().reason(), reason),
        }
    }
    // A missing credential is not enrolled (and the ceremony is spent all the same).
    let options = start_authentication(&store, &rp, &mut rng, T0, "s", allow(&credential)).unwrap();
    let response = AuthenticationResponse::from_json(&auth.authenticate(&options, ORIGIN)).unwrap();
    let elsewhere = record_key("bob", &credential.id);
    assert!(matches!(
        finish_authentication(&store, "s", &elsewhere, &response, T0, &RustCryptoVerifier),
        Err(AttemptError::NotEnrolled)
    ));
    assert!(matches!(
        finish_authentication(&store, "s", &key, &response, T0, &RustCryptoVerifier),
        Err(AttemptError::ChallengeNotFound)
    ));
}

/// Registration through the store: the state is taken, so a response registers once.
#[test]
fn registration_through_the_store_is_single_use() {
    let mut rng = rng();
    let rp = rp();
    let store = MemoryStore::new();
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    let user = user(&mut rng);
    let options = start_registration(
        &store,
        &rp,
        &mut rng,
        T0,
        "session-r",
        user,
        RegistrationRequest::default(),
    )
    .unwrap();
    let response = RegistrationResponse::from_json(&auth.register(&options, ORIGIN)).unwrap();
    let at = AttestationOptions::default();
    let registered = mfa_webauthn::finish_registration(
        &store,
        "session-r",
        &response,
        T0,
        &RustCryptoVerifier,
        &at,
    )
    .unwrap();
    assert_eq!(
        registered
            .credential
            .user_handle
            .as_ref()
            .unwrap()
            .as_bytes(),
        options.user.id.as_bytes()
    );
    let again = mfa_webauthn::finish_registration(
        &store,
        "session-r",
        &response,
        T0,
        &RustCryptoVerifier,
        &at,
    );
    assert!(matches!(again, Err(AttemptError::ChallengeNotFound)));
    assert!(store.is_empty(), "the ceremony record is gone");
}

// --- Credentials through the store: register once, list, find by id ----------------------------

/// Drives a future whose store answers at once (the memory store) to completion.
fn block_on<F: core::future::Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut context = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// A registration through the store helpers, stored as `account`'s with `register_credential`.
fn enroll(
    store: &MemoryStore,
    rp: &RelyingParty,
    rng: &mut StdRng,
    authenticator: &mut SoftwareAuthenticator,
    account: &str,
    request: RegistrationRequest,
) -> Result<RecordKey, AttemptError<WebAuthnError>> {
    let user = UserEntity::random(rng, format!("{account}@example.com"), account);
    let session = format!("{account}-registration");
    let options = start_registration(store, rp, rng, T0, &session, user, request)?;
    let response = RegistrationResponse::from_json(&authenticator.register(&options, ORIGIN))
        .map_err(AttemptError::Rejected)?;
    let registered = mfa_webauthn::finish_registration(
        store,
        &session,
        &response,
        T0,
        &RustCryptoVerifier,
        &AttestationOptions::default(),
    )?;
    Ok(register_credential(store, account, &registered.credential)?)
}

/// Item 3: username-less sign-in through the store. No allow list; the assertion's credential id
/// finds the credential and its account; `finish_authentication` checks it against that record
/// (and its owner's user handle) and commits it. Registration set `created_at`, the sign-in sets
/// `last_used_at`.
#[test]
fn item3_username_less_sign_in_through_the_store() {
    let mut rng = rng();
    let rp = rp();
    let store = MemoryStore::new();
    let mut alices_key = SoftwareAuthenticator::new(&mut rng);
    let alices = enroll(
        &store,
        &rp,
        &mut rng,
        &mut alices_key,
        "alice",
        RegistrationRequest::default(),
    )
    .unwrap();
    let mut bobs_key = SoftwareAuthenticator::new(&mut rng);
    let bobs = enroll(
        &store,
        &rp,
        &mut rng,
        &mut bobs_key,
        "bob",
        RegistrationRequest::default(),
    )
    .unwrap();
    assert_eq!(alices, record_key("alice", alices_key.credential_id()));
    let [enrolled]: [StoredCredential; 1] = list_credentials(&store, "alice")
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(enrolled.created_at, Some(T0));
    assert_eq!(enrolled.last_used_at, None);

    let t1 = T0.saturating_add(Duration::from_secs(60));
    for (authenticator, account, expected_key) in [
        (&mut alices_key, "alice", &alices),
        (&mut bobs_key, "bob", &bobs),
    ] {
        let session = format!("anonymous-{account}");
        let options = start_authentication(
            &store,
            &rp,
            &mut rng,
            t1,
            &session,
            AuthenticationRequest::default(),
        )
        .unwrap();
        assert!(options.allow_credentials.is_empty());
        // Deserialized as `axum::Json<AuthenticationResponse>` would.
        let response: AuthenticationResponse =
            serde_json::from_slice(&authenticator.authenticate(&options, ORIGIN)).unwrap();
        let (key, _) = find_credential(&store, &response.credential_id)
            .unwrap()
            .unwrap();
        assert_eq!(&key, expected_key);
        assert_eq!(key.account(), account);
        let verified =
            finish_authentication(&store, &session, &key, &response, t1, &RustCryptoVerifier)
                .unwrap();
        assert_eq!(
            verified.evidence().credential,
            mfa_core::CredentialId::from(&response.credential_id)
        );
        let (_, stored) = find_credential(&store, &response.credential_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.created_at, stored.last_used_at),
            (Some(T0), Some(t1))
        );
        assert_eq!(stored.sign_count, 1);
    }
    // An id nobody holds finds nothing.
    let stranger = CredentialId::new(vec![9; 16]).unwrap();
    assert!(find_credential(&store, &stranger).unwrap().is_none());
}

/// Item 3 and WebAuthn L3 §7.1 ("not yet registered for any user"): a credential id is
/// registered to one account at most, whichever account asks; a duplicate that got into the
/// store anyway is reported, not resolved in anyone's favour.
#[test]
fn item3_a_credential_id_registers_once_across_accounts() {
    let mut rng = rng();
    let rp = rp();
    let store = MemoryStore::new();
    let (_, credential) = registered(&rp, &mut rng);
    let key = register_credential(&store, "alice", &credential).unwrap();
    for account in ["bob", "alice"] {
        let again = register_credential(&store, account, &credential);
        assert!(
            matches!(&again, Err(StoreError::AlreadyExists { key: holder }) if *holder == key.flat()),
            "{account}: {again:?}"
        );
    }
    assert_eq!(
        list_credentials(&store, "alice").unwrap(),
        std::slice::from_ref(&credential)
    );
    assert!(list_credentials(&store, "bob").unwrap().is_empty());
    // The same refusal through AttemptError, as a handler would map it: 409 Conflict.
    let error = AttemptError::<WebAuthnError>::from(
        register_credential(&store, "bob", &credential).unwrap_err(),
    );
    assert_eq!(
        (error.reason(), error.http_status()),
        ("already_exists", 409)
    );
    // Written around the helper: found, but refused as corrupt rather than picked.
    insert_new(&store, &record_key("mallory", &credential.id), &credential).unwrap();
    assert!(matches!(
        find_credential(&store, &credential.id),
        Err(StoreError::Corrupt { .. })
    ));
}

/// A store on which another registration of the same credential id, for "mallory", lands just
/// before bob's (both passed the "nobody holds it" check at the same time).
struct RacingRegistration {
    inner: MemoryStore,
    raced: std::sync::atomic::AtomicBool,
}

impl mfa_core::Store for RacingRegistration {
    fn load(&self, key: &RecordKey) -> Result<Option<mfa_core::StoredRecord>, StoreError> {
        self.inner.load(key)
    }
    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<mfa_core::Version>,
        new_value: Option<mfa_core::NewRecord<'_>>,
    ) -> Result<mfa_core::SwapOutcome, StoreError> {
        let inserting = expected.is_none() && new_value.is_some();
        if inserting
            && key.kind() == CREDENTIAL_KIND
            && key.account() == "bob"
            && !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let theirs = RecordKey::new(CREDENTIAL_KIND, "mallory", key.id());
            let _theirs_landed = self.inner.compare_and_swap(&theirs, None, new_value)?;
        }
        self.inner.compare_and_swap(key, expected, new_value)
    }
    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, mfa_core::StoredRecord)>, StoreError> {
        self.inner.list(kind, account)
    }
    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        self.inner.find_by_id(kind, id)
    }
}

/// Two registrations of one id racing past the check: the one that finds the other after
/// writing withdraws, so one account holds the id, never two.
#[test]
fn item3_racing_registrations_of_one_id_leave_one_holder() {
    let mut rng = rng();
    let (_, credential) = registered(&rp(), &mut rng);
    let store = RacingRegistration {
        inner: MemoryStore::new(),
        raced: false.into(),
    };
    let bob = register_credential(&store, "bob", &credential);
    assert!(
        matches!(bob, Err(StoreError::AlreadyExists { .. })),
        "{bob:?}"
    );
    assert!(list_credentials(&store, "bob").unwrap().is_empty());
    let (key, _) = find_credential(&store, &credential.id).unwrap().unwrap();
    assert_eq!(key.account(), "mallory");
}

/// Item 3: "my passkeys". An account's credentials, listed, make `excludeCredentials` (the same
/// authenticator cannot register twice) and `allowCredentials` (any of them signs in).
#[test]
fn item3_list_credentials_builds_exclude_and_allow_lists() {
    let mut rng = rng();
    let rp = rp();
    let store = MemoryStore::new();
    let mut keys: Vec<SoftwareAuthenticator> = (0..2)
        .map(|_| SoftwareAuthenticator::new(&mut rng))
        .collect();
    for key in &mut keys {
        enroll(
            &store,
            &rp,
            &mut rng,
            key,
            "alice",
            RegistrationRequest::default(),
        )
        .unwrap();
    }
    let mut bobs_key = SoftwareAuthenticator::new(&mut rng);
    enroll(
        &store,
        &rp,
        &mut rng,
        &mut bobs_key,
        "bob",
        RegistrationRequest::default(),
    )
    .unwrap();

    let mine = list_credentials(&store, "alice").unwrap();
    let mut ids: Vec<&CredentialId> = mine.iter().map(|c| &c.id).collect();
    ids.sort();
    let mut expected: Vec<&CredentialId> = keys.iter().map(|k| k.credential_id()).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(list_credentials(&store, "bob").unwrap().len(), 1);
    assert!(list_credentials(&store, "carol").unwrap().is_empty());
    assert!(mine.iter().all(|c| c.transports == ["internal"]));

    // Signing alice in with her list: either key works, bob's does not.
    let allow = || AuthenticationRequest {
        allow_credentials: mine.iter().map(StoredCredential::descriptor).collect(),
        ..AuthenticationRequest::default()
    };
    for key in &mut keys {
        let options = start_authentication(&store, &rp, &mut rng, T0, "alice", allow()).unwrap();
        let response =
            AuthenticationResponse::from_json(&key.authenticate(&options, ORIGIN)).unwrap();
        let record = record_key("alice", &response.credential_id);
        let signed_in =
            finish_authentication(&store, "alice", &record, &response, T0, &RustCryptoVerifier);
        assert!(signed_in.is_ok(), "{signed_in:?}");
    }
    let options = start_authentication(&store, &rp, &mut rng, T0, "alice", allow()).unwrap();
    let response =
        AuthenticationResponse::from_json(&bobs_key.authenticate(&options, ORIGIN)).unwrap();
    let (bobs_record, _) = find_credential(&store, &response.credential_id)
        .unwrap()
        .unwrap();
    assert!(matches!(
        finish_authentication(
            &store,
            "alice",
            &bobs_record,
            &response,
            T0,
            &RustCryptoVerifier
        ),
        Err(AttemptError::Rejected(WebAuthnError::UnknownCredential))
    ));
    // Registering one of alice's authenticators again (last: the software authenticator takes
    // the new user handle): excluded by the ceremony itself.
    let exclude = RegistrationRequest {
        exclude_credentials: mine.iter().map(StoredCredential::descriptor).collect(),
        ..RegistrationRequest::default()
    };
    let again = enroll(&store, &rp, &mut rng, &mut keys[1], "alice", exclude);
    assert!(
        matches!(
            again,
            Err(AttemptError::Rejected(WebAuthnError::CredentialExcluded))
        ),
        "{again:?}"
    );
}

/// The async helpers give the same answers as the blocking ones.
#[test]
fn item3_async_credential_helpers_give_the_same_answers() {
    let mut rng = rng();
    let rp = rp();
    let store = MemoryStore::new();
    let (mut key, credential) = registered(&rp, &mut rng);
    let record = block_on(mfa_webauthn::register_credential_async(
        &store,
        "alice",
        &credential,
    ))
    .unwrap();
    assert!(matches!(
        block_on(mfa_webauthn::register_credential_async(
            &store,
            "bob",
            &credential
        )),
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(
        block_on(mfa_webauthn::list_credentials_async(&store, "alice")).unwrap(),
        list_credentials(&store, "alice").unwrap()
    );
    let options = block_on(mfa_webauthn::start_authentication_async(
        &store,
        &rp,
        &mut rng,
        T0,
        "s",
        AuthenticationRequest::default(),
    ))
    .unwrap();
    let response = AuthenticationResponse::from_json(&key.authenticate(&options, ORIGIN)).unwrap();
    let (found, _) = block_on(mfa_webauthn::find_credential_async(
        &store,
        &response.credential_id,
    ))
    .unwrap()
    .unwrap();
    assert_eq!(found, record);
    let verified = block_on(mfa_webauthn::finish_authentication_async(
        &store,
        "s",
        &found,
        &response,
        T0,
        &RustCryptoVerifier,
    ))
    .unwrap();
    assert_eq!(verified.credential().last_used_at, Some(T0));
    let stranger = CredentialId::new(vec![9; 16]).unwrap();
    assert!(
        block_on(mfa_webauthn::find_credential_async(&store, &stranger))
            .unwrap()
            .is_none()
    );
}

/// Review item 2: a user identified beforehand, or a username-less response, cannot sign in
/// with a credential whose owner is unknown (imported, or registered without a user handle).
#[test]
fn item2_credential_without_owner_is_refused_when_a_user_is_expected() {
    let mut rng = rng();
    let rp = rp();
    let (mut mallory_key, mut mallorys) = registered(&rp, &mut rng);
    mallorys.user_handle = None; // e.g. StoredCredential::new, or a migrated record
    let alice = Base64UrlBytes::new(vec![0xA1; 32]);
    // The RP identified alice, sends no allow list, and looks the credential up by id.
    let request = AuthenticationRequest {
        user_handle: Some(alice.clone()),
        ..AuthenticationRequest::default()
    };
    for claimed in [Some(alice.as_bytes().to_vec()), None] {
        let (options, state) = rp.start_authentication(&mut rng, T0, request.clone());
        let mut v: Value =
            serde_json::from_slice(&mallory_key.authenticate(&options, ORIGIN)).unwrap();
        v["response"]["userHandle"] = match &claimed {
            Some(handle) => Value::String(base64url::encode(handle)),
            None => Value::Null,
        };
        let response = AuthenticationResponse::from_json(v.to_string().as_bytes()).unwrap();
        let r = state.verify(&mallorys, &response, T0, &RustCryptoVerifier);
        assert_eq!(kind(&r), "unknown_credential", "claimed {claimed:?}");
    }
    // Username-less: no allow list, no expected user; an ownerless credential proves no one.
    let (options, state) = rp.start_authentication(&mut rng, T0, AuthenticationRequest::default());
    let mut v: Value = serde_json::from_slice(&mallory_key.authenticate(&options, ORIGIN)).unwrap();
    v["response"]["userHandle"] = Value::String(base64url::encode(alice.as_bytes()));
    let response = AuthenticationResponse::from_json(v.to_string().as_bytes()).unwrap();
    let r = state.verify(&mallorys, &response, T0, &RustCryptoVerifier);
    assert_eq!(kind(&r), "unknown_credential");
    // With an allow list naming it, an ownerless (imported) credential still works.
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&mallorys));
    let response =
        AuthenticationResponse::from_json(&mallory_key.authenticate(&options, ORIGIN)).unwrap();
    assert!(
        state
            .verify(&mallorys, &response, T0, &RustCryptoVerifier)
            .is_ok()
    );
}

/// Review item 7: junk assertions against a known credential id do not lock its owner out,
/// even when the caller (as the old README advised) verifies behind the throttle.
#[test]
fn item7_junk_assertions_do_not_lock_the_owner_out() {
    let mut rng = rng();
    let rp = rp();
    let (mut auth, credential) = registered(&rp, &mut rng);
    let store = MemoryStore::new();
    let key = record_key("alice", &credential.id);
    insert_new(&store, &key, &credential).unwrap();
    let throttle = ThrottlePolicy::default();
    let mut attacker = SoftwareAuthenticator::new(&mut rng);
    for n in 0..150 {
        let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
        let mut v: Value =
            serde_json::from_slice(&attacker_assertion(&mut attacker, &options)).unwrap();
        v["id"] = Value::String(credential.id.to_b64url());
        v["rawId"] = Value::String(credential.id.to_b64url());
        if n % 2 == 0 {
            v["response"]["signature"] = Value::String("AAAA".into()); // malformed
        }
        let response = AuthenticationResponse::from_json(v.to_string().as_bytes()).unwrap();
        let r = throttle.verify_and_commit(&store, &key, T0, |c: &StoredCredential| {
            copy(&state).verify(c, &response, T0, &RustCryptoVerifier)
        });
        assert!(
            matches!(r, Err(AttemptError::Rejected(_))),
            "attempt {n}: {r:?}"
        );
    }
    let (options, state) = rp.start_authentication(&mut rng, T0, allow(&credential));
    let response = AuthenticationResponse::from_json(&auth.authenticate(&options, ORIGIN)).unwrap();
    let genuine = throttle.verify_and_commit(&store, &key, T0, |c: &StoredCredential| {
        copy(&state).verify(c, &response, T0, &RustCryptoVerifier)
    });
    assert!(genuine.is_ok(), "{genuine:?}");
    // No WebAuthn error counts, whatever it is.
    for error in [
        WebAuthnError::BadSignature,
        WebAuthnError::Malformed("x"),
        WebAuthnError::ChallengeMismatch,
        WebAuthnError::Expired,
    ] {
        assert!(!error.counts_as_failure());
    }
}

/// The attacker's own key signing for the victim's credential id.
fn attacker_assertion(
    attacker: &mut SoftwareAuthenticator,
    options: &mfa_webauthn::RequestOptions,
) -> Vec<u8> {
    let cd = SoftwareAuthenticator::client_data_json(
        "webauthn.get",
        options.challenge.as_bytes(),
        ORIGIN,
    );
    attacker.assertion_json(&options.rp_id, &cd)
}

#[test]
fn size_limits() {
    let huge = vec![b' '; 70 * 1024];
    assert_eq!(kind(&AuthenticationResponse::from_json(&huge)), "malformed");
    assert_eq!(kind(&RegistrationResponse::from_json(&huge)), "malformed");
    assert_eq!(
        kind(&AuthenticatorData::parse(&vec![0u8; 17 * 1024])),
        "malformed"
    );
    let long_id = base64url::encode(&[1u8; 1024]);
    let json = format!(
        r#"{{"id":"{long_id}","rawId":"{long_id}","type":"public-key","response":{{"clientDataJSON":"","authenticatorData":"","signature":""}}}}"#
    );
    assert_eq!(
        kind(&AuthenticationResponse::from_json(json.as_bytes())),
        "malformed"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        mfa_webauthn::fuzz_authenticator_data(&data);
        mfa_webauthn::fuzz_client_data(&data);
        mfa_webauthn::fuzz_response_json(&data);
    }

    #[test]
    fn authenticator_data_prefixes_never_panic(cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
        let mut rng = StdRng::seed_from_u64(1);
        let auth = SoftwareAuthenticator::new(&mut rng);
        let mut data = auth.authenticator_data("example.com", true);
        if let Some(b) = data.get_mut(flip) { *b ^= 1 << bit; }
        data.truncate(cut.min(data.len()));
        let _ = AuthenticatorData::parse(&data);
    }
}
