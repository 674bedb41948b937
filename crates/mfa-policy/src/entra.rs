//! Import of Microsoft Entra conditional access policies, named locations and authentication
//! strengths, as Microsoft Graph (or the Graph PowerShell SDK) exports them, into a [`PolicySet`].
//!
//! The JSON read is the Microsoft Graph v1.0 (and beta) shape of
//! [conditionalAccessPolicy](https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccesspolicy),
//! [namedLocation](https://learn.microsoft.com/en-us/graph/api/resources/namedlocation) and
//! [authenticationStrengthPolicy](https://learn.microsoft.com/en-us/graph/api/resources/authenticationstrengthpolicy),
//! from `GET identity/conditionalAccess/policies`, `…/namedLocations` and
//! `policies/authenticationStrengthPolicies`. What has no meaning in the native model is listed,
//! per policy, in an [`ImportReport`]; nothing is dropped silently. The rule for what cannot be
//! mapped is **fail closed**: an imported policy applies at least wherever Entra would apply it,
//! and is never easier to satisfy (see [`Consequence`]).

use core::fmt;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use mfa_core::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cidr::Cidr;
use crate::context::{Platform, RiskLevel, UserAction};
use crate::error::{Format, PolicyError};
use crate::format::check_json_depth;
use crate::policy::{
    ALL_APPLICATIONS, ClientAppKind, Control, DeviceState, Grant, LocationRef, NamedLocation,
    Operator, Policy, PolicySet, PolicyState, SessionControls, SignInFrequency, UserSet,
};
use crate::strength::{AuthenticationStrength, Combination, FactorRequirement};

/// The largest Entra export accepted, in bytes (8 MiB): large tenants' exports are bigger than
/// the native format's [`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN).
pub const MAX_ENTRA_INPUT_LEN: usize = 8 << 20;

/// The deepest nesting of arrays and objects accepted in an Entra export.
pub const MAX_ENTRA_NESTING: usize = 32;

/// The most items (policies, locations, strengths) one export may hold: far above what Entra
/// allows a tenant, and low enough that compiling the set stays quick.
pub const MAX_ENTRA_ITEMS: usize = 4096;

/// The ids of Entra's three built-in authentication strengths and the built-in strengths of this
/// crate they map to (ids as listed by `GET policies/authenticationStrengthPolicies`).
pub const BUILTIN_STRENGTH_IDS: [(&str, &str); 3] = [
    ("00000000-0000-0000-0000-000000000002", "mfa"),
    ("00000000-0000-0000-0000-000000000003", "passwordless_mfa"),
    (
        "00000000-0000-0000-0000-000000000004",
        "phishing_resistant_mfa",
    ),
];

/// What importing did with something it could not map exactly.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// Not part of the decision (a session feature the caller enforces, a description); the
    /// imported policy decides as Entra would.
    Ignored,
    /// A condition was dropped or widened: the policy applies at least wherever Entra applies it
    /// (and maybe more widely).
    Widened,
    /// Kept as a literal application id (an authentication context, an unknown user action): the
    /// policy applies when a sign-in's `application` is that id.
    Literal,
    /// Mapped to the nearest native notion, which may differ from Entra's at the edges.
    Approximated,
    /// Ways of satisfying the policy (strength combinations, OR alternatives) were dropped: it is
    /// harder to satisfy than in Entra, never easier.
    FewerAlternatives,
    /// The grant cannot be checked here, so the policy was imported as **block** (fail closed).
    Blocked,
}

impl fmt::Display for Consequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ignored => "ignored",
            Self::Widened => "widened",
            Self::Literal => "literal",
            Self::Approximated => "approximated",
            Self::FewerAlternatives => "fewer_alternatives",
            Self::Blocked => "blocked",
        })
    }
}

/// One value the importer could not map exactly, with the reason and what it did instead.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// The Graph field, as a path (`grantControls.termsOfUse`).
    pub field: String,
    /// The value, as compact JSON (at most 160 characters of it).
    pub value: String,
    /// Why it is not mapped.
    pub reason: String,
    /// What the import did instead.
    pub consequence: Consequence,
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {}: {} ({})",
            self.field, self.value, self.reason, self.consequence
        )
    }
}

/// What became of one Entra policy.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyReport {
    /// The Entra id.
    pub id: String,
    /// The native policy's name (the display name, made unique).
    pub name: String,
    /// The native state.
    pub state: PolicyState,
    /// What was not mapped exactly.
    pub unmapped: Vec<Unmapped>,
}

/// What became of one named location or authentication strength.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemReport {
    /// The Entra id.
    pub id: String,
    /// The Entra display name.
    pub display_name: String,
    /// The native name policies refer to, or `None` when the item could not be imported.
    pub name: Option<String>,
    /// What was not mapped exactly.
    pub unmapped: Vec<Unmapped>,
}

/// Everything an import could not map exactly, per policy, location and strength.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// One entry per Entra policy, in input order.
    pub policies: Vec<PolicyReport>,
    /// One entry per named location read.
    pub locations: Vec<ItemReport>,
    /// One entry per authentication strength read (or found inline in a policy).
    pub strengths: Vec<ItemReport>,
}

impl ImportReport {
    /// Whether everything was mapped exactly.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.unmapped_count() == 0
    }

    /// How many values were not mapped exactly, in all.
    #[must_use]
    pub fn unmapped_count(&self) -> usize {
        let policies: usize = self.policies.iter().map(|p| p.unmapped.len()).sum();
        let items: usize = self
            .locations
            .iter()
            .chain(&self.strengths)
            .map(|i| i.unmapped.len())
            .sum();
        policies.saturating_add(items)
    }

    /// The report of the policy with this native name or Entra id.
    #[must_use]
    pub fn policy(&self, name_or_id: &str) -> Option<&PolicyReport> {
        self.policies
            .iter()
            .find(|p| p.name == name_or_id || p.id == name_or_id)
    }
}

/// Imports Entra conditional access policies, resolving named location ids against
/// `named_locations` and custom authentication strength ids against `strengths` (each a Graph
/// export: a `{"value": […]}` collection, a bare array, or one object; UTF-8 with or without a
/// byte order mark, or UTF-16 LE/BE with one).
///
/// The set returned compiles with [`Engine::new`](crate::Engine::new) (the import checks it).
///
/// # Errors
///
/// * [`PolicyError::TooLarge`] over [`MAX_ENTRA_INPUT_LEN`], [`PolicyError::TooDeep`] past
///   [`MAX_ENTRA_NESTING`];
/// * [`PolicyError::Syntax`] for an encoding other than UTF-8 / UTF-16 with a BOM, or text that is
///   not JSON;
/// * [`PolicyError::Invalid`] for JSON of the wrong shape (a field of the wrong type, a network
///   that is not CIDR), naming the item and the Graph field.
pub fn import(
    policies: &[u8],
    named_locations: Option<&[u8]>,
    strengths: Option<&[u8]>,
) -> Result<(PolicySet, ImportReport), PolicyError> {
    let mut importer = Importer::default();
    if let Some(bytes) = named_locations {
        let value = parse(bytes, "named locations")?;
        for item in items(&value, "named locations")? {
            importer.location(item)?;
        }
    }
    if let Some(bytes) = strengths {
        let value = parse(bytes, "authentication strengths")?;
        for item in items(&value, "authentication strengths")? {
            importer.strength(item, None)?;
        }
    }
    let value = parse(policies, "policies")?;
    for item in items(&value, "policies")? {
        importer.policy(item)?;
    }
    let Importer { set, report, .. } = importer;
    crate::Engine::new(set.clone())?;
    Ok((set, report))
}

