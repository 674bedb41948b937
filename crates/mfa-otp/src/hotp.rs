//! HOTP ([RFC 4226](https://www.rfc-editor.org/rfc/rfc4226)): codes, stored credential, look-ahead
//! verification and resynchronisation.

use mfa_core::{CredentialId, CryptoRng, Evidence, Method, UnixTime, Verified};
use serde::{Deserialize, Serialize};

use crate::engine::{OtpCode, TypedCode, scan, scan_pair, truncated_value, with_keyed_mac};
use crate::error::OtpError;
use crate::params::{Algorithm, CodeFormat, Digits};
use crate::secret::OtpSecret;
use crate::uri::KeyUri;

/// How an HOTP credential computes codes. Defaults: SHA-1, 6 digits.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HotpParams {
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits (or Steam Guard characters).
    pub format: CodeFormat,
}

impl HotpParams {
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

    /// `HOTP(K, C)` ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)); any
    /// 64-bit counter.
    #[must_use]
    pub fn code(&self, secret: &OtpSecret, counter: u64) -> OtpCode {
        OtpCode::new(
            self.format,
            truncated_value(self.algorithm, secret, counter),
        )
    }
}

/// What is stored for one HOTP enrollment: the secret, its parameters, and the next counter value
/// the token is expected to show; plus when it was created and last used. Every accepted code
/// moves the counter past it, so no code is accepted twice: [`verify_hotp`](crate::verify_hotp)
/// checks a code, throttled, and commits the new counter (the general form, for another
/// look-ahead or [`Hotp::resync`]: [`mfa_core::ThrottlePolicy::verify_and_commit`] with
/// [`Hotp::check`]).
///
/// Records stored before `created_at` and `last_used_at` existed load with both `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotpCredential {
    id: CredentialId,
    secret: OtpSecret,
    params: HotpParams,
    counter: u64,
    #[serde(default)]
    created_at: Option<UnixTime>,
    #[serde(default)]
    last_used_at: Option<UnixTime>,
}

impl HotpCredential {
    /// A credential whose token will show the code of `counter` next (usually 0).
    ///
    /// For a new enrollment with a secret you did not generate, check it first with
    /// [`SecretPolicy::check_new`](crate::SecretPolicy::check_new).
    #[must_use]
    pub fn new(
        id: impl Into<CredentialId>,
        secret: OtpSecret,
        params: HotpParams,
        counter: u64,
    ) -> Self {
        Self {
            id: id.into(),
            secret,
            params,
            counter,
            created_at: None,
            last_used_at: None,
        }
    }

    /// A new enrollment with a fresh 160-bit secret from `rng`, counter 0. Chain
    /// [`with_created_at`](Self::with_created_at) to record when.
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(
        id: impl Into<CredentialId>,
        rng: &mut R,
        params: HotpParams,
    ) -> Self {
        Self::new(id, OtpSecret::generate(rng), params, 0)
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
    pub fn params(&self) -> &HotpParams {
        &self.params
    }

    /// The next counter value expected; codes of lower counters are never accepted again.
    #[must_use]
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// When the credential was created, if recorded.
    #[must_use]
    pub fn created_at(&self) -> Option<UnixTime> {
        self.created_at
    }

    /// When a code was last accepted ([`Hotp::verify`] and [`Hotp::resync`] set it), if ever.
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

    /// The `otpauth://hotp/…` key URI to enroll an authenticator app.
    ///
    /// # Errors
    /// As [`KeyUri::hotp`].
    pub fn key_uri(&self, issuer: Option<&str>, account: &str) -> Result<KeyUri, OtpError> {
        KeyUri::hotp(
            issuer,
            account,
            self.secret.clone(),
            &self.params,
            self.counter,
        )
    }

    /// The credential after accepting the code of counter `used` at `now`.
    fn advanced_past(&self, used: u64, now: UnixTime) -> Result<Self, OtpError> {
        Ok(Self {
            counter: used.checked_add(1).ok_or(OtpError::CounterExhausted)?,
            last_used_at: Some(now),
            ..self.clone()
        })
    }
}

/// The HOTP verifier: how far ahead of the stored counter a code may be (the look-ahead window
/// `s` of [RFC 4226 §7.4](https://www.rfc-editor.org/rfc/rfc4226#section-7.4)), and how far
/// resynchronisation searches.
///
/// Defaults: look-ahead 10 (the counter and the 10 after it: 11 codes), resynchronisation 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hotp {
    look_ahead: u32,
    resync_window: u32,
}

impl Default for Hotp {
    fn default() -> Self {
        Self::new()
    }
}

impl Hotp {
    /// The largest look-ahead allowed.
    pub const MAX_LOOK_AHEAD: u32 = 1000;
    /// The largest resynchronisation window allowed.
    pub const MAX_RESYNC_WINDOW: u32 = 10_000;

