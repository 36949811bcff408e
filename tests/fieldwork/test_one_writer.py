"""One writer: every channel stores its responses through fieldwork.responses' one statement, and
what the statement refuses is explained, reading only, with the precise reason."""

import ast
import datetime
import re
import uuid
from pathlib import Path
from unittest import mock

from django.utils import timezone

from fieldwork import responses
from fieldwork.models import Kiosk, KioskDay, Quota, QuotaDay, Response, ResponseChange, Round
from fieldwork.paper import paper_import_csv, paper_submit
from fieldwork.quotas import quota_set
from fieldwork.responses import SubmissionError, response_submit
from fieldwork.services import kiosk_memory, round_close, round_open
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.fieldwork.test_paper import PaperTestCase, form_row

ROOT = Path(__file__).resolve().parents[2]
APPS = ("fieldwork", "questionnaires", "units", "scoring", "surveyapp")


def _python_files():
    for app in APPS:
        yield from (p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


class OneWriterShapeTests(KioskTestCase):
    def test_only_fieldwork_responses_builds_or_inserts_a_response_row(self):
        writers = set()
        for path in _python_files():
            source = path.read_text(encoding="utf-8")
            if re.search(r"INSERT\s+INTO\s+fieldwork_response\b", source, re.IGNORECASE):
                writers.add(path.relative_to(ROOT).as_posix())
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Name) and func.id == "Response":
                    writers.add(path.relative_to(ROOT).as_posix())
                if (isinstance(func, ast.Attribute) and func.attr in ("create", "bulk_create", "get_or_create",
                                                                       "update_or_create")
                        and "Response.objects" in ast.unparse(func)):
                    writers.add(path.relative_to(ROOT).as_posix())
        self.assertEqual(writers, {"fieldwork/responses.py"})

    def test_the_quota_rules_are_written_once(self):
        # The effective policy and the matching rule as SQL, in fieldwork/quotas.py alone.
        places = {path.relative_to(ROOT).as_posix() for path in _python_files()
                  if "COALESCE(NULLIF(q.policy" in path.read_text(encoding="utf-8")
                  or "stratum_item || '='" in path.read_text(encoding="utf-8")}
        self.assertEqual(places, {"fieldwork/quotas.py"})


class EveryChannelTests(KioskTestCase):
    """Each channel's response goes through the statement (responses._store) and nowhere else."""

    def setUp(self):
        self.officer = self.province_officer
        spy = mock.patch.object(responses, "_store", wraps=responses._store)
        self.store = spy.start()
        self.addCleanup(spy.stop)

    def assert_stored_once_by_the_statement(self, channel):
        self.assertEqual(self.store.call_count, 1)
        response = Response.objects.get()
        self.assertEqual(response.channel, channel)
        self.assertEqual(ResponseChange.objects.filter(response_id=response.pk, sign=1).count(), 1)

    def test_the_kiosk_api(self):
        self.assertEqual(self.post(self.payload()).status_code, 201)
        self.assert_stored_once_by_the_statement(Response.Channel.KIOSK)
        self.assertEqual(KioskDay.objects.get(kiosk=self.kiosk).responses, 1)

    def test_a_paper_form(self):
        paper_submit(survey_round=self.round, unit=self.commune, form_id=uuid.uuid4(), form_date=timezone.localdate(),
                     answers=full_answers())
        self.assert_stored_once_by_the_statement(Response.Channel.PAPER)
        self.assertFalse(KioskDay.objects.exists())

    def test_a_paper_import(self):
        text = PaperTestCase.csv(self, [form_row(unit_code=self.commune.code, **full_answers())])
        result = paper_import_csv(survey_round=self.round, text=text)
        self.assertEqual(result.stored, 1)
        self.assert_stored_once_by_the_statement(Response.Channel.PAPER)

    def test_the_form_without_javascript(self):
        response_submit(unit=self.commune, kiosk=self.kiosk, payload=self.payload(), channel=Response.Channel.WEB)
        self.assert_stored_once_by_the_statement(Response.Channel.WEB)
        self.assertEqual(KioskDay.objects.get(kiosk=self.kiosk).responses, 1)


