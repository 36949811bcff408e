"""Integrity checks (fieldwork.integrity): each pattern built on purpose from hand-made kiosk responses,
with the exact flags expected, and the near misses that must not be flagged."""

import datetime
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from fieldwork import integrity
from fieldwork.desk_days import DeskDayError, desk_days_import
from fieldwork.exclusions import flagged_responses, response_exclude
from fieldwork.models import DeskDay, Exclusion, IntegrityFlag, IntegritySettings, KioskDay, Response
from fieldwork.services import kiosk_create
from questionnaires.answers import pack_answers
from tests.fieldwork.base import KioskTestCase, full_answers
from units.hours import unit_set_hours

LOCAL = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
TUESDAY = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL)  # 1 December 2026 is a Tuesday
Kind = IntegrityFlag.Kind
OFFICE_HOURS = {day: [["07:30", "11:30"], ["13:30", "17:00"]] for day in range(1, 6)}  # Monday to Friday


def top_answers(**overrides):
    """Every satisfaction answer 5 ("very satisfied")."""
    answers = {code: 5 if isinstance(value, int) else value for code, value in full_answers().items()}
    answers.update(overrides)
    return answers


def varied(i):
    """Complete answers that differ from those of i-1 and i+1, never all-top."""
    return full_answers(**{"F1.1": 1 + i % 3})


class IntegrityTestCase(KioskTestCase):
    def setUp(self):
        self.enterContext(translation.override("en"))
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def add(self, at, answers=None, kiosk="default", unit=None, seconds=120):
        """A response submitted at ``at`` (a local datetime, or seconds after TUESDAY 09:00)."""
        if not isinstance(at, datetime.datetime):
            at = TUESDAY + datetime.timedelta(seconds=at)
        kiosk = self.kiosk if kiosk == "default" else kiosk
        slots = pack_answers(self.round.questionnaire.parsed, answers or full_answers()).slots
        return Response.objects.create(
            round=self.round, unit=unit or (kiosk.unit if kiosk else self.commune), kiosk=kiosk,
            channel=Response.Channel.KIOSK if kiosk else Response.Channel.PAPER, language="vi",
            paper_entry=None if kiosk else Response.PaperEntry.TYPED,
            submitted_at=at, received_at=at, answers=slots, seconds_taken=seconds if kiosk else None)

    def check(self):
        return integrity.integrity_check(survey_round=self.round)

    def flags(self, kind=None):
        """{response id: detail} of the round's flags of a kind, or {(response id, kind)} of all."""
        flags = IntegrityFlag.objects.filter(round=self.round)
        if kind is None:
            return {(f.response_id, f.kind) for f in flags}
        return {f.response_id: f.detail for f in flags.filter(kind=kind)}


class BurstTests(IntegrityTestCase):
    def test_a_response_sooner_than_the_minimum_after_the_kiosks_previous_one_is_a_burst(self):
        first = self.add(0, varied(0))
        soon = self.add(30, varied(1))
        later = self.add(300, varied(2))
        just_under = self.add(359, varied(3))
        just_over = self.add(420, varied(4))  # 61 s after the one before
        self.assertEqual(self.check(), {Kind.BURST: 2})
        self.assertEqual(self.flags(Kind.BURST), {soon.pk: {"seconds": 30, "minimum": 60},
                                                  just_under.pk: {"seconds": 59, "minimum": 60}})
        self.assertEqual(self.flags(), {(soon.pk, Kind.BURST), (just_under.pk, Kind.BURST)})
        self.assertFalse({first.pk, later.pk, just_over.pk} & set(self.flags(Kind.BURST)))

    def test_two_kiosks_taking_turns_and_paper_forms_are_no_burst(self):
        other, _token = kiosk_create(unit=self.commune, name="Quầy 2")
        for i in range(6):  # every 20 s, but each kiosk every 40 s... at 0, 80, 160: 80 s apart per kiosk
            self.add(i * 40, varied(i), kiosk=self.kiosk if i % 2 == 0 else other)
        for i in range(3):
            self.add(i, varied(i), kiosk=None)  # paper forms: no kiosk, no time of day
        self.assertEqual(self.check(), {})

    def test_the_round_may_set_its_own_minimum(self):
        self.add(0, varied(0))
        self.add(30, varied(1))
        IntegritySettings.objects.create(round=self.round, min_gap_seconds=20)
        self.assertEqual(self.check(), {})
        IntegritySettings.objects.filter(round=self.round).update(min_gap_seconds=31)
        self.assertEqual(self.check(), {Kind.BURST: 1})


