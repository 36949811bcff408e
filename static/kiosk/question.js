/*
 * The question screens: one question a screen. A tap on an answer of a one-answer question
 * (satisfaction, single choice, yes/no) is the whole gesture: main.js moves on by itself
 * (actions.answered). Multiple choice, numbers and texts have "Next"; an optional question "Skip".
 * Answers go into state.session through model.js; navigation is main.js's (actions.next/back).
 *
 * Controls: a one-answer question is a radio group (arrow keys move and choose, one Tab stop), a
 * multiple choice a group of checkboxes (arrow keys move, Space chooses); the chosen answer is
 * marked by a frame and a check (faces keep their colours). See faces.js for the icons.
 */

import { dom, h, mount } from "./dom.js";
import { arrowIcon, checkBadge, face, naSign, restartIcon, speakerIcon } from "./faces.js";
import { lang, loc, t } from "./i18n.js";
import {
  DOSSIER_MAX,
  DOSSIER_MIN,
  answerMatches,
  hasAnswer,
  naAllowed,
  parseNumber,
  pruneHidden,
  setAnswer,
  stepAt,
  stepProblems,
  toggledValue,
} from "./model.js";
import { canSpeak, sentences, speak, stopSpeaking } from "./speech.js";
import { actions, state } from "./state.js";

/** The kinds answered by one tap, after which the kiosk moves on. */
export const ONE_TAP = ["satisfaction", "single", "yesno"];

export function renderQuestion() {
  const s = state.session;
  if (!s) return actions.home();
  const at = stepAt(s);
  const { step } = at;
  s.step = step.key;
  const item = step.item;
  const qid = "q-" + step.key;
  const eid = "e-" + step.key;

  const parts = item ? control(s, item, qid, eid) : dossierControl(s, qid, eid);
  const lead = step.first && step.section && loc(step.section.lead) ? h("p", { class: "lead", id: "lead" }, loc(step.section.lead)) : null;
  if (lead) parts.group.setAttribute("aria-describedby", ["lead", parts.group.getAttribute("aria-describedby")].filter(Boolean).join(" "));
  const questionText = item ? loc(item.text) : t("dossierQuestion");
  // A typed answer is labelled by a real <label>; a group of buttons by the heading's id.
  const title = h("h1", { class: "q-text", id: qid, tabindex: "-1" }, parts.field ? h("label", { for: parts.field.id }, questionText) : questionText);

  const listen = canSpeak(lang()) ? listenButton(item, lead, questionText) : null;

  const bar = h("div", { class: "progress-fill" });
  // In words ("Câu 3/36"), or just "3/36" on a phone; the progress bar's value text says it in words.
  const progressText = h("span", { class: "progress-text", "aria-hidden": "true" }, h("span", { class: "progress-words" }), h("span", { class: "progress-short" }));
  const progress = h(
    "div",
    { class: "progress", role: "progressbar", "aria-label": t("progressName"), "aria-valuemin": "0", dataset: { testid: "progress" } },
    h("div", { class: "progress-track" }, bar)
  );
  const restart = h(
    "button",
    { type: "button", class: "btn btn-quiet btn-restart", dataset: { testid: "start-over" }, onclick: () => actions.confirmRestart() },
    restartIcon(),
    h("span", null, t("restart"))
  );
  const back = h(
    "button",
    { type: "button", class: "btn btn-secondary btn-nav", dataset: { testid: "back" }, onclick: () => actions.back() },
    arrowIcon("back"),
    h("span", null, t("back"))
  );
  const nextLabel = h("span");
  const next = h("button", { type: "button", class: "btn btn-primary btn-nav", onclick: () => actions.next() }, nextLabel, arrowIcon("next"));

  const el = h(
    "div",
    { class: "screen question", dataset: { section: step.section ? step.section.code : step.key, step: step.key } },
    h(
      "div",
      { class: "qtop" },
      h("div", { class: "qtop-row" }, progress, progressText, restart),
      h("p", { class: "section-name" }, step.section ? loc(step.section.title) : t("dossierTitle"))
    ),
    h("div", { class: "qbody" }, h("div", { class: "qcontent" }, lead, h("div", { class: "q-line" }, title, listen), parts.hint || null, parts.control, parts.error)),
    h("div", { class: "qfoot" }, h("div", { class: "nav" }, back, next))
  );
  mount(el, title);
  dom.view = { el, item, key: step.key, parts, back, next, nextLabel, bar, progress, progressText };
  refreshView();
}

