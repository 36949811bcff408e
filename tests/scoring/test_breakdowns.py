"""Breakdowns (issue 18): every figure by service field, agency level, filing and collection channel,
gender and age band; counted in the same pass, withheld by the units' rule, refreshed incrementally
exactly as a full recompute counts them, on the unit page, in the API and in the workbook."""

import copy
import io
from collections import Counter
from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from fieldwork.exclusions import response_exclude
from fieldwork.models import Exclusion, Response, Round
from fieldwork.services import round_create
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import questionnaire_load
from scoring import breakdowns
from scoring.counting import Counters
from scoring.disclosure import PROTECTS, TOO_FEW
from scoring.models import BreakdownCount, UnitCounts
from tests.fieldwork.base import full_answers
from tests.scoring.base import EngineTestCase
from tests.scoring.test_incremental import _copy_with_minimum, stored_scores
from tests.scoring.test_incremental import refresh as run_scores
from units.models import Unit


def refresh(survey_round, reason="responses"):
    """A score run, then the breakdown count that follows it (``scoring.breakdowns.count_now``)."""
    run = run_scores(survey_round, reason)
    breakdowns.count_now(survey_round)
    return run


def answers(gender, overall, **more):
    return full_answers(**{"D.GENDER": gender, "G.0": overall, **more})


def cells(survey_round, dimension=None):
    """(unit, dimension, value, counts, withheld) of every stored cell, withheld as a reader decides
    it (scoring.breakdowns.unit_breakdown, the page's, the API's and the workbook's read)."""
    rows = UnitCounts.objects.filter(round=survey_round).exclude(dimension="")
    if dimension:
        rows = rows.filter(dimension=dimension)
    read = {}
    for unit_id, key in set(rows.values_list("unit_id", "dimension")):
        table = breakdowns.unit_breakdown(survey_round=survey_round, unit=Unit(pk=unit_id), key=key, language="en")
        read.update({(unit_id, key, cell.value): cell.withheld for cell in table.cells})
    return sorted((*row, read[row[:3]]) for row in rows.values_list("unit_id", "dimension", "stratum", "counts"))


def decisions(survey_round, dimension):
    return {(unit_id, stratum): (counts[0], withheld) for unit_id, _d, stratum, counts, withheld
            in cells(survey_round, dimension)}


class GenderScene(EngineTestCase):
    """Province 08 = commune 02212 (40 men answering 5 overall, 35 women answering 2, and 1 to F1.1)
    + commune 02230 (50 men answering 4, 5 women answering 5); minimum 30 responses."""

    MALE, FEMALE = 1, 2  # D.GENDER's stored values

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.insert_scene(cls)
        refresh(cls.round, "command")

    def insert_scene(self):
        EngineTestCase.insert(self, self.round, self.commune, answers("male", 5), count=40)
        EngineTestCase.insert(self, self.round, self.commune, answers("female", 2, **{"F1.1": 1}), count=35)
        EngineTestCase.insert(self, self.round, self.other_commune, answers("male", 4), count=50)
        EngineTestCase.insert(self, self.round, self.other_commune, answers("female", 5), count=5)


class WithholdingTests(GenderScene):
    def test_a_small_cell_is_withheld_and_so_are_the_cells_that_would_give_it_away(self):
        self.assertEqual(decisions(self.round, "gender"), {
            # the province shows both: each of its sums has two hidden parts
            (self.province.pk, self.MALE): (90, ""), (self.province.pk, self.FEMALE): (40, ""),
            # 5 women: too few; the men of that commune would give them away (55 - 50): withheld too
            (self.other_commune.pk, self.FEMALE): (5, TOO_FEW), (self.other_commune.pk, self.MALE): (50, PROTECTS),
            # the province's 40 women less 35 would give the 5 away: the 35 are withheld, then the
            # 40 men of their commune (75 - 40 = 35)
            (self.commune.pk, self.FEMALE): (35, PROTECTS), (self.commune.pk, self.MALE): (40, PROTECTS),
        })

    def test_cells_nobody_answered_are_one_cell_and_every_response_has_a_collection_channel(self):
        self.assertEqual(decisions(self.round, "age"), {  # nobody answered the age band: 0, "no answer"
            (self.province.pk, 0): (130, ""), (self.commune.pk, 0): (75, ""), (self.other_commune.pk, 0): (55, "")})
        self.assertEqual(decisions(self.round, "collection_channel"), {
            (self.province.pk, Response.Channel.PAPER): (130, ""), (self.commune.pk, Response.Channel.PAPER): (75, ""),
            (self.other_commune.pk, Response.Channel.PAPER): (55, "")})

    def test_the_cells_of_a_withheld_unit_are_withheld_with_its_reason(self):
        decided = breakdowns.decide({("A", "gender", 1): 40, ("A", "gender", 2): 40, ("P", "gender", 1): 40,
                                     ("P", "gender", 2): 40}, {"A": PROTECTS}, {"A": "P"}, 30)

        self.assertEqual(decided, {("A", "gender", 1): PROTECTS, ("A", "gender", 2): PROTECTS,
                                   ("P", "gender", 1): "", ("P", "gender", 2): ""})


