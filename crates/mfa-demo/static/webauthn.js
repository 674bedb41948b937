// WebAuthn ceremonies of mfa-demo: register a passkey, sign in with one (with or without a user
// name, and by autofill where the browser offers conditional mediation), and a passkey as the
// second factor. Load with <script src="/static/webauthn.js" defer></script>; it attaches to
// buttons by their data-webauthn attribute ("register", "signin", "verify"). No inline handlers:
// the page's CSP is script-src 'self'.
//
// The server speaks the W3C JSON forms: options are PublicKeyCredential{Creation,Request}
// OptionsJSON inside {"publicKey": …}, answers are credential.toJSON(). Where the browser lacks
// the JSON helpers, a small base64url conversion stands in for them.
"use strict";

(() => {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.getAttribute("content") || "" : "";

  // --- base64url and the JSON forms --------------------------------------------------------

  function toBase64url(buffer) {
    const bytes =
      buffer instanceof ArrayBuffer
        ? new Uint8Array(buffer)
        : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let binary = "";
    for (const byte of bytes) {
      binary += String.fromCharCode(byte);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    const base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index += 1) {
      bytes[index] = binary.charCodeAt(index);
    }
    return bytes.buffer;
  }

  function descriptorsFromJSON(list) {
    return (list || []).map((descriptor) => ({ ...descriptor, id: fromBase64url(descriptor.id) }));
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: fromBase64url(json.challenge),
      user: { ...json.user, id: fromBase64url(json.user.id) },
      excludeCredentials: descriptorsFromJSON(json.excludeCredentials),
    };
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: fromBase64url(json.challenge),
      allowCredentials: descriptorsFromJSON(json.allowCredentials),
    };
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      if (typeof response.getTransports === "function") {
        json.response.transports = response.getTransports();
      }
      if (typeof response.getAuthenticatorData === "function") {
        json.response.authenticatorData = toBase64url(response.getAuthenticatorData());
      }
      if (typeof response.getPublicKey === "function") {
        const publicKey = response.getPublicKey();
        if (publicKey) {
          json.response.publicKey = toBase64url(publicKey);
        }
      }
      if (typeof response.getPublicKeyAlgorithm === "function") {
        json.response.publicKeyAlgorithm = response.getPublicKeyAlgorithm();
      }
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) {
        json.response.userHandle = toBase64url(response.userHandle);
      }
    }
    return json;
  }

  // --- talking to the server ----------------------------------------------------------------

  class CeremonyError extends Error {}

  async function postJSON(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": csrfToken,
        },
        body: JSON.stringify(body),
      });
    } catch {
      throw new CeremonyError("The server cannot be reached. Check your connection and try again.");
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (!response.ok) {
      const words = answer && typeof answer.message === "string" ? answer.message : null;
      throw new CeremonyError(words || `The server refused the request (HTTP ${response.status}).`);
    }
    return answer || {};
  }

  /** Words for what the browser's WebAuthn call threw. */
  function describe(error, registering) {
    if (error instanceof CeremonyError) {
      return error.message;
    }
    switch (error && error.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out.";
      case "InvalidStateError":
        return registering
          ? "This authenticator already holds a passkey for your account."
          : "This authenticator cannot be used here.";
      case "SecurityError":
        return "Passkeys need a secure page (https, or http://localhost).";
      case "NotSupportedError":
        return "This authenticator does not support what the server asked for.";
      case "AbortError":
        return "The passkey request was interrupted.";
      default:
        return "Something went wrong with the passkey. Try again.";
    }
  }

  function follow(answer, fallback) {
    const target = answer && typeof answer.redirect === "string" ? answer.redirect : fallback;
    // Only same-origin paths: never let a response send the user elsewhere.
    const url = new URL(target, window.location.href);
    window.location.assign(url.origin === window.location.origin ? url.href : fallback);
  }

  // --- where messages go ----------------------------------------------------------------------

  /** The page's #error (role=alert), or one created next to `button` the first time. */
  function errorArea(button) {
    let area = document.getElementById("error");
    if (!area) {
      area = document.createElement("p");
      area.id = "error";
      area.className = "error";
      area.setAttribute("role", "alert");
      button.insertAdjacentElement("afterend", area);
    }
    return area;
  }

  function showError(button, message) {
    const area = errorArea(button);
    area.hidden = false;
    area.textContent = message;
  }

  function clearError() {
    const area = document.getElementById("error");
    if (area) {
      area.textContent = "";
      area.hidden = true;
    }
  }

  function rememberDevice() {
    const box = document.getElementById("remember-device");
    return Boolean(box && box.checked);
  }

  function usernameField() {
    return document.getElementById("username");
  }

  // --- conditional mediation (autofill) ---------------------------------------------------------

  let autofill = null; // the AbortController of the pending conditional request

  function abortAutofill() {
    if (autofill) {
      autofill.abort();
      autofill = null;
    }
  }

  async function startAutofill(anchor) {
    const field = usernameField();
    if (
      !field ||
      !(field.getAttribute("autocomplete") || "").split(/\s+/).includes("webauthn") ||
      typeof PublicKeyCredential.isConditionalMediationAvailable !== "function"
    ) {
      return;
    }
    let available = false;
    try {
      available = await PublicKeyCredential.isConditionalMediationAvailable();
    } catch {
      available = false;
    }
    if (!available || autofill) {
      return;
    }
    const controller = new AbortController();
    autofill = controller;
    let credential = null;
    try {
      const options = await postJSON("/webauthn/authenticate/options", {
        username: null,
        mode: "conditional",
      });
      if (!controller.signal.aborted) {
        credential = await navigator.credentials.get({
          publicKey: requestOptions(options.publicKey),
          mediation: "conditional",
          signal: controller.signal,
        });
      }
    } catch {
      // Aborted because a button started a ceremony, or autofill is not on offer after all: the
      // button and the password form still work, so there is nothing to say.
      credential = null;
    } finally {
      if (autofill === controller) {
        autofill = null;
      }
    }
    if (!credential) {
      return;
    }
    try {
      const answer = await postJSON("/webauthn/authenticate/finish", {
        response: credentialJSON(credential),
        remember: rememberDevice(),
      });
      follow(answer, "/security-info");
    } catch (error) {
      showError(anchor, describe(error, false));
      startAutofill(anchor);
    }
  }

  // --- the ceremonies ---------------------------------------------------------------------------

  async function register(button) {
    const nameField = document.getElementById("passkey-name");
    const name = nameField ? nameField.value.trim() : "";
    if (nameField && !name) {
      showError(button, "Give the passkey a name first.");
      nameField.focus();
      return;
    }
    const options = await postJSON("/webauthn/register/options", { name });
    const credential = await navigator.credentials.create({
      publicKey: creationOptions(options.publicKey),
    });
    const answer = await postJSON("/webauthn/register/finish", {
      name,
      response: credentialJSON(credential),
    });
    follow(answer, "/security-info");
  }

  async function authenticate(mode) {
    let username = null;
    if (mode === "signin") {
      const field = usernameField();
      username = field && field.value.trim() ? field.value.trim() : null;
    }
    const options = await postJSON("/webauthn/authenticate/options", { username, mode });
    const credential = await navigator.credentials.get({
      publicKey: requestOptions(options.publicKey),
    });
    const answer = await postJSON("/webauthn/authenticate/finish", {
      response: credentialJSON(credential),
      remember: rememberDevice(),
    });
    follow(answer, "/security-info");
  }

  const ceremonies = {
    register: (button) => register(button),
    signin: () => authenticate("signin"),
    verify: () => authenticate("verify"),
  };

  let busy = false;

  async function run(button, kind) {
    if (busy) {
      return;
    }
    busy = true;
    // One WebAuthn request at a time: the autofill one gives way to the button's.
    abortAutofill();
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    clearError();
    try {
      await ceremonies[kind](button);
    } catch (error) {
      showError(button, describe(error, kind === "register"));
      if (kind === "signin") {
        startAutofill(button);
      }
    } finally {
      busy = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  function attach() {
    const buttons = [...document.querySelectorAll("[data-webauthn]")].filter(
      (button) => ceremonies[button.dataset.webauthn],
    );
    if (buttons.length === 0) {
      return;
    }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      for (const button of buttons) {
        button.disabled = true;
      }
      showError(
        buttons[0],
        "This browser does not support passkeys here (it needs https or localhost).",
      );
      return;
    }
    for (const button of buttons) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        run(button, button.dataset.webauthn);
      });
    }
    const signin = buttons.find((button) => button.dataset.webauthn === "signin");
    if (signin) {
      startAutofill(signin);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", attach, { once: true });
  } else {
    attach();
  }
})();
