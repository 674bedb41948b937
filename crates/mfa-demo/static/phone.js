// The "authenticator app" of mfa-demo: a phone in a browser tab.
//
// It plays the phone's half of mfa-push's protocol (crates/mfa-push/README.md, "Wire format"):
// a P-256 device key made with WebCrypto, a signed registration redeeming the enrollment URI's
// one-time token, signed requests for pending sign-ins (poll mode, every second) and signed
// answers (the number typed or picked, deny, or "it wasn't me").
//
// An ES module: load it with <script type="module" src="/static/phone.js"></script>. The message
// builders below are exported and have no DOM dependency, so `phone-wire.test.mjs` runs them in
// Node against the real verifier (the `mfa` CLI); the page itself starts only in a browser.
//
// Demo simplification, said so on the page: the private key lives in localStorage as a JWK.
// A real app keeps it in the Secure Enclave or Android Keystore, where it cannot be read out.

// ---------------------------------------------------------------------------------------------
// Wire format (no DOM)
// ---------------------------------------------------------------------------------------------

/** The header `typ` of each signed message (domain separation). */
export const MESSAGE_TYPES = Object.freeze({
  register: "mfa-push-register+jwt",
  response: "mfa-push-response+jwt",
  request: "mfa-push-request+jwt",
});

/** The payload version this code writes (`"v": 1`). */
export const PROTOCOL_VERSION = 1;

/** The only algorithm: ECDSA P-256 with SHA-256, signature as the 64 bytes r ‖ s. */
const ALGORITHM = "ES256";
const ECDSA_KEY = { name: "ECDSA", namedCurve: "P-256" };
const ECDSA_SIGN = { name: "ECDSA", hash: "SHA-256" };

