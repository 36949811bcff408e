// Paper import job page: while the job is queued or running, poll its status and reload the page
// when it has finished. Without JavaScript the page's "refresh" link does the same.
(function () {
  "use strict";
  var box = document.getElementById("paper-job");
  if (!box || box.dataset.finished) { return; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.finished) { window.location.reload(); }
        else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
