// The mfa-demo end-to-end test: Debian's Chromium, headless, driven by playwright-core, with a
// Chrome DevTools Protocol virtual authenticator (CTAP2, internal, resident keys, user verification)
// standing in for a platform passkey. It runs the eight scenarios of issue 16 against a running
// demo; `bash .ci/browser` builds and starts the demo and runs this.
//
// Environment:
//   MFA_DEMO_URL           the demo's base URL, e.g. http://localhost:8080 (required; localhost, not
//                          127.0.0.1: WebAuthn needs a domain as RP id)
//   MFA_DEMO_URL_B         a second instance on the same store: every sign-in happens there, every
//                          sign-up and enrolment on MFA_DEMO_URL (optional; default MFA_DEMO_URL)
//   MFA_DEMO_OPERATOR_KEY  the operator key the demo was started with (scenario 8)
//   MFA_DEMO_SCREENSHOTS   where screenshots go (default: target/browser-test/ in the repository)
//   MFA_DEMO_CHROMIUM      the browser (default /usr/bin/chromium)
//   MFA_DEMO_TIMEOUT_MS    how long one wait for a page, element or message may take (default 15000)
//   MFA_DEMO_ONLY          run only the scenarios whose numbers are listed, e.g. "1,4"
//
// Output: `ok - N name` per passed scenario, `not ok - N name` with the page's URL, its #error
// text and a screenshot per failed one, then `N passed, N failed`. Exit status 0 only if all passed.

import { createHmac, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

// ---------------------------------------------------------------------------------------------
// Base32 (RFC 4648) and TOTP (RFC 6238 over RFC 4226's HOTP), computed here, not by the app.

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Decodes RFC 4648 base32 (case, spaces and padding ignored); throws on any other character. */
export function base32Decode(text) {
    const clean = text.replace(/[\s=]/g, '').toUpperCase();
    let bits = 0;
    let value = 0;
    const out = [];
    for (const ch of clean) {
        const digit = BASE32_ALPHABET.indexOf(ch);
        if (digit < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
        value = (value << 5) | digit;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push((value >>> bits) & 0xff);
        }
    }
    return Buffer.from(out);
}

/** HOTP (RFC 4226 section 5.3) with HMAC-SHA1: `digits` decimal digits, zero-padded. */
export function hotp(key, counter, digits = 6) {
    const message = Buffer.alloc(8);
    message.writeBigUInt64BE(BigInt(counter));
    const mac = createHmac('sha1', key).update(message).digest();
    const offset = mac[mac.length - 1] & 0x0f;
    const binary = mac.readUInt32BE(offset) & 0x7fffffff;
    return String(binary % 10 ** digits).padStart(digits, '0');
}

const TOTP_PERIOD_SECONDS = 30;

/** The TOTP time step (RFC 6238 section 4.2, T0 = 0) of a Unix time in seconds. */
export function totpStep(unixSeconds) {
    return Math.floor(unixSeconds / TOTP_PERIOD_SECONDS);
}

/** RFC 6238 appendix B (SHA-1 rows) and RFC 4648 section 10: fails loudly if the helpers are wrong. */
function selfCheck() {
    const rfc4648 = [
        ['', ''],
        ['MY======', 'f'],
        ['MZXQ====', 'fo'],
        ['MZXW6===', 'foo'],
        ['MZXW6YQ=', 'foob'],
        ['MZXW6YTB', 'fooba'],
        ['MZXW6YTBOI======', 'foobar'],
    ];
    for (const [encoded, plain] of rfc4648) {
        const got = base32Decode(encoded).toString('latin1');
        if (got !== plain) throw new Error(`base32 self-check: ${encoded} gave ${JSON.stringify(got)}`);
    }
    // The RFC's SHA-1 seed is the ASCII "12345678901234567890"; here through its base32 form, as
    // the app shows secrets.
    const key = base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    if (key.toString('latin1') !== '12345678901234567890') throw new Error('base32 self-check: seed');
    const rfc6238 = [
        [59, '94287082'],
        [1111111109, '07081804'],
        [1111111111, '14050471'],
        [1234567890, '89005924'],
        [2000000000, '69279037'],
        [20000000000, '65353130'],
    ];
    for (const [time, expected] of rfc6238) {
        const got = hotp(key, totpStep(time), 8);
        if (got !== expected) throw new Error(`TOTP self-check: T=${time} gave ${got}, RFC 6238 says ${expected}`);
    }
    console.log(`# self-check: base32 (${rfc4648.length} RFC 4648 vectors) and TOTP (${rfc6238.length} RFC 6238 appendix B SHA-1 vectors) ok`);
}

/**
 * An authenticator app in the test: codes for one secret, never two for the same time step (the
 * app refuses a replayed step, as it should). With the app's ±1-step window a code for the next
 * step is accepted; only if even that step is used does this wait for the clock.
 */
class TotpApp {
    constructor(secretBase32) {
        this.key = base32Decode(secretBase32);
        this.lastStep = -1;
    }

    async nextCode() {
        const now = totpStep(Date.now() / 1000);
        const step = Math.max(now, this.lastStep + 1);
        if (step > now + 1) {
            // Wait for the clock to reach the step before it (then `step` is within the window).
            const until = (step - 1) * TOTP_PERIOD_SECONDS * 1000;
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 50));
        }
        this.lastStep = step;
        return hotp(this.key, step);
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration.

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');

function baseUrl(name) {
    const value = process.env[name];
    if (!value) return null;
    return value.replace(/\/+$/, '');
}

const URL_A = baseUrl('MFA_DEMO_URL');
const URL_B = baseUrl('MFA_DEMO_URL_B') ?? URL_A;
const OPERATOR_KEY = process.env.MFA_DEMO_OPERATOR_KEY ?? '';
const SCREENSHOTS = path.resolve(process.env.MFA_DEMO_SCREENSHOTS || path.join(REPO, 'target', 'browser-test'));
const CHROMIUM = process.env.MFA_DEMO_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.MFA_DEMO_TIMEOUT_MS || 15000);
const ONLY = (process.env.MFA_DEMO_ONLY || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);

