//! Salted password hashing of backup codes, behind the small [`CodeHasher`] trait.
//!
//! NIST SP 800-63B-4 §3.1.2.2: a look-up secret with fewer than 112 bits of entropy is stored
//! salted (≥ 32-bit salt) and hashed with an approved password hashing scheme; a low work factor
//! is acceptable because the secret is random. Two schemes are provided:
//!
//! - [`Argon2idParams`] (default; RFC 9106), through RustCrypto's `argon2`;
//! - [`Pbkdf2Params`]: PBKDF2-HMAC-SHA-256 (NIST SP 800-132), for FIPS-minded deployments.
//!
//! The parameters are stored with each set ([`HashParams`]), so they can be raised later: sets
//! issued afterwards use the new ones, older sets keep verifying with theirs.

use core::cell::Cell;
use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::BackupCodeError;
use crate::permits::HashPermits;

/// Length of every stored digest, in bytes.
pub const DIGEST_LEN: usize = 32;

/// Length of the per-set salt, in bytes (128 bits).
pub const SALT_LEN: usize = 16;

/// A salted password-hashing function for backup codes.
///
/// One method: derive [`DIGEST_LEN`] bytes from a password and a salt. Implementations must be
/// deterministic and must not panic; parameters out of range are an error.
pub trait CodeHasher: fmt::Debug + Send + Sync {
    /// Hashes `password` with `salt` into `out`.
    ///
    /// # Errors
    /// [`BackupCodeError::Hashing`] if the parameters are out of range or the hash fails.
    fn hash_into(
        &self,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8; DIGEST_LEN],
    ) -> Result<(), BackupCodeError>;
}

/// Argon2id parameters (RFC 9106 §4). Default: m = 19 MiB, t = 2, p = 1 (OWASP's minimum for
/// passwords); one hash takes roughly 10-25 ms on a current x86-64 core (see the crate README).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Argon2idParams {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl Argon2idParams {
    /// The largest memory cost accepted, 1 GiB: a stored set cannot make the verifier allocate more.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    /// The largest time cost accepted.
    pub const MAX_T: u32 = 64;
    /// The largest parallelism accepted.
    pub const MAX_P: u32 = 16;

    /// The defaults: m = 19 MiB, t = 2, p = 1.
    pub const DEFAULT: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// Parameters with memory `m_kib` KiB, `t` passes and `p` lanes.
    ///
    /// Low values are accepted (down to Argon2's own minimum of 8 KiB per lane), because tests
    /// use them; production sets should keep [`Argon2idParams::DEFAULT`] or raise it.
    ///
    /// # Errors
    /// [`BackupCodeError::InvalidConfig`] if a value is outside Argon2's range or above the maxima.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, BackupCodeError> {
        let params = Self { m_kib, t, p };
        params.check()?;
        Ok(params)
    }

    /// Memory cost in KiB.
    #[must_use]
    pub const fn m_kib(&self) -> u32 {
        self.m_kib
    }

    /// Time cost (passes).
    #[must_use]
    pub const fn t(&self) -> u32 {
        self.t
    }

    /// Parallelism (lanes).
    #[must_use]
    pub const fn p(&self) -> u32 {
        self.p
    }

    fn check(&self) -> Result<argon2::Params, BackupCodeError> {
        if self.m_kib > Self::MAX_M_KIB || self.t > Self::MAX_T || self.p > Self::MAX_P {
            return Err(BackupCodeError::InvalidConfig(
                "argon2id parameters above the accepted maxima",
            ));
        }
        argon2::Params::new(self.m_kib, self.t, self.p, Some(DIGEST_LEN))
            .map_err(|_| BackupCodeError::InvalidConfig("argon2id parameters out of range"))
    }
}

impl Default for Argon2idParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl CodeHasher for Argon2idParams {
    fn hash_into(
        &self,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8; DIGEST_LEN],
    ) -> Result<(), BackupCodeError> {
        let params = self.check().map_err(|_| BackupCodeError::Hashing)?;
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_into(password, salt, out)
            .map_err(|_| BackupCodeError::Hashing)
    }
}

/// PBKDF2-HMAC-SHA-256 parameters (NIST SP 800-132). Default: 100 000 iterations.
///
/// Backup codes are random, so the work factor only slows an attacker who stole the store by a
/// constant; 100 000 iterations keep one redemption in the low tens of milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pbkdf2Params {
    iterations: u32,
}

impl Pbkdf2Params {
    /// The most iterations accepted: a stored set cannot make the verifier spin for minutes.
    pub const MAX_ITERATIONS: u32 = 10_000_000;

