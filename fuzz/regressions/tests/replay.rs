//! Replays the seeds (`fuzz/corpus/<target>/`) and every input that once made a fuzz target fail
//! (`fuzz/regressions/<target>/`) through the target's entry point: a fixed crash stays fixed,
//! checked by a plain `cargo test` on stable.
//!
//! A crash found by `cargo +nightly fuzz run` (or `.ci/fuzz`) becomes a regression test by
//! copying its reproducer: `cp fuzz/artifacts/<target>/crash-… fuzz/regressions/<target>/`.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use mfa_fuzz_regressions::{TARGETS, entry_point};

/// `fuzz/` from this package's directory (`fuzz/regressions/`).
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The names of the subdirectories of `dir`.
fn subdirectories(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_dir())
        .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// Runs every file of `fuzz/<kind>/<target>/` through its target; returns how many ran and the
/// ones that panicked.
fn replay(kind: &str) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failed = Vec::new();
    for &(target, entry) in TARGETS {
        for file in files_in(&fuzz_dir().join(kind).join(target)) {
            let data = fs::read(&file).expect("readable input");
            if panic::catch_unwind(|| entry(&data)).is_err() {
                failed.push(file.display().to_string());
            }
            ran += 1;
        }
    }
    (ran, failed)
}

#[test]
fn every_fuzz_target_has_an_entry_point_here() {
    let mut targets: Vec<String> = files_in(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    listed.sort();
    assert!(targets.len() >= 18, "fuzz/fuzz_targets/ was not found");
    assert_eq!(listed, targets);
}

#[test]
fn every_input_directory_names_a_target() {
    for kind in ["corpus", "regressions"] {
        for name in subdirectories(&fuzz_dir().join(kind)) {
            let known = entry_point(&name).is_some()
                || (kind == "regressions" && matches!(name.as_str(), "src" | "tests"));
            assert!(known, "fuzz/{kind}/{name}/ is not a fuzz target");
        }
    }
}

#[test]
fn every_seed_passes() {
    let (ran, failed) = replay("corpus");
    assert!(ran >= TARGETS.len(), "only {ran} seeds: run fuzz/gen-seeds");
    assert!(failed.is_empty(), "seeds that fail: {failed:#?}");
}

#[test]
fn every_fixed_crash_stays_fixed() {
    let (_, failed) = replay("regressions");
    assert!(
        failed.is_empty(),
        "regression inputs that fail again: {failed:#?}"
    );
}
