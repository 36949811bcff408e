"""The department heads' score pages: the unit page, the round overview, recompute and its status."""

import re
import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import Client
from django.utils import timezone

from fieldwork.services import round_close, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from scoring import selectors, wording
from scoring.models import ScoreRun, UnitScore
from scoring.services import scores_for_api
from tests.base import EnglishClient, make_unit
from tests.fieldwork.base import full_answers
from tests.scoring.test_selectors import ScoredRoundTestCase, compute, insert_responses
from tests.workers import celery_worker
from units.models import Role, Unit


def one_decimal(value):
    """As the pages write a percentage: one decimal rounded half up, a dash where there is none."""
    return "—" if value is None else str(Decimal(repr(value)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def section(html, testid):
    """The element marked data-testid="…" (up to its closing tag of the same kind), as text."""
    match = re.search(rf'<(\w+)[^>]*data-testid="{re.escape(testid)}"', html)
    assert match, f"no element with data-testid={testid}"
    tag = match.group(1)
    end = html.index(f"</{tag}>", match.end())
    return html[match.start():end]


def rows_of(table_html):
    return re.findall(r'<tr[^>]*data-unit="([^"]+)"', table_html)


class PageTestCase(ScoredRoundTestCase):
    def unit_url(self, code, survey_round=None, query=""):
        return f"/scores/{(survey_round or self.round).pk}/{code}/{query}"

    def open_as(self, user, url):
        self.client.force_login(user)
        return self.client.get(url)


class ScopingTests(PageTestCase):
    def test_a_unit_without_scores_says_so(self):
        response = self.open_as(self.province_head, self.unit_url("02299"))

        self.assertContains(response, "No scores have been computed for this unit in this round yet.")
        self.assertNotContains(response, 'data-testid="headline"')

    def test_the_head_of_a_commune_opens_their_commune_and_the_units_below_it(self):
        for code in ("02212", "02212.TTPV"):
            with self.subTest(code=code):
                response = self.open_as(self.head, self.unit_url(code))
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "SIPAS index")

    def test_the_head_of_a_commune_cannot_open_another_commune_or_the_province_by_url(self):
        for code in ("02230", "02231", "08", "10", "nonexistent"):
            with self.subTest(code=code):
                self.assertEqual(self.open_as(self.head, self.unit_url(code)).status_code, 404)

    def test_officers_and_people_of_other_provinces_get_404_on_score_pages(self):
        for user in (self.officer, self.province_officer, self.far_officer, self.nobody):
            with self.subTest(user=user.username):
                self.assertEqual(self.open_as(user, self.unit_url("02212")).status_code, 404)

    def test_an_unknown_round_is_404_and_anonymous_visitors_are_sent_to_log_in(self):
        self.assertEqual(self.open_as(self.admin, "/scores/987654/02212/").status_code, 404)
        self.client.logout()
        response = self.client.get(self.unit_url("02212"))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/accounts/login/"))

    def test_the_province_head_and_administrators_open_the_province_page(self):
        for user in (self.province_head, self.province_admin, self.admin):
            with self.subTest(user=user.username):
                self.assertEqual(self.open_as(user, self.unit_url("08")).status_code, 200)

    def test_a_head_sees_siblings_headline_and_rank_only_without_links(self):
        response = self.open_as(self.head, self.unit_url("02212"))
        siblings = section(response.content.decode(), "siblings")
        third = selectors.unit_score(survey_round=self.round, unit=self.third_commune)

        self.assertEqual(rows_of(siblings), ["02212", "02231", "02230", "02299"])
        row = re.search(r'data-unit="02231".*?</tr>', siblings, re.S).group(0)
        self.assertIn(one_decimal(third.headline), row)
        self.assertIn("2nd of 2", row)
        self.assertNotIn("href", siblings)  # no way into a sibling's page
        self.assertEqual(row.count("<td"), 3)  # name, headline, rank: nothing else
        self.assertIn("28 responses, fewer than the 30 needed", siblings)

    def test_the_breadcrumb_links_only_to_pages_the_user_may_open(self):
        response = self.open_as(self.head, self.unit_url("02212.TTPV"))
        crumbs = re.search(r'<ol class="breadcrumb">.*?</ol>', response.content.decode(), re.S).group(0)

        self.assertIn(f'href="/scores/{self.round.pk}/02212/"', crumbs)
        self.assertNotIn(f'href="/scores/{self.round.pk}/08/"', crumbs)
        self.assertIn(self.province.name, crumbs)


class FiguresTests(PageTestCase):
    def test_the_headline_factors_and_items_are_the_score_apis(self):
        api = scores_for_api(survey_round=self.round, unit=self.commune)
        response = self.open_as(self.head, self.unit_url("02212"))
        html = response.content.decode()

        self.assertEqual(re.sub(r"<[^>]+>", "", section(html, "headline")), one_decimal(api["headline"]["value"]) + "%")
        low, high = api["headline"]["ci"]
        self.assertContains(response, f"95% interval {one_decimal(low)}–{one_decimal(high)}")
        self.assertContains(response, f"n = {api['n']} responses")
        factors = section(html, "factors")
        for code, factor in api["factors"].items():
            row = re.search(rf"{code}</span>.*?</tr>", factors, re.S).group(0)
            self.assertIn(one_decimal(factor["value"]), row)
            self.assertIn(one_decimal(factor["general"]["rate"]), row)
        items = section(html, "items")
        for code in re.findall(r'data-code="([^"]+)"', items):
            row = re.search(rf'data-code="{re.escape(code)}".*?</tr>', items, re.S).group(0)
            item = api["items"][code]
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]
            self.assertEqual(cells[2:5], [str(item["n"]), str(item["satisfied"]), one_decimal(item["rate"])])
            low, high = item["ci"] or (None, None)
            self.assertEqual(cells[5], f"{one_decimal(low)}–{one_decimal(high)}" if item["ci"] else "—")

    def test_items_are_listed_weakest_first(self):
        html = self.open_as(self.head, self.unit_url("02212")).content.decode()
        codes = re.findall(r'data-code="([^"]+)"', section(html, "items"))
        api = scores_for_api(survey_round=self.round, unit=self.commune)

        rates = [api["items"][code]["rate"] for code in codes]
        known = [rate for rate in rates if rate is not None]
        self.assertEqual(rates, sorted(known) + [None] * (len(rates) - len(known)))  # no valid answer: last
        self.assertEqual(rates[-4:], [None] * 4)  # F5: nobody gave feedback
        self.assertEqual(codes[0], "F1.1")  # 24 of 40 answered 2
        self.assertNotIn("G.0", codes)  # the headline item is the headline, not a criterion

    def test_indicators_and_expectations_are_shown_with_their_labels(self):
        response = self.open_as(self.head, self.unit_url("02212"))
        html = response.content.decode()
        api = scores_for_api(survey_round=self.round, unit=self.commune)

        indicators = section(html, "indicators")
        self.assertIn("Were you asked to pay anything beyond the official fees and charges?", indicators)
        no_share = one_decimal(api["indicators"]["E.EXTRA_PAY"]["no"])
        self.assertRegex(indicators, rf'data-option="E.EXTRA_PAY:no">.*?{no_share}%')
        expectations = section(html, "expectations")
        self.assertLess(expectations.index("Shorten processing time"), expectations.index("Lower fees and charges"))
        self.assertIn("75.0%", expectations)  # 24 of the 32 who answered

    def test_the_factor_chart_is_an_inline_svg_with_the_same_values(self):
        api = scores_for_api(survey_round=self.round, unit=self.commune)
        response = self.open_as(self.head, self.unit_url("02212"))

        self.assertContains(response, 'role="img"')
        self.assertContains(response, f'{one_decimal(api["factors"]["F1"]["value"])}%</text>')

    def test_the_vietnamese_page_uses_the_vietnamese_texts_and_decimal_comma(self):
        self.client = Client()  # no language asked: Vietnamese
        response = self.open_as(self.head, self.unit_url("02212"))

        self.assertContains(response, "Nơi ngồi chờ có đủ chỗ ngồi.")
        self.assertContains(response, "80,0")


