#![no_main]

use libfuzzer_sys::fuzz_target;

// A FIDO MDS3 metadata BLOB (JWS, x5c chain, CRLs), its payload JSON and the PEM readers must
// never panic.
fuzz_target!(|data: &[u8]| {
    mfa_webauthn::fuzz_metadata_blob(data);
});
