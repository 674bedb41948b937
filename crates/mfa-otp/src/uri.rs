//! The Key URI format (`otpauth://`) that authenticator apps scan, as Google Authenticator
//! defines it: <https://github.com/google/google-authenticator/wiki/Key-Uri-Format>.

use core::fmt::Write as _;

use zeroize::{Zeroize, Zeroizing};

use crate::error::{OtpError, UriProblem};
use crate::hotp::HotpParams;
use crate::params::{Algorithm, CodeFormat, Digits};
use crate::secret::OtpSecret;
use crate::totp::{DEFAULT_PERIOD, Period, TotpParams};

/// Longer URIs are rejected before parsing.
pub const MAX_URI_LEN: usize = 4096;
/// The longest issuer or account name, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// The longest `image` URL, in bytes. With [`MAX_NAME_LEN`], every URI built here, each byte
/// percent-encoded at worst, stays within [`MAX_URI_LEN`].
pub const MAX_IMAGE_LEN: usize = 512;

fn check_lengths(issuer: Option<&str>, account: &str, image: Option<&str>) -> Result<(), OtpError> {
    if issuer.is_some_and(|issuer| issuer.len() > MAX_NAME_LEN) {
        return Err(UriProblem::FieldTooLong("issuer").into());
    }
    if account.len() > MAX_NAME_LEN {
        return Err(UriProblem::FieldTooLong("account name").into());
    }
    if image.is_some_and(|image| image.len() > MAX_IMAGE_LEN) {
        return Err(UriProblem::FieldTooLong("image URL").into());
    }
    Ok(())
}

/// TOTP or HOTP, with what is specific to each.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtpKind {
    /// `otpauth://totp/…` with its time step.
    Totp {
        /// The `period` parameter (default 30 s, at most [`Period::MAX`]).
        period: Period,
    },
    /// `otpauth://hotp/…` with its initial counter.
    Hotp {
        /// The `counter` parameter (required).
        counter: u64,
    },
}

/// A parsed or built `otpauth://` key URI.
///
/// Parsing accepts what real providers emit: the issuer as label prefix, as `issuer=` parameter,
/// or both (rejected if they disagree; neither issuer nor account may contain a colon); `%3A` or `:` between issuer and account and optional
/// spaces after it; lower-case, unpadded or spaced base32; parameters in any order and case;
/// `+` for a space in parameter values; unknown parameters ignored. Duplicated parameters are
/// rejected. Steam Guard accounts are recognized as `otpauth://steam/…` or `encoder=steam`.
///
/// Building percent-encodes the label and values the way Google Authenticator expects (spaces as
/// `%20`, `@` left as is in the label) and writes only non-default parameters.
///
/// ```
/// use mfa_otp::{KeyUri, OtpKind};
///
/// let uri = KeyUri::parse(
///     "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
///      &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
/// )?;
/// assert_eq!(uri.issuer(), Some("ACME Co"));
/// assert_eq!(uri.account(), "john.doe@email.com");
/// assert!(matches!(uri.kind(), OtpKind::Totp { .. }));
/// assert_eq!(
///     uri.to_uri().as_str(),
///     "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
///      &issuer=ACME%20Co"
/// );
/// # Ok::<(), mfa_otp::OtpError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUri {
    kind: OtpKind,
    issuer: Option<String>,
    account: String,
    secret: OtpSecret,
    algorithm: Algorithm,
    format: CodeFormat,
    image: Option<String>,
}

impl KeyUri {
    /// A TOTP key URI. `T0` cannot be expressed in a key URI, so `params.t0` must be 0.
    ///
    /// # Errors
    /// [`OtpError::InvalidParameter`] if the issuer is empty or contains a colon, the account is
    /// empty, starts with a space or contains a colon, or `T0` is not 0;
    /// [`OtpError::MalformedUri`] if the issuer or account is longer than [`MAX_NAME_LEN`].
    pub fn totp(
        issuer: Option<&str>,
        account: &str,
        secret: OtpSecret,
        params: &TotpParams,
    ) -> Result<Self, OtpError> {
        if params.t0 != 0 {
            return Err(OtpError::InvalidParameter(
                "a key URI cannot carry T0; use T0 = 0 for authenticator apps",
            ));
        }
        Self::build(
            OtpKind::Totp {
                period: params.period,
            },
            issuer,
            account,
            secret,
            params.algorithm,
            params.format,
        )
    }

