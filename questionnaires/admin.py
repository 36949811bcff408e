from django.contrib import admin

from questionnaires.models import QuestionnaireVersion


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(admin.ModelAdmin):
    """Read-only: versions come from definition files through load_questionnaires."""

    list_display = ("code", "family", "title_vi", "status", "published_at")
    readonly_fields = [f.name for f in QuestionnaireVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
