//! What is sent: [`Channel`]s, [`Destination`]s, and the localized [`Message`] text built from
//! [`Templates`].
//!
//! An SMS ends with the origin-bound one-time code line of the WICG
//! [SMS one-time codes](https://wicg.github.io/sms-one-time-codes/#format) format
//! (`@example.com #123456`), when a [WebOTP host](Messages::with_webotp_host) is set: browsers
//! offer the code for autofill on that site only (Safari's `autocomplete="one-time-code"`,
//! Chrome's WebOTP API), which keeps a look-alike site from collecting it that way.

use core::fmt;
use std::borrow::Cow;
use std::collections::BTreeMap;

use mfa_core::Method;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::code::OobCode;
use crate::error::OobError;
use crate::phone::PhoneNumber;

/// How a message travels.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A text message (SMS). A *restricted* authenticator under NIST SP 800-63B-4 §3.1.3.3.
    Sms,
    /// A voice call that reads the code out. Restricted, like SMS.
    Voice,
    /// An e-mail. For notices and recovery links: NIST SP 800-63B-4 §3.1.3.1 does not accept
    /// e-mail as an out-of-band authenticator (it proves possession of no device), so codes go
    /// out by e-mail only behind
    /// [`OobPolicy::danger_allow_email_codes`](crate::OobPolicy::danger_allow_email_codes).
    Email,
}

impl Channel {
    /// The stable `snake_case` name, as serialized.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
            Self::Email => "email",
        }
    }

    /// The authentication method a code on this channel proves.
    #[must_use]
    pub const fn method(self) -> Method {
        match self {
            Self::Sms => Method::Sms,
            Self::Voice => Method::Voice,
            Self::Email => Method::Email,
        }
    }

    /// Whether NIST SP 800-63B-4 accepts a code on this channel as an authenticator at all:
    /// SMS and voice yes, as *restricted* authenticators (§3.1.3.3); e-mail no (§3.1.3.1).
    #[must_use]
    pub const fn acceptable_under_rev4(self) -> bool {
        match self {
            Self::Sms | Self::Voice => true,
            Self::Email => false,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest e-mail address accepted, in bytes (RFC 5321 §4.5.3.1.3: a path of 256 octets
/// including the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// An e-mail address, checked for shape only: `local@domain`, no spaces or control characters,
/// at most [`MAX_EMAIL_LEN`] bytes. Whether it exists is for the mail system to find out.
///
/// `Display` and `Debug` mask it: `a•••@example.com`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks the shape of `address`.
    ///
    /// # Errors
    /// [`OobError::InvalidEmailAddress`] when it is empty, too long, or not `local@domain` with a
    /// dot in the domain.
    pub fn parse(address: &str) -> Result<Self, OobError> {
        let fits = !address.is_empty()
            && address.len() <= MAX_EMAIL_LEN
            && !address.chars().any(|c| c.is_whitespace() || c.is_control());
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Err(OobError::InvalidEmailAddress);
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if !fits || local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(OobError::InvalidEmailAddress);
        }
        Ok(Self(address.to_owned()))
    }

    /// The address itself.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with the local part hidden after its first character: `a•••@example.com`.
    #[must_use]
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = OobError;

    fn try_from(address: String) -> Result<Self, Self::Error> {
        Self::parse(&address)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> Self {
        address.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.masked()).finish()
    }
}

/// Where a message goes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A phone, for SMS and voice.
    Phone(PhoneNumber),
    /// A mailbox.
    Email(EmailAddress),
}

impl Destination {
    /// The destination masked for display and logs.
    #[must_use]
    pub fn masked(&self) -> String {
        match self {
            Self::Phone(number) => number.masked(),
            Self::Email(address) => address.masked(),
        }
    }
}

/// One message to deliver: the channel, the destination, an optional subject (e-mail) and the
/// text.
///
/// The text of a code message holds the code, so it is zeroized on drop and `Debug` leaves it
/// out. A [`Sender`](crate::Sender) reads it with [`body`](Self::body); a provider that fills its
/// own template with the code reads [`code`](Self::code).
#[derive(Clone)]
pub struct Message {
    channel: Channel,
    to: Destination,
    subject: Option<String>,
    body: Zeroizing<String>,
    code: Option<OobCode>,
}

