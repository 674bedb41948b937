//! Random secrets a person types once or a client stores (temporary access passes, app
//! passwords, remembered-device tokens): generated from the caller's RNG, stored only as a salted
//! SHA-256, compared in constant time.
//!
//! A fast hash is enough here because every secret carries at least 64 random bits (NIST SP
//! 800-63B-4 §3.1.2 asks for a key-derivation function only for secrets a person chose or short
//! codes); the per-record salt keeps equal secrets from sharing a hash.

use mfa_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Crockford's base32 alphabet, upper case: no I, L, O or U to misread.
pub(crate) const CROCKFORD_UPPER: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The same alphabet in lower case, for app passwords typed into mail clients.
pub(crate) const CROCKFORD_LOWER: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Longest secret text accepted for checking (anything longer is refused unread).
pub(crate) const MAX_TYPED_LEN: usize = 256;

/// `chars` random symbols of `alphabet` (5 bits each), grouped by `group` with `separator`.
pub(crate) fn generate_grouped<R: CryptoRng + ?Sized>(
    rng: &mut R,
    alphabet: &[u8; 32],
    chars: usize,
    group: usize,
    separator: char,
) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new(vec![0_u8; chars]);
    rng.fill_bytes(&mut bytes);
    let mut text = Zeroizing::new(String::with_capacity(chars + chars / group.max(1)));
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && group > 0 && index % group == 0 {
            text.push(separator);
        }
        let symbol = alphabet
            .get(usize::from(byte & 0x1f))
            .copied()
            .unwrap_or(b'0');
        text.push(char::from(symbol));
    }
    text
}

/// The symbols of a typed secret, upper-cased, with separators (spaces, dashes) dropped and
/// Crockford's look-alikes (`I`/`L` → `1`, `O` → `0`) mapped; `None` when too long or when a
/// character is outside the alphabet.
pub(crate) fn normalize(typed: &str) -> Option<Zeroizing<String>> {
    if typed.len() > MAX_TYPED_LEN {
        return None;
    }
    let mut out = Zeroizing::new(String::with_capacity(typed.len()));
    for character in typed.chars() {
        let upper = character.to_ascii_uppercase();
        let mapped = match upper {
            ' ' | '-' | '\t' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        };
        let Ok(byte) = u8::try_from(mapped) else {
            return None;
        };
        if !CROCKFORD_UPPER.contains(&byte) {
            return None;
        }
        out.push(mapped);
    }
    Some(out)
}

/// A salted SHA-256 of a normalized secret, as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SecretHash {
    /// Random per record.
    salt: [u8; 16],
    /// SHA-256(domain ‖ salt ‖ normalized secret).
    hash: [u8; 32],
}

impl core::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

impl SecretHash {
    /// Hashes `normalized` (from [`normalize`]) under a fresh salt, separated by `domain`.
    pub(crate) fn new<R: CryptoRng + ?Sized>(rng: &mut R, domain: &str, normalized: &str) -> Self {
        let mut salt = [0_u8; 16];
        rng.fill_bytes(&mut salt);
        Self {
            salt,
            hash: digest(domain, &salt, normalized),
        }
    }

    /// Whether `normalized` hashes to this value, in constant time.
    pub(crate) fn matches(&self, domain: &str, normalized: &str) -> subtle::Choice {
        digest(domain, &self.salt, normalized).ct_eq(&self.hash)
    }
}

fn digest(domain: &str, salt: &[u8; 16], normalized: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(domain.as_bytes());
    hasher.update([0]);
    hasher.update(salt);
    hasher.update(normalized.as_bytes());
    hasher.finalize().into()
}

/// A random record id: 16 bytes, base64url without padding.
pub(crate) fn random_id<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; 16];
    rng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_secrets_normalize_and_match_only_themselves() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let pass = generate_grouped(&mut rng, CROCKFORD_UPPER, 20, 4, '-');
        assert_eq!(pass.len(), 24);
        let normalized = normalize(&pass).expect("own alphabet");
        assert_eq!(normalized.len(), 20);
        let stored = SecretHash::new(&mut rng, "tap", &normalized);
        assert!(bool::from(stored.matches("tap", &normalized)));
        assert!(!bool::from(stored.matches("app_password", &normalized)));
        let lower = normalize(&pass.to_ascii_lowercase().replace('-', " ")).expect("typed");
        assert!(bool::from(stored.matches("tap", &lower)));
        let other = generate_grouped(&mut rng, CROCKFORD_UPPER, 20, 4, '-');
        let other = normalize(&other).expect("own alphabet");
        assert!(!bool::from(stored.matches("tap", &other)));
    }

    #[test]
    fn normalize_refuses_foreign_and_oversized_input() {
        assert!(normalize("ABCD-É").is_none());
        assert!(normalize(&"A".repeat(MAX_TYPED_LEN + 1)).is_none());
        assert_eq!(normalize("il-o0").expect("look-alikes").as_str(), "1100");
    }
}
