"""Invitations to answer at home: creating them from a sample, their links and short codes, the
contacts kept apart, reminders and the deletion of contacts (fieldwork.invitations)."""

import datetime

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from fieldwork import invitations
from fieldwork.invitations import (
    CODE_ALPHABET,
    InvitationError,
    contacts_import,
    contacts_purge,
    invitation_complete,
    invitation_counts,
    invitation_link,
    invitation_open,
    invitation_open_code,
    invitation_token,
    invitations_create,
    mask_email,
    mask_phone,
    normal_phone,
    reminders_queue,
)
from fieldwork.models import Dossier, Invitation, InvitationContact, Round
from fieldwork.sampling import dossier_list_import, sample_draw
from fieldwork.services import round_create
from tests.fieldwork.base import KioskTestCase

HEADER = "dossier_code,unit_code,service_field,completed_on"
# 30 dossiers: 20 in commune 02212, 10 in commune 02230.
FRAME = ([f"A-{i:03d},02212,land,2026-10-01" for i in range(20)]
         + [f"C-{i:03d},02230,land,2026-10-03" for i in range(10)])


class InvitationTestCase(KioskTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.dossier_list = dossier_list_import(survey_round=cls.round, name="Hồ sơ quý IV", user=cls.province_admin,
                                               text="\n".join([HEADER, *FRAME]) + "\n")
        cls.sample = sample_draw(dossier_list=cls.dossier_list, size=30, seed=7, strata=(), user=cls.province_admin)

    def setUp(self):
        self.enterContext(translation.override("en"))

    def invitation(self, code):
        return Invitation.objects.get(round=self.round, dossier__code=code)

    def contacts(self, *rows, header="dossier_code,phone,email"):
        return contacts_import(survey_round=self.round, text="\n".join([header, *rows]) + "\n")


class CreateTests(InvitationTestCase):
    def test_every_sampled_dossier_gets_one_invitation_with_a_code_unique_in_the_round(self):
        self.assertEqual(invitations_create(sample=self.sample), 30)

        rows = list(Invitation.objects.filter(round=self.round).values_list("dossier__code", "unit__code", "code"))
        self.assertEqual(sorted(r[0] for r in rows), sorted(line.split(",")[0] for line in FRAME))
        self.assertEqual({code: unit for code, unit, _c in rows}["C-004"], "02230")
        codes = [c for _d, _u, c in rows]
        self.assertEqual(len(set(codes)), 30)
        self.assertTrue(all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes), codes)

    def test_creating_again_makes_nothing_new_and_keeps_the_codes(self):
        invitations_create(sample=self.sample)
        before = dict(Invitation.objects.values_list("dossier_id", "code"))

        self.assertEqual(invitations_create(sample=self.sample), 0)
        again = sample_draw(dossier_list=self.dossier_list, size=10, seed=99, user=self.province_admin)
        self.assertEqual(invitations_create(sample=again), 0)
        self.assertEqual(dict(Invitation.objects.values_list("dossier_id", "code")), before)

    def test_a_second_sample_adds_invitations_only_for_its_new_dossiers(self):
        small = sample_draw(dossier_list=self.dossier_list, size=5, seed=3, strata=(), user=self.province_admin)
        self.assertEqual(invitations_create(sample=small), 5)
        self.assertEqual(invitations_create(sample=self.sample), 25)
        self.assertEqual(Invitation.objects.filter(round=self.round).count(), 30)

    def test_a_code_already_taken_in_the_round_is_drawn_again(self):
        small = sample_draw(dossier_list=self.dossier_list, size=1, seed=3, strata=(), user=self.province_admin)
        invitations_create(sample=small)
        taken = Invitation.objects.get().code
        drawn = iter([taken] * 29)  # every first draw collides
        real = invitations.new_code

        def colliding():
            return next(drawn, None) or real()

        invitations.new_code = colliding
        try:
            self.assertEqual(invitations_create(sample=self.sample), 29)
        finally:
            invitations.new_code = real
        codes = list(Invitation.objects.values_list("code", flat=True))
        self.assertEqual((len(codes), len(set(codes))), (30, 30))

    def test_creating_is_a_few_statements_whatever_the_sample_size(self):
        with CaptureQueriesContext(connection) as queries:
            invitations_create(sample=self.sample)
        # the round, the lock, the dossiers waiting, the insert, the dossiers waiting (none), and the
        # transaction's savepoint statements
        self.assertLessEqual(len(queries), 8, [q["sql"][:80] for q in queries])

    def test_an_invitation_expires_after_the_configured_days(self):
        with override_settings(INVITATION_VALID_DAYS=10):
            invitations_create(sample=self.sample)
        invitation = self.invitation("A-001")
        self.assertAlmostEqual((invitation.expires_at - invitation.created_at).total_seconds(), 10 * 86400, delta=1)


