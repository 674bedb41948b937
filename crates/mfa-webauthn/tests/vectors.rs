//! Every conformance vector in `tests/data/webauthn/` (real captures and the W3C §16 vectors;
//! see that directory's README for sources and licences) passes or fails exactly as its
//! `expect` says, and each valid one has tampered twins that must fail with the right kind.
//!
//! Harness decisions, documented here and in the crate README:
//! - `rp.appid` (go-webauthn's `appID` argument) means the AppID extension was used, i.e. the
//!   client reported `clientExtensionResults.appid: true`; the harness adds that output.
//! - `not_asserted_by_source` (the `swa-quarantine-*` vector): its signature does not verify
//!   with the registered key, so our verifier says `bad_signature`, after parsing its
//!   `devicePubKey` authenticator extension output; that is what we assert.
//! - Attestation certificates are judged at `expect.validation_time_utc` when the source pinned
//!   one, else at [`DEFAULT_VALIDATION_TIME`].

#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use std::fs;
use std::path::{Path, PathBuf};

use ciborium::Value as Cbor;
use mfa_core::{Rejection as _, UnixTime};
use mfa_webauthn::{
    AttestationOptions, AuthenticationRequest, AuthenticationResponse, AuthenticatorData,
    Base64UrlBytes, Challenge, CoseKey, CredentialId, CrossOrigin, RegistrationRequest,
    RegistrationResponse, RelyingParty, RustCryptoVerifier, StoredCredential, UserEntity,
    UserVerification, WebAuthnError, base64url,
};
use serde_json::Value;

/// 2025-06-01T00:00:00Z: inside the validity of every certificate without a pinned time.
const DEFAULT_VALIDATION_TIME: u64 = 1_748_736_000;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/webauthn")
}

