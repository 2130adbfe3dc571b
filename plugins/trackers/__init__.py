"""plugins trackers package."""
