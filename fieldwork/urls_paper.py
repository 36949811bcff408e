"""URLs of the paper pages (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_paper

urlpatterns = [
    path("rounds/<int:round_id>/paper/", views_paper.paper_entry, name="paper-entry"),
    path("rounds/<int:round_id>/paper/import", views_paper.paper_import, name="paper-import"),
    path("rounds/<int:round_id>/paper/template.csv", views_paper.paper_template, name="paper-template"),
    path("rounds/<int:round_id>/paper/codebook.csv", views_paper.paper_codebook, name="paper-codebook"),
]
