"""Answering at home through a personal link (fieldwork.athome, fieldwork.views_athome): the link's
page marks nothing, Start counts it opened, one response a link stored with channel "link" in the
transaction that completes the invitation, clear pages for links that cannot be answered, the
slip's short code, and the channel counted by the scores."""

import csv
import datetime
import io
import json
import threading
import uuid
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldwork import athome
from fieldwork.invitations import invitation_token, invitations_create
from fieldwork.models import Invitation, Response, ResponseChange
from fieldwork.sampling import dossier_list_import, sample_draw
from fieldwork.services import round_close
from questionnaires.definition import condition_holds
from scoring import exports, report
from tests.base import make_user
from tests.fieldwork.base import full_answers
from tests.fieldwork.test_invitations import InvitationTestCase


class AtHomeTestCase(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)

    def setUp(self):
        super().setUp()
        self.citizen = Client()
        self.invite = self.invitation("A-001")
        self.link_token = invitation_token(self.invite)

    def link(self, token=None, suffix=""):
        return reverse("fieldwork:invitation-open", args=[token or self.link_token]) + suffix

    def send(self, token=None, **overrides):
        now = timezone.now()
        body = {"id": str(uuid.uuid4()), "questionnaire": "sipas-2017",
                "started_at": (now - datetime.timedelta(minutes=4)).isoformat(), "submitted_at": now.isoformat(),
                "language": "vi", "answers": full_answers(), **overrides}
        return self.citizen.post(self.link(token, "responses"), data=json.dumps(body), content_type="application/json")

    def stored(self):
        return Response.objects.filter(channel=Response.Channel.LINK)


class LinkPageTests(AtHomeTestCase):
    def test_the_page_shows_the_questionnaire_and_the_consent_and_marks_nothing(self):
        page = self.citizen.get(self.link())
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page["Content-Language"], "vi")
        html = page.content.decode()
        self.assertIn("91/2025/QH15", html)
        self.assertIn("Luật Bảo vệ dữ liệu cá nhân", html)
        self.assertIn('"code": "sipas-2017"', html)  # the kiosk's questionnaire body, in the page
        self.assertIn('data-api-base="' + self.link() + '"', html)
        self.assertIn("sipas.athome." + self.link_token[:22], html)
        self.assertNotIn("A-001", html)  # not the dossier, nor anything of the contact
        self.invite.refresh_from_db()
        self.assertIsNone(self.invite.opened_at)  # a messaging app's link preview is a GET like this one

    def test_start_marks_the_invitation_opened_once(self):
        answer = self.citizen.post(self.link(suffix="start"))
        self.assertEqual((answer.status_code, answer.json()), (200, {"status": "opened"}))
        self.invite.refresh_from_db()
        first = self.invite.opened_at
        self.assertIsNotNone(first)
        self.citizen.post(self.link(suffix="start"))
        self.invite.refresh_from_db()
        self.assertEqual(self.invite.opened_at, first)

    def test_a_get_of_start_or_responses_is_not_allowed(self):
        self.assertEqual(self.citizen.get(self.link(suffix="start")).status_code, 405)
        self.assertEqual(self.citizen.get(self.link(suffix="responses")).status_code, 405)


