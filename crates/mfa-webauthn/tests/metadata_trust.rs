//! `MetadataTrust`: every rule with a passing and a failing case, on registrations the software
//! authenticator attests with certificates from the test PKI and metadata written in code from
//! the MDS3 specification. Also the AAL3 plumbing (`hardware_backed` into `Evidence`) and
//! authenticator names.

#![allow(clippy::unwrap_used, reason = "test helpers read fixed test data")]

use std::sync::Arc;

use base64::Engine as _;
use mfa_core::{MemoryStore, UnixTime};
use mfa_webauthn::attestation::x509::ChainTrust;
use mfa_webauthn::metadata::names::{AuthenticatorNames, NameSource, ProviderNames};
use mfa_webauthn::metadata::trust::{MetadataTrust, StatusPolicy};
use mfa_webauthn::metadata::{
    Aaguid, AuthenticatorStatus, CertificationLevel, KeyIdentifier, MdsDate, Metadata,
    MetadataEntry, MetadataStatement, StatusReport,
};
use mfa_webauthn::testing::pki::{CertificateSpec, TestCertificate, TestKey, TestPki};
use mfa_webauthn::testing::{SoftwareAttestation, SoftwareAuthenticator};
use mfa_webauthn::{
    AcceptAnyAttestation, AttestationConveyance, AttestationOptions, AttestationTrust,
    AuthenticationRequest, AuthenticationResponse, RegisteredCredential, RegistrationRequest,
    RegistrationResponse, RelyingParty, RustCryptoVerifier, StoredCredential, UserEntity,
    WebAuthnError, finish_registration_with_trust, start_registration,
};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

const ORIGIN: &str = "https://example.com";
/// 2027-01-15T08:00:00Z.
const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const DAY: u64 = 86_400;
const FROM: UnixTime = UnixTime::from_secs(1_800_000_000 - 400 * DAY);
const TO: UnixTime = UnixTime::from_secs(1_800_000_000 + 3_650 * DAY);
const AAGUID: [u8; 16] = *b"mfa-test-aaguid!";
const MODEL: &str = "Test Key 5 NFC";

fn date(text: &str) -> MdsDate {
    text.parse().unwrap()
}

/// A test PKI, a second one whose root vouches for nothing here, and an RNG.
struct Fixture {
    rng: StdRng,
    pki: TestPki,
    other: TestPki,
}

impl Fixture {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let pki = TestPki::new(&mut rng, FROM, TO);
        let other = TestPki::new(&mut rng, FROM, TO);
        Self { rng, pki, other }
    }

    /// A packed attestation leaf for [`AAGUID`] issued by the PKI's intermediate.
    fn packed_leaf(&mut self) -> TestCertificate {
        let spec = CertificateSpec::packed_attestation(AAGUID, FROM, TO).with_serial(4242);
        self.pki.leaf(&spec, TestKey::generate_p256(&mut self.rng))
    }

    /// An authenticator reporting [`AAGUID`] with `packed` attestation by `leaf`.
    fn packed_authenticator(&mut self, leaf: &TestCertificate) -> SoftwareAuthenticator {
        let mut auth = SoftwareAuthenticator::new(&mut self.rng);
        auth.aaguid = AAGUID;
        auth.attestation = SoftwareAttestation::packed(leaf, &[&self.pki.intermediate]);
        auth
    }

    /// A fresh packed-attesting authenticator.
    fn authenticator(&mut self) -> SoftwareAuthenticator {
        let leaf = self.packed_leaf();
        self.packed_authenticator(&leaf)
    }

    /// Registers `auth` (direct attestation), judging the attestation at `at` with `trust`.
    fn register_at(
        &mut self,
        auth: &mut SoftwareAuthenticator,
        trust: &dyn AttestationTrust,
        at: UnixTime,
    ) -> Result<RegisteredCredential, WebAuthnError> {
        let rp = RelyingParty::new("example.com", "Example", ORIGIN);
        let user = UserEntity::random(&mut self.rng, "alice@example.com", "Alice");
        let request = RegistrationRequest {
            attestation: AttestationConveyance::Direct,
            ..RegistrationRequest::default()
        };
        let (options, state) = rp.start_registration(&mut self.rng, NOW, user, request);
        let response = RegistrationResponse::from_json(&auth.register(&options, ORIGIN)).unwrap();
        state.verify_with_trust(
            &response,
            NOW,
            &RustCryptoVerifier,
            &AttestationOptions::at(at),
            trust,
        )
    }

    fn register(
        &mut self,
        auth: &mut SoftwareAuthenticator,
        trust: &dyn AttestationTrust,
    ) -> Result<RegisteredCredential, WebAuthnError> {
        self.register_at(auth, trust, NOW)
    }
}

