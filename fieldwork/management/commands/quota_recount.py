from django.core.management.base import BaseCommand, CommandError

from fieldwork.models import Round
from fieldwork.quotas import QuotaError, quota_recount


class Command(BaseCommand):
    help = ("Rebuild a round's quota counters (in quota, per day) from its responses: a repair tool, "
            "e.g. after restoring a backup. Normal work keeps them up to date.")

    def add_arguments(self, parser):
        parser.add_argument("--round", required=True, type=int, dest="round_id")

    def handle(self, *args, round_id, **options):
        survey_round = Round.objects.select_related("questionnaire").filter(pk=round_id).first()
        if survey_round is None:
            raise CommandError(f"unknown round {round_id}")
        try:
            count = quota_recount(survey_round=survey_round)
        except QuotaError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"recounted {count} quotas of round {round_id}")
