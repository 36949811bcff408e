import datetime
import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from fieldwork.exclusions import ExclusionError, flagged_responses, response_exclude, response_restore
from fieldwork.ids import uuid7
from fieldwork.models import Exclusion, ExclusionLog, Quota, Response, ResponseChange, Round
from fieldwork.quotas import quota_set
from fieldwork.responses import response_submit
from fieldwork.services import kiosk_create, round_create
from tests.fieldwork.base import KioskTestCase, full_answers


def straight_answers(level=4, **overrides):
    """Complete answers with the same level for every satisfaction item (the only numbers in them)."""
    answers = {code: level if isinstance(value, int) else value for code, value in full_answers().items()}
    answers.update(overrides)
    return answers


# Satisfaction items that allow "not applicable" (0), and those that do not, in sipas-2017.
NA_ITEMS = ["F1.2", "F1.3", "F1.4", "F2.1", "F2.2", "F2.4", "F2.5", "F3.3", "F3.4", "F3.5",
            "F4.1", "F4.2", "F4.3", "F4.G"]


class ExclusionTestCase(KioskTestCase):
    """Pages in English, so that messages can be checked as written."""

    def setUp(self):
        self.enterContext(translation.override("en"))
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def submit(self, *, seconds=180, answers=None, unit=None, kiosk=None, **overrides):
        """Store a response completed in ``seconds`` through the submission service."""
        now = timezone.now() - datetime.timedelta(seconds=1)
        times = {"started_at": (now - datetime.timedelta(seconds=seconds)).isoformat(), "submitted_at": now.isoformat()}
        payload = self.payload(**{**times, "answers": answers or full_answers(), **overrides})
        return response_submit(unit=unit or self.commune, payload=payload, kiosk=kiosk or self.kiosk).response

    def submit_through_the_api(self, *, seconds=180, answers=None):
        now = timezone.now() - datetime.timedelta(seconds=1)
        body = self.payload(started_at=(now - datetime.timedelta(seconds=seconds)).isoformat(),
                            submitted_at=now.isoformat(), answers=answers or full_answers())
        self.assertEqual(self.post(body).status_code, 201)
        return Response.objects.get(pk=body["id"])

    def flagged(self, **kwargs):
        return list(flagged_responses(survey_round=self.round, **kwargs))