/// A statement for [`MODEL`]: `types`, the given roots, `key_protection`.
fn statement(
    types: &[&str],
    roots: &[&TestCertificate],
    key_protection: &[&str],
) -> MetadataStatement {
    let mut statement = MetadataStatement::default();
    statement.description = MODEL.to_owned();
    statement.protocol_family = "fido2".to_owned();
    statement.schema = 3;
    statement.attestation_types = types.iter().map(|t| (*t).to_owned()).collect();
    statement.key_protection = key_protection.iter().map(|p| (*p).to_owned()).collect();
    statement.attestation_root_certificates = roots
        .iter()
        .map(|root| base64::engine::general_purpose::STANDARD.encode(root.der()))
        .collect();
    statement
}

fn report(status: &str, effective: Option<&str>) -> StatusReport {
    StatusReport::new(AuthenticatorStatus::from_name(status), effective.map(date))
}

fn l1() -> StatusReport {
    report("FIDO_CERTIFIED_L1", Some("2021-01-02"))
}

/// Strict trust in one FIDO2 entry for [`AAGUID`].
fn trust_in(statement: MetadataStatement, reports: Vec<StatusReport>) -> MetadataTrust {
    MetadataTrust::new(metadata(vec![MetadataEntry::fido2(
        Aaguid(AAGUID),
        statement,
        reports,
    )]))
}

/// Strict trust in a `basic_full` model with hardware key protection whose chains lead to `root`.
fn hardware_model(root: &TestCertificate, reports: Vec<StatusReport>) -> MetadataTrust {
    trust_in(statement(&["basic_full"], &[root], &["hardware"]), reports)
}

fn metadata(entries: Vec<MetadataEntry>) -> Arc<Metadata> {
    Arc::new(Metadata::from_entries(7, date("2027-02-01"), entries).unwrap())
}

/// The registration was refused by the trust, with a message containing every one of `parts`.
#[track_caller]
fn assert_refused(result: Result<RegisteredCredential, WebAuthnError>, parts: &[&str]) {
    match result {
        Err(WebAuthnError::AttestationInvalid(why)) => {
            assert!(
                why.starts_with("attestation not trusted: "),
                "not a trust refusal: {why}"
            );
            for part in parts {
                assert!(why.contains(part), "{why:?} does not say {part:?}");
            }
        }
        other => panic!("expected a trust refusal ({parts:?}), got {other:?}"),
    }
}

// --- the happy path -----------------------------------------------------------------------------

#[test]
fn a_trusted_packed_registration_names_the_entry_its_level_and_hardware() {
    let mut f = Fixture::new(1);
    let trust = trust_in(
        statement(
            &["basic_full"],
            &[&f.pki.root],
            &["hardware", "secure_element"],
        ),
        vec![report("FIDO_CERTIFIED", Some("2020-05-01")), l1()],
    );
    let mut auth = f.authenticator();
    let registered = f.register(&mut auth, &trust).unwrap();

    let decision = &registered.trust;
    let matched = decision.metadata.as_ref().unwrap();
    assert_eq!(matched.aaguid, Some(Aaguid(AAGUID)));
    assert_eq!(matched.key_identifier, None);
    assert_eq!(matched.description.as_deref(), Some(MODEL));
    assert_eq!(matched.attestation_type, "basic_full");
    assert_eq!(matched.certification_level, Some(CertificationLevel::L1));
    assert_eq!(matched.certified_since, Some(date("2021-01-02")));
    assert_eq!(
        matched.statuses,
        [
            AuthenticatorStatus::FidoCertified,
            AuthenticatorStatus::FidoCertifiedL1
        ]
    );
    assert!(decision.hardware_backed);
    assert!(!decision.unknown_authenticator_permitted);
    assert!(registered.credential.hardware_backed);
    // b"mfa-test-aaguid!" as a UUID.
    let aaguid_text = "6d66612d-7465-7374-2d61-616775696421";
    assert_eq!(
        decision.reason,
        format!(
            "{MODEL} (aaguid {aaguid_text}): basic_full chain to a metadata root, \
             FIDO_CERTIFIED_L1 since 2021-01-02, keys in hardware"
        )
    );
    let json = serde_json::to_value(decision).unwrap();
    assert_eq!(json["metadata"]["aaguid"], aaguid_text);
    assert_eq!(json["metadata"]["certification_level"], "L1");
    assert_eq!(json["metadata"]["statuses"][1], "FIDO_CERTIFIED_L1");
    assert_eq!(json["hardware_backed"], true);

    // The stored record says so in JSON, and an old record without the field reads as false.
    let stored = serde_json::to_value(&registered.credential).unwrap();
    assert_eq!(stored["hardware_backed"], true);
    let mut old = stored.clone();
    old.as_object_mut().unwrap().remove("hardware_backed");
    let read: StoredCredential = serde_json::from_value(old).unwrap();
    assert!(!read.hardware_backed);
}