    /// An HOTP key URI with the token's initial counter.
    ///
    /// # Errors
    /// As [`totp`](Self::totp), except for `T0`.
    pub fn hotp(
        issuer: Option<&str>,
        account: &str,
        secret: OtpSecret,
        params: &HotpParams,
        counter: u64,
    ) -> Result<Self, OtpError> {
        Self::build(
            OtpKind::Hotp { counter },
            issuer,
            account,
            secret,
            params.algorithm,
            params.format,
        )
    }

    fn build(
        kind: OtpKind,
        issuer: Option<&str>,
        account: &str,
        secret: OtpSecret,
        algorithm: Algorithm,
        format: CodeFormat,
    ) -> Result<Self, OtpError> {
        if issuer.is_some_and(|issuer| issuer.is_empty() || issuer.contains(':')) {
            return Err(OtpError::InvalidParameter(
                "the issuer must be non-empty and without a colon",
            ));
        }
        if account.is_empty() || account.contains(':') || account.starts_with(' ') {
            return Err(OtpError::InvalidParameter(
                "the account name must be non-empty, without a colon or leading space",
            ));
        }
        check_lengths(issuer, account, None)?;
        Ok(Self {
            kind,
            issuer: issuer.map(str::to_owned),
            account: account.to_owned(),
            secret,
            algorithm,
            format,
            image: None,
        })
    }

    /// With an `image` URL (a logo some apps show).
    ///
    /// # Errors
    /// [`OtpError::MalformedUri`] if it is longer than [`MAX_IMAGE_LEN`].
    pub fn with_image(mut self, url: &str) -> Result<Self, OtpError> {
        check_lengths(None, "", Some(url))?;
        self.image = Some(url.to_owned());
        Ok(self)
    }

    /// TOTP or HOTP.
    #[must_use]
    pub fn kind(&self) -> OtpKind {
        self.kind
    }

    /// The issuer (service name), if any.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The account name.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The shared secret.
    #[must_use]
    pub fn secret(&self) -> &OtpSecret {
        &self.secret
    }

    /// The hash.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The code format.
    #[must_use]
    pub fn format(&self) -> CodeFormat {
        self.format
    }

    /// The `image` URL, if any.
    #[must_use]
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The TOTP parameters, if this is a TOTP URI.
    #[must_use]
    pub fn totp_params(&self) -> Option<TotpParams> {
        match self.kind {
            OtpKind::Totp { period } => Some(
                TotpParams::default()
                    .with_algorithm(self.algorithm)
                    .with_format(self.format)
                    .with_period(period),
            ),
            OtpKind::Hotp { .. } => None,
        }
    }

    /// The HOTP parameters and initial counter, if this is an HOTP URI.
    #[must_use]
    pub fn hotp_params(&self) -> Option<(HotpParams, u64)> {
        match self.kind {
            OtpKind::Hotp { counter } => Some((
                HotpParams::default()
                    .with_algorithm(self.algorithm)
                    .with_format(self.format),
                counter,
            )),
            OtpKind::Totp { .. } => None,
        }
    }

