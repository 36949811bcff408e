/*
 * The kiosk's state, shared by main.js (which changes it) and the screens (which show it), and the
 * actions main.js offers the screens. The language is in i18n.js, the outbox's counts in outbox.js.
 */

import { getToken } from "./api.js";

export const state = {
  phase: "loading", // loading | welcome | no-survey | questionnaire | saving | save-error | thanks | quota-full | fatal
  model: null, // normalised questionnaire payload (model.js buildModel)
  configJson: "", // raw JSON of that payload, to notice changes
  configSource: null, // "network" | "cache"
  configLoadedAt: 0,
  authRefused: false, // GET /questionnaire answered 401/403: no Start button
  session: null, // the current respondent, in memory only (model.js newSession)
  thanksDeadline: 0,
  thanksText: null, // the finished questionnaire's {"vi","en"} thank-you text
  reloadPending: false, // a new service worker took over: reload at the next welcome screen
  largeText: false, // the "larger text" toggle (back to false with the language at every reset)
};

/**
 * What the screens may ask main.js to do; main.js fills it in at boot:
 * start(), next(), back(), home(), submit(), resume() (the idle prompt's Continue), answered(code)
 * (a one-tap answer was given: move on), confirmRestart(), setLanguage(code), setLargeText(on).
 */
export const actions = {};

/** Whether a respondent may start: a token, a kiosk the server accepts, a usable questionnaire. */
export function canStart() {
  return !!(getToken() && !state.authRefused && state.model && state.model.usable);
}
