//! Passkey provider names by AAGUID, read from the JSON format of the community-maintained
//! passkey provider list (`{"<aaguid>": {"name": "…", "icon_dark": "…", "icon_light": "…"}}`).
//!
//! No list ships with this crate: the service downloads one it trusts, reviews it, and loads it
//! with [`ProviderNames::from_json`] (or adds its own entries with [`ProviderNames::insert`]).
//! Icons are skipped; only names are kept. A WebAuthn authenticator reports its AAGUID in the
//! attested credential data ([WebAuthn L3 §6.5.2]); an all-zero AAGUID means "not disclosed" and
//! never names a provider.
//!
//! [WebAuthn L3 §6.5.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data

use core::cell::RefCell;
use core::fmt;
use std::collections::BTreeMap;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

/// Largest provider file accepted, in bytes (1 MiB: the community list with its embedded icons is
/// a few hundred KiB).
pub const MAX_PROVIDER_FILE_LEN: usize = 1 << 20;
/// Most providers accepted in one file.
pub const MAX_PROVIDERS: usize = 10_000;
/// Longest provider name accepted, in characters.
pub const MAX_PROVIDER_NAME_CHARS: usize = 128;

/// The all-zero AAGUID: the authenticator does not disclose its model.
const UNDISCLOSED: &str = "00000000-0000-0000-0000-000000000000";

/// Why a provider list was refused. Nothing is kept from a refused list.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderNamesError {
    /// The input is longer than [`MAX_PROVIDER_FILE_LEN`].
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The input lists more than [`MAX_PROVIDERS`] providers.
    TooManyProviders,
    /// The input is not a JSON object of objects with a string `name` (or nests too deeply).
    Syntax {
        /// Line of the problem (1-based).
        line: usize,
        /// Column of the problem (1-based).
        column: usize,
    },
    /// A key is not an AAGUID (a UUID: 8-4-4-4-12 hexadecimal digits).
    InvalidAaguid {
        /// The position of the entry in the file (0-based).
        entry: usize,
    },
    /// A provider's name is empty, longer than [`MAX_PROVIDER_NAME_CHARS`] or contains control
    /// characters.
    InvalidName {
        /// The AAGUID it is listed under.
        aaguid: String,
    },
    /// An AAGUID is listed twice (compared without regard to case).
    Duplicate {
        /// The AAGUID.
        aaguid: String,
    },
}

impl fmt::Display for ProviderNamesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len } => write!(
                f,
                "the provider list is {len} bytes; at most {MAX_PROVIDER_FILE_LEN} are accepted"
            ),
            Self::TooManyProviders => write!(
                f,
                "the provider list has more than {MAX_PROVIDERS} providers"
            ),
            Self::Syntax { line, column } => write!(
                f,
                "the provider list is not an object of {{\"name\": …}} entries (line {line}, column {column})"
            ),
            Self::InvalidAaguid { entry } => {
                write!(
                    f,
                    "entry {entry} of the provider list is not keyed by an AAGUID"
                )
            }
            Self::InvalidName { aaguid } => write!(
                f,
                "the provider name of {aaguid} is empty, too long or contains control characters"
            ),
            Self::Duplicate { aaguid } => write!(f, "{aaguid} is listed twice"),
        }
    }
}

impl std::error::Error for ProviderNamesError {}

/// Passkey provider names by AAGUID.
///
/// ```
/// use mfa_account::ProviderNames;
///
/// let names = ProviderNames::from_json(
///     r#"{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "Example Vault", "icon_dark": "data:…"}}"#,
/// )?;
/// assert_eq!(names.name("0EA242B4-43C4-4A1B-8B17-DD6D0B6BAEC6"), Some("Example Vault"));
/// assert_eq!(names.name("00000000-0000-0000-0000-000000000000"), None);
/// # Ok::<(), mfa_account::ProviderNamesError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderNames {
    /// Lower-case AAGUID → name.
    names: BTreeMap<String, String>,
}

impl ProviderNames {
    /// An empty list.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a list in the community format: a JSON object whose keys are AAGUIDs and whose
    /// values are objects with a string `name` (other fields, such as the icons, are skipped).
    ///
    /// # Errors
    /// [`ProviderNamesError`]: too large, too many providers, not that shape, a key that is not an
    /// AAGUID, an unusable name, or an AAGUID listed twice.
    pub fn from_json(text: &str) -> Result<Self, ProviderNamesError> {
        if text.len() > MAX_PROVIDER_FILE_LEN {
            return Err(ProviderNamesError::TooLarge { len: text.len() });
        }
        let problem = RefCell::new(None);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = ListSeed { problem: &problem }
            .deserialize(&mut deserializer)
            .and_then(|names| deserializer.end().map(|()| names));
        match (parsed, problem.into_inner()) {
            (_, Some(problem)) => Err(problem),
            (Ok(names), None) => Ok(names),
            (Err(error), None) => Err(ProviderNamesError::Syntax {
                line: error.line(),
                column: error.column(),
            }),
        }
    }

