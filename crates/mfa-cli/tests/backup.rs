//! `mfa backup`: issue, redeem, status, through the binary, against a JSON store file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::{fs, thread};

fn mfa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .output()
        .expect("the mfa binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mfa-cli-backup-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// Issues a set with the cheap test parameters and returns the codes.
fn issue(store: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "backup",
        "issue",
        "--store",
        path(store),
        "--danger-low-cost",
    ];
    args.extend_from_slice(extra);
    let out = mfa(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

fn redeem(store: &Path, code: &str) -> Output {
    mfa(&["backup", "redeem", "--store", path(store), code])
}

fn status(store: &Path) -> serde_json::Value {
    let out = mfa(&["backup", "status", "--store", path(store)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status is JSON")
}

#[test]
fn issue_prints_only_the_codes_and_stores_none_of_them() {
    let dir = TempDir::new("issue");
    let store = dir.file("codes.json");
    let codes = issue(&store, &[]);
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(code.chars().nth(5), Some('-'), "{code}");
    }
    let json = fs::read_to_string(&store).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(stored["slots"].as_array().unwrap().len(), 10);
    for code in &codes {
        let bare = code.replace('-', "");
        for form in [code.clone(), bare.clone(), bare.to_uppercase()] {
            assert!(!json.contains(&form), "the store file holds a code");
        }
    }
    // No temporary file is left behind; the lock file stays (the OS lock on it dies with its
    // holder, and deleting it would race with a waiting process), empty.
    let mut names: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["codes.json", "codes.json.lock"]);
    assert_eq!(fs::metadata(dir.file("codes.json.lock")).unwrap().len(), 0);
}

#[test]
fn count_and_format_options() {
    let dir = TempDir::new("format");
    let store = dir.file("codes.json");
    let codes = issue(&store, &["--count", "3", "--format", "digits8"]);
    assert_eq!(codes.len(), 3);
    for code in &codes {
        assert_eq!(code.len(), 9, "{code}");
        assert!(
            code.chars().all(|c| c.is_ascii_digit() || c == ' '),
            "{code}"
        );
    }
    assert_eq!(status(&store)["format"], "digits8");
    let codes = issue(&store, &["--format", "long", "--hasher", "pbkdf2"]);
    assert_eq!(codes[0].len(), 19);
    let stored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&store).unwrap()).unwrap();
    assert_eq!(stored["hasher"]["alg"], "pbkdf2_sha256");
    let out = redeem(&store, &codes[0].to_uppercase());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "9\n");

    for bad in [
        &["--count", "0"][..],
        &["--count", "101"][..],
        &["--format", "hex"][..],
    ] {
        let mut args = vec!["backup", "issue", "--store", path(&store)];
        args.extend_from_slice(bad);
        let out = mfa(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert_eq!(text(&out.stderr).lines().count(), 1, "{bad:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn redeem_once_prints_what_is_left_and_rejects_the_replay() {
    let dir = TempDir::new("redeem");
    let store = dir.file("codes.json");
    let codes = issue(&store, &[]);

    let out = redeem(&store, &codes[0]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "9\n");
    assert!(out.stderr.is_empty());

    let out = redeem(&store, &codes[0]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1);
    assert!(stderr.contains("replayed"), "{stderr}");
    assert!(
        !stderr.contains(&codes[0]),
        "the reason must not echo the code"
    );

    let out = redeem(&store, "zzzzz-zzzzz");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("code_mismatch"));

    // Sloppy typing of a good code is fine: upper case, spaces, O/I/L look-alikes.
    let sloppy = codes[1]
        .to_uppercase()
        .replace('-', " ")
        .replace('0', "O")
        .replace('1', "I");
    let out = redeem(&store, &sloppy);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "8\n");

    // A code that is not even code-shaped is rejected (exit 1), with its reason.
    let out = redeem(&store, "not-a-code");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("malformed_code"));

    let status = status(&store);
    assert_eq!(status["remaining"], 8);
    assert_eq!(status["total"], 10);
    assert_eq!(status["running_low"], false);
}