    /// The default: 100 000 iterations.
    pub const DEFAULT: Self = Self {
        iterations: 100_000,
    };

    /// Parameters with `iterations` iterations (at least 1; tests use low values).
    ///
    /// # Errors
    /// [`BackupCodeError::InvalidConfig`] if `iterations` is 0 or above [`Self::MAX_ITERATIONS`].
    pub fn new(iterations: u32) -> Result<Self, BackupCodeError> {
        let params = Self { iterations };
        params.check()?;
        Ok(params)
    }

    /// The iteration count.
    #[must_use]
    pub const fn iterations(&self) -> u32 {
        self.iterations
    }

    fn check(&self) -> Result<(), BackupCodeError> {
        if self.iterations == 0 || self.iterations > Self::MAX_ITERATIONS {
            return Err(BackupCodeError::InvalidConfig(
                "pbkdf2 iterations out of range",
            ));
        }
        Ok(())
    }
}

impl Default for Pbkdf2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl CodeHasher for Pbkdf2Params {
    fn hash_into(
        &self,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8; DIGEST_LEN],
    ) -> Result<(), BackupCodeError> {
        self.check().map_err(|_| BackupCodeError::Hashing)?;
        pbkdf2::pbkdf2::<pbkdf2::hmac::Hmac<sha2::Sha256>>(password, salt, self.iterations, out)
            .map_err(|_| BackupCodeError::Hashing)
    }
}

/// Which hasher a set uses, with its parameters; stored with the set.
///
/// Serialized as `{"alg": "argon2id", "m_kib": 19456, "t": 2, "p": 1}` or
/// `{"alg": "pbkdf2_sha256", "iterations": 100000}`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "alg", rename_all = "snake_case")]
pub enum HashParams {
    /// Argon2id (the default).
    Argon2id(Argon2idParams),
    /// PBKDF2-HMAC-SHA-256.
    Pbkdf2Sha256(Pbkdf2Params),
}

impl Default for HashParams {
    fn default() -> Self {
        Self::Argon2id(Argon2idParams::DEFAULT)
    }
}

impl CodeHasher for HashParams {
    fn hash_into(
        &self,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8; DIGEST_LEN],
    ) -> Result<(), BackupCodeError> {
        match self {
            Self::Argon2id(params) => params.hash_into(password, salt, out),
            Self::Pbkdf2Sha256(params) => params.hash_into(password, salt, out),
        }
    }
}

