"""Exports of a unit's scores (XLSX, CSV) for heads, and of its raw responses (CSV) for officers."""

import csv
import io
import uuid

from django.template import Context, Template
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from fieldwork.exclusions import response_exclude
from fieldwork.models import Response
from fieldwork.services import round_create
from questionnaires.answers import pack_answers
from scoring.exports import CHUNK_SIZE, RESPONSE_COLUMNS
from scoring.models import ScoreRun, UnitScore
from scoring.services import score_run_execute, score_run_for_command, scores_for_api
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers

INJECTED_NAME = '=HYPERLINK("http://evil.example","click")'
BREAKDOWN_SHEETS = ["By service field", "By agency level", "By filing channel", "By collection channel", "By gender",
                    "By age band"]
TEXT_ITEMS = {"C.COMMENT"}


def insert(survey_round, unit, answers, count=1, **fields):
    """Responses straight into the table (the scores are then computed from them by a full run)."""
    now = timezone.now()
    slots = pack_answers(survey_round.questionnaire.parsed, answers).slots
    texts = {code: answers[code] for code in TEXT_ITEMS if code in answers} or None
    return Response.objects.bulk_create([
        Response(round=survey_round, unit=unit,
                 channel=Response.Channel.PAPER,
                 paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=now, received_at=now,
                 answers=slots, texts=texts, dossier_hash=f"{uuid.uuid4().hex}-secret-hash", **fields)
        for i in range(count)
    ])


class ScoredRoundTestCase(KioskTestCase):
    """The round over province 08 with responses, scored by a full run:

    08 (42 valid) ─┬─ 02212 commune (34 valid: enough) ── 02212.TTPV centre (6: not enough)
                   ├─ 02230 other commune (5: not enough)
                   └─ 02299 a commune whose name is a spreadsheet formula (3: not enough)
    Beside them one excluded response and one over quota in 02212, neither counted.
    """

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.injected = make_unit("02299", cls.province, name=INJECTED_NAME)
        cls.low = {"F1.1": 2, "G.0": 3, "E.ONTIME": "late", "X.EXPECT": ["shorten_time", "lower_fees"],
                   "C.COMMENT": "Tôi là Nguyễn Văn A, số 0912345678"}
        insert(cls.round, cls.commune, full_answers(**{"X.EXPECT": ["shorten_time"]}), 20)
        insert(cls.round, cls.commune, full_answers(**cls.low), 8)
        insert(cls.round, cls.commune_centre, full_answers(**{"F2.1": 1}), 6)
        insert(cls.round, cls.other_commune, full_answers(), 5)
        insert(cls.round, cls.injected, full_answers(), 3)
        insert(cls.round, cls.commune, full_answers(), 1, over_quota=True)
        cls.excluded = insert(cls.round, cls.commune, full_answers(**{"G.0": 1}), 1)[0]
        response_exclude(response=cls.excluded, reason="test", user=cls.officer)
        score_run_execute(run_id=score_run_for_command(round_id=cls.round.pk).pk)

    def url(self, name, code="02212", round_id=None, query=""):
        return f"/scores/{round_id or self.round.pk}/{code}/{name}{query}"

    def get_as(self, user, name, **kwargs):
        self.client.force_login(user)
        return self.client.get(self.url(name, **kwargs))

    def api(self, unit):
        return scores_for_api(survey_round=self.round, unit=unit)


def read_csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "a BOM, so that Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body[1:])))


def as_float(cell):
    return float(cell) if cell != "" else None


def in_workbook(value):
    """A float as an XLSX file holds it: openpyxl writes 16 significant digits (Excel keeps 15)."""
    return float(f"{value:.16g}") if isinstance(value, float) else value


def sheet_rows(workbook, title):
    return [list(row) for row in workbook[title].iter_rows(values_only=True)]


