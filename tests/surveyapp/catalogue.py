"""Is a message shown on a Vietnamese page Vietnamese? Judged against the translation catalogues.

The catalogues are the project's (locale/vi) and Django's own Vietnamese ones (forms, auth), read
from their .po files. Each entry becomes two patterns, its English msgid and its Vietnamese
msgstr, with the placeholders (``%(line)d``, ``%s``) matching any text. A message shown:

- passes when it is a Vietnamese msgstr, whatever fills its placeholders, unless what fills them
  is itself an English message ("dòng 4, unit_code: unknown unit code '99'" fails);
- fails when it is an English msgid that has a different Vietnamese translation (shown without
  it: the code formatted it before the language was known, or the catalogue lacks it);
- otherwise it is in no catalogue (a message written in the code without gettext, or one built
  from data: "02263 / xyz: …"); it fails when it holds English words, words of the English
  msgids that no Vietnamese msgstr uses: one is enough when ``strict`` (errors and alerts), two for
  labels and help texts, which may carry a questionnaire's own words (codes such as "land").

A message made of several (joined with "; " or sentences side by side) is judged part by part.
"""

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import django

PROJECT_PO = Path(__file__).resolve().parents[2] / "locale" / "vi" / "LC_MESSAGES" / "django.po"
DJANGO = Path(django.__file__).resolve().parent
DJANGO_POS = [DJANGO / "conf" / "locale" / "vi" / "LC_MESSAGES" / "django.po",
              DJANGO / "contrib" / "auth" / "locale" / "vi" / "LC_MESSAGES" / "django.po"]

PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]|%%")
WORD = re.compile(r"(?<![\w.])[a-z]{3,}(?![\w.])")  # plain lower-case English words, not codes (E.FIELD)
LETTERS = re.compile(r"[^\W\d_]{2,}")


def read_po(path) -> list[tuple[str, list[str]]]:
    """(msgid, [msgstr, ...]) of a .po file (plural msgid and every plural msgstr given as entries)."""
    entries, current, field = [], {}, None

    def close():
        if current.get("msgid"):
            strings = [v for k, v in current.items() if k.startswith("msgstr")]
            if "fuzzy" not in current:
                entries.append((current["msgid"], strings))
                if current.get("msgid_plural"):
                    entries.append((current["msgid_plural"], strings))

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            close()
            current, field = {}, None
        elif line.startswith("#,") and "fuzzy" in line:
            current["fuzzy"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[field] += ast.literal_eval(line)
        else:
            field, _, value = line.partition(" ")
            current[field] = ast.literal_eval(value)
    return entries


def _pattern(template: str):
    """A regular expression matching the template with any text in its placeholders (one group each)."""
    template = " ".join(template.split())  # shown texts are compared with their spaces folded
    parts, last = [], 0
    for match in PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:match.start()]))
        parts.append("%" if match.group() == "%%" else "(.+?)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.S)


def _literal(template: str) -> str:
    return PLACEHOLDER.sub("", template)


@dataclass
class Verdict:
    ok: bool
    why: str = ""


class Catalogue:
    def __init__(self, entries):
        self.vietnamese, self.english = [], []
        english_words, vietnamese_words = set(), set()
        for msgid, strings in entries:
            english_words |= set(WORD.findall(_literal(msgid)))
            for string in strings:
                vietnamese_words |= set(WORD.findall(_literal(string)))
        self.english_words = frozenset(english_words - vietnamese_words)
        for msgid, strings in entries:
            if not LETTERS.search(_literal(msgid)):
                continue  # "%(code)s · %(name)s": matches anything, says nothing
            translated = [s for s in strings if s]
            for string in translated:
                if LETTERS.search(_literal(string)):
                    self.vietnamese.append(_pattern(string))
            if not translated or any(s != msgid for s in translated):
                self.english.append((_pattern(msgid), msgid, bool(translated)))
        # Longer templates first: "line %(line)d, %(column)s: %(problem)s" before "%(a)s: %(b)s".
        self.vietnamese.sort(key=lambda p: -len(p.pattern))

    @classmethod
    @functools.cache
    def load(cls):
        entries = []
        for path in [*DJANGO_POS, PROJECT_PO]:  # the project's last: it overrides Django's
            entries += read_po(path)
        return cls(entries)

    def _english_msgid(self, text):
        for pattern, msgid, translated in self.english:
            if pattern.fullmatch(text):
                return msgid, translated
        return None

    def judge(self, text: str, *, strict=True, depth=0) -> Verdict:
        """Whether ``text`` may stand on a Vietnamese page (see the module docstring). What fills a
        Vietnamese message's placeholder (``depth`` > 0) may be data (codes, names): it fails only
        if it is itself an English message."""
        text = " ".join(text.split())
        if not LETTERS.search(text):
            return Verdict(True)
        for pattern in self.vietnamese:
            match = pattern.fullmatch(text)
            if match:
                for group in match.groups():
                    inner = self.judge(group, strict=False, depth=depth + 1) if depth < 3 else Verdict(True)
                    if not inner.ok:
                        return inner
                return Verdict(True)
        english = self._english_msgid(text)
        if english:
            msgid, translated = english
            why = "shown untranslated" if translated else "has no Vietnamese translation"
            return Verdict(False, f"English message ({why}): {msgid!r}")
        if depth:
            return Verdict(True)
        parts = _parts(text)
        if len(parts) > 1:
            for part in parts:
                verdict = self.judge(part, strict=strict, depth=depth)
                if not verdict.ok:
                    return verdict
            return Verdict(True)
        words = set(WORD.findall(text)) & self.english_words
        if len(words) >= (1 if strict else 2):
            return Verdict(False, f"in no catalogue, with English words: {', '.join(sorted(words))}")
        return Verdict(True)


def _parts(text):
    """A message made of several: split at "; " or between sentences."""
    for separator in (r";\s+", r"(?<=[.!?:])\s+(?=[^\W\d_])"):
        parts = [p for p in re.split(separator, text) if p.strip()]
        if len(parts) > 1:
            return parts
    return [text]