class DecidedOnReadTests(GenderScene):
    """Which cells may be shown is decided by the reader over the whole round, then cached per unit
    under the round's last run; a cached decision whose n are not those stored is decided again."""

    def read(self, unit):
        table = breakdowns.unit_breakdown(survey_round=self.round, unit=unit, key="gender", language="en")
        return {cell.value: (cell.n, cell.withheld) for cell in table.cells}

    def set_n(self, unit, value, n):
        row = UnitCounts.objects.get(round=self.round, unit=unit, dimension="gender", stratum=value)
        row.counts = [n, *row.counts[1:]]
        row.save(update_fields=["counts"])

    def test_the_decision_is_cached_and_decided_again_when_the_stored_n_differ(self):
        first = self.read(self.other_commune)
        version = breakdowns._unit_cells(self.round, self.province, ["gender"]).version
        self.addCleanup(cache.delete_many, [breakdowns._cache_key(self.round.pk, version, "gender", unit.pk)
                                            for unit in (self.province, self.commune, self.other_commune)])
        with self.assertNumQueries(1):  # the unit's cells (and the last run): the decisions are cached
            self.assertEqual(self.read(self.other_commune), first)
        self.assertEqual(first, {self.MALE: (50, PROTECTS), self.FEMALE: (5, TOO_FEW)})
        # counts written since (a run under way): 30 women there, 65 in the province: nothing too few
        self.set_n(self.other_commune, self.FEMALE, 30)
        self.set_n(self.province, self.FEMALE, 65)
        with self.assertNumQueries(2):  # the cached n are not those read: every cell's n again
            self.assertEqual(self.read(self.other_commune), {self.MALE: (50, ""), self.FEMALE: (30, "")})
        self.assertEqual(self.read(self.commune), {self.MALE: (40, ""), self.FEMALE: (35, "")})


