#![no_main]

use libfuzzer_sys::fuzz_target;

// Everything `mfa account` parses on the account side, on the same input: lifetimes (bounded, and
// formatted back to themselves), method kinds, names, operator ids, temporary access passes, app
// passwords and remembered-device tokens (refused cleanly by an empty store), and session
// evidence JSON; see `mfa_account::fuzz_inputs`.
fuzz_target!(|data: &[u8]| mfa_account::fuzz_inputs(data));
