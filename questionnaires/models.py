from functools import cached_property

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from questionnaires.definition import Definition


class QuestionnaireVersion(models.Model):
    """One version of a questionnaire, loaded from its definition file.

    A published version is frozen: the code refuses to change it and so does a database trigger
    (see the migration). A changed questionnaire is a new version with a new code. Every response
    points at the version it answered.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    code = models.CharField(_("code"), max_length=64, unique=True)
    family = models.CharField(
        _("family"), max_length=64, help_text=_("Rounds of the same family are compared over time.")
    )
    title_vi = models.CharField(max_length=300)
    title_en = models.CharField(max_length=300)
    definition = models.JSONField()
    checksum = models.CharField(max_length=64, help_text=_("SHA-256 of the definition as loaded."))
    item_codes = models.JSONField(help_text=_("Item codes in the order of the stored answer slots."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    loaded_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Usernames, not foreign keys: a published version's row never changes (a trigger sees to it),
    # so it cannot follow a user being renamed or deleted. Empty when loaded by the command, and in
    # the database's own default (rows written without the column: older migrations' models).
    loaded_by = models.CharField(_("loaded by"), max_length=150, blank=True, default="", db_default="")
    published_by = models.CharField(_("published by"), max_length=150, blank=True, default="", db_default="")

    class Meta:
        ordering = ["code"]
        verbose_name = _("questionnaire version")
        verbose_name_plural = _("questionnaire versions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="questionnaire_published_has_date",
            ),
        ]

    def __str__(self):
        return self.code

    @cached_property
    def parsed(self) -> Definition:
        return Definition(self.definition)

    @property
    def min_responses(self) -> int:
        """A unit with fewer valid responses gets its figures computed but not shown, exported or ranked."""
        return self.definition["scoring"]["min_responses"]

    @property
    def is_frozen(self):
        return self.status == self.Status.PUBLISHED

    @property
    def items_count(self):
        return len(self.item_codes)

    def publish(self, *, by=""):
        """Publish this draft: the one change the freeze trigger allows, and the last one."""
        self.status, self.published_at, self.published_by = self.Status.PUBLISHED, timezone.now(), by
        self.save(update_fields=["status", "published_at", "published_by"])

    def title(self, language):
        return self.title_en if language == "en" else self.title_vi