class FiguresTests(GenderScene):
    def breakdown(self, unit, key="gender"):
        return breakdowns.unit_breakdown(survey_round=self.round, unit=unit, key=key, language="en")

    def test_each_cell_has_the_units_figures_computed_from_its_own_responses(self):
        table = self.breakdown(self.province)

        male, female = table.cells
        self.assertEqual((male.code, male.label, male.n, female.code, female.label, female.n),
                         ("male", "Male", 90, "female", "Female", 40))
        self.assertEqual(male.figures["headline"], 100.0)  # 40 × 5 and 50 × 4: all satisfied
        self.assertEqual(female.figures["headline"], 12.5)  # 5 of 40 (the 35 answered 2)
        self.assertEqual(female.figures["items"]["F1.1"]["rate"], 12.5)
        self.assertEqual(female.figures["factors"]["F1"]["value"], 78.125)  # (12.5 + 100 + 100 + 100) / 4
        self.assertEqual(female.figures["indicators"]["E.VISITS"]["1"], 100.0)

    def test_the_table_rows_give_n_then_every_figure_and_leave_out_the_breakdowns_own_question(self):
        rows = self.breakdown(self.province).rows(breakdowns_texts(self.round))

        self.assertEqual(rows[0]["values"], [90, 40])
        self.assertEqual((rows[1]["kind"], rows[1]["values"]), ("headline", [100.0, 12.5]))
        self.assertEqual(next(r["values"] for r in rows if r["code"] == "F1"), [100.0, 78.125])
        self.assertEqual(next(r["values"] for r in rows if r["code"] == "F1.1"), [100.0, 12.5])
        self.assertFalse([r for r in rows if r["code"].startswith("D.GENDER")])
        # each indicator question once, without values, then its options by their own labels
        at = next(i for i, r in enumerate(rows) if r["code"] == "E.VISITS")
        self.assertEqual((rows[at]["kind"], rows[at]["values"]), ("question", []))
        self.assertEqual((rows[at + 1]["code"], rows[at + 1]["kind"]), ("E.VISITS:1", "indicator"))
        self.assertNotIn(rows[at]["label"], rows[at + 1]["label"])

    def test_a_withheld_cell_has_n_and_the_reason_never_a_figure(self):
        table = self.breakdown(self.other_commune)

        male, female = table.cells
        self.assertEqual((male.figures, female.figures), (None, None))
        self.assertEqual(female.reason, "5 responses, fewer than the 30 needed")
        self.assertEqual(male.reason, "50 responses, withheld so that a smaller group cannot be worked out")
        rows = table.rows(breakdowns_texts(self.round))
        self.assertEqual(rows[0]["values"], [50, 5])
        self.assertTrue(all(value is None for row in rows[1:] for value in row["values"]))

    def test_a_version_without_the_question_has_no_such_breakdown(self):
        version = _version_without(self.round, "D.GENDER")
        counters = Counters(version.parsed)

        self.assertEqual([d.key for d in counters.dimensions],
                         ["field", "level", "filing_channel", "collection_channel", "age"])
        other = round_create(name="Không hỏi giới tính", questionnaire_code=version.code, unit_code="10",
                             open_now=True)
        with self.assertRaisesMessage(breakdowns.BreakdownError, "has no breakdown “gender”"):
            breakdowns.dimension_for(other, "gender")


def breakdowns_texts(survey_round):
    from scoring.selectors import labels

    return labels(survey_round, "en")


def _version_without(survey_round, code):
    doc = copy.deepcopy(survey_round.questionnaire.definition)
    doc["code"] = f"{doc['code']}-no-{code.lower().replace('.', '-')}"
    for section in doc["sections"]:
        section["items"] = [item for item in section["items"] if item["code"] != code]
    questionnaire_load(doc=doc)
    return QuestionnaireVersion.objects.get(code=doc["code"])


class ApiTests(GenderScene):
    def get(self, user, code="08", query="?by=gender", round_id=None):
        self.client.force_login(user)
        return self.client.get(f"/api/v1/scores/{round_id or self.round.pk}/{code}{query}")

    def test_by_gender_gives_each_cells_n_and_figures(self):
        response = self.get(self.province_head)

        self.assertEqual(response.status_code, 200)
        breakdown = response.json()["breakdown"]
        self.assertEqual((breakdown["by"], breakdown["question"]), ("gender", "D.GENDER"))
        self.assertEqual([(c["value"], c["n"], c["enough"], c["headline"]["value"]) for c in breakdown["cells"]],
                         [("male", 90, True, 100.0), ("female", 40, True, 12.5)])
        self.assertEqual(breakdown["cells"][1]["factors"]["F1"]["value"], 78.125)

    def test_withheld_cells_have_n_and_the_reason_only(self):
        cells_ = self.get(self.province_head, code="02230").json()["breakdown"]["cells"]

        self.assertEqual(cells_, [
            {"value": "male", "n": 50, "enough": False,
             "withheld": "50 responses, withheld so that a smaller group cannot be worked out"},
            {"value": "female", "n": 5, "enough": False, "withheld": "5 responses, fewer than the 30 needed"}])

    def test_without_by_the_body_is_unchanged(self):
        self.assertNotIn("breakdown", self.get(self.province_head, query="").json())

    def test_an_unknown_breakdown_is_a_400_naming_it(self):
        for query, named in [("?by=colour", "“colour”"), ("?by=", "“”")]:
            with self.subTest(query=query):
                response = self.get(self.province_head, query=query)
                self.assertEqual(response.status_code, 400)
                error = response.json()["error"]
                self.assertIn(f"Unknown breakdown {named}", error)
                self.assertIn("field, level, filing_channel, collection_channel, gender, age", error)

    def test_a_breakdown_the_rounds_questionnaire_cannot_give_is_a_400_naming_it(self):
        version = _version_without(self.round, "D.GENDER")
        other = round_create(name="Không hỏi giới tính", questionnaire_code=version.code, unit_code="10",
                             open_now=True)

        response = self.get(self.admin, code="10", round_id=other.pk)

        self.assertEqual(response.status_code, 400)
        self.assertIn("has no breakdown “gender” (it does not ask the question)", response.json()["error"])

    def test_a_head_still_gets_404_outside_their_units(self):
        self.assertEqual(self.get(self.other_head, code="02212").status_code, 404)


