import time

from django.core.management.base import BaseCommand, CommandError

from fieldwork.models import Round
from scoring.breakdowns import count_now
from scoring.models import ScoreRun
from scoring.services import score_run_execute, score_run_for_command

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Recompute a round's scores now, in the foreground, with the same code as the Celery job "
            "(takes over the round's queued run if there is one).")

    def add_arguments(self, parser):
        parser.add_argument("--round", required=True, type=int, dest="round_id")

    def handle(self, *args, round_id, **options):
        if not Round.objects.filter(pk=round_id).exists():
            raise CommandError(f"unknown round {round_id}")
        run = score_run_for_command(round_id=round_id)
        began = time.monotonic()
        run = score_run_execute(run_id=run.pk, progress=self.draw)
        seconds = time.monotonic() - began
        if run.status == ScoreRun.Status.QUEUED:
            raise CommandError(f"another run of round {round_id} is running; run {run.pk} stays queued")
        if run.status != ScoreRun.Status.DONE:
            raise CommandError(f"run {run.pk} of round {round_id} {run.status}:\n{run.error}")
        self.draw(run.units_total, run.units_total)
        self.stdout.write("")
        self.stdout.write(f"round {round_id}: {run.units_total} units, {run.responses_used} responses used, "
                          f"{seconds:.2f} s (run {run.pk})")
        count = count_now(run.round)
        if count is None:
            self.stdout.write("breakdowns: a count of this round is running; it counts them")
        elif count.error:
            raise CommandError(f"breakdowns of round {round_id} failed:\n{count.error}")
        else:
            self.stdout.write(f"breakdowns: {count.responses} responses counted in {count.seconds:.2f} s")

    def draw(self, done, total):
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} units", ending="")
        self.stdout.flush()
