//! Attestation statements: every registration vector (`py-reg-*`, `swa-reg-*`, `w3c-spec-reg-*`)
//! must verify through `verify_attestation`, and tampered twins must fail with the right error.
#![allow(clippy::unwrap_used, reason = "test helpers read fixed test data")]

use std::path::PathBuf;

use ciborium::Value;
use mfa_core::UnixTime;
use mfa_webauthn::attestation::x509::ChainTrust;
use mfa_webauthn::attestation::{
    AttestationError, AttestationFormat, AttestationInput, AttestationType, VerifiedAttestation,
    verify_attestation, verify_attestation_with_trust,
};
use mfa_webauthn::cose::CoseKey;
use mfa_webauthn::crypto::RustCryptoVerifier;
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

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A registration, taken apart the way the ceremony code would.
#[derive(Clone)]
struct Registration {
    id: String,
    fmt: String,
    statement: Value,
    auth_data: Vec<u8>,
    client_data_hash: [u8; 32],
    attestation_object: Vec<u8>,
}

fn registration(id: &str) -> Registration {
    let path = vectors_dir().join(format!("{id}.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let bytes = &v["response_bytes_hex"];
    let attestation_object = hex(bytes["attestationObject"].as_str().unwrap());
    let client_data = hex(bytes["clientDataJSON"].as_str().unwrap());
    let Value::Map(entries) =
        ciborium::from_reader::<Value, _>(attestation_object.as_slice()).unwrap()
    else {
        panic!("{id}: attestation object is not a map");
    };
    let field = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    Registration {
        id: id.to_owned(),
        fmt: field("fmt").as_text().unwrap().to_owned(),
        statement: field("attStmt"),
        auth_data: field("authData").as_bytes().unwrap().clone(),
        client_data_hash: Sha256::digest(client_data).into(),
        attestation_object,
    }
}

fn registration_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("-reg-") && n.ends_with(".json"))
        .map(|n| n.trim_end_matches(".json").to_owned())
        .collect();
    ids.sort();
    ids
}

/// The attested credential data parts of authenticator data (WebAuthn L3 §6.1, §6.5.2).
struct Parts {
    rp_id_hash: [u8; 32],
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    key: CoseKey,
}

fn parts(auth_data: &[u8]) -> Parts {
    let rp_id_hash: [u8; 32] = auth_data[..32].try_into().unwrap();
    assert!(auth_data[32] & 0x40 != 0, "AT flag");
    let aaguid: [u8; 16] = auth_data[37..53].try_into().unwrap();
    let len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let credential_id = auth_data[55..55 + len].to_vec();
    let (key, _) = CoseKey::parse_prefix(&auth_data[55 + len..]).unwrap();
    Parts {
        rp_id_hash,
        aaguid,
        credential_id,
        key,
    }
}

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn run_with(
    r: &Registration,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
    key: Option<&CoseKey>,
) -> Result<VerifiedAttestation, AttestationError> {
    let p = parts(auth_data);
    let input = AttestationInput {
        format: &r.fmt,
        statement: &r.statement,
        authenticator_data: auth_data,
        client_data_hash,
        rp_id_hash: &p.rp_id_hash,
        aaguid: &p.aaguid,
        credential_id: &p.credential_id,
        credential_public_key: key.unwrap_or(&p.key),
    };
    verify_attestation(&input, &RustCryptoVerifier)
}

fn run(r: &Registration) -> Result<VerifiedAttestation, AttestationError> {
    run_with(r, &r.auth_data, &r.client_data_hash, None)
}

fn expected_type(id: &str, fmt: &str) -> AttestationType {
    match fmt {
        "none" => AttestationType::None,
        "packed" if id.contains("self") => AttestationType::SelfAttestation,
        "packed" | "fido-u2f" | "android-key" => AttestationType::Basic,
        "tpm" => AttestationType::AttCa,
        "apple" => AttestationType::AnonCa,
        other => panic!("unexpected fmt {other}"),
    }
}

fn statement_map(r: &mut Registration) -> &mut Vec<(Value, Value)> {
    let Value::Map(entries) = &mut r.statement else {
        panic!("attStmt is not a map")
    };
    entries
}

fn statement_bytes<'a>(r: &'a mut Registration, name: &str) -> &'a mut Vec<u8> {
    statement_map(r)
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| match v {
            Value::Bytes(b) => b,
            _ => panic!("{name} is not bytes"),
        })
        .unwrap()
}

