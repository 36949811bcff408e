/*
 * Every screen but the questions (question.js): welcome, no survey, thanks, quota full, save error,
 * fatal, the strip above them and the idle overlay. They read state.js and outbox.js's status and
 * call main.js only through `actions`.
 */

import { getToken } from "./api.js";
import { dom, h, mount } from "./dom.js";
import { I18N, lang, loc, t } from "./i18n.js";
import { status } from "./outbox.js";
import { actions, canStart, state } from "./state.js";

/** Render a screen of this phase (any but the questionnaire). */
export function renderScreen(phase) {
  switch (phase) {
    case "welcome":
      return renderWelcome();
    case "no-survey":
      return renderNoSurvey();
    case "save-error":
      return renderSaveError();
    case "thanks":
      return renderThanks();
    case "quota-full":
      return renderQuotaFull();
    case "fatal":
      return renderFatal();
    default:
      return mount(h("div", { class: "screen screen-center" }, h("p", { class: "loading" }, t("loading"))));
  }
}

/** The strip above every screen: kiosk · unit, and the responses waiting to be sent. */
export function renderFrame() {
  renderPlace();
  renderWaiting();
}

function renderPlace() {
  const m = state.model;
  const parts = [];
  if (m && m.kiosk && m.kiosk.name) parts.push(m.kiosk.name);
  if (m && m.unit && m.unit.name) parts.push(m.unit.name);
  dom.place.textContent = parts.join(" · ");
}

export function renderWaiting() {
  if (!dom.waiting) return;
  const n = status.counts.outbox;
  dom.waiting.hidden = !(n > 0);
  dom.waiting.textContent = n > 0 ? (n === 1 && lang() === "en" ? t("waitingOne") : t("waiting", { n })) : "";
}

export function langToggle() {
  const btn = (code, label) =>
    h(
      "button",
      {
        type: "button",
        class: "lang-btn",
        lang: code,
        "aria-pressed": String(lang() === code),
        dataset: { testid: "lang-" + code },
        onclick: () => actions.setLanguage(code),
      },
      label
    );
  return h("div", { class: "lang", role: "group", "aria-label": t("language") }, btn("vi", "Tiếng Việt"), btn("en", "English"));
}

/* ==================================================================== render: welcome & co */

function staffNoticeList() {
  const notes = [];
  if (!getToken()) notes.push(t("staffNotPaired"));
  else if (state.authRefused || status.sendBlocked) notes.push(t("staffRevoked"));
  if (status.storageBroken) notes.push(t("staffNoStorage"));
  if (status.counts.rejected > 0) notes.push(t("staffRejected", { n: status.counts.rejected }));
  if (status.counts.conflicts > 0) notes.push(t("staffConflicts", { n: status.counts.conflicts }));
  if (state.configSource === "cache" && state.model && state.model.usable) notes.push(t("staffOffline"));
  return notes;
}

function staffNotices() {
  const box = h("div", { class: "staff", dataset: { testid: "staff-notice" } });
  fillStaffNotices(box);
  return box;
}

function fillStaffNotices(box) {
  const notes = staffNoticeList();
  box.hidden = notes.length === 0;
  box.replaceChildren(...notes.map((n) => h("p", null, n)));
}

export function updateStaffNotices() {
  const box = dom.host && dom.host.querySelector("[data-testid=staff-notice]");
  if (box) fillStaffNotices(box);
}

function renderWelcome() {
  const m = state.model;
  const usable = canStart();
  const q = usable ? m.questionnaire : null;
  const title = h("h1", { class: "welcome-title", tabindex: "-1" }, q ? loc(q.title) : t("appTitle"));
  const screen = h(
    "div",
    { class: "screen welcome", dataset: { testid: "welcome" } },
    h("div", { class: "topbar" }, h("span", { class: "topbar-fill" }), langToggle()),
    h(
      "div",
      { class: "welcome-main" },
      title,
      usable && m.round.name ? h("p", { class: "welcome-round" }, m.round.name) : null,
      q && loc(q.intro) ? h("p", { class: "welcome-intro" }, loc(q.intro)) : null,
      usable
        ? h("button", { type: "button", class: "btn btn-start", dataset: { testid: "start" }, onclick: () => actions.start() }, t("start"))
        : null,
      usable ? h("p", { class: "welcome-hint" }, t("startHint")) : null
    ),
    staffNotices()
  );
  mount(screen, title);
}

