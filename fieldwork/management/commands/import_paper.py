from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from fieldwork.models import Round
from fieldwork.paper import PaperImportError, paper_import_csv
from surveyapp.spreadsheet import more_problems


class Command(BaseCommand):
    help = (
        "Import paper forms of a round from a UTF-8 CSV with the header of the round's template "
        "(unit_code, form_date[, form_id], then item codes), read as a stream: any size. All or nothing; importing "
        "again stores nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, required=True, dest="round_id", help="the round id")
        parser.add_argument("file", type=Path)

    def handle(self, *args, round_id: int, file: Path, **options):
        survey_round = Round.objects.select_related("unit", "questionnaire").filter(pk=round_id).first()
        if survey_round is None:
            raise CommandError(f"unknown round {round_id}")
        try:
            upload = File(file.open("rb"))
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}")
        try:
            with upload:
                result = paper_import_csv(survey_round=survey_round, file=upload)
        except PaperImportError as exc:
            for message in exc.errors + ([more_problems(exc.more)] if exc.more else []):
                self.stderr.write(f"{file}: {message}")
            raise CommandError(f"{file}: rejected with {len(exc.errors) + exc.more} error(s); nothing was stored")
        self.stdout.write(f"{result.stored} stored, {result.already_stored} already stored")
