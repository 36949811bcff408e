"""Ranks by block (khối, issue 18): the block rule (fieldwork.blocks), the round's blocks page, ranks
and changes within blocks (scoring.ranking.block_places), their wording, the league table page and
the workbook's block sheets. Scores are stored by hand, so every figure is known."""

import io

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from openpyxl import load_workbook

from fieldwork import blocks
from fieldwork.models import Round, RoundBlocks
from fieldwork.services import round_close, round_create, round_open
from scoring import ranking, wording
from scoring.models import ScoreRun, UnitScore
from scoring.ranking import block_places, league
from tests.base import make_unit, make_user
from tests.fieldwork.base import KioskTestCase
from units.models import Role, Unit

L = Unit.Level


class BlocksTestCase(KioskTestCase):
    """province 20 ─┬─ 20.STP, 20.SYT (departments)
                    ├─ 20.TT (centre) ── 20.TT.CA, 20.TT.THUE (vertical agencies)
                    ├─ 20.H1 (former district) ── 20.H1.X1, 20.H1.X2 (communes, one level deeper)
                    ├─ 20.X3 (commune) ── 20.X3.TT (the commune's one-stop desk)
                    └─ 20.X4, 20.X5 (communes)
    """

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        p = cls.p = make_unit("20", level=L.PROVINCE, name="Tỉnh Hai Mươi")
        u = cls.u = {}
        u["STP"] = make_unit("20.STP", p, level=L.DEPARTMENT, name="Sở Tư pháp")
        u["SYT"] = make_unit("20.SYT", p, level=L.DEPARTMENT, name="Sở Y tế")
        u["TT"] = make_unit("20.TT", p, level=L.CENTRE, name="Trung tâm Phục vụ hành chính công")
        u["CA"] = make_unit("20.TT.CA", u["TT"], level=L.VERTICAL, name="Công an tỉnh")
        u["THUE"] = make_unit("20.TT.THUE", u["TT"], level=L.VERTICAL, name="Thuế tỉnh")
        u["H1"] = make_unit("20.H1", p, level=L.DISTRICT, name="Huyện Một")
        u["X1"] = make_unit("20.H1.X1", u["H1"], name="Xã Bình An")
        u["X2"] = make_unit("20.H1.X2", u["H1"], name="Xã An Phú")
        u["X3"] = make_unit("20.X3", p, name="Phường Cầu Kho")
        u["X3TT"] = make_unit("20.X3.TT", u["X3"], level=L.CENTRE, name="Bộ phận một cửa")
        u["X4"] = make_unit("20.X4", p, name="Xã Đông")
        u["X5"] = make_unit("20.X5", p, name="Xã Tây")
        cls.officer20 = make_user("officer20", (Role.Kind.OFFICER, p))
        cls.head20 = make_user("head20", (Role.Kind.HEAD, p))
        cls.head_x1 = make_user("head_x1", (Role.Kind.HEAD, u["X1"]))

    @classmethod
    def close_open_rounds(cls):
        """One open round a unit: the earlier round closes before the next opens."""
        for survey_round in Round.objects.filter(unit__code="20", status=Round.Status.OPEN):
            round_close(survey_round=survey_round)

    def new_round(self, open_now=True, name="Năm 2026"):
        if open_now:
            self.close_open_rounds()
        return round_create(name=name, questionnaire_code="sipas-2017", unit_code="20", open_now=open_now)

    def open_round(self, survey_round):
        self.close_open_rounds()
        return round_open(survey_round=survey_round)

    def store(self, survey_round, figures):
        """figures: {key: headline, or None for a unit withheld with 12 responses}."""
        run = ScoreRun.objects.get_or_create(round=survey_round, status=ScoreRun.Status.DONE)[0]
        now = timezone.now()
        UnitScore.objects.create(run=run, round=survey_round, unit=self.p, n=500, enough=True, headline=80.0,
                                 computed_at=now)
        for key, headline in figures.items():
            shown = headline is not None
            UnitScore.objects.create(run=run, round=survey_round, unit=self.u[key], n=40 if shown else 12,
                                     enough=shown, withheld="" if shown else "too_few", headline=headline,
                                     change_points=1.5 if shown else None, computed_at=now)

    def places(self, survey_round):
        by_id = {unit.pk: key for key, unit in self.u.items()}
        return {by_id[unit_id]: (p.block, p.rank, p.rank_of, p.change_places)
                for unit_id, p in block_places(survey_round).items()}