fn leaf_cert(r: &mut Registration) -> &mut Vec<u8> {
    let x5c = statement_map(r)
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("x5c"))
        .map(|(_, v)| v)
        .unwrap();
    let Value::Array(certs) = x5c else {
        panic!("x5c is not an array")
    };
    match &mut certs[0] {
        Value::Bytes(b) => b,
        _ => panic!("x5c[0] is not bytes"),
    }
}

// --- every vector --------------------------------------------------------------------------------

#[test]
fn every_registration_vector_verifies() {
    let ids = registration_ids();
    assert!(ids.len() >= 14, "{ids:?}");
    let mut formats = std::collections::BTreeSet::new();
    for id in ids {
        let r = registration(&id);
        let verified = run(&r).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(verified.format.as_str(), r.fmt, "{id}");
        assert_eq!(
            verified.attestation_type,
            expected_type(&id, &r.fmt),
            "{id}"
        );
        let has_x5c = matches!(&r.statement, Value::Map(m) if m.iter().any(|(k, _)| k.as_text() == Some("x5c")));
        assert_eq!(!verified.certificates.is_empty(), has_x5c, "{id}");
        formats.insert(r.fmt);
    }
    assert_eq!(
        formats.into_iter().collect::<Vec<_>>(),
        ["android-key", "apple", "fido-u2f", "none", "packed", "tpm"]
    );
}

#[test]
fn tpm_vector_uses_rs1() {
    let r = registration("py-reg-tpm-surface-pro-4");
    let Value::Map(m) = &r.statement else {
        panic!()
    };
    let alg = m
        .iter()
        .find(|(k, _)| k.as_text() == Some("alg"))
        .unwrap()
        .1
        .as_integer()
        .unwrap();
    assert_eq!(i128::from(alg), -65535);
}

// --- tampered twins ------------------------------------------------------------------------------

fn signed_formats() -> Vec<Registration> {
    registration_ids()
        .iter()
        .map(|id| registration(id))
        .filter(|r| r.fmt != "none")
        .collect()
}

#[test]
fn flipped_signature_bit_is_a_bad_signature() {
    for mut r in signed_formats() {
        if r.fmt == "apple" {
            continue; // no signature in the statement
        }
        let sig = statement_bytes(&mut r, "sig");
        let last = sig.len() - 1;
        sig[last] ^= 0x01;
        let err = run(&r).unwrap_err();
        // A DER ECDSA signature with a changed last byte still parses; so does RSA and Ed25519.
        assert_eq!(err, AttestationError::BadSignature, "{}", r.id);
    }
}

#[test]
fn flipped_authenticator_data_bit_is_rejected() {
    for r in signed_formats() {
        let mut auth_data = r.auth_data.clone();
        auth_data[0] ^= 0x01; // rpIdHash: signed by every format (fido-u2f signs it directly)
        let err = run_with(&r, &auth_data, &r.client_data_hash, None).unwrap_err();
        match r.fmt.as_str() {
            "tpm" | "apple" => assert!(
                matches!(err, AttestationError::Invalid(_)),
                "{}: {err:?}",
                r.id
            ),
            _ => assert_eq!(err, AttestationError::BadSignature, "{}", r.id),
        }
    }
}

#[test]
fn flipped_client_data_hash_bit_is_rejected() {
    for r in signed_formats() {
        let mut hash = r.client_data_hash;
        hash[31] ^= 0x80;
        let err = run_with(&r, &r.auth_data, &hash, None).unwrap_err();
        match r.fmt.as_str() {
            // tpm: extraData mismatch; apple: nonce mismatch; android-key: the signature fails
            // before the challenge is compared.
            "tpm" | "apple" => assert!(
                matches!(err, AttestationError::Invalid(_)),
                "{}: {err:?}",
                r.id
            ),
            _ => assert_eq!(err, AttestationError::BadSignature, "{}", r.id),
        }
    }
}

/// Flips the last byte of the certificate's subject public key bits (found by searching the DER
/// for the key of the parsed certificate).
fn flip_in_cert_key(cert: &mut [u8], delta_from_end: usize) {
    use der::Decode as _;
    let parsed = x509_cert::Certificate::from_der(cert).unwrap();
    let key = parsed
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let at = cert.windows(key.len()).position(|w| w == key).unwrap();
    cert[at + key.len() - 1 - delta_from_end] ^= 0x01;
}

