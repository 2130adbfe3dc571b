"""plugins validators package."""
