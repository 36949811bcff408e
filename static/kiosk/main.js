/*
 * SIPAS kiosk client: anonymous satisfaction survey on a tablet at the one-stop desk.
 *
 * Plain JavaScript, native ES modules, no framework, no bundler. This module boots the kiosk and
 * runs its states (welcome → questionnaire → saving → thanks → welcome, and the others); it uses
 *   model.js (pure: conditions, validation, the payload) · api.js (token, server clock, fetch)
 *   · outbox.js (IndexedDB queue, send loop, heartbeat) · i18n.js · state.js
 *   · screens.js, question.js, dom.js, faces.js (the screens, replaceable without touching the rest)
 *   · guard.js (no ghost taps) · speech.js (read-aloud).
 *
 * Privacy rules that shape the kiosk:
 *   - a respondent's answers live ONLY in `state.session` (JS memory); they are never written to
 *     localStorage, sessionStorage, IndexedDB (until submitted), the URL or history state;
 *   - every screen is rebuilt from scratch, so no form control keeps a previous value;
 *   - history.replaceState only (never pushState), so the browser's Back can't reach a respondent.
 * Design notes for the team: static/kiosk/README.md
 */

import {
  SETTINGS,
  TOKEN_KEY,
  acceptedBody,
  api,
  clock,
  getToken,
  loadConfigCopy,
  saveConfigCopy,
  serverNowIso,
  uuidv7,
  withTimeout,
} from "./api.js";
import { dom, ensureFrame } from "./dom.js";
import { installTapGuard, screenChanged } from "./guard.js";
import { lang, setLang } from "./i18n.js";
import { buildModel, buildPayload, inClosedStratum, newSession, pruneHidden, stepAt, stepProblems, visibleSteps } from "./model.js";
import {
  flush,
  onChange,
  outbox,
  outboxCount,
  refreshCounts,
  resumeSending,
  retryNow,
  sendHeartbeat,
  startOutbox,
  status,
} from "./outbox.js";
import { refreshView, renderQuestion, showStepErrors } from "./question.js";
import {
  closeDialog,
  hideOverlay,
  renderFatal,
  renderFrame,
  renderOverlayTexts,
  renderScreen,
  renderWaiting,
  showCountdown,
  showOverlay,
  showRestartConfirm,
  thanksRemaining,
  updateStaffNotices,
  updateVoices,
} from "./screens.js";
import { initSpeech, stopSpeaking } from "./speech.js";
import { actions, canStart, state } from "./state.js";

// Bump with CACHE_VERSION in sw.js whenever a kiosk module, kiosk.css or app.html change.
const VERSION = "kiosk-2026.6";

const DB_WRITE_TIMEOUT_MS = 10000;
const HEARTBEAT_MS = 60000;
const NO_SURVEY_POLL_MS = 60000; // no round / kiosk refused: ask again every minute
const CONFIG_REFRESH_MS = 60000; // welcome screen: pick up a new round, questionnaire or full quota
const IDLE_COUNTDOWN_S = 20; // at least 20 s to say "continue" (WCAG 2.2.1), counted from when it shows
const TICK_MS = 250;
const ADVANCE_MS = 300; // a tapped answer shows as chosen this long before the next question

/* ==================================================================== render */

/** Render the current phase's screen; any exception ends on a "start again" screen, never blank. */
function render() {
  document.documentElement.lang = lang();
  try {
    renderFrame();
    if (state.phase === "questionnaire" || state.phase === "saving") return renderQuestion();
    return renderScreen(state.phase);
  } catch (err) {
    console.error("[kiosk] render failed", err);
    state.phase = "fatal";
    renderFatal();
  }
}

/** Show another language; a question screen is rebuilt with its answers and scroll position. */
function setLanguage(code) {
  idle.touch();
  if (code === lang() || !setLang(code)) return;
  if (state.phase === "questionnaire") {
    // Rebuild the screen in the other language; answers are untouched, scroll position kept.
    const scroller = dom.view && dom.view.body;
    const top = scroller ? scroller.scrollTop : 0;
    render();
    if (dom.view && dom.view.body) dom.view.body.scrollTop = top;
    const pressed = document.querySelector('[data-testid="lang-' + code + '"]');
    if (pressed) pressed.focus({ preventScroll: true });
  } else {
    render();
  }
  if (dom.overlay) renderOverlayTexts();
}