class RunTests(IntegrityTestCase):
    def test_five_identical_answer_vectors_in_a_row_flag_each_of_them(self):
        self.add(0, varied(0))
        run = [self.add(600 * i, full_answers(**{"F1.1": 2})) for i in range(1, 6)]
        self.add(600 * 6, varied(2))
        self.assertEqual(self.check(), {Kind.IDENTICAL: 5})
        self.assertEqual(self.flags(Kind.IDENTICAL), {r.pk: {"length": 5} for r in run})

    def test_four_in_a_row_twice_is_no_run(self):
        for i in range(4):
            self.add(600 * i, full_answers(**{"F1.1": 2}))
        self.add(600 * 4, varied(0))
        for i in range(5, 9):
            self.add(600 * i, full_answers(**{"F1.1": 2}))
        self.assertEqual(self.check(), {})

    def test_identical_answers_from_different_kiosks_taking_turns_are_no_run(self):
        other, _token = kiosk_create(unit=self.commune, name="Quầy 2")
        same = full_answers(**{"F1.1": 2})
        for i in range(8):
            self.add(600 * i, same if i % 2 == 0 else varied(i), kiosk=self.kiosk if i % 2 == 0 else other)
        self.assertEqual(self.check(), {})  # the first kiosk has 4 identical in a row, the other varied ones

    def test_all_top_responses_in_a_row_are_flagged_even_when_their_answers_differ(self):
        # "Not applicable" on F1.2 every other time: not identical, but every answered item is 5.
        run = [self.add(600 * i, top_answers(**({"F1.2": 0} if i % 2 else {}))) for i in range(6)]
        self.add(600 * 6, varied(0))
        self.assertEqual(self.check(), {Kind.ALL_TOP: 6})
        self.assertEqual(self.flags(Kind.ALL_TOP), {r.pk: {"length": 6} for r in run})

    def test_a_single_answer_below_the_top_breaks_an_all_top_run(self):
        for i in range(4):
            self.add(600 * i, top_answers(**({"F1.2": 0} if i % 2 else {})))
        self.add(600 * 4, top_answers(**{"F3.1": 4}))
        for i in range(5, 9):
            self.add(600 * i, top_answers(**({"F1.2": 0} if i % 2 else {})))
        self.assertEqual(self.check(), {})

    def test_identical_all_top_responses_are_both_patterns(self):
        run = [self.add(600 * i, top_answers()) for i in range(5)]
        self.assertEqual(self.check(), {Kind.IDENTICAL: 5, Kind.ALL_TOP: 5})
        self.assertEqual(set(self.flags(Kind.ALL_TOP)), {r.pk for r in run})

    def test_the_round_may_set_its_own_run_length(self):
        for i in range(3):
            self.add(600 * i, full_answers(**{"F1.1": 2}))
        self.assertEqual(self.check(), {})
        IntegritySettings.objects.filter(round=self.round).update(run_length=3)
        self.assertEqual(self.check(), {Kind.IDENTICAL: 3})


