//! Related Origin Requests ([WebAuthn L3 §5.11]): the `/.well-known/webauthn` document that lets
//! origins outside the RP ID's domain (`https://example.co.uk` for the RP ID `example.com`) use
//! its credentials, and the client's check of it ([§5.11.1]).
//!
//! Serve [`RelatedOriginsDocument::to_json`] at `https://<rp id>/.well-known/webauthn` with
//! `Content-Type: application/json`, and allow each listed origin in the [`RelyingParty`] too
//! ([`RelyingParty::with_origin`]): the document lets a browser *send* the ceremony, the RP's
//! origin list lets the server *accept* it.
//!
//! What the builder checks, so the document works as written:
//! - every origin is `https://host[:port]` (`http://` only for `localhost`), with a domain name
//!   as host (ASCII; write internationalized names in their `xn--` form; no IP address), and no
//!   user info, path, query or fragment (one trailing `/` is ignored). Case is normalized to
//!   lower case and a default port (`:443`) dropped; duplicates are listed once.
//! - origins on the RP ID's own domain or its subdomains are left out: a client accepts them
//!   without the document, and listing them would only spend the label budget.
//! - clients only read origins within their first 5 distinct *registrable origin labels* (the
//!   registrable domain per the Public Suffix List, without its public suffix: `example` for
//!   both `example.com` and `example.co.uk`; `shop` for `shop.github.io`). A sixth label is an
//!   error ([`RelatedOriginsError::TooManyLabels`]) naming the first origin a client would
//!   ignore. An origin whose host has no registrable domain (`localhost`, a public suffix such
//!   as `co.uk`) is one a client always ignores: also an error.
//!
//! The Public Suffix List is compiled in (the [`psl`] crate), as it was when that crate was
//! released; browsers ship their own copy, so a suffix added since may count differently.
//!
//! [`RelyingParty`]: crate::RelyingParty
//! [`RelyingParty::with_origin`]: crate::RelyingParty::with_origin
//! [WebAuthn L3 §5.11]: https://www.w3.org/TR/webauthn-3/#sctn-related-origins
//! [§5.11.1]: https://www.w3.org/TR/webauthn-3/#sctn-validating-relation-origin

use core::fmt;

use psl::Psl as _;
use serde::{Deserialize, Serialize};

use crate::options::RelyingParty;

/// The number of distinct registrable origin labels a client must support
/// ([WebAuthn L3 §5.11]: "at least five"); the builder keeps the document within it.
///
/// [WebAuthn L3 §5.11]: https://www.w3.org/TR/webauthn-3/#sctn-related-origins
pub const MAX_LABELS: usize = 5;

/// The largest document [`RelatedOriginsDocument::from_json`] reads, in bytes.
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;

/// Why a related-origins document cannot be built, or why a client would not accept an origin.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelatedOriginsError {
    /// The RP ID is not a domain name.
    InvalidRpId(String),
    /// An origin is not of the form the document needs (the reason says which rule).
    InvalidOrigin {
        /// The origin as given.
        origin: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The origin's host has no registrable domain (`localhost`, a public suffix), so a client
    /// always skips it.
    NoRegistrableDomain {
        /// The origin as given.
        origin: String,
    },
    /// The origin brings a registrable origin label beyond the first [`MAX_LABELS`]: a client
    /// would ignore it (and every later origin with a new label).
    TooManyLabels {
        /// The first origin a client would ignore.
        origin: String,
        /// Its label.
        label: String,
    },
    /// A document that is not `{"origins": [<strings>]}` within [`MAX_DOCUMENT_LEN`].
    MalformedDocument(&'static str),
    /// The origin is not in the document (or only beyond the label limit, where a client does
    /// not look).
    NotListed {
        /// The origin checked.
        origin: String,
    },
}

impl fmt::Display for RelatedOriginsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRpId(id) => write!(f, "RP ID {id:?} is not a domain name"),
            Self::InvalidOrigin { origin, reason } => {
                write!(f, "origin {origin:?} cannot be listed: {reason}")
            }
            Self::NoRegistrableDomain { origin } => write!(
                f,
                "origin {origin:?} has no registrable domain: clients ignore it"
            ),
            Self::TooManyLabels { origin, label } => write!(
                f,
                "origin {origin:?} brings label {label:?} beyond the {MAX_LABELS} registrable \
                 origin labels clients read: they would ignore it"
            ),
            Self::MalformedDocument(why) => write!(f, "related origins document: {why}"),
            Self::NotListed { origin } => write!(
                f,
                "origin {origin:?} is not among the related origins a client would accept"
            ),
        }
    }
}

