//! The key file of `mfa push device …`: what a phone keeps in its secure storage, as a file.
//!
//! JSON, mode 0600, never overwritten:
//!
//! ```json
//! {
//!   "format": "mfa-push-device/1",
//!   "issuer": "Example",
//!   "account": "alice@example.com",
//!   "registration_url": "https://example.com/push/register",
//!   "device_id": "EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg",
//!   "name": "Alice's phone",
//!   "platform": "ios",
//!   "private_key": "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg…"
//! }
//! ```
//!
//! `private_key` is the P-256 private key as PKCS #8 DER, base64url without padding (the form
//! `openssl pkcs8 -topk8 -nocrypt -outform DER` writes, re-encoded); `device_id` is the RFC 7638
//! thumbprint of its public key, checked against the key on every read; `issuer`, `account` and
//! `registration_url` (absent when the enrollment URI had none) come from the enrollment URI.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_push::{DeviceKey, EnrollmentUri, Platform};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::files::private_file_options;
use crate::outcome::Failure;

/// The `format` member of a key file.
const KEY_FILE_FORMAT: &str = "mfa-push-device/1";

/// The largest key file read (a real one is well under 1 KiB).
const MAX_KEY_FILE: u64 = 16 * 1024;

/// The file's contents. The private key is borrowed from the (wiped) buffer it was read from,
/// never copied into a `String` of its own.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileContents<'a> {
    format: String,
    issuer: String,
    account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_url: Option<String>,
    device_id: String,
    name: String,
    platform: Platform,
    /// Base64url of the PKCS #8 DER private key (base64url needs no JSON escape, so it borrows).
    #[serde(borrow)]
    private_key: &'a str,
}

/// Writes a new key file at `path` (0600); refuses to replace an existing file.
pub(super) fn create(
    path: &Path,
    key: &DeviceKey,
    enrollment: &EnrollmentUri,
    name: &str,
    platform: Platform,
) -> Result<(), Failure> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| Failure::Usage(format!("cannot encode the device key: {e}")))?;
    let private_key = Zeroizing::new(URL_SAFE_NO_PAD.encode(der.as_slice()));
    let contents = KeyFileContents {
        format: KEY_FILE_FORMAT.to_owned(),
        issuer: enrollment.issuer().to_owned(),
        account: enrollment.account().to_owned(),
        registration_url: enrollment.url().map(str::to_owned),
        device_id: key.device_id().to_string(),
        name: name.to_owned(),
        platform,
        private_key: private_key.as_str(),
    };
    let mut json = Zeroizing::new(
        serde_json::to_vec_pretty(&contents)
            .map_err(|e| Failure::Usage(format!("cannot encode the key file: {e}")))?,
    );
    json.push(b'\n');
    let mut file = private_file_options().open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Failure::Usage(format!(
                "{} exists already; a key file is never overwritten (remove it first if it is \
                 no longer needed)",
                path.display()
            ))
        } else {
            Failure::Usage(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    if let Err(error) = file.write_all(&json).and_then(|()| file.sync_all()) {
        drop(file);
        // Half a key is no key: leave nothing behind.
        let _ignored = fs::remove_file(path);
        return Err(Failure::Usage(format!(
            "cannot write {}: {error}",
            path.display()
        )));
    }
    Ok(())
}

/// Reads the device key from the key file at `path`.
pub(super) fn read(path: &Path) -> Result<DeviceKey, Failure> {
    let broken =
        |why: &str| Failure::Usage(format!("{} is not a push key file: {why}", path.display()));
    let file = fs::File::open(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    if u64::try_from(bytes.len()).map_or(true, |len| len > MAX_KEY_FILE) {
        return Err(broken("too large"));
    }
    let contents: KeyFileContents<'_> =
        serde_json::from_slice(&bytes).map_err(|e| broken(&e.to_string()))?;
    if contents.format != KEY_FILE_FORMAT {
        return Err(broken(&format!(
            "format {:?}, expected {KEY_FILE_FORMAT:?}",
            contents.format
        )));
    }
    let der = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(contents.private_key)
            .map_err(|_| broken("private_key is not base64url"))?,
    );
    let key = DeviceKey::from_pkcs8_der(&der).map_err(|e| broken(&e.to_string()))?;
    if key.device_id().as_str() != contents.device_id {
        return Err(broken("device_id is not the thumbprint of its key"));
    }
    Ok(key)
}
