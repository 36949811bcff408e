"""URLs of the invitations to answer at home (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_athome, views_delivery, views_invitations

urlpatterns = [
    path("rounds/<int:round_id>/invitations/", views_invitations.invitation_list, name="invitations"),
    path("rounds/<int:round_id>/invitations/create", views_invitations.invitations_create, name="invitations-create"),
    path("rounds/<int:round_id>/invitations/contacts", views_invitations.contacts_upload, name="invitations-contacts"),
    path("rounds/<int:round_id>/invitations/send", views_invitations.invitations_send, name="invitations-send"),
    path("rounds/<int:round_id>/invitations/resend", views_invitations.invitations_resend, name="invitations-resend"),
    # The gateways' delivery reports (fieldwork.views_delivery).
    path("hooks/sms/delivery", views_delivery.sms_delivery, name="hook-sms-delivery"),
    path("hooks/zalo/events", views_delivery.zalo_events, name="hook-zalo-events"),
    # The citizen's side (fieldwork.views_athome): the link's page, its Start and its response, the slip's code.
    path("i/", views_athome.athome_code, name="athome-code"),
    path("i/<str:token>/", views_athome.athome_page, name="invitation-open"),
    path("i/<str:token>/start", views_athome.athome_start, name="athome-start"),
    path("i/<str:token>/responses", views_athome.athome_responses, name="athome-responses"),
]