class LinkTests(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)

    def test_the_link_opens_its_invitation_once_marked_opened(self):
        invitation = self.invitation("A-002")
        link = invitation_link(invitation)
        self.assertTrue(link.startswith(settings.SITE_URL.rstrip("/") + "/i/"), link)
        self.assertEqual(len(invitation_token(invitation)), 38)

        opened = invitation_open(invitation_token(invitation))
        self.assertEqual((opened.invitation, opened.reason), (invitation, ""))
        first = self.invitation("A-002").opened_at
        self.assertIsNotNone(first)
        invitation_open(invitation_token(invitation))
        self.assertEqual(self.invitation("A-002").opened_at, first)  # the first opening is kept

    def test_an_altered_or_made_up_token_is_unknown(self):
        token = invitation_token(self.invitation("A-002"))
        other = invitation_token(self.invitation("A-003"))
        for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), other[:22] + token[22:], "x" * 38, "", "a/b",
                    token + "A"):
            self.assertEqual(invitation_open(bad).reason, "unknown", bad)
        self.assertIsNone(Invitation.objects.filter(opened_at__isnull=False).first())

    def test_a_link_made_under_a_previous_secret_key_still_works(self):
        invitation = self.invitation("A-002")
        with override_settings(SECRET_KEY="an-older-secret-key-of-more-than-forty-characters!!"):
            token = invitation_token(invitation)
        self.assertEqual(invitation_open(token).reason, "unknown")
        with override_settings(SECRET_KEY_FALLBACKS=["an-older-secret-key-of-more-than-forty-characters!!"]):
            self.assertEqual(invitation_open(token).invitation, invitation)

    def test_an_answered_invitation_is_used_and_completes_once(self):
        invitation = self.invitation("A-004")
        self.assertTrue(invitation_complete(invitation=invitation))
        self.assertFalse(invitation_complete(invitation=invitation))
        self.assertEqual(invitation_open(invitation_token(invitation)).reason, "used")

    def test_the_short_code_opens_its_invitation_in_its_round_as_people_type_it(self):
        invitation = self.invitation("A-007")
        typed = f" {invitation.code[:4].lower()}-{invitation.code[4:]} "
        self.assertEqual(invitation_open_code(survey_round=self.round, code=typed).invitation, invitation)
        self.assertIsNotNone(self.invitation("A-007").opened_at)
        other = round_create(name="Đợt khác", questionnaire_code="sipas-2017", unit_code="02212")
        for survey_round, code in ((other, invitation.code), (self.round, "00000000"), (self.round, "ABC"),
                                   (self.round, "")):
            self.assertEqual(invitation_open_code(survey_round=survey_round, code=code).reason, "unknown", code)

    def test_an_expired_invitation_and_one_of_a_closed_round_cannot_be_opened(self):
        invitation = self.invitation("A-005")
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
        self.assertEqual(invitation_open(invitation_token(invitation)).reason, "expired")
        Round.objects.filter(pk=self.round.pk).update(status=Round.Status.CLOSED)
        self.assertEqual(invitation_open(invitation_token(self.invitation("A-006"))).reason, "closed")
        self.assertIsNone(self.invitation("A-006").opened_at)


