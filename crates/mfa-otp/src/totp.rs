//! TOTP ([RFC 6238](https://www.rfc-editor.org/rfc/rfc6238)): codes, stored credential, and the
//! constant-time, replay-safe verifier.

use core::num::NonZeroU64;

use core::fmt;

use mfa_core::{CredentialId, CryptoRng, Evidence, Method, UnixTime, Verified};
use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::{OtpCode, TypedCode, scan, truncated_value, with_keyed_mac};
use crate::error::OtpError;
use crate::params::{Algorithm, CodeFormat, Digits};
use crate::secret::OtpSecret;
use crate::uri::KeyUri;

/// The default time step: 30 seconds ([RFC 6238 §5.2](https://www.rfc-editor.org/rfc/rfc6238#section-5.2)).
pub const DEFAULT_PERIOD: Period = Period::THIRTY;

/// The TOTP time step `X` in whole seconds, 1 to [`Period::MAX`] (600, ten minutes)
/// ([RFC 6238 §4.1](https://www.rfc-editor.org/rfc/rfc6238#section-4.1); §5.2 recommends 30).
///
/// Why a bound: the longer the step, the longer one code stays valid, and a step of years makes
/// the code effectively static (a password, not a one-time code). Authenticator apps and hardware
/// tokens use 30 or 60 seconds; ten minutes leaves generous room for unusual deployments while
/// keeping codes short-lived: with the default ±1-step [`Window`] a code is accepted for at most
/// 30 minutes. Every way to get a `Period` checks the bound: [`Period::new`], `TryFrom<u64>`,
/// deserialization, and [`KeyUri::parse`](crate::KeyUri::parse) for a URI's `period` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Period(NonZeroU64);

impl Period {
    /// Thirty seconds: the default, and what every authenticator app assumes.
    pub const THIRTY: Self = Self(match NonZeroU64::new(30) {
        Some(seconds) => seconds,
        None => NonZeroU64::MIN,
    });
    /// The shortest period, in seconds.
    pub const MIN: u64 = 1;
    /// The longest period, in seconds: ten minutes (see the type's documentation for why).
    pub const MAX: u64 = 600;

    /// Validates a period in seconds.
    ///
    /// # Errors
    /// [`OtpError::InvalidParameter`] outside 1 to [`MAX`](Self::MAX).
    pub const fn new(seconds: u64) -> Result<Self, OtpError> {
        match NonZeroU64::new(seconds) {
            Some(seconds) if seconds.get() <= Self::MAX => Ok(Self(seconds)),
            _ => Err(OtpError::InvalidParameter(
                "a TOTP period is 1 to 600 seconds",
            )),
        }
    }

    /// The period in seconds.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0.get()
    }
}

impl Default for Period {
    fn default() -> Self {
        Self::THIRTY
    }
}

impl TryFrom<u64> for Period {
    type Error = OtpError;

    fn try_from(seconds: u64) -> Result<Self, OtpError> {
        Self::new(seconds)
    }
}

impl From<Period> for u64 {
    fn from(period: Period) -> Self {
        period.get()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a TOTP credential computes codes ([RFC 6238 §4](https://www.rfc-editor.org/rfc/rfc6238#section-4)):
/// `T = floor((now - T0) / period)`, then HOTP with counter `T`.
///
/// Defaults: SHA-1, 6 digits, 30 s, `T0` = 0 — what every authenticator app assumes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TotpParams {
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits (or Steam Guard characters).
    pub format: CodeFormat,
    /// The time step in seconds (`X`), 1 to [`Period::MAX`].
    pub period: Period,
    /// The Unix time at which step 0 starts (`T0`).
    #[serde(default)]
    pub t0: u64,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            format: CodeFormat::default(),
            period: DEFAULT_PERIOD,
            t0: 0,
        }
    }
}

impl TotpParams {
    /// Steam Guard: SHA-1, 30 s, five characters.
    #[must_use]
    pub fn steam() -> Self {
        Self {
            format: CodeFormat::Steam,
            ..Self::default()
        }
    }

    /// With this hash.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// With this many decimal digits.
    #[must_use]
    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.format = CodeFormat::Decimal(digits);
        self
    }

