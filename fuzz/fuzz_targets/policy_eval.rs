#![no_main]

use libfuzzer_sys::fuzz_target;

// Evaluation of arbitrary sign-in contexts (JSON, or built from the bytes) against a fixed policy
// set: never panics, traces every policy, and more evidence never turns an allow around.
fuzz_target!(|data: &[u8]| mfa_policy::fuzz_eval(data));
