"""The survey officers' response browser: the list and its filters, scoping, the short id, a
response's answers as labels, and excluding and restoring from its page."""

import copy
import csv
import datetime
import io
import re
import uuid
from types import SimpleNamespace
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldwork import selectors
from fieldwork.exclusions import response_exclude
from fieldwork.ids import uuid7
from fieldwork.models import Exclusion, ExclusionLog, Response, ResponseChange
from fieldwork.paper import paper_import_csv, paper_submit, paper_template_csv
from fieldwork.responses import response_submit
from fieldwork.services import kiosk_create, round_create
from questionnaires.answers import pack_answers
from questionnaires.definition import Definition
from tests.base import make_user
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.fieldwork.test_exclusions import straight_answers
from units.models import Role

COMMENT = "<script>alert('x')</script> Cán bộ & \"nhiệt tình\"\nDòng hai"


def upload(text):
    return SimpleUploadedFile("forms.csv", ("\ufeff" + text).encode())


def imported_csv(survey_round, unit_code, day, answers, form_id=""):
    """A one-row file of the paper import, as the round's template lays it out."""
    header = next(csv.reader(io.StringIO(paper_template_csv(survey_round=survey_round))))
    cells = {"unit_code": unit_code, "form_date": day.isoformat(), "form_id": str(form_id),
             **{code: ";".join(v) if isinstance(v, list) else str(v) for code, v in answers.items()}}
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, [cells.get(column, "") for column in header]])
    return out.getvalue()


class BrowserTestCase(KioskTestCase):
    """Responses of round 08 (newest first):

    kiosk     commune        1 h ago, 3 minutes     (kiosk "Quầy 1")
    fast      commune        2 h ago, 20 seconds    too fast
    straight  commune        3 h ago                straight-lining
    form      commune        4 h ago                the kiosk's form without JavaScript
    entered   other_commune  5 days ago             paper typed in, with a comment; excluded (duplicate)
    imported  commune_centre 10 days ago            paper imported
    over      other_commune  20 days ago            over quota (written directly)
    """

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        now = timezone.now()
        cls.kiosk_response = cls.submit(now - datetime.timedelta(hours=1), 180)
        cls.fast = cls.submit(now - datetime.timedelta(hours=2), 20)
        cls.straight = cls.submit(now - datetime.timedelta(hours=3), 200, answers=straight_answers())
        cls.form = cls.submit(now - datetime.timedelta(hours=4), 150, channel=Response.Channel.WEB)
        today = timezone.localdate()
        cls.entered = paper_submit(
            survey_round=cls.round, unit=cls.other_commune, form_id=uuid7(), form_date=today - datetime.timedelta(5),
            answers=full_answers(**{"C.COMMENT": COMMENT, "D.GENDER": "female", "X.EXPECT": ["shorten_time",
                                                                                            "staff_attitude"]}),
        ).response
        paper_import_csv(survey_round=cls.round, text=imported_csv(
            cls.round, "02212.TTPV", today - datetime.timedelta(10), full_answers()))
        cls.imported = Response.objects.get(unit=cls.commune_centre)
        when = now - datetime.timedelta(days=20)
        cls.over = Response.objects.create(
            id=uuid7(), round=cls.round, unit=cls.other_commune, channel=Response.Channel.PAPER,
            paper_entry=Response.PaperEntry.TYPED, language="vi",
            submitted_at=when, received_at=when, over_quota=True,
            answers=pack_answers(cls.round.questionnaire.parsed, full_answers()).slots)
        response_exclude(response=cls.entered, reason="duplicate", note="same as the form before", user=cls.admin)
        cls.newest_first = [cls.kiosk_response, cls.fast, cls.straight, cls.form, cls.entered, cls.imported, cls.over]

        # Another province's round, with one response.
        cls.far_round = round_create(name="Lào Cai 2026", questionnaire_code="sipas-2017", unit_code="10",
                                     open_now=True)
        cls.far_kiosk, _ = kiosk_create(unit=cls.another_province, name="Quầy Lào Cai")
        cls.far_response = paper_submit(survey_round=cls.far_round, unit=cls.another_province, form_id=uuid7(),
                                        form_date=today, answers=full_answers()).response

    @classmethod
    def submit(cls, submitted, seconds, answers=None, channel=Response.Channel.KIOSK):
        payload = {
            "id": str(uuid7()), "round": cls.round.pk, "questionnaire": "sipas-2017",
            "started_at": (submitted - datetime.timedelta(seconds=seconds)).isoformat(),
            "submitted_at": submitted.isoformat(), "language": "vi", "answers": answers or full_answers(),
        }
        return response_submit(unit=cls.commune, payload=payload, kiosk=cls.kiosk, channel=channel).response

    def setUp(self):
        self.client.force_login(self.province_officer)

    def list_url(self, survey_round=None):
        return reverse("fieldwork:responses", args=[(survey_round or self.round).pk])

    def detail_url(self, response, survey_round=None):
        return reverse("fieldwork:response", args=[(survey_round or self.round).pk, response.pk])

    def listed(self, user=None, **query):
        if user is not None:
            self.client.force_login(user)
        page = self.client.get(self.list_url(), query)
        self.assertEqual(page.status_code, 200, page.context and page.context["form"].errors)
        return [row.pk for row in page.context["page"].rows]


