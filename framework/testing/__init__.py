"""framework testing package."""