#[test]
fn hardware_backed_needs_hardware_key_protection_and_no_backup_eligibility() {
    let mut f = Fixture::new(2);
    for protection in [&["software"][..], &["hardware", "software"], &[]] {
        let trust = trust_in(
            statement(&["basic_full"], &[&f.pki.root], protection),
            vec![],
        );
        let mut auth = f.authenticator();
        let registered = f.register(&mut auth, &trust).unwrap();
        assert!(!registered.trust.hardware_backed, "{protection:?}");
        assert!(!registered.credential.hardware_backed, "{protection:?}");
        let stored = serde_json::to_value(&registered.credential).unwrap();
        assert!(
            stored.get("hardware_backed").is_none(),
            "omitted when false"
        );
    }
    for protection in ["tee", "secure_element", "hardware"] {
        let trust = trust_in(
            statement(&["basic_full"], &[&f.pki.root], &[protection]),
            vec![],
        );
        let mut auth = f.authenticator();
        assert!(
            f.register(&mut auth, &trust).unwrap().trust.hardware_backed,
            "{protection}"
        );
    }
    // A backup-eligible (synced) credential of a hardware model: the model is hardware, the
    // credential's key is not device-bound, so the record is not hardware-backed.
    let trust = hardware_model(&f.pki.root, vec![]);
    let mut auth = f.authenticator();
    auth.backup_eligible = true;
    let registered = f.register(&mut auth, &trust).unwrap();
    assert!(registered.trust.hardware_backed);
    assert!(!registered.credential.hardware_backed);
}

// --- (b) attestation type -----------------------------------------------------------------------

#[test]
fn an_attestation_type_the_statement_does_not_list_is_refused() {
    let mut f = Fixture::new(3);
    let trust = trust_in(
        statement(&["basic_surrogate", "attca"], &[&f.pki.root], &["hardware"]),
        vec![l1()],
    );
    let mut auth = f.authenticator();
    assert_refused(
        f.register(&mut auth, &trust),
        &[
            MODEL,
            "6d66612d-7465-7374-2d61-616775696421",
            "basic_full attestation is not among the statement's attestation types [basic_surrogate, attca]",
        ],
    );
    // Self attestation is `basic_surrogate`: listed here, so accepted, but nothing vouches for
    // the AAGUID, so not hardware-backed even though the statement says hardware.
    let mut auth = SoftwareAuthenticator::new(&mut f.rng);
    auth.aaguid = AAGUID;
    auth.attestation = SoftwareAttestation::PackedSelf;
    let registered = f.register(&mut auth, &trust).unwrap();
    let matched = registered.trust.metadata.as_ref().unwrap();
    assert_eq!(matched.attestation_type, "basic_surrogate");
    assert!(!registered.trust.hardware_backed);
    assert!(
        registered
            .trust
            .reason
            .contains("not vouched for by a certificate")
    );
}

#[test]
fn none_attestation_is_refused_unless_listed_and_never_hardware_backed() {
    let mut f = Fixture::new(4);
    let mut none_auth = SoftwareAuthenticator::new(&mut f.rng);
    none_auth.aaguid = AAGUID;
    none_auth.attestation = SoftwareAttestation::None;

    let strict = hardware_model(&f.pki.root, vec![l1()]);
    assert_refused(
        f.register(&mut none_auth, &strict),
        &[MODEL, "none attestation is not among"],
    );
    // Permissive changes nothing for a known model.
    assert_refused(
        f.register(&mut none_auth, &strict.clone().permissive()),
        &["none attestation is not among"],
    );

    let listed = trust_in(
        statement(&["basic_full", "none"], &[&f.pki.root], &["hardware"]),
        vec![l1()],
    );
    let registered = f.register(&mut none_auth, &listed).unwrap();
    assert!(!registered.trust.hardware_backed);
    assert!(!registered.credential.hardware_backed);
    // A claimed model cannot prove its certification.
    assert_refused(
        f.register(
            &mut none_auth,
            &listed.with_min_certification(CertificationLevel::L1),
        ),
        &["a none attestation does not prove the model"],
    );
}

