// The push wait on the sign-in page: while #push-wait is on the page, ask its data-status-url
// once a second whether the phone has answered, and follow the redirect when it has (approved:
// signed in; refused or expired: back to a page that shows why). Stops when the page is left
// and starts again if it comes back from the back/forward cache. Without JavaScript the page's
// "I have approved it" button (#push-check) does the same by hand.
//
// Load with <script src="/static/live.js" defer></script>.
"use strict";

(() => {
  const POLL_INTERVAL_MS = 1000;
  // Network hiccups are retried quietly; after this many in a row the user is told.
  const QUIET_FAILURES = 5;

  const wait = document.getElementById("push-wait");
  const statusUrl = wait ? wait.dataset.statusUrl : null;
  if (!wait || !statusUrl) {
    return;
  }

  let timer = null;
  let stopped = false;
  let inFlight = null; // the AbortController of the request in progress
  let failures = 0;

  /** The page's #error (role=alert), or one created after #push-wait the first time. */
  function errorArea() {
    let area = document.getElementById("error");
    if (!area) {
      area = document.createElement("p");
      area.id = "error";
      area.className = "error";
      area.setAttribute("role", "alert");
      wait.insertAdjacentElement("afterend", area);
    }
    return area;
  }

  function showError(message) {
    const area = errorArea();
    area.hidden = false;
    area.textContent = message;
  }

  function follow(target) {
    // Only same-origin paths: never let a response send the user elsewhere.
    const url = new URL(target, window.location.href);
    if (url.origin !== window.location.origin) {
      showError("The server answered with a page elsewhere; refresh to continue.");
      stop();
      return;
    }
    stop();
    window.location.assign(url.href);
  }

  function schedule() {
    if (!stopped && timer === null) {
      timer = window.setTimeout(check, POLL_INTERVAL_MS);
    }
  }

  async function check() {
    timer = null;
    if (stopped) {
      return;
    }
    const controller = new AbortController();
    inFlight = controller;
    try {
      const response = await fetch(statusUrl, {
        method: "GET",
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
        signal: controller.signal,
      });
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      if (body && typeof body.redirect === "string" && (body.state === "done" || !response.ok)) {
        follow(body.redirect);
        return;
      }
      if (response.ok && response.redirected && !body) {
        // The server sent a page instead (the session ended and it asks for a sign-in).
        follow(response.url);
        return;
      }
      if (response.ok && body && body.state === "done") {
        // Done without saying where to: the page itself knows what comes next.
        stop();
        window.location.reload();
        return;
      }
      if (!response.ok) {
        // The session ended or the sign-in is gone: polling further cannot help.
        showError(
          body && typeof body.message === "string"
            ? body.message
            : "This sign-in can no longer be checked. Start again.",
        );
        stop();
        return;
      }
      failures = 0;
    } catch {
      if (controller.signal.aborted) {
        return;
      }
      failures += 1;
      if (failures === QUIET_FAILURES) {
        showError("The server cannot be reached; still trying.");
      }
    } finally {
      if (inFlight === controller) {
        inFlight = null;
      }
    }
    schedule();
  }

  function stop() {
    stopped = true;
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    if (inFlight) {
      inFlight.abort();
      inFlight = null;
    }
  }

  function start() {
    stopped = false;
    failures = 0;
    schedule();
  }

  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      start();
    }
  });
  start();
})();
