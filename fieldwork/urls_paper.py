"""URLs of the paper pages (kept apart so that each feature owns its own file)."""

urlpatterns = []