class OpeningHoursTests(IntegrityTestCase):
    def test_responses_outside_the_units_opening_hours_are_flagged_in_local_time(self):
        unit_set_hours(unit=self.commune, hours=OFFICE_HOURS)
        inside = [self.add(TUESDAY.replace(hour=7, minute=30), varied(0)),
                  self.add(TUESDAY.replace(hour=11, minute=29), varied(1)),
                  self.add(TUESDAY.replace(hour=16, minute=59), varied(2))]
        lunch = self.add(TUESDAY.replace(hour=12), varied(3))
        closing = self.add(TUESDAY.replace(hour=17), varied(4))  # the desk closes at 17:00
        saturday = self.add(TUESDAY.replace(day=5), varied(5))
        self.assertEqual(self.check(), {Kind.OFF_HOURS: 3})
        self.assertEqual(self.flags(Kind.OFF_HOURS), {
            lunch.pk: {"at": "12:00", "day": "2026-12-01", "weekday": 2},
            closing.pk: {"at": "17:00", "day": "2026-12-01", "weekday": 2},
            saturday.pk: {"at": "09:00", "day": "2026-12-05", "weekday": 6}})
        self.assertFalse({r.pk for r in inside} & set(self.flags(Kind.OFF_HOURS)))

    def test_a_unit_without_opening_hours_is_not_checked(self):
        other, _token = kiosk_create(unit=self.other_commune, name="Quầy MX")
        unit_set_hours(unit=self.commune, hours=OFFICE_HOURS)
        self.add(TUESDAY.replace(hour=22), varied(0), kiosk=other)
        self.add(TUESDAY.replace(hour=23), varied(1), kiosk=other)
        self.assertEqual(self.check(), {})

    def test_the_hours_page_saves_a_units_hours_and_names_a_bad_interval(self):
        self.client.force_login(self.officer)
        url = f"/administration/units/{self.commune.code}/hours"
        self.assertContains(self.client.get(url), "Opening hours of Xã Sơn Dương (02212)")
        bad = self.client.post(url, {"day_1": "07:30-11:30, 13:30-12:00", "day_2": "07:30-10:00, 09:00-11:00",
                                     "day_3": "7:30-25:00"})
        self.assertContains(bad, "In “13:30-12:00” the desk closes before it opens.")
        self.assertContains(bad, "The intervals overlap")
        self.assertContains(bad, "“7:30-25:00” is not a time of day")
        self.commune.refresh_from_db()
        self.assertEqual(self.commune.opening_hours, {})  # nothing stored half-way
        self.assertRedirects(self.client.post(url, {"day_1": "13:30-17:00, 7h30-11:30", "day_6": "08:00-11:00"}),
                             url)
        self.commune.refresh_from_db()
        self.assertEqual(self.commune.opening_hours, {"1": [["07:30", "11:30"], ["13:30", "17:00"]],
                                                      "6": [["08:00", "11:00"]]})
        self.assertContains(self.client.get(url), 'value="07:30-11:30, 13:30-17:00"')

    def test_the_hours_page_is_for_the_units_officers_and_administrators_only(self):
        url = f"/administration/units/{self.commune.code}/hours"
        for user, status in ((self.officer, 200), (self.province_admin, 200), (self.far_officer, 404),
                             (self.head, 404), (self.province_head, 404)):
            self.client.force_login(user)
            self.assertEqual(self.client.get(url).status_code, status, user)
        self.client.force_login(self.officer)
        self.assertEqual(self.client.get(f"/administration/units/{self.other_commune.code}/hours").status_code, 404)


