//! The ES256 assertion fixture shared by `webauthn.rs` (criterion) and `paired.rs` (interleaved
//! ratios): one registered passkey of the software authenticator, one assertion of it, and the
//! raw message, signature and public key the baselines verify.
// Each bench target compiles this module on its own and uses part of it.
#![allow(dead_code)]

use mfa_core::{UnixTime, Verified};
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, AuthenticationState,
    Challenge, RegistrationRequest, RegistrationResponse, RelyingParty, RustCryptoVerifier,
    SignatureVerifier, StoredCredential, UserEntity,
};
use p256::ecdsa::signature::Verifier as _;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest as _, Sha256};

pub(crate) const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
pub(crate) const ORIGIN: &str = "https://example.com";

pub(crate) struct AssertionFixture {
    pub(crate) rp: RelyingParty,
    pub(crate) credential: StoredCredential,
    /// The assertion, as the browser sends it.
    pub(crate) json: Vec<u8>,
    challenge: Challenge,
    request: AuthenticationRequest,
    /// `authenticatorData ‖ SHA-256(clientDataJSON)`, the DER signature over it, and the public
    /// key as an uncompressed SEC 1 point.
    pub(crate) message: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) point: Vec<u8>,
}

impl AssertionFixture {
    pub(crate) fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(7);
        let rp = RelyingParty::new("example.com", "Example", ORIGIN);
        let mut key = SoftwareAuthenticator::new(&mut rng);
        let user = UserEntity::random(&mut rng, "alice", "Alice");
        let (options, state) =
            rp.start_registration(&mut rng, NOW, user, RegistrationRequest::default());
        let response =
            RegistrationResponse::from_json(&key.register(&options, ORIGIN)).expect("json");
        let credential = state
            .verify(
                &response,
                NOW,
                &RustCryptoVerifier,
                &AttestationOptions::default(),
            )
            .expect("registered")
            .credential;
        let request = AuthenticationRequest {
            allow_credentials: vec![credential.descriptor()],
            ..AuthenticationRequest::default()
        };
        let (options, _first_state) = rp.start_authentication(&mut rng, NOW, request.clone());
        let json = key.authenticate(&options, ORIGIN);
        let challenge =
            Challenge::from_bytes(options.challenge.as_bytes().to_vec()).expect("challenge");
        let parsed = AuthenticationResponse::from_json(&json).expect("json");
        let mut message = parsed.authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(&parsed.client_data_json));
        let signature = parsed.signature.clone();
        let point = credential
            .public_key_cose
            .ec2_uncompressed_point()
            .expect("EC2 key");
        Self {
            rp,
            credential,
            json,
            challenge,
            request,
            message,
            signature,
            point,
        }
    }

    /// A fresh ceremony state with the assertion's challenge (verifying consumes one).
    pub(crate) fn fresh_state(&self) -> AuthenticationState {
        self.rp
            .authentication_with_challenge(self.challenge.clone(), NOW, self.request.clone())
            .1
    }

    /// Our whole check: parse the JSON, then every §7.2 step with `verifier`.
    pub(crate) fn verify(
        &self,
        state: AuthenticationState,
        verifier: &dyn SignatureVerifier,
    ) -> Verified<StoredCredential> {
        let response = AuthenticationResponse::from_json(&self.json).expect("json");
        state
            .verify(&self.credential, &response, NOW, verifier)
            .expect("verified")
    }

    /// The raw p256 verify of the same message and signature, parsing the key and signature.
    pub(crate) fn raw_p256(&self) {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&self.point).expect("point");
        let sig = p256::ecdsa::Signature::from_der(&self.signature).expect("der");
        key.verify(&self.message, &sig).expect("valid");
    }

    /// The raw ring verify of the same message and signature.
    pub(crate) fn raw_ring(&self) {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &self.point,
        )
        .verify(&self.message, &self.signature)
        .expect("valid");
    }
}
