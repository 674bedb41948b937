//! Metadata BLOBs (`Metadata::from_blob`, FIDO MDS3 §3.2) built in code by `testing::mds` under a
//! test root and intermediate: each rule with a BLOB that passes and a twin that is refused.
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mfa_core::UnixTime;
use mfa_webauthn::metadata::{
    AuthenticatorStatus, BlobOptions, KeyIdentifier, MAX_BLOB_LEN, MdsDate, Metadata,
    MetadataEntry, MetadataError, MetadataStatement, StatusReport, certificates_from_pem,
    crls_from_pem,
};
use mfa_webauthn::testing::mds::{BlobBuilder, MdsSigner, synthetic_aaguid, synthetic_entries};
use mfa_webauthn::testing::pki::{
    CertificateSpec, JwsAlgorithm, TestCertificate, TestKey, TestPki,
};
use proptest::prelude::*;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::json;

/// 2023-11-14T22:13:20Z: every test certificate's notBefore unless said otherwise.
const FROM: UnixTime = UnixTime::from_secs(1_700_000_000);
/// 2033-05-18T03:33:20Z: every test certificate's notAfter unless said otherwise.
const TO: UnixTime = UnixTime::from_secs(2_000_000_000);
/// 2027-01-15T08:00:00Z: when the BLOBs are checked.
const AT: UnixTime = UnixTime::from_secs(1_800_000_000);

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn next_update() -> MdsDate {
    MdsDate::new(2027, 2, 1).unwrap()
}

fn signer(seed: u64, algorithm: JwsAlgorithm) -> MdsSigner {
    MdsSigner::new(&mut rng(seed), algorithm, FROM, TO)
}

fn options(signer: &MdsSigner) -> BlobOptions {
    BlobOptions::new(signer.root_der().to_vec(), AT)
}

fn u2f_key_identifier() -> KeyIdentifier {
    "923881fe2f214ee465484371aeb72e97f5a58e0a".parse().unwrap()
}

/// Three synthetic FIDO2 entries and one U2F entry.
fn entries() -> Vec<MetadataEntry> {
    let mut entries = synthetic_entries(3);
    let statement: MetadataStatement = serde_json::from_value(json!({
        "description": "Test U2F Key",
        "protocolFamily": "u2f",
        "schema": 3,
        "attestationTypes": ["basic_full"],
    }))
    .unwrap();
    entries.push(MetadataEntry::u2f(
        vec![u2f_key_identifier()],
        statement,
        vec![StatusReport::new(AuthenticatorStatus::FidoCertified, None)],
    ));
    entries
}

fn blob(no: u64) -> BlobBuilder {
    BlobBuilder::new(no, next_update()).entries(entries())
}

fn verify(blob: &[u8], options: &BlobOptions) -> Result<Metadata, MetadataError> {
    Metadata::from_blob(blob, options)
}

fn untrusted_reason(result: Result<Metadata, MetadataError>) -> String {
    match result {
        Err(MetadataError::Untrusted(why)) => why,
        other => panic!("expected Untrusted, got {other:?}"),
    }
}

/// Replaces part `index` (0 header, 1 payload, 2 signature) of a compact JWS.
fn replace_part(blob: &[u8], index: usize, part: &str) -> Vec<u8> {
    let text = core::str::from_utf8(blob).unwrap();
    let mut parts: Vec<&str> = text.split('.').collect();
    parts[index] = part;
    parts.join(".").into_bytes()
}

fn part(blob: &[u8], index: usize) -> String {
    core::str::from_utf8(blob)
        .unwrap()
        .split('.')
        .nth(index)
        .unwrap()
        .to_owned()
}

// --- algorithms ---------------------------------------------------------------------------------