FIGURES = {"STP": 90.0, "SYT": 85.0, "TT": 88.0, "CA": 70.0, "THUE": 75.0, "H1": 80.0,
           "X1": 91.0, "X2": 84.0, "X3": 84.0, "X3TT": 99.0, "X4": 95.0, "X5": None}


class RuleTests(BlocksTestCase):
    def test_default_blocks_follow_the_level_and_a_local_desk_is_not_ranked(self):
        rule = blocks.Blocks()
        self.assertEqual(rule.of(1, L.DEPARTMENT), blocks.DEPARTMENTS)
        self.assertEqual(rule.of(1, L.CENTRE, L.PROVINCE), blocks.DEPARTMENTS)
        self.assertEqual(rule.of(1, L.CENTRE, L.COMMUNE), blocks.NOT_RANKED)
        self.assertEqual(rule.of(1, L.CENTRE, L.DISTRICT), blocks.NOT_RANKED)
        self.assertEqual(rule.of(1, L.COMMUNE, L.DISTRICT), blocks.COMMUNES)
        self.assertEqual(rule.of(1, L.COMMUNE, L.PROVINCE), blocks.COMMUNES)
        self.assertEqual(rule.of(1, L.VERTICAL, L.CENTRE), blocks.VERTICAL)
        self.assertEqual(rule.of(1, L.DISTRICT), blocks.DISTRICTS)
        self.assertEqual(rule.of(1, L.PROVINCE), blocks.PROVINCES)

    def test_a_round_without_stored_blocks_uses_the_defaults(self):
        self.assertEqual(blocks.blocks_for(self.new_round(open_now=False)), blocks.Blocks())

    def test_overrides_of_a_level_and_of_a_unit_win_over_the_default(self):
        survey_round = self.new_round(open_now=False)
        blocks.save_blocks(survey_round=survey_round, levels={L.DISTRICT: blocks.NOT_RANKED, L.COMMUNE: "communes"},
                           units={self.u["X3TT"].pk: blocks.DEPARTMENTS, self.u["X4"].pk: blocks.NOT_RANKED})
        rule = blocks.blocks_for(survey_round)
        self.assertEqual(rule.levels, {L.DISTRICT: blocks.NOT_RANKED})  # only what differs is kept
        self.assertEqual(rule.of(self.u["X3TT"].pk, L.CENTRE, L.COMMUNE), blocks.DEPARTMENTS)
        self.assertEqual(rule.of(self.u["X4"].pk, L.COMMUNE, L.PROVINCE), blocks.NOT_RANKED)
        self.assertEqual(rule.of(self.u["H1"].pk, L.DISTRICT, L.PROVINCE), blocks.NOT_RANKED)
        self.assertEqual(rule.of(self.u["X1"].pk, L.COMMUNE, L.DISTRICT), blocks.COMMUNES)

    def test_blocks_are_frozen_once_the_round_has_been_opened(self):
        survey_round = self.new_round(open_now=False)
        self.open_round(survey_round)
        survey_round.refresh_from_db()
        with self.assertRaises(blocks.BlocksFrozen):
            blocks.save_blocks(survey_round=survey_round, levels={}, units={self.u["X4"].pk: ""})
        self.assertFalse(RoundBlocks.objects.filter(round=survey_round).exists())

    def test_an_unknown_block_is_refused(self):
        survey_round = self.new_round(open_now=False)
        with self.assertRaises(ValueError):
            blocks.save_blocks(survey_round=survey_round, levels={L.COMMUNE: "villages"}, units={})


