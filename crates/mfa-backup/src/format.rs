//! Code formats, generation from an injected RNG, and normalisation of what a person types.
//!
//! A backup code is a NIST SP 800-63B-4 §3.1.2 *look-up secret*: it must carry at least 20 bits of
//! entropy, which every [`CodeFormat`] does (see the table on [`CodeFormat`]).

use core::fmt;
use core::str::FromStr;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::BackupCodeError;

/// The unambiguous alphabet of the letter formats: Crockford's base32 (digits and upper-case
/// letters without `I`, `L`, `O` and `U`), 32 symbols, 5 bits each.
const BASE32_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The digits of the numeric formats, 10 symbols, log2(10) ≈ 3.32 bits each.
const DIGIT_ALPHABET: &[u8; 10] = b"0123456789";

/// Typed input longer than this many bytes is rejected before any other work.
pub const MAX_INPUT_LEN: usize = 128;

/// How the codes of a set look, and so how much entropy each carries.
///
/// | format | serialized / CLI name | shape | symbols | entropy per code |
/// |---|---|---|---|---|
/// | [`Grouped10`](Self::Grouped10) (default) | `default` | `xxxxx-xxxxx` | 10 of 32 | 50 bits |
/// | [`Grouped16`](Self::Grouped16) | `long` | `xxxx-xxxx-xxxx-xxxx` | 16 of 32 | 80 bits |
/// | [`Digits8`](Self::Digits8) | `digits8` | `1234 5678` | 8 of 10 | 26.5 bits |
/// | [`Digits10`](Self::Digits10) | `digits10` | `12345 67890` | 10 of 10 | 33.2 bits |
///
/// Every format has the ≥ 20 bits NIST SP 800-63B-4 §3.1.2.1 asks of a look-up secret. All are
/// below 112 bits, so §3.1.2.2 requires them to be stored salted and hashed with a password
/// hashing scheme, which [`BackupCodeSet`](crate::BackupCodeSet) always does.
///
/// Letter codes are shown in lower case from the alphabet `0-9 a-z` without `i l o u`
/// (Crockford's base32); typed input may use either case, and `o`, `i` and `l` are read as `0`,
/// `1` and `1`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodeFormat {
    /// Ten base32 symbols as two groups of five: `xxxxx-xxxxx`, 50 bits.
    #[default]
    #[serde(rename = "default")]
    Grouped10,
    /// Sixteen base32 symbols as four groups of four: `xxxx-xxxx-xxxx-xxxx`, 80 bits.
    #[serde(rename = "long")]
    Grouped16,
    /// Eight decimal digits as two groups of four (like Google's backup codes), 26.5 bits.
    #[serde(rename = "digits8")]
    Digits8,
    /// Ten decimal digits as two groups of five, 33.2 bits.
    #[serde(rename = "digits10")]
    Digits10,
}

impl CodeFormat {
    /// Every format, for documentation, tests and CLI help.
    pub const ALL: [Self; 4] = [
        Self::Grouped10,
        Self::Grouped16,
        Self::Digits8,
        Self::Digits10,
    ];

