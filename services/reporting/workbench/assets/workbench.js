// The workbench's only script: my work reloads when the inbox stream brings news. Everything else
// works without it (plain forms and links).
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  const stream = new EventSource(live.dataset.stream);
  stream.addEventListener("open", function () {
    live.dataset.state = "open";
  });
  stream.addEventListener("notification", function () {
    live.hidden = false;
    stream.close();
    window.location.reload();
  });
  stream.addEventListener("error", function () {
    // Refused (signed out, too many streams): stop; a passing failure is retried by the browser.
    if (stream.readyState === EventSource.CLOSED) live.dataset.state = "closed";
  });
})();
