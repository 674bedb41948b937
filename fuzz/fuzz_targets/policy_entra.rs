#![no_main]

use libfuzzer_sys::fuzz_target;

// Entra conditional access import: never panics, and what imports compiles and round-trips
// through the native format.
fuzz_target!(|data: &[u8]| mfa_policy::fuzz_entra(data));
