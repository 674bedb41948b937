//! The factor on an `mfa-core` store: send a code (within the limits), verify it once, enroll,
//! list and remove phones.
//!
//! # Records
//!
//! | record | key | holds |
//! |---|---|---|
//! | the account's out-of-band state | `("oob", account, "")` | enrolled phones (created, last used), the account's send counts and resend streak |
//! | the pending code | `("oob_code", account, "")` | the code, its channel, destination, transaction and expiry: one per account, a new code replaces it |
//! | a number's send counts | `("oob_sends", "", "number:+14155550142")` | sends per hour and day, resend streak |
//! | a country's send budget | `("oob_sends", "", "country:+44")` | sends per hour and day |
//! | the throttle | [`ThrottlePolicy::key_for`] the account record | consecutive failed codes |
//!
//! The throttle guards the account's out-of-band state, not a code: a new code does not clear
//! the failures the old one collected (NIST SP 800-63B-4 §3.2.2). The number and country records
//! hold the destination number in their key (keys may appear in logs; see
//! [`RecordKey`]); they expire two days after their last send, the pending code an hour after it
//! expired (on stores with expiry).
//!
//! Everything goes through `mfa-core`'s helpers (`update`, `put_until`, the throttled
//! `verify_challenge_and_commit`), written once against [`AsyncStore`] and driven over a blocking
//! [`Store`] by [`BlockingStore`] and [`block_on`].

use core::time::Duration;

use mfa_core::{
    AsyncStore, AttemptError, BlockingStore, Change, CryptoRng, Evidence, RecordKey, Store,
    StoreError, ThrottleStatus, Throttled, UnixTime, Verified, block_on, load_async,
    put_until_async, update_async,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::code::OobCode;
use crate::error::{OobError, SendLimitScope};
use crate::limits::{Admission, HISTORY_RETENTION, ResendGaps, SendHistory, WindowLimits};
use crate::message::{Channel, Destination, EmailAddress};
use crate::phone::PhoneNumber;
use crate::policy::OobPolicy;
use crate::sender::{AsyncSender, BlockingSender, Sender};

/// The record kind of an account's out-of-band state (its enrolled phones and send counts).
pub const OOB_ACCOUNT_KIND: &str = "oob";
/// The record kind of an account's pending code.
pub const OOB_CODE_KIND: &str = "oob_code";
/// The record kind of the send counts of a number or a country calling code.
pub const OOB_SENDS_KIND: &str = "oob_sends";

/// How long a pending code's record stays after the code expired, so that a late answer is told
/// [`OobError::Expired`] rather than that there is no code.
const EXPIRED_CODE_KEPT: Duration = Duration::from_secs(3600);
/// The longest account name, transaction id or phone id accepted, in bytes.
const MAX_ID_LEN: usize = 256;
/// The longest phone id, in characters.
const MAX_PHONE_ID_CHARS: usize = 64;

/// The record key of `account`'s out-of-band state: `("oob", account, "")`. It is the credential
/// the throttle guards ([`ThrottlePolicy::key_for`](mfa_core::ThrottlePolicy::key_for) of it).
#[must_use]
pub fn oob_account_key(account: &str) -> RecordKey {
    RecordKey::new(OOB_ACCOUNT_KIND, account, "")
}

/// The record key of `account`'s pending code: `("oob_code", account, "")`.
#[must_use]
pub fn oob_code_key(account: &str) -> RecordKey {
    RecordKey::new(OOB_CODE_KIND, account, "")
}

fn number_sends_key(number: &PhoneNumber) -> RecordKey {
    RecordKey::new(OOB_SENDS_KIND, "", format!("number:{}", number.e164()))
}

fn country_sends_key(calling_code: u16) -> RecordKey {
    RecordKey::new(OOB_SENDS_KIND, "", format!("country:+{calling_code}"))
}

/// A phone number enrolled as an authenticator: confirmed by a code it received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledPhone {
    id: String,
    number: PhoneNumber,
    created_at: UnixTime,
    last_used_at: Option<UnixTime>,
}

impl EnrolledPhone {
    /// The id the service gave it (unique within the account; in evidence and logs).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The number.
    #[must_use]
    pub fn number(&self) -> &PhoneNumber {
        &self.number
    }

