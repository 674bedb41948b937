#![no_main]

use libfuzzer_sys::fuzz_target;

// Passkey provider lists (`ProviderNames::from_json`): never panics, and what reads holds only
// well-formed AAGUIDs and names that look up in any case; see `mfa_account::fuzz_provider_names`.
fuzz_target!(|data: &[u8]| mfa_account::fuzz_provider_names(data));