    /// The stable name (serialized form and CLI `--format` value).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Grouped10 => "default",
            Self::Grouped16 => "long",
            Self::Digits8 => "digits8",
            Self::Digits10 => "digits10",
        }
    }

    /// Number of symbols in a code (without separators).
    #[must_use]
    pub const fn len(self) -> usize {
        match self {
            Self::Grouped10 | Self::Digits10 => 10,
            Self::Grouped16 => 16,
            Self::Digits8 => 8,
        }
    }

    /// Always `false`: no format has empty codes. (Here because `len` is.)
    #[must_use]
    pub const fn is_empty(self) -> bool {
        false
    }

    /// Symbols per group when the code is shown.
    const fn group(self) -> usize {
        match self {
            Self::Grouped10 | Self::Digits10 => 5,
            Self::Grouped16 | Self::Digits8 => 4,
        }
    }

    /// The separator between groups when the code is shown.
    const fn separator(self) -> char {
        match self {
            Self::Grouped10 | Self::Grouped16 => '-',
            Self::Digits8 | Self::Digits10 => ' ',
        }
    }

    const fn alphabet(self) -> &'static [u8] {
        match self {
            Self::Grouped10 | Self::Grouped16 => BASE32_ALPHABET,
            Self::Digits8 | Self::Digits10 => DIGIT_ALPHABET,
        }
    }

    /// Entropy of one code in bits: `len × log2(alphabet size)`, e.g. 50.0 for the default.
    #[must_use]
    pub fn entropy_bits(self) -> f64 {
        let symbols = u32::try_from(self.len()).unwrap_or(u32::MAX);
        let alphabet = u32::try_from(self.alphabet().len()).unwrap_or(u32::MAX);
        f64::from(symbols) * f64::from(alphabet).log2()
    }

    /// Draws one code from `rng`, uniformly over the format's code space.
    pub(crate) fn generate<R: CryptoRng + ?Sized>(self, rng: &mut R) -> CanonicalCode {
        let alphabet = self.alphabet();
        let alphabet_len = alphabet.len();
        // Rejection sampling: accept bytes below the largest multiple of the alphabet size.
        let limit = 256 - 256 % alphabet_len;
        let mut out = Zeroizing::new(Vec::with_capacity(self.len()));
        let mut pool = Zeroizing::new([0_u8; 32]);
        while out.len() < self.len() {
            rng.fill_bytes(pool.as_mut_slice());
            for byte in pool.iter().map(|b| usize::from(*b)) {
                if byte < limit
                    && out.len() < self.len()
                    && let Some(symbol) = alphabet.get(byte % alphabet_len)
                {
                    out.push(*symbol);
                }
            }
        }
        CanonicalCode {
            format: self,
            symbols: out,
        }
    }

    /// Reads what a person typed: ignores case, spaces and hyphens, reads the usual confusables
    /// (`O`→`0`, `I`/`L`→`1`), and checks the length and alphabet.
    ///
    /// # Errors
    /// [`BackupCodeError::Malformed`] if the input is too long, has a character outside the
    /// format's alphabet, or has the wrong number of symbols.
    pub(crate) fn normalize(self, input: &str) -> Result<CanonicalCode, BackupCodeError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(BackupCodeError::Malformed);
        }
        let mut symbols = Zeroizing::new(Vec::with_capacity(self.len()));
        for c in input.chars() {
            if c.is_whitespace() || is_hyphen(c) {
                continue;
            }
            let symbol = match c.to_ascii_uppercase() {
                'O' => b'0',
                'I' | 'L' => b'1',
                other => u8::try_from(other).map_err(|_| BackupCodeError::Malformed)?,
            };
            if !self.alphabet().contains(&symbol) || symbols.len() >= self.len() {
                return Err(BackupCodeError::Malformed);
            }
            symbols.push(symbol);
        }
        if symbols.len() != self.len() {
            return Err(BackupCodeError::Malformed);
        }
        Ok(CanonicalCode {
            format: self,
            symbols,
        })
    }
}

/// Hyphen-like characters a person (or a word processor) may put between groups.
fn is_hyphen(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

impl fmt::Display for CodeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CodeFormat {
    type Err = BackupCodeError;

    /// Parses a [name](Self::name): `default`, `long`, `digits8` or `digits10`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or(BackupCodeError::InvalidConfig("unknown code format"))
    }
}

/// A code in canonical form: its symbols, upper case, no separators. Zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CanonicalCode {
    format: CodeFormat,
    symbols: Zeroizing<Vec<u8>>,
}

impl CanonicalCode {
    /// The canonical symbols, the bytes that are hashed.
    pub(crate) fn symbols(&self) -> &[u8] {
        &self.symbols
    }

    /// The form shown to people: lower case, grouped.
    pub(crate) fn display(&self) -> BackupCode {
        let mut text = String::with_capacity(self.symbols.len() + 4);
        for (i, symbol) in self.symbols.iter().enumerate() {
            if i > 0 && i % self.format.group() == 0 {
                text.push(self.format.separator());
            }
            text.push(char::from(symbol.to_ascii_lowercase()));
        }
        BackupCode { text }
    }
}

impl fmt::Debug for CanonicalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanonicalCode")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// One backup code in the form shown to the user (`k7m2q-x9rtw`): a secret.
///
/// Zeroized on drop; `Debug` prints `BackupCode(..)`; there is no `Display`: call
/// [`expose_secret`](Self::expose_secret) where the code must be shown (the printed sheet, the
/// one screen after issuing).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BackupCode {
    text: String,
}

impl BackupCode {
    /// The code as shown to the user. Show it once; never log it.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BackupCode").finish_non_exhaustive()
    }
}

/// Normalises `input` as a code of `format` and returns the canonical symbols, upper case and
/// without separators. Exposed for tests and tools; verification does this itself.
///
/// ```
/// use mfa_backup::{CodeFormat, normalize_code};
///
/// let canonical = normalize_code(CodeFormat::Grouped10, " k7m2q - X9RTW ")?;
/// assert_eq!(canonical.as_str(), "K7M2QX9RTW");
/// // O, I and L are read as 0, 1, 1.
/// assert_eq!(normalize_code(CodeFormat::Grouped10, "oilo0-11111")?.as_str(), "0110011111");
/// assert!(normalize_code(CodeFormat::Digits8, "1234 567").is_err());
/// # Ok::<(), mfa_backup::BackupCodeError>(())
/// ```
///
/// # Errors
/// [`BackupCodeError::Malformed`] when the input cannot be a code of that format.
pub fn normalize_code(
    format: CodeFormat,
    input: &str,
) -> Result<Zeroizing<String>, BackupCodeError> {
    let canonical = format.normalize(input)?;
    let text: String = canonical
        .symbols()
        .iter()
        .copied()
        .map(char::from)
        .collect();
    Ok(Zeroizing::new(text))
}
