from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from questionnaires.definition import DefinitionError
from questionnaires.services import FrozenVersionError, definition_files, questionnaire_load_file


class Command(BaseCommand):
    help = (
        "Load questionnaire definition files (default: every questionnaires/definitions/*.json) and "
        "publish them. Idempotent; a changed file for a published version is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", type=Path)
        parser.add_argument("--draft", action="store_true", help="load as drafts, not published")

    def handle(self, *args, files, draft, **options):
        failed = False
        for path in files or definition_files():
            try:
                result = questionnaire_load_file(path=path, publish=not draft)
            except (DefinitionError, FrozenVersionError) as exc:
                for message in getattr(exc, "errors", [str(exc)]):
                    self.stderr.write(f"{path.name}: {message}")
                failed = True
                continue
            except FileNotFoundError:
                self.stderr.write(f"{path}: no such file")
                failed = True
                continue
            self.stdout.write(f"{result.code}: {result.outcome}")
        if failed:
            raise CommandError("some definitions were not loaded")
