/*
 * SIPAS at home: the round's questionnaire on the citizen's own phone, opened from a personal
 * invitation link (templates/athome/app.html, fieldwork/views_athome.py).
 *
 * The kiosk's own modules do the work, so the questions, their checks and their words are the
 * kiosk's: model.js (conditions, validation, the payload), question.js (one question a screen),
 * screens.js (the strip: text size, language; the start-over dialog), i18n.js, api.js (fetch with
 * a timeout and the server's clock; its base is the link, data-api-base). This module only runs the
 * at-home flow: welcome with the consent line → questions → send → thanks; no idle reset, no outbox
 * (one phone, one person, one response).
 *
 * Resuming: the answers so far are kept in localStorage under the invitation's key (data-storage-key)
 * after every change, and deleted once the server has the response or says the link is answered.
 * On the citizen's own phone that is theirs alone, works with the connection gone, and leaves no
 * half-answered response on the server tied to an invitation (and so to a dossier).
 *
 * A unit's link for anyone (the desk poster, fieldwork/views_unitlinks.py) runs the same flow; its
 * page gives data-once-key: once the response is stored the key is set, and the next visit from this
 * browser shows "already answered" (a guard against a second answer by mistake, not a security
 * boundary: the server's cookie and the integrity checks are the others).
 */

import { acceptedBody, api, serverNowIso, uuidv7 } from "../kiosk/api.js";
import { dom, ensureFrame, h, mount } from "../kiosk/dom.js";
import { installTapGuard, screenChanged } from "../kiosk/guard.js";
import { lang, loc, setLang, t } from "../kiosk/i18n.js";
import { buildModel, buildPayload, newSession, pruneHidden, stepAt, stepProblems, visibleSteps } from "../kiosk/model.js";
import { refreshView, renderQuestion, showStepErrors } from "../kiosk/question.js";
import { closeDialog, hideOverlay, renderFrame, showRestartConfirm } from "../kiosk/screens.js";
import { actions, state } from "../kiosk/state.js";

const ADVANCE_MS = 300; // as the kiosk: a tapped answer shows as chosen this long before the next question
const KEY = document.body.dataset.storageKey || "sipas.athome";
const TEXTS = readJson("athome-texts") || {};
const ONCE_KEY = document.body.dataset.onceKey || null;

function readJson(id) {
  const el = document.getElementById(id);
  try {
    return el ? JSON.parse(el.textContent) : null;
  } catch (e) {
    return null;
  }
}

/** An at-home text in the language shown. */
function say(key) {
  return loc(TEXTS[key] || { vi: key, en: key });
}

/* ==================================================================== kept on the phone */

function loadSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "null");
    const code = state.model && state.model.questionnaire && state.model.questionnaire.code;
    return saved && saved.questionnaire === code && saved.answers ? saved : null;
  } catch (e) {
    return null;
  }
}

function save() {
  const s = state.session;
  if (!s) return;
  const kept = { questionnaire: s.model.questionnaire.code, startedAt: s.startedAt, answers: s.answers,
                 rawInput: s.rawInput, step: s.step, id: s.id, lang: lang() };
  try {
    localStorage.setItem(KEY, JSON.stringify(kept));
  } catch (e) {
    /* private mode or full: the answers stay in memory for this visit */
  }
}

function forget() {
  try {
    localStorage.removeItem(KEY);
  } catch (e) {
    /* nothing kept */
  }
}

function markAnswered() {
  if (!ONCE_KEY) return;
  // The cookie is for the server, which then answers the link's page with "already answered"; set
  // here because the API's calls carry no cookies (api.js), so one set by its answer is dropped.
  const path = document.body.dataset.apiBase || "/";
  document.cookie = "sipas_answered=1; path=" + path + "; max-age=31622400; samesite=lax";
  try {
    localStorage.setItem(ONCE_KEY, "1");
  } catch (e) {
    /* private mode: the cookie still says so */
  }
}

function answeredHere() {
  try {
    return !!ONCE_KEY && localStorage.getItem(ONCE_KEY) === "1";
  } catch (e) {
    return false;
  }
}

/* ==================================================================== screens */

function render() {
  document.documentElement.lang = lang();
  renderFrame();
  if (state.phase === "questionnaire" || state.phase === "saving") return renderQuestion();
  if (state.phase === "welcome") return renderWelcome();
  return renderEnd();
}

function renderWelcome() {
  const q = state.model.questionnaire;
  const round = state.model.round;
  const resumable = !!loadSaved();
  const title = h("h1", { class: "welcome-title", tabindex: "-1" }, loc(q.title));
  const screen = h(
    "div",
    { class: "screen welcome", dataset: { testid: "welcome" } },
    h(
      "div",
      { class: "welcome-main" },
      title,
      round && round.names ? h("p", { class: "welcome-round" }, loc(round.names)) : null,
      q.intro ? h("p", { class: "welcome-intro" }, loc(q.intro)) : null,
      h("p", { class: "welcome-hint", dataset: { testid: "consent" } }, say("consent")),
      h("p", { class: "welcome-hint" }, say("intro")),
      h("button", { type: "button", class: "btn btn-start", dataset: { testid: "start" }, onclick: () => actions.start() },
        resumable ? say("resume") : t("start"))
    )
  );
  mount(screen, title);
}

