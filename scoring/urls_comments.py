"""What citizens wrote: a round's comments per unit (issue 18)."""
from django.urls import path

from scoring import views_comments

urlpatterns = [
    # "_" starts no unit code, so this never reads as a unit's page.
    path("scores/<int:round_id>/_comments/", views_comments.round_comments, name="scores-round-comments"),
    path("scores/<int:round_id>/<str:unit_code>/comments/", views_comments.comment_list, name="scores-comments"),
    path("scores/<int:round_id>/<str:unit_code>/comments/<uuid:response_id>/hide", views_comments.comment_hide,
         name="scores-comment-hide"),
    path("scores/<int:round_id>/<str:unit_code>/comments/<uuid:response_id>/unhide", views_comments.comment_unhide,
         name="scores-comment-unhide"),
]
