#!/usr/bin/env python3
"""Validate SIPAS questionnaire definition files (schema 1).

Usage:
    python3 check_definitions.py [FILE.json ...]

Without arguments every *.json file next to this script is checked.
Prints "ok: <file>: N items" for each valid file, or the list of errors,
and exits 1 if any file has errors. Standard library only.

When several files are checked together, the items they share (perception
questions, the F5.0 screen, G.0, expectations, demographics) must have the
same kind and option codes in all of them, so reports can compare versions;
versions of one family (rounds compared over time) must have the same factors
and scoring, and each scored item the same kind and factor.

Optional keys: a section's "lead" (a lead-in, {"vi", "en"}); an item's
"known_from": {"unit_level": {unit level: option code}}, an answer the server
fills in from the response's unit instead of asking it (a single choice
without a condition, which no condition may refer to).
"""
import json
import os
import re
import sys

# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------
TOP_KEYS_REQUIRED = {
    "schema", "code", "family", "title", "legal_basis", "intro", "thanks", "scale",
    "sections", "factors", "scoring", "indicators", "expectations", "notes",
}
ITEM_KEYS_REQUIRED = {"code", "factor", "kind", "text", "required"}
ITEM_KEYS_OPTIONAL = {"options", "allow_na", "max_choices", "min", "max", "max_length",
                      "condition", "role", "known_from"}
SECTION_KEYS = {"code", "title", "items", "lead"}
# The levels of units.models.Unit.Level: the keys of a known_from map.
UNIT_LEVELS = {"province", "department", "centre", "district", "commune", "vertical"}
KINDS = {"satisfaction", "single", "multiple", "yesno", "number", "text"}
FACTOR_METHODS = {"mean_of_item_rates", "pooled_answers", "general_item"}
HEADLINE_METHODS = {"item", "mean_of_factors"}
ROLES = {"general", "overall"}

ITEM_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*\.[A-Z0-9_]+$")
SECTION_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*$")
VERSION_CODE_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
OPTION_CODE_RE = re.compile(r"^[a-z0-9_+-]+$")
LANG_RE = re.compile(r"^[a-z]{2,3}$")

# Scored criteria per factor, in factor order, for the known instrument versions (by version code,
# else by family: a revision keeps its family's criteria).
EXPECTED_SPLIT = {
    "sipas-2017": [4, 5, 6, 3, 4],            # QĐ 2640/QĐ-BNV: 22 criteria
    "sipas-2023-services": [4, 4, 5, 3, 3],   # QĐ 1001/QĐ-BNV services block: 19 items
}

# Items every SIPAS version must carry with the same code, so reports compare
# across versions: code -> (kind, required).
COMMON_ITEMS = {
    "E.FIELD": ("single", True),
    "E.LEVEL": ("single", True),
    "E.CHANNEL_FILE": ("single", True),
    "E.VISITS": ("single", True),
    "E.ONTIME": ("single", True),
    "E.EXTRA_PAY": ("yesno", True),
    "E.HARASS": ("yesno", True),
    "E.INFO": ("multiple", True),
    "F5.0": ("yesno", True),
    "G.0": ("satisfaction", True),
    "X.EXPECT": ("multiple", False),
    "D.GENDER": ("single", False),
    "D.AGE": ("single", False),
    "D.OCCUPATION": ("single", False),
    "C.COMMENT": ("text", False),
}
FEEDBACK_SCREEN = "F5.0"   # every item of the fifth factor is conditional on it
FEEDBACK_CONDITION = {"item": FEEDBACK_SCREEN, "equals": "yes"}

VI_DIACRITICS = set(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)
# Frequent words that are never correct Vietnamese without their diacritics.
VI_UNACCENTED_WORDS = {
    "khong", "duoc", "nguoi", "dich", "viec", "quyet", "thuc", "chuc", "hai long",
    "thu tuc", "hanh chinh", "cong chuc", "ong/ba", "phi", "ho so", "ket qua",
}


