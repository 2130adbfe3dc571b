"""plugins stores package."""