/// Whether `bytes` look like an Entra conditional access policy export (rather than the native
/// JSON format): decodable JSON whose items carry `conditions`, `grantControls` or
/// `sessionControls`, or an `@odata.context` naming conditional access policies.
#[must_use]
pub fn looks_like_policies(bytes: &[u8]) -> bool {
    let Ok(value) = parse(bytes, "policies") else {
        return false;
    };
    if let Some(context) = value
        .as_object()
        .and_then(|map| map.get("@odata.context"))
        .and_then(Value::as_str)
        && context.contains("conditionalAccess/policies")
    {
        return true;
    }
    items(&value, "policies").is_ok_and(|list| {
        !list.is_empty()
            && list.iter().all(|item| {
                ["conditions", "grantControls", "sessionControls"]
                    .iter()
                    .any(|key| field(item, key).is_some())
            })
    })
}

// ---------------------------------------------------------------------------------------------
// Decoding and parsing.

fn syntax(what: &str, message: impl fmt::Display) -> PolicyError {
    PolicyError::Syntax {
        format: Format::Json,
        line: None,
        column: None,
        message: format!("{what}: {message}"),
    }
}

/// UTF-8 (BOM optional) or UTF-16 LE/BE with a BOM; anything else is refused.
fn decode(bytes: &[u8], what: &str) -> Result<String, PolicyError> {
    if bytes.len() > MAX_ENTRA_INPUT_LEN {
        return Err(PolicyError::TooLarge {
            len: bytes.len(),
            limit: MAX_ENTRA_INPUT_LEN,
        });
    }
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) || bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Err(syntax(
            what,
            "UTF-32 is not supported (save the file as UTF-8 or UTF-16)",
        ));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, what);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, what, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, what, u16::from_be_bytes);
    }
    utf8(bytes, what)
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, PolicyError> {
    if bytes.contains(&0) {
        return Err(syntax(
            what,
            "NUL bytes: UTF-16 or UTF-32 without a byte order mark? (save as UTF-8, or UTF-16 with a BOM)",
        ));
    }
    match core::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => Err(syntax(
            what,
            format_args!(
                "not UTF-8 (invalid byte at offset {}); UTF-16 needs a byte order mark",
                error.valid_up_to()
            ),
        )),
    }
}

fn utf16(bytes: &[u8], what: &str, unit: fn([u8; 2]) -> u16) -> Result<String, PolicyError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(syntax(what, "UTF-16 with an odd number of bytes"));
    }
    let units = bytes.chunks_exact(2).map(|pair| match pair {
        [a, b] => unit([*a, *b]),
        _ => 0,
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    for decoded in char::decode_utf16(units) {
        match decoded {
            Ok('\0') => return Err(syntax(what, "a NUL character in UTF-16 text")),
            Ok(c) => text.push(c),
            Err(_) => return Err(syntax(what, "invalid UTF-16 (an unpaired surrogate)")),
        }
    }
    Ok(text)
}

fn parse(bytes: &[u8], what: &str) -> Result<Value, PolicyError> {
    let text = decode(bytes, what)?;
    check_json_depth(&text, MAX_ENTRA_NESTING)?;
    serde_json::from_str(&text).map_err(|error| {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message.get(..at).unwrap_or(&message).to_owned(),
            None => message,
        };
        PolicyError::Syntax {
            format: Format::Json,
            line: Some(error.line()).filter(|&line| line > 0),
            column: Some(error.column()).filter(|&column| column > 0),
            message: format!("{what}: {message}"),
        }
    })
}

type Object = Map<String, Value>;

/// The items of a collection (`{"value": […]}`), a bare array, or one object.
fn items<'v>(value: &'v Value, what: &str) -> Result<Vec<&'v Object>, PolicyError> {
    let list: Vec<&Value> = match value {
        Value::Array(list) => list.iter().collect(),
        Value::Object(map) => match field(map, "value") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(_) => {
                return Err(invalid(
                    what,
                    "value",
                    "a collection's `value` must be an array",
                ));
            }
            None => vec![value],
        },
        _ => {
            return Err(invalid(
                what,
                "(root)",
                "expected an object, an array of objects, or {\"value\": [...]}",
            ));
        }
    };
    if list.len() > MAX_ENTRA_ITEMS {
        return Err(invalid(
            what,
            "value",
            format!("more than {MAX_ENTRA_ITEMS} items"),
        ));
    }
    list.into_iter()
        .map(|item| {
            item.as_object()
                .ok_or_else(|| invalid(what, "value", "every item must be an object"))
        })
        .collect()
}

/// The display name and id of a named location or strength (`what`): the id defaults to the
/// name, and one of them is needed.
fn name_and_id(item: &Object, what: &str) -> Result<(String, String), PolicyError> {
    let display_name = string(item, "displayName", what, "displayName")?
        .unwrap_or_default()
        .to_owned();
    let id = string(item, "id", &display_name, "id")?
        .unwrap_or(&display_name)
        .to_owned();
    if id.is_empty() {
        return Err(invalid(
            what,
            "id",
            format!("every {what} needs an id or a display name"),
        ));
    }
    Ok((display_name, id))
}

fn invalid(item: &str, field: &'static str, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        item: item.chars().take(120).collect(),
        field,
        problem: problem.into(),
    }
}

/// A member by name, ignoring ASCII case (PowerShell exports use `PascalCase`), also looked for
/// in PowerShell's `AdditionalProperties`; `null` counts as absent.
fn field<'m>(map: &'m Object, name: &str) -> Option<&'m Value> {
    let direct = map
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null());
    direct.or_else(|| {
        map.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("additionalProperties"))
            .and_then(|(_, extra)| extra.as_object())
            .and_then(|extra| {
                extra
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value)
            })
            .filter(|value| !value.is_null())
    })
}

fn wrong_type(item: &str, path: &'static str, expected: &str, found: &Value) -> PolicyError {
    let hint = if found
        .as_str()
        .is_some_and(|s| s.starts_with("Microsoft.Graph."))
    {
        " (a PowerShell type name: export with `ConvertTo-Json -Depth 10`)"
    } else {
        ""
    };
    invalid(
        item,
        path,
        format!("expected {expected}, found {}{hint}", excerpt(found)),
    )
}

fn object<'m>(
    map: &'m Object,
    name: &str,
    item: &str,
    path: &'static str,
) -> Result<Option<&'m Object>, PolicyError> {
    match field(map, name) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(other) => Err(wrong_type(item, path, "an object", other)),
    }
}

fn string<'m>(
    map: &'m Object,
    name: &str,
    item: &str,
    path: &'static str,
) -> Result<Option<&'m str>, PolicyError> {
    match field(map, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(wrong_type(item, path, "a string", other)),
    }
}

fn boolean(
    map: &Object,
    name: &str,
    item: &str,
    path: &'static str,
) -> Result<Option<bool>, PolicyError> {
    match field(map, name) {
        None => Ok(None),
        Some(Value::Bool(yes)) => Ok(Some(*yes)),
        Some(other) => Err(wrong_type(item, path, "true or false", other)),
    }
}

/// An array of strings (absent or `null`: empty). A single string is accepted as a list of one,
/// and a comma-separated string is split (flag enumerations such as `riskLevel` may be exported
/// that way).
fn strings(
    map: &Object,
    name: &str,
    item: &str,
    path: &'static str,
) -> Result<Vec<String>, PolicyError> {
    match field(map, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .filter(|value| !value.is_null())
            .map(|value| match value {
                Value::String(text) => Ok(text.trim().to_owned()),
                other => Err(wrong_type(item, path, "an array of strings", other)),
            })
            .collect(),
        Some(Value::String(text)) => Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(other) => Err(wrong_type(item, path, "an array of strings", other)),
    }
}

