//! The test PKI (`testing::pki`) and the attested registrations of the software authenticator:
//! certificates and CRLs parse with `x509-cert` and carry what their spec asked for, signatures
//! verify with the RustCrypto verifiers directly, and `packed` (with `x5c`) and `fido-u2f`
//! registrations verify through `RegistrationState`, with and without a chain trust, each
//! with a twin that must be refused.
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use base64::Engine as _;
use der::{Decode as _, Encode as _};
use mfa_core::UnixTime;
use mfa_webauthn::attestation::x509::ChainTrust;
use mfa_webauthn::attestation::{AttestationFormat, AttestationType};
use mfa_webauthn::testing::pki::{
    CertificateSpec, JwsAlgorithm, TestCertificate, TestKey, TestKeyKind, TestPki,
};
use mfa_webauthn::testing::{SoftwareAttestation, SoftwareAuthenticator};
use mfa_webauthn::{
    AttestationConveyance, AttestationOptions, RegisteredCredential, RegistrationRequest,
    RegistrationResponse, RegistrationState, RelyingParty, RustCryptoVerifier, UserEntity,
    WebAuthnError,
};
use p256::ecdsa::signature::Verifier as _;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use x509_cert::Certificate;
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, CrlNumber, KeyUsage,
    SubjectKeyIdentifier,
};

const ORIGIN: &str = "https://login.example.com";
/// 2023-11-14T22:13:20Z.
const FROM: UnixTime = UnixTime::from_secs(1_700_000_000);
/// 2033-05-18T03:33:20Z.
const TO: UnixTime = UnixTime::from_secs(2_000_000_000);
/// Inside `FROM..=TO`: when the ceremonies run.
const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const AAGUID: [u8; 16] = *b"mfa-test-aaguid!";

fn rng() -> StdRng {
    StdRng::seed_from_u64(17)
}

fn parse(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap()
}

/// Verifies `cert`'s signature with `issuer`'s key through the RustCrypto crates directly.
fn assert_signed_by(cert: &Certificate, issuer: &TestKey) {
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let signature = cert.signature().as_bytes().unwrap();
    assert_signature(
        issuer,
        &cert.signature_algorithm().oid.to_string(),
        &tbs,
        signature,
    );
}

fn assert_signature(issuer: &TestKey, algorithm: &str, message: &[u8], signature: &[u8]) {
    match issuer.kind() {
        TestKeyKind::P256 => {
            assert_eq!(algorithm, "1.2.840.10045.4.3.2", "ecdsa-with-SHA256");
            let signature = p256::ecdsa::Signature::from_der(signature).unwrap();
            let key = issuer.p256().unwrap().verifying_key();
            key.verify(message, &signature).unwrap();
        }
        TestKeyKind::Rsa2048 => {
            assert_eq!(
                algorithm, "1.2.840.113549.1.1.11",
                "sha256WithRSAEncryption"
            );
            let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(
                issuer.rsa().unwrap().to_public_key(),
            );
            let signature = rsa::pkcs1v15::Signature::try_from(signature).unwrap();
            key.verify(message, &signature).unwrap();
        }
    }
}

fn subject_attribute(cert: &Certificate, oid: &str) -> Vec<String> {
    cert.tbs_certificate()
        .subject()
        .iter()
        .filter(|atv| atv.oid.to_string() == oid)
        .map(|atv| String::from_utf8(atv.value.value().to_vec()).unwrap())
        .collect()
}

/// SHA-1 of the subjectPublicKey bits, computed from the parsed certificate.
fn key_identifier_of(cert: &Certificate) -> [u8; 20] {
    use sha1::Digest as _;
    let bits = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .unwrap();
    sha1::Sha1::digest(bits).into()
}

// --- certificates --------------------------------------------------------------------------------