class ExcludingAndRestoringTests(ExclusionTestCase):
    def test_excluding_logs_who_when_and_why_and_keeps_the_response_row(self):
        response = self.submit()

        response_exclude(response=response, reason="test", note="  thử máy  ", user=self.province_officer)

        exclusion = Exclusion.objects.get(response=response)
        self.assertEqual((exclusion.round, exclusion.reason, exclusion.note, exclusion.excluded_by),
                         (self.round, "test", "thử máy", self.province_officer))
        log = ExclusionLog.objects.get(response=response)
        self.assertEqual((log.action, log.reason, log.note, log.by), ("exclude", "test", "thử máy",
                                                                      self.province_officer))
        self.assertLess(timezone.now() - log.at, datetime.timedelta(minutes=1))
        self.assertTrue(Response.objects.filter(pk=response.pk).exists())

    def test_excluding_and_restoring_leave_the_scores_a_change_each_in_the_same_transaction(self):
        response = self.submit()
        ResponseChange.objects.all().delete()  # the submission's own

        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            response_exclude(response=response, reason="duplicate", user=self.province_officer)
        self.assertEqual(list(ResponseChange.objects.values_list("round_id", "response_id", "sign")),
                         [(self.round.pk, response.pk, -1)])
        response_restore(response=response, user=self.province_officer)

        self.assertEqual(callbacks, [])  # nothing is sent to the scores: they read the log on their schedule
        self.assertEqual(list(ResponseChange.objects.order_by("pk").values_list("sign", flat=True)), [-1, 1])

    def test_a_refused_restoration_leaves_no_change_for_the_scores(self):
        response = self.submit()
        response_exclude(response=response, reason="duplicate", user=self.province_officer)
        before = ResponseChange.objects.count()
        response_restore(response=response, user=self.province_officer)

        with self.assertRaises(ExclusionError):
            response_restore(response=response, user=self.province_officer)  # not excluded any more

        self.assertEqual(ResponseChange.objects.count(), before + 1)

    def test_restoring_logs_it_and_removes_the_exclusion(self):
        response = self.submit()
        response_exclude(response=response, reason="duplicate", user=self.province_officer)

        response_restore(response=response, user=self.admin, note="not a duplicate after all")

        self.assertFalse(Exclusion.objects.filter(response=response).exists())
        restored = ExclusionLog.objects.get(response=response, action="restore")
        self.assertEqual((restored.by, restored.reason, restored.note), (self.admin, "duplicate",
                                                                         "not a duplicate after all"))
        self.assertEqual(ExclusionLog.objects.filter(response=response).count(), 2)

    def test_excluding_twice_is_refused_naming_the_first_exclusion(self):
        response = self.submit()
        response_exclude(response=response, reason="test", user=self.province_officer)

        with pytest.raises(ExclusionError, match="already excluded .*test entry, by province_officer"):
            response_exclude(response=response, reason="duplicate", user=self.admin)

        self.assertEqual(Exclusion.objects.get(response=response).reason, "test")
        self.assertEqual(ExclusionLog.objects.count(), 1)

    def test_the_reason_other_needs_a_note(self):
        response = self.submit()

        with pytest.raises(ExclusionError, match="“other” needs a note"):
            response_exclude(response=response, reason="other", note="   ", user=self.province_officer)

        self.assertFalse(Exclusion.objects.exists())
        self.assertFalse(ExclusionLog.objects.exists())
        response_exclude(response=response, reason="other", note="citizen pressed by staff", user=self.admin)
        self.assertEqual(Exclusion.objects.get().note, "citizen pressed by staff")

    def test_an_unknown_reason_or_a_long_note_is_refused_and_nothing_is_stored(self):
        response = self.submit()

        with pytest.raises(ExclusionError, match="one of test, duplicate.*not “boring”"):
            response_exclude(response=response, reason="boring", user=self.province_officer)
        with pytest.raises(ExclusionError, match="at most 500 characters; this one has 501"):
            response_exclude(response=response, reason="test", note="x" * 501, user=self.province_officer)

        self.assertFalse(Exclusion.objects.exists())
        self.assertFalse(ExclusionLog.objects.exists())

    def test_restoring_a_response_that_is_not_excluded_is_refused(self):
        response = self.submit()

        with pytest.raises(ExclusionError, match="is not excluded"):
            response_restore(response=response, user=self.province_officer)

        self.assertFalse(ExclusionLog.objects.exists())


class QuotaTests(ExclusionTestCase):
    def setUp(self):
        super().setUp()
        self.quota = quota_set(survey_round=self.round, unit=self.commune, target=2)
        self.land = quota_set(survey_round=self.round, unit=self.commune, target=5,
                              stratum_item="E.FIELD", stratum_value="land")

    def filled(self):
        return list(Quota.objects.order_by("pk").values_list("filled", flat=True))

    def test_excluding_an_in_quota_response_frees_its_place_and_restoring_takes_it_back(self):
        first, _second = self.submit(), self.submit()
        self.assertEqual(self.filled(), [2, 2])

        response_exclude(response=first, reason="test", user=self.province_officer)
        self.assertEqual(self.filled(), [1, 1])

        response_restore(response=first, user=self.province_officer)
        self.assertEqual(self.filled(), [2, 2])

    def test_restoring_when_the_quota_filled_meanwhile_is_refused_and_changes_nothing(self):
        first, _second = self.submit(), self.submit()
        response_exclude(response=first, reason="test", user=self.province_officer)
        self.submit()  # takes the freed places
        self.assertEqual(self.filled(), [2, 2])

        with pytest.raises(ExclusionError, match=r"cannot be restored: its quota 02212: 2/2 filled up"):
            response_restore(response=first, user=self.province_officer)

        self.assertEqual(self.filled(), [2, 2])
        self.assertTrue(Exclusion.objects.filter(response=first).exists())
        self.assertEqual(list(ExclusionLog.objects.values_list("action", flat=True)), ["exclude"])

    def test_excluding_an_over_quota_response_leaves_the_quota_alone(self):
        self.submit(), self.submit()
        over = self.submit()
        self.assertTrue(over.over_quota)

        response_exclude(response=over, reason="duplicate", user=self.province_officer)

        self.assertEqual(self.filled(), [2, 2])


