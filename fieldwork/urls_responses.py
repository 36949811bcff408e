"""URLs of the response browser (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_responses

urlpatterns = [
    path("rounds/<int:round_id>/responses/", views_responses.response_list, name="responses"),
    path("rounds/<int:round_id>/responses/<uuid:response_id>/", views_responses.response_detail, name="response"),
    path("rounds/<int:round_id>/responses/<uuid:response_id>/exclude", views_responses.response_exclude,
         name="response-exclude"),
    path("rounds/<int:round_id>/responses/<uuid:response_id>/restore", views_responses.response_restore,
         name="response-restore"),
]
