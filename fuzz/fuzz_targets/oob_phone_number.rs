#![no_main]

use libfuzzer_sys::fuzz_target;

// Phone-number parsing (typed input, an optional default region): never panics, and what parses
// is E.164 that parses back to the same number.
fuzz_target!(|data: &[u8]| mfa_oob::fuzz_phone_number(data));
