//! COSE keys and algorithms ([RFC 9052 §7], [RFC 9053], IANA COSE registries) as WebAuthn uses
//! them ([WebAuthn L3 §5.8.5], [§6.5.1.1]).
//!
//! Credential public keys arrive as attacker-controlled CBOR, so parsing is strict and bounded:
//! at most [`MAX_COSE_KEY_LEN`] bytes, a small nesting depth and item count, definite lengths
//! only, no duplicate labels, `alg` required and consistent with `kty`/`crv`, EC points checked
//! to lie on their curve, Ed25519 points checked to decompress, RSA moduli of 2048 to 8192 bits.
//!
//! [RFC 9052 §7]: https://www.rfc-editor.org/rfc/rfc9052#section-7
//! [RFC 9053]: https://www.rfc-editor.org/rfc/rfc9053
//! [WebAuthn L3 §5.8.5]: https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier
//! [§6.5.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-encoded-credPubKey-examples

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::crypto::{EcCurve, PublicKeyMaterial, RSA_MAX_MODULUS_BITS, RSA_MIN_MODULUS_BITS};

/// The largest COSE_Key accepted, in bytes (an 8192-bit RSA key needs about 1.05 KiB).
pub const MAX_COSE_KEY_LEN: usize = 2048;

/// Nesting depth allowed inside a COSE_Key (a map of scalars needs 2).
const COSE_MAX_DEPTH: usize = 4;
/// Data items allowed inside a COSE_Key.
const COSE_MAX_ITEMS: usize = 64;

/// A COSE signature algorithm that WebAuthn credentials use ([WebAuthn L3 §5.8.5],
/// [IANA COSE Algorithms]).
///
/// [WebAuthn L3 §5.8.5]: https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier
/// [IANA COSE Algorithms]: https://www.iana.org/assignments/cose/cose.xhtml#algorithms
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoseAlgorithm {
    /// ECDSA P-256 with SHA-256 (-7).
    Es256,
    /// ECDSA P-384 with SHA-384 (-35).
    Es384,
    /// ECDSA P-521 with SHA-512 (-36).
    Es512,
    /// EdDSA with Ed25519 (-8).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (-257).
    Rs256,
    /// RSASSA-PSS with SHA-256 (-37).
    Ps256,
}

impl CoseAlgorithm {
    /// The algorithm for a COSE identifier, if supported.
    #[must_use]
    pub fn from_id(id: i64) -> Option<Self> {
        match id {
            -7 => Some(Self::Es256),
            -35 => Some(Self::Es384),
            -36 => Some(Self::Es512),
            -8 => Some(Self::EdDsa),
            -257 => Some(Self::Rs256),
            -37 => Some(Self::Ps256),
            _ => None,
        }
    }

    /// The COSE identifier.
    #[must_use]
    pub fn id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
            Self::EdDsa => -8,
            Self::Rs256 => -257,
            Self::Ps256 => -37,
        }
    }
}

/// A credential public key in COSE_Key form ([RFC 9052 §7], [WebAuthn L3 §6.5.1.1]), parsed and
/// checked, keeping its original bytes.
///
/// Serialized with serde as its CBOR bytes: a base64url string (no padding) in human-readable
/// formats such as JSON, a byte string otherwise. Deserializing parses and checks the key again.
///
/// [RFC 9052 §7]: https://www.rfc-editor.org/rfc/rfc9052#section-7
/// [WebAuthn L3 §6.5.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-encoded-credPubKey-examples
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseKey {
    algorithm: CoseAlgorithm,
    cbor: Vec<u8>,
    material: PublicKeyMaterial,
}

