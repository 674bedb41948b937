//! [`PhoneNumber`]: a telephone number parsed from what a person typed, normalised to
//! [E.164](https://www.itu.int/rec/T-REC-E.164), classified from libphonenumber's metadata (through
//! the [`phonenumber`] crate), and masked for display.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest input [`PhoneNumber::parse`] reads, in bytes. Longer input is refused before any
/// parsing: a person types a phone number in well under 64 characters.
pub const MAX_PHONE_INPUT_LEN: usize = 64;

/// The most digits [`PhoneNumber::parse`] accepts in its input: E.164 allows 15, and a national
/// trunk prefix or an international dialling prefix (`0`, `00`, `011`) adds a few.
pub const MAX_PHONE_INPUT_DIGITS: usize = 20;

/// The shortest E.164 number accepted, in digits (country code included): the shortest numbers
/// in service have a 1- to 3-digit country code and a national number of at least 4 digits.
const MIN_E164_DIGITS: usize = 5;

/// The longest E.164 number, in digits (ITU-T E.164 §6.1).
const MAX_E164_DIGITS: usize = 15;

/// What kind of line a number is, as libphonenumber's metadata classifies it.
///
/// The metadata knows number *ranges*, not where a number is ported to: a range marked mobile may
/// have been ported to a VoIP service. The classification is the best available without asking
/// a carrier-lookup service (which a service can add in front of these checks).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    /// A mobile number.
    Mobile,
    /// A fixed-line (landline) number: reachable by voice, usually not by SMS.
    FixedLine,
    /// Mobile or fixed-line: the numbering plan does not tell them apart (the United States,
    /// Canada and the other NANP countries, among others).
    FixedLineOrMobile,
    /// Voice over IP. NIST SP 800-63B-4 §3.1.3.1: methods that do not prove possession of a
    /// specific device, such as VoIP numbers, are not to be used for out-of-band authentication.
    Voip,
    /// A freephone number: the called party pays (SMS pumping fraud targets these).
    TollFree,
    /// A premium-rate number: the caller pays extra (SMS pumping fraud targets these).
    PremiumRate,
    /// A shared-cost number.
    SharedCost,
    /// A personal number that forwards to another line (possibly VoIP).
    Personal,
    /// A pager.
    Pager,
    /// A "universal access" or company number, voicemail access, a short code or similar: not a
    /// person's own phone.
    Service,
    /// The metadata knows the country but no pattern of it matches this number.
    Unknown,
}

impl NumberKind {
    /// The stable `snake_case` name, as serialized.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::FixedLine => "fixed_line",
            Self::FixedLineOrMobile => "fixed_line_or_mobile",
            Self::Voip => "voip",
            Self::TollFree => "toll_free",
            Self::PremiumRate => "premium_rate",
            Self::SharedCost => "shared_cost",
            Self::Personal => "personal",
            Self::Pager => "pager",
            Self::Service => "service",
            Self::Unknown => "unknown",
        }
    }

    fn from_metadata(kind: phonenumber::Type) -> Self {
        use phonenumber::Type;
        match kind {
            Type::Mobile => Self::Mobile,
            Type::FixedLine => Self::FixedLine,
            Type::FixedLineOrMobile => Self::FixedLineOrMobile,
            Type::Voip => Self::Voip,
            Type::TollFree => Self::TollFree,
            Type::PremiumRate => Self::PremiumRate,
            Type::SharedCost => Self::SharedCost,
            Type::PersonalNumber => Self::Personal,
            Type::Pager => Self::Pager,
            Type::Uan
            | Type::Emergency
            | Type::Voicemail
            | Type::ShortCode
            | Type::StandardRate
            | Type::Carrier
            | Type::NoInternational => Self::Service,
            Type::Unknown => Self::Unknown,
        }
    }
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a phone number was not accepted. Positions count bytes of the input from 0; the input
/// itself is never repeated (it is personal data).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneProblem {
    /// There is no number (empty, or only spaces and separators).
    Empty,
    /// Longer than [`MAX_PHONE_INPUT_LEN`] bytes, or more than [`MAX_PHONE_INPUT_DIGITS`] digits.
    TooLong,
    /// A character that is not a digit, a leading `+`, or a separator (space, `-`, `.`, `/`,
    /// parentheses). Letters (vanity numbers), extensions and `tel:` URIs are not accepted.
    InvalidCharacter {
        /// Where, counting bytes from 0.
        position: usize,
    },
    /// The number has no `+` and country code, and no default region was given.
    MissingCountryCode,
    /// The default region is not an ISO 3166-1 alpha-2 code the metadata knows (`"US"`, `"DE"` …).
    UnknownRegion,
    /// The country calling code is not assigned.
    InvalidCountryCode,
    /// Too few digits to be a phone number.
    TooShort,
    /// The digits match no number range in service in that country.
    NotInService,
}

