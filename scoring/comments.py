"""The comment page's rows: each comment with its response's factor scores (issue 18).

Beside each comment stands, for every factor of the round's scoring, that response's share of
satisfied answers among its valid answers to the factor's items (levels 1-5; "not applicable" and
unasked items left out), with the counts: "4/5 · 80 %". That is the same rate the factor figures
are made of (SIPAS.md §5), on one response, so a reader can see what the citizen was unhappy with.
"""

from dataclasses import dataclass

from django.core.paginator import Paginator

from fieldwork import comments as fieldwork_comments
from fieldwork.models import Response, Round
from scoring import formulas
from units import access
from units.models import Unit

PAGE_SIZE = 25


@dataclass
class FactorScore:
    code: str
    label: str
    satisfied: int
    valid: int

    @property
    def share(self) -> float | None:
        return formulas.rate(self.satisfied, self.valid)


def factor_scores(survey_round: Round, response: Response, factor_labels: dict) -> list[FactorScore]:
    """The response's satisfied and valid answers per factor, in the factors' order."""
    definition = survey_round.questionnaire.parsed
    scoring = definition.doc["scoring"]
    satisfied_levels = {int(level) for level in scoring["satisfied_levels"]}
    answers = response.answers or []
    scores = []
    for code in factor_labels or sorted(scoring["factors"]):
        spec = scoring["factors"].get(code)
        if spec is None:
            continue
        values = [answers[definition.positions[item] - 1] for item in spec["items"]
                  if definition.positions[item] - 1 < len(answers)]
        valid = [v for v in values if v is not None and 1 <= v <= 5]
        scores.append(FactorScore(code=code, label=factor_labels.get(code, code),
                                  satisfied=sum(1 for v in valid if v in satisfied_levels), valid=len(valid)))
    return scores


def fieldwork_paths(user) -> tuple[bool, list[str]]:
    """Where the user may hide comments and read hidden ones: (everywhere?, subtrees)."""
    if user.is_superuser:
        return True, []
    return False, access.role_paths(user, access.FIELDWORK)


def may_hide(user, response: Response) -> bool:
    return access.user_can(user, response.unit, access.FIELDWORK)


def comment_page(*, survey_round: Round, unit: Unit, user, search: str, page_number: int, factor_labels: dict):
    """A page of the unit's comments for the user: (paginator page, rows). Each row has the
    response, its ``texts`` (None when hidden from this reader), ``hiding``, ``can_hide`` and
    ``factors``."""
    everything, paths = fieldwork_paths(user)
    responses = fieldwork_comments.comments_for(survey_round, unit, search=search, text_visible_paths=paths,
                                                 everything_visible=everything)
    page = Paginator(responses, PAGE_SIZE).get_page(page_number)
    rows = []
    for response in page.object_list:
        can_hide = everything or any(response.unit.path.startswith(p) for p in paths)
        hiding = response.current_hidings[0] if response.current_hidings else None
        texts = fieldwork_comments.comment_texts(survey_round, response)
        rows.append({"response": response, "texts": texts if (can_hide or hiding is None) else None,
                     "hiding": hiding, "can_hide": can_hide,
                     "excluded": getattr(response, "exclusion", None),
                     "factors": factor_scores(survey_round, response, factor_labels)})
    return page, rows