class ExplanationTests(KioskTestCase):
    """What the statement does not store is explained on what the database holds now."""

    def fill_quota(self, policy):
        quota = quota_set(survey_round=self.round, unit=self.commune, target=1, policy=policy)
        self.assertEqual(self.post(self.payload()).status_code, 201)
        return quota

    def test_a_full_closing_quota_refuses_a_kiosk_response_but_flags_a_paper_form(self):
        quota = self.fill_quota(Quota.Policy.CLOSE)

        answer = self.post(self.payload())
        self.assertEqual(answer.status_code, 409)
        self.assertIn(f"{self.commune.code}: 1/1", answer.json()["errors"]["quota"][0])

        paper = paper_submit(survey_round=self.round, unit=self.commune, form_id=uuid.uuid4(),
                             form_date=timezone.localdate(), answers=full_answers())
        self.assertTrue(paper.response.over_quota)
        quota.refresh_from_db()
        self.assertEqual((quota.filled, quota.over), (1, 1))
        self.assertEqual(QuotaDay.objects.get(quota=quota).responses, 1)

    def test_a_retry_is_answered_with_the_stored_response_and_a_changed_copy_is_a_conflict(self):
        body = self.payload()
        self.assertEqual(self.post(body).status_code, 201)

        self.assertEqual(self.post(body).status_code, 200)
        changed = self.post({**body, "answers": full_answers(**{"F1.1": 2})})
        self.assertEqual(changed.status_code, 409)
        self.assertIn("differs in answers", changed.json()["errors"]["id"][0])
        self.assertEqual((Response.objects.count(), ResponseChange.objects.count()), (1, 1))

    def test_a_second_response_for_a_dossier_is_a_conflict(self):
        Round.objects.filter(pk=self.round.pk).update(ask_dossier_code=True)
        self.assertEqual(self.post(self.payload(dossier_code="HS-001")).status_code, 201)

        answer = self.post(self.payload(dossier_code=" hs-001 "))
        self.assertEqual(answer.status_code, 409)
        self.assertIn("dossier", answer.json()["errors"]["dossier_code"][0])

    def test_when_nothing_explains_a_refusal_the_kiosk_is_told_to_send_again_and_nothing_is_stored(self):
        with mock.patch.object(responses, "_store", return_value=None) as store:
            answer = self.post(self.payload())

        self.assertEqual(answer.status_code, 503)
        self.assertIn("send it again", answer.json()["error"])
        self.assertEqual(store.call_count, 3)
        self.assertFalse(Response.objects.exists())


class MemoryTests(KioskTestCase):
    """A process's memory of the round and the kiosk never decides: the statement checks them, and
    what it did not store is tried again on what the database holds."""

    def remember_round(self, status):
        remembered = Round.objects.select_related("questionnaire", "unit").get(pk=self.round.pk)
        remembered.status = status
        responses.round_memory.put(self.round.pk, remembered)
        self.addCleanup(responses.round_memory.forget, self.round.pk)

    def test_a_round_remembered_open_but_closed_since_refuses_a_form_and_takes_it_once_reopened(self):
        self.remember_round(Round.Status.OPEN)
        round_close(survey_round=self.round)
        body = self.payload()

        with self.assertRaisesMessage(SubmissionError, "is closed: reopen it"):
            response_submit(unit=self.commune, kiosk=self.kiosk, payload=body, channel=Response.Channel.WEB)
        round_open(survey_round=self.round)
        self.assertTrue(response_submit(unit=self.commune, kiosk=self.kiosk, payload=body,
                                        channel=Response.Channel.WEB).created)

    def test_a_round_remembered_open_but_closed_long_ago_refuses_with_the_reason(self):
        self.remember_round(Round.Status.OPEN)
        Round.objects.filter(pk=self.round.pk).update(
            status=Round.Status.CLOSED, closed_at=timezone.now() - datetime.timedelta(days=30),
            first_opened_at=timezone.now() - datetime.timedelta(days=60))
        Kiosk.objects.filter(pk=self.kiosk.pk).update(first_paired_at=timezone.now() - datetime.timedelta(days=60))
        self.kiosk.refresh_from_db()

        answer = self.post(self.payload(started_at=(timezone.now() - datetime.timedelta(days=31)).isoformat(),
                                        submitted_at=(timezone.now() - datetime.timedelta(days=31)).isoformat()))

        self.assertEqual(answer.status_code, 409, answer.content)
        self.assertIn("is accepted up to", answer.json()["errors"]["round"][0])
        self.assertFalse(Response.objects.exists())

    def test_a_kiosk_remembered_but_revoked_since_is_refused(self):
        self.assertEqual(self.post(self.payload()).status_code, 201)  # now remembered by this process
        self.addCleanup(kiosk_memory.forget, self.kiosk.token_hash)
        Kiosk.objects.filter(pk=self.kiosk.pk).update(revoked_at=timezone.now())

        self.assertEqual(self.post(self.payload()).status_code, 403)
        self.assertEqual(Response.objects.count(), 1)
