from django.core.management.base import BaseCommand, CommandError

from fieldwork.services import kiosk_create, kiosk_issue_token
from units.models import Unit


class Command(BaseCommand):
    help = "Register a kiosk for a unit; prints its device token as the last line (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="unit code")
        parser.add_argument("--name", default="Kiosk")

    def handle(self, *args, unit, name, **options):
        found = Unit.objects.filter(code=unit).first()
        if found is None:
            raise CommandError(f"unknown unit code '{unit}'")
        kiosk, _code = kiosk_create(unit=found, name=name)
        token = kiosk_issue_token(kiosk=kiosk)
        self.stdout.write(f"kiosk {kiosk.pk} '{kiosk.name}' for {found}; device token:")
        self.stdout.write(token)
