#![no_main]

use libfuzzer_sys::fuzz_target;

// Native policy format, JSON: never panics; what parses round-trips and compiles or errs.
fuzz_target!(|data: &[u8]| mfa_policy::fuzz_native_json(data));