fn check_verifies(algorithm: JwsAlgorithm) {
    let signer = signer(1, algorithm);
    let metadata = verify(&blob(42).sign(&signer), &options(&signer)).unwrap();
    assert_eq!(metadata.no(), 42);
    assert_eq!(metadata.next_update(), next_update());
    assert_eq!(metadata.entries().len(), 4);
    assert!(
        metadata
            .legal_header()
            .unwrap()
            .contains("fidoalliance.org")
    );
    let second = metadata.by_aaguid(&synthetic_aaguid(1)).unwrap();
    assert_eq!(second.description(), Some("Synthetic Authenticator 1"));
    assert!(metadata.by_aaguid(&synthetic_aaguid(3)).is_none());
    let u2f = metadata.by_key_identifier(&u2f_key_identifier()).unwrap();
    assert_eq!(u2f.description(), Some("Test U2F Key"));
    assert!(
        metadata
            .by_key_identifier(&KeyIdentifier([7; 20]))
            .is_none()
    );
}

#[test]
fn an_es256_blob_verifies_and_its_entries_are_found() {
    check_verifies(JwsAlgorithm::Es256);
}

#[test]
fn an_rs256_blob_verifies_and_its_entries_are_found() {
    check_verifies(JwsAlgorithm::Rs256);
}

#[test]
fn a_ps256_blob_verifies_and_its_entries_are_found() {
    check_verifies(JwsAlgorithm::Ps256);
}

/// An RSA JWS signature of `message` for `alg` (RS384, RS512, PS384, PS512), made with the
/// `rsa` crate directly.
fn rsa_sign(key: &rsa::PrivateKey, alg: &str, message: &[u8]) -> Vec<u8> {
    use rsa::{Pkcs1v15Sign, Pss};
    use sha2::{Digest as _, Sha384, Sha512};
    let mut salt = rng(260);
    match alg {
        "RS384" => key.sign(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(message)),
        "RS512" => key.sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(message)),
        "PS384" => key.sign_with_rng(&mut salt, Pss::<Sha384>::new(), &Sha384::digest(message)),
        "PS512" => key.sign_with_rng(&mut salt, Pss::<Sha512>::new(), &Sha512::digest(message)),
        _ => panic!("{alg}"),
    }
    .unwrap()
}

#[test]
fn rs384_rs512_ps384_and_ps512_blobs_verify() {
    let signer = signer(26, JwsAlgorithm::Rs256);
    let key = signer.leaf.key().rsa().unwrap();
    for alg in ["RS384", "RS512", "PS384", "PS512"] {
        let blob = blob(5)
            .alg_name(alg)
            .sign_with(&signer, |message| rsa_sign(key, alg, message));
        assert_eq!(verify(&blob, &options(&signer)).unwrap().no(), 5, "{alg}");
        // The same signature under the SHA-256 name of its family does not verify.
        let family = if alg.starts_with("RS") {
            "RS256"
        } else {
            "PS256"
        };
        let renamed = blob_with_alg(&blob, &signer, family);
        assert_eq!(
            verify(&renamed, &options(&signer)).unwrap_err(),
            MetadataError::BadSignature,
            "{alg}"
        );
    }
}

/// `blob` with its header rewritten to name `alg` (the signature left as it was).
fn blob_with_alg(blob: &[u8], signer: &MdsSigner, alg: &str) -> Vec<u8> {
    let header = self::blob(0).alg_name(alg).header_json(signer);
    replace_part(blob, 0, &URL_SAFE_NO_PAD.encode(header))
}

#[test]
fn an_es256_signature_must_be_raw_r_and_s_not_der() {
    let signer = signer(27, JwsAlgorithm::Es256);
    let der = blob(1).sign_with(&signer, |m| signer.leaf.key().sign_der(m));
    assert_eq!(
        verify(&der, &options(&signer)).unwrap_err(),
        MetadataError::BadSignature
    );
    let raw = blob(1).sign_with(&signer, |m| signer.leaf.key().sign(JwsAlgorithm::Es256, m));
    assert!(verify(&raw, &options(&signer)).is_ok());
}

