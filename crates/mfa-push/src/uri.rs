//! The enrollment URI the sign-in page shows as a QR code for the phone app to scan.

use core::fmt;

use zeroize::{Zeroize as _, Zeroizing};

use crate::context::short_text;
use crate::error::PushError;
use crate::ids::EnrollmentToken;

/// Everything before the parameters.
pub const ENROLLMENT_URI_PREFIX: &str = "mfa-push://enroll?";
/// The longest enrollment URI accepted, in bytes.
pub const MAX_ENROLLMENT_URI_LEN: usize = 2048;
/// The longest issuer name, in characters.
pub const MAX_ISSUER_CHARS: usize = 64;
/// The longest account name, in characters.
pub const MAX_ACCOUNT_CHARS: usize = 128;
/// The longest registration URL, in bytes.
pub const MAX_URL_LEN: usize = 512;

/// An enrollment URI: who is enrolling where, and the one-time token that binds the device to
/// them.
///
/// ```text
/// mfa-push://enroll?v=1&issuer=Example&account=alice%40example.com&token=AQIDBAUGBwgJCgsMDQ4PEA&url=https%3A%2F%2Fexample.com%2Fpush%2Fregister
/// ```
///
/// | parameter | required | value |
/// |---|---|---|
/// | `v` | yes | `1` |
/// | `issuer` | yes | the service's name to show in the app, 1 to 64 characters |
/// | `account` | yes | the account's name to show in the app, 1 to 128 characters |
/// | `token` | yes | the enrollment token: 16 bytes, base64url (22 characters) |
/// | `url` | no | where the app posts its registration message (`https://…`, at most 512 bytes) |
///
/// Values are percent-encoded ([RFC 3986 §2.1]): every byte of their UTF-8 other than the
/// unreserved characters `A–Z a–z 0–9 - . _ ~` is written `%XX` (upper-case hex). The parser is
/// strict: the prefix `mfa-push://enroll?` exactly, each parameter once, no unknown parameter,
/// no character outside the unreserved set and `%XX` escapes (so `+` is refused rather than
/// guessed to be a space), valid UTF-8, at most [`MAX_ENROLLMENT_URI_LEN`] bytes.
///
/// [RFC 3986 §2.1]: https://www.rfc-editor.org/rfc/rfc3986#section-2.1
///
/// It holds a secret (the token): `Debug` does not show it, and [`to_uri`](Self::to_uri) returns
/// text that is wiped when dropped. Show it as a QR code once, to the signed-in user only.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollmentUri {
    issuer: String,
    account: String,
    token: EnrollmentToken,
    url: Option<String>,
}

impl EnrollmentUri {
    /// An enrollment URI.
    ///
    /// # Errors
    /// [`PushError::InvalidRequest`] if a name is empty, too long or has a control character, or
    /// the URL is not `https://` or too long.
    pub fn new(
        issuer: &str,
        account: &str,
        token: EnrollmentToken,
        url: Option<&str>,
    ) -> Result<Self, PushError> {
        check_fields(issuer, account, url).map_err(PushError::InvalidRequest)?;
        Ok(Self {
            issuer: issuer.to_owned(),
            account: account.to_owned(),
            token,
            url: url.map(str::to_owned),
        })
    }