/** Limits the service enforces; refused here first, with a clear message. */
const MAX_MESSAGE_LEN = 4096;
const MAX_DEVICE_NAME_CHARS = 64;
const MAX_PUSH_TOKEN_LEN = 512;
const MAX_ENROLLMENT_URI_LEN = 2048;
const MAX_ISSUER_CHARS = 64;
const MAX_ACCOUNT_CHARS = 128;
const MAX_URL_LEN = 512;
const ENROLLMENT_URI_PREFIX = "mfa-push://enroll?";
const ENROLLMENT_PARAMETERS = ["v", "issuer", "account", "token", "url"];

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Unpadded base64url (RFC 4648 §5) of `bytes` (a Uint8Array or ArrayBuffer). */
export function base64url(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  let index = 0;
  for (; index + 2 < view.length; index += 3) {
    const n = (view[index] << 16) | (view[index + 1] << 8) | view[index + 2];
    out +=
      BASE64URL_ALPHABET[n >> 18] +
      BASE64URL_ALPHABET[(n >> 12) & 63] +
      BASE64URL_ALPHABET[(n >> 6) & 63] +
      BASE64URL_ALPHABET[n & 63];
  }
  const rest = view.length - index;
  if (rest === 1) {
    const n = view[index] << 16;
    out += BASE64URL_ALPHABET[n >> 18] + BASE64URL_ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (view[index] << 16) | (view[index + 1] << 8);
    out +=
      BASE64URL_ALPHABET[n >> 18] +
      BASE64URL_ALPHABET[(n >> 12) & 63] +
      BASE64URL_ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/**
 * Decodes canonical unpadded base64url, as strictly as the service does: no padding, no `+` `/`,
 * no whitespace, no non-zero trailing bits. Returns a Uint8Array, or null if `text` is not that.
 */
export function base64urlDecode(text) {
  if (typeof text !== "string" || text.length % 4 === 1) {
    return null;
  }
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let bitCount = 0;
  let written = 0;
  for (const char of text) {
    const value = BASE64URL_ALPHABET.indexOf(char);
    if (value < 0) {
      return null;
    }
    bits = ((bits << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes[written] = (bits >> bitCount) & 0xff;
      written += 1;
    }
  }
  // What is left over must be zero bits, or the text has a second spelling.
  if ((bits & ((1 << bitCount) - 1)) !== 0) {
    return null;
  }
  return bytes;
}

/** The UTF-8 bytes of `text`. */
function utf8(text) {
  return new TextEncoder().encode(text);
}

/** Whether `text` has at most `maxChars` characters (code points) and no control character. */
function isShortText(text, maxChars) {
  // Rust's char::is_control: the Unicode Cc category.
  return [...text].length <= maxChars && !/\p{Cc}/u.test(text);
}

function isUnreserved(byte) {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

/** Decodes `%XX` escapes; any other character must be unreserved (so `+` is refused). */
function percentDecode(value) {
  const bytes = [];
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code === 0x25) {
      const hex = value.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new PhoneError("malformed", "The enrollment link is not percent-encoded.");
      }
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else if (code < 0x80 && isUnreserved(code)) {
      bytes.push(code);
    } else {
      throw new PhoneError("malformed", "The enrollment link is not percent-encoded.");
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    throw new PhoneError("malformed", "The enrollment link is not UTF-8.");
  }
}

/** An error with the service's (or this code's) stable reason and words for people. */
export class PhoneError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "PhoneError";
    this.reason = reason;
  }
}

/**
 * Parses an enrollment URI the way mfa-push's `EnrollmentUri::parse` does:
 * `mfa-push://enroll?v=1&issuer=…&account=…&token=…[&url=…]`, each parameter once, none unknown.
 * Returns `{ issuer, account, token, url }` (`url` null when absent).
 */
export function parseEnrollmentUri(text) {
  const uri = String(text).trim();
  if (uri.length > MAX_ENROLLMENT_URI_LEN) {
    throw new PhoneError("malformed", "The enrollment link is too long.");
  }
  if (!uri.startsWith(ENROLLMENT_URI_PREFIX)) {
    throw new PhoneError("malformed", "That is not an mfa-push://enroll? link.");
  }
  const fields = new Map();
  for (const pair of uri.slice(ENROLLMENT_URI_PREFIX.length).split("&")) {
    const equals = pair.indexOf("=");
    if (equals < 0) {
      throw new PhoneError("malformed", "The enrollment link has a parameter without a value.");
    }
    const name = pair.slice(0, equals);
    if (!ENROLLMENT_PARAMETERS.includes(name)) {
      throw new PhoneError("malformed", "The enrollment link has an unknown parameter.");
    }
    if (fields.has(name)) {
      throw new PhoneError("malformed", "The enrollment link repeats a parameter.");
    }
    fields.set(name, percentDecode(pair.slice(equals + 1)));
  }
  if (!fields.has("v")) {
    throw new PhoneError("malformed", "The enrollment link has no version.");
  }
  if (fields.get("v") !== "1") {
    throw new PhoneError("unsupported_version", "This enrollment link is of a newer version.");
  }
  const issuer = fields.get("issuer");
  const account = fields.get("account");
  const token = fields.get("token");
  const url = fields.has("url") ? fields.get("url") : null;
  if (issuer === undefined || account === undefined || token === undefined) {
    throw new PhoneError("malformed", "The enrollment link lacks the issuer, account or token.");
  }
  const tokenBytes = token.length === 22 ? base64urlDecode(token) : null;
  if (tokenBytes === null || tokenBytes.length !== 16) {
    throw new PhoneError("malformed", "The enrollment token is not 16 bytes of base64url.");
  }
  if (issuer === "" || !isShortText(issuer, MAX_ISSUER_CHARS)) {
    throw new PhoneError("malformed", "The issuer is empty, too long or has a control character.");
  }
  if (account === "" || !isShortText(account, MAX_ACCOUNT_CHARS)) {
    throw new PhoneError("malformed", "The account is empty, too long or has a control character.");
  }
  if (
    url !== null &&
    (!url.startsWith("https://") || url.length > MAX_URL_LEN || !/^[\x21-\x7e]+$/.test(url))
  ) {
    throw new PhoneError("malformed", "The registration URL is not a printable https:// URL.");
  }
  return { issuer, account, token, url };
}

/** The public JWK with exactly the members the service accepts, in the order it writes them. */
function publicMembers(jwk) {
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
}

/**
 * The device id: the RFC 7638 thumbprint of the public key, base64url(SHA-256 of
 * `{"crv":"P-256","kty":"EC","x":"…","y":"…"}`), 43 characters.
 */
export async function deviceIdOf(publicJwk) {
  const canonical = `{"crv":"P-256","kty":"EC","x":"${publicJwk.x}","y":"${publicJwk.y}"}`;
  return base64url(await crypto.subtle.digest("SHA-256", utf8(canonical)));
}

/**
 * A device from a stored private JWK (`kty`, `crv`, `x`, `y`, `d`): `{ privateKey, publicJwk,
 * deviceId }`, the CryptoKey usable for signing only.
 */
export async function importDevice(privateJwk) {
  if (!privateJwk || privateJwk.kty !== "EC" || privateJwk.crv !== "P-256" || !privateJwk.d) {
    throw new PhoneError("malformed", "The stored device key is not a P-256 private key.");
  }
  const jwk = { kty: "EC", crv: "P-256", x: privateJwk.x, y: privateJwk.y, d: privateJwk.d };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, ECDSA_KEY, false, ["sign"]);
  const publicJwk = publicMembers(jwk);
  return { privateKey, publicJwk, deviceId: await deviceIdOf(publicJwk) };
}

