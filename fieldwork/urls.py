from django.urls import include, path

from fieldwork import kiosk_api, kiosk_views, views

app_name = "fieldwork"
urlpatterns = [
    path("kiosk/", kiosk_views.app, name="kiosk"),
    path("kiosk/sw.js", kiosk_views.service_worker, name="kiosk-sw"),
    path("kiosk/pair/", kiosk_views.pair, name="kiosk-pair"),
    path("kiosk/pair/<str:code>/", kiosk_views.pair, name="kiosk-pair-code"),
    path("kiosk/form/", kiosk_views.form, name="kiosk-form"),
    path("kiosk/form/thanks", kiosk_views.form_thanks, name="kiosk-form-thanks"),
    path("api/kiosk/v1/questionnaire", kiosk_api.questionnaire, name="api-questionnaire"),
    path("api/kiosk/v1/responses", kiosk_api.responses, name="api-responses"),
    path("api/kiosk/v1/heartbeat", kiosk_api.heartbeat, name="api-heartbeat"),
    path("units/<str:code>/kiosks/", views.kiosk_list, name="kiosk-list"),
    path("kiosks/<int:kiosk_id>/revoke", views.kiosk_revoke, name="kiosk-revoke"),
    path("kiosks/<int:kiosk_id>/pairing", views.kiosk_pairing, name="kiosk-pairing"),
    path("kiosks/<int:kiosk_id>/edit", views.kiosk_update, name="kiosk-update"),
    path("units/<str:code>/rounds/", views.round_list, name="round-list"),
    path("rounds/<int:round_id>/", views.round_detail, name="round"),
    path("rounds/<int:round_id>/open", views.round_status, {"action": "open"}, name="round-open"),
    path("rounds/<int:round_id>/close", views.round_close, name="round-close"),
    path("rounds/<int:round_id>/reopen", views.round_status, {"action": "reopen"}, name="round-reopen"),
    path("rounds/<int:round_id>/quotas/", views.quota_progress, name="quotas"),
    path("", include("fieldwork.urls_paper")),
    path("", include("fieldwork.urls_exclusions")),
    path("", include("fieldwork.urls_sampling")),
    path("", include("fieldwork.urls_responses")),
    path("", include("fieldwork.urls_preview")),
    path("", include("fieldwork.urls_blocks")),
    path("", include("fieldwork.urls_invitations")),
    path("", include("fieldwork.urls_integrity")),
]