    /// When it was enrolled (the confirming code came back).
    #[must_use]
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }

    /// When a code it received last came back (the enrollment counts).
    #[must_use]
    pub fn last_used_at(&self) -> Option<UnixTime> {
        self.last_used_at
    }
}

/// An account's out-of-band state, as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct OobAccount {
    phones: Vec<EnrolledPhone>,
    sends: SendHistory,
    last_verified_at: Option<UnixTime>,
}

impl OobAccount {
    fn phone(&self, id: &str) -> Option<&EnrolledPhone> {
        self.phones.iter().find(|phone| phone.id == id)
    }

    /// Whether a phone with `id` or `number` can be added.
    fn check_room(&self, id: &str, number: &PhoneNumber, max: usize) -> Result<(), OobError> {
        if self
            .phones
            .iter()
            .any(|phone| phone.id == id || phone.number == *number)
        {
            return Err(OobError::AlreadyEnrolled);
        }
        if self.phones.len() >= max {
            return Err(OobError::TooManyPhones { max });
        }
        Ok(())
    }
}

/// What a code is for.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Purpose {
    /// Signing in with an enrolled phone.
    SignIn {
        phone_id: String,
        number: PhoneNumber,
    },
    /// Confirming a new phone.
    Enroll {
        phone_id: String,
        number: PhoneNumber,
    },
    /// An e-mail code (behind `danger_allow_email_codes`).
    Email { address: EmailAddress },
}

/// A code waiting for its answer, as stored.
#[derive(Serialize, Deserialize)]
struct PendingCode {
    purpose: Purpose,
    channel: Channel,
    transaction: String,
    code: OobCode,
    sent_at: UnixTime,
    expires_at: UnixTime,
}

/// What a matching code proves, without the code.
struct Proof {
    purpose: Purpose,
    channel: Channel,
}

impl PendingCode {
    /// The ordered checks. The code and the transaction are compared whatever the outcome, so
    /// the work does not depend on which check fails.
    fn check(
        self,
        typed: &OobCode,
        transaction: &str,
        account: &OobAccount,
        max_phones: usize,
        now: UnixTime,
    ) -> Result<Proof, OobError> {
        let code_matches: bool = self.code.ct_eq(typed).into();
        let transaction_matches: bool = self
            .transaction
            .as_bytes()
            .ct_eq(transaction.as_bytes())
            .into();
        if now >= self.expires_at {
            return Err(OobError::Expired);
        }
        if !code_matches {
            return Err(OobError::CodeMismatch);
        }
        if !transaction_matches {
            return Err(OobError::WrongTransaction);
        }
        let proof = Proof {
            purpose: self.purpose.clone(),
            channel: self.channel,
        };
        proof.apply(account, max_phones, now)?;
        Ok(proof)
    }
}

impl Proof {
    /// The account state after this proof, and what it proved.
    fn apply(
        &self,
        account: &OobAccount,
        max_phones: usize,
        now: UnixTime,
    ) -> Result<(OobAccount, Evidence, CodeOutcome), OobError> {
        let mut next = account.clone();
        next.last_verified_at = Some(now);
        next.sends.end_streak();
        let method = self.channel.method();
        let (evidence, outcome) = match &self.purpose {
            Purpose::SignIn { phone_id, number } => {
                let phone = next
                    .phones
                    .iter_mut()
                    .find(|phone| phone.id == *phone_id && phone.number == *number)
                    .ok_or(OobError::PhoneRemoved)?;
                phone.last_used_at = Some(now);
                let outcome = CodeOutcome::SignedIn(phone.clone());
                (Evidence::new(method, now, phone_id.as_str()), outcome)
            }
            Purpose::Enroll { phone_id, number } => {
                next.check_room(phone_id, number, max_phones)?;
                let phone = EnrolledPhone {
                    id: phone_id.clone(),
                    number: number.clone(),
                    created_at: now,
                    last_used_at: Some(now),
                };
                next.phones.push(phone.clone());
                (
                    Evidence::new(method, now, phone_id.as_str()),
                    CodeOutcome::Enrolled(phone),
                )
            }
            Purpose::Email { address } => {
                // Method::Email is never acceptable under rev 4; say it is restricted as well, so
                // a policy that refuses restricted authenticators refuses it too.
                let mut evidence = Evidence::new(method, now, "email");
                evidence.properties.restricted = true;
                (evidence, CodeOutcome::EmailConfirmed(address.clone()))
            }
        };
        Ok((next, evidence, outcome))
    }
}

