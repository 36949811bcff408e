"""URLs of the sampling pages (kept apart so that each feature owns its own file)."""

urlpatterns = []
