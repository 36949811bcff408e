"""What citizens wrote (issue 18): the comment page's scoping, order, search, factor scores, and
hiding a comment that names a person or gives a phone number."""

import copy
import datetime
from urllib.parse import urlencode

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldwork import comments as fieldwork_comments
from fieldwork.models import CommentHiding, Exclusion, Response
from fieldwork.services import round_create
from questionnaires.answers import pack_answers
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import questionnaire_load
from tests.fieldwork.base import KioskTestCase, full_answers


class CommentTestCase(KioskTestCase):
    def comment(self, text, unit=None, minutes_ago=0, survey_round=None, code="C.COMMENT", **answers):
        survey_round = survey_round or self.round
        when = timezone.now() - datetime.timedelta(minutes=minutes_ago)
        slots = pack_answers(survey_round.questionnaire.parsed, full_answers(**answers)).slots
        return Response.objects.create(round=survey_round, unit=unit or self.commune, channel=Response.Channel.PAPER,
                                       paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=when,
                                       received_at=when, answers=slots,
                                       texts={code: text} if text is not None else None)

    def url(self, unit=None, **query):
        base = reverse("scores-comments", args=[self.round.pk, (unit or self.commune).code])
        return base + ("?" + urlencode(query) if query else "")

    def page(self, user, unit=None, **query):
        self.client.force_login(user)
        return self.client.get(self.url(unit, **query))

    def texts(self, response):
        return [row["texts"] for row in response.context["rows"]]

    def hide(self, user, response, unit=None, **data):
        self.client.force_login(user)
        return self.client.post(reverse("scores-comment-hide", args=[self.round.pk, (unit or self.commune).code,
                                                                      response.pk]),
                                {"reason": "phone", "note": "", **data})


class ScopeAndOrderTests(CommentTestCase):
    def setUp(self):
        self.old = self.comment("Cũ nhất", minutes_ago=30)
        self.centre = self.comment("Ở trung tâm", unit=self.commune_centre, minutes_ago=10)
        self.new = self.comment("Mới nhất", minutes_ago=1)
        self.elsewhere = self.comment("Ở phường khác", unit=self.other_commune)
        self.silent = self.comment(None)
        self.empty = self.comment("")

    def test_a_head_reads_the_units_comments_and_its_subtree_newest_first(self):
        response = self.page(self.head)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.texts(response), [["Mới nhất"], ["Ở trung tâm"], ["Cũ nhất"]])
        self.assertContains(response, "3 comments.")

    def test_an_officer_reads_them_too(self):
        self.assertEqual(len(self.texts(self.page(self.officer))), 3)

    def test_the_province_head_reads_every_commune(self):
        self.assertEqual(len(self.texts(self.page(self.province_head, unit=self.province))), 4)

    def test_a_unit_outside_ones_subtree_is_a_404(self):
        for user in (self.other_head, self.far_officer, self.nobody):
            with self.subTest(user=user.username):
                self.assertEqual(self.page(user).status_code, 404)
        self.assertEqual(self.page(self.head, unit=self.other_commune).status_code, 404)
        self.assertEqual(self.page(self.head, unit=self.province).status_code, 404)

    def test_the_round_link_leads_to_the_users_part_of_the_round(self):
        self.client.force_login(self.officer)
        response = self.client.get(reverse("scores-round-comments", args=[self.round.pk]))
        self.assertRedirects(response, self.url(), fetch_redirect_response=False)
        self.client.force_login(self.province_officer)
        response = self.client.get(reverse("scores-round-comments", args=[self.round.pk]))
        self.assertRedirects(response, self.url(self.province), fetch_redirect_response=False)

    def test_it_pages_through_many_comments(self):
        for i in range(30):
            self.comment(f"Ý kiến {i}", minutes_ago=100 + i)
        first = self.page(self.head)
        self.assertEqual(len(first.context["rows"]), 25)
        self.assertContains(first, "Page 1 of 2")
        second = self.page(self.head, page=2)
        self.assertEqual(self.texts(second)[-1], ["Ý kiến 29"])

    def test_the_unit_page_and_the_round_page_link_here(self):
        self.client.force_login(self.head)
        page = self.client.get(reverse("scores-unit", args=[self.round.pk, self.commune.code]))
        self.assertContains(page, self.url())
        self.client.force_login(self.province_officer)
        page = self.client.get(reverse("fieldwork:round", args=[self.round.pk]))
        self.assertContains(page, reverse("scores-round-comments", args=[self.round.pk]))