/// What a verified code proved: a sign-in with an enrolled phone, a newly enrolled phone, or an
/// e-mail address.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    /// A sign-in code came back: the phone, with its new last-used time.
    SignedIn(EnrolledPhone),
    /// An enrollment code came back: the phone is now enrolled.
    Enrolled(EnrolledPhone),
    /// An e-mail code came back (only with
    /// [`OobPolicy::danger_allow_email_codes`](crate::OobPolicy::danger_allow_email_codes)).
    EmailConfirmed(EmailAddress),
}

impl CodeOutcome {
    /// The phone concerned, for a sign-in or an enrollment.
    #[must_use]
    pub fn phone(&self) -> Option<&EnrolledPhone> {
        match self {
            Self::SignedIn(phone) | Self::Enrolled(phone) => Some(phone),
            Self::EmailConfirmed(_) => None,
        }
    }
}

/// Who asks for a code, for which sign-in, how it travels and in which language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRequest<'a> {
    /// The account (1 to 256 bytes).
    pub account: &'a str,
    /// The sign-in (or enrollment, or recovery) transaction the code is for: an id the service
    /// keeps in the session that asked for the code (1 to 256 bytes). The code is accepted only
    /// with the same id, so a code cannot be carried into another session.
    pub transaction: &'a str,
    /// SMS, voice, or (behind a door) e-mail.
    pub channel: Channel,
    /// The user's language, a BCP 47 tag (`en`, `de-AT` …); see [`Messages`](crate::Messages).
    pub language: &'a str,
}

/// Where a code goes.
#[derive(Clone, Copy, Debug)]
pub enum CodeTarget<'a> {
    /// An enrolled phone of the account, by id: a sign-in code.
    Phone(&'a str),
    /// A phone to enroll under the id `id`: the code confirms the account holder has it.
    NewPhone {
        /// The id the phone will have (1 to 64 characters, no control characters).
        id: &'a str,
        /// The number.
        number: &'a PhoneNumber,
    },
    /// An e-mail address (the channel must be [`Channel::Email`], and the policy must
    /// [allow it](crate::OobPolicy::danger_allow_email_codes)).
    Email(&'a EmailAddress),
}

/// A code that went out: what to tell the user. It does not hold the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentCode {
    channel: Channel,
    to: String,
    expires_at: UnixTime,
    resend_at: UnixTime,
}

impl SentCode {
    /// How it travelled.
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The destination, masked: "we sent a code to +1 ••• ••• ••42".
    #[must_use]
    pub fn to(&self) -> &str {
        &self.to
    }

    /// When the code stops being accepted.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// The earliest time a resend passes the growing gap (hourly and daily limits may still say
    /// no): when to enable a "send again" button.
    #[must_use]
    pub fn resend_at(&self) -> UnixTime {
        self.resend_at
    }
}

fn check_id(id: &str, what: &'static str) -> Result<(), OobError> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(OobError::InvalidParameter(what));
    }
    Ok(())
}

/// The send-side checks that need no store.
fn check_request(
    policy: &OobPolicy,
    request: &CodeRequest<'_>,
    target: CodeTarget<'_>,
) -> Result<(), OobError> {
    check_id(request.account, "the account is 1 to 256 bytes")?;
    check_id(
        request.transaction,
        "the transaction id is 1 to 256 bytes, without control characters",
    )?;
    match (target, request.channel) {
        (CodeTarget::Email(_), Channel::Email) if policy.email_codes_allowed() => Ok(()),
        (CodeTarget::Email(_), channel) | (_, channel @ Channel::Email) => {
            Err(OobError::ChannelRefused(channel))
        }
        (CodeTarget::Phone(id), _) => check_id(id, "a phone id is 1 to 64 characters"),
        (CodeTarget::NewPhone { id, number }, channel) => {
            if id.chars().count() > MAX_PHONE_ID_CHARS {
                return Err(OobError::InvalidParameter(
                    "a phone id is 1 to 64 characters",
                ));
            }
            check_id(id, "a phone id is 1 to 64 characters")?;
            policy.numbers().check(number, channel)
        }
    }
}

