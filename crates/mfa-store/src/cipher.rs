//! Encryption at rest over any backend: [`StoreCipher`] seals every value with
//! XChaCha20-Poly1305 (an AEAD: [RFC 8439] ChaCha20-Poly1305 with the 192-bit nonces of
//! [draft-irtf-cfrg-xchacha]) before it reaches the store, and opens it on the way back.
//!
//! A TOTP seed or an enrollment token in a stolen database file, dump or backup is then
//! ciphertext; the key stays with the service (an environment secret, a KMS, a file readable only
//! by the service).
//!
//! # What is bound, what is not
//! - The **record key** (kind, account, id) is associated data: a sealed value copied to another
//!   account's key (or another kind) does not open. Neither does one with a flipped bit.
//! - The **key id** and format version are in a clear header and authenticated as well.
//! - Not bound: the record's version and expiry (the backend assigns and keeps those), and
//!   freshness: someone who can write the database can still delete records, or put back an
//!   older sealed value of the same record (a rollback). Encryption at rest is about reading.
//!
//! # Format of a sealed value
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic and version: `FF 4D 53 01` (`0xFF` never starts a CBOR item, so a sealed value is never mistaken for a plain one) |
//! | 4 | key id, big-endian `u32` |
//! | 24 | random nonce |
//! | n | ciphertext of the n-byte value |
//! | 16 | Poly1305 tag |
//!
//! Associated data: the 8-byte header followed by [`RecordKey::flat`] (an injective encoding).
//! 48 bytes of overhead per record. Random 192-bit nonces make nonce reuse a non-issue for any
//! number of writes under one key.
//!
//! # Rotation
//! Give the cipher the new key as current and the old ones with
//! [`with_old_key`](StoreCipher::with_old_key): everything still opens, every write seals under
//! the current key. Then run the re-seal pass ([`reseal_all`](StoreCipher::reseal_all) per kind
//! and account, or [`reseal`](StoreCipher::reseal) per record) until
//! [`ResealReport::left_behind`] is 0 everywhere, and drop the old key.
//!
//! # Turning encryption on for an existing store
//! [`danger_accept_plaintext`](StoreCipher::danger_accept_plaintext) also reads values that
//! were never sealed, so the re-seal pass can seal them. Turn it off again once the pass is done:
//! while it is on, whoever can write the database can plant an unsealed value.
//!
//! [RFC 8439]: https://www.rfc-editor.org/rfc/rfc8439
//! [draft-irtf-cfrg-xchacha]: https://datatracker.ietf.org/doc/html/draft-irtf-cfrg-xchacha-03

use core::fmt;
use std::sync::{Mutex, PoisonError};

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use mfa_core::{
    AsyncStore, MAX_COMMIT_ATTEMPTS, NewRecord, RecordKey, Store, StoreError, StoredRecord,
    SwapOutcome, Version,
};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// Magic and format version at the start of every sealed value.
const MAGIC: [u8; 4] = [0xFF, b'M', b'S', 0x01];
const HEADER_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to the plain one.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

/// One 256-bit key and its id. The key bytes are zeroized on drop and never printed.
pub struct CipherKey {
    id: u32,
    aead: XChaCha20Poly1305,
}

impl CipherKey {
    /// The key `bytes` under `id` (any number the service chooses; stored in each value so that
    /// the right key is found after a rotation).
    #[must_use]
    pub fn new(id: u32, bytes: &[u8; 32]) -> Self {
        Self {
            id,
            aead: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// A fresh random key under `id`.
    #[must_use]
    pub fn generate(id: u32, rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        let mut bytes = Zeroizing::new([0_u8; 32]);
        rng.fill_bytes(bytes.as_mut_slice());
        Self::new(id, &bytes)
    }

    /// The key's id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How a stored value is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealing {
    /// Sealed under the key with this id.
    Sealed {
        /// The key id from the value's header.
        key_id: u32,
    },
    /// Not sealed at all (stored before the cipher was turned on).
    Plain,
}

/// What [`StoreCipher::reseal`] did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resealed {
    /// There is no such record.
    Absent,
    /// Already sealed under the current key: nothing written.
    AlreadyCurrent,
    /// Opened with an old key (or read as plain) and sealed under the current key.
    Resealed,
}

/// What [`StoreCipher::reseal_all`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Records sealed under the current key by this pass.
    pub resealed: u64,
    /// Records that were already current.
    pub already_current: u64,
    /// Records that could not be resealed (sealed under a key the cipher lacks, damaged, or
    /// plain without [`StoreCipher::danger_accept_plaintext`]). 0 means the pass is complete.
    pub left_behind: u64,
}

