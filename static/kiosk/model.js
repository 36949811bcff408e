/*
 * The questionnaire model: PURE functions over plain data. No DOM, no fetch, no storage, no clock,
 * no randomness, no UI words: the screens turn the problems named here into sentences.
 *
 * It decides what the server decides (questionnaires/definition.py, questionnaires/answers.py):
 * which items are asked, which answers are valid, what is sent. The cases in
 * tests/questionnaires/model_cases.json are run against both (tests/questionnaires/test_model_cases.py,
 * tests/browser/test_kiosk_model.py), so the kiosk never sends what the server would refuse.
 *
 * Answers, in the API's form: satisfaction → integer 1-5 (0 = not applicable); single → option code;
 * multiple → array of option codes in option order; yesno → "yes" | "no"; number → integer;
 * text → string.
 */

export const DOSSIER_SCREEN = "dossier"; // data-section of the dossier-code screen
export const DOSSIER_MIN = 3;
export const DOSSIER_MAX = 64;
// What the server assumes when a definition gives no bounds (questionnaires/answers.py).
const NUMBER_MIN = 0;
const NUMBER_MAX = 32767; // smallint
const TEXT_MAX = 500;
const DEFAULT_IDLE_S = 90;
const DEFAULT_THANKS_S = 8;
const KINDS = ["satisfaction", "single", "multiple", "yesno", "number", "text"];

// A character no one types on purpose (surveyapp/limits.py control_character, multiline): a control
// character other than tab and line breaks, half of a surrogate pair, or a direction mark.
const BAD_CHARACTER = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\p{Cs}\u202a-\u202e\u2066-\u2069]/u;

export function clampInt(v, lo, hi, dflt) {
  const n = Number(v);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(hi, Math.max(lo, Math.round(n)));
}

/* ==================================================================== the questionnaire */

/** Validate and normalise the GET /questionnaire payload. Never throws. */
export function buildModel(data) {
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
    byCode: Object.create(null),
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
      const section = { code: String(sec.code), title: sec.title, lead: sec.lead || null, items };
      model.sections.push(section);
      model.items.push(...items);
      for (const item of items) model.byCode[item.code] = item;
    }
    if (model.sections.length) model.questionnaire = q;
  }
  model.usable = !!(model.round && model.round.id !== undefined && model.questionnaire);
  return model;
}

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
  // The bounds the server applies when the definition gives none (the API sends null).
  if (item.kind === "number") {
    item.min = isWhole(item.min) ? item.min : NUMBER_MIN;
    item.max = isWhole(item.max) ? item.max : NUMBER_MAX;
  }
  if (item.kind === "text") item.max_length = isWhole(item.max_length) ? item.max_length : TEXT_MAX;
  return item;
}

function toInt(v) {
  const n = Number(v);
  return Number.isInteger(n) ? n : v;
}

function isWhole(v) {
  return typeof v === "number" && Number.isInteger(v);
}

/** Whether a satisfaction item offers "not applicable" (code 0). */
export function naAllowed(item) {
  return item.allow_na === true || (item.allow_na == null && item.options.some((o) => o.code === 0));
}

/* ==================================================================== conditions */

/**
 * Equality as the server's Python sees two JSON values: 4 is not "4" (a condition written with the
 * wrong type never holds, on the server as here), 1 is 1.0 and true, null is null (and an item not
 * answered counts as null). Lists and objects never equal anything here: answers hold no nesting.
 */
export function sameValue(a, b) {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  const numeric = (x) => typeof x === "number" || typeof x === "boolean";
  if (numeric(a) && numeric(b)) return Number(a) === Number(b);
  return typeof a === "string" && a === b;
}

/** Does a given answer match V? For a multiple-choice answer: V is among the chosen. */
export function answerMatches(answer, v) {
  if (Array.isArray(answer)) return answer.some((a) => sameValue(a, v));
  return sameValue(answer, v);
}

/**
 * Evaluate a condition on the answers given so far. Grammar:
 *   {"item": CODE, "equals": V} | {"item": CODE, "in": [V...]} | {"all": [c...]} | {"any": [c...]} | {"not": c}
 * null → true. A malformed condition counts as true (the item is shown rather than silently lost).
 */
export function evalCondition(cond, answers) {
  if (cond === null || cond === undefined || typeof cond !== "object") return true;
  if (Array.isArray(cond.all)) return cond.all.every((c) => evalCondition(c, answers));
  if (Array.isArray(cond.any)) return cond.any.some((c) => evalCondition(c, answers));
  if ("not" in cond) return !evalCondition(cond.not, answers);
  if (typeof cond.item === "string") {
    const a = own(answers, cond.item);
    if ("equals" in cond) return answerMatches(a, cond.equals);
    if (Array.isArray(cond.in)) return cond.in.some((v) => answerMatches(a, v));
  }
  console.warn("[kiosk] malformed condition, item shown", cond);
  return true;
}