class Checker:
    def __init__(self, path):
        self.path = path
        self.errors = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    # ---------------------------------------------------------------- text
    def i18n(self, value, where, vi_needs_diacritics=True):
        if not isinstance(value, dict):
            self.err(where, "must be an object {\"vi\": ..., \"en\": ...}")
            return
        for lang in ("vi", "en"):
            v = value.get(lang)
            if not isinstance(v, str) or not v.strip():
                self.err(where, f"missing or empty \"{lang}\"")
        for k, v in value.items():
            if not LANG_RE.match(str(k)):
                self.err(where, f"unknown key {k!r} (expected language codes)")
            elif not isinstance(v, str):
                self.err(where, f"\"{k}\" must be a string")
        vi, en = value.get("vi"), value.get("en")
        if isinstance(vi, str) and vi.strip():
            if vi_needs_diacritics:
                self.vietnamese(vi, where)
            if isinstance(en, str) and vi.strip() == en.strip() and re.search(r"[A-Za-z]{3,}", vi):
                self.err(where, "\"vi\" and \"en\" are identical (untranslated?)")

    def vietnamese(self, s, where):
        low = s.lower()
        words = re.findall(r"[^\W\d_]+", low)
        if len(words) >= 3 and not any(ch in VI_DIACRITICS for ch in s):
            self.err(where, f"Vietnamese text without diacritics: {s!r}")
            return
        norm = " " + " ".join(re.findall(r"[^\W\d_]+(?:/[^\W\d_]+)?", low)) + " "
        for w in VI_UNACCENTED_WORDS:
            if f" {w} " in norm:
                self.err(where, f"unaccented Vietnamese word {w!r} in {s!r}")

    # ---------------------------------------------------------------- file
    def run(self):
        try:
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh, object_pairs_hook=self._no_duplicates)
        except (OSError, ValueError) as exc:
            self.err("file", f"cannot read JSON: {exc}")
            return None
        if not isinstance(doc, dict):
            self.err("file", "top level must be an object")
            return None
        self.doc = doc
        try:
            self.top(doc)
        except Exception as exc:  # malformed structure the rules above did not foresee
            self.err("file", f"malformed definition ({type(exc).__name__}: {exc})")
        return doc

    def _no_duplicates(self, pairs):
        obj = {}
        for k, v in pairs:
            if k in obj:
                self.err("file", f"duplicate key {k!r} in one object")
            obj[k] = v
        return obj

    def top(self, d):
        keys = set(d)
        for k in sorted(TOP_KEYS_REQUIRED - keys):
            self.err("top", f"missing key {k!r}")
        for k in sorted(keys - TOP_KEYS_REQUIRED):
            self.err("top", f"unknown key {k!r}")
        if d.get("schema") != 1 or isinstance(d.get("schema"), bool):
            self.err("schema", "must be 1")
        for k in ("code", "family"):
            if not isinstance(d.get(k), str) or not VERSION_CODE_RE.match(d.get(k, "")):
                self.err(k, "must be a lower-case code like 'sipas-2017'")
        if not isinstance(d.get("legal_basis"), str) or not d.get("legal_basis", "").strip():
            self.err("legal_basis", "must be a non-empty string")
        if not isinstance(d.get("notes"), str):
            self.err("notes", "must be a string")
        for k in ("title", "intro", "thanks"):
            if k in d:
                self.i18n(d[k], k)
        self.scale(d.get("scale"))
        self.factor_list(d.get("factors"))
        self.sections(d.get("sections"))
        self.scoring(d.get("scoring"))
        self.indicators(d)
        self.conditions()
        self.instrument_rules(d)

    def scale(self, s):
        if not isinstance(s, dict):
            self.err("scale", "must be an object")
            return
        for k in set(s) - {"levels", "not_applicable"}:
            self.err("scale", f"unknown key {k!r}")
        levels = s.get("levels")
        if not isinstance(levels, list) or [l.get("code") if isinstance(l, dict) else None
                                            for l in levels] != [1, 2, 3, 4, 5]:
            self.err("scale.levels", "must be five levels with codes 1..5 in order")
        else:
            for lv in levels:
                if set(lv) != {"code", "label"}:
                    self.err(f"scale.levels[{lv.get('code')}]", "keys must be code, label")
                self.i18n(lv.get("label"), f"scale.levels[{lv.get('code')}].label")
        na = s.get("not_applicable")
        if not isinstance(na, dict) or na.get("code") != 0 or set(na) != {"code", "label"}:
            self.err("scale.not_applicable", "must be {\"code\": 0, \"label\": {...}}")
        else:
            self.i18n(na.get("label"), "scale.not_applicable.label")

    def factor_list(self, fs):
        self.factor_codes = []
        if not isinstance(fs, list) or not fs:
            self.err("factors", "must be a non-empty list")
            return
        for i, f in enumerate(fs):
            where = f"factors[{i}]"
            if not isinstance(f, dict) or set(f) != {"code", "label"}:
                self.err(where, "must be {\"code\": ..., \"label\": {...}}")
                continue
            c = f["code"]
            if not isinstance(c, str) or not SECTION_CODE_RE.match(c):
                self.err(where, f"bad factor code {c!r}")
            elif c in self.factor_codes:
                self.err(where, f"duplicate factor code {c!r}")
            else:
                self.factor_codes.append(c)
            self.i18n(f["label"], f"{where}.label")

    # ------------------------------------------------------------ sections
    def sections(self, secs):
        self.items = {}       # code -> item
        self.order = []       # item codes in kiosk order
        self.section_of = {}  # item code -> section code
        if not isinstance(secs, list) or not secs:
            self.err("sections", "must be a non-empty list")
            return
        seen = set()
        for si, sec in enumerate(secs):
            where = f"sections[{si}]"
            if not isinstance(sec, dict):
                self.err(where, "must be an object")
                continue
            for k in set(sec) - SECTION_KEYS:
                self.err(where, f"unknown key {k!r}")
            sc = sec.get("code")
            if not isinstance(sc, str) or not SECTION_CODE_RE.match(sc):
                self.err(where, f"bad section code {sc!r}")
            elif sc in seen:
                self.err(where, f"duplicate section code {sc!r}")
            else:
                seen.add(sc)
            where = f"section {sc}"
            self.i18n(sec.get("title"), f"{where}.title")
            if "lead" in sec:
                self.i18n(sec["lead"], f"{where}.lead")
            items = sec.get("items")
            if not isinstance(items, list) or not items:
                self.err(where, "items must be a non-empty list")
                continue
            for it in items:
                self.item(it, sc)
        # factor sections, in order
        fsecs = [s.get("code") for s in secs if isinstance(s, dict) and s.get("code") in self.factor_codes]
        if fsecs != self.factor_codes:
            self.err("sections", f"factor sections {fsecs} must match factors {self.factor_codes} in order")

    def item(self, it, sc):
        if not isinstance(it, dict):
            self.err(f"section {sc}", "item must be an object")
            return
        code = it.get("code")
        where = f"item {code}"
        if not isinstance(code, str) or not ITEM_CODE_RE.match(code):
            self.err(f"section {sc}", f"bad item code {code!r}")
            return
        if code in self.items:
            self.err(where, "duplicate item code")
            return
        self.items[code] = it
        self.order.append(code)
        self.section_of[code] = sc
        keys = set(it)
        for k in sorted(ITEM_KEYS_REQUIRED - keys):
            self.err(where, f"missing key {k!r}")
        for k in sorted(keys - ITEM_KEYS_REQUIRED - ITEM_KEYS_OPTIONAL):
            self.err(where, f"unknown key {k!r}")
        kind = it.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            kind = None
            self.err(where, f"unknown kind {it.get('kind')!r}")
        if not isinstance(it.get("required"), bool):
            self.err(where, "required must be true or false")
        self.i18n(it.get("text"), f"{where}.text")

        factor = it.get("factor")
        if factor is not None and (not isinstance(factor, str) or factor not in self.factor_codes):
            self.err(where, f"unknown factor {factor!r}")
        if factor is not None and kind != "satisfaction":
            self.err(where, "only satisfaction items may have a factor")
        if sc in self.factor_codes and kind == "satisfaction" and factor != sc:
            self.err(where, f"satisfaction item in section {sc} must have factor {sc!r}")
        if factor is not None and factor != sc:
            self.err(where, f"item of factor {factor} placed in section {sc}")

        # kind-specific keys
        if kind in ("single", "multiple"):
            self.options(it.get("options"), where)
        elif "options" in it:
            self.err(where, f"'options' not allowed for kind {kind}")
        if kind == "satisfaction":
            if not isinstance(it.get("allow_na"), bool):
                self.err(where, "satisfaction item needs allow_na true/false")
            if it.get("required") is not True:
                self.err(where, "satisfaction items must be required (use allow_na for 'not applicable')")
        elif "allow_na" in it:
            self.err(where, "'allow_na' only allowed for satisfaction items")
        if "max_choices" in it:
            mc = it["max_choices"]
            if kind != "multiple":
                self.err(where, "'max_choices' only allowed for multiple")
            elif not _is_int(mc) or mc < 1 or mc > len(it.get("options") or []):
                self.err(where, "max_choices must be an integer between 1 and the number of options")
        for k in ("min", "max"):
            if k in it:
                if kind != "number":
                    self.err(where, f"'{k}' only allowed for number")
                elif not isinstance(it[k], (int, float)) or isinstance(it[k], bool):
                    self.err(where, f"'{k}' must be a number")
        if kind == "number" and _num(it.get("min")) and _num(it.get("max")) and it["min"] > it["max"]:
            self.err(where, "min > max")
        if "max_length" in it:
            if kind != "text":
                self.err(where, "'max_length' only allowed for text")
            elif not _is_int(it["max_length"]) or it["max_length"] < 1:
                self.err(where, "max_length must be a positive integer")
        role = it.get("role")
        if "role" in it:
            if not isinstance(role, str) or role not in ROLES:
                self.err(where, f"role must be one of {sorted(ROLES)}")
            if kind != "satisfaction":
                self.err(where, "role only allowed for satisfaction items")
            if role == "general" and factor is None:
                self.err(where, "general item needs a factor")
            if role == "overall" and factor is not None:
                self.err(where, "overall item must have factor null")
        if "known_from" in it:
            self.known_from(it, kind, where)

    def known_from(self, it, kind, where):
        known = it["known_from"]
        if not isinstance(known, dict) or set(known) != {"unit_level"} or not isinstance(known["unit_level"], dict) \
                or not known["unit_level"]:
            self.err(where, "known_from must be {\"unit_level\": {unit level: option code, ...}}")
            return
        if kind != "single":
            self.err(where, "only a single choice can be known from the unit")
        if "condition" in it:
            self.err(where, "an item known from the unit cannot have a condition")
        options = _answer_values(it) or set()
        for level, option in known["unit_level"].items():
            if level not in UNIT_LEVELS:
                self.err(where, f"known_from: {level!r} is not a unit level {sorted(UNIT_LEVELS)}")
            if not isinstance(option, str) or option not in options:
                self.err(where, f"known_from: {option!r} is not an option code of the item")

    def options(self, opts, where):
        if not isinstance(opts, list) or len(opts) < 2:
            self.err(where, "needs at least two options")
            return
        seen = set()
        for o in opts:
            if not isinstance(o, dict):
                self.err(where, "option must be an object")
                continue
            for k in set(o) - {"code", "label", "legacy"}:
                self.err(where, f"option has unknown key {k!r}")
            c = o.get("code")
            if not isinstance(c, str) or not OPTION_CODE_RE.match(c):
                self.err(where, f"bad option code {c!r}")
            elif c in seen:
                self.err(where, f"duplicate option code {c!r}")
            else:
                seen.add(c)
            if "legacy" in o and not isinstance(o["legacy"], bool):
                self.err(where, f"option {c}: legacy must be true/false")
            # short labels such as "Nam" need no diacritics; longer ones are checked
            self.i18n(o.get("label"), f"{where}.option {c}.label")

    # ------------------------------------------------------------ scoring
    def scoring(self, s):
        where = "scoring"
        if not isinstance(s, dict):
            self.err(where, "must be an object")
            return
        allowed = {"satisfied_levels", "min_responses", "factor_method", "factors", "headline"}
        for k in sorted(allowed - set(s)):
            self.err(where, f"missing key {k!r}")
        for k in sorted(set(s) - allowed):
            self.err(where, f"unknown key {k!r}")
        sl = s.get("satisfied_levels")
        if (not isinstance(sl, list) or not sl or any(not _is_int(x) or not 1 <= x <= 5 for x in sl)
                or len(set(sl)) != len(sl)):
            self.err(f"{where}.satisfied_levels", "must be a non-empty list of distinct levels 1..5")
        if not _is_int(s.get("min_responses")) or s.get("min_responses") < 1:
            self.err(f"{where}.min_responses", "must be a positive integer")
        method = s.get("factor_method")
        if method not in FACTOR_METHODS:
            self.err(f"{where}.factor_method", f"must be one of {sorted(FACTOR_METHODS)}")

        self.criteria = {}   # factor -> list of item codes
        fs = s.get("factors")
        if not isinstance(fs, dict):
            self.err(f"{where}.factors", "must be an object keyed by factor code")
            fs = {}
        if list(fs) != self.factor_codes:
            self.err(f"{where}.factors", f"keys {list(fs)} must be the factors {self.factor_codes} in order")
        listed = set()
        for f, spec in fs.items():
            w = f"{where}.factors.{f}"
            if not isinstance(spec, dict) or set(spec) != {"items", "general_item"}:
                self.err(w, "must be {\"items\": [...], \"general_item\": code or null}")
                continue
            codes = spec["items"]
            if not isinstance(codes, list) or not codes:
                self.err(w, "items must be a non-empty list")
                codes = []
            self.criteria[f] = codes
            for c in codes:
                if not isinstance(c, str):
                    self.err(w, f"item code {c!r} must be a string")
                    continue
                if c in listed:
                    self.err(w, f"{c} is listed twice in scoring")
                listed.add(c)
                self.scored_item(c, f, w)
                if self.items.get(c, {}).get("role") is not None:
                    self.err(w, f"{c} has a role and cannot be a criterion")
            g = spec["general_item"]
            if g is not None and not isinstance(g, str):
                self.err(w, "general_item must be an item code or null")
            elif g is None:
                if method == "general_item":
                    self.err(w, "factor_method 'general_item' needs a general_item for every factor")
            else:
                if g in listed:
                    self.err(w, f"{g} is listed twice in scoring")
                listed.add(g)
                self.scored_item(g, f, w)
                if g in self.items and self.items[g].get("role") != "general":
                    self.err(w, f"general_item {g} must have role 'general'")
        # every factor satisfaction item must be scored; every general item must be declared
        for c in self.order:
            it = self.items[c]
            if it.get("kind") == "satisfaction" and it.get("factor") is not None and c not in listed:
                self.err(f"item {c}", "satisfaction item of a factor is not listed in scoring")

        h = s.get("headline")
        w = f"{where}.headline"
        if not isinstance(h, dict) or h.get("method") not in HEADLINE_METHODS:
            self.err(w, f"must be an object with method in {sorted(HEADLINE_METHODS)}")
        elif h["method"] == "item":
            if set(h) != {"method", "item"}:
                self.err(w, "method 'item' takes exactly the key 'item'")
            self.scored_item(h.get("item"), None, w)
        else:
            if set(h) != {"method", "factors"}:
                self.err(w, "method 'mean_of_factors' takes exactly the key 'factors'")
            hf = h.get("factors")
            if not isinstance(hf, list) or not hf or any(not isinstance(f, str) for f in hf) \
                    or any(f not in self.factor_codes for f in hf) or len(set(hf)) != len(hf):
                self.err(w, "factors must be a non-empty list of distinct declared factors")

    def scored_item(self, code, factor, where):
        it = self.items.get(code) if isinstance(code, str) else None
        if it is None:
            self.err(where, f"item {code!r} does not exist")
            return
        if it.get("kind") != "satisfaction":
            self.err(where, f"item {code} must be of kind satisfaction")
        if it.get("factor") != factor:
            self.err(where, f"item {code} has factor {it.get('factor')!r}, expected {factor!r}")

    def indicators(self, d):
        ind = d.get("indicators")
        if not isinstance(ind, list):
            self.err("indicators", "must be a list of item codes")
            ind = []
        if any(not isinstance(c, str) for c in ind):
            self.err("indicators", "codes must be strings")
            ind = [c for c in ind if isinstance(c, str)]
        if len(set(ind)) != len(ind):
            self.err("indicators", "duplicate codes")
        for c in ind:
            it = self.items.get(c)
            if it is None:
                self.err("indicators", f"item {c!r} does not exist")
            elif it.get("kind") not in ("single", "multiple", "yesno", "number"):
                self.err("indicators", f"{c} must be a factual item (single/multiple/yesno/number)")
        ex = d.get("expectations")
        if ex is not None and not isinstance(ex, str):
            self.err("expectations", "must be an item code or null")
        elif ex is not None:
            it = self.items.get(ex)
            if it is None:
                self.err("expectations", f"item {ex!r} does not exist")
            elif it.get("kind") != "multiple":
                self.err("expectations", f"{ex} must be of kind multiple")

    # ------------------------------------------------------------ conditions
    def conditions(self):
        pos = {c: i for i, c in enumerate(self.order)}
        for c in self.order:
            it = self.items[c]
            if "condition" in it:
                self.condition(it["condition"], c, pos, f"item {c}.condition")

    def condition(self, cond, owner, pos, where):
        if not isinstance(cond, dict):
            self.err(where, "must be an object")
            return
        keys = set(cond)
        if keys == {"all"} or keys == {"any"}:
            sub = cond[next(iter(keys))]
            if not isinstance(sub, list) or not sub:
                self.err(where, "'all'/'any' need a non-empty list")
                return
            for i, c in enumerate(sub):
                self.condition(c, owner, pos, f"{where}.{next(iter(keys))}[{i}]")
            return
        if keys == {"not"}:
            self.condition(cond["not"], owner, pos, f"{where}.not")
            return
        if keys not in ({"item", "equals"}, {"item", "in"}):
            self.err(where, "must be {item, equals}, {item, in}, {all}, {any} or {not}")
            return
        ref = cond["item"]
        if not isinstance(ref, str) or ref not in self.items:
            self.err(where, f"references unknown item {ref!r}")
            return
        if pos[ref] >= pos[owner]:
            self.err(where, f"references {ref}, which does not come before {owner}")
        if "known_from" in self.items[ref]:
            self.err(where, f"references {ref}, which is filled in from the unit and not asked")
        values = [cond["equals"]] if "equals" in cond else cond["in"]
        if not isinstance(values, list) or not values:
            self.err(where, "'in' needs a non-empty list")
            return
        valid = _answer_values(self.items[ref])
        for v in values:
            if valid is not None and (isinstance(v, (list, dict, bool)) or v not in valid):
                self.err(where, f"{v!r} is not a possible answer of {ref}")

    # ------------------------------------------------------ instrument rules
    def instrument_rules(self, d):
        code = d.get("code")
        for c, (kind, required) in COMMON_ITEMS.items():
            it = self.items.get(c)
            if it is None:
                self.err("common items", f"{c} is missing (shared by all SIPAS versions)")
                continue
            if it.get("kind") != kind:
                self.err(f"item {c}", f"must be of kind {kind}")
            if it.get("required") is not required:
                self.err(f"item {c}", f"required must be {str(required).lower()}")
        # feedback screen: items of the last factor only for people who gave feedback
        if self.factor_codes and FEEDBACK_SCREEN in self.items:
            last = self.factor_codes[-1]
            if self.section_of.get(FEEDBACK_SCREEN) != last:
                self.err(f"item {FEEDBACK_SCREEN}", f"must be in the section of factor {last}")
            if self.items[FEEDBACK_SCREEN].get("factor") is not None:
                self.err(f"item {FEEDBACK_SCREEN}", "factor must be null")
            for c in self.order:
                if self.items[c].get("factor") == last and \
                        not _mentions(self.items[c].get("condition"), FEEDBACK_CONDITION):
                    self.err(f"item {c}", f"must carry the condition {json.dumps(FEEDBACK_CONDITION)}")
        split = EXPECTED_SPLIT.get(code, EXPECTED_SPLIT.get(d.get("family")))
        if split is not None and getattr(self, "criteria", None) is not None:
            got = [len(self.criteria.get(f, [])) for f in self.factor_codes]
            if got != split:
                self.err("scoring.factors", f"{code} needs {sum(split)} criteria split {split}, got {got}")
        elif split is None and isinstance(code, str):
            print(f"note: {self.path}: no expected criteria split for version {code!r}", file=sys.stderr)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _answer_values(it):
    kind = it.get("kind")
    if kind in ("single", "multiple"):
        return {o.get("code") for o in it.get("options") or []
                if isinstance(o, dict) and isinstance(o.get("code"), str)}
    if kind == "yesno":
        return {"yes", "no"}
    if kind == "satisfaction":
        return {0, 1, 2, 3, 4, 5}
    return None   # number / text: any value