class DossierCountTests(IntegrityTestCase):
    def test_a_desk_with_more_kiosk_responses_than_dossiers_on_a_day_has_that_days_responses_flagged(self):
        DeskDay.objects.create(unit=self.commune, day=datetime.date(2026, 12, 1), dossiers=3)
        DeskDay.objects.create(unit=self.commune, day=datetime.date(2026, 12, 2), dossiers=5)
        over = [self.add(600 * i, varied(i)) for i in range(3)]
        # 23:30 local is still 1 December (16:30 UTC); 00:30 on 2 December is not (17:30 UTC on the 1st).
        over.append(self.add(TUESDAY.replace(hour=23, minute=30), varied(5)))
        next_day = [self.add(TUESDAY.replace(day=2, hour=0, minute=30), varied(6)),
                    self.add(TUESDAY.replace(day=2, hour=10), varied(7))]
        unrecorded = self.add(TUESDAY.replace(day=3), varied(8))
        self.add(60, varied(9), kiosk=None)  # a paper form that day is not a kiosk response
        self.assertEqual(self.check(), {Kind.OVER_DOSSIERS: 4})
        self.assertEqual(self.flags(Kind.OVER_DOSSIERS),
                         {r.pk: {"day": "2026-12-01", "responses": 4, "dossiers": 3} for r in over})
        self.assertFalse({r.pk for r in [*next_day, unrecorded]} & set(self.flags(Kind.OVER_DOSSIERS)))

    def test_as_many_responses_as_dossiers_is_not_flagged(self):
        DeskDay.objects.create(unit=self.commune, day=datetime.date(2026, 12, 1), dossiers=3)
        for i in range(3):
            self.add(600 * i, varied(i))
        self.assertEqual(self.check(), {})

    def test_an_uploaded_file_stores_every_count_or_none(self):
        self.round.scope_paths = [self.round.unit.path]
        text = "unit_code,date,dossiers\n02212,2026-12-01,40\n02230,2026-12-01,12\n"
        with self.captureOnCommitCallbacks(execute=False):
            self.assertEqual(desk_days_import(survey_round=self.round, user=self.officer, text=text), 2)
        self.assertEqual(set(DeskDay.objects.values_list("unit__code", "dossiers")), {("02212", 40), ("02230", 12)})
        bad = ("unit_code;date;dossiers\n02212;2026-12-01;41\n9999;2026-12-01;1\n02212;01/12/2026;x\n"
               "02230;2026-12-01;-3\n02212;2026-12-01;7\n")
        with self.assertRaises(DeskDayError) as caught:
            desk_days_import(survey_round=self.round, user=self.officer, text=bad)
        self.assertEqual(caught.exception.errors, [
            "row 3: unit_code '9999' is not a known unit",
            "row 4: date '01/12/2026' is not a date in the form YYYY-MM-DD",
            "row 4: dossiers 'x' is not a whole number of dossiers (0 or more)",
            "row 5: dossiers '-3' is not a whole number of dossiers (0 or more)",
            "row 6: unit 02212 and date 2026-12-01 are already on row 2",
        ])
        self.assertEqual(DeskDay.objects.get(unit=self.commune).dossiers, 40)  # row 2 was good: not stored

    def test_the_panel_takes_a_file_and_names_problems_in_vietnamese(self):
        client = Client()  # Vietnamese, the default
        client.force_login(self.officer)
        url = f"/rounds/{self.round.pk}/integrity/dossiers"
        upload = SimpleUploadedFile("days.csv", b"unit_code,date,dossiers\n02212,2026-12-01,abc\n02230,2026-12-01,4\n")
        response = client.post(url, {"file": upload})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "dòng 2", status_code=400)
        self.assertContains(response, "dòng 3", status_code=400)  # 02230 is not among the commune officer's units
        self.assertFalse(DeskDay.objects.exists())
        self.client.force_login(self.officer)
        with self.captureOnCommitCallbacks(execute=False):
            response = self.client.post(url, {"text": "unit_code,date,dossiers\n02212,2026-12-01,4\n"})
        self.assertRedirects(response, f"/rounds/{self.round.pk}/integrity/")
        self.assertEqual(DeskDay.objects.get().dossiers, 4)
        self.assertIsNotNone(IntegritySettings.objects.get(round=self.round).requested_at)  # a check is asked for
        self.assertEqual(self.client.post(url, {}).status_code, 400)


class ChecksTests(IntegrityTestCase):
    def test_a_check_replaces_the_rounds_flags(self):
        self.add(0, varied(0))
        second = self.add(30, varied(1))
        self.assertEqual(self.check(), {Kind.BURST: 1})
        self.assertEqual(self.check(), {Kind.BURST: 1})
        IntegritySettings.objects.filter(round=self.round).update(min_gap_seconds=10)
        self.assertEqual(self.check(), {})
        self.assertFalse(IntegrityFlag.objects.filter(response=second).exists())
        self.assertIsNotNone(IntegritySettings.objects.get(round=self.round).checked_at)

    def test_excluded_responses_are_checked_but_never_reach_the_queue_and_nothing_is_excluded(self):
        self.add(0, varied(0))
        second, third = self.add(30, varied(1)), self.add(50, varied(2))
        self.check()
        self.assertEqual({r.pk for r in flagged_responses(survey_round=self.round, kind="integrity")},
                         {second.pk, third.pk})
        self.assertFalse(Exclusion.objects.exists())
        response_exclude(response=second, reason=Exclusion.Reason.INTEGRITY, user=self.officer)
        self.assertEqual([r.pk for r in flagged_responses(survey_round=self.round, kind=Kind.BURST)], [third.pk])

    def test_the_beat_asks_for_a_check_when_the_kiosks_stored_responses_and_the_worker_runs_it_once(self):
        with self.captureOnCommitCallbacks(execute=False) as sent:
            self.assertEqual(integrity.integrity_poll(), 0)  # nothing stored yet
        self.assertEqual(sent, [])
        self.add(0, varied(0))
        self.add(30, varied(1))
        KioskDay.objects.create(kiosk=self.kiosk, day=timezone.localdate(), responses=2)
        with self.captureOnCommitCallbacks(execute=False) as sent:
            self.assertEqual(integrity.integrity_poll(), 1)
            self.assertEqual(integrity.integrity_poll(), 0)  # no change since: no second request
        self.assertEqual(len(sent), 1)
        self.assertEqual(integrity.integrity_run(round_id=self.round.pk), {Kind.BURST: 1})
        self.assertIsNone(integrity.integrity_run(round_id=self.round.pk))  # a second delivery does nothing
        KioskDay.objects.filter(kiosk=self.kiosk).update(responses=3)
        with self.captureOnCommitCallbacks(execute=False) as sent:
            self.assertEqual(integrity.integrity_poll(), 1)
            self.assertFalse(integrity.integrity_request(round_id=self.round.pk))  # debounced: one waits already

    def test_the_check_runs_through_the_task(self):
        from fieldwork.tasks import run_integrity_check

        self.add(0, varied(0))
        self.add(30, varied(1))
        with self.captureOnCommitCallbacks(execute=False):
            integrity.integrity_request(round_id=self.round.pk)
        self.assertEqual(run_integrity_check(self.round.pk), {Kind.BURST: 1})