/**
 * A fresh P-256 device key: `{ device, privateJwk }`, `device` as from `importDevice`, and the
 * private key as a JWK to keep (the demo keeps it in localStorage).
 */
export async function generateDevice() {
  const pair = await crypto.subtle.generateKey(ECDSA_KEY, true, ["sign", "verify"]);
  const exported = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const privateJwk = { kty: "EC", crv: "P-256", x: exported.x, y: exported.y, d: exported.d };
  return { device: await importDevice(privateJwk), privateJwk };
}

/**
 * A compact JWS: BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(r ‖ s), the header and
 * payload written as compact JSON. WebCrypto's ECDSA signature is already the raw 64-byte r ‖ s
 * (IEEE P1363) that JWS wants, not DER.
 */
export async function signJws(privateKey, header, payload) {
  const signingInput = `${base64url(utf8(JSON.stringify(header)))}.${base64url(
    utf8(JSON.stringify(payload)),
  )}`;
  const signature = new Uint8Array(
    await crypto.subtle.sign(ECDSA_SIGN, privateKey, utf8(signingInput)),
  );
  if (signature.length !== 64) {
    throw new PhoneError("malformed", "The signature is not 64 bytes (r ‖ s).");
  }
  const message = `${signingInput}.${base64url(signature)}`;
  if (message.length > MAX_MESSAGE_LEN) {
    throw new PhoneError("malformed", "The message is too large.");
  }
  return message;
}

/** Time as the phone sends it: whole seconds since the Unix epoch. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function checkIssuedAt(iat) {
  if (!Number.isSafeInteger(iat) || iat < 0) {
    throw new PhoneError("malformed", "The time is not whole seconds since the epoch.");
  }
}

/**
 * The registration message (`mfa-push-register+jwt`), as mfa-push's
 * `DeviceKey::registration_message` builds it: the public key in the header (`jwk`, no `kid`),
 * `v`, `token`, `name`, `platform` (`ios`, `android` or `other`), `push_token` (only when given)
 * and `iat` (seconds) in the payload, signed with the key itself (proof of possession).
 */
export async function registrationMessage(device, enrollment, name, platform, pushToken, iat) {
  if (name.trim() === "" || !isShortText(name, MAX_DEVICE_NAME_CHARS)) {
    throw new PhoneError(
      "malformed",
      "The device name is empty, too long or has a control character.",
    );
  }
  if (!["ios", "android", "other"].includes(platform)) {
    throw new PhoneError("malformed", "The platform is ios, android or other.");
  }
  if (
    pushToken !== null &&
    pushToken !== undefined &&
    (pushToken === "" || pushToken.length > MAX_PUSH_TOKEN_LEN || !/^[\x21-\x7e]+$/.test(pushToken))
  ) {
    throw new PhoneError("malformed", "The push token is empty, too long or not printable ASCII.");
  }
  checkIssuedAt(iat);
  const header = {
    alg: ALGORITHM,
    typ: MESSAGE_TYPES.register,
    jwk: publicMembers(device.publicJwk),
  };
  const payload = { v: PROTOCOL_VERSION, token: enrollment.token, name, platform };
  if (pushToken !== null && pushToken !== undefined) {
    payload.push_token = pushToken;
  }
  payload.iat = iat;
  return signJws(device.privateKey, header, payload);
}

