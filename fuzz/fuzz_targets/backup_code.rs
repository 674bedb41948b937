#![no_main]

use libfuzzer_sys::fuzz_target;

// Parses arbitrary bytes as a typed backup code in every format (normalisation, length and
// alphabet checks, the shown form round trip); see `mfa_backup::fuzz_code`.
fuzz_target!(|data: &[u8]| {
    mfa_backup::fuzz_code(data);
});