fn excerpt(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    if text.chars().count() > 160 {
        let mut short: String = text.chars().take(157).collect();
        short.push_str("...");
        short
    } else {
        text
    }
}

/// A value worth reporting: not `null`, `false`, empty, or an object of only such values and
/// annotations.
fn meaningful(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(list) => list.iter().any(meaningful),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| !key.contains('@') && meaningful(value)),
        Value::Bool(true) | Value::Number(_) => true,
    }
}

fn is(text: &str, expected: &str) -> bool {
    text.eq_ignore_ascii_case(expected)
}

// ---------------------------------------------------------------------------------------------
// The importer.

#[derive(Default)]
struct Importer {
    set: PolicySet,
    report: ImportReport,
    /// Entra location id → native location name.
    locations: BTreeMap<String, String>,
    /// Entra strength id → native strength name, or `None` when it has no usable combination.
    strengths: BTreeMap<String, Option<String>>,
    policy_names: BTreeSet<String>,
}

/// Collects what one item does not map.
struct Notes(Vec<Unmapped>);

impl Notes {
    fn add(
        &mut self,
        field: impl Into<String>,
        value: &Value,
        reason: impl Into<String>,
        consequence: Consequence,
    ) {
        self.0.push(Unmapped {
            field: field.into(),
            value: excerpt(value),
            reason: reason.into(),
            consequence,
        });
    }

    /// Reports members of `map` outside `known` that carry a value.
    fn unknown(&mut self, map: &Object, prefix: &str, known: &[&str], consequence: Consequence) {
        for (key, value) in map {
            if key.contains('@')
                || is(key, "additionalProperties")
                || known.iter().any(|k| is(key, k))
                || !meaningful(value)
            {
                continue;
            }
            self.add(
                format!("{prefix}{key}"),
                value,
                "not a field this importer knows; its meaning is not mapped",
                consequence,
            );
        }
    }
}

const POLICY_FIELDS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "state",
    "conditions",
    "grantControls",
    "sessionControls",
    "createdDateTime",
    "modifiedDateTime",
    "deletedDateTime",
    "templateId",
    "comment",
];

const CONDITION_FIELDS: &[&str] = &[
    "users",
    "applications",
    "clientAppTypes",
    "platforms",
    "locations",
    "signInRiskLevels",
    "userRiskLevels",
    "devices",
    "clientApplications",
    "servicePrincipalRiskLevels",
    "insiderRiskLevels",
    "authenticationFlows",
    "deviceStates",
];

/// Conditions the native model has no notion of; dropping them widens the policy.
const UNSUPPORTED_CONDITIONS: &[(&str, &str)] = &[
    (
        "clientApplications",
        "workload identities (service principals) are not sign-in contexts here",
    ),
    (
        "servicePrincipalRiskLevels",
        "service principal risk is not part of the sign-in context",
    ),
    (
        "insiderRiskLevels",
        "insider risk (Purview adaptive protection) is not part of the sign-in context",
    ),
    (
        "authenticationFlows",
        "authentication flows (device code, transfer) are not part of the sign-in context",
    ),
];

impl Importer {
    fn location(&mut self, item: &Object) -> Result<(), PolicyError> {
        let (display_name, id) = name_and_id(item, "named location")?;
        let mut notes = Notes(Vec::new());
        let kind = string(item, "@odata.type", &id, "@odata.type")?.unwrap_or_default();
        let is_ip = kind.ends_with("ipNamedLocation") || field(item, "ipRanges").is_some();
        let is_country =
            kind.ends_with("countryNamedLocation") || field(item, "countriesAndRegions").is_some();
        let native_name = if id == "any" || id == "all_trusted" {
            format!("entra:{id}")
        } else {
            id.clone()
        };
        let mut location = NamedLocation::new(native_name);
        let name = if self.locations.contains_key(&id) {
            notes.add(
                "id",
                &Value::String(id.clone()),
                "a second location with this id; the first is kept",
                Consequence::Ignored,
            );
            None
        } else if is_ip {
            location.trusted = boolean(item, "isTrusted", &id, "isTrusted")?.unwrap_or(false);
            let ranges = match field(item, "ipRanges") {
                None => &[][..],
                Some(Value::Array(list)) => list.as_slice(),
                Some(other) => return Err(wrong_type(&id, "ipRanges", "an array", other)),
            };
            for range in ranges {
                let Some(range) = range.as_object() else {
                    return Err(wrong_type(&id, "ipRanges", "an array of objects", range));
                };
                let Some(text) = string(range, "cidrAddress", &id, "ipRanges.cidrAddress")? else {
                    return Err(invalid(&id, "ipRanges.cidrAddress", "missing"));
                };
                location.cidrs.push(normalized_cidr(text)?);
            }
            notes.unknown(
                item,
                "",
                &[
                    "id",
                    "displayName",
                    "createdDateTime",
                    "modifiedDateTime",
                    "isTrusted",
                    "ipRanges",
                ],
                Consequence::Ignored,
            );
            Some(location)
        } else if is_country {
            location.countries = strings(item, "countriesAndRegions", &id, "countriesAndRegions")?
                .into_iter()
                .map(|code| code.to_ascii_uppercase())
                .collect();
            location.include_unknown_country = boolean(
                item,
                "includeUnknownCountriesAndRegions",
                &id,
                "includeUnknownCountriesAndRegions",
            )?
            .unwrap_or(false);
            if let Some(method) = string(item, "countryLookupMethod", &id, "countryLookupMethod")?
                && !is(method, "clientIpAddress")
            {
                notes.add(
                    "countryLookupMethod",
                    &Value::String(method.to_owned()),
                    "the country comes from the sign-in context (its IP lookup), not from GPS",
                    Consequence::Approximated,
                );
            }
            notes.unknown(
                item,
                "",
                &[
                    "id",
                    "displayName",
                    "createdDateTime",
                    "modifiedDateTime",
                    "countriesAndRegions",
                    "includeUnknownCountriesAndRegions",
                    "countryLookupMethod",
                ],
                Consequence::Ignored,
            );
            Some(location)
        } else {
            notes.add(
                "@odata.type",
                &Value::String(kind.to_owned()),
                "neither an IP ranges nor a countries location; policies naming it treat it as unresolved",
                Consequence::Widened,
            );
            None
        };
        let native = name.map(|location| {
            let name = location.name.clone();
            self.locations.insert(id.clone(), name.clone());
            self.set.locations.push(location);
            name
        });
        self.report.locations.push(ItemReport {
            id,
            display_name,
            name: native,
            unmapped: notes.0,
        });
        Ok(())
    }

