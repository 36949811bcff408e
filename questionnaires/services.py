"""Loading questionnaire versions from their definition files, and publishing them.

One loader for the command (``load_questionnaires``, files on disk) and the versions page (a file
uploaded by an administrator): ``definition_parse`` reads the bytes, ``questionnaire_problems``
names everything that keeps the definition from being stored (its own problems, a published version
of its family whose figures it would not compare with, a published version it would change), and
``questionnaire_load`` stores it. Nothing is stored unless nothing is wrong.
"""

import codecs
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from questionnaires.definition import Definition, DefinitionError, Problem, check_definition
from questionnaires.models import QuestionnaireVersion

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
# The largest definition file the versions page takes; the shipped ones are about 35 KB.
MAX_DEFINITION_BYTES = 1024 * 1024


class FrozenVersionError(Exception):
    pass


@dataclass
class LoadResult:
    code: str
    outcome: str  # "created", "unchanged" or "updated" (drafts only)


def _checksum(doc):
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading a file


class _Object(dict):
    """A JSON object as read, remembering the keys it held twice (json keeps only the last)."""

    duplicates = ()


def _object(pairs):
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen, twice = set(), []
        for key, _value in pairs:
            if key in seen and key not in twice:
                twice.append(key)
            seen.add(key)
        obj.duplicates = twice
    return obj


class _NotANumber(ValueError):
    pass


def _finite(text):
    value = float(text)
    if not math.isfinite(value):  # 1e999: PostgreSQL's jsonb has no infinity
        raise _NotANumber(text)
    return value


def _constant(text):  # NaN, Infinity, -Infinity: Python reads them, JSON and PostgreSQL do not
    raise _NotANumber(text)


# json's own words for what is wrong, in the reader's language.
JSON_REASONS = {
    "Expecting value": lambda: _("a value is missing here (or a comma is left over before it)"),
    "Expecting ',' delimiter": lambda: _("a comma is missing"),
    "Expecting ':' delimiter": lambda: _("a colon is missing after a key"),
    "Expecting property name enclosed in double quotes": lambda: _(
        "a key in double quotes is expected (is a comma left over before a closing brace?)"),
    "Unterminated string starting at": lambda: _("a text is not closed with a double quote"),
    "Invalid control character at": lambda: _("a text holds a line break or tab: write it as \\n or \\t"),
    "Invalid \\escape": lambda: _("a backslash starts an escape JSON does not know: write \\\\ for a backslash"),
    "Invalid \\uXXXX escape": lambda: _("a \\u escape needs four hexadecimal digits"),
    "Extra data": lambda: _("something follows the end of the definition's object"),
}


def _json_problem(exc: json.JSONDecodeError) -> Problem:
    reason = JSON_REASONS.get(exc.msg)
    where = _("line %(line)s, column %(column)s") % {"line": exc.lineno, "column": exc.colno}
    message = _("not valid JSON: %(reason)s") % {"reason": reason()} if reason else _("not valid JSON")
    return Problem(where, message)


def _plain(value, path, problems):
    """The document as plain dicts and lists, naming every object that held a key twice."""
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            problems.append(Problem(f"{path}.{key}" if path else key,
                                    _("this key appears twice in one object: keep one")))
        return {key: _plain(inner, f"{path}.{key}" if path else key, problems) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner, f"{path}[{index}]", problems) for index, inner in enumerate(value)]
    return value