impl std::error::Error for RelatedOriginsError {}

/// Builds a [`RelatedOriginsDocument`] for one RP ID from the relying party's origins and any
/// the caller adds. See the [module docs](crate::related_origins) for the rules.
///
/// ```
/// use mfa_webauthn::{RelatedOriginsBuilder, RelyingParty};
///
/// let rp = RelyingParty::new("example.com", "Example", "https://example.com")
///     .with_origin("https://example.co.uk")
///     .with_origin("https://example-shop.de");
/// let document = RelatedOriginsBuilder::from_relying_party(&rp)
///     .origin("https://login.example.fr")
///     .build()?;
/// // https://example.com needs no listing; example.co.uk and example.fr share the label `example`.
/// assert_eq!(
///     document.to_json(),
///     r#"{"origins":["https://example.co.uk","https://example-shop.de","https://login.example.fr"]}"#
/// );
/// document.check_origin("https://example-shop.de")?;
/// # Ok::<(), mfa_webauthn::RelatedOriginsError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RelatedOriginsBuilder {
    rp_id: String,
    origins: Vec<String>,
}

impl RelatedOriginsBuilder {
    /// A builder for the document served at `https://<rp_id>/.well-known/webauthn`.
    pub fn new(rp_id: impl Into<String>) -> Self {
        Self {
            rp_id: rp_id.into(),
            origins: Vec::new(),
        }
    }

    /// A builder for the relying party's primary RP ID, starting from its configured web
    /// origins (`http://`, `https://`); its other origins (`android:apk-key-hash:…`) have no
    /// place in the document and are left out.
    pub fn from_relying_party(rp: &RelyingParty) -> Self {
        let web = rp.origins().iter().filter(|origin| {
            let lower = origin.to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        });
        Self::new(rp.id()).origins(web.cloned())
    }

    /// Adds an origin.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Adds origins.
    pub fn origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Validates and normalizes the origins, leaves out the RP ID's own domain and duplicates,
    /// and checks the label limit, in the order the origins were given.
    ///
    /// # Errors
    /// [`RelatedOriginsError::InvalidRpId`], [`RelatedOriginsError::InvalidOrigin`],
    /// [`RelatedOriginsError::NoRegistrableDomain`], or
    /// [`RelatedOriginsError::TooManyLabels`] naming the first origin a client would ignore.
    pub fn build(&self) -> Result<RelatedOriginsDocument, RelatedOriginsError> {
        let rp_id = self.rp_id.to_ascii_lowercase();
        if check_host(&rp_id).is_err() {
            return Err(RelatedOriginsError::InvalidRpId(self.rp_id.clone()));
        }
        let mut origins: Vec<String> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        for given in &self.origins {
            let origin = WebOrigin::parse_strict(given).map_err(|reason| {
                RelatedOriginsError::InvalidOrigin {
                    origin: given.clone(),
                    reason,
                }
            })?;
            if origin.host == rp_id || origin.host.ends_with(&format!(".{rp_id}")) {
                continue; // the RP ID's own domain: no listing needed
            }
            let serialized = origin.to_string();
            if origins.contains(&serialized) {
                continue;
            }
            let label = registrable_origin_label(&origin.host).ok_or_else(|| {
                RelatedOriginsError::NoRegistrableDomain {
                    origin: given.clone(),
                }
            })?;
            if !labels.iter().any(|seen| *seen == label) {
                if labels.len() >= MAX_LABELS {
                    return Err(RelatedOriginsError::TooManyLabels {
                        origin: given.clone(),
                        label: label.to_owned(),
                    });
                }
                labels.push(label.to_owned());
            }
            origins.push(serialized);
        }
        Ok(RelatedOriginsDocument { origins })
    }
}

