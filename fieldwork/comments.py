"""Citizens' free-text comments: finding them in a round, and hiding them from heads.

A comment is what a response holds for the questionnaire's free-text items (those of kind "text",
read from the round's definition, whatever their codes). Hiding one keeps the text in the response
untouched and records who hid it, when and why (``CommentHiding``); this module is the one writer
of that table. The comment pages (``scoring.comments``) read through ``comments_for``.

Search is case- and accent-insensitive: both the comments and the words looked for are folded by
``fold`` (``lower`` and ``translate``, core PostgreSQL: the unaccent extension is missing from some
servers, the embedded one among them), so "ha noi" finds "Hà Nội" and "đường" finds "duong".
"""

import unicodedata

from django.db import IntegrityError, transaction
from django.db.models import Exists, Func, OuterRef, Prefetch, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldwork.models import CommentHiding, Response, Round
from fieldwork.selectors import in_scope
from units.models import Unit


def _fold_table():
    """Every Latin letter with marks (Vietnamese among them, both cases) and its bare lower-case
    letter; đ and Đ are letters of their own in Unicode and go to d."""
    marked, bare = ["đ", "Đ"], ["d", "d"]
    for code in range(0xC0, 0x1F00):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            marked.append(char)
            bare.append(base.lower())
    return "".join(marked), "".join(bare)


FOLD_FROM, FOLD_TO = _fold_table()


def fold(expression):
    """The text lower-cased and without marks, in SQL; ``fold_text`` is the same in Python."""
    return Func(Lower(expression), Value(FOLD_FROM), Value(FOLD_TO), function="translate",
                output_field=TextField())


def fold_text(text: str) -> str:
    return text.lower().translate(str.maketrans(FOLD_FROM, FOLD_TO))


NOTE_MAX_LENGTH = CommentHiding._meta.get_field("note").max_length
SEARCH_MAX_LENGTH = 200


class CommentError(Exception):
    pass


def text_item_codes(survey_round: Round) -> list[str]:
    """The codes of the round's free-text items, in definition order."""
    return [item["code"] for item in survey_round.questionnaire.parsed.items if item["kind"] == "text"]


def _comment_text(codes):
    """The response's free-text answers joined by new lines, as one SQL text ('' without any)."""
    parts = []
    for code in codes:
        if parts:
            parts.append(Value("\n"))
        parts.append(Coalesce(KeyTextTransform(code, "texts"), Value(""), output_field=TextField()))
    return parts[0] if len(parts) == 1 else Concat(*parts, output_field=TextField())


def _has_comment(codes) -> Q:
    condition = Q(pk__in=[])
    for code in codes:
        condition |= Q(**{"texts__has_key": code}) & ~Q(**{f"texts__{code}": ""})
    return condition


def comments_for(survey_round: Round, unit: Unit, *, search: str = "", text_visible_paths=(),
                 everything_visible=False):
    """The responses of the round from the unit's subtree (within the user's part of the round)
    that carry a comment, newest first, with ``hiding`` (the current CommentHiding, or None),
    ``exclusion``, ``unit`` and ``kiosk`` at hand. With ``search``, only those whose comment holds
    the words (accents and case ignored); a hidden comment matches only where the reader may see
    its text (``text_visible_paths``: subtrees; ``everything_visible``), so a search never tells a
    head what a hidden comment says."""
    codes = text_item_codes(survey_round)
    responses = (Response.objects.filter(round=survey_round, unit__path__startswith=unit.path)
                 .filter(in_scope(survey_round)).filter(texts__isnull=False).filter(_has_comment(codes))
                 .select_related("unit", "kiosk", "exclusion")
                 .prefetch_related(Prefetch("comment_hidings", to_attr="current_hidings",
                                            queryset=CommentHiding.objects.filter(unhidden_at__isnull=True)
                                            .select_related("hidden_by")))
                 .order_by("-submitted_at", "-id"))
    if search:
        needle = Value(fold_text(search), output_field=TextField())
        matches = Q(comment_search__contains=needle)
        if not everything_visible:
            visible = Q(pk__in=[])
            for path in text_visible_paths:
                visible |= Q(unit__path__startswith=path)
            hidden = Exists(CommentHiding.objects.filter(response=OuterRef("pk"), unhidden_at__isnull=True))
            matches &= visible | ~hidden
        responses = responses.alias(comment_search=fold(_comment_text(codes))).filter(matches)
    return responses


def comment_texts(survey_round: Round, response: Response) -> list[str]:
    """The response's free-text answers, in definition order, the empty ones left out."""
    texts = response.texts or {}
    return [texts[code] for code in text_item_codes(survey_round) if texts.get(code)]


def current_hiding(response: Response) -> CommentHiding | None:
    return CommentHiding.objects.select_related("hidden_by").filter(response=response,
                                                                    unhidden_at__isnull=True).first()


def comment_hide(*, response: Response, reason: str, note: str = "", user) -> CommentHiding:
    """Hide the response's comment from heads, with the reason (one of CommentHiding.Reason) and a note."""
    if reason not in CommentHiding.Reason.values:
        raise CommentError(_("Choose one of the reasons in the list."))
    if len(note) > NOTE_MAX_LENGTH:
        raise CommentError(_("A note is at most %(limit)d characters; this one has %(length)d.") % {
            "limit": NOTE_MAX_LENGTH, "length": len(note)})
    if not comment_texts(response.round, response):
        raise CommentError(_("This response has no comment to hide."))
    try:
        with transaction.atomic():
            return CommentHiding.objects.create(response=response, round_id=response.round_id, reason=reason,
                                                note=note, hidden_by=user, hidden_at=timezone.now())
    except IntegrityError:  # comment_hidden_once: someone hid it meanwhile
        raise CommentError(_("This comment is already hidden.")) from None


def comment_unhide(*, response: Response, user) -> CommentHiding:
    """Show the comment to heads again; the hiding stays on record with who ended it and when."""
    with transaction.atomic():
        hiding = (CommentHiding.objects.select_for_update()
                  .filter(response=response, unhidden_at__isnull=True).first())
        if hiding is None:
            raise CommentError(_("This comment is not hidden."))
        hiding.unhidden_by, hiding.unhidden_at = user, timezone.now()
        hiding.save(update_fields=["unhidden_by", "unhidden_at"])
    return hiding
