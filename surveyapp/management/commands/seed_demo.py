import datetime
import io
import random
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from fieldwork.models import Kiosk, Response, Round
from fieldwork.responses import response_submit
from fieldwork.services import kiosk_create, kiosk_new_pairing_code, round_close, round_create
from questionnaires.samples import sample_answers
from units.models import Unit
from units.services import role_grant, units_import_csv

DEMO_UNITS = Path(__file__).resolve().parents[2] / "demo" / "units.csv"

# username, password, full name, superuser, [(role, unit code)]
DEMO_STAFF = [
    ("admin", "sipas-admin", "Quản trị hệ thống", True, [("admin", "08")]),
    # A province's administrator as provinces have them: an admin role on the province, no superuser.
    ("quantri", "sipas-quantri", "Phạm Văn Đức (quản trị tỉnh)", False, [("admin", "08")]),
    ("officer", "sipas-officer", "Nguyễn Thị Lan (cán bộ khảo sát)", False, [("officer", "08")]),
    ("head", "sipas-head", "Trần Văn Minh (lãnh đạo tỉnh)", False, [("head", "08")]),
    ("head.sonduong", "sipas-head", "Lê Thị Hoa (lãnh đạo xã Sơn Dương)", False, [("head", "02212")]),
]


# Made-up responses, so that the score pages have something to show: unit code -> (paper forms in
# the earlier round, in the current round, how its citizens lean: -1 grumpy .. 1 happy). A few units
# stay below the minimum of 30 on purpose: the pages show them greyed, without figures.
DEMO_RESPONSES = {
    "08.TTPVHCC": (70, 64, 0.3),
    "08.SNNMT": (40, 36, -0.3),
    "08.STP": (34, 31, 0.0),
    "08.SXD": (31, 22, -0.6),
    "02212": (45, 38, 0.5),
    "02212.TTPV": (20, 24, 0.4),
    "02230": (48, 45, -0.2),
    "02251": (52, 40, 0.1),
    "02263": (15, 12, -0.5),
    "02275": (36, 33, 0.0),
}
# The earlier round ran on the first version of the five-factor survey; the current one on the
# product's default, its revision in the same family: the score pages compare the two rounds.
EARLIER_ROUND = ("Quý III/2026", datetime.date(2026, 7, 1), datetime.date(2026, 9, 30), "sipas-2017")
CURRENT_ROUND = ("Khảo sát thí điểm năm 2026", "2026 pilot survey")


class Command(BaseCommand):
    help = (
        "Load the demo data set: a small province tree, staff with known passwords. Idempotent: "
        "what exists is kept. Refused with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow with DEBUG off")
        parser.add_argument("--no-responses", action="store_true",
                            help="no made-up responses and scores (they are added only to a new demo round)")

    def handle(self, *args, force=False, no_responses=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("demo data has known passwords: refused with DEBUG off (use --force)")
        call_command("load_questionnaires", stdout=self.stdout)
        with transaction.atomic():
            units_import_csv(text=DEMO_UNITS.read_text(encoding="utf-8"))
            created = self._staff()
        new_demo = not Round.objects.filter(unit__code="08").exists()
        if new_demo and not no_responses:
            self._earlier_round()  # outside a transaction: a score run takes its own snapshot
        with transaction.atomic():
            pairing_code = self._round_and_kiosk()
        if new_demo and not no_responses:
            self._fill_and_score(Round.objects.get(unit__code="08", name=CURRENT_ROUND[0]), part=1)
        self._print_logins(created)
        link = f"{settings.SITE_URL.rstrip('/')}/kiosk/pair/{pairing_code}/"
        self.stdout.write("Demo kiosk (Quầy 1, Xã Sơn Dương): open this pairing link on the tablet, once:")
        self.stdout.write(f"  {link}")
        self.stdout.write(f"  then the kiosk is at {settings.SITE_URL.rstrip('/')}/kiosk/")

    def _round_and_kiosk(self):
        """An open round over the demo province and one kiosk; a fresh pairing code on every run."""
        name, name_en = CURRENT_ROUND
        if not Round.objects.filter(unit__code="08", name=name).exists():
            round_create(name=name, name_en=name_en, questionnaire_code=settings.DEFAULT_QUESTIONNAIRE,
                         unit_code="08", open_now=True)
        kiosk = Kiosk.objects.filter(unit__code="02212", name="Quầy 1", revoked_at__isnull=True).first()
        if kiosk is None:
            kiosk, code = kiosk_create(unit=Unit.objects.get(code="02212"), name="Quầy 1")
            return code
        return kiosk_new_pairing_code(kiosk=kiosk)

    def _earlier_round(self):
        """A closed earlier round with its scores, so that the pages show a change and a trend."""
        name, start, end, version = EARLIER_ROUND
        earlier = round_create(name=name, questionnaire_code=version, unit_code="08", period_start=start,
                               period_end=end, open_now=True)
        self._fill_and_score(earlier, part=0, days=(start, end))
        round_close(survey_round=earlier)

    def _fill_and_score(self, survey_round, *, part, days=None):
        """Paper forms with made-up answers, entered the way an officer's are, then the round's scores."""
        rng = random.Random(2026 + part)
        definition = survey_round.questionnaire.parsed
        # A made-up form is never from the future: the writer refuses a time ahead of the clock, and
        # past midnight in Vietnam (17:00 UTC) today's office hours have not come yet.
        now = timezone.localtime()
        first, last = days or (now.date() - datetime.timedelta(days=20), now.date())
        for code, counts in DEMO_RESPONSES.items():
            unit = Unit.objects.get(code=code)
            for _ in range(counts[part]):
                day = first + datetime.timedelta(days=rng.randint(0, (last - first).days))
                when = timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randint(8, 16))))
                when = min(when, now - datetime.timedelta(minutes=1))
                payload = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "round": survey_round.pk,
                           "questionnaire": survey_round.questionnaire.code, "started_at": None,
                           "submitted_at": when.isoformat(), "language": "vi",
                           "answers": sample_answers(definition, rng, tilt=counts[2])}
                response_submit(unit=unit, payload=payload, channel=Response.Channel.PAPER, kiosk=None,
                                paper_entry=Response.PaperEntry.TYPED)
        call_command("recompute_scores", "--round", str(survey_round.pk), stdout=io.StringIO())
        self.stdout.write(f"Demo responses: {Response.objects.filter(round=survey_round).count()} in round "
                          f"“{survey_round.name}”, scores computed")

    def _staff(self):
        User = get_user_model()
        created = []
        for username, password, name, superuser, roles in DEMO_STAFF:
            user, new = User.objects.get_or_create(
                username=username,
                defaults={"first_name": name, "is_superuser": superuser, "is_staff": superuser},
            )
            if new:
                user.set_password(password)
                user.save()
                created.append(username)
            for kind, code in roles:
                role_grant(username=username, unit_code=code, kind=kind)
        return created

    def _print_logins(self, created):
        self.stdout.write("Demo staff logins (username / password):")
        for username, password, _name, _superuser, roles in DEMO_STAFF:
            where = ", ".join(f"{kind} of {code}" for kind, code in roles)
            self.stdout.write(f"  {username:<14} / {password:<14} {where}")
        if created:
            self.stdout.write(f"  (created now: {', '.join(created)})")
