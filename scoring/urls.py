from django.urls import include, path

from scoring import api

urlpatterns = [
    path("api/v1/scores/<int:round_id>/<str:unit_code>", api.unit_scores, name="api-unit-scores"),
    # Department heads' pages (unit page, round overview) and their exports and printable report.
    path("", include("scoring.urls_pages")),
    path("", include("scoring.urls_exports")),
]