class WorkbookTests(ScoredRoundTestCase):
    def workbook(self, user=None, code="08", client=None):
        client = client or self.client
        client.force_login(user or self.province_head)
        response = client.get(self.url("export.xlsx", code=code))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"],
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        self.assertIn(f'filename="sipas-round{self.round.pk}-{code}.xlsx"', response["Content-Disposition"])
        return load_workbook(io.BytesIO(response.content))

    def test_it_has_a_sheet_per_level_present_then_item_rates_and_perception_indicators_then_blocks(self):
        workbook = self.workbook()

        self.assertEqual(workbook.sheetnames,
                         ["Provinces", "Service centres", "Communes", "Item rates", "Perception indicators",
                          *BREAKDOWN_SHEETS,  # tests/scoring/test_breakdowns.py
                          "Block of communes and wards"])  # tests/scoring/test_blocks.py
        communes = sheet_rows(workbook, "Communes")
        self.assertEqual([row[0] for row in communes[1:]], ["02212", "02230", "02299"])

    def test_unit_rows_hold_the_same_numbers_as_the_score_api(self):
        workbook = self.workbook()
        header, province = sheet_rows(workbook, "Provinces")
        commune = sheet_rows(workbook, "Communes")[1]
        for unit, row in ((self.province, province), (self.commune, commune)):
            with self.subTest(unit=unit.code):
                api = self.api(unit)
                cells = dict(zip(header, row, strict=True))
                self.assertEqual(cells["Responses (n)"], api["n"])
                self.assertEqual(cells["SIPAS index (%)"], in_workbook(api["headline"]["value"]))
                self.assertEqual([cells["95% interval, low (%)"], cells["95% interval, high (%)"]],
                                 [in_workbook(v) for v in api["headline"]["ci"]])
                self.assertEqual(cells["F1: Access to the service (%)"], in_workbook(api["factors"]["F1"]["value"]))
                self.assertEqual(cells["F5: Receiving and handling feedback, complaints and petitions (%)"],
                                 in_workbook(api["factors"]["F5"]["value"]))
                self.assertEqual(cells["Rank among sibling units"], api["rank"])
                self.assertEqual(cells["Sibling units ranked"], api["rank_of"])
                self.assertEqual(cells["Change (points)"], in_workbook(api["change"]["points"]))
                self.assertEqual(cells["Note"], None)
        self.assertEqual(province[:5], ["08", "Tỉnh Tuyên Quang", None, "Province or city", 42])
        self.assertEqual(commune[:5], ["02212", "Xã Sơn Dương", "08", "Commune or ward", 34])
        self.assertEqual(commune[header.index("Rank among sibling units")], 1)

    def test_percentages_are_stored_unrounded_and_shown_with_one_decimal(self):
        workbook = self.workbook()
        cell = workbook["Communes"]["F2"]

        self.assertEqual(cell.value, in_workbook(self.api(self.commune)["headline"]["value"]))
        self.assertNotEqual(cell.value, round(cell.value, 1))  # 26 of 34 satisfied: 76.47…
        self.assertEqual(cell.number_format, "0.0")

    def test_item_rates_and_indicators_are_one_row_per_unit_with_the_api_numbers(self):
        workbook = self.workbook()
        items_header, *items = sheet_rows(workbook, "Item rates")
        indicators_header, *indicators = sheet_rows(workbook, "Perception indicators")
        api = self.api(self.commune)

        self.assertEqual([row[0] for row in items], ["08", "02212", "02212.TTPV", "02230", "02299"])
        commune = dict(zip(items_header, items[1], strict=True))
        self.assertEqual(commune["Responses (n)"], 34)
        self.assertEqual(commune["F1.1 There are enough seats in the waiting area. (%)"],
                         in_workbook(api["items"]["F1.1"]["rate"]))
        self.assertEqual(len(items_header), 3 + len(api["items"]) + 1)  # every satisfaction item, G.0 too
        shares = dict(zip(indicators_header, indicators[1], strict=True))
        self.assertEqual(shares["E.ONTIME Late (%)"], in_workbook(api["indicators"]["E.ONTIME"]["late"]))
        self.assertAlmostEqual(shares["E.ONTIME Late (%)"], 100 * 8 / 34)
        self.assertEqual(shares["E.EXTRA_PAY No (%)"], 100.0)

    def test_units_below_the_minimum_keep_their_n_but_no_figure(self):
        workbook = self.workbook()
        header, *rows = sheet_rows(workbook, "Communes")
        other = next(row for row in rows if row[0] == "02230")
        centre = sheet_rows(workbook, "Service centres")[1]

        for row, n in ((other, 5), (centre, 6)):
            with self.subTest(unit=row[0]):
                self.assertEqual(row[header.index("Responses (n)")], n)
                figures = row[header.index("SIPAS index (%)"):header.index("Note")]
                self.assertEqual(figures, [None] * len(figures))
                self.assertEqual(row[-1], f"{n} responses, fewer than the 30 needed")
        for title in ("Item rates", "Perception indicators"):
            with self.subTest(sheet=title):
                other = next(row for row in sheet_rows(workbook, title) if row[0] == "02230")
                self.assertEqual(other[2], 5)
                self.assertEqual(set(other[3:-1]), {None})
                self.assertEqual(other[-1], "5 responses, fewer than the 30 needed")

    def test_a_head_gets_only_their_subtree(self):
        workbook = self.workbook(user=self.head, code="02212")

        self.assertEqual(workbook.sheetnames, ["Service centres", "Communes", "Item rates", "Perception indicators",
                                               *BREAKDOWN_SHEETS, "Block of communes and wards"])
        codes = {row[0] for title in workbook.sheetnames[:4] for row in sheet_rows(workbook, title)[1:]}
        self.assertEqual(codes, {"02212", "02212.TTPV"})
        # the block sheet: place, units ranked in the block, then the code (tests/scoring/test_blocks.py)
        self.assertEqual([row[2] for row in sheet_rows(workbook, "Block of communes and wards")[1:]], ["02212"])

    def test_headers_and_labels_are_vietnamese_on_the_vietnamese_ui(self):
        vietnamese = self.workbook(client=Client())
        english = self.workbook()

        vi_header, vi_row = sheet_rows(vietnamese, vietnamese.sheetnames[0])[:2]
        en_header, en_row = sheet_rows(english, "Provinces")[:2]
        self.assertEqual((vi_header[0], vi_header[-1]), ("Mã đơn vị", "Ghi chú"))
        self.assertEqual((en_header[0], en_header[-1]), ("Unit code", "Note"))
        self.assertIn("F1: Tiếp cận dịch vụ hành chính công (%)", vi_header)
        self.assertEqual((vi_row[3], en_row[3]), ("Tỉnh, thành phố", "Province or city"))
        vi_items = sheet_rows(vietnamese, vietnamese.sheetnames[english.sheetnames.index("Item rates")])
        self.assertIn("F1.1 Nơi ngồi chờ có đủ chỗ ngồi. (%)", vi_items[0])

    def test_a_name_that_looks_like_a_formula_stays_text(self):
        workbook = self.workbook()
        cell = next(row for row in workbook["Communes"].iter_rows() if row[0].value == "02299")[1]

        self.assertEqual(cell.value, INJECTED_NAME)
        self.assertEqual(cell.data_type, "s")