// Unique names per run: the store may outlive a run (a developer's own demo).
const RUN = Date.now().toString(36) + randomBytes(3).toString('hex');
const PASSWORD = `Correct horse ${RUN}`;

const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
];

// ---------------------------------------------------------------------------------------------
// Page helpers. Every wait is for a selector or URL, bounded by TIMEOUT.

const isPath = (pathname) => (url) => url.pathname === pathname;

/** A detail that a failure prints (the step that was running). */
class Trail {
    constructor() {
        this.last = '';
    }
    note(what) {
        this.last = what;
    }
}

async function errorText(page) {
    try {
        const error = page.locator('#error');
        if ((await error.count()) === 0) return null;
        return (await error.first().innerText({ timeout: 1000 })).trim();
    } catch {
        return null;
    }
}

/** Waits until the page is at `pathname` (after its load); a shown #error ends the wait early. */
async function expectPath(page, pathname, what) {
    const reached = page.waitForURL(isPath(pathname), { timeout: TIMEOUT }).then(() => 'url');
    const failed = page
        .locator('#error')
        .first()
        .waitFor({ state: 'visible', timeout: TIMEOUT })
        .then(() => 'error');
    reached.catch(() => {});
    failed.catch(() => {});
    let outcome;
    try {
        outcome = await Promise.any([reached, failed]);
    } catch {
        throw new Error(`${what}: still at ${page.url()} after ${TIMEOUT} ms, expected ${pathname}`);
    }
    if (outcome === 'error' && new URL(page.url()).pathname !== pathname) {
        throw new Error(`${what}: the page shows an error instead of going to ${pathname}: ${await errorText(page)}`);
    }
    await page.waitForLoadState('load');
}

