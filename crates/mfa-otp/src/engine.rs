//! The constant-time core shared by HOTP and TOTP: keyed HMAC state, dynamic truncation, code
//! rendering, and the window scans.
//!
//! Everything here is best effort constant time with respect to the secret and the codes: the key
//! schedule runs once per verification, every candidate of a window is computed and compared with
//! `subtle` and the matched counter carried with `ConditionallySelectable`, with no early exit; the
//! truncation offset and the Steam alphabet are selected with masks rather than used as indices;
//! divisions are by constants the compiler turns into multiplications. Control flow depends only
//! on public values: the window's shape and the format of what the user typed.

use core::fmt;

use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};
use zeroize::Zeroize;

use crate::error::OtpError;
use crate::params::{Algorithm, CodeFormat, STEAM_ALPHABET};
use crate::secret::OtpSecret;

/// The longest code: ten digits.
pub(crate) const MAX_CODE_LEN: usize = 10;
/// Typed input longer than this is rejected before looking at it.
const MAX_TYPED_LEN: usize = 64;

/// An HMAC keyed once: the inner and outer pad states, cloned for every counter.
pub(crate) enum KeyedMac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// Keys an HMAC ([RFC 2104 §2](https://www.rfc-editor.org/rfc/rfc2104#section-2)).
///
/// HMAC accepts keys of any length, so `new_from_slice` never fails; should it ever, the key is
/// zero-padded to a block here exactly as HMAC would pad it (secrets are at most 64 bytes, no
/// longer than any block size here), so keying cannot fail or panic.
fn keyed<M: KeyInit>(secret: &[u8]) -> M {
    M::new_from_slice(secret).unwrap_or_else(|_| {
        let mut key = Key::<M>::default();
        for (slot, byte) in key.iter_mut().zip(secret) {
            *slot = *byte;
        }
        let mac = M::new(&key);
        key.as_mut_slice().zeroize();
        mac
    })
}

impl KeyedMac {
    pub(crate) fn new(algorithm: Algorithm, secret: &OtpSecret) -> Self {
        let key = secret.expose_secret();
        match algorithm {
            Algorithm::Sha1 => Self::Sha1(keyed(key)),
            Algorithm::Sha256 => Self::Sha256(keyed(key)),
            Algorithm::Sha512 => Self::Sha512(keyed(key)),
        }
    }

    /// `DT(HMAC(K, C))`: the 31-bit dynamically truncated value
    /// ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)).
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        let message = counter.to_be_bytes();
        match self {
            Self::Sha1(mac) => truncate(mac.clone().chain_update(message).finalize().as_bytes()),
            Self::Sha256(mac) => truncate(mac.clone().chain_update(message).finalize().as_bytes()),
            Self::Sha512(mac) => truncate(mac.clone().chain_update(message).finalize().as_bytes()),
        }
    }
}

/// Dynamic truncation with the 4-byte window selected by masking every candidate window rather
/// than by indexing with the secret-derived offset. The offset goes through a `black_box` once,
/// so the optimizer cannot turn the masks back into an indexed load (best effort, like `subtle`).
fn truncate(mac: &[u8]) -> u32 {
    let offset = core::hint::black_box(u32::from(mac.last().copied().unwrap_or(0) & 0x0f));
    let mut value = 0_u32;
    for (index, window) in (0_u32..16).zip(mac.windows(4)) {
        let mut word = [0_u8; 4];
        word.copy_from_slice(window);
        value |= u32::from_be_bytes(word) & equal_mask(index, offset);
    }
    value & 0x7fff_ffff
}

/// All ones when `a == b`, zero otherwise, without a branch.
fn equal_mask(a: u32, b: u32) -> u32 {
    let diff = a ^ b;
    // The top bit of `diff | -diff` is set exactly when `diff != 0`.
    ((diff | diff.wrapping_neg()) >> 31).wrapping_sub(1)
}

/// A code as ASCII, packed little-endian into one word (character `i` in byte `i`), so that it
/// is compared with one constant-time word comparison and wiped with one volatile write.
#[derive(Clone)]
pub(crate) struct CodeBuf {
    packed: u128,
    len: usize,
}

impl CodeBuf {
    const fn empty() -> Self {
        Self { packed: 0, len: 0 }
    }

