"""The administration pages (/administration/…) and the page to set a password from a one-time
link (/accounts/set-password/…), mounted at the site's root."""

from django.urls import path

from units import views_admin as views

app_name = "administration"
urlpatterns = [
    path("administration/", views.home, name="home"),
    path("administration/units/", views.unit_list, name="units"),
    path("administration/units/import/", views.unit_import, name="unit-import"),
    path("administration/units/import/confirm", views.unit_import_confirm, name="unit-import-confirm"),
    path("administration/units/<str:code>/rename", views.unit_rename, name="unit-rename"),
    path("administration/units/<str:code>/close", views.unit_close, name="unit-close"),
    path("administration/units/<str:code>/hours", views.unit_hours, name="unit-hours"),
    path("administration/staff/", views.staff_list, name="staff"),
    path("administration/staff/new", views.staff_create, name="staff-create"),
    path("administration/staff/<int:user_id>/", views.staff_detail, name="staff-detail"),
    path("administration/staff/<int:user_id>/roles/grant", views.role_grant, name="role-grant"),
    path("administration/staff/<int:user_id>/roles/<int:role_id>/revoke", views.role_revoke, name="role-revoke"),
    path("administration/staff/<int:user_id>/deactivate", views.staff_deactivate, name="staff-deactivate"),
    path("administration/staff/<int:user_id>/reactivate", views.staff_reactivate, name="staff-reactivate"),
    path("administration/staff/<int:user_id>/reset", views.staff_reset, name="staff-reset"),
    path("accounts/set-password/<uidb64>/<token>/", views.password_set, name="set-password"),
]
