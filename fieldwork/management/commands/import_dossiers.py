from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from fieldwork.models import Round
from fieldwork.sampling import SamplingError, dossier_list_import
from surveyapp.spreadsheet import more_problems
from units import access


def staff_user(username, unit):
    """The user, if they may run fieldwork for the unit (the same rule as the pages)."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"unknown user '{username}'")
    if not access.user_can(user, unit, access.FIELDWORK):
        raise CommandError(f"user '{username}' may not run fieldwork for unit {unit.code}")
    return user


class Command(BaseCommand):
    help = ("Import a CSV list of completed dossiers (dossier_code,unit_code,service_field,completed_on) into a "
            "round, all or nothing; prints the list id as the last line.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="UTF-8 CSV file (read as a stream: any size)")
        parser.add_argument("--round", required=True, type=int, help="id of the survey round")
        parser.add_argument("--name", required=True, help="name of the list")
        parser.add_argument("--user", required=True, help="username of the officer importing it")

    def handle(self, *args, file, round, name, user, **options):
        survey_round = Round.objects.select_related("unit", "questionnaire").filter(pk=round).first()
        if survey_round is None:
            raise CommandError(f"unknown round {round}")
        importer = staff_user(user, survey_round.unit)
        try:
            upload = File(Path(file).open("rb"))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            with upload:
                dossier_list = dossier_list_import(survey_round=survey_round, name=name, file=upload, user=importer)
        except SamplingError as exc:
            raise CommandError("nothing was imported:\n" + "\n".join(exc.errors + [more_problems(exc.more)]).rstrip()
                               ) from exc
        self.stdout.write(f"{dossier_list.dossiers.count()} dossiers imported into list '{dossier_list.name}'")
        self.stdout.write(str(dossier_list.pk))
