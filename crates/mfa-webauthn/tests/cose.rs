//! COSE key parsing and signature verification: every authentication vector's credential key must
//! parse and its signature verify (RustCrypto, [`DefaultVerifier`], and ring with the default
//! feature `ring`), Ed25519 edge cases every backend refuses alike, strict-parsing
//! negatives, and property tests (no panics, sign/verify round trips).

#![allow(clippy::unwrap_used, reason = "test helpers read fixed test data")]

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use mfa_webauthn::cose::{CoseAlgorithm, CoseError, CoseKey};
use mfa_webauthn::crypto::{
    DefaultVerifier, RustCryptoVerifier, SignatureAlgorithm, SignatureError, SignatureVerifier,
    verify_with_spki,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// --- vector helpers ------------------------------------------------------------------------------

fn vectors_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let copied = manifest.join("tests/data/webauthn");
    if copied.join("index.json").exists() {
        copied
    } else {
        manifest.join("../../../shared/vectors/webauthn")
    }
}

fn load(id: &str) -> serde_json::Value {
    let path = vectors_dir().join(format!("{id}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn index() -> Vec<serde_json::Value> {
    let path = vectors_dir().join("index.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

/// (key, signed data, signature, expected verdict) of an authentication vector.
struct AuthCase {
    id: String,
    alg: String,
    key: CoseKey,
    message: Vec<u8>,
    signature: Vec<u8>,
    valid: bool,
}

fn auth_cases() -> Vec<AuthCase> {
    index()
        .into_iter()
        .filter(|e| e["ceremony"] == "auth")
        .map(|e| {
            let id = e["id"].as_str().unwrap().to_owned();
            let v = load(&id);
            let key_bytes = URL_SAFE_NO_PAD
                .decode(v["credential"]["public_key_cose_b64url"].as_str().unwrap())
                .unwrap();
            let key = CoseKey::from_cbor(&key_bytes)
                .unwrap_or_else(|err| panic!("{id}: COSE key does not parse: {err}"));
            let bytes = &v["response_bytes_hex"];
            let mut message = hex(bytes["authenticatorData"].as_str().unwrap());
            message.extend_from_slice(&Sha256::digest(hex(bytes["clientDataJSON"]
                .as_str()
                .unwrap())));
            AuthCase {
                alg: e["alg"].as_str().unwrap().to_owned(),
                valid: e["independent_signature_ok"] == true,
                signature: hex(bytes["signature"].as_str().unwrap()),
                key,
                message,
                id,
            }
        })
        .collect()
}

fn check_backend(verifier: &dyn SignatureVerifier) -> usize {
    let mut checked = 0;
    for case in auth_cases() {
        let verdict = verifier.verify(&case.key, &case.message, &case.signature);
        if case.valid {
            assert_eq!(verdict, Ok(()), "{}", case.id);
            // Tampered twins: one bit of the signed data, one bit of the signature.
            let mut message = case.message.clone();
            message[0] ^= 1;
            assert!(
                verifier
                    .verify(&case.key, &message, &case.signature)
                    .is_err(),
                "{}",
                case.id
            );
            let mut signature = case.signature.clone();
            let last = signature.len() - 1;
            signature[last] ^= 1;
            assert!(
                verifier
                    .verify(&case.key, &case.message, &signature)
                    .is_err(),
                "{}",
                case.id
            );
            checked += 1;
        } else {
            assert!(verdict.is_err(), "{} must not verify", case.id);
        }
    }
    checked
}

// --- vectors -------------------------------------------------------------------------------------

#[test]
fn every_authentication_vector_key_parses_with_its_algorithm() {
    let mut seen = std::collections::BTreeSet::new();
    for case in auth_cases() {
        let expected = match case.alg.as_str() {
            "ES256" => CoseAlgorithm::Es256,
            "ES384" => CoseAlgorithm::Es384,
            "ES512" => CoseAlgorithm::Es512,
            "EdDSA" => CoseAlgorithm::EdDsa,
            "RS256" => CoseAlgorithm::Rs256,
            other => panic!("unexpected algorithm {other}"),
        };
        assert_eq!(case.key.algorithm(), expected, "{}", case.id);
        // Round trip through the stored form.
        assert_eq!(CoseKey::from_cbor(case.key.as_cbor()).unwrap(), case.key);
        seen.insert(case.alg);
    }
    assert_eq!(
        seen.len(),
        5,
        "ES256, ES384, ES512, EdDSA and RS256 are all covered: {seen:?}"
    );
}

#[test]
fn every_authentication_vector_signature_verifies_with_rustcrypto() {
    assert!(check_backend(&RustCryptoVerifier) >= 30);
}

#[cfg(feature = "ring")]
#[test]
fn every_authentication_vector_signature_verifies_with_ring() {
    assert!(check_backend(&mfa_webauthn::crypto::RingVerifier) >= 30);
}

#[test]
fn ecdsa_signature_must_be_strict_der() {
    let case = auth_cases()
        .into_iter()
        .find(|c| c.alg == "ES256" && c.valid)
        .unwrap();
    // Raw r||s instead of DER.
    let raw = vec![1u8; 64];
    assert_eq!(
        RustCryptoVerifier.verify(&case.key, &case.message, &raw),
        Err(SignatureError::Malformed)
    );
    // BER long-form length for the SEQUENCE: same content, not DER.
    let der = &case.signature;
    let mut ber = vec![0x30, 0x81, der[1]];
    ber.extend_from_slice(&der[2..]);
    assert_eq!(
        RustCryptoVerifier.verify(&case.key, &case.message, &ber),
        Err(SignatureError::Malformed)
    );
    // Trailing garbage.
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(
        RustCryptoVerifier.verify(&case.key, &case.message, &trailing),
        Err(SignatureError::Malformed)
    );
}

// --- PS256 / RS256 with an independent key (OpenSSL-generated fixture) --------------------------

/// Message signed by the OpenSSL-generated 2048-bit key below (`openssl dgst -sha256 -sign`,
/// PSS with `rsa_pss_saltlen:32` for PS256).
const RSA_MESSAGE: &str = "mfa-webauthn PS256 test message";
const PS256_N_HEX: &str = "b8070a69964c898677c2a654d73283b7b456d936cda906d52cbc2277ed82ec9a37f86fbd5c285622eb352636c3ac50e2d058c745e5940f3514b56ccae6e95b79426936eff63dafd6405345a03e2f8478d917dd0d0794a0773463b42241641b8b6439649e9fe3428497ea057050503fffb966581f2fcda0655d2038dfe3b2205ffa5622f690ff356e9c77c4e994a79a543249c303ac3dbc1d49c33fbee47cffeaab85611e1752a9d91e3df064f4889881c9df905a92a6163988e54a97a3dd86c451aacf542675cc8b9594944cb460d6c306f5d9d9c91bb0a531c4d44e2719b8e4ecee3565da1d9a1be551e836d10b9fa55ba8c764dfe89985e1e2b7e348e0d6e1";
const PS256_SIG_HEX: &str = "ac8b239896c84177fa3eb40c0bb41eef2f20de36df5c3a76375ad47ba51a20ed27fb257d6a2b2ac23b8e6e092270dafc13fa5d347e7c22b31032d8404f79006e358a04ff00361fc87266e71e2ec372ac22807618c433dcf861d6f01364500f873227841e1c8d254400c3623cf687dff93e91c4b1913f72082220f146fa87e9d68435db724e39799e2afff70554708de7294a7e0eb3a1327dbc79e0681854f7cd19117dd78cf3a5927717c673b7b5832258190a4223cfb43841e058cbc111e2d425c4b762a2f0d7fcb901d7dee105a9160a22b92e15ec870f28e207af6131c49d030d71cb519f2786d52d4fe480e23f6de06d104b6ee7f51cc3e6752213a920e6";
const RS256_SIG_HEX: &str = "28f2dca2ccf6a094fb2f78d18c6e39653ee55ca7d48eb3128ebbd30b207d43250d986d9e7a616e5c12dd4e870e3b65c8156393b57af87e1f580067f10ae66f9f821ae802ddfecde14e3c536549f6e03cdca2f970b30259f6fb5ba27d80987d4aee04916df55b16975c5e88112942767fa80be99c7629e614c8c6ec99d083a5df88719980ee4f242b0cc02190bc33bebba80829753cef9b697203c16912e50a5c0c18d8aee4efd368d4dcf846bf4f23689915fc7a6a8d14d958d8c24b4b99aa07fdc3ce2664e6a3443f0937f6ceb95f3d2c7d03d987b250dd72076f624a978746a0a0b3a16899bb835919efe5e582cbbb25e59d8c027f03a09ca585ef1ff26d34";

fn rsa_key(alg: i64) -> CoseKey {
    let key = Value::Map(vec![
        (int(1), int(3)),
        (int(3), int(alg)),
        (int(-1), Value::Bytes(hex(PS256_N_HEX))),
        (int(-2), Value::Bytes(vec![1, 0, 1])),
    ]);
    CoseKey::from_cbor(&cbor(&key)).unwrap()
}

#[test]
fn ps256_and_rs256_signatures_from_openssl_verify() {
    let message = RSA_MESSAGE.as_bytes();
    let ps = rsa_key(-37);
    assert_eq!(ps.algorithm(), CoseAlgorithm::Ps256);
    assert_eq!(
        RustCryptoVerifier.verify(&ps, message, &hex(PS256_SIG_HEX)),
        Ok(())
    );
    assert!(
        RustCryptoVerifier
            .verify(&ps, b"other", &hex(PS256_SIG_HEX))
            .is_err()
    );
    assert!(
        RustCryptoVerifier
            .verify(&ps, message, &hex(RS256_SIG_HEX))
            .is_err()
    );
    let rs = rsa_key(-257);
    assert_eq!(
        RustCryptoVerifier.verify(&rs, message, &hex(RS256_SIG_HEX)),
        Ok(())
    );
    assert!(
        RustCryptoVerifier
            .verify(&rs, message, &hex(PS256_SIG_HEX))
            .is_err()
    );
    #[cfg(feature = "ring")]
    {
        let ring = mfa_webauthn::crypto::RingVerifier;
        assert_eq!(ring.verify(&ps, message, &hex(PS256_SIG_HEX)), Ok(()));
        assert_eq!(ring.verify(&rs, message, &hex(RS256_SIG_HEX)), Ok(()));
        assert!(ring.verify(&rs, message, &hex(PS256_SIG_HEX)).is_err());
    }
}

// --- strict parsing ------------------------------------------------------------------------------

fn es256_value() -> Value {
    let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let point = sk.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), Value::Bytes(bytes[1..33].to_vec())),
        (int(-3), Value::Bytes(bytes[33..].to_vec())),
    ])
}

