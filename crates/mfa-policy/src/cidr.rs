//! [`Cidr`]: an IPv4 or IPv6 network in CIDR notation (RFC 4632 §3.1, RFC 4291 §2.3).

use core::fmt;
use core::str::FromStr;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::PolicyError;

/// An IP network: an address and a prefix length, as in `203.0.113.0/24` or `2001:db8::/32`
/// (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for IPv6).
///
/// A bare address means a single host (`/32` or `/128`). Host bits below the prefix must be zero,
/// so a typo such as `10.0.0.1/8` is refused instead of silently meaning `10.0.0.0/8`.
/// An IPv4-mapped IPv6 client address (`::ffff:192.0.2.1`) is matched as the IPv4 address it maps.
///
/// ```
/// use mfa_policy::Cidr;
///
/// let office: Cidr = "203.0.113.0/24".parse()?;
/// assert!(office.contains("203.0.113.77".parse()?));
/// assert!(!office.contains("198.51.100.1".parse()?));
/// assert!(office.contains("::ffff:203.0.113.5".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// A network from its address and prefix length.
    ///
    /// # Errors
    ///
    /// [`PolicyError::InvalidCidr`] when the prefix is longer than the address (32 or 128 bits)
    /// or host bits below the prefix are set.
    pub fn new(network: IpAddr, prefix_len: u8) -> Result<Self, PolicyError> {
        let invalid = |problem: &'static str| PolicyError::InvalidCidr {
            text: format!("{network}/{prefix_len}"),
            problem,
        };
        let host_bits_clear = match network {
            IpAddr::V4(v4) => {
                if prefix_len > 32 {
                    return Err(invalid(
                        "the prefix length of an IPv4 network is at most 32",
                    ));
                }
                u32::from(v4) & !mask_v4(prefix_len) == 0
            }
            IpAddr::V6(v6) => {
                if prefix_len > 128 {
                    return Err(invalid(
                        "the prefix length of an IPv6 network is at most 128",
                    ));
                }
                u128::from(v6) & !mask_v6(prefix_len) == 0
            }
        };
        if !host_bits_clear {
            return Err(invalid("bits below the prefix length are set"));
        }
        Ok(Self {
            network,
            prefix_len,
        })
    }

    /// The network address.
    #[must_use]
    pub const fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    #[must_use]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `address` lies in this network. An IPv4-mapped IPv6 address is compared as IPv4.
    #[must_use]
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = mask_v4(self.prefix_len);
                u32::from(address) & mask == u32::from(network)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = mask_v6(self.prefix_len);
                u128::from(address) & mask == u128::from(network)
            }
            _ => false,
        }
    }
}

fn mask_v4(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32_u32.saturating_sub(u32::from(prefix_len)))
        .unwrap_or(0)
}

fn mask_v6(prefix_len: u8) -> u128 {
    u128::MAX
        .checked_shl(128_u32.saturating_sub(u32::from(prefix_len)))
        .unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |problem: &'static str| PolicyError::InvalidCidr {
            text: text.chars().take(64).collect(),
            problem,
        };
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| invalid("not an IPv4 or IPv6 address"))?;
        let full = if network.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => full,
            Some(digits) => {
                if digits.is_empty()
                    || digits.len() > 3
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(invalid("the prefix length is not a decimal number"));
                }
                digits
                    .parse::<u8>()
                    .map_err(|_| invalid("the prefix length is out of range"))?
            }
        };
        Self::new(network, prefix_len)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("203.0.113.0/24", "203.0.113.0", true),
            ("203.0.113.0/24", "203.0.113.255", true),
            ("203.0.113.0/24", "203.0.114.0", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "::1", true),
            ("2001:db8::1/128", "2001:db8::1", true),
            ("198.51.100.0/24", "::ffff:198.51.100.9", true),
        ];
        for (cidr, address, expected) in cases {
            let cidr: Cidr = cidr.parse().unwrap();
            assert_eq!(
                cidr.contains(address.parse().unwrap()),
                *expected,
                "{cidr} {address}"
            );
        }
    }

    #[test]
    fn refuses_malformed_networks() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "2001:db8::/129",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "10.0.0/8",
            "example.com/8",
            "2001:db8::1/64",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"] {
            let cidr: Cidr = text.parse().unwrap();
            assert_eq!(cidr.to_string(), text);
        }
    }
}