class TooFewResponsesTests(PageTestCase):
    def test_sub_units_below_the_minimum_are_greyed_with_the_reason_and_no_rates(self):
        html = self.open_as(self.province_head, self.unit_url("08")).content.decode()
        children = section(html, "children")
        row = re.search(r'<tr class="score-muted" data-unit="02230".*?</tr>', children, re.S).group(0)
        stored = selectors.unit_score(survey_round=self.round, unit=self.other_commune)

        self.assertIn("28 responses, fewer than the 30 needed", row)
        self.assertNotIn(one_decimal(stored.headline), row)
        self.assertNotRegex(row, r"\d+\.\d")  # no rate of any kind
        self.assertIn("no responses", re.search(r'data-unit="02299".*?</tr>', children, re.S).group(0))

    def test_a_unit_below_the_minimum_shows_why_and_none_of_its_rates(self):
        response = self.open_as(self.other_head, self.unit_url("02230"))
        html = response.content.decode()

        self.assertContains(response, "Only 28 valid responses: at least 30 are needed before figures are shown.")
        for testid in ("headline", "factors", "items", "indicators", "expectations"):
            self.assertNotIn(f'data-testid="{testid}"', html)
        self.assertNotIn("100.0", html)  # its (untrustworthy) rates are all 100


class ChangeAndRankTests(PageTestCase):
    def test_the_page_shows_change_and_rank_against_the_previous_round(self):
        round_close(survey_round=self.round)
        later = round_create(name="Quý I/2027", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
        insert_responses(later, self.commune, full_answers(**{"G.0": 2}), count=30)  # 0 %, was 80 %
        insert_responses(later, self.third_commune, full_answers(), count=30)  # 100 %, was 51.4 %
        compute(later)
        third_before = selectors.unit_score(survey_round=self.round, unit=self.third_commune).headline

        html = self.open_as(self.head, self.unit_url("02212", later)).content.decode()
        self.assertIn("−80.0 points, down 1 place", section(html, "change"))
        self.assertIn("2nd of 2", section(html, "rank"))
        province = self.open_as(self.province_head, self.unit_url("08", later)).content.decode()
        third = re.search(r'data-unit="02231".*?</tr>', section(province, "children"), re.S).group(0)
        self.assertIn(f"+{one_decimal(100 - third_before)} points, up 1 place", third)
        self.assertIn("across rounds", province)
        self.assertIn("Quý IV/2026", province)  # the trend chart's earlier round


class SortingTests(PageTestCase):
    def order(self, query):
        html = self.open_as(self.province_head, self.unit_url("08", query=query)).content.decode()
        return rows_of(section(html, "children"))

    def test_sub_units_are_in_rank_order_by_default_with_units_without_figures_last(self):
        self.assertEqual(self.order(""), ["02212", "02231", "02230", "02299"])

    def test_each_column_sorts_and_sorting_again_reverses_it(self):
        self.assertEqual(self.order("?sort=-index"), ["02231", "02212", "02230", "02299"])
        self.assertEqual(self.order("?sort=index"), ["02212", "02231", "02230", "02299"])
        self.assertEqual(self.order("?sort=-rank"), ["02231", "02212", "02230", "02299"])
        self.assertEqual(self.order("?sort=F1"), ["02231", "02212", "02230", "02299"])  # 02212 is weak on F1.1
        self.assertEqual(self.order("?sort=name"), ["02212", "02231", "02230", "02299"])  # Sơn Dương < Thứ Ba

    def test_names_sort_as_vietnamese_readers_expect(self):
        names = ["Xã Yên Sơn", "Phường Đông Hà", "Xã Ẩn Danh", "Phường Minh Xuân", "Xã An Khánh", "Xã Bình An"]

        self.assertEqual(sorted(names, key=wording.name_key),  # Đ among the Ds, Ẩn before B
                         ["Phường Đông Hà", "Phường Minh Xuân", "Xã Ẩn Danh", "Xã An Khánh", "Xã Bình An",
                          "Xã Yên Sơn"])

    def test_units_without_figures_stay_last_whatever_the_sort(self):
        for query in ("?sort=n", "?sort=-n", "?sort=-name", "?sort=change"):
            with self.subTest(query=query):
                self.assertEqual(self.order(query)[-2:], ["02230", "02299"])

    def test_an_unknown_sort_falls_back_to_rank(self):
        self.assertEqual(self.order("?sort=headline;drop"), ["02212", "02231", "02230", "02299"])

    def test_the_headers_link_to_the_other_direction_and_say_which_is_current(self):
        html = self.open_as(self.province_head, self.unit_url("08", query="?sort=index")).content.decode()

        self.assertRegex(html, r'aria-sort="descending">\s*<a[^>]*href="\?sort=-index"')
        self.assertIn('href="?sort=name"', html)


class QueryCountTests(PageTestCase):
    """Pages read the stored scores with a fixed number of queries, whatever the number of units."""

    def add_communes(self, count):
        for i in range(count):
            unit = make_unit(f"0250{i:02d}", self.province)
            insert_responses(self.round, unit, full_answers(), count=30 if i % 2 else 3)
        compute(self.round)

    def assert_fixed_queries(self, user, url, expected, after_first=False):
        """``after_first``: counted on the second view after each run (the first ranks the round's
        units in their blocks and keeps their places: scoring.ranking.block_place)."""
        self.client.force_login(user)
        if after_first:
            self.client.get(url)
        with self.assertNumQueries(expected):
            self.assertEqual(self.client.get(url).status_code, 200)
        self.add_communes(27)  # 3 sub-units (with scores) become 30
        if after_first:
            self.client.get(url)
        with self.assertNumQueries(expected):
            response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        return response

    def test_the_province_page_runs_12_queries_with_3_and_with_30_sub_units(self):
        # session, user, round, the head's role on the round's unit, the unit, its score, the
        # sub-units' scores, the sub-units, the trend, the collection-channel cells, the export
        # links' fieldwork permission, the responses flagged by the integrity checks (none)
        response = self.assert_fixed_queries(self.province_head, self.unit_url("08"), 12)

        self.assertEqual(len(rows_of(section(response.content.decode(), "children"))), 31)

    def test_a_commune_page_with_its_siblings_runs_18_queries_with_3_and_with_30_siblings(self):
        # session, user, round, the head's role on the round's unit (none), their roles inside it,
        # the unit, its score, the sub-units' scores, the sub-units, the siblings' scores, the
        # siblings, the trend, the breadcrumb, the collection-channel cells, the export links'
        # fieldwork permission; the place in
        # its block, kept for the round's last run: the previous round (none here), the last runs
        # (none of the round's scores); the responses flagged by the integrity checks (none)
        response = self.assert_fixed_queries(self.head, self.unit_url("02212"), 18, after_first=True)

        self.assertEqual(len(rows_of(section(response.content.decode(), "siblings"))), 31)

    def test_the_round_overview_runs_11_queries_with_3_and_with_30_sub_units(self):
        # session, user, round, the officer's role on the round's unit, the recompute permission,
        # the unit's score, the last run, the last done run, the sub-units' scores, the sub-units,
        # the scores permission (links to the unit pages)
        response = self.assert_fixed_queries(self.province_officer, f"/scores/{self.round.pk}/", 11)

        # the 30 sub-units, 02212 and the forms collected at the province itself
        self.assertEqual(len(rows_of(section(response.content.decode(), "sources"))), 32)

    def test_the_rounds_list_and_the_status_are_fixed_too(self):
        self.client.force_login(self.head)
        with self.assertNumQueries(5):  # session, user, roles, rounds, which rounds have scores
            self.client.get("/scores/")
        with self.assertNumQueries(7):  # session, user, round, role on it (none), roles in it, fieldwork, last run
            self.client.get(f"/scores/{self.round.pk}/status")


class OverviewTests(PageTestCase):
    def overview(self, user, query=""):
        return self.open_as(user, f"/scores/{self.round.pk}/{query}")

    def test_officers_and_heads_see_where_responses_come_from(self):
        for user in (self.province_officer, self.province_head, self.province_admin):
            with self.subTest(user=user.username):
                response = self.overview(user)
                self.assertEqual(response.status_code, 200)
                sources = section(response.content.decode(), "sources")
                # most responses first; the 30 forms collected at the province itself are a row too
                self.assertEqual(rows_of(sources), ["02212", "02231", "08", "02230", "02299"])
                self.assertIn("28 responses, fewer than the 30 needed", sources)
                self.assertIn(">40<", sources)

    def test_it_says_how_fresh_the_scores_are(self):
        response = self.overview(self.province_officer)

        self.assertRegex(section(response.content.decode(), "freshness"),
                         r"Computed (just now|\d+\xa0minutes? ago) from 133 responses\.")

    def test_a_commune_officer_sees_their_commune_part_only_and_far_people_nothing(self):
        response = self.overview(self.officer)
        self.assertEqual(response.status_code, 200)
        self.assertRegex(section(response.content.decode(), "freshness"), r"from 40 responses")  # not 133
        self.assertEqual(rows_of(section(response.content.decode(), "sources")), ["02212.TTPV", "02212"])
        self.assertNotContains(response, "Xã Thứ Ba")
        self.assertEqual(self.overview(self.officer, "?unit=02231").status_code, 404)
        for user in (self.far_officer, self.nobody):
            self.assertEqual(self.overview(user).status_code, 404)

    def test_only_officers_and_administrators_of_the_round_unit_get_the_recompute_button(self):
        self.assertContains(self.overview(self.province_officer), 'data-testid="recompute"')
        self.assertContains(self.overview(self.province_admin), 'data-testid="recompute"')
        self.assertNotContains(self.overview(self.province_head), 'data-testid="recompute"')
        self.assertNotContains(self.overview(self.officer), 'data-testid="recompute"')

    def test_a_failed_run_shows_its_error_to_officers_only(self):
        ScoreRun.objects.create(round=self.round, status=ScoreRun.Status.FAILED, reason="beat",
                                finished_at=timezone.now(), error="ZeroDivisionError: boom")

        officer_page = self.overview(self.province_officer)
        self.assertContains(officer_page, "The last recompute failed")
        self.assertContains(officer_page, "ZeroDivisionError: boom")
        head_page = self.overview(self.province_head)
        self.assertContains(head_page, "The last recompute failed")
        self.assertNotContains(head_page, "ZeroDivisionError")

    def test_a_queued_run_shows_progress_and_refreshes_without_javascript(self):
        ScoreRun.objects.create(round=self.round, status=ScoreRun.Status.QUEUED, reason="page")

        response = self.overview(self.province_head)

        self.assertContains(response, '<noscript><meta http-equiv="refresh" content="10"></noscript>', html=False)
        self.assertContains(response, "A recompute is queued")
        self.assertContains(response, 'data-active="1"')
        self.assertContains(response, "scoring/status.js")


class RecomputeTests(PageTestCase):
    def recompute_as(self, user, client=None):
        client = client or self.client
        client.force_login(user)
        return client.post(f"/scores/{self.round.pk}/recompute")

    def test_an_officer_of_the_round_unit_queues_a_run(self):
        response = self.recompute_as(self.province_officer)

        self.assertRedirects(response, f"/scores/{self.round.pk}/", fetch_redirect_response=False)
        run = ScoreRun.objects.get(round=self.round, status=ScoreRun.Status.QUEUED)
        self.assertEqual(run.reason, "page")
        self.assertContains(self.client.get(f"/scores/{self.round.pk}/"), "Recompute queued.")

    def test_a_second_press_joins_the_queued_run(self):
        self.recompute_as(self.province_officer)
        self.recompute_as(self.province_admin)

        self.assertEqual(ScoreRun.objects.filter(round=self.round, status=ScoreRun.Status.QUEUED).count(), 1)
        self.assertContains(self.client.get(f"/scores/{self.round.pk}/"), "A recompute is already queued")

    def test_heads_commune_officers_and_strangers_cannot_recompute(self):
        for user in (self.province_head, self.head, self.officer, self.far_officer, self.nobody):
            with self.subTest(user=user.username):
                self.assertEqual(self.recompute_as(user).status_code, 404)
        self.assertFalse(ScoreRun.objects.filter(round=self.round, status=ScoreRun.Status.QUEUED).exists())

    def test_it_needs_a_post_with_a_csrf_token(self):
        strict = EnglishClient(enforce_csrf_checks=True)
        self.assertEqual(self.recompute_as(self.province_officer, client=strict).status_code, 403)
        self.assertEqual(strict.get(f"/scores/{self.round.pk}/recompute").status_code, 405)
        self.assertFalse(ScoreRun.objects.filter(round=self.round, status=ScoreRun.Status.QUEUED).exists())

        page = strict.get(f"/scores/{self.round.pk}/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.split('data-testid="recompute"')[0]
                          .rsplit("<form", 1)[1]).group(1)
        response = strict.post(f"/scores/{self.round.pk}/recompute", {"csrfmiddlewaretoken": token})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(ScoreRun.objects.filter(round=self.round, status=ScoreRun.Status.QUEUED).exists())


class StatusTests(PageTestCase):
    def status(self, user):
        self.client.force_login(user)
        return self.client.get(f"/scores/{self.round.pk}/status")

    def test_it_reports_the_last_run(self):
        response = self.status(self.province_head)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "private, no-store")
        body = response.json()
        self.assertEqual((body["status"], body["active"], body["run"]), ("done", False, self.score_run.pk))
        self.assertEqual(body["units_done"], body["units_total"])
        self.assertEqual(body["responses_used"], 133)

    def test_a_running_run_reports_its_progress(self):
        ScoreRun.objects.create(round=self.round, status=ScoreRun.Status.RUNNING, reason="page",
                                started_at=timezone.now(), units_done=3, units_total=8)

        body = self.status(self.officer).json()  # a commune officer may follow it too

        self.assertEqual((body["status"], body["active"], body["units_done"], body["units_total"]),
                         ("running", True, 3, 8))

    def test_someone_who_sees_part_of_the_round_is_not_told_its_response_count(self):
        self.assertIsNone(self.status(self.officer).json()["responses_used"])
        self.assertEqual(self.status(self.province_officer).json()["responses_used"], 133)

    def test_the_error_of_a_failed_run_is_for_officers_only(self):
        ScoreRun.objects.create(round=self.round, status=ScoreRun.Status.FAILED, reason="beat", error="boom")

        self.assertEqual(self.status(self.province_officer).json()["error"], "boom")
        self.assertNotIn("error", self.status(self.province_head).json())

    def test_strangers_get_404(self):
        for user in (self.far_officer, self.nobody):
            self.assertEqual(self.status(user).status_code, 404)