fn with_entry(value: &Value, label: i64, new: Value) -> Value {
    let Value::Map(entries) = value else {
        unreachable!()
    };
    let mut entries = entries.clone();
    for (k, v) in &mut entries {
        if *k == int(label) {
            *v = new.clone();
        }
    }
    Value::Map(entries)
}

#[test]
fn well_formed_es256_key_parses_and_prefix_reports_its_length() {
    let bytes = cbor(&es256_value());
    let key = CoseKey::from_cbor(&bytes).unwrap();
    assert_eq!(key.algorithm(), CoseAlgorithm::Es256);
    assert_eq!(key.ec2_uncompressed_point().unwrap().len(), 65);
    assert!(key.ed25519_public_key().is_none() && key.rsa_components().is_none());
    let mut with_extensions = bytes.clone();
    with_extensions.extend_from_slice(&cbor(&Value::Map(vec![(
        Value::Text("credProtect".into()),
        int(2),
    )])));
    let (prefix_key, used) = CoseKey::parse_prefix(&with_extensions).unwrap();
    assert_eq!((prefix_key, used), (key, bytes.len()));
    assert_eq!(
        CoseKey::from_cbor(&with_extensions),
        Err(CoseError::Malformed("trailing bytes after COSE key"))
    );
}

#[test]
fn malformed_keys_are_rejected() {
    let good = es256_value();
    let reject = |value: &Value| CoseKey::from_cbor(&cbor(value)).unwrap_err();
    // alg that does not match the curve.
    assert!(matches!(
        reject(&with_entry(&good, 3, int(-35))),
        CoseError::Malformed(_)
    ));
    // unknown alg.
    assert_eq!(
        reject(&with_entry(&good, 3, int(-999))),
        CoseError::UnsupportedAlgorithm(-999)
    );
    // point not on the curve.
    let Value::Map(entries) = &good else {
        unreachable!()
    };
    let Value::Bytes(y) = &entries[4].1 else {
        unreachable!()
    };
    let mut bad_y = y.clone();
    bad_y[31] ^= 1;
    assert!(matches!(
        reject(&with_entry(&good, -3, Value::Bytes(bad_y))),
        CoseError::Malformed(_)
    ));
    // compressed point (boolean y).
    assert!(matches!(
        reject(&with_entry(&good, -3, Value::Bool(true))),
        CoseError::Malformed(_)
    ));
    // short coordinate.
    assert!(matches!(
        reject(&with_entry(&good, -2, Value::Bytes(vec![1; 31]))),
        CoseError::Malformed(_)
    ));
    // missing alg.
    let Value::Map(mut no_alg) = good.clone() else {
        unreachable!()
    };
    no_alg.remove(1);
    assert!(matches!(
        reject(&Value::Map(no_alg)),
        CoseError::Malformed(_)
    ));
    // duplicate label.
    let Value::Map(mut dup) = good.clone() else {
        unreachable!()
    };
    dup.push((int(3), int(-7)));
    assert_eq!(
        reject(&Value::Map(dup)),
        CoseError::Malformed("duplicate label")
    );
    // not a map.
    assert!(matches!(
        reject(&Value::Array(vec![])),
        CoseError::Malformed(_)
    ));
    // kty 4 (symmetric) is not a public key type we support.
    assert!(matches!(
        reject(&with_entry(&good, 1, int(4))),
        CoseError::Malformed(_)
    ));
}