#[test]
fn the_pki_chain_parses_and_each_certificate_is_signed_by_its_issuer() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let leaf_key = TestKey::generate_p256(&mut rng);
    let leaf = pki.leaf(
        &CertificateSpec::leaf("Leaf", FROM, TO).with_serial(0x8000_0000_0000_0001),
        leaf_key,
    );

    let root = parse(pki.root.der());
    let intermediate = parse(pki.intermediate.der());
    let parsed_leaf = parse(leaf.der());
    for cert in [&root, &intermediate, &parsed_leaf] {
        assert_eq!(
            cert.tbs_certificate().version(),
            x509_cert::certificate::Version::V3
        );
        let validity = cert.tbs_certificate().validity();
        assert_eq!(validity.not_before.to_unix_duration(), FROM.since_epoch());
        assert_eq!(validity.not_after.to_unix_duration(), TO.since_epoch());
    }
    assert_signed_by(&root, pki.root.key());
    assert_signed_by(&intermediate, pki.root.key());
    assert_signed_by(&parsed_leaf, pki.intermediate.key());

    // Names chain: each issuer is its issuer's subject.
    let name = |cert: &Certificate| cert.tbs_certificate().subject().to_der().unwrap();
    let issuer = |cert: &Certificate| cert.tbs_certificate().issuer().to_der().unwrap();
    assert_eq!(issuer(&root), name(&root));
    assert_eq!(issuer(&intermediate), name(&root));
    assert_eq!(issuer(&parsed_leaf), name(&intermediate));
    assert_eq!(name(&root), pki.root.subject_der());
    assert_eq!(subject_attribute(&root, "2.5.4.3"), ["Test Root"]);
    assert_eq!(
        subject_attribute(&intermediate, "2.5.4.3"),
        ["Test Intermediate"]
    );
    assert_eq!(subject_attribute(&parsed_leaf, "2.5.4.3"), ["Leaf"]);

    // Serials, including one with the top bit set (encoded with a leading zero, positive).
    assert_eq!(root.tbs_certificate().serial_number().as_bytes(), [1]);
    assert_eq!(
        intermediate.tbs_certificate().serial_number().as_bytes(),
        [2]
    );
    assert_eq!(
        parsed_leaf.tbs_certificate().serial_number().as_bytes(),
        [0, 0x80, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(leaf.serial(), 0x8000_0000_0000_0001);

    // Basic constraints and key usage.
    let constraints = |cert: &Certificate| {
        cert.tbs_certificate()
            .get_extension::<BasicConstraints>()
            .unwrap()
            .unwrap()
    };
    let (critical, root_bc) = constraints(&root);
    assert!(critical && root_bc.ca && root_bc.path_len_constraint.is_none());
    let (_, intermediate_bc) = constraints(&intermediate);
    assert!(intermediate_bc.ca);
    assert_eq!(intermediate_bc.path_len_constraint, Some(0));
    let (_, leaf_bc) = constraints(&parsed_leaf);
    assert!(!leaf_bc.ca);
    let usage = |cert: &Certificate| {
        cert.tbs_certificate()
            .get_extension::<KeyUsage>()
            .unwrap()
            .unwrap()
            .1
    };
    assert!(usage(&root).key_cert_sign() && usage(&root).crl_sign());
    assert!(!usage(&root).digital_signature());
    assert!(usage(&parsed_leaf).digital_signature() && !usage(&parsed_leaf).key_cert_sign());

    // Key identifiers: SKI is SHA-1 of the key bits; AKI names the issuer's SKI.
    let ski = |cert: &Certificate| {
        let (_, SubjectKeyIdentifier(id)) = cert
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
            .unwrap()
            .unwrap();
        id.as_bytes().to_vec()
    };
    assert_eq!(ski(&parsed_leaf), key_identifier_of(&parsed_leaf));
    assert_eq!(leaf.key().key_identifier(), key_identifier_of(&parsed_leaf));
    assert_eq!(leaf.key().key_identifier_hex().len(), 40);
    let (_, aki) = parsed_leaf
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), ski(&intermediate));

    assert_eq!(
        pki.x5c(&leaf),
        [leaf.der().to_vec(), pki.intermediate.der().to_vec()]
    );
}

#[test]
fn a_packed_attestation_certificate_meets_webauthn_8_2_1() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let cert = pki.leaf(
        &CertificateSpec::packed_attestation(AAGUID, FROM, TO),
        TestKey::generate_p256(&mut rng),
    );
    let parsed = parse(cert.der());
    assert_eq!(subject_attribute(&parsed, "2.5.4.6"), ["US"]);
    assert_eq!(
        subject_attribute(&parsed, "2.5.4.11"),
        ["Authenticator Attestation"]
    );
    assert_eq!(subject_attribute(&parsed, "2.5.4.10").len(), 1);
    assert_eq!(subject_attribute(&parsed, "2.5.4.3").len(), 1);
    let country = parsed
        .tbs_certificate()
        .subject()
        .country()
        .unwrap()
        .unwrap();
    assert_eq!(country.as_str(), "US", "C is a PrintableString");
    let aaguid_ext = parsed
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|ext| ext.extn_id.to_string() == "1.3.6.1.4.1.45724.1.1.4")
        .unwrap();
    assert!(!aaguid_ext.critical);
    let mut inner = vec![0x04, 16];
    inner.extend_from_slice(&AAGUID);
    assert_eq!(
        aaguid_ext.extn_value.as_bytes(),
        inner,
        "OCTET STRING of 16 bytes"
    );
}