/// Seals every value of the store `S` with an AEAD; see the [module docs](self).
///
/// ```
/// use mfa_core::{MemoryStore, RecordKey, Store, insert_new, load};
/// use mfa_store::cipher::{CipherKey, StoreCipher};
/// use rand::rngs::StdRng;
///
/// let key = CipherKey::new(1, &[7; 32]); // in production: 32 random bytes from a secret store
/// let store = StoreCipher::new(MemoryStore::new(), key, rand::make_rng::<StdRng>());
/// let record = RecordKey::new("totp", "alice", "phone");
/// insert_new(&store, &record, &"JBSWY3DPEHPK3PXP")?;
/// assert_eq!(load::<_, String>(&store, &record)?.as_deref(), Some("JBSWY3DPEHPK3PXP"));
/// // What the backend holds is ciphertext.
/// let at_rest = store.inner().load(&record)?.expect("stored");
/// assert!(!at_rest.value.windows(4).any(|w| w == b"JBSW"));
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
pub struct StoreCipher<S, R> {
    inner: S,
    current: CipherKey,
    old: Vec<CipherKey>,
    rng: Mutex<R>,
    accept_plaintext: bool,
}

impl<S, R: CryptoRng + Send> StoreCipher<S, R> {
    /// Seals values of `inner` under `current`, drawing nonces from `rng` (a `Send` CSPRNG such
    /// as `rand::rngs::StdRng` seeded from the OS).
    pub fn new(inner: S, current: CipherKey, rng: R) -> Self {
        Self {
            inner,
            current,
            old: Vec::new(),
            rng: Mutex::new(rng),
            accept_plaintext: false,
        }
    }

    /// Also opens values sealed under `key` (a key rotated out); nothing is sealed under it. A
    /// key with the current key's id is ignored.
    #[must_use]
    pub fn with_old_key(mut self, key: CipherKey) -> Self {
        if key.id != self.current.id {
            self.old.retain(|old| old.id != key.id);
            self.old.push(key);
        }
        self
    }

    /// Also reads values that were never sealed, as they are: only while turning encryption on
    /// for an existing store, until the re-seal pass is done (see the [module docs](self)).
    #[must_use]
    pub fn danger_accept_plaintext(mut self) -> Self {
        self.accept_plaintext = true;
        self
    }

    /// The wrapped store (values as stored: sealed).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The id of the key new values are sealed under.
    #[must_use]
    pub fn current_key_id(&self) -> u32 {
        self.current.id
    }

    fn key(&self, id: u32) -> Option<&CipherKey> {
        if id == self.current.id {
            return Some(&self.current);
        }
        self.old.iter().find(|key| key.id == id)
    }

    /// Seals `value` for `record` under the current key.
    fn seal(&self, record: &RecordKey, value: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let mut nonce = [0_u8; NONCE_LEN];
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(&mut nonce);
        let mut sealed = Zeroizing::new(Vec::with_capacity(value.len().saturating_add(OVERHEAD)));
        sealed.extend_from_slice(&MAGIC);
        sealed.extend_from_slice(&self.current.id.to_be_bytes());
        let aad = associated_data(sealed.as_slice(), record);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(value);
        let body = sealed
            .get_mut(HEADER_LEN + NONCE_LEN..)
            .ok_or_else(|| cannot(record, "internal: sealed buffer too short"))?;
        let tag = self
            .current
            .aead
            .encrypt_inout_detached(&XNonce::from(nonce), &aad, body.into())
            .map_err(|_| cannot(record, "the value is too long to seal"))?;
        sealed.extend_from_slice(tag.as_slice());
        Ok(sealed)
    }