class SubmitTests(AtHomeTestCase):
    def test_a_response_is_stored_once_with_channel_link_and_the_invitation_completed(self):
        answer = self.send()
        self.assertEqual(answer.status_code, 201, answer.content)
        response = Response.objects.get(pk=answer.json()["id"])
        self.assertEqual(response.channel, Response.Channel.LINK)
        self.assertEqual(response.round_id, self.round.pk)
        self.assertEqual(response.unit.code, "02212")  # the dossier's unit
        self.assertIsNone(response.kiosk_id)
        self.assertIsNone(response.dossier_hash)  # nothing leads from the response to the dossier
        self.assertEqual(response.seconds_taken, 240)
        self.assertTrue(ResponseChange.objects.filter(response_id=response.pk, sign=1).exists())  # for the scores
        self.invite.refresh_from_db()
        self.assertIsNotNone(self.invite.completed_at)
        self.assertIsNotNone(self.invite.opened_at)  # Start never came through: the response counts
        self.assertEqual(self.stored().count(), 1)

    def test_the_response_has_no_field_that_leads_to_an_invitation_or_a_contact(self):
        related = {f.related_model.__name__ for f in Response._meta.concrete_fields if f.is_relation}
        self.assertEqual(related, {"Round", "Unit", "Kiosk"})

    def test_a_second_response_on_the_link_stores_nothing_and_says_it_was_answered(self):
        first = self.send()
        again = self.send()
        self.assertEqual(again.status_code, 409)
        self.assertEqual(again.json()["reason"], "used")
        self.assertEqual(again.json()["texts"]["vi"], "Thư mời này đã được trả lời. Xin cảm ơn!")
        self.assertEqual(list(self.stored().values_list("pk", flat=True)), [uuid.UUID(first.json()["id"])])

    def test_the_same_response_sent_again_is_answered_as_stored(self):
        body_id = str(uuid.uuid4())
        self.assertEqual(self.send(id=body_id).status_code, 201)
        retry = self.send(id=body_id)
        self.assertEqual((retry.status_code, retry.json()["id"]), (200, body_id))
        self.assertEqual(self.stored().count(), 1)

    def test_reopening_an_answered_link_shows_already_answered(self):
        self.send()
        page = self.citizen.get(self.link())
        self.assertContains(page, "Thư mời này đã được trả lời. Xin cảm ơn!", status_code=410)
        self.assertContains(page, "This invitation has already been answered. Thank you!", status_code=410)
        self.assertContains(page, 'data-testid="athome-used"', status_code=410)

    def test_wrong_answers_are_refused_in_the_citizens_language_and_complete_nothing(self):
        answer = self.send(answers=full_answers(**{"E.FIELD": "space"}), language="en")
        self.assertEqual(answer.status_code, 400)
        self.assertIn("E.FIELD", answer.json()["errors"])
        self.invite.refresh_from_db()
        self.assertIsNone(self.invite.completed_at)
        self.assertEqual(self.stored().count(), 0)

    def test_a_dossier_code_or_another_round_is_refused(self):
        self.assertEqual(self.send(dossier_code="A-001").status_code, 400)
        self.assertEqual(self.send(round=self.round.pk + 100).status_code, 400)
        self.assertEqual(self.stored().count(), 0)

    def test_storing_and_completing_are_one_transaction(self):
        # If the invitation could not be marked completed, the stored response is rolled back with it.
        with mock.patch("fieldwork.invitations.invitation_complete", return_value=False):
            answer = self.send()
        self.assertEqual(answer.status_code, 409)
        self.assertEqual(self.stored().count(), 0)
        self.assertFalse(ResponseChange.objects.exists())

    def test_the_second_of_two_submissions_waits_for_the_lock_and_finds_the_link_answered(self):
        # What the second sees after the first committed: its row, locked and read again, is completed.
        self.send()
        with self.assertRaises(athome.Refused) as refused:
            athome.athome_submit(token=self.link_token, payload={"id": str(uuid.uuid4())})
        self.assertEqual(refused.exception.reason, "used")


