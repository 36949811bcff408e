"""A response row is narrow (issue 5: at most 250 bytes of table and index per response), and what
it gave up is still known: the questionnaire is the round's, the start is ``seconds_taken`` before
the submission, and ids sort by time."""

import datetime
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import SimpleTestCase, TransactionTestCase

from fieldwork.ids import uuid7
from fieldwork.models import Response, Round
from fieldwork.responses import response_submit, smallint_array_literal
from fieldwork.services import round_create
from questionnaires.models import QuestionnaireVersion
from tests.fieldwork.base import KioskTestCase


class Uuid7Tests(SimpleTestCase):
    def test_an_id_carries_version_7_the_rfc_variant_and_the_millisecond_it_was_made(self):
        made = uuid7(1_795_000_000_123)
        self.assertEqual(made.version, 7)
        self.assertEqual(made.variant, uuid.RFC_4122)
        self.assertEqual(made.int >> 80, 1_795_000_000_123)

    def test_ids_made_in_later_milliseconds_sort_later(self):
        ids = [uuid7(1_795_000_000_000 + ms) for ms in (0, 1, 2, 1000, 86_400_000)]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len({uuid7(1_795_000_000_000) for _ in range(100)}), 100)

    def test_given_random_bits_make_the_same_id_again(self):
        self.assertEqual(uuid7(1_795_000_000_123, 12345), uuid7(1_795_000_000_123, 12345))
        self.assertEqual(uuid7(1_795_000_000_123, 12345).version, 7)

    def test_a_time_outside_48_bits_of_milliseconds_is_refused(self):
        with self.assertRaises(ValueError):
            uuid7(-1)
        with self.assertRaises(ValueError):
            uuid7(1 << 48)


class SecondsTakenTests(SimpleTestCase):
    submitted = datetime.datetime(2026, 11, 24, 9, 30, tzinfo=datetime.UTC)

    def test_whole_seconds_from_start_to_submission_are_kept_rounded_down(self):
        started = self.submitted - datetime.timedelta(minutes=3, seconds=7, milliseconds=900)
        self.assertEqual(Response.seconds_between(started, self.submitted), 187)

    def test_an_unknown_start_stays_unknown(self):
        self.assertIsNone(Response.seconds_between(None, self.submitted))

    def test_a_start_more_than_nine_hours_before_is_kept_as_the_smallint_maximum(self):
        started = self.submitted - datetime.timedelta(days=2)
        self.assertEqual(Response.seconds_between(started, self.submitted), Response.SECONDS_TAKEN_MAX)

    def test_the_start_reads_back_from_the_row(self):
        response = Response(submitted_at=self.submitted, seconds_taken=180)
        self.assertEqual(response.started_at, self.submitted - datetime.timedelta(minutes=3))
        self.assertIsNone(Response(submitted_at=self.submitted).started_at)


class ResponseRowTests(KioskTestCase):
    def test_a_kiosk_response_keeps_the_seconds_it_took_and_its_rounds_questionnaire(self):
        response = self.post(self.payload())
        self.assertEqual(response.status_code, 201, response.content)
        stored = Response.objects.select_related("round__questionnaire").get()
        self.assertEqual(stored.seconds_taken, 180)
        self.assertEqual(stored.questionnaire.code, "sipas-2017")

    def test_a_full_kiosk_response_row_fits_40_to_a_heap_page(self):
        # 8,168 bytes of a page's space / 40 = 204 each with its 4-byte line pointer: a row of at most
        # 200 bytes (rows are 8-byte aligned). Together with a v7 primary key (about 32 bytes) and the
        # (round, unit) index, that is the 250 bytes of the storage target; bench/scoring.py measures it.
        self.assertEqual(self.post(self.payload(id=str(uuid7()))).status_code, 201)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_column_size(r.*), kiosk_id IS NOT NULL FROM fieldwork_response r")
            width, from_a_kiosk = cursor.fetchone()
        self.assertTrue(from_a_kiosk)
        self.assertLessEqual(width, 200)

    def test_the_database_refuses_to_change_the_questionnaire_of_a_round_with_responses(self):
        self.assertEqual(self.post(self.payload()).status_code, 201)
        other = QuestionnaireVersion.objects.exclude(pk=self.round.questionnaire_id).first()
        with self.assertRaisesMessage(IntegrityError, "its questionnaire version cannot change"), \
                transaction.atomic():
            Round.objects.filter(pk=self.round.pk).update(questionnaire=other)
        self.round.refresh_from_db()
        self.assertEqual(self.round.questionnaire.code, "sipas-2017")

    def test_a_round_without_responses_may_still_change_its_questionnaire(self):
        draft = round_create(name="Nháp", questionnaire_code="sipas-2017", unit_code="08")
        other = QuestionnaireVersion.objects.exclude(pk=draft.questionnaire_id).first()
        Round.objects.filter(pk=draft.pk).update(questionnaire=other)
        draft.refresh_from_db()
        self.assertEqual(draft.questionnaire, other)