/** Sync the screen with the answers: chosen answers, progress, and the navigation buttons. */
export function refreshView() {
  const s = state.session;
  const v = dom.view;
  if (!s || !v) return;
  v.parts.sync();
  const at = stepAt(s);
  v.bar.style.width = `${Math.round((100 * at.pos) / at.total)}%`;
  const words = t("progress", { n: at.pos, total: at.total });
  v.progressText.firstChild.textContent = words;
  v.progressText.lastChild.textContent = `${at.pos}/${at.total}`;
  v.progress.setAttribute("aria-valuemax", String(at.total));
  v.progress.setAttribute("aria-valuenow", String(at.pos));
  v.progress.setAttribute("aria-valuetext", words);
  // Back: hidden on the first question (its place kept). Next: "Skip" on an optional question left
  // blank, none on a one-tap question yet to be answered, "Submit" on the last question.
  const first = !at.before;
  v.back.disabled = first || s.submitting;
  v.back.classList.toggle("is-invisible", first);
  v.back.setAttribute("aria-hidden", first ? "true" : "false");
  const last = !at.after;
  const answered = v.item ? hasAnswer(s.answers[v.item.code]) : true;
  const required = v.item ? v.item.required : true;
  v.next.dataset.testid = last ? "submit" : "next";
  v.next.classList.toggle("btn-submit", last);
  v.next.hidden = !last && !answered && required && ONE_TAP.includes(v.item && v.item.kind);
  v.nextLabel.textContent = s.submitting ? t("saving") : last ? t("submit") : !answered && !required ? t("skip") : t("next");
  v.next.disabled = s.submitting;
  v.next.setAttribute("aria-busy", s.submitting ? "true" : "false");
}

/**
 * The speaker button: reads the part's lead, the question and its answers in the language shown; a
 * second press stops (the button says so while it reads). Shown only when the tablet has a voice.
 */
function listenButton(item, lead, questionText) {
  const label = h("span", null, t("listen"));
  const btn = h("button", { type: "button", class: "btn btn-listen", dataset: { testid: "listen" } }, speakerIcon(), label);
  const options = item ? item.options.filter((o) => o.code !== 0 || naAllowed(item)).map((o) => optionLabel(item, o)) : [];
  const text = sentences([lead && lead.textContent, questionText, ...options]);
  let reading = false;
  const show = (on) => {
    reading = on;
    label.textContent = t(on ? "listenStop" : "listen");
    btn.setAttribute("aria-label", t(on ? "listenStopName" : "listenName")); // holds the words shown (WCAG 2.5.3)
    btn.classList.toggle("is-reading", on);
  };
  btn.addEventListener("click", () => {
    if (reading) return stopSpeaking();
    show(true);
    if (!speak(text, lang(), () => show(false))) show(false);
  });
  show(false);
  return btn;
}

function optionLabel(item, o) {
  if (item.kind === "satisfaction") return (o.code === 0 ? loc(o.label) || t("notApplicable") : loc(o.label) || t("scale" + o.code));
  if (item.kind === "yesno") return loc(o.label) || t(String(o.code) === "no" ? "no" : "yes");
  return loc(o.label) || String(o.code);
}

function control(s, item, qid, eid) {
  if (item.kind === "number") return numberControl(s, item, qid, eid);
  if (item.kind === "text") return textControl(s, item, qid, eid);
  return choiceControl(s, item, qid, eid);
}

/* ---- answers given by tapping: radio groups and checkbox groups ---- */

