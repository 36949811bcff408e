from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from questionnaires.definition import DefinitionError
from questionnaires.services import FrozenVersionError, definition_files, questionnaire_load_file


class Command(BaseCommand):
    help = (
        "Load questionnaire definition files (default: every questionnaires/definitions/*.json) and "
        "publish them. Idempotent; a changed file for a published version is refused, and so is a "
        "version whose factors or scoring differ from a published version of its family. The same "
        "checks as the versions page (questionnaires.services), every problem named."
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
                self.stderr.write(_("%(path)s: no such file") % {"path": path})
                failed = True
                continue
            self.stdout.write(f"{result.code}: {result.outcome}")
        if failed:
            raise CommandError(_("some definitions were not loaded"))