class ListTests(BrowserTestCase):
    def test_it_lists_the_rounds_responses_newest_first_with_short_ids(self):
        page = self.client.get(self.list_url())

        self.assertEqual([r.pk for r in page.context["page"].rows], [r.pk for r in self.newest_first])
        for response in self.newest_first:
            short = response.pk.hex[-8:]
            self.assertContains(page, f'{self.detail_url(response)}?back=')
            self.assertContains(page, f">{short}</a>")
        self.assertContains(page, "7 responses match.")
        self.assertNotIn(self.far_response.pk, [r.pk for r in page.context["page"].rows])

    def test_each_row_shows_time_unit_channel_kiosk_flags_and_exclusion(self):
        html = self.client.get(self.list_url()).content.decode()
        rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
        text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]

        local = timezone.localtime(self.kiosk_response.submitted_at).strftime("%d/%m/%Y %H:%M")
        self.assertIn(local, text[0])
        self.assertIn("Xã Sơn Dương 02212 Kiosk Quầy 1 — included", text[0])
        self.assertIn("too fast", text[1])
        self.assertIn("straight-lining", text[2])
        self.assertIn("Form without JavaScript Quầy 1", text[3])
        day = (timezone.localdate() - datetime.timedelta(5)).strftime("%d/%m/%Y")
        self.assertIn(f"{day} Phường Minh Xuân 02230 Paper form, typed in — — excluded duplicate", text[4])
        self.assertIn("Paper form, imported", text[5])
        self.assertIn("over quota", text[6])

    def test_the_unit_filter_takes_the_unit_with_its_sub_units(self):
        self.assertEqual(self.listed(unit="02212"), [r.pk for r in (self.kiosk_response, self.fast, self.straight,
                                                                  self.form, self.imported)])
        self.assertEqual(self.listed(unit="02212.TTPV"), [self.imported.pk])
        self.assertEqual(self.listed(unit="02230"), [self.entered.pk, self.over.pk])

    def test_the_day_and_date_range_filters_take_the_days_the_forms_were_completed(self):
        today = timezone.localdate()
        five = (today - datetime.timedelta(5)).isoformat()

        self.assertEqual(self.listed(date_from=five, date_to=five), [self.entered.pk])
        self.assertEqual(self.listed(date_from=(today - datetime.timedelta(12)).isoformat(), date_to=five),
                         [self.entered.pk, self.imported.pk])
        self.assertEqual(self.listed(date_to=(today - datetime.timedelta(11)).isoformat()), [self.over.pk])
        self.assertEqual(len(self.listed(date_from=five)), 5)

    def test_the_channel_filter_tells_kiosk_form_typed_in_and_imported_paper_apart(self):
        self.assertEqual(self.listed(source="kiosk"), [self.kiosk_response.pk, self.fast.pk, self.straight.pk])
        self.assertEqual(self.listed(source="form"), [self.form.pk])
        self.assertEqual(self.listed(source="paper_entry"), [self.entered.pk, self.over.pk])
        self.assertEqual(self.listed(source="paper_import"), [self.imported.pk])

    def test_a_paper_forms_source_is_how_it_came_in_whatever_its_ids_version(self):
        today = timezone.localdate()
        typed = paper_submit(survey_round=self.round, unit=self.commune, form_id=uuid.uuid4(), form_date=today,
                             answers=full_answers()).response  # an id the entry page did not make
        imported_id = uuid7()  # a time-ordered id given in the file's form_id column
        paper_import_csv(survey_round=self.round, text=imported_csv(self.round, "02212", today, full_answers(),
                                                                    form_id=imported_id))
        imported = Response.objects.get(pk=imported_id)

        self.assertEqual(selectors.response_source(typed), selectors.Source.PAPER_ENTRY)
        self.assertEqual(selectors.response_source(imported), selectors.Source.PAPER_IMPORT)
        self.assertIn(typed.pk, self.listed(source="paper_entry"))
        self.assertIn(imported.pk, self.listed(source="paper_import"))
        self.assertNotIn(imported.pk, self.listed(source="paper_entry"))

    def test_the_channel_in_sql_and_in_python_agree(self):
        responses = selectors.browse_responses(self.round, selectors.BrowseFilters())
        for source in selectors.Source.values:
            with self.subTest(source=source):
                chosen = selectors.browse_responses(self.round, selectors.BrowseFilters(source=source))
                self.assertEqual({r.pk for r in chosen},
                                 {r.pk for r in responses if selectors.response_source(r) == source})

    def test_the_kiosk_filter(self):
        self.assertEqual(self.listed(kiosk=str(self.kiosk.pk)), [r.pk for r in (self.kiosk_response, self.fast,
                                                                                 self.straight, self.form)])

    def test_the_flag_filters_are_the_review_queues_and_over_quota(self):
        self.assertEqual(self.listed(flag="too_fast"), [self.fast.pk])
        self.assertEqual(self.listed(flag="straight_lining"), [self.straight.pk])
        self.assertEqual(self.listed(flag="review"), [self.fast.pk, self.straight.pk])
        self.assertEqual(self.listed(flag="over_quota"), [self.over.pk])

    def test_the_exclusion_filter(self):
        self.assertEqual(self.listed(state="excluded"), [self.entered.pk])
        self.assertEqual(len(self.listed(state="included")), 6)

    def test_filters_combine(self):
        self.assertEqual(self.listed(unit="02230", source="paper_entry", state="included"), [self.over.pk])
        self.assertEqual(self.listed(unit="02212.TTPV", source="kiosk"), [])

    def test_pages_follow_each_other_both_ways_without_gaps_or_repeats(self):
        seen, query = [], {}
        with mock.patch.object(selectors, "BROWSE_PAGE_SIZE", 3):
            while True:
                page = self.client.get(self.list_url(), query).context["page"]
                seen.append([r.pk for r in page.rows])
                if not page.older:
                    break
                query = {"older": page.older}
            self.assertEqual(seen, [[r.pk for r in self.newest_first[i:i + 3]] for i in (0, 3, 6)])
            back = self.client.get(self.list_url(), {"newer": page.newer}).context["page"]
            self.assertEqual([r.pk for r in back.rows], seen[1])
            first = self.client.get(self.list_url(), {"newer": back.newer}).context["page"]
            self.assertEqual([r.pk for r in first.rows], seen[0])
            self.assertIsNone(first.newer)

    def test_the_count_stops_at_its_limit(self):
        responses = selectors.browse_responses(self.round, selectors.BrowseFilters())
        self.assertEqual(selectors.browse_count(responses, limit=5), (5, True))
        self.assertEqual(selectors.browse_count(responses, limit=7), (7, False))
        with mock.patch.object(selectors, "BROWSE_COUNT_LIMIT", 5):
            self.assertContains(self.client.get(self.list_url()), "More than 5 responses match.")

    def test_the_list_page_runs_a_fixed_number_of_queries(self):
        # session, user, round, role (whole round?), units, kiosks, the page's ids, its rows, the count
        with self.assertNumQueries(9):
            self.client.get(self.list_url())
        for i in range(5):
            self.submit(timezone.now() - datetime.timedelta(minutes=10 + i), 120)
        with self.assertNumQueries(9):
            page = self.client.get(self.list_url())
        self.assertEqual(len(page.context["page"].rows), 12)

    def test_the_list_links_the_officers_raw_export_for_the_chosen_unit(self):
        page = self.client.get(self.list_url())
        self.assertContains(page, reverse("responses-export", args=[self.round.pk, "08"]))
        self.assertContains(page, reverse("responses-export", args=[self.round.pk, "08"]) + "?part=codebook")

        page = self.client.get(self.list_url(), {"unit": "02230"})
        self.assertContains(page, reverse("responses-export", args=[self.round.pk, "02230"]))
        self.assertNotContains(page, reverse("responses-export", args=[self.round.pk, "08"]))


