from django.contrib import admin

from scoring.models import ScoreRun


@admin.register(ScoreRun)
class ScoreRunAdmin(admin.ModelAdmin):
    """Score runs, read-only: they are written by the scoring jobs alone."""

    list_display = ("id", "round", "status", "reason", "created_at", "started_at", "finished_at",
                    "units_done", "units_total", "responses_used")
    list_filter = ("status", "reason")
    list_select_related = ("round",)
    search_fields = ("round__name", "error")
    readonly_fields = [f.name for f in ScoreRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