#[test]
fn rsa_issuers_sign_with_sha256_rsa_and_times_after_2049_are_generalized() {
    let mut rng = rng();
    let after_2049 = UnixTime::from_secs(2_600_000_000); // 2052-05-22
    let root = TestCertificate::self_signed(
        &CertificateSpec::ca("RSA Root", FROM, after_2049),
        TestKey::shared_rsa2048(),
    );
    let p256_leaf = root.issue(
        &CertificateSpec::leaf("P-256 leaf of an RSA root", FROM, after_2049).with_serial(9),
        TestKey::generate_p256(&mut rng),
    );
    let rsa_leaf = TestCertificate::self_signed(
        &CertificateSpec::leaf("RSA self-signed leaf", FROM, TO),
        TestKey::shared_rsa2048(),
    );
    let parsed_root = parse(root.der());
    assert_signed_by(&parsed_root, root.key());
    assert_signed_by(&parse(p256_leaf.der()), root.key());
    assert_signed_by(&parse(rsa_leaf.der()), rsa_leaf.key());
    let validity = parsed_root.tbs_certificate().validity();
    assert!(matches!(
        validity.not_before,
        x509_cert::time::Time::UtcTime(_)
    ));
    assert!(matches!(
        validity.not_after,
        x509_cert::time::Time::GeneralTime(_)
    ));
    assert_eq!(
        validity.not_after.to_unix_duration(),
        after_2049.since_epoch()
    );
    let spki = parsed_root.tbs_certificate().subject_public_key_info();
    assert_eq!(spki.algorithm.oid.to_string(), "1.2.840.113549.1.1.1");
    assert_eq!(spki.to_der().unwrap(), root.key().spki_der());
}

#[test]
fn a_crl_distribution_point_is_a_full_name_uri() {
    let mut rng = rng();
    let spec = CertificateSpec {
        crl_distribution_point: Some("https://crl.example.com/root.crl".to_owned()),
        ..CertificateSpec::leaf("With CRL DP", FROM, TO)
    };
    let cert = parse(TestCertificate::self_signed(&spec, TestKey::generate_p256(&mut rng)).der());
    let (critical, CrlDistributionPoints(points)) = cert
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
        .unwrap()
        .unwrap();
    assert!(!critical);
    let [
        DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(names)),
            ..
        },
    ] = points.as_slice()
    else {
        panic!("one distribution point with a full name: {points:?}");
    };
    let [GeneralName::UniformResourceIdentifier(uri)] = names.as_slice() else {
        panic!("one URI: {names:?}");
    };
    assert_eq!(uri.as_str(), "https://crl.example.com/root.crl");
}

#[test]
fn pem_is_the_der_in_64_column_base64() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let pem = pki.root.pem();
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.first(), Some(&"-----BEGIN CERTIFICATE-----"));
    assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    assert!(pem.ends_with('\n'));
    let body = &lines[1..lines.len() - 1];
    assert!(body[..body.len() - 1].iter().all(|line| line.len() == 64));
    assert!((1..=64).contains(&body.last().unwrap().len()));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body.concat())
        .unwrap();
    assert_eq!(decoded, pki.root.der());
}

// --- keys ----------------------------------------------------------------------------------------

#[test]
fn jws_signatures_verify_with_the_public_keys() {
    let mut rng = rng();
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJubyI6MX0";
    let ec = TestKey::generate_p256(&mut rng);
    let es256 = ec.sign(JwsAlgorithm::Es256, message);
    assert_eq!(es256.len(), 64, "raw r || s");
    let signature = p256::ecdsa::Signature::from_slice(&es256).unwrap();
    ec.p256()
        .unwrap()
        .verifying_key()
        .verify(message, &signature)
        .unwrap();
    assert!(
        ec.p256()
            .unwrap()
            .verifying_key()
            .verify(b"another message", &signature)
            .is_err()
    );

    let rsa_key = TestKey::shared_rsa2048();
    let public = rsa_key.rsa().unwrap().to_public_key();
    let rs256 = rsa_key.sign(JwsAlgorithm::Rs256, message);
    assert_eq!(rs256.len(), 256);
    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public.clone())
        .verify(
            message,
            &rsa::pkcs1v15::Signature::try_from(rs256.as_slice()).unwrap(),
        )
        .unwrap();
    let ps256 = rsa_key.sign(JwsAlgorithm::Ps256, message);
    let pss = rsa::pss::VerifyingKey::<sha2::Sha256>::new(public);
    let ps_signature = rsa::pss::Signature::try_from(ps256.as_slice()).unwrap();
    pss.verify(message, &ps_signature).unwrap();
    assert!(pss.verify(b"another message", &ps_signature).is_err());
    assert_eq!(JwsAlgorithm::Ps256.name(), "PS256");
    assert_eq!(
        rsa_key.sign(JwsAlgorithm::Ps256, message),
        ps256,
        "deterministic salt"
    );
}

