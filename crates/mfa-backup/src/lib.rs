#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod format;
mod hash;
mod job;
mod permits;
mod set;
mod sheet;
mod store;

pub use error::BackupCodeError;
pub use format::{BackupCode, CodeFormat, MAX_INPUT_LEN, normalize_code};
#[doc(hidden)]
pub use hash::hashes_on_this_thread;
pub use hash::{Argon2idParams, CodeHasher, DIGEST_LEN, HashParams, Pbkdf2Params, SALT_LEN};
pub use job::{HashedRedemption, RedeemJob};
pub use permits::{HashPermit, HashPermits};
pub use set::{
    BackupCodeSet, BackupEvent, IssueJob, IssuePolicy, IssuedCodes, MAX_CODES, RecoveryMode,
    Redeemed,
};
pub use sheet::render_sheet;
pub use store::{
    RECORD_KIND, issue, issue_async, load_set, load_set_async, record_key, redeem, redeem_async,
    redeem_with_lookup, redeem_with_lookup_async,
};

/// Fuzzing entry point (`fuzz/fuzz_targets/backup_code.rs`): parses arbitrary bytes as a typed
/// code in every format and checks that normalisation never panics and is idempotent, and that
/// the shown form of a parsed code parses back to the same code.
///
/// # Panics
/// When one of those properties fails: that is the bug the fuzzer looks for.
#[doc(hidden)]
pub fn fuzz_code(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for format in CodeFormat::ALL {
        let Ok(canonical) = format.normalize(&text) else {
            continue;
        };
        assert_eq!(canonical.symbols().len(), format.len());
        let again = format.normalize(core::str::from_utf8(canonical.symbols()).unwrap_or(""));
        assert!(again.as_ref().is_ok_and(|code| *code == canonical));
        let shown = canonical.display();
        let reparsed = format.normalize(shown.expose_secret());
        assert!(reparsed.as_ref().is_ok_and(|code| *code == canonical));
    }
}