class MigrationTestCase(TransactionTestCase):
    def migrate(self, target):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("fieldwork", target)])
        return executor.loader.project_state([("fieldwork", target)]).apps

    @staticmethod
    def open_round(apps):
        """An open round of a commune, in the models of the schema ``apps``."""
        unit = apps.get_model("units", "Unit").objects.create(code="M1", name="Xã M", level="commune", path="/M1/",
                                                              depth=0)
        version = apps.get_model("questionnaires", "QuestionnaireVersion").objects.create(
            code="m-1", family="m", title_vi="M", title_en="M", definition={}, checksum="x", item_codes=[],
            status="published", published_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
        return apps.get_model("fieldwork", "Round").objects.create(name="R", unit=unit, questionnaire=version,
                                                                   status="open")

    def tearDown(self):
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # the schema the other tests expect


class NarrowingMigrationTests(MigrationTestCase):
    """fieldwork 0006 keeps what stored rows said: the start as seconds taken, and back."""

    def test_stored_starts_become_seconds_taken_and_come_back_on_reversal(self):
        old = self.migrate("0005_kiosk_days")
        survey_round = self.open_round(old)
        unit, version = survey_round.unit, survey_round.questionnaire
        submitted = datetime.datetime(2026, 11, 24, 2, 3, 7, 900_000, tzinfo=datetime.UTC)
        common = {"round": survey_round, "unit": unit, "questionnaire": version, "language": "vi",
                  "submitted_at": submitted, "received_at": submitted}
        old_response = old.get_model("fieldwork", "Response")
        old_response.objects.create(channel=1, started_at=submitted - datetime.timedelta(seconds=187.9),
                                    answers=[4], **common)
        old_response.objects.create(channel=2, started_at=None, answers=[5], **common)

        self.migrate("0006_narrow_responses")
        self.assertEqual(list(Response.objects.order_by("channel").values_list("channel", "seconds_taken")),
                         [(1, 187), (2, None)])

        self.migrate("0005_kiosk_days")
        rows = old_response.objects.order_by("channel").values_list("started_at", "questionnaire_id")
        self.assertEqual(list(rows), [(submitted - datetime.timedelta(seconds=187), version.pk), (None, version.pk)])


class PaperEntryMigrationTests(MigrationTestCase):
    """fieldwork 0016 stores how the paper forms already stored came in, by the rule the response
    browser used before: an id of version 7 was made by the entry page, any other came from a file."""

    def test_paper_forms_are_filled_by_their_ids_version_and_other_channels_left_empty(self):
        old = self.migrate("0015_response_channel_link")
        survey_round = self.open_round(old)
        unit = survey_round.unit
        at = datetime.datetime(2026, 11, 24, 2, 3, 7, tzinfo=datetime.UTC)
        common = {"round": survey_round, "unit": unit, "language": "vi", "submitted_at": at, "received_at": at,
                  "answers": [4]}
        old_response = old.get_model("fieldwork", "Response")
        typed, imported, kiosk = uuid7(), uuid.uuid5(uuid.NAMESPACE_URL, "row 2"), uuid7()
        old_response.objects.create(id=typed, channel=2, **common)
        old_response.objects.create(id=imported, channel=2, **common)
        old_response.objects.create(id=kiosk, channel=1, **common)

        self.migrate("0016_response_paper_entry")
        self.assertEqual(dict(Response.objects.values_list("id", "paper_entry")), {
            typed: Response.PaperEntry.TYPED, imported: Response.PaperEntry.IMPORTED, kiosk: None})


class SmallintArrayLiteralTests(SimpleTestCase):
    def test_whole_numbers_and_unanswered_slots_are_written_in_postgresqls_text_form(self):
        self.assertEqual(smallint_array_literal([4, None, 18, -1]), "{4,NULL,18,-1}")
        self.assertEqual(smallint_array_literal([]), "{}")

    def test_anything_but_a_whole_number_is_refused_rather_than_written(self):
        with self.assertRaises(ValueError):
            smallint_array_literal(["4}"])


class SmallintArrayLiteralRoundTripTests(TransactionTestCase):
    def test_postgresql_reads_the_text_form_as_the_same_array(self):
        slots = [1, None, 5, None, 32767, -32768]
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::smallint[]", [smallint_array_literal(slots)])
            self.assertEqual(cursor.fetchone()[0], slots)


class FastPathResultTests(KioskTestCase):
    def test_the_result_names_the_stored_id_and_makes_the_response_only_when_asked(self):
        body = self.payload()

        result = response_submit(unit=self.commune, kiosk=self.kiosk, payload=body)

        self.assertEqual((str(result.response_id), result.created), (body["id"], True))
        self.assertIsNone(result._response)  # the statement stored it; no instance made yet
        stored = Response.objects.get(pk=body["id"])
        made = result.response
        self.assertIs(result.response, made)
        self.assertEqual(made, stored)
        self.assertFalse(made._state.adding)
        for field in ("round_id", "unit_id", "kiosk_id", "language", "seconds_taken", "submitted_at", "received_at",
                      "answers", "texts", "dossier_hash", "over_quota"):
            self.assertEqual(getattr(made, field), getattr(stored, field), field)
