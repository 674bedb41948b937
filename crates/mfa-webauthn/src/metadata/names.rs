//! Authenticator names for a security-info page ("YubiKey 5 NFC", "iCloud Keychain"), by the
//! AAGUID a credential was registered with ([WebAuthn L3 §6.5.2]).
//!
//! Two sources, neither shipped with this crate (the service downloads, reviews and loads them):
//!
//! - the community passkey-provider list
//!   (<https://github.com/passkeydeveloper/passkey-authenticator-aaguids>, `aaguid.json`, or
//!   `combined_aaguid.json` which adds names from metadata), in the format
//!   `{"<aaguid>": {"name": "…", "icon_dark": "…", "icon_light": "…"}}`, read by
//!   [`ProviderNames::from_json`]: curated, friendly names, including synced passkey providers
//!   that publish no FIDO metadata;
//! - FIDO Metadata Service entries (<https://fidoalliance.org/metadata/>, verified into a
//!   [`Metadata`]): the statement's `description` and `icon`.
//!
//! [`AuthenticatorNames`] asks the provider list first, then the metadata. An all-zero AAGUID
//! ("not disclosed") never has a name.
//!
//! [WebAuthn L3 §6.5.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data

use core::cell::RefCell;
use core::fmt;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::{Aaguid, Metadata};
use crate::credential::StoredCredential;

/// Largest provider file accepted, in bytes (4 MiB: the community list with its embedded icons
/// is about 1 MB, the combined list with metadata names about 2.8 MB).
pub const MAX_PROVIDER_FILE_LEN: usize = 4 << 20;
/// Most providers accepted in one file.
pub const MAX_PROVIDERS: usize = 10_000;
/// Longest provider name accepted, in characters.
pub const MAX_PROVIDER_NAME_CHARS: usize = 128;
/// Longest icon kept, in bytes (a `data:` URL holds the whole image).
pub const MAX_ICON_LEN: usize = 64 * 1024;

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

/// One provider of a [`ProviderNames`] list: its name and icons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProviderEntry {
    /// The provider's name, trimmed.
    pub name: String,
    /// An icon for light backgrounds: a `data:image/…` or `https:` URL of at most
    /// [`MAX_ICON_LEN`] bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_light: Option<String>,
    /// An icon for dark backgrounds, bounded like [`icon_light`](Self::icon_light).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_dark: Option<String>,
}

impl ProviderEntry {
    /// An entry with `name` and icons; an icon that is not a `data:image/` or `https:` URL of at
    /// most [`MAX_ICON_LEN`] bytes is left out.
    #[must_use]
    pub fn new(name: &str, icon_light: Option<&str>, icon_dark: Option<&str>) -> Self {
        Self {
            name: name.trim().to_owned(),
            icon_light: icon_light.and_then(usable_icon).map(str::to_owned),
            icon_dark: icon_dark.and_then(usable_icon).map(str::to_owned),
        }
    }
}

/// Passkey provider names (and icons) by AAGUID, from the community list's JSON format.
///
/// ```
/// use mfa_webauthn::metadata::names::ProviderNames;
///
/// let names = ProviderNames::from_json(
///     r#"{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "Example Vault", "icon_dark": "data:image/svg+xml;base64,AAAA"}}"#,
/// )?;
/// assert_eq!(names.name("0EA242B4-43C4-4A1B-8B17-DD6D0B6BAEC6"), Some("Example Vault"));
/// let entry = names.entry("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6").unwrap();
/// assert_eq!(entry.icon_dark.as_deref(), Some("data:image/svg+xml;base64,AAAA"));
/// assert_eq!(names.name("00000000-0000-0000-0000-000000000000"), None);
/// # Ok::<(), mfa_webauthn::metadata::names::ProviderNamesError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderNames {
    /// Lower-case AAGUID → entry.
    entries: BTreeMap<String, ProviderEntry>,
}

impl ProviderNames {
    /// An empty list.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a list in the community format: a JSON object whose keys are AAGUIDs and whose
    /// values are objects with a string `name` and optional string `icon_light` / `icon_dark`
    /// (other fields are skipped). Icons are decoration: one that is not a `data:image/` or
    /// `https:` URL of at most [`MAX_ICON_LEN`] bytes is left out, and the name kept.
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

