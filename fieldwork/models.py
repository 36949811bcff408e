import datetime
import hashlib

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fieldwork.ids import uuid7
from questionnaires.models import QuestionnaireVersion
from units.models import Unit


def token_digest(token: str) -> str:
    """Kiosk tokens and pairing codes are random and long, so a plain SHA-256 is the right hash."""
    return hashlib.sha256(token.encode()).hexdigest()


class Round(models.Model):
    """A survey round (đợt khảo sát): one questionnaire version over a unit's subtree for a period."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(
        _("name in English"), max_length=200, blank=True, default="",
        help_text=_("Shown on the kiosk to citizens who choose English; without it they see the name above."),
    )
    questionnaire = models.ForeignKey(QuestionnaireVersion, on_delete=models.PROTECT, related_name="rounds")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="rounds")
    period_start = models.DateField(_("start"), null=True, blank=True)
    period_end = models.DateField(_("end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    ask_dossier_code = models.BooleanField(
        _("ask for the dossier code"), default=False,
        help_text=_("The citizen enters the code on the receipt; one response per dossier."),
    )
    quota_policy = models.CharField(
        _("when a quota is full"), max_length=8, default="flag",
        choices=[("flag", _("accept and flag as over quota")), ("close", _("close the survey politely"))],
        help_text=_("The default for quotas that do not set their own policy."),
    )
    score_over_quota = models.BooleanField(
        _("count over-quota responses in the scores"), default=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)  # the latest opening (a reopening moves it)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The first opening, kept when the round is reopened: no kiosk response can have been completed
    # before it (fieldwork.services checks every submission against it).
    first_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set (in the same transaction) when a change makes the scores' stored counts wrong as a whole
    # (score_over_quota changed): the next score run takes it, clears it and counts every response
    # again. Read by the scores' poll (scoring.services.rounds_with_changes), never by fieldwork.
    counts_reset_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("survey round")
        verbose_name_plural = _("survey rounds")
        constraints = [
            # Overlapping subtrees are checked by round_open under a lock; this is the backstop.
            models.UniqueConstraint(fields=["unit"], condition=Q(status="open"), name="round_one_open_per_unit"),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True) | Q(period_start__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="round_period_in_order",
            ),
        ]

    def __str__(self):
        return self.name

    def days(self) -> tuple[datetime.date, datetime.date | None]:
        """The first and last day the round covers: its period where it has one, else from its first
        opening (or its creation, for a draft) to its close; no last day while it may still run."""
        from django.utils import timezone

        start = self.period_start or timezone.localdate(self.first_opened_at or self.opened_at or self.created_at
                                                        or timezone.now())
        end = self.period_end or (timezone.localdate(self.closed_at) if self.closed_at else None)
        return start, end

    def units_open(self, prefix="") -> Q:
        """A filter for the units that existed on some day of the round (``prefix``: the lookup to the
        unit, e.g. "unit__"): a unit closed or merged away before it starts (its ``valid_to`` earlier)
        or created after it ends is no place for its responses, quotas or dossiers."""
        start, end = self.days()
        condition = Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": start})
        if end is not None:
            condition &= Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": end})
        return condition

    def has_unit_open(self, unit: Unit) -> bool:
        """Whether the unit existed on some day of the round (as ``units_open`` filters, without a query)."""
        start, end = self.days()
        return (unit.valid_to is None or unit.valid_to >= start) and (
            end is None or unit.valid_from is None or unit.valid_from <= end)

    def unit_not_open_reason(self, unit: Unit) -> str | None:
        """Why the unit takes no part in this round (``has_unit_open`` is false), in the active language;
        None when it does."""
        from django.utils import formats
        from django.utils.translation import gettext

        if self.has_unit_open(unit):
            return None
        if unit.valid_to is not None and unit.valid_to < self.days()[0]:
            if unit.successor_id:
                return gettext("unit %(code)s existed until %(day)s, before this round began: its work went to "
                               "%(successor)s") % {"code": unit.code, "successor": unit.successor.code,
                                                   "day": formats.date_format(unit.valid_to, "SHORT_DATE_FORMAT")}
            return gettext("unit %(code)s existed until %(day)s, before this round began") % {
                "code": unit.code, "day": formats.date_format(unit.valid_to, "SHORT_DATE_FORMAT")}
        return gettext("unit %(code)s exists only from %(day)s, after this round ended") % {
            "code": unit.code, "day": formats.date_format(unit.valid_from, "SHORT_DATE_FORMAT")}


class Kiosk(models.Model):
    """A registered tablet of one unit. The server keeps only hashes of its token and pairing code."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="kiosks")
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    pairing_code_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    pairing_expires_at = models.DateTimeField(null=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    paired_at = models.DateTimeField(null=True, blank=True)  # the latest pairing (a new token moves it)
    # The first pairing, kept when the kiosk is paired again: responses queued on the tablet before a
    # re-pairing are still its own and still arrive, but none can have been completed before this.
    first_paired_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    waiting_reported = models.PositiveIntegerField(
        default=0, help_text=_("Responses the kiosk reported as waiting to be sent, at its last heartbeat.")
    )

    class Meta:
        ordering = ["unit__path", "name"]
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")

    def __str__(self):
        return self.name

    @property
    def is_revoked(self):
        return self.revoked_at is not None


class Response(models.Model):
    """One citizen's completed questionnaire. Append-only; never linked back to the person.

    ``id`` is made by the client before its first send, so a retry is recognised as the same
    response (kiosks make time-ordered version 7 UUIDs, see fieldwork.ids). Answers are a
    ``smallint[]`` with one slot per item (see questionnaires.definition); their layout is the
    round's questionnaire version's, which cannot change once the round has responses (a trigger
    on the round table refuses it), so a response does not repeat it.

    The row is kept narrow because millions are stored (bench/scoring.py measures it): 40 rows of
    a kiosk response fit a heap page. Where the citizen started is kept as ``seconds_taken``, a
    smallint beside ``submitted_at``, rather than a second timestamp.
    """

    class Channel(models.IntegerChoices):
        KIOSK = 1, _("Kiosk")
        PAPER = 2, _("Paper")
        WEB = 3, _("Web form")
        LINK = 4, _("Link, answered at home")
        # A unit's link for anyone, from the QR poster at its desk (fieldwork.unitlinks): told apart
        # from the kiosk and the personal link so the breakdowns show each.
        POSTER = 5, _("QR poster at the desk")

    class PaperEntry(models.IntegerChoices):
        """How a paper form came in, stored by the paper writer (fieldwork.paper.paper_submit)."""

        TYPED = 1, _("Typed in on the entry page")
        IMPORTED = 2, _("Imported from a file")

    id = models.UUIDField(primary_key=True, default=uuid7)
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="responses", db_index=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", db_index=False)
    kiosk = models.ForeignKey(Kiosk, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    channel = models.PositiveSmallIntegerField(choices=Channel.choices)
    language = models.CharField(max_length=2)
    submitted_at = models.DateTimeField()
    received_at = models.DateTimeField()
    answers = ArrayField(models.SmallIntegerField(null=True))
    texts = models.JSONField(null=True, blank=True)
    dossier_hash = models.CharField(max_length=64, null=True, blank=True)
    over_quota = models.BooleanField(default=False)
    # From the start of the questionnaire to submitted_at, whole seconds, at most SECONDS_TAKEN_MAX;
    # null when unknown (paper forms).
    seconds_taken = models.PositiveSmallIntegerField(null=True, blank=True)
    # Paper forms only (null for every other channel: no bytes in their rows).
    paper_entry = models.PositiveSmallIntegerField(choices=PaperEntry.choices, null=True, blank=True)

    SECONDS_TAKEN_MAX = 32767

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        indexes = [
            models.Index(fields=["round", "unit"], name="response_round_unit_idx"),
            # The comment pages (fieldwork.comments) read only responses with free text, a few in ten:
            # a partial index keeps them from reading every response of a subtree from the heap.
            models.Index(fields=["round", "unit"], condition=Q(texts__isnull=False),
                         name="response_text_round_unit_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "dossier_hash"], condition=Q(dossier_hash__isnull=False),
                name="response_one_per_dossier",
            ),
            models.CheckConstraint(condition=Q(language__in=["vi", "en"]), name="response_language_known"),
            # 2 is Channel.PAPER: a paper form says how it came in, no other response does.
            models.CheckConstraint(condition=Q(channel=2, paper_entry__isnull=False)
                                   | (~Q(channel=2) & Q(paper_entry__isnull=True)),
                                   name="response_paper_entry_with_paper"),
        ]

    def __str__(self):
        return str(self.id)

    @property
    def questionnaire(self):
        return self.round.questionnaire

    @property
    def started_at(self):
        if self.seconds_taken is None:
            return None
        return self.submitted_at - datetime.timedelta(seconds=self.seconds_taken)

    @classmethod
    def seconds_between(cls, started, submitted):
        """``seconds_taken`` for a start and a submission time (None when the start is unknown)."""
        if started is None:
            return None
        return min(cls.SECONDS_TAKEN_MAX, max(0, int((submitted - started).total_seconds())))


class ResponseChange(models.Model):
    """The change log the scores read (a transactional outbox): +1 for a stored or restored response,
    -1 for an excluded one, written in the same transaction as the change. The scores' beat polls
    for rounds that have some (by the round index) and their next run consumes (deletes) them in the
    transaction that adds them to its counts, so each change counts exactly once.

    The table keeps its first name, ``scoring_scorepending``: the model moved here from scoring
    without touching the database (migration 0008), so that processes of the previous release,
    writing that table while a deploy runs, and this one share it."""

    id = models.BigAutoField(primary_key=True)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+", db_index=False)
    sign = models.SmallIntegerField()

    class Meta:
        db_table = "scoring_scorepending"
        constraints = [models.CheckConstraint(condition=Q(sign__in=[-1, 1]), name="score_pending_sign")]

    def __str__(self):
        return f"{self.sign:+d} {self.response_id}"


class Quota(models.Model):
    """A target number of valid responses for a unit's subtree, optionally for one stratum.

    ``filled`` counts the in-quota responses; it is only changed by ``fieldwork.quotas`` under a
    row lock, and the database refuses a value above the target.
    """

    class Policy(models.TextChoices):
        FLAG = "flag", _("accept and flag as over quota")
        CLOSE = "close", _("close the survey politely")

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="quotas")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    stratum_item = models.CharField(_("stratum question"), max_length=32, blank=True, default="")
    stratum_value = models.CharField(_("stratum answer"), max_length=64, blank=True, default="")
    target = models.PositiveIntegerField(_("target"))
    policy = models.CharField(_("when full"), max_length=8, blank=True, default="", choices=Policy.choices)
    filled = models.PositiveIntegerField(default=0, editable=False)
    over = models.PositiveIntegerField(default=0, editable=False, help_text=_("Over-quota responses it turned away."))

    class Meta:
        ordering = ["round", "unit__path", "stratum_item", "stratum_value"]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.UniqueConstraint(fields=["round", "unit", "stratum_item", "stratum_value"],
                                    name="quota_one_per_round_unit_stratum"),
            models.CheckConstraint(condition=Q(filled__lte=models.F("target")), name="quota_never_overfilled"),
            models.CheckConstraint(
                condition=(Q(stratum_item="") & Q(stratum_value="")) | (~Q(stratum_item="") & ~Q(stratum_value="")),
                name="quota_stratum_item_and_value_together",
            ),
        ]

    def __str__(self):
        stratum = f" [{self.stratum_item}={self.stratum_value}]" if self.stratum_item else ""
        return f"{self.unit.code}{stratum}: {self.filled}/{self.target}"

    @property
    def effective_policy(self):
        return self.policy or self.round.quota_policy


