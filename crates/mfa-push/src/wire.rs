//! The wire format: three device-signed messages as compact JWS with ES256 ([RFC 7515],
//! [RFC 7518 §3.4]), and the unsigned push payload.
//!
//! Each message is `BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)`; the
//! signature is ECDSA P-256 with SHA-256 over the ASCII bytes `BASE64URL(header) "."
//! BASE64URL(payload)` *exactly as received*, as the 64 bytes `r ‖ s` (each 32 bytes, big-endian).
//! The verifier checks the signature over the received bytes first and only then parses, strictly:
//! no JSON canonicalisation is involved, so the phone may write its JSON however its platform
//! does.
//!
//! Domain separation: the header's `typ` names the message (`mfa-push-register+jwt`,
//! `mfa-push-response+jwt`, `mfa-push-request+jwt`), so a signature made for one can never be
//! accepted as another; the payload's `"v": 1` versions the format. See the crate README for every
//! field.
//!
//! [RFC 7515]: https://www.rfc-editor.org/rfc/rfc7515
//! [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4

use core::time::Duration;

use mfa_core::UnixTime;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::context::short_text;
use crate::error::PushError;
use crate::ids::{ChallengeId, DeviceId, EnrollmentToken, MatchNumber};
use crate::jwk::PublicJwk;

/// The largest signed message accepted, in bytes (the whole compact JWS).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The largest decoded JWS header accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 1024;
/// The largest decoded JWS payload accepted, in bytes.
pub const MAX_PAYLOAD_LEN: usize = 2048;
/// The longest device name, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 64;
/// The longest push-service token (APNs device token, FCM registration token), in bytes.
pub const MAX_PUSH_TOKEN_LEN: usize = 512;
/// The largest push payload accepted by [`PushPayload::from_json`], in bytes.
pub const MAX_PUSH_PAYLOAD_LEN: usize = 512;
/// The payload version this library writes and reads (`"v": 1`).
pub const PROTOCOL_VERSION: u64 = 1;
/// The only JWS algorithm: ECDSA P-256 SHA-256 ([RFC 7518 §3.4]).
///
/// [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4
pub const ALGORITHM: &str = "ES256";

/// The three signed messages, told apart by the JWS header's `typ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// The device's registration (`mfa-push-register+jwt`): carries its public key (`jwk`) and is
    /// signed with it (proof of possession).
    Register,
    /// The device's answer to a challenge (`mfa-push-response+jwt`, `kid`: the device id).
    Response,
    /// The device asking for pending challenges or a challenge's context
    /// (`mfa-push-request+jwt`, `kid`: the device id).
    Request,
}

impl MessageType {
    /// The header's `typ`.
    #[must_use]
    pub const fn typ(self) -> &'static str {
        match self {
            Self::Register => "mfa-push-register+jwt",
            Self::Response => "mfa-push-response+jwt",
            Self::Request => "mfa-push-request+jwt",
        }
    }
}

/// The device's platform, as it declares it at registration: the service picks the push
/// transport by it (APNs for `ios`, FCM for `android`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// iOS or iPadOS (`"ios"`).
    Ios,
    /// Android (`"android"`).
    Android,
    /// Anything else, or no push service (poll mode) (`"other"`).
    Other,
}

impl Platform {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::Android => "android",
            Self::Other => "other",
        }
    }
}

impl core::str::FromStr for Platform {
    type Err = PushError;

    /// `ios`, `android` or `other`.
    fn from_str(text: &str) -> Result<Self, PushError> {
        [Self::Ios, Self::Android, Self::Other]
            .into_iter()
            .find(|platform| platform.as_str() == text)
            .ok_or(PushError::Malformed("platform is ios, android or other"))
    }
}

/// What the user answered on the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Approve, with the number typed (typed modes) or picked (pick-one mode). There is no plain
    /// "approve": NIST SP 800-63B-4 does not accept one.
    Approve(MatchNumber),
    /// Deny: "this was not me, or I did not mean to".
    Deny,
    /// Report fraud: "someone else is trying to sign in as me". Locks push for the account.
    ReportFraud,
}

impl Answer {
    /// Approve with `digits` as typed or picked.
    ///
    /// # Errors
    /// [`PushError::Malformed`] if `digits` is not 1 to 8 ASCII digits.
    pub fn approve(digits: &str) -> Result<Self, PushError> {
        MatchNumber::parse(digits).map(Self::Approve)
    }
}

/// The decision as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Approve,
    Deny,
    Fraud,
}

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RequestOp {
    Pending,
    Context,
}

/// The JWS protected header; every member this format knows, and no other.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwk: Option<PublicJwk>,
}

