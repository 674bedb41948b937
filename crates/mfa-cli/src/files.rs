//! Files and standard input, shared by every subcommand: bounded reads, private (0600) files,
//! atomic replacement, and the lock that makes concurrent `mfa` processes take turns on a file.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::outcome::Failure;

/// Reads all of standard input, refusing more than `limit` bytes (exit 2) instead of holding
/// whatever a caller pipes in.
pub(crate) fn read_stdin_limited(limit: u64, what: &str) -> Result<Vec<u8>, Failure> {
    let mut input = Vec::new();
    io::stdin()
        .take(limit.saturating_add(1))
        .read_to_end(&mut input)
        .map_err(|e| Failure::Usage(format!("cannot read {what} from stdin: {e}")))?;
    if u64::try_from(input.len()).map_or(true, |len| len > limit) {
        return Err(Failure::Usage(format!(
            "{what} on stdin is larger than {limit} bytes"
        )));
    }
    Ok(input)
}

/// Reads a whole file, refusing more than `limit` bytes (exit 2), naming it in errors.
pub(crate) fn read_file_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, Failure> {
    let file = File::open(path)
        .map_err(|e| Failure::Usage(format!("cannot open {what} {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Usage(format!("cannot read {what} {}: {e}", path.display())))?;
    if u64::try_from(bytes.len()).map_or(true, |len| len > limit) {
        return Err(Failure::Usage(format!(
            "{what} {} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Options that create a new file only its owner can read and write (0600 on Unix), for
/// anything that holds or reveals a secret.
pub(crate) fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// The directory a file lives in (`.` for a bare file name) and the file's name.
pub(crate) fn split(path: &Path) -> Result<(PathBuf, String), Failure> {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| Failure::Usage(format!("--store {} must name a file", path.display())))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

/// Writes `bytes` to a new temporary file next to `path`, flushes it to disk, and renames it over
/// `path`: readers see the old contents or the new, never a mix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let (dir, name) = split(path)?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = dir.join(format!(".{name}.tmp-{}-{nonce}", std::process::id()));
    let failed = |what: &str, error: io::Error| {
        Failure::Usage(format!("cannot {what} {}: {error}", path.display()))
    };
    let written = (|| -> io::Result<()> {
        let mut file = private_file_options().open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ignored = fs::remove_file(&temp);
        return Err(failed("write", error));
    }
    // Make the rename itself durable (best effort: not every platform can open a directory).
    if let Ok(directory) = File::open(&dir) {
        let _best_effort = directory.sync_all();
    }
    Ok(())
}

/// An exclusive lock on a store file, held until dropped.
///
/// The lock is the operating system's advisory lock (`flock` on Unix, `LockFileEx` on Windows)
/// on `FILE.lock` beside the store, through [`File::try_lock`]. The kernel releases it when the
/// holder closes the file or ends in any way (SIGINT, SIGKILL, a crash), so a killed `mfa` never
/// leaves a stale lock behind. The lock file is created once (empty, 0600) and never deleted:
/// removing it while another process waits on it would let a third process lock a new file of
/// the same name, and two processes would hold "the" lock at once.
///
/// Every spelling of one store shares one lock: the path is [resolved](resolve) first
/// (`./f.json`, `dir/../f.json`, a symlinked directory, a symlink to the file itself), and the
/// command must read and write the store through [`StoreLock::store`].
pub(crate) struct StoreLock {
    store: PathBuf,
    /// Open for as long as the lock is held; closing it releases the lock.
    _file: File,
}

impl StoreLock {
    /// How long to wait for another process before giving up (exit 2).
    const WAIT: Duration = Duration::from_secs(10);
    /// How often to try again meanwhile.
    const POLL: Duration = Duration::from_millis(5);

    /// Locks `store` (resolved), waiting up to [`Self::WAIT`] for another process to finish.
    pub(crate) fn acquire(store: &Path) -> Result<Self, Failure> {
        let resolved = resolve(store)?;
        let (dir, name) = split(&resolved)?;
        let lock_path = dir.join(format!("{name}.lock"));
        let cannot =
            |error: io::Error| Failure::Usage(format!("cannot lock {}: {error}", store.display()));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(&lock_path).map_err(cannot)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Self {
                        store: resolved,
                        _file: file,
                    });
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < Self::WAIT => {
                    thread::sleep(Self::POLL);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Failure::Usage(format!(
                        "{} is in use by another mfa process (waited {} s); try again when it has finished",
                        store.display(),
                        Self::WAIT.as_secs()
                    )));
                }
                Err(TryLockError::Error(error)) => return Err(cannot(error)),
            }
        }
    }

    /// The resolved store path: read and write the store through this one.
    pub(crate) fn store(&self) -> &Path {
        &self.store
    }
}

/// The one path a store file is known by, whatever spelling the user gave: the parent
/// directory canonicalized (`.`, `..` and symlinked directories resolved) joined with the file
/// name; and if the file itself is a symlink, the file it points to, so the lock, the read and
/// the atomic replacement all act on that file (and the link stays a link).
fn resolve(store: &Path) -> Result<PathBuf, Failure> {
    let (dir, name) = split(store)?;
    let cannot =
        |error: io::Error| Failure::Usage(format!("cannot resolve {}: {error}", store.display()));
    let joined = fs::canonicalize(&dir).map_err(cannot)?.join(name);
    match fs::symlink_metadata(&joined) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            fs::canonicalize(&joined).map_err(cannot)
        }
        _ => Ok(joined),
    }
}