class QuotaDay(models.Model):
    """In-quota responses per quota and day, kept with ``filled``: the progress page reads the
    pace from here instead of scanning responses."""

    quota = models.ForeignKey(Quota, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    responses = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["quota", "day"], name="quota_day_once")]

    def __str__(self):
        return f"{self.quota_id} {self.day}: {self.responses}"


class KioskDay(models.Model):
    """Responses stored from one kiosk on one local day, counted in the transaction that stores each
    response: the kiosk list reads "responses today" from here instead of scanning responses."""

    # The unique (kiosk, day) index serves lookups by kiosk: no second index to keep on every insert.
    kiosk = models.ForeignKey(Kiosk, on_delete=models.CASCADE, related_name="days", db_index=False)
    day = models.DateField()
    responses = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kiosk", "day"], name="kiosk_day_once")]

    def __str__(self):
        return f"{self.kiosk_id} {self.day}: {self.responses}"


class Exclusion(models.Model):
    """A response left out of counts and scores, with the reason. Deleting the row restores it;
    every exclusion and restoration is also written to ExclusionLog."""

    class Reason(models.TextChoices):
        TEST = "test", _("test entry")
        DUPLICATE = "duplicate", _("duplicate")
        STRAIGHT_LINING = "straight_lining", _("straight-lining (the same answer everywhere)")
        TOO_FAST = "too_fast", _("completed too fast")
        INTEGRITY = "integrity", _("integrity check (burst, run, outside hours, more than the dossiers)")
        OTHER = "other", _("other")

    response = models.OneToOneField(Response, on_delete=models.PROTECT, primary_key=True, related_name="exclusion")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="exclusions")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    excluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    excluded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exclusion")
        verbose_name_plural = _("exclusions")

    def __str__(self):
        return f"{self.response_id}: {self.reason}"


