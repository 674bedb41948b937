//! Client extensions: the inputs in the options JSON (credProps, prf, largeBlob) and the typed
//! outputs in `clientExtensionResults`, returned by registration and authentication. Responses
//! come from the software authenticator with their `clientExtensionResults` rewritten (they
//! are outside the signature, as in a real browser).
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use std::collections::BTreeMap;

use mfa_core::UnixTime;
use mfa_webauthn::extensions::{MAX_LARGE_BLOB_LEN, MAX_PRF_OUTPUT_LEN};
use mfa_webauthn::response::MAX_RESPONSE_JSON_LEN;
use mfa_webauthn::testing::SoftwareAuthenticator;
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, AuthenticationState,
    Base64UrlBytes, ClientExtensionResults, CreationOptions, CredentialDescriptor, CredentialId,
    LargeBlobRequestInputs, LargeBlobSupport, PrfOutput, PrfValues, RegisteredCredential,
    RegistrationRequest, RegistrationResponse, RelyingParty, RequestOptions, RustCryptoVerifier,
    StoredCredential, UserEntity, VerifiedAssertion, WebAuthnError, base64url,
};
use proptest::prelude::*;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Value, json};

const ORIGIN: &str = "https://login.example.com";
const T0: UnixTime = UnixTime::from_secs(1_800_000_000);

fn rp() -> RelyingParty {
    RelyingParty::new("example.com", "Example", ORIGIN)
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(17)
}

/// Bytes no other part of a response contains, so a leak is recognisable.
fn secret(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap().wrapping_mul(37)))
        .collect()
}

fn with_outputs(json: &[u8], outputs: &Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(json).unwrap();
    v["clientExtensionResults"] = outputs.clone();
    v.to_string().into_bytes()
}

/// Registers a credential with `request`, the client answering `outputs`.
fn register(
    request: RegistrationRequest,
    outputs: &Value,
) -> (SoftwareAuthenticator, Value, RegisteredCredential) {
    let mut rng = rng();
    let mut key = SoftwareAuthenticator::new(&mut rng);
    let user = UserEntity::random(&mut rng, "alice", "Alice");
    let (options, state) = rp().start_registration(&mut rng, T0, user, request);
    let options_json = serde_json::to_value(&options).unwrap();
    let json = with_outputs(&key.register(&options, ORIGIN), outputs);
    let response = RegistrationResponse::from_json(&json).unwrap();
    let registered = state
        .verify(
            &response,
            T0,
            &RustCryptoVerifier,
            &AttestationOptions::default(),
        )
        .unwrap();
    (key, options_json, registered)
}

fn registered_key() -> (SoftwareAuthenticator, StoredCredential) {
    let (key, _, registered) = register(RegistrationRequest::default(), &json!({}));
    (key, registered.credential)
}

/// The registered credential, and the JSON of its assertion for `request` (the credential
/// allowed when the request names none) with the client answering `outputs`.
fn answer(
    request: AuthenticationRequest,
    outputs: &Value,
) -> (StoredCredential, AuthenticationState, Vec<u8>) {
    let mut rng = rng();
    let (mut key, credential) = registered_key();
    let mut request = request;
    if request.allow_credentials.is_empty() {
        request.allow_credentials = vec![credential.descriptor()];
    }
    let (options, state) = rp().start_authentication(&mut rng, T0, request);
    let json = with_outputs(&key.authenticate(&options, ORIGIN), outputs);
    (credential, state, json)
}

/// Signs in with `request`, the client answering `outputs`: the response and the checked
/// assertion, which must pass.
fn sign_in(
    request: AuthenticationRequest,
    outputs: &Value,
) -> (StoredCredential, AuthenticationResponse, VerifiedAssertion) {
    let (credential, state, json) = answer(request, outputs);
    let response = AuthenticationResponse::from_json(&json).unwrap();
    let assertion = state
        .check(&credential, &response, T0, &RustCryptoVerifier)
        .unwrap();
    (credential, response, assertion)
}

