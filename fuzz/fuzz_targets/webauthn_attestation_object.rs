#![no_main]

use libfuzzer_sys::fuzz_target;

// Attestation objects {fmt, attStmt, authData} through every format's verification procedure
// (and x5c chain validation) must never panic.
fuzz_target!(|data: &[u8]| {
    mfa_webauthn::attestation::fuzz_attestation_object(data);
});