class RefusedLinkTests(AtHomeTestCase):
    def test_an_expired_link_gets_a_clear_page_and_stores_nothing(self):
        Invitation.objects.filter(pk=self.invite.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
        page = self.citizen.get(self.link())
        self.assertContains(page, "Thư mời này đã hết hạn.", status_code=410)
        self.assertContains(page, "This invitation has expired.", status_code=410)
        self.assertEqual(self.send().status_code, 410)
        self.assertEqual(self.citizen.post(self.link(suffix="start")).json()["reason"], "expired")
        self.assertEqual(self.stored().count(), 0)
        self.invite.refresh_from_db()
        self.assertIsNone(self.invite.opened_at)
        self.assertIsNone(self.invite.completed_at)

    def test_a_closed_round_gets_a_clear_page_and_stores_nothing(self):
        round_close(survey_round=self.round)
        self.assertContains(self.citizen.get(self.link()), "This survey is not open at the moment.", status_code=410)
        self.assertEqual(self.send().json()["reason"], "closed")
        self.assertEqual(self.stored().count(), 0)

    def test_an_altered_or_made_up_link_is_not_found(self):
        altered = self.link_token[:-1] + ("A" if self.link_token[-1] != "A" else "B")
        for token in (altered, "x" * 38, "short"):
            page = self.citizen.get(self.link(token))
            self.assertContains(page, "Đường dẫn này không hợp lệ.", status_code=404)
            self.assertEqual(self.send(token).status_code, 404)
        self.assertEqual(self.stored().count(), 0)


class CodePageTests(AtHomeTestCase):
    def test_the_slips_code_leads_to_the_link_typed_loosely(self):
        self.assertEqual(self.citizen.get(reverse("fieldwork:athome-code")).status_code, 200)
        typed = self.invite.code[:4].lower() + " - " + self.invite.code[4:]
        answer = self.citizen.post(reverse("fieldwork:athome-code"), {"code": typed})
        self.assertRedirects(answer, self.link(), fetch_redirect_response=False)

    def test_an_unknown_code_is_said_plainly(self):
        answer = self.citizen.post(reverse("fieldwork:athome-code"), {"code": "AAAA3333"})
        self.assertContains(answer, "Không có cuộc khảo sát nào đang mở với mã này", status_code=404)

    def test_an_answered_invitations_code_says_so(self):
        self.send()
        answer = self.citizen.post(reverse("fieldwork:athome-code"), {"code": self.invite.code})
        self.assertContains(answer, "Thư mời này đã được trả lời.", status_code=410)

    def test_the_rate_limits_keys_in_redis_hold_neither_the_token_nor_the_address(self):
        from django.conf import settings

        from surveyapp.internals import cache_client

        self.assertEqual(self.citizen.post(self.link(suffix="start")).status_code, 200)
        self.citizen.post(reverse("fieldwork:athome-code"), {"code": "AAAA3333"}, REMOTE_ADDR="203.0.113.77")

        keys = [k.decode() for k in cache_client().scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*")]
        rate_keys = [k for k in keys if ":rate:" in k]
        self.assertEqual(len(rate_keys), 2)  # the link's and the code page's counts
        for key in rate_keys:
            self.assertNotIn(self.link_token[:22], key)
            self.assertNotIn("203.0.113.77", key)

    def test_guessing_codes_is_limited(self):
        with mock.patch("fieldwork.views_athome.ratelimit.allow", return_value=(False, 30)):
            answer = self.citizen.post(reverse("fieldwork:athome-code"), {"code": self.invite.code})
        self.assertEqual(answer.status_code, 429)


class ChannelCountTests(AtHomeTestCase):
    def test_the_scores_count_the_link_channel_beside_the_kiosk(self):
        self.send()
        self.assertEqual(self.post(self.payload()).status_code, 201)  # one at the desk's kiosk
        province = self.round.unit
        self.assertEqual(report.channel_counts(survey_round=self.round, unit=province),
                         [("Kiosk", 1), ("Link, answered at home", 1)])
        rows = list(csv.reader(io.StringIO("".join(exports.responses_csv(survey_round=self.round, unit=province)))))
        self.assertEqual(sorted(row[3] for row in rows[1:]), ["kiosk", "link"])


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_store_one_response():
    """Two phones (or two taps) sending different responses on one link at the same moment: the
    invitation's row lock lets one through; the other waits, then finds the link answered."""
    from tests.browser.kiosk import make_survey

    survey = make_survey()
    user = make_user("officer08")
    frame = "dossier_code,unit_code,service_field,completed_on\nT-001,02212,land,2026-10-01\n"
    dossiers = dossier_list_import(survey_round=survey["round"], name="Hồ sơ", user=user, text=frame)
    invitations_create(sample=sample_draw(dossier_list=dossiers, size=1, strata=(), seed=1, user=user))
    invitation = Invitation.objects.get()
    token = invitation_token(invitation)
    now = timezone.now()
    answers = {"E.FIELD": "land", "E.LEVEL": "commune", "E.CHANNEL_FILE": "in_person", "E.VISITS": "1",
               "E.ONTIME": "on_time", "E.EXTRA_PAY": "no", "E.HARASS": "no", "E.INFO": ["public_portal"],
               "F5.0": "no"}
    definition = survey["round"].questionnaire.parsed
    for item in definition.items:
        if item["kind"] == "satisfaction" and condition_holds(item.get("condition"), answers):
            answers[item["code"]] = 4
    payload = {"questionnaire": "sipas-2017-r2026", "submitted_at": now.isoformat(), "language": "vi",
               "answers": answers}
    barrier, outcomes = threading.Barrier(2), []

    def submit():
        try:
            barrier.wait()
            athome.athome_submit(token=token, payload={**payload, "id": str(uuid.uuid4())})
            outcomes.append("stored")
        except athome.Refused as exc:
            outcomes.append(exc.reason)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["stored", "used"]
    assert Response.objects.filter(channel=Response.Channel.LINK).count() == 1
    invitation.refresh_from_db()
    assert invitation.completed_at is not None


class StaffPagesTests(AtHomeTestCase):
    def test_the_response_browser_lists_and_shows_a_link_response_as_answered_at_home(self):
        response_id = self.send().json()["id"]
        self.client.force_login(self.province_officer)
        listed = self.client.get(reverse("fieldwork:responses", args=[self.round.pk]), {"source": "link"})
        self.assertContains(listed, response_id[-8:])
        self.assertContains(listed, "Link, answered at home")
        shown = self.client.get(reverse("fieldwork:response", args=[self.round.pk, response_id]))
        self.assertContains(shown, "Link, answered at home")
        self.assertNotContains(shown, "A-001")  # nothing of the dossier or the invitation
        self.assertNotContains(shown, self.invite.code)