class ExclusionLog(models.Model):
    """Who excluded or restored which response, when and why. Append-only."""

    class Action(models.TextChoices):
        EXCLUDE = "exclude", _("excluded")
        RESTORE = "restore", _("restored")

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    reason = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.action} {self.response_id}"


class DossierList(models.Model):
    """An imported list of completed dossiers: the sampling frame for follow-up interviews."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="dossier_lists")
    name = models.CharField(_("name"), max_length=200)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self):
        return self.name


class Dossier(models.Model):
    """One completed dossier of a list. No names: the code lets the unit find the person to call."""

    dossier_list = models.ForeignKey(DossierList, on_delete=models.CASCADE, related_name="dossiers")
    code = models.CharField(max_length=64)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    service_field = models.CharField(max_length=64)
    completed_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dossier_list", "code"], name="dossier_unique_in_list"),
        ]

    def __str__(self):
        return self.code


class Sample(models.Model):
    """A stratified random draw from a dossier list; the same seed and list give the same sample."""

    dossier_list = models.ForeignKey(DossierList, on_delete=models.CASCADE, related_name="samples")
    seed = models.BigIntegerField()
    strata = models.CharField(max_length=32, help_text=_("What the draw is stratified by, e.g. unit,service_field."))
    size = models.PositiveIntegerField()
    allocation = models.JSONField(default=dict, help_text=_("How many were drawn from each stratum."))
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(auto_now_add=True)
    dossiers = models.ManyToManyField(Dossier, through="SampleMember", related_name="+")

    def __str__(self):
        return f"sample {self.pk} (seed {self.seed})"


class SampleMember(models.Model):
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="members")
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="+")
    stratum = models.CharField(max_length=200)
    position = models.PositiveIntegerField(help_text=_("Order in the call list."))

    class Meta:
        ordering = ["sample", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "dossier"], name="sample_member_once"),
        ]

    def __str__(self):
        return f"{self.sample_id}#{self.position}"


class CommentHiding(models.Model):
    """A response's free-text comment hidden from heads because it names a person or gives a phone
    number (or other personal details): the text itself stays in the response, untouched. One row
    per hiding; unhiding fills ``unhidden_at``/``unhidden_by`` instead of deleting, so who hid what,
    when and why stays on record. Written only by ``fieldwork.comments``."""

    class Reason(models.TextChoices):
        PERSON = "person", _("names a person")
        PHONE = "phone", _("gives a phone number")
        CONTACT = "contact", _("other personal details (address, e-mail, ID number)")
        ABUSE = "abuse", _("abusive or offensive")

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="comment_hidings")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    hidden_at = models.DateTimeField()
    unhidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    unhidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-hidden_at"]
        verbose_name = _("hidden comment")
        verbose_name_plural = _("hidden comments")
        constraints = [
            models.UniqueConstraint(fields=["response"], condition=Q(unhidden_at__isnull=True),
                                    name="comment_hidden_once"),
            models.CheckConstraint(condition=Q(unhidden_at__isnull=True) | Q(unhidden_by__isnull=False),
                                   name="comment_unhidden_by_someone"),
        ]

    def __str__(self):
        return f"{self.response_id}: {self.reason}"


class RoundBlocks(models.Model):
    """How a round's units are grouped for ranking (khối), when it differs from the default by level:
    ``levels`` {unit level: block key or "" for not ranked} over the defaults, ``units`` {unit id (a
    string): block key or ""} for single units. The rule that reads it is ``fieldwork.blocks``; it
    is changed only before the round first opens (frozen after)."""

    round = models.OneToOneField(Round, on_delete=models.CASCADE, related_name="blocks")
    levels = models.JSONField(default=dict, blank=True)
    units = models.JSONField(default=dict, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"blocks of round {self.round_id}"


class PaperImportJob(models.Model):
    """A CSV of paper forms too large to import in the request (settings.PAPER_UPLOAD_MAX_ROWS): the
    upload page keeps it here and the worker imports it (fieldwork.paper_jobs)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="paper_import_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    content = models.TextField()
    rows = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=10, default="vi")  # of the uploader: the problems are kept in it
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stored = models.PositiveIntegerField(default=0)
    already_stored = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    problems_more = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"paper import {self.pk} ({self.status}, {self.rows} forms)"


