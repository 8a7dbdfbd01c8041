// The checkout page waiting for a payment that completes elsewhere (a UPI app, a collect
// request, a payment processing): asks the page's status every few seconds and reloads the
// page when it changes, so the customer sees the outcome (and goes on to the merchant)
// without touching anything. No other script runs on the page; nothing leaves the platform.
"use strict";
(function () {
  const box = document.querySelector("[data-status-url]");
  if (!box) return;
  const url = box.getAttribute("data-status-url");
  const seen = box.getAttribute("data-status");
  const INTERVAL_MS = 3000;
  const TRIES_MAX = 400; // about 20 minutes, then the customer reloads by hand
  let tries = 0;
  const timer = setInterval(async function () {
    tries += 1;
    if (tries > TRIES_MAX) { clearInterval(timer); return; }
    try {
      const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) return;
      const answer = await response.json();
      if (answer.status !== seen) { clearInterval(timer); window.location.reload(); }
    } catch (error) {
      // Offline for a moment: the next tick tries again.
    }
  }, INTERVAL_MS);
})();