impl fmt::Display for PhoneProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("there is no phone number"),
            Self::TooLong => f.write_str("the phone number is too long"),
            Self::InvalidCharacter { position } => write!(
                f,
                "character {position} cannot appear in a phone number (digits, a leading +, spaces, - . / and parentheses only)"
            ),
            Self::MissingCountryCode => {
                f.write_str("the phone number needs a + and country code, or a default region")
            }
            Self::UnknownRegion => f.write_str("the default region is not a known country code"),
            Self::InvalidCountryCode => f.write_str("the country calling code is not assigned"),
            Self::TooShort => f.write_str("the phone number is too short"),
            Self::NotInService => {
                f.write_str("the phone number is not a valid number in its country")
            }
        }
    }
}

impl std::error::Error for PhoneProblem {}

/// A telephone number in E.164 form (`+14155550142`), with its country calling code and the
/// [kind of line](NumberKind) the metadata says it is.
///
/// Parsing ([`parse`](Self::parse)) accepts what a person types (`(415) 555-0142` with region
/// `US`, `+44 7911 123456`, `0049 30 1234567` with a region), refuses letters, extensions and
/// `tel:` URIs, and keeps only numbers libphonenumber's metadata calls valid. Parsing is the
/// expensive step (the metadata's patterns); a number loaded from a store is only checked for its
/// E.164 shape.
///
/// `Display` masks the number ([`masked`](Self::masked)); the full number is
/// [`e164`](Self::e164). `Debug` shows the masked form too, so logging a value holding a
/// `PhoneNumber` does not write the whole number.
///
/// ```
/// use mfa_oob::{NumberKind, PhoneNumber};
///
/// let number = PhoneNumber::parse("+44 7911 123456", None)?;
/// assert_eq!(number.e164(), "+447911123456");
/// assert_eq!(number.calling_code(), 44);
/// assert_eq!(number.kind(), NumberKind::Mobile);
/// assert_eq!(number.masked(), "+44 ••• ••• ••56");
///
/// let us = PhoneNumber::parse("(201) 555-0123", Some("US"))?;
/// assert_eq!(us.e164(), "+12015550123");
/// assert_eq!(us.to_string(), "+1 ••• ••• ••23");
/// # Ok::<(), mfa_oob::PhoneProblem>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    calling_code: u16,
    kind: NumberKind,
}