class HomeTests(PageTestCase):
    def test_the_home_page_and_the_menu_lead_to_the_scores(self):
        response = self.open_as(self.head, "/")

        self.assertContains(response, 'href="/scores/"', count=2)

    def test_a_head_finds_the_round_and_their_unit_page(self):
        response = self.open_as(self.head, "/scores/")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'href="/scores/{self.round.pk}/02212/"')
        self.assertNotContains(response, f'href="/scores/{self.round.pk}/08/"')

    def test_an_officer_gets_the_overview_but_no_score_page(self):
        response = self.open_as(self.officer, "/scores/")

        self.assertContains(response, f'href="/scores/{self.round.pk}/?unit=02212"')
        self.assertNotContains(response, f'href="/scores/{self.round.pk}/02212/"')

    def test_someone_without_a_role_is_told_there_is_nothing_to_see(self):
        self.assertContains(self.open_as(self.nobody, "/scores/"), "There are no survey rounds with scores")


class ServicesVersionTests(PageTestCase):
    def test_a_services_round_calls_its_headline_the_services_index_with_an_approximate_interval(self):
        round_close(survey_round=self.round)
        services = round_create(name="Dịch vụ 2027", questionnaire_code="sipas-2023-services", unit_code="08",
                                open_now=True)
        insert_responses(services, self.commune, full_answers("sipas-2023-services"), count=30)
        compute(services)
        api = scores_for_api(survey_round=services, unit=self.commune)

        response = self.open_as(self.head, self.unit_url("02212", services))

        self.assertContains(response, "Services index")
        self.assertNotContains(response, "SIPAS index")
        self.assertContains(response, "(approximate)")
        html = response.content.decode()
        self.assertEqual(re.sub(r"<[^>]+>", "", section(html, "headline")), one_decimal(api["headline"]["value"]) + "%")
        self.assertNotIn("In general", section(html, "factors"))  # this version has no "in general" items