class PageTests(GenderScene):
    def page(self, user, code="08", query="?by=gender"):
        self.client.force_login(user)
        return self.client.get(f"/scores/{self.round.pk}/{code}/{query}")

    def test_the_selector_is_a_plain_get_form_listing_the_rounds_breakdowns(self):
        response = self.page(self.province_head, query="")

        self.assertContains(response, '<form method="get"')
        self.assertContains(response, '<label class="form-label mb-1" for="breakdown-by">')
        self.assertContains(response, '<option value="gender">Gender</option>', html=False)
        self.assertNotContains(response, 'data-testid="breakdown-table"')

    def test_the_chosen_breakdown_shows_every_figure_by_group(self):
        response = self.page(self.province_head)

        self.assertContains(response, '<option value="gender" selected>Gender</option>')
        self.assertContains(response, 'data-testid="breakdown-table"')
        self.assertContains(response, '<th scope="col" class="num" data-cell="male">Male</th>')
        self.assertContains(response, "<td class=\"num\">12.5</td>")
        self.assertContains(response, "<td class=\"num\">78.1</td>")

    def test_withheld_groups_show_n_and_why(self):
        response = self.page(self.province_head, code="02230")

        self.assertContains(response, 'data-withheld="female">5 responses, fewer than the 30 needed')
        self.assertContains(response, "50 responses, withheld so that a smaller group cannot be worked out")
        self.assertContains(response, "2 groups are shown without figures")

    def test_an_unknown_breakdown_says_so_on_the_page(self):
        response = self.page(self.province_head, query="?by=colour")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Unknown breakdown “colour”: use one of")
        self.assertContains(response, 'aria-invalid="true"')

    def test_a_head_sees_no_unit_outside_their_own(self):
        self.assertEqual(self.page(self.other_head, code="02212").status_code, 404)


class ChannelLineTests(EngineTestCase):
    """Under the headline, the desk figure beside the others when responses came by several channels."""

    def setUp(self):
        Round.objects.filter(pk=self.round.pk).update(questionnaire=_copy_with_minimum(self.round, 3))
        self.round.refresh_from_db()
        self.client.force_login(self.province_head)

    def test_each_channel_with_its_figure_and_n_linking_to_the_breakdown(self):
        self.insert(self.round, self.commune, answers("male", 5), count=4)
        for _ in range(3):
            self.submit(self.commune, **answers("female", 2))
        refresh(self.round, "command")
        cells_ = {cell.code: cell for cell in breakdowns.unit_breakdown(
            survey_round=self.round, unit=self.province, key="collection_channel", language="en").cells}

        page = self.client.get(f"/scores/{self.round.pk}/08/").content.decode()

        self.assertIn('data-testid="channels"><a href="?by=collection_channel#breakdown-title">', page)
        for code, label, n in [("kiosk", "Kiosk", 3), ("paper", "Paper", 4)]:
            headline = f"{cells_[code].figures['headline']:.1f}%"
            self.assertIn(f'<span class="text-nowrap">{label}: {headline} (n = {n})</span>', page)

    def test_one_channel_only_shows_no_line(self):
        self.insert(self.round, self.commune, answers("male", 5), count=4)
        refresh(self.round, "command")

        self.assertNotContains(self.client.get(f"/scores/{self.round.pk}/08/"), 'data-testid="channels"')


