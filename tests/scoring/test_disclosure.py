"""Withheld means withheld: no withheld figure can be worked out from what is shown (secondary
suppression, scoring.disclosure), in the engine's results, the stored scores and every output."""

import csv
import io

from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from fieldwork.models import Response, ResponseChange
from fieldwork.services import round_close, round_create
from scoring.disclosure import PROTECTS, TOO_FEW, withheld_units
from scoring.models import UnitScore
from scoring.ranking import previous_round
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.scoring.test_incremental import full_scores, refresh, stored_scores
from tests.scoring.test_selectors import compute, insert_responses
from units.models import Role


def test_one_small_unit_among_shown_siblings_takes_the_smallest_shown_sibling_with_it():
    # P = A + B + C, no forms at P itself: A alone withheld would be P - B - C.
    n = {"P": 100, "A": 5, "B": 40, "C": 55}
    parents = {"A": "P", "B": "P", "C": "P"}

    assert withheld_units(n, parents, 30) == {"A": TOO_FEW, "B": PROTECTS}


def test_two_small_units_protect_each_other():
    n = {"P": 100, "A": 5, "B": 10, "C": 85}
    parents = {"A": "P", "B": "P", "C": "P"}

    assert withheld_units(n, parents, 30) == {"A": TOO_FEW, "B": TOO_FEW}


def test_forms_collected_at_the_parent_itself_are_an_unknown_part_that_protects_a_small_unit():
    n = {"P": 130, "A": 5, "B": 40, "C": 55}  # 30 at P itself
    parents = {"A": "P", "B": "P", "C": "P"}

    assert withheld_units(n, parents, 30) == {"A": TOO_FEW}


def test_a_few_forms_at_the_parent_itself_are_protected_like_a_small_unit():
    # P = C + 8 forms at P: showing P and C would give those 8 forms' figures away.
    n = {"P": 40, "C": 32}
    parents = {"C": "P"}

    assert withheld_units(n, parents, 30) == {"C": PROTECTS}


def test_a_unit_withheld_to_protect_a_sibling_is_not_given_away_by_its_own_sub_units():
    # B protects A; B = B1 + B2 with nothing at B itself, so B1 or B2 must go too.
    n = {"P": 100, "A": 5, "B": 95, "B1": 45, "B2": 50}
    parents = {"A": "P", "B": "P", "B1": "B", "B2": "B"}

    assert withheld_units(n, parents, 30) == {"A": TOO_FEW, "B": PROTECTS, "B1": PROTECTS}


def test_a_small_parent_hides_its_whole_subtree_and_nothing_above_needs_more():
    n = {"R": 200, "P": 20, "P1": 12, "P2": 8, "Q": 100, "S": 80}
    parents = {"P": "R", "Q": "R", "S": "R", "P1": "P", "P2": "P"}

    assert withheld_units(n, parents, 30) == {"P": TOO_FEW, "P1": TOO_FEW, "P2": TOO_FEW, "S": PROTECTS}


@st.composite
def trees(draw):
    """A random unit tree with pooled counts: each unit's n is its own forms plus its children's."""
    size = draw(st.integers(min_value=1, max_value=14))
    parents = {0: None}
    for unit in range(1, size):
        parents[unit] = draw(st.integers(min_value=0, max_value=unit - 1))
    own = {unit: draw(st.sampled_from([0, 0, 1, 5, 20, 29, 30, 45, 200])) for unit in parents}
    n = dict(own)
    for unit in sorted(parents, reverse=True):  # children have larger numbers than their parents
        if parents[unit] is not None:
            n[parents[unit]] += n[unit]
    return {u: c for u, c in n.items() if c > 0}, parents, own


@settings(max_examples=400, deadline=None)
@given(trees())
def test_no_withheld_part_is_ever_the_only_unknown_of_a_sum(tree):
    """What an attacker can do with the figures: each parent is the sum of its shown and hidden
    parts. For every sum, a part that must stay hidden (a withheld unit, or fewer than the minimum
    forms at the parent itself) is never its only unknown."""
    n, parents, own = tree
    minimum = 30
    withheld = withheld_units(n, parents, minimum)
    assert all(withheld.get(u) == TOO_FEW for u, c in n.items() if c < minimum)
    for parent in n:
        children = [u for u in n if parents.get(u) == parent]
        if not children:
            continue
        unknown = [u for u in children if u in withheld] + ([parent] if parent in withheld else [])
        own_part = own[parent] > 0
        sensitive = bool(unknown) or 0 < own[parent] < minimum
        assert not (sensitive and len(unknown) + own_part == 1), (parent, n, withheld)