class ReviewFlagTests(ExclusionTestCase):
    def test_a_response_with_the_same_level_everywhere_is_flagged_for_straight_lining(self):
        straight = self.submit_through_the_api(answers=straight_answers(5))
        self.submit_through_the_api()  # 4s and 5s

        [flagged] = self.flagged()

        self.assertEqual(flagged.pk, straight.pk)
        self.assertEqual((flagged.straight_lining, flagged.too_fast), (True, False))

    def test_not_applicable_answers_do_not_break_straight_lining(self):
        straight = self.submit_through_the_api(answers=straight_answers(3, **{"F1.2": 0, "F2.1": 0}))

        self.assertEqual([r.pk for r in self.flagged()], [straight.pk])

    def test_straight_lining_needs_at_least_ten_answered_items(self):
        # Nine items cannot be answered "not applicable": with the fourteen others at 0, nine answered.
        self.submit_through_the_api(answers=straight_answers(3, **dict.fromkeys(NA_ITEMS, 0)))

        self.assertEqual(self.flagged(), [])

    def test_a_response_completed_too_fast_is_flagged(self):
        fast = self.submit_through_the_api(seconds=30)
        self.submit_through_the_api(seconds=90)

        [flagged] = self.flagged()

        self.assertEqual(flagged.pk, fast.pk)
        self.assertEqual((flagged.straight_lining, flagged.too_fast, flagged.duration_seconds), (False, True, 30))

    def test_a_response_can_carry_both_flags(self):
        self.submit_through_the_api(seconds=20, answers=straight_answers(1))

        [flagged] = self.flagged()

        self.assertEqual((flagged.straight_lining, flagged.too_fast), (True, True))

    @override_settings(REVIEW_MIN_SECONDS=300)
    def test_the_too_fast_threshold_is_the_review_min_seconds_setting(self):
        three_minutes = self.submit_through_the_api(seconds=180)

        self.assertEqual([r.pk for r in self.flagged()], [three_minutes.pk])

    def test_a_response_without_a_start_time_is_never_too_fast(self):
        self.submit(started_at=None)

        self.assertEqual(self.flagged(), [])

    def test_an_excluded_response_leaves_the_queue(self):
        fast, older_fast = self.submit_through_the_api(seconds=10), self.submit_through_the_api(seconds=10)
        response_exclude(response=fast, reason="too_fast", user=self.province_officer)

        self.assertEqual([r.pk for r in self.flagged()], [older_fast.pk])

    def test_the_queue_is_newest_first_and_can_be_limited_to_a_unit_subtree(self):
        other_kiosk, _ = kiosk_create(unit=self.other_commune, name="Quầy 9")
        older = self.submit(seconds=10)
        newer = self.submit(seconds=10, unit=self.other_commune, kiosk=other_kiosk)

        self.assertEqual([r.pk for r in self.flagged()], [newer.pk, older.pk])
        self.assertEqual([r.pk for r in self.flagged(unit=self.commune)], [older.pk])

    def test_the_flags_of_a_whole_round_are_one_query(self):
        for _ in range(5):
            self.submit(seconds=10)

        survey_round = Round.objects.select_related("questionnaire").get(pk=self.round.pk)

        with self.assertNumQueries(1):
            self.assertEqual(len(flagged_responses(survey_round=survey_round)), 5)


