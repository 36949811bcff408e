import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fieldwork.services import RoundError, round_create


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"'{value}' is not a date in the form YYYY-MM-DD") from exc


class Command(BaseCommand):
    help = "Create a survey round; prints the round id as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--name-en", default="", help="the name shown to citizens who choose English")
        parser.add_argument("--questionnaire", default=settings.DEFAULT_QUESTIONNAIRE,
                            help="questionnaire version code (default: DEFAULT_QUESTIONNAIRE, %(default)s)")
        parser.add_argument("--unit", required=True, help="code of the unit whose subtree the round covers")
        parser.add_argument("--start", type=_date)
        parser.add_argument("--end", type=_date)
        parser.add_argument("--ask-dossier-code", action="store_true")
        parser.add_argument("--open", action="store_true", help="open the round at once")

    def handle(self, *args, name, name_en, questionnaire, unit, start, end, ask_dossier_code, open, **options):
        try:
            survey_round = round_create(
                name=name, name_en=name_en, questionnaire_code=questionnaire, unit_code=unit, period_start=start,
                period_end=end, ask_dossier_code=ask_dossier_code, open_now=open,
            )
        except RoundError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"round '{survey_round.name}' ({survey_round.get_status_display()})")
        self.stdout.write(str(survey_round.pk))
