"""URLs of the round's integrity panel (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_integrity

urlpatterns = [
    path("rounds/<int:round_id>/integrity/", views_integrity.panel, name="integrity"),
    path("rounds/<int:round_id>/integrity/check", views_integrity.check_now, name="integrity-check"),
    path("rounds/<int:round_id>/integrity/thresholds", views_integrity.thresholds, name="integrity-thresholds"),
    path("rounds/<int:round_id>/integrity/dossiers", views_integrity.dossier_counts, name="integrity-dossiers"),
]
