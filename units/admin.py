from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from units.models import Role, Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "valid_from", "valid_to", "successor")
    list_filter = ("level",)
    search_fields = ("code", "name")
    # The tree itself (codes, parents) changes through the unit import (the administration page or
    # import_units), which keeps every path in a moved subtree right; names, levels, dates and
    # successors can be corrected here.
    readonly_fields = ("code", "parent", "path", "depth")
    raw_id_fields = ("successor",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "unit", "granted_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "unit__code", "unit__name")
    raw_id_fields = ("user", "unit")


class RoleInline(admin.TabularInline):
    model = Role
    raw_id_fields = ("unit",)
    extra = 0


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [RoleInline]
