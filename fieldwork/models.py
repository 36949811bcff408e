import hashlib
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
    questionnaire = models.ForeignKey(QuestionnaireVersion, on_delete=models.PROTECT, related_name="rounds")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="rounds")
    period_start = models.DateField(_("start"), null=True, blank=True)
    period_end = models.DateField(_("end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    ask_dossier_code = models.BooleanField(
        _("ask for the dossier code"), default=False,
        help_text=_("The citizen enters the code on the receipt; one response per dossier."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

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


class Kiosk(models.Model):
    """A registered tablet of one unit. The server keeps only hashes of its token and pairing code."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="kiosks")
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    pairing_code_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    pairing_expires_at = models.DateTimeField(null=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    paired_at = models.DateTimeField(null=True, blank=True)
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
    response. Answers are a ``smallint[]`` with one slot per item (see questionnaires.definition).
    """

    class Channel(models.IntegerChoices):
        KIOSK = 1, _("Kiosk")
        PAPER = 2, _("Paper")
        WEB = 3, _("Web form")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="responses", db_index=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", db_index=False)
    questionnaire = models.ForeignKey(QuestionnaireVersion, on_delete=models.PROTECT, related_name="+",
                                      db_index=False)
    kiosk = models.ForeignKey(Kiosk, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    channel = models.PositiveSmallIntegerField(choices=Channel.choices)
    language = models.CharField(max_length=2)
    started_at = models.DateTimeField(null=True)
    submitted_at = models.DateTimeField()
    received_at = models.DateTimeField()
    answers = ArrayField(models.SmallIntegerField(null=True))
    texts = models.JSONField(null=True, blank=True)
    dossier_hash = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        indexes = [models.Index(fields=["round", "unit"], name="response_round_unit_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "dossier_hash"], condition=Q(dossier_hash__isnull=False),
                name="response_one_per_dossier",
            ),
            models.CheckConstraint(condition=Q(language__in=["vi", "en"]), name="response_language_known"),
        ]

    def __str__(self):
        return str(self.id)
