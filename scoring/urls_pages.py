from django.urls import path  # noqa: F401

from scoring import views  # noqa: F401

# Unit page and round overview (issue 6).
urlpatterns = []
