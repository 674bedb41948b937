//! `StoreCipher`: the conformance suite through the cipher (over memory and over SQLite), and
//! what only the cipher promises: nothing readable at rest, values bound to their record key,
//! tampering detected, rotation with a re-seal pass, plaintext migration behind its door.
#![cfg(all(feature = "cipher", feature = "sqlite"))]

#[macro_use]
mod suite;

use mfa_core::{
    ManualClock, MemoryStore, NewRecord, RecordKey, Store, StoreError, SwapOutcome, UnixTime,
    insert_new, load, put, put_until,
};
use mfa_store::cipher::{CipherKey, OVERHEAD, ResealReport, Resealed, Sealing, StoreCipher};
use mfa_store::{SqliteOptions, SqliteStore};
use proptest::prelude::*;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use suite::{Fixture, START};

fn key(id: u32) -> CipherKey {
    let byte = u8::try_from(id % 251).expect("small");
    CipherKey::new(id, &[byte; 32])
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(0xc1)
}

fn over<S: Store>(inner: S) -> StoreCipher<S, StdRng> {
    StoreCipher::new(inner, key(1), rng())
}

mod over_memory {
    use super::*;

    fn fixture() -> Option<Fixture<StoreCipher<MemoryStore, StdRng>>> {
        let clock = ManualClock::new(START);
        Some(Fixture {
            store: over(MemoryStore::with_clock(clock.clone())),
            clock,
            namespace: "cipher-memory".to_owned(),
            keep: None,
        })
    }

    conformance_tests!(fixture);
}

mod over_sqlite {
    use super::*;

    fn fixture() -> Option<Fixture<StoreCipher<SqliteStore, StdRng>>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(START);
        let store = SqliteStore::open_with(
            dir.path().join("mfa.sqlite3"),
            SqliteOptions::new().clock(clock.clone()),
        )
        .expect("open");
        Some(Fixture {
            store: over(store),
            clock,
            namespace: "cipher-sqlite".to_owned(),
            keep: Some(Box::new(dir)),
        })
    }

    conformance_tests!(fixture);
}

#[test]
fn nothing_readable_is_at_rest_and_expiry_is_kept() {
    let clock = ManualClock::new(START);
    let store = over(MemoryStore::with_clock(clock.clone()));
    let record = RecordKey::new("push_enrollment", "alice", "token-hash");
    let secret = "enrollment-token-0123456789";
    put_until(&store, &record, &secret, UnixTime::from_secs(1_700_000_600)).unwrap();
    let at_rest = store.inner().load(&record).unwrap().unwrap();
    assert!(
        !at_rest
            .value
            .windows(secret.len())
            .any(|window| window == secret.as_bytes())
    );
    // CBOR of the string: 2 header bytes + the text; sealing adds exactly OVERHEAD.
    assert_eq!(at_rest.value.len(), secret.len() + 2 + OVERHEAD);
    assert_eq!(at_rest.expires_at, Some(UnixTime::from_secs(1_700_000_600)));
    assert_eq!(
        store.sealing(&record).unwrap(),
        Some(Sealing::Sealed { key_id: 1 })
    );
    assert_eq!(
        load::<_, String>(&store, &record).unwrap().as_deref(),
        Some(secret)
    );
    // The same value twice seals differently (fresh nonces).
    put(&store, &record, &secret).unwrap();
    let again = store.inner().load(&record).unwrap().unwrap();
    assert_ne!(again.value, at_rest.value);
}

#[test]
fn a_value_moved_to_another_record_does_not_open() {
    let store = over(MemoryStore::new());
    let alice = RecordKey::new("totp", "alice", "phone");
    let mallory = RecordKey::new("totp", "mallory", "phone");
    let other_kind = RecordKey::new("hotp", "alice", "phone");
    insert_new(&store, &alice, &"alice's seed").unwrap();
    let sealed = store.inner().load(&alice).unwrap().unwrap().value;
    for target in [&mallory, &other_kind] {
        let _ = store
            .inner()
            .compare_and_swap(target, None, Some(NewRecord::new(&sealed)))
            .unwrap();
        let moved = load::<_, String>(&store, target);
        assert!(
            matches!(&moved, Err(StoreError::Corrupt { reason, .. }) if reason.contains("moved")),
            "{moved:?}"
        );
    }
}