class WorkbookTests(GenderScene):
    def workbook(self, user, code="08"):
        self.client.force_login(user)
        response = self.client.get(f"/scores/{self.round.pk}/{code}/export.xlsx")
        self.assertEqual(response.status_code, 200)
        return load_workbook(io.BytesIO(response.content))

    @staticmethod
    def rows(workbook, title):
        return [[cell.value for cell in row] for row in workbook[title].iter_rows()]

    def test_a_sheet_per_breakdown_with_the_units_figures_by_group(self):
        rows = self.rows(self.workbook(self.province_head), "By gender")

        self.assertEqual(rows[0], ["Code", "Figure", "Male", "Female"])
        self.assertEqual(rows[1], ["n", "Responses (n)", 90, 40])
        self.assertEqual(rows[2], [None, "SIPAS index", 100, 12.5])
        self.assertIn(["F1", "Access to the service", 100, 78.125], rows)
        self.assertEqual(rows[-1], [None, "Note", None, None])

    def test_withheld_groups_are_blank_with_the_reason_in_the_note_row(self):
        rows = self.rows(self.workbook(self.province_head, code="02230"), "By gender")

        self.assertEqual(rows[1], ["n", "Responses (n)", 50, 5])
        self.assertTrue(all(value is None for row in rows[2:-1] for value in row[2:]))
        self.assertEqual(rows[-1], [None, "Note", "50 responses, withheld so that a smaller group cannot be worked out",
                                    "5 responses, fewer than the 30 needed"])

    def test_the_vietnamese_workbook_names_its_breakdown_sheets_in_vietnamese(self):
        client = Client()
        client.force_login(self.province_head)
        response = client.get(f"/scores/{self.round.pk}/08/export.xlsx")
        names = load_workbook(io.BytesIO(response.content)).sheetnames

        self.assertIn("Theo giới tính", names)


class WithheldUnitTests(EngineTestCase):
    def test_the_cells_of_a_unit_with_too_few_responses_and_of_the_unit_protecting_it_are_withheld(self):
        self.insert(self.round, self.commune, answers("male", 5), count=20)
        self.insert(self.round, self.other_commune, answers("male", 5), count=40)
        refresh(self.round, "command")

        self.assertEqual(decisions(self.round, "collection_channel"), {
            (self.province.pk, Response.Channel.PAPER): (60, ""),
            (self.commune.pk, Response.Channel.PAPER): (20, TOO_FEW),
            (self.other_commune.pk, Response.Channel.PAPER): (40, PROTECTS)})
        self.client.force_login(self.province_head)
        body = self.client.get(f"/api/v1/scores/{self.round.pk}/02230?by=collection_channel").json()
        self.assertEqual(body["breakdown"]["cells"], [{"value": "paper", "n": 40, "enough": False, "withheld":
                                                       "40 responses, withheld so that a smaller group cannot be "
                                                       "worked out"}])


class IncrementalTests(EngineTestCase):
    """After a refresh, the count that follows it stores exactly the cells and decisions a full
    recompute and its count store; an independent count from the responses agrees."""

    def setUp(self):
        Round.objects.filter(pk=self.round.pk).update(questionnaire=_copy_with_minimum(self.round, 3))
        self.round.refresh_from_db()

    def test_a_refresh_stores_the_cells_and_decisions_a_full_recompute_stores(self):
        self.insert(self.round, self.commune, answers("male", 5, **{"D.AGE": "26-35"}), count=4)
        self.insert(self.round, self.other_commune, answers("female", 2, **{"E.FIELD": "justice"}), count=3)
        self.insert(self.round, self.commune_centre, answers("female", 4), count=3)
        self.assertTrue(refresh(self.round, "command").full)

        self.submit(self.commune, **answers("female", 1, **{"E.LEVEL": "province"}))
        self.submit(self.commune, **answers("other_or_unsaid", 4, **{"E.CHANNEL_FILE": "online"}))
        self.submit(self.other_commune, **answers("male", 5, **{"D.AGE": "60plus"}))
        response_exclude(response=Response.objects.filter(unit=self.commune_centre).first(), reason="test",
                         user=self.admin)
        run = refresh(self.round)
        after_changes, scores = cells(self.round), stored_scores(self.round)

        self.assertEqual((run.status, run.full), ("done", False))
        self.assertTrue({"", TOO_FEW, PROTECTS} <= {row[-1] for row in after_changes})
        self.assertTrue(refresh(self.round, "command").full)
        self.assertEqual(cells(self.round), after_changes)
        self.assertEqual(stored_scores(self.round), scores)
        self.assertEqual(counted_independently(self.round), {
            (unit_id, dimension, stratum): (counts[0], counts[satisfied_at(self.round)])
            for unit_id, dimension, stratum, counts, _ in after_changes})


    def test_a_cell_whose_responses_are_all_excluded_is_dropped_as_a_full_recompute_drops_it(self):
        self.insert(self.round, self.commune, answers("male", 5), count=4)
        self.assertTrue(refresh(self.round, "command").full)
        self.submit(self.commune, **answers("other_or_unsaid", 4))
        self.assertFalse(refresh(self.round).full)
        other = 3  # D.GENDER's third option
        self.assertEqual({(unit_id, counts[0]) for unit_id, _d, value, counts, _w in cells(self.round, "gender")
                          if value == other}, {(self.commune.pk, 1), (self.province.pk, 1)})

        response_exclude(response=Response.objects.get(unit=self.commune, answers__contains=[other]),
                         reason="test", user=self.admin)
        self.assertFalse(refresh(self.round).full)
        after_changes = cells(self.round)

        self.assertFalse([row for row in after_changes if row[1] == "gender" and row[2] == other])
        self.assertTrue(refresh(self.round, "command").full)
        self.assertEqual(cells(self.round), after_changes)


