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
//! backend runs (`mfa-store`'s conformance suite). [`pki`] builds test certificates, CRLs and
//! attestation keys, for `packed` and `fido-u2f` attestations with certificate chains
//! ([`SoftwareAttestation::packed`], [`SoftwareAttestation::fido_u2f`]).

use ciborium::Value;
use mfa_core::CryptoRng;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

use crate::base64url;
use crate::checks::sha256;
use crate::credential_id::CredentialId;
use crate::options::{CreationOptions, RequestOptions};

pub mod mds;
pub mod pki;

use pki::{TestCertificate, TestKey};

/// The attestation statement the software authenticator produces ([WebAuthn L3 §8]).
///
/// [WebAuthn L3 §8]: https://www.w3.org/TR/webauthn-3/#sctn-defined-attestation-formats
#[derive(Clone, Debug)]
pub enum SoftwareAttestation {
    /// `none`.
    None,
    /// `packed` self attestation (signed with the credential key).
    PackedSelf,
    /// `packed` basic attestation ([WebAuthn L3 §8.2]): `sig` by `key` (the attestation key,
    /// not the credential key) over `authenticatorData ‖ clientDataHash`, `alg` from the key
    /// (-7 or -257), `x5c` as given (DER, leaf first). Build with
    /// [`SoftwareAttestation::packed`] or [`pki::TestPki::packed_attestation`].
    ///
    /// [WebAuthn L3 §8.2]: https://www.w3.org/TR/webauthn-3/#sctn-packed-attestation
    Packed {
        /// The attestation private key (the leaf certificate's key).
        key: TestKey,
        /// The certificates sent as `x5c`.
        x5c: Vec<Vec<u8>>,
    },
    /// `fido-u2f` attestation ([WebAuthn L3 §8.6]): the authenticator reports an all-zero
    /// AAGUID whatever [`SoftwareAuthenticator::aaguid`] says, `sig` by `key` over
    /// `0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ publicKeyU2F`, `x5c` holds
    /// `certificate` alone. `key` should be P-256 (an RSA key signs anyway, for negative tests).
    ///
    /// [WebAuthn L3 §8.6]: https://www.w3.org/TR/webauthn-3/#sctn-fido-u2f-attestation
    FidoU2f {
        /// The attestation private key (the certificate's key).
        key: TestKey,
        /// The attestation certificate (DER).
        certificate: Vec<u8>,
    },
}

impl SoftwareAttestation {
    /// `packed` basic attestation with `leaf`'s key, `x5c` = `[leaf, intermediates…]`.
    #[must_use]
    pub fn packed(leaf: &TestCertificate, intermediates: &[&TestCertificate]) -> Self {
        let mut x5c = vec![leaf.der().to_vec()];
        x5c.extend(intermediates.iter().map(|cert| cert.der().to_vec()));
        Self::Packed {
            key: leaf.key().clone(),
            x5c,
        }
    }

    /// `fido-u2f` attestation with `certificate` and its key.
    #[must_use]
    pub fn fido_u2f(certificate: &TestCertificate) -> Self {
        Self::FidoU2f {
            key: certificate.key().clone(),
            certificate: certificate.der().to_vec(),
        }
    }

    /// The `fmt` identifier.
    #[must_use]
    pub fn format(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::PackedSelf | Self::Packed { .. } => "packed",
            Self::FidoU2f { .. } => "fido-u2f",
        }
    }
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
    /// The AAGUID reported in attested credential data (all zero by default; `fido-u2f`
    /// attestation always reports all zero).
    pub aaguid: [u8; 16],
}

impl SoftwareAuthenticator {
    /// A new authenticator with a fresh key and a 16-byte credential id from `rng`, reporting
    /// UP and UV, not backup-eligible, counting signatures, producing `packed` self attestation,
    /// reporting an all-zero AAGUID.
    #[must_use]
    pub fn new(rng: &mut impl CryptoRng) -> Self {
        let key = pki::random_p256(rng);
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
            aaguid: [0; 16],
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

    /// The credential public key as an uncompressed SEC1 point (65 bytes, `04 ‖ x ‖ y`): the
    /// `publicKeyU2F` of `fido-u2f` attestation.
    #[must_use]
    pub fn public_key_sec1(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The credential public key as a COSE_Key (EC2, P-256, ES256).
    #[must_use]
    pub fn cose_key(&self) -> Vec<u8> {
        let bytes = self.public_key_sec1();
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
            let aaguid = match self.attestation {
                SoftwareAttestation::FidoU2f { .. } => [0u8; 16],
                _ => self.aaguid,
            };
            data.extend_from_slice(&aaguid);
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
        let client_data_hash = sha256(&client_data);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&client_data_hash);
        let text = |key: &str| Value::Text(key.into());
        let x5c = |certificates: &[Vec<u8>]| {
            Value::Array(certificates.iter().cloned().map(Value::Bytes).collect())
        };
        let statement = match &self.attestation {
            SoftwareAttestation::None => Value::Map(Vec::new()),
            SoftwareAttestation::PackedSelf => Value::Map(vec![
                (text("alg"), Value::Integer((-7).into())),
                (text("sig"), Value::Bytes(self.sign(&signed))),
            ]),
            SoftwareAttestation::Packed { key, x5c: chain } => Value::Map(vec![
                (text("alg"), Value::Integer(key.cose_algorithm().into())),
                (text("sig"), Value::Bytes(key.sign_der(&signed))),
                (text("x5c"), x5c(chain)),
            ]),
            SoftwareAttestation::FidoU2f { key, certificate } => {
                let mut u2f_signed = vec![0x00];
                u2f_signed.extend_from_slice(&sha256(options.rp.id.as_bytes()));
                u2f_signed.extend_from_slice(&client_data_hash);
                u2f_signed.extend_from_slice(self.credential_id.as_bytes());
                u2f_signed.extend_from_slice(&self.public_key_sec1());
                Value::Map(vec![
                    (text("sig"), Value::Bytes(key.sign_der(&u2f_signed))),
                    (text("x5c"), x5c(core::slice::from_ref(certificate))),
                ])
            }
        };
        let object = Value::Map(vec![
            (text("fmt"), Value::Text(self.attestation.format().into())),
            (text("attStmt"), statement),
            (text("authData"), Value::Bytes(auth_data)),
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
