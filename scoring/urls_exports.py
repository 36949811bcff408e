from django.urls import path  # noqa: F401

# Exports (XLSX, CSV, raw responses) and the printable report / PDF (issue 6).
urlpatterns = []
