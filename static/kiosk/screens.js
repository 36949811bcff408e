/*
 * Every screen but the questions (question.js): welcome, no survey, thanks, quota full, save error,
 * fatal; the strip above them (kiosk · unit, waiting count, larger text, language); and the two
 * dialogs (the idle prompt, the start-over confirmation). They read state.js and outbox.js's status
 * and call main.js only through `actions`.
 */

import { getToken } from "./api.js";
import { dom, h, mount } from "./dom.js";
import { screenChanged } from "./guard.js";
import { I18N, lang, loc, t, tn } from "./i18n.js";
import { status } from "./outbox.js";
import { voiceList } from "./speech.js";
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

/** The strip above every screen: kiosk · unit, the responses waiting to be sent, text size, language. */
export function renderFrame() {
  renderPlace();
  renderWaiting();
  renderTools();
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
  dom.waiting.textContent = n > 0 ? tn("waiting", n, { n }) : "";
}

/** Larger text and the language, on every screen; built once, updated in place (focus stays). */
function renderTools() {
  if (!dom.tools) return;
  if (!dom.tools.firstElementChild) {
    const big = h(
      "button",
      { type: "button", class: "tool-btn text-btn", dataset: { testid: "large-text" }, onclick: () => actions.setLargeText(!state.largeText) },
      h("span", { class: "text-btn-icon", "aria-hidden": "true" }, "A+"),
      h("span", { class: "text-btn-label" })
    );
    const btn = (code, label) =>
      h("button", { type: "button", class: "lang-btn", lang: code, dataset: { testid: "lang-" + code }, onclick: () => actions.setLanguage(code) }, label);
    const group = h("div", { class: "lang", role: "group" }, btn("vi", "Tiếng Việt"), btn("en", "English"));
    dom.tools.append(big, group);
  }
  const [big, group] = dom.tools.children;
  big.setAttribute("aria-pressed", String(!!state.largeText));
  big.querySelector(".text-btn-label").textContent = t("largeText");
  group.setAttribute("aria-label", t("language"));
  for (const b of group.children) b.setAttribute("aria-pressed", String(b.lang === lang()));
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

/** The round's name in the language shown (the API's `names`; older servers sent `name` alone). */
function roundName(round) {
  if (round.names && typeof round.names === "object") return loc(round.names);
  return (lang() === "en" && round.name_en) || round.name || "";
}

function renderWelcome() {
  const m = state.model;
  const usable = canStart();
  const q = usable ? m.questionnaire : null;
  const intro = q ? loc(q.intro) : "";
  const title = h("h1", { class: "welcome-title", tabindex: "-1" }, q ? loc(q.title) : t("appTitle"));
  const screen = h(
    "div",
    { class: "screen welcome", dataset: { testid: "welcome" } },
    h(
      "div",
      { class: "welcome-main" },
      title,
      usable && roundName(m.round) ? h("p", { class: "welcome-round" }, roundName(m.round)) : null,
      intro ? h("p", { class: "welcome-intro" }, intro) : null,
      usable
        ? h("button", { type: "button", class: "btn btn-start", dataset: { testid: "start" }, onclick: () => actions.start() }, t("start"))
        : null,
      usable && !intro ? h("p", { class: "welcome-hint" }, t("startHint")) : null // the intro says it already
    ),
    staffNotices(),
    h("p", { class: "voices", dataset: { testid: "voices" } }, voicesText())
  );
  mount(screen, title);
}

/** For the staff: the read-aloud voices this tablet has, by language. */
function voicesText() {
  const list = voiceList();
  const names = (code) => (list[code].length ? list[code].join(", ") : t("voicesNone"));
  return t("voices", { vi: names("vi"), en: names("en") });
}

export function updateVoices() {
  const el = dom.host && dom.host.querySelector("[data-testid=voices]");
  if (el) el.textContent = voicesText();
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
    h("p", { class: "thanks-return", dataset: { role: "countdown" } }, tn("thanksReturn", thanksRemaining(), { s: thanksRemaining() })),
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
  const text = tn("thanksReturn", seconds, { s: seconds });
  if (el && el.textContent !== text) el.textContent = text;
}

function renderSaveError() {
  const title = h("h1", { class: "error-title", tabindex: "-1" }, t("saveFailedTitle"));
  const screen = h(
    "div",
    { class: "screen screen-center save-error", dataset: { testid: "save-error" } },
    title,
    h("p", null, t("saveFailedBody")),
    h(
      "div",
      { class: "ending-actions" },
      h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "retry-save" }, onclick: () => actions.submit() }, t("retry")),
      // the answers are still in memory: the citizen may give up on them (after a confirmation)
      h("button", { type: "button", class: "btn btn-secondary", dataset: { testid: "start-over" }, onclick: () => actions.confirmRestart() }, t("restart"))
    )
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

