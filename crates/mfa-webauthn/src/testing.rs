//! A P-256 software authenticator for tests, examples, benchmarks and the README doctest
//! (feature `testing`, off by default).
//!
//! It plays the browser and the authenticator at once: it reads the options a
//! [`RelyingParty`](crate::RelyingParty) produced and answers with the JSON a browser would send
//! (`RegistrationResponseJSON`, `AuthenticationResponseJSON`). It keeps its private key in
//! memory and is **not** an authenticator to protect anything with; it exists so every ceremony
//! can be exercised end to end without hardware. **Not for production builds**: enable the
//! feature in `[dev-dependencies]` only:
//!
//! ```toml
//! [dev-dependencies]
//! mfa-webauthn = { version = "0.1", features = ["testing"] }
//! ```
//!
//! [`concurrent_passkey_replays_have_one_winner`] is the passkey replay check every store
//! backend runs (`mfa-store`'s conformance suite).

use ciborium::Value;
use mfa_core::CryptoRng;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

use crate::base64url;
use crate::checks::sha256;
use crate::credential_id::CredentialId;
use crate::options::{CreationOptions, RequestOptions};

/// The attestation statement the software authenticator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftwareAttestation {
    /// `none`.
    None,
    /// `packed` self attestation (signed with the credential key).
    PackedSelf,
}

/// A software authenticator with one ES256 credential.
#[derive(Debug)]
pub struct SoftwareAuthenticator {
    key: SigningKey,
    credential_id: CredentialId,
    sign_count: u32,
    user_handle: Option<Vec<u8>>,
    /// Report UV (the user was verified).
    pub user_verified: bool,
    /// Report UP (the user was present).
    pub user_present: bool,
    /// Report BE.
    pub backup_eligible: bool,
    /// Report BS.
    pub backup_state: bool,
    /// Increment the signature counter on each assertion (synced passkeys do not: stay at 0).
    pub counts_signatures: bool,
    /// The attestation to produce at registration.
    pub attestation: SoftwareAttestation,
}

impl SoftwareAuthenticator {
    /// A new authenticator with a fresh key and a 16-byte credential id from `rng`, reporting
    /// UP and UV, not backup-eligible, counting signatures, producing `packed` self attestation.
    #[must_use]
    pub fn new(rng: &mut impl CryptoRng) -> Self {
        let key = loop {
            let mut scalar = [0u8; 32];
            rng.fill_bytes(&mut scalar);
            // All but a negligible fraction of 32-byte strings are valid scalars.
            if let Ok(key) = SigningKey::from_slice(&scalar) {
                break key;
            }
        };
        let mut credential_id = [0u8; 16];
        rng.fill_bytes(&mut credential_id);
        Self {
            key,
            credential_id: CredentialId::from_array(credential_id),
            sign_count: 0,
            user_handle: None,
            user_verified: true,
            user_present: true,
            backup_eligible: false,
            backup_state: false,
            counts_signatures: true,
            attestation: SoftwareAttestation::PackedSelf,
        }
    }

    /// The credential id.
    #[must_use]
    pub fn credential_id(&self) -> &CredentialId {
        &self.credential_id
    }

    /// The current signature counter.
    #[must_use]
    pub fn sign_count(&self) -> u32 {
        self.sign_count
    }

    /// Sets the signature counter (to simulate a clone or a reset).
    pub fn set_sign_count(&mut self, count: u32) {
        self.sign_count = count;
    }