impl CoseKey {
    /// Parses a COSE_Key that must span all of `bytes`.
    ///
    /// # Errors
    /// [`CoseError`] if the bytes are not a supported, well-formed COSE_Key.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, CoseError> {
        let (key, used) = Self::parse_prefix(bytes)?;
        if used != bytes.len() {
            return Err(CoseError::Malformed("trailing bytes after COSE key"));
        }
        Ok(key)
    }

    /// Parses a COSE_Key at the start of `bytes` (as in attested credential data, where
    /// extensions may follow) and returns it with the number of bytes it spans.
    ///
    /// # Errors
    /// [`CoseError`] if the bytes do not start with a supported, well-formed COSE_Key.
    pub fn parse_prefix(bytes: &[u8]) -> Result<(Self, usize), CoseError> {
        let window = bytes.get(..MAX_COSE_KEY_LEN).unwrap_or(bytes);
        let limits = CborLimits {
            max_depth: COSE_MAX_DEPTH,
            max_items: COSE_MAX_ITEMS,
        };
        let (value, used) = decode_cbor_prefix(window, limits).map_err(|e| match e {
            CborError::Truncated if bytes.len() > MAX_COSE_KEY_LEN => {
                CoseError::Malformed("COSE key too long")
            }
            other => CoseError::Malformed(other.as_str()),
        })?;
        let cbor = window
            .get(..used)
            .ok_or(CoseError::Malformed("COSE key length"))?
            .to_vec();
        let (algorithm, material) = parse_key_map(&value)?;
        Ok((
            Self {
                algorithm,
                cbor,
                material,
            },
            used,
        ))
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> CoseAlgorithm {
        self.algorithm
    }

    /// The COSE_Key bytes exactly as received (what a relying party stores).
    #[must_use]
    pub fn as_cbor(&self) -> &[u8] {
        &self.cbor
    }

    /// For an EC2 key, the SEC 1 uncompressed point `0x04 ‖ x ‖ y`; `None` for other key types.
    #[must_use]
    pub fn ec2_uncompressed_point(&self) -> Option<Vec<u8>> {
        match &self.material {
            PublicKeyMaterial::Ec2 { point, .. } => Some(point.clone()),
            _ => None,
        }
    }

    /// For an OKP Ed25519 key, the 32-byte public key; `None` for other key types.
    #[must_use]
    pub fn ed25519_public_key(&self) -> Option<[u8; 32]> {
        match &self.material {
            PublicKeyMaterial::Ed25519(key) => Some(*key),
            _ => None,
        }
    }

    /// For an RSA key, the modulus `n` and public exponent `e` as unsigned big-endian integers
    /// without leading zero bytes; `None` for other key types.
    #[must_use]
    pub fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.material {
            PublicKeyMaterial::Rsa { n, e } => Some((n, e)),
            _ => None,
        }
    }

    /// Checks that this key is the same public key as an X.509 `SubjectPublicKeyInfo` (DER), as
    /// the `packed`, `tpm`, `android-key` and `apple` attestation formats require
    /// ([WebAuthn L3 §8.4], [§8.8]).
    ///
    /// [WebAuthn L3 §8.4]: https://www.w3.org/TR/webauthn-3/#sctn-android-key-attestation
    /// [§8.8]: https://www.w3.org/TR/webauthn-3/#sctn-apple-anonymous-attestation
    ///
    /// # Errors
    /// [`CoseError::Malformed`] if the SPKI cannot be parsed, [`CoseError::KeyMismatch`] if it
    /// holds a different key.
    pub fn check_matches_spki(&self, spki_der: &[u8]) -> Result<(), CoseError> {
        let other = PublicKeyMaterial::from_spki_der(spki_der)
            .map_err(|_| CoseError::Malformed("unusable SubjectPublicKeyInfo"))?;
        if other == self.material {
            Ok(())
        } else {
            Err(CoseError::KeyMismatch)
        }
    }

    /// The parsed key material (crate-internal).
    pub(crate) fn material(&self) -> &PublicKeyMaterial {
        &self.material
    }
}

impl Serialize for CoseKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&URL_SAFE_NO_PAD.encode(&self.cbor))
        } else {
            serializer.serialize_bytes(&self.cbor)
        }
    }
}

impl<'de> Deserialize<'de> for CoseKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = CoseKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a COSE_Key as CBOR bytes or a base64url string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CoseKey, E> {
                // Base64url of MAX_COSE_KEY_LEN bytes needs at most 2731 characters.
                if v.len() > MAX_COSE_KEY_LEN.saturating_mul(2) {
                    return Err(E::custom("COSE key too long"));
                }
                let bytes = URL_SAFE_NO_PAD
                    .decode(v)
                    .map_err(|_| E::custom("COSE key is not base64url"))?;
                CoseKey::from_cbor(&bytes).map_err(E::custom)
            }

            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<CoseKey, E> {
                CoseKey::from_cbor(v).map_err(E::custom)
            }
        }

        if deserializer.is_human_readable() {
            deserializer.deserialize_str(KeyVisitor)
        } else {
            deserializer.deserialize_bytes(KeyVisitor)
        }
    }
}