class BlocksPageTests(BlocksTestCase):
    def url(self, survey_round):
        return f"/rounds/{survey_round.pk}/blocks/"

    def post(self, survey_round, overrides="", **levels):
        data = {f"level_{level}": blocks.DEFAULT_BY_LEVEL[level] for level in L.values}
        data.update({f"level_{k}": v for k, v in levels.items()})
        data["overrides"] = overrides
        return self.client.post(self.url(survey_round), data)

    def test_an_officer_sets_the_blocks_of_a_draft_round(self):
        survey_round = self.new_round(open_now=False)
        self.client.force_login(self.officer20)
        response = self.client.get(self.url(survey_round))
        self.assertContains(response, "Blocks for ranking")
        response = self.post(survey_round, overrides="20.X3.TT departments\n20.X4 none\n", district="")
        self.assertRedirects(response, self.url(survey_round))
        rule = blocks.blocks_for(survey_round)
        self.assertEqual(rule.levels, {L.DISTRICT: ""})
        self.assertEqual(rule.units, {self.u["X3TT"].pk: blocks.DEPARTMENTS, self.u["X4"].pk: ""})
        page = self.client.get(self.url(survey_round))
        self.assertContains(page, "20.X3.TT departments\n20.X4 none")

    def test_bad_lines_are_named_and_nothing_is_stored(self):
        survey_round = self.new_round(open_now=False)
        self.client.force_login(self.officer20)
        response = self.post(survey_round, overrides="20.X4 villages\n08 communes\n20.X5\n")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Line 1: write a unit code and one of")
        self.assertContains(response, "Line 2: no unit 08 in this round.")  # another province's unit
        self.assertContains(response, "Line 3: write a unit code")
        response = self.post(survey_round, commune="villages")
        self.assertEqual(response.status_code, 200)
        self.assertFalse(RoundBlocks.objects.filter(round=survey_round).exists())

    def test_an_opened_round_shows_its_blocks_frozen_and_ignores_a_post(self):
        survey_round = self.new_round(open_now=True)
        self.client.force_login(self.officer20)
        response = self.post(survey_round, overrides="20.X4 none")
        self.assertContains(response, "its blocks are frozen")
        self.assertNotContains(response, ">Save</button>")
        self.assertFalse(RoundBlocks.objects.filter(round=survey_round).exists())

    def test_only_the_round_officers_reach_the_page(self):
        survey_round = self.new_round(open_now=False)
        for user in (self.head20, self.province_officer, self.head_x1):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get(self.url(survey_round)).status_code, 404)
        self.client.force_login(self.officer20)
        self.assertEqual(self.client.get(self.url(survey_round)).status_code, 200)


