#![no_main]

use libfuzzer_sys::fuzz_target;

// clientDataJSON parsing (size limit, JSON, base64url challenge) must never panic.
fuzz_target!(|data: &[u8]| {
    mfa_webauthn::fuzz_client_data(data);
});
