// Round overview: while a score run is queued or running, poll its status and show the progress;
// reload the page when it has finished. Without JavaScript a <noscript> meta refresh does the same.
(function () {
  "use strict";
  var box = document.getElementById("score-status");
  if (!box || !box.dataset.active) { return; }
  var bar = box.querySelector("[data-run-progress]");
  var text = box.querySelector("[data-run-text]");

  function show(status) {
    if (bar && status.units_total) {
      bar.setAttribute("aria-valuemax", status.units_total);
      bar.setAttribute("aria-valuenow", status.units_done);
      bar.firstElementChild.style.width = Math.round(100 * status.units_done / status.units_total) + "%";
    }
    if (text && status.status === "running" && status.units_total) {
      text.textContent = (box.dataset.runningText || "__DONE__ / __TOTAL__")
        .replace("__DONE__", status.units_done).replace("__TOTAL__", status.units_total);
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        if (status.active) {
          show(status);
          window.setTimeout(poll, 2000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }

  window.setTimeout(poll, 2000);
}());