#[test]
fn flipped_certificate_key_bit_is_rejected() {
    for mut r in signed_formats() {
        if !matches!(&r.statement, Value::Map(m) if m.iter().any(|(k, _)| k.as_text() == Some("x5c")))
        {
            continue;
        }
        let fmt = r.fmt.clone();
        // A bit deep inside the key: EC points leave the curve, Ed25519 keys change, RSA moduli
        // stay odd but no longer match the signature.
        flip_in_cert_key(leaf_cert(&mut r), 1);
        let err = run(&r).unwrap_err();
        match fmt.as_str() {
            "apple" => assert!(
                matches!(err, AttestationError::Invalid(_)),
                "{}: {err:?}",
                r.id
            ),
            _ => assert!(
                matches!(
                    err,
                    AttestationError::Invalid(_) | AttestationError::BadSignature
                ),
                "{}: {err:?}",
                r.id
            ),
        }
    }
}

#[test]
fn truncated_certificate_is_malformed() {
    for mut r in signed_formats() {
        if !matches!(&r.statement, Value::Map(m) if m.iter().any(|(k, _)| k.as_text() == Some("x5c")))
        {
            continue;
        }
        let cert = leaf_cert(&mut r);
        cert.truncate(cert.len() - 1);
        assert!(
            matches!(run(&r), Err(AttestationError::Malformed(_))),
            "{}",
            r.id
        );
    }
}

#[test]
fn packed_certificate_requirements_are_enforced() {
    let mut r = registration("py-reg-packed-x5c-yubikey-firefox");
    let cert = leaf_cert(&mut r);
    let ou = b"Authenticator Attestation";
    let at = cert.windows(ou.len()).position(|w| w == ou).unwrap();
    cert[at] = b'a';
    assert_eq!(
        run(&r),
        Err(AttestationError::Invalid(
            "attestation certificate subject OU is not \"Authenticator Attestation\"".into()
        ))
    );
}

#[test]
fn packed_aaguid_extension_must_match() {
    let r = registration("py-reg-packed-x5c-yubikey-firefox");
    let mut auth_data = r.auth_data.clone();
    // Only meaningful if the certificate carries the AAGUID extension.
    let oid_der = [
        0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe5, 0x1c, 0x01, 0x01, 0x04,
    ];
    let mut probe = r.clone();
    if leaf_cert(&mut probe)
        .windows(oid_der.len())
        .any(|w| w == oid_der)
    {
        auth_data[40] ^= 0x01; // inside the AAGUID (not signed separately: the signature breaks first)
        let err = run_with(&r, &auth_data, &r.client_data_hash, None).unwrap_err();
        assert_eq!(err, AttestationError::BadSignature);
    }
}

#[test]
fn packed_self_attestation_alg_must_match_the_key() {
    let mut r = registration("w3c-spec-reg-packed-self-es256");
    for (k, v) in statement_map(&mut r).iter_mut() {
        if k.as_text() == Some("alg") {
            *v = Value::Integer((-257).into());
        }
    }
    assert!(matches!(run(&r), Err(AttestationError::Invalid(_))));
}

#[test]
fn credential_key_must_match_the_certificate() {
    let other = parts(&registration("w3c-spec-reg-none-es256").auth_data).key;
    for id in [
        "py-reg-android-key-pixel-8a",
        "py-reg-apple-passkey",
        "py-reg-tpm-surface-pro-4",
    ] {
        let r = registration(id);
        let err = run_with(&r, &r.auth_data, &r.client_data_hash, Some(&other)).unwrap_err();
        assert!(matches!(err, AttestationError::Invalid(_)), "{id}: {err:?}");
    }
}

#[test]
fn tpm_structure_checks() {
    // Wrong version.
    let mut r = registration("py-reg-tpm-surface-pro-4");
    for (k, v) in statement_map(&mut r).iter_mut() {
        if k.as_text() == Some("ver") {
            *v = Value::Text("1.2".into());
        }
    }
    assert_eq!(
        run(&r),
        Err(AttestationError::Invalid("tpm ver is not \"2.0\"".into()))
    );
    // A flipped magic byte, a truncated certInfo, a truncated pubArea.
    let mut r = registration("py-reg-tpm-surface-pro-4");
    statement_bytes(&mut r, "certInfo")[0] ^= 0x01;
    assert_eq!(
        run(&r),
        Err(AttestationError::Invalid(
            "certInfo magic is not TPM_GENERATED_VALUE".into()
        ))
    );
    let mut r = registration("py-reg-tpm-surface-pro-4");
    statement_bytes(&mut r, "certInfo").pop();
    assert!(matches!(run(&r), Err(AttestationError::Malformed(_))));
    let mut r = registration("py-reg-tpm-surface-pro-4");
    statement_bytes(&mut r, "pubArea").pop();
    assert!(matches!(run(&r), Err(AttestationError::Malformed(_))));
    // Every prefix of certInfo and pubArea is rejected without panicking.
    let base = registration("py-reg-tpm-surface-pro-4");
    for name in ["certInfo", "pubArea"] {
        let full = statement_bytes(&mut base.clone(), name).clone();
        for len in 0..full.len() {
            let mut r = base.clone();
            *statement_bytes(&mut r, name) = full[..len].to_vec();
            assert!(run(&r).is_err());
        }
    }
}

