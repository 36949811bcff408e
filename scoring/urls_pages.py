"""Department heads' score pages (issue 6)."""
from django.urls import path

from scoring import views

urlpatterns = [
    path("scores/", views.scores_home, name="scores-home"),
    path("scores/<int:round_id>/", views.round_overview, name="scores-round"),
    path("scores/<int:round_id>/recompute", views.recompute, name="scores-recompute"),
    path("scores/<int:round_id>/status", views.run_status, name="scores-status"),
    path("scores/<int:round_id>/<str:unit_code>/", views.unit_page, name="scores-unit"),
]