/// Resolves the target against the account's state: the purpose of the code.
fn resolve(
    account: &OobAccount,
    policy: &OobPolicy,
    channel: Channel,
    target: CodeTarget<'_>,
) -> Result<Purpose, OobError> {
    let purpose = match target {
        CodeTarget::Phone(id) => {
            let phone = account.phone(id).ok_or(OobError::UnknownPhone)?;
            // The policy may have changed since the phone was enrolled.
            policy.numbers().check(&phone.number, channel)?;
            Purpose::SignIn {
                phone_id: phone.id.clone(),
                number: phone.number.clone(),
            }
        }
        CodeTarget::NewPhone { id, number } => {
            account.check_room(id, number, policy.max_phones())?;
            Purpose::Enroll {
                phone_id: id.to_owned(),
                number: number.clone(),
            }
        }
        CodeTarget::Email(address) => Purpose::Email {
            address: address.clone(),
        },
    };
    if let Purpose::SignIn { number, .. } | Purpose::Enroll { number, .. } = &purpose
        && policy.limits().country_blocked(number.calling_code())
    {
        return Err(OobError::CountryRefused {
            calling_code: number.calling_code(),
        });
    }
    Ok(purpose)
}

/// One counted send, to give back if a later step refuses.
enum Reservation {
    Account(Admission),
    Shared(RecordKey, Admission),
}

/// Gives back every reservation (best effort: a failed refund leaves the send counted, which errs
/// on the side of caution).
async fn refund_all<S: AsyncStore + ?Sized>(
    store: &S,
    account_key: &RecordKey,
    held: &[Reservation],
) {
    for reservation in held {
        let _best_effort = match reservation {
            Reservation::Account(admission) => {
                update_async(
                    store,
                    account_key,
                    |current: Option<&OobAccount>| match current {
                        Some(account) => {
                            let mut next = account.clone();
                            next.sends.refund(admission);
                            (Change::Put(next), ())
                        }
                        None => (Change::Keep, ()),
                    },
                )
                .await
            }
            Reservation::Shared(key, admission) => {
                update_async(store, key, |current: Option<&SendHistory>| match current {
                    Some(history) => {
                        let mut next = *history;
                        next.refund(admission);
                        (Change::Put(next), ())
                    }
                    None => (Change::Keep, ()),
                })
                .await
            }
        };
    }
}

/// Counts one send in the shared record at `key` (a number's or a country's).
async fn reserve_shared<S: AsyncStore + ?Sized>(
    store: &S,
    key: &RecordKey,
    limits: WindowLimits,
    gaps: Option<&ResendGaps>,
    now: UnixTime,
) -> Result<Result<(Admission, Option<UnixTime>), Duration>, StoreError> {
    let keep_until = now.saturating_add(HISTORY_RETENTION);
    update_async(store, key, |current: Option<&SendHistory>| {
        let mut history = current.copied().unwrap_or_default();
        match history.admit(limits, gaps, now) {
            Ok(admission) => {
                let next_send_at = gaps.and_then(|gaps| history.next_send_at(gaps));
                (
                    Change::PutUntil(history, keep_until),
                    Ok((admission, next_send_at)),
                )
            }
            Err(wait) => (Change::Keep, Err(wait)),
        }
    })
    .await
}