#[test]
fn every_flipped_bit_is_detected() {
    let store = over(MemoryStore::new());
    let record = RecordKey::new("totp", "alice", "phone");
    insert_new(&store, &record, &"seed").unwrap();
    let sealed = store.inner().load(&record).unwrap().unwrap();
    for byte in 0..sealed.value.len() {
        for bit in [0x01_u8, 0x80] {
            let mut tampered = sealed.value.to_vec();
            tampered[byte] ^= bit;
            let current = store.inner().load(&record).unwrap().unwrap().version;
            let _ = store
                .inner()
                .compare_and_swap(&record, Some(current), Some(NewRecord::new(&tampered)))
                .unwrap();
            assert!(
                matches!(
                    load::<_, String>(&store, &record),
                    Err(StoreError::Corrupt { .. })
                ),
                "byte {byte} bit {bit:#x}"
            );
        }
    }
    // Truncated at every length.
    for len in 0..sealed.value.len() {
        let current = store.inner().load(&record).unwrap().unwrap().version;
        let _ = store
            .inner()
            .compare_and_swap(
                &record,
                Some(current),
                Some(NewRecord::new(&sealed.value[..len])),
            )
            .unwrap();
        assert!(
            matches!(store.load(&record), Err(StoreError::Corrupt { .. })),
            "length {len}"
        );
    }
}

#[test]
fn rotation_reads_old_keys_writes_the_current_one_and_reseals() {
    let inner = MemoryStore::new();
    let records: Vec<RecordKey> = (0..5)
        .map(|i| RecordKey::new("totp", "alice", format!("device-{i}")))
        .collect();
    {
        let old = StoreCipher::new(&inner, key(1), rng());
        for (i, record) in records.iter().enumerate() {
            insert_new(&old, record, &i).unwrap();
        }
    }
    // Key 2 becomes current; key 1 is kept for reading.
    let rotated = StoreCipher::new(&inner, key(2), rng()).with_old_key(key(1));
    assert_eq!(load::<_, usize>(&rotated, &records[3]).unwrap(), Some(3));
    put(&rotated, &records[0], &100_usize).unwrap();
    assert_eq!(
        rotated.sealing(&records[0]).unwrap(),
        Some(Sealing::Sealed { key_id: 2 }),
        "writes use the current key"
    );
    let before = inner.load(&records[1]).unwrap().unwrap().version;
    assert_eq!(rotated.reseal(&records[1]).unwrap(), Resealed::Resealed);
    assert_ne!(inner.load(&records[1]).unwrap().unwrap().version, before);
    assert_eq!(
        rotated.reseal(&records[1]).unwrap(),
        Resealed::AlreadyCurrent
    );
    assert_eq!(
        rotated
            .reseal(&RecordKey::new("totp", "alice", "none"))
            .unwrap(),
        Resealed::Absent
    );
    let report = rotated.reseal_all("totp", "alice").unwrap();
    assert_eq!(
        report,
        ResealReport {
            resealed: 3,
            already_current: 2,
            left_behind: 0
        }
    );
    // Key 1 can go now: everything opens with key 2 alone.
    let only_new = StoreCipher::new(&inner, key(2), rng());
    for (i, record) in records.iter().enumerate().skip(1) {
        assert_eq!(load::<_, usize>(&only_new, record).unwrap(), Some(i));
    }
    // Without the old key, a value still sealed under it is an error naming the key id.
    let stale = RecordKey::new("totp", "bob", "phone");
    insert_new(&StoreCipher::new(&inner, key(1), rng()), &stale, &7_u8).unwrap();
    let error = load::<_, u8>(&only_new, &stale).unwrap_err();
    assert!(error.to_string().contains("key id 1"), "{error}");
    assert_eq!(
        only_new.reseal_all("totp", "bob").unwrap().left_behind,
        1,
        "the pass reports what it could not reseal"
    );
}