    /// Imports a strength from the strengths file, or found inline in a policy's grant
    /// (`inline_for` names the policy).
    fn strength(&mut self, item: &Object, inline_for: Option<&str>) -> Result<(), PolicyError> {
        let (display_name, id) = name_and_id(item, "authentication strength")?;
        if self.strengths.contains_key(&id) {
            return Ok(());
        }
        let mut notes = Notes(Vec::new());
        if let Some(policy) = inline_for {
            notes.add(
                "id",
                &Value::String(id.clone()),
                format!(
                    "not in the strengths file; read from the combinations inline in policy `{policy}`"
                ),
                Consequence::Approximated,
            );
        }
        if let Some((_, builtin)) = BUILTIN_STRENGTH_IDS.iter().find(|(bid, _)| is(bid, &id)) {
            notes.add(
                "id",
                &Value::String(id.clone()),
                format!("an Entra built-in strength: our built-in `{builtin}` stands for it"),
                Consequence::Approximated,
            );
            self.strengths
                .insert(id.clone(), Some((*builtin).to_owned()));
            self.report.strengths.push(ItemReport {
                id,
                display_name,
                name: Some((*builtin).to_owned()),
                unmapped: notes.0,
            });
            return Ok(());
        }
        let restricted: BTreeSet<String> = match field(item, "combinationConfigurations") {
            Some(Value::Array(list)) => {
                let mut restricted = BTreeSet::new();
                for configuration in list.iter().filter_map(Value::as_object) {
                    for combination in strings(
                        configuration,
                        "appliesToCombinations",
                        &id,
                        "combinationConfigurations.appliesToCombinations",
                    )? {
                        restricted.insert(normalize_combination(&combination));
                    }
                }
                restricted
            }
            _ => BTreeSet::new(),
        };
        let mut combinations: Vec<Combination> = Vec::new();
        for entry in strings(item, "allowedCombinations", &id, "allowedCombinations")? {
            let normalized = normalize_combination(&entry);
            if restricted.contains(&normalized) {
                notes.add(
                    "combinationConfigurations",
                    &Value::String(entry.clone()),
                    "restricted to listed authenticator models (AAGUIDs) or certificate issuers, which evidence here does not show; the combination is dropped",
                    Consequence::FewerAlternatives,
                );
                continue;
            }
            match combination_of(&entry) {
                Ok(mapped) => {
                    for combination in mapped {
                        if !combinations.contains(&combination) {
                            combinations.push(combination);
                        }
                    }
                }
                Err(mode) => notes.add(
                    "allowedCombinations",
                    &Value::String(entry.clone()),
                    format!("`{mode}` has no method here; the combination is dropped"),
                    Consequence::FewerAlternatives,
                ),
            }
        }
        notes.unknown(
            item,
            "",
            &[
                "id",
                "displayName",
                "description",
                "createdDateTime",
                "modifiedDateTime",
                "policyType",
                "requirementsSatisfied",
                "allowedCombinations",
                "combinationConfigurations",
            ],
            Consequence::Ignored,
        );
        let native = if combinations.is_empty() {
            notes.add(
                "allowedCombinations",
                field(item, "allowedCombinations").unwrap_or(&Value::Null),
                "no combination could be mapped; policies requiring this strength are imported as block",
                Consequence::Blocked,
            );
            None
        } else {
            let taken = |name: &str| {
                crate::BUILTIN_STRENGTHS.contains(&name)
                    || self.set.strengths.iter().any(|s| s.name == name)
            };
            let name = if !display_name.is_empty() && !taken(&display_name) {
                display_name.clone()
            } else if !taken(&id) {
                id.clone()
            } else {
                format!("entra:{id}")
            };
            self.set
                .strengths
                .push(AuthenticationStrength::new(name.clone(), combinations));
            Some(name)
        };
        self.strengths.insert(id.clone(), native.clone());
        self.report.strengths.push(ItemReport {
            id,
            display_name,
            name: native,
            unmapped: notes.0,
        });
        Ok(())
    }

