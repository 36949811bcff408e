import json
import threading
import uuid

from django.db import connection
from django.test import TransactionTestCase, override_settings

from fieldwork.models import Response
from fieldwork.services import kiosk_revoke, round_close
from tests.fieldwork.base import KioskTestCase, full_answers


class SubmissionTests(KioskTestCase):
    def test_a_new_response_is_stored_and_answered_with_201(self):
        body = self.payload()

        response = self.post(body)

        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json(), {"id": body["id"], "status": "stored"})
        stored = Response.objects.get(pk=body["id"])
        self.assertEqual((stored.unit, stored.kiosk, stored.round), (self.commune, self.kiosk, self.round))
        self.assertEqual(stored.channel, Response.Channel.KIOSK)
        self.assertEqual(stored.questionnaire.code, "sipas-2017")

    def test_answers_are_stored_one_slot_per_item_and_read_back_the_same(self):
        from questionnaires.answers import unpack_answers

        body = self.payload(answers=full_answers(**{"X.EXPECT": ["shorten_time", "more_online"],
                                                    "C.COMMENT": "Cán bộ nhiệt tình"}))
        self.post(body)

        stored = Response.objects.get(pk=body["id"])
        definition = stored.questionnaire.parsed
        self.assertEqual(len(stored.answers), len(definition.items))
        self.assertEqual(stored.answers[definition.positions["F1.1"] - 1], 4)
        self.assertIsNone(stored.answers[definition.positions["F5.1"] - 1])  # not asked
        self.assertEqual(unpack_answers(definition, stored.answers, stored.texts), body["answers"])

    def test_a_retry_with_the_same_content_is_a_200_and_stores_nothing_new(self):
        body = self.payload()
        self.post(body)

        again = self.post(body)

        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json(), {"id": body["id"], "status": "stored"})
        self.assertEqual(Response.objects.count(), 1)

    def test_the_same_id_with_different_content_is_a_409(self):
        body = self.payload()
        self.post(body)
        body["answers"]["G.0"] = 1

        response = self.post(body)

        self.assertEqual(response.status_code, 409)
        self.assertIn("differs in answers", response.json()["error"])
        self.assertEqual(Response.objects.get(pk=body["id"]).answers.count(4) > 0, True)

    def test_an_unknown_questionnaire_is_a_400_naming_it(self):
        response = self.post(self.payload(questionnaire="sipas-1999"))

        self.assertEqual(response.status_code, 400)
        self.assertIn("'sipas-1999' is not the questionnaire of round", response.json()["errors"]["questionnaire"][0])
        self.assertFalse(Response.objects.exists())

    def assertRejected(self, answers, code, fragment):
        response = self.post(self.payload(answers=answers))
        self.assertEqual(response.status_code, 400, response.content)
        errors = response.json()["errors"]
        self.assertIn(code, errors)
        self.assertIn(fragment, " ".join(errors[code]))
        self.assertFalse(Response.objects.exists())

    def test_an_unknown_item_is_a_400(self):
        self.assertRejected(full_answers(**{"F9.9": 4}), "F9.9", "unknown item")

    def test_an_unknown_option_is_a_400(self):
        self.assertRejected(full_answers(**{"E.FIELD": "fishing"}), "E.FIELD", "'fishing' is not an option")

    def test_a_value_out_of_range_is_a_400(self):
        self.assertRejected(full_answers(**{"F1.1": 6}), "F1.1", "must be one of 1, 2, 3, 4, 5")

    def test_not_applicable_is_refused_where_the_item_does_not_allow_it(self):
        self.assertRejected(full_answers(**{"F1.1": 0}), "F1.1", "must be one of")

    def test_not_applicable_is_accepted_where_the_item_allows_it(self):
        self.assertEqual(self.post(self.payload(answers=full_answers(**{"F1.2": 0}))).status_code, 201)

    def test_a_boolean_is_not_a_satisfaction_level(self):
        self.assertRejected(full_answers(**{"F1.1": True}), "F1.1", "must be one of")

    def test_a_missing_required_answer_is_a_400(self):
        self.assertRejected(full_answers(**{"F3.2": None}), "F3.2", "an answer is required")

    def test_an_answer_to_an_item_whose_condition_is_false_is_a_400(self):
        self.assertRejected(full_answers(**{"F5.1": 4}), "F5.1", "condition is false")

    def test_factor_five_is_required_of_those_who_gave_feedback(self):
        self.assertRejected(full_answers(**{"F5.0": "yes"}), "F5.1", "an answer is required")

    def test_too_many_choices_are_a_400(self):
        self.assertRejected(full_answers(**{"X.EXPECT": ["shorten_time", "more_online", "lower_fees",
                                                         "staff_attitude"]}), "X.EXPECT", "at most 3")

    def test_malformed_json_is_a_400(self):
        response = self.post("{not json")

        self.assertEqual(response.status_code, 400)
        self.assertIn("not valid JSON", response.json()["errors"]["body"][0])

    def test_a_body_that_is_not_an_object_is_a_400(self):
        self.assertEqual(self.post("[1, 2]").json(), {"errors": {"body": ["must be a JSON object"]}})

    def test_bad_envelope_fields_are_each_named(self):
        response = self.post(self.payload(id="nope", submitted_at="yesterday", language="fr", colour="red"))

        self.assertEqual(set(response.json()["errors"]), {"id", "submitted_at", "language", "colour"})

    def test_a_missing_token_is_a_401(self):
        response = self.client.post("/api/kiosk/v1/responses", data="{}", content_type="application/json")

        self.assertEqual(response.status_code, 401)

    def test_an_unknown_token_is_a_401(self):
        self.assertEqual(self.post(self.payload(), token="forged-token").status_code, 401)

    def test_a_revoked_kiosk_is_a_403_at_once(self):
        kiosk_revoke(kiosk=self.kiosk)

        response = self.post(self.payload())

        self.assertEqual(response.status_code, 403)
        self.assertFalse(Response.objects.exists())

    @override_settings(KIOSK_MAX_BODY_BYTES=2000)
    def test_a_body_over_the_size_limit_is_a_413(self):
        response = self.post(self.payload(answers=full_answers(**{"C.COMMENT": "x" * 3000})))

        self.assertEqual(response.status_code, 413)
        self.assertFalse(Response.objects.exists())

    @override_settings(KIOSK_RATE_LIMIT_PER_MINUTE=3)
    def test_past_the_per_device_limit_it_is_a_429_with_retry_after(self):
        import time

        while time.time() % 60 > 50:  # the limit counts in one-minute windows: stay inside one
            time.sleep(0.5)
        statuses = [self.post(self.payload()).status_code for _ in range(4)]

        self.assertEqual(statuses, [201, 201, 201, 429])
        self.assertEqual(Response.objects.count(), 3)

    def test_a_second_response_for_the_same_dossier_is_a_409(self):
        self.round.ask_dossier_code = True
        self.round.save()
        self.post(self.payload(dossier_code="000.00.12.H56-261123-0001"))

        response = self.post(self.payload(dossier_code=" 000.00.12.h56-261123-0001 "))

        self.assertEqual(response.status_code, 409)
        self.assertIn("dossier", response.json()["error"])
        stored = Response.objects.get()
        self.assertNotIn("H56", stored.dossier_hash)  # only a keyed hash is kept

    def test_a_round_that_asks_for_the_dossier_code_requires_it(self):
        self.round.ask_dossier_code = True
        self.round.save()

        response = self.post(self.payload())

        self.assertEqual(response.status_code, 400, response.content)

    def test_a_response_queued_before_the_round_closed_is_still_stored(self):
        body = self.payload()
        round_close(survey_round=self.round)

        self.assertEqual(self.post(body).status_code, 201)

    def test_a_response_submitted_after_the_round_closed_is_refused(self):
        round_close(survey_round=self.round)
        from django.utils import timezone

        response = self.post(self.payload(submitted_at=(timezone.now() + timezone.timedelta(minutes=1)).isoformat()))

        self.assertEqual(response.status_code, 409)

    def test_nothing_identifying_the_person_or_device_address_is_stored(self):
        self.post(self.payload(), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Tablet/1.0")

        with connection.cursor() as cursor:
            cursor.execute("SELECT row_to_json(r)::text FROM fieldwork_response r")
            row = cursor.fetchone()[0]
        self.assertNotIn("203.0.113.9", row)
        self.assertNotIn("Tablet", row)


class QuestionnaireEndpointTests(KioskTestCase):
    def get(self, token=None):
        return self.client.get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {token or self.token}")

    def test_it_gives_the_open_round_and_every_item_with_options_and_conditions(self):
        data = self.get().json()

        self.assertEqual(data["round"]["id"], self.round.pk)
        self.assertEqual(data["unit"]["code"], "02212")
        items = {i["code"]: i for s in data["questionnaire"]["sections"] for i in s["items"]}
        self.assertEqual(len(items), 42)
        self.assertEqual(items["F5.1"]["condition"], {"item": "F5.0", "equals": "yes"})
        self.assertEqual([o["code"] for o in items["F1.2"]["options"]], [1, 2, 3, 4, 5, 0])
        self.assertEqual(items["F1.1"]["options"][4]["label"], {"vi": "Rất hài lòng", "en": "Very satisfied"})
        self.assertEqual([o["code"] for o in items["E.EXTRA_PAY"]["options"]], ["yes", "no"])

    def test_with_no_open_round_it_says_so(self):
        round_close(survey_round=self.round)

        data = self.get().json()

        self.assertIsNone(data["round"])
        self.assertIsNone(data["questionnaire"])

    def test_a_kiosk_of_another_province_does_not_get_this_round(self):
        from fieldwork.services import kiosk_create, kiosk_issue_token

        kiosk, _ = kiosk_create(unit=self.another_province, name="Lào Cai 1")

        self.assertIsNone(self.get(kiosk_issue_token(kiosk=kiosk)).json()["round"])


class RetryStormTests(TransactionTestCase):
    """Many copies of the same response at once, on separate database connections."""

    def test_a_retry_storm_of_one_response_stores_it_once(self):
        case = KioskTestCase
        case.setUpTestData()
        body = json.dumps(case.payload(case)).encode()
        token = case.token
        statuses = []

        def send():
            from django.test import Client

            statuses.append(Client().post("/api/kiosk/v1/responses", data=body, content_type="application/json",
                                          HTTP_AUTHORIZATION=f"Kiosk {token}").status_code)
            connection.close()

        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        self.assertEqual(sorted(statuses), [200] * 19 + [201])
        self.assertEqual(Response.objects.count(), 1)
        self.assertEqual(str(Response.objects.get().pk), json.loads(body)["id"])
        uuid.UUID(json.loads(body)["id"])


class RememberedKioskAndRoundTests(KioskTestCase):
    """Submissions remember kiosks and rounds per process; what changed in the database still applies at once."""

    def test_a_kiosk_revoked_after_its_last_response_is_refused_at_once(self):
        self.assertEqual(self.post(self.payload()).status_code, 201)
        kiosk_revoke(kiosk=self.kiosk)

        response = self.post(self.payload())

        self.assertEqual(response.status_code, 403)
        self.assertEqual(Response.objects.count(), 1)

    def test_a_new_token_stops_the_old_one_at_once(self):
        from fieldwork.services import kiosk_issue_token

        self.post(self.payload())
        new_token = kiosk_issue_token(kiosk=self.kiosk)

        old = self.post(self.payload())
        new = self.post(self.payload(), token=new_token)

        self.assertEqual((old.status_code, new.status_code), (401, 201))
        self.assertEqual(Response.objects.count(), 2)

    def test_a_kiosk_moved_to_another_unit_stores_its_next_response_there(self):
        from fieldwork.services import kiosk_update
        from units.models import Unit

        self.post(self.payload())
        centre = Unit.objects.get(code="02212.TTPV")
        kiosk_update(kiosk=self.kiosk, name=self.kiosk.name, unit=centre)

        body = self.payload()
        self.assertEqual(self.post(body).status_code, 201)

        self.assertEqual(Response.objects.get(pk=body["id"]).unit, centre)

    def test_a_round_closed_after_it_was_remembered_refuses_responses_submitted_later(self):
        from django.utils import timezone

        self.post(self.payload())
        round_close(survey_round=self.round)

        later = self.post(self.payload(submitted_at=(timezone.now() + timezone.timedelta(minutes=1)).isoformat()))

        self.assertEqual(later.status_code, 409)
        self.assertEqual(Response.objects.count(), 1)


class CommitBeforeAnswerTests(TransactionTestCase):
    """A 201 tells the kiosk it may forget the response: it must already be committed."""

    def setUp(self):
        KioskTestCase.setUpTestData()
        self.case = KioskTestCase

    def assertCommittedWhenAnswered(self, body):
        import psycopg2
        from django.test import Client
        from psycopg2.extensions import TRANSACTION_STATUS_IDLE

        other = psycopg2.connect(**connection.get_connection_params())
        try:
            answer = Client().post("/api/kiosk/v1/responses", data=json.dumps(body), content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Kiosk {self.case.token}")

            self.assertEqual(answer.status_code, 201, answer.content)
            # Nothing left open on the view's connection, and another connection already sees the row.
            self.assertEqual(connection.connection.get_transaction_status(), TRANSACTION_STATUS_IDLE)
            with other.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM fieldwork_response WHERE id = %s", [body["id"]])
                self.assertEqual(cursor.fetchone()[0], 1)
                cursor.execute("SELECT count(*) FROM scoring_scorepending WHERE response_id = %s", [body["id"]])
                self.assertEqual(cursor.fetchone()[0], 1)
        finally:
            other.close()

    def test_the_fast_path_answers_201_after_the_commit(self):
        self.assertCommittedWhenAnswered(self.case.payload(self.case))

    def test_the_careful_path_answers_201_after_the_commit(self):
        body = self.case.payload(self.case)
        del body["round"]  # the open round is looked up, not remembered

        self.assertCommittedWhenAnswered(body)
