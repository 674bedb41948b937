//! [`OobPolicy`]: everything a service decides once — code shape, send limits, which numbers
//! may receive codes, the messages, and the attempt throttle.

use std::collections::BTreeSet;

use mfa_core::ThrottlePolicy;

use crate::code::CodePolicy;
use crate::error::OobError;
use crate::limits::SendLimits;
use crate::message::{Channel, Messages};
use crate::phone::{NumberKind, PhoneNumber};

/// The most phones one account may enroll by default.
pub const DEFAULT_MAX_PHONES: usize = 5;

/// Which [kinds of number](NumberKind) may receive codes, per channel.
///
/// `Default` (fail closed):
///
/// | kind | SMS | voice |
/// |---|---|---|
/// | mobile, fixed line or mobile | yes | yes |
/// | fixed line | no (landlines rarely receive SMS) | yes |
/// | VoIP | no: NIST SP 800-63B-4 §3.1.3.1 | no |
/// | toll-free, premium-rate, shared-cost | no: SMS pumping targets | no |
/// | personal, pager, service, unknown | no | no |
///
/// A door is kept open for what a service knows better
/// ([`danger_allow`](Self::danger_allow)), named so that it shows up in review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberPolicy {
    sms: BTreeSet<NumberKind>,
    voice: BTreeSet<NumberKind>,
}

impl Default for NumberPolicy {
    fn default() -> Self {
        let personal = [NumberKind::Mobile, NumberKind::FixedLineOrMobile];
        Self {
            sms: personal.into_iter().collect(),
            voice: personal
                .into_iter()
                .chain([NumberKind::FixedLine])
                .collect(),
        }
    }
}

impl NumberPolicy {
    /// Also sends codes on `channel` to numbers of `kind`: for example VoIP numbers, against
    /// NIST SP 800-63B-4's rule (they prove possession of no device). A channel other than SMS
    /// and voice is ignored.
    #[must_use]
    pub fn danger_allow(mut self, channel: Channel, kind: NumberKind) -> Self {
        match channel {
            Channel::Sms => {
                self.sms.insert(kind);
            }
            Channel::Voice => {
                self.voice.insert(kind);
            }
            Channel::Email => {}
        }
        self
    }

    /// No longer sends codes on `channel` to numbers of `kind` (fixed lines by voice, say).
    #[must_use]
    pub fn refuse(mut self, channel: Channel, kind: NumberKind) -> Self {
        match channel {
            Channel::Sms => {
                self.sms.remove(&kind);
            }
            Channel::Voice => {
                self.voice.remove(&kind);
            }
            Channel::Email => {}
        }
        self
    }

    /// Whether `number` may receive codes on `channel`.
    ///
    /// # Errors
    /// [`OobError::NumberRefused`] when its kind is not allowed on that channel;
    /// [`OobError::ChannelRefused`] for a channel that does not reach phones.
    pub fn check(&self, number: &PhoneNumber, channel: Channel) -> Result<(), OobError> {
        let allowed = match channel {
            Channel::Sms => &self.sms,
            Channel::Voice => &self.voice,
            Channel::Email => return Err(OobError::ChannelRefused(channel)),
        };
        if allowed.contains(&number.kind()) {
            Ok(())
        } else {
            Err(OobError::NumberRefused {
                kind: number.kind(),
                channel,
            })
        }
    }
}

/// Whether codes may go out by e-mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EmailCodes {
    /// Refused: e-mail is for notices and recovery links.
    #[default]
    Refused,
    /// Allowed, through [`OobPolicy::danger_allow_email_codes`].
    Allowed,
}