#[test]
fn indefinite_lengths_and_oversized_input_are_rejected() {
    let bytes = cbor(&es256_value());
    // Re-encode the map header (0xa5) as an indefinite-length map (0xbf ... 0xff).
    let mut indefinite = vec![0xbf];
    indefinite.extend_from_slice(&bytes[1..]);
    indefinite.push(0xff);
    assert!(matches!(
        CoseKey::from_cbor(&indefinite),
        Err(CoseError::Malformed(_))
    ));
    // A byte string claiming more bytes than exist.
    assert!(CoseKey::from_cbor(&[0xa1, 0x01, 0x5a, 0xff, 0xff, 0xff, 0xff]).is_err());
    // Deep nesting.
    let mut deep = vec![0x81; 10_000];
    deep.push(0x00);
    assert!(CoseKey::from_cbor(&deep).is_err());
    // Over the size limit.
    let huge = Value::Map(vec![
        (int(1), int(2)),
        (int(-70), Value::Bytes(vec![0; 4096])),
    ]);
    assert!(CoseKey::from_cbor(&cbor(&huge)).is_err());
}

#[test]
fn rsa_bounds() {
    let key = |n: Vec<u8>, e: Vec<u8>| {
        cbor(&Value::Map(vec![
            (int(1), int(3)),
            (int(3), int(-257)),
            (int(-1), Value::Bytes(n)),
            (int(-2), Value::Bytes(e)),
        ]))
    };
    let mut n2048 = vec![0xff; 256];
    n2048[255] = 0xfd;
    assert!(CoseKey::from_cbor(&key(n2048.clone(), vec![1, 0, 1])).is_ok());
    // 1024-bit modulus: too small.
    assert!(CoseKey::from_cbor(&key(vec![0xff; 128], vec![1, 0, 1])).is_err());
    // Even modulus, even exponent, exponent 1, exponent over 33 bits.
    let mut even = n2048.clone();
    even[255] = 0xfe;
    assert!(CoseKey::from_cbor(&key(even, vec![1, 0, 1])).is_err());
    assert!(CoseKey::from_cbor(&key(n2048.clone(), vec![1, 0, 0])).is_err());
    assert!(CoseKey::from_cbor(&key(n2048.clone(), vec![1])).is_err());
    assert!(CoseKey::from_cbor(&key(n2048, vec![3, 0, 0, 0, 1])).is_err());
}

