/*
 * The questionnaire preview: starts the real kiosk client (static/kiosk/main.js) against the
 * preview API, which stores nothing (fieldwork/views_preview.py).
 *
 * The kiosk starts only with a device token in localStorage, and sends it as its one credential
 * (no cookies). This lends it the page's preview key (signed for the staff member, the same all
 * day) while the page is open, and takes it back when the page goes away. A browser holding a real
 * kiosk's token is a paired kiosk: its token must not be touched, so the preview does not start.
 */

const TOKEN_KEY = "sipas.kiosk.token"; // static/kiosk/api.js
const PREFIX = "preview.";
const data = document.body.dataset;

function read() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch (e) {
    return null;
  }
}

function lend() {
  try {
    localStorage.setItem(TOKEN_KEY, data.previewKey); // the same value again fires no storage event
  } catch (e) {
    /* no storage: the kiosk shows its "not paired" notice */
  }
}

function giveBack() {
  const current = read();
  if (current && current.startsWith(PREFIX)) localStorage.removeItem(TOKEN_KEY);
}

const current = read();
if (current && !current.startsWith(PREFIX)) {
  document.getElementById("preview-refused").hidden = false;
  document.getElementById("kiosk").hidden = true;
} else {
  lend();
  window.addEventListener("pagehide", giveBack);
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) lend(); // back from the bfcache: before the kiosk's own handler goes home
  });
  import(data.kioskMain);
}
