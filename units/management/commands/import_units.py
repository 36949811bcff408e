from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from units.services import UnitImportError, units_import_csv


class Command(BaseCommand):
    help = (
        "Import administrative units from a UTF-8 CSV with the header "
        "code,name,parent_code,level,valid_from,valid_to[,successor_code]. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        try:
            result = units_import_csv(text=text)
        except UnitImportError as exc:
            for message in exc.errors:
                self.stderr.write(f"{file}: {message}")
            raise CommandError(f"{file}: rejected with {len(exc.errors)} error(s); nothing was imported")
        self.stdout.write(
            f"{len(result.created)} created, {len(result.updated)} updated, {result.unchanged} unchanged"
        )
