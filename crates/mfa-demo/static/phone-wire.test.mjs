// Run from anywhere in the workspace:  node --test crates/mfa-demo/static/phone-wire.test.mjs
//
// Proves phone.js speaks mfa-push's wire format without the demo server: the messages it builds
// are checked by the real verifier, the `mfa` CLI (`mfa push enroll | register | challenge |
// pending | context | verify` on a JSON records store), and against the example messages of
// crates/mfa-push/README.md (written by the Rust device side; the README's own test checks them).
// The test builds the CLI first (`cargo build -q -p mfa-cli`; set MFA_CLI=/path/to/mfa to use a
// prebuilt one). Node 20 or later (WebCrypto as globalThis.crypto).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  Answer,
  base64url,
  base64urlDecode,
  deviceIdOf,
  generateDevice,
  importDevice,
  parseEnrollmentUri,
  registrationMessage,
  requestContext,
  requestPending,
  respond,
} from "./phone.js";

const workspace = fileURLToPath(new URL("../../../", import.meta.url));
let cli = process.env.MFA_CLI;
let scratch;

before(() => {
  if (!cli) {
    const built = spawnSync("cargo", ["build", "-q", "-p", "mfa-cli"], {
      cwd: workspace,
      stdio: ["ignore", "inherit", "inherit"],
    });
    assert.equal(built.status, 0, "cargo build -p mfa-cli failed");
    const target = process.env.CARGO_TARGET_DIR || join(workspace, "target");
    cli = join(target, "debug", "mfa");
  }
  scratch = mkdtempSync(join(tmpdir(), "phone-wire-"));
});

after(() => {
  if (scratch) {
    rmSync(scratch, { recursive: true, force: true });
  }
});

/** Runs `mfa push …` with `input` on stdin: `{ status, stdout, stderr }`. */
function push(args, input = "") {
  const run = spawnSync(cli, ["push", ...args], { input, encoding: "utf8" });
  assert.equal(run.error, undefined, `cannot run ${cli}: ${run.error}`);
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
}

/** `mfa push …` that must succeed; its stdout parsed as JSON when asked. */
function pushOk(args, input = "", { json = true } = {}) {
  const run = push(args, input);
  assert.equal(run.status, 0, `mfa push ${args.join(" ")}: ${run.stderr}`);
  return json ? JSON.parse(run.stdout) : run.stdout;
}

/** `mfa push …` that must be refused (exit 1) for `reason` (`message (reason)` on stderr). */
function pushRefused(args, input, reason) {
  const run = push(args, input);
  assert.equal(
    run.status,
    1,
    `expected a refusal (${reason}), got ${run.status}: ${run.stdout}${run.stderr}`,
  );
  assert.match(run.stderr, new RegExp(`\\(${reason}\\)`), run.stderr);
  return run;
}

/** The parts of a compact JWS, header and payload decoded. */
function parts(message) {
  const [header, payload, signature] = message.split(".");
  const text = (part) => new TextDecoder().decode(base64urlDecode(part));
  return {
    header: text(header),
    payload: text(payload),
    signature: base64urlDecode(signature),
    signingInput: `${header}.${payload}`,
  };
}

// RFC 7515 Appendix A.3's P-256 key, as crates/mfa-push/README.md uses it for its examples.
const RFC7515_A3 = {
  kty: "EC",
  crv: "P-256",
  x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
  d: "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
};

test("base64url: RFC 4648 §10 vectors, refused non-canonical forms", () => {
  const vectors = [
    ["", ""],
    ["f", "Zg"],
    ["fo", "Zm8"],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg"],
    ["fooba", "Zm9vYmE"],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, encoded] of vectors) {
    const bytes = new TextEncoder().encode(plain);
    assert.equal(base64url(bytes), encoded);
    assert.deepEqual(base64urlDecode(encoded), bytes);
  }
  assert.equal(base64url(new Uint8Array([0xfb, 0xff])), "-_8");
  for (const bad of ["Zm9vYg==", "Zm9vYh", "+/8", " Zm9v", "Z"]) {
    assert.equal(base64urlDecode(bad), null, bad);
  }
});

