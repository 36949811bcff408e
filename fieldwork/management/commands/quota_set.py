from django.core.management.base import BaseCommand, CommandError

from fieldwork.models import Round
from fieldwork.quotas import QuotaError, quota_set
from units.models import Unit


class Command(BaseCommand):
    help = "Set a quota: a target number of valid responses for a unit (optionally one stratum) in a round."

    def add_arguments(self, parser):
        parser.add_argument("--round", required=True, type=int, dest="round_id")
        parser.add_argument("--unit", required=True, help="unit code")
        parser.add_argument("--target", required=True, type=int)
        parser.add_argument("--stratum", default="", help="FIELD=VALUE, e.g. E.FIELD=land or D.GENDER=female")
        parser.add_argument("--policy", default="", choices=["", "close", "flag"],
                            help="when full: close the survey, or accept and flag (default: the round's)")

    def handle(self, *args, round_id, unit, target, stratum, policy, **options):
        survey_round = Round.objects.select_related("unit", "questionnaire").filter(pk=round_id).first()
        if survey_round is None:
            raise CommandError(f"unknown round {round_id}")
        found = Unit.objects.filter(code=unit).first()
        if found is None:
            raise CommandError(f"unknown unit code '{unit}'")
        item, _, value = stratum.partition("=")
        if stratum and not value:
            raise CommandError(f"--stratum takes FIELD=VALUE, not '{stratum}'")
        try:
            quota = quota_set(survey_round=survey_round, unit=found, target=target, stratum_item=item.strip(),
                              stratum_value=value.strip(), policy=policy)
        except QuotaError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"quota {quota.pk}: {quota} ({quota.effective_policy} when full)")