    /// With this code format.
    #[must_use]
    pub fn with_format(mut self, format: CodeFormat) -> Self {
        self.format = format;
        self
    }

    /// With this time step.
    #[must_use]
    pub fn with_period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }

    /// With this `T0`.
    #[must_use]
    pub fn with_t0(mut self, t0: u64) -> Self {
        self.t0 = t0;
        self
    }

    /// The time step `T` at `time` (whole seconds; times beyond 2^32 s are fine).
    ///
    /// # Errors
    /// [`OtpError::BeforeEpoch`] if `time` is before `T0`.
    pub fn step_at(&self, time: UnixTime) -> Result<u64, OtpError> {
        let since_t0 = time
            .as_secs()
            .checked_sub(self.t0)
            .ok_or(OtpError::BeforeEpoch)?;
        Ok(since_t0 / self.period.0)
    }

    /// The code at `time`.
    ///
    /// # Errors
    /// [`OtpError::BeforeEpoch`] if `time` is before `T0`.
    pub fn code_at(&self, secret: &OtpSecret, time: UnixTime) -> Result<OtpCode, OtpError> {
        Ok(self.code_for_step(secret, self.step_at(time)?))
    }

    /// The code of time step `step`.
    #[must_use]
    pub fn code_for_step(&self, secret: &OtpSecret, step: u64) -> OtpCode {
        OtpCode::new(self.format, truncated_value(self.algorithm, secret, step))
    }
}

/// How many steps before and after the current one are accepted, to allow for clock drift and the
/// time it takes to type ([RFC 6238 §5.2](https://www.rfc-editor.org/rfc/rfc6238#section-5.2)).
///
/// The default is one step each way (±30 s with the default period), the most is
/// [`MAX_STEPS`](Self::MAX_STEPS) each way; deserializing checks that bound like [`new`](Self::new).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Window {
    past: u32,
    future: u32,
}

/// A [`Window`] as it is serialized, before its bound is checked.
#[derive(Deserialize)]
#[serde(rename = "Window")]
struct UncheckedWindow {
    past: u32,
    future: u32,
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let unchecked = UncheckedWindow::deserialize(deserializer)?;
        Self::new(unchecked.past, unchecked.future).map_err(serde::de::Error::custom)
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Window {
    /// At most this many steps each way.
    pub const MAX_STEPS: u32 = 100;
    /// One step back, one step ahead.
    pub const DEFAULT: Self = Self { past: 1, future: 1 };
    /// Only the current step.
    pub const EXACT: Self = Self { past: 0, future: 0 };

    /// Accepts `past` steps before the current one and `future` steps after it.
    ///
    /// # Errors
    /// [`OtpError::InvalidParameter`] beyond [`MAX_STEPS`](Self::MAX_STEPS) either way.
    pub const fn new(past: u32, future: u32) -> Result<Self, OtpError> {
        if past > Self::MAX_STEPS || future > Self::MAX_STEPS {
            return Err(OtpError::InvalidParameter(
                "a window is at most 100 steps each way",
            ));
        }
        Ok(Self { past, future })
    }

    /// `steps` each way.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub const fn symmetric(steps: u32) -> Result<Self, OtpError> {
        Self::new(steps, steps)
    }

    /// Steps accepted before the current one.
    #[must_use]
    pub const fn past(self) -> u32 {
        self.past
    }

    /// Steps accepted after the current one.
    #[must_use]
    pub const fn future(self) -> u32 {
        self.future
    }

    /// The steps of the window around `step`, ascending; steps below 0 or above `u64::MAX` are
    /// left out.
    fn around(self, step: u64) -> impl Iterator<Item = u64> {
        let before = (1..=self.past)
            .rev()
            .filter_map(move |k| step.checked_sub(u64::from(k)));
        let after = (1..=self.future).filter_map(move |k| step.checked_add(u64::from(k)));
        before.chain(core::iter::once(step)).chain(after)
    }
}