class SearchTests(BrowserTestCase):
    def test_a_short_id_finds_the_response(self):
        short = selectors.short_id(self.entered.pk)
        self.assertEqual(short, self.entered.pk.hex[-8:])

        self.assertEqual(self.listed(q=short), [self.entered.pk])
        self.assertEqual(self.listed(q=f"  {short.upper()} "), [self.entered.pk])

    def test_the_whole_id_finds_it_with_or_without_dashes_and_the_end_of_an_id_too(self):
        self.assertEqual(self.listed(q=str(self.imported.pk)), [self.imported.pk])
        self.assertEqual(self.listed(q=self.imported.pk.hex.upper()), [self.imported.pk])
        self.assertEqual(self.listed(q=str(self.imported.pk)[-17:]), [self.imported.pk])

    def test_a_response_of_another_round_or_outside_the_users_part_is_not_found(self):
        self.assertEqual(self.listed(q=selectors.short_id(self.far_response.pk)), [])
        self.assertEqual(self.listed(q=str(self.far_response.pk)), [])
        self.assertEqual(self.listed(user=self.officer, q=selectors.short_id(self.entered.pk)), [])

    def test_something_that_cannot_be_an_id_is_a_form_error(self):
        for text in ("xyz!", "abc", "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7", "tìm phiếu"):
            with self.subTest(text=text):
                page = self.client.get(self.list_url(), {"q": text})
                self.assertEqual(page.status_code, 400)
                self.assertContains(page, "Enter a response&#x27;s short id", status_code=400)
                self.assertIsNone(page.context["page"])