class CsvTests(ScoredRoundTestCase):
    def table(self, table, user=None, code="08"):
        response = self.get_as(user or self.province_head, "export.csv", code=code, query=f"?table={table}")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn(f"-{table}.csv", response["Content-Disposition"])
        return read_csv(response)

    def test_the_units_table_holds_every_level_with_the_api_numbers_to_the_last_digit(self):
        header, *rows = self.table("units")

        self.assertEqual([row[0] for row in rows], ["08", "02212", "02212.TTPV", "02230", "02299"])
        for unit, row in ((self.province, rows[0]), (self.commune, rows[1])):
            with self.subTest(unit=unit.code):
                api = self.api(unit)
                cells = dict(zip(header, row, strict=True))
                self.assertEqual(int(cells["Responses (n)"]), api["n"])
                self.assertEqual(as_float(cells["SIPAS index (%)"]), api["headline"]["value"])
                self.assertEqual(as_float(cells["95% interval, high (%)"]), api["headline"]["ci"][1])
                self.assertEqual(as_float(cells["F3: Civil servants who handle the work (%)"]),
                                 api["factors"]["F3"]["value"])

    def test_the_items_and_indicators_tables_match_the_workbook_sheets(self):
        items = self.table("items")
        indicators = self.table("indicators")

        api = self.api(self.province)
        g0 = next(row for row in items if row[0] == "08" and row[3] == "G.0")
        self.assertEqual(as_float(g0[7]), api["items"]["G.0"]["rate"])
        visits = next(row for row in indicators if row[0] == "08" and row[2] == "E.VISITS" and row[4] == "1")
        self.assertEqual(as_float(visits[6]), api["indicators"]["E.VISITS"]["1"])

    def test_a_units_row_below_the_minimum_is_blank_with_the_note(self):
        header, *rows = self.table("units")
        other = next(row for row in rows if row[0] == "02230")

        self.assertEqual(other[4], "5")
        self.assertEqual(set(other[5:-1]), {""})
        self.assertEqual(other[-1], "5 responses, fewer than the 30 needed")

    def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted(self):
        rows = self.table("units")

        row = next(row for row in rows if row[0] == "02299")
        self.assertEqual(row[1], "'" + INJECTED_NAME)

    def test_an_unknown_table_is_refused_naming_the_tables(self):
        response = self.get_as(self.province_head, "export.csv", code="08", query="?table=responses")

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.content.decode(), "Unknown table “responses”: use one of units, items, indicators.")