function choiceControl(s, item, qid, eid) {
  const multi = item.kind === "multiple";
  const options = item.kind === "satisfaction" ? item.options.filter((o) => o.code !== 0) : item.options;
  const naOption = item.kind === "satisfaction" && naAllowed(item) ? item.options.find((o) => o.code === 0) || { code: 0, label: null } : null;
  const buttons = [];
  const button = (o, className, content) => {
    const btn = h(
      "button",
      {
        type: "button",
        class: className,
        role: multi ? "checkbox" : "radio",
        "aria-checked": "false",
        tabindex: "-1",
        dataset: { item: item.code, value: String(o.code) },
        onclick: () => onOption(item, o.code, btn),
      },
      content,
      checkBadge()
    );
    buttons.push([o.code, btn]);
    return btn;
  };
  let list;
  if (item.kind === "satisfaction") {
    list = h(
      "div",
      { class: "scale" + (naOption ? " has-na" : "") },
      options.map((o) => button(o, `opt opt-face level-${o.code}`, [face(o.code), h("span", { class: "opt-label" }, optionLabel(item, o))])),
      naOption ? button(naOption, "opt opt-face opt-na", [naSign(), h("span", { class: "opt-label" }, optionLabel(item, naOption))]) : null
    );
  } else {
    const many = options.length > 6 ? " is-long" : "";
    const kindClass = item.kind === "yesno" ? " choices-yesno" : many;
    list = h(
      "div",
      { class: "choices" + kindClass },
      options.map((o) =>
        button(o, "opt opt-choice" + (multi ? " is-multi" : ""), [h("span", { class: "mark", "aria-hidden": "true" }), h("span", { class: "opt-label" }, optionLabel(item, o))])
      )
    );
  }
  const hint = multi ? h("p", { class: "q-hint", id: "h-" + item.code }) : null;
  const group = h(
    "div",
    {
      class: "answers",
      role: multi ? "group" : "radiogroup",
      "aria-labelledby": qid,
      "aria-describedby": [hint ? hint.id : null, eid].filter(Boolean).join(" "),
      "aria-required": !multi && item.required ? "true" : null,
      dataset: { block: item.code },
    },
    list
  );
  group.addEventListener("keydown", (ev) => onArrow(ev, item, buttons, multi));
  // An optional one-answer question can be left unanswered again: a tap on an answer moves on, so
  // "Clear my answer" (there, but invisible, until something is chosen: nothing moves when it shows).
  const clear =
    !multi && !item.required
      ? h("button", { type: "button", class: "btn btn-quiet btn-clear is-invisible", disabled: true, dataset: { testid: "clear-answer" }, onclick: () => clearAnswer(item) }, t("clearAnswer"))
      : null;
  const error = h("p", { class: "item-error", id: eid, role: "alert" });
  const sync = () => {
    const answer = s.answers[item.code];
    if (clear) {
      clear.disabled = !hasAnswer(answer);
      clear.classList.toggle("is-invisible", clear.disabled);
    }
    const chosen = Array.isArray(answer) ? answer.length : 0;
    const full = multi && !!item.max_choices && chosen >= item.max_choices;
    let tabStop = null;
    for (const [code, btn] of buttons) {
      const on = answerMatches(answer, code);
      btn.setAttribute("aria-checked", String(on));
      btn.setAttribute("aria-disabled", String(full && !on)); // no more choices past the limit
      if (on && !tabStop) tabStop = btn;
    }
    tabStop = tabStop || buttons[0][1];
    for (const [, btn] of buttons) btn.tabIndex = btn === tabStop ? 0 : -1;
    if (hint) {
      // same length whatever is chosen: no layout shift when an answer is tapped
      hint.textContent = item.max_choices
        ? t("chooseUpTo", { n: item.max_choices }) + " " + t("chosenCount", { k: chosen, n: item.max_choices })
        : t("chooseMany");
    }
  };
  const focus = () => buttons.find(([, b]) => b.tabIndex === 0)[1];
  return { control: clear ? h("div", { class: "answers-wrap" }, group, clear) : group, group, hint, error, sync, focus };
}

/** Arrow keys within a group: move (and, in a radio group, choose without moving on), Home/End. */
function onArrow(ev, item, buttons, multi) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: "first", End: "last" };
  if (!(ev.key in keys) || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const list = buttons.map(([, b]) => b);
  const at = list.indexOf(document.activeElement);
  if (at < 0) return;
  ev.preventDefault();
  const step = keys[ev.key];
  const to = step === "first" ? 0 : step === "last" ? list.length - 1 : (at + step + list.length) % list.length;
  for (const b of list) b.tabIndex = b === list[to] ? 0 : -1;
  list[to].focus();
  if (!multi) choose(item, buttons[to][0]);
}

function onOption(item, code, btn) {
  const s = state.session;
  if (!s || s.submitting || s.advancing || state.phase !== "questionnaire") return;
  if (item.kind === "multiple") {
    if (btn.getAttribute("aria-disabled") === "true") return;
    setAnswer(s, item.code, toggledValue(item, s.answers[item.code], code));
    afterChange(item.code);
    return;
  }
  choose(item, code);
  actions.answered(item.code); // main.js moves on
}

/** A one-answer question's answer is this option (a tap on the chosen one keeps it). */
function choose(item, code) {
  const s = state.session;
  setAnswer(s, item.code, code);
  afterChange(item.code);
}

/** "Clear my answer" on an optional one-answer question: unanswered again, the answers get the focus. */
function clearAnswer(item) {
  const s = state.session;
  if (!s || s.submitting || s.advancing || state.phase !== "questionnaire") return;
  setAnswer(s, item.code, null);
  afterChange(item.code);
  const v = dom.view;
  if (v && v.parts.focus) v.parts.focus().focus({ preventScroll: true });
}

/* ---- typed answers ---- */

function typedControl(field, parts, eid) {
  const error = h("p", { class: "item-error", id: eid, role: "alert" });
  return Object.assign({ group: field, field, error, focus: () => field }, parts);
}