    /// Parses an enrollment URI (what the phone app does with the scanned QR code).
    ///
    /// # Errors
    /// [`PushError::UnsupportedVersion`] if `v` is not `1`; [`PushError::Malformed`] for anything
    /// else the [format](EnrollmentUri) does not allow.
    pub fn parse(text: &str) -> Result<Self, PushError> {
        if text.len() > MAX_ENROLLMENT_URI_LEN {
            return Err(PushError::Malformed("enrollment uri too long"));
        }
        let query = text
            .strip_prefix(ENROLLMENT_URI_PREFIX)
            .ok_or(PushError::Malformed("not an mfa-push://enroll? uri"))?;
        let mut fields: [Option<Zeroizing<String>>; 5] = Default::default();
        for pair in query.split('&') {
            let (name, value) = pair
                .split_once('=')
                .ok_or(PushError::Malformed("enrollment uri parameter without ="))?;
            let slot = PARAMETERS
                .iter()
                .position(|known| *known == name)
                .and_then(|index| fields.get_mut(index))
                .ok_or(PushError::Malformed("unknown enrollment uri parameter"))?;
            if slot.is_some() {
                return Err(PushError::Malformed("repeated enrollment uri parameter"));
            }
            *slot = Some(percent_decode(value)?);
        }
        let [version, issuer, account, token, url] = fields;
        match version.as_deref().map(String::as_str) {
            Some("1") => {}
            Some(_) => return Err(PushError::UnsupportedVersion),
            None => return Err(PushError::Malformed("enrollment uri has no v")),
        }
        let (Some(issuer), Some(account), Some(token)) = (issuer, account, token) else {
            return Err(PushError::Malformed(
                "enrollment uri lacks issuer, account or token",
            ));
        };
        let token = EnrollmentToken::parse(&token)?;
        check_fields(&issuer, &account, url.as_deref().map(String::as_str))
            .map_err(PushError::Malformed)?;
        Ok(Self {
            issuer: issuer.to_string(),
            account: account.to_string(),
            token,
            url: url.map(|url| url.to_string()),
        })
    }

    /// The URI text, to show as a QR code. It contains the token: it is wiped when dropped.
    #[must_use]
    pub fn to_uri(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::from(ENROLLMENT_URI_PREFIX));
        out.push_str("v=1");
        let token = self.token.expose_b64url();
        let values = [
            ("issuer", Some(self.issuer.as_str())),
            ("account", Some(self.account.as_str())),
            ("token", Some(token.as_str())),
            ("url", self.url.as_deref()),
        ];
        for (name, value) in values {
            if let Some(value) = value {
                out.push('&');
                out.push_str(name);
                out.push('=');
                percent_encode(value, &mut out);
            }
        }
        out
    }

    /// The service's name.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The account's name.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The enrollment token (secret).
    #[must_use]
    pub fn token(&self) -> &EnrollmentToken {
        &self.token
    }

    /// Where the app posts its registration message, if the URI says.
    #[must_use]
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

impl fmt::Debug for EnrollmentUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentUri")
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The parameters, in the order they are written.
const PARAMETERS: [&str; 5] = ["v", "issuer", "account", "token", "url"];

fn check_fields(issuer: &str, account: &str, url: Option<&str>) -> Result<(), &'static str> {
    if issuer.is_empty() || !short_text(issuer, MAX_ISSUER_CHARS) {
        return Err("issuer is empty, too long or has a control character");
    }
    if account.is_empty() || !short_text(account, MAX_ACCOUNT_CHARS) {
        return Err("account is empty, too long or has a control character");
    }
    if let Some(url) = url
        && (!url.starts_with("https://")
            || url.len() > MAX_URL_LEN
            || !url.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err("registration url is not a printable https:// url of at most 512 bytes");
    }
    Ok(())
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn percent_encode(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            for nibble in [byte >> 4, byte & 0x0f] {
                out.push(char::from(HEX[usize::from(nibble)]));
            }
        }
    }
}