class ScopeTests(BrowserTestCase):
    def test_a_commune_officer_sees_only_their_communes_responses(self):
        listed = self.listed(user=self.officer)

        self.assertEqual(listed, [r.pk for r in (self.kiosk_response, self.fast, self.straight, self.form,
                                                 self.imported)])

    def test_a_commune_officer_cannot_choose_another_commune(self):
        self.client.force_login(self.officer)

        page = self.client.get(self.list_url(), {"unit": "02230"})

        self.assertEqual(page.status_code, 400)
        self.assertIn("unit", page.context["form"].errors)
        self.assertNotContains(page, "Phường Minh Xuân", status_code=400)

    def test_a_commune_officer_gets_404_for_a_response_of_another_commune(self):
        self.client.force_login(self.officer)

        self.assertEqual(self.client.get(self.detail_url(self.entered)).status_code, 404)
        self.assertEqual(self.client.get(self.detail_url(self.kiosk_response)).status_code, 200)

    def test_another_provinces_officer_gets_404_for_the_list_and_every_response(self):
        self.client.force_login(self.far_officer)

        self.assertEqual(self.client.get(self.list_url()).status_code, 404)
        for response in self.newest_first:
            self.assertEqual(self.client.get(self.detail_url(response)).status_code, 404)
        self.assertEqual(self.client.get(self.list_url(self.far_round)).status_code, 200)

    def test_a_response_opened_under_another_round_is_404(self):
        self.client.force_login(self.admin)

        self.assertEqual(self.client.get(self.detail_url(self.far_response)).status_code, 404)
        self.assertEqual(self.client.get(self.detail_url(self.far_response, self.far_round)).status_code, 200)

    def test_heads_and_people_without_a_role_get_404_and_visitors_log_in(self):
        for user in (self.head, self.province_head, self.nobody):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get(self.list_url()).status_code, 404)
                self.assertEqual(self.client.get(self.detail_url(self.fast)).status_code, 404)
        self.client.logout()
        self.assertIn("/login", self.client.get(self.list_url())["Location"])

    def test_excluding_through_the_page_of_a_response_outside_the_users_part_is_404(self):
        self.client.force_login(self.officer)
        url = reverse("fieldwork:response-exclude", args=[self.round.pk, self.over.pk])

        page = self.client.post(url, {"reason": "test", "confirmed": "1"})

        self.assertEqual(page.status_code, 404)
        self.assertFalse(Exclusion.objects.filter(response=self.over).exists())