#[test]
#[should_panic(expected = "RS256 does not fit a P256 key")]
fn a_jws_algorithm_that_does_not_fit_the_key_panics() {
    let _ = TestKey::generate_p256(&mut rng()).sign(JwsAlgorithm::Rs256, b"message");
}

#[test]
fn the_shared_rsa_key_is_one_key_and_its_spki_parses() {
    let first = TestKey::shared_rsa2048();
    let second = TestKey::shared_rsa2048();
    assert_eq!(first.spki_der(), second.spki_der());
    assert_eq!(first.kind(), TestKeyKind::Rsa2048);
    assert_eq!(first.cose_algorithm(), -257);
    let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(first.spki_der()).unwrap();
    let bits = spki.subject_public_key.as_bytes().unwrap();
    use sha1::Digest as _;
    assert_eq!(
        first.key_identifier().as_slice(),
        sha1::Sha1::digest(bits).as_slice()
    );
    assert!(
        !format!("{first:?}").contains("PrivateKey"),
        "Debug shows no key material"
    );
}

// --- CRLs ----------------------------------------------------------------------------------------

#[test]
fn a_crl_parses_and_lists_the_revoked_serials() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let revoked_at = UnixTime::from_secs(1_750_000_000);
    let this_update = UnixTime::from_secs(1_760_000_000);
    let next_update = UnixTime::from_secs(1_770_000_000);
    let der = pki.intermediate.crl(
        &[(7, revoked_at), (0xdead_beef, this_update)],
        this_update,
        next_update,
    );
    let crl = CertificateList::<Rfc5280>::from_der(&der).unwrap();
    let tbs = &crl.tbs_cert_list;
    assert_eq!(tbs.version, x509_cert::certificate::Version::V2);
    assert_eq!(tbs.issuer.to_der().unwrap(), pki.intermediate.subject_der());
    assert_eq!(
        tbs.this_update.to_unix_duration(),
        this_update.since_epoch()
    );
    assert_eq!(
        tbs.next_update.unwrap().to_unix_duration(),
        next_update.since_epoch()
    );
    let revoked: Vec<(Vec<u8>, u64)> = tbs
        .revoked_certificates
        .as_ref()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry.serial_number.as_bytes().to_vec(),
                entry.revocation_date.to_unix_duration().as_secs(),
            )
        })
        .collect();
    assert_eq!(
        revoked,
        [
            (vec![7], revoked_at.as_secs()),
            (vec![0, 0xde, 0xad, 0xbe, 0xef], this_update.as_secs())
        ]
    );
    let number = tbs
        .crl_extensions
        .as_ref()
        .unwrap()
        .iter()
        .find(|ext| ext.extn_id.to_string() == "2.5.29.20")
        .unwrap();
    let CrlNumber(number) = CrlNumber::from_der(number.extn_value.as_bytes()).unwrap();
    // thisUpdate in seconds: 1_760_000_000 = 0x68e7_7800.
    assert_eq!(number.as_bytes(), [0x68, 0xe7, 0x78, 0x00]);
    assert_signature(
        pki.intermediate.key(),
        &crl.signature_algorithm.oid.to_string(),
        &tbs.to_der().unwrap(),
        crl.signature.as_bytes().unwrap(),
    );

    let empty =
        CertificateList::<Rfc5280>::from_der(&pki.root.crl(&[], this_update, next_update)).unwrap();
    assert!(empty.tbs_cert_list.revoked_certificates.is_none());
}

// --- attested registrations ----------------------------------------------------------------------

