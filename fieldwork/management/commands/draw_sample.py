from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fieldwork.management.commands.import_dossiers import staff_user
from fieldwork.models import DossierList
from fieldwork.sampling import STRATA, SamplingError, sample_call_list_csv, sample_draw


def _strata(value):
    return tuple(s.strip() for s in value.split(",") if s.strip())


class Command(BaseCommand):
    help = ("Draw a stratified random sample from a dossier list; the same seed and list give the same sample. "
            "Prints the sample id and its seed as the last line.")

    def add_arguments(self, parser):
        parser.add_argument("--list", required=True, type=int, help="id of the dossier list")
        parser.add_argument("--size", required=True, type=int)
        parser.add_argument("--seed", type=int, help="default: a new random seed, printed")
        parser.add_argument("--strata", type=_strata, default=STRATA,
                            help="comma-separated, from unit,service_field (default); empty for none")
        parser.add_argument("--min-per-stratum", type=int, default=0)
        parser.add_argument("--user", required=True, help="username of the officer drawing it")
        parser.add_argument("--out", help="write the call list to this CSV file")

    def handle(self, *args, list, size, seed, strata, min_per_stratum, user, out, **options):
        dossier_list = DossierList.objects.select_related("round__unit").filter(pk=list).first()
        if dossier_list is None:
            raise CommandError(f"unknown dossier list {list}")
        drawer = staff_user(user, dossier_list.round.unit)
        try:
            sample = sample_draw(dossier_list=dossier_list, size=size, strata=strata, seed=seed,
                                 min_per_stratum=min_per_stratum, user=drawer)
        except SamplingError as exc:
            raise CommandError("no sample was drawn:\n" + "\n".join(exc.errors)) from exc
        for label, n in sorted(sample.allocation.items()):
            self.stdout.write(f"{label}: {n}")
        if out:
            Path(out).write_text(sample_call_list_csv(sample=sample), encoding="utf-8", newline="")
            self.stdout.write(f"call list written to {out}")
        self.stdout.write(f"{sample.pk} {sample.seed}")