    /// Opens a stored value of `record`: the plain value, and how it was kept.
    fn open(
        &self,
        record: &RecordKey,
        stored: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, Sealing), StoreError> {
        let Some(header) = stored.get(..HEADER_LEN).filter(|h| h.starts_with(&MAGIC)) else {
            if self.accept_plaintext {
                return Ok((Zeroizing::new(stored.to_vec()), Sealing::Plain));
            }
            return Err(cannot(
                record,
                "the value is not sealed (stored before encryption was turned on?)",
            ));
        };
        let key_id = header_key_id(header);
        let key = self.key(key_id).ok_or_else(|| {
            cannot(
                record,
                &format!("sealed under key id {key_id}, which this cipher does not have"),
            )
        })?;
        let (nonce, rest) = stored
            .get(HEADER_LEN..)
            .and_then(|rest| rest.split_at_checked(NONCE_LEN))
            .ok_or_else(|| cannot(record, "the sealed value is truncated"))?;
        let body_len = rest
            .len()
            .checked_sub(TAG_LEN)
            .ok_or_else(|| cannot(record, "the sealed value is truncated"))?;
        let (ciphertext, tag) = rest.split_at(body_len);
        let nonce = XNonce::try_from(nonce).map_err(|_| cannot(record, "bad nonce length"))?;
        let tag =
            chacha20poly1305::Tag::try_from(tag).map_err(|_| cannot(record, "bad tag length"))?;
        let mut plain = Zeroizing::new(ciphertext.to_vec());
        key.aead
            .decrypt_inout_detached(
                &nonce,
                &associated_data(header, record),
                plain.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| {
                cannot(
                    record,
                    "the sealed value does not open: wrong key, moved from another record, or tampered with",
                )
            })?;
        Ok((plain, Sealing::Sealed { key_id }))
    }

    fn open_record(
        &self,
        record: &RecordKey,
        stored: StoredRecord,
    ) -> Result<StoredRecord, StoreError> {
        let (value, _) = self.open(record, &stored.value)?;
        Ok(StoredRecord {
            version: stored.version,
            value,
            expires_at: stored.expires_at,
        })
    }
}