/// A registration ceremony answered by `auth`; the state comes back twice (states are
/// consumed by `verify`).
fn ceremony(
    auth: &mut SoftwareAuthenticator,
    rng: &mut StdRng,
) -> (RegistrationState, RegistrationState, RegistrationResponse) {
    let rp = RelyingParty::new("example.com", "Example", ORIGIN);
    let user = UserEntity::random(rng, "alice@example.com", "Alice");
    let request = RegistrationRequest {
        attestation: AttestationConveyance::Direct,
        ..RegistrationRequest::default()
    };
    let (options, state) = rp.start_registration(rng, NOW, user, request);
    let copy = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    let response = RegistrationResponse::from_json(&auth.register(&options, ORIGIN)).unwrap();
    (state, copy, response)
}

fn verify_plain(
    state: RegistrationState,
    response: &RegistrationResponse,
) -> Result<RegisteredCredential, WebAuthnError> {
    state.verify(
        response,
        NOW,
        &RustCryptoVerifier,
        &AttestationOptions::default(),
    )
}

fn verify_trusting(
    state: RegistrationState,
    response: &RegistrationResponse,
    roots: &[&TestCertificate],
    options: &AttestationOptions,
) -> Result<RegisteredCredential, WebAuthnError> {
    let trust = ChainTrust::new(roots.iter().map(|root| root.der().to_vec()).collect());
    state.verify_with_trust(response, NOW, &RustCryptoVerifier, options, &trust)
}

/// [`verify_trusting`] one `root`, at the ceremony's time.
fn trusted_by(
    state: RegistrationState,
    response: &RegistrationResponse,
    root: &TestCertificate,
) -> Result<RegisteredCredential, WebAuthnError> {
    verify_trusting(state, response, &[root], &AttestationOptions::default())
}

const WRONG_ROOT: &str = "attestation not trusted: chain does not lead to a trusted root";
const OUT_OF_VALIDITY: &str = "attestation not trusted: certificate not valid at this time";

/// The registration was refused by the chain trust, for `reason`.
fn assert_untrusted(result: Result<RegisteredCredential, WebAuthnError>, reason: &str) {
    match result {
        Err(WebAuthnError::AttestationInvalid(why)) => assert_eq!(why, reason),
        other => panic!("expected a trust refusal ({reason}), got {other:?}"),
    }
}

/// `auth`'s registrations are refused by a chain trust in `other_root`, and by one in `root`
/// at a second past the validity and a second before it.
fn assert_refused_by_another_root_and_outside_the_validity(
    auth: &mut SoftwareAuthenticator,
    rng: &mut StdRng,
    root: &TestCertificate,
    other_root: &TestCertificate,
) {
    let (state, copy, response) = ceremony(auth, rng);
    let now = AttestationOptions::default();
    assert_untrusted(
        verify_trusting(state, &response, &[other_root], &now),
        WRONG_ROOT,
    );
    let after = AttestationOptions::at(UnixTime::from_secs(TO.as_secs() + 1));
    assert_untrusted(
        verify_trusting(copy, &response, &[root], &after),
        OUT_OF_VALIDITY,
    );
    let (state, _, response) = ceremony(auth, rng);
    let before = AttestationOptions::at(UnixTime::from_secs(FROM.as_secs() - 1));
    assert_untrusted(
        verify_trusting(state, &response, &[root], &before),
        OUT_OF_VALIDITY,
    );
}

#[test]
fn packed_with_x5c_verifies_as_basic_and_chains_to_the_root() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    auth.aaguid = AAGUID;
    auth.attestation = pki.packed_attestation(&mut rng, AAGUID);
    let SoftwareAttestation::Packed { key, x5c } = auth.attestation.clone() else {
        panic!("packed_attestation gives Packed");
    };
    let leaf_spki = parse(&x5c[0])
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    assert_eq!(
        leaf_spki,
        key.spki_der(),
        "the leaf certifies the attestation key"
    );
    let attestation_point = key.p256().unwrap().verifying_key().to_sec1_point(false);
    assert_ne!(
        attestation_point.as_bytes(),
        auth.public_key_sec1(),
        "the attestation key is not the credential key"
    );
    assert_eq!(x5c[1], pki.intermediate.der());

    let (state, copy, response) = ceremony(&mut auth, &mut rng);
    let registered = verify_plain(state, &response).unwrap();
    assert_eq!(registered.attestation.format, AttestationFormat::Packed);
    assert_eq!(
        registered.attestation.attestation_type,
        AttestationType::Basic
    );
    assert_eq!(
        registered.attestation.certificates,
        [x5c[0].clone(), pki.intermediate.der().to_vec()],
        "leaf first"
    );
    // b"mfa-test-aaguid!" in hex, hyphenated.
    assert_eq!(
        registered.credential.aaguid.as_deref(),
        Some("6d66612d-7465-7374-2d61-616775696421")
    );
    let trusted = trusted_by(copy, &response, &pki.root);
    assert_eq!(trusted.unwrap().credential, registered.credential);
}