def _mentions(cond, target):
    """True if `target` is required by `cond` (directly or inside an 'all')."""
    if cond == target:
        return True
    if isinstance(cond, dict) and isinstance(cond.get("all"), list):
        return any(_mentions(c, target) for c in cond["all"])
    return False


def _signature(it):
    opts = tuple(o.get("code") for o in it.get("options") or [] if isinstance(o, dict))
    return (it.get("kind"), opts, it.get("factor"))


def _family_rules(docs):
    """Versions of one family are compared round to round (a change in points and places): the
    same factors and scoring, and every scored item the same kind and factor in each of them."""
    by_family = {}
    for path, ch, doc in docs:
        by_family.setdefault(doc.get("family"), []).append((path, ch, doc))
    for members in by_family.values():
        ref_path, ref, ref_doc = members[0]
        for path, ch, doc in members[1:]:
            against = f"{os.path.basename(ref_path)}, of the same family"
            if getattr(ch, "factor_codes", None) != getattr(ref, "factor_codes", None):
                ch.err("factors", f"differ from {against}")
            if doc.get("scoring") != ref_doc.get("scoring"):
                ch.err("scoring", f"differs from {against}: figures would not compare")
                continue
            for spec in (doc.get("scoring") or {}).get("factors", {}).values():
                for c in list(spec.get("items") or []) + [spec.get("general_item")]:
                    a, b = ref.items.get(c), ch.items.get(c)
                    if c is not None and a is not None and b is not None and _signature(a) != _signature(b):
                        ch.err(f"item {c}", f"differs from {against} (kind, options or factor)")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    files = argv or sorted(os.path.join(here, f) for f in os.listdir(here) if f.endswith(".json"))
    if not files:
        print("no definition files found")
        return 1
    failed = False
    checked = []
    for path in files:
        ch = Checker(path)
        doc = ch.run()
        checked.append((path, ch, doc))
    # cross-file rules: unique version codes, identical shared items
    codes = {}
    for path, ch, doc in checked:
        if doc is None:
            continue
        c = doc.get("code")
        if c in codes:
            ch.err("code", f"version code {c!r} also used by {codes[c]}")
        codes[c] = path
    _family_rules([(p, ch, d) for p, ch, d in checked if d is not None and hasattr(ch, "items")])
    docs = [(p, ch) for p, ch, d in checked if d is not None and hasattr(ch, "items")]
    if len(docs) > 1:
        ref_path, ref = docs[0]
        for path, ch in docs[1:]:
            for c in COMMON_ITEMS:
                a, b = ref.items.get(c), ch.items.get(c)
                if a is not None and b is not None and _signature(a) != _signature(b):
                    ch.err(f"item {c}", f"differs from {os.path.basename(ref_path)} "
                                        "(kind, option codes or factor); shared items must be identical")
    for path, ch, doc in checked:
        if ch.errors:
            failed = True
            print(f"errors: {path}:")
            for e in ch.errors:
                print(f"  - {e}")
        else:
            print(f"ok: {path}: {len(ch.items)} items")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