/// Why a COSE key could not be used ([RFC 9052 §7], [WebAuthn L3 §5.8.5]).
///
/// [RFC 9052 §7]: https://www.rfc-editor.org/rfc/rfc9052#section-7
/// [WebAuthn L3 §5.8.5]: https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoseError {
    /// Not well-formed CBOR or not a valid COSE_Key.
    Malformed(&'static str),
    /// A valid key with an algorithm or key type we do not support.
    UnsupportedAlgorithm(i64),
    /// Two well-formed public keys that were required to be the same are not.
    KeyMismatch,
}

impl fmt::Display for CoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed COSE key: {why}"),
            Self::UnsupportedAlgorithm(id) => write!(f, "unsupported COSE algorithm {id}"),
            Self::KeyMismatch => f.write_str("public keys do not match"),
        }
    }
}

impl std::error::Error for CoseError {}

// --- COSE_Key map -------------------------------------------------------------------------------

/// COSE key common parameter and key type parameter labels (RFC 9052 §7.1, RFC 9053 §7).
const LABEL_KTY: i128 = 1;
const LABEL_ALG: i128 = 3;
const LABEL_CRV_OR_N: i128 = -1;
const LABEL_X_OR_E: i128 = -2;
const LABEL_Y: i128 = -3;

const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const KTY_RSA: i128 = 3;

/// The fields of a COSE_Key we use, each present at most once.
#[derive(Default)]
struct KeyFields<'a> {
    kty: Option<i128>,
    alg: Option<i128>,
    minus1: Option<&'a Value>,
    minus2: Option<&'a Value>,
    minus3: Option<&'a Value>,
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), CoseError> {
    if slot.is_some() {
        return Err(CoseError::Malformed("duplicate label"));
    }
    *slot = Some(value);
    Ok(())
}

fn int_of(value: &Value) -> Result<i128, CoseError> {
    match value {
        Value::Integer(i) => Ok(i128::from(*i)),
        _ => Err(CoseError::Malformed("expected an integer")),
    }
}

fn bytes_of<'v>(value: Option<&'v Value>, what: &'static str) -> Result<&'v [u8], CoseError> {
    match value {
        Some(Value::Bytes(b)) => Ok(b),
        _ => Err(CoseError::Malformed(what)),
    }
}

fn parse_key_map(value: &Value) -> Result<(CoseAlgorithm, PublicKeyMaterial), CoseError> {
    let Value::Map(entries) = value else {
        return Err(CoseError::Malformed("COSE key is not a map"));
    };
    // Duplicate labels of any kind are rejected (RFC 9052 §7: labels are unique). The map is
    // small (item limit), so the quadratic check is cheap.
    for (i, (label, _)) in entries.iter().enumerate() {
        if !matches!(label, Value::Integer(_) | Value::Text(_)) {
            return Err(CoseError::Malformed(
                "COSE key label is not an integer or text",
            ));
        }
        if entries
            .iter()
            .skip(i.saturating_add(1))
            .any(|(other, _)| other == label)
        {
            return Err(CoseError::Malformed("duplicate label"));
        }
    }
    let mut fields = KeyFields::default();
    for (label, val) in entries {
        let Value::Integer(label) = label else {
            continue; // text labels carry nothing we use
        };
        match i128::from(*label) {
            LABEL_KTY => set_once(&mut fields.kty, int_of(val)?)?,
            LABEL_ALG => set_once(&mut fields.alg, int_of(val)?)?,
            LABEL_CRV_OR_N => set_once(&mut fields.minus1, val)?,
            LABEL_X_OR_E => set_once(&mut fields.minus2, val)?,
            LABEL_Y => set_once(&mut fields.minus3, val)?,
            _ => {} // kid, key_ops, base IV, private parameters of other key types: ignored
        }
    }
    let kty = fields.kty.ok_or(CoseError::Malformed("missing kty"))?;
    let alg_raw = fields.alg.ok_or(CoseError::Malformed("missing alg"))?;
    let alg_id = i64::try_from(alg_raw).map_err(|_| CoseError::Malformed("alg out of range"))?;
    let algorithm =
        CoseAlgorithm::from_id(alg_id).ok_or(CoseError::UnsupportedAlgorithm(alg_id))?;
    let material = match kty {
        KTY_EC2 => parse_ec2(&fields, algorithm)?,
        KTY_OKP => parse_okp(&fields, algorithm)?,
        KTY_RSA => parse_rsa(&fields, algorithm)?,
        _ => return Err(CoseError::Malformed("unsupported kty")),
    };
    Ok((algorithm, material))
}