class Invitation(models.Model):
    """A personal invitation to answer a round at home, for one sampled dossier (issue 19).

    The link carries ``public_id`` signed with the secret key (``fieldwork.invitations``): the id is
    random, the signature makes a guessed or altered link worthless. ``code`` is the short code
    printed on a slip, unique in the round. No contact data here: phone numbers and e-mail
    addresses live in InvitationContact, deleted after the round. Written only by
    ``fieldwork.invitations``; the timestamps tell its state (created, sent, failed, opened,
    completed), the latest that is set."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        ZALO = "zalo", _("Zalo")
        EMAIL = "email", _("E-mail")

    id = models.BigAutoField(primary_key=True)
    public_id = models.UUIDField(unique=True, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="invitations")
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")  # the dossier's, for counts
    code = models.CharField(max_length=8)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    channel = models.CharField(max_length=8, choices=Channel.choices, blank=True, default="")
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True, default="")
    # The failure may pass (retries ran out, the channel was off): "resend failed" takes it again. A
    # refusal (a wrong number, an address that does not exist) is taken again only after its
    # contact was changed by a new upload.
    failure_temporary = models.BooleanField(db_default=False)  # a database default: rows are inserted in SQL
    message_id = models.CharField(max_length=100, blank=True, default="")  # the gateway's
    delivered_at = models.DateTimeField(null=True, blank=True)  # the gateway's delivery report (SMS, Zalo)
    reminder_queued_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "dossier"], name="invitation_one_per_dossier"),
            models.UniqueConstraint(fields=["round", "code"], name="invitation_code_unique_in_round"),
        ]
        indexes = [
            models.Index(fields=["round", "unit"], name="invitation_round_unit_idx"),
            # A delivery report names the gateway's message id.
            models.Index(fields=["message_id"], name="invitation_message_id_idx", condition=~Q(message_id="")),
        ]

    def __str__(self):
        return f"{self.round_id}:{self.code}"


class InvitationContact(models.Model):
    """Where to send an invitation: a phone number (national form, 0…) and/or an e-mail address.
    Kept apart from everything about answers: no page or export joins it to responses; pages show
    it masked (``fieldwork.invitations.mask_phone`` / ``mask_email``); the beat deletes it
    INVITATION_CONTACT_KEEP_DAYS after its round closes."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, primary_key=True,
                                      related_name="contact")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+")  # for the deletion
    phone = models.CharField(max_length=10, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    uploaded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(phone="") | ~Q(email=""), name="invitation_contact_not_empty"),
        ]

    def __str__(self):
        return f"contact of {self.invitation_id}"