/** Larger text on every screen until the next reset (CSS only: nothing is rebuilt). */
function setLargeText(on) {
  idle.touch();
  state.largeText = !!on;
  document.documentElement.classList.toggle("text-large", state.largeText);
  renderFrame();
}

/* ==================================================================== a respondent */

/** End politely: forget the answers (nothing is sent) and return home after the thank-you time. */
function endQuotaFull() {
  const seconds = state.session.model.thanksSeconds;
  state.session = null;
  hideOverlay();
  state.phase = "quota-full";
  state.thanksDeadline = Date.now() + seconds * 1000;
  render();
}

function onNext() {
  const s = state.session;
  if (!s || s.submitting || s.advancing || state.phase !== "questionnaire") return;
  if (!showStepErrors()) return;
  if (inClosedStratum(s)) {
    endQuotaFull();
    return;
  }
  const { after } = stepAt(s);
  if (!after) {
    submit();
    return;
  }
  s.step = after.key;
  renderQuestion();
}

/** A one-tap answer was given: show it chosen for a moment, then the next question (never Submit). */
function answered(code) {
  const s = state.session;
  if (!s || s.step !== code || !stepAt(s).after) return;
  s.advancing = true;
  screenChanged(); // from now on taps wait for the next question
  setTimeout(() => {
    s.advancing = false;
    if (state.session === s && state.phase === "questionnaire" && s.step === code && !dom.overlay) onNext();
  }, ADVANCE_MS);
}

function goBack() {
  const s = state.session;
  if (!s || s.submitting || s.advancing || state.phase !== "questionnaire") return;
  const { before } = stepAt(s);
  if (!before) return;
  s.step = before.key;
  renderQuestion();
}

function startSession() {
  if (!canStart() || state.phase !== "welcome") return;
  state.session = newSession(state.model, serverNowIso());
  state.phase = "questionnaire";
  idle.touch();
  cleanUrl();
  render();
}

/** "Start over" on a question or after a failed save: ask first (the answers would be lost). */
function confirmRestart() {
  if (!state.session || (state.phase !== "questionnaire" && state.phase !== "save-error")) return;
  showRestartConfirm();
}

/**
 * Submit: validate every visible screen, store the response in the outbox, and only then say
 * thank you. Without IndexedDB the response must reach the server before the thank-you.
 */
async function submit() {
  const s = state.session;
  if (!s || s.submitting) return;
  pruneHidden(s.model, s.answers, s.rawInput);
  // A question passed earlier may have become incomplete (e.g. after Back and a changed answer).
  for (const step of visibleSteps(s)) {
    if (!stepProblems(s, step).length) continue;
    state.phase = "questionnaire";
    if (step.key !== s.step || !dom.view) {
      s.step = step.key;
      renderQuestion();
    }
    showStepErrors();
    return;
  }
  s.submitting = true;
  state.phase = "saving";
  if (dom.view) refreshView();
  if (!s.id) s.id = uuidv7(); // kept: a retry after a failed save sends the same id
  const payload = buildPayload(s, lang(), serverNowIso());
  let stored = false;
  try {
    await withTimeout(outbox.add(payload), DB_WRITE_TIMEOUT_MS, "outbox.add");
    stored = true;
  } catch (err) {
    console.error("[kiosk] could not store the response in IndexedDB", err);
    status.storageBroken = true;
    const res = await api("responses", { method: "POST", body: payload });
    stored = (res.status === 200 || res.status === 201) && acceptedBody(res, payload.id);
  }
  if (state.session !== s) return; // defensive: the kiosk was reset meanwhile
  if (!stored) {
    s.submitting = false;
    state.phase = "save-error";
    render();
    return;
  }
  state.session = null; // the respondent's answers leave memory before the thank-you
  state.phase = "thanks";
  state.thanksText = s.model.questionnaire.thanks || null;
  state.thanksDeadline = Date.now() + s.model.thanksSeconds * 1000;
  render();
  refreshCounts();
  flush();
}

/* ==================================================================== home, reset, config */

/**
 * Forget the respondent (if any) and show the welcome / no-survey screen, rebuilt from scratch, in
 * Vietnamese with the default text size: the next person finds the kiosk as the first one did.
 */
function goHome() {
  state.session = null;
  state.thanksDeadline = 0;
  hideOverlay();
  stopSpeaking();
  if (state.reloadPending) {
    location.reload(); // a new app version is ready; nothing of a respondent is in memory now
    return;
  }
  setLang("vi");
  setLargeText(false);
  const active = document.activeElement;
  if (active && active !== document.body && typeof active.blur === "function") active.blur(); // close the keyboard
  cleanUrl();
  state.phase = homePhase();
  render();
  if (Date.now() - state.configLoadedAt > CONFIG_REFRESH_MS) refreshConfig();
}

