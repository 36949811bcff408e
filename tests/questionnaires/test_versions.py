import copy
import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import translation

from questionnaires.definition import Definition, DefinitionError, check_definition
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import DEFINITIONS_DIR, FrozenVersionError, questionnaire_load

pytestmark = pytest.mark.django_db


def shipped(code):
    return json.loads((DEFINITIONS_DIR / f"{code}.json").read_text(encoding="utf-8"))


def test_the_shipped_definitions_pass_their_content_check():
    script = DEFINITIONS_DIR / "check_definitions.py"

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)

    assert done.returncode == 0, done.stdout + done.stderr


def test_both_instruments_have_the_criteria_the_method_counts():
    a, b = Definition.from_doc(shipped("sipas-2017")), Definition.from_doc(shipped("sipas-2023-services"))

    def split(d):
        return [len(spec["items"]) for spec in d.doc["scoring"]["factors"].values()]

    assert split(a) == [4, 5, 6, 3, 4]
    assert split(b) == [4, 4, 5, 3, 3]
    assert a.doc["scoring"]["headline"] == {"method": "item", "item": "G.0"}
    assert b.doc["scoring"]["headline"]["method"] == "mean_of_factors"


def test_loading_is_idempotent_and_publishes():
    out = io.StringIO()

    call_command("load_questionnaires", stdout=out)
    call_command("load_questionnaires", stdout=out)

    assert "sipas-2017: created" in out.getvalue()
    assert "sipas-2017: unchanged" in out.getvalue()
    version = QuestionnaireVersion.objects.get(code="sipas-2017")
    assert version.is_frozen
    assert version.item_codes[:2] == ["E.FIELD", "E.LEVEL"]
    assert QuestionnaireVersion.objects.count() == len(list(DEFINITIONS_DIR.glob("*.json")))


def test_a_changed_definition_of_a_published_version_is_refused():
    doc = shipped("sipas-2017")
    questionnaire_load(doc=doc)
    changed = copy.deepcopy(doc)
    changed["title"]["en"] = "Something else"

    with translation.override("en"), pytest.raises(FrozenVersionError, match="new version code"):
        questionnaire_load(doc=changed)

    assert QuestionnaireVersion.objects.get(code="sipas-2017").title_en == doc["title"]["en"]


def test_the_database_refuses_to_change_or_delete_a_published_version():
    questionnaire_load(doc=shipped("sipas-2017"))

    with pytest.raises(IntegrityError, match="frozen"), transaction.atomic():
        QuestionnaireVersion.objects.filter(code="sipas-2017").update(title_en="edited behind our back")
    with pytest.raises(IntegrityError, match="frozen"), transaction.atomic():
        QuestionnaireVersion.objects.filter(code="sipas-2017").delete()


def test_a_draft_may_change_until_it_is_published():
    doc = shipped("sipas-2017")
    questionnaire_load(doc=doc, publish=False)
    changed = copy.deepcopy(doc)
    changed["title"]["en"] = "Draft title"

    assert questionnaire_load(doc=changed, publish=False).outcome == "updated"
    assert questionnaire_load(doc=changed, publish=True).outcome == "unchanged"
    assert QuestionnaireVersion.objects.get(code="sipas-2017").is_frozen


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["sections"][0]["items"][0].update(kind="slider"),
         "sections[0].items[0].kind (E.FIELD): 'slider' is not one of"),
        (lambda d: d["sections"][1]["items"].append(dict(d["sections"][1]["items"][0])), "'F1.1' is used twice"),
        (lambda d: d["sections"][0]["items"][0].update(condition={"item": "G.0", "equals": 5}),
         "not an earlier item"),
        (lambda d: d["scoring"]["factors"]["F1"]["items"].append("E.FIELD"), "'E.FIELD' is not a satisfaction item"),
        (lambda d: d["scoring"].update(headline={"method": "median"}),
         "scoring.headline.method: 'median' is not one of"),
        (lambda d: d["title"].pop("en"), "title: needs a non-empty text in both 'vi' and 'en'"),
    ],
)
def test_a_broken_definition_is_refused_with_a_clear_message(mutate, message):
    doc = shipped("sipas-2017")
    mutate(doc)

    with translation.override("en"):
        problems = [str(problem) for problem in check_definition(doc)]
    assert any(message in problem for problem in problems), problems
    with pytest.raises(DefinitionError):
        questionnaire_load(doc=doc)
    assert not QuestionnaireVersion.objects.exists()


def test_the_command_names_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"code": "x"', encoding="utf-8")
    err = io.StringIO()

    with translation.override("en"), pytest.raises(CommandError):
        call_command("load_questionnaires", str(bad), stderr=err)

    assert "broken.json: line 1, column 13: not valid JSON" in err.getvalue()
