#![no_main]

use libfuzzer_sys::fuzz_target;

// Registration/authentication response JSON (from_json and serde Deserialize, which must agree),
// and what it carries, must never panic.
fuzz_target!(|data: &[u8]| {
    mfa_webauthn::fuzz_response_json(data);
});
