/*
 * The page's frame and a tiny DOM builder. Screens are always built afresh with h() and mounted
 * in place of the previous one, so no form control keeps a previous respondent's value.
 */

import { screenChanged } from "./guard.js";
import { stopSpeaking } from "./speech.js";

/** Tiny DOM builder: h("button", {class, dataset, onclick, ...}, children...). Never uses innerHTML. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const key of Object.keys(props)) {
      const v = props[key];
      if (v === null || v === undefined || v === false) continue;
      if (key === "class") el.className = v;
      else if (key === "dataset") {
        for (const d of Object.keys(v)) if (v[d] !== null && v[d] !== undefined) el.dataset[d] = String(v[d]);
      } else if (key.startsWith("on") && typeof v === "function") el.addEventListener(key.slice(2), v);
      else el.setAttribute(key, v === true ? "" : String(v));
    }
  }
  appendChildren(el, children);
  return el;
}

function appendChildren(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) appendChildren(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function truncate(s, n) {
  s = String(s || "");
  return s.length > n ? s.slice(0, n - 1).trimEnd() + "…" : s;
}

export const dom = {
  app: null, // #kiosk (made inert under the idle overlay)
  host: null, // #screen: the current screen lives here
  place: null, // strip: kiosk · unit
  waiting: null, // strip: outbox indicator
  tools: null, // strip: larger text, language
  overlay: null, // a dialog (idle prompt, start-over confirmation), when shown
  view: null, // the current question screen's parts (question.js renderQuestion)
};

export function ensureFrame() {
  dom.app = document.getElementById("kiosk");
  if (!dom.app) {
    dom.app = h("div", { id: "kiosk", class: "kiosk" });
    document.body.append(dom.app);
  }
  dom.host = document.getElementById("screen");
  if (!dom.host) {
    dom.host = h("main", { id: "screen", class: "screen-host" });
    dom.app.append(dom.host);
  }
  let strip = dom.app.querySelector(".strip");
  if (!strip) {
    strip = h("header", { class: "strip" });
    dom.app.prepend(strip);
  }
  dom.place = strip.querySelector(".strip-place") || strip.appendChild(h("span", { class: "strip-place" }));
  dom.waiting =
    strip.querySelector("[data-testid=waiting-count]") ||
    strip.appendChild(h("span", { class: "waiting", role: "status", dataset: { testid: "waiting-count" } }));
  dom.tools = strip.querySelector(".strip-tools") || strip.appendChild(h("div", { class: "strip-tools" }));
}

/** Replace the current screen with a freshly built one (no control survives from before). */
export function mount(screenEl, focusEl) {
  stopSpeaking(); // what was read belonged to the screen before
  screenChanged(); // a tap meant for the screen before does nothing here
  dom.view = null;
  dom.host.replaceChildren(screenEl);
  dom.host.scrollTop = 0;
  const target = focusEl || screenEl.querySelector("h1");
  if (target) {
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    try {
      target.focus({ preventScroll: true });
    } catch (e) {
      /* ignore */
    }
  }
}