    /// A verifier with the defaults.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            look_ahead: 10,
            resync_window: 100,
        }
    }

    /// With this look-ahead (0: only the stored counter).
    ///
    /// # Errors
    /// [`OtpError::InvalidParameter`] above [`MAX_LOOK_AHEAD`](Self::MAX_LOOK_AHEAD).
    pub const fn with_look_ahead(mut self, look_ahead: u32) -> Result<Self, OtpError> {
        if look_ahead > Self::MAX_LOOK_AHEAD {
            return Err(OtpError::InvalidParameter(
                "the HOTP look-ahead is at most 1000",
            ));
        }
        self.look_ahead = look_ahead;
        Ok(self)
    }

    /// With this resynchronisation window.
    ///
    /// # Errors
    /// [`OtpError::InvalidParameter`] above [`MAX_RESYNC_WINDOW`](Self::MAX_RESYNC_WINDOW).
    pub const fn with_resync_window(mut self, window: u32) -> Result<Self, OtpError> {
        if window > Self::MAX_RESYNC_WINDOW {
            return Err(OtpError::InvalidParameter(
                "the HOTP resynchronisation window is at most 10000",
            ));
        }
        self.resync_window = window;
        Ok(self)
    }

    /// The look-ahead.
    #[must_use]
    pub const fn look_ahead(&self) -> u32 {
        self.look_ahead
    }

    /// Checks `code` against the stored counter and the look-ahead after it, computing every code
    /// of the window (key scheduled once) and comparing in constant time. On success the returned
    /// credential's counter is one past the matched counter, and its
    /// [last use](HotpCredential::last_used_at) is `now`: commit it.
    ///
    /// A replayed code matches a counter below the stored one, which is never computed, so it is
    /// a [`OtpError::CodeMismatch`].
    ///
    /// # Errors
    /// [`OtpError::MalformedCode`], [`OtpError::CodeMismatch`], or
    /// [`OtpError::CounterExhausted`] when the matched counter is `u64::MAX`.
    pub fn verify(
        &self,
        credential: &HotpCredential,
        code: &str,
        now: UnixTime,
    ) -> Result<Verified<HotpCredential>, OtpError> {
        let outcome = self.matched_counter(
            &credential.secret,
            &credential.params,
            code,
            credential.counter,
        );
        // Built on both paths so a match costs no more than a mismatch.
        let evidence = Evidence::new(Method::Hotp, now, credential.id.clone());
        let mut updated = credential.clone();
        updated.counter = outcome?.checked_add(1).ok_or(OtpError::CounterExhausted)?;
        updated.last_used_at = Some(now);
        Ok(Verified::new(evidence, updated))
    }

    /// [`verify`](Self::verify) as a closure for the store helpers.
    pub fn check<'a>(
        &'a self,
        code: &'a str,
        now: UnixTime,
    ) -> impl Fn(&HotpCredential) -> Result<Verified<HotpCredential>, OtpError> + 'a {
        move |credential| self.verify(credential, code, now)
    }

    /// The stateless core of [`verify`](Self::verify): the matched counter among `counter` and
    /// the look-ahead after it.
    ///
    /// # Errors
    /// [`OtpError::MalformedCode`] or [`OtpError::CodeMismatch`].
    pub fn matched_counter(
        &self,
        secret: &OtpSecret,
        params: &HotpParams,
        code: &str,
        counter: u64,
    ) -> Result<u64, OtpError> {
        let typed = TypedCode::parse(params.format, code)?;
        let candidates =
            (0..=u64::from(self.look_ahead)).filter_map(|ahead| counter.checked_add(ahead));
        with_keyed_mac(params.algorithm, secret, |mac| {
            scan(mac, params.format, &typed, candidates, None)
        })
    }

    /// Resynchronises a token whose counter ran ahead of the look-ahead window, from two
    /// consecutive codes the user reads off it
    /// ([RFC 4226 §7.4](https://www.rfc-editor.org/rfc/rfc4226#section-7.4)): searches the
    /// resynchronisation window after the stored counter for a counter whose code is `first` and
    /// whose successor's is `second`, and moves the counter past both. Every code of the window
    /// is computed and compared.
    ///
    /// This is a successful verification too (two codes in a row prove possession), so it returns
    /// [`Verified`] to be committed like [`verify`](Self::verify).
    ///
    /// # Errors
    /// [`OtpError::MalformedCode`] if either code is malformed, [`OtpError::CodeMismatch`] if no
    /// pair of consecutive counters matches, [`OtpError::CounterExhausted`] at the end of the
    /// counter space.
    pub fn resync(
        &self,
        credential: &HotpCredential,
        first: &str,
        second: &str,
        now: UnixTime,
    ) -> Result<Verified<HotpCredential>, OtpError> {
        let format = credential.params.format;
        let first = TypedCode::parse(format, first)?;
        let second = TypedCode::parse(format, second)?;
        let start = credential.counter;
        let candidates = (0..=u64::from(self.resync_window).saturating_add(1))
            .filter_map(|ahead| start.checked_add(ahead));
        let matched = with_keyed_mac(credential.params.algorithm, &credential.secret, |mac| {
            scan_pair(mac, format, &first, &second, candidates)
        })
        .ok_or(OtpError::CodeMismatch)?;
        let second_counter = matched.checked_add(1).ok_or(OtpError::CounterExhausted)?;
        let evidence = Evidence::new(Method::Hotp, now, credential.id.clone());
        Ok(Verified::new(
            evidence,
            credential.advanced_past(second_counter, now)?,
        ))
    }
}