async function visible(page, selector, what) {
    try {
        await page.locator(selector).first().waitFor({ state: 'visible', timeout: TIMEOUT });
    } catch {
        const error = await errorText(page);
        throw new Error(`${what}: no visible ${selector} at ${page.url()}${error ? ` (#error: ${error})` : ''}`);
    }
}

async function text(page, selector, what) {
    await visible(page, selector, what);
    return (await page.locator(selector).first().innerText()).trim();
}

/** Clicks a submit button and waits for the next document (the button's page is gone). */
async function submit(page, selector) {
    const button = page.locator(selector).first();
    await button.waitFor({ state: 'visible', timeout: TIMEOUT });
    await Promise.all([page.waitForEvent('framenavigated', { timeout: TIMEOUT }), button.click()]);
    await page.waitForLoadState('load');
}

async function signUp(page, base, username, trail) {
    trail.note(`sign up ${username} at ${base}`);
    await page.goto(`${base}/signup`);
    await page.fill('#username', username);
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD);
    await page.click('#signup-submit');
    await expectPath(page, '/security-info', 'sign up');
    const whoami = await text(page, '#whoami', 'signed in after sign up');
    if (!whoami.includes(username)) throw new Error(`sign up: #whoami says ${JSON.stringify(whoami)}, not ${username}`);
}

async function signOut(page, trail) {
    trail.note('sign out');
    await visible(page, '#signout', 'sign out');
    await page.click('#signout');
    await page.locator('#whoami').waitFor({ state: 'detached', timeout: TIMEOUT });
    await page.waitForLoadState('load');
}

/** Password sign-in on instance B; returns the path it lands on (/signin/verify or /security-info). */
async function signInWithPassword(page, username, trail) {
    trail.note(`sign in ${username} with the password at ${URL_B}`);
    const authenticator = AUTHENTICATORS.get(page);
    await authenticator?.presence(false);
    try {
        await page.goto(`${URL_B}/signin`);
        await page.fill('#username', username);
        await page.fill('#password', PASSWORD);
        await page.click('#signin-submit');
        const left = (url) => url.pathname !== '/signin';
        try {
            await page.waitForURL(left, { timeout: TIMEOUT });
        } catch {
            throw new Error(`password sign-in: still at ${page.url()} (#error: ${await errorText(page)})`);
        }
        await page.waitForLoadState('load');
    } finally {
        await authenticator?.presence(true);
    }
    return new URL(page.url()).pathname;
}

/** Password sign-in that must ask for a second factor; returns the #required-step text. */
async function signInNeedingMfa(page, username, trail) {
    const landed = await signInWithPassword(page, username, trail);
    if (landed !== '/signin/verify') {
        throw new Error(`password sign-in went to ${landed}, expected the second-factor page /signin/verify`);
    }
    return text(page, '#required-step', 'the verify page names the required step');
}

const METHOD_FORMS = {
    totp: '#totp-code',
    backup: '#backup-code',
    passkey: '#passkey-verify',
    push: '#push-send',
    sms: '#oob-send',
    voice: '#oob-send',
};

/** On /signin/verify: shows `kind`'s form, through "Sign in another way" if it is not the default. */
async function chooseMethod(page, kind, trail) {
    trail.note(`choose ${kind} on the verify page`);
    const form = METHOD_FORMS[kind];
    if ((await page.locator(form).count()) > 0 && (await page.locator(form).first().isVisible())) return;
    const link = page.locator(`#other-methods a[data-method="${kind}"]`);
    if ((await link.count()) === 0) {
        const offered = await page.locator('#other-methods a[data-method]').evaluateAll((links) =>
            links.map((a) => a.getAttribute('data-method')),
        );
        throw new Error(`"Sign in another way" does not offer ${kind} (it offers ${JSON.stringify(offered)})`);
    }
    await link.first().click();
    await expectPath(page, '/signin/verify', `choose ${kind}`);
    await visible(page, form, `the ${kind} form`);
}

async function rowCount(page, kind) {
    return page.locator(`#methods tr.method[data-kind="${kind}"]`).count();
}

async function expectMethodRow(page, kind, what) {
    await visible(page, `#methods tr.method[data-kind="${kind}"]`, what);
}

/** #add-totp, read #totp-secret, confirm with a code; returns the TotpApp holding the secret. */
async function addTotp(page, trail) {
    trail.note('add an authenticator app');
    const before = await rowCount(page, 'totp');
    await page.click('#add-totp');
    await expectPath(page, '/security-info/totp', 'add an authenticator app');
    await visible(page, '#totp-code', 'the TOTP confirmation field');
    const secret = (await text(page, '#totp-secret', 'the TOTP secret')).replace(/\s+/g, '');
    const app = new TotpApp(secret);
    await page.fill('#totp-code', await app.nextCode());
    await page.click('#totp-confirm');
    await expectPath(page, '/security-info', 'confirm the authenticator app');
    await expectMethodRow(page, 'totp', 'the authenticator app in the methods list');
    const after = await rowCount(page, 'totp');
    if (after !== before + 1) throw new Error(`authenticator apps listed: ${after}, expected ${before + 1}`);
    return app;
}

/** #add-backup; returns the codes as shown in ol#backup-codes. */
async function addBackupCodes(page, trail) {
    trail.note('issue backup codes');
    await visible(page, '#add-backup', 'the backup codes button');
    await submit(page, '#add-backup');
    await visible(page, '#backup-codes li', 'the backup codes');
    const codes = (await page.locator('#backup-codes li').allInnerTexts()).map((c) => c.trim()).filter(Boolean);
    if (codes.length < 2) throw new Error(`only ${codes.length} backup codes shown`);
    return codes;
}

/** Registers a passkey in the page's virtual authenticator through #add-passkey-button. */
async function addPasskey(page, authenticator, name, trail) {
    trail.note('register a passkey');
    const before = await rowCount(page, 'passkey');
    await page.fill('#passkey-name', name);
    await page.click('#add-passkey-button');
    // webauthn.js reloads /security-info (the same path): wait for the new row instead.
    try {
        await page.waitForFunction(
            (n) => document.querySelectorAll('#methods tr.method[data-kind="passkey"]').length > n,
            before,
            { timeout: TIMEOUT },
        );
    } catch {
        throw new Error(`no new passkey row at ${page.url()} (#error: ${await errorText(page)})`);
    }
    await page.waitForLoadState('load');
    const row = page.locator('#methods tr.method[data-kind="passkey"]').last();
    const shownName = (await row.locator('.method-name').innerText()).trim();
    if (!shownName.includes(name)) throw new Error(`the passkey is listed as ${JSON.stringify(shownName)}, not ${name}`);
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', {
        authenticatorId: authenticator.id,
    });
    if (!credentials.some((c) => c.isResidentCredential && c.rpId === new URL(page.url()).hostname)) {
        throw new Error(`the virtual authenticator holds no discoverable credential for ${new URL(page.url()).hostname}`);
    }
}

/**
 * mfa-oob keeps a gap between codes sent to one number (the enrolment code went out moments ago):
 * when the page says so, wait the time it names, once, and send again.
 */
