//! Files and standard input, shared by every subcommand: bounded reads, private (0600) files,
//! atomic replacement, and the lock that makes concurrent `mfa` processes take turns on a file.

use std::fs::{self, File, OpenOptions};
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

/// An exclusive lock on a store file: `FILE.lock`, created with `create_new` and removed on drop.
pub(crate) struct StoreLock {
    path: PathBuf,
}

impl StoreLock {
    const WAIT: Duration = Duration::from_secs(10);

    pub(crate) fn acquire(store: &Path) -> Result<Self, Failure> {
        let (dir, name) = split(store)?;
        let path = dir.join(format!("{name}.lock"));
        let started = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(Self { path }),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    if started.elapsed() > Self::WAIT {
                        return Err(Failure::Usage(format!(
                            "{} is locked by another mfa process (remove {} if none is running)",
                            store.display(),
                            path.display()
                        )));
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                Err(error) => {
                    return Err(Failure::Usage(format!(
                        "cannot lock {}: {error}",
                        store.display()
                    )));
                }
            }
        }
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        let _ignored = fs::remove_file(&self.path);
    }
}