    fn push(&mut self, symbol: u8) -> Result<(), OtpError> {
        if self.len >= MAX_CODE_LEN {
            return Err(OtpError::MalformedCode);
        }
        let shift =
            u32::try_from(self.len.saturating_mul(8)).map_err(|_| OtpError::MalformedCode)?;
        self.packed |= u128::from(symbol) << shift;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    #[cfg(test)]
    fn as_bytes(&self) -> Vec<u8> {
        self.to_bytes()[..self.len].to_vec()
    }

    /// The characters, for showing a generated code.
    fn to_bytes(&self) -> [u8; MAX_CODE_LEN] {
        let mut out = [0_u8; MAX_CODE_LEN];
        for (slot, byte) in out.iter_mut().zip(self.packed.to_le_bytes()) {
            *slot = byte;
        }
        out
    }

    /// Renders a truncated value in `format`
    /// ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3) for decimal codes).
    pub(crate) fn render(format: CodeFormat, value: u32) -> Self {
        let len = format.len();
        let mut packed = 0_u128;
        match format {
            CodeFormat::Decimal(digits) => {
                // Constant divisors, so the compiler multiplies instead of dividing.
                let mut rest = match digits.get() {
                    6 => value % 1_000_000,
                    7 => value % 10_000_000,
                    8 => value % 100_000_000,
                    9 => value % 1_000_000_000,
                    _ => value, // 10 digits: the 31-bit value is below 10^10.
                };
                // Least significant digit first: each shift moves the digits so far one character
                // further along, so the first digit computed ends in the last place.
                for _ in 0..len {
                    let digit = b'0' | (rest % 10).to_le_bytes()[0];
                    rest /= 10;
                    packed = (packed << 8) | u128::from(digit);
                }
            }
            CodeFormat::Steam => {
                let mut rest = value;
                for position in 0..len {
                    let index = rest % 26;
                    rest /= 26;
                    let mut symbol = 0_u8;
                    for (candidate_index, &candidate) in (0_u32..).zip(STEAM_ALPHABET.iter()) {
                        symbol |= candidate & equal_mask(candidate_index, index).to_le_bytes()[0];
                    }
                    packed |= u128::from(symbol) << (position * 8);
                }
            }
        }
        Self { packed, len }
    }

    /// Parses what a user typed. Spaces anywhere are ignored (`123 456`); Steam codes may be in
    /// lower case. Branches only on the input, which the caller already knows.
    pub(crate) fn parse(format: CodeFormat, input: &str) -> Result<Self, OtpError> {
        if input.len() > MAX_TYPED_LEN {
            return Err(OtpError::MalformedCode);
        }
        let mut code = Self::empty();
        for byte in input.bytes() {
            if byte.is_ascii_whitespace() {
                continue;
            }
            let accepted = match format {
                CodeFormat::Decimal(_) => byte.is_ascii_digit().then_some(byte),
                CodeFormat::Steam => {
                    let upper = byte.to_ascii_uppercase();
                    STEAM_ALPHABET.contains(&upper).then_some(upper)
                }
            };
            code.push(accepted.ok_or(OtpError::MalformedCode)?)?;
        }
        if code.len != format.len() {
            return Err(OtpError::MalformedCode);
        }
        Ok(code)
    }
}

impl ConstantTimeEq for CodeBuf {
    /// Lengths are public (the format's); the contents are compared in constant time.
    fn ct_eq(&self, other: &Self) -> Choice {
        if self.len != other.len {
            return Choice::from(0);
        }
        self.packed.ct_eq(&other.packed)
    }
}

impl Drop for CodeBuf {
    fn drop(&mut self) {
        self.packed.zeroize();
    }
}

/// A generated code: show it to a person or type it into a test; it is wiped on drop and its
/// `Debug` is redacted.
#[derive(Clone)]
pub struct OtpCode {
    code: CodeBuf,
    text: [u8; MAX_CODE_LEN],
}

impl OtpCode {
    pub(crate) fn new(format: CodeFormat, value: u32) -> Self {
        let code = CodeBuf::render(format, value);
        let text = code.to_bytes();
        Self { code, text }
    }

    /// The code as text (`"094287"`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        let text = self.text.get(..self.code.len).unwrap_or_default();
        core::str::from_utf8(text).unwrap_or_default()
    }
}

impl Drop for OtpCode {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OtpCode").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for OtpCode {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.code.ct_eq(&other.code)
    }
}