impl<S: Store, R: CryptoRng + Send> StoreCipher<S, R> {
    /// How the value at `record` is kept (which key id, or plain), without opening it.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    pub fn sealing(&self, record: &RecordKey) -> Result<Option<Sealing>, StoreError> {
        Ok(self
            .inner
            .load(record)?
            .map(|stored| match stored.value.get(..HEADER_LEN) {
                Some(header) if header.starts_with(&MAGIC) => Sealing::Sealed {
                    key_id: header_key_id(header),
                },
                _ => Sealing::Plain,
            }))
    }

    /// Seals the value at `record` under the current key if it is not already: one step of a
    /// rotation's re-seal pass. The record keeps its expiry and gets a new version (so a
    /// concurrent update retries on the fresh state, as after any write).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the value does not open (unknown key id, damaged, or plain
    /// without [`danger_accept_plaintext`](Self::danger_accept_plaintext));
    /// [`StoreError::Contention`] if other writers keep winning; otherwise if the backend fails.
    pub fn reseal(&self, record: &RecordKey) -> Result<Resealed, StoreError> {
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let Some(stored) = self.inner.load(record)? else {
                return Ok(Resealed::Absent);
            };
            let (plain, sealing) = self.open(record, &stored.value)?;
            if sealing
                == (Sealing::Sealed {
                    key_id: self.current.id,
                })
            {
                return Ok(Resealed::AlreadyCurrent);
            }
            let sealed = self.seal(record, &plain)?;
            let new = NewRecord::new(&sealed).with_expiry(stored.expires_at);
            match self
                .inner
                .compare_and_swap(record, Some(stored.version), Some(new))?
            {
                SwapOutcome::Committed(_) => return Ok(Resealed::Resealed),
                SwapOutcome::Conflict => continue,
            }
        }
        Err(StoreError::Contention {
            attempts: MAX_COMMIT_ATTEMPTS,
        })
    }

    /// [`reseal`](Self::reseal) on every record of `kind` held by `account`; a record that
    /// cannot be resealed is counted in [`ResealReport::left_behind`] and the pass goes on.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails to list or write.
    pub fn reseal_all(&self, kind: &str, account: &str) -> Result<ResealReport, StoreError> {
        let mut report = ResealReport::default();
        for (record, _) in self.inner.list(kind, account)? {
            match self.reseal(&record) {
                Ok(Resealed::Resealed) => report.resealed = report.resealed.saturating_add(1),
                Ok(Resealed::AlreadyCurrent) => {
                    report.already_current = report.already_current.saturating_add(1);
                }
                // Deleted meanwhile: nothing left to seal.
                Ok(Resealed::Absent) => {}
                Err(StoreError::Corrupt { .. }) => {
                    report.left_behind = report.left_behind.saturating_add(1);
                }
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/store_sealed_value.rs`): `data` as the bytes a backend
/// hands back for a record. Opening never panics; a strict cipher opens nothing it did not seal;
/// a value without the sealed header comes back unchanged under
/// [`danger_accept_plaintext`](StoreCipher::danger_accept_plaintext); and `data` sealed as a
/// value opens to itself under its own record key only.
#[doc(hidden)]
pub fn fuzz_open(data: &[u8]) {
    /// Nonces from a counter: enough for a fuzz run, never for a real store.
    struct CountingNonces(u64);
    impl rand_core::TryRng for CountingNonces {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            let [a, b, c, d, ..] = self.try_next_u64()?.to_le_bytes();
            Ok(u32::from_le_bytes([a, b, c, d]))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            self.0 = self.0.wrapping_add(1);
            Ok(self.0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for chunk in dst.chunks_mut(8) {
                let bytes = self.try_next_u64()?.to_le_bytes();
                chunk.copy_from_slice(bytes.get(..chunk.len()).unwrap_or_default());
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for CountingNonces {}

    let cipher = |id| {
        StoreCipher::new((), CipherKey::new(id, &[0x5A; 32]), CountingNonces(0))
            .with_old_key(CipherKey::new(id.wrapping_add(1), &[0xA5; 32]))
    };
    let record = RecordKey::new("fuzz", "account", "record");
    let strict = cipher(1);
    assert!(
        strict.open(&record, data).is_err(),
        "a strict cipher opened a forged value"
    );
    let lenient = cipher(1).danger_accept_plaintext();
    if let Ok((plain, sealing)) = lenient.open(&record, data) {
        assert_eq!(sealing, Sealing::Plain, "a forged value opened as sealed");
        assert_eq!(plain.as_slice(), data, "a plain value changed");
    }
    let Ok(sealed) = strict.seal(&record, data) else {
        return;
    };
    let opened = strict.open(&record, &sealed).ok();
    assert_eq!(
        opened.as_ref().map(|(plain, _)| plain.as_slice()),
        Some(data),
        "round trip"
    );
    let elsewhere = RecordKey::new("fuzz", "account", "other");
    assert!(
        strict.open(&elsewhere, &sealed).is_err(),
        "opened under another record key"
    );
}

/// The key id in a value's header.
fn header_key_id(header: &[u8]) -> u32 {
    let mut id = [0_u8; 4];
    if let Some(bytes) = header.get(4..HEADER_LEN) {
        id.copy_from_slice(bytes);
    }
    u32::from_be_bytes(id)
}

/// Header followed by the record key's flat form.
fn associated_data(header: &[u8], record: &RecordKey) -> Vec<u8> {
    let flat = record.flat();
    let mut aad = Vec::with_capacity(header.len().saturating_add(flat.len()));
    aad.extend_from_slice(header);
    aad.extend_from_slice(flat.as_bytes());
    aad
}

fn cannot(record: &RecordKey, reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: record.flat(),
        reason: reason.to_owned(),
    }
}

impl<S, R> fmt::Debug for StoreCipher<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreCipher")
            .field("current_key_id", &self.current.id)
            .field(
                "old_key_ids",
                &self.old.iter().map(|key| key.id).collect::<Vec<_>>(),
            )
            .field("accept_plaintext", &self.accept_plaintext)
            .finish_non_exhaustive()
    }
}

impl<S: Store, R: CryptoRng + Send> Store for StoreCipher<S, R> {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        self.inner
            .load(key)?
            .map(|stored| self.open_record(key, stored))
            .transpose()
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        match new {
            None => self.inner.compare_and_swap(key, expected, None),
            Some(new) => {
                let sealed = self.seal(key, new.value)?;
                let sealed_new = NewRecord::new(&sealed).with_expiry(new.expires_at);
                self.inner.compare_and_swap(key, expected, Some(sealed_new))
            }
        }
    }

    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        self.inner
            .list(kind, account)?
            .into_iter()
            .map(|(key, stored)| {
                let opened = self.open_record(&key, stored)?;
                Ok((key, opened))
            })
            .collect()
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        self.inner.find_by_id(kind, id)
    }

    fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired()
    }
}

impl<S: AsyncStore, R: CryptoRng + Send> AsyncStore for StoreCipher<S, R> {
    async fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        self.inner
            .load(key)
            .await?
            .map(|stored| self.open_record(key, stored))
            .transpose()
    }

    async fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        match new {
            None => self.inner.compare_and_swap(key, expected, None).await,
            Some(new) => {
                let sealed = self.seal(key, new.value)?;
                let sealed_new = NewRecord::new(&sealed).with_expiry(new.expires_at);
                self.inner
                    .compare_and_swap(key, expected, Some(sealed_new))
                    .await
            }
        }
    }

    async fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        self.inner
            .list(kind, account)
            .await?
            .into_iter()
            .map(|(key, stored)| {
                let opened = self.open_record(&key, stored)?;
                Ok((key, opened))
            })
            .collect()
    }

    async fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        self.inner.find_by_id(kind, id).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}
