/*
 * The icons the kiosk draws itself (inline SVG, no files to fetch): the five satisfaction faces,
 * the "not applicable" sign, the check that marks a chosen answer, the speaker, and the arrows.
 * Each face differs by its mouth and eyes as well as its colour (readable without colour); the
 * features are dark ink on a light fill (contrast above 4.5:1 on every fill) inside a dark outline
 * (above 3:1 against white, WCAG 1.4.11). Icons are decorative: the buttons carry the words.
 */

const NS = "http://www.w3.org/2000/svg";
const INK = "#17202a";

function el(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c);
  return node;
}

function icon(className, viewBox, ...children) {
  return el("svg", { class: className, viewBox, "aria-hidden": "true", focusable: "false" }, ...children);
}

// Level → fill. Light enough for the dark features to stand out on each.
export const FACE_FILL = { 1: "#ef5350", 2: "#ffa040", 3: "#ffd84d", 4: "#a5d66b", 5: "#4caf50" };

const line = { fill: "none", stroke: INK, "stroke-width": 4, "stroke-linecap": "round", "stroke-linejoin": "round" };

function eyes(level) {
  if (level === 5) {
    // smiling, closed eyes
    return [el("path", { ...line, d: "M17 27 q5 -6 10 0" }), el("path", { ...line, d: "M37 27 q5 -6 10 0" })];
  }
  const parts = [el("circle", { cx: 22, cy: 26, r: 4, fill: INK }), el("circle", { cx: 42, cy: 26, r: 4, fill: INK })];
  if (level === 1) {
    // brows up in the middle: distress
    parts.push(el("path", { ...line, "stroke-width": 3.5, d: "M15 19 L26 15" }), el("path", { ...line, "stroke-width": 3.5, d: "M49 19 L38 15" }));
  }
  return parts;
}

const MOUTHS = {
  1: "M19 49 Q32 35 45 49",
  2: "M21 46 Q32 40 43 46",
  3: "M21 43 L43 43",
  4: "M20 40 Q32 50 44 40",
};

/** A satisfaction face for level 1 (very dissatisfied) to 5 (very satisfied). */
export function face(level) {
  const parts = [el("circle", { cx: 32, cy: 32, r: 29, fill: FACE_FILL[level] || "#ddd", stroke: INK, "stroke-width": 2.5 })];
  parts.push(...eyes(level));
  if (level === 5) parts.push(el("path", { fill: INK, d: "M17 38 Q32 40 47 38 Q45 55 32 55 Q19 55 17 38 Z" }));
  else parts.push(el("path", { ...line, d: MOUTHS[level] || MOUTHS[3] }));
  return icon("face face-" + level, "0 0 64 64", ...parts);
}

/** "Not applicable / don't know": a grey circle with a dash, unlike any face. */
export function naSign() {
  return icon(
    "face face-na",
    "0 0 64 64",
    el("circle", { cx: 32, cy: 32, r: 29, fill: "#ffffff", stroke: "#4b5563", "stroke-width": 3, "stroke-dasharray": "7 5" }),
    el("path", { ...line, stroke: "#4b5563", d: "M20 32 L44 32" })
  );
}

/** The badge on a chosen answer: a white check in a dark disc. */
export function checkBadge() {
  return icon(
    "check-badge",
    "0 0 32 32",
    el("circle", { cx: 16, cy: 16, r: 15, fill: "#0b4f8a", stroke: "#ffffff", "stroke-width": 2 }),
    el("path", { fill: "none", stroke: "#ffffff", "stroke-width": 4, "stroke-linecap": "round", "stroke-linejoin": "round", d: "M9 16.5 L14 21.5 L23 11" })
  );
}

export function speakerIcon() {
  return icon(
    "btn-icon",
    "0 0 24 24",
    el("path", { fill: "currentColor", d: "M3 9v6h4l5 4V5L7 9H3z" }),
    el("path", { fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round", d: "M15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13" })
  );
}

export function arrowIcon(direction) {
  const d = direction === "back" ? "M15 5 L8 12 L15 19" : "M9 5 L16 12 L9 19";
  return icon("btn-icon", "0 0 24 24", el("path", { fill: "none", stroke: "currentColor", "stroke-width": 3, "stroke-linecap": "round", "stroke-linejoin": "round", d }));
}

export function restartIcon() {
  return icon(
    "btn-icon",
    "0 0 24 24",
    el("path", { fill: "none", stroke: "currentColor", "stroke-width": 2.5, "stroke-linecap": "round", d: "M5 12a7 7 0 1 0 2.05-4.95" }),
    el("path", { fill: "currentColor", d: "M3.5 3.5 L9 4 L5 9 Z" })
  );
}