/** Thanks, already answered, a link no longer valid, or a send that failed (with Send again). */
function renderEnd() {
  const failed = state.phase === "send-error";
  const title = h("h1", { class: "thanks-title", tabindex: "-1" },
    state.phase === "thanks" ? loc(state.thanksText) || say("thanks") : say(failed ? "offline" : state.phase));
  const screen = h(
    "div",
    { class: "screen screen-center thanks", dataset: { testid: "athome-" + state.phase } },
    state.phase === "thanks" ? h("div", { class: "thanks-icon", "aria-hidden": "true" }) : null,
    title,
    state.phase === "thanks" ? h("p", { class: "thanks-saved" }, say("thanks")) : null,
    failed && state.problems ? h("ul", { class: "thanks-saved" }, state.problems.map((p) => h("li", null, p))) : null,
    failed ? h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "send-again" }, onclick: () => actions.submit() }, say("retry")) : null
  );
  mount(screen, title);
}

/* ==================================================================== the flow */

function start() {
  if (state.phase !== "welcome") return;
  const saved = loadSaved();
  const s = newSession(state.model, saved ? saved.startedAt : serverNowIso());
  if (saved) {
    Object.assign(s.answers, saved.answers);
    Object.assign(s.rawInput, saved.rawInput || {});
    s.id = saved.id || null;
    pruneHidden(s.model, s.answers, s.rawInput);
    if (saved.step && visibleSteps(s).some((step) => step.key === saved.step)) s.step = saved.step;
  }
  state.session = s;
  state.phase = "questionnaire";
  save();
  render();
  // Start is what counts the invitation opened (a link preview's GET did not).
  api("start", { method: "POST" }).then((res) => {
    if (res.data && res.data.reason && state.session === s) refused(res.data.reason);
  });
}

function next() {
  const s = state.session;
  if (!s || s.submitting || s.advancing || state.phase !== "questionnaire") return;
  if (!showStepErrors()) return;
  const { after } = stepAt(s);
  if (!after) return submit();
  s.step = after.key;
  save();
  renderQuestion();
}

function back() {
  const s = state.session;
  if (!s || s.submitting || s.advancing || state.phase !== "questionnaire") return;
  const { before } = stepAt(s);
  if (!before) return;
  s.step = before.key;
  save();
  renderQuestion();
}

function answered(code) {
  const s = state.session;
  save();
  if (!s || s.step !== code || !stepAt(s).after) return;
  s.advancing = true;
  screenChanged();
  setTimeout(() => {
    s.advancing = false;
    if (state.session === s && state.phase === "questionnaire" && s.step === code && !dom.overlay) next();
  }, ADVANCE_MS);
}

async function submit() {
  const s = state.session;
  if (!s || s.submitting) return;
  pruneHidden(s.model, s.answers, s.rawInput);
  const incomplete = visibleSteps(s).find((step) => stepProblems(s, step).length);
  if (incomplete) {
    state.phase = "questionnaire";
    s.step = incomplete.key;
    renderQuestion();
    showStepErrors();
    return;
  }
  s.submitting = true;
  if (!s.id) s.id = uuidv7(); // kept (and saved): a second try sends the same id
  save();
  state.phase = "saving";
  if (dom.view) refreshView();
  const payload = buildPayload(s, lang(), serverNowIso());
  const res = await api("responses", { method: "POST", body: payload });
  s.submitting = false;
  if ((res.status === 200 || res.status === 201) && acceptedBody(res, payload.id)) {
    forget();
    markAnswered();
    state.session = null;
    state.thanksText = s.model.questionnaire.thanks || null;
    state.phase = "thanks";
    return render();
  }
  if (res.data && res.data.reason) return refused(res.data.reason);
  const errors = (res.data && res.data.errors) || {};
  state.problems = Object.keys(errors).map((k) => k + ": " + [].concat(errors[k]).join("; "));
  state.phase = "send-error";
  render();
}

/** The server says the link cannot be answered (any more): nothing more to keep on the phone. */
function refused(reason) {
  forget();
  state.session = null;
  hideOverlay();
  state.phase = ["used", "expired", "closed", "off", "answered"].includes(reason) ? reason : "unknown";
  render();
}

/** "Start over" confirmed: the answers kept here are deleted, back to the first screen. */
function home() {
  forget();
  state.session = null;
  hideOverlay();
  state.phase = "welcome";
  render();
}

function setLanguage(code) {
  if (code === lang() || !setLang(code)) return;
  render();
  save();
  const pressed = document.querySelector('[data-testid="lang-' + code + '"]');
  if (pressed) pressed.focus({ preventScroll: true });
}

function setLargeText(on) {
  state.largeText = !!on;
  document.documentElement.classList.toggle("text-large", state.largeText);
  renderFrame();
}

function boot() {
  Object.assign(actions, {
    start, next, back, home, submit, answered, setLanguage, setLargeText,
    resume: closeDialog,
    confirmRestart: () => state.session && state.phase === "questionnaire" && showRestartConfirm(),
  });
  installTapGuard();
  ensureFrame();
  state.model = buildModel(readJson("athome-questionnaire"));
  const saved = loadSaved();
  if (saved && saved.lang) setLang(saved.lang);
  // A typed answer is kept as it is typed (the screens write it into the session).
  for (const type of ["input", "change"]) document.addEventListener(type, () => setTimeout(save, 0), true);
  window.addEventListener("pagehide", save);
  state.phase = answeredHere() ? "answered" : state.model.usable ? "welcome" : "closed";
  render();
}

boot();