#[test]
fn packed_with_x5c_is_refused_by_another_root_and_outside_the_validity() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let other = TestPki::new(&mut rng, FROM, TO);
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    auth.aaguid = AAGUID;
    auth.attestation = pki.packed_attestation(&mut rng, AAGUID);
    assert_refused_by_another_root_and_outside_the_validity(
        &mut auth,
        &mut rng,
        &pki.root,
        &other.root,
    );
}

#[test]
fn packed_with_an_rsa_attestation_key_verifies_and_a_wrong_aaguid_is_refused() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let leaf = pki.leaf(
        &CertificateSpec::packed_attestation(AAGUID, FROM, TO).with_serial(40),
        TestKey::shared_rsa2048(),
    );
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    auth.aaguid = AAGUID;
    auth.attestation = SoftwareAttestation::packed(&leaf, &[&pki.intermediate]);
    let (state, _, response) = ceremony(&mut auth, &mut rng);
    let registered = trusted_by(state, &response, &pki.root).unwrap();
    assert_eq!(
        registered.attestation.attestation_type,
        AttestationType::Basic
    );

    // The certificate's AAGUID extension must match the authenticator data.
    auth.aaguid = [0x42; 16];
    let (state, _, response) = ceremony(&mut auth, &mut rng);
    match verify_plain(state, &response) {
        Err(WebAuthnError::AttestationInvalid(why)) => assert!(why.contains("AAGUID"), "{why}"),
        other => panic!("expected an AAGUID mismatch, got {other:?}"),
    }
}

#[test]
fn fido_u2f_verifies_as_basic_with_a_zero_aaguid_and_chains_to_the_root_only() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let other = TestPki::new(&mut rng, FROM, TO);
    // fido-u2f sends one certificate: issue it from the root so the root anchors it.
    let certificate = pki.root.issue(
        &CertificateSpec::leaf("Test U2F Attestation", FROM, TO).with_serial(77),
        TestKey::generate_p256(&mut rng),
    );
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    auth.aaguid = AAGUID; // ignored: U2F reports all zero
    auth.attestation = SoftwareAttestation::fido_u2f(&certificate);
    assert_eq!(auth.attestation.format(), "fido-u2f");

    let (state, copy, response) = ceremony(&mut auth, &mut rng);
    let registered = verify_plain(state, &response).unwrap();
    assert_eq!(registered.attestation.format, AttestationFormat::FidoU2f);
    assert_eq!(
        registered.attestation.attestation_type,
        AttestationType::Basic
    );
    assert_eq!(
        registered.attestation.certificates,
        [certificate.der().to_vec()]
    );
    assert_eq!(
        registered.credential.aaguid.as_deref(),
        Some("00000000-0000-0000-0000-000000000000")
    );
    trusted_by(copy, &response, &pki.root).unwrap();

    assert_refused_by_another_root_and_outside_the_validity(
        &mut auth,
        &mut rng,
        &pki.root,
        &other.root,
    );
}

#[test]
fn fido_u2f_from_the_pki_chains_to_the_intermediate_and_an_rsa_key_is_refused() {
    let mut rng = rng();
    let pki = TestPki::new(&mut rng, FROM, TO);
    let mut auth = SoftwareAuthenticator::new(&mut rng);
    auth.attestation = pki.fido_u2f_attestation(&mut rng);
    let (state, copy, response) = ceremony(&mut auth, &mut rng);
    trusted_by(state, &response, &pki.intermediate).unwrap();
    // The root alone cannot anchor it: the intermediate is not sent.
    assert_untrusted(trusted_by(copy, &response, &pki.root), WRONG_ROOT);

    // fido-u2f attestation keys are P-256; the authenticator signs with RSA anyway, and the
    // verifier refuses.
    let rsa_cert = pki.leaf(
        &CertificateSpec::leaf("RSA U2F", FROM, TO).with_serial(5),
        TestKey::shared_rsa2048(),
    );
    auth.attestation = SoftwareAttestation::fido_u2f(&rsa_cert);
    let (state, _, response) = ceremony(&mut auth, &mut rng);
    assert!(matches!(
        verify_plain(state, &response),
        Err(WebAuthnError::AttestationInvalid(_))
    ));
}