async function waitOutResendGap(page) {
    const error = (await page.locator('#oob-code').count()) > 0 ? null : await errorText(page);
    const seconds = Number(error?.match(/try again in (\d+) seconds?/)?.[1]);
    if (!Number.isFinite(seconds) || seconds > 120) return;
    console.log(`# the app asks to wait ${seconds} s before the next code to this number: waiting`);
    await page.waitForTimeout((seconds + 1) * 1000);
    await page.goto(`${new URL(page.url()).origin}/signin/verify?method=sms`);
    await submit(page, '#oob-send');
}

/** The newest SMS/voice code sent to `to` after `known` messages, from `origin`'s /messages. */
async function messageCount(context, origin, to) {
    const page = await context.newPage();
    try {
        await page.goto(`${origin}/messages`);
        await page.locator('#messages').waitFor({ state: 'attached', timeout: TIMEOUT });
        return await page.locator(`#messages li.message[data-to="${to}"]`).count();
    } finally {
        await page.close();
    }
}

async function newMessageCode(context, origin, to, channel, known) {
    const page = await context.newPage();
    try {
        const deadline = Date.now() + TIMEOUT;
        for (;;) {
            await page.goto(`${origin}/messages`);
            await page.locator('#messages').waitFor({ state: 'attached', timeout: TIMEOUT });
            const messages = page.locator(`#messages li.message[data-to="${to}"]`);
            if ((await messages.count()) > known) {
                const newest = messages.first();
                const gotChannel = await newest.getAttribute('data-channel');
                if (gotChannel !== channel) throw new Error(`the newest message to ${to} went by ${gotChannel}, not ${channel}`);
                return (await newest.locator('span.code').innerText()).replace(/\s+/g, '');
            }
            if (Date.now() > deadline) throw new Error(`no new message to ${to} on ${origin}/messages within ${TIMEOUT} ms`);
            // The outbox is a plain page: look again once the server had a moment.
            await page.waitForTimeout(250);
        }
    } finally {
        await page.close();
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios. Each gets a fresh browser context (no cookies), a page with its own virtual
// authenticator, and returns the page to photograph.

async function scenarioTotp({ page }, trail) {
    const username = `totp${RUN}`;
    await signUp(page, URL_A, username, trail);
    const banner = await text(page, '#setup-banner', 'the registration campaign banner');
    if (!/set up/i.test(banner)) throw new Error(`#setup-banner says ${JSON.stringify(banner)}`);
    const app = await addTotp(page, trail);
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'totp', trail);
    const code = await app.nextCode();
    trail.note('sign in with a TOTP code');
    await page.fill('#totp-code', code);
    await page.click('#verify-submit');
    await expectPath(page, '/security-info', 'TOTP sign-in');
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'totp', trail);
    trail.note('replay the same TOTP code');
    await page.fill('#totp-code', code);
    await page.click('#verify-submit');
    const refused = await text(page, '#error', 'a replayed TOTP code is refused');
    if (new URL(page.url()).pathname === '/security-info') throw new Error('the replayed TOTP code signed in');
    console.log(`# replayed TOTP code refused: ${refused}`);
}

async function scenarioPasskey({ page, authenticator }, trail) {
    const username = `passkey${RUN}`;
    await signUp(page, URL_A, username, trail);
    await addPasskey(page, authenticator, 'Virtual passkey', trail);
    await signOut(page, trail);

    // The button: the autofill request waits for a touch that does not come; the button's
    // request replaces it (webauthn.js aborts the autofill one) and is answered.
    trail.note('sign in with "Sign in with a passkey", no username');
    await authenticator.presence(false);
    await page.goto(`${URL_B}/signin`);
    await webauthnRequested(page, 'conditional', 'the sign-in page offers passkeys by autofill');
    await authenticator.presence(true);
    await page.fill('#username', '');
    const options = page.waitForRequest(
        (r) => r.url().endsWith('/webauthn/authenticate/options') && /"signin"/.test(r.postData() ?? ''),
        { timeout: TIMEOUT },
    );
    await page.click('#passkey-signin');
    const body = JSON.parse((await options).postData());
    if (body.username !== null) throw new Error(`the passkey button sent username ${JSON.stringify(body.username)}`);
    await expectPath(page, '/security-info', 'passkey sign-in without a username');
    let whoami = await text(page, '#whoami', 'signed in by the passkey');
    if (!whoami.includes(username)) throw new Error(`passkey sign-in: #whoami says ${JSON.stringify(whoami)}`);
    await page.screenshot({ path: path.join(SCREENSHOTS, '02-passkey-button-signed-in.png'), fullPage: true });
    await signOut(page, trail);

    // Autofill: the sign-in page's conditional request is answered as soon as the page loads.
    trail.note('sign in by passkey autofill (conditional mediation)');
    await page.goto(`${URL_B}/signin`);
    await expectPath(page, '/security-info', 'passkey autofill sign-in');
    whoami = await text(page, '#whoami', 'signed in by passkey autofill');
    if (!whoami.includes(username)) throw new Error(`passkey autofill: #whoami says ${JSON.stringify(whoami)}`);
}

