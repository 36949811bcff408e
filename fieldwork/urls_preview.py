from django.urls import path

from fieldwork import views_preview

# A questionnaire version previewed on the real kiosk client (the versions pages are
# questionnaires/urls.py, under the same prefix). The API's paths end as the kiosk API's do.
API = "administration/questionnaires/<str:code>/preview/<str:unit_code>/api/"
urlpatterns = [
    path("administration/questionnaires/preview/no-service-worker.js", views_preview.no_service_worker,
         name="questionnaire-preview-no-sw"),
    path("administration/questionnaires/<str:code>/preview/", views_preview.preview, name="questionnaire-preview"),
    path(API + "questionnaire", views_preview.preview_questionnaire, name="questionnaire-preview-api-questionnaire"),
    path(API + "responses", views_preview.preview_responses, name="questionnaire-preview-api-responses"),
    path(API + "heartbeat", views_preview.preview_heartbeat, name="questionnaire-preview-api-heartbeat"),
]
