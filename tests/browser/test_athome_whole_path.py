"""Issue 19's acceptance, the whole path: a sample is drawn, invitations are made for it and sent
through a real Celery worker to a real SMTP server and a local SMS gateway; the link is taken out
of the e-mail received and answered in Chromium; it is counted once (the invitation completed, one
response with channel "link", the unit's score counting it once after scoring runs). The same link
again is "already answered" and stores nothing; an expired link (the SMS one) says so and stores
nothing. On the way, an address refused by the mail server is not resent unchanged, and is resent
once an upload corrects it."""

import email
import email.policy
import os
import re
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from fieldwork.invitations import (
    contacts_import,
    invitation_progress,
    invitations_create,
    invitations_queue,
    invitations_resend,
)
from fieldwork.models import Invitation, Response
from fieldwork.sampling import dossier_list_import, sample_draw
from scoring.models import UnitScore
from scoring.services import score_run_execute, score_run_for_command
from tests.base import make_user
from tests.browser.kiosk import make_survey, open_kiosk, tap
from tests.browser.test_athome import answer_to_the_end
from tests.fieldwork.gateways import ALL_SENDERS, http_gateway, smtp_server
from tests.workers import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://[^\s]+/i/[A-Za-z0-9_-]{38}/")


def wait_until(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: still not after {seconds} s"
        time.sleep(0.2)


def mail_text(raw):
    """The text of a received message, whatever its transfer encoding."""
    return email.message_from_bytes(raw.encode("utf-8"), policy=email.policy.default).get_content()


def pending():
    return Invitation.objects.filter(queued_at__isnull=False, sent_at__isnull=True, failed_at__isnull=True).exists()


def test_a_sampled_dossier_answers_at_home_through_the_link_it_was_sent(chromium, live_server, artifacts):
    survey = make_survey()
    survey_round = survey["round"]
    officer = make_user("officer08")
    frame = "dossier_code,unit_code,service_field,completed_on\n" + "".join(
        f"W-{i:03d},02212,land,2026-10-0{i % 9 + 1}\n" for i in range(8))
    dossiers = dossier_list_import(survey_round=survey_round, name="Hồ sơ", user=officer, text=frame)
    sample = sample_draw(dossier_list=dossiers, size=4, seed=11, user=officer)
    assert invitations_create(sample=sample) == 4
    drawn = sorted(Invitation.objects.filter(round=survey_round).values_list("dossier__code", flat=True))
    by_mail, by_sms, refused = drawn[0], drawn[1], drawn[2]
    contacts_import(survey_round=survey_round, text=f"dossier_code,phone,email\n{by_mail},,lan@example.vn\n"
                                                    f"{by_sms},0912345678,\n{refused},,sai@example.vn\n")
    cache.delete("invitation-bucket:email")
    cache.delete("invitation-bucket:sms")

    with smtp_server() as smtp, http_gateway() as gateway:
        smtp.refuse["sai@example.vn"] = [(550, "5.1.1 no such user sai@example.vn")]
        environment = {"SITE_URL": live_server.url, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port),
                       "DEFAULT_FROM_EMAIL": "khaosat@tuyenquang.gov.vn", "SMS_GATEWAY_URL": gateway.url + "/sms",
                       "SMS_GATEWAY_API_KEY": "sms-key", "INVITATION_SEND_TIMEOUT": "2"}
        with mock.patch.dict(os.environ, environment), celery_worker(name="athome"), \
                override_settings(INVITATION_SENDERS=ALL_SENDERS):
            assert invitations_queue(survey_round=survey_round, channel="email") == 2
            assert invitations_queue(survey_round=survey_round, channel="sms") == 1
            wait_until(lambda: not pending(), "invitations queued but not sent")
            failed = Invitation.objects.get(dossier__code=refused)
            assert failed.failure.startswith("SMTP 550") and "s***@example.vn" in failed.failure
            assert "sai@" not in failed.failure
            assert invitations_resend(survey_round=survey_round) == 0  # refused, and its address unchanged
            contacts_import(survey_round=survey_round, text=f"dossier_code,email\n{refused},sa@example.vn\n")
            assert invitations_resend(survey_round=survey_round) == 1
            wait_until(lambda: not pending(), "the resent invitation")
            assert Invitation.objects.get(dossier__code=refused).sent_at is not None

    assert [recipients for _from, recipients, _raw in smtp.messages] == [["lan@example.vn"], ["sa@example.vn"]]
    mailed = mail_text(smtp.messages[0][2])
    link = LINK.search(mailed).group()
    assert link.startswith(live_server.url)
    sms_link = LINK.search(gateway.bodies("/sms")[0]["text"]).group()
    assert gateway.bodies("/sms")[0]["to"] == "84912345678" and sms_link != link

    invitation = Invitation.objects.get(dossier__code=by_mail)
    context, page, errors = open_kiosk(chromium, "360x740", has_touch=True, is_mobile=True)
    try:
        page.goto(link)
        page.get_by_test_id("welcome").wait_for()
        tap(page, page.get_by_test_id("start"), touch=True)
        answer_to_the_end(page, "athome-thanks", touch=True)
        (artifacts / "athome").mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "athome" / "whole-path-thanks.png"))

        # Counted once: the invitation, one response by link, the progress, and the unit's score.
        invitation.refresh_from_db()
        assert invitation.completed_at is not None and invitation.opened_at is not None
        stored = Response.objects.filter(round=survey_round)
        assert [(r.channel, r.unit.code) for r in stored] == [(Response.Channel.LINK, "02212")]
        assert invitation_progress(survey_round)["total"]["completed"] == 1
        run = score_run_execute(run_id=score_run_for_command(round_id=survey_round.pk).pk)
        assert run.status == "done", run.error
        assert UnitScore.objects.get(round=survey_round, unit__code="02212").n == 1
        assert UnitScore.objects.get(round=survey_round, unit__code="08").n == 1

        # The same link again: already answered, nothing stored.
        page.goto(link)
        page.get_by_test_id("athome-used").wait_for()
        assert "đã được trả lời" in page.inner_text("h1")
        assert Response.objects.filter(round=survey_round).count() == 1

        # The SMS's link, expired through its invitation: a clear page, nothing stored, not opened.
        Invitation.objects.filter(dossier__code=by_sms).update(expires_at=timezone.now() - timezone.timedelta(days=1))
        page.goto(sms_link)
        page.get_by_test_id("athome-expired").wait_for()
        assert "hết hạn" in page.inner_text("h1")
        assert page.get_by_test_id("start").count() == 0
        assert Response.objects.filter(round=survey_round).count() == 1
        assert Invitation.objects.get(dossier__code=by_sms).opened_at is None
        assert not errors, errors
    finally:
        context.close()