/// The payload's version alone, read before the strict parse so a newer format is told apart
/// from a broken one.
#[derive(Deserialize)]
struct Versioned {
    v: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterPayload {
    v: u64,
    token: String,
    name: String,
    platform: Platform,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    push_token: Option<String>,
    iat: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponsePayload {
    v: u64,
    challenge: ChallengeId,
    decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number: Option<MatchNumber>,
    iat: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestPayload {
    v: u64,
    op: RequestOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    challenge: Option<ChallengeId>,
    iat: u64,
}

/// A compact JWS split and decoded, its signature not yet checked.
struct Jws<'a> {
    /// `BASE64URL(header) "." BASE64URL(payload)` as received: the signed bytes.
    signing_input: &'a str,
    header: Header,
    payload: Vec<u8>,
    signature: [u8; 64],
}

impl<'a> Jws<'a> {
    /// Splits, decodes and checks the header of a message that must be of type `expected`.
    fn parse(message: &'a str, expected: MessageType) -> Result<Self, PushError> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(PushError::Malformed("message too large"));
        }
        let mut parts = message.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PushError::Malformed(
                "not a compact JWS (three base64url parts)",
            ));
        };
        let header_bytes = b64::decode(header_b64, MAX_HEADER_LEN)
            .ok_or(PushError::Malformed("header is not base64url or too large"))?;
        let payload = b64::decode(payload_b64, MAX_PAYLOAD_LEN).ok_or(PushError::Malformed(
            "payload is not base64url or too large",
        ))?;
        let signature = b64::decode_array::<64>(signature_b64).ok_or(PushError::Malformed(
            "signature is not 64 bytes (r ‖ s) of base64url",
        ))?;
        let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| {
            PushError::Malformed("header is not a JSON object of the known members")
        })?;
        if header.alg != ALGORITHM {
            return Err(PushError::UnsupportedAlgorithm);
        }
        if header.typ != expected.typ() {
            return Err(PushError::WrongMessageType);
        }
        let wants_jwk = expected == MessageType::Register;
        if header.jwk.is_some() != wants_jwk || header.kid.is_some() == wants_jwk {
            return Err(PushError::Malformed(if wants_jwk {
                "a registration has a jwk and no kid"
            } else {
                "a response or request has a kid and no jwk"
            }));
        }
        // The signing input is everything before the second dot.
        let signing_input = message
            .get(
                ..header_b64
                    .len()
                    .saturating_add(1)
                    .saturating_add(payload_b64.len()),
            )
            .ok_or(PushError::Malformed("not a compact JWS"))?;
        Ok(Self {
            signing_input,
            header,
            payload,
            signature,
        })
    }

    /// Checks the signature over the received bytes with `key`.
    fn verify(&self, key: &VerifyingKey) -> Result<(), PushError> {
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| PushError::BadSignature)?;
        key.verify(self.signing_input.as_bytes(), &signature)
            .map_err(|_| PushError::BadSignature)
    }
}

/// Parses a payload: the version first, then every member strictly.
fn parse_payload<P: DeserializeOwned>(bytes: &[u8]) -> Result<P, PushError> {
    let versioned: Versioned = serde_json::from_slice(bytes)
        .map_err(|_| PushError::Malformed("payload is not a JSON object with a version"))?;
    if versioned.v != PROTOCOL_VERSION {
        return Err(PushError::UnsupportedVersion);
    }
    serde_json::from_slice(bytes)
        .map_err(|_| PushError::Malformed("payload has a missing, unknown or invalid member"))
}

/// Refuses a time further than `skew` from `now` either way.
pub(crate) fn check_issued_at(
    issued_at: UnixTime,
    now: UnixTime,
    skew: Duration,
) -> Result<(), PushError> {
    let distance = if issued_at > now {
        issued_at.saturating_since(now)
    } else {
        now.saturating_since(issued_at)
    };
    if distance > skew {
        Err(PushError::ClockSkew)
    } else {
        Ok(())
    }
}

/// A verified registration message: the device proved it holds the private key of [`jwk`].
///
/// [`jwk`]: Self::jwk
#[derive(Debug)]
#[non_exhaustive]
pub struct Registration {
    /// The device's public key, from the header.
    pub jwk: PublicJwk,
    /// Its thumbprint: the device id.
    pub device_id: DeviceId,
    /// The enrollment token from the QR code (secret).
    pub token: EnrollmentToken,
    /// The name the user gave the device ("Alice's iPhone"): 1 to 64 characters, no control
    /// characters.
    pub name: String,
    /// The device's platform.
    pub platform: Platform,
    /// The push-service token to reach the device (APNs, FCM), absent in poll mode: printable
    /// ASCII, at most [`MAX_PUSH_TOKEN_LEN`] bytes.
    pub push_token: Option<String>,
    /// The `iat` the device put in the message (whole **seconds** on the wire, as every phone-side
    /// time).
    pub issued_at: UnixTime,
}

