"""The staff pages, found from the URL patterns, and what a page shows: its forms and its messages.

``staff_routes()`` is every URL pattern a member of staff opens in a browser: all of them but the
kiosk and its API, the score API, the admin and the machinery (language switch, health, logout).
A new page is in it as soon as it is in a urls.py. ``parse(html)`` reads a page with the standard
library's HTMLParser: the forms (action, method, fields with their kind, value and options) and the
texts a person reads as messages (errors, alerts, help texts, labels).
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser

from tests.security import urlwalk

# Pages that are not staff pages, by the start of the pattern's name or route.
NOT_STAFF_NAMES = ("fieldwork:kiosk", "fieldwork:api-", "api-unit-scores", "admin:", "set_language", "logout",
                   "healthz", "worker-check", "administration:set-password",  # a link's page, before a login
                   "fieldwork:invitation-open", "fieldwork:athome-",  # a citizen's link to answer at home
                   "fieldwork:unit-link",  # a desk poster's link for anyone, its Start and its response
                   "fieldwork:questionnaire-preview-api-")  # the kiosk client's API in a preview


def staff_routes():
    """(name, route) of every staff page pattern, in URL configuration order."""
    return [(r.name, r.route) for r in urlwalk.walk()
            if not r.regex and not r.name.startswith(NOT_STAFF_NAMES)]


@dataclass
class Field:
    name: str
    kind: str  # text, number, date, hidden, select, radio, checkbox, file, textarea, ...
    value: str = ""
    options: list = field(default_factory=list)  # select and radio: the values offered
    checked: bool = False


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: dict = field(default_factory=dict)  # name → Field (radio buttons of a name merged)


# Where a person reads a message: (tag, class or attribute that marks it, strict). Strict: the text
# must be in a translation catalogue (errors and alerts are written by the code); not strict: it may
# be a questionnaire's own text (labels, help), which must only not read as English.
MESSAGE_CLASSES = {"invalid-feedback": True, "errorlist": True, "alert": True, "text-danger": True,
                   "form-text": False, "help-block": False}
MESSAGE_TAGS = {"label": False, "legend": False, "summary": False}
DATA_TAGS = {"code", "kbd", "samp"}


class _PageParser(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "wbr", "area", "base"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.messages = [], []
        self._form = None
        self._select = None
        self._option = None
        self._textarea = None
        self._stack = []  # (tag, message kind or None, [text parts])

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = Form(action=attrs.get("action") or "", method=(attrs.get("method") or "get").lower(),
                              multipart="multipart" in (attrs.get("enctype") or ""))
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attrs.get("name"):
            self._input(attrs)
        elif tag == "select" and self._form is not None and attrs.get("name"):
            self._select = Field(attrs["name"], "select")
            self._form.fields[attrs["name"]] = self._select
        elif tag == "option" and self._select is not None:
            self._option = attrs.get("value")
            if self._option is not None:
                self._select.options.append(self._option)
                if "selected" in attrs:
                    self._select.value = self._option
        elif tag == "textarea" and self._form is not None and attrs.get("name"):
            self._textarea = Field(attrs["name"], "textarea")
            self._form.fields[attrs["name"]] = self._textarea
        if tag in self.VOID:
            return
        classes = set((attrs.get("class") or "").split())
        strict = next((s for c, s in MESSAGE_CLASSES.items() if c in classes), None)
        if strict is None:
            strict = MESSAGE_TAGS.get(tag)
        if strict is None and tag in ("li", "p"):  # each item of a list of errors is a message of its own
            strict = next((s for _t, s, _p in reversed(self._stack) if s is not None), None)
        self._stack.append((tag, strict, []))

    def _input(self, attrs):
        kind, name = (attrs.get("type") or "text").lower(), attrs["name"]
        if kind in ("submit", "button", "image", "reset"):
            return
        if kind == "radio":
            existing = self._form.fields.setdefault(name, Field(name, "radio"))
            existing.options.append(attrs.get("value", "on"))
            if "checked" in attrs:
                existing.value = attrs.get("value", "on")
            return
        if kind == "checkbox":
            existing = self._form.fields.setdefault(name, Field(name, "checkbox"))
            existing.options.append(attrs.get("value", "on"))
            if "checked" in attrs:
                existing.checked, existing.value = True, attrs.get("value", "on")
            return
        self._form.fields[name] = Field(name, kind, attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None and not self._select.value and self._select.options:
                self._select.value = self._select.options[0]
            self._select = None
        elif tag == "option":
            self._option = None
        elif tag == "textarea":
            self._textarea = None
        if tag in self.VOID:
            return
        # Close up to the matching tag (HTML lets some end tags go unwritten).
        while self._stack:
            open_tag, strict, parts = self._stack.pop()
            text = " ".join("".join(parts).split())
            if open_tag in DATA_TAGS:
                pass  # a link, a code or a key quoted in a message is data, not words to translate
            elif strict is not None and text:
                self.messages.append((text, strict))
            elif self._stack:  # an element's text belongs to its parents too
                self._stack[-1][2].append(" " + text + " ")
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._stack:
            self._stack[-1][2].append(data)


def parse(html: str):
    """(forms, messages) of a page; messages are (text, strict) in document order."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.forms, parser.messages