class BadFilterTests(BrowserTestCase):
    BAD = [
        ("unit", "99999"), ("unit", "10"), ("date_from", "2026-13-45"), ("date_to", "hôm qua"),
        ("date_from", "99999-01-01"), ("source", "fax"), ("kiosk", "abc"), ("kiosk", "99999999999999999999999"),
        ("kiosk", "-1"), ("flag", "red"), ("state", "deleted"), ("q", "g1c2d3e4"), ("older", "yesterday"),
        ("older", f"999999999999999999_{'0' * 32}"), ("newer", f"-999999999999999999_{'f' * 32}"),
    ]

    def test_the_first_and_last_days_there_are_do_not_break_it(self):
        self.assertEqual(len(self.listed(date_from="0001-01-01", date_to="9999-12-31")), 7)

    def test_every_bad_filter_is_a_form_error_on_the_page(self):
        for name, value in self.BAD:
            with self.subTest(name=name, value=value):
                page = self.client.get(self.list_url(), {name: value})
                self.assertEqual(page.status_code, 400)
                self.assertIn(name, page.context["form"].errors)
                self.assertContains(page, 'data-testid="filter-errors"', status_code=400)

    def test_a_nul_character_anywhere_in_the_address_is_refused_before_the_page(self):
        for name in ("unit", "q", "older"):
            with self.subTest(name=name):
                page = self.client.get(self.list_url(), {name: "08\x00"})
                self.assertContains(page, "NUL character", status_code=400)  # surveyapp.middleware

    def test_a_kiosk_of_another_province_is_not_a_choice(self):
        page = self.client.get(self.list_url(), {"kiosk": str(self.far_kiosk.pk)})

        self.assertEqual(page.status_code, 400)
        self.assertIn("kiosk", page.context["form"].errors)

    def test_the_last_day_before_the_first_is_an_error(self):
        page = self.client.get(self.list_url(), {"date_from": "2026-12-06", "date_to": "2026-12-01"})

        self.assertContains(page, "The last day is before the first.", status_code=400)

    def test_the_errors_are_in_vietnamese_on_a_vietnamese_page(self):
        client = Client()
        client.force_login(self.province_officer)

        page = client.get(self.list_url(), {"q": "xyz", "unit": "99999", "date_from": "2026-13-45"})

        self.assertContains(page, "Một số bộ lọc không hợp lệ", status_code=400)
        self.assertContains(page, "Nhập mã ngắn của phiếu", status_code=400)
        self.assertContains(page, "Hãy chọn một mục trong danh sách", status_code=400)
        self.assertContains(page, "Nhập một ngày hợp lệ", status_code=400)