#[test]
fn serde_round_trips_as_base64url_in_json() {
    let key = CoseKey::from_cbor(&cbor(&es256_value())).unwrap();
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(
        json,
        format!("\"{}\"", URL_SAFE_NO_PAD.encode(key.as_cbor()))
    );
    let back: CoseKey = serde_json::from_str(&json).unwrap();
    assert_eq!(back, key);
    assert!(serde_json::from_str::<CoseKey>("\"AAAA\"").is_err());
}

#[test]
fn key_matches_its_own_spki_and_not_another() {
    use p256::pkcs8::EncodePublicKey as _;
    let key = CoseKey::from_cbor(&cbor(&es256_value())).unwrap();
    let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let spki = sk.verifying_key().to_public_key_der().unwrap();
    assert_eq!(key.check_matches_spki(spki.as_bytes()), Ok(()));
    let other = p256::ecdsa::SigningKey::from_slice(&[8u8; 32]).unwrap();
    let other_spki = other.verifying_key().to_public_key_der().unwrap();
    assert_eq!(
        key.check_matches_spki(other_spki.as_bytes()),
        Err(CoseError::KeyMismatch)
    );
    assert!(matches!(
        key.check_matches_spki(b"junk"),
        Err(CoseError::Malformed(_))
    ));
    // The SPKI helper verifies with the same key.
    use p256::ecdsa::signature::Signer as _;
    let sig: p256::ecdsa::Signature = sk.sign(b"hello");
    assert_eq!(
        verify_with_spki(
            spki.as_bytes(),
            SignatureAlgorithm::EcdsaP256Sha256,
            b"hello",
            sig.to_der().as_bytes()
        ),
        Ok(())
    );
    assert_eq!(
        verify_with_spki(
            spki.as_bytes(),
            SignatureAlgorithm::EcdsaP384Sha384,
            b"hello",
            sig.to_der().as_bytes()
        ),
        Err(SignatureError::AlgorithmMismatch)
    );
}