    /// The URI text. It contains the secret, so it is wiped on drop.
    #[must_use]
    pub fn to_uri(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(128));
        out.push_str(match self.kind {
            OtpKind::Totp { .. } => "otpauth://totp/",
            OtpKind::Hotp { .. } => "otpauth://hotp/",
        });
        if let Some(issuer) = &self.issuer {
            encode_into(&mut out, issuer, LABEL);
            out.push(':');
        }
        encode_into(&mut out, &self.account, LABEL);
        out.push_str("?secret=");
        out.push_str(&self.secret.to_base32());
        if let Some(issuer) = &self.issuer {
            out.push_str("&issuer=");
            encode_into(&mut out, issuer, VALUE);
        }
        if self.algorithm != Algorithm::Sha1 {
            out.push_str("&algorithm=");
            out.push_str(self.algorithm.uri_name());
        }
        // `write!` to a String cannot fail.
        match self.format {
            CodeFormat::Decimal(digits) if digits != Digits::SIX => {
                let _ = write!(out, "&digits={digits}");
            }
            CodeFormat::Decimal(_) => {}
            CodeFormat::Steam => out.push_str("&encoder=steam"),
        }
        match self.kind {
            OtpKind::Totp { period } if period != DEFAULT_PERIOD => {
                let _ = write!(out, "&period={period}");
            }
            OtpKind::Totp { .. } => {}
            OtpKind::Hotp { counter } => {
                let _ = write!(out, "&counter={counter}");
            }
        }
        if let Some(image) = &self.image {
            out.push_str("&image=");
            encode_into(&mut out, image, VALUE);
        }
        out
    }

    /// Parses a key URI; see the type's documentation for what is accepted.
    ///
    /// # Errors
    /// [`OtpError::MalformedUri`] saying what is wrong (a `period` outside 1 to [`Period::MAX`]
    /// seconds is [`UriProblem::InvalidParameter`]), [`OtpError::IssuerMismatch`] when the label
    /// prefix and `issuer` differ, [`OtpError::MalformedSecret`] or [`OtpError::SecretTooShort`]
    /// for the secret (at least 80 bits).
    pub fn parse(text: &str) -> Result<Self, OtpError> {
        if text.len() > MAX_URI_LEN {
            return Err(UriProblem::TooLong.into());
        }
        let text = text.trim();
        let rest = strip_prefix_ignore_case(text, "otpauth://").ok_or(UriProblem::NotOtpauth)?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (kind_name, rest) = rest.split_once('/').ok_or(UriProblem::MissingLabel)?;
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (is_totp, mut steam) = match kind_name.to_ascii_lowercase().as_str() {
            "totp" => (true, false),
            "hotp" => (false, false),
            "steam" => (true, true),
            _ => return Err(UriProblem::UnknownType.into()),
        };

        // The label: `account` or `issuer:account`, the colon literal or %3A, then optional spaces.
        let label = percent_decode(label, false)?;
        let (prefix, account) = match label.split_once(':') {
            Some((prefix, account)) => (Some(prefix), account),
            None => (None, label.as_str()),
        };
        let account = account.trim_start_matches(' ');
        if account.is_empty() {
            return Err(UriProblem::MissingLabel.into());
        }
        if account.contains(':') {
            return Err(UriProblem::ColonInAccount.into());
        }
        let prefix = prefix.filter(|p| !p.is_empty());

        let mut params = Params::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.set(name, value)?;
        }

        let secret_text = params
            .secret
            .ok_or(UriProblem::MissingParameter("secret"))?;
        let secret = OtpSecret::from_base32(&Zeroizing::new(percent_decode(secret_text, true)?))?;

        let issuer_param = match params.issuer {
            Some(value) => Some(percent_decode(value, true)?).filter(|issuer| !issuer.is_empty()),
            None => None,
        };
        let issuer = match (prefix, issuer_param) {
            (Some(prefix), Some(param)) if prefix != param => {
                return Err(OtpError::IssuerMismatch);
            }
            (_, Some(param)) => Some(param),
            (Some(prefix), None) => Some(prefix.to_owned()),
            (None, None) => None,
        };
        if issuer.as_deref().is_some_and(|issuer| issuer.contains(':')) {
            return Err(UriProblem::ColonInIssuer.into());
        }

        let algorithm = match params.algorithm {
            Some(value) => match value.to_ascii_uppercase().as_str() {
                "SHA1" => Algorithm::Sha1,
                "SHA256" => Algorithm::Sha256,
                "SHA512" => Algorithm::Sha512,
                _ => return Err(UriProblem::InvalidParameter("algorithm").into()),
            },
            None => Algorithm::Sha1,
        };
        if params
            .encoder
            .is_some_and(|encoder| encoder.eq_ignore_ascii_case("steam"))
        {
            steam = true;
        }
        let format = if steam {
            CodeFormat::Steam
        } else {
            match params.digits {
                Some(value) => {
                    let digits = parse_number(value, "digits")?;
                    let digits = u8::try_from(digits)
                        .ok()
                        .and_then(|d| Digits::new(d).ok())
                        .ok_or(UriProblem::InvalidParameter("digits"))?;
                    CodeFormat::Decimal(digits)
                }
                None => CodeFormat::default(),
            }
        };
        let kind = if is_totp {
            let period = match params.period {
                Some(value) => Period::new(parse_number(value, "period")?)
                    .map_err(|_| UriProblem::InvalidParameter("period"))?,
                None => DEFAULT_PERIOD,
            };
            OtpKind::Totp { period }
        } else {
            let counter = params
                .counter
                .ok_or(UriProblem::MissingParameter("counter"))?;
            OtpKind::Hotp {
                counter: parse_number(counter, "counter")?,
            }
        };
        let image = match params.image {
            Some(value) => Some(percent_decode(value, true)?),
            None => None,
        };
        check_lengths(issuer.as_deref(), account, image.as_deref())?;
        Ok(Self {
            kind,
            issuer,
            account: account.to_owned(),
            secret,
            algorithm,
            format,
            image,
        })
    }
}