/// What is stored for one TOTP enrollment: the secret, its parameters, and the last accepted time
/// step, which makes every step single use; plus when it was created and last used, for a
/// "your sign-in methods" page.
///
/// [`begin_totp_enrollment`](crate::begin_totp_enrollment) and
/// [`confirm_totp_enrollment`](crate::confirm_totp_enrollment) create it once the user has typed
/// a code; [`verify_totp`](crate::verify_totp) checks a code, throttled, and commits the new last
/// step atomically, so concurrent submissions of one code have exactly one winner. (The general
/// form, for another [`Window`]: [`mfa_core::ThrottlePolicy::verify_and_commit`] with
/// [`Totp::check`] as the closure.)
///
/// Records stored before `created_at` and `last_used_at` existed load with both `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpCredential {
    id: CredentialId,
    secret: OtpSecret,
    params: TotpParams,
    #[serde(default)]
    last_step: Option<u64>,
    #[serde(default)]
    created_at: Option<UnixTime>,
    #[serde(default)]
    last_used_at: Option<UnixTime>,
}

impl TotpCredential {
    /// A credential for `secret` that has not accepted a code yet.
    ///
    /// For a new enrollment with a secret you did not generate, check it first with
    /// [`SecretPolicy::check_new`](crate::SecretPolicy::check_new).
    #[must_use]
    pub fn new(id: impl Into<CredentialId>, secret: OtpSecret, params: TotpParams) -> Self {
        Self {
            id: id.into(),
            secret,
            params,
            last_step: None,
            created_at: None,
            last_used_at: None,
        }
    }

    /// A new enrollment with a fresh 160-bit secret from `rng`.
    ///
    /// Chain [`with_created_at`](Self::with_created_at) to record when. To enroll an app, prefer
    /// [`begin_totp_enrollment`](crate::begin_totp_enrollment), which stores nothing usable until
    /// the user has proved the app shows the right codes.
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(
        id: impl Into<CredentialId>,
        rng: &mut R,
        params: TotpParams,
    ) -> Self {
        Self::new(id, OtpSecret::generate(rng), params)
    }

    /// The credential's identifier (goes into [`Evidence`]).
    #[must_use]
    pub fn id(&self) -> &CredentialId {
        &self.id
    }

    /// The shared secret.
    #[must_use]
    pub fn secret(&self) -> &OtpSecret {
        &self.secret
    }

    /// How codes are computed.
    #[must_use]
    pub fn params(&self) -> &TotpParams {
        &self.params
    }

    /// The last accepted time step, if any: codes of this step and older are replays.
    #[must_use]
    pub fn last_step(&self) -> Option<u64> {
        self.last_step
    }

    /// When the credential was created (enrollment confirmed), if recorded.
    #[must_use]
    pub fn created_at(&self) -> Option<UnixTime> {
        self.created_at
    }

    /// When a code was last accepted ([`Totp::verify`] sets it), if ever.
    #[must_use]
    pub fn last_used_at(&self) -> Option<UnixTime> {
        self.last_used_at
    }

    /// With this creation time.
    #[must_use]
    pub fn with_created_at(mut self, at: UnixTime) -> Self {
        self.created_at = Some(at);
        self
    }

    /// The code at `time` (what the authenticator app shows).
    ///
    /// # Errors
    /// [`OtpError::BeforeEpoch`] if `time` is before `T0`.
    pub fn code_at(&self, time: UnixTime) -> Result<OtpCode, OtpError> {
        self.params.code_at(&self.secret, time)
    }

    /// The `otpauth://totp/…` key URI to enroll an authenticator app.
    ///
    /// # Errors
    /// As [`KeyUri::totp`].
    pub fn key_uri(&self, issuer: Option<&str>, account: &str) -> Result<KeyUri, OtpError> {
        KeyUri::totp(issuer, account, self.secret.clone(), &self.params)
    }
}

/// The TOTP verifier: a window, and nothing else; the credential carries everything per user.
///
/// ```
/// use mfa_core::UnixTime;
/// use mfa_otp::{OtpError, OtpSecret, Totp, TotpCredential, TotpParams};
///
/// let secret = OtpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?; // RFC 6238's key
/// let credential = TotpCredential::new("phone", secret, TotpParams::default());
/// let now = UnixTime::from_secs(59);
/// let verified = Totp::new().verify(&credential, "287082", now)?;
/// assert_eq!(verified.credential().last_step(), Some(1));
/// // The same code again is a replay.
/// assert_eq!(Totp::new().verify(verified.credential(), "287082", now), Err(OtpError::Replayed));
/// # Ok::<(), OtpError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totp {
    window: Window,
}