class ScopingTests(ScoredRoundTestCase):
    NAMES = ("export.xlsx", "export.csv", "report/", "report.pdf")

    def test_a_head_cannot_export_a_unit_outside_their_subtree(self):
        for name in self.NAMES:
            for code in ("08", "02230", "10", "99999"):
                with self.subTest(name=name, code=code):
                    self.assertEqual(self.get_as(self.head, name, code=code).status_code, 404)

    def test_users_without_the_scores_capability_get_404(self):
        for user in (self.officer, self.province_officer, self.far_officer, self.other_head, self.nobody):
            for name in self.NAMES:
                with self.subTest(user=user.username, name=name):
                    self.assertEqual(self.get_as(user, name).status_code, 404)

    def test_a_round_of_another_province_does_not_open_a_unit_by_its_id(self):
        elsewhere = round_create(name="Lào Cai 2026", questionnaire_code="sipas-2017", unit_code="10")
        for name in self.NAMES + ("responses.csv",):
            with self.subTest(name=name):
                self.assertEqual(self.get_as(self.admin, name, round_id=elsewhere.pk).status_code, 404)
                self.assertEqual(self.get_as(self.admin, name, round_id=987654).status_code, 404)

    def test_anonymous_visitors_are_sent_to_log_in(self):
        for name in self.NAMES + ("responses.csv",):
            with self.subTest(name=name):
                response = self.client.get(self.url(name))
                self.assertEqual(response.status_code, 302)
                self.assertIn("/login", response["Location"])

    def test_the_heads_allowed_downloads_answer(self):
        for name in self.NAMES:
            with self.subTest(name=name):
                self.assertEqual(self.get_as(self.head, name).status_code, 200)


class QueryCountTests(ScoredRoundTestCase):
    """The exports read every unit in one query: more units, the same count."""

    def add_communes(self, count):
        template = UnitScore.objects.get(round=self.round, unit=self.commune)
        run = ScoreRun.objects.get(round=self.round, status="done")
        for i in range(count):
            unit = make_unit(f"039{i:02d}", self.province, name=f"Xã thêm {i}")
            UnitScore.objects.create(
                run=run, round=self.round, unit=unit, n=template.n, enough=True, headline=template.headline,
                factors=template.factors, items=template.items, indicators=template.indicators,
                expectations=template.expectations, computed_at=template.computed_at)

    def count(self, name, query=""):
        self.client.force_login(self.province_head)
        # session, user, round (with unit and questionnaire), unit, the head's role, [levels,] scores,
        # [the unit's breakdown cells (which may be shown is decided on read: the first read after a
        # run reads the n of every cell of the round once more, then they are cached); the block
        # sheets: the round's blocks, block ranks, the previous round, the blocks' scores]
        self.client.get(self.url(name, code="08", query=query))
        with self.assertNumQueries(12 if name == "export.xlsx" else 6) as queries:
            response = self.client.get(self.url(name, code="08", query=query))
            if response.streaming:
                b"".join(response.streaming_content)
        self.assertEqual(response.status_code, 200)
        return len(queries)

    def test_the_workbook_and_the_csv_tables_run_a_fixed_number_of_queries(self):
        cases = [("export.xlsx", ""), ("export.csv", "?table=units"), ("export.csv", "?table=items"),
                 ("export.csv", "?table=indicators")]
        before = [self.count(name, query) for name, query in cases]
        self.add_communes(12)
        after = [self.count(name, query) for name, query in cases]

        self.assertEqual(before, after)
        self.assertEqual(UnitScore.objects.filter(round=self.round).count(), 17)

    def test_the_raw_responses_are_one_query_however_many_there_are(self):
        def count():
            self.client.force_login(self.province_officer)
            # session, user, round, unit, the officer's role, the responses (on a server-side cursor)
            with self.assertNumQueries(6):
                response = self.client.get(self.url("responses.csv", code="08"))
                lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
            return lines

        self.assertEqual(count(), 1 + 44)
        insert(self.round, self.other_commune, full_answers(), 2 * CHUNK_SIZE + 7)
        self.assertEqual(count(), 1 + 44 + 2 * CHUNK_SIZE + 7)