    fn policy(&mut self, item: &Object) -> Result<(), PolicyError> {
        let display_name = string(item, "displayName", "policy", "displayName")?
            .unwrap_or_default()
            .to_owned();
        let id = string(item, "id", &display_name, "id")?
            .unwrap_or_default()
            .to_owned();
        let base = if display_name.is_empty() {
            id.clone()
        } else {
            display_name.clone()
        };
        let base = if base.is_empty() {
            "unnamed policy".to_owned()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 1_u32;
        while self.policy_names.contains(&name) {
            n = n.saturating_add(1);
            name = if id.is_empty() {
                format!("{base} ({n})")
            } else {
                format!("{base} ({id})")
            };
            if n > 2 {
                name = format!("{base} ({id} {n})");
            }
        }
        self.policy_names.insert(name.clone());
        let label = name.clone();
        let mut notes = Notes(Vec::new());
        let mut policy = Policy::new(name.clone());

        policy.state = match string(item, "state", &label, "state")? {
            Some(s) if is(s, "enabled") => PolicyState::On,
            Some(s) if is(s, "disabled") => PolicyState::Off,
            Some(s) if is(s, "enabledForReportingButNotEnforced") => PolicyState::ReportOnly,
            other => {
                notes.add(
                    "state",
                    &other.map_or(Value::Null, |s| Value::String(s.to_owned())),
                    "not enabled, disabled or enabledForReportingButNotEnforced; imported as report-only",
                    Consequence::Approximated,
                );
                PolicyState::ReportOnly
            }
        };
        notes.unknown(item, "", POLICY_FIELDS, Consequence::Ignored);

        match object(item, "conditions", &label, "conditions")? {
            Some(conditions) => self.conditions(conditions, &label, &mut policy, &mut notes)?,
            None => notes.add(
                "conditions",
                &Value::Null,
                "missing: the policy applies to everyone and everything",
                Consequence::Widened,
            ),
        }
        if let Some(grant) = object(item, "grantControls", &label, "grantControls")? {
            self.grant(grant, &label, &mut policy, &mut notes)?;
        }
        if let Some(session) = object(item, "sessionControls", &label, "sessionControls")? {
            session_controls(session, &label, &mut policy, &mut notes)?;
        }
        self.report.policies.push(PolicyReport {
            id,
            name,
            state: policy.state,
            unmapped: notes.0,
        });
        self.set.policies.push(policy);
        Ok(())
    }

    fn conditions(
        &self,
        conditions: &Object,
        label: &str,
        policy: &mut Policy,
        notes: &mut Notes,
    ) -> Result<(), PolicyError> {
        notes.unknown(
            conditions,
            "conditions.",
            CONDITION_FIELDS,
            Consequence::Widened,
        );
        let users_given = field(conditions, "users").is_some_and(meaningful);
        for (key, reason) in UNSUPPORTED_CONDITIONS {
            if let Some(value) = field(conditions, key).filter(|v| meaningful(v)) {
                if *key == "clientApplications" && !users_given {
                    // A workload identity policy: no user sign-in is ever in its scope.
                    notes.add(
                        "conditions.clientApplications",
                        value,
                        "a workload identity (service principal) policy applies to no user sign-in; imported for no users",
                        Consequence::Ignored,
                    );
                    policy.assignments.users.include = UserSet::nobody();
                    continue;
                }
                notes.add(
                    format!("conditions.{key}"),
                    value,
                    *reason,
                    Consequence::Widened,
                );
            }
        }
        let assignments = &mut policy.assignments;

        // Users, groups, roles.
        if let Some(users) = object(conditions, "users", label, "conditions.users")? {
            assignments.users.include = user_set(users, true, label, notes)?;
            assignments.users.exclude = user_set(users, false, label, notes)?;
            notes.unknown(
                users,
                "conditions.users.",
                &[
                    "includeUsers",
                    "excludeUsers",
                    "includeGroups",
                    "excludeGroups",
                    "includeRoles",
                    "excludeRoles",
                    "includeGuestsOrExternalUsers",
                    "excludeGuestsOrExternalUsers",
                ],
                Consequence::Widened,
            );
        }

        // Applications and user actions.
        if let Some(apps) = object(conditions, "applications", label, "conditions.applications")? {
            let mut include = Vec::new();
            for app in strings(
                apps,
                "includeApplications",
                label,
                "conditions.applications.includeApplications",
            )? {
                if is(&app, "All") {
                    include.push(ALL_APPLICATIONS.to_owned());
                } else if is(&app, "Office365") || is(&app, "MicrosoftAdminPortals") {
                    notes.add(
                        "conditions.applications.includeApplications",
                        &Value::String(app.clone()),
                        "an application group whose members a sign-in's application id does not show; the policy is imported for all applications",
                        Consequence::Widened,
                    );
                    include.push(ALL_APPLICATIONS.to_owned());
                } else if !is(&app, "None") {
                    include.push(app);
                }
            }
            for action in strings(
                apps,
                "includeUserActions",
                label,
                "conditions.applications.includeUserActions",
            )? {
                if is(&action, "urn:user:registersecurityinfo") {
                    assignments
                        .user_actions
                        .push(UserAction::RegisterSecurityInfo);
                } else {
                    notes.add(
                        "conditions.applications.includeUserActions",
                        &Value::String(action.clone()),
                        "not a user action of the native model; kept as an application id",
                        Consequence::Literal,
                    );
                    include.push(action);
                }
            }
            if !assignments.user_actions.is_empty() && include.is_empty() {
                // A user-action policy targets the action whatever the application.
                include.push(ALL_APPLICATIONS.to_owned());
            }
            for context in strings(
                apps,
                "includeAuthenticationContextClassReferences",
                label,
                "conditions.applications.includeAuthenticationContextClassReferences",
            )? {
                notes.add(
                    "conditions.applications.includeAuthenticationContextClassReferences",
                    &Value::String(context.clone()),
                    "authentication contexts are not part of the sign-in context; kept as an application id `authenticationContext:<id>`",
                    Consequence::Literal,
                );
                include.push(format!("authenticationContext:{context}"));
            }
            assignments.applications.include = include;
            assignments.applications.exclude = strings(
                apps,
                "excludeApplications",
                label,
                "conditions.applications.excludeApplications",
            )?
            .into_iter()
            .filter(|app| !is(app, "None"))
            .collect();
            if let Some(filter) = field(apps, "applicationFilter").filter(|v| meaningful(v)) {
                notes.add(
                    "conditions.applications.applicationFilter",
                    filter,
                    "application filters (custom security attributes) are not supported; dropped",
                    Consequence::Widened,
                );
            }
            notes.unknown(
                apps,
                "conditions.applications.",
                &[
                    "includeApplications",
                    "excludeApplications",
                    "includeUserActions",
                    "includeAuthenticationContextClassReferences",
                    "applicationFilter",
                ],
                Consequence::Widened,
            );
        }

        // Client app types.
        let (client_apps, any_client) = map_terms(
            strings(
                conditions,
                "clientAppTypes",
                label,
                "conditions.clientAppTypes",
            )?,
            "conditions.clientAppTypes",
            notes,
            true,
            |kind| match kind {
                "all" => Term::Any,
                "browser" => Term::Is(ClientAppKind::Browser),
                "mobileappsanddesktopclients" => Term::Is(ClientAppKind::MobileDesktop),
                "exchangeactivesync" | "eassupported" | "easunsupported" | "other" => {
                    Term::Is(ClientAppKind::Legacy)
                }
                _ => Term::Unknown("unknown client app type; dropped"),
            },
        );
        if !any_client {
            assignments.client_apps.include = client_apps;
        }

        // Platforms.
        if let Some(platforms) = object(conditions, "platforms", label, "conditions.platforms")? {
            let (include, any) = platform_list(
                strings(
                    platforms,
                    "includePlatforms",
                    label,
                    "conditions.platforms.includePlatforms",
                )?,
                "conditions.platforms.includePlatforms",
                notes,
            );
            if !any {
                assignments.platforms.include = include;
            }
            let (exclude, all_excluded) = platform_list(
                strings(
                    platforms,
                    "excludePlatforms",
                    label,
                    "conditions.platforms.excludePlatforms",
                )?,
                "conditions.platforms.excludePlatforms",
                notes,
            );
            if all_excluded {
                notes.add(
                    "conditions.platforms.excludePlatforms",
                    &Value::String("all".to_owned()),
                    "excluding every platform is not expressible; only known platforms are excluded",
                    Consequence::Approximated,
                );
                assignments.platforms.exclude = vec![
                    Platform::Windows,
                    Platform::MacOs,
                    Platform::Linux,
                    Platform::IOs,
                    Platform::Android,
                    Platform::Other,
                ];
            } else {
                assignments.platforms.exclude = exclude;
            }
        }

        // Locations.
        if let Some(locations) = object(conditions, "locations", label, "conditions.locations")? {
            let include = strings(
                locations,
                "includeLocations",
                label,
                "conditions.locations.includeLocations",
            )?;
            let mut mapped = Vec::new();
            let mut anywhere = false;
            for id in &include {
                match self.location_ref(id) {
                    Some(LocationRef::Any) => anywhere = true,
                    Some(place) => mapped.push(place),
                    None => {
                        notes.add(
                            "conditions.locations.includeLocations",
                            &Value::String(id.clone()),
                            "unknown named location (give the namedLocations export); the policy is imported for all locations",
                            Consequence::Widened,
                        );
                        anywhere = true;
                    }
                }
            }
            if !anywhere {
                assignments.locations.include = mapped;
            }
            for id in strings(
                locations,
                "excludeLocations",
                label,
                "conditions.locations.excludeLocations",
            )? {
                match self.location_ref(&id) {
                    Some(place) => assignments.locations.exclude.push(place),
                    None => notes.add(
                        "conditions.locations.excludeLocations",
                        &Value::String(id.clone()),
                        "unknown named location (give the namedLocations export); the exclusion is dropped",
                        Consequence::Widened,
                    ),
                }
            }
        }

        // Risk levels.
        assignments.sign_in_risk = risk_levels(
            strings(
                conditions,
                "signInRiskLevels",
                label,
                "conditions.signInRiskLevels",
            )?,
            "conditions.signInRiskLevels",
            notes,
        );
        assignments.user_risk = risk_levels(
            strings(
                conditions,
                "userRiskLevels",
                label,
                "conditions.userRiskLevels",
            )?,
            "conditions.userRiskLevels",
            notes,
        );

        // Devices.
        if let Some(devices) = object(conditions, "devices", label, "conditions.devices")? {
            for (key, include) in [
                ("includeDeviceStates", true),
                ("excludeDeviceStates", false),
            ] {
                let path = if include {
                    "conditions.devices.includeDeviceStates"
                } else {
                    "conditions.devices.excludeDeviceStates"
                };
                for state in strings(devices, key, label, path)? {
                    let mapped = match state.to_ascii_lowercase().as_str() {
                        "all" if include => continue,
                        "compliant" => DeviceState::Compliant,
                        "domainjoined" => DeviceState::Managed,
                        _ => {
                            notes.add(
                                path,
                                &Value::String(state.clone()),
                                "unknown device state; dropped",
                                Consequence::Widened,
                            );
                            continue;
                        }
                    };
                    if include {
                        assignments.devices.include.push(mapped);
                    } else {
                        assignments.devices.exclude.push(mapped);
                    }
                }
            }
            if let Some(filter) = object(
                devices,
                "deviceFilter",
                label,
                "conditions.devices.deviceFilter",
            )? {
                let mode = string(
                    filter,
                    "mode",
                    label,
                    "conditions.devices.deviceFilter.mode",
                )?
                .unwrap_or("include");
                let rule = string(
                    filter,
                    "rule",
                    label,
                    "conditions.devices.deviceFilter.rule",
                )?
                .unwrap_or_default();
                match device_rule(rule) {
                    Some(state) if is(mode, "exclude") => assignments.devices.exclude.push(state),
                    Some(state) if is(mode, "include") => assignments.devices.include.push(state),
                    _ => notes.add(
                        "conditions.devices.deviceFilter",
                        &Value::Object(filter.clone()),
                        "only `device.isCompliant -eq True|False` and `device.trustType -eq \"ServerAD\"` filters are supported; dropped",
                        Consequence::Widened,
                    ),
                }
            }
            notes.unknown(
                devices,
                "conditions.devices.",
                &[
                    "includeDeviceStates",
                    "excludeDeviceStates",
                    "deviceFilter",
                    "includeDevices",
                    "excludeDevices",
                ],
                Consequence::Widened,
            );
            for key in ["includeDevices", "excludeDevices"] {
                if let Some(value) = field(devices, key).filter(|v| meaningful(v)) {
                    notes.add(
                        format!("conditions.devices.{key}"),
                        value,
                        "device id lists (deprecated in Graph) are not supported; dropped",
                        Consequence::Widened,
                    );
                }
            }
        }
        Ok(())
    }

    fn location_ref(&self, id: &str) -> Option<LocationRef> {
        if is(id, "All") {
            Some(LocationRef::Any)
        } else if is(id, "AllTrusted") {
            Some(LocationRef::AllTrusted)
        } else {
            self.locations
                .get(id)
                .map(|name| LocationRef::Named(name.clone()))
        }
    }

    fn grant(
        &mut self,
        grant: &Object,
        label: &str,
        policy: &mut Policy,
        notes: &mut Notes,
    ) -> Result<(), PolicyError> {
        let operator = match string(grant, "operator", label, "grantControls.operator")? {
            Some(op) if is(op, "OR") => Operator::Or,
            Some(op) if is(op, "AND") => Operator::And,
            None => Operator::And,
            Some(other) => {
                return Err(invalid(
                    label,
                    "grantControls.operator",
                    format!(
                        "expected AND or OR, found `{}`",
                        excerpt(&Value::from(other))
                    ),
                ));
            }
        };
        let mut block = false;
        let mut strength: Option<String> = None;
        let mut controls: Vec<Control> = Vec::new();
        // Requirements that cannot be checked here: (field, value, reason). Unknown members
        // with a value may be requirements too.
        let mut unknowable: Vec<(String, Value, String)> = grant
            .iter()
            .filter(|(key, value)| {
                !key.contains('@')
                    && !is(key, "additionalProperties")
                    && ![
                        "operator",
                        "builtInControls",
                        "customAuthenticationFactors",
                        "termsOfUse",
                        "authenticationStrength",
                    ]
                    .iter()
                    .any(|known| is(key, known))
                    && meaningful(value)
            })
            .map(|(key, value)| {
                (
                    format!("grantControls.{key}"),
                    value.clone(),
                    "not a grant control this importer knows".to_owned(),
                )
            })
            .collect();
        for control in strings(
            grant,
            "builtInControls",
            label,
            "grantControls.builtInControls",
        )? {
            match control.to_ascii_lowercase().as_str() {
                "block" => block = true,
                "mfa" => {
                    if strength.is_none() {
                        strength = Some("mfa".to_owned());
                    }
                }
                "compliantdevice" => controls.push(Control::CompliantDevice),
                "domainjoineddevice" => controls.push(Control::ManagedDevice),
                "approvedapplication" | "compliantapplication" => unknowable.push((
                    "grantControls.builtInControls".to_owned(),
                    Value::String(control.clone()),
                    "app protection (approved or compliant client app) cannot be checked from a sign-in context".to_owned(),
                )),
                "passwordchange" => unknowable.push((
                    "grantControls.builtInControls".to_owned(),
                    Value::String(control.clone()),
                    "a password change cannot be proven by evidence here".to_owned(),
                )),
                _ => unknowable.push((
                    "grantControls.builtInControls".to_owned(),
                    Value::String(control.clone()),
                    "unknown built-in control".to_owned(),
                )),
            }
        }
        for key in ["termsOfUse", "customAuthenticationFactors"] {
            let path = if key == "termsOfUse" {
                "grantControls.termsOfUse"
            } else {
                "grantControls.customAuthenticationFactors"
            };
            for value in strings(grant, key, label, path)? {
                let reason = if key == "termsOfUse" {
                    "accepting terms of use cannot be checked from a sign-in context"
                } else {
                    "custom controls (third-party factors) cannot be checked here"
                };
                unknowable.push((path.to_owned(), Value::String(value), reason.to_owned()));
            }
        }
        if let Some(required) = object(
            grant,
            "authenticationStrength",
            label,
            "grantControls.authenticationStrength",
        )? {
            let id = string(
                required,
                "id",
                label,
                "grantControls.authenticationStrength.id",
            )?
            .unwrap_or_default()
            .to_owned();
            if !self.strengths.contains_key(&id) {
                let builtin = BUILTIN_STRENGTH_IDS.iter().any(|(bid, _)| is(bid, &id));
                if !builtin && field(required, "allowedCombinations").is_some() {
                    self.strength(required, Some(label))?;
                }
            }
            let resolved = BUILTIN_STRENGTH_IDS
                .iter()
                .find(|(bid, _)| is(bid, &id))
                .map(|(_, name)| Some((*name).to_owned()))
                .or_else(|| self.strengths.get(&id).cloned());
            match resolved {
                Some(Some(name)) => {
                    if strength.as_deref() == Some("mfa") {
                        notes.add(
                            "grantControls.builtInControls",
                            &Value::String("mfa".to_owned()),
                            format!(
                                "required beside an authentication strength; the strength `{name}` stands for both"
                            ),
                            Consequence::Approximated,
                        );
                    }
                    strength = Some(name);
                }
                Some(None) => unknowable.push((
                    "grantControls.authenticationStrength".to_owned(),
                    Value::String(id.clone()),
                    "the strength has no combination that maps here".to_owned(),
                )),
                None => unknowable.push((
                    "grantControls.authenticationStrength".to_owned(),
                    Value::String(id.clone()),
                    "unknown authentication strength (give the authenticationStrength export)"
                        .to_owned(),
                )),
            }
        }

        if block {
            for (path, value, reason) in unknowable {
                notes.add(
                    path,
                    &value,
                    format!("{reason}; the policy blocks anyway"),
                    Consequence::Ignored,
                );
            }
            policy.grant = Grant::block();
            return Ok(());
        }
        let checkable = strength.is_some() || !controls.is_empty();
        if !unknowable.is_empty() {
            if operator == Operator::Or && checkable {
                for (path, value, reason) in unknowable {
                    notes.add(
                        path,
                        &value,
                        format!(
                            "{reason}; dropped from the OR: one of the other controls is required"
                        ),
                        Consequence::FewerAlternatives,
                    );
                }
            } else {
                for (path, value, reason) in unknowable {
                    notes.add(
                        path,
                        &value,
                        format!(
                            "{reason}; a required control that cannot be met here: the policy is imported as block (fail closed)"
                        ),
                        Consequence::Blocked,
                    );
                }
                policy.grant = Grant::block();
                return Ok(());
            }
        }
        controls.dedup();
        // With a single requirement the operator means nothing: keep the native default.
        let operator = if usize::from(strength.is_some()).saturating_add(controls.len()) > 1 {
            operator
        } else {
            Operator::And
        };
        policy.grant = Grant {
            block: false,
            authentication_strength: strength,
            controls,
            operator,
        };
        Ok(())
    }
}

fn normalized_cidr(text: &str) -> Result<Cidr, PolicyError> {
    let bad = |problem: &'static str| PolicyError::InvalidCidr {
        text: text.chars().take(64).collect(),
        problem,
    };
    let (address, prefix) = text.trim().split_once('/').ok_or(bad("no `/prefix`"))?;
    let address: IpAddr = address
        .parse()
        .map_err(|_| bad("not an IPv4 or IPv6 address"))?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| bad("the prefix length is not a number up to 128"))?;
    // Graph accepts host bits below the prefix (`12.34.221.11/22`); the network is the same.
    let network = match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX
                    .checked_shl(32_u32.saturating_sub(u32::from(prefix)))
                    .unwrap_or(0)
            };
            IpAddr::from((bits & mask).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX
                    .checked_shl(128_u32.saturating_sub(u32::from(prefix)))
                    .unwrap_or(0)
            };
            IpAddr::from((bits & mask).to_be_bytes())
        }
    };
    Cidr::new(network, prefix)
}