class QueueAndPanelTests(IntegrityTestCase):
    def build(self):
        unit_set_hours(unit=self.commune, hours=OFFICE_HOURS)
        self.first = self.add(0, varied(0))
        self.burst = self.add(20, varied(1))
        self.night = self.add(TUESDAY.replace(hour=21), varied(2))
        other, _token = kiosk_create(unit=self.other_commune, name="Quầy MX")
        self.other = [self.add(600 * i, top_answers(), kiosk=other) for i in range(5)]
        self.check()

    def test_the_review_queue_shows_each_flag_with_its_reason_and_filters_by_flag_and_kiosk(self):
        self.build()
        self.client.force_login(self.province_officer)
        page = self.client.get(f"/rounds/{self.round.pk}/review/")
        self.assertContains(page, "submitted 20 s after the kiosk&#x27;s previous response (under 60 s)")
        self.assertContains(page, "submitted at 21:00 on Tuesday 01/12/2026, outside the desk&#x27;s opening hours")
        self.assertContains(page, "one of 5 responses in a row from this kiosk with every answer “very satisfied”",
                            count=5)
        # The reason preset: "integrity" unless an older flag says more (the all-top runs are straight-lining too).
        self.assertContains(page, '<option value="integrity" selected>', count=2)
        burst = self.client.get(f"/rounds/{self.round.pk}/review/?flag=burst&kiosk={self.kiosk.pk}")
        self.assertContains(burst, self.burst.pk)
        self.assertNotContains(burst, str(self.night.pk))
        self.assertContains(burst, "Showing only some flagged responses: burst.")
        self.assertNotContains(self.client.get(f"/rounds/{self.round.pk}/review/?flag=all_top&kiosk={self.kiosk.pk}"),
                               "very satisfied”")

    def test_the_panel_counts_each_kiosks_flags_for_the_officers_units_only(self):
        self.build()
        self.client.force_login(self.province_officer)
        page = self.client.get(f"/rounds/{self.round.pk}/integrity/")
        rows = page.context["kiosks"]
        self.assertEqual([(r.kiosk.name, r.responses, r.flagged, r.counts) for r in rows], [
            ("Quầy 1", 3, 2, {"burst": 1, "identical": 0, "all_top": 0, "off_hours": 1, "over_dossiers": 0}),
            ("Quầy MX", 5, 5, {"burst": 0, "identical": 5, "all_top": 5, "off_hours": 0, "over_dossiers": 0}),
        ])
        self.assertContains(page, f"?flag=burst&amp;kiosk={self.kiosk.pk}")
        self.client.force_login(self.officer)  # the commune's officer: their kiosk only
        page = self.client.get(f"/rounds/{self.round.pk}/integrity/")
        self.assertEqual([r.kiosk.name for r in page.context["kiosks"]], ["Quầy 1"])
        self.assertNotContains(page, "Quầy MX")
        self.assertNotContains(page, f'action="/rounds/{self.round.pk}/integrity/thresholds"')

    def test_the_panel_and_its_actions_are_404_outside_the_users_units(self):
        self.build()
        base = f"/rounds/{self.round.pk}/integrity/"
        for user in (self.far_officer, self.province_head, self.head, self.nobody):
            self.client.force_login(user)
            self.assertEqual(self.client.get(base).status_code, 404, user)
            self.assertEqual(self.client.post(base + "check").status_code, 404, user)
            self.assertEqual(self.client.post(base + "dossiers", {"text": "x"}).status_code, 404, user)
            self.assertEqual(self.client.post(base + "thresholds", {"run_length": 3}).status_code, 404, user)
        self.client.force_login(self.officer)  # a commune officer may not change the round's thresholds
        self.assertEqual(self.client.post(base + "thresholds", {"run_length": 3}).status_code, 404)

    def test_check_now_and_thresholds_queue_a_check(self):
        self.client.force_login(self.province_officer)
        base = f"/rounds/{self.round.pk}/integrity/"
        with self.captureOnCommitCallbacks(execute=False) as sent:
            self.assertRedirects(self.client.post(base + "check"), base)
            page = self.client.post(base + "check", follow=True)
        self.assertContains(page, "A check is already queued")
        self.assertEqual(len(sent), 1)
        self.assertEqual(self.client.post(base + "thresholds", {"run_length": 1}).status_code, 400)
        with self.captureOnCommitCallbacks(execute=False):
            self.assertRedirects(self.client.post(base + "thresholds", {"min_gap_seconds": 90, "run_length": ""}), base)
        self.assertEqual(integrity.thresholds(self.round), integrity.Thresholds(90, 5))

    def test_the_response_browser_filters_on_integrity_flags_and_a_response_shows_its_reasons(self):
        self.build()
        self.client.force_login(self.province_officer)
        listed = self.client.get(f"/rounds/{self.round.pk}/responses/?flag=integrity")
        self.assertEqual({row.pk for row in listed.context["page"].rows},
                         {self.burst.pk, self.night.pk, *(r.pk for r in self.other)})
        detail = self.client.get(f"/rounds/{self.round.pk}/responses/{self.burst.pk}/")
        self.assertContains(detail, "submitted 20 s after the kiosk&#x27;s previous response (under 60 s)")