impl PhoneNumber {
    /// Parses a number as a person typed it. Without a leading `+` (or an international dialling
    /// prefix the region knows), `default_region` (ISO 3166-1 alpha-2, any case) says which
    /// country's numbering plan applies.
    ///
    /// # Errors
    /// [`PhoneProblem`] says what is wrong: too long, a character that has no place in a phone
    /// number, no country, or digits that are not a valid number there.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneProblem> {
        let digits = screen(input)?;
        let region = match default_region {
            Some(region) => Some(parse_region(region)?),
            None => None,
        };
        if region.is_none() && !input.trim_start().starts_with('+') {
            return Err(PhoneProblem::MissingCountryCode);
        }
        if digits < 3 {
            return Err(PhoneProblem::TooShort);
        }
        let parsed = read_number(input, region).map_err(|error| match error {
            phonenumber::ParseError::InvalidCountryCode => PhoneProblem::InvalidCountryCode,
            phonenumber::ParseError::TooLong => PhoneProblem::TooLong,
            phonenumber::ParseError::NoNumber
            | phonenumber::ParseError::TooShortAfterIdd
            | phonenumber::ParseError::TooShortNsn
            | phonenumber::ParseError::MalformedInteger(_) => PhoneProblem::TooShort,
        })?;
        if parsed.extension().is_some() {
            return Err(PhoneProblem::NotInService);
        }
        if !parsed.is_valid() {
            return Err(PhoneProblem::NotInService);
        }
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        let calling_code = parsed.code().value();
        let national = e164
            .get(1..)
            .and_then(|digits| digits.strip_prefix(calling_code.to_string().as_str()))
            .ok_or(PhoneProblem::NotInService)?;
        let kind = classify(calling_code, national);
        let number =
            Self::from_parts(e164, calling_code, kind).ok_or(PhoneProblem::NotInService)?;
        Ok(number)
    }

    /// Builds a number from stored parts, checking the E.164 shape (a `+`, 5 to 15 digits, the
    /// calling code as their prefix). No metadata is consulted.
    fn from_parts(e164: String, calling_code: u16, kind: NumberKind) -> Option<Self> {
        let digits = e164.strip_prefix('+')?;
        let well_formed = (MIN_E164_DIGITS..=MAX_E164_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
            && (1..=999).contains(&calling_code)
            && digits.starts_with(&calling_code.to_string());
        well_formed.then_some(Self {
            e164,
            calling_code,
            kind,
        })
    }

    /// The number in E.164 form: `+`, country code, national number, no separators. This is what
    /// an SMS or voice provider takes. It is personal data: prefer [`masked`](Self::masked) in
    /// logs and on screens.
    #[must_use]
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The country calling code (`1` for NANP, `44` for the United Kingdom …).
    #[must_use]
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// What kind of line the metadata says this is.
    #[must_use]
    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The number for display with all but the country code and the last two digits hidden, the
    /// national part in groups of three: `+1 ••• ••• ••42`. Fit for a screen ("we sent a code to
    /// …") and for logs.
    #[must_use]
    pub fn masked(&self) -> String {
        let national = self
            .e164
            .get(1..)
            .and_then(|digits| digits.get(self.calling_code.to_string().len()..))
            .unwrap_or_default();
        mask_national(self.calling_code, national)
    }
}

/// The kind of the national significant number `national` (leading zeros kept) under the
/// metadata of the regions sharing `calling_code`, checked in libphonenumber's order (the
/// special-rate and VoIP ranges before fixed line and mobile).
///
/// Done here rather than with `phonenumber::PhoneNumber::number_type`, which drops the leading
/// zeros of the national number before matching (0.3.10): Italian and San Marino fixed lines,
/// and mobiles of Côte d'Ivoire, Benin or the Republic of the Congo, would all read as unknown.
fn classify(calling_code: u16, national: &str) -> NumberKind {
    use phonenumber::Type;
    const ORDER: [Type; 9] = [
        Type::PremiumRate,
        Type::TollFree,
        Type::SharedCost,
        Type::Voip,
        Type::PersonalNumber,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
        Type::FixedLine,
    ];
    let regions = phonenumber::metadata::DATABASE
        .by_code(&calling_code)
        .unwrap_or_default();
    for metadata in regions {
        let descriptors = metadata.descriptors();
        if !descriptors.general().is_match(national) {
            continue;
        }
        let matches = |kind: Type| {
            descriptors
                .get(kind)
                .is_some_and(|descriptor| descriptor.is_match(national))
        };
        let kind = match ORDER.into_iter().find(|kind| matches(*kind)) {
            Some(Type::FixedLine) if matches(Type::Mobile) => Type::FixedLineOrMobile,
            Some(kind) => kind,
            None if matches(Type::Mobile) => Type::Mobile,
            None => continue,
        };
        return NumberKind::from_metadata(kind);
    }
    NumberKind::Unknown
}