class SearchTests(CommentTestCase):
    def setUp(self):
        self.hanoi = self.comment("Cán bộ ở Hà Nội rất tận tình", minutes_ago=3)
        self.road = self.comment("ĐƯỜNG vào trụ sở khó tìm", minutes_ago=2)
        self.other = self.comment("Cần thêm ghế ngồi chờ", minutes_ago=1)

    def test_words_without_accents_find_the_accented_text(self):
        self.assertEqual(self.texts(self.page(self.head, q="ha noi")), [["Cán bộ ở Hà Nội rất tận tình"]])
        self.assertEqual(self.texts(self.page(self.head, q="duong vao")), [["ĐƯỜNG vào trụ sở khó tìm"]])

    def test_words_with_accents_and_capitals_find_it_too(self):
        self.assertEqual(len(self.texts(self.page(self.head, q="HÀ NỘI"))), 1)
        self.assertEqual(len(self.texts(self.page(self.head, q="đường"))), 1)

    def test_a_search_that_matches_nothing_says_so(self):
        response = self.page(self.head, q="sai hẹn")
        self.assertEqual(self.texts(response), [])
        self.assertContains(response, "No comment holds these words.")

    def test_like_wildcards_are_plain_characters(self):
        self.assertEqual(self.texts(self.page(self.head, q="%")), [])
        self.assertEqual(self.texts(self.page(self.head, q="_")), [])

    def test_bad_values_are_form_errors_not_500s(self):
        for query in ({"q": "a\x07b"}, {"q": "x" * 201}, {"page": "abc"}, {"page": "0"}, {"page": "-3"},
                      {"page": "99999999999999999999"}):
            with self.subTest(query=query):
                response = self.page(self.head, **query)
                self.assertEqual(response.status_code, 400)
                self.assertContains(response, 'data-testid="search-errors"', status_code=400)

    def test_a_page_past_the_last_shows_the_last(self):
        self.assertEqual(len(self.texts(self.page(self.head, page=7))), 3)


class FactorScoreTests(CommentTestCase):
    def test_each_factor_shows_the_share_of_satisfied_answers_of_that_response(self):
        self.comment("Chậm", **{"F1.1": 2, "F1.2": 0})  # F1: 4, 4 satisfied of 3 valid (2, 4, 4; 0 is n/a)
        response = self.page(self.head)
        factors = {f.code: f for f in response.context["rows"][0]["factors"]}
        self.assertEqual((factors["F1"].satisfied, factors["F1"].valid), (2, 3))
        self.assertAlmostEqual(factors["F1"].share, 200 / 3)
        self.assertEqual((factors["F2"].satisfied, factors["F2"].valid), (5, 5))
        self.assertContains(response, "2/3 · 67 %")

    def test_an_excluded_responses_comment_is_shown_marked(self):
        response = self.comment("Thử máy")
        Exclusion.objects.create(response=response, round=self.round, reason=Exclusion.Reason.TEST,
                                 excluded_by=self.officer)
        page = self.page(self.head)
        self.assertContains(page, "excluded from the scores")
        self.assertContains(page, "test entry")

    def test_free_text_items_are_found_by_their_kind_not_their_code(self):
        doc = copy.deepcopy(QuestionnaireVersion.objects.get(code="sipas-2017").definition)
        doc["code"] = "sipas-2017-note"
        for section in doc["sections"]:
            for item in section["items"]:
                if item["kind"] == "text":
                    item["code"] = "C.GHI_CHU"
        questionnaire_load(doc=doc)
        other = round_create(name="Vòng khác", questionnaire_code="sipas-2017-note", unit_code="10", open_now=False)
        self.assertEqual(fieldwork_comments.text_item_codes(other), ["C.GHI_CHU"])
        self.assertEqual(fieldwork_comments.text_item_codes(self.round), ["C.COMMENT"])


