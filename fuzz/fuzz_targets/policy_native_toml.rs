#![no_main]

use libfuzzer_sys::fuzz_target;

// Native policy format, TOML: never panics; what parses round-trips through JSON and compiles or errs.
fuzz_target!(|data: &[u8]| mfa_policy::fuzz_native_toml(data));
