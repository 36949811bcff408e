"""sipas-2017-r2026: the revision of the five-factor exit survey. It asks only what the person can
answer (the agency level comes from the unit, results questions only from those who received one),
in better words, and stays comparable with sipas-2017 (same family, items and scoring)."""

import copy
import json
import re
import subprocess
import sys

import pytest
from django.utils import translation

from questionnaires.answers import AnswerErrors, pack_answers
from questionnaires.definition import UNIT_LEVELS, Definition, check_definition, condition_holds
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import DEFINITIONS_DIR, _checksum, questionnaire_load
from tests.fieldwork.base import full_answers
from units.models import Unit

CODE = "sipas-2017-r2026"
# A published version is frozen: when one of these fails, the file was edited. Put the file back
# and give the changed questionnaire a new version code (a new file) instead.
FROZEN = {
    "sipas-2017": "3f132c66e105b2244c22d5fb19c242c44ac06df7bad1a9f400c3f1f4a16f93d8",
    CODE: "9f102aed5ac442ac65cbb3c4185d215d9eef0cd0c42b827158f101c75d14ee7e",
}
RESULTS = ["F4.1", "F4.2", "F4.3", "F4.G"]


def shipped(code=CODE):
    return json.loads((DEFINITIONS_DIR / f"{code}.json").read_text(encoding="utf-8"))


@pytest.fixture
def revision():
    return Definition.from_doc(shipped())


@pytest.fixture
def first():
    return Definition.from_doc(shipped("sipas-2017"))


def asked_required(definition, answers):
    """The required questions a citizen with these screening answers is asked (known ones are not)."""
    return [item["code"] for item in definition.items
            if item["required"] and not item.get("known_from") and condition_holds(item.get("condition"), answers)]


@pytest.mark.django_db
def test_it_loads_and_is_published_in_the_family_of_sipas_2017():
    questionnaire_load(doc=shipped("sipas-2017"))
    questionnaire_load(doc=shipped())

    version = QuestionnaireVersion.objects.get(code=CODE)
    assert version.is_frozen
    assert version.family == "sipas-2017" == QuestionnaireVersion.objects.get(code="sipas-2017").family


@pytest.mark.parametrize("code", sorted(FROZEN))
def test_the_published_files_are_unchanged(code):
    assert _checksum(shipped(code)) == FROZEN[code], f"{code}.json changed: it is published, make a new version"


def test_figures_compare_with_sipas_2017_same_factors_items_options_and_scoring(revision, first):
    assert revision.doc["factors"] == first.doc["factors"]
    assert revision.doc["scoring"] == first.doc["scoring"]
    assert revision.doc["indicators"] == first.doc["indicators"]
    assert [i["code"] for i in revision.items] == [i["code"] for i in first.items]  # the same answer slots

    def shape(item):
        return item["kind"], item.get("factor"), item.get("role"), [o["code"] for o in item.get("options", [])]

    assert [shape(i) for i in revision.items] == [shape(i) for i in first.items]


def test_the_agency_level_is_known_from_the_units_level_or_the_nearest_listed_one_above(revision):
    assert revision.known_from_unit_level == {
        "E.LEVEL": {"province": "province", "district": "district", "commune": "commune"}}

    def level(*levels):
        return revision.known_answers(levels).get("E.LEVEL")

    assert level("commune", "province") == "commune"
    assert level("province") == "province"
    assert level("district", "province") == "district"  # a former district, for rounds before July 2025
    assert level("department", "province") == "province"  # a provincial department (sở)
    assert level("centre", "province") == "province"  # the province's public administration service centre
    assert level("centre", "commune", "province") == "commune"  # a commune's one-stop desk
    assert level("department") is None  # nothing listed on the way up: the question is asked


def test_the_unit_levels_of_the_schema_are_the_units_levels():
    assert set(UNIT_LEVELS) == set(Unit.Level.values)
    script = (DEFINITIONS_DIR / "check_definitions.py").read_text(encoding="utf-8")
    listed = re.search(r"^UNIT_LEVELS = \{(.*)\}$", script, re.M).group(1)
    assert set(re.findall(r'"(\w+)"', listed)) == set(Unit.Level.values)


