"""Stored scores: what pages, exports and the score API read. Computed by scoring jobs only."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fieldwork.models import Round
from units.models import Unit


class ScoreRun(models.Model):
    """One computation of a round's scores: a job row that two workers cannot both claim."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="score_runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=32, blank=True,
                              help_text=_("What asked for it: responses, exclusion, beat, command."))
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    full = models.BooleanField(default=False, help_text=_("Counted every response again, not only the changes."))
    units_done = models.PositiveIntegerField(default=0)
    units_total = models.PositiveIntegerField(default=0)
    responses_used = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Debouncing: at most one queued run per round; more requests join it.
            models.UniqueConstraint(fields=["round"], condition=Q(status="queued"), name="score_run_one_queued"),
            models.UniqueConstraint(fields=["round"], condition=Q(status="running"), name="score_run_one_running"),
        ]

    def __str__(self):
        return f"run {self.pk} of round {self.round_id}: {self.status}"


class UnitCounts(models.Model):
    """The counts behind a unit's figures, pooled over the unit's whole subtree. ``dimension`` ""
    (the main counts): stratum -1 when they are not split by service field, else one row per
    service-field answer (0: none), which the weighted headline needs. Any other ``dimension`` is a
    breakdown (scoring.counting.BREAKDOWNS): one row, a "cell", per answer (0: none) with the same
    counts, all rewritten by a breakdown count (``BreakdownCount``); which cells may be shown is
    decided on read (scoring.breakdowns.decisions). The incremental refresh adds pending changes to
    the main counts; a full recompute rewrites them. The layout of ``counts`` is
    scoring.counting.Counters.names."""

    # No index of its own on the round: unit_counts_once starts with it (one index fewer to keep up
    # to date for each of a breakdown count's ~110,000 rows).
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    dimension = models.CharField(max_length=24, default="", blank=True)
    stratum = models.SmallIntegerField()
    # int4: a count never passes 2³⁰ (scoring.counting.Counters.decode refuses more), and with the
    # breakdowns' ~30 rows a unit half the bytes to write and log
    counts = ArrayField(models.IntegerField())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "unit", "dimension", "stratum"], name="unit_counts_once"),
        ]

    def __str__(self):
        return f"{self.unit_id}/{self.dimension}/{self.stratum} in round {self.round_id}"


class BreakdownCount(models.Model):
    """A round's breakdown count (``scoring.breakdowns``): the cells are counted again after the
    runs, never during one, at most once per ``scoring.breakdowns.pause`` of the last count's time.
    A run that stores scores marks a count ``wanted_at``; the poll claims it (``started_at``) and a
    worker counts; ``counted_at`` is the count's start, what the cells are "as of"."""

    round = models.OneToOneField(Round, on_delete=models.CASCADE, primary_key=True, related_name="+")
    wanted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)  # how long the last count took
    responses = models.PositiveIntegerField(default=0)  # the round's responses in the last count
    error = models.TextField(blank=True, default="")  # why the last count failed ("" it did not)

    def __str__(self):
        return f"breakdowns of round {self.round_id} as of {self.counted_at}"


class UnitScore(models.Model):
    """A unit's figures for a round, from all valid responses in its subtree (pooled).

    Percentages are 0-100 floats, unrounded; None where a figure cannot be computed. The JSON
    columns hold what the score API returns under the same names:
    ``factors`` {"F1": {"value", "n", "general": {"n", "satisfied", "rate", "ci"}}},
    ``items`` {"F1.1": {"n", "satisfied", "rate", "ci": [low, high]}},
    ``indicators`` {"E.VISITS": {"1": 78.8, ...}, ...} (shares in percent, with "n"),
    ``expectations`` [{"code", "count", "share"}, ...] most chosen first.
    """

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="scores")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="scores")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    n = models.PositiveIntegerField(help_text=_("Valid responses used."))
    # Whether the unit's figures may be shown: enough responses, and not withheld to protect another
    # unit (statistical disclosure control, scoring.disclosure). Every page, export and the API read it.
    enough = models.BooleanField(help_text=_("Figures shown: enough responses and not withheld."))
    withheld = models.CharField(
        max_length=16, blank=True, default="",
        help_text=_("Why the figures are withheld: too_few (below the minimum) or protects (secondary)."))
    headline = models.FloatField(null=True)
    headline_low = models.FloatField(null=True)
    headline_high = models.FloatField(null=True)
    weighted_headline = models.FloatField(null=True, help_text=_("Post-stratified by service field (our addition)."))
    factors = models.JSONField(default=dict)
    items = models.JSONField(default=dict)
    indicators = models.JSONField(default=dict)
    expectations = models.JSONField(default=list)
    rank = models.PositiveIntegerField(null=True, help_text=_("Among sibling units; 1 = best; ties share."))
    rank_of = models.PositiveIntegerField(null=True, help_text=_("How many siblings were ranked."))
    change_points = models.FloatField(null=True)
    change_places = models.IntegerField(null=True, help_text=_("Positive: up that many places."))
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "unit"], name="unit_score_once_per_round"),
            models.CheckConstraint(
                condition=(models.Q(enough=True, withheld="")
                           | models.Q(enough=False, withheld__in=["too_few", "protects"])),
                name="unit_score_shown_unless_withheld",
            ),
        ]
        indexes = [models.Index(fields=["round", "rank"], name="unit_score_round_rank_idx")]

    def __str__(self):
        return f"{self.unit_id} in round {self.round_id}: {self.headline}"


class ApiToken(models.Model):
    """A token for the read API (``Authorization: Token <key>``); only its hash is kept. Its owner and
    the administrators of units where the owner works see it listed and can revoke it (at once: the
    API looks the token up on every request)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True,
                            help_text=_("What the token is for, e.g. the province's dashboard."))
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)  # to the minute (scoring.services.api_token_user)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    def __str__(self):
        return f"token {self.pk} of {self.user}"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def revoke(self, *, by):
        """Revokes the token from now on; revoking it again keeps the first time and who did it."""
        now = timezone.now()
        if ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by):
            self.revoked_at, self.revoked_by = now, by