// --- (c) chain to the statement's roots -----------------------------------------------------------

#[test]
fn a_chain_to_another_root_or_an_entry_without_roots_is_refused() {
    let mut f = Fixture::new(5);
    let wrong_root = hardware_model(&f.other.root, vec![]);
    let mut auth = f.authenticator();
    assert_refused(
        f.register(&mut auth, &wrong_root),
        &[
            MODEL,
            "does not lead to the statement's attestation roots",
            "2027-01-15",
        ],
    );
    let no_roots = trust_in(statement(&["basic_full"], &[], &["hardware"]), vec![]);
    assert_refused(
        f.register(&mut auth, &no_roots),
        &[MODEL, "lists no attestation root certificates"],
    );
    // Either root of several will do.
    let both = trust_in(
        statement(
            &["basic_full"],
            &[&f.other.root, &f.pki.root],
            &["hardware"],
        ),
        vec![],
    );
    assert!(f.register(&mut auth, &both).is_ok());
}

#[test]
fn a_chain_is_judged_at_the_decision_time() {
    let mut f = Fixture::new(6);
    let trust = hardware_model(&f.pki.root, vec![]);
    let mut auth = f.authenticator();
    assert!(f.register_at(&mut auth, &trust, TO).is_ok());
    assert_refused(
        f.register_at(&mut auth, &trust, UnixTime::from_secs(TO.as_secs() + 1)),
        &["certificate not valid at this time"],
    );
    assert_refused(
        f.register_at(&mut auth, &trust, UnixTime::from_secs(FROM.as_secs() - 1)),
        &["certificate not valid at this time"],
    );
}

// --- (d) status reports -------------------------------------------------------------------------

#[test]
fn each_status_the_default_policy_refuses_is_refused() {
    let mut f = Fixture::new(7);
    for status in [
        "REVOKED",
        "ATTESTATION_KEY_COMPROMISE",
        "USER_VERIFICATION_BYPASS",
        "USER_KEY_REMOTE_COMPROMISE",
        "USER_KEY_PHYSICAL_COMPROMISE",
    ] {
        let trust = hardware_model(&f.pki.root, vec![l1(), report(status, Some("2026-03-04"))]);
        let mut auth = f.authenticator();
        assert_refused(
            f.register(&mut auth, &trust),
            &[
                MODEL,
                &format!("status {status} since 2026-03-04, which the status policy refuses"),
            ],
        );
        // The policy can allow it.
        let allowing = trust.clone().with_status_policy(
            StatusPolicy::default().allow(AuthenticatorStatus::from_name(status)),
        );
        let registered = f.register(&mut auth, &allowing).unwrap();
        let statuses = &registered.trust.metadata.as_ref().unwrap().statuses;
        assert!(statuses.contains(&AuthenticatorStatus::from_name(status)));
    }
}

#[test]
fn update_available_is_accepted_unless_the_policy_refuses_it() {
    let mut f = Fixture::new(8);
    let trust = hardware_model(
        &f.pki.root,
        vec![l1(), report("UPDATE_AVAILABLE", Some("2026-01-01"))],
    );
    let mut auth = f.authenticator();
    let registered = f.register(&mut auth, &trust).unwrap();
    assert_eq!(
        registered.trust.metadata.unwrap().statuses,
        [
            AuthenticatorStatus::FidoCertifiedL1,
            AuthenticatorStatus::UpdateAvailable
        ]
    );
    let refusing = trust
        .with_status_policy(StatusPolicy::default().refuse(AuthenticatorStatus::UpdateAvailable));
    assert_refused(
        f.register(&mut auth, &refusing),
        &["status UPDATE_AVAILABLE since 2026-01-01"],
    );
}

#[test]
fn a_revoked_report_with_a_future_effective_date_applies_from_that_date() {
    let mut f = Fixture::new(9);
    let trust = hardware_model(
        &f.pki.root,
        vec![l1(), report("REVOKED", Some("2028-01-01"))],
    );
    let mut auth = f.authenticator();
    let registered = f.register(&mut auth, &trust).unwrap();
    assert_eq!(
        registered.trust.metadata.unwrap().statuses,
        [AuthenticatorStatus::FidoCertifiedL1],
        "the future report is not in force yet"
    );
    let the_day_before = UnixTime::from_secs(date("2028-01-01").start().as_secs() - 1);
    assert!(f.register_at(&mut auth, &trust, the_day_before).is_ok());
    assert_refused(
        f.register_at(&mut auth, &trust, date("2028-01-01").start()),
        &["status REVOKED since 2028-01-01"],
    );
    // A report without a date has always applied.
    let undated = hardware_model(&f.pki.root, vec![report("REVOKED", None)]);
    assert_refused(f.register(&mut auth, &undated), &["status REVOKED, which"]);
}