def definition_parse(raw: bytes) -> dict:
    """The definition held in a file's bytes: UTF-8 (a byte order mark is allowed) JSON. Raises
    DefinitionError naming what keeps it from being read: not UTF-8, not JSON (with the line and
    column), a key twice in one object, NaN or an infinite number (PostgreSQL refuses both)."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if not raw.strip():
        raise DefinitionError([Problem("", _("the file is empty"))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError([Problem(
            _("byte %(position)s") % {"position": exc.start + 1},
            _("the file is not UTF-8 text: save it again as UTF-8 (in Notepad: Save as, Encoding UTF-8)"))])
    try:
        doc = json.loads(text, object_pairs_hook=_object, parse_float=_finite, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise DefinitionError([_json_problem(exc)])
    except _NotANumber as exc:
        raise DefinitionError([Problem("", _("the number %(number)s cannot be stored: write an ordinary number")
                                       % {"number": str(exc)[:20]})])
    except RecursionError:
        raise DefinitionError([Problem("", _("the file nests objects or lists too deeply"))])
    except ValueError:  # an integer of more than 4,300 digits
        raise DefinitionError([Problem("", _("a number in the file has too many digits"))])
    problems = []
    try:
        doc = _plain(doc, "", problems)
    except RecursionError:
        raise DefinitionError([Problem("", _("the file nests objects or lists too deeply"))])
    if problems:
        raise DefinitionError(problems)
    return doc


# ---------------------------------------------------------------------------------------------
# What keeps a definition from being stored


def _family(doc):
    return doc.get("family") or doc["code"]


def _signature(item):
    return item["kind"], [o["code"] for o in item.get("options") or []], item.get("factor")


def family_problems(doc) -> list[Problem]:
    """A checked definition against the published versions of its family: rounds of one family are
    compared (change in points and places), so they need the same factors, the same scoring and the
    same kind, options and factor for every scored item (as check_definitions.py asks of the files)."""
    other = (QuestionnaireVersion.objects.filter(family=_family(doc), status=QuestionnaireVersion.Status.PUBLISHED)
             .exclude(code=doc["code"]).order_by("published_at", "code").first())
    if other is None:
        return []
    ref = other.definition
    names = {"other": other.code, "family": other.family}
    problems = []
    if [f["code"] for f in doc.get("factors") or []] != [f["code"] for f in ref.get("factors") or []]:
        problems.append(Problem("factors", _(
            "differ from those of %(other)s, a published version of the family %(family)s: their figures would "
            "not compare from round to round (keep them, or give this version another family)") % names))
    if doc["scoring"] != ref["scoring"]:
        problems.append(Problem("scoring", _(
            "differs from that of %(other)s, a published version of the family %(family)s: their figures would "
            "not compare from round to round (keep it, or give this version another family)") % names))
        return problems
    ours, theirs = Definition(doc).by_code, Definition(ref).by_code
    for spec in doc["scoring"]["factors"].values():
        for code in [*spec["items"], spec.get("general_item")]:
            if code in theirs and code in ours and _signature(ours[code]) != _signature(theirs[code]):
                problems.append(Problem("", _(
                    "differs from the same item of %(other)s, a published version of the family %(family)s, in "
                    "its kind, options or factor: their figures would not compare") % names, code))
    return problems


def _frozen_message(code):
    return _("%(code)s is published and frozen, and this definition differs from it: give the changed "
             "questionnaire a new version code") % {"code": code}


def _frozen_problems(doc) -> list[Problem]:
    version = QuestionnaireVersion.objects.filter(code=doc["code"]).first()
    if version is not None and version.is_frozen and version.checksum != _checksum(doc):
        return [Problem("code", _frozen_message(doc["code"]))]
    return []


def questionnaire_problems(doc) -> list[Problem]:
    """Every problem that keeps a definition from being stored: its own first; when it has none,
    a published version of its family it would not compare with, or a published version it would
    change."""
    return check_definition(doc) or family_problems(doc) + _frozen_problems(doc)


def _lock_family(doc):
    """One loader or publisher of a family at a time: the family rule must see the others' versions."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"questionnaires.family:{_family(doc)}"])


# ---------------------------------------------------------------------------------------------
# Storing


@transaction.atomic
def questionnaire_load(*, doc: dict, publish: bool = True, by: str = "") -> LoadResult:
    """Store a definition as a version. Loading the same definition again changes nothing; a
    different definition under the code of a published version is refused. ``by``: who loaded it
    (a username; empty for the command). Does not compare with the family: questionnaire_load_file
    and questionnaire_upload do, and tests copy versions with other scoring on purpose."""
    definition = Definition.from_doc(doc)
    checksum = _checksum(doc)
    version = QuestionnaireVersion.objects.select_for_update().filter(code=doc["code"]).first()
    if version and version.checksum == checksum:
        if publish and not version.is_frozen:
            version.publish(by=by)
        return LoadResult(doc["code"], "unchanged")
    if version and version.is_frozen:
        raise FrozenVersionError(_frozen_message(doc["code"]))
    now = timezone.now()
    fields = {
        "family": _family(doc),
        "title_vi": doc["title"]["vi"],
        "title_en": doc["title"]["en"],
        "definition": doc,
        "checksum": checksum,
        "item_codes": [item["code"] for item in definition.items],
        "status": QuestionnaireVersion.Status.PUBLISHED if publish else QuestionnaireVersion.Status.DRAFT,
        "published_at": now if publish else None,
        "published_by": by if publish else "",
        "loaded_by": by,
    }
    _, created = QuestionnaireVersion.objects.update_or_create(code=doc["code"], defaults=fields)
    return LoadResult(doc["code"], "created" if created else "updated")


def _load_checked(doc, *, publish, by) -> LoadResult:
    with transaction.atomic():
        if isinstance(doc, dict) and isinstance(doc.get("code"), str):
            _lock_family(doc)
        problems = questionnaire_problems(doc)
        if problems:
            raise DefinitionError(problems)
        return questionnaire_load(doc=doc, publish=publish, by=by)


def questionnaire_load_file(*, path: Path, publish: bool = True) -> LoadResult:
    """A definition file on disk (the command): read, checked whole, then stored and published."""
    return _load_checked(definition_parse(path.read_bytes()), publish=publish, by="")


def questionnaire_upload(*, raw: bytes, by: str) -> LoadResult:
    """A definition file uploaded on the versions page: checked whole, then stored as a draft, or
    replacing the draft of the same code. DefinitionError lists every problem, and nothing is
    stored; a published version of the same code is never changed (the same file again changes
    nothing)."""
    return _load_checked(definition_parse(raw), publish=False, by=by)


@transaction.atomic
def questionnaire_publish(*, code: str, by: str) -> tuple[QuestionnaireVersion, bool]:
    """Publish a draft: from now on rounds can use it and it never changes. Checked again first (a
    version of its family may have been published since it was loaded). Returns the version and
    whether this call published it (False: it already was). QuestionnaireVersion.DoesNotExist for
    an unknown code; DefinitionError naming every problem."""
    version = QuestionnaireVersion.objects.get(code=code)
    _lock_family(version.definition)
    version = QuestionnaireVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_frozen:
        return version, False
    problems = check_definition(version.definition) or family_problems(version.definition)
    if problems:
        raise DefinitionError(problems)
    version.publish(by=by)
    return version, True


def definition_files():
    return sorted(DEFINITIONS_DIR.glob("*.json"))