fn user_set(
    users: &Object,
    include: bool,
    label: &str,
    notes: &mut Notes,
) -> Result<UserSet, PolicyError> {
    let (u, g, r, guests_key, path_u, path_g, path_r, path_guests) = if include {
        (
            "includeUsers",
            "includeGroups",
            "includeRoles",
            "includeGuestsOrExternalUsers",
            "conditions.users.includeUsers",
            "conditions.users.includeGroups",
            "conditions.users.includeRoles",
            "conditions.users.includeGuestsOrExternalUsers",
        )
    } else {
        (
            "excludeUsers",
            "excludeGroups",
            "excludeRoles",
            "excludeGuestsOrExternalUsers",
            "conditions.users.excludeUsers",
            "conditions.users.excludeGroups",
            "conditions.users.excludeRoles",
            "conditions.users.excludeGuestsOrExternalUsers",
        )
    };
    let mut set = UserSet::nobody();
    for user in strings(users, u, label, path_u)? {
        if is(&user, "All") {
            set.all = true;
        } else if is(&user, "GuestsOrExternalUsers") {
            set.guests = true;
        } else if !is(&user, "None") {
            set.users.push(user);
        }
    }
    set.groups = strings(users, g, label, path_g)?;
    set.roles = strings(users, r, label, path_r)?;
    if let Some(value) = field(users, guests_key).filter(|v| meaningful(v)) {
        if include {
            notes.add(
                path_guests,
                value,
                "guest and external user types and tenants are not distinguished; every guest is included",
                Consequence::Widened,
            );
            set.guests = true;
        } else {
            notes.add(
                path_guests,
                value,
                "guest and external user types and tenants are not distinguished; the exclusion is dropped",
                Consequence::Widened,
            );
        }
    }
    Ok(set)
}