#[test]
fn a_report_naming_a_certificate_applies_only_to_chains_with_that_certificate() {
    let mut f = Fixture::new(10);
    let ours = f.packed_leaf();
    let theirs = f.packed_leaf();
    let compromised = |cert: &TestCertificate| {
        let mut report = report("ATTESTATION_KEY_COMPROMISE", Some("2026-06-01"));
        report.certificate = Some(base64::engine::general_purpose::STANDARD.encode(cert.der()));
        report
    };
    let mut auth = f.packed_authenticator(&ours);

    let other_batch = hardware_model(&f.pki.root, vec![l1(), compromised(&theirs)]);
    let registered = f.register(&mut auth, &other_batch).unwrap();
    assert_eq!(
        registered.trust.metadata.unwrap().statuses,
        [AuthenticatorStatus::FidoCertifiedL1],
        "a report about another certificate is not about this attestation"
    );

    let our_batch = hardware_model(&f.pki.root, vec![l1(), compromised(&ours)]);
    assert_refused(
        f.register(&mut auth, &our_batch),
        &["status ATTESTATION_KEY_COMPROMISE since 2026-06-01 for this attestation certificate"],
    );
    // The intermediate is in the chain too: a compromised intermediate refuses its leaves.
    let intermediate = hardware_model(&f.pki.root, vec![compromised(&f.pki.intermediate)]);
    assert_refused(
        f.register(&mut auth, &intermediate),
        &["ATTESTATION_KEY_COMPROMISE"],
    );
    // A named certificate that does not decode applies to everyone (fail closed).
    let mut garbled = report("ATTESTATION_KEY_COMPROMISE", None);
    garbled.certificate = Some("not base64 at all!".to_owned());
    let garbled = hardware_model(&f.pki.root, vec![garbled]);
    assert_refused(
        f.register(&mut auth, &garbled),
        &["ATTESTATION_KEY_COMPROMISE"],
    );
}

// --- (e) certification level --------------------------------------------------------------------

#[test]
fn a_minimum_certification_level_is_met_or_not() {
    let mut f = Fixture::new(11);
    let root = f.pki.root.clone();
    let model = |reports: Vec<StatusReport>| {
        hardware_model(&root, reports).with_min_certification(CertificationLevel::L1)
    };
    let mut auth = f.authenticator();

    let met = f.register(&mut auth, &model(vec![l1()])).unwrap();
    assert_eq!(
        met.trust.metadata.unwrap().certification_level,
        Some(CertificationLevel::L1)
    );
    let above = f
        .register(
            &mut auth,
            &model(vec![report("FIDO_CERTIFIED_L2", Some("2022-02-02"))]),
        )
        .unwrap();
    assert!(
        above
            .trust
            .reason
            .contains("FIDO_CERTIFIED_L2 since 2022-02-02")
    );

    assert_refused(
        f.register(
            &mut auth,
            &model(vec![report("FIDO_CERTIFIED", Some("2020-01-01"))]),
        ),
        &[
            MODEL,
            "certification in force is Functional, below the minimum L1",
        ],
    );
    assert_refused(
        f.register(&mut auth, &model(vec![])),
        &["certification in force is no certification, below the minimum L1"],
    );
    // L1 not yet in force.
    assert_refused(
        f.register(
            &mut auth,
            &model(vec![report("FIDO_CERTIFIED_L1", Some("2027-06-01"))]),
        ),
        &["below the minimum L1"],
    );
    // A later NOT_FIDO_CERTIFIED withdraws it.
    let withdrawn = model(vec![l1(), report("NOT_FIDO_CERTIFIED", Some("2026-06-01"))]);
    assert_refused(
        f.register(&mut auth, &withdrawn),
        &["certification in force is no certification"],
    );
    assert!(
        f.register_at(&mut auth, &withdrawn, date("2026-05-31").start())
            .is_ok(),
        "before the withdrawal L1 was in force"
    );
}

// --- (a) unknown authenticators and U2F ---------------------------------------------------------