function own(answers, code) {
  return Object.prototype.hasOwnProperty.call(answers, code) ? answers[code] : undefined;
}

export function isVisible(item, answers) {
  return evalCondition(item.condition, answers);
}

/** The codes of the items asked, given these answers. */
export function visibleItems(model, answers) {
  return model.items.filter((item) => isVisible(item, answers)).map((item) => item.code);
}

/**
 * Remove (in place) the answers of items whose condition no longer holds. Repeats until stable,
 * since removing one answer can hide another item (chained conditions). Returns the removed codes.
 */
export function pruneHidden(model, answers, rawInput) {
  const raw = rawInput || {};
  const removed = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const item of model.items) {
      const has = item.code in answers || item.code in raw;
      if (has && !isVisible(item, answers)) {
        delete answers[item.code];
        delete raw[item.code];
        removed.push(item.code);
        changed = true;
      }
    }
  }
  return removed;
}

/* ==================================================================== answers */

/** Whether the kiosk holds an answer (a blank text or an empty choice is none). */
export function hasAnswer(value) {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "string") return value.trim() !== "";
  return true;
}

/** Length as the server counts it: characters (code points), not UTF-16 units. */
function textLength(s) {
  return Array.from(String(s)).length;
}

/** An answer as the kiosk sends it: texts NFC-normalised and trimmed, lists copied. */
function sentValue(item, value) {
  if (item.kind === "text") return String(value).normalize("NFC").trim();
  return Array.isArray(value) ? value.slice() : value;
}

/**
 * What the server says about one given answer (pack_answers' _pack_one / _check_text), or null:
 * "not_an_option", "chosen_twice", "too_many_choices", "out_of_range", "not_text", "too_long",
 * "bad_character".
 */
function itemProblem(item, value) {
  switch (item.kind) {
    case "satisfaction":
      return isWhole(value) && ((value >= 1 && value <= 5) || (value === 0 && naAllowed(item))) ? null : "not_an_option";
    case "yesno":
      return value === "yes" || value === "no" ? null : "not_an_option";
    case "single":
      return typeof value === "string" && item.options.some((o) => o.code === value) ? null : "not_an_option";
    case "multiple":
      return multipleProblem(item, value);
    case "number":
      return isWhole(value) && value >= item.min && value <= item.max ? null : "out_of_range";
    default: // text
      if (typeof value !== "string") return "not_text";
      if (textLength(value) > item.max_length) return "too_long";
      return BAD_CHARACTER.test(value) ? "bad_character" : null;
  }
}

function multipleProblem(item, value) {
  if (!Array.isArray(value) || !value.length) return "not_an_option";
  if (value.some((v) => typeof v !== "string" || !item.options.some((o) => o.code === v))) return "not_an_option";
  if (new Set(value).size !== value.length) return "chosen_twice";
  if (item.max_choices && value.length > item.max_choices) return "too_many_choices";
  return null;
}

/**
 * Every problem with a set of answers, as the server finds it when they are posted
 * (questionnaires.answers.pack_answers): {code: problem}, empty when they would be stored. Besides
 * itemProblem's: "required", "not_asked" (an answer to an item whose condition is false),
 * "unknown_item". Conditions see only the earlier answers that were valid, as on the server.
 */
export function answerProblems(model, answers) {
  const problems = {};
  for (const code of Object.keys(answers)) if (!model.byCode[code]) problems[code] = "unknown_item";
  const given = {};
  for (const item of model.items) {
    const asked = evalCondition(item.condition, given);
    const value = own(answers, item.code);
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) {
      if (asked && item.required) problems[item.code] = "required";
      continue;
    }
    const problem = asked ? itemProblem(item, value) : "not_asked";
    if (problem) problems[item.code] = problem;
    else given[item.code] = value;
  }
  return problems;
}

/** A number typed on the kiosk: the integer, or null when it is not one within the item's bounds. */
export function parseNumber(item, raw) {
  if (!/^-?\d{1,15}$/.test(raw)) return null;
  const n = parseInt(raw, 10);
  return itemProblem(item, n) ? null : n;
}