class DetailTests(BrowserTestCase):
    def test_the_answers_are_shown_as_the_questionnaire_words_them(self):
        page = self.client.get(self.detail_url(self.entered))
        rows = {row.code: row for section in page.context["sections"] for row in section["rows"]}

        self.assertContains(page, "The civil servant listened attentively to you.")
        self.assertEqual(rows["F3.2"].labels, ["4 · Satisfied"])
        self.assertEqual((rows["G.0"].labels, rows["F3.G"].labels), (["4 · Satisfied"], ["5 · Very satisfied"]))
        self.assertEqual(rows["E.FIELD"].labels, ["Land"])
        self.assertEqual(rows["E.EXTRA_PAY"].labels, ["No"])
        self.assertEqual(rows["X.EXPECT"].labels, ["Shorten processing time", "Better staff attitude"])
        self.assertEqual(rows["D.GENDER"].labels, ["Female"])
        self.assertEqual((rows["F5.1"].state, rows["D.AGE"].state), ("not_asked", "no_answer"))
        self.assertContains(page, "not asked (an earlier answer left it out)", count=5)
        self.assertContains(page, "no answer", count=2)  # D.AGE, D.OCCUPATION

    def test_free_text_is_shown_as_written_and_escaped(self):
        page = self.client.get(self.detail_url(self.entered))

        self.assertNotContains(page, "<script>alert")
        self.assertContains(page, "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Cán bộ &amp; "
                                  "&quot;nhiệt tình&quot;\nDòng hai")

    def test_labels_are_in_the_pages_language(self):
        client = Client()
        client.force_login(self.province_officer)

        page = client.get(self.detail_url(self.entered))

        self.assertContains(page, "Công chức chú ý lắng nghe ý kiến của Ông/Bà.")
        self.assertContains(page, "4 · Hài lòng")
        self.assertContains(page, "không được hỏi")

    def test_the_metadata_and_the_exclusion_with_its_history(self):
        page = self.client.get(self.detail_url(self.entered))

        self.assertContains(page, str(self.entered.pk))
        self.assertContains(page, "Paper form, typed in")
        self.assertContains(page, "Phường Minh Xuân (02230)")
        self.assertContains(page, "duplicate, by admin on")
        self.assertContains(page, "same as the form before")
        self.assertEqual(list(page.context["history"].values_list("action", flat=True)), ["exclude"])

    def test_a_kiosk_response_shows_its_kiosk_time_taken_and_flags(self):
        page = self.client.get(self.detail_url(self.fast))

        self.assertContains(page, "Quầy 1")
        self.assertContains(page, "20 seconds")
        self.assertContains(page, "too fast")
        self.assertContains(page, "Never excluded or restored.")

    def test_the_page_runs_a_fixed_number_of_queries(self):
        # session, user, round, role, the response (with unit, kiosk, exclusion and its author), its history
        with self.assertNumQueries(6):
            self.client.get(self.detail_url(self.entered))

    def test_numbers_and_answers_filled_in_from_the_unit(self):
        doc = copy.deepcopy(self.round.questionnaire.definition)
        doc["sections"] = [*doc["sections"], {"code": "N", "title": {"vi": "Số", "en": "Numbers"}, "items": [
            {"code": "N.WAIT", "kind": "number", "required": False, "min": 0, "max": 3000,
             "text": {"vi": "Số phút chờ", "en": "Minutes waited"}}]}]
        doc["sections"][0]["items"] = [
            {**item, "known_from": {"unit_level": {"commune": "commune"}}} if item["code"] == "E.LEVEL" else item
            for item in doc["sections"][0]["items"]]
        definition = Definition.from_doc(doc)
        packed = pack_answers(definition, {**full_answers(), "N.WAIT": 1930}, known={"E.LEVEL": "commune"})
        response = Response(answers=packed.slots, texts=packed.texts)
        survey_round = SimpleNamespace(questionnaire=SimpleNamespace(parsed=definition))

        rows = {row.code: row for section in selectors.response_answers(response, survey_round, "en")
                for row in section["rows"]}

        self.assertEqual((rows["N.WAIT"].question, rows["N.WAIT"].value), ("Minutes waited", 1930))
        self.assertEqual((rows["E.LEVEL"].labels, rows["E.LEVEL"].from_unit), (["Commune level"], True))
        self.assertEqual(rows["C.COMMENT"].state, "no_answer")