/// `+CC` and the national digits, all but the last two replaced by `•`, grouped by three from
/// the left (a last group of one joins the group before it).
fn mask_national(calling_code: u16, national: &str) -> String {
    let count = national.chars().count();
    let shown_from = count.saturating_sub(2);
    let mut groups: Vec<String> = Vec::new();
    for (index, digit) in national.chars().enumerate() {
        let symbol = if index >= shown_from { digit } else { '•' };
        match groups.last_mut() {
            Some(group) if group.chars().count() < 3 => group.push(symbol),
            _ => groups.push(symbol.to_string()),
        }
    }
    if groups.len() > 1
        && groups
            .last()
            .is_some_and(|group| group.chars().count() == 1)
    {
        let last = groups.pop().unwrap_or_default();
        if let Some(previous) = groups.last_mut() {
            previous.push_str(&last);
        }
    }
    let mut out = format!("+{calling_code}");
    for group in groups {
        out.push(' ');
        out.push_str(&group);
    }
    out
}

/// Checks the characters and size of typed input before any parser sees it; returns how many
/// digits it has.
fn screen(input: &str) -> Result<usize, PhoneProblem> {
    if input.len() > MAX_PHONE_INPUT_LEN {
        return Err(PhoneProblem::TooLong);
    }
    let mut digits = 0_usize;
    let mut seen_plus = false;
    for (position, byte) in input.bytes().enumerate() {
        match byte {
            b'0'..=b'9' => digits = digits.saturating_add(1),
            // One `+`, before any digit.
            b'+' if !seen_plus && digits == 0 => seen_plus = true,
            b' ' | b'-' | b'.' | b'/' | b'(' | b')' => {}
            _ => return Err(PhoneProblem::InvalidCharacter { position }),
        }
    }
    if digits == 0 {
        return Err(PhoneProblem::Empty);
    }
    if digits > MAX_PHONE_INPUT_DIGITS {
        return Err(PhoneProblem::TooLong);
    }
    Ok(digits)
}

/// `input` as phonenumber reads it, the default `region`'s numbering plan applied only to a number
/// without a country code of its own. phonenumber 0.3.10 applies the default region's national
/// prefix to every number, even one with `+` or an international dialling prefix: "+7 808 124
/// 01 23" read with region US was valid and without a region was not, and "+84 1900 123456" read
/// with region US became another number. So a number with `+` is read without the region, and one
/// after the region's international dialling prefix is read again as `+` and the digits after it.
fn read_number(
    input: &str,
    region: Option<phonenumber::country::Id>,
) -> Result<phonenumber::PhoneNumber, phonenumber::ParseError> {
    if input.trim_start().starts_with('+') {
        return phonenumber::parse(None, input);
    }
    let parsed = phonenumber::parse(region, input)?;
    if parsed.code().source() != phonenumber::country::Source::Idd {
        return Ok(parsed);
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let after_idd = region
        .and_then(|region| phonenumber::metadata::DATABASE.by_id(region.as_ref()))
        .and_then(|metadata| metadata.international_prefix())
        .and_then(|idd| idd.find(&digits))
        .filter(|idd| idd.start() == 0)
        .and_then(|idd| digits.get(idd.end()..));
    match after_idd {
        Some(rest) => phonenumber::parse(None, format!("+{rest}")),
        None => Ok(parsed),
    }
}

/// An ISO 3166-1 alpha-2 region the metadata knows.
fn parse_region(region: &str) -> Result<phonenumber::country::Id, PhoneProblem> {
    if region.len() != 2 || !region.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(PhoneProblem::UnknownRegion);
    }
    region
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| PhoneProblem::UnknownRegion)
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneNumber")
            .field("masked", &self.masked())
            .field("kind", &self.kind)
            .finish()
    }
}