/** The answer value to keep for a tap on an option (null = remove the answer). */
export function toggledValue(item, current, code) {
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

/** The answers as sent: visible, answered items only, each as sentValue gives it. */
export function payloadAnswers(model, answers) {
  const out = {};
  for (const item of model.items) {
    const v = own(answers, item.code);
    if (!isVisible(item, answers) || !hasAnswer(v)) continue;
    out[item.code] = sentValue(item, v);
  }
  return out;
}

/* ==================================================================== a respondent's session */

/** A new respondent: in memory only. startedAt is an ISO time in the server's clock. */
export function newSession(model, startedAt) {
  const screens = [];
  if (model.round.ask_dossier_code) screens.push({ kind: DOSSIER_SCREEN });
  for (const section of model.sections) screens.push({ kind: "section", section });
  return {
    // Made at the first Submit and kept (main.js): a retry after a failed save sends the same id,
    // so it is never stored twice. Made then, not at Start, so that ids arrive at the server in
    // the order they were made, which keeps its primary key dense (fieldwork/ids.py).
    id: null,
    model,
    startedAt,
    answers: Object.create(null),
    rawInput: Object.create(null), // number inputs holding text that is not a valid number
    dossierCode: "",
    screens, // the dossier code (if asked) and the sections: what is checked together
    step: null, // the key of the step shown (an item's code, or DOSSIER_SCREEN); null = the first
    submitting: false,
  };
}

export function setAnswer(session, code, value) {
  if (value === null || value === undefined) delete session.answers[code];
  else session.answers[code] = value;
}

/** A screen (a section) is skipped when all its items are hidden. */
export function screenVisible(session, screen) {
  if (screen.kind === DOSSIER_SCREEN) return true;
  return screen.section.items.some((it) => isVisible(it, session.answers));
}

/* ==================================================================== steps: one question at a time */

/**
 * The steps asked now, in order: the dossier code (when the round asks it), then each visible item.
 * A step: {key, item (null for the dossier code), section (null for the dossier code), first}, where
 * `first` says the item is the first one asked in its section (where the section's lead is shown).
 */
export function visibleSteps(session) {
  const steps = [];
  for (const screen of session.screens) {
    if (screen.kind === DOSSIER_SCREEN) {
      steps.push({ key: DOSSIER_SCREEN, item: null, section: null, first: true });
      continue;
    }
    let first = true;
    for (const item of screen.section.items) {
      if (!isVisible(item, session.answers)) continue;
      steps.push({ key: item.code, item, section: screen.section, first });
      first = false;
    }
  }
  return steps;
}

/** The step shown, its neighbours among the steps asked now, and its position: {step, before, after, pos, total}. */
export function stepAt(session) {
  const steps = visibleSteps(session);
  let i = steps.findIndex((st) => st.key === session.step);
  if (i < 0) i = 0;
  return {
    step: steps[i],
    before: i > 0 ? steps[i - 1] : null,
    after: i + 1 < steps.length ? steps[i + 1] : null,
    pos: i + 1,
    total: steps.length,
  };
}

/** Problems of one step (see screenProblems). */
export function stepProblems(session, step) {
  if (!step.item) return dossierProblems(session);
  const problem = itemProblemNow(session, step.item);
  return problem ? [problem] : [];
}

function dossierProblems(session) {
  const len = session.dossierCode.trim().length;
  if (len >= DOSSIER_MIN && len <= DOSSIER_MAX) return [];
  return [{ code: "dossier_code", item: null, problem: len ? "dossier_length" : "required", invalid: len > 0 }];
}

function itemProblemNow(session, item) {
  const value = own(session.answers, item.code);
  let problem = null;
  if (item.kind === "number" && item.code in session.rawInput) problem = "out_of_range";
  else if (hasAnswer(value)) problem = itemProblem(item, sentValue(item, value));
  else if (item.required) problem = "required";
  return problem ? { code: item.code, item, problem, invalid: problem !== "required" } : null;
}

/**
 * Problems on one screen, in display order: [{code, item, problem, invalid}]; item is null for the
 * dossier code. problem: "required", "dossier_length", "out_of_range" (a typed number that is not a
 * whole number within bounds) or one of itemProblem's, on the answer as it would be sent.
 */
export function screenProblems(session, screen) {
  if (screen.kind === DOSSIER_SCREEN) return dossierProblems(session);
  const problems = [];
  for (const item of screen.section.items) {
    if (!isVisible(item, session.answers)) continue;
    const problem = itemProblemNow(session, item);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** True when an answer given so far places the respondent in a stratum whose quota is closed. */
export function inClosedStratum(session) {
  return session.model.closedStrata.some((c) => answerMatches(own(session.answers, c.item), c.value));
}

/**
 * The JSON body for POST /responses. Hidden items' answers are never included (they are pruned
 * from the session first). session.id must be set; submittedAt is in the server's clock.
 */
export function buildPayload(session, language, submittedAt) {
  pruneHidden(session.model, session.answers, session.rawInput);
  const payload = {
    id: session.id,
    round: session.model.round.id,
    questionnaire: session.model.questionnaire.code,
    started_at: session.startedAt,
    submitted_at: submittedAt,
    language,
    answers: payloadAnswers(session.model, session.answers),
  };
  if (session.model.round.ask_dossier_code) payload.dossier_code = session.dossierCode.normalize("NFC").trim();
  return payload;
}
