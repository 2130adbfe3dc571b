"""plugins registries package."""