class ContactTests(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)

    def test_masks_show_only_the_ends(self):
        self.assertEqual(mask_phone("0912345123"), "09*****123")
        self.assertEqual(mask_email("nam.nguyen@gmail.com"), "n***@gmail.com")

    def test_phone_numbers_are_read_as_people_write_them(self):
        self.assertEqual(normal_phone("+84 912 345 678"), "0912345678")
        self.assertEqual(normal_phone("84912345678"), "0912345678")
        self.assertEqual(normal_phone("091.234.5678"), "0912345678")
        self.assertIsNone(normal_phone("0212345678"))  # a landline: no SMS
        self.assertIsNone(normal_phone("091234567"))

    def test_contacts_are_stored_apart_for_the_invitations_of_their_dossiers(self):
        self.assertEqual(self.contacts("A-001,0912345678,", "A-002,,Lan@Example.vn", "C-003,+84 981 234 567,b@x.vn"), 3)

        stored = {c.invitation.dossier.code: (c.phone, c.email)
                  for c in InvitationContact.objects.select_related("invitation__dossier")}
        self.assertEqual(stored, {"A-001": ("0912345678", ""), "A-002": ("", "lan@example.vn"),
                                  "C-003": ("0981234567", "b@x.vn")})
        # the dossier list itself carries no contact data
        self.assertEqual([f.name for f in Dossier._meta.concrete_fields],
                         ["id", "dossier_list", "code", "unit", "service_field", "completed_on"])

    def test_a_second_upload_replaces_a_dossiers_contact(self):
        self.contacts("A-001,0912345678,")
        self.contacts("A-001,,new@example.vn", header="dossier_code,phone,email")
        self.assertEqual(list(InvitationContact.objects.values_list("phone", "email")), [("", "new@example.vn")])

    def test_a_file_with_bad_rows_is_refused_whole_with_each_row_named(self):
        with self.assertRaises(InvitationError) as caught:
            self.contacts("A-001,0912345678,", "A-002,12345,", "A-003,,not-an-address", "A-004,,", ",0912345678,",
                          "Z-999,0912345678,", "A-001,0987654321,", "A-005,0912345678,a@b.vn,extra")
        self.assertEqual(caught.exception.errors, [
            "row 3: '12345' is not a Vietnamese mobile number (10 digits, e.g. 0912345678)",
            "row 4: 'not-an-address' is not an e-mail address",
            "row 5: neither a phone number nor an e-mail address",
            "row 6: dossier_code is empty",
            "row 7: dossier Z-999 has no invitation in this round (is it in a sample, and were the invitations "
            "created?)",
            "row 8: dossier_code 'A-001' is already on row 2",
            "row 9: more values than columns",
        ])
        self.assertFalse(InvitationContact.objects.exists())

    def test_a_header_without_a_contact_column_is_refused(self):
        with self.assertRaises(InvitationError) as caught:
            self.contacts("A-001,x", header="dossier_code,name")
        self.assertEqual(caught.exception.errors,
                         ["row 1: the header must have dossier_code and phone or email (or both)"])
        with self.assertRaises(InvitationError) as caught:
            self.contacts("A-001,0912345678,x", header="dossier_code,phone,name")
        self.assertEqual(caught.exception.errors, ["row 1: unknown column(s): name"])
        with self.assertRaises(InvitationError) as caught:
            self.contacts(header="dossier_code,phone")
        self.assertEqual(caught.exception.errors, ["the file has no contacts"])

    def test_the_errors_are_in_vietnamese_for_a_vietnamese_officer(self):
        with translation.override("vi"), self.assertRaises(InvitationError) as caught:
            self.contacts("A-001,12345,")
        self.assertEqual(caught.exception.errors, ["dòng 2: '12345' không phải số điện thoại di động Việt Nam "
                                                   "(10 chữ số, ví dụ 0912345678)"])

    def test_contacts_are_deleted_the_configured_days_after_the_round_closes(self):
        self.contacts("A-001,0912345678,", "A-002,0912345679,")
        closed = timezone.now() - datetime.timedelta(days=30)
        with override_settings(INVITATION_CONTACT_KEEP_DAYS=31):
            self.assertEqual(contacts_purge(), 0)  # an open round keeps them
            Round.objects.filter(pk=self.round.pk).update(status=Round.Status.CLOSED, closed_at=closed)
            self.assertEqual(contacts_purge(), 0)  # closed 30 days ago: kept 31
        with override_settings(INVITATION_CONTACT_KEEP_DAYS=30):
            self.assertEqual(contacts_purge(), 2)
        self.assertFalse(InvitationContact.objects.exists())
        self.assertEqual(Invitation.objects.filter(round=self.round).count(), 30)  # the invitations stay

    def test_counts_by_unit_follow_the_states(self):
        self.contacts("A-001,0912345678,", "C-001,0912345679,")
        now = timezone.now()
        Invitation.objects.filter(dossier__code__in=["A-001", "A-002", "C-001"]).update(sent_at=now)
        Invitation.objects.filter(dossier__code="A-002").update(opened_at=now, completed_at=now)
        Invitation.objects.filter(dossier__code="A-003").update(failed_at=now, failure="ZNS -124: x")
        counts = {row["unit__code"]: (row["created"], row["contacts"], row["sent"], row["failed"], row["opened"],
                                      row["completed"]) for row in invitation_counts(self.round)}
        self.assertEqual(counts, {"02212": (20, 1, 2, 1, 1, 1), "02230": (10, 1, 1, 0, 0, 0)})