fn parse_outputs(outputs: &Value) -> Result<ClientExtensionResults, WebAuthnError> {
    let (_, _, json) = answer(AuthenticationRequest::default(), outputs);
    let from_json = AuthenticationResponse::from_json(&json);
    // The serde path (`axum::Json`) decides the same.
    let from_serde = serde_json::from_slice::<AuthenticationResponse>(&json);
    assert_eq!(from_json.as_ref().ok(), from_serde.as_ref().ok());
    from_json.map(|r| r.client_extension_results)
}

// --- inputs ------------------------------------------------------------------------------------

#[test]
fn default_options_ask_for_cred_props_only() {
    let mut rng = rng();
    let user = UserEntity::random(&mut rng, "alice", "Alice");
    let (options, _) = rp().start_registration(&mut rng, T0, user, RegistrationRequest::default());
    let v = serde_json::to_value(&options).unwrap();
    assert_eq!(v["extensions"], json!({"credProps": true}));
    let (options, _) = rp().start_authentication(&mut rng, T0, AuthenticationRequest::default());
    assert_eq!(
        serde_json::to_value(&options).unwrap()["extensions"],
        json!({})
    );
}

#[test]
fn creation_inputs_in_json_form() {
    let salt1 = b"salt one".to_vec();
    let salt2 = b"salt two".to_vec();
    let request = RegistrationRequest::default()
        .with_prf(Some(
            PrfValues::new(salt1.clone()).with_second(salt2.clone()),
        ))
        .with_large_blob(LargeBlobSupport::Required);
    let (_, options, _) = register(request, &json!({}));
    assert_eq!(
        options["extensions"],
        json!({
            "credProps": true,
            "prf": {"eval": {
                "first": base64url::encode(&salt1),
                "second": base64url::encode(&salt2),
            }},
            "largeBlob": {"support": "required"},
        })
    );
    // `{}` asks only whether the PRF is supported; `preferred` is lower case too.
    let request = RegistrationRequest::default()
        .with_prf(None)
        .with_large_blob(LargeBlobSupport::Preferred);
    let (_, options, _) = register(request, &json!({}));
    assert_eq!(options["extensions"]["prf"], json!({}));
    assert_eq!(
        options["extensions"]["largeBlob"],
        json!({"support": "preferred"})
    );
}

#[test]
fn request_inputs_in_json_form() {
    let mut rng = rng();
    let (_, credential) = registered_key();
    let other = CredentialDescriptor::new(CredentialId::new(vec![9; 16]).unwrap(), Vec::new());
    let request = AuthenticationRequest {
        allow_credentials: vec![credential.descriptor()],
        ..AuthenticationRequest::default()
    }
    .with_prf(PrfValues::new(b"any".to_vec()))
    .with_prf_for_credential(other.clone(), PrfValues::new(b"other".to_vec()))
    .with_large_blob_read();
    // The credential named for evalByCredential joined the allow list.
    assert_eq!(request.allow_credentials.len(), 2);
    let (options, _) = rp()
        .with_appid("https://example.com/appid.json")
        .start_authentication(&mut rng, T0, request);
    let v = serde_json::to_value(&options).unwrap();
    let mut by_credential = serde_json::Map::new();
    by_credential.insert(
        other.id.to_b64url(),
        json!({"first": base64url::encode(b"other")}),
    );
    assert_eq!(
        v["extensions"],
        json!({
            "appid": "https://example.com/appid.json",
            "prf": {
                "eval": {"first": base64url::encode(b"any")},
                "evalByCredential": by_credential,
            },
            "largeBlob": {"read": true},
        })
    );

    // A write names exactly one credential.
    let request = AuthenticationRequest::default()
        .with_large_blob_write(credential.descriptor(), b"blob".to_vec());
    assert_eq!(request.allow_credentials, vec![credential.descriptor()]);
    let (options, _) = rp().start_authentication(&mut rng, T0, request);
    assert_eq!(
        serde_json::to_value(&options).unwrap()["extensions"],
        json!({"largeBlob": {"write": base64url::encode(b"blob")}})
    );
}