class FollowingTheRunsTests(EngineTestCase):
    """The cells are counted after the runs, never by one: a run wants a count, the poll claims it
    once the pause since the last count is over, a worker counts for that claim only."""

    def setUp(self):
        self.insert(self.round, self.commune, answers("male", 5), count=4)

    def count_row(self):
        return BreakdownCount.objects.get(round=self.round)

    def test_a_run_stores_no_cell_and_wants_a_count(self):
        run = run_scores(self.round, "command")

        self.assertEqual(run.status, "done")
        self.assertFalse(UnitCounts.objects.filter(round=self.round).exclude(dimension="").exists())
        self.assertEqual(self.count_row().wanted_at, run.finished_at)
        self.assertIsNone(self.count_row().counted_at)
        self.client.force_login(self.province_head)
        page = self.client.get(f"/scores/{self.round.pk}/08/?by=gender")
        self.assertContains(page, "The breakdowns are not counted yet: they follow the scores within a few minutes.")
        self.assertIsNone(self.client.get(f"/api/v1/scores/{self.round.pk}/08?by=gender")
                          .json()["breakdown"]["counted_at"])

    def test_the_poll_claims_a_wanted_count_once_and_the_claim_counts_it(self):
        run_scores(self.round, "command")

        self.assertEqual(breakdowns.counts_poll(), [self.round.pk])
        self.assertEqual(breakdowns.counts_poll(), [])  # claimed: not sent twice
        claim = self.count_row().started_at
        count = breakdowns.count_claimed(self.round.pk, claim.isoformat())

        self.assertEqual((count.responses, count.wanted_at, count.started_at, count.error), (4, None, None, ""))
        self.assertGreater(count.counted_at, claim)
        self.assertEqual({(unit, counts[0]) for unit, _d, value, counts, _w in cells(self.round, "gender")},
                         {(self.commune.pk, 4), (self.province.pk, 4)})
        self.assertIsNone(breakdowns.count_claimed(self.round.pk, claim.isoformat()))  # a second delivery

    def test_the_next_count_waits_its_pause_then_follows_the_next_run(self):
        run_scores(self.round, "command")
        breakdowns.count_now(self.round)
        self.insert(self.round, self.commune, answers("female", 2), count=3)
        run_scores(self.round, "command")

        self.assertIsNotNone(self.count_row().wanted_at)
        self.assertEqual(breakdowns.counts_poll(), [])  # counted a moment ago
        BreakdownCount.objects.filter(round=self.round).update(
            counted_at=F("counted_at") - timedelta(seconds=breakdowns.PAUSE_MIN + 1))
        self.assertEqual(breakdowns.counts_poll(), [self.round.pk])
        breakdowns.count_claimed(self.round.pk, self.count_row().started_at.isoformat())
        self.assertEqual(self.count_row().responses, 7)

    def test_a_slow_count_waits_ten_times_its_time(self):
        run_scores(self.round, "command")
        breakdowns.count_now(self.round)
        run_scores(self.round, "command")
        BreakdownCount.objects.filter(round=self.round).update(
            seconds=30, counted_at=F("counted_at") - timedelta(seconds=299))

        self.assertEqual(breakdowns.counts_poll(), [])
        BreakdownCount.objects.filter(round=self.round).update(counted_at=F("counted_at") - timedelta(seconds=2))
        self.assertEqual(breakdowns.counts_poll(), [self.round.pk])

    def test_a_run_stored_while_a_count_runs_leaves_the_count_wanted(self):
        run_scores(self.round, "command")
        breakdowns.counts_poll()
        claim = self.count_row().started_at
        # a run that stores its scores after the count has taken its snapshot
        BreakdownCount.objects.filter(round=self.round).update(wanted_at=timezone.now() + timedelta(minutes=1))

        count = breakdowns.count_claimed(self.round.pk, claim.isoformat())
        self.assertIsNotNone(count.wanted_at)

    def test_a_count_lost_with_its_worker_is_claimed_again_and_the_old_claim_does_nothing(self):
        run_scores(self.round, "command")
        breakdowns.counts_poll()
        lost = self.count_row().started_at - timedelta(hours=1)
        BreakdownCount.objects.filter(round=self.round).update(started_at=lost)

        self.assertEqual(breakdowns.counts_poll(), [self.round.pk])
        self.assertIsNone(breakdowns.count_claimed(self.round.pk, lost.isoformat()))

    def test_a_failed_count_keeps_the_previous_cells_and_says_why(self):
        run_scores(self.round, "command")
        breakdowns.count_now(self.round)
        before = cells(self.round)
        with connection.cursor() as cursor:  # a count that cannot store its cells
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE scoring_unitcounts ADD CONSTRAINT no_cells CHECK (dimension = '')"
                           " NOT VALID")
        count = breakdowns.count_now(self.round)

        self.assertIn("no_cells", count.error)
        self.assertIsNone(count.started_at)
        self.assertEqual(cells(self.round), before)

    def test_the_page_and_the_api_say_when_the_cells_were_counted(self):
        run_scores(self.round, "command")
        count = breakdowns.count_now(self.round)
        self.client.force_login(self.province_head)

        body = self.client.get(f"/api/v1/scores/{self.round.pk}/08?by=gender").json()["breakdown"]
        self.assertEqual((body["counted_at"], body["responses_counted"]), (count.counted_at.isoformat(), 4))
        page = self.client.get(f"/scores/{self.round.pk}/08/?by=gender")
        self.assertContains(page, "over 4 responses of the round")