/* ==================================================================== dialogs */

/**
 * A modal dialog over the kiosk (made inert): the idle prompt ("idle") or the start-over
 * confirmation ("restart"). One at a time; opening one closes the other.
 */
function openDialog(kind, testid, buttons) {
  hideOverlay();
  const titleEl = h("h2", { class: "overlay-title", id: "dialog-title" });
  const body = h("p", { class: "overlay-body", id: "dialog-body" });
  const count = kind === "idle" ? h("p", { class: "countdown", "aria-hidden": "true" }) : null;
  const btns = buttons.map((b) =>
    h("button", { type: "button", class: "btn " + (b.primary ? "btn-primary btn-big" : "btn-secondary"), dataset: { testid: b.testid }, onclick: b.onclick })
  );
  const overlay = h(
    "div",
    {
      class: "overlay",
      role: "alertdialog",
      "aria-modal": "true",
      "aria-labelledby": "dialog-title",
      "aria-describedby": "dialog-body",
      dataset: { testid },
    },
    h("div", { class: "overlay-card" }, titleEl, count, body, h("div", { class: "overlay-actions" }, btns))
  );
  // A touch beside the buttons keeps the focus where it is (on a button of the dialog).
  overlay.addEventListener("mousedown", (ev) => {
    if (!(ev.target instanceof Element && ev.target.closest("button"))) ev.preventDefault();
  });
  overlay.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      buttons[0].onclick(); // the first button keeps the respondent's answers
    }
  });
  overlay.kind = kind;
  overlay.parts = { titleEl, body, count, btns, keys: buttons.map((b) => b.keys) };
  overlay.returnFocus = document.activeElement;
  dom.overlay = overlay;
  dom.app.inert = true; // the questionnaire underneath can't be reached
  document.body.append(overlay);
  screenChanged(); // a dialog that opens under a finger takes no tap
  btns[0].focus({ preventScroll: true });
  return overlay;
}

/** "Would you like to continue?" over the questionnaire, counting down `seconds`. */
export function showOverlay(seconds) {
  if (!dom.overlay || dom.overlay.kind !== "idle") {
    openDialog("idle", "still-there", [
      { testid: "continue", primary: true, keys: ["continue"], onclick: () => actions.resume() },
      { testid: "restart", keys: ["restart"], onclick: () => actions.home() },
    ]);
  }
  dom.overlay.seconds = seconds;
  renderOverlayTexts();
}

/** "Start over?": yes clears the answers and shows the welcome screen, no goes back to the question. */
export function showRestartConfirm() {
  openDialog("restart", "restart-confirm", [
    { testid: "restart-no", primary: true, keys: ["restartNo"], onclick: () => closeDialog() },
    { testid: "restart-yes", keys: ["restartYes"], onclick: () => actions.home() },
  ]);
  renderOverlayTexts();
}

/** Close the dialog and give the focus back to where it was. */
export function closeDialog() {
  const o = dom.overlay;
  if (!o) return;
  hideOverlay();
  screenChanged();
  if (o.returnFocus && o.returnFocus.isConnected) o.returnFocus.focus({ preventScroll: true });
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
  const idle = o.kind === "idle";
  o.parts.titleEl.textContent = t(idle ? "stillThere" : "restartTitle");
  o.parts.body.textContent = idle ? tn("stillThereBody", o.seconds, { s: o.seconds }) : t("restartBody");
  if (o.parts.count) o.parts.count.textContent = String(o.seconds);
  o.parts.btns.forEach((b, i) => {
    b.textContent = t(o.parts.keys[i][0]);
  });
  o.lang = lang();
}