#[test]
fn inputs_a_client_would_refuse_are_left_out() {
    let mut rng = rng();
    let (_, credential) = registered_key();
    let other = CredentialDescriptor::new(CredentialId::new(vec![9; 16]).unwrap(), Vec::new());
    // evalByCredential for a credential the caller then took off the allow list.
    let mut request = AuthenticationRequest::default()
        .with_prf_for_credential(other.clone(), PrfValues::new(b"x".to_vec()))
        .with_prf_for_credential(credential.descriptor(), PrfValues::new(b"y".to_vec()));
    request.allow_credentials.retain(|d| d.id != other.id);
    let (options, _) = rp().start_authentication(&mut rng, T0, request);
    let by_credential =
        serde_json::to_value(&options).unwrap()["extensions"]["prf"]["evalByCredential"].clone();
    let keys: Vec<_> = by_credential.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec![credential.id.to_b64url()]);

    // A write with two allowed credentials: a client would refuse the request, so no write.
    let mut request = AuthenticationRequest::default()
        .with_large_blob_write(credential.descriptor(), b"blob".to_vec());
    request.allow_credentials.push(other);
    let (options, _) = rp().start_authentication(&mut rng, T0, request);
    assert_eq!(
        serde_json::to_value(&options).unwrap()["extensions"],
        json!({})
    );
}

#[test]
fn prf_salts_are_not_printed() {
    let salt = b"a salt the RP chose".to_vec();
    let request = AuthenticationRequest::default().with_prf(PrfValues::new(salt.clone()));
    let printed = format!("{request:?}");
    assert!(printed.contains("first_len: 19"), "{printed}");
    assert!(!printed.contains(&base64url::encode(&salt)), "{printed}");
    let write = LargeBlobRequestInputs::Write(Base64UrlBytes::new(b"private blob".to_vec()));
    assert_eq!(format!("{write:?}"), "Write { len: 12 }");
}

// --- outputs -----------------------------------------------------------------------------------

#[test]
fn registration_returns_the_outputs() {
    let prf_first = secret(32, 0x11);
    let outputs = json!({
        "credProps": {"rk": false},
        "prf": {"enabled": true, "results": {"first": base64url::encode(&prf_first)}},
        "largeBlob": {"supported": true},
        "someFutureExtension": {"x": 1},
    });
    let request = RegistrationRequest::default()
        .with_prf(Some(PrfValues::new(b"salt".to_vec())))
        .with_large_blob(LargeBlobSupport::Preferred);
    let (_, _, registered) = register(request, &outputs);
    let results = &registered.client_extension_results;
    assert_eq!(registered.discoverable, Some(false));
    assert_eq!(results.discoverable(), Some(false));
    assert_eq!(results.cred_props.unwrap().rk, Some(false));
    let prf = results.prf.as_ref().unwrap();
    assert_eq!(prf.enabled, Some(true));
    let prf_results = prf.results.as_ref().unwrap();
    assert_eq!(prf_results.first.expose_secret(), prf_first.as_slice());
    assert!(prf_results.second.is_none());
    let large_blob = results.large_blob.as_ref().unwrap();
    assert_eq!(
        (large_blob.supported, &large_blob.blob, large_blob.written),
        (Some(true), &None, None)
    );
    assert_eq!(results.appid, None);

    // No outputs at all: every member absent, `discoverable` unknown.
    let (_, _, registered) = register(RegistrationRequest::default(), &json!({}));
    assert_eq!(
        registered.client_extension_results,
        ClientExtensionResults::default()
    );
    assert_eq!(registered.discoverable, None);
}