/// Sends a code (async): checks the request and the destination, counts the send against the
/// account's, the number's and the country's limits (giving the counts back if a later limit
/// refuses), stores the code (replacing any pending one), and hands the message to `sender`.
///
/// The code is drawn from `rng` first; nothing is sent unless every limit allowed it and the code
/// is stored. An account whose throttle is locked (too many failed codes) gets no more codes.
///
/// # Errors
/// - [`AttemptError::Rejected`] with [`OobError::SendLimited`] (`retry_after` says how long),
///   [`OobError::UnknownPhone`], [`OobError::AlreadyEnrolled`], [`OobError::TooManyPhones`],
///   [`OobError::NumberRefused`], [`OobError::ChannelRefused`], [`OobError::CountryRefused`],
///   [`OobError::InvalidParameter`] (nothing sent, nothing counted), or [`OobError::Delivery`]
///   (the code is stored and the send counted: the provider may have delivered or charged);
/// - [`AttemptError::Throttled`] with [`Throttled::LockedOut`];
/// - [`AttemptError::Store`] when the store fails (the counts are given back, best effort).
pub async fn send_code_async<S, D, R>(
    store: &S,
    sender: &D,
    policy: &OobPolicy,
    request: &CodeRequest<'_>,
    target: CodeTarget<'_>,
    now: UnixTime,
    rng: &mut R,
) -> Result<SentCode, AttemptError<OobError>>
where
    S: AsyncStore + ?Sized,
    D: AsyncSender + ?Sized,
    R: CryptoRng + ?Sized,
{
    check_request(policy, request, target).map_err(AttemptError::Rejected)?;
    let code = policy.code().generate(rng);
    let account_key = oob_account_key(request.account);
    if let ThrottleStatus::Throttled(locked @ Throttled::LockedOut { .. }) = policy
        .throttle()
        .status_async(store, &account_key, now)
        .await?
    {
        return Err(AttemptError::Throttled(locked));
    }

    let limits = policy.limits();
    let gaps = &limits.resend_gaps;
    let reserved = update_async(store, &account_key, |current: Option<&OobAccount>| {
        let mut account = current.cloned().unwrap_or_default();
        let purpose = match resolve(&account, policy, request.channel, target) {
            Ok(purpose) => purpose,
            Err(refusal) => return (Change::Keep, Err(refusal)),
        };
        match account.sends.admit(limits.per_account, Some(gaps), now) {
            Ok(admission) => {
                let next_send_at = account.sends.next_send_at(gaps);
                (Change::Put(account), Ok((purpose, admission, next_send_at)))
            }
            Err(retry_after) => (
                Change::Keep,
                Err(OobError::SendLimited {
                    scope: SendLimitScope::Account,
                    retry_after,
                }),
            ),
        }
    })
    .await?;
    let (purpose, admission, account_next) = reserved.map_err(AttemptError::Rejected)?;
    let mut held = vec![Reservation::Account(admission)];
    let mut resend_at = account_next.unwrap_or(now);

    let destination = match &purpose {
        Purpose::SignIn { number, .. } | Purpose::Enroll { number, .. } => {
            let shared = [
                (
                    number_sends_key(number),
                    limits.per_number,
                    Some(gaps),
                    SendLimitScope::Number,
                ),
                (
                    country_sends_key(number.calling_code()),
                    limits.for_country(number.calling_code()),
                    None,
                    SendLimitScope::Country {
                        calling_code: number.calling_code(),
                    },
                ),
            ];
            for (key, window, scope_gaps, scope) in shared {
                match reserve_shared(store, &key, window, scope_gaps, now).await {
                    Ok(Ok((admission, next_send_at))) => {
                        held.push(Reservation::Shared(key, admission));
                        resend_at = resend_at.max(next_send_at.unwrap_or(now));
                    }
                    Ok(Err(retry_after)) => {
                        refund_all(store, &account_key, &held).await;
                        return Err(AttemptError::Rejected(OobError::SendLimited {
                            scope,
                            retry_after,
                        }));
                    }
                    Err(store_error) => {
                        refund_all(store, &account_key, &held).await;
                        return Err(AttemptError::Store(store_error));
                    }
                }
            }
            Destination::Phone(number.clone())
        }
        Purpose::Email { address } => Destination::Email(address.clone()),
    };

    let lifetime = policy.code().lifetime();
    let expires_at = now.saturating_add(lifetime);
    let minutes = lifetime.as_secs().div_ceil(60);
    let message = match policy.messages().code_message(
        request.channel,
        destination,
        request.language,
        &code,
        minutes,
    ) {
        Ok(message) => message,
        Err(refusal) => {
            refund_all(store, &account_key, &held).await;
            return Err(AttemptError::Rejected(refusal));
        }
    };
    let to = message.to().masked();
    let pending = PendingCode {
        purpose,
        channel: request.channel,
        transaction: request.transaction.to_owned(),
        code,
        sent_at: now,
        expires_at,
    };
    let code_key = oob_code_key(request.account);
    let keep_until = expires_at.saturating_add(EXPIRED_CODE_KEPT);
    if let Err(store_error) = put_until_async(store, &code_key, &pending, keep_until).await {
        refund_all(store, &account_key, &held).await;
        return Err(AttemptError::Store(store_error));
    }
    drop(pending);

    sender
        .send(&message)
        .await
        .map_err(|error| AttemptError::Rejected(OobError::Delivery(error)))?;
    Ok(SentCode {
        channel: request.channel,
        to,
        expires_at,
        resend_at,
    })
}