#[test]
fn alg_none_hmac_and_unknown_algorithms_are_refused() {
    let signer = signer(2, JwsAlgorithm::Es256);
    for alg in ["none", "HS256", "HS512", "EdDSA", "ES256K", "es256", ""] {
        let result = verify(&blob(1).alg_name(alg).sign(&signer), &options(&signer));
        assert_eq!(
            result.unwrap_err(),
            MetadataError::UnsupportedAlgorithm(alg.to_owned()),
            "{alg}"
        );
    }
    // `none` with an empty signature and no x5c, as an attacker would send it.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(blob(1).payload_json());
    let unsigned = format!("{header}.{payload}.");
    assert_eq!(
        verify(unsigned.as_bytes(), &options(&signer)).unwrap_err(),
        MetadataError::UnsupportedAlgorithm("none".into())
    );
    // The control: the algorithm the signer used, written by name.
    assert!(verify(&blob(1).alg_name("ES256").sign(&signer), &options(&signer)).is_ok());
}

#[test]
fn an_alg_that_does_not_fit_the_signing_key_is_refused() {
    let rsa = signer(3, JwsAlgorithm::Rs256);
    // An RS256 signature presented as PS256, and as ES256 (an RSA key cannot make ES256).
    for alg in ["PS256", "ES256", "RS384"] {
        let result = verify(&blob(1).alg_name(alg).sign(&rsa), &options(&rsa));
        assert_eq!(result.unwrap_err(), MetadataError::BadSignature, "{alg}");
    }
}

// --- the certificate source ---------------------------------------------------------------------

#[test]
fn x5u_jku_and_jwk_are_refused_and_crit_is_malformed() {
    let signer = signer(4, JwsAlgorithm::Es256);
    for (name, value) in [
        ("x5u", json!("https://mds3.fidoalliance.org/chain.pem")),
        ("jku", json!("https://example.com/jwks.json")),
        ("jwk", json!({"kty": "EC", "crv": "P-256"})),
    ] {
        let result = verify(
            &blob(1).header_param(name, value).sign(&signer),
            &options(&signer),
        );
        assert!(
            matches!(result, Err(MetadataError::CertificateSource(why)) if why.contains(name)),
            "{name}"
        );
    }
    let crit = blob(1)
        .header_param("crit", json!(["exp"]))
        .header_param("exp", json!(1));
    assert!(matches!(
        verify(&crit.sign(&signer), &options(&signer)),
        Err(MetadataError::Malformed(_))
    ));
    // Unregistered, non-critical parameters are ignored.
    let kid = blob(1).header_param("kid", json!("mds-2027"));
    assert!(verify(&kid.sign(&signer), &options(&signer)).is_ok());
}

#[test]
fn a_missing_empty_or_oversized_x5c_is_refused() {
    let signer = signer(5, JwsAlgorithm::Es256);
    let refused = |builder: BlobBuilder| verify(&builder.sign(&signer), &options(&signer));
    assert!(matches!(
        refused(blob(1).without_x5c()),
        Err(MetadataError::CertificateSource(_))
    ));
    assert!(matches!(
        refused(blob(1).x5c(Vec::new())),
        Err(MetadataError::CertificateSource(_))
    ));
    let nine = vec![signer.leaf.der().to_vec(); 9];
    assert!(matches!(
        refused(blob(1).x5c(nine)),
        Err(MetadataError::CertificateSource(_))
    ));
    assert!(matches!(
        refused(blob(1).header_param("x5c", json!("not an array"))),
        Err(MetadataError::Malformed(_))
    ));
    assert!(matches!(
        refused(blob(1).header_param("x5c", json!(["@@not base64@@"]))),
        Err(MetadataError::Malformed(_))
    ));
    assert!(matches!(
        refused(blob(1).header_param("x5c", json!([STANDARD.encode(b"not DER")]))),
        Err(MetadataError::Malformed(_))
    ));
}

// --- the chain ----------------------------------------------------------------------------------

#[test]
fn the_root_may_end_x5c_or_be_left_out() {
    let signer = signer(6, JwsAlgorithm::Es256);
    let mut chain = signer.x5c();
    assert!(verify(&blob(1).x5c(chain.clone()).sign(&signer), &options(&signer)).is_ok());
    chain.push(signer.root_der().to_vec());
    assert!(verify(&blob(1).x5c(chain).sign(&signer), &options(&signer)).is_ok());
    // Without the intermediate the leaf does not reach the root.
    let leaf_only = vec![signer.leaf.der().to_vec()];
    let reason = untrusted_reason(verify(
        &blob(1).x5c(leaf_only).sign(&signer),
        &options(&signer),
    ));
    assert!(reason.contains("root"), "{reason}");
}

