"""URLs of the invitations to answer at home (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_athome, views_delivery, views_invitations, views_unitlinks

urlpatterns = [
    path("rounds/<int:round_id>/invitations/", views_invitations.invitation_list, name="invitations"),
    path("rounds/<int:round_id>/invitations/create", views_invitations.invitations_create, name="invitations-create"),
    path("rounds/<int:round_id>/invitations/contacts", views_invitations.contacts_upload, name="invitations-contacts"),
    path("rounds/<int:round_id>/invitations/send", views_invitations.invitations_send, name="invitations-send"),
    path("rounds/<int:round_id>/invitations/slips.pdf", views_invitations.slips_download, name="invitation-slips"),
    path("rounds/<int:round_id>/invitations/posters.pdf", views_invitations.posters_download, name="unit-posters"),
    path("rounds/<int:round_id>/invitations/unit-links", views_invitations.unit_links_switch,
         name="invitations-unit-links"),
    path("rounds/<int:round_id>/invitations/resend", views_invitations.invitations_resend, name="invitations-resend"),
    # The gateways' delivery reports (fieldwork.views_delivery).
    path("hooks/sms/delivery", views_delivery.sms_delivery, name="hook-sms-delivery"),
    path("hooks/zalo/events", views_delivery.zalo_events, name="hook-zalo-events"),
    # The citizen's side (fieldwork.views_athome): the link's page, its Start and its response, the slip's code.
    path("i/", views_athome.athome_code, name="athome-code"),
    path("i/<str:token>/", views_athome.athome_page, name="invitation-open"),
    path("i/<str:token>/start", views_athome.athome_start, name="athome-start"),
    path("i/<str:token>/responses", views_athome.athome_responses, name="athome-responses"),
    # A unit's link for anyone, from the desk poster (fieldwork.views_unitlinks).
    path("u/<str:token>/", views_unitlinks.unit_link_page, name="unit-link"),
    path("u/<str:token>/start", views_unitlinks.unit_link_start, name="unit-link-start"),
    path("u/<str:token>/responses", views_unitlinks.unit_link_responses, name="unit-link-responses"),
]