def test_results_are_asked_only_of_people_who_received_one(revision):
    for received in ("on_time", "late"):
        assert set(RESULTS) <= set(asked_required(revision, {"E.ONTIME": received, "F5.0": "no"}))
    assert not set(RESULTS) & set(asked_required(revision, {"E.ONTIME": "not_yet", "F5.0": "no"}))


def test_a_citizen_without_a_result_answers_no_results_question_and_may_not(revision):
    waiting = full_answers(CODE, **{"E.ONTIME": "not_yet", "E.LEVEL": None, **dict.fromkeys(RESULTS)})

    packed = pack_answers(revision, waiting, known={"E.LEVEL": "commune"})

    assert [packed.slots[revision.positions[code] - 1] for code in RESULTS] == [None] * 4
    with pytest.raises(AnswerErrors) as refused:
        pack_answers(revision, {**waiting, "F4.1": 4}, known={"E.LEVEL": "commune"})
    assert list(refused.value.errors) == ["F4.1"]
    with pytest.raises(AnswerErrors) as missing:
        pack_answers(revision, {**waiting, "E.ONTIME": "late"}, known={"E.LEVEL": "commune"})
    assert sorted(missing.value.errors) == RESULTS


def test_an_answer_known_from_the_unit_is_filled_in_and_a_different_one_refused(revision):
    answers = full_answers(CODE, **{"E.LEVEL": None})

    packed = pack_answers(revision, answers, known={"E.LEVEL": "commune"})
    assert packed.slots[revision.positions["E.LEVEL"] - 1] == revision.option_numbers["E.LEVEL"]["commune"]
    assert packed.known == {"E.LEVEL": "commune"}
    same = pack_answers(revision, {**answers, "E.LEVEL": "commune"}, known={"E.LEVEL": "commune"})
    assert same.slots == packed.slots
    with pytest.raises(AnswerErrors) as refused:
        pack_answers(revision, {**answers, "E.LEVEL": "province"}, known={"E.LEVEL": "commune"})
    assert "known from the response's unit ('commune')" in refused.value.errors["E.LEVEL"][0]
    with pytest.raises(AnswerErrors) as unknown_unit:  # no level of the unit is listed: it is asked
        pack_answers(revision, answers, known={})
    assert unknown_unit.value.errors == {"E.LEVEL": ["an answer is required"]}
    # Before the unit is chosen (paper entry) the item may be left empty.
    assert pack_answers(revision, answers).slots[revision.positions["E.LEVEL"] - 1] is None


def test_the_kiosk_is_not_sent_a_known_item_and_no_condition_refers_to_one(revision):
    api = revision.api(known={"E.LEVEL": "commune"})

    codes = [item["code"] for section in api["sections"] for item in section["items"]]
    assert "E.LEVEL" not in codes and len(codes) == len(revision.items) - 1
    assert not any("E.LEVEL" in json.dumps(item["condition"]) for s in api["sections"] for item in s["items"])
    assert "E.LEVEL" in [i["code"] for s in revision.api()["sections"] for i in s["items"]]


def test_every_text_is_in_vietnamese_and_english(revision):
    doc = revision.doc
    texts = [doc["title"], doc["intro"], doc["thanks"]]
    texts += [s[key] for s in doc["sections"] for key in ("title", "lead") if key in s]
    texts += [i["text"] for i in revision.items]
    texts += [o["label"] for i in revision.items for o in revision.options(i)]
    for text in texts:
        assert set(text) == {"vi", "en"} and all(text[lang].strip() for lang in ("vi", "en")), text
        assert text["vi"] != text["en"] or len(text["vi"]) <= 5, text  # "18-25" is the same in both


def test_the_wording_the_desks_asked_for(revision):
    text = {code: item["text"]["vi"] for code, item in revision.by_code.items()}
    assert text["F2.4"] == "Phí, lệ phí mà Ông/Bà phải nộp là đúng quy định."
    assert text["F2.3"] == "Thành phần hồ sơ mà Ông/Bà phải nộp là đúng quy định."
    assert text["F4.1"].startswith("Kết quả mà Ông/Bà nhận được") and text["F4.1"].endswith("là đúng quy định.")
    assert text["F1.1"] == "Khu vực chờ có đủ chỗ ngồi."
    post = next(o for o in revision.by_code["E.CHANNEL_FILE"]["options"] if o["code"] == "post")
    assert post["label"]["vi"] == "Nộp qua dịch vụ bưu chính công ích"
    leads = {s["code"]: s.get("lead") for s in revision.doc["sections"]}
    assert all(leads[f]["vi"] == "Ông/Bà hài lòng thế nào về các nội dung sau?" for f in ("F1", "F2", "F3", "F4"))