class RawResponsesTests(ScoredRoundTestCase):
    def rows(self, user=None, code="02212", query=""):
        response = self.get_as(user or self.officer, "responses.csv", code=code, query=query)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        return read_csv(response)

    def test_an_officer_gets_one_column_per_item_and_no_identifier(self):
        header, *rows = self.rows()

        items = [c for c in self.round.questionnaire.item_codes if c not in TEXT_ITEMS]
        self.assertEqual(header, RESPONSE_COLUMNS + items)
        lowered = " ".join(header).lower()
        for word in ("id", "dossier", "kiosk", "token", "ip", "agent", "time", "language", "started", "received"):
            self.assertNotIn(word, lowered.split())
        body = "\n".join(",".join(row) for row in rows)
        self.assertNotIn("secret-hash", body)
        self.assertNotIn("0912345678", body)  # free text is left out: people write names and numbers in it
        self.assertNotIn(str(self.excluded.id), body)

    def test_it_holds_only_the_units_subtree_with_the_day_only(self):
        header, *rows = self.rows()

        # 28 + 1 over quota + 1 excluded in the commune, 6 in its centre; none of 02230 or 02299
        self.assertEqual(len(rows), 36)
        self.assertEqual({row[1] for row in rows}, {"02212", "02212.TTPV"})
        today = timezone.localdate().isoformat()
        self.assertEqual({row[2] for row in rows}, {today})
        self.assertEqual({row[0] for row in rows}, {str(self.round.pk)})
        self.assertEqual({row[3] for row in rows}, {"paper"})

    def test_answers_are_written_as_the_paper_import_reads_them(self):
        header, *rows = self.rows()
        low = next(row for row in rows if row[header.index("E.ONTIME")] == "late")
        cell = dict(zip(header, low, strict=True))

        self.assertEqual((cell["F1.1"], cell["G.0"], cell["F1.G"]), ("2", "3", "5"))
        self.assertEqual(cell["E.FIELD"], "land")
        self.assertEqual(cell["E.EXTRA_PAY"], "no")
        self.assertEqual(cell["X.EXPECT"], "shorten_time;lower_fees")
        self.assertEqual(cell["F5.1"], "")  # not asked: F5.0 was "no"

    def test_excluded_and_over_quota_responses_are_flagged(self):
        header, *rows = self.rows()
        flags = sorted((row[4], row[5], row[6]) for row in rows)

        self.assertEqual(flags.count(("yes", "test", "no")), 1)
        self.assertEqual(flags.count(("no", "", "yes")), 1)
        self.assertEqual(flags.count(("no", "", "no")), 34)

    def test_a_province_officer_gets_the_whole_province(self):
        header, *rows = self.rows(user=self.province_officer, code="08")

        self.assertEqual(len(rows), 44)

    def test_heads_and_officers_of_other_units_get_404(self):
        for user, code in ((self.head, "02212"), (self.province_head, "08"), (self.officer, "02230"),
                           (self.officer, "08"), (self.far_officer, "02212")):
            with self.subTest(user=user.username, code=code):
                self.assertEqual(self.get_as(user, "responses.csv", code=code).status_code, 404)

    def test_the_codebook_names_every_column_in_the_ui_language(self):
        header, *rows = self.rows(query="?part=codebook")
        data_header = self.rows()[0]

        self.assertEqual(header, ["Column", "Meaning", "Values"])
        self.assertEqual([row[0] for row in rows], data_header)
        codebook = {row[0]: row for row in rows}
        self.assertEqual(codebook["E.ONTIME"][2], "on_time=On time or early; late=Late; not_yet=Not yet due / "
                                                  "not yet received")
        self.assertIn("test=test entry", codebook["exclusion_reason"][2])


class ExportLinksTests(ScoredRoundTestCase):
    def render(self, user, unit):
        template = Template('{% include "scoring/_export_links.html" %}')
        return template.render(Context({"user": user, "survey_round": self.round, "unit": unit, "score": None}))

    def test_heads_see_the_score_exports_and_the_report_but_not_the_raw_responses(self):
        html = self.render(self.head, self.commune)

        for name in ("report/", "report.pdf", "export.xlsx", "export.csv?table=units", "export.csv?table=items",
                     "export.csv?table=indicators"):
            self.assertIn(self.url(name), html)
        self.assertNotIn("responses.csv", html)

    def test_officers_and_administrators_also_see_the_raw_responses(self):
        for user in (self.province_admin, self.admin):
            with self.subTest(user=user.username):
                html = self.render(user, self.commune)
                self.assertIn(self.url("responses.csv"), html)
                self.assertIn(self.url("responses.csv", query="?part=codebook"), html)