/// Sends a code; see [`send_code_async`].
///
/// # Errors
/// As [`send_code_async`].
pub fn send_code<S, D, R>(
    store: &S,
    sender: &D,
    policy: &OobPolicy,
    request: &CodeRequest<'_>,
    target: CodeTarget<'_>,
    now: UnixTime,
    rng: &mut R,
) -> Result<SentCode, AttemptError<OobError>>
where
    S: Store + ?Sized,
    D: Sender + ?Sized,
    R: CryptoRng + ?Sized,
{
    block_on(send_code_async(
        &BlockingStore(store),
        &BlockingSender(sender),
        policy,
        request,
        target,
        now,
        rng,
    ))
}

/// Checks a typed code against `account`'s pending code for `transaction` (async), throttled:
/// the code is *taken* (atomically loaded and deleted) before it is compared, so it is accepted
/// at most once and a wrong guess uses it up.
///
/// The checks, in order, each compared in full whatever the earlier ones found: the code is 6 to
/// 10 digits (before the store is touched: a typo keeps the code), the throttle allows an attempt,
/// a code is pending, it has not expired, it matches (constant time), it was sent for this
/// transaction, and the phone it went to is still enrolled (or, for an enrollment code, can still
/// be added). On success the account's state (the phone's last use, a new phone, the end of the
/// resend streak) is committed with the throttle's count cleared.
///
/// # Errors
/// [`AttemptError::Rejected`] with [`OobError::MalformedCode`], [`OobError::Expired`],
/// [`OobError::CodeMismatch`] (the only one counted by the throttle),
/// [`OobError::WrongTransaction`], [`OobError::PhoneRemoved`], [`OobError::AlreadyEnrolled`],
/// [`OobError::TooManyPhones`]; [`AttemptError::ChallengeNotFound`] when no code is pending (never
/// sent, used, or replaced and gone); [`AttemptError::NotEnrolled`] when the account never had a
/// code; [`AttemptError::Throttled`]; [`AttemptError::Store`].
pub async fn verify_code_async<S: AsyncStore + ?Sized>(
    store: &S,
    policy: &OobPolicy,
    account: &str,
    transaction: &str,
    code: &str,
    now: UnixTime,
) -> Result<Verified<CodeOutcome>, AttemptError<OobError>> {
    let typed = OobCode::from_typed(code).map_err(AttemptError::Rejected)?;
    check_id(
        transaction,
        "the transaction id is 1 to 256 bytes, without control characters",
    )
    .map_err(AttemptError::Rejected)?;
    let max_phones = policy.max_phones();
    let mut outcome = None;
    let verified = policy
        .throttle()
        .verify_challenge_and_commit_async(
            store,
            &oob_code_key(account),
            &oob_account_key(account),
            now,
            |pending: PendingCode, current: &OobAccount| {
                pending.check(&typed, transaction, current, max_phones, now)
            },
            |proof: &Proof, current: &OobAccount| {
                let (next, evidence, what) = proof.apply(current, max_phones, now)?;
                outcome = Some(what);
                Ok(Verified::new(evidence, next))
            },
        )
        .await?;
    let (evidence, _committed) = verified.into_parts();
    match outcome {
        Some(outcome) => Ok(Verified::new(evidence, outcome)),
        // `apply` ran for the committed state, so this cannot happen; say so rather than panic.
        None => Err(AttemptError::Store(StoreError::Corrupt {
            key: oob_account_key(account).flat(),
            reason: "a verified code left no outcome".to_owned(),
        })),
    }
}

/// Checks a typed code; see [`verify_code_async`].
///
/// # Errors
/// As [`verify_code_async`].
pub fn verify_code<S: Store + ?Sized>(
    store: &S,
    policy: &OobPolicy,
    account: &str,
    transaction: &str,
    code: &str,
    now: UnixTime,
) -> Result<Verified<CodeOutcome>, AttemptError<OobError>> {
    block_on(verify_code_async(
        &BlockingStore(store),
        policy,
        account,
        transaction,
        code,
        now,
    ))
}