test("the device id is the README's RFC 7638 thumbprint of the RFC 7515 A.3 key", async () => {
  const device = await importDevice(RFC7515_A3);
  assert.equal(device.deviceId, "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
  assert.equal(await deviceIdOf(RFC7515_A3), device.deviceId);
  assert.deepEqual(device.publicJwk, { kty: "EC", crv: "P-256", x: RFC7515_A3.x, y: RFC7515_A3.y });
});

test("registration and response are byte for byte the README's example messages", async () => {
  const device = await importDevice(RFC7515_A3);
  // crates/mfa-push/README.md, "Example messages": RFC 6979 signatures differ from WebCrypto's
  // random-nonce ones, so the signed parts are compared and the signatures checked separately.
  const readmeRegistration =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6Im1mYS1wdXNoLXJlZ2lzdGVyK2p3dCIsImp3ayI6eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6ImY4M09KM0QyeEYxQmc4dnViOXRMZTFnSE16Vjc2ZThUdXM5dVBIdlJWRVUiLCJ5IjoieF9GRXpSdTltMzZITE5fdHVlNjU5TE5wWFc2cEN5U3Rpa1lqS0lXSTVhMCJ9fQ.eyJ2IjoxLCJ0b2tlbiI6IkFBRUNBd1FGQmdjSUNRb0xEQTBPRHciLCJuYW1lIjoiQWxpY2UncyBpUGhvbmUiLCJwbGF0Zm9ybSI6ImlvcyIsInB1c2hfdG9rZW4iOiJhMWIyYzNkNCIsImlhdCI6MTgwMDAwMDAwMH0";
  const readmeResponse =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6Im1mYS1wdXNoLXJlc3BvbnNlK2p3dCIsImtpZCI6Im9LSXl3dkdVcFRWVHl4TVEzYndJSWVRVXVkZnJfQ2tMTWpDRTE5RUNELVUifQ.eyJ2IjoxLCJjaGFsbGVuZ2UiOiJFQkVTRXhRVkZoY1lHUm9iSEIwZUh3IiwiZGVjaXNpb24iOiJhcHByb3ZlIiwibnVtYmVyIjoiMDQyODE3IiwiaWF0IjoxODAwMDAwMDA5fQ";
  const enrollment = { token: "AAECAwQFBgcICQoLDA0ODw" };
  const registration = parts(
    await registrationMessage(device, enrollment, "Alice's iPhone", "ios", "a1b2c3d4", 1800000000),
  );
  assert.equal(registration.signingInput, readmeRegistration);
  const response = parts(
    await respond(device, "EBESExQVFhcYGRobHB0eHw", Answer.approve("042817"), 1800000009),
  );
  assert.equal(response.signingInput, readmeResponse);
  // The README's context request, header and payload as its JSON shows them.
  const context = parts(await requestContext(device, "EBESExQVFhcYGRobHB0eHw", 1800000000));
  assert.equal(
    context.header,
    '{"alg":"ES256","typ":"mfa-push-request+jwt","kid":"oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"}',
  );
  assert.equal(
    context.payload,
    '{"v":1,"op":"context","challenge":"EBESExQVFhcYGRobHB0eHw","iat":1800000000}',
  );
  // Signatures: 64 bytes r ‖ s that verify as ES256 with the public key.
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    device.publicJwk,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  for (const message of [registration, response, context]) {
    assert.equal(message.signature.length, 64);
    const valid = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      publicKey,
      message.signature,
      new TextEncoder().encode(message.signingInput),
    );
    assert.ok(valid);
  }
});

test("deny, fraud and pending payloads carry exactly the members mfa-push reads", async () => {
  const device = await importDevice(RFC7515_A3);
  const challenge = "EBESExQVFhcYGRobHB0eHw";
  assert.equal(
    parts(await respond(device, challenge, Answer.deny, 7)).payload,
    '{"v":1,"challenge":"EBESExQVFhcYGRobHB0eHw","decision":"deny","iat":7}',
  );
  assert.equal(
    parts(await respond(device, challenge, Answer.reportFraud, 7)).payload,
    '{"v":1,"challenge":"EBESExQVFhcYGRobHB0eHw","decision":"fraud","iat":7}',
  );
  assert.equal(parts(await requestPending(device, 7)).payload, '{"v":1,"op":"pending","iat":7}');
  assert.throws(() => Answer.approve("12a"), /1 to 8 digits/);
  assert.throws(() => Answer.approve("123456789"), /1 to 8 digits/);
  await assert.rejects(
    registrationMessage(device, { token: "AAECAwQFBgcICQoLDA0ODw" }, "", "other", null, 7),
    /device name/,
  );
  await assert.rejects(
    registrationMessage(device, { token: "AAECAwQFBgcICQoLDA0ODw" }, "n", "other", "has space", 7),
    /push token/,
  );
});

test("enrollment URIs are read as strictly as mfa-push reads them", () => {
  const good =
    "mfa-push://enroll?v=1&issuer=Example&account=alice%40example.com&token=AAECAwQFBgcICQoLDA0ODw";
  assert.deepEqual(parseEnrollmentUri(good), {
    issuer: "Example",
    account: "alice@example.com",
    token: "AAECAwQFBgcICQoLDA0ODw",
    url: null,
  });
  assert.equal(
    parseEnrollmentUri(`${good}&url=https%3A%2F%2Fexample.com%2Fpush`).url,
    "https://example.com/push",
  );
  const refused = [
    good.replace("mfa-push://enroll?", "mfa-push://register?"),
    good.replace("Example", "Ex+ample"),
    `${good}&extra=1`,
    `${good}&issuer=Again`,
    good.replace("v=1", "v=2"),
    good.replace("ODw", "ODx"), // non-zero trailing bits
    good.replace("&token=AAECAwQFBgcICQoLDA0ODw", ""),
    `${good}&url=http%3A%2F%2Fexample.com`,
    good.replace("Example", "%FF"),
  ];
  for (const uri of refused) {
    assert.throws(() => parseEnrollmentUri(uri), undefined, uri);
  }
});