#[test]
fn verified_assertion_carries_the_outputs() {
    let first = secret(32, 0x21);
    let second = secret(32, 0x42);
    let blob = secret(1000, 0x07);
    let request = AuthenticationRequest::default()
        .with_prf(PrfValues::new(b"1".to_vec()).with_second(b"2".to_vec()))
        .with_large_blob_read();
    let outputs = json!({
        "prf": {"results": {
            "first": base64url::encode(&first),
            "second": base64url::encode(&second),
        }},
        "largeBlob": {"blob": base64url::encode(&blob)},
    });
    let (credential, response, assertion) = sign_in(request, &outputs);
    let results = assertion.client_extension_results();
    assert_eq!(results, &response.client_extension_results);
    let prf = results.prf.as_ref().unwrap().results.as_ref().unwrap();
    assert_eq!(prf.first.expose_secret(), first.as_slice());
    assert_eq!(
        prf.second.as_ref().unwrap().expose_secret(),
        second.as_slice()
    );
    assert_eq!(prf.first, PrfOutput::new(first.clone()).unwrap());
    assert_ne!(prf.first, PrfOutput::new(second.clone()).unwrap());
    assert_eq!(
        results.large_blob.as_ref().unwrap().blob.as_deref(),
        Some(blob.as_slice())
    );
    assert!(assertion.apply(&credential).is_ok());
}

#[test]
fn large_blob_written_is_reported() {
    let (_, credential) = registered_key();
    let request = AuthenticationRequest::default()
        .with_large_blob_write(credential.descriptor(), b"new blob".to_vec());
    let (_, _, assertion) = sign_in(request, &json!({"largeBlob": {"written": true}}));
    let large_blob = assertion.client_extension_results().large_blob.clone();
    assert_eq!(large_blob.unwrap().written, Some(true));
}

#[test]
fn outputs_are_not_checked_against_the_request() {
    // Unsigned, advisory: PRF results and a write nobody asked for do not fail a signed
    // assertion; they are returned as sent (documented in `mfa_webauthn::extensions`).
    let outputs = json!({
        "prf": {"results": {"first": base64url::encode(&secret(32, 1))}},
        "largeBlob": {"written": true},
    });
    let (credential, state, json) = answer(AuthenticationRequest::default(), &outputs);
    let response = AuthenticationResponse::from_json(&json).unwrap();
    let verified = state.verify(&credential, &response, T0, &RustCryptoVerifier);
    assert!(verified.is_ok(), "{verified:?}");
}

#[test]
fn malformed_outputs_are_refused_like_other_members() {
    let too_long_prf = base64url::encode(&secret(MAX_PRF_OUTPUT_LEN + 1, 3));
    let too_long_blob = base64url::encode(&vec![0; MAX_LARGE_BLOB_LEN + 1]);
    for outputs in [
        json!({"prf": {"results": {"first": "not base64url!"}}}),
        json!({"prf": {"results": {"first": too_long_prf}}}),
        json!({"prf": {"results": {"first": ""}}}),
        json!({"prf": {"results": {"first": base64url::encode(&[1; 32]), "second": ""}}}),
        json!({"prf": {"results": {}}}),
        json!({"prf": {"enabled": "yes"}}),
        json!({"prf": {"results": {"first": 7}}}),
        json!({"credProps": 5}),
        json!({"credProps": {"rk": "true"}}),
        json!({"largeBlob": {"blob": "*"}}),
        json!({"largeBlob": {"blob": too_long_blob}}),
        json!({"largeBlob": {"written": 1}}),
        json!({"appid": "yes"}),
        json!("not an object"),
    ] {
        let result = parse_outputs(&outputs);
        assert!(
            matches!(result, Err(WebAuthnError::Malformed(_))),
            "{outputs}: {result:?}"
        );
    }
    // The largest outputs within bounds parse.
    let results = parse_outputs(&json!({
        "prf": {"results": {
            "first": base64url::encode(&secret(MAX_PRF_OUTPUT_LEN, 5)),
            "second": base64url::encode(&secret(1, 5)),
        }},
        "largeBlob": {"blob": base64url::encode(&vec![0xEE; MAX_LARGE_BLOB_LEN])},
    }))
    .unwrap();
    assert_eq!(
        results.large_blob.unwrap().blob.unwrap().len(),
        MAX_LARGE_BLOB_LEN
    );
    // null members are absent members.
    assert_eq!(
        parse_outputs(&json!({"prf": null, "largeBlob": null, "credProps": null})).unwrap(),
        ClientExtensionResults::default()
    );
}

