from django.core.management.base import BaseCommand, CommandError

from units.models import Role
from units.services import RoleGrantError, role_grant


class Command(BaseCommand):
    help = "Give a staff user a role on a unit and its whole subtree."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--unit", required=True, help="unit code")
        parser.add_argument("--role", required=True, choices=Role.Kind.values)

    def handle(self, *args, username, unit, role, **options):
        try:
            granted, created = role_grant(username=username, unit_code=unit, kind=role)
        except RoleGrantError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"{'granted' if created else 'already held'}: {granted}")
