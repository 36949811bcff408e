/*
 * SIPAS kiosk service worker. The backend serves this file's content at /kiosk/sw.js
 * (Content-Type application/javascript), so its scope is /kiosk/.
 *
 * What it does:
 *   - keeps the app shell (/kiosk/, every module of the app under /static/kiosk/, kiosk.css) in a
 *     versioned cache so the kiosk starts without network;
 *   - /kiosk/ itself: network first (10 s), falling back to the cached copy;
 *   - /static/…: cache first, filling the cache on a miss;
 *   - NEVER touches non-GET requests (responses are POSTed) nor anything under /api/
 *     (questionnaire, responses, heartbeat always go to the network; the page keeps its own copies).
 *   - other pages under /kiosk/ (pairing link, the no-JS form) are left to the network, uncached.
 *
 * Bump CACHE_VERSION (and VERSION in main.js) whenever a kiosk module, kiosk.css or app.html change:
 * the new worker re-fetches the shell, deletes the old cache, and the page reloads itself at its
 * next welcome screen. SHELL is the one list of the app's files: a module missing from it would be
 * missing offline (tests/fieldwork/test_kiosk_assets.py follows main.js's imports to check it).
 */
"use strict";

const CACHE_VERSION = "kiosk-2026.6";
const CACHE_PREFIX = "sipas-kiosk-shell-";
const CACHE_NAME = CACHE_PREFIX + CACHE_VERSION;
const SHELL_PATH = new URL(self.registration.scope).pathname; // "/kiosk/"
const STATIC_PREFIX = "/static/";
const SHELL = [
  "kiosk.css",
  "main.js",
  "api.js",
  "dom.js",
  "faces.js",
  "guard.js",
  "i18n.js",
  "model.js",
  "outbox.js",
  "question.js",
  "screens.js",
  "speech.js",
  "state.js",
];
const PRECACHE = [SHELL_PATH, ...SHELL.map((name) => STATIC_PREFIX + "kiosk/" + name)];
const NAV_TIMEOUT_MS = 10000;

/** Fetch one URL fresh and keep it if it is a plain same-origin 200. Never throws. */
async function cacheUrl(cache, url) {
  try {
    const res = await fetch(url, { cache: "reload", credentials: "same-origin" });
    if (cacheable(res)) await cache.put(keyFor(url), res);
  } catch (err) {
    console.warn("[kiosk sw] could not cache", url, err);
  }
}

function cacheable(res) {
  return !!res && res.ok && res.status === 200 && res.type === "basic" && !res.redirected;
}

/** Cache key: the shell is stored without query string; other URLs as they are. */
function keyFor(url) {
  const u = new URL(url, self.location.origin);
  if (u.pathname === SHELL_PATH) return u.origin + SHELL_PATH;
  return u.href;
}

function isStaticPath(pathname) {
  return pathname.startsWith(STATIC_PREFIX);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE_NAME);
      await Promise.all(PRECACHE.map((url) => cacheUrl(cache, url)));
      await self.skipWaiting();
    })()
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== CACHE_NAME).map((n) => caches.delete(n)));
      await self.clients.claim();
    })()
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return; // POSTs (responses, heartbeat) are never intercepted nor cached
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.includes("/api/")) return; // API: network only, never cached here
  if (url.pathname === SHELL_PATH) {
    event.respondWith(networkFirst(req));
    return;
  }
  if (isStaticPath(url.pathname)) {
    event.respondWith(cacheFirst(req));
  }
  // anything else (pairing page, /kiosk/form/, …): default browser handling
});

/** The page: fresh from the network when possible (10 s), else the cached shell. */
async function networkFirst(req) {
  const cache = await caches.open(CACHE_NAME);
  const network = fetch(req).then(async (res) => {
    if (cacheable(res)) await cache.put(keyFor(req.url), res.clone());
    return res;
  });
  network.catch(() => {}); // a late failure after the fallback is not an error
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), NAV_TIMEOUT_MS);
  });
  try {
    const res = await Promise.race([network, timeout]);
    if (res) return res;
  } catch (err) {
    /* offline: fall back below */
  } finally {
    clearTimeout(timer);
  }
  const cached = await cache.match(keyFor(req.url), { ignoreSearch: true });
  if (cached) return cached;
  return network; // no copy: wait for the network after all (or fail as the browser would)
}

/** Static assets: the cached copy, else the network (and keep it). */
async function cacheFirst(req) {
  const cache = await caches.open(CACHE_NAME);
  const cached = await cache.match(req, { ignoreVary: true });
  if (cached) return cached;
  const res = await fetch(req);
  if (cacheable(res)) await cache.put(req, res.clone());
  return res;
}

/** The page tells us which asset URLs it really uses; cache the ones we do not have yet. */
self.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "cache-urls" || !Array.isArray(data.urls)) return;
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE_NAME);
      for (const raw of data.urls.slice(0, 20)) {
        let url;
        try {
          url = new URL(String(raw), self.location.origin);
        } catch (e) {
          continue;
        }
        if (url.origin !== self.location.origin) continue;
        if (url.pathname !== SHELL_PATH && !isStaticPath(url.pathname)) continue;
        if (url.pathname.includes("/api/")) continue;
        if (!(await cache.match(keyFor(url.href), { ignoreSearch: url.pathname === SHELL_PATH }))) {
          await cacheUrl(cache, url.href);
        }
      }
    })()
  );
});