#[test]
fn an_unknown_authenticator_is_refused_strictly_and_flagged_permissively() {
    let mut f = Fixture::new(12);
    let other_model = MetadataEntry::fido2(
        Aaguid([0x42; 16]),
        statement(&["basic_full"], &[&f.pki.root], &["hardware"]),
        vec![l1()],
    );
    let strict = MetadataTrust::new(metadata(vec![other_model]));
    let mut auth = f.authenticator();
    assert_refused(
        f.register(&mut auth, &strict),
        &[
            "authenticator aaguid 6d66612d-7465-7374-2d61-616775696421 is not in the metadata",
            "strict",
        ],
    );
    let registered = f.register(&mut auth, &strict.permissive()).unwrap();
    assert!(registered.trust.unknown_authenticator_permitted);
    assert!(registered.trust.metadata.is_none());
    assert!(!registered.trust.hardware_backed);
    assert!(!registered.credential.hardware_backed);
    assert!(registered.trust.reason.contains("permissive"));
}

#[test]
fn a_u2f_registration_is_found_by_key_identifier_and_trusted() {
    let mut f = Fixture::new(13);
    // fido-u2f sends one certificate: issue it from the root so the root anchors it.
    let certificate = f.pki.root.issue(
        &CertificateSpec::leaf("Test U2F Attestation", FROM, TO).with_serial(77),
        TestKey::generate_p256(&mut f.rng),
    );
    let key_identifier = KeyIdentifier(certificate.key().key_identifier());
    let mut u2f_statement = statement(
        &["basic_full"],
        &[&f.pki.root],
        &["hardware", "secure_element"],
    );
    u2f_statement.protocol_family = "u2f".to_owned();
    u2f_statement.description = "Test U2F Key".to_owned();
    let entry = MetadataEntry::u2f(vec![key_identifier], u2f_statement, vec![l1()]);
    let trust = MetadataTrust::new(metadata(vec![entry]));

    let mut auth = SoftwareAuthenticator::new(&mut f.rng);
    auth.attestation = SoftwareAttestation::fido_u2f(&certificate);
    let registered = f.register(&mut auth, &trust).unwrap();
    let matched = registered.trust.metadata.as_ref().unwrap();
    assert_eq!(matched.key_identifier, Some(key_identifier));
    assert_eq!(matched.aaguid, None);
    assert_eq!(matched.description.as_deref(), Some("Test U2F Key"));
    assert!(registered.trust.hardware_backed);
    assert!(registered.trust.reason.starts_with(&format!(
        "Test U2F Key (key identifier {key_identifier}): basic_full"
    )));

    // Another attestation key is another (unknown) model.
    let stranger = f.pki.root.issue(
        &CertificateSpec::leaf("Test U2F Attestation", FROM, TO).with_serial(78),
        TestKey::generate_p256(&mut f.rng),
    );
    auth.attestation = SoftwareAttestation::fido_u2f(&stranger);
    let stranger_id = KeyIdentifier(stranger.key().key_identifier());
    assert_refused(
        f.register(&mut auth, &trust),
        &[&format!(
            "attestation key identifier {stranger_id} is not in the metadata"
        )],
    );
}

// --- the default decision and the store ---------------------------------------------------------

#[test]
fn other_trusts_decide_through_check_and_say_who_accepted() {
    let mut f = Fixture::new(14);
    let mut auth = f.authenticator();
    let chain = ChainTrust::new(vec![f.pki.root.der().to_vec()]);
    let registered = f.register(&mut auth, &chain).unwrap();
    assert_eq!(
        registered.trust.reason,
        "accepted by mfa_webauthn::attestation::x509::ChainTrust"
    );
    assert!(registered.trust.metadata.is_none());
    assert!(!registered.trust.hardware_backed);
    assert!(!registered.credential.hardware_backed);
    let refusing = ChainTrust::new(vec![f.other.root.der().to_vec()]);
    assert_refused(f.register(&mut auth, &refusing), &["does not lead"]);

    let any = f.register(&mut auth, &AcceptAnyAttestation).unwrap();
    assert!(any.trust.reason.contains("without a trust decision"));
}