def test_no_hint_repeats_what_the_kiosk_shows_and_the_title_names_no_method_years(revision):
    # The kiosk writes "Có thể chọn nhiều phương án", "Chọn tối đa N" and "(không bắt buộc)" itself.
    texts = [i["text"][lang] for i in revision.items for lang in ("vi", "en")]
    texts += [s["title"][lang] for s in revision.doc["sections"] for lang in ("vi", "en")]
    for hint in ("chọn nhiều", "tối đa", "không bắt buộc", "all that apply", "up to", "optional"):
        assert not any(hint in t.lower() for t in texts), hint
    assert not re.search(r"SIPAS|20\d\d", json.dumps(revision.doc["title"], ensure_ascii=False))


def test_the_intro_promises_no_time_and_the_number_of_questions_it_gives_holds(revision):
    intro = revision.doc["intro"]
    assert not re.search(r"phút|minute", intro["vi"] + intro["en"])
    stated = int(re.search(r"khoảng (\d+) câu hỏi", intro["vi"]).group(1))
    assert f"about {stated} questions" in intro["en"]
    fewest = len(asked_required(revision, {"E.ONTIME": "not_yet", "F5.0": "no"}))
    most = len(asked_required(revision, {"E.ONTIME": "late", "F5.0": "yes"}))
    assert (fewest, most) == (27, 36)
    assert fewest <= stated <= most


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["sections"][0]["items"][1]["known_from"].update(unit_level={"ward": "commune"}),
         "'ward' is not a unit level"),
        (lambda d: d["sections"][0]["items"][1]["known_from"].update(unit_level={"commune": "ward"}),
         "'ward' is not an option of the item"),
        (lambda d: d["sections"][0]["items"][1].update(known_from={"dossier": {}}),
         "known_from (E.LEVEL): takes one source"),
        (lambda d: d["sections"][0]["items"][7].update(known_from={"unit_level": {"commune": "media"}}),
         "only a single choice can be known from the unit"),
        (lambda d: d["sections"][0]["items"][1].update(condition={"item": "E.FIELD", "equals": "land"}),
         "an item known from the unit cannot have a condition"),
        (lambda d: d["sections"][0]["items"][2].update(condition={"item": "E.LEVEL", "equals": "commune"}),
         "'E.LEVEL' is filled in from the unit"),
        (lambda d: d["sections"][1].update(lead={"vi": "Chỉ tiếng Việt"}),
         "sections[1].lead: needs a non-empty text in both 'vi' and 'en'"),
    ],
)
def test_a_broken_known_item_or_lead_is_refused_with_a_clear_message(mutate, message):
    doc = shipped()
    mutate(doc)

    with translation.override("en"):
        problems = [str(problem) for problem in check_definition(doc)]
    assert any(message in problem for problem in problems), problems


def check_files(tmp_path, *docs):
    paths = []
    for n, doc in enumerate(docs):
        paths.append(tmp_path / f"{n}.json")
        paths[-1].write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    script = DEFINITIONS_DIR / "check_definitions.py"
    return subprocess.run([sys.executable, str(script), *map(str, paths)], capture_output=True, text=True)


def test_the_content_check_refuses_a_condition_on_a_known_item(tmp_path):
    doc = shipped()
    doc["sections"][0]["items"][2]["condition"] = {"item": "E.LEVEL", "equals": "commune"}

    done = check_files(tmp_path, doc)

    assert done.returncode == 1
    assert "references E.LEVEL, which is filled in from the unit and not asked" in done.stdout


def test_the_content_check_refuses_a_version_of_the_family_whose_figures_would_not_compare(tmp_path):
    changed = copy.deepcopy(shipped())
    changed["scoring"]["satisfied_levels"] = [5]

    done = check_files(tmp_path, shipped("sipas-2017"), changed)

    assert done.returncode == 1
    assert "scoring: differs from 0.json, of the same family: figures would not compare" in done.stdout
    assert check_files(tmp_path, shipped("sipas-2017"), shipped()).returncode == 0