impl Message {
    /// A message that carries no code: a notice ("a phone was added to your account"), a recovery
    /// link. Any channel that fits the destination.
    ///
    /// # Errors
    /// [`OobError::ChannelRefused`] when the channel does not fit the destination (e-mail to a
    /// phone, SMS or voice to a mailbox).
    pub fn notice(
        channel: Channel,
        to: Destination,
        subject: Option<String>,
        body: impl Into<String>,
    ) -> Result<Self, OobError> {
        check_fits(channel, &to)?;
        Ok(Self {
            channel,
            to,
            subject,
            body: Zeroizing::new(body.into()),
            code: None,
        })
    }

    /// How the message travels.
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Where it goes.
    #[must_use]
    pub fn to(&self) -> &Destination {
        &self.to
    }

    /// The subject line (e-mail only).
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The text to deliver: for SMS the message, for voice what the call says, for e-mail the
    /// body. It may hold a code: never log it.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The code the message carries, for providers that fill in their own template with it.
    #[must_use]
    pub fn code(&self) -> Option<&OobCode> {
        self.code.as_ref()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("to", &self.to.masked())
            .field("carries_code", &self.code.is_some())
            .finish_non_exhaustive()
    }
}

/// Refuses a channel that cannot reach the destination.
pub(crate) fn check_fits(channel: Channel, to: &Destination) -> Result<(), OobError> {
    match (channel, to) {
        (Channel::Sms | Channel::Voice, Destination::Phone(_))
        | (Channel::Email, Destination::Email(_)) => Ok(()),
        _ => Err(OobError::ChannelRefused(channel)),
    }
}

/// The text of the code messages in one language, with placeholders:
///
/// | placeholder | becomes |
/// |---|---|
/// | `{service}` | the service name ([`Messages::new`]) |
/// | `{code}` | the code: `123456` |
/// | `{spoken_code}` | the code spaced for a voice to read digit by digit: `1 2 3 4 5 6` |
/// | `{minutes}` | how long the code lives, with the unit: `5 minutes` ([`minute`](Self::minute), [`minutes`](Self::minutes)) |
///
/// [`sms`](Self::sms) and [`email_body`](Self::email_body) must contain `{code}`;
/// [`voice`](Self::voice) must contain `{spoken_code}` at least twice (the code is said twice);
/// any other `{…}` is refused, so a typo shows up when the templates are set, not in a message.
/// The SMS template must not end with its own `@host #code` line: [`Messages`] appends the
/// WebOTP line itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    /// The SMS text.
    pub sms: Cow<'static, str>,
    /// What the voice call says.
    pub voice: Cow<'static, str>,
    /// The subject line of a code e-mail.
    pub email_subject: Cow<'static, str>,
    /// The body of a code e-mail.
    pub email_body: Cow<'static, str>,
    /// `{minutes}` when the lifetime is one minute: `"1 minute"`.
    pub minute: Cow<'static, str>,
    /// `{minutes}` otherwise, with `{n}` for the number: `"{n} minutes"`.
    pub minutes: Cow<'static, str>,
}

impl Templates {
    /// English.
    #[must_use]
    pub const fn english() -> Self {
        Self {
            sms: Cow::Borrowed(
                "{code} is your {service} verification code. It expires in {minutes}. Don't share it with anyone.",
            ),
            voice: Cow::Borrowed(
                "Hello. This is {service}. Your verification code is: {spoken_code}. Again, your code is: {spoken_code}. Goodbye.",
            ),
            email_subject: Cow::Borrowed("Your {service} verification code"),
            email_body: Cow::Borrowed(
                "Your {service} verification code is {code}.\n\nIt expires in {minutes}. If you did not ask for it, ignore this e-mail and do not share the code with anyone.",
            ),
            minute: Cow::Borrowed("1 minute"),
            minutes: Cow::Borrowed("{n} minutes"),
        }
    }