    /// The credential public key as a COSE_Key (EC2, P-256, ES256).
    #[must_use]
    pub fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        let x = bytes.get(1..33).unwrap_or_default();
        let y = bytes.get(33..65).unwrap_or_default();
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        out.extend_from_slice(x);
        out.extend_from_slice(&[0x22, 0x58, 0x20]);
        out.extend_from_slice(y);
        out
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut flags = 0u8;
        for (on, bit) in [
            (self.user_present, 0x01),
            (self.user_verified, 0x04),
            (self.backup_eligible, 0x08),
            (self.backup_state, 0x10),
            (attested, 0x40),
        ] {
            if on {
                flags |= bit;
            }
        }
        flags
    }

    /// Authenticator data for `rp_id`, with attested credential data when `attested`.
    #[must_use]
    pub fn authenticator_data(&self, rp_id: &str, attested: bool) -> Vec<u8> {
        let mut data = sha256(rp_id.as_bytes()).to_vec();
        data.push(self.flags(attested));
        data.extend_from_slice(&self.sign_count.to_be_bytes());
        if attested {
            data.extend_from_slice(&[0u8; 16]); // AAGUID: all zero for a software authenticator
            let id = self.credential_id.as_bytes();
            let len = u16::try_from(id.len()).unwrap_or(u16::MAX);
            data.extend_from_slice(&len.to_be_bytes());
            data.extend_from_slice(id);
            data.extend_from_slice(&self.cose_key());
        }
        data
    }

    /// Client data JSON as a browser would collect it.
    #[must_use]
    pub fn client_data_json(type_: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{type_}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
            base64url::encode(challenge)
        )
        .into_bytes()
    }

    /// Signs `message` with the credential key (DER-encoded ECDSA).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    /// Answers creation options as `navigator.credentials.create()` and `toJSON()` would, at
    /// `origin`: returns `RegistrationResponseJSON` bytes.
    #[must_use]
    pub fn register(&mut self, options: &CreationOptions, origin: &str) -> Vec<u8> {
        self.user_handle = Some(options.user.id.as_bytes().to_vec());
        let client_data =
            Self::client_data_json("webauthn.create", options.challenge.as_bytes(), origin);
        let auth_data = self.authenticator_data(&options.rp.id, true);
        let statement = match self.attestation {
            SoftwareAttestation::None => Value::Map(Vec::new()),
            SoftwareAttestation::PackedSelf => {
                let mut signed = auth_data.clone();
                signed.extend_from_slice(&sha256(&client_data));
                Value::Map(vec![
                    (Value::Text("alg".into()), Value::Integer((-7).into())),
                    (Value::Text("sig".into()), Value::Bytes(self.sign(&signed))),
                ])
            }
        };
        let format = match self.attestation {
            SoftwareAttestation::None => "none",
            SoftwareAttestation::PackedSelf => "packed",
        };
        let object = Value::Map(vec![
            (Value::Text("fmt".into()), Value::Text(format.into())),
            (Value::Text("attStmt".into()), statement),
            (Value::Text("authData".into()), Value::Bytes(auth_data)),
        ]);
        let mut object_bytes = Vec::new();
        // Writing CBOR into a Vec cannot fail.
        let _ = ciborium::ser::into_writer(&object, &mut object_bytes);
        let id = self.credential_id.to_b64url();
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": base64url::encode(&client_data),
                "attestationObject": base64url::encode(&object_bytes),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": true}},
            "authenticatorAttachment": "platform",
        })
        .to_string()
        .into_bytes()
    }

    /// Answers request options as `navigator.credentials.get()` and `toJSON()` would, at
    /// `origin`: returns `AuthenticationResponseJSON` bytes.
    #[must_use]
    pub fn authenticate(&mut self, options: &RequestOptions, origin: &str) -> Vec<u8> {
        let client_data =
            Self::client_data_json("webauthn.get", options.challenge.as_bytes(), origin);
        self.assertion_json(&options.rp_id, &client_data)
    }

    /// An assertion over arbitrary client data (for tests that tamper with it): bumps the
    /// counter if counting, builds authenticator data for `rp_id`, signs, returns
    /// `AuthenticationResponseJSON` bytes.
    #[must_use]
    pub fn assertion_json(&mut self, rp_id: &str, client_data_json: &[u8]) -> Vec<u8> {
        if self.counts_signatures {
            self.sign_count = self.sign_count.saturating_add(1);
        }
        let auth_data = self.authenticator_data(rp_id, false);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(client_data_json));
        let signature = self.sign(&signed);
        let id = self.credential_id.to_b64url();
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": base64url::encode(client_data_json),
                "authenticatorData": base64url::encode(&auth_data),
                "signature": base64url::encode(&signature),
                "userHandle": self.user_handle.as_deref().map(base64url::encode),
            },
            "clientExtensionResults": {},
        })
        .to_string()
        .into_bytes()
    }
}

/// The passkey replay check every store backend runs: a synced passkey (signature counter
/// always 0) signs one assertion, and [`THREADS`](mfa_core::conformance::THREADS) threads
/// submit it at once through [`crate::finish_authentication`], 5 rounds: exactly one succeeds
/// each round, every other finds no ceremony, whatever the store.
///
/// # Panics
/// When more or fewer than one submission succeeds, or a step that must work fails.
pub fn concurrent_passkey_replays_have_one_winner<S: mfa_core::Store>(
    store: &S,
    namespace: &str,
    rng: &mut impl CryptoRng,
) {
    use crate::{
        AttestationOptions, AuthenticationRequest, AuthenticationResponse, DefaultVerifier,
        RegistrationRequest, RegistrationResponse, RelyingParty, UserEntity,
    };
    use mfa_core::conformance::THREADS;
    use mfa_core::{AttemptError, UnixTime, insert_new};

    const ORIGIN: &str = "https://login.example.com";
    let now = UnixTime::from_secs(1_800_000_000);
    let rp = RelyingParty::new("example.com", "Example", ORIGIN);
    let mut passkey = SoftwareAuthenticator::new(rng);
    passkey.counts_signatures = false;
    passkey.backup_eligible = true;
    passkey.backup_state = true;
    let user = UserEntity::random(rng, "alice@example.com", "Alice");
    let (options, state) = rp.start_registration(rng, now, user, RegistrationRequest::default());
    let response = RegistrationResponse::from_json(&passkey.register(&options, ORIGIN))
        .expect("the software authenticator writes valid JSON");
    let credential = state
        .verify(
            &response,
            now,
            &DefaultVerifier,
            &AttestationOptions::default(),
        )
        .expect("registration verifies")
        .credential;
    assert_eq!(credential.sign_count, 0, "a synced passkey does not count");
    let key = crate::record_key(namespace, &credential.id);
    insert_new(store, &key, &credential).expect("store the credential");

    for round in 0..5 {
        let session = format!("{namespace}-round-{round}");
        let request = AuthenticationRequest {
            allow_credentials: vec![credential.descriptor()],
            ..AuthenticationRequest::default()
        };
        let options = crate::start_authentication(store, &rp, rng, now, &session, request)
            .expect("store the ceremony");
        let response = AuthenticationResponse::from_json(&passkey.authenticate(&options, ORIGIN))
            .expect("the software authenticator writes valid JSON");
        let barrier = std::sync::Barrier::new(THREADS);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        crate::finish_authentication(
                            store,
                            &session,
                            &key,
                            &response,
                            now,
                            &DefaultVerifier,
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("replay thread"))
                .collect()
        });
        let wins = results.iter().filter(|result| result.is_ok()).count();
        let not_found = results
            .iter()
            .filter(|result| matches!(result, Err(AttemptError::ChallengeNotFound)))
            .count();
        assert_eq!(wins, 1, "round {round}: exactly one replay may win");
        assert_eq!(
            not_found,
            THREADS - 1,
            "round {round}: the rest find no ceremony"
        );
    }
}
