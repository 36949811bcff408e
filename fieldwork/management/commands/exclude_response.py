import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from fieldwork.exclusions import ExclusionError, response_exclude, response_restore
from fieldwork.models import Response


class Command(BaseCommand):
    help = "Exclude a response from counts and scores (e.g. a test entry), or restore it with --restore."

    def add_arguments(self, parser):
        parser.add_argument("--response", required=True, help="the response id (a UUID)")
        parser.add_argument("--reason", help="test, duplicate, straight_lining, too_fast or other (with --note)")
        parser.add_argument("--note", default="")
        parser.add_argument("--user", required=True, help="username of the staff member doing it, for the log")
        parser.add_argument("--restore", action="store_true", help="restore an excluded response instead")

    def handle(self, *args, response, reason, note, user, restore, **options):
        found = self._response(response)
        by = get_user_model().objects.filter(username=user).first()
        if by is None:
            raise CommandError(f"unknown user '{user}'")
        if not restore and not reason:
            raise CommandError("--reason is required to exclude a response (or give --restore)")
        try:
            if restore:
                response_restore(response=found, user=by, note=note)
            else:
                response_exclude(response=found, reason=reason, note=note, user=by)
        except ExclusionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{'restored' if restore else 'excluded'} response {found.pk} of round {found.round_id}")

    def _response(self, value):
        try:
            response_id = uuid.UUID(value)
        except ValueError:
            raise CommandError(f"'{value}' is not a response id (a UUID)")
        found = Response.objects.select_related("round__questionnaire", "unit").filter(pk=response_id).first()
        if found is None:
            raise CommandError(f"unknown response '{value}'")
        return found