#[test]
fn the_largest_blob_fits_in_a_response() {
    let outputs = json!({"largeBlob": {"blob": base64url::encode(&vec![1; MAX_LARGE_BLOB_LEN])}});
    let (_, _, json) = answer(
        AuthenticationRequest::default().with_large_blob_read(),
        &outputs,
    );
    assert!(json.len() <= MAX_RESPONSE_JSON_LEN, "{}", json.len());
}

#[test]
fn debug_never_shows_prf_results_or_blobs() {
    let first = secret(32, 0xA5);
    let second = secret(32, 0x3C);
    let blob = secret(48, 0x99);
    let outputs = json!({
        "prf": {"results": {"first": base64url::encode(&first), "second": base64url::encode(&second)}},
        "largeBlob": {"blob": base64url::encode(&blob)},
    });
    let (_, response, assertion) = sign_in(AuthenticationRequest::default(), &outputs);
    let printed = [
        format!("{response:?}"),
        format!("{:?}", response.client_extension_results),
        format!("{assertion:?}"),
        format!("{assertion:#?}"),
    ];
    for secret in [&first, &second, &blob] {
        let decimal = format!("{:?}", &secret[..4]);
        let decimal = decimal.trim_matches(['[', ']']);
        let hex_lower: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let hex_upper = hex_lower.to_uppercase();
        for text in &printed {
            assert!(!text.contains(decimal), "{decimal} in {text}");
            assert!(!text.contains(&hex_lower[..8]) && !text.contains(&hex_upper[..8]));
            assert!(!text.contains(&base64url::encode(secret)[..8]), "{text}");
        }
    }
    let results = format!("{:?}", response.client_extension_results);
    assert!(results.contains("PrfOutput { len: 32, .. }"), "{results}");
    assert!(results.contains("blob_len: Some(48)"), "{results}");
}

// --- properties --------------------------------------------------------------------------------

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn prf_values() -> impl Strategy<Value = PrfValues> {
    (bytes(40), proptest::option::of(bytes(40))).prop_map(|(first, second)| {
        let values = PrfValues::new(first);
        match second {
            Some(second) => values.with_second(second),
            None => values,
        }
    })
}

