//! The constant-time core shared by HOTP and TOTP: keyed HMAC state, dynamic truncation, code
//! rendering (to show a code), typed-code parsing, and the window scans.
//!
//! Everything here is best effort constant time with respect to the secret and the codes: the key
//! schedule runs once per verification, every candidate of a window is computed and compared with
//! `subtle` and the matched counter carried with `ConditionallySelectable`, with no early exit.
//! A typed code is parsed once into the number it stands for, and each candidate's truncated
//! value is reduced modulo the format's range (10^digits, or 26^5 for Steam Guard) and compared
//! with it as one integer: the same work for a right and a wrong code, at any position of the
//! window, and no candidate is rendered as text. The truncation offset and the Steam alphabet
//! are selected with masks rather than used as indices; divisions are by constants the compiler
//! turns into multiplications. Parsing, truncation and the scans allocate nothing. Control flow
//! depends only on public values: the window's shape and the format of what the user typed.

use core::fmt;

use hmac::block_api::HmacCore;
use hmac::digest::Key;
use hmac::digest::block_api::{Buffer, CoreProxy};
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};
use zeroize::Zeroize;

use crate::error::OtpError;
use crate::params::{Algorithm, CodeFormat, Digits, STEAM_ALPHABET, STEAM_LEN};
use crate::secret::OtpSecret;

/// The longest code: ten digits.
pub(crate) const MAX_CODE_LEN: usize = 10;
/// Typed input longer than this is rejected before looking at it.
const MAX_TYPED_LEN: usize = 64;

/// An HMAC keyed once: the inner and outer pad states, cloned for every counter.
///
/// Implemented for the `hmac` crate's [`HmacCore`]: once keyed, an [`Hmac`] holds nothing but its
/// core (each pad is exactly one block, so its buffer is empty), so the core is the whole keyed
/// state. Each counter wraps a clone of it in a fresh, empty buffer and runs the crate's own
/// `update` and `finalize`: the same HMAC as cloning a whole `Hmac`, without copying and then
/// wiping a block-sized buffer per code, and with the counter known to land in an empty buffer.
pub(crate) trait KeyedMac {
    /// `DT(HMAC(K, C))`: the 31-bit dynamically truncated value
    /// ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)).
    fn truncated(&self, counter: u64) -> u32;
}

impl<D: EagerHash> KeyedMac for HmacCore<D>
where
    Hmac<D>: Mac,
{
    fn truncated(&self, counter: u64) -> u32 {
        truncate(
            Hmac::<D>::compose(self.clone(), Buffer::<Self>::default())
                .chain_update(counter.to_be_bytes())
                .finalize()
                .as_bytes(),
        )
    }
}

/// Keys the HMAC of `algorithm` with `secret` once and hands it to `run`, which clones the keyed
/// state for every counter it needs. The state stays where it was keyed (no move of the largest
/// hash's state through an enum) and is wiped when `run` returns; each hash gets its own
/// [`KeyedMac::truncated`], compiled for its output length.
pub(crate) fn with_keyed_mac<R>(
    algorithm: Algorithm,
    secret: &OtpSecret,
    run: impl FnOnce(&dyn KeyedMac) -> R,
) -> R {
    let key = secret.expose_secret();
    match algorithm {
        Algorithm::Sha1 => run(&keyed::<HmacCore<Sha1>>(key)),
        Algorithm::Sha256 => run(&keyed::<HmacCore<Sha256>>(key)),
        Algorithm::Sha512 => run(&keyed::<HmacCore<Sha512>>(key)),
    }
}

