#![no_main]

use libfuzzer_sys::fuzz_target;

// Decodes arbitrary bytes as a device's response and as its request (split, base64url, header,
// signature check, payload), and as a push payload; see `mfa_push::fuzz_response`.
fuzz_target!(|data: &[u8]| {
    mfa_push::fuzz_response(data);
});