#[test]
fn status_reports_remaining_and_running_low() {
    let dir = TempDir::new("status");
    let store = dir.file("codes.json");
    let codes = issue(&store, &["--count", "5", "--account", "alice@example.com"]);
    let before = status(&store);
    assert_eq!(before["remaining"], 5);
    assert_eq!(before["account"], "alice@example.com");
    assert_eq!(before["running_low"], false);
    for (i, code) in codes.iter().take(2).enumerate() {
        let out = redeem(&store, code);
        assert_eq!(text(&out.stdout), format!("{}\n", 4 - i));
    }
    let after = status(&store);
    assert_eq!(after["remaining"], 3);
    assert_eq!(after["running_low"], true);
}

#[test]
fn reissuing_invalidates_the_old_codes() {
    let dir = TempDir::new("reissue");
    let store = dir.file("codes.json");
    let old = issue(&store, &[]);
    let new = issue(&store, &[]);
    let out = redeem(&store, &old[0]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("code_mismatch"));
    assert_eq!(redeem(&store, &new[0]).status.code(), Some(0));
}

#[test]
fn saved_recovery_mode_prints_a_replacement() {
    let dir = TempDir::new("saved");
    let store = dir.file("codes.json");
    let codes = issue(&store, &["--count", "1", "--replace-after-use"]);
    let out = redeem(&store, &codes[0]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines[0], "1");
    let replacement = lines[1];
    assert_ne!(replacement, codes[0]);
    assert!(!fs::read_to_string(&store).unwrap().contains(replacement));
    assert_eq!(redeem(&store, replacement).status.code(), Some(0));
    assert_eq!(redeem(&store, &codes[0]).status.code(), Some(1));
}

#[test]
fn sheet_prints_issuer_account_date_and_codes() {
    let dir = TempDir::new("sheet");
    let store = dir.file("codes.json");
    let lines = issue(
        &store,
        &["--sheet", "--issuer", "Example Corp", "--account", "alice"],
    );
    let sheet = lines.join("\n");
    assert!(sheet.contains("Example Corp"));
    assert!(sheet.contains("Account: alice"));
    assert!(sheet.contains("(UTC)"));
    assert_eq!(sheet.matches("[ ]").count(), 10);
    assert!(lines.iter().all(|line| line.len() <= 64), "{sheet}");
}

#[test]
fn missing_or_broken_store_files_are_usage_errors() {
    let dir = TempDir::new("broken");
    let missing = dir.file("missing.json");
    for out in [
        redeem(&missing, "zzzzz-zzzzz"),
        mfa(&["backup", "status", "--store", path(&missing)]),
    ] {
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(text(&out.stderr).lines().count(), 1);
    }
    let broken = dir.file("broken.json");
    fs::write(&broken, "{ not json").unwrap();
    let out = redeem(&broken, "zzzzz-zzzzz");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read_to_string(&broken).unwrap(), "{ not json");
    let out = mfa(&["backup", "redeem", "--store", path(&broken)]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn concurrent_redemptions_of_one_code_succeed_once() {
    const PROCESSES: usize = 8;
    let dir = TempDir::new("race");
    let store = dir.file("codes.json");
    let codes = issue(&store, &[]);
    let barrier = Arc::new(Barrier::new(PROCESSES));
    let handles: Vec<_> = (0..PROCESSES)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let store = store.clone();
            let code = codes[3].clone();
            thread::spawn(move || {
                barrier.wait();
                redeem(&store, &code).status.code()
            })
        })
        .collect();
    let exits: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        exits.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{exits:?}"
    );
    assert_eq!(
        exits.iter().filter(|c| **c == Some(1)).count(),
        PROCESSES - 1,
        "{exits:?}"
    );
    assert_eq!(status(&store)["remaining"], 9);
}