/// Platforms, and whether `all` was listed.
fn platform_list(
    names: Vec<String>,
    path: &'static str,
    notes: &mut Notes,
) -> (Vec<Platform>, bool) {
    // An unknown platform dropped from an include list would narrow the policy: include all.
    let unknown_means_all = path.ends_with("includePlatforms");
    map_terms(names, path, notes, unknown_means_all, |name| match name {
        "all" => Term::Any,
        "android" => Term::Is(Platform::Android),
        "ios" => Term::Is(Platform::IOs),
        "windows" => Term::Is(Platform::Windows),
        "macos" => Term::Is(Platform::MacOs),
        "linux" => Term::Is(Platform::Linux),
        "windowsphone" => Term::Approximately(
            Platform::Other,
            "Windows Phone is matched as the `other` platform",
        ),
        _ => Term::Unknown("unknown platform; dropped"),
    })
}

fn risk_levels(names: Vec<String>, path: &'static str, notes: &mut Notes) -> Vec<RiskLevel> {
    let (levels, widened) = map_terms(names, path, notes, true, |name| match name {
        "none" => Term::Is(RiskLevel::None),
        "low" => Term::Is(RiskLevel::Low),
        "medium" => Term::Is(RiskLevel::Medium),
        "high" => Term::Is(RiskLevel::High),
        _ => Term::Unknown(
            "not a risk level of the sign-in context (`hidden` is Entra-internal); the condition is dropped",
        ),
    });
    // No levels listed: the condition holds for every level.
    if widened { Vec::new() } else { levels }
}