async function scenarioBackup({ page }, trail) {
    const username = `backup${RUN}`;
    await signUp(page, URL_A, username, trail);
    const codes = await addBackupCodes(page, trail);
    await page.goto(`${URL_A}/security-info`);
    await expectMethodRow(page, 'backup', 'backup codes in the methods list');
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'backup', trail);
    trail.note('sign in with a backup code');
    await page.fill('#backup-code', codes[0]);
    await page.click('#verify-submit');
    await expectPath(page, '/security-info', 'backup code sign-in');
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'backup', trail);
    trail.note('use the same backup code again');
    await page.fill('#backup-code', codes[0]);
    await page.click('#verify-submit');
    const refused = await text(page, '#error', 'a used backup code is refused');
    if (new URL(page.url()).pathname === '/security-info') throw new Error('the used backup code signed in again');
    console.log(`# reused backup code refused: ${refused}`);
}

async function scenarioPush({ context, page }, trail) {
    const username = `push${RUN}`;
    await signUp(page, URL_A, username, trail);
    trail.note('enroll a phone for push');
    await page.click('#add-push');
    await expectPath(page, '/security-info/push', 'add push');
    const uri = (await page.locator('#push-enroll-uri').inputValue()).trim();
    if (!uri) throw new Error('#push-enroll-uri is empty');
    const [phone] = await Promise.all([context.waitForEvent('page', { timeout: TIMEOUT }), page.click('#open-phone')]);
    await phone.waitForLoadState('load');
    if (new URL(phone.url()).pathname !== '/phone') throw new Error(`#open-phone opened ${phone.url()}`);
    const prefilled = (await phone.locator('#phone-enroll-uri').inputValue()).trim();
    if (prefilled !== uri) throw new Error(`the phone page's #phone-enroll-uri is not the enrolment URI`);
    const registered = phone.waitForResponse((r) => r.url().endsWith('/phone/api/register'), { timeout: TIMEOUT });
    await phone.click('#phone-enroll');
    const registration = await registered;
    if (!registration.ok()) throw new Error(`phone registration answered ${registration.status()}: ${await registration.text()}`);
    await page.goto(`${URL_A}/security-info`);
    await expectMethodRow(page, 'push', 'the phone in the methods list');
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'push', trail);
    // mfa-push spends a challenge on a wrong number (guessing needs a push per guess), so the
    // sign-in page shows the refusal by itself with a new request (or a way to send one), and
    // the right number answers that one.
    await sendPush(page, trail);
    const first = await readPush(page, phone, trail);
    trail.note('type a wrong number on the phone');
    const wrong = first.number.slice(0, -1) + String((Number(first.number.slice(-1)) + 1) % 10);
    const refused = await answerOnPhone(phone, first, wrong);
    if (refused.ok()) throw new Error(`the phone's wrong number ${wrong} (shown: ${first.number}) was accepted: ${await refused.text()}`);
    console.log(`# wrong number refused on the phone: ${refused.status()} ${(await refused.text()).slice(0, 200)}`);
    // The phone shows the outcome on the request's card (until a newer request replaces it).
    const outcome = await phone
        .waitForFunction(
            (id) => {
                const card = document.querySelector(`.push-request[data-challenge="${id}"]`);
                if (!card) return { gone: true };
                const words = card.querySelector('.push-result')?.textContent?.trim();
                return words ? { words } : false;
            },
            first.challenge,
            { timeout: TIMEOUT },
        )
        .then((handle) => handle.jsonValue());
    console.log(`# the phone says: ${outcome.words ?? '(its card was already replaced by the new request)'}`);
    await phone.screenshot({ path: path.join(SCREENSHOTS, '04-push-phone-wrong-number.png'), fullPage: true });
    trail.note('the sign-in page shows the refusal by itself');
    await page.bringToFront();
    const shown = await text(page, '#error', 'the sign-in page after the wrong number');
    if (new URL(page.url()).pathname === '/security-info') throw new Error('the wrong number signed in');
    console.log(`# the sign-in page says: ${shown}`);
    await page.screenshot({ path: path.join(SCREENSHOTS, '04-push-signin-wrong-number.png'), fullPage: true });

    trail.note('a second push');
    const shownAgain = (await page.locator('#push-number').count()) > 0 ? (await page.locator('#push-number').innerText()).replace(/\D/g, '') : '';
    if (!shownAgain) {
        // No new request was sent by itself: send one.
        if (!(await page.locator('#push-send').isVisible())) await page.goto(`${URL_B}/signin/verify?method=push`);
        await sendPush(page, trail);
    }
    const second = await readPush(page, phone, trail, first.challenge);
    if (second.challenge === first.challenge) throw new Error('the second push has the first one\'s challenge id');
    trail.note('type the right number on the phone');
    const accepted = await answerOnPhone(phone, second, second.number);
    if (!accepted.ok()) throw new Error(`the phone's right number was refused: ${accepted.status()} ${await accepted.text()}`);
    await phone.screenshot({ path: path.join(SCREENSHOTS, '04-push-phone-approved.png'), fullPage: true });

    trail.note('the sign-in page moves on by itself');
    await page.bringToFront();
    // (The wrong number's #error is still on this page: wait for the URL alone.)
    try {
        await page.waitForURL(isPath('/security-info'), { timeout: TIMEOUT });
    } catch {
        throw new Error(`the sign-in page did not move on after the phone approved: still at ${page.url()}`);
    }
    const whoami = await text(page, '#whoami', 'signed in by push');
    if (!whoami.includes(username)) throw new Error(`push sign-in: #whoami says ${JSON.stringify(whoami)}`);
}