/// The `/.well-known/webauthn` document ([WebAuthn L3 §5.11]): `{"origins": [...]}`.
///
/// Made by [`RelatedOriginsBuilder::build`] (serialize it with [`to_json`](Self::to_json) or
/// serde), or read back with [`from_json`](Self::from_json) to check an origin the way a client
/// does ([`check_origin`](Self::check_origin)).
///
/// [WebAuthn L3 §5.11]: https://www.w3.org/TR/webauthn-3/#sctn-related-origins
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedOriginsDocument {
    origins: Vec<String>,
}

impl RelatedOriginsDocument {
    /// The listed origins, in order.
    #[must_use]
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// The document's JSON text, to serve at `https://<rp id>/.well-known/webauthn` as
    /// `application/json`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let origins = self
            .origins
            .iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect();
        let mut document = serde_json::Map::new();
        document.insert("origins".to_owned(), serde_json::Value::Array(origins));
        serde_json::Value::Object(document).to_string()
    }

    /// Reads a document as a client does ([WebAuthn L3 §5.11.1] step 3): a JSON object whose
    /// `origins` member is an array of strings (other members are ignored). The strings are
    /// kept as they are: [`check_origin`](Self::check_origin) skips those that are not
    /// origins, as a client does.
    ///
    /// [WebAuthn L3 §5.11.1]: https://www.w3.org/TR/webauthn-3/#sctn-validating-relation-origin
    ///
    /// # Errors
    /// [`RelatedOriginsError::MalformedDocument`] if the text is longer than
    /// [`MAX_DOCUMENT_LEN`] or not of that shape.
    pub fn from_json(json: &[u8]) -> Result<Self, RelatedOriginsError> {
        if json.len() > MAX_DOCUMENT_LEN {
            return Err(RelatedOriginsError::MalformedDocument("document too long"));
        }
        serde_json::from_slice(json).map_err(|_| {
            RelatedOriginsError::MalformedDocument(
                "not an object with an array of strings `origins`",
            )
        })
    }

    /// Whether a client that reads this document accepts a ceremony from `caller_origin`
    /// ([WebAuthn L3 §5.11.1], with the minimum of [`MAX_LABELS`] labels): the origins are
    /// read in order, those a URL parser would refuse or with no registrable origin label are
    /// skipped, those with a new label beyond the first five are skipped, and the caller is
    /// accepted when an origin read is the same origin (scheme, host, port).
    ///
    /// A client checks the document only for an origin outside the RP ID's domain; this does
    /// not look at the RP ID. Hosts are compared in their ASCII form (a client's URL parser
    /// also maps Unicode hosts to `xn--`; this one skips them).
    ///
    /// [WebAuthn L3 §5.11.1]: https://www.w3.org/TR/webauthn-3/#sctn-validating-relation-origin
    ///
    /// # Errors
    /// [`RelatedOriginsError::InvalidOrigin`] if `caller_origin` is not an origin,
    /// [`RelatedOriginsError::NotListed`] if the client would refuse it.
    pub fn check_origin(&self, caller_origin: &str) -> Result<(), RelatedOriginsError> {
        let caller = WebOrigin::parse_lenient(caller_origin).map_err(|reason| {
            RelatedOriginsError::InvalidOrigin {
                origin: caller_origin.to_owned(),
                reason,
            }
        })?;
        let mut labels: Vec<String> = Vec::new();
        for item in &self.origins {
            let Ok(origin) = WebOrigin::parse_lenient(item) else {
                continue;
            };
            let Some(label) = registrable_origin_label(&origin.host) else {
                continue;
            };
            let seen = labels.iter().any(|known| known == label);
            if labels.len() >= MAX_LABELS && !seen {
                continue;
            }
            if origin == caller {
                return Ok(());
            }
            if !seen {
                labels.push(label.to_owned());
            }
        }
        Err(RelatedOriginsError::NotListed {
            origin: caller_origin.to_owned(),
        })
    }
}

/// The first label of the host's registrable domain ([WebAuthn L3 §5.11] "registrable origin
/// label"), or `None` when the host has no registrable domain. `host` is lower case.
///
/// [WebAuthn L3 §5.11]: https://www.w3.org/TR/webauthn-3/#registrable-origin-label
fn registrable_origin_label(host: &str) -> Option<&str> {
    let domain = psl::List.domain(host.as_bytes())?;
    let start = host.len().checked_sub(domain.as_bytes().len())?;
    let registrable = host.get(start..)?;
    let label = registrable.split('.').next()?;
    (!label.is_empty()).then_some(label)
}