#[test]
fn statement_shape_errors() {
    let mut r = registration("w3c-spec-reg-none-es256");
    statement_map(&mut r).push((Value::Text("sig".into()), Value::Bytes(vec![])));
    assert!(matches!(run(&r), Err(AttestationError::Malformed(_))));

    let mut r = registration("py-reg-packed-x5c-yubikey-firefox");
    statement_map(&mut r).retain(|(k, _)| k.as_text() != Some("sig"));
    assert_eq!(
        run(&r),
        Err(AttestationError::Malformed("missing sig".into()))
    );

    let mut r = registration("py-reg-packed-x5c-yubikey-firefox");
    let entry = statement_map(&mut r)[0].clone();
    statement_map(&mut r).push(entry);
    assert_eq!(
        run(&r),
        Err(AttestationError::Malformed("duplicate attStmt key".into()))
    );

    let mut r = registration("py-reg-packed-x5c-yubikey-firefox");
    for (k, v) in statement_map(&mut r).iter_mut() {
        if k.as_text() == Some("alg") {
            *v = Value::Integer((-4242).into());
        }
    }
    assert_eq!(run(&r), Err(AttestationError::UnsupportedAlgorithm(-4242)));

    let mut r = registration("py-reg-fido-u2f-yubikey-firefox");
    r.fmt = "fido-u3f".into();
    assert_eq!(
        run(&r),
        Err(AttestationError::UnsupportedFormat("fido-u3f".into()))
    );

    let mut r = registration("py-reg-fido-u2f-yubikey-firefox");
    r.statement = Value::Array(vec![]);
    assert!(matches!(run(&r), Err(AttestationError::Malformed(_))));
}

// --- trust ---------------------------------------------------------------------------------------

fn validity_window(chain: &[Vec<u8>]) -> (u64, u64) {
    use der::Decode as _;
    let mut start = 0;
    let mut end = u64::MAX;
    for der in chain {
        let cert = x509_cert::Certificate::from_der(der).unwrap();
        let v = cert.tbs_certificate().validity();
        start = start.max(v.not_before.to_unix_duration().as_secs());
        end = end.min(v.not_after.to_unix_duration().as_secs());
    }
    (start, end)
}

