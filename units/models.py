"""Administrative units (a tree of varying depth that changes over time) and staff roles on them."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

PATH_SEPARATOR = "/"
# Letters, digits, dot, dash, underscore: a code is a path segment, so never the separator.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Unit(models.Model):
    """A province or city, a department, a service centre, a (former) district, a commune or ward, a
    vertical agency's desk.

    ``path`` is the materialised path of unit codes from the root, ``/01/01.STP/``, so a subtree
    is one indexed ``LIKE 'prefix%'`` query. Units are never deleted: a unit merged away gets a
    ``valid_to`` date and a ``successor``.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province or city")
        DEPARTMENT = "department", _("Department")
        CENTRE = "centre", _("Public administration service centre")
        DISTRICT = "district", _("District (before 1 July 2025)")
        COMMUNE = "commune", _("Commune or ward")
        # Police, tax, social insurance desks in the one-stop centres: ranked in their own block.
        VERTICAL = "vertical", _("Vertical agency (police, tax, social insurance)")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    # Unique, so Django also gives it a varchar_pattern_ops index: LIKE 'prefix%' uses it.
    path = models.CharField(max_length=512, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(editable=False)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Last day the unit existed."))
    successor = models.ForeignKey(
        "self", verbose_name=_("successor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="predecessors", help_text=_("The unit that replaced this one after a merger."),
    )
    # The desk's opening hours, local time (Asia/Ho_Chi_Minh): {"1": [["07:30", "11:30"], ["13:30", "17:00"]],
    # ...} by ISO weekday (1 = Monday … 7 = Sunday), each a list of [opens, closes) intervals; a weekday
    # missing is closed. Empty: not set, and no response is checked against it. Written only by
    # units.services.unit_set_hours; read by fieldwork.integrity (responses outside opening hours).
    # (db_default: rows written without the column, e.g. by an older release during a deploy, get {}.)
    opening_hours = models.JSONField(_("opening hours"), default=dict, blank=True,
                                     db_default=models.Value({}, output_field=models.JSONField()))

    class Meta:
        ordering = ["path"]
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="unit_valid_to_not_before_valid_from",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="unit_not_its_own_parent"),
            models.CheckConstraint(condition=~Q(successor=models.F("id")), name="unit_not_its_own_successor"),
            models.CheckConstraint(condition=Q(path__startswith=PATH_SEPARATOR), name="unit_path_is_rooted"),
            models.CheckConstraint(condition=Q(code__regex=CODE_PATTERN), name="unit_code_is_well_formed"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @staticmethod
    def path_for(code, parent_path=None):
        return f"{parent_path or PATH_SEPARATOR}{code}{PATH_SEPARATOR}"

    def ancestor_paths(self):
        """The paths of this unit and all its ancestors, root first, computed from ``path`` alone."""
        codes = self.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)
        return [PATH_SEPARATOR + PATH_SEPARATOR.join(codes[: i + 1]) + PATH_SEPARATOR for i in range(len(codes))]

    def subtree(self):
        """This unit and every unit below it: one indexed query."""
        return Unit.objects.filter(path__startswith=self.path)

    def is_valid_on(self, day: datetime.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class Role(models.Model):
    """A staff member's role on a unit; it covers the unit's whole subtree."""

    class Kind(models.TextChoices):
        OFFICER = "officer", _("Survey officer")
        HEAD = "head", _("Department head")
        ADMIN = "admin", _("Administrator")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unit_roles")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(_("role"), max_length=16, choices=Kind.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "kind"], name="role_unique_per_user_unit_kind"),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_kind_display()} · {self.unit.code}"
