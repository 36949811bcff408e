"""URLs of the exclusions pages (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_exclusions

urlpatterns = [
    path("rounds/<int:round_id>/review/", views_exclusions.review, name="review"),
    path("rounds/<int:round_id>/exclusions/", views_exclusions.exclusion_list, name="exclusions"),
    path("rounds/<int:round_id>/exclusions/add", views_exclusions.exclude, name="exclude"),
    path("rounds/<int:round_id>/exclusions/<uuid:response_id>/restore", views_exclusions.restore, name="restore"),
]
