from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fieldwork.models import Kiosk, Round
from fieldwork.services import kiosk_create, kiosk_new_pairing_code, round_create
from units.models import Unit
from units.services import role_grant, units_import_csv

DEMO_UNITS = Path(__file__).resolve().parents[2] / "demo" / "units.csv"

# username, password, full name, superuser, [(role, unit code)]
DEMO_STAFF = [
    ("admin", "sipas-admin", "Quản trị hệ thống", True, [("admin", "08")]),
    ("officer", "sipas-officer", "Nguyễn Thị Lan (cán bộ khảo sát)", False, [("officer", "08")]),
    ("head", "sipas-head", "Trần Văn Minh (lãnh đạo tỉnh)", False, [("head", "08")]),
    ("head.sonduong", "sipas-head", "Lê Thị Hoa (lãnh đạo xã Sơn Dương)", False, [("head", "02212")]),
]


class Command(BaseCommand):
    help = (
        "Load the demo data set: a small province tree, staff with known passwords. Idempotent: "
        "what exists is kept. Refused with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow with DEBUG off")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("demo data has known passwords: refused with DEBUG off (use --force)")
        call_command("load_questionnaires", stdout=self.stdout)
        with transaction.atomic():
            units_import_csv(text=DEMO_UNITS.read_text(encoding="utf-8"))
            created = self._staff()
            pairing_code = self._round_and_kiosk()
        self._print_logins(created)
        link = f"{settings.SITE_URL.rstrip('/')}/kiosk/pair/{pairing_code}/"
        self.stdout.write("Demo kiosk (Quầy 1, Xã Sơn Dương): open this pairing link on the tablet, once:")
        self.stdout.write(f"  {link}")
        self.stdout.write(f"  then the kiosk is at {settings.SITE_URL.rstrip('/')}/kiosk/")

    def _round_and_kiosk(self):
        """An open round over the demo province and one kiosk; a fresh pairing code on every run."""
        if not Round.objects.filter(unit__code="08").exists():
            round_create(name="Khảo sát thí điểm năm 2026", questionnaire_code="sipas-2017", unit_code="08",
                         open_now=True)
        kiosk = Kiosk.objects.filter(unit__code="02212", name="Quầy 1", revoked_at__isnull=True).first()
        if kiosk is None:
            kiosk, code = kiosk_create(unit=Unit.objects.get(code="02212"), name="Quầy 1")
            return code
        return kiosk_new_pairing_code(kiosk=kiosk)

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