#[test]
fn the_store_backed_ceremony_takes_a_trust() {
    let mut f = Fixture::new(15);
    let trust = hardware_model(&f.pki.root, vec![l1()]);
    let store = MemoryStore::new();
    let rp = RelyingParty::new("example.com", "Example", ORIGIN);
    let elsewhere = hardware_model(&f.other.root, vec![]);
    let mut auth = f.authenticator();
    for (session, judge) in [("trusted", &trust), ("elsewhere", &elsewhere)] {
        let user = UserEntity::random(&mut f.rng, "alice", "Alice");
        let request = RegistrationRequest {
            attestation: AttestationConveyance::Direct,
            ..RegistrationRequest::default()
        };
        let options =
            start_registration(&store, &rp, &mut f.rng, NOW, session, user, request).unwrap();
        let response = RegistrationResponse::from_json(&auth.register(&options, ORIGIN)).unwrap();
        let result = finish_registration_with_trust(
            &store,
            session,
            &response,
            NOW,
            &RustCryptoVerifier,
            &AttestationOptions::default(),
            judge,
        );
        match session {
            "trusted" => assert!(result.unwrap().credential.hardware_backed),
            _ => assert!(matches!(
                result,
                Err(mfa_core::AttemptError::Rejected(
                    WebAuthnError::AttestationInvalid(_)
                ))
            )),
        }
    }
}

#[test]
fn the_trust_debug_does_not_dump_the_metadata() {
    let f = Fixture::new(16);
    let trust = hardware_model(&f.pki.root, vec![l1()]);
    let debug = format!("{trust:?}");
    assert!(debug.contains("entries: 1"), "{debug}");
    assert!(!debug.contains(MODEL), "{debug}");
}

// --- AAL3: hardware_backed into the assertion's evidence ----------------------------------------

#[test]
fn a_hardware_backed_device_bound_credential_gives_aal3_evidence() {
    let mut f = Fixture::new(17);
    let rp = RelyingParty::new("example.com", "Example", ORIGIN);
    let run = |f: &mut Fixture, protection: &str| {
        let trust = trust_in(
            statement(&["basic_full"], &[&f.pki.root], &[protection]),
            vec![l1()],
        );
        let mut auth = f.authenticator();
        let credential = f.register(&mut auth, &trust).unwrap().credential;
        let (options, state) =
            rp.start_authentication(&mut f.rng, NOW, AuthenticationRequest::default());
        let response =
            AuthenticationResponse::from_json(&auth.authenticate(&options, ORIGIN)).unwrap();
        let verified = state
            .verify(&credential, &response, NOW, &RustCryptoVerifier)
            .unwrap();
        let (evidence, updated) = verified.into_parts();
        assert_eq!(updated.hardware_backed, credential.hardware_backed);
        evidence.properties
    };
    let hardware = run(&mut f, "secure_element");
    assert!(hardware.phishing_resistant);
    assert!(hardware.user_verified);
    assert!(hardware.device_bound);
    assert!(hardware.hardware_backed);
    let software = run(&mut f, "software");
    assert!(software.phishing_resistant && software.device_bound);
    assert!(!software.hardware_backed);
    // What a policy asking for AAL3 (NIST SP 800-63B-4 §2.3) makes of the two.
    use mfa_policy::{NistAal, nist_permits};
    assert!(nist_permits(
        NistAal::Aal3,
        mfa_core::Method::WebAuthn,
        &hardware
    ));
    assert!(!nist_permits(
        NistAal::Aal3,
        mfa_core::Method::WebAuthn,
        &software
    ));
    assert!(nist_permits(
        NistAal::Aal2,
        mfa_core::Method::WebAuthn,
        &software
    ));
}

// --- names ----------------------------------------------------------------------------------------