impl PartialEq for OtpCode {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for OtpCode {}

/// Computes and compares the code of every counter in `candidates`, with no early exit.
///
/// Returns the smallest matching counter newer than `newer_than`; [`OtpError::Replayed`] if the
/// code matches only counters that are not newer; [`OtpError::CodeMismatch`] if it matches none.
pub(crate) fn scan(
    mac: &KeyedMac,
    format: CodeFormat,
    typed: &CodeBuf,
    candidates: impl Iterator<Item = u64>,
    newer_than: Option<u64>,
) -> Result<u64, OtpError> {
    let mut chosen = 0_u64;
    // 0 or 1, derived only from `Choice`s (which hide their value from the optimizer).
    let mut found_fresh = 0_u8;
    let mut found_any = 0_u8;
    for counter in candidates {
        let code = CodeBuf::render(format, mac.truncated(counter));
        let matches = code.ct_eq(typed).unwrap_u8();
        let fresh = match newer_than {
            Some(last) => counter.ct_gt(&last).unwrap_u8(),
            None => 1,
        };
        let hit = matches & fresh;
        chosen.conditional_assign(&counter, Choice::from(hit & (found_fresh ^ 1)));
        found_fresh |= hit;
        found_any |= matches;
    }
    if found_fresh == 1 {
        Ok(chosen)
    } else if found_any == 1 {
        Err(OtpError::Replayed)
    } else {
        Err(OtpError::CodeMismatch)
    }
}

/// Finds the smallest counter `c` of `candidates` (consecutive, ascending) whose code is `first`
/// while the code of `c + 1` is `second`, computing every code with no early exit
/// ([RFC 4226 §7.4](https://www.rfc-editor.org/rfc/rfc4226#section-7.4)).
pub(crate) fn scan_pair(
    mac: &KeyedMac,
    format: CodeFormat,
    first: &CodeBuf,
    second: &CodeBuf,
    candidates: impl Iterator<Item = u64>,
) -> Option<u64> {
    let mut chosen = 0_u64;
    let mut found = Choice::from(0);
    let mut previous_is_first = Choice::from(0);
    let mut previous = 0_u64;
    for counter in candidates {
        let code = CodeBuf::render(format, mac.truncated(counter));
        let hit = previous_is_first & code.ct_eq(second);
        chosen.conditional_assign(&previous, hit & !found);
        found |= hit;
        previous_is_first = code.ct_eq(first);
        previous = counter;
    }
    bool::from(found).then_some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Digits;

    #[test]
    fn truncation_follows_rfc4226_section_5_4() {
        // The worked example of RFC 4226 §5.4.
        let mac = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(truncate(&mac), 0x50ef_7f19);
        let code = CodeBuf::render(CodeFormat::Decimal(Digits::SIX), 0x50ef_7f19);
        assert_eq!(code.as_bytes(), b"872921");
    }

    #[test]
    fn rendering_pads_with_zeros() {
        let ten = CodeFormat::Decimal(Digits::new(10).unwrap());
        assert_eq!(CodeBuf::render(ten, 82_162_583).as_bytes(), b"0082162583");
        assert_eq!(CodeBuf::render(ten, 0x7fff_ffff).as_bytes(), b"2147483647");
        let six = CodeFormat::Decimal(Digits::SIX);
        assert_eq!(CodeBuf::render(six, 7).as_bytes(), b"000007");
        assert_eq!(CodeBuf::render(CodeFormat::Steam, 0).as_bytes(), b"22222");
        assert_eq!(
            CodeBuf::render(CodeFormat::Steam, 1 + 26).as_bytes(),
            b"33222"
        );
    }

    #[test]
    fn typed_codes_are_parsed_strictly() {
        let six = CodeFormat::Decimal(Digits::SIX);
        assert_eq!(CodeBuf::parse(six, "123456").unwrap().as_bytes(), b"123456");
        assert_eq!(
            CodeBuf::parse(six, " 123 456 ").unwrap().as_bytes(),
            b"123456"
        );
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "-12345",
            "１２３４５６",
            "123-456",
        ] {
            assert_eq!(
                CodeBuf::parse(six, bad).err(),
                Some(OtpError::MalformedCode),
                "{bad}"
            );
        }
        assert_eq!(
            CodeBuf::parse(CodeFormat::Steam, "bcd2y")
                .unwrap()
                .as_bytes(),
            b"BCD2Y"
        );
        assert!(CodeBuf::parse(CodeFormat::Steam, "ABCDE").is_err()); // A is not in the alphabet
        assert!(CodeBuf::parse(six, &"1".repeat(100)).is_err());
    }
}
