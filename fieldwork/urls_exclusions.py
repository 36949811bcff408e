"""URLs of the exclusions pages (kept apart so that each feature owns its own file)."""

urlpatterns = []
