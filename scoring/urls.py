from django.urls import path

from scoring import api

urlpatterns = [
    path("api/v1/scores/<int:round_id>/<str:unit_code>", api.unit_scores, name="api-unit-scores"),
]