/// Decodes `%XX` escapes; any other byte must be unreserved. The result is wiped when dropped
/// (the token passes through here).
fn percent_decode(value: &str) -> Result<Zeroizing<String>, PushError> {
    const BAD: PushError = PushError::Malformed("enrollment uri value is not percent-encoded");
    let mut bytes = Zeroizing::new(Vec::with_capacity(value.len()));
    let mut input = value.bytes();
    while let Some(byte) = input.next() {
        if byte == b'%' {
            let high = input.next().and_then(hex_digit).ok_or(BAD)?;
            let low = input.next().and_then(hex_digit).ok_or(BAD)?;
            bytes.push((high << 4) | low);
        } else if is_unreserved(byte) {
            bytes.push(byte);
        } else {
            return Err(BAD);
        }
    }
    match String::from_utf8(core::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(error) => {
            error.into_bytes().zeroize();
            Err(PushError::Malformed("enrollment uri value is not UTF-8"))
        }
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Fuzz entry point for the enrollment URI parser (`fuzz/fuzz_targets/push_enrollment.rs`): never
/// panics, and whatever parses writes back to a URI that parses to the same value.
#[doc(hidden)]
pub fn fuzz_enrollment_uri(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = EnrollmentUri::parse(text) {
        let again = EnrollmentUri::parse(&parsed.to_uri());
        assert_eq!(again.as_ref(), Ok(&parsed), "round trip of a parsed uri");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "AQIDBAUGBwgJCgsMDQ4PEA";

    fn token() -> EnrollmentToken {
        EnrollmentToken::parse(TOKEN).unwrap()
    }

    #[test]
    fn writes_and_reads_the_documented_form() {
        let uri = EnrollmentUri::new(
            "Example",
            "alice@example.com",
            token(),
            Some("https://example.com/push/register"),
        )
        .unwrap();
        let text = uri.to_uri();
        assert_eq!(
            text.as_str(),
            "mfa-push://enroll?v=1&issuer=Example&account=alice%40example.com\
             &token=AQIDBAUGBwgJCgsMDQ4PEA&url=https%3A%2F%2Fexample.com%2Fpush%2Fregister"
        );
        assert_eq!(EnrollmentUri::parse(&text).unwrap(), uri);
        assert!(!format!("{uri:?}").contains(TOKEN));
        // Parameter order does not matter; `url` is optional; UTF-8 names survive.
        let reordered = format!("mfa-push://enroll?token={TOKEN}&account=b%C3%A9a&issuer=Ex&v=1");
        let parsed = EnrollmentUri::parse(&reordered).unwrap();
        assert_eq!((parsed.account(), parsed.url()), ("béa", None));
    }

    #[test]
    fn refuses_what_it_would_not_write() {
        let good = format!("mfa-push://enroll?v=1&issuer=Ex&account=a&token={TOKEN}");
        assert!(EnrollmentUri::parse(&good).is_ok());
        let cases = [
            (good.replace("v=1", "v=2"), PushError::UnsupportedVersion),
            (
                good.replace("v=1&", ""),
                PushError::Malformed("enrollment uri has no v"),
            ),
            (
                good.replace("mfa-push://enroll?", "mfa-push://ENROLL?"),
                PushError::Malformed("not an mfa-push://enroll? uri"),
            ),
            (
                format!("{good}&v=1"),
                PushError::Malformed("repeated enrollment uri parameter"),
            ),
            (
                format!("{good}&secret=x"),
                PushError::Malformed("unknown enrollment uri parameter"),
            ),
            (
                format!("{good}&url"),
                PushError::Malformed("enrollment uri parameter without ="),
            ),
            (
                good.replace("issuer=Ex", "issuer=E+x"),
                PushError::Malformed("enrollment uri value is not percent-encoded"),
            ),
            (
                good.replace("issuer=Ex", "issuer=E%2"),
                PushError::Malformed("enrollment uri value is not percent-encoded"),
            ),
            (
                good.replace("issuer=Ex", "issuer=%FF"),
                PushError::Malformed("enrollment uri value is not UTF-8"),
            ),
            (
                good.replace("issuer=Ex", "issuer="),
                PushError::Malformed("issuer is empty, too long or has a control character"),
            ),
            (
                good.replace("issuer=Ex", "issuer=%0A"),
                PushError::Malformed("issuer is empty, too long or has a control character"),
            ),
            (
                good.replace("&token=", "&tok="),
                PushError::Malformed("unknown enrollment uri parameter"),
            ),
            (
                good.replace(TOKEN, "AQIDBAUGBwgJCgsMDQ4PEB"),
                PushError::Malformed("enrollment token is not 16 bytes of base64url"),
            ),
            (
                format!("{good}&url=http%3A%2F%2Fexample.com"),
                PushError::Malformed(
                    "registration url is not a printable https:// url of at most 512 bytes",
                ),
            ),
            (
                format!("{good}&issuer2={}", "a".repeat(MAX_ENROLLMENT_URI_LEN)),
                PushError::Malformed("enrollment uri too long"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(EnrollmentUri::parse(&text), Err(expected), "{text}");
        }
        assert!(EnrollmentUri::new("", "a", token(), None).is_err());
        assert!(
            EnrollmentUri::new("x", &"a".repeat(MAX_ACCOUNT_CHARS + 1), token(), None).is_err()
        );
    }
}
