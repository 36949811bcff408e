/*
 * No ghost taps. A tap is the whole gesture on the kiosk, and the screen changes under the finger:
 * the second tap of a double tap would land on whatever the next screen has there (the next
 * question's answer, "Start over", "Submit"). So, for every click (mouse, touch, or a key that
 * presses a button):
 *   - a click within QUIET_MS of a screen change (a new screen, a dialog opening or closing, an
 *     answer that will move on) does nothing; nor does one that follows such an ignored click
 *     within QUIET_MS (the rest of a triple tap, or of a trembling hand);
 *   - a click on the same control within REPEAT_MS of the last one it took does nothing (a double
 *     tap on a multiple-choice option must not choose and un-choose it).
 * While clicks are ignored, <html> carries data-settling (the browser tests wait for it to go).
 *
 * A key that presses a button (Enter, Space) is not a tap: after a screen change the focus is on
 * the new screen's heading or on a dialog's safe button, where a second press of the key does
 * nothing or keeps the answers, so a deliberate press is never ignored. Only a key held down
 * (its auto-repeat) presses nothing.
 */

export const QUIET_MS = 450;
export const REPEAT_MS = 600;

let changedAt = -Infinity;
let ignoredAt = -Infinity;
let last = { el: null, at: -Infinity };
let timer = 0;

const now = () => performance.now();

/** A new screen or dialog is up (or about to be): taps are ignored for QUIET_MS. */
export function screenChanged() {
  changedAt = now();
  last = { el: null, at: -Infinity };
  settle(QUIET_MS);
}

function settle(ms) {
  document.documentElement.dataset.settling = "";
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (!settling()) delete document.documentElement.dataset.settling;
    else settle(QUIET_MS);
  }, ms);
}

function settling() {
  const t = now();
  return t - changedAt < QUIET_MS || t - ignoredAt < QUIET_MS;
}

let heldKey = false; // the last Enter / Space press was the auto-repeat of a key held down

function onKey(ev) {
  if (ev.key === "Enter" || ev.key === " ") heldKey = ev.repeat;
}

/** A click made by a key: trusted, and no pointer behind it (detail counts a pointer's presses). */
function byKey(ev) {
  return ev.isTrusted && ev.detail === 0 && !ev.pointerType;
}

function onClick(ev) {
  if (byKey(ev)) {
    if (heldKey) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
    return;
  }
  const el = ev.target instanceof Element ? ev.target.closest("button, a, input, textarea, [role]") : null;
  const t = now();
  const repeat = el && el === last.el && t - last.at < REPEAT_MS;
  if (settling() || repeat) {
    ignoredAt = t;
    settle(QUIET_MS);
    ev.preventDefault();
    ev.stopImmediatePropagation();
    return;
  }
  if (el) last = { el, at: t };
}

/** Listen before any control does (capture phase on the window). */
export function installTapGuard() {
  window.addEventListener("keydown", onKey, { capture: true });
  window.addEventListener("click", onClick, { capture: true });
}