/// The parameters we read; each at most once.
#[derive(Default)]
struct Params<'a> {
    secret: Option<&'a str>,
    issuer: Option<&'a str>,
    algorithm: Option<&'a str>,
    digits: Option<&'a str>,
    period: Option<&'a str>,
    counter: Option<&'a str>,
    image: Option<&'a str>,
    encoder: Option<&'a str>,
}

impl<'a> Params<'a> {
    fn set(&mut self, name: &str, value: &'a str) -> Result<(), OtpError> {
        let (slot, name) = match name.to_ascii_lowercase().as_str() {
            "secret" => (&mut self.secret, "secret"),
            "issuer" => (&mut self.issuer, "issuer"),
            "algorithm" => (&mut self.algorithm, "algorithm"),
            "digits" => (&mut self.digits, "digits"),
            "period" => (&mut self.period, "period"),
            "counter" => (&mut self.counter, "counter"),
            "image" => (&mut self.image, "image"),
            "encoder" => (&mut self.encoder, "encoder"),
            _ => return Ok(()), // Unknown parameters (`lock`, `color`, `icon` …) are ignored.
        };
        if slot.replace(value).is_some() {
            return Err(UriProblem::DuplicateParameter(name).into());
        }
        Ok(())
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// A decimal `u64` of ASCII digits only (no sign, no spaces).
fn parse_number(text: &str, name: &'static str) -> Result<u64, OtpError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriProblem::InvalidParameter(name).into());
    }
    text.parse()
        .map_err(|_| UriProblem::InvalidParameter(name).into())
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as a space in parameter values) into UTF-8 text.
fn percent_decode(text: &str, plus_is_space: bool) -> Result<String, OtpError> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        let decoded = match byte {
            b'%' => {
                let high = input.next().and_then(hex_value);
                let low = input.next().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => (high << 4) | low,
                    _ => return Err(UriProblem::BadEncoding.into()),
                }
            }
            b'+' if plus_is_space => b' ',
            other => other,
        };
        bytes.push(decoded);
    }
    String::from_utf8(bytes).map_err(|error| {
        // Wipe what may be part of a secret before dropping it.
        let mut bytes = error.into_bytes();
        bytes.zeroize();
        UriProblem::BadEncoding.into()
    })
}

/// Which characters are written as they are.
#[derive(Clone, Copy)]
struct Keep(bool);
/// In the label: RFC 3986 unreserved characters and `@`, as in Google's own examples.
const LABEL: Keep = Keep(true);
/// In parameter values: unreserved characters only.
const VALUE: Keep = Keep(false);

