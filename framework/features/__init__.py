"""framework features package."""