/// `DT(HMAC(K, C))` for one counter, keying the HMAC for it alone (to show a code).
pub(crate) fn truncated_value(algorithm: Algorithm, secret: &OtpSecret, counter: u64) -> u32 {
    with_keyed_mac(algorithm, secret, |mac| mac.truncated(counter))
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

/// Dynamic truncation ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)):
/// the 31 bits at the byte offset named by the low nibble of the last byte.
///
/// The secret-derived offset is never used as an index. The offset's four bytes lie within the
/// first 20 bytes of the MAC (the offset is at most 15), read as five big-endian words: the
/// two words holding them are selected with masks from the four possible pairs, then the word at
/// the byte offset within the pair with masks from the four possible shifts. The offset goes
/// through a `black_box` once, so the optimizer cannot turn the masks back into an indexed load
/// (best effort, like `subtle`). Whole words, not 4-byte windows at every offset, are read, so no
/// load straddles the digest's word-sized stores (a slow store-forwarding miss otherwise).
///
/// Every hash here has at least 20 bytes of output; a shorter `mac` (none is) would give 0.
#[inline]
fn truncate(mac: &[u8]) -> u32 {
    let (Some((head, _)), Some(&last)) = (mac.split_first_chunk::<20>(), mac.last()) else {
        return 0;
    };
    let offset = core::hint::black_box(u32::from(last & 0x0f));
    let word_index = offset >> 2;
    let byte_index = offset & 3;
    let (words, _) = head.as_chunks::<4>();
    let mut pair = 0_u64;
    for (index, adjacent) in (0_u32..).zip(words.windows(2)) {
        if let [high, low] = adjacent {
            let candidate =
                (u64::from(u32::from_be_bytes(*high)) << 32) | u64::from(u32::from_be_bytes(*low));
            pair |= candidate & wide_mask(equal_mask(index, word_index));
        }
    }
    let mut value = 0_u32;
    for (index, shift) in (0_u32..).zip([32, 24, 16, 8]) {
        value |= low_word(pair >> shift) & equal_mask(index, byte_index);
    }
    value & 0x7fff_ffff
}

/// The low 32 bits.
fn low_word(value: u64) -> u32 {
    let [a, b, c, d, ..] = value.to_le_bytes();
    u32::from_le_bytes([a, b, c, d])
}

/// A 32-bit mask widened to 64 bits.
fn wide_mask(mask: u32) -> u64 {
    (u64::from(mask) << 32) | u64::from(mask)
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
                let mut rest = decimal_residue(digits, value);
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

/// `value mod 10^digits`: the number a decimal code of `digits` digits shows
/// ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)). The divisors are
/// constants, so the compiler multiplies instead of dividing (no data-dependent `div`).
fn decimal_residue(digits: Digits, value: u32) -> u32 {
    match digits.get() {
        6 => value % 1_000_000,
        7 => value % 10_000_000,
        8 => value % 100_000_000,
        9 => value % 1_000_000_000,
        _ => value, // 10 digits: the 31-bit value is below 10^10.
    }
}

/// The size of the Steam Guard alphabet: each place of a code is a base-26 digit.
const STEAM_RADIX: u32 = 26;
/// How many values a Steam Guard code can show: 26 symbols in each of its 5 places.
const STEAM_MODULUS: u32 = STEAM_RADIX.pow(5);
const _: () = assert!(STEAM_ALPHABET.len() == 26 && STEAM_LEN == 5);

/// The residue of a truncated value that a code of `format` shows: `value mod 10^digits`, or
/// `value mod 26^5` for Steam Guard. Two values render to the same text exactly when their
/// residues are equal, since rendering writes every residue as its own string of the format's
/// length (decimal with leading zeros; base 26, least significant symbol first, for Steam).
fn residue(format: CodeFormat, value: u32) -> u64 {
    u64::from(match format {
        CodeFormat::Decimal(digits) => decimal_residue(digits, value),
        CodeFormat::Steam => value % STEAM_MODULUS,
    })
}

/// What a user typed, parsed once into the residue it stands for (see [`residue`]): the digits
/// as a decimal number, or a Steam Guard code as a base-26 number with its first symbol least
/// significant, as [`CodeBuf::render`] writes it. Each candidate of a window is then compared as
/// one constant-time integer comparison, with no code rendered as text. Wiped on drop.
pub(crate) struct TypedCode {
    residue: u64,
}

impl TypedCode {
    /// Parses what a user typed. Spaces anywhere are ignored (`123 456`); Steam codes may be in
    /// lower case. Anything but exactly the format's length of its symbols is
    /// [`OtpError::MalformedCode`]. Branches only on the input's shape (length, which bytes are
    /// spaces, whether a byte is a valid symbol), never on which digit or symbol it is.
    pub(crate) fn parse(format: CodeFormat, input: &str) -> Result<Self, OtpError> {
        if input.len() > MAX_TYPED_LEN {
            return Err(OtpError::MalformedCode);
        }
        let len = format.len();
        let radix = match format {
            CodeFormat::Decimal(_) => 10,
            CodeFormat::Steam => u64::from(STEAM_RADIX),
        };
        // At most ten digits (below 10^10) or five symbols (below 26^5): nothing here can
        // overflow; the saturating arithmetic only keeps that evident.
        let mut code = Self { residue: 0 };
        let mut count = 0_usize;
        let mut weight = 1_u64;
        for byte in input.bytes() {
            if byte.is_ascii_whitespace() {
                continue;
            }
            if count == len {
                return Err(OtpError::MalformedCode);
            }
            count = count.saturating_add(1);
            code.residue = match format {
                // Most significant digit first.
                CodeFormat::Decimal(_) => code
                    .residue
                    .saturating_mul(radix)
                    .saturating_add(decimal_digit(byte)?),
                // Least significant symbol first.
                CodeFormat::Steam => {
                    let index = steam_index(byte)?;
                    let residue = code.residue.saturating_add(index.saturating_mul(weight));
                    weight = weight.saturating_mul(radix);
                    residue
                }
            };
        }
        if count != len {
            return Err(OtpError::MalformedCode);
        }
        Ok(code)
    }

    /// Whether the code of truncated value `value` in `format` is the one typed, in constant time.
    pub(crate) fn matches(&self, format: CodeFormat, value: u32) -> Choice {
        residue(format, value).ct_eq(&self.residue)
    }
}

impl Drop for TypedCode {
    fn drop(&mut self) {
        self.residue.zeroize();
    }
}

/// The value of an ASCII decimal digit.
fn decimal_digit(byte: u8) -> Result<u64, OtpError> {
    if byte.is_ascii_digit() {
        Ok(u64::from(byte.wrapping_sub(b'0')))
    } else {
        Err(OtpError::MalformedCode)
    }
}

/// The index in the Steam Guard alphabet of `byte` (either case), found by comparing it with
/// every symbol in constant time rather than by searching, so the time does not tell which
/// symbol it is.
fn steam_index(byte: u8) -> Result<u64, OtpError> {
    let upper = byte.to_ascii_uppercase();
    let mut index = 0_u64;
    let mut found = Choice::from(0);
    for (candidate_index, candidate) in (0_u64..).zip(STEAM_ALPHABET) {
        let hit = candidate.ct_eq(&upper);
        index.conditional_assign(&candidate_index, hit);
        found |= hit;
    }
    if bool::from(found) {
        Ok(index)
    } else {
        Err(OtpError::MalformedCode)
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
    mac: &dyn KeyedMac,
    format: CodeFormat,
    typed: &TypedCode,
    candidates: impl Iterator<Item = u64>,
    newer_than: Option<u64>,
) -> Result<u64, OtpError> {
    let mut chosen = 0_u64;
    // 0 or 1, derived only from `Choice`s (which hide their value from the optimizer).
    let mut found_fresh = 0_u8;
    let mut found_any = 0_u8;
    for counter in candidates {
        let matches = typed.matches(format, mac.truncated(counter)).unwrap_u8();
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
    mac: &dyn KeyedMac,
    format: CodeFormat,
    first: &TypedCode,
    second: &TypedCode,
    candidates: impl Iterator<Item = u64>,
) -> Option<u64> {
    let mut chosen = 0_u64;
    let mut found = Choice::from(0);
    let mut previous_is_first = Choice::from(0);
    let mut previous = 0_u64;
    for counter in candidates {
        let value = mac.truncated(counter);
        let hit = previous_is_first & second.matches(format, value);
        chosen.conditional_assign(&previous, hit & !found);
        found |= hit;
        previous_is_first = first.matches(format, value);
        previous = counter;
    }
    bool::from(found).then_some(chosen)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::{Just, Strategy, any, prop_oneof};

    use super::*;

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

    /// Dynamic truncation as RFC 4226 §5.3 writes it, indexing with the offset.
    fn indexed_truncation(mac: &[u8]) -> u32 {
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
    }

    fn plain_truncated<M: Mac + KeyInit>(key: &[u8], counter: u64) -> u32 {
        let mac = <M as KeyInit>::new_from_slice(key)
            .unwrap()
            .chain_update(counter.to_be_bytes())
            .finalize()
            .into_bytes();
        indexed_truncation(&mac)
    }

    proptest::proptest! {
        /// The masked truncation picks the same 31 bits as indexing does, for every output
        /// length here (SHA-1, SHA-256, SHA-512) and every offset.
        #[test]
        fn masked_truncation_matches_indexing(
            mac in proptest::sample::select(vec![20_usize, 32, 64])
                .prop_flat_map(|len| proptest::collection::vec(any::<u8>(), len)),
            offset in 0_u8..16,
        ) {
            let mut mac = mac;
            if let Some(last) = mac.last_mut() {
                *last = (*last & 0xf0) | offset;
            }
            proptest::prop_assert_eq!(truncate(&mac), indexed_truncation(&mac));
        }

        /// A clone of the keyed core in a fresh buffer computes the same HMAC as a whole `Hmac`
        /// keyed for the one counter.
        #[test]
        fn keyed_core_matches_a_plainly_keyed_hmac(
            key in proptest::collection::vec(any::<u8>(), 10..=64),
            counter in any::<u64>(),
        ) {
            let secret = OtpSecret::from_bytes(mfa_core::SecretBytes::from_slice(&key)).unwrap();
            for (algorithm, expected) in [
                (Algorithm::Sha1, plain_truncated::<Hmac<Sha1>>(&key, counter)),
                (Algorithm::Sha256, plain_truncated::<Hmac<Sha256>>(&key, counter)),
                (Algorithm::Sha512, plain_truncated::<Hmac<Sha512>>(&key, counter)),
            ] {
                proptest::prop_assert_eq!(truncated_value(algorithm, &secret, counter), expected);
                let twice = with_keyed_mac(algorithm, &secret, |mac| {
                    [mac.truncated(counter), mac.truncated(counter)]
                });
                proptest::prop_assert_eq!(twice, [expected, expected]);
            }
        }
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

    fn parsed(format: CodeFormat, typed: &str) -> Result<u64, OtpError> {
        TypedCode::parse(format, typed).map(|code| code.residue)
    }

    #[test]
    fn typed_codes_are_parsed_strictly() {
        let six = CodeFormat::Decimal(Digits::SIX);
        assert_eq!(parsed(six, "123456"), Ok(123_456));
        assert_eq!(parsed(six, " 123 456 "), Ok(123_456));
        assert_eq!(parsed(six, "000007"), Ok(7));
        let ten = CodeFormat::Decimal(Digits::new(10).unwrap());
        assert_eq!(parsed(ten, "9999999999"), Ok(9_999_999_999));
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "-12345",
            "１２３４５６",
            "123-456",
        ] {
            assert_eq!(parsed(six, bad), Err(OtpError::MalformedCode), "{bad}");
        }
        // B, C, D, 2, Y are symbols 8, 9, 10, 0 and 25; the first is the least significant.
        let bcd2y = 8 + 9 * 26 + 10 * 26_u64.pow(2) + 25 * 26_u64.pow(4);
        assert_eq!(parsed(CodeFormat::Steam, "bcd2y"), Ok(bcd2y));
        assert_eq!(parsed(CodeFormat::Steam, "BCD 2Y"), Ok(bcd2y));
        let bcd2y_value = u32::try_from(bcd2y).unwrap();
        assert_eq!(
            CodeBuf::render(CodeFormat::Steam, bcd2y_value).as_bytes(),
            b"BCD2Y"
        );
        assert!(parsed(CodeFormat::Steam, "ABCDE").is_err()); // A is not in the alphabet
        assert!(parsed(six, &"1".repeat(100)).is_err());
        assert!(parsed(six, &format!("123456{}", " ".repeat(60))).is_err()); // over 64 bytes
    }

    /// Codes as this crate compared them before typed codes were parsed into residues, written
    /// naively as the reference: render the candidate as text (`format!` with leading zeros, or
    /// Steam symbols least significant first), drop the spaces from what was typed, upper-case
    /// it for Steam, and compare the strings. Malformed input (over 64 bytes, a symbol outside
    /// the format, or the wrong length once spaces are dropped) is an error, as it was.
    fn text_comparison(format: CodeFormat, typed: &str, value: u32) -> Result<bool, OtpError> {
        if typed.len() > 64 {
            return Err(OtpError::MalformedCode);
        }
        let typed: Vec<u8> = typed
            .bytes()
            .filter(|byte| !byte.is_ascii_whitespace())
            .map(|byte| match format {
                CodeFormat::Steam => byte.to_ascii_uppercase(),
                CodeFormat::Decimal(_) => byte,
            })
            .collect();
        let well_formed = typed.len() == format.len()
            && typed.iter().all(|byte| match format {
                CodeFormat::Decimal(_) => byte.is_ascii_digit(),
                CodeFormat::Steam => STEAM_ALPHABET.contains(byte),
            });
        if !well_formed {
            return Err(OtpError::MalformedCode);
        }
        Ok(typed == text_rendering(format, value).into_bytes())
    }

    fn text_rendering(format: CodeFormat, value: u32) -> String {
        match format {
            CodeFormat::Decimal(digits) => {
                let width = usize::from(digits.get());
                let modulus = 10_u64.pow(u32::from(digits.get()));
                format!("{:0width$}", u64::from(value) % modulus)
            }
            CodeFormat::Steam => {
                let mut rest = value;
                (0..5)
                    .map(|_| {
                        let symbol = STEAM_ALPHABET[usize::try_from(rest % 26).unwrap()];
                        rest /= 26;
                        char::from(symbol)
                    })
                    .collect()
            }
        }
    }

    fn any_format() -> impl Strategy<Value = CodeFormat> {
        prop_oneof![
            (6_u8..=10).prop_map(|digits| CodeFormat::Decimal(Digits::new(digits).unwrap())),
            Just(CodeFormat::Steam),
        ]
    }

    /// What a user might type for a candidate of truncated value `value`: its own code, the code
    /// of a nearby or a bit-flipped value, strings of the format's symbols, or anything at all;
    /// then, sometimes, with spaces and tabs put in and letters lower-cased.
    fn typed_for(format: CodeFormat, value: u32) -> impl Strategy<Value = String> {
        let near = (-3_i64..=3, 0_u32..31).prop_map(move |(delta, bit)| {
            let shifted = (i64::from(value) + delta).rem_euclid(1 << 31);
            let flipped = u32::try_from(shifted).unwrap() ^ (1 << bit);
            text_rendering(format, flipped & 0x7fff_ffff)
        });
        let symbols = match format {
            CodeFormat::Decimal(_) => "[0-9]{4,12}",
            CodeFormat::Steam => "[2-9BCDFGHJKMNPQRTVWXYbcdfghjkmnpqrtvwxyA1]{3,7}",
        };
        let text = prop_oneof![
            3 => Just(text_rendering(format, value)),
            2 => near,
            2 => proptest::string::string_regex(symbols).unwrap(),
            1 => "[0-9A-Za-z \\t\\n-]{0,14}",
            1 => "\\PC{0,70}",
        ];
        (
            text,
            proptest::collection::vec((0_usize..16, "[ \\t\\r\\n]{1,3}"), 0..3),
            any::<bool>(),
        )
            .prop_map(|(text, gaps, lower)| {
                let mut text = if lower {
                    text.to_ascii_lowercase()
                } else {
                    text
                };
                for (at, gap) in gaps {
                    if text.is_char_boundary(at) {
                        text.insert_str(at, &gap);
                    }
                }
                text
            })
    }

    /// A format, a truncated value, and what a user might type for it.
    fn format_value_and_typed() -> impl Strategy<Value = (CodeFormat, u32, String)> {
        (any_format(), 0_u32..=0x7fff_ffff)
            .prop_flat_map(|(format, value)| (Just(format), Just(value), typed_for(format, value)))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// Parsing the typed code once into a residue and comparing residues accepts and rejects
        /// exactly what rendering every candidate as text and comparing the text did.
        #[test]
        fn residue_comparison_accepts_exactly_what_text_comparison_did(
            (format, value, typed) in format_value_and_typed()
        ) {
            let expected = text_comparison(format, &typed, value);
            let actual = TypedCode::parse(format, &typed)
                .map(|code| bool::from(code.matches(format, value)));
            proptest::prop_assert_eq!(actual, expected, "{:?} {:?}", format, typed);
        }

        /// Generated codes still read as the text rendering (what `OtpCode` shows is unchanged).
        #[test]
        fn rendering_matches_the_text_rendering(
            format in any_format(),
            value in 0_u32..=0x7fff_ffff,
        ) {
            let rendered = CodeBuf::render(format, value).as_bytes();
            proptest::prop_assert_eq!(rendered, text_rendering(format, value).into_bytes());
        }
    }
}
