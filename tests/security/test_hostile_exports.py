"""Formula injection through every CSV the product writes (surveyapp/spreadsheet.py).

Hostile text (a unit name, a round name, a dossier code) that a spreadsheet could run as a formula,
at the start of a cell or after a separator it may split on (Excel set to Vietnamese splits on
';'), comes out with an apostrophe before the formula character; the file still parses with
Python's csv to the same cells apart from those apostrophes; text is quoted and numbers are bare.
"""

import csv
import io
import re

from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from fieldwork.models import Round
from fieldwork.sampling import dossier_list_import, sample_draw
from scoring.services import score_run_execute, score_run_for_command
from surveyapp.spreadsheet import FORMULA_START, csv_text, safe_cell
from tests.base import make_unit
from tests.fieldwork.base import full_answers
from tests.scoring.test_exports import ScoredRoundTestCase, insert

HOSTILE = [
    'a;=HYPERLINK("http://x")', "x,@SUM(1)", "\n=1+1", "－1+1", "=cmd|' /C calc'!A0", "+84 912", "-2+3",
    "\t=1", "\r=1", "ok; =1", "a\r\n@x", "＝1", "＠SUM(1)", "﹦1", "Tỉnh ;\t-1",
]
SEPARATORS = ",;\t\r\n"
# An unguarded formula start: the start of the text or a separator, spaces, then a formula character.
UNGUARDED = re.compile(f"(^|[{SEPARATORS}])[ \u00a0\u3000]*[{re.escape(FORMULA_START)}]")
GUARD = re.compile(f"(^|[{SEPARATORS}])([ \u00a0\u3000]*)'(?=[{re.escape(FORMULA_START)}])")


def unguarded(text):
    return GUARD.sub(r"\1\2", text)


def cells(body: str):
    """The cells of a CSV body; an unquoted cell must be a number (csv raises otherwise)."""
    text = body.removeprefix("\ufeff")
    quoted = list(csv.reader(io.StringIO(text, newline=""), quoting=csv.QUOTE_NONNUMERIC))
    return [cell for row in quoted for cell in row]


@given(st.text())
def test_any_text_comes_out_guarded_and_reads_back_the_same_apart_from_the_apostrophes(text):
    safe = safe_cell(text)

    assert UNGUARDED.search(safe) is None
    assert unguarded(safe) == text
    [[read]] = csv.reader(io.StringIO(csv_text([[text]], bom=False), newline=""))
    assert read == safe


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_stay_numbers_even_negative_ones(number):
    assert safe_cell(number) == number
    [[read]] = csv.reader(io.StringIO(csv_text([[number]], bom=False), newline=""), quoting=csv.QUOTE_NONNUMERIC)
    assert read == float(number)


def test_the_named_hostile_values_are_guarded_where_a_spreadsheet_may_cut_them():
    assert safe_cell('a;=HYPERLINK("http://x")') == 'a;\'=HYPERLINK("http://x")'
    assert safe_cell("x,@SUM(1)") == "x,'@SUM(1)"
    assert safe_cell("\n=1+1") == "\n'=1+1"
    assert safe_cell("－1+1") == "'－1+1"
    assert safe_cell("ok; =1") == "ok; '=1"
    assert safe_cell("\t=1") == "'\t'=1"
    assert safe_cell("2025-07-01") == "2025-07-01"  # a hyphen inside text is not a formula start
    assert safe_cell(-3) == -3 and safe_cell(-1.5) == -1.5


class HostileExportTests(ScoredRoundTestCase):
    """Every CSV download, with hostile text wherever a user can put text into it."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.hostile_units = [make_unit(f"0990{i:02d}", cls.province, name=name) for i, name in enumerate(HOSTILE)]
        for unit in cls.hostile_units:
            insert(cls.round, unit, full_answers(), 2)
        score_run_execute(run_id=score_run_for_command(round_id=cls.round.pk).pk)
        Round.objects.filter(pk=cls.round.pk).update(name=HOSTILE[0])
        cls.round.refresh_from_db()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["dossier_code", "unit_code", "service_field", "completed_on"])
        for i, name in enumerate(HOSTILE):
            writer.writerow([f"{name}#{i}", cls.hostile_units[i].code, "land", "2026-10-01"])  # unique once stripped
        dossiers = dossier_list_import(survey_round=cls.round, name="x", text=out.getvalue(), user=cls.province_admin)
        cls.sample = sample_draw(dossier_list=dossiers, size=len(HOSTILE), seed=1, user=cls.province_admin)

    def body(self, user, url):
        self.client.force_login(user)
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200, url)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return content.decode("utf-8")

    def downloads(self):
        """(user, url, the hostile texts it must carry)."""
        scores = f"/scores/{self.round.pk}/08/"
        return [
            (self.province_head, scores + "export.csv?table=units", HOSTILE),
            (self.province_head, scores + "export.csv?table=items", HOSTILE),
            (self.province_head, scores + "export.csv?table=indicators", HOSTILE),
            (self.province_officer, scores + "responses.csv", []),  # no free text: codes and numbers
            (self.province_officer, scores + "responses.csv?part=codebook", [HOSTILE[0]]),  # the round's name
            (self.province_officer, reverse("fieldwork:paper-template", args=[self.round.pk]), []),
            (self.province_officer, reverse("fieldwork:paper-codebook", args=[self.round.pk]), HOSTILE),
            (self.province_admin, reverse("fieldwork:sample-csv", args=[self.round.pk, self.sample.pk]),
             HOSTILE[:5]),  # unit names (the codes were stripped of leading blanks)
        ]

    def test_no_cell_of_any_download_starts_a_formula_anywhere_a_spreadsheet_may_cut_it(self):
        for user, url, _texts in self.downloads():
            with self.subTest(url=url):
                body = self.body(user, url)
                self.assertTrue(body.startswith("\ufeff"))
                for cell in cells(body):  # text quoted: an unquoted cell that is not a number fails here
                    if isinstance(cell, str):
                        self.assertIsNone(UNGUARDED.search(cell), cell)

    def test_the_hostile_text_reads_back_whole_apart_from_the_apostrophes(self):
        for user, url, texts in self.downloads():
            with self.subTest(url=url):
                joined = "\x00".join(unguarded(cell) for cell in cells(self.body(user, url)) if isinstance(cell, str))
                for text in texts:
                    self.assertIn(text, joined)

    def test_the_call_list_keeps_hostile_dossier_codes_as_cells_of_their_own(self):
        body = self.body(self.province_admin, reverse("fieldwork:sample-csv", args=[self.round.pk, self.sample.pk]))
        rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))

        self.assertEqual(sorted(unguarded(row[1]) for row in rows[1:]),
                         sorted(f"{name}#{i}".strip() for i, name in enumerate(HOSTILE)))
        self.assertEqual(sorted(int(row[0]) for row in rows[1:]), list(range(1, len(HOSTILE) + 1)))
