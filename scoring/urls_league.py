"""The round's league table by block (issue 18); not under scores/<round>/ where a unit code goes."""
from django.urls import path

from scoring import views_league

urlpatterns = [
    path("league/<int:round_id>/", views_league.league, name="scores-league"),
]