def satisfied_at(survey_round):
    return Counters(survey_round.questionnaire.parsed).index[("satisfied", "G.0")]


def counted_independently(survey_round):
    """{(unit, dimension, answer): (responses, satisfied with G.0)} counted in Python, one response at
    a time, for the units each response counts for (its unit and those above it in the round)."""
    definition = survey_round.questionnaire.parsed
    at = definition.positions
    questions = {"field": "E.FIELD", "level": "E.LEVEL", "filing_channel": "E.CHANNEL_FILE", "gender": "D.GENDER",
                 "age": "D.AGE"}
    excluded = set(Exclusion.objects.values_list("response_id", flat=True))
    units = {u.pk: u for u in Unit.objects.filter(path__startswith=survey_round.unit.path)}
    n, satisfied = Counter(), Counter()
    for response in Response.objects.filter(round=survey_round):
        if response.pk in excluded or (response.over_quota and not survey_round.score_over_quota):
            continue
        path = units[response.unit_id].path
        counted_for = [u for u in units.values() if path.startswith(u.path)]
        values = {key: response.answers[at[code] - 1] or 0 for key, code in questions.items()}
        values["collection_channel"] = response.channel
        for unit in counted_for:
            for key, value in values.items():
                n[(unit.pk, key, value)] += 1
                satisfied[(unit.pk, key, value)] += response.answers[at["G.0"] - 1] in (4, 5)
    return {key: (count, satisfied[key]) for key, count in n.items()}
