/*
 * The question screens: one section (or the dossier code) a screen, its controls, and its errors.
 * Answers go into state.session through model.js; navigation is main.js's (actions.next/back).
 */

import { dom, h, mount, truncate } from "./dom.js";
import { loc, t } from "./i18n.js";
import {
  DOSSIER_MAX,
  DOSSIER_MIN,
  DOSSIER_SCREEN,
  answerMatches,
  isVisible,
  naAllowed,
  nextVisibleIndex,
  parseNumber,
  prevVisibleIndex,
  pruneHidden,
  screenPosition,
  screenProblems,
  setAnswer,
  toggledValue,
} from "./model.js";
import { langToggle } from "./screens.js";
import { actions, state } from "./state.js";

export function renderQuestion() {
  const s = state.session;
  if (!s) return actions.home();
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
  const back = h("button", { type: "button", class: "btn btn-secondary btn-nav", dataset: { testid: "back" }, onclick: () => actions.back() }, t("back"));
  const next = h("button", { type: "button", class: "btn btn-primary btn-nav", onclick: () => actions.next() });

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
export function refreshView() {
  const s = state.session;
  const v = dom.view;
  if (!s || !v) return;
  for (const entry of v.blocks.values()) {
    const visible = entry.item ? isVisible(entry.item, s.answers) : true;
    entry.block.hidden = !visible;
    entry.sync();
  }
  // progress over the screens that are currently visible
  const { pos, total } = screenPosition(s);
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
  const showNa = naAllowed(item);
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
    pattern: item.min < 0 ? null : "[0-9]*",
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
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      actions.next();
    }
  });
  const range = `${item.min} – ${item.max}`; // model.js gives every number item its bounds
  const control = h("div", { class: "num-wrap" }, input, h("span", { class: "num-range" }, range));
  const sync = () => {
    if (!(item.code in s.answers) && !(item.code in s.rawInput) && input.value !== "") input.value = "";
  };
  return { control, sync };
}

function textControl(s, item) {
  const max = item.max_length; // model.js gives every text item its limit
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
  const counter = h("p", { class: "q-hint text-count", "aria-live": "off" });
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
      actions.next();
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
  setAnswer(s, item.code, toggledValue(item, s.answers[item.code], code));
  afterChange(item.code);
}

/** After any answer change: drop hidden answers, resync the screen, quiet the answered error. */
function afterChange(code) {
  const s = state.session;
  if (!s) return;
  pruneHidden(s.model, s.answers, s.rawInput);
  refreshView();
  const v = dom.view;
  if (!v) return;
  const entry = v.blocks.get(code);
  if (entry && entry.block.classList.contains("is-invalid")) {
    // keep the message's space (no layout shift), just make it invisible once answered
    const stillBad = screenProblems(s, s.screens[s.index]).some((e) => e.code === code);
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
export function showScreenErrors() {
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

/** The current screen's problems in words: [{code, text, message, invalid}], in display order. */
function screenErrors(s, screen) {
  return screenProblems(s, screen).map((p) => ({
    code: p.code,
    invalid: p.invalid,
    text: p.item ? loc(p.item.text) : t("dossierTitle"),
    message: problemMessage(p),
  }));
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
      return t("chooseUpTo", { n: item.max_choices });
    default: // required, or an answer the controls cannot give
      return t("answerThis");
  }
}