/// Everything a service decides once about SMS and voice codes.
///
/// ```
/// use mfa_oob::{Messages, OobPolicy, SendLimits, WindowLimits};
///
/// let mut limits = SendLimits::default();
/// limits.country_overrides.insert(882, WindowLimits::BLOCKED); // international networks: off
/// let policy = OobPolicy::new(Messages::new("Example")?.with_webotp_host("example.com")?)
///     .with_limits(limits)?;
/// assert_eq!(policy.code().digits(), 6);
/// # Ok::<(), mfa_oob::OobError>(())
/// ```
#[derive(Clone, Debug)]
pub struct OobPolicy {
    code: CodePolicy,
    limits: SendLimits,
    numbers: NumberPolicy,
    messages: Messages,
    throttle: ThrottlePolicy,
    max_phones: usize,
    email_codes: EmailCodes,
}

impl OobPolicy {
    /// The defaults ([`CodePolicy::default`]: 6 digits, 5 minutes; [`SendLimits::default`];
    /// [`NumberPolicy::default`]; [`ThrottlePolicy::default`]; at most
    /// [`DEFAULT_MAX_PHONES`] phones per account; no codes by e-mail) with these messages.
    #[must_use]
    pub fn new(messages: Messages) -> Self {
        Self {
            code: CodePolicy::default(),
            limits: SendLimits::default(),
            numbers: NumberPolicy::default(),
            messages,
            throttle: ThrottlePolicy::default(),
            max_phones: DEFAULT_MAX_PHONES,
            email_codes: EmailCodes::Refused,
        }
    }

    /// Replaces the code shape and lifetime.
    #[must_use]
    pub fn with_code(mut self, code: CodePolicy) -> Self {
        self.code = code;
        self
    }

    /// Replaces the send limits.
    ///
    /// # Errors
    /// As [`SendLimits::validate`].
    pub fn with_limits(mut self, limits: SendLimits) -> Result<Self, OobError> {
        limits.validate()?;
        self.limits = limits;
        Ok(self)
    }

    /// Replaces which numbers may receive codes.
    #[must_use]
    pub fn with_numbers(mut self, numbers: NumberPolicy) -> Self {
        self.numbers = numbers;
        self
    }

    /// Replaces the attempt throttle (NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failures).
    #[must_use]
    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    /// Replaces how many phones one account may enroll (at least 1).
    ///
    /// # Errors
    /// [`OobError::InvalidParameter`] for 0 or more than 100.
    pub fn with_max_phones(mut self, max_phones: usize) -> Result<Self, OobError> {
        if !(1..=100).contains(&max_phones) {
            return Err(OobError::InvalidParameter(
                "an account may enroll 1 to 100 phones",
            ));
        }
        self.max_phones = max_phones;
        Ok(self)
    }

    /// Allows sending codes by e-mail ([`CodeTarget::Email`](crate::CodeTarget::Email)). NIST SP 800-63B-4 §3.1.3.1 does not
    /// accept e-mail as an out-of-band authenticator: the evidence of such a code is
    /// [`Method::Email`](mfa_core::Method::Email), which a rev 4 policy never counts, and it is
    /// marked restricted besides. Meant for account recovery flows that decide for themselves.
    #[must_use]
    pub fn danger_allow_email_codes(mut self) -> Self {
        self.email_codes = EmailCodes::Allowed;
        self
    }

    /// How codes are made.
    #[must_use]
    pub fn code(&self) -> &CodePolicy {
        &self.code
    }

    /// The send limits.
    #[must_use]
    pub fn limits(&self) -> &SendLimits {
        &self.limits
    }

    /// Which numbers may receive codes.
    #[must_use]
    pub fn numbers(&self) -> &NumberPolicy {
        &self.numbers
    }

    /// The messages.
    #[must_use]
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The attempt throttle.
    #[must_use]
    pub fn throttle(&self) -> &ThrottlePolicy {
        &self.throttle
    }

    /// How many phones one account may enroll.
    #[must_use]
    pub fn max_phones(&self) -> usize {
        self.max_phones
    }

    /// Whether codes may go out by e-mail.
    #[must_use]
    pub fn email_codes_allowed(&self) -> bool {
        self.email_codes == EmailCodes::Allowed
    }
}
