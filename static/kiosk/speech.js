/*
 * Read-aloud with the browser's speech synthesis (no server, nothing leaves the tablet). A language
 * is offered only when the tablet has a voice for it: the question screens show their speaker button
 * when canSpeak(lang) and the welcome screen lists the voices found, for the staff.
 * Voices arrive late on some browsers (the `voiceschanged` event): onVoices() is told then.
 */

const LANGS = { vi: "vi", en: "en" };

let voices = [];
let listener = null;
let ending = null; // the onEnd of the reading under way

function synth() {
  try {
    return typeof window.speechSynthesis === "object" && window.speechSynthesis ? window.speechSynthesis : null;
  } catch (e) {
    return null;
  }
}

function loadVoices() {
  const s = synth();
  let found = [];
  try {
    found = (s && s.getVoices()) || [];
  } catch (e) {
    found = [];
  }
  const before = voiceSummary();
  voices = Array.from(found).filter((v) => v && typeof v.lang === "string");
  if (listener && voiceSummary() !== before) listener();
}

function voiceSummary() {
  return voices.map((v) => v.lang + "/" + v.name).join("|");
}

/** Start watching the tablet's voices; `onChange` is called when the list changes. */
export function initSpeech(onChange) {
  listener = onChange;
  const s = synth();
  if (!s) return;
  loadVoices();
  if (typeof s.addEventListener === "function") s.addEventListener("voiceschanged", loadVoices);
  else s.onvoiceschanged = loadVoices;
}

function norm(tag) {
  return String(tag || "").toLowerCase().replace("_", "-");
}

/** The voices for a language ("vi" or "en"), the tablet's default first, then local ones. */
export function voicesFor(code) {
  const prefix = LANGS[code];
  if (!prefix) return [];
  const mine = voices.filter((v) => norm(v.lang) === prefix || norm(v.lang).startsWith(prefix + "-"));
  const rank = (v) => (v.default ? 0 : 2) + (v.localService ? 0 : 1);
  return mine.sort((a, b) => rank(a) - rank(b));
}

export function canSpeak(code) {
  return !!synth() && voicesFor(code).length > 0;
}

/**
 * Read `text` in language `code` (what was being read stops first); `onEnd` is called once when
 * this reading ends, is stopped or fails, so the button can say "Listen" again.
 */
export function speak(text, code, onEnd) {
  const s = synth();
  const voice = voicesFor(code)[0];
  if (!s || !voice || typeof window.SpeechSynthesisUtterance !== "function") return false;
  stopSpeaking();
  const u = new window.SpeechSynthesisUtterance(text);
  u.lang = voice.lang;
  try {
    u.voice = voice;
  } catch (e) {
    /* the language alone picks a voice */
  }
  u.rate = 0.9; // a little slower than the default: many listeners are elderly
  if (onEnd) {
    let told = false;
    const end = () => {
      if (ending === end) ending = null;
      if (!told) onEnd();
      told = true;
    };
    u.onend = end;
    u.onerror = end;
    ending = end;
  }
  s.speak(u);
  return true;
}

/** Stop reading (a new screen, a reset, a second press); the reading's `onEnd` is told. */
export function stopSpeaking() {
  const s = synth();
  const end = ending;
  ending = null;
  try {
    if (s && (s.speaking || s.pending)) s.cancel();
  } catch (e) {
    /* ignore */
  }
  if (end) end(); // some browsers fire no "end" event after cancel()
}

/** The voices found for each language, for the staff: {vi: [names], en: [names]}. */
export function voiceList() {
  const out = {};
  for (const code of Object.keys(LANGS)) out[code] = voicesFor(code).map((v) => `${v.name} (${v.lang})`);
  return out;
}

/** Sentences to read, joined with pauses: each ends with punctuation. */
export function sentences(parts) {
  return parts
    .map((p) => String(p || "").trim())
    .filter(Boolean)
    .map((p) => (/[.?!…:;]$/.test(p) ? p : p + "."))
    .join(" ");
}