test("the mfa CLI accepts phone.js's registration, requests and answers", async () => {
  const store = join(scratch, "push-store.json");
  const T = 1800000000;
  const at = (t) => ["--store", store, "--time", String(t)];

  // 1. The service offers an enrollment; phone.js reads it, makes a key and registers.
  const uri = pushOk(["enroll", "--account", "alice", "--issuer", "mfa demo", ...at(T)], "", {
    json: false,
  });
  const enrollment = parseEnrollmentUri(uri);
  assert.deepEqual([enrollment.issuer, enrollment.account], ["mfa demo", "alice"]);
  const { device: fresh, privateJwk } = await generateDevice();
  const registration = await registrationMessage(fresh, enrollment, "Phone page", "other", null, T);
  const registered = pushOk(["register", ...at(T)], registration);
  assert.equal(registered.device_id, fresh.deviceId);
  assert.deepEqual(
    [registered.account, registered.name, registered.platform],
    ["alice", "Phone page", "other"],
  );
  // The token is single use.
  pushRefused(["register", ...at(T)], registration, "enrollment_not_found");

  // The key as the page keeps it (a JWK in localStorage), read back: the same device.
  const device = await importDevice(JSON.parse(JSON.stringify(privateJwk)));
  assert.equal(device.deviceId, fresh.deviceId);

  // 2. A sign-in: the phone polls, sees it (never the number), fetches its context.
  const started = pushOk([
    "challenge",
    "--account",
    "alice",
    "--app",
    "demo",
    "--ip",
    "127.0.0.1",
    ...at(T),
  ]);
  const pending = pushOk(["pending", ...at(T)], await requestPending(device, T));
  assert.equal(pending.length, 1);
  assert.equal(pending[0].challenge, started.challenge);
  assert.equal(pending[0].mode, "typed6");
  assert.equal(pending[0].digits, 6);
  assert.ok(
    !JSON.stringify(pending).includes(started.number),
    "the number never reaches the phone",
  );
  const context = pushOk(["context", ...at(T)], await requestContext(device, started.challenge, T));
  assert.deepEqual(context.context, { application: "demo", ip_address: "127.0.0.1" });

  // 3. A wrong number is refused (and spends the challenge).
  const wrong = String((Number(started.number) + 1) % 1e6).padStart(6, "0");
  pushRefused(
    ["verify", ...at(T + 1)],
    await respond(device, started.challenge, Answer.approve(wrong), T + 1),
    "wrong_number",
  );

  // 4. The next sign-in, approved with the right number; the same answer again is a replay.
  const second = pushOk(["challenge", "--account", "alice", ...at(T + 2)]);
  const approval = await respond(device, second.challenge, Answer.approve(second.number), T + 3);
  const approved = pushOk(["verify", ...at(T + 3)], approval);
  assert.equal(approved.approved, true);
  assert.equal(approved.device_id, device.deviceId);
  assert.equal(approved.challenge, second.challenge);
  assert.equal(approved.meets_rev4, true);
  pushRefused(["verify", ...at(T + 3)], approval, "challenge_not_found");

  // 5. Forgeries: another key under this device's id, a message from too far in the past.
  const third = pushOk(["challenge", "--account", "alice", ...at(T + 4)]);
  const { device: other } = await generateDevice();
  const forged = await respond(
    { ...other, deviceId: device.deviceId },
    third.challenge,
    Answer.approve(third.number),
    T + 4,
  );
  pushRefused(["verify", ...at(T + 4)], forged, "bad_signature");
  pushRefused(
    ["verify", ...at(T + 4)],
    await respond(device, third.challenge, Answer.approve(third.number), T - 400),
    "clock_skew",
  );

  // 6. Deny.
  pushRefused(
    ["verify", ...at(T + 5)],
    await respond(device, third.challenge, Answer.deny, T + 5),
    "denied",
  );

  // 7. Pick one of three: the phone is offered the choices and picks the shown number.
  const picked = pushOk(["challenge", "--account", "alice", "--mode", "pick3", ...at(T + 6)]);
  const [view] = pushOk(["pending", ...at(T + 6)], await requestPending(device, T + 6));
  assert.equal(view.mode, "pick3");
  assert.ok(view.choices.includes(picked.number));
  const pickApproved = pushOk(
    ["verify", ...at(T + 7)],
    await respond(device, picked.challenge, Answer.approve(picked.number), T + 7),
  );
  assert.deepEqual([pickApproved.mode, pickApproved.meets_rev4], ["pick3", false]);

  // 8. "It wasn't me": reported, and push locks for the account.
  const attack = pushOk(["challenge", "--account", "alice", ...at(T + 8)]);
  const reported = pushRefused(
    ["verify", ...at(T + 8)],
    await respond(device, attack.challenge, Answer.reportFraud, T + 8),
    "fraud_reported",
  );
  assert.match(reported.stderr, /mfa: event: .*fraud_reported/);
  pushRefused(["challenge", "--account", "alice", ...at(T + 9)], "", "fraud_locked");
});