fn parse_ec2(fields: &KeyFields<'_>, alg: CoseAlgorithm) -> Result<PublicKeyMaterial, CoseError> {
    let crv = int_of(fields.minus1.ok_or(CoseError::Malformed("missing crv"))?)?;
    let curve = match (crv, alg) {
        (1, CoseAlgorithm::Es256) => EcCurve::P256,
        (2, CoseAlgorithm::Es384) => EcCurve::P384,
        (3, CoseAlgorithm::Es512) => EcCurve::P521,
        (1..=3, _) => return Err(CoseError::Malformed("alg does not match EC2 curve")),
        _ => return Err(CoseError::Malformed("unsupported EC2 curve")),
    };
    let x = bytes_of(fields.minus2, "EC2 x must be a byte string")?;
    // A boolean y is point compression, which WebAuthn does not allow (L3 §6.5.1.1).
    let y = bytes_of(fields.minus3, "EC2 y must be a byte string")?;
    let size = curve.field_len();
    if x.len() != size || y.len() != size {
        return Err(CoseError::Malformed("EC2 coordinate has the wrong length"));
    }
    let mut point = Vec::with_capacity(size.saturating_mul(2).saturating_add(1));
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    let material = PublicKeyMaterial::Ec2 { curve, point };
    material
        .validate()
        .map_err(|_| CoseError::Malformed("EC2 point is not on the curve"))?;
    Ok(material)
}

fn parse_okp(fields: &KeyFields<'_>, alg: CoseAlgorithm) -> Result<PublicKeyMaterial, CoseError> {
    let crv = int_of(fields.minus1.ok_or(CoseError::Malformed("missing crv"))?)?;
    if crv != 6 {
        return Err(CoseError::Malformed("unsupported OKP curve"));
    }
    if alg != CoseAlgorithm::EdDsa {
        return Err(CoseError::Malformed("alg does not match OKP curve"));
    }
    if fields.minus3.is_some() {
        return Err(CoseError::Malformed("OKP key with a y coordinate"));
    }
    let x = bytes_of(fields.minus2, "OKP x must be a byte string")?;
    let key: [u8; 32] = x
        .try_into()
        .map_err(|_| CoseError::Malformed("Ed25519 key is not 32 bytes"))?;
    let material = PublicKeyMaterial::Ed25519(key);
    material
        .validate()
        .map_err(|_| CoseError::Malformed("Ed25519 key is not a valid point"))?;
    Ok(material)
}

fn parse_rsa(fields: &KeyFields<'_>, alg: CoseAlgorithm) -> Result<PublicKeyMaterial, CoseError> {
    if !matches!(alg, CoseAlgorithm::Rs256 | CoseAlgorithm::Ps256) {
        return Err(CoseError::Malformed("alg does not match RSA key"));
    }
    if fields.minus3.is_some() {
        // -3 and beyond are private-key parameters (RFC 8230 §4).
        return Err(CoseError::Malformed("RSA key with private parameters"));
    }
    let n = bytes_of(fields.minus1, "RSA n must be a byte string")?;
    let e = bytes_of(fields.minus2, "RSA e must be a byte string")?;
    let material = PublicKeyMaterial::rsa(n, e);
    material.validate().map_err(|_| {
        const _: () = assert!(RSA_MIN_MODULUS_BITS <= RSA_MAX_MODULUS_BITS);
        CoseError::Malformed("RSA key out of bounds (2048..=8192-bit odd modulus, odd e >= 3)")
    })?;
    Ok(material)
}

// --- A small strict CBOR decoder ----------------------------------------------------------------

/// Limits for [`decode_cbor_prefix`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct CborLimits {
    /// Deepest nesting of arrays, maps and tags (the top item is depth 1).
    pub(crate) max_depth: usize,
    /// Most data items in total.
    pub(crate) max_items: usize,
}

/// Why CBOR could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CborError {
    Truncated,
    Indefinite,
    Reserved,
    TooDeep,
    TooManyItems,
    BadUtf8,
    Unsupported,
    TooLong,
}