#[test]
fn a_chain_to_another_root_is_refused_unless_that_root_is_added() {
    let signer = signer(7, JwsAlgorithm::Es256);
    let other = TestPki::new(&mut rng(70), FROM, TO);
    let blob = blob(1).sign(&signer);
    let wrong_root = BlobOptions::new(other.root.der().to_vec(), AT);
    let reason = untrusted_reason(verify(&blob, &wrong_root));
    assert!(reason.contains("root"), "{reason}");
    // The intermediate of another PKI in x5c: its signature on the leaf does not verify.
    let mixed = vec![
        signer.leaf.der().to_vec(),
        other.intermediate.der().to_vec(),
    ];
    let with_both = wrong_root.clone().with_root(signer.root_der().to_vec());
    assert!(matches!(
        verify(&self::blob(1).x5c(mixed).sign(&signer), &with_both),
        Err(MetadataError::Untrusted(_))
    ));
    assert_eq!(verify(&blob, &with_both).unwrap().no(), 1);
}

#[test]
fn an_expired_signer_is_refused_and_accepted_up_to_its_last_second() {
    let mut rng = rng(8);
    let pki = TestPki::new(&mut rng, FROM, TO);
    let expires = UnixTime::from_secs(AT.as_secs() - 86_400);
    let signer = MdsSigner::with_pki(&mut rng, pki, JwsAlgorithm::Es256, FROM, expires);
    let blob = blob(1).sign(&signer);
    let at = |time| BlobOptions::new(signer.root_der().to_vec(), time);
    let reason = untrusted_reason(verify(&blob, &at(AT)));
    assert!(reason.contains("not valid at this time"), "{reason}");
    assert!(verify(&blob, &at(UnixTime::from_secs(expires.as_secs() + 1))).is_err());
    assert!(verify(&blob, &at(expires)).is_ok());
}

#[test]
fn a_not_yet_valid_signer_or_root_is_refused() {
    let mut rng = rng(9);
    let pki = TestPki::new(&mut rng, FROM, TO);
    let starts = UnixTime::from_secs(AT.as_secs() + 60);
    let signer = MdsSigner::with_pki(&mut rng, pki, JwsAlgorithm::Es256, starts, TO);
    let blob = blob(1).sign(&signer);
    let at = |time| BlobOptions::new(signer.root_der().to_vec(), time);
    assert!(matches!(
        verify(&blob, &at(AT)),
        Err(MetadataError::Untrusted(_))
    ));
    assert!(verify(&blob, &at(starts)).is_ok());
    // Before the whole PKI (root included) was valid.
    let early = UnixTime::from_secs(FROM.as_secs() - 1);
    assert!(matches!(
        verify(&blob, &at(early)),
        Err(MetadataError::Untrusted(_))
    ));
}

#[test]
fn an_expired_root_is_refused_even_when_left_out_of_x5c() {
    let mut rng = rng(10);
    let root_expires = UnixTime::from_secs(AT.as_secs() - 1);
    let root = TestCertificate::self_signed(
        &CertificateSpec::ca("Short Root", FROM, root_expires),
        TestKey::generate_p256(&mut rng),
    );
    let intermediate = root.issue(
        &CertificateSpec::ca("Short Intermediate", FROM, TO).with_serial(2),
        TestKey::generate_p256(&mut rng),
    );
    let leaf_key = TestKey::generate_p256(&mut rng);
    let leaf = intermediate.issue(
        &CertificateSpec::leaf("Signer", FROM, TO).with_serial(3),
        leaf_key,
    );
    let signer = MdsSigner {
        pki: TestPki::new(&mut rng, FROM, TO),
        leaf: leaf.clone(),
        algorithm: JwsAlgorithm::Es256,
    };
    let blob = blob(1)
        .x5c(vec![leaf.der().to_vec(), intermediate.der().to_vec()])
        .sign(&signer);
    let options = |time| BlobOptions::new(root.der().to_vec(), time);
    assert!(verify(&blob, &options(root_expires)).is_ok());
    assert!(matches!(
        verify(&blob, &options(AT)),
        Err(MetadataError::Untrusted(_))
    ));
}