    /// Adds (or replaces) one provider, without icons.
    ///
    /// # Errors
    /// [`ProviderNamesError::InvalidAaguid`] (entry 0) or [`ProviderNamesError::InvalidName`];
    /// [`ProviderNamesError::TooManyProviders`] when the list is full.
    pub fn insert(&mut self, aaguid: &str, name: &str) -> Result<(), ProviderNamesError> {
        self.insert_entry(aaguid, ProviderEntry::new(name, None, None))
    }

    /// Adds (or replaces) one provider with its icons (bounded as [`ProviderEntry::new`] does).
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_entry(
        &mut self,
        aaguid: &str,
        entry: ProviderEntry,
    ) -> Result<(), ProviderNamesError> {
        let aaguid =
            normalize_aaguid(aaguid).ok_or(ProviderNamesError::InvalidAaguid { entry: 0 })?;
        let entry = check_entry(&aaguid, entry)?;
        if self.entries.len() >= MAX_PROVIDERS && !self.entries.contains_key(&aaguid) {
            return Err(ProviderNamesError::TooManyProviders);
        }
        self.entries.insert(aaguid, entry);
        Ok(())
    }

    /// The provider's name for an AAGUID (any case), if listed; never for the all-zero AAGUID.
    #[must_use]
    pub fn name(&self, aaguid: &str) -> Option<&str> {
        self.entry(aaguid).map(|entry| entry.name.as_str())
    }

    /// The provider's entry (name and icons) for an AAGUID (any case), if listed; never for the
    /// all-zero AAGUID.
    #[must_use]
    pub fn entry(&self, aaguid: &str) -> Option<&ProviderEntry> {
        let aaguid = normalize_aaguid(aaguid)?;
        if aaguid == UNDISCLOSED {
            return None;
        }
        self.entries.get(&aaguid)
    }

    /// How many providers are listed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Where an [`AuthenticatorName`] came from.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// The caller-loaded provider list ([`ProviderNames`]).
    ProviderList,
    /// The FIDO metadata statement's `description` and `icon`.
    Metadata,
}

/// A display name for an authenticator model, with icons where the source has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthenticatorName<'a> {
    /// The name, e.g. "iCloud Keychain" or "YubiKey 5 Series with NFC".
    pub name: &'a str,
    /// An icon URL for light backgrounds (metadata has one icon, given for both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_light: Option<&'a str>,
    /// An icon URL for dark backgrounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_dark: Option<&'a str>,
    /// Which source named it.
    pub source: NameSource,
}

/// Names for authenticator models from a provider list and/or FIDO metadata: the list first
/// (curated names such as "iCloud Keychain"), else the metadata statement's description.
///
/// ```
/// use mfa_webauthn::metadata::names::{AuthenticatorNames, NameSource, ProviderNames};
///
/// let list = ProviderNames::from_json(
///     r#"{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": {"name": "iCloud Keychain"}}"#,
/// )?;
/// let names = AuthenticatorNames::new().with_provider_list(list);
/// let found = names.name(&"fbfc3007-154e-4ecc-8c0b-6e020557d7bd".parse()?).unwrap();
/// assert_eq!((found.name, found.source), ("iCloud Keychain", NameSource::ProviderList));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct AuthenticatorNames {
    providers: Option<Arc<ProviderNames>>,
    metadata: Option<Arc<Metadata>>,
}

impl AuthenticatorNames {
    /// No sources: every lookup finds nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask `list` first.
    #[must_use]
    pub fn with_provider_list(mut self, list: impl Into<Arc<ProviderNames>>) -> Self {
        self.providers = Some(list.into());
        self
    }