// --- properties ----------------------------------------------------------------------------------

fn ec2_key(crv: i64, alg: i64, point: &[u8]) -> CoseKey {
    let size = (point.len() - 1) / 2;
    CoseKey::from_cbor(&cbor(&Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(alg)),
        (int(-1), int(crv)),
        (int(-2), Value::Bytes(point[1..=size].to_vec())),
        (int(-3), Value::Bytes(point[size + 1..].to_vec())),
    ])))
    .unwrap()
}

fn backends() -> Vec<Box<dyn SignatureVerifier>> {
    #[allow(unused_mut)]
    let mut all: Vec<Box<dyn SignatureVerifier>> =
        vec![Box::new(RustCryptoVerifier), Box::new(DefaultVerifier)];
    #[cfg(feature = "ring")]
    all.push(Box::new(mfa_webauthn::crypto::RingVerifier));
    all
}

#[test]
fn default_verifier_names_the_backend_this_build_uses() {
    let expected = if cfg!(feature = "ring") {
        "ring"
    } else {
        "RustCrypto"
    };
    assert_eq!(DefaultVerifier::BACKEND, expected);
}

/// An Ed25519 signature whose `R` is the identity point (small order) and whose `S` is built
/// from the secret scalar so that the cofactorless equation `[S]B = R + [k]A` holds. No honest
/// signer produces one; RFC 8032's lenient check accepts it, `verify_strict` does not, and
/// neither may any of our backends (ring's own Ed25519 would accept it, so `RingVerifier`
/// leaves EdDSA to RustCrypto).
#[test]
fn ed25519_signature_with_small_order_r_is_refused_by_every_backend() {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::Sha512;

    let secret = Scalar::from_bytes_mod_order([0x42; 32]);
    let public = EdwardsPoint::mul_base(&secret).compress().to_bytes();
    let identity = EdwardsPoint::default().compress().to_bytes();
    let message = b"small-order R";
    let hash: [u8; 64] = Sha512::new()
        .chain_update(identity)
        .chain_update(public)
        .chain_update(message)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&hash);
    let mut signature = identity.to_vec();
    signature.extend_from_slice((k * secret).as_bytes());

    // The forgery satisfies the plain equation: a lenient verifier would take it.
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
    let parsed = ed25519_dalek::Signature::from_slice(&signature).unwrap();
    assert!(dalek.verify_strict(message, &parsed).is_err());
    #[cfg(feature = "ring")]
    assert!(
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
            .verify(message, &signature)
            .is_ok(),
        "ring's Ed25519 accepts a small-order R"
    );

    let key = CoseKey::from_cbor(&cbor(&Value::Map(vec![
        (int(1), int(1)),
        (int(3), int(-8)),
        (int(-1), int(6)),
        (int(-2), Value::Bytes(public.to_vec())),
    ])))
    .unwrap();
    for backend in backends() {
        assert_eq!(
            backend.verify(&key, message, &signature),
            Err(SignatureError::Invalid),
            "{backend:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn from_cbor_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = CoseKey::from_cbor(&bytes);
        let _ = CoseKey::parse_prefix(&bytes);
    }

    #[test]
    fn mutated_valid_keys_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = cbor(&es256_value());
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(key) = CoseKey::from_cbor(&bytes) {
            prop_assert_eq!(key.as_cbor(), &bytes[..]);
        }
    }

    #[test]
    fn es256_round_trip(secret in any::<[u8; 32]>(), message in proptest::collection::vec(any::<u8>(), 0..200)) {
        use p256::ecdsa::signature::Signer as _;
        let Ok(sk) = p256::ecdsa::SigningKey::from_slice(&secret) else { return Ok(()) };
        let key = ec2_key(1, -7, sk.verifying_key().to_sec1_point(false).as_bytes());
        let sig: p256::ecdsa::Signature = sk.sign(&message);
        for backend in backends() {
            prop_assert_eq!(backend.verify(&key, &message, sig.to_der().as_bytes()), Ok(()));
            let mut other = message.clone();
            other.push(0);
            prop_assert_eq!(backend.verify(&key, &other, sig.to_der().as_bytes()), Err(SignatureError::Invalid));
        }
    }

    #[test]
    fn es384_round_trip(secret in any::<[u8; 48]>(), message in proptest::collection::vec(any::<u8>(), 0..200)) {
        use p384::ecdsa::signature::Signer as _;
        let Ok(sk) = p384::ecdsa::SigningKey::from_slice(&secret) else { return Ok(()) };
        let key = ec2_key(2, -35, sk.verifying_key().to_sec1_point(false).as_bytes());
        let sig: p384::ecdsa::Signature = sk.sign(&message);
        for backend in backends() {
            prop_assert_eq!(backend.verify(&key, &message, sig.to_der().as_bytes()), Ok(()));
            prop_assert!(backend.verify(&key, &other_than(&message), sig.to_der().as_bytes()).is_err());
        }
    }

    #[test]
    fn es512_round_trip(secret in proptest::collection::vec(any::<u8>(), 66), message in proptest::collection::vec(any::<u8>(), 0..200)) {
        use p521::ecdsa::signature::Signer as _;
        let mut secret = secret;
        secret[0] &= 1; // keep it below the group order most of the time
        let Ok(sk) = p521::ecdsa::SigningKey::from_slice(&secret) else { return Ok(()) };
        let key = ec2_key(3, -36, sk.verifying_key().to_sec1_point(false).as_bytes());
        let sig: p521::ecdsa::Signature = sk.sign(&message);
        for backend in backends() {
            prop_assert_eq!(backend.verify(&key, &message, sig.to_der().as_bytes()), Ok(()));
            prop_assert!(backend.verify(&key, &other_than(&message), sig.to_der().as_bytes()).is_err());
        }
    }

    #[test]
    fn eddsa_round_trip(secret in any::<[u8; 32]>(), message in proptest::collection::vec(any::<u8>(), 0..200)) {
        use ed25519_dalek::Signer as _;
        let sk = ed25519_dalek::SigningKey::from_bytes(&secret);
        let key = CoseKey::from_cbor(&cbor(&Value::Map(vec![
            (int(1), int(1)),
            (int(3), int(-8)),
            (int(-1), int(6)),
            (int(-2), Value::Bytes(sk.verifying_key().to_bytes().to_vec())),
        ]))).unwrap();
        prop_assert_eq!(key.ed25519_public_key(), Some(sk.verifying_key().to_bytes()));
        let sig = sk.sign(&message).to_bytes();
        for backend in backends() {
            prop_assert_eq!(backend.verify(&key, &message, &sig), Ok(()));
            prop_assert!(backend.verify(&key, &other_than(&message), &sig).is_err());
            prop_assert_eq!(backend.verify(&key, &message, &sig[..63]), Err(SignatureError::Malformed));
        }
    }
}