class ReviewPageTests(ExclusionTestCase):
    def setUp(self):
        super().setUp()
        self.client.force_login(self.province_officer)

    def test_the_review_page_shows_flagged_responses_with_their_flags_and_a_preset_reason(self):
        fast = self.submit(seconds=42)
        straight = self.submit(answers=straight_answers(2))

        page = self.client.get(reverse("fieldwork:review", args=[self.round.pk]))

        self.assertContains(page, f">{str(fast.pk)[-8:]}<")
        self.assertContains(page, "42 s")
        self.assertContains(page, ">too fast<", count=1)
        self.assertContains(page, ">straight-lining<", count=1)
        self.assertContains(page, '<option value="straight_lining" selected>', count=1)
        self.assertContains(page, '<option value="too_fast" selected>', count=1)
        self.assertContains(page, "csrfmiddlewaretoken", count=4)  # two exclude forms, language and logout
        self.assertLess(page.content.index(str(straight.pk).encode()), page.content.index(str(fast.pk).encode()))

    def test_responses_made_in_the_same_minute_get_different_short_labels(self):
        # Time-ordered ids share their first characters within a minute: the label is their random end.
        made = uuid7(1_795_000_000_000)
        twin = uuid7(1_795_000_000_000)
        first, second = self.submit(seconds=10, id=str(made)), self.submit(seconds=10, id=str(twin))
        self.assertEqual(str(first.pk)[:8], str(second.pk)[:8])

        page = self.client.get(reverse("fieldwork:review", args=[self.round.pk]))

        self.assertContains(page, f">{str(first.pk)[-8:]}<", count=1)
        self.assertContains(page, f">{str(second.pk)[-8:]}<", count=1)

    def test_the_review_page_runs_the_same_queries_for_3_and_30_flagged_responses(self):
        url = reverse("fieldwork:review", args=[self.round.pk])
        for count in (3, 30):
            for _ in range(count - Response.objects.count()):
                self.submit(seconds=10)
            # session, user, the round with its unit and questionnaire, the officer's role,
            # the flagged responses counted, one page of them with their units.
            with self.assertNumQueries(6):
                page = self.client.get(url)
            self.assertContains(page, 'name="next" value="review"', count=count)

    def test_the_review_page_shows_fifty_responses_a_page(self):
        for _ in range(51):
            self.submit(seconds=10)

        first = self.client.get(reverse("fieldwork:review", args=[self.round.pk]))
        second = self.client.get(reverse("fieldwork:review", args=[self.round.pk]), {"page": 2})

        self.assertContains(first, 'name="next" value="review"', count=50)
        self.assertContains(first, "Page 1 of 2")
        self.assertContains(second, 'name="next" value="review"', count=1)

    def test_an_officer_excludes_from_the_review_queue_and_comes_back_to_it(self):
        fast = self.submit(seconds=10)

        done = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                                {"response_id": fast.pk, "reason": "too_fast", "note": "", "next": "review"})

        self.assertRedirects(done, reverse("fieldwork:review", args=[self.round.pk]))
        self.assertEqual(Exclusion.objects.get().excluded_by, self.province_officer)
        self.assertNotContains(self.client.get(done.url), str(fast.pk))

    def test_an_officer_excludes_any_response_by_its_id(self):
        reported = self.submit()

        done = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                                {"response_id": str(reported.pk), "reason": "test", "note": "staff tried the kiosk"})

        self.assertRedirects(done, reverse("fieldwork:exclusions", args=[self.round.pk]))
        self.assertEqual(Exclusion.objects.get(response=reported).note, "staff tried the kiosk")

    def test_a_refused_exclusion_shows_the_form_again_with_the_reason_and_stores_nothing(self):
        response = self.submit()
        url = reverse("fieldwork:exclude", args=[self.round.pk])

        no_note = self.client.post(url, {"response_id": response.pk, "reason": "other", "note": ""})
        bad_id = self.client.post(url, {"response_id": "not-a-uuid", "reason": "test"})

        self.assertContains(no_note, "needs a note", status_code=400)
        self.assertContains(no_note, f'value="{response.pk}"', status_code=400)
        self.assertContains(bad_id, "Enter a valid UUID", status_code=400)
        self.assertFalse(Exclusion.objects.exists())

    def test_excluding_an_excluded_response_again_is_explained(self):
        response = self.submit()
        response_exclude(response=response, reason="test", user=self.admin)

        again = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                                 {"response_id": response.pk, "reason": "duplicate"})

        self.assertContains(again, "is already excluded", status_code=400)

    def test_the_exclusions_page_lists_exclusions_and_the_log(self):
        kept, restored = self.submit(), self.submit()
        response_exclude(response=kept, reason="other", note="ghi chú riêng", user=self.province_officer)
        response_exclude(response=restored, reason="duplicate", user=self.admin)
        response_restore(response=restored, user=self.admin)

        page = self.client.get(reverse("fieldwork:exclusions", args=[self.round.pk]))

        self.assertContains(page, "ghi chú riêng", count=2)  # the exclusion and its log entry
        self.assertContains(page, reverse("fieldwork:restore", args=[self.round.pk, kept.pk]))
        self.assertNotContains(page, reverse("fieldwork:restore", args=[self.round.pk, restored.pk]))
        self.assertContains(page, ">restored<", count=1)
        self.assertContains(page, ">excluded<", count=2)

    def test_an_officer_restores_a_response(self):
        response = self.submit()
        response_exclude(response=response, reason="test", user=self.admin)

        done = self.client.post(reverse("fieldwork:restore", args=[self.round.pk, response.pk]), follow=True)

        self.assertContains(done, "is restored")
        self.assertFalse(Exclusion.objects.exists())
        self.assertEqual(ExclusionLog.objects.get(action="restore").by, self.province_officer)

    def test_a_refused_restoration_is_explained_naming_the_full_quota(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1)
        response = self.submit()
        response_exclude(response=response, reason="test", user=self.admin)
        self.submit()

        done = self.client.post(reverse("fieldwork:restore", args=[self.round.pk, response.pk]), follow=True)

        self.assertContains(done, "its quota 02212: 1/1 filled up")
        self.assertTrue(Exclusion.objects.exists())


