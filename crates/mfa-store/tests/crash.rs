//! Crash safety of the SQLite store: a child process redeems single-use records in a loop and
//! prints each redeem once it is acknowledged (committed); the parent SIGKILLs it at a random
//! point, 25 times. After every kill the file must open, pass `PRAGMA integrity_check`, and
//! show every acknowledged redeem as spent: nothing the child reported may be lost.
//!
//! The child is this test binary run again on this test alone, told by [`CHILD_DIR`] to play
//! the child's part. The kill point is chosen by counting acknowledged redeems (a random number
//! of them, then a random pause of at most a few milliseconds), not by timing anything.
#![cfg(all(unix, feature = "sqlite"))]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use mfa_core::{
    AttemptError, Evidence, Method, RecordKey, StoreError, UnixTime, Verified, insert_new, load,
    verify_and_commit,
};
use mfa_store::SqliteStore;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

/// Set in the child: the directory of the shared file.
const CHILD_DIR: &str = "MFA_STORE_TEST_CRASH_CHILD_DIR";
/// Set in the child: the first record to redeem.
const CHILD_START: &str = "MFA_STORE_TEST_CRASH_CHILD_START";
/// How many times the child is killed.
const KILLS: usize = 25;
/// The most records one child redeems before it stops by itself.
const CHILD_LIMIT: u64 = 2_000;

fn record(i: u64) -> RecordKey {
    RecordKey::new("crash_oneshot", "alice", format!("r{i:06}"))
}

#[test]
fn acknowledged_redeems_survive_sigkill() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        let start = std::env::var(CHILD_START)
            .ok()
            .and_then(|start| start.parse().ok())
            .expect("the parent gives a start");
        return child_process(Path::new(&dir), start);
    }
    let seed = std::env::var("MFA_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| rand::make_rng::<StdRng>().random::<u64>());
    // Printed so that a failure can be replayed with MFA_CRASH_SEED.
    eprintln!("crash test seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfa.sqlite3");
    let mut acknowledged: Vec<u64> = Vec::new();
    let mut next = 0_u64;
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acknowledged_redeems_survive_sigkill",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_START, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kill_after = rng.random_range(1..=40_usize);
        let mut seen = 0;
        let mut reports = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(i) = spent(&line) {
                reports.push(i);
                seen += 1;
                if seen == kill_after {
                    break;
                }
            }
        }
        // Land the kill anywhere in the next redeem: before, inside or after its transaction.
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3_000)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "kill {kill}: the child ended by itself before it was killed"
        );
        // Whatever it printed before dying was acknowledged too.
        reports.extend(lines.map_while(Result::ok).filter_map(|line| spent(&line)));
        assert!(
            !reports.is_empty(),
            "kill {kill}: the child redeemed nothing"
        );

        let store = SqliteStore::open(&path).unwrap();
        store.integrity_check().unwrap();
        acknowledged.extend(&reports);
        for i in &acknowledged {
            assert_eq!(
                load::<_, bool>(&store, &record(*i)).unwrap(),
                Some(true),
                "kill {kill}: acknowledged redeem r{i} was lost"
            );
        }
        next = reports.iter().max().map_or(next, |last| last + 1);
    }
    eprintln!(
        "{} acknowledged redeems survived {KILLS} kills",
        acknowledged.len()
    );
    let mut unique = acknowledged.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "no record acknowledged twice"
    );
}

/// The index in an `@spent N` report (libtest's own output may share the line).
fn spent(line: &str) -> Option<u64> {
    line.split_once("@spent ")
        .and_then(|(_, index)| index.trim().parse().ok())
}

/// The child's part: from `start` on, create each record if missing and redeem it; print
/// `@spent N` once the redeem is committed. A record found already spent (the previous child
/// committed it and died before printing) is skipped silently: it was never acknowledged.
fn child_process(dir: &Path, start: u64) {
    let store = SqliteStore::open(dir.join("mfa.sqlite3")).expect("open");
    for i in start..start.saturating_add(CHILD_LIMIT) {
        let key = record(i);
        match insert_new(&store, &key, &false) {
            Ok(()) | Err(StoreError::AlreadyExists { .. }) => {}
            Err(error) => panic!("insert: {error}"),
        }
        let redeemed = verify_and_commit(&store, &key, |used: &bool| {
            if *used {
                return Err("used");
            }
            let evidence = Evidence::new(Method::BackupCode, UnixTime::EPOCH, key.id());
            Ok(Verified::new(evidence, true))
        });
        match redeemed {
            Ok(_) => println!("@spent {i}"),
            Err(AttemptError::Rejected("used")) => {}
            Err(error) => panic!("redeem: {error}"),
        }
    }
}