#[test]
fn a_leaf_that_is_not_a_ca_cannot_issue_the_signer() {
    let mut rng = rng(11);
    let pki = TestPki::new(&mut rng, FROM, TO);
    let not_a_ca = pki.leaf(
        &CertificateSpec::leaf("Not a CA", FROM, TO).with_serial(20),
        TestKey::generate_p256(&mut rng),
    );
    let leaf = not_a_ca.issue(
        &CertificateSpec::leaf("Signer", FROM, TO).with_serial(21),
        TestKey::generate_p256(&mut rng),
    );
    let chain = vec![
        leaf.der().to_vec(),
        not_a_ca.der().to_vec(),
        pki.intermediate.der().to_vec(),
    ];
    let signer = MdsSigner {
        pki: pki.clone(),
        leaf,
        algorithm: JwsAlgorithm::Es256,
    };
    let reason = untrusted_reason(verify(
        &blob(1).x5c(chain).sign(&signer),
        &BlobOptions::new(pki.root.der().to_vec(), AT),
    ));
    assert!(reason.contains("not a CA"), "{reason}");
}

// --- no -----------------------------------------------------------------------------------------

#[test]
fn a_lower_no_is_refused_an_equal_or_higher_one_accepted() {
    let signer = signer(12, JwsAlgorithm::Es256);
    let blob = blob(41).sign(&signer);
    assert_eq!(
        verify(&blob, &options(&signer).after(42)).unwrap_err(),
        MetadataError::SerialRegressed {
            previous: 42,
            received: 41
        }
    );
    assert_eq!(verify(&blob, &options(&signer).after(41)).unwrap().no(), 41);
    assert_eq!(verify(&blob, &options(&signer).after(40)).unwrap().no(), 41);
    assert_eq!(verify(&blob, &options(&signer).after(0)).unwrap().no(), 41);
}

// --- signature ----------------------------------------------------------------------------------

#[test]
fn a_tampered_payload_header_or_signature_is_refused() {
    for algorithm in [JwsAlgorithm::Es256, JwsAlgorithm::Rs256] {
        let signer = signer(13, algorithm);
        let builder = blob(9);
        let blob = builder.sign(&signer);
        assert!(verify(&blob, &options(&signer)).is_ok());

        let payload = builder.payload_json();
        let raised = String::from_utf8(payload)
            .unwrap()
            .replace("\"no\":9", "\"no\":99");
        let tampered = replace_part(&blob, 1, &URL_SAFE_NO_PAD.encode(raised));
        assert_eq!(
            verify(&tampered, &options(&signer)).unwrap_err(),
            MetadataError::BadSignature
        );

        let header = String::from_utf8(builder.header_json(&signer))
            .unwrap()
            .replace("\"typ\":\"JWT\"", "\"typ\":\"jwt\"");
        let tampered = replace_part(&blob, 0, &URL_SAFE_NO_PAD.encode(header));
        assert_eq!(
            verify(&tampered, &options(&signer)).unwrap_err(),
            MetadataError::BadSignature
        );

        let mut signature = URL_SAFE_NO_PAD.decode(part(&blob, 2)).unwrap();
        signature[10] ^= 1;
        let tampered = replace_part(&blob, 2, &URL_SAFE_NO_PAD.encode(&signature));
        assert_eq!(
            verify(&tampered, &options(&signer)).unwrap_err(),
            MetadataError::BadSignature
        );
        signature.pop();
        let short = replace_part(&blob, 2, &URL_SAFE_NO_PAD.encode(&signature));
        assert_eq!(
            verify(&short, &options(&signer)).unwrap_err(),
            MetadataError::BadSignature
        );
    }
}

