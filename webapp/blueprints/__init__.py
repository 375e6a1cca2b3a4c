"""Route groups of the app."""