impl Registration {
    /// Parses a registration message and checks its proof of possession: the signature must
    /// verify with the key in the header's `jwk`. Nothing else is checked here (the token, the
    /// time): [`register_device`](crate::register_device) does that.
    ///
    /// # Errors
    /// A format error ([`PushError::is_malformed`]) or [`PushError::BadSignature`].
    pub fn verify(message: &str) -> Result<Self, PushError> {
        let jws = Jws::parse(message, MessageType::Register)?;
        let jwk = jws
            .header
            .jwk
            .ok_or(PushError::Malformed("a registration has a jwk"))?;
        jws.verify(jwk.verifying_key())?;
        let payload: RegisterPayload = parse_payload(&jws.payload)?;
        let token = EnrollmentToken::parse(&payload.token)?;
        if payload.name.trim().is_empty() || !short_text(&payload.name, MAX_DEVICE_NAME_CHARS) {
            return Err(PushError::Malformed(
                "device name is empty, too long or has a control character",
            ));
        }
        if let Some(push_token) = &payload.push_token {
            check_push_token(push_token)?;
        }
        Ok(Self {
            device_id: jwk.thumbprint(),
            jwk,
            token,
            name: payload.name,
            platform: payload.platform,
            push_token: payload.push_token,
            issued_at: UnixTime::from_secs(payload.iat),
        })
    }
}

fn check_push_token(push_token: &str) -> Result<(), PushError> {
    if push_token.is_empty()
        || push_token.len() > MAX_PUSH_TOKEN_LEN
        || !push_token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(PushError::Malformed(
            "push token is empty, too long or not printable ASCII",
        ));
    }
    Ok(())
}

/// A response or request whose header has been read but whose signature has not been checked:
/// [`kid`](Self::kid) says which device's key to check it with.
pub(crate) struct Unverified<'a> {
    jws: Jws<'a>,
    kid: DeviceId,
}

impl<'a> Unverified<'a> {
    pub(crate) fn parse(message: &'a str, expected: MessageType) -> Result<Self, PushError> {
        let jws = Jws::parse(message, expected)?;
        let kid = DeviceId::parse(jws.header.kid.as_deref().unwrap_or_default())?;
        Ok(Self { jws, kid })
    }

    pub(crate) fn kid(&self) -> &DeviceId {
        &self.kid
    }

    /// Checks the signature with the device's key, then parses the payload as a response.
    pub(crate) fn into_response(self, key: &VerifyingKey) -> Result<SignedResponse, PushError> {
        self.jws.verify(key)?;
        response_from_payload(&self.jws.payload)
    }

    /// Checks the signature with the device's key, then parses the payload as a request.
    pub(crate) fn into_request(self, key: &VerifyingKey) -> Result<SignedRequest, PushError> {
        self.jws.verify(key)?;
        request_from_payload(&self.jws.payload)
    }
}

/// A message a registered device signs with its key (a response or a request).
pub(crate) trait DeviceSigned: Sized {
    /// Its `typ`.
    const TYPE: MessageType;
    /// Checks the signature with the device's key, then parses the payload.
    fn open(unverified: Unverified<'_>, key: &VerifyingKey) -> Result<Self, PushError>;
    /// Its `iat`.
    fn issued_at(&self) -> UnixTime;
}

impl DeviceSigned for SignedResponse {
    const TYPE: MessageType = MessageType::Response;
    fn open(unverified: Unverified<'_>, key: &VerifyingKey) -> Result<Self, PushError> {
        unverified.into_response(key)
    }
    fn issued_at(&self) -> UnixTime {
        self.issued_at
    }
}

impl DeviceSigned for SignedRequest {
    const TYPE: MessageType = MessageType::Request;
    fn open(unverified: Unverified<'_>, key: &VerifyingKey) -> Result<Self, PushError> {
        unverified.into_request(key)
    }
    fn issued_at(&self) -> UnixTime {
        self.issued_at
    }
}

/// A device's answer, signature checked.
#[derive(Debug)]
pub(crate) struct SignedResponse {
    pub(crate) challenge: ChallengeId,
    pub(crate) answer: Answer,
    pub(crate) issued_at: UnixTime,
}

fn response_from_payload(bytes: &[u8]) -> Result<SignedResponse, PushError> {
    let payload: ResponsePayload = parse_payload(bytes)?;
    let answer = match (payload.decision, payload.number) {
        (Decision::Approve, Some(number)) => Answer::Approve(number),
        (Decision::Deny, None) => Answer::Deny,
        (Decision::Fraud, None) => Answer::ReportFraud,
        (Decision::Approve, None) => {
            return Err(PushError::Malformed("an approval carries the number"));
        }
        (_, Some(_)) => {
            return Err(PushError::Malformed("only an approval carries a number"));
        }
    };
    Ok(SignedResponse {
        challenge: payload.challenge,
        answer,
        issued_at: UnixTime::from_secs(payload.iat),
    })
}

/// A device's request, signature checked.
#[derive(Debug)]
pub(crate) struct SignedRequest {
    pub(crate) op: RequestOp,
    pub(crate) challenge: Option<ChallengeId>,
    pub(crate) issued_at: UnixTime,
}

fn request_from_payload(bytes: &[u8]) -> Result<SignedRequest, PushError> {
    let payload: RequestPayload = parse_payload(bytes)?;
    match (payload.op, &payload.challenge) {
        (RequestOp::Pending, None) | (RequestOp::Context, Some(_)) => {}
        (RequestOp::Pending, Some(_)) => {
            return Err(PushError::Malformed("a pending request names no challenge"));
        }
        (RequestOp::Context, None) => {
            return Err(PushError::Malformed(
                "a context request names its challenge",
            ));
        }
    }
    Ok(SignedRequest {
        op: payload.op,
        challenge: payload.challenge,
        issued_at: UnixTime::from_secs(payload.iat),
    })
}

/// What goes through the push service (APNs, FCM) to wake the phone: the challenge id and the
/// device id as an opaque handle, nothing else. No number, no user data, no context: the phone
/// fetches the context with a signed request ([`challenge_context`](crate::challenge_context)).
///
/// JSON: `{"v":1,"challenge":"<22 chars>","handle":"<43 chars>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushPayload {
    /// Always [`PROTOCOL_VERSION`].
    pub v: u64,
    /// The challenge to answer.
    pub challenge: ChallengeId,
    /// The device id the push is for: an app holding keys for several accounts picks the key by
    /// it.
    pub handle: DeviceId,
}