    /// German.
    #[must_use]
    pub const fn german() -> Self {
        Self {
            sms: Cow::Borrowed(
                "{code} ist Ihr Bestätigungscode für {service}. Er ist {minutes} gültig. Geben Sie ihn an niemanden weiter.",
            ),
            voice: Cow::Borrowed(
                "Guten Tag. Hier ist {service}. Ihr Bestätigungscode lautet: {spoken_code}. Ich wiederhole: {spoken_code}. Auf Wiederhören.",
            ),
            email_subject: Cow::Borrowed("Ihr Bestätigungscode für {service}"),
            email_body: Cow::Borrowed(
                "Ihr Bestätigungscode für {service} lautet {code}.\n\nEr ist {minutes} gültig. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese E-Mail und geben Sie den Code an niemanden weiter.",
            ),
            minute: Cow::Borrowed("1 Minute"),
            minutes: Cow::Borrowed("{n} Minuten"),
        }
    }

    /// French.
    #[must_use]
    pub const fn french() -> Self {
        Self {
            sms: Cow::Borrowed(
                "{code} est votre code de vérification {service}. Il expire dans {minutes}. Ne le communiquez à personne.",
            ),
            voice: Cow::Borrowed(
                "Bonjour. Ici {service}. Votre code de vérification est : {spoken_code}. Je répète : {spoken_code}. Au revoir.",
            ),
            email_subject: Cow::Borrowed("Votre code de vérification {service}"),
            email_body: Cow::Borrowed(
                "Votre code de vérification {service} est {code}.\n\nIl expire dans {minutes}. Si vous ne l'avez pas demandé, ignorez cet e-mail et ne communiquez le code à personne.",
            ),
            minute: Cow::Borrowed("1 minute"),
            minutes: Cow::Borrowed("{n} minutes"),
        }
    }

    /// Checks every template's placeholders (see the [type docs](Self)).
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] naming the first problem.
    pub fn validate(&self) -> Result<(), OobError> {
        const MESSAGE: &[&str] = &["service", "code", "spoken_code", "minutes"];
        let fields: [(&str, &[&str], &str, usize); 6] = [
            (&self.sms, MESSAGE, "code", 1),
            (&self.voice, MESSAGE, "spoken_code", 2),
            (&self.email_subject, &["service"], "", 0),
            (&self.email_body, MESSAGE, "code", 1),
            (&self.minute, &[], "", 0),
            (&self.minutes, &["n"], "n", 1),
        ];
        for (template, allowed, required, at_least) in fields {
            let names = placeholders(template)
                .ok_or(OobError::InvalidParameter("a template has an unclosed {"))?;
            if names.iter().any(|name| !allowed.contains(name)) {
                return Err(OobError::InvalidParameter(
                    "a template names an unknown placeholder",
                ));
            }
            if names.iter().filter(|name| **name == required).count() < at_least {
                return Err(OobError::InvalidParameter(
                    "a template lacks a required placeholder ({code} in SMS and e-mail, {spoken_code} twice in voice, {n} in minutes)",
                ));
            }
            if template.len() > MAX_TEMPLATE_LEN {
                return Err(OobError::InvalidParameter(
                    "a template is longer than 1024 bytes",
                ));
            }
        }
        if self
            .sms
            .lines()
            .last()
            .is_some_and(|line| line.starts_with('@'))
        {
            return Err(OobError::InvalidParameter(
                "the SMS template ends with an @ line; the WebOTP line is appended by Messages",
            ));
        }
        Ok(())
    }
}

/// The longest template accepted, in bytes.
const MAX_TEMPLATE_LEN: usize = 1024;

/// The names of the `{…}` placeholders in `template`, or `None` if a `{` is never closed.
fn placeholders(template: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open.saturating_add(1)..)?;
        let close = after.find('}')?;
        names.push(after.get(..close)?);
        rest = after.get(close.saturating_add(1)..)?;
    }
    Some(names)
}