class IntegritySettings(models.Model):
    """A round's integrity checks (fieldwork.integrity): its thresholds, where they differ from the
    settings' defaults, and the state of its checks. The row also serialises the checks of a round
    (locked while flags are replaced) and debounces them: ``requested_at`` is set by the request that
    sends the task and cleared by the task that takes it, so at most one check is waiting."""

    round = models.OneToOneField(Round, on_delete=models.CASCADE, primary_key=True, related_name="integrity")
    min_gap_seconds = models.PositiveIntegerField(
        _("shortest plausible time between two responses of a kiosk (seconds)"), null=True, blank=True,
        help_text=_("Empty: the default."))
    run_length = models.PositiveSmallIntegerField(
        _("run length that is flagged (identical or all-top answers in a row)"), null=True, blank=True,
        help_text=_("Empty: the default."))
    requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The kiosk responses of the round's kiosks (fieldwork.KioskDay) seen by the beat's last poll: when
    # it changes, a check is requested.
    seen = models.BigIntegerField(default=0, editable=False)

    def __str__(self):
        return f"integrity of round {self.round_id}"


class IntegrityFlag(models.Model):
    """A kiosk response the integrity checks found suspect, with why: shown in the review queue,
    never excluded automatically. A round's flags are replaced as a whole by each check
    (fieldwork.integrity.integrity_check); ``detail`` holds the numbers the reason is worded from."""

    class Kind(models.TextChoices):
        BURST = "burst", _("burst")
        IDENTICAL = "identical", _("identical answers in a row")
        ALL_TOP = "all_top", _("all-top answers in a row")
        OFF_HOURS = "off_hours", _("outside opening hours")
        OVER_DOSSIERS = "over_dossiers", _("more responses than dossiers")

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+", db_index=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    detail = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "kind"], name="integrity_flag_once")]
        indexes = [models.Index(fields=["round", "kind"], name="integrity_flag_round_kind_idx")]

    def __str__(self):
        return f"{self.response_id}: {self.kind}"


