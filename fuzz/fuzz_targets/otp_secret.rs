#![no_main]

use libfuzzer_sys::fuzz_target;

// Lenient base32 secret decoding: never panics, and what decodes round-trips.
fuzz_target!(|data: &[u8]| mfa_otp::fuzz_secret(data));
