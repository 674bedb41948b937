//! What temporary access passes, app passwords and remembered devices share: records holding a
//! [`SecretHash`], found by comparing a typed secret against *every* candidate in constant time,
//! and the one way account events are emitted.

use core::time::Duration;

use mfa_core::{AsyncStore, Change, RecordKey, StoreError, UnixTime, list_async, update_async};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroizing;

use crate::events::{AccountChange, AccountEvent, AccountEventSink, Actor};
use crate::secret::SecretHash;

/// Most random symbols in a generated secret: with one separator every four symbols it still
/// fits the longest text [`normalize`](crate::secret::normalize) accepts.
pub(crate) const MAX_SECRET_CHARS: usize = 200;

/// How long an expired pass or remembered device stays in the store after its end, so that
/// presenting it answers "expired" (with a clear message) rather than "invalid" for a day.
pub(crate) const EXPIRED_KEPT_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// The symbols of a secret this crate generated, without its group separators.
pub(crate) fn without_separators(secret: &str) -> Zeroizing<String> {
    Zeroizing::new(
        secret
            .chars()
            .filter(|character| character.is_ascii_alphanumeric())
            .collect(),
    )
}

/// The record among `records` whose hash matches `normalized`, comparing against every one of
/// them (no early exit, and one hash even when there is none) and selecting the match with
/// constant-time operations. What the time still tells is how many records the account has.
pub(crate) fn find_match<'a, T>(
    records: &'a [(RecordKey, T)],
    hash_of: impl Fn(&T) -> &SecretHash,
    domain: &str,
    normalized: &str,
) -> Option<&'a (RecordKey, T)> {
    // One plus the index of the match; 0 when none matched.
    let mut found = 0_u64;
    for (index, (_, record)) in records.iter().enumerate() {
        let position = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        found.conditional_assign(&position, hash_of(record).matches(domain, normalized));
    }
    if records.is_empty() {
        same_work_as_a_comparison(domain, normalized);
    }
    let index = usize::try_from(found.checked_sub(1)?).ok()?;
    records.get(index)
}

/// Timing-harness entry point (`benches/src/bin/ct.rs`), not an API: salted hashes of
/// `normalized_secrets` under `domain`, searched with the same constant-time scan that temporary
/// access passes and app passwords use, without a store.
#[doc(hidden)]
pub struct FindMatchForTiming {
    domain: String,
    records: Vec<(RecordKey, (SecretHash, usize))>,
}

impl FindMatchForTiming {
    /// One record per secret, each under a fresh salt from `rng`.
    pub fn new<R: mfa_core::CryptoRng + ?Sized>(
        rng: &mut R,
        domain: &str,
        normalized_secrets: &[&str],
    ) -> Self {
        let records = normalized_secrets
            .iter()
            .enumerate()
            .map(|(index, secret)| {
                let key = RecordKey::new("timing", "account", index.to_string());
                (key, (SecretHash::new(rng, domain, secret), index))
            })
            .collect();
        Self {
            domain: domain.to_owned(),
            records,
        }
    }

    /// The index of the secret `normalized` is, compared against every record.
    #[must_use]
    pub fn position(&self, normalized: &str) -> Option<usize> {
        find_match(&self.records, |(hash, _)| hash, &self.domain, normalized)
            .map(|(_, (_, index))| *index)
    }
}

/// Whether `normalized` matches `hash` when there is a record, or the same hashing work when
/// there is none (an unknown id must not answer faster than a wrong secret).
pub(crate) fn matches_or_same_work(
    hash: Option<&SecretHash>,
    domain: &str,
    normalized: &str,
) -> bool {
    match hash {
        Some(hash) => bool::from(hash.matches(domain, normalized)),
        None => {
            same_work_as_a_comparison(domain, normalized);
            false
        }
    }
}

/// One SHA-256 over as many bytes as [`SecretHash::matches`] hashes, whose result is discarded
/// through a constant-time select so the compiler keeps it.
fn same_work_as_a_comparison(domain: &str, normalized: &str) {
    let mut hasher = Sha256::new();
    hasher.update(domain.as_bytes());
    hasher.update([0]);
    hasher.update([0_u8; 16]);
    hasher.update(normalized.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    let mut sink = 0_u8;
    for byte in digest {
        sink.conditional_assign(&byte, Choice::from(0));
    }
    core::hint::black_box(sink);
}

/// Emits one account event (after the change is committed).
pub(crate) fn emit(
    events: &dyn AccountEventSink,
    account: &str,
    actor: Actor,
    at: UnixTime,
    change: AccountChange,
) {
    events.emit(&AccountEvent {
        account: account.to_owned(),
        actor,
        at,
        change,
    });
}

/// Deletes the record of type `T` at `key`; whether it was there.
pub(crate) async fn delete_async<S, T>(store: &S, key: &RecordKey) -> Result<bool, StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize + DeserializeOwned,
{
    update_async(store, key, |current: Option<&T>| {
        (Change::Delete, current.is_some())
    })
    .await
}

/// Deletes every record of type `T` and `kind` that `account` has; how many there were.
pub(crate) async fn delete_all_async<S, T>(
    store: &S,
    kind: &str,
    account: &str,
) -> Result<usize, StoreError>
where
    S: AsyncStore + ?Sized,
    T: Serialize + DeserializeOwned,
{
    let mut count = 0_usize;
    for (key, _) in list_async::<_, T>(store, kind, account).await? {
        if delete_async::<_, T>(store, &key).await? {
            count = count.saturating_add(1);
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn timing_entry_finds_each_secret_at_its_index_and_nothing_else() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let secrets = ["AAAA0000", "BBBB1111", "CCCC2222"];
        let search = FindMatchForTiming::new(&mut rng, "mfa-account/tap", &secrets);
        for (index, secret) in secrets.iter().enumerate() {
            assert_eq!(search.position(secret), Some(index));
        }
        assert_eq!(search.position("DDDD3333"), None);
        assert_eq!(
            FindMatchForTiming::new(&mut rng, "d", &[]).position("AAAA0000"),
            None
        );
    }
}