function homePhase() {
  if (!getToken() || state.authRefused) return "welcome"; // with a staff notice, no Start button
  return state.model && state.model.usable ? "welcome" : "no-survey";
}

function atHome() {
  return state.phase === "welcome" || state.phase === "no-survey" || state.phase === "loading" || state.phase === "fatal";
}

/** Strip query, hash and history state: nothing about a respondent ever sits in the URL. */
function cleanUrl() {
  try {
    history.replaceState(null, "", location.pathname);
  } catch (e) {
    /* ignore */
  }
}

/** GET the questionnaire; on failure fall back to the localStorage copy. */
async function loadConfig() {
  const token = getToken();
  if (!token) {
    state.model = null;
    state.configSource = null;
    return;
  }
  const res = await api("questionnaire");
  state.configLoadedAt = Date.now();
  if (res.status === 200 && res.data && typeof res.data === "object") {
    const json = JSON.stringify(res.data);
    state.authRefused = false;
    resumeSending(); // if sending had stopped on a 401/403: the kiosk is accepted again
    if (json !== state.configJson || state.configSource !== "network") {
      state.model = buildModel(res.data);
      state.configJson = json;
    }
    state.configSource = "network";
    saveConfigCopy(json, token);
    return;
  }
  if (res.status === 401 || res.status === 403) {
    state.authRefused = true;
    return;
  }
  // Offline, timeout, 5xx…: the last copy (if it was saved under this token), else no survey.
  if (state.configSource !== "cache" || !state.model) {
    const copy = loadConfigCopy(token);
    state.model = copy ? buildModel(copy) : null;
    state.configJson = copy ? JSON.stringify(copy) : "";
  }
  state.configSource = state.model ? "cache" : null;
}

let configTimer = 0;

function scheduleConfigRefresh() {
  clearTimeout(configTimer);
  const poll = !state.model || !state.model.usable || state.authRefused;
  configTimer = setTimeout(refreshConfig, poll ? NO_SURVEY_POLL_MS : CONFIG_REFRESH_MS);
}

/** Reload the config; re-render only when at home and something visible changed. */
async function refreshConfig() {
  clearTimeout(configTimer);
  if (!atHome()) {
    scheduleConfigRefresh(); // never swap the questionnaire under a respondent
    return;
  }
  const before = screenKey();
  await loadConfig();
  scheduleConfigRefresh();
  if (!atHome()) return;
  const phase = homePhase();
  if (phase !== state.phase || screenKey() !== before) {
    state.phase = phase;
    render();
  } else {
    updateStaffNotices();
  }
}

function screenKey() {
  return [homePhase(), state.configJson, state.configSource, state.authRefused, status.sendBlocked].join("|");
}

/* ==================================================================== idle */

const idle = {
  last: Date.now(),
  promptedAt: 0, // when the idle prompt showed (its countdown runs from then)
  touch() {
    idle.last = Date.now();
  },
  active() {
    return state.phase === "questionnaire" || state.phase === "save-error";
  },
  /** Called every TICK_MS: prompt after idle_seconds, reset IDLE_COUNTDOWN_S after the prompt showed. */
  tick() {
    if ((state.phase === "welcome" || state.phase === "no-survey") && (lang() !== "vi" || state.largeText)) {
      // Someone changed the language or the text size and walked away without starting.
      const idleMs = (state.model ? state.model.idleSeconds : 90) * 1000;
      if (Date.now() - idle.last >= idleMs) goHome();
      return;
    }
    if (!idle.active() || !state.session) {
      idle.promptedAt = 0;
      if (dom.overlay && dom.overlay.kind === "idle") hideOverlay();
      return;
    }
    const idleMs = state.session.model.idleSeconds * 1000;
    if (Date.now() - idle.last < idleMs) {
      idle.promptedAt = 0;
      if (dom.overlay && dom.overlay.kind === "idle") closeDialog();
      return;
    }
    if (!idle.promptedAt) idle.promptedAt = Date.now();
    const remaining = Math.ceil((idle.promptedAt + IDLE_COUNTDOWN_S * 1000 - Date.now()) / 1000);
    if (remaining <= 0) {
      goHome(); // discard the partial answers
      return;
    }
    showOverlay(remaining);
  },
  resume() {
    idle.touch();
    idle.promptedAt = 0;
    closeDialog();
  },
};