#[test]
fn a_blob_signed_by_another_key_than_the_x5c_leaf_is_refused() {
    let signer = signer(14, JwsAlgorithm::Es256);
    let impostor = MdsSigner {
        leaf: signer.pki.leaf(
            &CertificateSpec::leaf("Impostor", FROM, TO).with_serial(30),
            TestKey::generate_p256(&mut rng(140)),
        ),
        ..signer.clone()
    };
    // Signed with the impostor's key, but x5c names the real signer.
    let blob = blob(1).x5c(signer.x5c()).sign(&impostor);
    assert_eq!(
        verify(&blob, &options(&signer)).unwrap_err(),
        MetadataError::BadSignature
    );
}

// --- CRLs ---------------------------------------------------------------------------------------

fn day(n: u64) -> UnixTime {
    UnixTime::from_secs(n * 86_400)
}

/// A CRL window around `AT`: issued a day before, due a week after.
fn current() -> (UnixTime, UnixTime) {
    (
        UnixTime::from_secs(AT.as_secs() - day(1).as_secs()),
        UnixTime::from_secs(AT.as_secs() + day(7).as_secs()),
    )
}

#[test]
fn a_crl_revoking_the_signer_refuses_the_blob_one_not_listing_it_does_not() {
    let signer = signer(15, JwsAlgorithm::Es256);
    let blob = blob(1).sign(&signer);
    let (this_update, next_update) = current();
    let revoking = signer.intermediate_crl(&[99, signer.leaf.serial()], this_update, next_update);
    let reason = untrusted_reason(verify(&blob, &options(&signer).with_crls(vec![revoking])));
    assert!(reason.contains("revoked"), "{reason}");
    let others = signer.intermediate_crl(&[99, 100], this_update, next_update);
    assert!(verify(&blob, &options(&signer).with_crls(vec![others.clone()])).is_ok());
    let empty = signer.intermediate_crl(&[], this_update, next_update);
    assert!(verify(&blob, &options(&signer).with_crls(vec![empty])).is_ok());
}

#[test]
fn a_root_crl_revoking_the_intermediate_refuses_the_blob() {
    let signer = signer(16, JwsAlgorithm::Es256);
    let blob = blob(1).sign(&signer);
    let (this_update, next_update) = current();
    let revoking = signer.pki.root.crl(
        &[(signer.pki.intermediate.serial(), this_update)],
        this_update,
        next_update,
    );
    let reason = untrusted_reason(verify(&blob, &options(&signer).with_crls(vec![revoking])));
    assert!(reason.contains("revoked"), "{reason}");
    let clean = signer.pki.root.crl(&[], this_update, next_update);
    assert!(verify(&blob, &options(&signer).with_crls(vec![clean])).is_ok());
}

#[test]
fn a_crl_that_is_not_current_is_refused() {
    let signer = signer(17, JwsAlgorithm::Es256);
    let blob = blob(1).sign(&signer);
    let stale = signer.intermediate_crl(
        &[],
        UnixTime::from_secs(AT.as_secs() - day(14).as_secs()),
        UnixTime::from_secs(AT.as_secs() - 1),
    );
    let reason = untrusted_reason(verify(&blob, &options(&signer).with_crls(vec![stale])));
    assert!(reason.contains("not current"), "{reason}");
    let future = signer.intermediate_crl(
        &[],
        UnixTime::from_secs(AT.as_secs() + 1),
        UnixTime::from_secs(AT.as_secs() + day(7).as_secs()),
    );
    let reason = untrusted_reason(verify(&blob, &options(&signer).with_crls(vec![future])));
    assert!(reason.contains("not current"), "{reason}");
    // Bounds are inclusive.
    let edges = signer.intermediate_crl(&[], AT, AT);
    assert!(verify(&blob, &options(&signer).with_crls(vec![edges])).is_ok());
}

#[test]
fn a_crl_naming_the_issuer_but_signed_by_another_ca_is_refused() {
    let signer = signer(18, JwsAlgorithm::Es256);
    let blob = blob(1).sign(&signer);
    let (this_update, next_update) = current();
    // Another PKI's intermediate has the same name ("Test Intermediate") and another key.
    let other = TestPki::new(&mut rng(180), FROM, TO);
    assert_eq!(
        other.intermediate.subject_der(),
        signer.pki.intermediate.subject_der()
    );
    let forged = other.intermediate.crl(&[], this_update, next_update);
    let reason = untrusted_reason(verify(&blob, &options(&signer).with_crls(vec![forged])));
    assert!(reason.contains("not signed"), "{reason}");
}

