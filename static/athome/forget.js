/*
 * On the page of a link that can no longer be answered (answered, expired, closed): delete the answers
 * this phone kept for it (static/athome/athome.js), e.g. when the response reached the server but its
 * answer did not reach the phone.
 */
const key = document.body.dataset.storageKey;
try {
  if (key) localStorage.removeItem(key);
} catch (e) {
  /* nothing kept */
}
