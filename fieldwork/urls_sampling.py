"""URLs of the sampling pages (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_sampling

urlpatterns = [
    path("rounds/<int:round_id>/dossiers/", views_sampling.dossier_lists, name="dossier-lists"),
    path("rounds/<int:round_id>/dossiers/<int:list_id>/", views_sampling.dossier_list, name="dossier-list"),
    path("rounds/<int:round_id>/samples/<int:sample_id>.csv", views_sampling.sample_csv, name="sample-csv"),
    path("rounds/<int:round_id>/quotas/allocate", views_sampling.quota_allocate, name="quota-allocate"),
]