class ExcludeAndRestoreTests(BrowserTestCase):
    def exclude_url(self, response):
        return reverse("fieldwork:response-exclude", args=[self.round.pk, response.pk])

    def restore_url(self, response):
        return reverse("fieldwork:response-restore", args=[self.round.pk, response.pk])

    def test_excluding_asks_first_then_excludes_with_the_reason_and_writes_the_score_change_once(self):
        ResponseChange.objects.all().delete()  # the submissions' own

        question = self.client.post(self.exclude_url(self.kiosk_response), {"reason": "duplicate", "note": "hai lần"})

        self.assertContains(question, "Exclude response")
        self.assertContains(question, 'name="confirmed" value="1"')
        self.assertFalse(Exclusion.objects.filter(response=self.kiosk_response).exists())

        done = self.client.post(self.exclude_url(self.kiosk_response),
                                {"reason": "duplicate", "note": "hai lần", "confirmed": "1"}, follow=True)

        self.assertRedirects(done, self.detail_url(self.kiosk_response))
        exclusion = Exclusion.objects.get(response=self.kiosk_response)
        self.assertEqual((exclusion.reason, exclusion.note, exclusion.excluded_by),
                         ("duplicate", "hai lần", self.province_officer))
        self.assertEqual(ExclusionLog.objects.filter(response=self.kiosk_response).count(), 1)
        self.assertEqual(list(ResponseChange.objects.values_list("response_id", "sign")),
                         [(self.kiosk_response.pk, -1)])
        self.assertContains(done, f"Response {selectors.short_id(self.kiosk_response.pk)} is excluded")
        self.assertContains(done, 'data-testid="state">Excluded')

    def test_restoring_asks_first_then_restores_and_writes_the_score_change_once(self):
        ResponseChange.objects.all().delete()

        question = self.client.post(self.restore_url(self.entered), {"note": "không trùng"})
        self.assertContains(question, "Restore response")
        self.assertTrue(Exclusion.objects.filter(response=self.entered).exists())

        done = self.client.post(self.restore_url(self.entered), {"note": "không trùng", "confirmed": "1"}, follow=True)

        self.assertFalse(Exclusion.objects.filter(response=self.entered).exists())
        self.assertEqual(list(ResponseChange.objects.values_list("response_id", "sign")), [(self.entered.pk, 1)])
        self.assertEqual(list(ExclusionLog.objects.filter(response=self.entered).values_list("action", "note")),
                         [("restore", "không trùng"), ("exclude", "same as the form before")])
        self.assertContains(done, "is restored: it counts again")

    def test_the_reason_other_needs_a_note_and_nothing_is_stored_without_one(self):
        page = self.client.post(self.exclude_url(self.fast), {"reason": "other", "note": " ", "confirmed": "1"})

        self.assertContains(page, "The reason “other” needs a note", status_code=400)
        self.assertFalse(Exclusion.objects.filter(response=self.fast).exists())
        self.assertFalse(ExclusionLog.objects.filter(response=self.fast).exists())

    def test_an_unknown_reason_or_a_bad_note_is_a_form_error(self):
        for data in ({"reason": "boring"}, {"reason": "test", "note": "x" * 501}, {"reason": "test", "note": "a\x00"}):
            with self.subTest(data=data):
                page = self.client.post(self.exclude_url(self.fast), {**data, "confirmed": "1"})
                self.assertEqual(page.status_code, 400)
                self.assertTrue(page.context["exclude_form"].errors)
        self.assertFalse(Exclusion.objects.filter(response=self.fast).exists())

    def test_excluding_an_excluded_response_says_so_and_changes_nothing(self):
        page = self.client.post(self.exclude_url(self.entered), {"reason": "test", "confirmed": "1"})

        self.assertContains(page, "is already excluded", status_code=400)
        self.assertEqual(ExclusionLog.objects.filter(response=self.entered).count(), 1)

    def test_changes_are_post_only_and_need_the_csrf_token(self):
        self.assertEqual(self.client.get(self.exclude_url(self.fast)).status_code, 405)
        self.assertEqual(self.client.get(self.restore_url(self.entered)).status_code, 405)
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.province_officer)

        page = client.post(self.exclude_url(self.fast), {"reason": "test", "confirmed": "1"})

        self.assertEqual(page.status_code, 403)
        self.assertFalse(Exclusion.objects.filter(response=self.fast).exists())


