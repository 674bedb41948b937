//! Base64url without padding ([RFC 4648 §5], as JWS uses it: [RFC 7515 §2]), decoded strictly.
//!
//! Every value this crate reads in base64url is also one it could have written, byte for byte:
//! no `=` padding, no `+` or `/`, no whitespace, and no non-zero trailing bits (so each byte string
//! has exactly one text form, and a device id or token cannot be spelled two ways).
//!
//! [RFC 4648 §5]: https://www.rfc-editor.org/rfc/rfc4648#section-5
//! [RFC 7515 §2]: https://www.rfc-editor.org/rfc/rfc7515#section-2

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes `bytes` as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How many base64url characters encode `len` bytes without padding.
pub(crate) const fn encoded_len(len: usize) -> usize {
    len.saturating_mul(4).div_ceil(3)
}

/// Decodes canonical unpadded base64url of at most `max_len` bytes; `None` if `text` is longer
/// than that (checked before decoding), uses another alphabet or padding, or has non-zero
/// trailing bits.
pub(crate) fn decode(text: &str, max_len: usize) -> Option<Vec<u8>> {
    if text.len() > encoded_len(max_len) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decodes canonical unpadded base64url of exactly `N` bytes.
pub(crate) fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != encoded_len(N) {
        return None;
    }
    let mut out = [0_u8; N];
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(written) if written == N => Some(out),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_forms_only() {
        // RFC 4648 §10 test vectors, URL alphabet, no padding.
        assert_eq!(encode(b"foob"), "Zm9vYg");
        assert_eq!(decode("Zm9vYg", 8).as_deref(), Some(&b"foob"[..]));
        // Padding, the standard alphabet and trailing bits are refused.
        assert_eq!(decode("Zm9vYg==", 8), None);
        assert_eq!(decode("Zm9vYh", 8), None, "non-zero trailing bits");
        assert_eq!(decode("-_8", 8).as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode("+/8", 8), None);
        assert_eq!(decode(" Zm9v", 8), None);
        // Longer than allowed is refused before decoding.
        assert_eq!(decode("Zm9vYg", 3), None);
        assert_eq!(decode_array::<4>("Zm9vYg"), Some(*b"foob"));
        assert_eq!(decode_array::<3>("Zm9vYg"), None);
        assert_eq!(encoded_len(32), 43);
        assert_eq!(encoded_len(64), 86);
        assert_eq!(encoded_len(16), 22);
    }
}
