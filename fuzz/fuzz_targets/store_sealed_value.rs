#![no_main]

use libfuzzer_sys::fuzz_target;

// The bytes a backend hands back to the cipher layer: opening never panics, nothing unsealed
// opens as sealed, and sealing round-trips under its own record key only; see
// `mfa_store::cipher::fuzz_open`.
fuzz_target!(|data: &[u8]| mfa_store::cipher::fuzz_open(data));
