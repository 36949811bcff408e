"""Department heads' score pages (issue 6)."""