impl Totp {
    /// A verifier with the default window (±1 step).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            window: Window::DEFAULT,
        }
    }

    /// With this window.
    #[must_use]
    pub const fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// The window.
    #[must_use]
    pub const fn window(&self) -> Window {
        self.window
    }

    /// Checks `code` against `credential` at `now`.
    ///
    /// Computes the code of every step in the window (the HMAC key is scheduled once), compares
    /// each in constant time, and accepts the oldest matching step that is newer than the last
    /// accepted one. On success the returned credential records that step and `now` as its
    /// [last use](TotpCredential::last_used_at): commit it.
    ///
    /// # Errors
    /// [`OtpError::MalformedCode`] if `code` does not have the format's length and characters
    /// (spaces are ignored), [`OtpError::Replayed`] if it matches only steps that are not newer
    /// than the last accepted one, [`OtpError::CodeMismatch`] if it matches none,
    /// [`OtpError::BeforeEpoch`] if `now` is before `T0`.
    pub fn verify(
        &self,
        credential: &TotpCredential,
        code: &str,
        now: UnixTime,
    ) -> Result<Verified<TotpCredential>, OtpError> {
        let outcome = self.matched_step(
            &credential.secret,
            &credential.params,
            code,
            now,
            credential.last_step,
        );
        // The evidence and the updated credential are built whether or not the code matched, so
        // a match costs no more than a mismatch (the allocations would otherwise tell them apart).
        let evidence = Evidence::new(Method::Totp, now, credential.id.clone());
        let mut updated = credential.clone();
        let step = outcome?;
        updated.last_step = Some(step);
        updated.last_used_at = Some(now);
        Ok(Verified::new(evidence, updated))
    }

    /// [`verify`](Self::verify) as a closure for the store helpers:
    /// `mfa_core::verify_and_commit(&store, &key, totp.check(code, now))`.
    pub fn check<'a>(
        &'a self,
        code: &'a str,
        now: UnixTime,
    ) -> impl Fn(&TotpCredential) -> Result<Verified<TotpCredential>, OtpError> + 'a {
        move |credential| self.verify(credential, code, now)
    }

    /// The stateless core of [`verify`](Self::verify): the matched step, for a secret and
    /// parameters held elsewhere. `last_step` is the last accepted step, if any; pass `None` only
    /// where replays are prevented some other way.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn matched_step(
        &self,
        secret: &OtpSecret,
        params: &TotpParams,
        code: &str,
        now: UnixTime,
        last_step: Option<u64>,
    ) -> Result<u64, OtpError> {
        let typed = TypedCode::parse(params.format, code)?;
        let step = params.step_at(now)?;
        with_keyed_mac(params.algorithm, secret, |mac| {
            scan(
                mac,
                params.format,
                &typed,
                self.window.around(step),
                last_step,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_steps_are_ascending_and_clipped() {
        let window = Window::new(2, 1).unwrap();
        assert_eq!(window.around(10).collect::<Vec<_>>(), [8, 9, 10, 11]);
        assert_eq!(window.around(1).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(
            window.around(u64::MAX).collect::<Vec<_>>(),
            [u64::MAX - 2, u64::MAX - 1, u64::MAX]
        );
        assert_eq!(Window::EXACT.around(5).collect::<Vec<_>>(), [5]);
        assert!(Window::new(101, 0).is_err());
        assert!(Window::symmetric(100).is_ok());
    }

    fn from_cbor<T: serde::de::DeserializeOwned>(value: &impl Serialize) -> Result<T, String> {
        let mut bytes = Vec::new();
        ciborium::into_writer(value, &mut bytes).unwrap();
        ciborium::from_reader(bytes.as_slice()).map_err(|error| error.to_string())
    }

    /// Review item 5: a window beyond 100 steps used to deserialize (`{"past": 2000000}`), so a
    /// configuration file could make the verifier accept most guesses and spend ~0.4 s per check.
    /// JSON and CBOR go through [`Window::new`] now.
    #[test]
    fn item5_deserialized_window_beyond_limit_is_rejected() {
        for (past, future) in [
            (2_000_000, 0),
            (0, 2_000_000),
            (101, 0),
            (0, 101),
            (u32::MAX, 1),
        ] {
            let json = format!(r#"{{"past":{past},"future":{future}}}"#);
            let error = serde_json::from_str::<Window>(&json).unwrap_err();
            assert!(
                error.to_string().contains("at most 100 steps"),
                "{json}: {error}"
            );
            let raw = serde_json::json!({ "past": past, "future": future });
            let error = from_cbor::<Window>(&raw).unwrap_err();
            assert!(error.contains("at most 100 steps"), "{raw}: {error}");
        }
        for window in [Window::EXACT, Window::DEFAULT, Window::new(100, 7).unwrap()] {
            let json = serde_json::to_string(&window).unwrap();
            assert_eq!(serde_json::from_str::<Window>(&json).unwrap(), window);
            assert_eq!(from_cbor::<Window>(&window).unwrap(), window);
        }
        assert!(serde_json::from_str::<Window>(r#"{"past":1}"#).is_err());
    }

    /// Review item 5, the other bounded parameters: digit counts and periods deserialize only
    /// through [`Digits::new`] and [`Period::new`], in JSON and in CBOR.
    #[test]
    fn item5_deserialized_digits_and_period_beyond_limits_are_rejected() {
        for digits in [0_u64, 5, 11, 255, 256] {
            assert!(serde_json::from_str::<Digits>(&digits.to_string()).is_err());
            assert!(from_cbor::<Digits>(&digits).is_err(), "{digits}");
        }
        for period in [0_u64, 601, 3600, u64::MAX] {
            assert!(serde_json::from_str::<Period>(&period.to_string()).is_err());
            assert!(from_cbor::<Period>(&period).is_err(), "{period}");
        }
        assert!(serde_json::from_str::<Period>("-1").is_err());
        assert_eq!(from_cbor::<Period>(&600_u64).unwrap().get(), 600);
        assert_eq!(from_cbor::<Digits>(&10_u8).unwrap().get(), 10);
        let params = TotpParams::default()
            .with_digits(Digits::EIGHT)
            .with_period(Period::new(60).unwrap());
        assert_eq!(from_cbor::<TotpParams>(&params).unwrap(), params);
        let json = serde_json::to_string(&params).unwrap();
        assert_eq!(serde_json::from_str::<TotpParams>(&json).unwrap(), params);
        let too_long = json.replace("\"period\":60", "\"period\":601");
        assert_ne!(too_long, json);
        assert!(serde_json::from_str::<TotpParams>(&too_long).is_err());
    }

    /// Review item 6: periods up to 2^64 - 1 were accepted, making the code effectively static;
    /// now 1 to 600 seconds, and nothing else, is a [`Period`].
    #[test]
    fn item6_period_beyond_bound_is_rejected() {
        for seconds in [0, Period::MAX + 1, 3600, 1 << 32, u64::MAX] {
            assert_eq!(
                Period::new(seconds),
                Err(OtpError::InvalidParameter(
                    "a TOTP period is 1 to 600 seconds"
                )),
                "{seconds}"
            );
            assert!(Period::try_from(seconds).is_err());
        }
        for seconds in [Period::MIN, 15, 30, 60, Period::MAX] {
            assert_eq!(Period::new(seconds).unwrap().get(), seconds);
        }
        assert_eq!(Period::default(), DEFAULT_PERIOD);
        assert_eq!(DEFAULT_PERIOD.get(), 30);
        assert_eq!(DEFAULT_PERIOD.to_string(), "30");
    }

    #[test]
    fn steps_with_t0_and_large_times() {
        let params = TotpParams::default().with_t0(100);
        assert_eq!(
            params.step_at(UnixTime::from_secs(99)),
            Err(OtpError::BeforeEpoch)
        );
        assert_eq!(params.step_at(UnixTime::from_secs(100)), Ok(0));
        assert_eq!(params.step_at(UnixTime::from_secs(160)), Ok(2));
        let far = UnixTime::from_secs(1 << 40);
        assert_eq!(TotpParams::default().step_at(far), Ok((1 << 40) / 30));
        let one = TotpParams::default().with_period(Period::new(1).unwrap());
        assert_eq!(one.step_at(UnixTime::from_secs(u64::MAX)), Ok(u64::MAX));
    }
}
