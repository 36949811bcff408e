"""URLs of the paper pages (kept apart so that each feature owns its own file)."""

from django.urls import path

from fieldwork import views_paper

urlpatterns = [
    path("rounds/<int:round_id>/paper/", views_paper.paper_entry, name="paper-entry"),
    path("rounds/<int:round_id>/paper/import", views_paper.paper_import, name="paper-import"),
    path("rounds/<int:round_id>/paper/import/<int:job_id>", views_paper.paper_import_job, name="paper-import-job"),
    path("rounds/<int:round_id>/paper/import/<int:job_id>/status", views_paper.paper_import_job_status,
         name="paper-import-job-status"),
    path("rounds/<int:round_id>/paper/template.csv", views_paper.paper_template, name="paper-template"),
    path("rounds/<int:round_id>/paper/codebook.csv", views_paper.paper_codebook, name="paper-codebook"),
]