function kidHeader(typ, device) {
  return { alg: ALGORITHM, typ, kid: device.deviceId };
}

/**
 * The request for this device's pending challenges (`mfa-push-request+jwt`, op `pending`), as
 * `DeviceKey::request_pending` builds it.
 */
export async function requestPending(device, iat) {
  checkIssuedAt(iat);
  return signJws(device.privateKey, kidHeader(MESSAGE_TYPES.request, device), {
    v: PROTOCOL_VERSION,
    op: "pending",
    iat,
  });
}

/** The request for one challenge's context (op `context`), as `DeviceKey::request_context`. */
export async function requestContext(device, challenge, iat) {
  checkIssuedAt(iat);
  return signJws(device.privateKey, kidHeader(MESSAGE_TYPES.request, device), {
    v: PROTOCOL_VERSION,
    op: "context",
    challenge,
    iat,
  });
}

/** Answers: approve with the digits typed or picked, deny, or report fraud. */
export const Answer = Object.freeze({
  approve(number) {
    const digits = String(number);
    if (!/^[0-9]{1,8}$/.test(digits)) {
      throw new PhoneError("malformed", "The number is 1 to 8 digits.");
    }
    return { decision: "approve", number: digits };
  },
  deny: Object.freeze({ decision: "deny" }),
  reportFraud: Object.freeze({ decision: "fraud" }),
});

/**
 * The signed answer to `challenge` (`mfa-push-response+jwt`), as `DeviceKey::respond` builds it:
 * `v`, `challenge`, `decision` (`approve`, `deny`, `fraud`), `number` (approve only, as a string
 * with its leading zeros) and `iat`.
 */
export async function respond(device, challenge, answer, iat) {
  checkIssuedAt(iat);
  const payload = { v: PROTOCOL_VERSION, challenge, decision: answer.decision };
  if (answer.decision === "approve") {
    payload.number = answer.number;
  } else if (answer.decision !== "deny" && answer.decision !== "fraud") {
    throw new PhoneError("malformed", "The decision is approve, deny or fraud.");
  }
  payload.iat = iat;
  return signJws(device.privateKey, kidHeader(MESSAGE_TYPES.response, device), payload);
}

// ---------------------------------------------------------------------------------------------
// The page (browser only)
// ---------------------------------------------------------------------------------------------

/** Where the device keys live (demo simplification: a real app uses the platform keystore). */
export const STORAGE_KEY = "mfa-demo-phone";
const STORAGE_FORMAT = "mfa-demo-phone/1";
const DEVICE_NAME = "Phone page (browser demo)";
const POLL_INTERVAL_MS = 1000;

/** The stored accounts: `[{ issuer, account, deviceId, registeredAt, privateJwk }]`. */
function loadAccounts(storage) {
  const text = storage.getItem(STORAGE_KEY);
  if (!text) {
    return [];
  }
  const stored = JSON.parse(text);
  if (!stored || stored.format !== STORAGE_FORMAT || !Array.isArray(stored.accounts)) {
    throw new PhoneError("malformed", "The stored device keys are not in this page's format.");
  }
  return stored.accounts;
}

function saveAccounts(storage, accounts) {
  storage.setItem(STORAGE_KEY, JSON.stringify({ format: STORAGE_FORMAT, accounts }));
}

/** POSTs a signed message as text/plain; returns the JSON answer or throws a PhoneError. */
async function postMessage(path, message) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "text/plain", Accept: "application/json" },
      body: message,
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new PhoneError("network", "The service cannot be reached.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const reason = body && typeof body.error === "string" ? body.error : `http_${response.status}`;
    const words = body && typeof body.message === "string" ? body.message : describeReason(reason);
    throw new PhoneError(reason, words);
  }
  return body;
}

