// The web-app page: post what the chat app put after "#" in this page's address (its signed data, which names
// who opened it) to /webapp/sign-in, then go to the buyers page. No other script runs anywhere in the dashboard.
"use strict";
(function () {
  var status = document.getElementById("status");
  var fragment = window.location.hash.replace(/^#/, "");
  if (!fragment) {
    status.textContent = status.dataset.nothing;
    return;
  }
  history.replaceState(null, "", window.location.pathname); // the signed data leaves the address bar at once
  fetch("/webapp/sign-in", {
    method: "POST",
    body: new URLSearchParams({ signed: fragment }),
    credentials: "same-origin",
  }).then(function (response) {
    if (response.ok) {
      window.location.replace("/buyers");
    } else {
      status.textContent = status.dataset.refused;
    }
  }, function () {
    status.textContent = status.dataset.refused;
  });
})();