function thanksTick() {
  if (state.phase !== "thanks" && state.phase !== "quota-full") return;
  const left = thanksRemaining();
  if (left <= 0) {
    goHome();
    return;
  }
  showCountdown(left);
}

/* ==================================================================== service worker */

function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  let controlled = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // A NEW worker (new app version) took over: reload, but never under a respondent.
    if (controlled) {
      if (atHome()) location.reload();
      else state.reloadPending = true;
    }
    controlled = true;
  });
  navigator.serviceWorker
    .register(SETTINGS.swUrl, { scope: SETTINGS.swScope })
    .then((reg) => {
      navigator.serviceWorker.ready.then((ready) => {
        // Tell the worker which asset URLs this page really uses (in case they differ from its list).
        const urls = [location.pathname];
        document.querySelectorAll("script[src], link[rel=stylesheet][href]").forEach((el) => urls.push(el.src || el.href));
        if (ready.active) ready.active.postMessage({ type: "cache-urls", urls });
      });
      setInterval(() => reg.update().catch(() => {}), 60 * 60000); // kiosks run for weeks
    })
    .catch((err) => console.warn("[kiosk] service worker not registered", err));
}

/* ==================================================================== boot */

function wireGlobalEvents() {
  // Any touch or key counts as activity (not while the idle prompt is up: only Continue answers it).
  const activity = () => {
    if (!dom.overlay || dom.overlay.kind !== "idle") idle.touch();
  };
  for (const type of ["pointerdown", "touchstart", "keydown", "input", "wheel"]) {
    window.addEventListener(type, activity, { capture: true, passive: true });
  }
  window.addEventListener("scroll", activity, { capture: true, passive: true });

  window.addEventListener("online", () => {
    retryNow();
    if (atHome()) refreshConfig();
  });

  // Leaving the page: show a blank welcome so the bfcache snapshot holds no answers;
  // coming back from the bfcache: start over at the welcome screen.
  window.addEventListener("pagehide", () => {
    if (state.session) {
      state.session = null;
      state.phase = homePhase();
      hideOverlay();
      render();
    }
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) goHome();
  });

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      idle.tick(); // may reset at once if the tablet slept through the countdown
      flush();
    }
  });

  // Re-paired from another tab: reload at the next safe moment.
  window.addEventListener("storage", (ev) => {
    if (ev.key !== TOKEN_KEY) return;
    if (atHome()) location.reload();
    else state.reloadPending = true;
  });

  // Errors never leave a blank screen.
  window.addEventListener("error", () => guardScreen());
  window.addEventListener("unhandledrejection", (ev) => {
    console.error("[kiosk] unhandled rejection", ev.reason);
    guardScreen();
  });
}

function guardScreen() {
  if (dom.host && !dom.host.firstElementChild) {
    state.phase = "fatal";
    renderFatal();
  }
}

function requestPersistentStorage() {
  try {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage
        .persisted()
        .then((yes) => yes || navigator.storage.persist())
        .catch(() => {});
    }
  } catch (e) {
    /* ignore */
  }
}

async function boot() {
  Object.assign(actions, {
    start: startSession,
    next: onNext,
    back: goBack,
    home: goHome,
    submit,
    resume: idle.resume,
    answered,
    confirmRestart,
    setLanguage,
    setLargeText,
  });
  cleanUrl();
  installTapGuard();
  ensureFrame();
  wireGlobalEvents();
  state.phase = "loading";
  render();
  requestPersistentStorage();
  onChange(() => {
    renderWaiting();
    updateStaffNotices();
  });
  startOutbox();
  initSpeech(() => {
    if (state.phase === "welcome") updateVoices();
  });
  registerServiceWorker();
  setInterval(() => {
    idle.tick();
    thanksTick();
  }, TICK_MS);
  setInterval(sendHeartbeat, HEARTBEAT_MS);

  await loadConfig();
  if (state.phase === "loading") {
    state.phase = homePhase();
    render();
  }
  scheduleConfigRefresh();
  flush();
}

// Read-only helpers for the browser tests and for debugging.
Object.defineProperty(window, "sipasKiosk", {
  value: Object.freeze({
    outboxCount: () => outboxCount(),
    flush: () => flush(),
    clockOffsetMs: () => clock.offsetMs,
    version: VERSION,
  }),
  writable: false,
  configurable: false,
});

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => boot());
else boot();