class WithheldEverywhereTests(KioskTestCase):
    """Province 08 ─┬─ 02212 (40) ── 02212.TTPV (40: every form of the commune is at its centre)
                    ├─ 02230 (5: too few)
                    └─ 02231 (35: withheld so that 02230 cannot be worked out)"""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.third_commune = make_unit("02231", cls.province, name="Xã Thứ Ba")
        insert_responses(cls.round, cls.commune_centre, full_answers(**{"G.0": 4}), count=40)
        insert_responses(cls.round, cls.other_commune, full_answers(**{"G.0": 1, "F1.1": 1}), count=5)
        insert_responses(cls.round, cls.third_commune, full_answers(**{"G.0": 5}), count=35)
        compute(cls.round)
        Role.objects.create(user=cls.province_head, unit=cls.province, kind=Role.Kind.OFFICER)

    def score(self, unit):
        return UnitScore.objects.get(round=self.round, unit=unit)

    def test_the_smallest_shown_sibling_is_withheld_with_its_reason_and_no_rank(self):
        third, other, commune = self.score(self.third_commune), self.score(self.other_commune), self.score(self.commune)

        self.assertEqual((other.enough, other.withheld, other.rank), (False, TOO_FEW, None))
        self.assertEqual((third.enough, third.withheld, third.rank, third.rank_of), (False, PROTECTS, None, None))
        self.assertEqual((commune.enough, commune.rank, commune.rank_of), (True, 1, 1))
        # The centre is the commune's only part: it is shown, since the commune is.
        self.assertTrue(self.score(self.commune_centre).enough)

    def test_the_api_gives_n_and_the_reason_but_no_figure_of_a_protecting_unit(self):
        self.client.force_login(self.province_head)

        body = self.client.get(f"/api/v1/scores/{self.round.pk}/02231").json()

        self.assertEqual((body["n"], body["enough"], body["rank"]), (35, False, None))
        self.assertEqual((body["headline"]["value"], body["factors"], body["items"]), (None, {}, {}))
        self.assertEqual(body["withheld"], "35 valid responses: figures withheld so that those of a unit with too "
                                           "few responses cannot be worked out from them.")
        self.assertEqual(self.client.get(f"/api/v1/scores/{self.round.pk}/08").json()["responses_used"], 80)

    def test_the_csv_exports_leave_the_protecting_units_cells_blank_with_the_reason(self):
        self.client.force_login(self.province_head)
        for table in ("units", "items", "indicators"):
            with self.subTest(table=table):
                response = self.client.get(f"/scores/{self.round.pk}/08/export.csv?table={table}")
                text = b"".join(response.streaming_content).decode("utf-8-sig")
                rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0] == "02231"]
                self.assertTrue(rows)
                first_figure = 5 if table == "units" else 2  # units: code, name, parent, level, n
                for row in rows:
                    self.assertEqual(row[-1], "35 responses, withheld so that a unit with too few cannot be worked out")
                    self.assertEqual(set(row[first_figure:-1]), {""}, row)

    def test_the_workbook_leaves_the_protecting_unit_blank(self):
        self.client.force_login(self.province_head)
        response = self.client.get(f"/scores/{self.round.pk}/08/export.xlsx")
        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)
                                            if response.streaming else response.content))
        found = 0
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                if row and row[0] == "02231":
                    found += 1
                    figures = [cell for cell in row[5:-1] if isinstance(cell, (int, float))]
                    self.assertEqual(figures, [], (sheet.title, row))
        self.assertGreater(found, 0)

    def test_the_pages_and_the_report_show_the_reason_and_no_figure(self):
        self.client.force_login(self.province_head)
        for url in (f"/scores/{self.round.pk}/08/", f"/scores/{self.round.pk}/02231/",
                    f"/scores/{self.round.pk}/08/report/"):
            with self.subTest(url=url):
                page = self.client.get(url).content.decode()
                self.assertIn("cannot be worked out", page)
        page = self.client.get(f"/scores/{self.round.pk}/02231/").content.decode()
        self.assertNotIn('data-testid="headline"', page)

    def test_when_the_small_unit_reaches_the_minimum_a_refresh_shows_its_sibling_again_as_a_full_run_does(self):
        before = set(Response.objects.values_list("pk", flat=True))
        insert_responses(self.round, self.other_commune, full_answers(), count=25)  # 30 now
        ResponseChange.objects.bulk_create([  # as the submission service records them
            ResponseChange(round_id=self.round.pk, response_id=pk, sign=1)
            for pk in Response.objects.exclude(pk__in=before).values_list("pk", flat=True)])
        run = refresh(self.round)

        self.assertEqual(run.status, "done", run.error)
        self.assertFalse(run.full)
        self.assertEqual(stored_scores(self.round), full_scores(self.round))
        self.assertEqual((self.score(self.third_commune).withheld, self.score(self.other_commune).withheld), ("", ""))


class ChangeTests(KioskTestCase):
    def later_round(self):
        round_close(survey_round=self.round)
        return round_create(name="Quý I/2027", questionnaire_code="sipas-2017", unit_code="08", open_now=True)

    def test_the_change_is_blank_where_either_rounds_figure_is_withheld(self):
        insert_responses(self.round, self.commune, full_answers(), count=40)
        insert_responses(self.round, self.other_commune, full_answers(), count=5)
        insert_responses(self.round, self.province, full_answers(), count=30)
        compute(self.round)
        later = self.later_round()
        insert_responses(later, self.commune, full_answers(**{"G.0": 2}), count=5)
        insert_responses(later, self.other_commune, full_answers(**{"G.0": 2}), count=40)
        insert_responses(later, self.province, full_answers(), count=30)
        compute(later)

        commune = UnitScore.objects.get(round=later, unit=self.commune)
        other = UnitScore.objects.get(round=later, unit=self.other_commune)
        self.assertEqual((commune.withheld, commune.change_points, commune.change_places), (TOO_FEW, None, None))
        self.assertTrue(other.enough)  # shown now, withheld before: no change to show
        self.assertEqual((other.change_points, other.change_places), (None, None))

    def test_a_draft_round_is_never_the_previous_round(self):
        insert_responses(self.round, self.commune, full_answers(), count=40)
        insert_responses(self.round, self.province, full_answers(), count=30)
        compute(self.round)
        later = self.later_round()
        draft = round_create(name="Nháp", questionnaire_code="sipas-2017", unit_code="08")
        draft.created_at = timezone.now() + timezone.timedelta(days=1)
        draft.save(update_fields=["created_at"])
        newest = round_create(name="Quý II/2027", questionnaire_code="sipas-2017", unit_code="08")
        newest.created_at = timezone.now() + timezone.timedelta(days=2)
        newest.save(update_fields=["created_at"])

        self.assertEqual(previous_round(newest), later)
        self.assertEqual(previous_round(later), self.round)