#[test]
fn expiry_survives_a_reseal() {
    let clock = ManualClock::new(START);
    let inner = MemoryStore::with_clock(clock.clone());
    let record = RecordKey::new("push_challenge", "alice", "c1");
    let expiry = UnixTime::from_secs(1_700_000_060);
    put_until(
        &StoreCipher::new(&inner, key(1), rng()),
        &record,
        &1_u8,
        expiry,
    )
    .unwrap();
    let rotated = StoreCipher::new(&inner, key(2), rng()).with_old_key(key(1));
    assert_eq!(rotated.reseal(&record).unwrap(), Resealed::Resealed);
    assert_eq!(
        inner.load(&record).unwrap().unwrap().expires_at,
        Some(expiry)
    );
}

#[test]
fn plaintext_is_refused_unless_the_migration_door_is_open() {
    let inner = MemoryStore::new();
    let record = RecordKey::new("backup", "alice", "codes");
    insert_new(&inner, &record, &"stored before encryption").unwrap();
    let strict = StoreCipher::new(&inner, key(1), rng());
    assert!(matches!(
        load::<_, String>(&strict, &record),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(strict.sealing(&record).unwrap(), Some(Sealing::Plain));
    let migrating = StoreCipher::new(&inner, key(1), rng()).danger_accept_plaintext();
    assert_eq!(
        load::<_, String>(&migrating, &record).unwrap().as_deref(),
        Some("stored before encryption")
    );
    assert_eq!(migrating.reseal_all("backup", "alice").unwrap().resealed, 1);
    assert_eq!(
        load::<_, String>(&strict, &record).unwrap().as_deref(),
        Some("stored before encryption"),
        "sealed now: opens without the door"
    );
}

#[test]
fn keys_are_redacted_in_debug() {
    let store = over(MemoryStore::new()).with_old_key(key(9));
    let shown = format!("{store:?} {:?}", key(3));
    assert!(shown.contains("current_key_id: 1") && shown.contains("old_key_ids: [9]"));
    assert!(
        !shown.contains("[3, 3") && !shown.contains("aead"),
        "{shown}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_value_under_any_key_round_trips(
        value in proptest::collection::vec(any::<u8>(), 0..2048),
        account in "\\PC{0,40}",
        id in "\\PC{0,40}",
    ) {
        let store = over(MemoryStore::new());
        let record = RecordKey::new("prop", account, id);
        let outcome = store
            .compare_and_swap(&record, None, Some(NewRecord::new(&value)))
            .unwrap();
        let committed = matches!(outcome, SwapOutcome::Committed(_));
        prop_assert!(committed);
        let loaded = store.load(&record).unwrap().unwrap();
        prop_assert_eq!(loaded.value.as_slice(), value.as_slice());
    }

    #[test]
    fn any_stored_bytes_open_or_fail_cleanly(
        mut stored in proptest::collection::vec(any::<u8>(), 0..200),
        sealed_header in any::<bool>(),
    ) {
        if sealed_header && stored.len() >= 8 {
            stored[..4].copy_from_slice(&[0xFF, b'M', b'S', 0x01]);
            stored[4..8].copy_from_slice(&1_u32.to_be_bytes());
        }
        let store = over(MemoryStore::new());
        let record = RecordKey::new("prop", "a", "b");
        let _ = store
            .inner()
            .compare_and_swap(&record, None, Some(NewRecord::new(&stored)))
            .unwrap();
        // Forging a tag is out of reach: every one of these is an error, never a panic.
        let refused = matches!(store.load(&record), Err(StoreError::Corrupt { .. }));
        prop_assert!(refused);
    }
}