class DeskDay(models.Model):
    """How many dossiers a desk (a unit) received on a day, typed or uploaded by a survey officer: a
    day's kiosk responses beyond it are flagged (fieldwork.integrity)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    dossiers = models.PositiveIntegerField(_("dossiers"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="desk_day_once")]

    def __str__(self):
        return f"{self.unit_id} {self.day}: {self.dossiers}"


class UnitLink(models.Model):
    """A round's link for anyone at one unit, printed as a QR code on the desk poster (issue 19), or,
    with ``unit`` empty, the round's switch for all of its unit links. The link itself is signed
    (round, unit) and needs no row (``fieldwork.unitlinks``); a row records that an officer switched
    it off (``off``) and counts the responses it stored (``responses``, read by the integrity checks'
    beat as it reads the kiosks' day counters). Written only by ``fieldwork.unitlinks``."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="unit_links")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    off = models.BooleanField(default=False)
    responses = models.BigIntegerField(default=0, editable=False)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "unit"], name="unit_link_once"),
            models.UniqueConstraint(fields=["round"], condition=Q(unit__isnull=True),
                                    name="unit_link_round_switch_once"),
        ]

    def __str__(self):
        return f"unit link {self.round_id}/{self.unit_id or '*'}{' (off)' if self.off else ''}"