class WeightedHeadlineTests(PageTestCase):
    def test_the_weighted_figure_is_shown_beside_the_headline_and_labelled_as_ours(self):
        # A rendering edge case: the engine computes it only with a dossier list (see test_engine).
        scores = UnitScore.objects.filter(round=self.round, unit=self.commune)
        scores.update(weighted_headline=77.777)

        response = self.open_as(self.head, self.unit_url("02212"))

        self.assertContains(response, "Weighted by service field (our addition, not the official figure)")
        self.assertEqual(section(response.content.decode(), "weighted").split(">")[-1], "77.8%")

    def test_without_a_weighted_figure_nothing_is_said_about_it(self):
        self.assertNotContains(self.open_as(self.head, self.unit_url("02212")), "Weighted by service field")


class OverviewScopeTests(PageTestCase):
    def test_a_commune_head_opens_the_overview_at_their_commune_and_not_elsewhere(self):
        response = self.open_as(self.head, f"/scores/{self.round.pk}/")

        self.assertEqual(rows_of(section(response.content.decode(), "sources")), ["02212.TTPV", "02212"])
        self.assertContains(response, f'href="/scores/{self.round.pk}/02212/"')  # to their own score page
        self.assertEqual(self.open_as(self.head, f"/scores/{self.round.pk}/?unit=02212.TTPV").status_code, 200)
        for code in ("08", "02230", "10", "nonexistent"):
            with self.subTest(code=code):
                self.assertEqual(self.open_as(self.head, f"/scores/{self.round.pk}/?unit={code}").status_code, 404)


@pytest.mark.django_db(transaction=True)
def test_recompute_now_is_run_by_a_real_worker_and_the_status_follows_it(django_user_model):
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune = make_unit("02212", province)
    officer = django_user_model.objects.create_user("officer")
    Role.objects.create(user=officer, unit=province, kind=Role.Kind.OFFICER)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    insert_responses(survey_round, commune, full_answers(), count=31)
    client = EnglishClient()
    client.force_login(officer)

    with celery_worker():
        assert client.post(f"/scores/{survey_round.pk}/recompute").status_code == 302
        assert client.get(f"/scores/{survey_round.pk}/status").json()["status"] in ("queued", "running", "done")
        deadline = time.monotonic() + 60
        while (status := client.get(f"/scores/{survey_round.pk}/status").json())["active"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)

    assert (status["status"], status["responses_used"], status["units_done"]) == ("done", 31, 2)
    page = client.get(f"/scores/{survey_round.pk}/").content.decode()
    assert "from 31 responses" in page
    assert "<noscript><meta http-equiv" not in page  # nothing left to wait for