class ReminderTests(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)

    def test_one_reminder_is_queued_for_invitations_sent_days_ago_and_not_answered(self):
        self.contacts("A-001,0912345678,", "A-002,0912345679,", "A-003,0912345670,", "A-004,0912345671,",
                      "A-005,0912345672,")
        now = timezone.now()
        old, recent = now - datetime.timedelta(days=6), now - datetime.timedelta(days=2)
        Invitation.objects.filter(dossier__code__in=["A-001", "A-002", "A-003", "A-004"]).update(
            sent_at=old, channel="sms")
        Invitation.objects.filter(dossier__code="A-002").update(completed_at=now)
        Invitation.objects.filter(dossier__code="A-003").update(failed_at=now)
        Invitation.objects.filter(dossier__code="A-005").update(sent_at=recent, channel="sms")
        Invitation.objects.filter(dossier__code="A-006").update(sent_at=old, channel="sms")  # no contact
        queued = []
        real, invitations._enqueue = invitations._enqueue, lambda ids, reminder=False: queued.append((ids, reminder))
        try:
            with override_settings(INVITATION_REMINDER_DAYS=5), self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(reminders_queue(), 2)
            with self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(reminders_queue(), 0)  # once only
        finally:
            invitations._enqueue = real
        expected = sorted([self.invitation("A-001").pk, self.invitation("A-004").pk])
        self.assertEqual(queued, [(expected, True), ([], True)])
        self.assertIsNotNone(self.invitation("A-001").reminder_queued_at)


def test_no_code_but_the_invitations_module_reads_contact_data():
    """Contacts are kept apart: no page, export or API reaches the table but through
    fieldwork.invitations, which shows them masked and never with answers."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    readers = sorted(str(path.relative_to(root)) for folder in ("fieldwork", "scoring", "units", "questionnaires",
                                                                "surveyapp", "templates")
                     for path in (root / folder).rglob("*.*") if path.suffix in (".py", ".html")
                     and "migrations" not in path.parts
                     and ("InvitationContact" in path.read_text() or "invitationcontact" in path.read_text()))
    assert readers == ["fieldwork/invitations.py", "fieldwork/models.py"]


class BeatTaskTests(InvitationTestCase):
    def test_the_beat_tasks_run_the_reminders_and_the_deletion(self):
        from fieldwork import tasks

        invitations_create(sample=self.sample)
        self.contacts("A-001,0912345678,")
        Round.objects.filter(pk=self.round.pk).update(status=Round.Status.CLOSED,
                                                      closed_at=timezone.now() - datetime.timedelta(days=40))
        with override_settings(INVITATION_CONTACT_KEEP_DAYS=30):
            self.assertEqual(tasks.purge_invitation_contacts(), 1)
        self.assertEqual(tasks.queue_invitation_reminders(), 0)
        schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        beat = {"fieldwork.tasks.queue_invitation_reminders", "fieldwork.tasks.purge_invitation_contacts"}
        self.assertLessEqual(beat, schedule)
