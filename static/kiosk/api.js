/*
 * Talking to the server: the device token and the questionnaire copy (localStorage), the server's
 * clock (learned from the Date header of every API answer), fetch with a timeout, and the ids of
 * responses. No DOM but the deployment paths read from <body> once.
 */

// Deployment paths: app.html may override them with data-* attributes on <body>.
const BODY_DATA = document.body ? document.body.dataset : {};
export const SETTINGS = {
  apiBase: BODY_DATA.apiBase || "/api/kiosk/v1/",
  swUrl: BODY_DATA.swUrl || "/kiosk/sw.js",
  swScope: BODY_DATA.swScope || "/kiosk/",
};

export const TOKEN_KEY = "sipas.kiosk.token"; // written by the server-rendered pairing page
const CONFIG_KEY = "sipas.kiosk.questionnaire"; // last good GET /questionnaire payload
const CLOCK_KEY = "sipas.kiosk.clock-offset-ms"; // server time minus this tablet's, from Date headers
const CLOCK_TOLERANCE_MS = 2000; // the Date header has whole seconds: smaller moves are its rounding
const FETCH_TIMEOUT_MS = 15000;
const RETRY_AFTER_MAX_MS = 60 * 60000;

/* ==================================================================== storage (localStorage) */
// Three keys, none of them about a respondent: the device token, the questionnaire copy and the
// clock offset (below).

export function getToken() {
  try {
    return (localStorage.getItem(TOKEN_KEY) || "").trim();
  } catch (e) {
    return "";
  }
}

export function saveConfigCopy(json, token) {
  try {
    localStorage.setItem(
      CONFIG_KEY,
      JSON.stringify({ saved_at: new Date().toISOString(), token: fingerprint(token), data: JSON.parse(json) })
    );
  } catch (e) {
    console.warn("[kiosk] could not keep the questionnaire copy", e);
  }
}

/** The cached questionnaire payload, or null (none, unreadable, or saved under another token). */
export function loadConfigCopy(token) {
  try {
    const raw = localStorage.getItem(CONFIG_KEY);
    if (!raw) return null;
    const copy = JSON.parse(raw);
    if (!copy || copy.token !== fingerprint(token) || !copy.data) return null;
    return copy.data;
  } catch (e) {
    return null;
  }
}

/* ==================================================================== clock */
// The server refuses a response "completed" in its future or before its round opened (by its own
// clock), and a refused response is set aside for good. A tablet's clock can be minutes off, so the
// kiosk stamps its times in the server's clock: the offset is learned from the Date header of every
// API answer and kept in localStorage, so a tablet restarted offline still applies it.

export const clock = { offsetMs: readClockOffset() };

function readClockOffset() {
  try {
    const v = Number(localStorage.getItem(CLOCK_KEY));
    return Number.isFinite(v) ? v : 0;
  } catch (e) {
    return 0;
  }
}

/** Learn the offset from an answer's Date header, sent and received at these local times (ms). */
function learnClock(headers, sentMs, receivedMs) {
  const serverMs = Date.parse((headers && headers.get("Date")) || "");
  if (!Number.isFinite(serverMs)) return;
  // The header's second began up to 1 s before the server wrote it: take its middle.
  const offset = Math.round(serverMs + 500 - (sentMs + receivedMs) / 2);
  if (Math.abs(offset - clock.offsetMs) < CLOCK_TOLERANCE_MS) return;
  clock.offsetMs = Math.abs(offset) < CLOCK_TOLERANCE_MS ? 0 : offset;
  try {
    localStorage.setItem(CLOCK_KEY, String(clock.offsetMs));
  } catch (e) {
    /* kept in memory for this page */
  }
}

/** Now, in the server's clock, as ISO 8601. */
export function serverNowIso() {
  return new Date(Date.now() + clock.offsetMs).toISOString();
}

/* ==================================================================== api */

/**
 * fetch() against the kiosk API with the device token and a 15 s timeout (covers the body too).
 * Never throws: returns {status, data, isJson, text, headers}; status 0 = network error/timeout.
 */
export async function api(path, options) {
  const opts = options || {};
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = "Kiosk " + token;
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
  const sentMs = Date.now();
  try {
    const res = await fetch(SETTINGS.apiBase + path, {
      method: opts.method || "GET",
      headers,
      body,
      signal: ctrl.signal,
      cache: "no-store",
      credentials: "omit", // token auth only: no session cookie, so no CSRF surprises
    });
    learnClock(res.headers, sentMs, Date.now());
    const text = await res.text();
    const isJson = /\bjson\b/i.test(res.headers.get("Content-Type") || "");
    let data = null;
    if (isJson && text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    return { status: res.status, data, isJson: isJson && (data !== null || !text), text, headers: res.headers };
  } catch (err) {
    return { status: 0, data: null, isJson: false, text: "", headers: null, error: err };
  } finally {
    clearTimeout(timer);
  }
}

/** Retry-After in ms (seconds or HTTP date), or 0. */
export function retryAfterMs(headers) {
  const v = headers && headers.get("Retry-After");
  if (!v) return 0;
  const secs = Number(v);
  let ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - Date.now();
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  return Math.min(ms, RETRY_AFTER_MAX_MS);
}

/** A 200/201 counts only if it looks like our API's answer (not e.g. an HTML login page). */
export function acceptedBody(res, id) {
  if (!res.isJson) return false;
  const d = res.data;
  if (!d || typeof d !== "object") return true; // empty JSON body: trust the status
  return d.id === undefined || String(d.id).toLowerCase() === String(id).toLowerCase();
}

/* ==================================================================== ids & helpers */

/**
 * Time-ordered UUID v7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Responses made
 * one after another get ids that sort one after another, which keeps the server's primary key
 * compact (see fieldwork/ids.py). The server accepts any UUID, so an older cached page still works.
 */
export function uuidv7() {
  const c = window.crypto;
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === "function") c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256); // last resort
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70; // version 7
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Short non-secret fingerprint (FNV-1a) of the token, to tie the cached questionnaire to it. */
function fingerprint(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x.toString(16);
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