/** #push-send on the verify page. */
async function sendPush(page, trail) {
    trail.note('send a push');
    await submit(page, '#push-send');
    await expectPath(page, '/signin/push', 'send a push');
}

/** On /signin/push: the number shown, and the request (not `previous`) as the phone shows it. */
async function readPush(page, phone, trail, previous = null) {
    trail.note('read the number on the sign-in page');
    const number = (await text(page, '#push-number', 'the number to type')).replace(/\D/g, '');
    if (!number) throw new Error('#push-number shows no digits');
    const wait = page.locator('#push-wait');
    await wait.waitFor({ state: 'attached', timeout: TIMEOUT });
    if (!(await wait.getAttribute('data-status-url'))) throw new Error('#push-wait has no data-status-url');

    trail.note('the push request on the phone page');
    await phone.bringToFront();
    // The phone page lists what is pending (a spent request may stay shown with its outcome).
    const requests = phone.locator(
        previous ? `#phone-requests .push-request:not([data-challenge="${previous}"])` : '#phone-requests .push-request',
    );
    try {
        await requests.first().waitFor({ state: 'visible', timeout: TIMEOUT });
    } catch {
        const status = await phone.locator('#phone-status').innerText().catch(() => '?');
        throw new Error(`the phone page shows no push request (#phone-status: ${status})`);
    }
    const challenge = await requests.last().getAttribute('data-challenge');
    const request = phone.locator(`#phone-requests .push-request[data-challenge="${challenge}"]`);
    const context = (await request.locator('.push-context').innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
    console.log(`# push ${number} on the phone: ${context || '(no .push-context)'}`);
    return { number, challenge, request };
}

/** Types (or picks) `value` for the request on the phone; returns /phone/api/respond's response. */
async function answerOnPhone(phone, { number, request }, value) {
    const responded = phone.waitForResponse((r) => r.url().endsWith('/phone/api/respond'), { timeout: TIMEOUT });
    if ((await request.locator('.push-number-input').count()) > 0) {
        await request.locator('.push-number-input').fill(value);
        await request.locator('.push-approve').click();
    } else {
        const choices = request.locator('.push-choice');
        const labels = (await choices.allInnerTexts()).map((t) => t.replace(/\D/g, ''));
        const index = value === number ? labels.indexOf(number) : labels.findIndex((l) => l !== number);
        if (index < 0) throw new Error(`no fitting choice among ${JSON.stringify(labels)} (shown: ${number})`);
        await choices.nth(index).click();
    }
    return responded;
}

async function scenarioSms({ context, page }, trail) {
    const username = `sms${RUN}`;
    // A valid US number in the 555-01XX range kept for fiction; a different one each run.
    const phoneNumber = process.env.MFA_DEMO_PHONE || `+1201555${String(100 + Math.floor(Math.random() * 100)).padStart(4, '0')}`;
    await signUp(page, URL_A, username, trail);

    trail.note(`add the phone ${phoneNumber} for SMS`);
    await page.click('#add-phone');
    await expectPath(page, '/security-info/phone', 'add a phone');
    await page.fill('#phone-number', phoneNumber);
    await page.selectOption('#phone-channel', 'sms');
    const knownA = await messageCount(context, URL_A, phoneNumber);
    await submit(page, '#phone-send');
    await visible(page, '#phone-code', 'the phone confirmation field');
    const enrolCode = await newMessageCode(context, URL_A, phoneNumber, 'sms', knownA);
    await page.fill('#phone-code', enrolCode);
    await page.click('#phone-confirm');
    await expectPath(page, '/security-info', 'confirm the phone');
    await expectMethodRow(page, 'sms', 'the phone in the methods list');
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'sms', trail);
    trail.note('send the sign-in SMS');
    if ((await page.locator('#oob-phone').count()) > 0) {
        await page.selectOption('#oob-phone', { index: 0 });
    }
    const knownB = await messageCount(context, URL_B, phoneNumber);
    await submit(page, '#oob-send');
    await waitOutResendGap(page);
    await visible(page, '#oob-code', 'the SMS code field');
    const signinCode = await newMessageCode(context, URL_B, phoneNumber, 'sms', knownB);
    trail.note('sign in with the SMS code');
    await page.fill('#oob-code', signinCode);
    await page.click('#verify-submit');
    await expectPath(page, '/security-info', 'SMS sign-in');
}

