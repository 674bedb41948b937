#![no_main]

use libfuzzer_sys::fuzz_target;

// Parses arbitrary bytes as a registration message (proof of possession, payload) and as an
// enrollment URI, which must round-trip; see `mfa_push::fuzz_registration` and
// `mfa_push::fuzz_enrollment_uri`.
fuzz_target!(|data: &[u8]| {
    mfa_push::fuzz_registration(data);
    mfa_push::fuzz_enrollment_uri(data);
});