/// Keys generated from a seeded CSPRNG (rand 0.10 `StdRng`, RustCrypto's `Generate::generate_from_rng`
/// taking a `CryptoRng`) sign, and every backend verifies.
#[test]
fn seeded_rng_keygen_sign_verify() {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;
    // The RustCrypto `Generate` trait (crypto-common), re-exported by `rsa`.
    use rsa::Generate as _;
    let mut rng = StdRng::seed_from_u64(0x6d66_615f_7765_6261);
    for _ in 0..4 {
        let message = b"authenticatorData || clientDataHash";
        {
            use p256::ecdsa::signature::Signer as _;
            let sk = p256::ecdsa::SigningKey::generate_from_rng(&mut rng);
            let key = ec2_key(1, -7, sk.verifying_key().to_sec1_point(false).as_bytes());
            let sig: p256::ecdsa::Signature = sk.sign(message);
            for backend in backends() {
                assert_eq!(
                    backend.verify(&key, message, sig.to_der().as_bytes()),
                    Ok(())
                );
            }
        }
        {
            use p384::ecdsa::signature::Signer as _;
            let sk = p384::ecdsa::SigningKey::generate_from_rng(&mut rng);
            let key = ec2_key(2, -35, sk.verifying_key().to_sec1_point(false).as_bytes());
            let sig: p384::ecdsa::Signature = sk.sign(message);
            for backend in backends() {
                assert_eq!(
                    backend.verify(&key, message, sig.to_der().as_bytes()),
                    Ok(())
                );
            }
        }
        {
            use p521::ecdsa::signature::Signer as _;
            let sk = p521::ecdsa::SigningKey::generate_from_rng(&mut rng);
            let key = ec2_key(3, -36, sk.verifying_key().to_sec1_point(false).as_bytes());
            let sig: p521::ecdsa::Signature = sk.sign(message);
            for backend in backends() {
                assert_eq!(
                    backend.verify(&key, message, sig.to_der().as_bytes()),
                    Ok(())
                );
            }
        }
        {
            use ed25519_dalek::Signer as _;
            // ed25519-dalek's keygen sits behind its `rand_core` feature; draw the seed instead.
            let sk =
                ed25519_dalek::SigningKey::from_bytes(&rand::RngExt::random::<[u8; 32]>(&mut rng));
            let key = CoseKey::from_cbor(&cbor(&Value::Map(vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (
                    int(-2),
                    Value::Bytes(sk.verifying_key().to_bytes().to_vec()),
                ),
            ])))
            .unwrap();
            let sig = sk.sign(message).to_bytes();
            for backend in backends() {
                assert_eq!(backend.verify(&key, message, &sig), Ok(()));
            }
        }
    }
}

/// A message that differs from `message` (one more byte), for the "wrong message fails" checks:
/// a fixed wrong message would equal a generated one now and then.
fn other_than(message: &[u8]) -> Vec<u8> {
    let mut other = message.to_vec();
    other.push(b'!');
    other
}