impl PushPayload {
    /// The payload for `challenge` sent to `device`.
    #[must_use]
    pub fn new(challenge: ChallengeId, device: DeviceId) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            challenge,
            handle: device,
        }
    }

    /// The JSON to put in the push notification's data.
    #[must_use]
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"v":{},"challenge":"{}","handle":"{}"}}"#,
            self.v, self.challenge, self.handle
        )
    }

    /// Reads a push payload (on the phone, or in the CLI's `device respond`): at most
    /// [`MAX_PUSH_PAYLOAD_LEN`] bytes, exactly the three members.
    ///
    /// # Errors
    /// [`PushError::Malformed`] or [`PushError::UnsupportedVersion`].
    pub fn from_json(json: &str) -> Result<Self, PushError> {
        if json.len() > MAX_PUSH_PAYLOAD_LEN {
            return Err(PushError::Malformed("push payload too large"));
        }
        parse_payload(json.as_bytes())
    }
}

/// The device side's encoders.
#[cfg(feature = "device")]
pub(crate) mod encode {
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;
    use zeroize::Zeroizing;

    use super::*;

    /// Signs a message: header and payload serialized as compact JSON, then the JWS.
    fn sign<P: Serialize>(
        key: &SigningKey,
        header: &Header,
        payload: &P,
    ) -> Result<String, PushError> {
        let header = serde_json::to_vec(header)
            .map_err(|_| PushError::Malformed("header cannot be encoded"))?;
        // The payload may hold the token or the number: wiped after use.
        let payload = Zeroizing::new(
            serde_json::to_vec(payload)
                .map_err(|_| PushError::Malformed("payload cannot be encoded"))?,
        );
        let mut message = b64::encode(&header);
        message.push('.');
        message.push_str(&b64::encode(&payload));
        let signature: Signature = key.sign(message.as_bytes());
        message.push('.');
        message.push_str(&b64::encode(&signature.to_bytes()));
        if message.len() > MAX_MESSAGE_LEN {
            return Err(PushError::Malformed("message too large"));
        }
        Ok(message)
    }

    fn kid_header(typ: MessageType, kid: &DeviceId) -> Header {
        Header {
            alg: ALGORITHM.to_owned(),
            typ: typ.typ().to_owned(),
            kid: Some(kid.as_str().to_owned()),
            jwk: None,
        }
    }

    pub(crate) fn registration(
        key: &SigningKey,
        token: &EnrollmentToken,
        name: &str,
        platform: Platform,
        push_token: Option<&str>,
        now: UnixTime,
    ) -> Result<String, PushError> {
        if name.trim().is_empty() || !short_text(name, MAX_DEVICE_NAME_CHARS) {
            return Err(PushError::Malformed(
                "device name is empty, too long or has a control character",
            ));
        }
        if let Some(push_token) = push_token {
            check_push_token(push_token)?;
        }
        let header = Header {
            alg: ALGORITHM.to_owned(),
            typ: MessageType::Register.typ().to_owned(),
            kid: None,
            jwk: Some(PublicJwk::from_key(key.verifying_key())),
        };
        let payload = RegisterPayload {
            v: PROTOCOL_VERSION,
            token: token.expose_b64url().to_string(),
            name: name.to_owned(),
            platform,
            push_token: push_token.map(str::to_owned),
            iat: now.as_secs(),
        };
        let signed = sign(key, &header, &payload);
        let RegisterPayload { mut token, .. } = payload;
        zeroize::Zeroize::zeroize(&mut token);
        signed
    }

    pub(crate) fn response(
        key: &SigningKey,
        kid: &DeviceId,
        challenge: &ChallengeId,
        answer: &Answer,
        now: UnixTime,
    ) -> Result<String, PushError> {
        let (decision, number) = match answer {
            Answer::Approve(number) => (Decision::Approve, Some(number.clone())),
            Answer::Deny => (Decision::Deny, None),
            Answer::ReportFraud => (Decision::Fraud, None),
        };
        let payload = ResponsePayload {
            v: PROTOCOL_VERSION,
            challenge: challenge.clone(),
            decision,
            number,
            iat: now.as_secs(),
        };
        sign(key, &kid_header(MessageType::Response, kid), &payload)
    }