/// A tuple origin with a domain host: scheme, lower-case host, port if not the default.
#[derive(Debug, PartialEq, Eq)]
struct WebOrigin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl fmt::Display for WebOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl WebOrigin {
    /// An origin for the document: `https://host[:port]` or `http://localhost[:port]`, one
    /// trailing `/` allowed, nothing else.
    fn parse_strict(text: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = split_scheme(text)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err("an origin has no path, query or fragment");
        }
        let origin = Self::from_parts(scheme, authority)?;
        match origin.scheme.as_str() {
            "https" => Ok(origin),
            "http" if origin.host == "localhost" => Ok(origin),
            "http" => Err("http is allowed only for localhost"),
            _ => Err("the scheme must be https"),
        }
    }

    /// An origin as a URL parser would read it from a URL: any `scheme://authority`, with
    /// whatever path, query or fragment follows ignored.
    fn parse_lenient(text: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = split_scheme(text)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Self::from_parts(scheme, rest.get(..end).unwrap_or(rest))
    }

    fn from_parts(scheme: String, authority: &str) -> Result<Self, &'static str> {
        if authority.contains('@') {
            return Err("an origin has no user info");
        }
        if authority.starts_with('[') {
            return Err("the host must be a domain name, not an IP address");
        }
        let (host, port) = match authority.rsplit_once(':') {
            None => (authority, None),
            Some((host, port)) => {
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("the port must be a number");
                }
                let port: u16 = port.parse().map_err(|_| "the port must be at most 65535")?;
                (host, Some(port))
            }
        };
        let host = host.to_ascii_lowercase();
        check_host(&host)?;
        let default_port = match scheme.as_str() {
            "https" | "wss" => Some(443),
            "http" | "ws" => Some(80),
            _ => None,
        };
        let port = port.filter(|p| Some(*p) != default_port);
        Ok(Self { scheme, host, port })
    }
}

fn split_scheme(text: &str) -> Result<(String, &str), &'static str> {
    let (scheme, rest) = text.split_once("://").ok_or("not a scheme://host origin")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return Err("not a scheme://host origin");
    }
    Ok((scheme.to_ascii_lowercase(), rest))
}

/// A lower-case ASCII domain name: 1 to 253 characters, labels of 1 to 63 letters, digits and
/// hyphens (not at either end), no trailing dot, and not an IPv4 address.
fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() || host.len() > 253 {
        return Err("the host must be a domain name of 1 to 253 characters");
    }
    for label in host.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err("the host must be an ASCII domain name (xn-- form for Unicode names)");
        }
    }
    if host
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the host must be a domain name, not an IP address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(registrable_origin_label("example.com"), Some("example"));
        assert_eq!(
            registrable_origin_label("www.example.co.uk"),
            Some("example")
        );
        assert_eq!(registrable_origin_label("shop.github.io"), Some("shop"));
        assert_eq!(registrable_origin_label("co.uk"), None);
        assert_eq!(registrable_origin_label("localhost"), None);
    }

    #[test]
    fn strict_origins() {
        let ok = |s: &str| WebOrigin::parse_strict(s).map(|o| o.to_string());
        assert_eq!(
            ok("HTTPS://Example.COM:443/").unwrap(),
            "https://example.com"
        );
        assert_eq!(
            ok("https://a.example:8443").unwrap(),
            "https://a.example:8443"
        );
        assert_eq!(
            ok("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        for bad in [
            "http://example.com",
            "https://example.com/path",
            "https://example.com?q",
            "https://example.com#f",
            "https://user@example.com",
            "https://192.168.0.1",
            "https://[::1]",
            "https://example.com:99999",
            "https://example.com:",
            "https://exa mple.com",
            "https://example.com.",
            "ftp://example.com",
            "example.com",
            "android:apk-key-hash:abc",
        ] {
            assert!(WebOrigin::parse_strict(bad).is_err(), "{bad}");
        }
    }
}
