//! Accounts and their passwords: Argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), a random
//! 16-byte salt, compared in constant time, the hashing on tokio's blocking pool. A wrong password
//! and an unknown user get the same answer after the same work; failures are throttled per account
//! by mfa-core's `ThrottlePolicy`.

use core::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_core::{
    AttemptError, Evidence, Method, RecordKey, Rejection, StoreError, UnixTime, Verified,
};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::app::App;

/// The store kind of account records (one per user: the password hash).
pub const USER_KIND: &str = "demo_user";
/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 256;
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// OWASP's Argon2id parameters: m = 19 MiB, t = 2, p = 1.
const M_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_LANES: u32 = 1;
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// An account record: the password's Argon2id hash and salt (base64url).
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRecord {
    /// The salt.
    pub salt: String,
    /// The hash.
    pub hash: String,
    /// When the account was made.
    pub created_at: UnixTime,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The record key of `username`'s account.
#[must_use]
pub fn user_key(username: &str) -> RecordKey {
    RecordKey::new(USER_KIND, username, "password")
}

/// Why a sign-up or password sign-in was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordError {
    /// Wrong username or password (one answer for both).
    Wrong,
    /// The username is not 1–64 characters of letters, digits, `.`, `_`, `-`, `@`.
    BadUsername,
    /// The password is shorter than 8 characters or longer than 256 bytes.
    BadPassword,
    /// The confirmation differs.
    Mismatch,
    /// The username is taken.
    Taken,
    /// The hashing failed.
    Hashing,
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Wrong => "Wrong username or password",
            Self::BadUsername => {
                "A username is 1 to 64 letters, digits, dots, dashes, underscores or @"
            }
            Self::BadPassword => "A password is at least 8 characters and at most 256 bytes",
            Self::Mismatch => "The two passwords differ",
            Self::Taken => "That username is taken",
            Self::Hashing => "The password could not be hashed",
        })
    }
}

impl std::error::Error for PasswordError {}

impl Rejection for PasswordError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Wrong => "wrong_password",
            Self::BadUsername => "bad_username",
            Self::BadPassword => "bad_password",
            Self::Mismatch => "password_mismatch",
            Self::Taken => "username_taken",
            Self::Hashing => "hash_failed",
        }
    }

    /// Only a wrong password is a guess.
    fn counts_as_failure(&self) -> bool {
        matches!(self, Self::Wrong)
    }
}

/// The username as stored (trimmed, lower case), or why not.
///
/// # Errors
/// [`PasswordError::BadUsername`].
pub fn normalize_username(typed: &str) -> Result<String, PasswordError> {
    let name = typed.trim().to_lowercase();
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '@'));
    if valid {
        Ok(name)
    } else {
        Err(PasswordError::BadUsername)
    }
}

fn check_password_shape(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::BadPassword);
    }
    Ok(())
}

