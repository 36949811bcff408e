from django.urls import include, path

from scoring import api, views_tokens

urlpatterns = [
    path("api/v1/scores/<int:round_id>/<str:unit_code>", api.unit_scores, name="api-unit-scores"),
    # Score-API tokens: one's own, and an administrator's staff's.
    path("tokens/", views_tokens.token_list, name="api-tokens"),
    path("tokens/new", views_tokens.token_create, name="api-token-create"),
    path("tokens/<int:token_id>/revoke", views_tokens.token_revoke, name="api-token-revoke"),
    # Department heads' pages (unit page, round overview) and their exports and printable report.
    path("", include("scoring.urls_comments")),  # first: its "_comments" is no unit code
    path("", include("scoring.urls_pages")),
    path("", include("scoring.urls_exports")),
    path("", include("scoring.urls_league")),
]
