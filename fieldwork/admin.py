from django.contrib import admin

from fieldwork.models import Kiosk, Round


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "questionnaire", "status", "period_start", "period_end", "opened_at",
                    "closed_at")
    list_filter = ("status", "questionnaire")
    search_fields = ("name", "unit__code", "unit__name")
    # Opening goes through round_open, which checks for overlapping open rounds.
    readonly_fields = ("status", "opened_at", "closed_at", "questionnaire", "unit")


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "paired_at", "revoked_at", "last_seen_at", "waiting_reported")
    search_fields = ("name", "unit__code", "unit__name")
    fields = ("name", "unit", "created_by", "paired_at", "revoked_at", "last_seen_at", "waiting_reported")
    readonly_fields = ("unit", "created_by", "paired_at", "revoked_at", "last_seen_at", "waiting_reported")

    def has_add_permission(self, request):
        return False  # kiosks are registered on the officers' page, which gives the pairing code