/// The stored form: the E.164 string, the calling code and the kind.
#[derive(Serialize, Deserialize)]
struct StoredNumber {
    e164: String,
    calling_code: u16,
    kind: NumberKind,
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredNumber {
            e164: self.e164.clone(),
            calling_code: self.calling_code,
            kind: self.kind,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredNumber::deserialize(deserializer)?;
        Self::from_parts(stored.e164, stored.calling_code, stored.kind)
            .ok_or_else(|| serde::de::Error::custom("not an E.164 phone number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_with_its_own_country_code_ignores_the_default_region() {
        // libphonenumber's example numbers (tests/data): VN premium rate 1900123456, US toll free
        // 8002345678. Found by fuzzing: the default region's national prefix was applied to them.
        let cases = [
            (
                "+84 1900 123456",
                ["US", "RU", "DE"].as_slice(),
                "+841900123456",
            ),
            ("011 84 1900 123456", &["US"], "+841900123456"),
            ("+1 800 234 5678", &["US", "RU", "DE"], "+18002345678"),
            ("810 1 800 234 5678", &["RU"], "+18002345678"),
            ("00 1 800 234 5678", &["DE"], "+18002345678"),
        ];
        for (input, regions, e164) in cases {
            for region in regions {
                let read = PhoneNumber::parse(input, Some(region)).map(|n| n.e164().to_owned());
                assert_eq!(read.as_deref(), Ok(e164), "{input} in {region}");
            }
        }
        let plus = "+7 808124-0123";
        assert_eq!(
            PhoneNumber::parse(plus, Some("US")),
            PhoneNumber::parse(plus, None)
        );
    }

    #[test]
    fn masking_keeps_country_code_and_last_two_digits() {
        assert_eq!(mask_national(1, "4155550142"), "+1 ••• ••• ••42");
        assert_eq!(mask_national(44, "7700900123"), "+44 ••• ••• ••23");
        assert_eq!(mask_national(49, "301234567"), "+49 ••• ••• •67");
        assert_eq!(mask_national(33, "612345678"), "+33 ••• ••• •78");
        assert_eq!(mask_national(354, "6111234"), "+354 ••• ••34");
        assert_eq!(mask_national(7, "12"), "+7 12");
    }

    #[test]
    fn screening_refuses_what_has_no_place_in_a_number() {
        assert_eq!(screen("  "), Err(PhoneProblem::Empty));
        assert_eq!(screen("+"), Err(PhoneProblem::Empty));
        assert_eq!(
            screen("1-800-FLOWERS"),
            Err(PhoneProblem::InvalidCharacter { position: 6 })
        );
        assert_eq!(
            screen("tel:+14155550142"),
            Err(PhoneProblem::InvalidCharacter { position: 0 })
        );
        assert_eq!(
            screen("+1 415 555 0142;ext=1"),
            Err(PhoneProblem::InvalidCharacter { position: 15 })
        );
        assert_eq!(
            screen("1+2"),
            Err(PhoneProblem::InvalidCharacter { position: 1 })
        );
        assert_eq!(screen(&"1".repeat(21)), Err(PhoneProblem::TooLong));
        assert_eq!(screen(&" ".repeat(65)), Err(PhoneProblem::TooLong));
        assert_eq!(screen("+1 (415) 555-0142"), Ok(11));
    }

    #[test]
    fn stored_parts_are_checked() {
        assert!(PhoneNumber::from_parts("+14155550142".into(), 1, NumberKind::Mobile).is_some());
        for (e164, code) in [
            ("14155550142", 1),
            ("+1415555014x", 1),
            ("+1234", 1),
            ("+1234567890123456", 1),
            ("+14155550142", 44),
            ("+04155550142", 0),
        ] {
            assert!(
                PhoneNumber::from_parts(e164.into(), code, NumberKind::Mobile).is_none(),
                "{e164}"
            );
        }
    }
}