/// Argon2id of `password` with `salt`.
fn hash(password: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; HASH_LEN]>, PasswordError> {
    let params =
        Params::new(M_KIB, T_COST, P_LANES, Some(HASH_LEN)).map_err(|_| PasswordError::Hashing)?;
    let mut out = Zeroizing::new([0_u8; HASH_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, &mut out[..])
        .map_err(|_| PasswordError::Hashing)?;
    Ok(out)
}

/// Hashes on the blocking pool.
async fn hash_blocking(
    password: Zeroizing<String>,
    salt: Vec<u8>,
) -> Result<Zeroizing<[u8; HASH_LEN]>, PasswordError> {
    tokio::task::spawn_blocking(move || hash(password.as_bytes(), &salt))
        .await
        .map_err(|_| PasswordError::Hashing)?
}

/// Makes an account.
///
/// # Errors
/// [`PasswordError`] for a bad username or password, a differing confirmation or a taken
/// username; [`StoreError`] (as `Err(Err(…))`) when the store fails.
pub async fn sign_up(
    app: &App,
    username: &str,
    password: &str,
    confirm: &str,
) -> Result<String, Result<PasswordError, StoreError>> {
    let username = normalize_username(username).map_err(Ok)?;
    check_password_shape(password).map_err(Ok)?;
    if !bool::from(password.as_bytes().ct_eq(confirm.as_bytes())) {
        return Err(Ok(PasswordError::Mismatch));
    }
    let mut salt = [0_u8; SALT_LEN];
    rand::rng().fill(&mut salt[..]);
    let digest = hash_blocking(Zeroizing::new(password.to_owned()), salt.to_vec())
        .await
        .map_err(Ok)?;
    let record = UserRecord {
        salt: URL_SAFE_NO_PAD.encode(salt),
        hash: URL_SAFE_NO_PAD.encode(&digest[..]),
        created_at: app.now(),
    };
    match mfa_core::insert_new_async(&app.store, &user_key(&username), &record).await {
        Ok(()) => Ok(username),
        Err(StoreError::AlreadyExists { .. }) => Err(Ok(PasswordError::Taken)),
        Err(error) => Err(Err(error)),
    }
}

/// A salt and hash that no password matches, for unknown users: the same work as a real check.
fn decoy() -> UserRecord {
    UserRecord {
        salt: URL_SAFE_NO_PAD.encode([0x5a_u8; SALT_LEN]),
        hash: URL_SAFE_NO_PAD.encode([0_u8; HASH_LEN]),
        created_at: UnixTime::EPOCH,
    }
}

/// Checks `password` for `username` behind the account's throttle. An unknown user costs the
/// same Argon2id work and gets the same `Wrong` answer (the throttle writes nothing for them).
///
/// # Errors
/// [`AttemptError::Rejected`] with [`PasswordError::Wrong`] (or a bad shape),
/// [`AttemptError::Throttled`] while throttled, [`AttemptError::Store`].
pub async fn check(
    app: &App,
    username: &str,
    password: &str,
) -> Result<(String, Evidence), AttemptError<PasswordError>> {
    let Ok(username) = normalize_username(username) else {
        return Err(AttemptError::Rejected(PasswordError::Wrong));
    };
    let key = user_key(&username);
    let stored: Option<UserRecord> = mfa_core::load_async(&app.store, &key)
        .await
        .map_err(AttemptError::Store)?;
    let record = stored.clone().unwrap_or_else(decoy);
    let salt = URL_SAFE_NO_PAD.decode(&record.salt).unwrap_or_default();
    let expected = URL_SAFE_NO_PAD.decode(&record.hash).unwrap_or_default();
    let shape_ok = check_password_shape(password).is_ok();
    // Over-long input is not hashed (bounded work); everything else is, known user or not.
    let typed = if password.len() > MAX_PASSWORD_BYTES {
        Zeroizing::new(String::new())
    } else {
        Zeroizing::new(password.to_owned())
    };
    let digest = hash_blocking(typed, salt)
        .await
        .map_err(AttemptError::Rejected)?;
    let matches = shape_ok && bool::from(digest[..].ct_eq(&expected[..])) && stored.is_some();
    let now = app.now();
    if stored.is_none() {
        return Err(AttemptError::Rejected(PasswordError::Wrong));
    }
    let evidence = Evidence::new(Method::Password, now, "password");
    let verified = app
        .throttle
        .verify_and_commit_async(&app.store, &key, now, |record: &UserRecord| {
            if matches {
                Ok(Verified::new(evidence.clone(), record.clone()))
            } else {
                Err(PasswordError::Wrong)
            }
        })
        .await
        .map_err(|error| match error {
            AttemptError::NotEnrolled => AttemptError::Rejected(PasswordError::Wrong),
            other => other,
        })?;
    Ok((username, verified.into_parts().0))
}

#[cfg(test)]
mod tests {
    use super::{PasswordError, normalize_username};

    #[test]
    fn usernames_are_trimmed_lower_case_and_bounded() {
        assert_eq!(
            normalize_username("  Alice@Example.org ").as_deref(),
            Ok("alice@example.org")
        );
        for bad in ["", "   ", "a b", "<script>", &"x".repeat(65), "ä"] {
            assert_eq!(
                normalize_username(bad),
                Err(PasswordError::BadUsername),
                "{bad}"
            );
        }
        assert!(normalize_username(&"x".repeat(64)).is_ok());
    }
}
