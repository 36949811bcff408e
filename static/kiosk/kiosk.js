/*
 * SIPAS kiosk client: anonymous satisfaction survey on a tablet at the one-stop desk.
 *
 * Plain JavaScript, no framework, no bundler. One IIFE, split into small sections:
 *   settings & constants · i18n · helpers · storage (localStorage) · api (fetch + timeout)
 *   · database (IndexedDB) · outbox (queue + send loop + heartbeat) · questionnaire model
 *   · conditions · session (answers, navigation, validation) · render (screens) · idle · boot.
 *
 * Privacy rules that shape this file:
 *   - a respondent's answers live ONLY in `state.session` (JS memory); they are never written to
 *     localStorage, sessionStorage, IndexedDB (until submitted), the URL or history state;
 *   - every screen is rebuilt from scratch, so no form control keeps a previous value;
 *   - history.replaceState only (never pushState), so the browser's Back can't reach a respondent.
 * Design notes for the team: tests/kiosk/kiosk_js_notes.md
 */
(function () {
  "use strict";

  /* ==================================================================== settings & constants */

  const VERSION = "kiosk-2026.3";

  // Deployment paths: app.html may override them with data-* attributes on <body>.
  const BODY_DATA = document.body ? document.body.dataset : {};
  const SETTINGS = {
    apiBase: BODY_DATA.apiBase || "/api/kiosk/v1/",
    swUrl: BODY_DATA.swUrl || "/kiosk/sw.js",
    swScope: BODY_DATA.swScope || "/kiosk/",
  };

  const TOKEN_KEY = "sipas.kiosk.token"; // written by the server-rendered pairing page
  const CONFIG_KEY = "sipas.kiosk.questionnaire"; // last good GET /questionnaire payload
  const CLOCK_KEY = "sipas.kiosk.clock-offset-ms"; // server time minus this tablet's, from Date headers
  const CLOCK_TOLERANCE_MS = 2000; // the Date header has whole seconds: smaller moves are its rounding

  const DB_NAME = "sipas-kiosk";
  const DB_VERSION = 1;
  const STORE_OUTBOX = "outbox";
  const STORE_CONFLICTS = "conflicts";
  const STORE_REJECTED = "rejected";

  const FETCH_TIMEOUT_MS = 15000;
  const DB_WRITE_TIMEOUT_MS = 10000;
  const HEARTBEAT_MS = 60000;
  const NO_SURVEY_POLL_MS = 60000; // no round / kiosk refused: ask again every minute
  const CONFIG_REFRESH_MS = 60000; // welcome screen: pick up a new round, questionnaire or full quota
  const BACKOFF_START_MS = 2000;
  const BACKOFF_MAX_MS = 60000;
  const RETRY_AFTER_MAX_MS = 60 * 60000;
  const IDLE_COUNTDOWN_S = 20;
  const DEFAULT_IDLE_S = 90;
  const DEFAULT_THANKS_S = 8;
  const TICK_MS = 250;
  const DOSSIER_MIN = 3;
  const DOSSIER_MAX = 64;
  const DOSSIER_SCREEN = "dossier"; // data-section of the dossier-code screen

  /* ==================================================================== i18n */

  // UI strings. The questionnaire's own texts come from the API as {"vi": ..., "en": ...}.
  const I18N = {
    vi: {
      appTitle: "Khảo sát sự hài lòng của người dân",
      language: "Ngôn ngữ",
      loading: "Đang tải…",
      start: "Bắt đầu",
      startHint: "Phiếu không ghi tên. Chạm “Bắt đầu” để trả lời.",
      back: "Quay lại",
      next: "Tiếp tục",
      submit: "Gửi phiếu",
      saving: "Đang lưu phiếu…",
      progress: "Phần {n}/{total}",
      optional: "(không bắt buộc)",
      answerThis: "Xin Ông/Bà trả lời câu hỏi này.",
      unanswered: "Ông/Bà chưa trả lời câu: “{q}”",
      unansweredMore: " (và {n} câu khác)",
      checkAnswer: "Xin Ông/Bà kiểm tra lại câu: “{q}”",
      numberRange: "Xin nhập một số nguyên từ {min} đến {max}.",
      numberMin: "Xin nhập một số nguyên từ {min} trở lên.",
      numberMax: "Xin nhập một số nguyên không quá {max}.",
      numberInt: "Xin nhập một số nguyên.",
      numberHint: "Nhập số",
      tooLong: "Tối đa {max} ký tự.",
      chars: "{n}/{max} ký tự",
      chooseMany: "Có thể chọn nhiều phương án.",
      chooseUpTo: "Chọn tối đa {n} phương án.",
      chosenCount: "Đã chọn {k}/{n}.",
      textPlaceholder: "Nhập ý kiến của Ông/Bà…",
      yes: "Có",
      no: "Không",
      scale1: "Rất không hài lòng",
      scale2: "Không hài lòng",
      scale3: "Bình thường",
      scale4: "Hài lòng",
      scale5: "Rất hài lòng",
      notApplicable: "Không áp dụng / Không biết",
      dossierTitle: "Mã hồ sơ",
      dossierQuestion: "Xin nhập mã hồ sơ in trên giấy tiếp nhận hồ sơ (biên nhận) của Ông/Bà.",
      dossierError: "Mã hồ sơ gồm từ {min} đến {max} ký tự.",
      stillThere: "Ông/Bà vẫn đang trả lời chứ?",
      stillThereBody: "Nếu không, phiếu đang trả lời sẽ bị xoá và màn hình trở về trang đầu sau {s} giây.",
      continue: "Tiếp tục trả lời",
      restart: "Làm lại từ đầu",
      thanksDefault: "Trân trọng cảm ơn Ông/Bà đã tham gia khảo sát!",
      thanksSaved: "Phiếu của Ông/Bà đã được ghi nhận.",
      thanksReturn: "Màn hình sẽ trở về trang đầu sau {s} giây.",
      done: "Xong",
      noSurveyTitle: "Hiện chưa có đợt khảo sát",
      noSurveyBody: "Xin cảm ơn Ông/Bà. Mời Ông/Bà quay lại sau.",
      quotaFullTitle: "Xin cảm ơn Ông/Bà!",
      quotaFullBody: "Đợt khảo sát này đã nhận đủ ý kiến của người dân trong nhóm của Ông/Bà, nên Ông/Bà không cần trả lời thêm.",
      waiting: "{n} phiếu chờ gửi",
      saveFailedTitle: "Chưa lưu được phiếu",
      saveFailedBody: "Xin Ông/Bà chạm “Thử lại”. Nếu vẫn không được, xin báo cán bộ tại quầy.",
      retry: "Thử lại",
      fatalTitle: "Đã có lỗi",
      fatalBody: "Xin chạm nút dưới đây để bắt đầu lại.",
      staffNotPaired:
        "Máy tính bảng này chưa được ghép nối: hãy mở đường dẫn ghép nối do cán bộ khảo sát cung cấp.",
      staffRevoked:
        "Kiosk chưa được ghép nối hoặc đã bị thu hồi (Kiosk not paired or revoked). Các phiếu chờ gửi vẫn được giữ trên máy.",
      staffRejected: "{n} phiếu bị máy chủ từ chối, đang lưu trên máy (kho “rejected”).",
      staffConflicts: "{n} phiếu trùng mã với phiếu khác trên máy chủ, đang lưu trên máy (kho “conflicts”).",
      staffOffline: "Đang dùng bộ câu hỏi đã lưu trên máy (không kết nối được máy chủ).",
      staffNoStorage: "Trình duyệt không cho lưu phiếu trên máy (IndexedDB): phiếu chỉ được nhận khi có mạng.",
    },
    en: {
      appTitle: "Citizen satisfaction survey",
      language: "Language",
      loading: "Loading…",
      start: "Start",
      startHint: "This survey is anonymous. Tap “Start” to answer.",
      back: "Back",
      next: "Next",
      submit: "Submit",
      saving: "Saving…",
      progress: "Part {n} of {total}",
      optional: "(optional)",
      answerThis: "Please answer this question.",
      unanswered: "Please answer: “{q}”",
      unansweredMore: " (and {n} more)",
      checkAnswer: "Please check your answer to: “{q}”",
      numberRange: "Please enter a whole number from {min} to {max}.",
      numberMin: "Please enter a whole number of at least {min}.",
      numberMax: "Please enter a whole number of at most {max}.",
      numberInt: "Please enter a whole number.",
      numberHint: "Enter a number",
      tooLong: "At most {max} characters.",
      chars: "{n}/{max} characters",
      chooseMany: "You can choose more than one.",
      chooseUpTo: "Choose up to {n}.",
      chosenCount: "Chosen: {k}/{n}.",
      textPlaceholder: "Type your comment…",
      yes: "Yes",
      no: "No",
      scale1: "Very dissatisfied",
      scale2: "Dissatisfied",
      scale3: "Neutral",
      scale4: "Satisfied",
      scale5: "Very satisfied",
      notApplicable: "Not applicable / Don't know",
      dossierTitle: "Dossier code",
      dossierQuestion: "Please enter the dossier code printed on your receipt.",
      dossierError: "The dossier code has {min} to {max} characters.",
      stillThere: "Are you still there?",
      stillThereBody: "If not, your answers will be cleared and the survey will restart in {s} seconds.",
      continue: "Continue",
      restart: "Start over",
      thanksDefault: "Thank you for taking part in this survey!",
      thanksSaved: "Your answers have been recorded.",
      thanksReturn: "This screen will return to the start in {s} seconds.",
      done: "Done",
      noSurveyTitle: "There is no survey at the moment",
      noSurveyBody: "Thank you. Please come back later.",
      quotaFullTitle: "Thank you!",
      quotaFullBody: "This survey already has enough answers from people in your group, so there is nothing more to answer.",
      waiting: "{n} responses waiting",
      waitingOne: "1 response waiting",
      saveFailedTitle: "Your answers could not be saved",
      saveFailedBody: "Please tap “Try again”. If it still fails, please tell the staff at the desk.",
      retry: "Try again",
      fatalTitle: "Something went wrong",
      fatalBody: "Please tap the button below to start again.",
      staffNotPaired: "This tablet is not paired yet: open the pairing link given by the survey officer.",
      staffRevoked: "Kiosk not paired or revoked. Waiting responses are kept on this tablet.",
      staffRejected: "{n} response(s) rejected by the server, kept on this tablet (store “rejected”).",
      staffConflicts: "{n} response(s) clash with a different response on the server, kept on this tablet (store “conflicts”).",
      staffOffline: "Using the questionnaire saved on this tablet (the server cannot be reached).",
      staffNoStorage: "This browser cannot keep responses on the tablet (IndexedDB): answers are accepted only when online.",
    },
  };

  /** UI string in the current language, with {name} placeholders filled from params. */
  function t(key, params) {
    const table = I18N[state.lang] || I18N.vi;
    let s = table[key];
    if (s === undefined) s = I18N.vi[key];
    if (s === undefined) s = key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
    return s;
  }

  /** A {"vi","en"} text from the API in the current language (falls back to the other one). */
  function loc(text) {
    if (text == null) return "";
    if (typeof text === "string") return text;
    return text[state.lang] || text.vi || text.en || "";
  }

  /* ==================================================================== state */

  const state = {
    lang: "vi",
    phase: "loading", // loading | welcome | no-survey | questionnaire | saving | save-error | thanks | fatal
    model: null, // normalised questionnaire payload (see buildModel)
    configJson: "", // raw JSON of that payload, to notice changes
    configSource: null, // "network" | "cache"
    configLoadedAt: 0,
    authRefused: false, // GET /questionnaire answered 401/403: no Start button
    sendBlocked: false, // POST /responses answered 401/403: stop sending until the GET works again
    storageBroken: false, // IndexedDB could not be opened
    session: null, // the current respondent, in memory only
    counts: { outbox: 0, rejected: 0, conflicts: 0 },
    thanksDeadline: 0,
    thanksText: null, // the finished questionnaire's {"vi","en"} thank-you text
    reloadPending: false, // a new service worker took over: reload at the next welcome screen
  };

  /* ==================================================================== small helpers */

  /** Tiny DOM builder: h("button", {class, dataset, onclick, ...}, children...). Never uses innerHTML. */
  function h(tag, props, ...children) {
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

  function truncate(s, n) {
    s = String(s || "");
    return s.length > n ? s.slice(0, n - 1).trimEnd() + "…" : s;
  }

  function clampInt(v, lo, hi, dflt) {
    const n = Number(v);
    if (!Number.isFinite(n)) return dflt;
    return Math.min(hi, Math.max(lo, Math.round(n)));
  }

  /**
   * Time-ordered UUID v7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Responses made
   * one after another get ids that sort one after another, which keeps the server's primary key
   * compact (see fieldwork/ids.py). The server accepts any UUID, so an older cached page still works.
   */
  function uuidv7() {
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

  function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /* ==================================================================== storage (localStorage) */
  // Only two keys, none of them about a respondent: the device token and the questionnaire copy.

  function getToken() {
    try {
      return (localStorage.getItem(TOKEN_KEY) || "").trim();
    } catch (e) {
      return "";
    }
  }

  function saveConfigCopy(json, token) {
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
  function loadConfigCopy(token) {
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

  const clock = { offsetMs: readClockOffset() };

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
  function serverNowIso() {
    return new Date(Date.now() + clock.offsetMs).toISOString();
  }

  /* ==================================================================== api */

  /**
   * fetch() against the kiosk API with the device token and a 15 s timeout (covers the body too).
   * Never throws: returns {status, data, isJson, text, headers}; status 0 = network error/timeout.
   */
  async function api(path, options) {
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
  function retryAfterMs(headers) {
    const v = headers && headers.get("Retry-After");
    if (!v) return 0;
    const secs = Number(v);
    let ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - Date.now();
    if (!Number.isFinite(ms) || ms < 0) ms = 0;
    return Math.min(ms, RETRY_AFTER_MAX_MS);
  }

  /* ==================================================================== database (IndexedDB) */
  // Database "sipas-kiosk" v1, three stores with keyPath "id":
  //   outbox    {id, queued_at, payload, attempts, last_status, last_attempt_at}  (index queued_at)
  //   conflicts {…outbox record, status: 409, response, moved_at}
  //   rejected  {…outbox record, status: 400, response, moved_at}

  let dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise((resolve, reject) => {
      if (!window.indexedDB) {
        reject(new Error("IndexedDB is not available"));
        return;
      }
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(STORE_OUTBOX)) {
          db.createObjectStore(STORE_OUTBOX, { keyPath: "id" }).createIndex("queued_at", "queued_at");
        }
        if (!db.objectStoreNames.contains(STORE_CONFLICTS)) db.createObjectStore(STORE_CONFLICTS, { keyPath: "id" });
        if (!db.objectStoreNames.contains(STORE_REJECTED)) db.createObjectStore(STORE_REJECTED, { keyPath: "id" });
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => {
          db.close();
          dbPromise = null;
        };
        db.onclose = () => {
          dbPromise = null;
        };
        resolve(db);
      };
      req.onerror = () => reject(req.error || new Error("IndexedDB open failed"));
      req.onblocked = () => console.warn("[kiosk] IndexedDB upgrade blocked by another tab");
    });
    dbPromise.catch(() => {
      dbPromise = null;
    });
    return dbPromise;
  }

  /**
   * Run fn(stores) in one transaction; resolves when the transaction has COMMITTED, with the
   * result of the IDBRequest fn returned (or fn's plain return value).
   */
  async function dbRun(storeNames, mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const names = [].concat(storeNames);
      const tx =
        mode === "readwrite" ? db.transaction(names, mode, { durability: "strict" }) : db.transaction(names, mode);
      const stores = {};
      for (const n of names) stores[n] = tx.objectStore(n);
      let out;
      try {
        out = fn(stores);
      } catch (err) {
        try {
          tx.abort();
        } catch (e) {
          /* already finished */
        }
        reject(err);
        return;
      }
      tx.oncomplete = () => resolve(out instanceof IDBRequest ? out.result : out);
      tx.onerror = () => reject(tx.error || new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
    });
  }

  /* ==================================================================== outbox */

  const outbox = {
    /** Queue a completed response. A second call with the same id keeps the first record. */
    add(payload) {
      const record = {
        id: payload.id,
        queued_at: new Date().toISOString(),
        payload,
        attempts: 0,
        last_status: null,
        last_attempt_at: null,
      };
      return dbRun(STORE_OUTBOX, "readwrite", (s) => {
        const req = s[STORE_OUTBOX].add(record);
        req.onerror = (ev) => {
          if (req.error && req.error.name === "ConstraintError") ev.preventDefault(); // already queued
        };
      });
    },
    /** All waiting records, oldest first (queued_at, then id). */
    list() {
      return dbRun(STORE_OUTBOX, "readonly", (s) => s[STORE_OUTBOX].index("queued_at").getAll());
    },
    remove(id) {
      return dbRun(STORE_OUTBOX, "readwrite", (s) => {
        s[STORE_OUTBOX].delete(id);
      });
    },
    update(record) {
      return dbRun(STORE_OUTBOX, "readwrite", (s) => {
        s[STORE_OUTBOX].put(record);
      });
    },
    /** Move a record to "conflicts" or "rejected" in ONE transaction (never lost in between). */
    moveTo(storeName, record, status, response) {
      return dbRun([STORE_OUTBOX, storeName], "readwrite", (s) => {
        s[storeName].put(Object.assign({}, record, { status, response, moved_at: new Date().toISOString() }));
        s[STORE_OUTBOX].delete(record.id);
      });
    },
    count(storeName) {
      return dbRun(storeName || STORE_OUTBOX, "readonly", (s) => s[storeName || STORE_OUTBOX].count());
    },
  };

  /** Refresh the counters and the corner indicator (and the staff notices on the welcome screen). */
  async function refreshCounts() {
    try {
      const [o, r, c] = await Promise.all([
        outbox.count(STORE_OUTBOX),
        outbox.count(STORE_REJECTED),
        outbox.count(STORE_CONFLICTS),
      ]);
      state.counts = { outbox: o, rejected: r, conflicts: c };
      state.storageBroken = false;
    } catch (e) {
      state.storageBroken = true;
    }
    renderWaiting();
    updateStaffNotices();
    return state.counts.outbox;
  }

  /* ---- send loop ---- */

  const sender = {
    running: null, // the loop being run (only one at a time)
    queued: null, // one more loop, asked for while another was running (flush calls join it)
    timer: 0, // scheduled retry
    backoff: BACKOFF_START_MS,
  };

  /**
   * Run a send loop now, or right after the running one (so every record queued before this call
   * is tried). Calls made while a loop is already queued join it. Resolves when that loop is over.
   */
  function flush() {
    clearTimeout(sender.timer);
    sender.timer = 0;
    if (sender.queued) return sender.queued;
    const previous = sender.running || Promise.resolve();
    const mine = previous
      .catch(() => {})
      .then(() => {
        sender.queued = null;
        const run = runSendLoop();
        sender.running = run;
        return run.finally(() => {
          if (sender.running === run) sender.running = null;
        });
      })
      .then(() => undefined);
    sender.queued = mine;
    return mine;
  }

  async function runSendLoop() {
    clearTimeout(sender.timer);
    sender.timer = 0;
    let outcome;
    try {
      outcome = await withSendLock(sendPass);
    } catch (err) {
      console.warn("[kiosk] send loop failed", err);
      outcome = { retry: true, waitMs: 0 };
    }
    if (outcome.retry && !state.sendBlocked) scheduleRetry(outcome.waitMs);
    else sender.backoff = BACKOFF_START_MS;
    await refreshCounts();
    sendHeartbeat();
  }

  /** Web Locks keep two open kiosk tabs from sending at the same time (when available). */
  function withSendLock(fn) {
    if (navigator.locks && typeof navigator.locks.request === "function") {
      return navigator.locks.request("sipas-kiosk-send", () => fn());
    }
    return fn();
  }

  function scheduleRetry(waitMs) {
    const base = sender.backoff;
    sender.backoff = Math.min(sender.backoff * 2, BACKOFF_MAX_MS);
    const delay = Math.max(waitMs || 0, Math.round(base * (0.85 + Math.random() * 0.15)));
    clearTimeout(sender.timer);
    sender.timer = setTimeout(() => {
      sender.timer = 0;
      flush();
    }, delay);
  }

  /** One pass over the outbox, oldest first. Returns {retry, waitMs}. */
  async function sendPass() {
    if (!getToken() || state.sendBlocked) return { retry: false, waitMs: 0 };
    let records;
    try {
      records = await outbox.list();
    } catch (e) {
      state.storageBroken = true;
      return { retry: false, waitMs: 0 };
    }
    let retry = false;
    for (const rec of records) {
      const res = await api("responses", { method: "POST", body: rec.payload });
      const st = res.status;
      if ((st === 200 || st === 201) && acceptedBody(res, rec.id)) {
        await outbox.remove(rec.id);
        sender.backoff = BACKOFF_START_MS;
      } else if (st === 409) {
        // The server holds a DIFFERENT response under this id: keep ours aside, stop sending it.
        await outbox.moveTo(STORE_CONFLICTS, rec, st, res.data !== null ? res.data : res.text);
      } else if (st === 400 && res.isJson) {
        // Refused on content: keep it with the server's reasons, never retry it.
        await outbox.moveTo(STORE_REJECTED, rec, st, res.data);
      } else if (st === 401 || st === 403) {
        state.sendBlocked = true; // not paired / revoked: stop, keep everything
        updateStaffNotices();
        return { retry: false, waitMs: 0 };
      } else if (st === 413) {
        // Too large for now: keep it, try the next one, retry later with backoff.
        await markAttempt(rec, st);
        retry = true;
      } else if (st === 429) {
        await markAttempt(rec, st);
        return { retry: true, waitMs: retryAfterMs(res.headers) };
      } else {
        // Network error, timeout, 5xx, a proxy's HTML 400, a 2xx that is not our API… keep & retry.
        await markAttempt(rec, st);
        return { retry: true, waitMs: 0 };
      }
    }
    return { retry, waitMs: 0 };
  }

  /** A 200/201 counts only if it looks like our API's answer (not e.g. an HTML login page). */
  function acceptedBody(res, id) {
    if (!res.isJson) return false;
    const d = res.data;
    if (!d || typeof d !== "object") return true; // empty JSON body: trust the status
    return d.id === undefined || String(d.id).toLowerCase() === String(id).toLowerCase();
  }

  async function markAttempt(rec, status) {
    try {
      await outbox.update(
        Object.assign({}, rec, {
          attempts: (rec.attempts || 0) + 1,
          last_status: status,
          last_attempt_at: new Date().toISOString(),
        })
      );
    } catch (e) {
      /* bookkeeping only */
    }
  }

  /** POST /heartbeat {"waiting": N}; failures are ignored. */
  function sendHeartbeat() {
    if (!getToken()) return;
    api("heartbeat", { method: "POST", body: { waiting: state.counts.outbox } }).catch(() => {});
  }

  /* ==================================================================== questionnaire model */

  /** Validate and normalise the GET /questionnaire payload. Never throws. */
  function buildModel(data) {
    const d = data && typeof data === "object" ? data : {};
    const model = {
      kiosk: d.kiosk || null,
      unit: d.unit || null,
      round: d.round && typeof d.round === "object" ? d.round : null,
      idleSeconds: clampInt(d.idle_seconds, 15, 3600, DEFAULT_IDLE_S),
      thanksSeconds: clampInt(d.thanks_seconds, 2, 300, DEFAULT_THANKS_S),
      questionnaire: null,
      sections: [],
      items: [],
      // Strata whose quota is full and closes the survey: {item, value}. A respondent who answers
      // the screening question with that value is thanked and let go before the rest.
      closedStrata: Array.isArray(d.closed_strata)
        ? d.closed_strata.filter((c) => c && typeof c.item === "string" && c.value !== undefined)
        : [],
    };
    const q = d.questionnaire;
    if (q && typeof q === "object" && Array.isArray(q.sections)) {
      for (const sec of q.sections) {
        if (!sec || !Array.isArray(sec.items)) continue;
        const items = sec.items.filter((it) => it && typeof it.code === "string").map(normaliseItem);
        if (!items.length) continue;
        const section = { code: String(sec.code), title: sec.title, items };
        model.sections.push(section);
        model.items.push(...items);
      }
      if (model.sections.length) model.questionnaire = q;
    }
    model.usable = !!(model.round && model.round.id !== undefined && model.questionnaire);
    return model;
  }

  const KINDS = ["satisfaction", "single", "multiple", "yesno", "number", "text"];

  function normaliseItem(raw) {
    const item = Object.assign({}, raw);
    item.options = Array.isArray(raw.options) ? raw.options.filter((o) => o && o.code !== undefined) : [];
    if (!KINDS.includes(item.kind)) item.kind = item.options.length ? "single" : "text";
    item.required = item.required !== false;
    if (item.kind === "satisfaction") {
      // The API sends integer codes 1..5 (+0 when allow_na); keep a fallback for older payloads.
      if (!item.options.some((o) => Number(o.code) >= 1)) {
        item.options = [1, 2, 3, 4, 5].map((c) => ({ code: c, label: null }));
        if (item.allow_na) item.options.push({ code: 0, label: null });
      }
      item.options = item.options.map((o) => ({ code: toInt(o.code), label: o.label }));
    }
    if (item.kind === "yesno" && !item.options.length) {
      item.options = [
        { code: "yes", label: null },
        { code: "no", label: null },
      ];
    }
    if (item.kind === "single" || item.kind === "multiple") {
      item.options = item.options.map((o) => ({ code: String(o.code), label: o.label }));
    }
    return item;
  }

  function toInt(v) {
    const n = Number(v);
    return Number.isInteger(n) ? n : v;
  }

  /* ==================================================================== conditions */

  function sameValue(a, b) {
    if (a === b) return true;
    if (a === null || b === null || a === undefined || b === undefined) return false;
    if (typeof a === "object" || typeof b === "object") return false;
    return String(a) === String(b); // 4 matches "4": codes may arrive typed either way
  }

  /** Does a given answer match V? For a multiple-choice answer: V is among the chosen. */
  function answerMatches(answer, v) {
    if (answer === undefined || answer === null) return false;
    if (Array.isArray(answer)) return answer.some((a) => sameValue(a, v));
    return sameValue(answer, v);
  }

  /**
   * Evaluate a condition on the answers given so far. Grammar:
   *   {"item": CODE, "equals": V} | {"item": CODE, "in": [V...]} | {"all": [c...]} | {"any": [c...]} | {"not": c}
   * null → true. A malformed condition counts as true (the item is shown rather than silently lost).
   */
  function evalCondition(cond, answers) {
    if (cond === null || cond === undefined || typeof cond !== "object") return true;
    if (Array.isArray(cond.all)) return cond.all.every((c) => evalCondition(c, answers));
    if (Array.isArray(cond.any)) return cond.any.some((c) => evalCondition(c, answers));
    if ("not" in cond) return !evalCondition(cond.not, answers);
    if (typeof cond.item === "string") {
      const a = answers[cond.item];
      if ("equals" in cond) return answerMatches(a, cond.equals);
      if (Array.isArray(cond.in)) return cond.in.some((v) => answerMatches(a, v));
    }
    console.warn("[kiosk] malformed condition, item shown", cond);
    return true;
  }

  function isVisible(item, answers) {
    return evalCondition(item.condition, answers);
  }

  /**
   * Remove the answers of items whose condition no longer holds. Repeats until stable, since
   * removing one answer can hide another item (chained conditions). Returns the removed codes.
   */
  function pruneHidden(session) {
    const removed = [];
    let changed = true;
    while (changed) {
      changed = false;
      for (const item of session.model.items) {
        const has = item.code in session.answers || item.code in session.rawInput;
        if (has && !isVisible(item, session.answers)) {
          delete session.answers[item.code];
          delete session.rawInput[item.code];
          removed.push(item.code);
          changed = true;
        }
      }
    }
    return removed;
  }

  /* ==================================================================== session */

  function newSession(model) {
    const screens = [];
    if (model.round.ask_dossier_code) screens.push({ kind: DOSSIER_SCREEN });
    for (const section of model.sections) screens.push({ kind: "section", section });
    return {
      // Made at the first Submit and kept (buildPayload): a retry after a failed save sends the same
      // id, so it is never stored twice. Made then, not at Start, so that ids arrive at the server
      // in the order they were made, which keeps its primary key dense (fieldwork/ids.py).
      id: null,
      model,
      startedAt: serverNowIso(),
      answers: Object.create(null),
      rawInput: Object.create(null), // number inputs holding text that is not a valid number
      dossierCode: "",
      screens,
      index: 0,
      submitting: false,
    };
  }

  function screenVisible(session, screen) {
    if (screen.kind === DOSSIER_SCREEN) return true;
    return screen.section.items.some((it) => isVisible(it, session.answers));
  }

  function nextVisibleIndex(session, from) {
    for (let i = from + 1; i < session.screens.length; i++) if (screenVisible(session, session.screens[i])) return i;
    return -1;
  }

  function prevVisibleIndex(session, from) {
    for (let i = from - 1; i >= 0; i--) if (screenVisible(session, session.screens[i])) return i;
    return -1;
  }

  function hasAnswer(session, item) {
    const v = session.answers[item.code];
    if (v === undefined || v === null) return false;
    if (Array.isArray(v)) return v.length > 0;
    if (typeof v === "string") return v.trim() !== "";
    return true;
  }

  /** Problems on one screen, in display order: [{code, text, message, invalid?}]. Pure: no DOM. */
  function screenErrors(session, screen) {
    const errors = [];
    if (screen.kind === DOSSIER_SCREEN) {
      const len = session.dossierCode.trim().length;
      if (len < DOSSIER_MIN || len > DOSSIER_MAX) {
        errors.push({
          code: "dossier_code",
          text: t("dossierTitle"),
          invalid: len > 0,
          message: len ? t("dossierError", { min: DOSSIER_MIN, max: DOSSIER_MAX }) : t("answerThis"),
        });
      }
      return errors;
    }
    for (const item of screen.section.items) {
      if (!isVisible(item, session.answers)) continue;
      const text = loc(item.text);
      if (item.kind === "number" && item.code in session.rawInput) {
        errors.push({ code: item.code, text, invalid: true, message: numberMessage(item) });
      } else if (item.kind === "text" && item.max_length && hasAnswer(session, item) &&
                 String(session.answers[item.code]).trim().length > item.max_length) {
        errors.push({ code: item.code, text, invalid: true, message: t("tooLong", { max: item.max_length }) });
      } else if (item.required && !hasAnswer(session, item)) {
        errors.push({ code: item.code, text, message: t("answerThis") });
      }
    }
    return errors;
  }

  function numberMessage(item) {
    const hasMin = typeof item.min === "number";
    const hasMax = typeof item.max === "number";
    if (hasMin && hasMax) return t("numberRange", { min: item.min, max: item.max });
    if (hasMin) return t("numberMin", { min: item.min });
    if (hasMax) return t("numberMax", { max: item.max });
    return t("numberInt");
  }

  /** The answer value to keep for a tap on an option (null = remove the answer). */
  function toggledValue(session, item, code) {
    const current = session.answers[item.code];
    if (item.kind === "multiple") {
      const chosen = Array.isArray(current) ? current.slice() : [];
      const at = chosen.findIndex((c) => sameValue(c, code));
      if (at >= 0) chosen.splice(at, 1);
      else if (!item.max_choices || chosen.length < item.max_choices) chosen.push(code);
      // keep the options' order, whatever the order of taps
      const order = item.options.map((o) => o.code);
      chosen.sort((a, b) => order.indexOf(a) - order.indexOf(b));
      return chosen.length ? chosen : null;
    }
    // One answer: a second tap on the chosen option clears it, but only for optional items
    // (a double tap on a required item must not silently un-answer it).
    if (sameValue(current, code) && !item.required) return null;
    return code;
  }

  function setAnswer(session, code, value) {
    if (value === null || value === undefined) delete session.answers[code];
    else session.answers[code] = value;
  }

  /** The JSON body for POST /responses. Hidden items' answers are never included. */
  function buildPayload(session) {
    if (!session.id) session.id = uuidv7();
    pruneHidden(session);
    const answers = {};
    for (const item of session.model.items) {
      if (!isVisible(item, session.answers) || !hasAnswer(session, item)) continue;
      let v = session.answers[item.code];
      if (item.kind === "text") {
        v = String(v).normalize("NFC").trim();
        if (item.max_length) v = v.slice(0, item.max_length);
      } else if (Array.isArray(v)) {
        v = v.slice();
      }
      answers[item.code] = v;
    }
    const payload = {
      id: session.id,
      round: session.model.round.id,
      questionnaire: session.model.questionnaire.code,
      started_at: session.startedAt,
      submitted_at: serverNowIso(),
      language: state.lang,
      answers,
    };
    if (session.model.round.ask_dossier_code) payload.dossier_code = session.dossierCode.normalize("NFC").trim();
    return payload;
  }

  /* ==================================================================== render: frame */

  const dom = {
    app: null, // #kiosk (made inert under the idle overlay)
    host: null, // #screen: the current screen lives here
    place: null, // strip: kiosk · unit
    waiting: null, // strip: outbox indicator
    overlay: null, // idle overlay, when shown
    view: null, // the current question screen's parts (see renderQuestion)
  };

  function ensureFrame() {
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
      strip = h("div", { class: "strip" });
      dom.app.prepend(strip);
    }
    dom.place = strip.querySelector(".strip-place") || strip.appendChild(h("span", { class: "strip-place" }));
    dom.waiting =
      strip.querySelector("[data-testid=waiting-count]") ||
      strip.appendChild(h("span", { class: "waiting", role: "status", dataset: { testid: "waiting-count" } }));
  }

  /** Replace the current screen with a freshly built one (no control survives from before). */
  function mount(screenEl, focusEl) {
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

  /** Render the current phase's screen; any exception ends on a "start again" screen, never blank. */
  function render() {
    document.documentElement.lang = state.lang;
    try {
      renderPlace();
      renderWaiting();
      switch (state.phase) {
        case "welcome":
          return renderWelcome();
        case "no-survey":
          return renderNoSurvey();
        case "questionnaire":
        case "saving":
          return renderQuestion();
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
    } catch (err) {
      console.error("[kiosk] render failed", err);
      state.phase = "fatal";
      renderFatal();
    }
  }

  function renderPlace() {
    const m = state.model;
    const parts = [];
    if (m && m.kiosk && m.kiosk.name) parts.push(m.kiosk.name);
    if (m && m.unit && m.unit.name) parts.push(m.unit.name);
    dom.place.textContent = parts.join(" · ");
  }

  function renderWaiting() {
    if (!dom.waiting) return;
    const n = state.counts.outbox;
    dom.waiting.hidden = !(n > 0);
    dom.waiting.textContent = n > 0 ? (n === 1 && state.lang === "en" ? t("waitingOne") : t("waiting", { n })) : "";
  }

  function langToggle() {
    const btn = (code, label) =>
      h(
        "button",
        {
          type: "button",
          class: "lang-btn",
          lang: code,
          "aria-pressed": String(state.lang === code),
          dataset: { testid: "lang-" + code },
          onclick: () => setLanguage(code),
        },
        label
      );
    return h("div", { class: "lang", role: "group", "aria-label": t("language") }, btn("vi", "Tiếng Việt"), btn("en", "English"));
  }

  function setLanguage(code) {
    if (!I18N[code] || code === state.lang) return;
    state.lang = code;
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

  /* ==================================================================== render: welcome & co */

  function staffNoticeList() {
    const notes = [];
    if (!getToken()) notes.push(t("staffNotPaired"));
    else if (state.authRefused || state.sendBlocked) notes.push(t("staffRevoked"));
    if (state.storageBroken) notes.push(t("staffNoStorage"));
    if (state.counts.rejected > 0) notes.push(t("staffRejected", { n: state.counts.rejected }));
    if (state.counts.conflicts > 0) notes.push(t("staffConflicts", { n: state.counts.conflicts }));
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

  function updateStaffNotices() {
    const box = dom.host && dom.host.querySelector("[data-testid=staff-notice]");
    if (box) fillStaffNotices(box);
  }

  function canStart() {
    return !!(getToken() && !state.authRefused && state.model && state.model.usable);
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
          ? h("button", { type: "button", class: "btn btn-start", dataset: { testid: "start" }, onclick: startSession }, t("start"))
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
    const text = loc(state.thanksText) || t("thanksDefault");
    const title = h("h1", { class: "thanks-title", tabindex: "-1" }, text);
    const screen = h(
      "div",
      { class: "screen screen-center thanks", dataset: { testid: "thanks" } },
      h("div", { class: "thanks-icon", "aria-hidden": "true" }),
      title,
      h("p", { class: "thanks-saved" }, t("thanksSaved")),
      h("p", { class: "thanks-return", dataset: { role: "countdown" } }, t("thanksReturn", { s: thanksRemaining() })),
      h("button", { type: "button", class: "btn btn-secondary", dataset: { testid: "thanks-done" }, onclick: goHome }, t("done"))
    );
    mount(screen, title);
  }

  function renderQuotaFull() {
    const title = h("h1", { class: "thanks-title", tabindex: "-1" }, t("quotaFullTitle"));
    const screen = h(
      "div",
      { class: "screen screen-center thanks", dataset: { testid: "quota-full" } },
      title,
      h("p", { class: "thanks-saved" }, t("quotaFullBody")),
      h("p", { class: "thanks-return", dataset: { role: "countdown" } }, t("thanksReturn", { s: thanksRemaining() })),
      h("button", { type: "button", class: "btn btn-secondary", dataset: { testid: "thanks-done" }, onclick: goHome }, t("done"))
    );
    mount(screen, title);
  }

  function renderSaveError() {
    const title = h("h1", { class: "error-title", tabindex: "-1" }, t("saveFailedTitle"));
    const screen = h(
      "div",
      { class: "screen screen-center save-error", dataset: { testid: "save-error" } },
      title,
      h("p", null, t("saveFailedBody")),
      h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "retry-save" }, onclick: submit }, t("retry"))
    );
    mount(screen, title);
  }

  function renderFatal() {
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

  /* ==================================================================== render: question screens */

  function renderQuestion() {
    const s = state.session;
    if (!s) return goHome();
    const screen = s.screens[s.index];
    const isDossier = screen.kind === DOSSIER_SCREEN;
    const titleText = isDossier ? t("dossierTitle") : loc(screen.section.title);
    const title = h("h1", { class: "section-title", tabindex: "-1" }, titleText);

    const bar = h("div", { class: "progress-fill" });
    const progressText = h("span", { class: "progress-text" });
    const progress = h(
      "div",
      { class: "progress", role: "progressbar", "aria-valuemin": "0", dataset: { testid: "progress" } },
      h("div", { class: "progress-track" }, bar),
      progressText
    );

    const body = h("div", { class: "qbody" });
    const blocks = new Map(); // item code → {item, block, sync(), error}
    if (isDossier) {
      body.append(dossierBlock(s, blocks));
    } else {
      for (const item of screen.section.items) body.append(itemBlock(s, item, blocks));
    }

    const msg = h("p", { class: "form-msg", role: "alert", id: "form-msg" });
    const back = h("button", { type: "button", class: "btn btn-secondary btn-nav", dataset: { testid: "back" }, onclick: goBack }, t("back"));
    const next = h("button", { type: "button", class: "btn btn-primary btn-nav", onclick: onNext });

    const el = h(
      "div",
      { class: "screen question", dataset: { section: isDossier ? DOSSIER_SCREEN : screen.section.code } },
      h("header", { class: "qhead" }, h("div", { class: "qhead-row" }, title, langToggle()), progress),
      body,
      h("footer", { class: "qfoot" }, msg, h("div", { class: "nav" }, back, next))
    );
    mount(el, title);
    dom.view = { el, body, blocks, msg, back, next, bar, progress, progressText, msgFor: null };
    refreshView();
  }

  /** Sync the current screen with the answers: visibility, pressed states, progress, nav buttons. */
  function refreshView() {
    const s = state.session;
    const v = dom.view;
    if (!s || !v) return;
    for (const entry of v.blocks.values()) {
      const visible = entry.item ? isVisible(entry.item, s.answers) : true;
      entry.block.hidden = !visible;
      entry.sync();
    }
    // progress over the screens that are currently visible
    const visible = s.screens.map((sc, i) => (screenVisible(s, sc) ? i : -1)).filter((i) => i >= 0);
    const pos = Math.max(0, visible.indexOf(s.index)) + 1;
    const total = Math.max(visible.length, pos);
    v.bar.style.width = `${Math.round((100 * pos) / total)}%`;
    v.progressText.textContent = t("progress", { n: pos, total });
    v.progress.setAttribute("aria-valuemax", String(total));
    v.progress.setAttribute("aria-valuenow", String(pos));
    v.progress.setAttribute("aria-valuetext", t("progress", { n: pos, total }));
    // Back: hidden on the first visible screen (layout kept). Next becomes Submit on the last one.
    const first = prevVisibleIndex(s, s.index) === -1;
    v.back.disabled = first || s.submitting;
    v.back.classList.toggle("is-invisible", first);
    v.back.setAttribute("aria-hidden", first ? "true" : "false");
    const last = nextVisibleIndex(s, s.index) === -1;
    v.next.dataset.testid = last ? "submit" : "next";
    v.next.classList.toggle("btn-submit", last);
    v.next.textContent = s.submitting ? t("saving") : last ? t("submit") : t("next");
    v.next.disabled = s.submitting;
    v.next.setAttribute("aria-busy", s.submitting ? "true" : "false");
  }

  function itemShell(s, item, control, hint) {
    const qid = "q-" + item.code;
    const eid = "e-" + item.code;
    const error = h("p", { class: "item-error", id: eid });
    const block = h(
      "div",
      { class: "item", role: "group", "aria-labelledby": qid, dataset: { block: item.code } },
      h(
        "p",
        { class: "q-text", id: qid },
        loc(item.text),
        item.required ? null : h("span", { class: "q-optional" }, " " + t("optional"))
      ),
      hint || null,
      control,
      error
    );
    return { block, error };
  }

  function itemBlock(s, item, blocks) {
    let parts;
    switch (item.kind) {
      case "satisfaction":
        parts = satisfactionControl(s, item);
        break;
      case "number":
        parts = numberControl(s, item);
        break;
      case "text":
        parts = textControl(s, item);
        break;
      default: // single, multiple, yesno
        parts = choiceControl(s, item);
    }
    const { block, error } = itemShell(s, item, parts.control, parts.hint);
    blocks.set(item.code, { item, block, error, sync: parts.sync });
    return block;
  }

  function optionButton(item, code, className, content) {
    return h(
      "button",
      {
        type: "button",
        class: className,
        "aria-pressed": "false",
        dataset: { item: item.code, value: String(code) },
        onclick: () => onOption(item, code),
      },
      content
    );
  }

  function syncButtons(s, item, buttons) {
    const answer = s.answers[item.code];
    for (const [code, btn] of buttons) btn.setAttribute("aria-pressed", String(answerMatches(answer, code)));
  }

  function satisfactionControl(s, item) {
    const buttons = [];
    const scale = h("div", { class: "scale" });
    let na = null;
    const naOption = item.options.find((o) => o.code === 0);
    const showNa = item.allow_na === true || (item.allow_na == null && !!naOption);
    for (const o of item.options) {
      if (o.code === 0) continue;
      const label = loc(o.label) || t("scale" + o.code);
      const btn = optionButton(
        item,
        o.code,
        `opt opt-scale level-${o.code}`,
        [h("span", { class: "scale-num", "aria-hidden": "true" }, String(o.code)), h("span", { class: "scale-label" }, label)]
      );
      btn.setAttribute("aria-label", `${o.code} – ${label}`);
      buttons.push([o.code, btn]);
      scale.append(btn);
    }
    if (showNa) {
      const label = (naOption && loc(naOption.label)) || t("notApplicable");
      na = optionButton(item, 0, "opt opt-na", h("span", { class: "opt-label" }, label));
      buttons.push([0, na]);
    }
    const control = h("div", { class: "scale-wrap" + (na ? " has-na" : "") }, scale, na ? h("div", { class: "na-wrap" }, na) : null);
    return { control, sync: () => syncButtons(s, item, buttons) };
  }

  function choiceControl(s, item) {
    const buttons = [];
    const multi = item.kind === "multiple";
    const list = h("div", { class: item.kind === "yesno" ? "choices choices-yesno" : "choices" });
    for (const o of item.options) {
      const label = loc(o.label) || (item.kind === "yesno" ? t(String(o.code) === "no" ? "no" : "yes") : String(o.code));
      const btn = optionButton(item, o.code, "opt opt-choice" + (multi ? " is-multi" : ""), [
        h("span", { class: "mark", "aria-hidden": "true" }),
        h("span", { class: "opt-label" }, label),
      ]);
      buttons.push([o.code, btn]);
      list.append(btn);
    }
    let hint = null;
    if (multi) hint = h("p", { class: "q-hint", id: "h-" + item.code });
    const sync = () => {
      syncButtons(s, item, buttons);
      if (!multi) return;
      const chosen = Array.isArray(s.answers[item.code]) ? s.answers[item.code].length : 0;
      const full = !!item.max_choices && chosen >= item.max_choices;
      for (const [, btn] of buttons) {
        btn.disabled = full && btn.getAttribute("aria-pressed") !== "true"; // no more choices past the limit
      }
      // same length whatever is chosen: no layout shift when an answer is tapped
      hint.textContent = item.max_choices
        ? t("chooseUpTo", { n: item.max_choices }) + " " + t("chosenCount", { k: chosen, n: item.max_choices })
        : t("chooseMany");
    };
    return { control: list, hint, sync };
  }

  function numberControl(s, item) {
    const input = h("input", {
      type: "text",
      inputmode: "numeric",
      pattern: typeof item.min === "number" && item.min < 0 ? null : "[0-9]*",
      autocomplete: "off",
      autocorrect: "off",
      spellcheck: "false",
      enterkeyhint: "next",
      class: "num-input",
      "aria-labelledby": "q-" + item.code,
      "aria-describedby": "e-" + item.code,
      dataset: { item: item.code },
    });
    input.addEventListener("input", () => {
      const raw = input.value.replace(/\s+/g, "");
      delete s.rawInput[item.code];
      if (!raw) {
        delete s.answers[item.code];
      } else if (/^-?\d{1,15}$/.test(raw) && inRange(item, parseInt(raw, 10))) {
        s.answers[item.code] = parseInt(raw, 10);
      } else {
        delete s.answers[item.code];
        s.rawInput[item.code] = raw; // reported on Next
      }
      afterChange(item.code);
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        onNext();
      }
    });
    const hasMin = typeof item.min === "number";
    const hasMax = typeof item.max === "number";
    const range = hasMin && hasMax ? `${item.min} – ${item.max}` : hasMin ? `≥ ${item.min}` : hasMax ? `≤ ${item.max}` : "";
    const control = h("div", { class: "num-wrap" }, input, range ? h("span", { class: "num-range" }, range) : null);
    const sync = () => {
      if (!(item.code in s.answers) && !(item.code in s.rawInput) && input.value !== "") input.value = "";
    };
    return { control, sync };
  }

  function inRange(item, n) {
    if (typeof item.min === "number" && n < item.min) return false;
    if (typeof item.max === "number" && n > item.max) return false;
    return true;
  }

  function textControl(s, item) {
    const max = item.max_length || null;
    const area = h("textarea", {
      class: "text-input",
      rows: "4",
      maxlength: max,
      autocomplete: "off",
      autocorrect: "off",
      spellcheck: "false",
      placeholder: t("textPlaceholder"),
      "aria-labelledby": "q-" + item.code,
      "aria-describedby": "e-" + item.code,
      dataset: { item: item.code },
    });
    const counter = max ? h("p", { class: "q-hint text-count", "aria-live": "off" }) : null;
    const updateCounter = () => {
      if (counter) counter.textContent = t("chars", { n: area.value.length, max });
    };
    area.addEventListener("input", () => {
      setAnswer(s, item.code, area.value.trim() ? area.value : null);
      updateCounter();
      afterChange(item.code);
    });
    const sync = () => {
      if (!(item.code in s.answers) && area.value !== "") area.value = "";
      updateCounter();
    };
    return { control: h("div", { class: "text-wrap" }, area, counter), sync };
  }

  function dossierBlock(s, blocks) {
    const error = h("p", { class: "item-error", id: "e-dossier_code" });
    const input = h("input", {
      type: "text",
      class: "text-line",
      minlength: String(DOSSIER_MIN),
      maxlength: String(DOSSIER_MAX),
      autocomplete: "off",
      autocorrect: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      enterkeyhint: "next",
      "aria-labelledby": "q-dossier_code",
      "aria-describedby": "e-dossier_code",
      dataset: { item: "dossier_code" },
    });
    input.addEventListener("input", () => {
      s.dossierCode = input.value;
      afterChange("dossier_code");
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        onNext();
      }
    });
    const block = h(
      "div",
      { class: "item", role: "group", "aria-labelledby": "q-dossier_code", dataset: { block: "dossier_code" } },
      h("p", { class: "q-text", id: "q-dossier_code" }, t("dossierQuestion")),
      input,
      error
    );
    blocks.set("dossier_code", {
      item: null,
      block,
      error,
      sync: () => {
        if (input.value !== s.dossierCode) input.value = s.dossierCode;
      },
    });
    return block;
  }

  /* ---- answering & navigation ---- */

  function onOption(item, code) {
    const s = state.session;
    if (!s || s.submitting || state.phase !== "questionnaire") return;
    setAnswer(s, item.code, toggledValue(s, item, code));
    afterChange(item.code);
  }

  /** After any answer change: drop hidden answers, resync the screen, quiet the answered error. */
  function afterChange(code) {
    const s = state.session;
    if (!s) return;
    pruneHidden(s);
    refreshView();
    const v = dom.view;
    if (!v) return;
    const entry = v.blocks.get(code);
    if (entry && entry.block.classList.contains("is-invalid")) {
      // keep the message's space (no layout shift), just make it invisible once answered
      const stillBad = screenErrors(s, s.screens[s.index]).some((e) => e.code === code);
      if (!stillBad) {
        entry.block.classList.remove("is-invalid");
        entry.error.classList.add("is-quiet");
        entry.block.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
      }
    }
    if (v.msgFor) updateFormMessage(screenErrors(s, s.screens[s.index]));
  }

  /** The footer message names the first unanswered question; quiet (space kept) once all are done. */
  function updateFormMessage(errors) {
    const v = dom.view;
    if (!errors.length) {
      v.msg.classList.add("is-quiet");
      return;
    }
    v.msg.classList.remove("is-quiet");
    v.msg.textContent =
      t(errors[0].invalid ? "checkAnswer" : "unanswered", { q: truncate(errors[0].text, 110) }) +
      (errors.length > 1 ? t("unansweredMore", { n: errors.length - 1 }) : "");
  }

  /** Show the errors of the current screen. Returns true when the screen is complete. */
  function showScreenErrors() {
    const s = state.session;
    const v = dom.view;
    const errors = screenErrors(s, s.screens[s.index]);
    for (const entry of v.blocks.values()) {
      entry.block.classList.remove("is-invalid");
      entry.error.textContent = "";
      entry.error.classList.remove("is-quiet");
    }
    v.msg.classList.remove("is-quiet");
    if (!errors.length) {
      v.msg.textContent = "";
      v.msgFor = null;
      return true;
    }
    for (const e of errors) {
      const entry = v.blocks.get(e.code);
      if (!entry) continue;
      entry.block.classList.add("is-invalid");
      entry.error.textContent = e.message;
      const field = entry.block.querySelector("input, textarea");
      if (field) field.setAttribute("aria-invalid", "true");
    }
    const first = errors[0];
    updateFormMessage(errors);
    v.msgFor = first.code;
    const firstEntry = v.blocks.get(first.code);
    if (firstEntry) {
      firstEntry.block.scrollIntoView({ block: "start", behavior: "smooth" });
      const focusable = firstEntry.block.querySelector("input, textarea, button:not([disabled])");
      if (focusable) focusable.focus({ preventScroll: true });
    }
    return false;
  }

  /** True when an answer given so far places the respondent in a stratum whose quota is closed. */
  function inClosedStratum(s) {
    return s.model.closedStrata.some((c) => answerMatches(s.answers[c.item], c.value));
  }

  /** End politely: forget the answers (nothing is sent) and return home after the thank-you time. */
  function endQuotaFull() {
    const seconds = state.session.model.thanksSeconds;
    state.session = null;
    idle.hideOverlay();
    state.phase = "quota-full";
    state.thanksDeadline = Date.now() + seconds * 1000;
    render();
  }

  function onNext() {
    const s = state.session;
    if (!s || s.submitting || state.phase !== "questionnaire") return;
    if (!showScreenErrors()) return;
    if (inClosedStratum(s)) {
      endQuotaFull();
      return;
    }
    const next = nextVisibleIndex(s, s.index);
    if (next === -1) {
      submit();
      return;
    }
    s.index = next;
    renderQuestion();
  }

  function goBack() {
    const s = state.session;
    if (!s || s.submitting || state.phase !== "questionnaire") return;
    const prev = prevVisibleIndex(s, s.index);
    if (prev === -1) return;
    s.index = prev;
    renderQuestion();
  }

  function startSession() {
    if (!canStart() || state.phase !== "welcome") return;
    state.session = newSession(state.model);
    state.phase = "questionnaire";
    idle.touch();
    cleanUrl();
    render();
  }

  /**
   * Submit: validate every visible screen, store the response in the outbox, and only then say
   * thank you. Without IndexedDB the response must reach the server before the thank-you.
   */
  async function submit() {
    const s = state.session;
    if (!s || s.submitting) return;
    pruneHidden(s);
    // A screen visited earlier may have become incomplete (e.g. after Back and a changed answer).
    for (let i = 0; i < s.screens.length; i++) {
      if (!screenVisible(s, s.screens[i]) || !screenErrors(s, s.screens[i]).length) continue;
      state.phase = "questionnaire";
      if (i !== s.index || !dom.view) {
        s.index = i;
        renderQuestion();
      }
      showScreenErrors();
      return;
    }
    s.submitting = true;
    state.phase = "saving";
    if (dom.view) refreshView();
    const payload = buildPayload(s);
    let stored = false;
    try {
      await withTimeout(outbox.add(payload), DB_WRITE_TIMEOUT_MS, "outbox.add");
      stored = true;
    } catch (err) {
      console.error("[kiosk] could not store the response in IndexedDB", err);
      state.storageBroken = true;
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

  function thanksRemaining() {
    return Math.max(0, Math.ceil((state.thanksDeadline - Date.now()) / 1000));
  }

  /* ==================================================================== home, reset, config */

  /** Forget the respondent (if any) and show the welcome / no-survey screen, rebuilt from scratch. */
  function goHome() {
    state.session = null;
    state.thanksDeadline = 0;
    idle.hideOverlay();
    if (state.reloadPending) {
      location.reload(); // a new app version is ready; nothing of a respondent is in memory now
      return;
    }
    state.lang = "vi";
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
      if (state.sendBlocked) {
        state.sendBlocked = false; // the kiosk is accepted again: resume sending
        setTimeout(flush, 0);
      }
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
    return [homePhase(), state.configJson, state.configSource, state.authRefused, state.sendBlocked].join("|");
  }

  /* ==================================================================== idle */

  const idle = {
    last: Date.now(),
    touch() {
      idle.last = Date.now();
    },
    active() {
      return state.phase === "questionnaire" || state.phase === "save-error";
    },
    /** Called every TICK_MS: overlay after idle_seconds, reset after 20 more seconds. */
    tick() {
      if (!idle.active() || !state.session) {
        if (dom.overlay) idle.hideOverlay();
        return;
      }
      const idleMs = state.session.model.idleSeconds * 1000;
      const elapsed = Date.now() - idle.last;
      if (elapsed < idleMs) {
        if (dom.overlay) idle.hideOverlay();
        return;
      }
      const remaining = Math.ceil((idleMs + IDLE_COUNTDOWN_S * 1000 - elapsed) / 1000);
      if (remaining <= 0) {
        goHome(); // discard the partial answers
        return;
      }
      idle.showOverlay(remaining);
    },
    showOverlay(seconds) {
      if (!dom.overlay) {
        const count = h("p", { class: "countdown", "aria-hidden": "true" });
        const body = h("p", { class: "overlay-body", id: "idle-body" });
        const titleEl = h("h2", { class: "overlay-title", id: "idle-title" });
        const cont = h("button", { type: "button", class: "btn btn-primary btn-big", dataset: { testid: "continue" }, onclick: idle.resume });
        const restart = h("button", { type: "button", class: "btn btn-secondary", dataset: { testid: "restart" }, onclick: goHome });
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
    },
    hideOverlay() {
      if (!dom.overlay) return;
      dom.overlay.remove();
      dom.overlay = null;
      if (dom.app) dom.app.inert = false;
    },
    resume() {
      idle.touch();
      idle.hideOverlay();
    },
  };

  function renderOverlayTexts() {
    const o = dom.overlay;
    if (!o) return;
    o.parts.titleEl.textContent = t("stillThere");
    o.parts.count.textContent = String(o.seconds);
    o.parts.body.textContent = t("stillThereBody", { s: o.seconds });
    o.parts.cont.textContent = t("continue");
    o.parts.restart.textContent = t("restart");
    o.lang = state.lang;
  }

  function thanksTick() {
    if (state.phase !== "thanks" && state.phase !== "quota-full") return;
    const left = thanksRemaining();
    if (left <= 0) {
      goHome();
      return;
    }
    const el = dom.host.querySelector("[data-role=countdown]");
    const text = t("thanksReturn", { s: left });
    if (el && el.textContent !== text) el.textContent = text;
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
    // Any touch or key during a questionnaire counts as activity (not while the overlay is up).
    const activity = () => {
      if (!dom.overlay) idle.touch();
    };
    for (const type of ["pointerdown", "touchstart", "keydown", "input", "wheel"]) {
      window.addEventListener(type, activity, { capture: true, passive: true });
    }
    window.addEventListener("scroll", activity, { capture: true, passive: true });

    window.addEventListener("online", () => {
      sender.backoff = BACKOFF_START_MS;
      flush();
      if (atHome()) refreshConfig();
    });

    // Leaving the page: show a blank welcome so the bfcache snapshot holds no answers;
    // coming back from the bfcache: start over at the welcome screen.
    window.addEventListener("pagehide", () => {
      if (state.session) {
        state.session = null;
        state.phase = homePhase();
        idle.hideOverlay();
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
    cleanUrl();
    ensureFrame();
    wireGlobalEvents();
    state.phase = "loading";
    render();
    requestPersistentStorage();
    openDb().catch(() => {
      state.storageBroken = true;
    });
    refreshCounts();
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
      outboxCount: () => outbox.count(STORE_OUTBOX).catch(() => 0),
      flush: () => flush(),
      clockOffsetMs: () => clock.offsetMs,
      version: VERSION,
    }),
    writable: false,
    configurable: false,
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => boot());
  else boot();
})();