/// Percent-encodes `text` (upper-case hex, space as `%20`).
fn encode_into(out: &mut String, text: &str, keep: Keep) {
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
        if unreserved || (keep.0 && byte == b'@') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXP";

    fn parse(uri: &str) -> Result<KeyUri, OtpError> {
        KeyUri::parse(uri)
    }

    #[test]
    fn parses_what_real_providers_emit() {
        // Google's wiki example.
        let uri =
            parse("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example")
                .unwrap();
        assert_eq!(uri.issuer(), Some("Example"));
        assert_eq!(uri.account(), "alice@google.com");
        assert_eq!(uri.secret().to_base32().as_str(), SECRET);
        assert_eq!(uri.totp_params(), Some(TotpParams::default()));
        // GitHub-style: issuer prefix and parameter, 160-bit lower-case secret.
        let uri = parse(
            "otpauth://totp/GitHub:octocat?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq&issuer=GitHub",
        )
        .unwrap();
        assert_eq!(uri.secret().bits(), 160);
        // Microsoft-style: encoded @ and colon.
        let uri = parse("otpauth://totp/Microsoft%3Auser%40contoso.com?secret=JBSWY3DPEHPK3PXP&issuer=Microsoft").unwrap();
        assert_eq!(
            (uri.issuer(), uri.account()),
            (Some("Microsoft"), "user@contoso.com")
        );
        // AWS-style issuer with spaces; space after the colon.
        let uri = parse("otpauth://totp/Amazon%20Web%20Services:%20root@123456789012?secret=JBSWY3DPEHPK3PXP&issuer=Amazon+Web+Services").unwrap();
        assert_eq!(uri.issuer(), Some("Amazon Web Services"));
        assert_eq!(uri.account(), "root@123456789012");
        // No issuer at all; parameters in odd case and order; padding; unknown parameters.
        let uri = parse("OTPAUTH://TOTP/bob?Digits=8&foo=bar&SECRET=JBSWY3DPEHPK3PXP&period=60&algorithm=sha256&lock=false").unwrap();
        assert_eq!(uri.issuer(), None);
        let params = uri.totp_params().unwrap();
        assert_eq!(params.algorithm, Algorithm::Sha256);
        assert_eq!(params.format, CodeFormat::Decimal(Digits::EIGHT));
        assert_eq!(params.period.get(), 60);
        // HOTP with counter; issuer only as parameter.
        let uri =
            parse("otpauth://hotp/alice?secret=JBSWY3DPEHPK3PXP&issuer=Corp&counter=4294967297")
                .unwrap();
        assert_eq!(uri.issuer(), Some("Corp"));
        assert_eq!(uri.hotp_params().unwrap().1, 4_294_967_297);
        // Steam, both spellings.
        for steam in [
            "otpauth://steam/Steam:gamer?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/Steam:gamer?secret=JBSWY3DPEHPK3PXP&issuer=Steam&encoder=steam&digits=5",
        ] {
            assert_eq!(parse(steam).unwrap().format(), CodeFormat::Steam, "{steam}");
        }
        let uri = parse(
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&image=https%3A%2F%2Fexample.com%2Flogo.png",
        )
        .unwrap();
        assert_eq!(uri.image(), Some("https://example.com/logo.png"));
    }

    #[test]
    fn rejects_what_is_wrong() {
        let cases: &[(&str, OtpError)] = &[
            (
                "http://totp/a?secret=JBSWY3DPEHPK3PXP",
                UriProblem::NotOtpauth.into(),
            ),
            (
                "otpauth://motp/a?secret=JBSWY3DPEHPK3PXP",
                UriProblem::UnknownType.into(),
            ),
            (
                "otpauth://totp?secret=JBSWY3DPEHPK3PXP",
                UriProblem::MissingLabel.into(),
            ),
            (
                "otpauth://totp/?secret=JBSWY3DPEHPK3PXP",
                UriProblem::MissingLabel.into(),
            ),
            (
                "otpauth://totp/Issuer:?secret=JBSWY3DPEHPK3PXP",
                UriProblem::MissingLabel.into(),
            ),
            (
                "otpauth://totp/a",
                UriProblem::MissingParameter("secret").into(),
            ),
            (
                "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP",
                UriProblem::MissingParameter("counter").into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
                UriProblem::DuplicateParameter("secret").into(),
            ),
            (
                "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=B",
                OtpError::IssuerMismatch,
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=B:C",
                UriProblem::ColonInIssuer.into(),
            ),
            (
                "otpauth://totp/A:b:c?secret=JBSWY3DPEHPK3PXP",
                UriProblem::ColonInAccount.into(),
            ),
            (
                "otpauth://totp/:b%3Ac?secret=JBSWY3DPEHPK3PXP",
                UriProblem::ColonInAccount.into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
                UriProblem::InvalidParameter("algorithm").into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5",
                UriProblem::InvalidParameter("digits").into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=+6",
                UriProblem::InvalidParameter("digits").into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=300",
                UriProblem::InvalidParameter("digits").into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0",
                UriProblem::InvalidParameter("period").into(),
            ),
            (
                "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=-1",
                UriProblem::InvalidParameter("counter").into(),
            ),
            (
                "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=18446744073709551616",
                UriProblem::InvalidParameter("counter").into(),
            ),
            (
                "otpauth://totp/a%ZZ?secret=JBSWY3DPEHPK3PXP",
                UriProblem::BadEncoding.into(),
            ),
            (
                "otpauth://totp/a%C3?secret=JBSWY3DPEHPK3PXP",
                UriProblem::BadEncoding.into(),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3",
                OtpError::SecretTooShort {
                    bits: 64,
                    min_bits: 80,
                },
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PX0",
                OtpError::MalformedSecret(crate::SecretProblem::InvalidCharacter { position: 15 }),
            ),
        ];
        for (uri, expected) in cases {
            assert_eq!(parse(uri).as_ref().err(), Some(expected), "{uri}");
        }
        assert_eq!(
            parse(&"a".repeat(5000)).err(),
            Some(UriProblem::TooLong.into())
        );
    }

    /// Review item 6: a `period` beyond ten minutes (up to 2^64 - 1 used to parse) is refused, so
    /// a URI cannot make a code effectively static; the bound itself still parses.
    #[test]
    fn item6_uri_period_beyond_bound_is_rejected() {
        for period in ["601", "3600", "86400", "18446744073709551615"] {
            let uri = format!("otpauth://totp/a?secret={SECRET}&period={period}");
            assert_eq!(
                parse(&uri).err(),
                Some(UriProblem::InvalidParameter("period").into()),
                "{uri}"
            );
        }
        let uri = parse(&format!("otpauth://totp/a?secret={SECRET}&period=600")).unwrap();
        assert_eq!(
            uri.kind(),
            OtpKind::Totp {
                period: Period::new(600).unwrap()
            }
        );
        assert!(uri.to_uri().ends_with("&period=600"));
    }

    #[test]
    fn builds_as_google_authenticator_expects() {
        let secret = OtpSecret::from_base32(SECRET).unwrap();
        let uri = KeyUri::totp(
            Some("ACME Co"),
            "john.doe@email.com",
            secret.clone(),
            &TotpParams::default(),
        )
        .unwrap();
        assert_eq!(
            uri.to_uri().as_str(),
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
        );
        let params = TotpParams::default()
            .with_algorithm(Algorithm::Sha512)
            .with_digits(Digits::EIGHT)
            .with_period(Period::new(60).unwrap());
        let uri = KeyUri::totp(None, "a+b c/d", secret.clone(), &params)
            .unwrap()
            .with_image("https://x.test/i.png")
            .unwrap();
        assert_eq!(
            uri.to_uri().as_str(),
            "otpauth://totp/a%2Bb%20c%2Fd?secret=JBSWY3DPEHPK3PXP&algorithm=SHA512&digits=8&period=60&image=https%3A%2F%2Fx.test%2Fi.png"
        );
        assert_eq!(KeyUri::parse(&uri.to_uri()).unwrap(), uri);
        let uri = KeyUri::hotp(
            Some("Corp"),
            "bob",
            secret.clone(),
            &HotpParams::default(),
            7,
        )
        .unwrap();
        assert_eq!(
            uri.to_uri().as_str(),
            "otpauth://hotp/Corp:bob?secret=JBSWY3DPEHPK3PXP&issuer=Corp&counter=7"
        );
        for (issuer, account) in [
            (Some(""), "a"),
            (Some("a:b"), "c"),
            (None, ""),
            (None, "a:b"),
            (None, " a"),
        ] {
            assert!(KeyUri::totp(issuer, account, secret.clone(), &TotpParams::default()).is_err());
        }
        assert!(KeyUri::totp(None, "a", secret, &TotpParams::default().with_t0(1)).is_err());
    }
}