thread_local! {
    /// Hashes computed by this crate on this thread (see [`hashes_on_this_thread`]).
    static HASHES_ON_THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// How many password hashes this crate has computed on the calling thread so far.
///
/// A test hook, not a stable API: it lets tests check *where* hashing happens (never on an async
/// executor's thread) and *that* it happens (the dummy hash for an account without codes),
/// without timing anything.
#[doc(hidden)]
#[must_use]
pub fn hashes_on_this_thread() -> u64 {
    HASHES_ON_THIS_THREAD.with(Cell::get)
}

/// Hashes `password` with `salt` under `params`, holding one of `permits` for the duration.
/// Every hash the crate computes goes through here.
pub(crate) fn hash_bounded(
    params: &HashParams,
    password: &[u8],
    salt: &[u8],
    permits: &HashPermits,
) -> Result<Zeroizing<[u8; DIGEST_LEN]>, BackupCodeError> {
    let mut out = Zeroizing::new([0_u8; DIGEST_LEN]);
    let _permit = permits.acquire();
    HASHES_ON_THIS_THREAD.with(|count| count.set(count.get().saturating_add(1)));
    params.hash_into(password, salt, &mut out)?;
    Ok(out)
}

/// The hash computed in place of a real one when there is nothing to check (no set stored, or
/// input that cannot be a code), so that the answer takes as long as a real check with those
/// parameters. Its result is thrown away; a failure of it changes nothing.
pub(crate) fn dummy_hash(params: &HashParams, permits: &HashPermits) {
    let salt = [0_u8; SALT_LEN];
    let digest = hash_bounded(params, b"mfa-backup/v1\0dummy", &salt, permits);
    drop(core::hint::black_box(digest));
}

/// Domain separation for the hash input.
const DOMAIN: &[u8] = b"mfa-backup/v1\0";

/// The password fed to the hasher: a domain tag, the account and the set id (each
/// length-prefixed), then the canonical code. Binding account and set means a code of another
/// set, or a set copied into another account's record, never matches.
pub(crate) fn hash_input(
    account: &str,
    set_id: &str,
    code: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BackupCodeError> {
    let account_len = u32::try_from(account.len()).map_err(|_| BackupCodeError::Hashing)?;
    let set_len = u32::try_from(set_id.len()).map_err(|_| BackupCodeError::Hashing)?;
    let mut input = Zeroizing::new(Vec::with_capacity(
        DOMAIN.len() + 8 + account.len() + set_id.len() + code.len(),
    ));
    input.extend_from_slice(DOMAIN);
    input.extend_from_slice(&account_len.to_be_bytes());
    input.extend_from_slice(account.as_bytes());
    input.extend_from_slice(&set_len.to_be_bytes());
    input.extend_from_slice(set_id.as_bytes());
    input.extend_from_slice(code);
    Ok(input)
}

/// Hex encoding of fixed-size byte arrays in serde (digests and salts are not secret).
pub(crate) mod hex_array {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    const HEX: &[u8; 16] = b"0123456789abcdef";

    pub(crate) fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().saturating_mul(2));
        for byte in bytes {
            for nibble in [byte >> 4, byte & 0x0f] {
                if let Some(c) = HEX.get(usize::from(nibble)) {
                    out.push(char::from(*c));
                }
            }
        }
        out
    }

    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }

    pub(crate) fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
        let bytes = text.as_bytes();
        if bytes.len() != N.checked_mul(2)? {
            return None;
        }
        let mut out = [0_u8; N];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let [high, low] = pair else { return None };
            *slot = (nibble(*high)? << 4) | nibble(*low)?;
        }
        Some(out)
    }

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text).ok_or_else(|| D::Error::custom("expected a hex string of the right length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let bytes = [0x00, 0x7f, 0x80, 0xff];
        let text = hex_array::encode(&bytes);
        assert_eq!(text, "007f80ff");
        assert_eq!(hex_array::decode::<4>(&text), Some(bytes));
        assert_eq!(hex_array::decode::<4>("007F80FF"), Some(bytes));
        assert_eq!(hex_array::decode::<4>("007f80f"), None);
        assert_eq!(hex_array::decode::<4>("007f80fg"), None);
        assert_eq!(hex_array::decode::<4>("é07f80f"), None);
    }

    #[test]
    fn argon2id_is_deterministic_and_salted() {
        let params = Argon2idParams::new(64, 1, 1).unwrap();
        let mut a = [0_u8; DIGEST_LEN];
        let mut b = [0_u8; DIGEST_LEN];
        params
            .hash_into(b"code", b"0123456789abcdef", &mut a)
            .unwrap();
        params
            .hash_into(b"code", b"0123456789abcdef", &mut b)
            .unwrap();
        assert_eq!(a, b);
        params
            .hash_into(b"code", b"0123456789abcdeF", &mut b)
            .unwrap();
        assert_ne!(a, b, "the salt changes the digest");
    }

    #[test]
    fn pbkdf2_matches_a_known_vector() {
        // RFC 7914 §11 (PBKDF2-HMAC-SHA256, "passwd"/"salt", c = 1), first 32 bytes.
        let mut out = [0_u8; DIGEST_LEN];
        Pbkdf2Params::new(1)
            .unwrap()
            .hash_into(b"passwd", b"salt", &mut out)
            .unwrap();
        assert_eq!(
            hex_array::encode(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn out_of_range_parameters_are_errors_not_panics() {
        assert!(Argon2idParams::new(0, 1, 1).is_err());
        assert!(Argon2idParams::new(64, 0, 1).is_err());
        assert!(Argon2idParams::new(Argon2idParams::MAX_M_KIB + 1, 1, 1).is_err());
        assert!(Pbkdf2Params::new(0).is_err());
        assert!(Pbkdf2Params::new(Pbkdf2Params::MAX_ITERATIONS + 1).is_err());
        // Parameters smuggled in through a stored set are checked when used.
        let tampered: HashParams =
            serde_json::from_str(r#"{"alg":"argon2id","m_kib":4294967295,"t":1,"p":1}"#).unwrap();
        let mut out = [0_u8; DIGEST_LEN];
        assert!(matches!(
            tampered.hash_into(b"x", b"0123456789abcdef", &mut out),
            Err(BackupCodeError::Hashing)
        ));
    }

    #[test]
    fn hash_input_is_unambiguous() {
        let a = hash_input("ab", "c", b"X").unwrap();
        let b = hash_input("a", "bc", b"X").unwrap();
        assert_ne!(a.as_slice(), b.as_slice());
    }
}