/// What one value of an Entra enumeration (client app types, platforms, risk levels) means here.
enum Term<T> {
    /// This value.
    Is(T),
    /// The nearest value we have, with why it is not exact (reported as approximated).
    Approximately(T, &'static str),
    /// Every value: the condition does not restrict.
    Any,
    /// Nothing we know, with what happens to it (reported as widened).
    Unknown(&'static str),
}

/// Maps an Entra list of enumeration values (matched in any case), without duplicates. Returns
/// the values and whether the list means "any": an explicit `all`, or an unknown value when
/// `unknown_means_any` (dropping it from an include list would narrow the policy).
fn map_terms<T: PartialEq>(
    names: Vec<String>,
    path: &'static str,
    notes: &mut Notes,
    unknown_means_any: bool,
    map: impl Fn(&str) -> Term<T>,
) -> (Vec<T>, bool) {
    let mut values = Vec::new();
    let mut any = false;
    for name in names {
        let value = match map(name.to_ascii_lowercase().as_str()) {
            Term::Is(value) => value,
            Term::Approximately(value, why) => {
                notes.add(path, &Value::String(name), why, Consequence::Approximated);
                value
            }
            Term::Any => {
                any = true;
                continue;
            }
            Term::Unknown(why) => {
                notes.add(path, &Value::String(name), why, Consequence::Widened);
                any = any || unknown_means_any;
                continue;
            }
        };
        if !values.contains(&value) {
            values.push(value);
        }
    }
    (values, any)
}

/// The device filter rules we support: one clause on compliance or hybrid join.
fn device_rule(rule: &str) -> Option<DeviceState> {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let [property, operator, value] = words.as_slice() else {
        return None;
    };
    if !is(operator, "-eq") {
        return None;
    }
    let value = value.trim_matches('"');
    if is(property, "device.isCompliant") {
        if is(value, "True") {
            Some(DeviceState::Compliant)
        } else if is(value, "False") {
            Some(DeviceState::Noncompliant)
        } else {
            None
        }
    } else if is(property, "device.trustType") && is(value, "ServerAD") {
        Some(DeviceState::Managed)
    } else {
        None
    }
}

fn session_controls(
    session: &Object,
    label: &str,
    policy: &mut Policy,
    notes: &mut Notes,
) -> Result<(), PolicyError> {
    let mut controls = SessionControls::default();
    if let Some(frequency) = object(
        session,
        "signInFrequency",
        label,
        "sessionControls.signInFrequency",
    )? {
        let enabled = boolean(
            frequency,
            "isEnabled",
            label,
            "sessionControls.signInFrequency.isEnabled",
        )?
        .unwrap_or(false);
        if enabled {
            let interval = string(
                frequency,
                "frequencyInterval",
                label,
                "sessionControls.signInFrequency.frequencyInterval",
            )?
            .unwrap_or("timeBased");
            let kind = string(
                frequency,
                "type",
                label,
                "sessionControls.signInFrequency.type",
            )?
            .unwrap_or_default();
            let value = match field(frequency, "value") {
                None => None,
                Some(Value::Number(n)) => n.as_u64(),
                Some(other) => {
                    return Err(wrong_type(
                        label,
                        "sessionControls.signInFrequency.value",
                        "a number",
                        other,
                    ));
                }
            };
            let parsed = if is(interval, "everyTime") {
                Some(SignInFrequency::EveryTime)
            } else {
                let unit = if is(kind, "hours") {
                    "h"
                } else if is(kind, "days") {
                    "d"
                } else {
                    ""
                };
                value.and_then(|v| format!("{v}{unit}").parse::<SignInFrequency>().ok())
            };
            controls.sign_in_frequency = Some(parsed.unwrap_or_else(|| {
                notes.add(
                    "sessionControls.signInFrequency",
                    &Value::Object(frequency.clone()),
                    "not every time, 1–8760 hours or 1–365 days; imported as every time (the strictest)",
                    Consequence::Approximated,
                );
                SignInFrequency::EveryTime
            }));
            if let Some(kind) = string(
                frequency,
                "authenticationType",
                label,
                "sessionControls.signInFrequency.authenticationType",
            )? && !is(kind, "primaryAndSecondaryAuthentication")
            {
                notes.add(
                    "sessionControls.signInFrequency.authenticationType",
                    &Value::String(kind.to_owned()),
                    "the frequency bounds all evidence here, not only the second factor",
                    Consequence::Approximated,
                );
            }
        }
    }
    if let Some(browser) = object(
        session,
        "persistentBrowser",
        label,
        "sessionControls.persistentBrowser",
    )? {
        let enabled = boolean(
            browser,
            "isEnabled",
            label,
            "sessionControls.persistentBrowser.isEnabled",
        )?
        .unwrap_or(false);
        let mode = string(
            browser,
            "mode",
            label,
            "sessionControls.persistentBrowser.mode",
        )?
        .unwrap_or_default();
        if enabled && is(mode, "always") {
            notes.add(
                "sessionControls.persistentBrowser",
                &Value::Object(browser.clone()),
                "a persistent browser session is the caller's cookie policy, not a way to skip a grant; not mapped to remember-device",
                Consequence::Ignored,
            );
        }
        // `never` is the native default: no remembered device satisfies this policy.
    }
    for (key, value) in session {
        if key.contains('@')
            || is(key, "signInFrequency")
            || is(key, "persistentBrowser")
            || is(key, "additionalProperties")
            || !meaningful(value)
        {
            continue;
        }
        let enabled = value
            .as_object()
            .and_then(|inner| field(inner, "isEnabled"))
            .is_none_or(|flag| flag.as_bool() != Some(false));
        if enabled {
            notes.add(
                format!("sessionControls.{key}"),
                value,
                "a session control the caller's application or proxy enforces; not part of the decision",
                Consequence::Ignored,
            );
        }
    }
    policy.session = controls;
    Ok(())
}

fn normalize_combination(text: &str) -> String {
    let mut modes: Vec<String> = text
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty())
        .collect();
    modes.sort();
    modes.join(",")
}

/// The requirements one Entra authentication method mode stands for (alternatives), or `None`.
fn mode_requirements(mode: &str) -> Option<Vec<FactorRequirement>> {
    use FactorRequirement as R;
    let alternatives = match mode.to_ascii_lowercase().as_str() {
        "password" => vec![R::method(Method::Password)],
        "voice" => vec![R::method(Method::Voice)],
        "sms" => vec![R::method(Method::Sms)],
        "email" => vec![R::method(Method::Email)],
        "softwareoath" => vec![R::method(Method::Totp)],
        "hardwareoath" => vec![
            R::method(Method::Hotp),
            R::method(Method::Totp).hardware_backed(),
        ],
        "fido2" => vec![
            R::method(Method::WebAuthn)
                .phishing_resistant()
                .user_verified(),
        ],
        "windowshelloforbusiness" => vec![
            R::method(Method::WebAuthn)
                .phishing_resistant()
                .user_verified()
                .device_bound(),
        ],
        "microsoftauthenticatorpush" => vec![R::method(Method::Push).number_matched()],
        "devicebasedpush" => vec![R::method(Method::Push).number_matched().user_verified()],
        "temporaryaccesspassonetime" | "temporaryaccesspassmultiuse" => {
            vec![R::method(Method::TemporaryAccessPass)]
        }
        _ => return None,
    };
    Some(alternatives)
}

/// The native combinations for one Entra combination (`password,softwareOath`), or the first
/// mode that has no method here.
fn combination_of(entry: &str) -> Result<Vec<Combination>, String> {
    let mut product: Vec<Vec<FactorRequirement>> = vec![Vec::new()];
    for mode in entry.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let alternatives = mode_requirements(mode).ok_or_else(|| mode.to_owned())?;
        product = product
            .into_iter()
            .flat_map(|partial| {
                alternatives.iter().map(move |requirement| {
                    let mut next = partial.clone();
                    next.push(*requirement);
                    next
                })
            })
            .collect();
        if product
            .first()
            .is_some_and(|p| p.len() > crate::MAX_COMBINATION_LEN)
        {
            return Err(mode.to_owned());
        }
    }
    if product.iter().any(Vec::is_empty) {
        return Err(entry.to_owned());
    }
    Ok(product.into_iter().map(Combination::of).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_with_host_bits_are_normalized() {
        assert_eq!(
            normalized_cidr("12.34.221.11/22").unwrap().to_string(),
            "12.34.220.0/22"
        );
        assert_eq!(
            normalized_cidr("2001:0:9d38:90d6:0:0:0:0/63")
                .unwrap()
                .to_string(),
            "2001:0:9d38:90d6::/63"
        );
        assert_eq!(normalized_cidr("0.0.0.0/0").unwrap().prefix_len(), 0);
        assert!(normalized_cidr("10.0.0.0/33").is_err());
        assert!(normalized_cidr("10.0.0.0").is_err());
        assert!(normalized_cidr("10.0.0.0/-1").is_err());
    }

    #[test]
    fn combinations_map_and_expand() {
        let combos = combination_of("password, hardwareOath").unwrap();
        assert_eq!(combos.len(), 2);
        assert_eq!(
            combination_of("x509CertificateMultiFactor"),
            Err("x509CertificateMultiFactor".to_owned())
        );
        assert_eq!(combination_of("fido2").unwrap().len(), 1);
        assert!(combination_of(",").is_err());
    }

    #[test]
    fn device_rules() {
        assert_eq!(
            device_rule("device.isCompliant -eq True"),
            Some(DeviceState::Compliant)
        );
        assert_eq!(
            device_rule("device.trustType -eq \"ServerAD\""),
            Some(DeviceState::Managed)
        );
        assert_eq!(device_rule("device.model -startsWith \"Surface\""), None);
    }

    #[test]
    fn encodings() {
        let text = "{\"value\": []}";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            le.extend(unit.to_le_bytes());
            be.extend(unit.to_be_bytes());
        }
        assert_eq!(decode(&le, "t").unwrap(), text);
        assert_eq!(decode(&be, "t").unwrap(), text);
        assert!(decode(&le[2..], "t").is_err(), "UTF-16 without a BOM");
        assert!(decode(&le[..le.len() - 1], "t").is_err(), "odd length");
        assert!(
            decode(&[0xFF, 0xFE, 0, 0, b'{', 0, 0, 0], "t").is_err(),
            "UTF-32"
        );
        assert!(decode(&[b'{', 0xC3], "t").is_err(), "bad UTF-8");
        assert!(
            decode(&[0xFF, 0xFE, 0x00, 0xD8], "t").is_err(),
            "lone surrogate"
        );
    }
}
