/*
 * The outbox: completed responses kept in IndexedDB until the server has them, the send loop that
 * posts them oldest first with retries and backoff, and the heartbeat. It knows nothing of screens:
 * it keeps its counts in `status` and calls the listener given to onChange when they may have moved.
 */

import { acceptedBody, api, getToken, retryAfterMs } from "./api.js";

const DB_NAME = "sipas-kiosk";
const DB_VERSION = 1;
const STORE_OUTBOX = "outbox";
const STORE_CONFLICTS = "conflicts";
const STORE_REJECTED = "rejected";
const BACKOFF_START_MS = 2000;
const BACKOFF_MAX_MS = 60000;

/** What the screens show about sending. */
export const status = {
  counts: { outbox: 0, rejected: 0, conflicts: 0 },
  sendBlocked: false, // POST /responses answered 401/403: stop sending until the GET works again
  storageBroken: false, // IndexedDB could not be opened
};

let listener = () => {};

/** Call fn() whenever status may have changed (counts, a blocked kiosk, broken storage). */
export function onChange(fn) {
  listener = fn;
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

export const outbox = {
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
  moveTo(storeName, record, httpStatus, response) {
    return dbRun([STORE_OUTBOX, storeName], "readwrite", (s) => {
      s[storeName].put(Object.assign({}, record, { status: httpStatus, response, moved_at: new Date().toISOString() }));
      s[STORE_OUTBOX].delete(record.id);
    });
  },
  count(storeName) {
    return dbRun(storeName || STORE_OUTBOX, "readonly", (s) => s[storeName || STORE_OUTBOX].count());
  },
};

/** Refresh the counters, then tell the listener (the corner indicator, the staff notices). */
export async function refreshCounts() {
  try {
    const [o, r, c] = await Promise.all([
      outbox.count(STORE_OUTBOX),
      outbox.count(STORE_REJECTED),
      outbox.count(STORE_CONFLICTS),
    ]);
    status.counts = { outbox: o, rejected: r, conflicts: c };
    status.storageBroken = false;
  } catch (e) {
    status.storageBroken = true;
  }
  listener();
  return status.counts.outbox;
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
export function flush() {
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
  if (outcome.retry && !status.sendBlocked) scheduleRetry(outcome.waitMs);
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
  if (!getToken() || status.sendBlocked) return { retry: false, waitMs: 0 };
  let records;
  try {
    records = await outbox.list();
  } catch (e) {
    status.storageBroken = true;
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
      status.sendBlocked = true; // not paired / revoked: stop, keep everything
      listener();
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

async function markAttempt(rec, httpStatus) {
  try {
    await outbox.update(
      Object.assign({}, rec, {
        attempts: (rec.attempts || 0) + 1,
        last_status: httpStatus,
        last_attempt_at: new Date().toISOString(),
      })
    );
  } catch (e) {
    /* bookkeeping only */
  }
}

/** POST /heartbeat {"waiting": N}; failures are ignored. */
export function sendHeartbeat() {
  if (!getToken()) return;
  api("heartbeat", { method: "POST", body: { waiting: status.counts.outbox } }).catch(() => {});
}

/** At boot: open the database (or note that it cannot be) and count what waits. */
export function startOutbox() {
  openDb().catch(() => {
    status.storageBroken = true;
  });
  return refreshCounts();
}

/** How many responses wait to be sent (0 when the database cannot be read). */
export function outboxCount() {
  return outbox.count(STORE_OUTBOX).catch(() => 0);
}

/** The server accepts this kiosk again (GET /questionnaire answered 200): send what waits. */
export function resumeSending() {
  if (!status.sendBlocked) return;
  status.sendBlocked = false;
  setTimeout(flush, 0);
}

/** The network is back: try at once, with the backoff started afresh. */
export function retryNow() {
  sender.backoff = BACKOFF_START_MS;
  return flush();
}