async function scenarioAdmin({ page, authenticator }, trail) {
    const username = `admin${RUN}`;
    await signUp(page, URL_A, username, trail);
    const app = await addTotp(page, trail);
    await addPasskey(page, authenticator, 'Admin passkey', trail);
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    await chooseMethod(page, 'totp', trail);
    trail.note('sign in with TOTP');
    await page.fill('#totp-code', await app.nextCode());
    await page.click('#verify-submit');
    await expectPath(page, '/security-info', 'TOTP sign-in');

    trail.note('open /admin with a TOTP session');
    await page.goto(`${URL_B}/admin`);
    await expectPath(page, '/signin/verify', '/admin asks for phishing-resistant MFA');
    if (new URL(page.url()).searchParams.get('next') !== '/admin') {
        throw new Error(`/admin sent to ${page.url()}, expected next=/admin`);
    }
    const required = await text(page, '#required-step', 'the required step');
    await visible(page, '#passkey-verify', 'the passkey button');
    const offered = await page.locator('#other-methods a[data-method]').evaluateAll((links) =>
        links.map((a) => a.getAttribute('data-method')),
    );
    const notPasskey = offered.filter((m) => m !== 'passkey');
    if (notPasskey.length > 0 || (await page.locator('#totp-code').count()) > 0) {
        throw new Error(`/admin's verify page offers more than the passkey: ${JSON.stringify(offered)}`);
    }
    console.log(`# /admin asks for: ${required}`);
    trail.note('verify with the passkey');
    await page.click('#passkey-verify');
    await expectPath(page, '/admin', 'the passkey step-up');
    await visible(page, '#admin-title', 'the admin page');
}

async function scenarioLostPhone({ page }, trail) {
    const username = `lost${RUN}`;
    await signUp(page, URL_A, username, trail);
    await addTotp(page, trail);
    const codes = await addBackupCodes(page, trail);
    await page.goto(`${URL_A}/security-info`);
    const oldId = await page.locator('#methods tr.method[data-kind="totp"]').first().getAttribute('data-method-id');
    await signOut(page, trail);

    await signInNeedingMfa(page, username, trail);
    trail.note('"I lost my phone"');
    await page.click('#lost-phone');
    await expectPath(page, '/signin/verify', 'I lost my phone');
    if (new URL(page.url()).searchParams.get('method') !== 'backup') throw new Error(`#lost-phone went to ${page.url()}`);
    await page.fill('#backup-code', codes[0]);
    await page.click('#verify-submit');
    await expectPath(page, '/security-info', 'backup code sign-in');
    await visible(page, '#recovery-banner', 'the recovery banner');

    trail.note('remove the lost authenticator app');
    await page.locator(`#methods tr.method[data-method-id="${oldId}"] .remove`).click();
    try {
        await page.locator(`#methods tr.method[data-method-id="${oldId}"]`).waitFor({ state: 'detached', timeout: TIMEOUT });
    } catch {
        throw new Error(`the old authenticator app is still listed at ${page.url()} (#error: ${await errorText(page)})`);
    }
    await page.waitForLoadState('load');
    if (new URL(page.url()).pathname !== '/security-info') await page.goto(`${URL_B}/security-info`);
    await addTotp(page, trail);
    const ids = await page.locator('#methods tr.method[data-kind="totp"]').evaluateAll((rows) =>
        rows.map((r) => r.getAttribute('data-method-id')),
    );
    if (ids.length !== 1 || ids[0] === oldId) throw new Error(`authenticator apps after the replacement: ${JSON.stringify(ids)}`);
}

async function scenarioOperator({ browser, page }, trail) {
    if (!OPERATOR_KEY) throw new Error('MFA_DEMO_OPERATOR_KEY is not set');
    const username = `tap${RUN}`;
    await signUp(page, URL_A, username, trail);
    await signOut(page, trail);

    trail.note('the operator issues a Temporary Access Pass');
    const operatorContext = await browser.newContext();
    let pass;
    try {
        const operator = await operatorContext.newPage();
        await operator.goto(`${URL_A}/operator`);
        await operator.fill('#operator-key', OPERATOR_KEY);
        if (!(await operator.locator('#operator-username').isVisible())) {
            await Promise.all([operator.waitForEvent('framenavigated', { timeout: TIMEOUT }), operator.press('#operator-key', 'Enter')]);
            await operator.waitForLoadState('load');
            await visible(operator, '#operator-username', 'the operator page after the key');
            const key = operator.locator('#operator-key');
            if ((await key.count()) > 0 && (await key.isVisible()) && !(await key.inputValue())) {
                await key.fill(OPERATOR_KEY);
            }
        }
        await operator.fill('#operator-username', username);
        if ((await operator.locator('#tap-lifetime').count()) > 0) await operator.fill('#tap-lifetime', '60');
        if ((await operator.locator('#tap-one-time').count()) > 0) await operator.check('#tap-one-time');
        await submit(operator, '#tap-issue');
        pass = (await text(operator, '#tap-code', 'the Temporary Access Pass')).trim();
        await operator.screenshot({ path: path.join(SCREENSHOTS, '08-operator-tap.png'), fullPage: true });
    } finally {
        await operatorContext.close();
    }

    trail.note('sign in with the Temporary Access Pass');
    await page.goto(`${URL_B}/signin`);
    await page.click('#use-tap');
    await expectPath(page, '/signin/tap', 'the pass sign-in page');
    await page.fill('#tap-username', username);
    await page.fill('#tap-code-input', pass);
    await page.click('#tap-submit');
    await expectPath(page, '/security-info', 'pass sign-in');
    await addTotp(page, trail);
}