impl CborError {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Truncated => "truncated CBOR",
            Self::Indefinite => "indefinite-length CBOR item",
            Self::Reserved => "reserved CBOR additional information",
            Self::TooDeep => "CBOR nested too deeply",
            Self::TooManyItems => "too many CBOR items",
            Self::BadUtf8 => "CBOR text string is not UTF-8",
            Self::Unsupported => "unsupported CBOR simple value or float",
            Self::TooLong => "CBOR length out of range",
        }
    }
}

/// Decodes one CBOR data item at the start of `bytes` and returns it with the number of bytes it
/// spans. Definite lengths only; floats and simple values other than `false`, `true` and `null`
/// are rejected (nothing in WebAuthn uses them); maps keep their entries in order, duplicates
/// included (callers decide).
pub(crate) fn decode_cbor_prefix(
    bytes: &[u8],
    limits: CborLimits,
) -> Result<(Value, usize), CborError> {
    let mut decoder = Decoder {
        rest: bytes,
        items: 0,
        limits,
    };
    let value = decoder.item(1)?;
    let used = bytes
        .len()
        .checked_sub(decoder.rest.len())
        .ok_or(CborError::Truncated)?;
    Ok((value, used))
}

struct Decoder<'a> {
    rest: &'a [u8],
    items: usize,
    limits: CborLimits,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(CborError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    fn uint_be(&mut self, n: usize) -> Result<u64, CborError> {
        let bytes = self.take(n)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Reads an initial byte and its argument.
    fn head(&mut self) -> Result<(u8, u8, u64), CborError> {
        let (&initial, tail) = self.rest.split_first().ok_or(CborError::Truncated)?;
        self.rest = tail;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24 => self.uint_be(1)?,
            25 => self.uint_be(2)?,
            26 => self.uint_be(4)?,
            27 => self.uint_be(8)?,
            31 => return Err(CborError::Indefinite),
            _ => return Err(CborError::Reserved),
        };
        Ok((major, info, arg))
    }

    fn length(&self, arg: u64) -> Result<usize, CborError> {
        let len = usize::try_from(arg).map_err(|_| CborError::TooLong)?;
        // Every element takes at least one byte, so a length beyond the input is truncation;
        // this also bounds any allocation by the input size.
        if len > self.rest.len() {
            return Err(CborError::Truncated);
        }
        Ok(len)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > self.limits.max_depth {
            return Err(CborError::TooDeep);
        }
        self.items = self.items.checked_add(1).ok_or(CborError::TooManyItems)?;
        if self.items > self.limits.max_items {
            return Err(CborError::TooManyItems);
        }
        let (major, info, arg) = self.head()?;
        let next = depth.saturating_add(1);
        match major {
            0 => Ok(Value::Integer(arg.into())),
            1 => {
                let n = -1i128 - i128::from(arg);
                let int = ciborium::value::Integer::try_from(n).map_err(|_| CborError::TooLong)?;
                Ok(Value::Integer(int))
            }
            2 => {
                let len = self.length(arg)?;
                Ok(Value::Bytes(self.take(len)?.to_vec()))
            }
            3 => {
                let len = self.length(arg)?;
                let text = core::str::from_utf8(self.take(len)?).map_err(|_| CborError::BadUtf8)?;
                Ok(Value::Text(text.to_owned()))
            }
            4 => {
                let len = self.length(arg)?;
                let mut items = Vec::with_capacity(len.min(self.limits.max_items));
                for _ in 0..len {
                    items.push(self.item(next)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let len = self.length(arg)?;
                let mut entries = Vec::with_capacity(len.min(self.limits.max_items));
                for _ in 0..len {
                    let key = self.item(next)?;
                    let value = self.item(next)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            6 => Ok(Value::Tag(arg, Box::new(self.item(next)?))),
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                _ => Err(CborError::Unsupported),
            },
        }
    }
}

#[doc(hidden)]
/// Fuzzing entry point: parses arbitrary bytes as a COSE_Key.
///
/// # Panics
/// Only if an invariant checked here is broken (that is what the fuzzer looks for).
pub fn fuzz_cose_key(data: &[u8]) {
    if let Ok(key) = CoseKey::from_cbor(data) {
        assert_eq!(key.as_cbor(), data, "a parsed key keeps its bytes");
        let again = CoseKey::from_cbor(key.as_cbor());
        assert_eq!(again.as_ref(), Ok(&key), "parsing is deterministic");
        let _ = key.algorithm().id();
    }
    if let Ok((key, used)) = CoseKey::parse_prefix(data) {
        assert_eq!(data.get(..used), Some(key.as_cbor()));
    }
}