#[test]
fn the_default_parameters_work_from_the_command_line() {
    let dir = TempDir::new("defaults");
    let store = dir.file("codes.json");
    let out = mfa(&["backup", "issue", "--store", path(&store), "--count", "2"]);
    assert_eq!(out.status.code(), Some(0));
    let codes: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    let stored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&store).unwrap()).unwrap();
    assert_eq!(stored["hasher"]["alg"], "argon2id");
    assert_eq!(stored["hasher"]["m_kib"], 19_456);
    assert_eq!(stored["hasher"]["t"], 2);
    assert_eq!(stored["hasher"]["p"], 1);
    assert_eq!(text(&redeem(&store, &codes[1]).stdout), "1\n");
}

/// Runs `mfa` with `stdout` as its standard output; stderr is captured.
fn mfa_to(args: &[&str], stdout: impl Into<Stdio>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("the mfa binary runs")
}

/// A standard output that fails every write: `/dev/full` (ENOSPC).
#[cfg(target_os = "linux")]
fn dev_full() -> fs::File {
    fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux")
}

/// A standard output whose reader is gone before the child starts: every write is EPIPE.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer
}

/// Checks that a command that could not show its codes failed with exit 2, one line on stderr,
/// and left the store byte for byte as it was.
fn assert_nothing_changed(out: &Output, store: &Path, before: &[u8]) {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("stdout"), "{stderr}");
    assert_eq!(
        fs::read(store).expect("the store is readable"),
        before,
        "the store was replaced"
    );
}

fn issue_args(store: &Path) -> Vec<&str> {
    vec![
        "backup",
        "issue",
        "--store",
        path(store),
        "--danger-low-cost",
    ]
}

#[cfg(target_os = "linux")]
#[test]
fn item4_issue_to_full_stdout_keeps_old_set() {
    let dir = TempDir::new("item4-issue-full");
    let store = dir.file("codes.json");
    let old = issue(&store, &[]);
    let before = fs::read(&store).unwrap();
    for extra in [&[][..], &["--sheet"][..]] {
        let mut args = issue_args(&store);
        args.extend_from_slice(extra);
        let out = mfa_to(&args, dev_full());
        assert_nothing_changed(&out, &store, &before);
    }
    // The codes the user has still work.
    assert_eq!(redeem(&store, &old[0]).status.code(), Some(0));
}

#[test]
fn item4_issue_to_closed_pipe_keeps_old_set() {
    let dir = TempDir::new("item4-issue-pipe");
    let store = dir.file("codes.json");
    let old = issue(&store, &[]);
    let before = fs::read(&store).unwrap();
    for extra in [&[][..], &["--sheet"][..]] {
        let mut args = issue_args(&store);
        args.extend_from_slice(extra);
        let out = mfa_to(&args, closed_pipe());
        assert_nothing_changed(&out, &store, &before);
    }
    assert_eq!(redeem(&store, &old[0]).status.code(), Some(0));
}

#[test]
fn item4_issue_without_a_store_writes_none_when_stdout_is_closed() {
    let dir = TempDir::new("item4-issue-new");
    let store = dir.file("codes.json");
    let out = mfa_to(&issue_args(&store), closed_pipe());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!store.exists(), "a set nobody saw was stored");
}