#[test]
fn crls_of_unrelated_issuers_are_ignored_unless_crls_are_required() {
    let signer = signer(19, JwsAlgorithm::Es256);
    let blob = blob(1).sign(&signer);
    let (this_update, next_update) = current();
    let mut rng = rng(190);
    let unrelated = TestCertificate::self_signed(
        &CertificateSpec::ca("Unrelated CA", FROM, TO),
        TestKey::generate_p256(&mut rng),
    );
    let unrelated_crl = unrelated.crl(
        &[(signer.leaf.serial(), this_update)],
        this_update,
        next_update,
    );
    assert!(
        verify(
            &blob,
            &options(&signer).with_crls(vec![unrelated_crl.clone()])
        )
        .is_ok()
    );
    // Required: every certificate but the root needs a CRL from its issuer.
    let required = options(&signer).require_crls();
    assert!(matches!(
        verify(
            &blob,
            &required.clone().with_crls(vec![unrelated_crl.clone()])
        ),
        Err(MetadataError::Untrusted(_))
    ));
    let intermediate_crl = signer.intermediate_crl(&[], this_update, next_update);
    let root_crl = signer.pki.root.crl(&[], this_update, next_update);
    let reason = untrusted_reason(verify(
        &blob,
        &required.clone().with_crls(vec![intermediate_crl.clone()]),
    ));
    assert!(reason.contains("no CRL"), "{reason}");
    assert!(
        verify(
            &blob,
            &required.with_crls(vec![unrelated_crl, root_crl, intermediate_crl])
        )
        .is_ok()
    );
}

#[test]
fn an_unparsable_crl_is_refused() {
    let signer = signer(20, JwsAlgorithm::Es256);
    let blob = blob(1).sign(&signer);
    assert!(matches!(
        verify(
            &blob,
            &options(&signer).with_crls(vec![b"not a CRL".to_vec()])
        ),
        Err(MetadataError::Untrusted(_))
    ));
}

// --- shapes and sizes ---------------------------------------------------------------------------

#[test]
fn an_oversized_blob_is_refused_before_anything_else() {
    let signer = signer(21, JwsAlgorithm::Es256);
    let too_large = vec![b'a'; MAX_BLOB_LEN + 1];
    assert_eq!(
        verify(&too_large, &options(&signer)).unwrap_err(),
        MetadataError::TooLarge {
            len: MAX_BLOB_LEN + 1,
            limit: MAX_BLOB_LEN
        }
    );
    // A trailing line break (as a downloaded file may end) is tolerated.
    let mut padded = blob(1).sign(&signer);
    padded.push(b'\n');
    assert!(verify(&padded, &options(&signer)).is_ok());
}

#[test]
fn malformed_jws_shapes_are_malformed() {
    let signer = signer(22, JwsAlgorithm::Es256);
    let good = blob(1).sign(&signer);
    let header = part(&good, 0);
    let payload = part(&good, 1);
    let signature = part(&good, 2);
    let malformed = |input: &[u8]| {
        let result = verify(input, &options(&signer));
        assert!(
            matches!(result, Err(MetadataError::Malformed(_))),
            "{:?}: {result:?}",
            String::from_utf8_lossy(&input[..input.len().min(60)])
        );
    };
    malformed(format!("{header}.{payload}").as_bytes());
    malformed(format!("{header}.{payload}.{signature}.{signature}").as_bytes());
    malformed(b"");
    malformed(b"..");
    malformed(format!("{header}!.{payload}.{signature}").as_bytes());
    malformed(format!("{header}.{payload}.{signature}=").as_bytes());
    malformed(format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode("[1,2]")).as_bytes());
    malformed(
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode("{\"x5c\":[]}")
        )
        .as_bytes(),
    );
    malformed(&[0xff, 0xfe, b'.', b'.']);
    // Signed, but the payload is not a MetadataBLOBPayload.
    for raw in [
        &b"not json"[..],
        br#"{"nextUpdate":"2027-02-01","entries":[]}"#,
        br#"{"no":1,"nextUpdate":"2027-02-30","entries":[]}"#,
        br#"{"no":-1,"nextUpdate":"2027-02-01","entries":[]}"#,
        br#"{"no":1,"nextUpdate":"2027-02-01"}"#,
        br#"{"no":1,"nextUpdate":"2027-02-01","entries":[{"aaguid":"nope"}]}"#,
    ] {
        malformed(&blob(1).raw_payload(raw).sign(&signer));
    }
    // The signed minimal payload is fine.
    let minimal = blob(1).raw_payload(r#"{"no":5,"nextUpdate":"2027-02-01","entries":[]}"#);
    assert_eq!(
        verify(&minimal.sign(&signer), &options(&signer))
            .unwrap()
            .no(),
        5
    );
}