/// What is known about a pending code, without the code: for a page that says "enter the code we
/// sent to +1 ••• ••• ••42 (valid until …)", and for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCodeInfo {
    channel: Channel,
    to: String,
    phone_id: Option<String>,
    enrollment: bool,
    sent_at: UnixTime,
    expires_at: UnixTime,
}

impl PendingCodeInfo {
    /// How it travelled.
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The destination, masked.
    #[must_use]
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The phone it went to (an enrolled one, or the one it would enroll); `None` for e-mail.
    #[must_use]
    pub fn phone_id(&self) -> Option<&str> {
        self.phone_id.as_deref()
    }

    /// Whether it is an enrollment code.
    #[must_use]
    pub fn is_enrollment(&self) -> bool {
        self.enrollment
    }

    /// When it was sent.
    #[must_use]
    pub fn sent_at(&self) -> UnixTime {
        self.sent_at
    }

    /// When it stops being accepted.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

/// Describes `account`'s pending code, if any (async). Reading it changes nothing and reveals
/// no code.
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub async fn pending_code_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Option<PendingCodeInfo>, StoreError> {
    let pending: Option<PendingCode> = load_async(store, &oob_code_key(account)).await?;
    Ok(pending.map(|pending| {
        let (to, phone_id, enrollment) = match &pending.purpose {
            Purpose::SignIn { phone_id, number } => (number.masked(), Some(phone_id), false),
            Purpose::Enroll { phone_id, number } => (number.masked(), Some(phone_id), true),
            Purpose::Email { address } => (address.masked(), None, false),
        };
        PendingCodeInfo {
            channel: pending.channel,
            to,
            phone_id: phone_id.cloned(),
            enrollment,
            sent_at: pending.sent_at,
            expires_at: pending.expires_at,
        }
    }))
}

/// Describes `account`'s pending code, if any; see [`pending_code_async`].
///
/// # Errors
/// As [`pending_code_async`].
pub fn pending_code<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Option<PendingCodeInfo>, StoreError> {
    block_on(pending_code_async(&BlockingStore(store), account))
}

/// The phones `account` has enrolled, oldest first (async).
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub async fn list_phones_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<EnrolledPhone>, StoreError> {
    let state: Option<OobAccount> = load_async(store, &oob_account_key(account)).await?;
    Ok(state.map(|state| state.phones).unwrap_or_default())
}

/// The phones `account` has enrolled, oldest first; see [`list_phones_async`].
///
/// # Errors
/// As [`list_phones_async`].
pub fn list_phones<S: Store + ?Sized>(
    store: &S,
    account: &str,
) -> Result<Vec<EnrolledPhone>, StoreError> {
    block_on(list_phones_async(&BlockingStore(store), account))
}

/// Removes `account`'s phone `phone_id` (async) and returns it, or `None` if there was none. A
/// code already sent to it is refused from then on ([`OobError::PhoneRemoved`]). The account's
/// send counts stay: removing and re-adding a phone does not reset them.
///
/// # Errors
/// [`StoreError`] if the store fails or the record does not decode.
pub async fn remove_phone_async<S: AsyncStore + ?Sized>(
    store: &S,
    account: &str,
    phone_id: &str,
) -> Result<Option<EnrolledPhone>, StoreError> {
    update_async(
        store,
        &oob_account_key(account),
        |current: Option<&OobAccount>| {
            let Some(state) = current else {
                return (Change::Keep, None);
            };
            let mut next = state.clone();
            match next.phones.iter().position(|phone| phone.id == phone_id) {
                Some(index) => {
                    let removed = next.phones.remove(index);
                    (Change::Put(next), Some(removed))
                }
                None => (Change::Keep, None),
            }
        },
    )
    .await
}

/// Removes `account`'s phone `phone_id`; see [`remove_phone_async`].
///
/// # Errors
/// As [`remove_phone_async`].
pub fn remove_phone<S: Store + ?Sized>(
    store: &S,
    account: &str,
    phone_id: &str,
) -> Result<Option<EnrolledPhone>, StoreError> {
    block_on(remove_phone_async(&BlockingStore(store), account, phone_id))
}