class PageAccessTests(ExclusionTestCase):
    def setUp(self):
        super().setUp()
        self.response = self.submit(seconds=10)
        self.excluded = self.submit()
        response_exclude(response=self.excluded, reason="test", user=self.admin)

    def requests(self, round_id=None):
        round_id = round_id or self.round.pk
        return [
            self.client.get(reverse("fieldwork:review", args=[round_id])),
            self.client.get(reverse("fieldwork:exclusions", args=[round_id])),
            self.client.post(reverse("fieldwork:exclude", args=[round_id]),
                             {"response_id": self.response.pk, "reason": "test"}),
            self.client.post(reverse("fieldwork:restore", args=[round_id, self.excluded.pk])),
        ]

    def assertNothingChanged(self):
        self.assertEqual(list(Exclusion.objects.values_list("response_id", flat=True)), [self.excluded.pk])
        self.assertEqual(ExclusionLog.objects.count(), 1)

    def test_an_officer_of_another_province_gets_404_on_every_page(self):
        self.client.force_login(self.far_officer)

        self.assertEqual([r.status_code for r in self.requests()], [404] * 4)
        self.assertNothingChanged()

    def test_a_commune_officer_works_on_their_commune_within_a_province_round(self):
        elsewhere = self.submit(seconds=10, unit=self.other_commune)
        self.client.force_login(self.officer)

        queue = self.client.get(reverse("fieldwork:review", args=[self.round.pk]))
        other = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                                 {"response_id": elsewhere.pk, "reason": "test"})
        own = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                               {"response_id": self.response.pk, "reason": "too_fast"})

        self.assertEqual([r.pk for r in queue.context["page"]], [self.response.pk])  # not the other commune's
        # The other commune's response reads as an id that does not exist: a form error, nothing given away.
        self.assertEqual((other.status_code, own.status_code), (400, 302))
        self.assertContains(other, "No response of this round among your units has this id", status_code=400)
        self.assertEqual(sorted(Exclusion.objects.values_list("response_id", flat=True)),
                         sorted([self.excluded.pk, self.response.pk]))

    def test_a_head_gets_404_even_of_the_rounds_province(self):
        for head in (self.head, self.province_head):
            self.client.force_login(head)

            self.assertEqual([r.status_code for r in self.requests()], [404] * 4)
        self.assertNothingChanged()

    def test_a_response_of_another_round_is_404_even_for_an_administrator(self):
        other_round = round_create(name="Lào Cai", questionnaire_code="sipas-2017", unit_code="10", open_now=True)
        self.client.force_login(self.admin)

        # The form takes the id as a mistyped one (400, a form error); the restore link's URL is a 404.
        self.assertEqual([r.status_code for r in self.requests(other_round.pk)], [200, 200, 400, 404])
        self.assertNothingChanged()

    def test_an_unknown_response_id_is_a_form_error_and_an_unknown_restore_link_404(self):
        self.client.force_login(self.province_officer)

        missing = self.client.post(reverse("fieldwork:exclude", args=[self.round.pk]),
                                   {"response_id": uuid.uuid4(), "reason": "test"})
        restore = self.client.post(reverse("fieldwork:restore", args=[self.round.pk, uuid.uuid4()]))

        self.assertEqual((missing.status_code, restore.status_code), (400, 404))
        self.assertContains(missing, "No response of this round among your units has this id", status_code=400)

    def test_anonymous_visitors_are_sent_to_the_login_page(self):
        for response in self.requests():
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response.url.startswith(reverse("login") + "?next="))
        self.assertNothingChanged()

    def test_exclude_and_restore_take_only_posts(self):
        self.client.force_login(self.province_officer)

        exclude = self.client.get(reverse("fieldwork:exclude", args=[self.round.pk]))
        restore = self.client.get(reverse("fieldwork:restore", args=[self.round.pk, self.excluded.pk]))

        self.assertEqual((exclude.status_code, restore.status_code), (405, 405))

    def test_the_forms_are_protected_against_cross_site_requests(self):
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(self.province_officer)

        self.assertEqual([r.status_code for r in self.requests()[2:]], [403, 403])
        self.assertNothingChanged()


