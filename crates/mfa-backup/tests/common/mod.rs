//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use core::convert::Infallible;

use mfa_backup::{Argon2idParams, HashParams, IssuePolicy};
use rand::rngs::StdRng;
use rand::{SeedableRng, TryCryptoRng, TryRng};

/// Argon2id at its minimum cost (8 KiB, one pass): the real algorithm, fast in debug builds.
pub fn cheap_hasher() -> HashParams {
    HashParams::Argon2id(Argon2idParams::new(8, 1, 1).unwrap())
}

/// The default policy with the cheap hasher.
pub fn cheap_policy() -> IssuePolicy {
    IssuePolicy {
        hasher: cheap_hasher(),
        ..IssuePolicy::default()
    }
}

pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// An RNG whose first `prefix.len()` bytes are `prefix` and then repeats `script` forever, so a
/// test can fix the salt and set id separately from the codes. Only for tests.
pub struct ScriptedRng {
    prefix: Vec<u8>,
    script: Vec<u8>,
    position: usize,
}

impl ScriptedRng {
    pub fn new(prefix: Vec<u8>, script: Vec<u8>) -> Self {
        assert!(!script.is_empty());
        Self {
            prefix,
            script,
            position: 0,
        }
    }

    fn next_byte(&mut self) -> u8 {
        let byte = if self.position < self.prefix.len() {
            self.prefix[self.position]
        } else {
            let i = (self.position - self.prefix.len()) % self.script.len();
            self.script[i]
        };
        self.position += 1;
        byte
    }
}

impl TryRng for ScriptedRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            *byte = self.next_byte();
        }
        Ok(())
    }
}

// A test double: predictable by design, so never use it outside tests.
impl TryCryptoRng for ScriptedRng {}