fn vectors() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "index.json"))
        .map(|p| {
            let v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
            (p.file_stem().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_utc(s: &str) -> UnixTime {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    UnixTime::from_secs(u64::try_from(secs).unwrap())
}

fn now() -> UnixTime {
    UnixTime::from_secs(DEFAULT_VALIDATION_TIME)
}

fn relying_party(v: &Value) -> RelyingParty {
    let rp = &v["rp"];
    let origins: Vec<&str> = rp["expected_origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    let mut party = RelyingParty::new(rp["rp_id"].as_str().unwrap(), "Vector RP", origins[0]);
    for o in &origins[1..] {
        party = party.with_origin(*o);
    }
    if rp["allow_cross_origin"].as_bool() == Some(true) {
        let tops: Vec<String> = rp["top_origins"]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        party = party.with_cross_origin(if tops.is_empty() {
            CrossOrigin::AllowAnyTopOrigin
        } else {
            CrossOrigin::AllowTopOrigins(tops)
        });
    }
    if let Some(appid) = rp["appid"].as_str() {
        party = party.with_appid(appid);
    }
    party
}

fn challenge(v: &Value) -> Challenge {
    let text = v["rp"]["expected_challenge_b64url"].as_str().unwrap();
    Challenge::from_bytes(base64url::decode(text, 1024).unwrap()).unwrap()
}

fn uv(v: &Value) -> UserVerification {
    if v["rp"]["require_user_verification"].as_bool() == Some(true) {
        UserVerification::Required
    } else {
        UserVerification::Preferred
    }
}

/// The response JSON as the harness feeds it (with the AppID output when `rp.appid` is set).
fn response_json(v: &Value) -> Vec<u8> {
    let mut response = v["response"].clone();
    if v["rp"]["appid"].is_string() {
        response["clientExtensionResults"] = serde_json::json!({"appid": true});
    }
    serde_json::to_vec(&response).unwrap()
}

fn credential(v: &Value) -> StoredCredential {
    let c = &v["credential"];
    let id = CredentialId::from_b64url(c["id_b64url"].as_str().unwrap()).unwrap();
    let key = CoseKey::from_cbor(&hex(c["public_key_cose_hex"].as_str().unwrap())).unwrap();
    StoredCredential::new(
        id,
        key,
        u32::try_from(c["stored_sign_count"].as_u64().unwrap()).unwrap(),
    )
}

fn authenticate(
    v: &Value,
    json: &[u8],
) -> Result<mfa_core::Verified<StoredCredential>, WebAuthnError> {
    let response = AuthenticationResponse::from_json(json)?;
    // The relying party identified the user first and allows that user's credential.
    let request = AuthenticationRequest {
        allow_credentials: vec![credential(v).descriptor()],
        user_verification: uv(v),
        ..AuthenticationRequest::default()
    };
    let (_, state) = relying_party(v).authentication_with_challenge(challenge(v), now(), request);
    state.verify(&credential(v), &response, now(), &RustCryptoVerifier)
}

fn validation_time(v: &Value) -> UnixTime {
    v["expect"]["validation_time_utc"]
        .as_str()
        .map_or_else(now, parse_utc)
}

fn register(v: &Value, json: &[u8]) -> Result<mfa_webauthn::RegisteredCredential, WebAuthnError> {
    let response = RegistrationResponse::from_json(json)?;
    let request = RegistrationRequest {
        user_verification: uv(v),
        ..RegistrationRequest::default()
    };
    let user = UserEntity {
        id: Base64UrlBytes::new(b"vector-user".to_vec()),
        name: "user".into(),
        display_name: "User".into(),
    };
    let (_, state) =
        relying_party(v).registration_with_challenge(challenge(v), now(), user, request);
    // Pinned to the source's date where it gave one: certificates expire.
    let options = AttestationOptions::at(validation_time(v));
    state.verify(&response, now(), &RustCryptoVerifier, &options)
}

fn reason(r: &Result<impl std::fmt::Debug, WebAuthnError>) -> String {
    match r {
        Ok(_) => "valid".to_owned(),
        Err(e) => e.reason().to_owned(),
    }
}

/// What the vector says we must answer: "valid" or an error kind.
fn expected(id: &str, v: &Value) -> String {
    match v["expect"]["result"].as_str().unwrap() {
        "valid" => "valid".to_owned(),
        "invalid" => v["expect"]["error_kind"].as_str().unwrap().to_owned(),
        "not_asserted_by_source" => {
            assert!(id.starts_with("swa-quarantine-"), "{id}");
            "bad_signature".to_owned()
        }
        other => panic!("{id}: unknown expect.result {other}"),
    }
}

#[test]
fn every_vector_meets_its_expectation() {
    let mut failures = Vec::new();
    let all = vectors();
    let index: Value =
        serde_json::from_slice(&fs::read(data_dir().join("index.json")).unwrap()).unwrap();
    assert_eq!(
        all.len(),
        index.as_array().unwrap().len(),
        "every indexed vector is here"
    );
    for (id, v) in &all {
        let json = response_json(v);
        let got = match v["ceremony"].as_str().unwrap() {
            "authentication" => {
                let result = authenticate(v, &json);
                if let Ok(verified) = &result {
                    let updated = verified.credential();
                    for key in ["new_sign_count", "new_counter"] {
                        if let Some(n) = v["expect"][key].as_u64() {
                            assert_eq!(u64::from(updated.sign_count), n, "{id}: {key}");
                        }
                    }
                    if let Some(uv) = v["expect"]["user_verified"].as_bool() {
                        assert_eq!(verified.evidence().properties.user_verified, uv, "{id}");
                    }
                    assert!(verified.evidence().properties.phishing_resistant);
                }
                reason(&result)
            }
            "registration" => {
                let result = register(v, &json);
                if let Ok(registered) = &result {
                    let c = &registered.credential;
                    let fmt = v["expect"]["fmt"].as_str().unwrap();
                    assert_eq!(c.fmt.map(|f| f.as_str()), Some(fmt), "{id}: fmt");
                    let attested = &v["decoded"]["authData"]["attestedCredentialData"];
                    assert_eq!(
                        c.id.to_b64url(),
                        attested["credentialId_b64url"].as_str().unwrap(),
                        "{id}"
                    );
                    assert_eq!(
                        c.public_key_cose.as_cbor(),
                        hex(attested["credentialPublicKey_cose_hex"].as_str().unwrap()),
                        "{id}"
                    );
                    // The record round-trips through serde.
                    let text = serde_json::to_string(c).unwrap();
                    let back: StoredCredential = serde_json::from_str(&text).unwrap();
                    assert_eq!(&back, c, "{id}");
                }
                reason(&result)
            }
            other => panic!("{id}: unknown ceremony {other}"),
        };
        let want = expected(id, v);
        if got != want {
            let detail = match v["ceremony"].as_str() {
                Some("registration") => format!("{:?}", register(v, &json).err()),
                _ => format!("{:?}", authenticate(v, &json).err()),
            };
            failures.push(format!("{id}: expected {want}, got {got} ({detail})"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn quarantined_vector_extensions_parse() {
    let v: Value = serde_json::from_slice(
        &fs::read(data_dir().join("swa-quarantine-android-devicepubkey-assertion.json")).unwrap(),
    )
    .unwrap();
    let response = AuthenticationResponse::from_json(&response_json(&v)).unwrap();
    let data = AuthenticatorData::parse(&response.authenticator_data).unwrap();
    let Some(Cbor::Map(entries)) = data.extensions else {
        panic!("extensions expected")
    };
    assert!(matches!(&entries[0].0, Cbor::Text(t) if t == "devicePubKey"));
    assert!(matches!(&entries[0].1, Cbor::Map(m) if m.len() == 5));
}

// --- Tampered twins -----------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64url::encode(bytes))
}

fn field(v: &Value, name: &str) -> Vec<u8> {
    base64url::decode(v["response"]["response"][name].as_str().unwrap(), 1 << 16).unwrap()
}

fn with_field(v: &Value, name: &str, bytes: &[u8]) -> Value {
    let mut t = v.clone();
    t["response"]["response"][name] = b64(bytes);
    t
}

/// Rewrites one string member of clientDataJSON (keeping the rest byte for byte).
fn tamper_client_data(v: &Value, from: &str, to: &str) -> Value {
    let cd = String::from_utf8(field(v, "clientDataJSON")).unwrap();
    assert!(cd.contains(from), "{cd} lacks {from}");
    with_field(v, "clientDataJSON", cd.replacen(from, to, 1).as_bytes())
}

fn flip_last_char(s: &str) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let last = bytes.last_mut().unwrap();
    *last ^= 0x01;
    String::from_utf8(bytes).unwrap()
}

fn valid_vectors(ceremony: &str) -> Vec<(String, Value)> {
    vectors()
        .into_iter()
        .filter(|(_, v)| v["ceremony"] == ceremony && v["expect"]["result"] == "valid")
        .collect()
}

fn client_challenge(v: &Value) -> String {
    let cd: Value = serde_json::from_slice(&field(v, "clientDataJSON")).unwrap();
    cd["challenge"].as_str().unwrap().to_owned()
}

fn client_origin(v: &Value) -> String {
    let cd: Value = serde_json::from_slice(&field(v, "clientDataJSON")).unwrap();
    cd["origin"].as_str().unwrap().to_owned()
}

#[test]
fn tampered_assertions_fail_with_the_right_kind() {
    let mut checked = 0;
    for (id, v) in valid_vectors("authentication") {
        let run = |t: &Value| reason(&authenticate(&v, &response_json(t)));
        // The challenge: one bit of its first decoded byte.
        let c = client_challenge(&v);
        let mut raw = base64url::decode(&c, 4096).unwrap();
        raw[0] ^= 0x01;
        let t = tamper_client_data(&v, &c, &base64url::encode(&raw));
        assert_eq!(run(&t), "challenge_mismatch", "{id}: challenge");
        // The origin.
        let o = client_origin(&v);
        let t = tamper_client_data(
            &v,
            &format!("\"{o}\""),
            &format!("\"{}\"", flip_last_char(&o)),
        );
        assert_eq!(run(&t), "origin_mismatch", "{id}: origin");
        // Client data bytes that parse the same: only the signature can notice.
        let mut cd = field(&v, "clientDataJSON");
        cd.push(b' ');
        assert_eq!(
            run(&with_field(&v, "clientDataJSON", &cd)),
            "bad_signature",
            "{id}: cdj"
        );
        // rpIdHash.
        let ad = field(&v, "authenticatorData");
        let mut t = ad.clone();
        t[0] ^= 0x01;
        assert_eq!(
            run(&with_field(&v, "authenticatorData", &t)),
            "rp_id_mismatch",
            "{id}: rpIdHash"
        );
        // UP off.
        let mut t = ad.clone();
        t[32] &= !0x01;
        assert_eq!(
            run(&with_field(&v, "authenticatorData", &t)),
            "user_presence_required",
            "{id}: UP"
        );
        // UV toggled: refused outright if required and now missing, else the signature fails.
        let mut t = ad.clone();
        t[32] ^= 0x04;
        let want = if uv(&v) == UserVerification::Required {
            "user_verification_required"
        } else {
            "bad_signature"
        };
        assert_eq!(
            run(&with_field(&v, "authenticatorData", &t)),
            want,
            "{id}: UV"
        );
        // BS set without BE.
        if ad[32] & 0x18 == 0 {
            let mut t = ad.clone();
            t[32] |= 0x10;
            assert_eq!(
                run(&with_field(&v, "authenticatorData", &t)),
                "backup_flags_invalid",
                "{id}: BS"
            );
        }
        // signCount: one bit of its low byte (high enough to pass the counter check).
        let mut t = ad.clone();
        t[36] ^= 0x80;
        if t[33..37] > ad[33..37] {
            assert_eq!(
                run(&with_field(&v, "authenticatorData", &t)),
                "bad_signature",
                "{id}: signCount"
            );
        }
        // The signature.
        let mut s = field(&v, "signature");
        let last = s.len() - 1;
        s[last] ^= 0x01;
        assert_eq!(
            run(&with_field(&v, "signature", &s)),
            "bad_signature",
            "{id}: signature"
        );
        // Another credential id.
        let mut t = v.clone();
        let mut other = base64url::decode(t["response"]["id"].as_str().unwrap(), 2048).unwrap();
        other[0] ^= 0x01;
        t["response"]["id"] = b64(&other);
        t["response"]["rawId"] = b64(&other);
        assert_eq!(run(&t), "unknown_credential", "{id}: credential id");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

fn cbor_decode(bytes: &[u8]) -> Cbor {
    ciborium::from_reader(bytes).unwrap()
}

fn cbor_encode(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

/// Applies `f` to the authData inside the attestation object.
fn tamper_auth_data(v: &Value, f: impl Fn(&mut Vec<u8>)) -> Value {
    let mut object = cbor_decode(&field(v, "attestationObject"));
    let Cbor::Map(entries) = &mut object else {
        panic!()
    };
    for (k, val) in entries.iter_mut() {
        if matches!(k, Cbor::Text(t) if t == "authData") {
            let Cbor::Bytes(b) = val else { panic!() };
            f(b);
        }
    }
    with_field(v, "attestationObject", &cbor_encode(&object))
}

#[test]
fn tampered_registrations_fail_with_the_right_kind() {
    let mut checked = 0;
    for (id, v) in valid_vectors("registration") {
        let run = |t: &Value| reason(&register(&v, &response_json(t)));
        let c = client_challenge(&v);
        let mut raw = base64url::decode(&c, 4096).unwrap();
        raw[0] ^= 0x01;
        let t = tamper_client_data(&v, &c, &base64url::encode(&raw));
        assert_eq!(run(&t), "challenge_mismatch", "{id}: challenge");
        let o = client_origin(&v);
        let t = tamper_client_data(
            &v,
            &format!("\"{o}\""),
            &format!("\"{}\"", flip_last_char(&o)),
        );
        assert_eq!(run(&t), "origin_mismatch", "{id}: origin");
        let t = tamper_auth_data(&v, |b| b[0] ^= 0x01);
        assert_eq!(run(&t), "rp_id_mismatch", "{id}: rpIdHash");
        let t = tamper_auth_data(&v, |b| b[32] &= !0x01);
        assert_eq!(run(&t), "user_presence_required", "{id}: UP");
        let fmt = v["expect"]["fmt"].as_str().unwrap();
        if fmt != "none" && fmt != "fido-u2f" {
            // These formats sign all of authData (fido-u2f signs only rpIdHash, the credential
            // id and key, so a changed counter is not its business).
            let t = tamper_auth_data(&v, |b| b[36] ^= 0x01);
            assert_eq!(
                run(&t),
                "attestation_invalid",
                "{id}: signCount under attestation"
            );
        }
        if fmt != "none" {
            // Every format but none signs the client data hash.
            let mut cd = field(&v, "clientDataJSON");
            cd.push(b' ');
            assert_eq!(
                run(&with_field(&v, "clientDataJSON", &cd)),
                "attestation_invalid",
                "{id}: client data hash under attestation"
            );
        }
        checked += 1;
    }
    assert!(checked >= 14, "{checked}");
}

// --- Deserialize and from_json are one parser ---------------------------------------------------

/// What both parsers make of `json`: `Some(value)` when they accept it (they must agree on the
/// value, through a borrowing and an owning deserializer alike), `None` when they refuse it.
/// A refusal is `malformed` from `from_json`, and the serde error says the same thing whenever
/// `from_json` names a member rule (not just "not of that shape").
fn both_parsers<T>(
    what: &str,
    json: &[u8],
    from_json: fn(&[u8]) -> Result<T, WebAuthnError>,
) -> Option<T>
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let ours = from_json(json);
    let borrowed = serde_json::from_str::<T>(std::str::from_utf8(json).unwrap());
    let owned = serde_json::from_slice::<Value>(json).map(serde_json::from_value::<T>);
    match ours {
        Ok(value) => {
            assert_eq!(borrowed.as_ref().unwrap(), &value, "{what}: from_str");
            assert_eq!(
                owned.unwrap().as_ref().unwrap(),
                &value,
                "{what}: from_value"
            );
            Some(value)
        }
        Err(error) => {
            assert_eq!(error.reason(), "malformed", "{what}");
            let serde_error = borrowed.expect_err(what).to_string();
            if error != WebAuthnError::Malformed("response is not a PublicKeyCredential JSON") {
                assert!(
                    serde_error.contains(&error.to_string()),
                    "{what}: serde says {serde_error:?}, from_json {error}"
                );
            }
            if let Ok(owned) = owned {
                assert!(owned.is_err(), "{what}: from_value accepted it");
            }
            None
        }
    }
}

fn authentication_twice(what: &str, json: &[u8]) -> Option<AuthenticationResponse> {
    both_parsers(what, json, AuthenticationResponse::from_json)
}

fn registration_twice(what: &str, json: &[u8]) -> Option<RegistrationResponse> {
    both_parsers(what, json, RegistrationResponse::from_json)
}

/// Edits of a response document, each `(name, edited, accepted)`.
fn response_twins(ceremony: &str, response: &Value) -> Vec<(&'static str, Value, bool)> {
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut t = response.clone();
        f(&mut t);
        t
    };
    let member = |name: &'static str, value: Value| {
        edit(&move |t: &mut Value| t["response"][name] = value.clone())
    };
    let long = |bytes: usize| b64(&vec![7u8; bytes]);
    let id = response["id"].as_str().unwrap().to_owned();
    let mut twins = vec![
        (
            "padded id",
            edit(&|t| {
                let padded = match id.len() % 4 {
                    2 => format!("{id}=="),
                    3 => format!("{id}="),
                    _ => id.clone(),
                };
                t["id"] = Value::String(padded.clone());
                t["rawId"] = Value::String(padded);
            }),
            true,
        ),
        (
            "no rawId, no type",
            edit(&|t| {
                let object = t.as_object_mut().unwrap();
                object.remove("rawId");
                object.remove("type");
            }),
            true,
        ),
        ("id not base64url", edit(&|t| t["id"] = "***".into()), false),
        (
            "empty id",
            edit(&|t| {
                t["id"] = "".into();
                t["rawId"] = "".into();
            }),
            false,
        ),
        (
            "id of 1024 bytes",
            edit(&|t| {
                t["id"] = long(1024);
                t["rawId"] = long(1024);
            }),
            false,
        ),
        (
            "rawId differs",
            edit(&|t| t["rawId"] = b64(b"another id")),
            false,
        ),
        (
            "rawId of 1024 bytes",
            edit(&|t| t["rawId"] = long(1024)),
            false,
        ),
        (
            "type is not public-key",
            edit(&|t| t["type"] = "password".into()),
            false,
        ),
        ("id is a number", edit(&|t| t["id"] = 7.into()), false),
        (
            "no response",
            edit(&|t| {
                t.as_object_mut().unwrap().remove("response");
            }),
            false,
        ),
        (
            "no clientDataJSON",
            edit(&|t| {
                t["response"]
                    .as_object_mut()
                    .unwrap()
                    .remove("clientDataJSON");
            }),
            false,
        ),
        (
            "clientDataJSON not base64url",
            member("clientDataJSON", "%%%%".into()),
            false,
        ),
        (
            "clientDataJSON over 4 KiB",
            member("clientDataJSON", long(4097)),
            false,
        ),
        (
            "appid output not a boolean",
            edit(&|t| {
                t["clientExtensionResults"] = serde_json::json!({"appid": "yes"});
            }),
            false,
        ),
    ];
    if ceremony == "authentication" {
        twins.extend([
            (
                "no signature",
                edit(&|t| {
                    t["response"].as_object_mut().unwrap().remove("signature");
                }),
                false,
            ),
            (
                "signature over 2 KiB",
                member("signature", long(2049)),
                false,
            ),
            (
                "authenticatorData over 16 KiB",
                member("authenticatorData", long(16 * 1024 + 1)),
                false,
            ),
            (
                "userHandle over 64 bytes",
                member("userHandle", long(65)),
                false,
            ),
            ("userHandle empty", member("userHandle", "".into()), true),
            ("userHandle null", member("userHandle", Value::Null), true),
        ]);
    } else {
        twins.extend([
            (
                "no attestationObject",
                edit(&|t| {
                    t["response"]
                        .as_object_mut()
                        .unwrap()
                        .remove("attestationObject");
                }),
                false,
            ),
            (
                "attestationObject over 32 KiB",
                member("attestationObject", long(32 * 1024 + 1)),
                false,
            ),
            (
                "17 transports",
                member("transports", serde_json::json!(vec!["usb"; 17])),
                false,
            ),
            (
                "a transport over 32 bytes",
                member("transports", serde_json::json!(["x".repeat(33)])),
                false,
            ),
            (
                "transports not strings",
                member("transports", serde_json::json!([1])),
                false,
            ),
        ]);
    }
    twins
}

/// Item 7: `RegistrationResponse` and `AuthenticationResponse` deserialize (so
/// `axum::Json<AuthenticationResponse>` works) with the rules and bounds of `from_json`: the same
/// value for every vector and every accepted twin, and a refusal for every malformed twin, by
/// both parsers and for the same reason.
#[test]
fn item7_deserialize_agrees_with_from_json_on_every_vector_and_twin() {
    let mut checked = 0;
    for (id, v) in vectors() {
        let json = response_json(&v);
        let ceremony = v["ceremony"].as_str().unwrap();
        let parse = |what: &str, json: &[u8]| match ceremony {
            "authentication" => authentication_twice(what, json).is_some(),
            _ => registration_twice(what, json).is_some(),
        };
        assert!(parse(&id, &json), "{id}: every vector's response parses");
        let response: Value = serde_json::from_slice(&json).unwrap();
        for (name, twin, accepted) in response_twins(ceremony, &response) {
            let what = format!("{id}: {name}");
            assert_eq!(
                parse(&what, &serde_json::to_vec(&twin).unwrap()),
                accepted,
                "{what}"
            );
            checked += 1;
        }
        // Not JSON, or not one document: both refuse.
        let mut trailing = json.clone();
        trailing.extend_from_slice(b" {}");
        assert!(!parse(&format!("{id}: trailing"), &trailing));
        assert!(!parse(&format!("{id}: truncated"), &json[..json.len() / 2]));
    }
    assert!(checked > 49 * 14, "{checked}");
}

/// The one difference, as documented: `from_json` refuses a document over 64 KiB, while a
/// deserializer never sees the size (the framework's body limit is that bound).
#[test]
fn item7_whole_document_bound_is_from_json_only() {
    let (_, v) = valid_vectors("authentication").swap_remove(0);
    let mut response: Value = serde_json::from_slice(&response_json(&v)).unwrap();
    response["padding"] = Value::String("x".repeat(65 * 1024));
    let json = serde_json::to_vec(&response).unwrap();
    assert_eq!(
        AuthenticationResponse::from_json(&json).unwrap_err(),
        WebAuthnError::Malformed("response JSON too long")
    );
    let deserialized: AuthenticationResponse = serde_json::from_slice(&json).unwrap();
    response.as_object_mut().unwrap().remove("padding");
    assert_eq!(
        deserialized,
        AuthenticationResponse::from_json(&serde_json::to_vec(&response).unwrap()).unwrap()
    );
}
