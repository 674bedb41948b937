#![no_main]

use libfuzzer_sys::fuzz_target;

// Authenticator data (flags, attested credential data, COSE key prefix, extensions CBOR) must never panic.
fuzz_target!(|data: &[u8]| {
    mfa_webauthn::fuzz_authenticator_data(data);
});