class CommandTests(ExclusionTestCase):
    def call(self, *args):
        out = io.StringIO()
        call_command("exclude_response", *args, stdout=out)
        return out.getvalue()

    def test_the_command_excludes_and_restores_a_response(self):
        response = self.submit()

        excluded = self.call("--response", str(response.pk), "--reason", "test", "--note", "kiosk check",
                             "--user", "province_officer")
        exclusion = Exclusion.objects.get(response=response)
        restored = self.call("--response", str(response.pk), "--restore", "--user", "admin")

        self.assertIn(f"excluded response {response.pk}", excluded)
        self.assertEqual((exclusion.reason, exclusion.note, exclusion.excluded_by), ("test", "kiosk check",
                                                                                     self.province_officer))
        self.assertIn(f"restored response {response.pk}", restored)
        self.assertFalse(Exclusion.objects.exists())
        self.assertEqual(list(ExclusionLog.objects.order_by("pk").values_list("action", "by__username")),
                         [("exclude", "province_officer"), ("restore", "admin")])

    def test_the_command_names_what_is_wrong(self):
        response = str(self.submit().pk)
        unknown = str(uuid.uuid4())

        for args, message in [
            (["--response", unknown, "--reason", "test", "--user", "admin"], f"unknown response '{unknown}'"),
            (["--response", "12345", "--reason", "test", "--user", "admin"], "'12345' is not a response id"),
            (["--response", response, "--reason", "test", "--user", "ghost"], "unknown user 'ghost'"),
            (["--response", response, "--reason", "boring", "--user", "admin"], "not “boring”"),
            (["--response", response, "--user", "admin"], "--reason is required"),
            (["--response", response, "--reason", "other", "--user", "admin"], "needs a note"),
            (["--response", response, "--restore", "--user", "admin"], "is not excluded"),
        ]:
            with pytest.raises(CommandError, match=message):
                self.call(*args)
        self.assertFalse(Exclusion.objects.exists())
        self.assertFalse(ExclusionLog.objects.exists())

    def test_the_command_refuses_an_already_excluded_response(self):
        response = self.submit()
        self.call("--response", str(response.pk), "--reason", "test", "--user", "admin")

        with pytest.raises(CommandError, match="already excluded"):
            self.call("--response", str(response.pk), "--reason", "duplicate", "--user", "admin")
        self.assertEqual(Exclusion.objects.get().reason, "test")
