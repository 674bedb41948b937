#![no_main]

use libfuzzer_sys::fuzz_target;

// otpauth:// key URI parsing: never panics, and what parses round-trips.
fuzz_target!(|data: &[u8]| mfa_otp::fuzz_uri(data));