#[test]
fn names_come_from_the_list_first_then_metadata_never_for_zero() {
    let listed = Aaguid(AAGUID);
    let only_in_metadata = Aaguid([0x42; 16]);
    let nowhere = Aaguid([0x17; 16]);
    let mut in_both = statement(&["none"], &[], &[]);
    in_both.icon = Some("data:image/png;base64,iVBORw0KGgo=".to_owned());
    let mut metadata_only = statement(&["none"], &[], &[]);
    metadata_only.description = "Metadata Model".to_owned();
    metadata_only.icon = Some("javascript:alert(1)".to_owned());
    let metadata = metadata(vec![
        MetadataEntry::fido2(listed, in_both, vec![]),
        MetadataEntry::fido2(only_in_metadata, metadata_only, vec![]),
    ]);
    let list = ProviderNames::from_json(&format!(
        r#"{{"{listed}": {{"name": "Friendly Vault", "icon_light": "data:image/svg+xml;base64,AA==", "icon_dark": "https://example.com/dark.svg"}},
            "00000000-0000-0000-0000-000000000000": {{"name": "Nobody"}}}}"#
    ))
    .unwrap();

    let names = AuthenticatorNames::new()
        .with_provider_list(list)
        .with_metadata(metadata.clone());
    let from_list = names.name(&listed).unwrap();
    assert_eq!(from_list.name, "Friendly Vault");
    assert_eq!(from_list.source, NameSource::ProviderList);
    assert_eq!(from_list.icon_light, Some("data:image/svg+xml;base64,AA=="));
    assert_eq!(from_list.icon_dark, Some("https://example.com/dark.svg"));

    let from_metadata = names.name(&only_in_metadata).unwrap();
    assert_eq!(from_metadata.name, "Metadata Model");
    assert_eq!(from_metadata.source, NameSource::Metadata);
    assert_eq!(
        from_metadata.icon_light, None,
        "a javascript: icon is left out"
    );

    assert_eq!(names.name(&nowhere), None);
    assert_eq!(
        names.name(&Aaguid([0; 16])),
        None,
        "never for the all-zero AAGUID"
    );

    // Metadata alone names the listed model by its description, with its icon for both themes.
    let metadata_names = AuthenticatorNames::new().with_metadata(metadata);
    let described = metadata_names.name(&listed).unwrap();
    assert_eq!(described.name, MODEL);
    assert_eq!(
        described.icon_light,
        Some("data:image/png;base64,iVBORw0KGgo=")
    );
    assert_eq!(described.icon_dark, described.icon_light);
    assert_eq!(AuthenticatorNames::new().name(&listed), None);

    // By stored credential.
    let mut rng = StdRng::seed_from_u64(18);
    let key = SoftwareAuthenticator::new(&mut rng);
    let mut credential = StoredCredential::new(
        key.credential_id().clone(),
        mfa_webauthn::CoseKey::from_cbor(&key.cose_key()).unwrap(),
        0,
    );
    assert!(names.name_of(&credential).is_none(), "no AAGUID recorded");
    credential.aaguid = Some(listed.to_string().to_uppercase());
    assert_eq!(names.name_of(&credential).unwrap().name, "Friendly Vault");
    credential.aaguid = Some("00000000-0000-0000-0000-000000000000".to_owned());
    assert!(names.name_of(&credential).is_none());
    let json = serde_json::to_value(names.name(&listed).unwrap()).unwrap();
    assert_eq!(json["source"], "provider_list");
}

// --- property: a dated report counts exactly from its date --------------------------------------

/// One verified packed attestation, judged many times below without a new ceremony.
fn one_attestation() -> (TestCertificate, mfa_webauthn::VerifiedAttestation) {
    let mut f = Fixture::new(19);
    let mut auth = f.authenticator();
    let registered = f.register(&mut auth, &AcceptAnyAttestation).unwrap();
    (f.pki.root.clone(), registered.attestation)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// A refused status dated day `day` (counted from the Unix epoch) refuses a decision at
    /// `at` exactly when `at` is on or after 00:00 UTC that day; an accepted decision never
    /// lists it, a refusal always names it.
    #[test]
    fn a_dated_refused_status_counts_from_its_day(
        day in (FROM.as_secs() / DAY)..(TO.as_secs() / DAY),
        at in FROM.as_secs()..=TO.as_secs(),
        status in proptest::sample::select(vec![
            "REVOKED",
            "ATTESTATION_KEY_COMPROMISE",
            "USER_VERIFICATION_BYPASS",
            "USER_KEY_REMOTE_COMPROMISE",
            "USER_KEY_PHYSICAL_COMPROMISE",
        ]),
    ) {
        thread_local! {
            static ATTESTATION: (TestCertificate, mfa_webauthn::VerifiedAttestation) = one_attestation();
        }
        let effective = MdsDate::containing(UnixTime::from_secs(day * DAY));
        let trust = ATTESTATION.with(|(root, _)| {
            hardware_model(root, vec![StatusReport::new(
                AuthenticatorStatus::from_name(status),
                Some(effective),
            )])
        });
        let decision = ATTESTATION.with(|(_, attestation)| {
            trust.decide(attestation, &AAGUID, UnixTime::from_secs(at))
        });
        let in_force = at >= day * DAY;
        match decision {
            Ok(decision) => {
                proptest::prop_assert!(!in_force, "accepted at {at} though in force from day {day}");
                let statuses = decision.metadata.unwrap().statuses;
                proptest::prop_assert!(statuses.is_empty());
            }
            Err(mfa_webauthn::attestation::AttestationError::Untrusted(why)) => {
                proptest::prop_assert!(in_force, "refused at {at} before day {day}: {why}");
                proptest::prop_assert!(why.contains(status), "{}", why);
                let since = format!("since {effective}");
                proptest::prop_assert!(why.contains(&since), "{}", why);
            }
            Err(other) => proptest::prop_assert!(false, "unexpected {other:?}"),
        }
    }
}