/// Replaces each `{name}` of `template` by `value(name)` (placeholders were validated).
fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(template.len().saturating_add(32)));
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or_default());
        let after = rest.get(open.saturating_add(1)..).unwrap_or_default();
        match after.find('}') {
            Some(close) => {
                let name = after.get(..close).unwrap_or_default();
                match value(name) {
                    Some(filled) => out.push_str(&Zeroizing::new(filled)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = after.get(close.saturating_add(1)..).unwrap_or_default();
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The longest service name, in characters.
pub const MAX_SERVICE_NAME_CHARS: usize = 40;
/// The longest language tag looked up, in bytes (a BCP 47 tag is rarely longer than 35).
const MAX_LANGUAGE_TAG_LEN: usize = 64;

/// Message configuration: the service name, the WebOTP host, and the templates per language.
///
/// Languages are looked up by BCP 47 tag ([RFC 5646](https://www.rfc-editor.org/rfc/rfc5646)):
/// first the whole tag (`pt-br`), then its primary language subtag (`de` for `de-AT`), case and
/// `_`/`-` aside; anything else gets the fallback (English unless
/// [changed](Self::with_fallback)). Built in: English (`en`), German (`de`), French (`fr`).
///
/// ```
/// use mfa_oob::Messages;
///
/// let messages = Messages::new("Example")?.with_webotp_host("example.com")?;
/// assert_eq!(messages.language_for("de-AT"), "de");
/// assert_eq!(messages.language_for("fr_CA"), "fr");
/// assert_eq!(messages.language_for("ja"), "en"); // fallback
/// # Ok::<(), mfa_oob::OobError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Messages {
    service_name: String,
    webotp_host: Option<String>,
    templates: BTreeMap<String, Templates>,
    fallback: String,
}

impl Messages {
    /// Messages in the built-in languages naming the service `service_name` (1 to 40
    /// characters, no control characters), without a WebOTP line.
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] for an empty, too long or multi-line name.
    pub fn new(service_name: &str) -> Result<Self, OobError> {
        let chars = service_name.chars().count();
        if chars == 0
            || chars > MAX_SERVICE_NAME_CHARS
            || service_name.chars().any(char::is_control)
            || service_name.trim() != service_name
        {
            return Err(OobError::InvalidParameter(
                "the service name is 1 to 40 characters, without control characters or surrounding spaces",
            ));
        }
        let templates = BTreeMap::from([
            ("en".to_owned(), Templates::english()),
            ("de".to_owned(), Templates::german()),
            ("fr".to_owned(), Templates::french()),
        ]);
        Ok(Self {
            service_name: service_name.to_owned(),
            webotp_host: None,
            templates,
            fallback: "en".to_owned(),
        })
    }

    /// Ends every SMS with the origin-bound line `@host #code`, so that browsers offer the code
    /// only on `host` (the site's registrable host as users visit it, e.g. `example.com`: no
    /// scheme, port or path).
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] unless `host` is a DNS name of letters, digits and hyphens
    /// in dot-separated labels of 1 to 63 characters (at most 253 in all).
    pub fn with_webotp_host(mut self, host: &str) -> Result<Self, OobError> {
        let labels_ok = host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if host.is_empty() || host.len() > 253 || !labels_ok {
            return Err(OobError::InvalidParameter(
                "the WebOTP host is a DNS name such as example.com (no scheme, port or path)",
            ));
        }
        self.webotp_host = Some(host.to_ascii_lowercase());
        Ok(self)
    }

    /// Adds (or replaces) the templates of `language` (a BCP 47 tag: `es`, `pt-BR` …).
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] when the templates fail [`Templates::validate`] or the tag
    /// is not letters, digits and hyphens.
    pub fn with_templates(
        mut self,
        language: &str,
        templates: Templates,
    ) -> Result<Self, OobError> {
        templates.validate()?;
        let tag = normalize_tag(language).ok_or(OobError::InvalidParameter(
            "a language tag is like en or pt-BR",
        ))?;
        self.templates.insert(tag, templates);
        Ok(self)
    }

    /// Uses `language` (which must have templates) for tags that match no language.
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] when there are no templates for `language`.
    pub fn with_fallback(mut self, language: &str) -> Result<Self, OobError> {
        let tag = normalize_tag(language)
            .filter(|tag| self.templates.contains_key(tag))
            .ok_or(OobError::InvalidParameter(
                "the fallback language has no templates",
            ))?;
        self.fallback = tag;
        Ok(self)
    }

    /// The service name.
    #[must_use]
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The WebOTP host, if set.
    #[must_use]
    pub fn webotp_host(&self) -> Option<&str> {
        self.webotp_host.as_deref()
    }

    /// The language whose templates a message for `tag` uses (see the [type docs](Self)).
    #[must_use]
    pub fn language_for(&self, tag: &str) -> &str {
        self.lookup(tag).0
    }

    fn lookup(&self, tag: &str) -> (&str, &Templates) {
        let candidates = normalize_tag(tag).map(|full| {
            let primary = full.split('-').next().unwrap_or_default().to_owned();
            [full, primary]
        });
        for candidate in candidates.iter().flatten() {
            if let Some((language, templates)) = self.templates.get_key_value(candidate) {
                return (language, templates);
            }
        }
        match self.templates.get_key_value(&self.fallback) {
            Some((language, templates)) => (language, templates),
            // The fallback always has templates (checked when set); English is the last resort.
            None => ("en", &ENGLISH),
        }
    }

    /// Builds the message that carries `code` on `channel` to `to`, in the language of `tag`,
    /// saying the code lives `minutes` minutes.
    pub(crate) fn code_message(
        &self,
        channel: Channel,
        to: Destination,
        tag: &str,
        code: &OobCode,
        minutes: u64,
    ) -> Result<Message, OobError> {
        check_fits(channel, &to)?;
        let (_, templates) = self.lookup(tag);
        let minutes_text = if minutes == 1 {
            templates.minute.to_string()
        } else {
            fill(&templates.minutes, |name| {
                (name == "n").then(|| minutes.to_string())
            })
            .to_string()
        };
        let value = |name: &str| match name {
            "service" => Some(self.service_name.clone()),
            "code" => Some(code.expose_secret().to_owned()),
            "spoken_code" => Some(code.spoken().to_string()),
            "minutes" => Some(minutes_text.clone()),
            _ => None,
        };
        let (subject, body) = match channel {
            Channel::Sms => {
                let mut body = fill(&templates.sms, value);
                if let Some(host) = &self.webotp_host {
                    // The origin-bound line is the message's last line.
                    body.push_str("\n\n@");
                    body.push_str(host);
                    body.push_str(" #");
                    body.push_str(code.expose_secret());
                }
                (None, body)
            }
            Channel::Voice => (None, fill(&templates.voice, value)),
            Channel::Email => (
                Some(fill(&templates.email_subject, value).to_string()),
                fill(&templates.email_body, value),
            ),
        };
        Ok(Message {
            channel,
            to,
            subject,
            body,
            code: Some(code.clone()),
        })
    }
}