    /// Ask `metadata` when the list does not name the model.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Arc<Metadata>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The name of the model with `aaguid`; never for the all-zero AAGUID.
    #[must_use]
    pub fn name(&self, aaguid: &Aaguid) -> Option<AuthenticatorName<'_>> {
        if aaguid.is_undisclosed() {
            return None;
        }
        let listed = self
            .providers
            .as_deref()
            .and_then(|list| list.entry(&aaguid.to_string()));
        if let Some(entry) = listed {
            return Some(AuthenticatorName {
                name: &entry.name,
                icon_light: entry.icon_light.as_deref(),
                icon_dark: entry.icon_dark.as_deref(),
                source: NameSource::ProviderList,
            });
        }
        let entry = self.metadata.as_deref()?.by_aaguid(aaguid)?;
        let name = entry.description()?.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return None;
        }
        let icon = entry
            .metadata_statement
            .as_ref()
            .and_then(|statement| statement.icon.as_deref())
            .and_then(usable_icon);
        Some(AuthenticatorName {
            name,
            icon_light: icon,
            icon_dark: icon,
            source: NameSource::Metadata,
        })
    }

    /// The name of the model `credential` was registered with (its `aaguid`), if known.
    #[must_use]
    pub fn name_of(&self, credential: &StoredCredential) -> Option<AuthenticatorName<'_>> {
        let aaguid: Aaguid = credential.aaguid.as_deref()?.parse().ok()?;
        self.name(&aaguid)
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/account_provider_names.rs`): reading a provider list
/// never panics, and a list that reads holds at most [`MAX_PROVIDERS`] lower-case AAGUIDs, each
/// with a trimmed, non-empty name of at most [`MAX_PROVIDER_NAME_CHARS`] characters and icons
/// within bounds, that [`ProviderNames::name`] finds in any case, and builds again entry by entry
/// to the same list.
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
    for (aaguid, entry) in &list.entries {
        assert_eq!(
            normalize_aaguid(aaguid).as_ref(),
            Some(aaguid),
            "AAGUID form"
        );
        assert_eq!(
            check_entry(aaguid, entry.clone()).as_ref(),
            Ok(entry),
            "entry form"
        );
        for icon in [&entry.icon_light, &entry.icon_dark].into_iter().flatten() {
            assert_eq!(usable_icon(icon), Some(icon.as_str()), "icon bounds");
        }
        let expected = (aaguid != UNDISCLOSED).then_some(entry.name.as_str());
        assert_eq!(list.name(&aaguid.to_ascii_uppercase()), expected, "lookup");
        assert_eq!(
            rebuilt.insert_entry(aaguid, entry.clone()),
            Ok(()),
            "rebuild"
        );
    }
    assert_eq!(rebuilt, list, "rebuilt list");
}

/// The AAGUID in lower case, if `text` is one (8-4-4-4-12 hexadecimal digits).
fn normalize_aaguid(text: &str) -> Option<String> {
    text.parse::<Aaguid>().ok().map(|aaguid| aaguid.to_string())
}

/// The entry with its name trimmed and checked and its icons bounded.
fn check_entry(aaguid: &str, entry: ProviderEntry) -> Result<ProviderEntry, ProviderNamesError> {
    let name = entry.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_PROVIDER_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ProviderNamesError::InvalidName {
            aaguid: aaguid.to_owned(),
        });
    }
    Ok(ProviderEntry::new(
        name,
        entry.icon_light.as_deref(),
        entry.icon_dark.as_deref(),
    ))
}

/// `icon` if it is a `data:image/` or `https:` URL of at most [`MAX_ICON_LEN`] bytes without
/// whitespace or control characters.
fn usable_icon(icon: &str) -> Option<&str> {
    let scheme_ok = icon
        .get(..11)
        .is_some_and(|start| start.eq_ignore_ascii_case("data:image/"))
        || icon
            .get(..8)
            .is_some_and(|start| start.eq_ignore_ascii_case("https://"));
    (scheme_ok
        && icon.len() <= MAX_ICON_LEN
        && !icon.chars().any(|c| c.is_control() || c.is_whitespace()))
    .then_some(icon)
}

/// One provider's entry: the name and icons; everything else skipped.
#[derive(serde::Deserialize)]
struct RawEntry {
    name: String,
    #[serde(default)]
    icon_light: Option<String>,
    #[serde(default)]
    icon_dark: Option<String>,
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
        let mut entries = BTreeMap::new();
        let mut fail = |problem: ProviderNamesError| {
            *self.problem.borrow_mut() = Some(problem);
            de::Error::custom("refused")
        };
        let mut entry_index = 0_usize;
        while let Some(key) = map.next_key::<String>()? {
            if entries.len() >= MAX_PROVIDERS {
                return Err(fail(ProviderNamesError::TooManyProviders));
            }
            let Some(aaguid) = normalize_aaguid(&key) else {
                // Read the value anyway, so a syntax error later in the file is not reported.
                let _: IgnoredAny = map.next_value()?;
                return Err(fail(ProviderNamesError::InvalidAaguid {
                    entry: entry_index,
                }));
            };
            let raw: RawEntry = map.next_value()?;
            let entry = ProviderEntry {
                name: raw.name,
                icon_light: raw.icon_light,
                icon_dark: raw.icon_dark,
            };
            let entry = check_entry(&aaguid, entry).map_err(&mut fail)?;
            if entries.contains_key(&aaguid) {
                return Err(fail(ProviderNamesError::Duplicate { aaguid }));
            }
            entries.insert(aaguid, entry);
            entry_index = entry_index.saturating_add(1);
        }
        Ok(ProviderNames { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "Example Vault", "icon_dark": "data:image/svg+xml;base64,AAAA", "icon_light": "data:image/svg+xml;base64,BBBB"},
      "ADCE0002-35BC-C60A-648B-0B25F1F05503": {"name": "  Chrome on Mac  ", "icon_light": "javascript:alert(1)", "icon_dark": "https://example.com/dark.png"}
    }"#;

    #[test]
    fn reads_names_and_bounded_icons() {
        let names = ProviderNames::from_json(EXAMPLE).unwrap();
        assert_eq!(names.len(), 2);
        let vault = names.entry("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6").unwrap();
        assert_eq!(vault.name, "Example Vault");
        assert_eq!(
            vault.icon_dark.as_deref(),
            Some("data:image/svg+xml;base64,AAAA")
        );
        assert_eq!(
            vault.icon_light.as_deref(),
            Some("data:image/svg+xml;base64,BBBB")
        );
        let chrome = names.entry("adce0002-35bc-c60a-648b-0b25f1f05503").unwrap();
        assert_eq!(chrome.name, "Chrome on Mac");
        assert_eq!(chrome.icon_light, None, "a javascript: URL is left out");
        assert_eq!(
            chrome.icon_dark.as_deref(),
            Some("https://example.com/dark.png")
        );
        assert_eq!(names.name("not an aaguid"), None);
        assert_eq!(names.name(UNDISCLOSED), None);
    }

    #[test]
    fn oversized_icons_are_left_out_and_the_name_kept() {
        let big = format!("data:image/png;base64,{}", "A".repeat(MAX_ICON_LEN));
        let fits = format!("data:image/png;base64,{}", "A".repeat(MAX_ICON_LEN - 22));
        assert_eq!(fits.len(), MAX_ICON_LEN);
        let text = format!(
            r#"{{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {{"name": "V", "icon_light": "{big}", "icon_dark": "{fits}"}}}}"#
        );
        let names = ProviderNames::from_json(&text).unwrap();
        let entry = names.entry("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6").unwrap();
        assert_eq!(entry.name, "V");
        assert_eq!(entry.icon_light, None);
        assert_eq!(entry.icon_dark.as_deref(), Some(fits.as_str()));
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
            ProviderNames::from_json(
                "{\"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6\": {\"name\": \"A\", \"icon_dark\": 7}}"
            ),
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
            "{{\"{aaguid}\": {{\"name\": \"A\", \"other\": {deep}}}}}"
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
        names
            .insert_entry(
                "0EA242B4-43C4-4A1B-8B17-DD6D0B6BAEC6",
                ProviderEntry::new(
                    " Vault 2 ",
                    Some("https://example.com/v.svg"),
                    Some("ftp://x"),
                ),
            )
            .unwrap();
        assert_eq!(names.len(), 1);
        let entry = names.entry("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6").unwrap();
        assert_eq!(entry.name, "Vault 2");
        assert_eq!(
            entry.icon_light.as_deref(),
            Some("https://example.com/v.svg")
        );
        assert_eq!(entry.icon_dark, None);
    }

    #[test]
    fn fuzz_entry_point_accepts_what_it_reads() {
        fuzz_provider_names(EXAMPLE.as_bytes());
        fuzz_provider_names(b"{\"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6\": {\"name\": \" x \"}}");
        fuzz_provider_names(b"\xff not utf-8");
    }
}