class RankTests(BlocksTestCase):
    def test_ranks_within_blocks_across_the_whole_tree_with_ties_and_withheld_units(self):
        survey_round = self.new_round()
        self.store(survey_round, FIGURES)
        self.assertEqual(self.places(survey_round), {
            "STP": ("departments", 1, 3, None), "TT": ("departments", 2, 3, None), "SYT": ("departments", 3, 3, None),
            "THUE": ("vertical", 1, 2, None), "CA": ("vertical", 2, 2, None),
            "H1": ("districts", 1, 1, None),
            # communes one level deeper (under the former district) ranked with those under the province;
            # X2 and X3 tie and share 3rd; X5 is withheld; X3's desk is not ranked on its own
            "X4": ("communes", 1, 4, None), "X1": ("communes", 2, 4, None),
            "X2": ("communes", 3, 4, None), "X3": ("communes", 3, 4, None),
            "X5": ("communes", None, None, None),
        })

    def test_overrides_regroup_the_ranks(self):
        survey_round = self.new_round(open_now=False)
        blocks.save_blocks(survey_round=survey_round, levels={L.DISTRICT: ""},
                           units={self.u["X4"].pk: blocks.NOT_RANKED, self.u["X3TT"].pk: blocks.DEPARTMENTS})
        self.store(survey_round, FIGURES)
        places = self.places(survey_round)
        self.assertNotIn("X4", places)
        self.assertNotIn("H1", places)
        self.assertEqual(places["X3TT"], ("departments", 1, 4, None))
        self.assertEqual(places["X1"], ("communes", 1, 3, None))

    def test_the_change_is_in_places_within_the_same_block_since_the_previous_round(self):
        before = self.new_round(name="Năm 2025")
        self.store(before, {"STP": 80.0, "SYT": 85.0, "TT": 70.0, "X1": 70.0, "X2": 90.0, "X3": None, "X4": 60.0})
        now = self.new_round(open_now=False, name="Năm 2026")
        # This year X4 is counted with the departments: new to that block, it has no change.
        blocks.save_blocks(survey_round=now, levels={}, units={self.u["X4"].pk: blocks.DEPARTMENTS})
        self.open_round(now)
        self.store(now, {"STP": 90.0, "SYT": 85.0, "TT": 88.0, "X1": 91.0, "X2": 84.0, "X3": 84.0, "X4": 95.0})
        places = self.places(now)
        self.assertEqual(places["STP"], ("departments", 2, 4, 0))  # 2nd of 3 → 2nd of 4
        self.assertEqual(places["SYT"], ("departments", 4, 4, -3))  # 1st → 4th
        self.assertEqual(places["TT"], ("departments", 3, 4, 0))
        self.assertEqual(places["X4"], ("departments", 1, 4, None))  # new to the block
        self.assertEqual(places["X1"], ("communes", 1, 3, 1))  # 2nd of 2 → 1st
        self.assertEqual(places["X2"], ("communes", 2, 3, -1))  # 1st → 2nd (tied with X3)
        self.assertEqual(places["X3"], ("communes", 2, 3, None))  # withheld last round

    def test_units_of_another_round_family_or_province_are_not_the_previous_round(self):
        self.close_open_rounds()
        other = round_create(name="Khác", questionnaire_code="sipas-2023-services", unit_code="20", open_now=True)
        self.store(other, {"X1": 10.0, "X4": 99.0})
        now = self.new_round()
        self.store(now, {"X1": 91.0, "X4": 95.0})
        self.assertEqual(self.places(now)["X1"], ("communes", 2, 2, None))


class WordingTests(BlocksTestCase):
    def test_a_rank_in_a_block_in_both_languages(self):
        with translation.override("en"):
            self.assertEqual(wording.block_rank(3, 64, "communes"), "3rd of 64 communes and wards")
            self.assertEqual(wording.block_rank(1, 12, "departments"), "1st of 12 departments and centres")
            self.assertEqual(wording.block_rank(None, None, "communes"), "")
        with translation.override("vi"):
            self.assertEqual(wording.block_rank(3, 64, "communes"), "Hạng 3/64 xã, phường")
            self.assertEqual(wording.block_rank(1, 12, "departments"), "Hạng 1/12 sở, ban, ngành")
            self.assertEqual(wording.block_rank(2, 3, "vertical"), "Hạng 2/3 cơ quan ngành dọc")