const SCENARIOS = [
    [1, 'sign up, add an authenticator app, sign in with TOTP; a replayed code is refused', scenarioTotp],
    [2, 'register a passkey, sign in with it without a username (button, then autofill)', scenarioPasskey],
    [3, 'backup codes: one signs in once, not twice', scenarioBackup],
    [4, 'push with number matching on the phone page, a wrong number first', scenarioPush],
    [5, 'SMS: add a phone with the code from /messages, sign in with SMS', scenarioSms],
    [6, '/admin after TOTP asks for a passkey, then opens', scenarioAdmin],
    [7, 'lost phone: backup code, recovery banner, replace the authenticator app', scenarioLostPhone],
    [8, 'operator: Temporary Access Pass, sign in with it, add a method', scenarioOperator],
];

// ---------------------------------------------------------------------------------------------

function slug(text) {
    return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

// The sign-in page asks for a passkey by autofill (conditional mediation) as soon as it loads, and
// the virtual authenticator answers such a request at once when it holds a passkey: a password
// sign-in there would become a passkey sign-in. So the test withholds the "touch" (automatic
// presence) while it signs in with a password, and records which kind of WebAuthn request the page
// made (a wrapper around navigator.credentials.get, installed before the page's scripts run).
const AUTHENTICATORS = new WeakMap();

function recordWebAuthnRequests() {
    const container = globalThis.navigator?.credentials;
    if (!container || typeof container.get !== 'function') return;
    const get = container.get.bind(container);
    globalThis.__webauthnRequests = [];
    container.get = (options) => {
        globalThis.__webauthnRequests.push(options?.mediation ?? 'optional');
        return get(options);
    };
}

/** Waits until the page has asked for a passkey with `mediation` ("conditional", "optional"). */
async function webauthnRequested(page, mediation, what) {
    try {
        await page.waitForFunction((m) => (globalThis.__webauthnRequests ?? []).includes(m), mediation, {
            timeout: TIMEOUT,
        });
    } catch {
        const made = await page.evaluate(() => globalThis.__webauthnRequests ?? null).catch(() => null);
        throw new Error(`${what}: the page made no ${mediation} WebAuthn request (it made ${JSON.stringify(made)})`);
    }
}

async function virtualAuthenticator(context, page) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
            protocol: 'ctap2',
            transport: 'internal',
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
        },
    });
    const authenticator = {
        cdp,
        id: authenticatorId,
        /** The user "touches" the authenticator whenever asked (true), or never (false). */
        async presence(enabled) {
            await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
        },
    };
    AUTHENTICATORS.set(page, authenticator);
    return authenticator;
}

async function runScenario(browser, number, name, body) {
    const context = await browser.newContext();
    context.setDefaultTimeout(TIMEOUT);
    context.setDefaultNavigationTimeout(TIMEOUT);
    const page = await context.newPage();
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`page error: ${e.message}`));
    page.on('dialog', (d) => d.accept());
    const trail = new Trail();
    const file = `${String(number).padStart(2, '0')}-${slug(name)}`;
    try {
        await context.addInitScript(recordWebAuthnRequests);
        const authenticator = await virtualAuthenticator(context, page);
        await body({ browser, context, page, authenticator }, trail);
        await page.screenshot({ path: path.join(SCREENSHOTS, `${file}.png`), fullPage: true });
        console.log(`ok - ${number} ${name}`);
        return true;
    } catch (error) {
        const shot = path.join(SCREENSHOTS, `${file}-FAILED.png`);
        await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
        console.log(`not ok - ${number} ${name}`);
        console.log(`#   step:       ${trail.last}`);
        console.log(`#   failure:    ${String(error?.message ?? error).split('\n')[0]}`);
        console.log(`#   page:       ${page.url()}`);
        console.log(`#   #error:     ${(await errorText(page)) ?? '(none)'}`);
        console.log(`#   screenshot: ${shot}`);
        for (const line of consoleLines.slice(-10)) console.log(`#   console ${line}`);
        return false;
    } finally {
        await context.close().catch(() => {});
    }
}

async function main() {
    selfCheck();
    if (process.argv.includes('--self-check')) return 0;
    if (!URL_A) {
        console.error('MFA_DEMO_URL is not set (the demo\'s base URL, e.g. http://localhost:8080)');
        return 2;
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    console.log(`# demo at ${URL_A}${URL_B !== URL_A ? `, sign-ins at ${URL_B}` : ''}; screenshots in ${SCREENSHOTS}`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    let passed = 0;
    let failed = 0;
    try {
        for (const [number, name, body] of SCENARIOS) {
            if (ONLY.length > 0 && !ONLY.includes(number)) continue;
            if (await runScenario(browser, number, name, body)) passed += 1;
            else failed += 1;
        }
    } finally {
        await browser.close();
    }
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 && passed > 0 ? 0 : 1;
}

// Run when started as a program; importing the file (for its TOTP helpers) runs nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
    process.exitCode = await main();
}