    pub(crate) fn request(
        key: &SigningKey,
        kid: &DeviceId,
        op: RequestOp,
        challenge: Option<&ChallengeId>,
        now: UnixTime,
    ) -> Result<String, PushError> {
        let payload = RequestPayload {
            v: PROTOCOL_VERSION,
            op,
            challenge: challenge.cloned(),
            iat: now.as_secs(),
        };
        sign(key, &kid_header(MessageType::Request, kid), &payload)
    }
}

/// Fuzz entry point for the response and request decoders (`fuzz/fuzz_targets/push_response.rs`):
/// never panics on any input. The payload parsers are reached directly as well, since a fuzzer
/// cannot sign.
#[doc(hidden)]
pub fn fuzz_response(data: &[u8]) {
    let _ = response_from_payload(data);
    let _ = request_from_payload(data);
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let _ = PushPayload::from_json(text);
    // The RFC 7515 Appendix A.3 key: any valid key will do to run the signature check.
    let Some(key) = b64::decode_array::<32>("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")
        .zip(b64::decode_array::<32>(
            "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        ))
        .and_then(|(x, y)| PublicJwk::from_coordinates(x, y).ok())
    else {
        return;
    };
    if let Ok(unverified) = Unverified::parse(text, MessageType::Response) {
        let _ = unverified.into_response(key.verifying_key());
    }
    if let Ok(unverified) = Unverified::parse(text, MessageType::Request) {
        let _ = unverified.into_request(key.verifying_key());
    }
}

/// Fuzz entry point for the registration message (`fuzz/fuzz_targets/push_enrollment.rs`, with
/// the enrollment URI): never panics on any input, and a registration that verifies names the
/// device by its key's thumbprint. The payload parser is reached directly too.
#[doc(hidden)]
pub fn fuzz_registration(data: &[u8]) {
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(registration) = Registration::verify(text)
    {
        assert_eq!(registration.jwk.thumbprint(), registration.device_id);
    }
    let _ = parse_payload::<RegisterPayload>(data);
}

#[cfg(all(test, feature = "device"))]
mod tests {
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;
    use crate::device::DeviceKey;
    use crate::uri::EnrollmentUri;

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    fn vector(name: &str) -> &'static str {
        include_str!("../tests/data/rfc7515-a3.txt")
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(" = "))
            .expect("a value of the vector")
    }

    /// RFC 7515 Appendix A.3, and its tampered twin: the ES256 check is over the signing input
    /// as received, with a raw `r ‖ s` signature.
    #[test]
    fn rfc7515_a3_es256_vector() {
        let jwk = PublicJwk::from_coordinates(
            b64::decode_array(vector("x")).unwrap(),
            b64::decode_array(vector("y")).unwrap(),
        )
        .unwrap();
        // The private scalar of the same example gives the same public key.
        let private =
            SigningKey::from_slice(&b64::decode_array::<32>(vector("d")).unwrap()).unwrap();
        assert_eq!(PublicJwk::from_key(private.verifying_key()), jwk);
        let jws = |signing_input: &'static str| Jws {
            signing_input,
            header: Header {
                alg: ALGORITHM.into(),
                typ: String::new(),
                kid: None,
                jwk: None,
            },
            payload: Vec::new(),
            signature: b64::decode_array(vector("signature")).unwrap(),
        };
        assert_eq!(
            jws(vector("signing_input")).verify(jwk.verifying_key()),
            Ok(())
        );
        assert_eq!(
            jws(vector("tampered_signing_input")).verify(jwk.verifying_key()),
            Err(PushError::BadSignature)
        );
    }

    fn device() -> (DeviceKey, SigningKey) {
        let device = DeviceKey::generate(&mut StdRng::seed_from_u64(3));
        let der = device.to_pkcs8_der().expect("encodes");
        let key = SigningKey::from_pkcs8_der(&der).expect("decodes");
        (device, key)
    }

    /// Signs arbitrary header and payload JSON, as a (possibly buggy or hostile) phone might.
    fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(payload.as_bytes())
        );
        let signature: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", b64::encode(&signature.to_bytes()))
    }

    fn response_header(device: &DeviceKey) -> String {
        format!(
            r#"{{"alg":"ES256","typ":"mfa-push-response+jwt","kid":"{}"}}"#,
            device.device_id()
        )
    }

    const CHALLENGE: &str = "AAECAwQFBgcICQoLDA0ODw";

    fn parse_response(message: &str, key: &VerifyingKey) -> Result<SignedResponse, PushError> {
        Unverified::parse(message, MessageType::Response)?.into_response(key)
    }

    #[test]
    fn device_messages_round_trip() {
        let (device, key) = device();
        let public = *key.verifying_key();
        let token = EnrollmentToken::parse("AQIDBAUGBwgJCgsMDQ4PEA").unwrap();
        let enrollment = EnrollmentUri::new("Example", "alice", token.clone(), None).unwrap();
        let message = device
            .registration_message(
                &enrollment,
                "Alice's phone",
                Platform::Ios,
                Some("apns-token-1"),
                NOW,
            )
            .unwrap();
        let registration = Registration::verify(&message).unwrap();
        assert_eq!(&registration.device_id, device.device_id());
        assert_eq!(registration.jwk, device.public_jwk());
        assert_eq!(registration.token, token);
        assert_eq!(
            (
                registration.name.as_str(),
                registration.platform,
                registration.push_token.as_deref(),
                registration.issued_at
            ),
            ("Alice's phone", Platform::Ios, Some("apns-token-1"), NOW)
        );

        let challenge = ChallengeId::parse(CHALLENGE).unwrap();
        for answer in [
            Answer::approve("012345").unwrap(),
            Answer::Deny,
            Answer::ReportFraud,
        ] {
            let message = device.respond(&challenge, &answer, NOW).unwrap();
            let unverified = Unverified::parse(&message, MessageType::Response).unwrap();
            assert_eq!(unverified.kid(), device.device_id());
            let response = unverified.into_response(&public).unwrap();
            assert_eq!(
                (
                    response.challenge.as_str(),
                    response.answer,
                    response.issued_at
                ),
                (CHALLENGE, answer, NOW)
            );
        }
        let pending =
            Unverified::parse(&device.request_pending(NOW).unwrap(), MessageType::Request)
                .unwrap()
                .into_request(&public)
                .unwrap();
        assert_eq!((pending.op, pending.challenge), (RequestOp::Pending, None));
        let context = Unverified::parse(
            &device.request_context(&challenge, NOW).unwrap(),
            MessageType::Request,
        )
        .unwrap()
        .into_request(&public)
        .unwrap();
        assert_eq!(
            (context.op, context.challenge),
            (RequestOp::Context, Some(challenge))
        );
    }

    #[test]
    fn typ_separates_the_messages() {
        let (device, _) = device();
        let challenge = ChallengeId::parse(CHALLENGE).unwrap();
        let response = device.respond(&challenge, &Answer::Deny, NOW).unwrap();
        let request = device.request_pending(NOW).unwrap();
        assert_eq!(
            Unverified::parse(&response, MessageType::Request).err(),
            Some(PushError::WrongMessageType)
        );
        assert_eq!(
            Unverified::parse(&request, MessageType::Response).err(),
            Some(PushError::WrongMessageType)
        );
        assert_eq!(
            Registration::verify(&response).err(),
            Some(PushError::WrongMessageType)
        );
    }

    #[test]
    fn headers_are_strict() {
        let (device, key) = device();
        let payload =
            format!(r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"deny","iat":1800000000}}"#);
        let kid = device.device_id();
        let cases = [
            (
                format!(r#"{{"alg":"none","typ":"mfa-push-response+jwt","kid":"{kid}"}}"#),
                PushError::UnsupportedAlgorithm,
            ),
            (
                format!(r#"{{"alg":"HS256","typ":"mfa-push-response+jwt","kid":"{kid}"}}"#),
                PushError::UnsupportedAlgorithm,
            ),
            (
                format!(r#"{{"alg":"es256","typ":"mfa-push-response+jwt","kid":"{kid}"}}"#),
                PushError::UnsupportedAlgorithm,
            ),
            (
                format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}"}}"#),
                PushError::WrongMessageType,
            ),
            (
                format!(
                    r#"{{"alg":"ES256","typ":"mfa-push-response+jwt","kid":"{kid}","crit":["b64"],"b64":false}}"#
                ),
                PushError::Malformed("header is not a JSON object of the known members"),
            ),
            (
                format!(
                    r#"{{"alg":"ES256","typ":"mfa-push-response+jwt","kid":"{kid}","jku":"https://evil.example"}}"#
                ),
                PushError::Malformed("header is not a JSON object of the known members"),
            ),
            (
                format!(
                    r#"{{"alg":"ES256","typ":"mfa-push-response+jwt","kid":"{kid}","alg":"ES256"}}"#
                ),
                PushError::Malformed("header is not a JSON object of the known members"),
            ),
            (
                format!(
                    r#"{{"alg":"ES256","typ":"mfa-push-response+jwt","kid":"{kid}","jwk":{}}}"#,
                    serde_json::to_string(&device.public_jwk()).unwrap()
                ),
                PushError::Malformed("a response or request has a kid and no jwk"),
            ),
            (
                r#"{"alg":"ES256","typ":"mfa-push-response+jwt"}"#.to_owned(),
                PushError::Malformed("a response or request has a kid and no jwk"),
            ),
            (
                r#"{"alg":"ES256","typ":"mfa-push-response+jwt","kid":"phone"}"#.to_owned(),
                PushError::Malformed("device id is not 32 bytes of base64url"),
            ),
        ];
        for (header, expected) in cases {
            let message = sign_raw(&key, &header, &payload);
            assert_eq!(
                parse_response(&message, key.verifying_key()).err(),
                Some(expected),
                "{header}"
            );
        }
        // The well-formed header passes, so the cases above failed for their own reason.
        let good = sign_raw(&key, &response_header(&device), &payload);
        assert!(parse_response(&good, key.verifying_key()).is_ok());
    }

    #[test]
    fn payloads_are_strict() {
        let (device, key) = device();
        let header = response_header(&device);
        let malformed = |why| Some(PushError::Malformed(why));
        let cases = [
            (
                format!(r#"{{"v":2,"challenge":"{CHALLENGE}","decision":"deny","iat":1}}"#),
                Some(PushError::UnsupportedVersion),
            ),
            (
                format!(r#"{{"challenge":"{CHALLENGE}","decision":"deny","iat":1}}"#),
                malformed("payload is not a JSON object with a version"),
            ),
            (
                format!(
                    r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"deny","iat":1,"extra":true}}"#
                ),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                format!(r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"approve","iat":1}}"#),
                malformed("an approval carries the number"),
            ),
            (
                format!(
                    r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"deny","number":"123456","iat":1}}"#
                ),
                malformed("only an approval carries a number"),
            ),
            (
                format!(
                    r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"approve","number":"12 456","iat":1}}"#
                ),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                format!(
                    r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"approve","number":123456,"iat":1}}"#
                ),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                format!(r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"maybe","iat":1}}"#),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                format!(
                    r#"{{"v":1,"challenge":"{CHALLENGE}","challenge":"{CHALLENGE}","decision":"deny","iat":1}}"#
                ),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                r#"{"v":1,"challenge":"short","decision":"deny","iat":1}"#.to_owned(),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                format!(r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"deny","iat":-1}}"#),
                malformed("payload has a missing, unknown or invalid member"),
            ),
            (
                format!(
                    r#"{{"v":1,"challenge":"{CHALLENGE}","decision":"approve","number":"000123","iat":1}}"#
                ),
                None,
            ),
        ];
        for (payload, expected) in cases {
            let message = sign_raw(&key, &header, &payload);
            assert_eq!(
                parse_response(&message, key.verifying_key()).err(),
                expected,
                "{payload}"
            );
        }
        let request = r#"{"alg":"ES256","typ":"mfa-push-request+jwt","kid":"KID"}"#
            .replace("KID", device.device_id().as_str());
        for (payload, expected) in [
            (
                format!(r#"{{"v":1,"op":"pending","challenge":"{CHALLENGE}","iat":1}}"#),
                "a pending request names no challenge",
            ),
            (
                r#"{"v":1,"op":"context","iat":1}"#.to_owned(),
                "a context request names its challenge",
            ),
        ] {
            let message = sign_raw(&key, &request, &payload);
            let parsed = Unverified::parse(&message, MessageType::Request)
                .unwrap()
                .into_request(key.verifying_key());
            assert_eq!(parsed.err(), Some(PushError::Malformed(expected)));
        }
    }

    #[test]
    fn signatures_and_encodings_are_strict() {
        let (device, key) = device();
        let other = DeviceKey::generate(&mut StdRng::seed_from_u64(4));
        let challenge = ChallengeId::parse(CHALLENGE).unwrap();
        let message = device
            .respond(&challenge, &Answer::approve("123456").unwrap(), NOW)
            .unwrap();
        let public = *key.verifying_key();
        assert!(parse_response(&message, &public).is_ok());
        // Another key: no.
        assert_eq!(
            parse_response(&message, other.public_jwk().verifying_key()).err(),
            Some(PushError::BadSignature)
        );
        let parts: Vec<&str> = message.split('.').collect();
        // A payload changed after signing: no.
        let forged_payload = b64::encode(
            &String::from_utf8(b64::decode(parts[1], 4096).unwrap())
                .unwrap()
                .replace("123456", "654321")
                .into_bytes(),
        );
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(
            parse_response(&forged, &public).err(),
            Some(PushError::BadSignature)
        );
        // The same signature as DER, padded, or with trailing bits: not the format.
        let signature = Signature::from_slice(&b64::decode(parts[2], 64).unwrap()).unwrap();
        let der = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            b64::encode(signature.to_der().as_bytes())
        );
        assert_eq!(
            parse_response(&der, &public).err(),
            Some(PushError::Malformed(
                "signature is not 64 bytes (r ‖ s) of base64url"
            ))
        );
        let padded = format!("{message}==");
        assert!(parse_response(&padded, &public).is_err_and(|e| e.is_malformed()));
        // The high-S twin of a valid signature (what CryptoKit may produce) verifies too.
        let (r, s) = signature.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        let twin = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            b64::encode(&high.to_bytes())
        );
        assert_ne!(twin, message);
        assert!(parse_response(&twin, &public).is_ok());
        // Shapes and sizes.
        for bad in ["", "a.b", "a.b.c.d", "..", &format!("{message}.")] {
            assert!(
                parse_response(bad, &public).is_err_and(|e| e.is_malformed()),
                "{bad}"
            );
        }
        let huge = sign_raw(
            &key,
            &response_header(&device),
            &format!(r#"{{"v":1,"pad":"{}"}}"#, "x".repeat(MAX_PAYLOAD_LEN)),
        );
        assert_eq!(
            parse_response(&huge, &public).err(),
            Some(PushError::Malformed(
                "payload is not base64url or too large"
            ))
        );
        let too_long = "a".repeat(MAX_MESSAGE_LEN + 1);
        assert_eq!(
            parse_response(&too_long, &public).err(),
            Some(PushError::Malformed("message too large"))
        );
    }

    #[test]
    fn registrations_prove_possession() {
        let (device, key) = device();
        let other = DeviceKey::generate(&mut StdRng::seed_from_u64(5));
        let header = format!(
            r#"{{"alg":"ES256","typ":"mfa-push-register+jwt","jwk":{}}}"#,
            serde_json::to_string(&other.public_jwk()).unwrap()
        );
        let payload =
            r#"{"v":1,"token":"AQIDBAUGBwgJCgsMDQ4PEA","name":"n","platform":"other","iat":1}"#;
        // Signed with a key other than the one it presents: no proof of possession.
        assert_eq!(
            Registration::verify(&sign_raw(&key, &header, payload)).err(),
            Some(PushError::BadSignature)
        );
        let own = header.replace(
            &serde_json::to_string(&other.public_jwk()).unwrap(),
            &serde_json::to_string(&device.public_jwk()).unwrap(),
        );
        assert!(Registration::verify(&sign_raw(&key, &own, payload)).is_ok());
        for (payload, why) in [
            (
                payload.replace(r#""n""#, r#""""#),
                "device name is empty, too long or has a control character",
            ),
            (
                payload.replace(r#""n""#, &format!(r#""{}""#, "n".repeat(65))),
                "device name is empty, too long or has a control character",
            ),
            (
                payload.replace(r#""n""#, r#""a\u0000b""#),
                "device name is empty, too long or has a control character",
            ),
            (
                payload.replace(r#""iat""#, r#""push_token":"has space","iat""#),
                "push token is empty, too long or not printable ASCII",
            ),
            (
                payload.replace("AQIDBAUGBwgJCgsMDQ4PEA", "AQIDBAUGBwgJCgsMDQ4PEB"),
                "enrollment token is not 16 bytes of base64url",
            ),
            (
                payload.replace("other", "windows"),
                "payload has a missing, unknown or invalid member",
            ),
        ] {
            assert_eq!(
                Registration::verify(&sign_raw(&key, &own, &payload)).err(),
                Some(PushError::Malformed(why)),
                "{payload}"
            );
        }
        // A registration header with a kid instead of a jwk.
        let kid = format!(
            r#"{{"alg":"ES256","typ":"mfa-push-register+jwt","kid":"{}"}}"#,
            device.device_id()
        );
        assert_eq!(
            Registration::verify(&sign_raw(&key, &kid, payload)).err(),
            Some(PushError::Malformed("a registration has a jwk and no kid"))
        );
        // The device refuses to write what the server would refuse.
        let enrollment = EnrollmentUri::new(
            "E",
            "a",
            EnrollmentToken::parse("AQIDBAUGBwgJCgsMDQ4PEA").unwrap(),
            None,
        )
        .unwrap();
        assert!(
            device
                .registration_message(&enrollment, "", Platform::Android, None, NOW)
                .is_err()
        );
        assert!(
            device
                .registration_message(&enrollment, "ok", Platform::Android, Some(""), NOW)
                .is_err()
        );
    }

    #[test]
    fn push_payload_is_ids_only() {
        let payload = PushPayload::new(
            ChallengeId::parse(CHALLENGE).unwrap(),
            DeviceId::parse("EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg").unwrap(),
        );
        let json = payload.to_json();
        assert_eq!(
            json,
            r#"{"v":1,"challenge":"AAECAwQFBgcICQoLDA0ODw","handle":"EjUzW9FbLHXz6E9MaB2Fy8BZwA15ENG60GkKKvVmqvg"}"#
        );
        assert_eq!(serde_json::to_string(&payload).unwrap(), json);
        assert_eq!(PushPayload::from_json(&json), Ok(payload));
        assert!(
            PushPayload::from_json(&json.replace(r#""v":1,"#, r#""v":1,"number":"1","#)).is_err()
        );
        assert_eq!(
            PushPayload::from_json(&json.replace(r#""v":1"#, r#""v":9"#)),
            Err(PushError::UnsupportedVersion)
        );
    }

    #[test]
    fn platform_names() {
        for platform in [Platform::Ios, Platform::Android, Platform::Other] {
            assert_eq!(platform.as_str().parse::<Platform>(), Ok(platform));
            assert_eq!(
                serde_json::to_string(&platform).unwrap(),
                format!("\"{}\"", platform.as_str())
            );
        }
        assert!("iOS".parse::<Platform>().is_err());
    }

    #[test]
    fn issued_at_window() {
        let skew = Duration::from_secs(300);
        assert!(check_issued_at(NOW, NOW, skew).is_ok());
        assert!(check_issued_at(NOW.saturating_add(skew), NOW, skew).is_ok());
        assert!(check_issued_at(UnixTime::from_secs(NOW.as_secs() - 300), NOW, skew).is_ok());
        assert_eq!(
            check_issued_at(UnixTime::from_secs(NOW.as_secs() + 301), NOW, skew),
            Err(PushError::ClockSkew)
        );
        assert_eq!(
            check_issued_at(UnixTime::from_secs(NOW.as_secs() - 301), NOW, skew),
            Err(PushError::ClockSkew)
        );
    }
}
