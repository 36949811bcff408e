"""URLs of the invitations to answer at home (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_invitations

urlpatterns = [
    path("rounds/<int:round_id>/invitations/", views_invitations.invitation_list, name="invitations"),
    path("rounds/<int:round_id>/invitations/create", views_invitations.invitations_create, name="invitations-create"),
    path("rounds/<int:round_id>/invitations/contacts", views_invitations.contacts_upload, name="invitations-contacts"),
    path("rounds/<int:round_id>/invitations/send", views_invitations.invitations_send, name="invitations-send"),
    path("i/<str:token>/", views_invitations.invitation_open, name="invitation-open"),
]