// --- PEM ----------------------------------------------------------------------------------------

#[test]
fn pem_certificates_and_crls_are_read_in_order_and_der_passes_through() {
    let signer = signer(23, JwsAlgorithm::Es256);
    let text = format!(
        "Subject: the signer\n{}junk between\n{}",
        signer.leaf.pem(),
        signer.pki.root.pem()
    );
    assert_eq!(
        certificates_from_pem(text.as_bytes()).unwrap(),
        vec![signer.leaf.der().to_vec(), signer.root_der().to_vec()]
    );
    assert_eq!(
        certificates_from_pem(signer.root_der()).unwrap(),
        vec![signer.root_der().to_vec()]
    );
    let (this_update, next_update) = current();
    let crl = signer.intermediate_crl(&[5], this_update, next_update);
    let body: Vec<String> = STANDARD
        .encode(&crl)
        .as_bytes()
        .chunks(64)
        .map(|line| String::from_utf8(line.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "{}-----BEGIN X509 CRL-----\n{}\n-----END X509 CRL-----\n",
        signer.pki.root.pem(),
        body.join("\n")
    );
    assert_eq!(crls_from_pem(pem.as_bytes()).unwrap(), vec![crl.clone()]);
    assert_eq!(crls_from_pem(&crl).unwrap(), vec![crl]);
    // The root read back from PEM verifies a BLOB.
    let root = certificates_from_pem(signer.pki.root.pem().as_bytes()).unwrap();
    let options = BlobOptions::new(root[0].clone(), AT);
    assert!(verify(&blob(1).sign(&signer), &options).is_ok());
}

#[test]
fn broken_pem_is_malformed() {
    let signer = signer(24, JwsAlgorithm::Es256);
    let pem = signer.leaf.pem();
    let malformed = |text: &str| {
        assert!(
            matches!(
                certificates_from_pem(text.as_bytes()),
                Err(MetadataError::Malformed(_))
            ),
            "{text}"
        );
    };
    malformed(pem.trim_end().trim_end_matches("-----END CERTIFICATE-----"));
    malformed(&pem.replace("MI", "M!"));
    malformed("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(matches!(
        crls_from_pem(pem.as_bytes()),
        Err(MetadataError::Malformed(_))
    ));
    let many = pem.repeat(65);
    malformed(&many);
    assert_eq!(
        certificates_from_pem(pem.repeat(64).as_bytes())
            .unwrap()
            .len(),
        64
    );
}

// --- never panic --------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let options = BlobOptions::new(Vec::new(), AT).with_crls(vec![data.clone()]);
        prop_assert!(Metadata::from_blob(&data, &options).is_err());
        let _ = Metadata::from_payload_json(&data);
        let _ = certificates_from_pem(&data);
        mfa_webauthn::fuzz_metadata_blob(&data);
    }

    #[test]
    fn any_changed_byte_of_a_signed_blob_is_refused(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let signer = signer(25, JwsAlgorithm::Es256);
        let mut blob = blob(3).sign(&signer);
        let at = index.index(blob.len());
        prop_assume!(blob[at] != byte);
        blob[at] = byte;
        prop_assert!(Metadata::from_blob(&blob, &options(&signer)).is_err());
    }

}