class EscapingTests(CommentTestCase):
    def test_free_text_is_shown_escaped(self):
        self.comment('<script>alert("x")</script><b>đậm</b>')
        response = self.page(self.head)
        self.assertNotContains(response, "<script>alert")
        self.assertNotContains(response, "<b>đậm</b>")
        self.assertContains(response, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;đậm&lt;/b&gt;")


class HidingTests(CommentTestCase):
    def setUp(self):
        self.named = self.comment("Anh Nguyễn Văn A, số 0912 345 678, làm rất chậm", minutes_ago=2)
        self.plain = self.comment("Phục vụ tốt", minutes_ago=1)

    def test_an_officer_hides_a_comment_with_who_when_and_why(self):
        response = self.hide(self.officer, self.named, reason="phone", note="số điện thoại của cán bộ")
        self.assertRedirects(response, self.url(), fetch_redirect_response=False)
        hiding = CommentHiding.objects.get(response=self.named)
        self.assertEqual((hiding.reason, hiding.note, hiding.hidden_by), ("phone", "số điện thoại của cán bộ",
                                                                          self.officer))
        self.assertIsNotNone(hiding.hidden_at)
        self.named.refresh_from_db()
        self.assertEqual(self.named.texts, {"C.COMMENT": "Anh Nguyễn Văn A, số 0912 345 678, làm rất chậm"})

    def test_heads_see_who_hid_it_and_why_but_not_the_text(self):
        self.hide(self.officer, self.named, reason="person", note="tên cán bộ")
        page = self.page(self.head)
        self.assertNotContains(page, "0912")
        self.assertNotContains(page, "tên cán bộ")  # the note may repeat what was hidden
        self.assertContains(page, "Hidden from heads by officer")
        self.assertContains(page, "names a person")
        self.assertEqual(self.texts(page), [["Phục vụ tốt"], None])
        self.assertEqual(self.texts(self.page(self.province_head, unit=self.province)), [["Phục vụ tốt"], None])

    def test_a_heads_search_never_matches_a_hidden_text(self):
        self.hide(self.officer, self.named)
        self.assertEqual(self.texts(self.page(self.head, q="nguyen van")), [])
        self.assertEqual(len(self.texts(self.page(self.officer, q="nguyen van"))), 1)

    def test_officers_still_read_the_hidden_text_marked(self):
        self.hide(self.officer, self.named, note="tên cán bộ")
        page = self.page(self.province_officer, unit=self.province)
        self.assertContains(page, "0912 345 678")
        self.assertContains(page, "tên cán bộ")
        self.assertContains(page, "Show to heads again")

    def test_an_officer_unhides_it_and_the_record_stays(self):
        self.hide(self.officer, self.named)
        self.client.force_login(self.province_officer)
        response = self.client.post(reverse("scores-comment-unhide", args=[self.round.pk, self.commune.code,
                                                                           self.named.pk]),
                                    {"back": "q=nguyen\r\nSet-Cookie: x=1"})
        self.assertRedirects(response, self.url() + "?q=nguyen%0D%0ASet-Cookie%3A+x%3D1", fetch_redirect_response=False)
        hiding = CommentHiding.objects.get(response=self.named)
        self.assertEqual((hiding.hidden_by, hiding.unhidden_by), (self.officer, self.province_officer))
        self.assertIsNotNone(hiding.unhidden_at)
        self.assertEqual(len(self.texts(self.page(self.head, q="nguyen"))), 1)
        self.hide(self.officer, self.named, reason="person")  # and it can be hidden again
        self.assertEqual(CommentHiding.objects.filter(response=self.named).count(), 2)

    def test_heads_and_officers_elsewhere_cannot_hide(self):
        self.assertEqual(self.hide(self.head, self.named).status_code, 404)
        self.assertEqual(self.hide(self.far_officer, self.named).status_code, 404)
        other = self.comment("Ở phường khác", unit=self.other_commune)
        self.assertEqual(self.hide(self.officer, other).status_code, 404)  # not in the commune's page either
        self.assertEqual(self.hide(self.officer, other, unit=self.province).status_code, 404)
        self.assertFalse(CommentHiding.objects.exists())

    def test_a_bad_reason_or_note_stores_nothing_and_says_why(self):
        for data in ({"reason": "dislike"}, {"reason": ""}, {"note": "x" * 501}, {"note": "a\x00b"}):
            with self.subTest(data=data):
                response = self.hide(self.officer, self.named, **data)
                self.assertEqual(response.status_code, 302)
                page = self.client.get(self.url())
                self.assertContains(page, "The comment was not hidden.")
        self.assertFalse(CommentHiding.objects.exists())

    def test_hiding_twice_or_unhiding_a_shown_comment_is_a_message(self):
        self.hide(self.officer, self.named)
        self.hide(self.officer, self.named)
        self.assertContains(self.client.get(self.url()), "This comment is already hidden.")
        self.client.post(reverse("scores-comment-unhide", args=[self.round.pk, self.commune.code, self.plain.pk]))
        self.assertContains(self.client.get(self.url()), "This comment is not hidden.")
        self.assertEqual(CommentHiding.objects.count(), 1)


class VietnameseTests(CommentTestCase):
    client_class = Client

    def test_the_page_is_in_vietnamese(self):
        self.comment("Tốt")
        page = self.page(self.head)
        self.assertContains(page, "Ý kiến của người dân")
        self.assertContains(page, "Từ trong ý kiến")
        self.assertContains(page, "1 ý kiến.")
        self.assertContains(page, "Phiếu giấy")  # the channel


class QueryCountTests(CommentTestCase):
    def test_the_page_runs_a_fixed_number_of_queries_whatever_the_number_of_comments(self):
        self.client.force_login(self.province_head)
        for more in (2, 20):
            for i in range(more):
                hidden = self.comment(f"Ý kiến {i}", unit=self.commune_centre)
            CommentHiding.objects.create(response=hidden, round=self.round, reason="person",
                                         hidden_by=self.officer, hidden_at=timezone.now())
            # session, user, round, the reader's role on it, the unit, where the reader may hide
            # (their fieldwork roles), the count, the page of responses (with unit, kiosk and
            # exclusion), their current hidings (with who hid them)
            with self.assertNumQueries(9):
                self.assertEqual(self.client.get(self.url(self.province)).status_code, 200)