fn credential_id() -> impl Strategy<Value = CredentialId> {
    proptest::collection::vec(any::<u8>(), 1..40).prop_map(|id| CredentialId::new(id).unwrap())
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[A-Za-z0-9_=+/*-]{0,100}".prop_map(Value::String),
        bytes(80).prop_map(|b| Value::String(base64url::encode(&b))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("appid".to_owned()),
                    Just("credProps".to_owned()),
                    Just("rk".to_owned()),
                    Just("prf".to_owned()),
                    Just("enabled".to_owned()),
                    Just("results".to_owned()),
                    Just("first".to_owned()),
                    Just("second".to_owned()),
                    Just("largeBlob".to_owned()),
                    Just("supported".to_owned()),
                    Just("blob".to_owned()),
                    Just("written".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Options with any extension inputs come back from their JSON unchanged.
    #[test]
    fn options_round_trip_through_serde(
        creation_eval in proptest::option::of(proptest::option::of(prf_values())),
        support in proptest::option::of(prop_oneof![
            Just(LargeBlobSupport::Required), Just(LargeBlobSupport::Preferred)
        ]),
        eval in proptest::option::of(prf_values()),
        by_credential in proptest::collection::btree_map(credential_id(), prf_values(), 0..4),
        large_blob in proptest::option::of(proptest::option::of(bytes(100))),
    ) {
        let mut rng = rng();
        let mut request = RegistrationRequest::default();
        if let Some(eval) = creation_eval {
            request = request.with_prf(eval);
        }
        if let Some(support) = support {
            request = request.with_large_blob(support);
        }
        let user = UserEntity::random(&mut rng, "alice", "Alice");
        let (creation, _) = rp().start_registration(&mut rng, T0, user, request);
        let text = serde_json::to_string(&creation).unwrap();
        prop_assert_eq!(&serde_json::from_str::<CreationOptions>(&text).unwrap(), &creation);

        let mut request = AuthenticationRequest::default();
        if let Some(eval) = eval {
            request = request.with_prf(eval);
        }
        for (id, values) in by_credential.clone() {
            request = request.with_prf_for_credential(CredentialDescriptor::new(id, Vec::new()), values);
        }
        match large_blob {
            Some(Some(blob)) => {
                let id = CredentialId::new(vec![1; 16]).unwrap();
                request = request.with_large_blob_write(CredentialDescriptor::new(id, Vec::new()), blob);
            }
            Some(None) => request = request.with_large_blob_read(),
            None => {}
        }
        let (options, _) = rp().start_authentication(&mut rng, T0, request.clone());
        let text = serde_json::to_string(&options).unwrap();
        let back = serde_json::from_str::<RequestOptions>(&text).unwrap();
        prop_assert_eq!(&back, &options);
        // Every evalByCredential key in the options is an allowed credential.
        let allowed: Vec<_> = options.allow_credentials.iter().map(|d| d.id.clone()).collect();
        let sent: BTreeMap<_, _> = options
            .extensions
            .prf
            .as_ref()
            .map(|p| p.eval_by_credential.clone())
            .unwrap_or_default();
        prop_assert!(sent.keys().all(|id| allowed.contains(id)));
        // A write goes out only with exactly one allowed credential.
        if matches!(options.extensions.large_blob, Some(LargeBlobRequestInputs::Write(_))) {
            prop_assert_eq!(options.allow_credentials.len(), 1);
        }
    }

    /// Any `clientExtensionResults` parses or is refused as malformed, never panics, and the
    /// two parsing paths agree.
    #[test]
    fn any_extension_outputs_parse_or_are_refused(outputs in json_value()) {
        let response = json!({
            "id": "AAAA",
            "rawId": "AAAA",
            "type": "public-key",
            "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
            "clientExtensionResults": outputs,
        })
        .to_string();
        let parsed = AuthenticationResponse::from_json(response.as_bytes());
        let serde = serde_json::from_str::<AuthenticationResponse>(&response);
        prop_assert_eq!(parsed.as_ref().ok(), serde.as_ref().ok());
        if let Err(error) = parsed {
            prop_assert!(matches!(error, WebAuthnError::Malformed(_)));
        }
        let registration = response.replace("\"authenticatorData\":\"AA\",", "")
            .replace("\"signature\":\"AA\"", "\"attestationObject\":\"AA\"");
        if let Err(error) = RegistrationResponse::from_json(registration.as_bytes()) {
            prop_assert!(matches!(error, WebAuthnError::Malformed(_)));
        }
    }

    /// PRF outputs compare as their bytes do (constant time inside).
    #[test]
    fn prf_output_equality_is_byte_equality(a in bytes(65), b in bytes(65)) {
        match (PrfOutput::new(a.clone()), PrfOutput::new(b.clone())) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x == y, a == b),
            (x, y) => {
                prop_assert_eq!(x.is_ok(), !a.is_empty() && a.len() <= MAX_PRF_OUTPUT_LEN);
                prop_assert_eq!(y.is_ok(), !b.is_empty() && b.len() <= MAX_PRF_OUTPUT_LEN);
            }
        }
    }
}