function numberControl(s, item, qid, eid) {
  const input = h("input", {
    type: "text",
    id: "f-" + item.code,
    inputmode: "numeric",
    pattern: item.min < 0 ? null : "[0-9]*",
    autocomplete: "off",
    autocorrect: "off",
    spellcheck: "false",
    enterkeyhint: "next",
    class: "num-input",
    "aria-describedby": eid,
    dataset: { item: item.code, block: item.code },
  });
  input.addEventListener("input", () => {
    const raw = input.value.replace(/\s+/g, "");
    const n = raw ? parseNumber(item, raw) : null;
    delete s.rawInput[item.code];
    if (!raw) {
      delete s.answers[item.code];
    } else if (n !== null) {
      s.answers[item.code] = n;
    } else {
      delete s.answers[item.code];
      s.rawInput[item.code] = raw; // reported on Next
    }
    afterChange(item.code);
  });
  enterMovesOn(input);
  const range = `${item.min} – ${item.max}`; // model.js gives every number item its bounds
  const sync = () => {
    if (!(item.code in s.answers) && !(item.code in s.rawInput) && input.value !== "") input.value = "";
    if (item.code in s.answers && input.value === "") input.value = String(s.answers[item.code]);
  };
  return typedControl(input, { control: h("div", { class: "num-wrap" }, input, h("span", { class: "num-range" }, range)), sync }, eid);
}

function textControl(s, item, qid, eid) {
  const max = item.max_length; // model.js gives every text item its limit
  const counter = h("p", { class: "q-hint text-count", id: "c-" + item.code, "aria-live": "off" });
  const area = h("textarea", {
    id: "f-" + item.code,
    class: "text-input",
    rows: "4",
    maxlength: max,
    autocomplete: "off",
    autocorrect: "off",
    spellcheck: "false",
    placeholder: t("textPlaceholder"),
    "aria-describedby": eid + " c-" + item.code,
    dataset: { item: item.code, block: item.code },
  });
  const updateCounter = () => {
    counter.textContent = t("chars", { n: area.value.length, max });
  };
  area.addEventListener("input", () => {
    setAnswer(s, item.code, area.value.trim() ? area.value : null);
    updateCounter();
    afterChange(item.code);
  });
  const sync = () => {
    if (!(item.code in s.answers) && area.value !== "") area.value = "";
    if (item.code in s.answers && area.value === "") area.value = s.answers[item.code];
    updateCounter();
  };
  return typedControl(area, { control: h("div", { class: "text-wrap" }, area, counter), sync }, eid);
}

function dossierControl(s, qid, eid) {
  const input = h("input", {
    type: "text",
    id: "f-dossier_code",
    class: "text-line",
    minlength: String(DOSSIER_MIN),
    maxlength: String(DOSSIER_MAX),
    autocomplete: "off",
    autocorrect: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    enterkeyhint: "next",
    "aria-describedby": eid,
    dataset: { item: "dossier_code", block: "dossier_code" },
  });
  input.addEventListener("input", () => {
    s.dossierCode = input.value;
    afterChange("dossier_code");
  });
  enterMovesOn(input);
  const sync = () => {
    if (input.value !== s.dossierCode) input.value = s.dossierCode;
  };
  return typedControl(input, { control: input, sync }, eid);
}

function enterMovesOn(input) {
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      actions.next();
    }
  });
}

/* ---- after an answer, and errors ---- */

/** After any answer change: drop hidden answers, resync the screen, quiet an error now answered. */
function afterChange() {
  const s = state.session;
  if (!s) return;
  pruneHidden(s.model, s.answers, s.rawInput);
  refreshView();
  const v = dom.view;
  if (!v || !v.parts.error.textContent) return;
  if (!currentProblems(s).length) {
    v.parts.error.textContent = "";
    v.parts.field && v.parts.field.removeAttribute("aria-invalid");
  }
}

function currentProblems(s) {
  return stepProblems(s, stepAt(s).step);
}

/** Show the problem of the question shown, if any. Returns true when it may be left. */
export function showStepErrors() {
  const s = state.session;
  const v = dom.view;
  const problems = currentProblems(s);
  v.parts.error.textContent = problems.length ? problemMessage(problems[0]) : "";
  if (v.parts.field) {
    if (problems.length) v.parts.field.setAttribute("aria-invalid", "true");
    else v.parts.field.removeAttribute("aria-invalid");
  }
  if (!problems.length) return true;
  const target = v.parts.focus();
  if (target) target.focus({ preventScroll: true });
  return false;
}

function problemMessage({ item, problem }) {
  switch (problem) {
    case "dossier_length":
      return t("dossierError", { min: DOSSIER_MIN, max: DOSSIER_MAX });
    case "out_of_range":
      return t("numberRange", { min: item.min, max: item.max });
    case "too_long":
      return t("tooLong", { max: item.max_length });
    case "bad_character":
      return t("badCharacter");
    case "too_many_choices":
      return t("chooseUpToError", { n: item.max_choices });
    default: // required, or an answer the controls cannot give
      return item && item.kind === "multiple" ? t("chooseOne") : t("answerThis");
  }
}
