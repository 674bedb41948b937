#![no_main]

use libfuzzer_sys::fuzz_target;

// COSE_Key parsing (strict CBOR, limits, curve checks) must never panic.
fuzz_target!(|data: &[u8]| {
    mfa_webauthn::cose::fuzz_cose_key(data);
});