class TwoRoundsTestCase(BlocksTestCase):
    """Last year's round and this year's, with scores stored by hand (FIGURES this year)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.before = round_create(name="Năm 2025", questionnaire_code="sipas-2017", unit_code="20", open_now=True)
        cls.close_open_rounds()
        cls.now = round_create(name="Năm 2026", questionnaire_code="sipas-2017", unit_code="20", open_now=True)

    def setUp(self):
        self.store(self.before, {"X1": 70.0, "X2": 90.0, "X4": 80.0, "STP": 50.0})
        self.store(self.now, FIGURES)


class LeagueTests(TwoRoundsTestCase):

    def url(self, query=""):
        return f"/league/{self.now.pk}/{query}"

    def rows(self, response, block):
        import re

        html = response.content.decode()
        section = html.split(f'data-block="{block}"')[1].split("</section>")[0]
        return re.findall(r'data-unit="([^"]+)"', section)

    def test_the_province_head_sees_every_block_in_rank_order_with_the_change(self):
        self.client.force_login(self.head20)
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.rows(response, "departments"), ["20.STP", "20.TT", "20.SYT"])
        # X2 and X3 tie for 3rd: by name
        self.assertEqual(self.rows(response, "communes"), ["20.X4", "20.H1.X1", "20.X3", "20.H1.X2", "20.X5"])
        self.assertEqual(self.rows(response, "vertical"), ["20.TT.THUE", "20.TT.CA"])
        self.assertContains(response, "4 units ranked")
        self.assertContains(response, '>2nd of 4 communes and wards<')
        self.assertContains(response, "up 1 place")  # X4: 2nd → 1st; X1: 3rd → 2nd
        self.assertContains(response, "down 2 places")  # X2: 1st → 3rd
        self.assertContains(response, "12 responses, fewer than the 30 needed")  # X5, without a rank
        self.assertNotContains(response, "20.X3.TT")

    def test_sorting_by_name_and_by_change(self):
        self.client.force_login(self.head20)
        by_name = self.client.get(self.url("?sort=name"))
        self.assertEqual(self.rows(by_name, "communes"), ["20.X3", "20.H1.X2", "20.H1.X1", "20.X4", "20.X5"])
        by_change = self.client.get(self.url("?sort=change"))
        # X4 and X1 up 1 (in rank order), X2 down 2, then units with no change in rank order
        self.assertEqual(self.rows(by_change, "communes"), ["20.X4", "20.H1.X1", "20.H1.X2", "20.X3", "20.X5"])
        self.assertEqual(self.client.get(self.url("?sort=<script>")).status_code, 200)

    def test_a_commune_head_sees_only_their_unit_with_its_place_in_the_whole_block(self):
        self.client.force_login(self.head_x1)
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.rows(response, "communes"), ["20.H1.X1"])
        self.assertContains(response, '>2nd of 4 communes and wards<')
        self.assertNotContains(response, 'data-block="departments"')
        self.assertNotContains(response, "20.X4")

    def test_officers_and_other_provinces_get_a_404(self):
        for user in (self.officer20, self.province_head, self.nobody):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get(self.url()).status_code, 404)

    def test_the_page_is_vietnamese_on_the_vietnamese_ui(self):
        client = Client()
        client.force_login(self.head20)
        response = client.get(self.url())
        self.assertContains(response, '>Hạng 2/4 xã, phường<')
        self.assertContains(response, "Bảng xếp hạng theo khối")
        self.assertContains(response, "Chỉ số SIPAS (%)")
        self.assertContains(response, "Khối UBND cấp xã, phường, đặc khu")
        self.assertContains(response, "tăng 1 bậc")

    def test_league_lists_only_units_in_scope(self):
        tables = league(self.now, [self.u["H1"].path])
        self.assertEqual([t.key for t in tables], ["communes", "districts"])
        self.assertEqual(tables[0].ranked, 4)


class WorkbookTests(LeagueTests):
    def workbook(self, user, code):
        self.client.force_login(user)
        response = self.client.get(f"/scores/{self.now.pk}/{code}/export.xlsx")
        self.assertEqual(response.status_code, 200)
        return load_workbook(io.BytesIO(response.content))

    def test_a_sheet_a_block_after_the_others(self):
        workbook = self.workbook(self.head20, "20")
        self.assertEqual(workbook.sheetnames[-4:], ["Block of departments", "Block of communes and wards",
                                                    "Block of vertical agencies", "Block of districts"])
        header, *rows = [list(r) for r in workbook["Block of communes and wards"].iter_rows(values_only=True)]
        self.assertEqual(header[:4], ["Place in the block", "Units ranked in the block", "Unit code", "Unit name"])
        cells = [dict(zip(header, row, strict=True)) for row in rows]
        self.assertEqual([(c["Unit code"], c["Place in the block"], c["Change (places in the block)"]) for c in cells],
                         [("20.X4", 1, 1), ("20.H1.X1", 2, 1), ("20.X3", 3, None), ("20.H1.X2", 3, -2),
                          ("20.X5", None, None)])
        self.assertEqual(cells[0]["SIPAS index (%)"], 95.0)
        self.assertEqual(cells[-1]["SIPAS index (%)"], None)
        self.assertEqual(cells[-1]["Note"], "12 responses, fewer than the 30 needed")
        self.assertEqual({c["Units ranked in the block"] for c in cells}, {4})

    def test_a_commune_head_gets_their_rows_only(self):
        workbook = self.workbook(self.head_x1, "20.H1.X1")
        self.assertEqual(workbook.sheetnames[-1:], ["Block of communes and wards"])
        rows = list(workbook["Block of communes and wards"].iter_rows(values_only=True))[1:]
        self.assertEqual([(r[0], r[1], r[2]) for r in rows], [(2, 4, "20.H1.X1")])


class BlockRankEverywhereTests(TwoRoundsTestCase):
    """A unit's place in its block on its page, in the API, the report (HTML, PDF) and the DOCX, where
    the units below are ranked in a table a block."""

    def setUp(self):
        super().setUp()
        self.client.force_login(self.head20)

    def page(self, key, what=""):
        code = self.u[key].code if key else "20"
        return self.client.get(f"/scores/{self.now.pk}/{code}/{what}")

    def test_the_unit_page_gives_the_place_in_the_block_with_its_change_and_links_the_league(self):
        html = self.page("X1").content.decode()
        self.assertIn(f'data-testid="block-rank"><a href="/league/{self.now.pk}/">2nd of 4 communes and wards</a>'
                      " · up 1 place</dd>", html)
        # STP was the one department ranked last round, 1st of 1
        self.assertIn(">1st of 3 departments and centres</a> · same place</dd>", self.page("STP").content.decode())
        for key in (None, "X5", "X3TT"):  # the round's own unit, a withheld unit, a desk ranked in no block
            with self.subTest(unit=key):
                self.assertNotIn('data-testid="block-rank"', self.page(key).content.decode())

    def test_the_unit_page_is_vietnamese_on_the_vietnamese_ui(self):
        client = Client()
        client.force_login(self.head20)
        html = client.get(f"/scores/{self.now.pk}/20.H1.X1/").content.decode()
        self.assertIn(">Hạng 2/4 xã, phường</a> · tăng 1 bậc</dd>", html)

    def test_the_api_gives_the_block_and_the_place(self):
        def block(code):
            return self.client.get(f"/api/v1/scores/{self.now.pk}/{code}").json()["block"]

        self.assertEqual(block("20.H1.X1"), {"key": "communes", "rank": 2, "rank_of": 4, "change_places": 1})
        self.assertEqual(block("20.TT.CA"), {"key": "vertical", "rank": 2, "rank_of": 2, "change_places": None})
        self.assertEqual(block("20.X5"), {"key": "communes", "rank": None, "rank_of": None, "change_places": None})
        self.assertIsNone(block("20"))
        self.assertIsNone(block("20.X3.TT"))

    def test_the_report_and_its_pdf_give_the_place_in_the_block(self):
        from scoring import pdf
        from scoring.report import unit_report
        from tests.scoring.test_report import pdf_text

        html = self.page("X1", "report/").content.decode()
        self.assertIn('data-testid="block-rank">2nd of 4 communes and wards, up 1 place</dd>', html)
        self.assertEqual(self.page("X1", "report.pdf").status_code, 200)
        report = unit_report(survey_round=self.now, unit=self.u["X1"], language="en")
        text = pdf_text(pdf.report_pdf(report, compress=False))
        self.assertIn("Rank in its block", text)
        self.assertIn("2nd of 4 communes and wards, up 1 place", text)
        self.assertNotIn('data-testid="block-rank"', self.page(None, "report/").content.decode())

    def test_the_docx_ranks_the_units_below_in_a_table_a_block(self):
        from docx import Document

        client = Client()
        client.force_login(self.head20)
        response = client.get(f"/scores/{self.now.pk}/20/report.docx")
        document = Document(io.BytesIO(response.content))
        texts = [p.text for p in document.paragraphs]
        grids = [t for t in document.tables if t.style is not None and t.style.name == "Table Grid"]
        self.assertEqual([text for text in texts if text.startswith("Khối")], [
            "Khối sở, ban, ngành và trung tâm", "Khối UBND cấp xã, phường, đặc khu",
            "Khối cơ quan ngành dọc (công an, thuế, bảo hiểm xã hội)", "Khối cấp huyện (trước ngày 1/7/2025)"])
        ranking = [[[c.text for c in row.cells] for row in t.rows] for t in grids
                   if t.rows[0].cells[0].text == "Đơn vị"]
        self.assertEqual(len(ranking), 4)  # departments, communes, vertical agencies, districts
        departments, communes = ranking[0], ranking[1]
        self.assertEqual([(row[0], row[-2]) for row in departments[1:]], [
            ("Sở Tư pháp (20.STP)", "1/3"), ("Trung tâm Phục vụ hành chính công (20.TT)", "2/3"),
            ("Sở Y tế (20.SYT)", "3/3")])
        # communes one level deeper ranked with the others; the tie shares 3rd (by name, as in the league
        # table); withheld X5 last, unranked
        self.assertEqual([(row[0], row[-2]) for row in communes[1:5]], [
            ("Xã Đông (20.X4)", "1/4"), ("Xã Bình An (20.H1.X1)", "2/4"), ("Phường Cầu Kho (20.X3)", "3/4"),
            ("Xã An Phú (20.H1.X2)", "3/4")])
        self.assertEqual(communes[5][0], "Xã Tây (20.X5)")
        self.assertNotIn("20.X3.TT", str(ranking))

    def test_a_communes_docx_says_its_place_in_the_block(self):
        from docx import Document

        client = Client()
        client.force_login(self.head20)
        document = Document(io.BytesIO(client.get(f"/scores/{self.now.pk}/20.H1.X1/report.docx").content))
        self.assertIn("Xếp hạng trong khối: Hạng 2/4 xã, phường, tăng 1 bậc.",
                      [p.text.strip() for p in document.paragraphs])


class BlockPlaceCostTests(TwoRoundsTestCase):
    """A unit's page, report and API read its place in the block from the places kept for the round's
    last run (and the previous round's), not from every stored score of the round."""

    def test_a_units_place_reads_no_score_once_the_runs_places_are_kept(self):
        ranking.block_place(self.now, self.u["X1"])  # the first read after the run ranks every unit
        with CaptureQueriesContext(connection) as queries:
            place = ranking.block_place(self.now, self.u["X4"])
        self.assertEqual(place, ranking.Place("communes", 1, 4, 1))
        # the previous round, the two rounds' last runs: no query of the stored scores
        self.assertEqual(len(queries), 2, [q["sql"] for q in queries])
        self.assertFalse([q["sql"] for q in queries if UnitScore._meta.db_table in q["sql"]])

    def test_every_units_kept_place_is_the_one_block_places_gives(self):
        units = {unit_id: Unit.objects.get(pk=unit_id) for unit_id in block_places(self.now)}
        kept = {unit_id: ranking.block_place(self.now, unit) for unit_id, unit in units.items()}
        self.assertEqual(kept, block_places(self.now))
        self.assertIsNone(ranking.block_place(self.now, self.u["X3TT"]))  # a desk ranked in no block

    def test_a_new_run_of_the_round_or_of_the_previous_round_gives_new_places(self):
        self.assertEqual(ranking.block_place(self.now, self.u["X4"]), ranking.Place("communes", 1, 4, 1))
        run = ScoreRun.objects.create(round=self.now, status=ScoreRun.Status.DONE)
        UnitScore.objects.filter(round=self.now, unit=self.u["X5"]).update(
            run=run, n=40, enough=True, withheld="", headline=99.0)
        self.assertEqual(ranking.block_place(self.now, self.u["X4"]), ranking.Place("communes", 2, 5, 0))

        run = ScoreRun.objects.create(round=self.before, status=ScoreRun.Status.DONE)
        UnitScore.objects.filter(round=self.before, unit=self.u["X4"]).update(run=run, headline=95.0)
        self.assertEqual(ranking.block_place(self.now, self.u["X4"]), ranking.Place("communes", 2, 5, -1))

    def test_with_redis_down_the_place_is_still_given(self):
        from django.test import override_settings

        from tests.security.test_hardening import REDIS_DOWN

        with override_settings(CACHES=REDIS_DOWN), self.assertLogs("scoring.ranking", "WARNING"):
            self.assertEqual(ranking.block_place(self.now, self.u["X1"]), ranking.Place("communes", 2, 4, 1))