/** Words for the service's reasons, when it sends none. */
function describeReason(reason) {
  const words = {
    wrong_number: "Wrong number: that is not the number on the sign-in page.",
    expired: "Too late: this sign-in request has expired.",
    superseded: "A newer sign-in request replaced this one.",
    challenge_not_found: "This sign-in request is no longer waiting for an answer.",
    unknown_device: "The service does not know this phone any more.",
    bad_signature: "The service could not verify this phone's signature.",
    clock_skew: "This device's clock is too far from the service's.",
    enrollment_not_found: "That enrollment link was already used or never existed.",
    enrollment_expired: "That enrollment link has expired: ask for a new one.",
    device_already_registered: "This phone is already registered.",
    too_many_devices: "This account has too many phones registered.",
    denied: "You denied this sign-in.",
    fraud_reported:
      "Reported: push sign-in is locked for this account until an operator unlocks it.",
    network: "The service cannot be reached.",
  };
  return words[reason] || `Refused (${reason}).`;
}

/** What the phone shows after answering. */
function outcomeWords(answer, result) {
  if (result.ok) {
    if (answer.decision === "approve") {
      return "Approved: the sign-in page continues by itself.";
    }
    return answer.decision === "deny" ? "Denied: the sign-in was refused." : "Reported.";
  }
  // A deny or a fraud report is refused *as* the answer given: that is the success here.
  if (answer.decision === "deny" && result.reason === "denied") {
    return "Denied: the sign-in was refused.";
  }
  if (answer.decision === "fraud" && result.reason === "fraud_reported") {
    return "Reported. Push sign-in is locked for this account, and the service has been told.";
  }
  return result.message;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** The alert element next to `anchor`, created when first needed. */
function alertNextTo(anchor) {
  const id = `${anchor.id || "phone"}-error`;
  let alert = document.getElementById(id);
  if (!alert) {
    alert = element("p", { id, role: "alert", class: "error" });
    anchor.insertAdjacentElement("afterend", alert);
  }
  return alert;
}

function contextText(view) {
  const context = view.context || {};
  const parts = [];
  if (context.application) parts.push(`App: ${context.application}`);
  if (context.ip_address) parts.push(`IP: ${context.ip_address}`);
  if (context.location) parts.push(`Location: ${context.location}`);
  if (context.browser) parts.push(`Browser: ${context.browser}`);
  return parts.length > 0 ? parts.join(" · ") : "No details about this sign-in.";
}

class PhonePage {
  constructor() {
    this.storage = window.localStorage;
    this.uriField = document.getElementById("phone-enroll-uri");
    this.enrollButton = document.getElementById("phone-enroll");
    this.status = document.getElementById("phone-status");
    this.requests = document.getElementById("phone-requests");
    /** challenge id → { card, answered, deviceId } */
    this.cards = new Map();
    /** deviceId → imported device */
    this.devices = new Map();
    this.timer = null;
    this.polling = false;
    this.stopped = false;
  }

  async start() {
    if (!this.requests) {
      this.requests = element("div", { id: "phone-requests" });
      if (this.status) {
        this.status.insertAdjacentElement("afterend", this.requests);
      } else {
        document.body.append(this.requests);
      }
    }
    if (!window.crypto || !window.crypto.subtle) {
      this.say("This browser has no WebCrypto here (it needs https or localhost).");
      return;
    }
    if (this.uriField && !this.uriField.value.trim()) {
      const offered = new URLSearchParams(window.location.search).get("enroll");
      if (offered) {
        this.uriField.value = offered;
      }
    }
    if (this.enrollButton) {
      this.enrollButton.addEventListener("click", (event) => {
        event.preventDefault();
        this.enroll();
      });
    }
    await this.loadDevices();
    this.showAccounts();
    window.addEventListener("pagehide", () => this.stopPolling());
    window.addEventListener("pageshow", () => {
      this.stopped = false;
      this.startPolling();
    });
    this.startPolling();
  }

  say(text) {
    if (this.status) {
      this.status.textContent = text;
    }
  }

  async loadDevices() {
    let accounts;
    try {
      accounts = loadAccounts(this.storage);
    } catch (error) {
      this.say(error.message);
      return;
    }
    for (const entry of accounts) {
      try {
        this.devices.set(entry.deviceId, { entry, device: await importDevice(entry.privateJwk) });
      } catch {
        // A damaged entry: skip it, keep the others.
      }
    }
  }

  showAccounts(note = "") {
    const names = [...this.devices.values()].map(
      ({ entry }) => `${entry.account} (${entry.issuer})`,
    );
    const accounts =
      names.length > 0
        ? `This phone approves sign-ins for: ${names.join(", ")}. Waiting for requests…`
        : "No account on this phone yet: paste an enrollment link and press the button.";
    this.say(note ? `${note} ${accounts}` : accounts);
  }

  async enroll() {
    const alert = alertNextTo(this.enrollButton);
    alert.textContent = "";
    alert.hidden = true;
    this.enrollButton.disabled = true;
    try {
      const enrollment = parseEnrollmentUri(this.uriField ? this.uriField.value : "");
      const { device, privateJwk } = await generateDevice();
      const message = await registrationMessage(
        device,
        enrollment,
        DEVICE_NAME,
        "other",
        null,
        nowSeconds(),
      );
      // Always the demo's own endpoint: the page's CSP (connect-src 'self') allows no other.
      const registered = await postMessage("/phone/api/register", message);
      if (registered && registered.device_id && registered.device_id !== device.deviceId) {
        throw new PhoneError(
          "mismatch",
          "The service registered another device id than this key's.",
        );
      }
      const entry = {
        issuer: enrollment.issuer,
        account: enrollment.account,
        deviceId: device.deviceId,
        registeredAt: nowSeconds(),
        privateJwk,
      };
      const accounts = [...this.devices.values()].map((known) => known.entry);
      accounts.push(entry);
      saveAccounts(this.storage, accounts);
      this.devices.set(device.deviceId, { entry, device });
      // The link's token is spent: take it off the page and out of the history.
      if (this.uriField) {
        this.uriField.value = "";
      }
      const url = new URL(window.location.href);
      if (url.searchParams.has("enroll")) {
        url.searchParams.delete("enroll");
        window.history.replaceState(null, "", url.pathname + url.search);
      }
      this.say(
        `Registered for ${entry.account} at ${entry.issuer} (device ${entry.deviceId}). Waiting for sign-in requests…`,
      );
      this.startPolling();
    } catch (error) {
      alert.hidden = false;
      alert.textContent =
        error instanceof PhoneError ? error.message : "Enrollment failed: try again.";
    } finally {
      this.enrollButton.disabled = false;
    }
  }

  startPolling() {
    if (!this.stopped && this.timer === null && this.devices.size > 0) {
      this.timer = window.setTimeout(() => this.poll(), 0);
    }
  }

  stopPolling() {
    this.stopped = true;
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  async poll() {
    this.timer = null;
    if (this.polling) {
      return;
    }
    this.polling = true;
    try {
      const seen = new Set();
      const unreachable = new Set(); // devices whose poll failed: their cards stay as they are
      const fresh = [];
      for (const [deviceId, { entry, device }] of [...this.devices]) {
        let views;
        try {
          views = await postMessage(
            "/phone/api/pending",
            await requestPending(device, nowSeconds()),
          );
        } catch (error) {
          if (error.reason === "unknown_device") {
            this.forget(deviceId, entry);
          } else {
            unreachable.add(deviceId);
          }
          continue;
        }
        for (const view of Array.isArray(views) ? views : []) {
          seen.add(view.challenge);
          if (!this.cards.has(view.challenge)) {
            fresh.push({ view, deviceId });
          }
        }
      }
      if (fresh.length > 0) {
        // A new request: the finished cards of earlier ones make way.
        for (const [id, known] of this.cards) {
          if (known.answered && !known.inFlight) {
            known.card.remove();
            this.cards.delete(id);
          }
        }
      }
      for (const [id, known] of this.cards) {
        const stale = !seen.has(id) && !unreachable.has(known.deviceId);
        if (stale && !known.answered && !known.inFlight) {
          // Answered elsewhere, superseded or expired.
          known.card.remove();
          this.cards.delete(id);
        }
      }
      for (const { view, deviceId } of fresh) {
        this.addCard(view, deviceId);
      }
    } finally {
      this.polling = false;
      if (!this.stopped && this.timer === null && this.devices.size > 0) {
        this.timer = window.setTimeout(() => this.poll(), POLL_INTERVAL_MS);
      }
    }
  }

  forget(deviceId, entry) {
    this.devices.delete(deviceId);
    saveAccounts(
      this.storage,
      [...this.devices.values()].map((known) => known.entry),
    );
    this.showAccounts(
      `The service no longer knows this phone for ${entry.account} (removed or reset): its key was forgotten.`,
    );
  }

  addCard(view, deviceId) {
    const card = element("section", {
      class: "push-request",
      "data-challenge": view.challenge,
      "aria-label": `Sign-in request for ${view.account}`,
    });
    card.append(element("h2", {}, `Are you trying to sign in as ${view.account}?`));
    card.append(element("p", { class: "push-context" }, contextText(view)));
    if (Number.isSafeInteger(view.expires_at)) {
      // The phone's times are seconds (the service's own JSON uses milliseconds).
      const until = new Date(view.expires_at * 1000).toLocaleTimeString();
      card.append(element("p", { class: "push-expiry" }, `Answer before ${until}.`));
    }
    const controls = element("div", { class: "push-controls" });
    const result = element("p", { class: "push-result", role: "status" });
    const known = { card, deviceId, answered: false, inFlight: false, controls, result };
    if (Array.isArray(view.choices) && view.choices.length > 0) {
      controls.append(element("p", {}, "Pick the number shown on the sign-in page:"));
      for (const choice of view.choices) {
        const button = element("button", { type: "button", class: "push-choice" }, choice);
        button.addEventListener("click", () => this.answer(view, known, Answer.approve(choice)));
        controls.append(button);
      }
    } else {
      const inputId = `push-number-${view.challenge}`;
      controls.append(
        element(
          "label",
          { for: inputId },
          `Type the ${view.digits}-digit number shown on the sign-in page`,
        ),
      );
      const input = element("input", {
        id: inputId,
        class: "push-number-input",
        type: "text",
        inputmode: "numeric",
        autocomplete: "off",
        pattern: `[0-9]{${view.digits}}`,
        maxlength: String(view.digits),
        required: "",
      });
      const approve = element("button", { type: "button", class: "push-approve" }, "Approve");
      const submit = () => {
        const typed = input.value.trim();
        if (!/^[0-9]{1,8}$/.test(typed)) {
          result.textContent = `Type the ${view.digits} digits shown on the sign-in page.`;
          input.focus();
          return;
        }
        this.answer(view, known, Answer.approve(typed));
      };
      approve.addEventListener("click", submit);
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          submit();
        }
      });
      controls.append(input, approve);
    }
    const deny = element("button", { type: "button", class: "push-deny" }, "Deny");
    deny.addEventListener("click", () => this.answer(view, known, Answer.deny));
    const report = element("button", { type: "button", class: "push-report" }, "It wasn't me");
    report.addEventListener("click", () => this.answer(view, known, Answer.reportFraud));
    controls.append(deny, report);
    card.append(controls, result);
    this.cards.set(view.challenge, known);
    this.requests.append(card);
  }

  async answer(view, known, answer) {
    if (known.inFlight || known.answered) {
      return;
    }
    const entry = this.devices.get(known.deviceId);
    if (!entry) {
      known.result.textContent = "This phone no longer holds the key for that account.";
      return;
    }
    known.inFlight = true;
    for (const control of known.controls.querySelectorAll("button, input")) {
      control.disabled = true;
    }
    let result;
    try {
      const message = await respond(entry.device, view.challenge, answer, nowSeconds());
      await postMessage("/phone/api/respond", message);
      result = { ok: true };
    } catch (error) {
      result = {
        ok: false,
        reason: error.reason || "error",
        message: error instanceof PhoneError ? error.message : "The answer could not be sent.",
      };
    }
    known.inFlight = false;
    if (!result.ok && result.reason === "network") {
      // Not delivered: let the user try again.
      for (const control of known.controls.querySelectorAll("button, input")) {
        control.disabled = false;
      }
      known.result.textContent = result.message;
      return;
    }
    // An answer spends its challenge, whatever the service said: the controls go away.
    known.answered = true;
    known.controls.remove();
    known.card.querySelector(".push-expiry")?.remove();
    known.card.dataset.outcome = result.ok ? "ok" : result.reason;
    known.result.textContent = outcomeWords(answer, result);
  }
}

if (typeof document !== "undefined" && typeof window !== "undefined") {
  const begin = () => {
    new PhonePage().start();
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", begin, { once: true });
  } else {
    begin();
  }
}
