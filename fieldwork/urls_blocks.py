"""URL of the round's blocks page (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_blocks

urlpatterns = [
    path("rounds/<int:round_id>/blocks/", views_blocks.round_blocks, name="round-blocks"),
]
