from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from surveyapp.spreadsheet import more_problems
from units.services import UnitImportError, units_import_csv


class Command(BaseCommand):
    help = (
        "Import administrative units from a UTF-8 CSV with the header "
        "code,name,parent_code,level,valid_from,valid_to[,successor_code], read as a stream. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            upload = File(file.open("rb"))
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}")
        try:
            with upload:
                result = units_import_csv(file=upload)
        except UnitImportError as exc:
            for message in exc.errors + ([more_problems(exc.more)] if exc.more else []):
                self.stderr.write(f"{file}: {message}")
            raise CommandError(f"{file}: rejected with {len(exc.errors) + exc.more} error(s); nothing was imported")
        self.stdout.write(
            f"{len(result.created)} created, {len(result.updated)} updated, {result.unchanged} unchanged"
        )