@pytest.mark.django_db(transaction=True)
def test_check_now_runs_the_check_in_a_real_worker(client):
    """The panel's button queues the check once committed; a real Celery worker process runs it."""
    import time

    from fieldwork.services import round_create
    from questionnaires.services import definition_files, questionnaire_load_file
    from tests.base import make_unit, make_user
    from tests.workers import celery_worker
    from units.models import Role

    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level="province")
    commune = make_unit("02212", province)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    kiosk, _token = kiosk_create(unit=commune, name="Quầy 1")
    definition = survey_round.questionnaire.parsed
    for i, seconds in enumerate((0, 900, 925)):  # the third 25 s after the second: a burst
        at = TUESDAY + datetime.timedelta(seconds=seconds)
        Response.objects.create(round=survey_round, unit=commune, kiosk=kiosk, channel=Response.Channel.KIOSK,
                                language="vi", submitted_at=at, received_at=at,
                                answers=pack_answers(definition, varied(i)).slots, seconds_taken=90)
    client.force_login(make_user("officer", (Role.Kind.OFFICER, province)))
    with celery_worker():
        assert client.post(f"/rounds/{survey_round.pk}/integrity/check").status_code == 302
        deadline = time.monotonic() + 20
        while not IntegritySettings.objects.filter(round=survey_round, checked_at__isnull=False).exists():
            assert time.monotonic() < deadline, "the worker did not run the check"
            time.sleep(0.2)
    assert list(IntegrityFlag.objects.values_list("kind", "detail")) == [("burst", {"seconds": 25, "minimum": 60})]
    assert IntegritySettings.objects.get(round=survey_round).requested_at is None