#[test]
fn chain_trust_validates_multi_certificate_chains_at_the_injected_time() {
    let mut checked = 0;
    for id in [
        "py-reg-android-key-pixel-8a",
        "py-reg-apple-passkey",
        "py-reg-tpm-surface-pro-4",
    ] {
        let r = registration(id);
        let verified = run(&r).unwrap();
        let chain = verified.certificates.clone();
        assert!(chain.len() >= 2, "{id}");
        let (start, end) = validity_window(&chain);
        assert!(start < end, "{id}: chain has a common validity window");
        let p = parts(&r.auth_data);
        let input = AttestationInput {
            format: &r.fmt,
            statement: &r.statement,
            authenticator_data: &r.auth_data,
            client_data_hash: &r.client_data_hash,
            rp_id_hash: &p.rp_id_hash,
            aaguid: &p.aaguid,
            credential_id: &p.credential_id,
            credential_public_key: &p.key,
        };
        let at = UnixTime::from_secs;
        // The top of x5c as the trusted root.
        let trust = ChainTrust::new(vec![chain.last().unwrap().clone()]);
        let ok = verify_attestation_with_trust(&input, &RustCryptoVerifier, at(start + 1), &trust);
        assert_eq!(ok.map(|v| v.format), Ok(verified.format), "{id}");
        // Outside the validity window.
        let late = verify_attestation_with_trust(&input, &RustCryptoVerifier, at(end + 1), &trust);
        assert!(
            matches!(late, Err(AttestationError::Untrusted(_))),
            "{id}: {late:?}"
        );
        // An unrelated root.
        let other = registration("py-reg-packed-x5c-yubikey-firefox");
        let mut other = other;
        let stranger = ChainTrust::new(vec![leaf_cert(&mut other).clone()]);
        let bad =
            verify_attestation_with_trust(&input, &RustCryptoVerifier, at(start + 1), &stranger);
        assert!(
            matches!(bad, Err(AttestationError::Untrusted(_))),
            "{id}: {bad:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
    // No chain at all.
    let r = registration("w3c-spec-reg-none-es256");
    let p = parts(&r.auth_data);
    let input = AttestationInput {
        format: &r.fmt,
        statement: &r.statement,
        authenticator_data: &r.auth_data,
        client_data_hash: &r.client_data_hash,
        rp_id_hash: &p.rp_id_hash,
        aaguid: &p.aaguid,
        credential_id: &p.credential_id,
        credential_public_key: &p.key,
    };
    let none =
        verify_attestation_with_trust(&input, &RustCryptoVerifier, NOW, &ChainTrust::new(vec![]));
    assert!(matches!(none, Err(AttestationError::Untrusted(_))));
}

#[test]
fn fuzz_entry_accepts_every_vector_and_its_prefixes() {
    for id in registration_ids() {
        let r = registration(&id);
        mfa_webauthn::attestation::fuzz_attestation_object(&r.attestation_object);
        for len in (0..r.attestation_object.len()).step_by(97) {
            mfa_webauthn::attestation::fuzz_attestation_object(&r.attestation_object[..len]);
        }
    }
}

#[test]
fn formats_round_trip_their_names() {
    for fmt in ["none", "packed", "fido-u2f", "tpm", "android-key", "apple"] {
        assert_eq!(AttestationFormat::from_name(fmt).unwrap().as_str(), fmt);
    }
    assert_eq!(AttestationFormat::from_name("Packed"), None);
}

// --- properties ----------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// (vector, signed field) pairs where every byte is covered by a check.
    const SIGNED_FIELDS: &[(&str, &str)] = &[
        ("py-reg-packed-x5c-yubikey-firefox", "sig"),
        ("py-reg-packed-eddsa", "sig"),
        ("w3c-spec-reg-packed-self-es256", "sig"),
        ("py-reg-fido-u2f-yubikey-firefox", "sig"),
        ("py-reg-android-key-pixel-8a", "sig"),
        ("py-reg-tpm-surface-pro-4", "sig"),
        ("py-reg-tpm-surface-pro-4", "certInfo"),
        ("py-reg-tpm-surface-pro-4", "pubArea"),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any change to a byte of a signed or hashed field is rejected, never a panic.
        #[test]
        fn changed_signed_bytes_never_verify(
            which in 0..SIGNED_FIELDS.len(),
            pos in any::<prop::sample::Index>(),
            xor in 1u8..=255,
        ) {
            let (id, field) = SIGNED_FIELDS[which];
            let mut r = registration(id);
            let bytes = statement_bytes(&mut r, field);
            let i = pos.index(bytes.len());
            bytes[i] ^= xor;
            prop_assert!(run(&r).is_err(), "{id} {field}[{i}] ^= {xor}");
        }

        /// Arbitrary changes to the leaf certificate never panic.
        #[test]
        fn changed_certificate_bytes_never_panic(
            which in 0..6usize,
            pos in any::<prop::sample::Index>(),
            value in any::<u8>(),
        ) {
            let id = [
                "py-reg-packed-x5c-yubikey-firefox",
                "py-reg-fido-u2f-yubikey-firefox",
                "py-reg-android-key-pixel-8a",
                "py-reg-apple-passkey",
                "py-reg-tpm-surface-pro-4",
                "w3c-spec-reg-packed-rs256-x5c",
            ][which];
            let mut r = registration(id);
            let cert = leaf_cert(&mut r);
            let i = pos.index(cert.len());
            cert[i] = value;
            let _ = run(&r);
        }
    }
}

#[test]
fn credential_keys_match_their_leaf_spki_through_the_public_helper() {
    use der::{Decode as _, Encode as _};
    for id in ["py-reg-android-key-pixel-8a", "py-reg-apple-passkey"] {
        let mut r = registration(id);
        let key = parts(&r.auth_data).key;
        let cert = x509_cert::Certificate::from_der(leaf_cert(&mut r)).unwrap();
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        assert_eq!(key.check_matches_spki(&spki), Ok(()), "{id}");
        let other = parts(&registration("w3c-spec-reg-none-es256").auth_data).key;
        assert_eq!(
            other.check_matches_spki(&spki),
            Err(mfa_webauthn::cose::CoseError::KeyMismatch),
            "{id}"
        );
    }
}