    /// Adds (or replaces) one provider.
    ///
    /// # Errors
    /// [`ProviderNamesError::InvalidAaguid`] (entry 0) or [`ProviderNamesError::InvalidName`];
    /// [`ProviderNamesError::TooManyProviders`] when the list is full.
    pub fn insert(&mut self, aaguid: &str, name: &str) -> Result<(), ProviderNamesError> {
        let aaguid =
            normalize_aaguid(aaguid).ok_or(ProviderNamesError::InvalidAaguid { entry: 0 })?;
        let name = check_name(&aaguid, name)?;
        if self.names.len() >= MAX_PROVIDERS && !self.names.contains_key(&aaguid) {
            return Err(ProviderNamesError::TooManyProviders);
        }
        self.names.insert(aaguid, name);
        Ok(())
    }

    /// The provider's name for an AAGUID (any case), if listed; never for the all-zero AAGUID.
    #[must_use]
    pub fn name(&self, aaguid: &str) -> Option<&str> {
        let aaguid = normalize_aaguid(aaguid)?;
        if aaguid == UNDISCLOSED {
            return None;
        }
        self.names.get(&aaguid).map(String::as_str)
    }

    /// How many providers are listed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether none is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/account_provider_names.rs`): reading a provider list
/// never panics, and a list that reads holds at most [`MAX_PROVIDERS`] lower-case AAGUIDs, each
/// with a trimmed, non-empty name of at most [`MAX_PROVIDER_NAME_CHARS`] characters that
/// [`ProviderNames::name`] finds in any case, and builds again entry by entry to the same list.
#[doc(hidden)]
pub fn fuzz_provider_names(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = ProviderNames::from_json(text) else {
        return;
    };
    assert!(list.len() <= MAX_PROVIDERS, "provider count");
    let mut rebuilt = ProviderNames::new();
    for (aaguid, name) in &list.names {
        assert_eq!(
            normalize_aaguid(aaguid).as_ref(),
            Some(aaguid),
            "AAGUID form"
        );
        assert_eq!(check_name(aaguid, name).as_ref(), Ok(name), "name form");
        let expected = (aaguid != UNDISCLOSED).then_some(name.as_str());
        assert_eq!(list.name(&aaguid.to_ascii_uppercase()), expected, "lookup");
        assert_eq!(rebuilt.insert(aaguid, name), Ok(()), "rebuild");
    }
    assert_eq!(rebuilt, list, "rebuilt list");
}

/// The AAGUID in lower case, if `text` is one (8-4-4-4-12 hexadecimal digits).
fn normalize_aaguid(text: &str) -> Option<String> {
    let well_formed = text.len() == 36
        && text.bytes().enumerate().all(|(index, byte)| {
            if matches!(index, 8 | 13 | 18 | 23) {
                byte == b'-'
            } else {
                byte.is_ascii_hexdigit()
            }
        });
    well_formed.then(|| text.to_ascii_lowercase())
}

fn check_name(aaguid: &str, name: &str) -> Result<String, ProviderNamesError> {
    let trimmed = name.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_PROVIDER_NAME_CHARS
        || trimmed.chars().any(char::is_control)
    {
        return Err(ProviderNamesError::InvalidName {
            aaguid: aaguid.to_owned(),
        });
    }
    Ok(trimmed.to_owned())
}

/// One provider's entry: the name; everything else skipped.
#[derive(serde::Deserialize)]
struct Entry {
    name: String,
}

/// Reads the top-level object, counting and checking entries as they come, and recording the
/// first typed problem in `problem` (serde errors carry only text).
struct ListSeed<'p> {
    problem: &'p RefCell<Option<ProviderNamesError>>,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ProviderNames;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ProviderNames;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of AAGUID → {\"name\": …}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut names = BTreeMap::new();
        let mut fail = |problem: ProviderNamesError| {
            *self.problem.borrow_mut() = Some(problem);
            de::Error::custom("refused")
        };
        let mut entry_index = 0_usize;
        while let Some(key) = map.next_key::<String>()? {
            if names.len() >= MAX_PROVIDERS {
                return Err(fail(ProviderNamesError::TooManyProviders));
            }
            let Some(aaguid) = normalize_aaguid(&key) else {
                // Read the value anyway, so a syntax error later in the file is not reported.
                let _: IgnoredAny = map.next_value()?;
                return Err(fail(ProviderNamesError::InvalidAaguid {
                    entry: entry_index,
                }));
            };
            let entry: Entry = map.next_value()?;
            let name = check_name(&aaguid, &entry.name).map_err(&mut fail)?;
            if names.contains_key(&aaguid) {
                return Err(fail(ProviderNamesError::Duplicate { aaguid }));
            }
            names.insert(aaguid, name);
            entry_index = entry_index.saturating_add(1);
        }
        Ok(ProviderNames { names })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "Example Vault", "icon_dark": "data:image/svg+xml;base64,AAAA", "icon_light": "data:image/svg+xml;base64,BBBB"},
      "ADCE0002-35BC-C60A-648B-0B25F1F05503": {"name": "  Chrome on Mac  "}
    }"#;

    #[test]
    fn reads_names_and_skips_icons() {
        let names = ProviderNames::from_json(EXAMPLE).unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(
            names.name("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6"),
            Some("Example Vault")
        );
        assert_eq!(
            names.name("adce0002-35bc-c60a-648b-0b25f1f05503"),
            Some("Chrome on Mac")
        );
        assert_eq!(names.name("not an aaguid"), None);
        assert_eq!(names.name(UNDISCLOSED), None);
    }

    #[test]
    fn refuses_bad_lists_with_typed_errors() {
        assert!(matches!(
            ProviderNames::from_json("[1, 2]"),
            Err(ProviderNamesError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            ProviderNames::from_json("{\"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6\": {}}"),
            Err(ProviderNamesError::Syntax { .. })
        ));
        assert!(matches!(
            ProviderNames::from_json("{} trailing"),
            Err(ProviderNamesError::Syntax { .. })
        ));
        assert_eq!(
            ProviderNames::from_json(r#"{"x": {"name": "A"}}"#),
            Err(ProviderNamesError::InvalidAaguid { entry: 0 })
        );
        assert_eq!(
            ProviderNames::from_json(
                r#"{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "bad\u0007"}}"#
            ),
            Err(ProviderNamesError::InvalidName {
                aaguid: "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6".into()
            })
        );
        assert_eq!(
            ProviderNames::from_json(
                r#"{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "A"},
                    "0EA242B4-43C4-4A1B-8B17-DD6D0B6BAEC6": {"name": "B"}}"#
            ),
            Err(ProviderNamesError::Duplicate {
                aaguid: "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6".into()
            })
        );
        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_PROVIDER_FILE_LEN));
        assert_eq!(
            ProviderNames::from_json(&huge),
            Err(ProviderNamesError::TooLarge { len: huge.len() })
        );
        // Deeply nested skipped fields are skipped without recursion; nesting where a name is
        // expected is a syntax error. Neither overflows the stack.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let aaguid = "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6";
        let skipped = ProviderNames::from_json(&format!(
            "{{\"{aaguid}\": {{\"name\": \"A\", \"icon_dark\": {deep}}}}}"
        ))
        .unwrap();
        assert_eq!(skipped.name(aaguid), Some("A"));
        assert!(matches!(
            ProviderNames::from_json(&format!("{{\"{aaguid}\": {{\"name\": {deep}}}}}")),
            Err(ProviderNamesError::Syntax { .. })
        ));
    }

    #[test]
    fn refuses_more_than_the_limit() {
        let mut text = String::from("{");
        for index in 0..=MAX_PROVIDERS {
            if index > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                "\"{index:08x}-0000-0000-0000-000000000000\":{{\"name\":\"p\"}}"
            ));
        }
        text.push('}');
        assert!(text.len() <= MAX_PROVIDER_FILE_LEN);
        assert_eq!(
            ProviderNames::from_json(&text),
            Err(ProviderNamesError::TooManyProviders)
        );
    }

    #[test]
    fn insert_checks_like_the_parser() {
        let mut names = ProviderNames::new();
        assert!(names.is_empty());
        names
            .insert("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6", "Vault")
            .unwrap();
        assert_eq!(
            names.insert("0ea242b4", "Vault"),
            Err(ProviderNamesError::InvalidAaguid { entry: 0 })
        );
        assert!(matches!(
            names.insert("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6", ""),
            Err(ProviderNamesError::InvalidName { .. })
        ));
        assert_eq!(names.len(), 1);
    }
}