static ENGLISH: Templates = Templates::english();

/// A BCP 47 tag lowercased with `_` read as `-`, or `None` if it is not letters, digits and
/// hyphens (or is too long).
fn normalize_tag(tag: &str) -> Option<String> {
    let tag = tag.trim();
    let ok = !tag.is_empty()
        && tag.len() <= MAX_LANGUAGE_TAG_LEN
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| tag.to_ascii_lowercase().replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_are_valid() {
        for templates in [
            Templates::english(),
            Templates::german(),
            Templates::french(),
        ] {
            templates.validate().unwrap();
        }
    }

    #[test]
    fn placeholder_scan_and_fill() {
        assert_eq!(placeholders("a {b} c {d}"), Some(vec!["b", "d"]));
        assert_eq!(placeholders("a {b"), None);
        let filled = fill("{x}-{y}-{z}", |name| match name {
            "x" => Some("1".into()),
            "y" => Some("2".into()),
            _ => None,
        });
        assert_eq!(filled.as_str(), "1-2-{z}");
    }

    #[test]
    fn email_addresses_are_shape_checked_and_masked() {
        let address = EmailAddress::parse("alice@example.com").unwrap();
        assert_eq!(address.masked(), "a•••@example.com");
        assert_eq!(format!("{address:?}"), "EmailAddress(\"a•••@example.com\")");
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@example",
            "a b@example.com",
            "alice@.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn webotp_hosts_are_dns_names() {
        let messages = Messages::new("Example").unwrap();
        assert!(
            messages
                .clone()
                .with_webotp_host("login.example.com")
                .is_ok()
        );
        for bad in [
            "",
            "https://example.com",
            "example.com:443",
            "exa mple.com",
            "-a.com",
            "a..com",
        ] {
            assert!(messages.clone().with_webotp_host(bad).is_err(), "{bad:?}");
        }
    }
}
