//! The entry point of every cargo-fuzz target in `fuzz/fuzz_targets/`, by target name, so that a
//! plain `cargo test` can replay inputs through exactly the code the fuzzer runs
//! (`tests/replay.rs`): the seeds of `fuzz/corpus/<target>/` and every input that once made a
//! target fail, kept in `fuzz/regressions/<target>/`.
//!
//! Each entry point is a `#[doc(hidden)]` function of the crate that owns the parser; it panics
//! only when a property it checks fails, which is what the fuzzer and the replay look for.
#![forbid(unsafe_code)]

/// A fuzz target's name (its file in `fuzz/fuzz_targets/`, without `.rs`) and the entry point it
/// calls on each input.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target; `tests/replay.rs` checks that none of `fuzz/fuzz_targets/` is missing.
pub const TARGETS: &[Target] = &[
    ("account_inputs", mfa_account::fuzz_inputs),
    ("account_provider_names", mfa_account::fuzz_provider_names),
    ("backup_code", mfa_backup::fuzz_code),
    ("oob_phone_number", mfa_oob::fuzz_phone_number),
    ("otp_secret", mfa_otp::fuzz_secret),
    ("otp_uri", mfa_otp::fuzz_uri),
    ("policy_entra", mfa_policy::fuzz_entra),
    ("policy_eval", mfa_policy::fuzz_eval),
    ("policy_native_json", mfa_policy::fuzz_native_json),
    ("policy_native_toml", mfa_policy::fuzz_native_toml),
    ("push_enrollment", push_enrollment),
    ("push_response", mfa_push::fuzz_response),
    ("store_sealed_value", mfa_store::cipher::fuzz_open),
    (
        "webauthn_attestation_object",
        mfa_webauthn::attestation::fuzz_attestation_object,
    ),
    (
        "webauthn_authenticator_data",
        mfa_webauthn::fuzz_authenticator_data,
    ),
    ("webauthn_client_data", mfa_webauthn::fuzz_client_data),
    ("webauthn_cose_key", mfa_webauthn::cose::fuzz_cose_key),
    ("webauthn_mds_blob", mfa_webauthn::fuzz_metadata_blob),
    ("webauthn_response_json", mfa_webauthn::fuzz_response_json),
];

/// The entry point of a target by name.
#[must_use]
pub fn entry_point(target: &str) -> Option<fn(&[u8])> {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|&(_, entry)| entry)
}

/// `fuzz/fuzz_targets/push_enrollment.rs` runs two entry points on each input.
fn push_enrollment(data: &[u8]) {
    mfa_push::fuzz_registration(data);
    mfa_push::fuzz_enrollment_uri(data);
}