class UnitLinkDeviceTests(IntegrityTestCase):
    """A unit's link for anyone (the desk poster, issue 19) is one device of its unit: each pattern
    built on purpose through it, and the responses that must not be mixed with it."""

    def via(self, at, answers=None, unit=None, channel=Response.Channel.POSTER):
        if not isinstance(at, datetime.datetime):
            at = TUESDAY + datetime.timedelta(seconds=at)
        slots = pack_answers(self.round.questionnaire.parsed, answers or full_answers()).slots
        return Response.objects.create(round=self.round, unit=unit or self.commune, kiosk=None, channel=channel,
                                       language="vi", submitted_at=at, received_at=at, answers=slots,
                                       seconds_taken=120)

    def test_a_burst_through_a_units_link_is_flagged_and_said_so(self):
        self.via(0, varied(0))
        soon = self.via(20, varied(1))
        self.assertEqual(self.check(), {Kind.BURST: 1})
        self.assertEqual(self.flags(Kind.BURST), {soon.pk: {"seconds": 20, "minimum": 60, "device": "unit_link"}})
        self.assertIn("unit's link (desk poster", integrity.flag_reason(Kind.BURST, self.flags(Kind.BURST)[soon.pk]))

    def test_the_kiosk_and_the_poster_of_a_desk_and_two_units_posters_are_separate_devices(self):
        for i in range(4):  # every 30 s at one desk, taking turns: kiosk, poster; each device 60 s apart
            if i % 2:
                self.via(i * 30, varied(i))
            else:
                self.add(i * 30, varied(i))
        self.via(5, varied(5), unit=self.other_commune)  # another unit's poster, 5 s after the first
        self.assertEqual(self.check(), {})

    def test_identical_and_all_top_runs_through_a_units_link_are_flagged(self):
        same = [self.via(600 * i, full_answers(**{"F1.1": 2})) for i in range(5)]
        self.add(600 * 2 + 1, varied(0))  # a kiosk response in between does not break the poster's run
        tops = [self.via(600 * i, top_answers(**({"F1.2": 0} if i % 2 else {}))) for i in range(6, 11)]
        self.assertEqual(self.check(), {Kind.IDENTICAL: 5, Kind.ALL_TOP: 5})
        self.assertEqual(self.flags(Kind.IDENTICAL), {r.pk: {"length": 5, "device": "unit_link"} for r in same})
        self.assertEqual(set(self.flags(Kind.ALL_TOP)), {r.pk for r in tops})

    def test_a_poster_response_outside_the_units_opening_hours_is_flagged(self):
        unit_set_hours(unit=self.commune, hours=OFFICE_HOURS)
        self.via(TUESDAY.replace(hour=10), varied(0))
        lunch = self.via(TUESDAY.replace(hour=12, minute=15), varied(1))
        self.assertEqual(self.check(), {Kind.OFF_HOURS: 1})
        self.assertEqual(set(self.flags(Kind.OFF_HOURS)), {lunch.pk})

    def test_personal_links_answered_at_home_are_not_checked(self):
        unit_set_hours(unit=self.commune, hours=OFFICE_HOURS)
        for i in range(6):  # at night, seconds apart, identical: normal after a batch of messages
            self.via(TUESDAY.replace(hour=22) + datetime.timedelta(seconds=i), top_answers(),
                     channel=Response.Channel.LINK)
        self.assertEqual(self.check(), {})

    def test_the_beat_asks_for_a_check_when_a_unit_link_stored_responses(self):
        from fieldwork.models import UnitLink

        with self.captureOnCommitCallbacks(execute=False):
            integrity.integrity_poll()
        self.via(0, varied(0))
        self.via(10, varied(1))
        UnitLink.objects.create(round=self.round, unit=self.commune, responses=2)
        with self.captureOnCommitCallbacks(execute=False) as sent:
            self.assertEqual(integrity.integrity_poll(), 1)
            self.assertEqual(integrity.integrity_poll(), 0)
        self.assertEqual(len(sent), 1)
        self.assertEqual(integrity.integrity_run(round_id=self.round.pk), {Kind.BURST: 1})

    def test_the_panel_has_a_row_for_each_units_link_with_flags(self):
        self.via(0, varied(0))
        self.via(20, varied(1))
        self.check()
        self.client.force_login(self.province_officer)
        page = self.client.get(f"/rounds/{self.round.pk}/integrity/")
        self.assertContains(page, 'data-testid="unit-link-flags"')
        self.assertContains(page, 'data-unit="02212"')
        rows = integrity.unit_link_rows(self.round)
        self.assertEqual([(r.unit, r.responses, r.flagged, r.counts[Kind.BURST]) for r in rows],
                         [(self.commune, 2, 1, 1)])
