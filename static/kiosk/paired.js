/* The pairing page's last step: keep the device token for the JavaScript kiosk (static/kiosk/api.js
   reads it under the same key) and open the kiosk. A file, not an inline script: the site's CSP allows
   scripts from its own files only. Without JavaScript the page's meta refresh opens the kiosk. */
(function () {
  "use strict";
  var data = document.getElementById("paired");
  if (!data) return;
  try {
    localStorage.setItem("sipas.kiosk.token", data.getAttribute("data-token"));
  } catch (e) { /* private mode or storage full: the no-JS form still has its cookie */ }
  location.replace(data.getAttribute("data-next"));
})();