class LinkTests(BrowserTestCase):
    def test_the_round_page_and_the_exclusion_pages_link_to_the_browser(self):
        for name in ("fieldwork:round", "fieldwork:exclusions", "fieldwork:review"):
            with self.subTest(page=name):
                self.assertContains(self.client.get(reverse(name, args=[self.round.pk])), self.list_url())

    def test_the_exclusion_pages_short_ids_open_the_responses(self):
        page = self.client.get(reverse("fieldwork:exclusions", args=[self.round.pk]))

        self.assertContains(page, f">{selectors.short_id(self.entered.pk)}</a>", count=2)  # the list and the log
        self.assertContains(page, self.detail_url(self.entered))

    def test_a_paper_form_entered_is_confirmed_with_its_short_id_linked_to_its_page(self):
        url = reverse("fieldwork:paper-entry", args=[self.round.pk])
        form_id = self.client.get(url).context["entry"].initial["form_id"]
        data = {"unit": "02212", "form_date": timezone.localdate().isoformat(), "form_id": form_id, **full_answers()}

        page = self.client.post(url, data, follow=True)
        stored = Response.objects.get(pk=form_id)
        link = f'<a href="{self.detail_url(stored)}" class="font-monospace fw-semibold">{stored.pk.hex[-8:]}</a>'
        self.assertContains(page, f"Paper form stored as {link}. Enter the next one.", html=False)
        self.assertEqual(self.listed(q=stored.pk.hex[-8:]), [stored.pk])

        again = self.client.post(url, data, follow=True)
        self.assertContains(again, f"This paper form was already stored, as {link}: it was not stored again.")

    def test_a_forged_confirmation_of_a_form_outside_the_users_part_shows_nothing(self):
        self.client.force_login(self.officer)
        url = reverse("fieldwork:paper-entry", args=[self.round.pk])

        for stored in (str(self.entered.pk), str(self.far_response.pk), "not-an-id", str(uuid.uuid4())):
            with self.subTest(stored=stored):
                page = self.client.get(url, {"stored": stored})
                self.assertEqual(page.status_code, 200)
                self.assertNotContains(page, 'data-testid="stored"')

    def test_the_paper_imports_result_lists_the_short_ids_once(self):
        self.client.force_login(make_user("importer", (Role.Kind.OFFICER, self.province)))
        url = reverse("fieldwork:paper-import", args=[self.round.pk])
        text = imported_csv(self.round, "02230", timezone.localdate(), full_answers(**{"G.0": 3}))

        page = self.client.post(url, {"file": upload(text)}, follow=True)

        stored = Response.objects.filter(unit=self.other_commune).exclude(pk__in=[self.entered.pk, self.over.pk]).get()
        self.assertContains(page, f'href="{self.detail_url(stored)}"')
        self.assertContains(page, f">{selectors.short_id(stored.pk)}</a>")
        self.assertNotContains(self.client.get(url), 'data-testid="imported"')

        again = self.client.post(url, {"file": upload(text)}, follow=True)
        self.assertContains(again, "already stored before")
        self.assertContains(again, f">{selectors.short_id(stored.pk)}</a>")