function renderNoSurvey() {
  // Shown in both languages at once: nobody needs to interact with it.
  const title = h(
    "h1",
    { class: "nosurvey-title", tabindex: "-1" },
    h("span", { lang: "vi" }, I18N.vi.noSurveyTitle),
    h("span", { class: "nosurvey-en", lang: "en" }, I18N.en.noSurveyTitle)
  );
  const screen = h(
    "div",
    { class: "screen screen-center nosurvey", dataset: { testid: "no-survey" } },
    h("div", { class: "nosurvey-icon", "aria-hidden": "true" }),
    title,
    h("p", { class: "nosurvey-body", lang: "vi" }, I18N.vi.noSurveyBody),
    h("p", { class: "nosurvey-body nosurvey-en", lang: "en" }, I18N.en.noSurveyBody),
    staffNotices()
  );
  mount(screen, title);
}

function renderThanks() {
  renderEnding("thanks", loc(state.thanksText) || t("thanksDefault"), t("thanksSaved"), true);
}

function renderQuotaFull() {
  renderEnding("quota-full", t("quotaFullTitle"), t("quotaFullBody"), false);
}

/** The end of a session (thanks, or a closed quota): a counted-down return to the welcome screen. */
function renderEnding(testid, titleText, bodyText, icon) {
  const title = h("h1", { class: "thanks-title", tabindex: "-1" }, titleText);
  const screen = h(
    "div",
    { class: "screen screen-center thanks", dataset: { testid } },
    icon ? h("div", { class: "thanks-icon", "aria-hidden": "true" }) : null,
    title,
    h("p", { class: "thanks-saved" }, bodyText),
    h("p", { class: "thanks-return", dataset: { role: "countdown" } }, t("thanksReturn", { s: thanksRemaining() })),
    h("button", { type: "button", class: "btn btn-secondary", dataset: { testid: "thanks-done" }, onclick: () => actions.home() }, t("done"))
  );
  mount(screen, title);
}

/** Seconds left on the thanks / quota-full screen. */
export function thanksRemaining() {
  return Math.max(0, Math.ceil((state.thanksDeadline - Date.now()) / 1000));
}

/** Update the countdown of the thanks / quota-full screen. */
export function showCountdown(seconds) {
  const el = dom.host.querySelector("[data-role=countdown]");
  const text = t("thanksReturn", { s: seconds });
  if (el && el.textContent !== text) el.textContent = text;
}

function renderSaveError() {
  const title = h("h1", { class: "error-title", tabindex: "-1" }, t("saveFailedTitle"));
  const screen = h(
    "div",
    { class: "screen screen-center save-error", dataset: { testid: "save-error" } },
    title,
    h("p", null, t("saveFailedBody")),
    h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "retry-save" }, onclick: () => actions.submit() }, t("retry"))
  );
  mount(screen, title);
}

export function renderFatal() {
  const title = h("h1", { class: "error-title", tabindex: "-1" }, t("fatalTitle"));
  dom.host.replaceChildren(
    h(
      "div",
      { class: "screen screen-center" },
      title,
      h("p", null, t("fatalBody")),
      h("button", { type: "button", class: "btn btn-primary", onclick: () => location.reload() }, t("start"))
    )
  );
}

/* ==================================================================== idle overlay */

/** "Are you still there?" over the questionnaire (made inert), counting down `seconds`. */
export function showOverlay(seconds) {
  if (!dom.overlay) {
    const count = h("p", { class: "countdown", "aria-hidden": "true" });
    const body = h("p", { class: "overlay-body", id: "idle-body" });
    const titleEl = h("h2", { class: "overlay-title", id: "idle-title" });
    const cont = h("button", { type: "button", class: "btn btn-primary btn-big", dataset: { testid: "continue" }, onclick: () => actions.resume() });
    const restart = h("button", { type: "button", class: "btn btn-secondary", dataset: { testid: "restart" }, onclick: () => actions.home() });
    dom.overlay = h(
      "div",
      {
        class: "overlay",
        role: "alertdialog",
        "aria-modal": "true",
        "aria-labelledby": "idle-title",
        "aria-describedby": "idle-body",
        dataset: { testid: "still-there" },
      },
      h("div", { class: "overlay-card" }, titleEl, count, body, h("div", { class: "overlay-actions" }, cont, restart))
    );
    dom.overlay.parts = { count, body, titleEl, cont, restart };
    dom.app.inert = true; // the questionnaire underneath can't be reached
    document.body.append(dom.overlay);
    cont.focus({ preventScroll: true });
  }
  dom.overlay.seconds = seconds;
  renderOverlayTexts();
}

export function hideOverlay() {
  if (!dom.overlay) return;
  dom.overlay.remove();
  dom.overlay = null;
  if (dom.app) dom.app.inert = false;
}

export function renderOverlayTexts() {
  const o = dom.overlay;
  if (!o) return;
  o.parts.titleEl.textContent = t("stillThere");
  o.parts.count.textContent = String(o.seconds);
  o.parts.body.textContent = t("stillThereBody", { s: o.seconds });
  o.parts.cont.textContent = t("continue");
  o.parts.restart.textContent = t("restart");
  o.lang = lang();
}