/// Redeems the one code of a saved-recovery-code set with `stdout`; the code must stay valid.
fn assert_replacement_redeem_keeps_code(name: &str, stdout: impl Fn() -> Stdio) {
    let dir = TempDir::new(name);
    let store = dir.file("codes.json");
    let codes = issue(&store, &["--count", "1", "--replace-after-use"]);
    let before = fs::read(&store).expect("the store is readable");
    let out = mfa_to(
        &["backup", "redeem", "--store", path(&store), &codes[0]],
        stdout(),
    );
    assert_nothing_changed(&out, &store, &before);
    // Not committed: the code the user typed is still theirs, and now redeems normally.
    let out = redeem(&store, &codes[0]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(redeem(&store, lines[1]).status.code(), Some(0));
}

#[cfg(target_os = "linux")]
#[test]
fn item4_redeem_replacement_to_full_stdout_keeps_code_valid() {
    assert_replacement_redeem_keeps_code("item4-redeem-full", || dev_full().into());
}

#[test]
fn item4_redeem_replacement_to_closed_pipe_keeps_code_valid() {
    assert_replacement_redeem_keeps_code("item4-redeem-pipe", || closed_pipe().into());
}

#[test]
fn item4_plain_redeem_to_closed_pipe_still_commits() {
    // No secret to show: the redemption is committed, and a closed pipe is not an error.
    let dir = TempDir::new("item4-plain");
    let store = dir.file("codes.json");
    let codes = issue(&store, &[]);
    let out = mfa_to(
        &["backup", "redeem", "--store", path(&store), &codes[0]],
        closed_pipe(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(status(&store)["remaining"], 9);
}

/// Waits until some other process holds the OS lock on `lock_file` (polling, with a generous
/// deadline that only matters if the test is broken); panics if `child` exits first.
#[cfg(unix)]
fn wait_until_locked_by(child: &mut std::process::Child, lock_file: &Path) {
    use std::fs::TryLockError;
    use std::time::{Duration, Instant};
    let probe = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_file)
        .expect("the lock file opens");
    let started = Instant::now();
    loop {
        match probe.try_lock() {
            Err(TryLockError::WouldBlock) => return,
            Err(TryLockError::Error(error)) => panic!("cannot probe the lock: {error}"),
            Ok(()) => probe.unlock().expect("unlock"),
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the child ended ({status}) without being seen holding the lock");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the child never took the lock"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(unix)]
#[test]
fn item13_killed_lock_holder_leaves_no_stale_lock() {
    use std::io::Write as _;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;

    let dir = TempDir::new("item13-killed");
    let store = dir.file("codes.json");
    let old = issue(&store, &[]);
    let before = fs::read(&store).unwrap();

    // A standard output that is already full and never read: the child blocks writing its new
    // codes, which it does while holding the store's lock (it must show them before it may
    // replace the set). So it is stuck holding the lock until it is killed.
    let (full, _never_read) = UnixStream::pair().unwrap();
    full.set_nonblocking(true).unwrap();
    let chunk = [b'x'; 4096];
    loop {
        match (&full).write(&chunk) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(error) => panic!("cannot fill the socket: {error}"),
        }
    }
    full.set_nonblocking(false).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(issue_args(&store))
        .stdout(Stdio::from(OwnedFd::from(full)))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_locked_by(&mut child, &dir.file("codes.json.lock"));
    child.kill().unwrap(); // SIGKILL: no destructor, no clean-up of any kind runs.
    let _ = child.wait().unwrap();

    // The next commands go straight through, and the killed issue changed nothing.
    assert_eq!(fs::read(&store).unwrap(), before);
    let out = redeem(&store, &old[0]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let new = issue(&store, &[]);
    assert_eq!(redeem(&store, &new[0]).status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn item13_spellings_of_one_store_share_one_lock() {
    use std::os::unix::fs::symlink;

    let dir = TempDir::new("item13-spellings");
    let real = dir.file("real");
    fs::create_dir_all(real.join("sub")).unwrap();
    let store = real.join("codes.json");
    let codes = issue(&store, &[]);
    // A symlinked directory, and a symlink to the store file itself.
    symlink(&real, dir.file("linked")).unwrap();
    symlink("codes.json", real.join("alias.json")).unwrap();

    let abs = |p: &str| path(&dir.0).to_owned() + p;
    // (working directory, spelling of the store)
    let spellings: Vec<(PathBuf, String)> = vec![
        (dir.0.clone(), abs("/real/codes.json")),
        (real.clone(), "codes.json".into()),
        (real.clone(), "./codes.json".into()),
        (dir.0.clone(), abs("/real/./codes.json")),
        (dir.0.clone(), abs("/real/sub/../codes.json")),
        (dir.0.clone(), "linked/codes.json".into()),
        (real.clone(), "alias.json".into()),
        (dir.0.clone(), abs("/linked/sub/../alias.json")),
    ];
    let barrier = Arc::new(Barrier::new(spellings.len()));
    let handles: Vec<_> = spellings
        .into_iter()
        .map(|(cwd, spelling)| {
            let barrier = Arc::clone(&barrier);
            let code = codes[5].clone();
            thread::spawn(move || {
                barrier.wait();
                let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
                    .current_dir(cwd)
                    .args(["backup", "redeem", "--store", &spelling, &code])
                    .output()
                    .unwrap();
                (spelling, out.status.code(), text(&out.stderr))
            })
        })
        .collect();
    let exits: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = exits.iter().filter(|(_, code, _)| *code == Some(0)).count();
    // The losers are replays; once five of them are counted, the throttle refuses the rest
    // before checking (every spelling shares the one throttle record in the file).
    let refused = exits
        .iter()
        .filter(|(_, code, stderr)| {
            *code == Some(1) && (stderr.contains("(replayed)") || stderr.contains("(throttled)"))
        })
        .count();
    assert_eq!(wins, 1, "{exits:?}");
    assert_eq!(refused, 7, "{exits:?}");
    assert_eq!(status(&store)["remaining"], 9);
    // The symlink is still a symlink: the set was replaced where it lives.
    assert!(
        fs::symlink_metadata(real.join("alias.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// `mfa backup redeem … --time T`.
fn redeem_at(store: &str, code: &str, t: u64) -> Output {
    mfa(&[
        "backup",
        "redeem",
        "--store",
        store,
        "--time",
        &t.to_string(),
        code,
    ])
}

/// Asserts a refusal (exit 1, one line) whose reason is `reason`; returns stderr.
fn assert_refused_for(out: &Output, reason: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("({reason})")), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

/// Issues three codes into `store` (a JSON path or `sqlite:PATH`) for the default account.
fn issue_into(store: &str) -> Vec<String> {
    let out = mfa(&[
        "backup",
        "issue",
        "--store",
        store,
        "--danger-low-cost",
        "--count",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

/// The throttle's defaults (mfa-core's `ThrottlePolicy::default`): five free failures, then a
/// wait of 1 s doubling with each further failure. Checked through the binary: a loop of wrong
/// codes is throttled, the right code is then refused until the wait is over, then accepted,
/// and the count starts again from zero.
fn wrong_codes_are_throttled_then_the_right_code_resets(store: &str) {
    const T0: u64 = 1_800_000_000;
    let codes = issue_into(store);
    // Six wrong codes at one instant: five free, the sixth counted with a 1 s wait after it.
    for _ in 0..6 {
        assert_refused_for(&redeem_at(store, "aaaaa-aaaaa", T0), "code_mismatch");
    }
    // Within the wait, even the right code is refused, unchecked (and not counted).
    let stderr = assert_refused_for(&redeem_at(store, &codes[0], T0), "throttled");
    assert!(stderr.contains("retry after 1 s"), "{stderr}");
    // A shell loop gets nowhere: garbage is refused the same way.
    assert_refused_for(&redeem_at(store, "not a code", T0), "throttled");
    // After the wait: one more wrong code is checked, and doubles the wait to 2 s.
    assert_refused_for(&redeem_at(store, "aaaaa-aaaaa", T0 + 1), "code_mismatch");
    let stderr = assert_refused_for(&redeem_at(store, &codes[0], T0 + 2), "throttled");
    assert!(stderr.contains("retry after 1 s"), "{stderr}");
    // Once the 2 s have passed, the right code is accepted.
    let out = redeem_at(store, &codes[0], T0 + 3);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "2\n");
    // The success cleared the count: five wrong codes at one instant are free again.
    for _ in 0..5 {
        assert_refused_for(&redeem_at(store, "aaaaa-aaaaa", T0 + 3), "code_mismatch");
    }
    let out = redeem_at(store, &codes[1], T0 + 3);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1\n");
}

#[test]
fn a_json_file_throttles_guessing_and_keeps_the_count_beside_the_set() {
    let dir = TempDir::new("throttle-json");
    let store = dir.file("codes.json");
    wrong_codes_are_throttled_then_the_right_code_resets(path(&store));
    // Once cleared, the count is gone from the file: it holds the set alone again.
    let stored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&store).unwrap()).unwrap();
    assert!(stored.get("throttle").is_none(), "{stored}");
    assert_eq!(status(&store)["remaining"], 1);
}

#[test]
fn a_json_file_records_each_counted_failure_with_the_set() {
    const T0: u64 = 1_800_000_000;
    let dir = TempDir::new("throttle-record");
    let store = dir.file("codes.json");
    let codes = issue_into(path(&store));
    let slots = |store: &Path| -> serde_json::Value {
        let stored: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(store).unwrap()).unwrap();
        stored["slots"].clone()
    };
    let before = slots(&store);
    for n in 1..=3_u64 {
        assert_refused_for(
            &redeem_at(path(&store), "aaaaa-aaaaa", T0 + n),
            "code_mismatch",
        );
        let stored: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&store).unwrap()).unwrap();
        assert_eq!(stored["throttle"]["consecutive_failures"], n, "{stored}");
        assert_eq!(
            stored["throttle"]["last_attempt_at"],
            (T0 + n) * 1000,
            "{stored}"
        );
    }
    // Failures change the count only, never the set; a set of another account is not counted.
    assert_eq!(slots(&store), before);
    let out = mfa(&[
        "backup",
        "redeem",
        "--store",
        path(&store),
        "--account",
        "mallory",
        "--time",
        "1800000010",
        &codes[0],
    ]);
    assert_refused_for(&out, "set_of_another_account");
    let stored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&store).unwrap()).unwrap();
    assert_eq!(stored["throttle"]["consecutive_failures"], 3, "{stored}");
}

#[test]
fn a_database_throttles_guessing_in_the_same_store() {
    let dir = TempDir::new("throttle-sqlite");
    let store = format!("sqlite:{}", path(&dir.file("mfa.db")));
    wrong_codes_are_throttled_then_the_right_code_resets(&store);
}

fn a_hundred_failures_lock_the_set_until_a_new_one_is_issued(store: &str) {
    const T0: u64 = 1_800_000_000;
    let codes = issue_into(store);
    // Each wrong code after the wait of the one before: 15 minutes at most, so an hour apart.
    for n in 0..100_u64 {
        let out = redeem_at(store, "aaaaa-aaaaa", T0 + n * 3600);
        assert_refused_for(&out, "code_mismatch");
    }
    let much_later = T0 + 1000 * 3600;
    let stderr = assert_refused_for(&redeem_at(store, &codes[0], much_later), "locked_out");
    assert!(
        stderr.contains("100 consecutive failed attempts"),
        "{stderr}"
    );
    // A new set starts without a count.
    let codes = issue_into(store);
    let out = redeem_at(store, &codes[0], much_later);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_json_file_locks_after_a_hundred_failures() {
    let dir = TempDir::new("throttle-lock");
    a_hundred_failures_lock_the_set_until_a_new_one_is_issued(path(&dir.file("codes.json")));
}

#[test]
fn a_database_locks_after_a_hundred_failures() {
    let dir = TempDir::new("throttle-lock-sqlite");
    let store = format!("sqlite:{}", path(&dir.file("mfa.db")));
    a_hundred_failures_lock_the_set_until_a_new_one_is_issued(&store);
}
